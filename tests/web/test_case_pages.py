"""Case pages: inbox, list, detail with only the allowed actions, forms for every action, new case."""

from __future__ import annotations

import re

import pytest

from civicgrid.events import service
from civicgrid.events.models import Case
from civicgrid.events.workflow import CaseState
from tests.web.conftest import post_form

ALL_USERS = ["admin", "operator", "operator12", "street_op", "district_op", "city_op", "handler", "handler_zj",
             "community_handler", "gridworker", "gridworker2", "leader", "street_leader", "citizen"]
ACTION_FORM = re.compile(r'data-action="([a-z_]+)"')
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def offered(html: str) -> set[str]:
    """The actions a detail page offers as forms."""
    return set(ACTION_FORM.findall(html))


def state_of(session, case_id: int) -> CaseState:
    session.expire_all()
    return session.get(Case, case_id).state


# --------------------------------------------------------------------------------------
# Inbox and list
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ALL_USERS)
def test_inbox_and_list_render_for_every_role(browser, report, username):
    report()
    client = browser(username)
    inbox = client.get("/inbox")
    assert inbox.status_code == 200 and "我的待办" in inbox.text
    listing = client.get("/cases")
    assert listing.status_code == 200 and "事件列表" in listing.text


def test_operator_inbox_lists_the_report_and_its_notification(browser, report):
    case = report(actor="gridworker", channel="grid_app")
    page = browser("operator").get("/inbox")
    assert case.number in page.text
    assert "新事件待立案" in page.text  # the unread notification
    assert 'class="count"' in page.text  # unread badge in the menu


def test_handler_inbox_shows_dispatched_cases_only(browser, report, session, world):
    waiting = report(title="等待派遣的事件")
    dispatched = report(title="已派遣城管的事件")
    op = world.users["operator"]
    from civicgrid.audit.service import SYSTEM

    for action, params in (("register", None), ("dispatch", service.ActionParams(unit_id=world.units["chengguan"].id))):
        service.transition(session=session, actor=op, origin=SYSTEM, case_id=dispatched.id, action=action,
                           params=params)
    page = browser("handler").get("/inbox").text
    assert dispatched.number in page and waiting.number not in page
    assert "新派遣事件" in page


def test_mark_notifications_read(browser, report):
    report(actor="gridworker", channel="grid_app")
    operator = browser("operator")
    assert "新事件待立案" in operator.get("/inbox").text
    assert post_form(operator, "/notifications/read").status_code == 303
    assert "没有未读通知" in operator.get("/inbox").text


def test_list_filters_and_text_search(browser, report):
    rubbish = report(title="路边垃圾堆积")
    lamp = report(title="路灯不亮", category_code="CP0101", description="小区门口路灯连续三晚不亮")
    operator = browser("operator")
    page = operator.get("/cases", params={"q": "路灯"}).text
    assert lamp.number in page and rubbish.number not in page
    page = operator.get("/cases", params={"category": str(lamp.category_id)}).text
    assert lamp.number in page and rubbish.number not in page
    page = operator.get("/cases", params={"state": "open", "channel": "operator", "overdue": "no"}).text
    assert lamp.number in page and rubbish.number in page
    assert operator.get("/cases", params={"state": "closed"}).text.count("data-case-id") == 0


def test_list_region_and_date_filters(browser, report, world):
    here = report(grid="grid111")
    there = report(grid="grid112", title="第二网格的事件")
    operator = browser("operator")
    page = operator.get("/cases", params={"region": world.regions["grid112"].id}).text
    assert there.number in page and here.number not in page
    page = operator.get("/cases", params={"from": "2000-01-01", "to": "2000-01-02"}).text
    assert "没有符合条件的事件" in page


def test_list_never_refuses_bad_filter_values(browser, report):
    report()
    page = browser("operator").get("/cases", params={"state": "bogus", "category": "x", "page": "-3",
                                                     "from": "yesterday", "overdue": "maybe"})
    assert page.status_code == 200
    assert "开始日期格式应为" in page.text


def test_list_region_outside_scope_shows_nothing_and_unknown_region_is_reported(browser, report, world):
    report()
    operator = browser("operator")
    page = operator.get("/cases", params={"region": world.regions["grid211"].id})
    assert page.status_code == 200 and "data-case-id" not in page.text
    page = operator.get("/cases", params={"region": "987654321"})
    assert page.status_code == 200 and "不在您的管辖范围内" in page.text


def test_list_paging(browser, report):
    cases = [report(title=f"事件{i:02d}", description=f"第{i}件测试描述内容") for i in range(23)]
    operator = browser("operator")
    first = operator.get("/cases").text
    assert "23" in first and "下一页" in first and "上一页" not in first
    second = operator.get("/cases", params={"page": 2}).text
    assert second.count("data-case-id") == 3 and "上一页" in second and "下一页" not in second
    assert cases[0].number in second  # oldest last


def test_list_htmx_returns_only_the_results(browser, report):
    report()
    fragment = browser("operator").get("/cases", params={"state": "open"},
                                       headers={"HX-Request": "true", "HX-Target": "case-results"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and "data-case-id" in fragment.text


def test_overdue_case_is_flagged_in_red(browser, report, session):
    case = report()
    case.state = CaseState.REGISTERED
    case.finish_due_at = case.received_at.replace(year=case.received_at.year - 1)
    session.flush()
    operator = browser("operator")
    listing = operator.get("/cases").text
    assert "row-overdue" in listing and "flag-overdue" in listing
    detail = operator.get(f"/cases/{case.id}").text
    assert "is-overdue" in detail and "已超期" in detail


# --------------------------------------------------------------------------------------
# Detail: only the allowed actions
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ALL_USERS)
def test_detail_offers_exactly_the_allowed_actions(browser, report, session, world, username):
    case = report()
    client = browser(username)
    page = client.get(f"/cases/{case.id}")
    user = world.users[username]
    try:
        visible = service.get_case(session=session, actor=user, case_id=case.id)
    except Exception:
        visible = None
    if visible is None:
        assert page.status_code == 404
        assert "不存在，或不在您的管辖范围内" in page.text and "<html" in page.text
        return
    assert page.status_code == 200
    assert offered(page.text) == {t.action for t in service.allowed_actions(user, visible)}


def test_detail_for_operator_and_handler_differ(browser, report, session, world):
    case = report()
    operator_page = browser("operator").get(f"/cases/{case.id}").text
    assert {"register", "reject", "merge"} <= offered(operator_page)
    assert "accept" not in offered(operator_page)
    from civicgrid.audit.service import SYSTEM

    op = world.users["operator"]
    service.transition(session=session, actor=op, origin=SYSTEM, case_id=case.id, action="register")
    service.transition(session=session, actor=op, origin=SYSTEM, case_id=case.id, action="dispatch",
                       params=service.ActionParams(unit_id=world.units["chengguan"].id))
    handler_page = browser("handler").get(f"/cases/{case.id}").text
    assert "accept" in offered(handler_page) and "register" not in offered(handler_page)
    assert browser("handler_zj").get(f"/cases/{case.id}").status_code == 404


def test_detail_shows_facts_deadline_map_and_timeline(browser, report):
    case = report()
    operator = browser("operator")
    post_form(operator, f"/cases/{case.id}/actions/register")
    page = operator.get(f"/cases/{case.id}").text
    assert "办结时限" in page and "剩余" in page  # countdown computed by the route
    assert 'data-map="pin"' in page and "data-grid=" in page
    assert "接报登记" in page and "立案" in page
    assert "13800001234" in page  # operators call reporters back
    assert "湖1街道1社区居委会" in page  # suggested unit (community fallback)


def test_reporter_phone_is_masked_for_other_roles(browser, report):
    case = report()
    page = browser("district_op").get(f"/cases/{case.id}").text
    assert "13800001234" in page  # operators see it
    page = browser("leader").get(f"/cases/{case.id}").text
    assert "13800001234" not in page and "138****1234" in page


def test_dispatch_form_defaults_to_the_suggested_unit(browser, report):
    case = report()
    operator = browser("operator")
    post_form(operator, f"/cases/{case.id}/actions/register")
    page = operator.get(f"/cases/{case.id}").text
    selected = re.search(r'<option value="(\d+)" selected>([^<]+)', page)
    assert selected and case.suggested_unit_id == int(selected.group(1))
    assert "（建议）" in selected.group(2)


# --------------------------------------------------------------------------------------
# Actions through the forms
# --------------------------------------------------------------------------------------


def test_whole_loop_through_plain_forms(browser, report, session, world):
    case = report()
    operator, handler = browser("operator"), browser("handler")
    url = f"/cases/{case.id}/actions"
    assert post_form(operator, f"{url}/register").headers["location"] == f"/cases/{case.id}?done=register"
    post_form(operator, f"{url}/dispatch", {"unit_id": world.units["chengguan"].id, "note": "请处理"})
    assert state_of(session, case.id) == CaseState.DISPATCHED
    post_form(handler, f"{url}/accept")
    post_form(handler, f"{url}/resolve", {"note": "已清运"})
    assert state_of(session, case.id) == CaseState.RESOLVED
    post_form(operator, f"{url}/verify")
    post_form(operator, f"{url}/callback", {"satisfaction": "satisfied"})
    post_form(operator, f"{url}/close")
    assert state_of(session, case.id) == CaseState.CLOSED
    page = operator.get(f"/cases/{case.id}?done=close").text
    assert "已完成：结案" in page and "已结案" in page and "满意" in page
    assert offered(page) == set()


def test_refused_action_is_shown_on_the_page_in_the_users_language(browser, report, session):
    case = report()
    operator = browser("operator")
    response = post_form(operator, f"/cases/{case.id}/actions/reject", {"note": "  "})
    assert response.status_code == 422
    assert "「不予立案」需要填写说明" in response.text and "<html" in response.text
    assert state_of(session, case.id) == CaseState.REPORTED
    operator.get("/lang/en")
    response = post_form(operator, f"/cases/{case.id}/actions/verify")
    assert response.status_code == 409 and "is not possible now" in response.text


def test_action_the_role_may_not_take_is_refused(browser, report, session):
    case = report()
    response = post_form(browser("gridworker"), f"/cases/{case.id}/actions/register")
    assert response.status_code == 403 and "无权" in response.text
    assert state_of(session, case.id) == CaseState.REPORTED


def test_unknown_action_and_bad_extension_days_are_pages_not_500s(browser, report):
    case = report()
    operator = browser("operator")
    assert post_form(operator, f"/cases/{case.id}/actions/explode").status_code == 422
    response = post_form(operator, f"/cases/{case.id}/actions/request_extension", {"extension_days": "99"})
    assert response.status_code == 422 and "1–30" in response.text


def test_htmx_action_returns_the_refreshed_panel(browser, report, world):
    case = report()
    operator = browser("operator")
    post_form(operator, f"/cases/{case.id}/actions/register")
    panel = post_form(operator, f"/cases/{case.id}/actions/dispatch", {"unit_id": world.units["chengguan"].id},
                      htmx=True)
    assert panel.status_code == 200
    assert panel.text.lstrip().startswith('<div id="case-panel"')
    assert 'data-state="dispatched"' in panel.text
    assert world.units["chengguan"].name_zh in panel.text  # the unit shows at once
    refused = post_form(operator, f"/cases/{case.id}/actions/register", htmx=True)
    assert refused.status_code == 409 and 'id="case-panel"' in refused.text and "alert-error" in refused.text


def test_returned_case_leaves_the_handlers_sight(browser, report, session, world):
    case = report()
    operator, handler = browser("operator"), browser("handler")
    post_form(operator, f"/cases/{case.id}/actions/register")
    post_form(operator, f"/cases/{case.id}/actions/dispatch", {"unit_id": world.units["chengguan"].id})
    response = post_form(handler, f"/cases/{case.id}/actions/return", {"note": "不属于本单位职责"})
    assert response.headers["location"] == "/inbox?done=return"
    assert "已完成：退回" in handler.get("/inbox?done=return").text
    htmx_case = report(title="第二件")
    post_form(operator, f"/cases/{htmx_case.id}/actions/register")
    post_form(operator, f"/cases/{htmx_case.id}/actions/dispatch", {"unit_id": world.units["chengguan"].id})
    response = post_form(handler, f"/cases/{htmx_case.id}/actions/return", {"note": "不属于本单位"}, htmx=True)
    assert response.headers["HX-Redirect"] == "/inbox?done=return"


def test_extension_request_and_approval(browser, report, session, world):
    case = report()
    operator, handler = browser("operator"), browser("handler")
    post_form(operator, f"/cases/{case.id}/actions/register")
    post_form(operator, f"/cases/{case.id}/actions/dispatch", {"unit_id": world.units["chengguan"].id})
    post_form(handler, f"/cases/{case.id}/actions/accept")
    before = session.get(Case, case.id).finish_due_at
    post_form(handler, f"/cases/{case.id}/actions/request_extension", {"extension_days": "3", "note": "需协调"})
    page = operator.get(f"/cases/{case.id}").text
    assert {"approve_extension", "deny_extension"} <= offered(page) and "待批延期" in page
    post_form(operator, f"/cases/{case.id}/actions/approve_extension")
    session.expire_all()
    assert session.get(Case, case.id).finish_due_at > before


def test_merge_from_the_duplicate_list(browser, report, session):
    first = report(description="路边堆放大量生活垃圾，无人清运")
    second = report(description="路边堆放大量生活垃圾，一直无人清运")
    operator = browser("operator")
    page = operator.get(f"/cases/{second.id}").text
    assert "疑似重复事件" in page and first.number in page and "合并到此事件" in page
    response = post_form(operator, f"/cases/{second.id}/actions/merge", {"master": str(first.id)})
    assert response.status_code == 303
    assert state_of(session, second.id) == CaseState.MERGED
    page = operator.get(f"/cases/{second.id}").text
    assert "已合并到" in page and first.number in page


def test_merge_by_case_number(browser, report, session):
    first = report(description="路边堆放大量生活垃圾，无人清运")
    second = report(description="路边堆放大量生活垃圾，一直无人清运")
    post_form(browser("operator"), f"/cases/{second.id}/actions/merge", {"master": first.number})
    assert state_of(session, second.id) == CaseState.MERGED


def test_comment_and_attachment(browser, report):
    case = report()
    operator = browser("operator")
    assert post_form(operator, f"/cases/{case.id}/comments", {"note": "已电话回复反映人"}).status_code == 303
    empty = post_form(operator, f"/cases/{case.id}/comments", {"note": " "})
    assert empty.status_code == 422 and "备注不能为空" in empty.text
    upload = operator.post(f"/cases/{case.id}/attachments", data={"csrf": operator.cookies.get("cg_csrf")},
                           files={"file": ("现场.png", PNG, "image/png")}, follow_redirects=False)
    assert upload.status_code == 303
    page = operator.get(f"/cases/{case.id}").text
    assert "已电话回复反映人" in page and "现场.png" in page
    link = re.search(r'href="(/api/cases/attachments/\d+/file)"', page).group(1)
    download = operator.get(link)  # the session cookie is enough for a GET
    assert download.status_code == 200 and download.content == PNG
    bad = operator.post(f"/cases/{case.id}/attachments", data={"csrf": operator.cookies.get("cg_csrf")},
                        files={"file": ("x.exe", b"MZ\x90\x00", "application/octet-stream")}, follow_redirects=False)
    assert bad.status_code == 422 and "只接受" in bad.text


# --------------------------------------------------------------------------------------
# New case
# --------------------------------------------------------------------------------------


def new_case_data(world, **overrides) -> dict:
    lat, lon = world.grid_point("grid112")
    data = {"category_code": "CP0101", "channel": "hotline_12345", "urgency": "high", "title": "路灯不亮",
            "description": "小区门口路灯连续三晚不亮", "address": "湖滨路 8 号", "lat": f"{lat:.6f}",
            "lon": f"{lon:.6f}", "reporter_name": "王先生", "reporter_phone": "13700001111",
            "client_key": "form-key-1"}
    data.update(overrides)
    return data


def test_new_case_form_renders_with_map_and_choices(browser):
    page = browser("operator").get("/cases/new").text
    assert 'data-map="pick"' in page and 'name="lat"' in page
    assert "路灯损坏" in page and "12345热线" in page and 'name="client_key"' in page


def test_new_case_is_registered_and_located(browser, session, world):
    operator = browser("operator")
    response = post_form(operator, "/cases/new", new_case_data(world))
    assert response.status_code == 303
    case_id = int(re.search(r"/cases/(\d+)\?done=intake", response.headers["location"]).group(1))
    case = session.get(Case, case_id)
    assert case.grid_id == world.regions["grid112"].id and case.channel.value == "hotline_12345"
    assert "事件已登记" in operator.get(response.headers["location"]).text
    again = post_form(operator, "/cases/new", new_case_data(world))  # a double submit
    assert again.headers["location"] == response.headers["location"]


def test_new_case_with_errors_keeps_what_was_typed(browser, world):
    response = post_form(browser("operator"), "/cases/new",
                         new_case_data(world, description="", reporter_phone="abc"))
    assert response.status_code == 422
    assert "事件描述" in response.text and "联系电话" in response.text
    assert 'value="王先生"' in response.text and 'value="湖滨路 8 号"' in response.text


def test_new_case_refusal_from_the_service_is_shown(browser, world):
    response = post_form(browser("operator"), "/cases/new", new_case_data(world, category_code="NOPE"))
    assert response.status_code == 422 and "事件类别 NOPE 不存在" in response.text
    lat, lon = world.grid_point("grid211")  # another street: outside the operator's area
    response = post_form(browser("operator"), "/cases/new",
                         new_case_data(world, channel="operator", lat=str(lat), lon=str(lon), client_key="k2"))
    assert response.status_code == 403 and "不在您的管辖范围内" in response.text


def test_citizen_reports_through_the_citizen_channel(browser, session, world):
    citizen = browser("citizen")
    page = citizen.get("/cases/new").text
    assert "12345热线" not in page and "群众网上反映" in page
    response = post_form(citizen, "/cases/new", new_case_data(world, channel="operator", client_key="c1"))
    case_id = int(re.search(r"/cases/(\d+)", response.headers["location"]).group(1))
    assert session.get(Case, case_id).channel.value == "citizen_web"
    assert "登记事件" in citizen.get("/inbox").text and "网格地图" not in citizen.get("/inbox").text


def test_english_pages_label_states_and_times_in_english(browser, report):
    case = report()
    operator = browser("operator")
    post_form(operator, f"/cases/{case.id}/actions/register")
    operator.get("/lang/en")
    listing = operator.get("/cases").text
    assert ">Registered<" in listing and "待派遣" not in listing
    assert " left" in listing and "剩余" not in listing
    detail = operator.get(f"/cases/{case.id}").text
    assert "Resolve by" in detail and "Dispatch" in detail and "Exposed rubbish" in detail
    assert "已完成" not in detail and "办结时限" not in detail
