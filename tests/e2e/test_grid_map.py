"""The grid map in a real browser: every grid drawn (SVG paths), tooltips, and the English switch."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.test_case_loop import sign_in

pytestmark = pytest.mark.e2e


def test_grid_map_draws_every_grid_and_switches_to_english(new_page, live_server, shot):
    page = new_page()
    sign_in(page, "district_op")  # the district centre sees all of the city's grids
    page.click("nav.mainnav >> text=网格地图")
    expect(page).to_have_url(re.compile(r"/map$"))
    expect(page.locator("#grid-map[data-ready]")).to_have_count(1)
    paths = page.locator("#grid-map path.leaflet-interactive")
    expect(paths).to_have_count(live_server.grid_count)
    expect(page.locator("#grid-map-status")).to_have_text(f"共 {live_server.grid_count} 个网格")
    # No base map is configured, so the page must not have asked for any tiles.
    assert page.locator("#grid-map .leaflet-tile").count() == 0

    paths.first.hover()
    tooltip = page.locator(".leaflet-tooltip")
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text("网格")
    expect(tooltip).to_contain_text("未办结事件")
    shot(page, "11-grid-map-zh")

    page.click("text=English")
    expect(page).to_have_url(re.compile(r"/map$"))
    expect(page.locator("h1")).to_have_text("Grid map")
    expect(page.locator("nav.mainnav")).to_contain_text("My tasks")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#grid-map path.leaflet-interactive")).to_have_count(live_server.grid_count)
    expect(page.locator("#grid-map-status")).to_have_text(f"{live_server.grid_count} grids")
    page.locator("#grid-map path.leaflet-interactive").first.hover()
    expect(page.locator(".leaflet-tooltip")).to_contain_text("open cases")
    shot(page, "12-grid-map-en")

    page.click("text=中文")
    expect(page.locator("h1")).to_have_text("网格地图")
    assert page.js_errors == []
