"""The closed loop as people live it: whole stories through the service (and one through the API)."""

from __future__ import annotations

import datetime as dt

import pytest

from civicgrid.errors import Forbidden, NotFound
from civicgrid.events import service
from civicgrid.events.duplicates import duplicate_candidates
from civicgrid.events.scheduler import scan_deadlines
from civicgrid.events.workflow import STATE_LABELS, CaseState
from civicgrid.regions.models import RegionLevel

from .conftest import SHANGHAI, Loop, add_working_time, working_days_after, working_time_between

S = CaseState


def actions(loop: Loop, case) -> list[tuple[str, str, str, str]]:
    return [(e.action, e.from_state or "", e.to_state or "", e.actor_name) for e in loop.entries(case)]


def test_full_loop_through_the_api(client, as_user, world, loop):
    lat, lon = world.grid_point("grid111")
    r = client.post("/api/cases", headers=as_user("citizen"), json={
        "category_code": "EV0101", "description": "小区门口垃圾堆积多日无人清理", "lat": lat, "lon": lon,
        "reporter_phone": "13800138000"})
    assert r.status_code == 201, r.text
    created = r.json()
    cid = created["id"]
    assert created["state"] == "reported" and created["channel"] == "citizen_web"
    assert created["grid_id"] == world.regions["grid111"].id
    assert created["desk_region_id"] == world.regions["community11"].id
    assert created["allowed_actions"] == []  # citizens follow, they do not act
    steps = [
        ("operator", {"action": "register"}, "registered"),
        ("operator", {"action": "dispatch", "unit_id": world.units["chengguan"].id}, "dispatched"),
        ("handler", {"action": "accept"}, "accepted"),
        ("handler", {"action": "resolve", "note": "已清运垃圾"}, "resolved"),
        ("gridworker", {"action": "verify", "note": "现场已清理干净"}, "verified"),
        ("operator", {"action": "callback", "satisfaction": "satisfied", "note": "群众表示满意"}, "called_back"),
        ("operator", {"action": "close"}, "closed"),
    ]
    for user, body, state in steps:
        view = client.get(f"/api/cases/{cid}", headers=as_user(user))
        assert view.status_code == 200
        assert body["action"] in view.json()["allowed_actions"], (user, view.json()["allowed_actions"])
        r = client.post(f"/api/cases/{cid}/actions", json=body, headers=as_user(user))
        assert r.status_code == 200, r.text
        assert r.json()["state"] == state
        assert r.json()["state_label"] == STATE_LABELS[CaseState(state)][0]
    final = client.get(f"/api/cases/{cid}", headers=as_user("citizen")).json()
    assert final["state"] == "closed" and final["satisfaction"] == "satisfied"
    assert final["allowed_actions"] == []
    assert final["reporter_phone"] == "138****8000"  # masked for the citizen view
    for key in ("registered_at", "dispatched_at", "accepted_at", "resolved_at", "closed_at", "finish_due_at"):
        assert final[key] is not None, key
    history = client.get(f"/api/cases/{cid}/history", headers=as_user("operator")).json()
    assert [(h["action"], h["from_state"], h["to_state"]) for h in history] == [
        ("intake", None, "reported"), ("register", "reported", "registered"),
        ("dispatch", "registered", "dispatched"), ("accept", "dispatched", "accepted"),
        ("resolve", "accepted", "resolved"), ("verify", "resolved", "verified"),
        ("callback", "verified", "called_back"), ("close", "called_back", "closed"),
    ]
    assert [h["actor_name"] for h in history] == ["citizen", "operator", "operator", "handler", "handler",
                                                  "gridworker", "operator", "operator"]
    assert {h["channel"] for h in history} == {"api"}
    english = client.get(f"/api/cases/{cid}", headers=as_user("operator") | {"Accept-Language": "en"}).json()
    assert english["state_label"] == "Closed"


def test_return_and_redispatch(loop: Loop):
    case = loop.drive(loop.report(), S.REGISTERED)
    loop.fire(case, "dispatch", unit_id=loop.unit_id("zhujian"))
    assert loop.notifications("handler_zj", case, "assigned") == 1
    loop.fire(case, "return", by="handler_zj", note="不属于住建职责，应由城管办理")
    assert case.state is S.REGISTERED and case.unit_id is None and case.returns_count == 1
    assert case.accept_due_at is None and case.dispatched_at is None
    assert loop.notifications("operator", case, "returned") == 1
    with pytest.raises(NotFound):  # the returning unit no longer sees the case at all
        loop.fire(case, "accept", by="handler_zj")
    loop.fire(case, "dispatch", unit_id=loop.unit_id("chengguan"))
    loop.fire(case, "accept", by="handler")
    loop.fire(case, "return", by="handler", note="签收后发现不属实")  # a unit may also return after accepting
    assert case.state is S.REGISTERED and case.returns_count == 2 and case.accepted_at is None
    loop.fire(case, "dispatch", unit_id=loop.unit_id("chengguan"))
    loop.drive(case, S.CLOSED)
    assert [a for a, *_ in actions(loop, case)] == [
        "intake", "register", "dispatch", "return", "dispatch", "accept", "return", "dispatch", "accept",
        "resolve", "verify", "close"]  # callback is a sample, not a must


def test_rework_keeps_the_original_deadline(loop: Loop):
    case = loop.drive(loop.report(), S.RESOLVED)
    due = case.finish_due_at
    assert case.resolved_late is False
    loop.fire(case, "rework", by="gridworker", note="现场仍有垃圾")
    assert case.state is S.ACCEPTED and case.rework_count == 1 and case.resolved_at is None
    assert case.finish_due_at == due and case.overdue is False
    assert loop.notifications("handler", case, "rework") == 1
    # The second resolution comes after the deadline: counted late.
    late = due + dt.timedelta(hours=2)
    loop.fire(case, "resolve", at=late)
    assert case.resolved_late is True and case.resolved_at == late
    loop.fire(case, "rework", by="operator", at=late + dt.timedelta(hours=1), note="仍未处理到位")
    assert case.rework_count == 2 and case.finish_due_at == due
    # Past its deadline again: the deadline watch (not the rework) flags it, records and tells.
    assert case.overdue is False
    assert scan_deadlines(session=loop.session, now=late + dt.timedelta(hours=1, minutes=1)).overdue == 1
    loop.session.refresh(case)
    assert case.overdue is True
    loop.fire(case, "resolve", at=late + dt.timedelta(hours=2))
    loop.fire(case, "verify", by="gridworker", at=late + dt.timedelta(hours=3))
    assert case.state is S.VERIFIED


def test_extension_request_approve_and_deny(loop: Loop):
    case = loop.drive(loop.report(), S.ACCEPTED)
    due = case.finish_due_at
    loop.fire(case, "request_extension", extension_days=3, note="需协调多个部门")
    assert case.extension_days_requested == 3 and case.state is S.ACCEPTED
    assert loop.notifications("operator", case, "extension") == 1
    assert case in service.inbox_cases(session=loop.session, actor=loop.user("operator"))
    loop.fire(case, "approve_extension")
    assert case.finish_due_at == working_days_after(due, 3)
    assert case.extensions_count == 1 and case.extension_days_requested is None
    assert loop.notifications("handler", case, "extension") == 1
    extended = case.finish_due_at
    loop.fire(case, "request_extension", extension_days=10, note="再延期")
    loop.fire(case, "deny_extension", note="时限已延长过一次")
    assert case.finish_due_at == extended and case.extensions_count == 1
    assert case.extension_days_requested is None
    loop.fire(case, "request_extension", extension_days=1, note="最后一次")  # a denied request can be renewed
    assert case.extension_days_requested == 1
    entries = [e for e in loop.entries(case) if "extension" in e.action]
    assert [e.action for e in entries] == ["request_extension", "approve_extension", "request_extension",
                                           "deny_extension", "request_extension"]
    assert entries[1].after["extension_days"] == 3


def test_suspension_across_national_day_keeps_the_remaining_working_time(loop: Loop):
    start = dt.datetime(2026, 9, 28, 10, 0, tzinfo=SHANGHAI)
    case = loop.report(category="EV0301")  # construction noise: a complaint, 15 working days
    loop.fire(case, "register", at=start)
    loop.fire(case, "dispatch", at=start + dt.timedelta(minutes=10))
    loop.fire(case, "accept", at=start + dt.timedelta(minutes=20))
    due = case.finish_due_at
    assert due == add_working_time(start, 15 * 86400)
    suspended_at = dt.datetime(2026, 9, 30, 16, 0, tzinfo=SHANGHAI)
    loop.fire(case, "suspend", at=suspended_at, note="等待业主提供材料")
    remaining = working_time_between(suspended_at, due)
    assert case.remaining_seconds == pytest.approx(remaining)
    assert case.state is S.SUSPENDED and case.finish_due_at == due
    resumed_at = dt.datetime(2026, 10, 12, 9, 30, tzinfo=SHANGHAI)
    loop.fire(case, "resume", at=resumed_at)
    assert case.state is S.ACCEPTED
    assert case.finish_due_at == add_working_time(resumed_at, remaining)
    assert working_time_between(resumed_at, case.finish_due_at) == pytest.approx(remaining)
    assert case.suspended_seconds == (resumed_at - suspended_at).total_seconds()
    assert case.suspended_at is None and case.remaining_seconds is None and case.overdue is False


def test_suspending_an_overdue_case_keeps_it_overdue(loop: Loop):
    case = loop.drive(loop.report(), S.ACCEPTED)
    late = case.finish_due_at + dt.timedelta(days=1)
    assert scan_deadlines(session=loop.session, now=late).overdue == 1
    loop.session.refresh(case)
    loop.fire(case, "suspend", at=late)
    assert case.remaining_seconds < 0
    loop.fire(case, "resume", at=late + dt.timedelta(days=2))
    assert case.overdue is True and case.finish_due_at < late


def test_escalation_up_every_desk_to_the_city(loop: Loop):
    w = loop.world
    case = loop.report(by="gridworker", channel="grid_app")
    assert case.level is RegionLevel.COMMUNITY and case.desk_region_id == w.regions["community11"].id
    assert loop.notifications("operator", case, "to_register") == 1
    ladder = [("operator", "street1", "street_op", RegionLevel.STREET),
              ("street_op", "district", "district_op", RegionLevel.DISTRICT),
              ("district_op", "city", "city_op", RegionLevel.CITY)]
    for n, (who, desk, told, level) in enumerate(ladder, start=1):
        loop.fire(case, "escalate", by=who, note=f"超出本级处置能力（第{n}次）")
        assert case.state is S.REPORTED and case.level is level
        assert case.desk_region_id == w.regions[desk].id and case.desk_path == w.regions[desk].path
        assert case.escalations_count == n
        assert loop.notifications(told, case, "escalated") == 1
    loop.fire(case, "register", by="city_op")
    loop.fire(case, "dispatch", by="city_op", unit_id=loop.unit_id("shichang"))
    assert case.state is S.DISPATCHED
    with pytest.raises(Forbidden):  # the city desk owns it now
        loop.fire(case, "supervise", by="district_op")


def test_escalating_work_in_progress_takes_it_from_the_unit(loop: Loop):
    case = loop.drive(loop.report(), S.ACCEPTED)
    due = case.finish_due_at
    loop.fire(case, "escalate", by="handler", note="涉及多个部门，需街道协调")
    assert case.state is S.REGISTERED and case.unit_id is None and case.level is RegionLevel.STREET
    assert case.finish_due_at == due  # the completion clock keeps running
    with pytest.raises(NotFound):
        loop.fire(case, "resolve", by="handler")
    loop.fire(case, "dispatch", by="street_op", unit_id=loop.unit_id("zhujian"))
    loop.fire(case, "accept", by="handler_zj")
    assert case.state is S.ACCEPTED


def test_supervision_only_from_a_higher_level(loop: Loop):
    case = loop.drive(loop.report(), S.ACCEPTED)
    with pytest.raises(Forbidden):
        loop.fire(case, "supervise", by="operator")  # same level as the desk
    for who in ("operator12", "street2_op"):
        with pytest.raises(NotFound):
            loop.fire(case, "supervise", by=who)
    for n, who in enumerate(("street_op", "street_leader", "district_op", "leader", "city_op"), start=1):
        loop.fire(case, "supervise", by=who, note="请加快办理")
        assert case.supervision_count == n
    assert loop.notifications("handler", case, "supervised") == 5
    assert loop.notifications("operator", case, "supervised") == 5
    # Escalated to the street, the street's own people are no longer above it.
    loop.fire(case, "escalate", by="operator")
    for who in ("street_op", "street_leader"):
        with pytest.raises(Forbidden):
            loop.fire(case, "supervise", by=who)
    loop.fire(case, "supervise", by="leader")
    assert case.supervision_count == 6


def test_merged_case_follows_its_master(loop: Loop):
    master = loop.report(description="小区门口垃圾堆积多日无人清理")
    duplicate = loop.report(description="小区门口的垃圾堆了好几天没人清理")
    candidates = duplicate_candidates(session=loop.session, actor=loop.user("operator"), case=duplicate)
    assert [c.case.id for c in candidates] == [master.id]
    loop.fire(duplicate, "merge", master_id=master.id)
    assert duplicate.state is S.MERGED and duplicate.merged_into_id == master.id
    assert duplicate.closed_at is not None
    assert service.allowed_actions(loop.user("operator"), duplicate) == []
    merged_in = [e for e in loop.entries(master) if e.action == "merged_in"]
    assert len(merged_in) == 1 and merged_in[0].after == {"merged_case_id": duplicate.id}
    # The citizen who sent the duplicate can follow it to the master's outcome.
    seen = service.get_case(session=loop.session, actor=loop.user("citizen"), case_id=duplicate.id)
    assert seen.merged_into_id == master.id
    loop.drive(master, S.CLOSED)
    # A later report finds the master, never the merged duplicate.
    third = loop.report(description="小区门口垃圾又堆积了")
    found = [c.case.id for c in duplicate_candidates(session=loop.session, actor=loop.user("operator"), case=third)]
    assert found == [master.id]


@pytest.mark.parametrize("start", [S.REPORTED, S.REGISTERED])
def test_consultation_answered_directly(loop: Loop, start):
    case = loop.report(category="GV0601", description="请问老旧小区加装电梯有什么补贴政策？")
    if start is S.REGISTERED:
        loop.fire(case, "register")
    loop.fire(case, "answer", note="已电话告知补贴标准及申请流程")
    assert case.state is S.CLOSED
    assert case.resolution_note == "已电话告知补贴标准及申请流程"
    assert case.unit_id is None and case.dispatched_at is None
    assert case.registered_at is not None and case.resolved_at == case.closed_at


def test_grid_worker_handles_on_site(loop: Loop):
    case = loop.report(by="gridworker", channel="grid_app", description="井盖松动，已现场固定")
    assert case.reporter_user_id == loop.user("gridworker").id
    for who in ("gridworker2", "handler"):
        with pytest.raises(NotFound):
            loop.fire(case, "handle_on_site", by=who)
    loop.fire(case, "handle_on_site", note="已现场固定井盖")
    assert case.state is S.RESOLVED and case.self_handled is True
    assert loop.notifications("operator", case, "resolved") == 1
    loop.fire(case, "verify")
    loop.fire(case, "close")
    assert case.state is S.CLOSED


def test_grid_worker_cannot_handle_outside_own_grid(loop: Loop):
    case = loop.report(grid="grid112")  # same community, the neighbouring grid
    with pytest.raises(NotFound):
        loop.fire(case, "handle_on_site", by="gridworker")
    assert case.state is S.REPORTED
