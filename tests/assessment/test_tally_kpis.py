"""The case tallies give exactly the KPIs the cases give, whatever happened to the cases.

Random histories (any state, any timestamps, later changes of state, unit, resolution and
flags, dispatch and return events) are written through the ORM, so the tallies follow them
through the mapper events; then every question a tally ledger answers is asked twice, from
the tallies and from the cases, and a full rebuild must find the same rows the increments wrote.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select

from civicgrid.assessment import kpis
from civicgrid.assessment.kpis import Ctx, Grouping, Period, Subject, region_subject
from civicgrid.dashboard import service as dash
from civicgrid.events import tally
from civicgrid.events.models import Case, CaseTally, Channel
from civicgrid.events.workflow import CaseState as S
from tests.histories import at

GRIDS = ["grid111", "grid112", "grid121", "grid122", "grid211", "grid212", "grid221", "grid222"]
UNITS = [None, "chengguan", "zhujian", "community11"]
NOW = at(10, 12, month=12)  # November is a whole past month, December partly past

# Few distinct values, so equal timestamps (resolved exactly at the deadline…) come up often.
minutes = st.sampled_from([0, 60, 119, 120, 121, 1440, 4320]) | st.integers(min_value=0, max_value=20 * 24 * 60)
maybe_minutes = st.none() | minutes

case_spec = st.fixed_dictionaries({
    "grid": st.sampled_from(GRIDS),
    "unit": st.sampled_from(UNITS),
    "state": st.sampled_from(list(S)),
    "received": st.integers(min_value=0, max_value=18 * 24 * 60),
    "registered": maybe_minutes, "due": maybe_minutes, "resolved": maybe_minutes, "closed": maybe_minutes,
    "satisfaction": st.sampled_from([None, "satisfied", "basically", "unsatisfied"]),
    "rework": st.integers(0, 2), "extensions": st.integers(0, 1), "self_handled": st.booleans(),
    "overdue": st.booleans(), "suspended": st.sampled_from([0.0, 3600.0]),
})
change_spec = st.fixed_dictionaries({
    "case": st.integers(0, 30),
    "state": st.none() | st.sampled_from(list(S)),
    "unit": st.none() | st.sampled_from(UNITS[1:]),
    "resolved": st.none() | minutes,
    "overdue": st.none() | st.booleans(),
    "grid": st.none() | st.sampled_from(GRIDS),
    "recategorise": st.booleans(),
})
event_spec = st.tuples(st.integers(0, 30), st.sampled_from(["dispatch", "return"]),
                       st.sampled_from(UNITS[1:]), st.integers(0, 18 * 24 * 60))

START = at(1, 0)


def _at(offset: int | None, base: dt.datetime = START) -> dt.datetime | None:
    return None if offset is None else base + dt.timedelta(minutes=offset)


def _tally_rows(session) -> dict:
    t = CaseTally.__table__.c
    keys = [t.ledger, t.cohort, t.day, t.area_path, t.unit_id]
    sums = [func.sum(t[c]) for c in tally.COUNTERS]
    out = {}
    for row in session.execute(select(*keys, *sums).group_by(*keys)):
        values = tuple(round(float(v or 0), 3) for v in row[5:])
        if any(values):
            out[tuple(row[:5])] = values
    return out


def _questions(world):
    """(actor, subject, grouping) triples that a ledger answers."""
    district, street1 = world.regions["district"], world.regions["street1"]
    streets = (world.regions["street1"], world.regions["street2"])
    cg = world.units["chengguan"]
    yield "leader", None, None
    yield "leader", region_subject(street1), None
    yield "leader", region_subject(district), Grouping("children", district, streets)
    yield "leader", None, Grouping("unit")
    yield "leader", Subject("unit", cg.id), None
    yield "leader", Subject("unit", cg.id, district.path), None
    yield "street_leader", None, None
    yield "street_op", None, None
    yield "street_op", None, Grouping("unit")  # whole months only: unit-months keep streets
    yield "admin", region_subject(world.regions["district"]), Grouping("unit")
    yield "handler", None, None
    yield "handler_zj", None, Grouping("unit")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(cases=st.lists(case_spec, min_size=1, max_size=14), changes=st.lists(change_spec, max_size=10),
       events=st.lists(event_spec, max_size=8),
       first=st.just(31) | st.integers(0, 60), length=st.just(29) | st.integers(0, 45))
def test_tallies_answer_every_fitting_question_like_the_cases(session, world, make, cases, changes, events,
                                                              first, length):
    nested = session.begin_nested()
    try:
        made = []
        for spec in cases:
            received = _at(spec["received"])
            made.append(make(
                state=spec["state"], grid=spec["grid"], unit=spec["unit"], received=received,
                registered_at=_at(spec["registered"], received), finish_due_at=_at(spec["due"], received),
                resolved_at=_at(spec["resolved"], received), closed_at=_at(spec["closed"], received),
                satisfaction=spec["satisfaction"], rework_count=spec["rework"],
                extensions_count=spec["extensions"], self_handled=spec["self_handled"], overdue=spec["overdue"],
                suspended_seconds=spec["suspended"]))
        for change in changes:
            case = made[change["case"] % len(made)]
            if change["state"] is not None:
                case.state = change["state"]
            if change["unit"] is not None:
                case.unit_id = world.units[change["unit"]].id
            if change["resolved"] is not None:
                case.resolved_at = _at(change["resolved"])
            if change["overdue"] is not None:
                case.overdue = change["overdue"]
            if change["grid"] is not None:
                case.region_path = world.regions[change["grid"]].path
            if change["recategorise"]:
                leaves = sorted(c.id for c in world.categories.values() if c.parent_id is not None)
                case.category_id = leaves[(leaves.index(case.category_id) + 7) % len(leaves)] \
                    if case.category_id in leaves else leaves[0]
                case.channel = Channel.GRID_APP if case.channel != Channel.GRID_APP else Channel.HOTLINE
            session.flush()
        for index, action, unit, when in events:
            make.event(made[index % len(made)], action, _at(when), unit=unit)

        assert tally.usable_limit(session) == kpis.DEFAULT_REGISTER_LIMIT_MINUTES
        period = Period(dt.date(2026, 10, 1) + dt.timedelta(days=first),
                        dt.date(2026, 10, 1) + dt.timedelta(days=first + length))
        ctx = Ctx(period, NOW)
        for who, subject, grouping in _questions(world):
            actor = world.users[who]
            assert any(kpis.tally_plan(actor, subject, grouping)), (who, subject, grouping)
            fast = kpis.count_measures(session=session, actor=actor, ctx=ctx, subject=subject, grouping=grouping)
            slow = kpis.count_measures(session=session, actor=actor, ctx=ctx, subject=subject, grouping=grouping,
                                       use_tally=False)
            for key in fast.keys() | slow.keys():
                a, b = fast.get(key, kpis.Kpis()), slow.get(key, kpis.Kpis())
                assert a.counts == b.counts, (who, subject, grouping, key)
                assert a.handling_seconds == pytest.approx(b.handling_seconds, abs=0.5)

        # The dashboard's 30-day trends: from the trend tallies for a district or the city.
        for who, where in (("leader", world.regions["district"]), ("admin", world.regions["city"])):
            actor = world.users[who]
            assert dash.trends(session=session, actor=actor, region=where, now=NOW) == dash.trends(
                session=session, actor=actor, region=where, now=NOW, use_tally=False)
            month = Period(dt.date(2026, 11, 5), dt.date(2026, 12, 10))  # by leaf category, for top categories
            assert dash._received_by(session, actor, where, month, NOW, True) == dash._received_by(
                session, actor, where, month, NOW, False)

        # The increments are what a rebuild from scratch finds; compaction changes no sum.
        incremental = _tally_rows(session)
        tally.compact(session=session)
        assert _tally_rows(session) == incremental
        # Compacted: one row per key, and a second pass finds nothing new to merge.
        t = CaseTally.__table__.c
        keys = [t.ledger, t.cohort, t.day, t.area_path, t.unit_id]
        assert session.scalar(select(func.count()).select_from(select(*keys).group_by(*keys).having(
            func.count() > 1).subquery())) == 0
        assert tally.compact(session=session) == 0
        tally.rebuild(session=session)
        assert _tally_rows(session) == incremental
    finally:
        nested.rollback()


def test_questions_below_a_ledger_read_the_cases(world):
    # A community operator, a grid worker's reports: no ledger keeps these.
    street1 = world.regions["street1"]
    nothing = (None, None)
    assert kpis.tally_plan(world.users["operator"], None, None) == nothing
    assert kpis.tally_plan(world.users["leader"], Subject("worker", world.users["gridworker"].id), None) == nothing
    assert kpis.tally_plan(world.users["citizen"], None, None) == nothing
    assert kpis.tally_plan(world.users["leader"], region_subject(street1), None) == (tally.AREA, tally.AREA)
    # Units within one street: whole months from the unit-months, other days from the cases.
    assert kpis.tally_plan(world.users["leader"], region_subject(street1), Grouping("unit")) == (
        None, tally.UNIT_MONTH)


def test_a_new_registration_limit_stops_the_tallies_until_rebuilt(session, world, make):
    from civicgrid.assessment import service
    from civicgrid.audit.service import SYSTEM

    case = make(state=S.CLOSED, received=at(3, 9), registered_at=at(3, 10, 30))  # 90 minutes
    admin = world.users.get("admin") or next(u for u in world.users.values() if u.role.value == "admin")
    scheme = service.get_scheme(session=session, target="region")
    service.update_scheme(session=session, actor=admin, origin=SYSTEM, target="region", weights=scheme.weights,
                          register_limit_minutes=60)
    assert tally.usable_limit(session) is None
    ctx = Ctx(Period(dt.date(2026, 11, 1), dt.date(2026, 11, 10)), NOW, 60)
    leader = world.users["leader"]
    counts = kpis.count_measures(session=session, actor=leader, ctx=ctx)[0].counts
    assert (counts["registered"], counts["registered_on_time"]) == (1, 0)
    tally.rebuild(session=session)
    assert tally.usable_limit(session) == 60
    assert kpis.count_measures(session=session, actor=leader, ctx=ctx)[0].counts["registered_on_time"] == 0
    assert case.id is not None


def test_the_overdue_claim_of_the_deadline_scan_is_tallied(session, world, make):
    from civicgrid.events.scheduler import _claim

    case = make(state=S.ACCEPTED, received=at(3), registered_at=at(3), finish_due_at=at(4), overdue=False)
    leader = world.users["leader"]
    ctx = Ctx(Period(dt.date(2026, 11, 1), dt.date(2026, 11, 1)), NOW)
    before = kpis.count_measures(session=session, actor=leader, ctx=ctx, keys=["overdue_now"])[0].counts
    assert _claim(session, case.id, Case.overdue)
    after = kpis.count_measures(session=session, actor=leader, ctx=ctx, keys=["overdue_now"])[0].counts
    direct = kpis.count_measures(session=session, actor=leader, ctx=ctx, keys=["overdue_now"], use_tally=False)
    assert after["overdue_now"] == before["overdue_now"] + 1 == direct[0].counts["overdue_now"]


def test_a_resolution_exactly_at_the_deadline_is_on_time_in_the_tallies_too(session, world, make):
    make(state=S.CLOSED, received=at(3, 9), registered_at=at(3, 9), finish_due_at=at(5, 17), resolved_at=at(5, 17),
         closed_at=at(6))
    make(state=S.ACCEPTED, received=at(3, 9), registered_at=at(3, 9), finish_due_at=at(5, 17))
    ctx = Ctx(Period(dt.date(2026, 11, 1), dt.date(2026, 11, 30)), NOW)
    leader = world.users["leader"]
    fast = kpis.count_measures(session=session, actor=leader, ctx=ctx)[0].counts
    slow = kpis.count_measures(session=session, actor=leader, ctx=ctx, use_tally=False)[0].counts
    assert fast == slow
    assert (fast["due"], fast["handled_on_time"], fast["overdue"]) == (2, 1, 1)
