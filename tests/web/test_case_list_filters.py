"""The /cases page filters by unit (承办单位), registration and closing dates: kept in the URL and the
form, combined with the other filters, scoped; bad or reversed dates are a message on the page."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from civicgrid.audit.service import SYSTEM
from civicgrid.events import service

SHANGHAI = ZoneInfo("Asia/Shanghai")
ROW = re.compile(r'data-case-id="(\d+)"')


def at(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=SHANGHAI)


def fire(session, world, case, action, user="operator", when=None, **params):
    return service.transition(session=session, actor=world.users[user], origin=SYSTEM, case_id=case.id,
                              action=action, params=service.ActionParams(**params), now=when)


def rows(html: str) -> set[int]:
    return {int(i) for i in ROW.findall(html)}


@pytest.fixture
def dated(session, world, report):
    """A case closed on 5 November (unit 城管), one dispatched on 10 November (unit 住建), one just reported."""
    received = at(1, 9)
    closed, working, new = (report(received_at=received, title=t) for t in ("已结案的", "办理中的", "新上报的"))
    fire(session, world, closed, "register", when=at(2))
    fire(session, world, closed, "dispatch", when=at(2, 11), unit_id=world.units["chengguan"].id)
    fire(session, world, closed, "accept", "handler", when=at(3))
    fire(session, world, closed, "resolve", "handler", when=at(4), note="已清理")
    fire(session, world, closed, "verify", when=at(4, 15))
    fire(session, world, closed, "close", when=at(5, 16))
    fire(session, world, working, "register", when=at(10))
    fire(session, world, working, "dispatch", when=at(10, 11), unit_id=world.units["zhujian"].id)
    session.flush()
    return {"closed": closed, "working": working, "new": new}


def test_unit_choices_are_the_users_units(browser, world):
    page = browser("operator").get("/cases").text
    units = world.units
    for key in ("community11", "chengguan", "zhujian"):
        assert f'<option value="{units[key].id}">{units[key].name_zh}</option>' in page
    assert units["community21"].name_zh not in page
    handler = browser("handler").get("/cases").text
    assert units["chengguan"].name_zh in handler and units["zhujian"].name_zh not in handler


def test_filter_by_unit_is_kept_in_the_form(browser, world, dated):
    operator = browser("operator")
    zj = world.units["zhujian"].id
    page = operator.get("/cases", params={"unit": zj}).text
    assert rows(page) == {dated["working"].id}
    assert f'<option value="{zj}" selected>' in page
    assert 'hx-push-url="true"' in page  # the filters form keeps the URL in step
    closed = operator.get("/cases", params={"unit": world.units["chengguan"].id, "state": "closed"}).text
    assert rows(closed) == {dated["closed"].id}


def test_pager_links_carry_every_filter(browser, world, report, session):
    cases = [report(title=f"事件{i:02d}", received_at=at(1, 9)) for i in range(21)]
    for case in cases:
        fire(session, world, case, "register", when=at(12))
    session.flush()
    page = browser("operator").get("/cases", params={"reg_from": "2026-11-12", "reg_to": "2026-11-12",
                                                     "unit": "", "closed_to": ""}).text
    assert len(rows(page)) == 20
    link = re.search(r'href="/cases\?([^"]+page=2)"', page).group(1)
    assert "reg_from=2026-11-12" in link and "reg_to=2026-11-12" in link and "closed_to" not in link


def test_filter_by_registration_and_closing_days(browser, dated):
    operator = browser("operator")
    assert rows(operator.get("/cases", params={"reg_from": "2026-11-10", "reg_to": "2026-11-10"}).text) == {
        dated["working"].id}  # the whole last day counts
    assert rows(operator.get("/cases", params={"reg_from": "2026-11-02"}).text) == {
        dated["closed"].id, dated["working"].id}
    assert rows(operator.get("/cases", params={"closed_from": "2026-11-05", "closed_to": "2026-11-05"}).text) == {
        dated["closed"].id}
    assert rows(operator.get("/cases", params={"closed_to": "2026-11-04"}).text) == set()
    page = operator.get("/cases", params={"reg_from": "2026-11-02", "closed_from": "2026-11-01"}).text
    assert rows(page) == {dated["closed"].id}
    assert 'name="reg_from" value="2026-11-02"' in page and 'name="closed_from" value="2026-11-01"' in page


def test_filters_combine_with_the_existing_ones_and_the_scope(browser, world, dated):
    operator = browser("operator")
    zj = world.units["zhujian"].id
    assert rows(operator.get("/cases", params={"unit": zj, "state": "closed"}).text) == set()
    assert rows(operator.get("/cases", params={"unit": zj, "state": "open", "from": "2026-11-01",
                                                "to": "2026-11-01", "reg_to": "2026-11-10"}).text) == {
        dated["working"].id}
    assert rows(browser("operator21").get("/cases", params={"reg_from": "2026-11-01"}).text) == set()
    assert rows(browser("handler").get("/cases", params={"unit": zj}).text) == set()


@pytest.mark.parametrize(("params", "message"), [
    ({"reg_from": "yesterday"}, "立案开始日期格式应为 年-月-日"),
    ({"closed_to": "2026-02-30"}, "结案结束日期格式应为 年-月-日"),
    ({"closed_from": "0001-01-01"}, "结案开始日期格式应为 年-月-日（1900–2999 年）"),
    ({"to": "9999-12-31"}, "接报结束日期格式应为"),
    ({"reg_from": "2026-11-11", "reg_to": "2026-11-10"}, "立案日期的开始须早于结束"),
    ({"closed_from": "2026-11-06", "closed_to": "2026-11-05", "from": "2026-11-03", "to": "2026-11-01"},
     "接报日期的开始须早于结束"),
    ({"unit": "987654321"}, "单位 987654321 不存在"),
])
def test_bad_dates_are_a_message_on_the_page(browser, dated, params, message):
    operator = browser("operator")
    page = operator.get("/cases", params=params)
    assert page.status_code == 200
    assert message in page.text and 'class="alert alert-error"' in page.text
    if "开始须早于结束" in message or "不存在" in message:
        assert rows(page.text) == set()
    fragment = operator.get("/cases", params=params, headers={"HX-Request": "true", "HX-Target": "case-results"})
    assert fragment.status_code == 200 and message in fragment.text and "<html" not in fragment.text


def test_a_bad_date_is_dropped_and_the_rest_still_filters(browser, world, dated):
    page = browser("operator").get("/cases", params={"reg_from": "bogus", "unit": world.units["zhujian"].id}).text
    assert rows(page) == {dated["working"].id} and "立案开始日期格式应为" in page


def test_messages_in_english(browser, dated):
    operator = browser("operator")
    operator.get("/lang/en")
    page = operator.get("/cases", params={"reg_from": "2026-11-11", "reg_to": "2026-11-10",
                                          "closed_to": "soon"}).text
    assert "Closed to must be a date YYYY-MM-DD" in page
    assert "The registration date range must start before it ends" in page
    assert "Registered from" in page and "Unit" in page


def test_the_search_box_finds_words_and_explains_a_search_without_any(browser, dated):
    operator = browser("operator")
    assert rows(operator.get("/cases", params={"q": "办理"}).text) == {dated["working"].id}
    assert rows(operator.get("/cases", params={"q": dated["new"].number}).text) == {dated["new"].id}
    page = operator.get("/cases", params={"q": "，、！"})
    assert page.status_code == 200 and rows(page.text) == set()
    assert "搜索内容须包含文字或数字" in page.text
    assert 'value="，、！"' in page.text  # the search stays in the box to be corrected
