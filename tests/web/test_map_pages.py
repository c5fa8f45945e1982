"""The grid map page and its GeoJSON: grids of the user's area, coloured by open cases."""

from __future__ import annotations

import pytest

from civicgrid.regions.pages import LOAD_COLOURS, load_band
from civicgrid.settings import get_settings


def test_map_page_renders_without_tiles_by_default(browser):
    page = browser("operator").get("/map")
    assert page.status_code == 200
    assert 'data-map="grids"' in page.text and 'data-tiles=""' in page.text
    assert "未配置底图服务" in page.text
    assert "tile.openstreetmap" not in page.text


def test_map_page_uses_the_configured_intranet_tiles(browser, monkeypatch):
    monkeypatch.setattr(get_settings(), "map_tile_url", "https://tiles.gov.example/{z}/{x}/{y}.png")
    page = browser("operator").get("/map").text
    assert 'data-tiles="https://tiles.gov.example/{z}/{x}/{y}.png"' in page
    assert "未配置底图服务" not in page


def test_citizens_get_no_map_page(browser):
    assert browser("citizen").get("/map").status_code == 403


def test_grid_geojson_is_scoped_and_counts_open_cases(browser, report, world):
    report(grid="grid111")
    report(grid="grid111", title="第二件", description="同一网格的另一件事")
    operator = browser("operator").get("/map/grids.geojson")
    assert operator.headers["content-type"].startswith("application/geo+json")
    features = {f["properties"]["code"]: f["properties"] for f in operator.json()["features"]}
    assert set(features) == {world.regions["grid111"].code, world.regions["grid112"].code}
    assert features[world.regions["grid111"].code]["open_cases"] == 2
    assert features[world.regions["grid111"].code]["fill"] == LOAD_COLOURS["load-1"]
    assert features[world.regions["grid112"].code]["open_cases"] == 0
    district = browser("district_op").get("/map/grids.geojson").json()
    assert len(district["features"]) == 8


@pytest.mark.parametrize(("count", "band"), [(0, "load-0"), (1, "load-1"), (2, "load-1"), (3, "load-2"),
                                             (5, "load-2"), (6, "load-3"), (600, "load-3")])
def test_load_bands(count, band):
    assert load_band(count) == band
