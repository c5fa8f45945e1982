"""Grid-worker points: automatic rules from the history, caps, idempotence, manual adjustments, standings."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from civicgrid.assessment import points
from civicgrid.assessment.models import PointEntry
from civicgrid.audit.models import AuditEntry
from civicgrid.audit.service import Origin, record
from civicgrid.errors import Forbidden, InvalidInput, NotFound
from civicgrid.events.workflow import CaseState as S
from tests.histories import at

ORIGIN = Origin("test")


def _stamp(entry: AuditEntry, when) -> None:
    entry.at = when


def _entries(session, world, name="gridworker"):
    return session.scalars(select(PointEntry).where(PointEntry.user_id == world.users[name].id)
                           .order_by(PointEntry.id)).all()


def test_rules_award_points_from_the_history(session, world, make):
    gw, op = world.users["gridworker"], world.users["operator"]
    reported = make(state=S.REGISTERED, reporter="gridworker", received=at(3), registered_at=at(3, 11))
    rejected = make(state=S.REJECTED, reporter="gridworker", received=at(3))
    on_site = make(state=S.RESOLVED, reporter="gridworker", received=at(3), self_handled=True)
    for actor, entity, eid, action, after in (
        (op, "case", reported.id, "register", None),
        (op, "case", rejected.id, "reject", None),
        (gw, "case", on_site.id, "handle_on_site", None),
        (gw, "case", on_site.id, "verify", None),
        (op, "case", reported.id, "verify", None),  # an operator's verification earns no grid-worker points
        (gw, "care_record", 7, "visit", {"late": False}),
        (gw, "care_record", 8, "visit", {"late": True}),
    ):
        _stamp(record(session=session, actor=actor, origin=ORIGIN, entity=entity, entity_id=eid, action=action,
                      after=after), at(3, 12))
    session.flush()
    assert points.award_points(session=session) == 6
    got = {e.rule_code: e.points for e in _entries(session, world)}
    assert got == {"case_reported": 2, "report_rejected": -1, "case_self_handled": 3, "verification_done": 1,
                   "visit_on_time": 2, "visit_late": -2}
    reasons = {e.rule_code: e.reason for e in _entries(session, world)}
    assert reported.number in reasons["case_reported"]
    assert points.award_points(session=session) == 0  # idempotent
    summary = points.worker_points(session=session, actor=gw, worker_id=gw.id, month="2026-11")
    assert summary.total == 5 and len(summary.entries) == 6


def test_daily_cap_writes_a_zero_entry_with_the_reason(session, world):
    gw = world.users["gridworker"]
    for hour in (8, 9, 10):
        _stamp(points.check_in(session=session, actor=gw, origin=ORIGIN, kind="checkin"), at(4, hour))
    _stamp(points.check_in(session=session, actor=gw, origin=ORIGIN, kind="checkin"), at(5, 8))  # next day
    session.flush()
    points.award_points(session=session)
    entries = _entries(session, world)
    assert [e.points for e in entries] == [1, 1, 0, 1]
    assert "每日上限" in entries[2].reason and entries[2].raw_points == 1


def test_monthly_total_cap(session, world, monkeypatch):
    monkeypatch.setattr(points, "MONTHLY_TOTAL_CAP", 3)
    gw = world.users["gridworker"]
    for day in range(1, 6):
        _stamp(points.check_in(session=session, actor=gw, origin=ORIGIN, kind="checkin"), at(day, 9))
    session.flush()
    points.award_points(session=session)
    assert [e.points for e in _entries(session, world)] == [1, 1, 1, 0, 0]


def test_rule_override_changes_points_and_is_audited(session, world):
    admin = world.users["admin"]
    points.update_rule(session=session, actor=admin, origin=ORIGIN, code="patrol_checkin", points=5,
                       daily_cap=None, monthly_cap=None)
    assert session.scalar(select(AuditEntry).where(AuditEntry.entity == "point_rule")) is not None
    gw = world.users["gridworker"]
    points.check_in(session=session, actor=gw, origin=ORIGIN, kind="checkin")
    session.flush()
    points.award_points(session=session)
    assert _entries(session, world)[0].points == 5
    with pytest.raises(Forbidden):
        points.update_rule(session=session, actor=world.users["leader"], origin=ORIGIN, code="patrol_checkin",
                           points=1, daily_cap=None, monthly_cap=None)


def test_manual_adjustment_is_audited_and_scoped(session, world):
    leader, gw = world.users["leader"], world.users["gridworker"]
    entry = points.adjust_points(session=session, actor=leader, origin=ORIGIN, worker_id=gw.id, points=-3,
                                 reason="巡查记录不实")
    audit = session.scalar(select(AuditEntry).where(AuditEntry.entity == "point_entry"))
    assert audit.action == "adjust" and audit.after["points"] == -3 and audit.actor_id == leader.id
    assert entry.rule_code == "manual" and "巡查记录不实" in entry.reason
    with pytest.raises(NotFound):  # gridworker2 works in street 2
        points.adjust_points(session=session, actor=world.users["street_leader"], origin=ORIGIN,
                             worker_id=world.users["gridworker2"].id, points=1, reason="好")
    with pytest.raises(InvalidInput):
        points.adjust_points(session=session, actor=leader, origin=ORIGIN, worker_id=gw.id, points=0, reason="x y")
    with pytest.raises(InvalidInput):
        points.adjust_points(session=session, actor=leader, origin=ORIGIN, worker_id=gw.id, points=2, reason=" ")
    with pytest.raises(Forbidden):
        points.adjust_points(session=session, actor=gw, origin=ORIGIN, worker_id=gw.id, points=2, reason="自己加分")
    with pytest.raises(NotFound):  # another worker cannot read my points
        points.worker_points(session=session, actor=world.users["gridworker2"], worker_id=gw.id, month="2026-11")


def test_standings_rank_and_change(session, world):
    leader = world.users["leader"]
    a, b = world.users["gridworker"], world.users["gridworker2"]
    for user, pts, month in ((a, 5, "2026-10"), (b, 3, "2026-10"), (a, 2, "2026-11"), (b, 9, "2026-11")):
        e = points.adjust_points(session=session, actor=leader, origin=ORIGIN, worker_id=user.id, points=pts,
                                 reason="测试")
        e.month = month
    session.flush()
    rows = points.standings(session=session, actor=leader, path=world.regions["district"].path, month="2026-11")
    assert [(r.name, r.total, r.rank, r.rank_change) for r in rows] == [("gridworker2", 9, 1, 1),
                                                                         ("gridworker", 2, 2, -1)]


def test_points_api_and_pages(client, as_user, world, session):
    r = client.post("/api/points/checkins", json={"kind": "safe_report"}, headers=as_user("gridworker"))
    assert r.status_code == 201
    assert client.post("/api/points/checkins", json={"kind": "checkin"}, headers=as_user("leader")).status_code == 403
    points.award_points(session=session)
    me = client.get("/api/points/me", headers=as_user("gridworker")).json()
    assert me["total"] == 1 and me["entries"][0]["rule"] == "safe_report"
    bad = client.post("/api/points/adjustments", json={"worker_id": world.users["gridworker"].id, "points": 99,
                                                       "reason": "太多"}, headers=as_user("leader"))
    assert bad.status_code == 422 and "detail_zh" in bad.json()
    ok = client.post("/api/points/adjustments", json={"worker_id": world.users["gridworker"].id, "points": 4,
                                                      "reason": "表彰"}, headers=as_user("leader"))
    assert ok.status_code == 201
    page = client.get("/assessment/points", headers=as_user("gridworker"))
    assert page.status_code == 200 and 'id="points-total">5<' in page.text and "表彰" in page.text
    lead = client.get("/assessment/points", headers=as_user("leader"))
    assert lead.status_code == 200 and 'id="standings"' in lead.text
    assert client.get("/api/points/me?month=2026-13", headers=as_user("gridworker")).status_code == 422
