"""Composite scores, grades, rankings with change, schemes, responsibility lists, assessment pages."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from civicgrid.assessment import responsibilities, service
from civicgrid.assessment.kpis import Kpis, Period
from civicgrid.audit.models import AuditEntry
from civicgrid.audit.service import Origin
from civicgrid.errors import Forbidden, InvalidInput, NotFound
from civicgrid.events.workflow import CaseState as S
from tests.histories import at

ORIGIN = Origin("test")
NOV = Period.month(2026, 11)


def test_score_is_weighted_mean_of_available_rates():
    scheme = service.Scheme("unit", {"closure_rate": 3, "rework_rate": 1, "satisfaction_rate": 6},
                            service.DEFAULT_GRADES)
    k = Kpis()
    k.counts.update(due=4, closed=3, handled=4, reworked=1)  # closure 0.75, rework 0.25 → counts as 0.75
    assert scheme.score(k) == pytest.approx(75.0)  # satisfaction has no ratings: drops out
    k.counts.update(rated=2, satisfied=2)
    assert scheme.score(k) == pytest.approx(100 * (3 * 0.75 + 0.75 + 6 * 1.0) / 10)
    assert scheme.grade(90)["grade"] == "A" and scheme.grade(89.99)["grade"] == "B" and scheme.grade(0)["grade"] == "D"
    assert scheme.score(Kpis()) is None and scheme.grade(None) is None


def test_rank_rows_share_ties_and_put_no_score_last():
    rows = [service.Ranked(i, n, n, Kpis(), s, None) for i, (n, s) in enumerate(
        [("a", 80.0), ("b", 95.0), ("c", None), ("d", 80.0), ("e", 70.0)])]
    ranked = service.rank_rows(rows)
    assert [(r.name_zh, r.rank) for r in ranked] == [("b", 1), ("a", 2), ("d", 2), ("e", 4), ("c", None)]


def _history(make):
    # Street 1 closes on time this month; street 2 is late. Last month it was the other way round.
    for month, good, bad, good_unit, bad_unit in ((11, "grid111", "grid211", "chengguan", "zhujian"),
                                                  (10, "grid211", "grid111", "zhujian", "chengguan")):
        make(state=S.CLOSED, grid=good, unit=good_unit, registered_at=at(2, month=month),
             resolved_at=at(5, month=month), closed_at=at(6, month=month), finish_due_at=at(9, month=month),
             satisfaction="satisfied", received=at(2, month=month))
        make(state=S.CLOSED, grid=bad, unit=bad_unit, registered_at=at(2, month=month),
             resolved_at=at(12, month=month), closed_at=at(13, month=month), finish_due_at=at(9, month=month),
             satisfaction="unsatisfied", received=at(2, month=month))


def test_region_and_unit_rankings_with_change(session, world, make):
    _history(make)
    leader = world.users["leader"]
    rows = service.region_ranking(session=session, actor=leader, region=world.regions["district"], period=NOV,
                                  now=at(5, month=12))
    assert [(r.name_zh, r.rank, r.previous_rank, r.rank_change) for r in rows] == [
        ("湖1街道", 1, 2, 1), ("湖2街道", 2, 1, -1)]
    assert rows[0].score > rows[1].score and rows[0].score_change > 0
    units = service.unit_ranking(session=session, actor=leader, region=world.regions["district"], period=NOV,
                                 now=at(5, month=12))
    assert [(u.name_zh, u.rank, u.rank_change) for u in units] == [("云湖区城管局", 1, 1), ("云湖区住建局", 2, -1)]
    # A street leader ranks only inside their street.
    street = service.region_ranking(session=session, actor=world.users["street_leader"],
                                    region=world.regions["street1"], period=NOV, now=at(5, month=12))
    assert {r.name_zh for r in street} == {"湖1街道1社区", "湖1街道2社区"}
    with pytest.raises(NotFound):
        service.scoped_region(session=session, actor=world.users["street_leader"],
                              region_id=world.regions["street2"].id)


def test_scheme_update_is_validated_and_audited(session, world):
    admin = world.users["admin"]
    s = service.update_scheme(session=session, actor=admin, origin=ORIGIN, target="unit",
                              weights={"closure_rate": 50, "satisfaction_rate": 50}, register_limit_minutes=60)
    assert s.weights == {"closure_rate": 50, "satisfaction_rate": 50} and s.register_limit_minutes == 60
    assert service.get_scheme(session=session, target="unit").weights == s.weights
    audit = session.scalar(select(AuditEntry).where(AuditEntry.entity == "assessment_scheme"))
    assert audit.before["weights"] == service.DEFAULT_WEIGHTS["unit"]
    for bad in ({"nonsense": 1}, {"closure_rate": -1}, {"closure_rate": 0}):
        with pytest.raises(InvalidInput):
            service.update_scheme(session=session, actor=admin, origin=ORIGIN, target="unit", weights=bad)
    with pytest.raises(InvalidInput):
        service.update_scheme(session=session, actor=admin, origin=ORIGIN, target="unit",
                              weights={"closure_rate": 1}, grades=[{"min": 50, "grade": "A"}])
    with pytest.raises(Forbidden):
        service.update_scheme(session=session, actor=world.users["leader"], origin=ORIGIN, target="unit",
                              weights={"closure_rate": 1})


def test_responsibility_list_lifecycle(session, world):
    leader, handler = world.users["leader"], world.users["handler"]
    unit = world.units["chengguan"]
    item = responsibilities.create_item(session=session, actor=leader, origin=ORIGIN, unit_id=unit.id, year=2026,
                                        kind="duty", title="占道经营整治", target="投诉下降 30%",
                                        due_on=at(30).date())
    problem = responsibilities.create_item(session=session, actor=leader, origin=ORIGIN, unit_id=unit.id, year=2026,
                                           kind="problem", title="夜市噪音", due_on=at(1).date())
    responsibilities.update_item(session=session, actor=handler, origin=ORIGIN, item_id=item.id, status="done",
                                 result="已完成，投诉下降 35%")
    with pytest.raises(Forbidden):
        responsibilities.update_item(session=session, actor=handler, origin=ORIGIN, item_id=item.id, title="改名")
    with pytest.raises(NotFound):  # another unit's handler
        responsibilities.update_item(session=session, actor=world.users["handler_zj"], origin=ORIGIN,
                                     item_id=item.id, status="done")
    with pytest.raises(Forbidden):
        responsibilities.create_item(session=session, actor=handler, origin=ORIGIN, unit_id=unit.id, year=2026,
                                     kind="duty", title="x")
    with pytest.raises(InvalidInput):
        responsibilities.create_item(session=session, actor=leader, origin=ORIGIN, unit_id=unit.id, year=2026,
                                     kind="other", title="x")
    items = responsibilities.list_items(session=session, actor=handler, unit_id=unit.id, year=2026)
    tally = responsibilities.tally(items, at(15).date())
    assert (tally.total, tally.done, tally.late, tally.done_rate) == (2, 1, 1, 0.5)
    assert problem.status == "planned"
    audits = session.scalars(select(AuditEntry).where(AuditEntry.entity == "responsibility_item").order_by(AuditEntry.id)).all()
    assert [a.action for a in audits] == ["create", "create", "update"]


def test_assessment_pages_and_api(client, as_user, world, make):
    _history(make)
    r = client.get("/api/assessment/rankings?kind=region&period=2026-11", headers=as_user("leader"))
    assert r.status_code == 200 and r.json()["rows"][0]["rank_change"] == 1
    assert client.get("/api/assessment/rankings?period=bad", headers=as_user("leader")).status_code == 422
    assert client.get("/api/assessment/rankings", headers=as_user("gridworker")).status_code == 403
    k = client.get(f"/api/kpis?subject=unit&id={world.units['chengguan'].id}&period=2026-11",
                   headers=as_user("handler")).json()
    assert k["counts"]["closed_on_time"] == 1 and k["rates"]["on_time_closure_rate"] == 1.0
    assert client.get(f"/api/kpis?subject=unit&id={world.units['zhujian'].id}",
                      headers=as_user("handler")).status_code == 404
    assert client.get("/api/kpis/definitions").status_code == 200
    page = client.get("/assessment?period=2026-11", headers=as_user("leader"))
    assert page.status_code == 200 and 'id="ranking-region"' in page.text and "▲1" in page.text
    card = client.get(f"/assessment/units/{world.units['chengguan'].id}?year=2026", headers=as_user("leader"))
    assert card.status_code == 200 and 'id="items"' in card.text
    drill = client.get("/assessment/cases?measure=overdue&period=2026-11", headers=as_user("leader"))
    assert drill.status_code == 200 and 'id="case-total">1<' in drill.text
    assert client.get("/assessment/cases?measure=nope", headers=as_user("leader")).status_code == 422
