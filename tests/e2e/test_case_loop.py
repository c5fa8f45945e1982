"""The issue's acceptance test in a real browser: one case around the whole loop, all by clicking.

An operator signs in, registers a report from the new-case form (clicking the map for the
place), registers and dispatches it to the handler's unit; the handler signs in, accepts
and resolves it; the operator verifies it, records the callback (满意) and closes it.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e


def sign_in(page, username: str) -> None:
    """Sign in through the login form and land on 我的待办."""
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("form.login-card button[type=submit]")
    expect(page).to_have_url(re.compile(r"/inbox$"))
    expect(page.locator("h1")).to_have_text("我的待办")


def fire(page, action: str, state: str) -> None:
    """Click an action's button on the case detail and wait for the case to reach ``state``."""
    page.click(f"form[data-action={action}] button[type=submit]")
    expect(page.locator("#case-panel")).to_have_attribute("data-state", state)


def test_operator_and_handler_close_a_case_by_clicking(new_page, live_server, shot):
    operator = new_page()
    sign_in(operator, "operator")
    shot(operator, "01-operator-inbox")

    # Register a report from the form, choosing the place on the map.
    operator.click("nav.mainnav >> text=登记事件")
    expect(operator).to_have_url(re.compile(r"/cases/new$"))
    pick = operator.locator("#pick-map")
    expect(operator.locator("#pick-map path.leaflet-interactive")).to_have_count(2)  # the operator's two grids
    operator.select_option("#category_code", "EV0101")
    operator.select_option("#urgency", "high")
    operator.fill("#title", "湖滨路垃圾堆积")
    operator.fill("#description", "湖滨路口有大量生活垃圾堆积，散发异味，请尽快清运。")
    operator.fill("#address", "湖1街道1社区湖滨路口")
    operator.fill("#reporter_name", "李女士")
    operator.fill("#reporter_phone", "13900001111")
    # Click the map in the middle of the first grid drawn (grid 111, the operator's own).
    map_box = pick.bounding_box()
    grid_box = operator.locator("#pick-map path.leaflet-interactive").first.bounding_box()
    assert map_box is not None and grid_box is not None
    pick.click(position={"x": grid_box["x"] - map_box["x"] + grid_box["width"] / 2,
                         "y": grid_box["y"] - map_box["y"] + grid_box["height"] / 2})
    expect(operator.locator("#lat")).not_to_have_value("")
    expect(operator.locator("#pick-status [data-chosen]")).to_be_visible()
    shot(operator, "02-new-case-form")
    operator.click("#new-case-form button[type=submit]")

    expect(operator).to_have_url(re.compile(r"/cases/\d+\?done=intake$"))
    case_url = operator.url.split("?")[0]
    panel = operator.locator("#case-panel")
    expect(panel).to_have_attribute("data-state", "reported")
    expect(operator.locator(".facts")).to_contain_text(live_server.grid_names["grid111"])
    expect(operator.locator(".map-detail[data-ready]")).to_have_count(1)
    shot(operator, "03-case-reported")

    # Only the operator's actions are offered; register, then dispatch to the handler's unit.
    expect(operator.locator("form[data-action=accept]")).to_have_count(0)
    fire(operator, "register", "registered")
    expect(operator.locator(".alert-ok")).to_contain_text("已完成：立案")
    operator.select_option("form[data-action=dispatch] select[name=unit_id]", label=live_server.unit_names["chengguan"])
    operator.fill("form[data-action=dispatch] textarea[name=note]", "请城管局尽快清运")
    shot(operator, "04-case-registered-dispatch-form")
    fire(operator, "dispatch", "dispatched")
    expect(operator.locator(".facts")).to_contain_text(live_server.unit_names["chengguan"])
    expect(operator.locator(".deadline")).to_have_count(2)  # accept-by and resolve-by
    case_number = operator.locator(".case-number").inner_text().strip()

    # The handler finds it in 我的待办, accepts and resolves it.
    handler = new_page()
    sign_in(handler, "handler")
    row = handler.locator("table.cases tr", has_text=case_number)
    expect(row).to_have_count(1)
    shot(handler, "05-handler-inbox")
    row.locator("a").first.click()
    expect(handler.locator("#case-panel")).to_have_attribute("data-state", "dispatched")
    expect(handler.locator("form[data-action=register]")).to_have_count(0)
    expect(handler.locator("form[data-action=dispatch]")).to_have_count(0)
    fire(handler, "accept", "accepted")
    handler.fill("form[data-action=resolve] textarea[name=note]", "已组织环卫人员清运完毕，现场已清洁。")
    shot(handler, "06-handler-accepted")
    fire(handler, "resolve", "resolved")
    expect(handler.locator("form[data-action]")).to_have_count(0)
    shot(handler, "07-handler-resolved")

    # Back to the operator: verify, callback (满意), close.
    operator.goto(case_url)
    expect(panel).to_have_attribute("data-state", "resolved")
    fire(operator, "verify", "verified")
    operator.check("form[data-action=callback] input[name=satisfaction][value=satisfied]")
    operator.fill("form[data-action=callback] textarea[name=note]", "群众表示满意")
    fire(operator, "callback", "called_back")
    expect(operator.locator(".facts")).to_contain_text("满意")
    shot(operator, "08-operator-called-back")
    fire(operator, "close", "closed")
    expect(operator.locator("#case-panel .badge").first).to_have_text("已结案")
    expect(operator.locator("form[data-action]")).to_have_count(0)

    steps = operator.locator("ol.timeline > li").evaluate_all("els => els.map(e => e.dataset.actionLabel)")
    assert steps == ["接报登记", "立案", "派遣", "签收", "处置完毕", "核查通过", "回访", "结案"]
    timeline = operator.locator("ol.timeline")
    expect(timeline).to_contain_text("已组织环卫人员清运完毕")
    expect(timeline).to_contain_text("handler")
    shot(operator, "09-case-closed")

    # The list filters in place (htmx) and keeps the filter in the address.
    operator.click("nav.mainnav >> text=事件列表")
    operator.select_option("form.filters select[name=state]", "open")
    expect(operator).to_have_url(re.compile(r"/cases\?.*state=open"))
    expect(operator.locator("#case-results")).to_contain_text("没有符合条件的事件")
    operator.select_option("form.filters select[name=state]", "closed")
    expect(operator).to_have_url(re.compile(r"/cases\?.*state=closed"))
    expect(operator.locator("table.cases tr", has_text=case_number)).to_contain_text("已结案")
    shot(operator, "10-case-list-filtered")
    expect(operator.locator(".langswitch a")).to_have_attribute("href", re.compile(r"next=%2Fcases%3F.*state%3Dclosed"))
    assert operator.js_errors == [] and handler.js_errors == []
