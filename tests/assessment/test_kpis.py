"""Every KPI formula of assessment/kpis.py checked exactly on small hand-built histories."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from civicgrid.assessment import kpis
from civicgrid.assessment.kpis import COUNT, Ctx, Grouping, Kpis, Period, Subject, region_subject
from civicgrid.errors import InvalidInput
from civicgrid.events.models import Case
from civicgrid.events.scope import case_scope
from civicgrid.events.workflow import CaseState as S
from tests.histories import at

NOV = Period.month(2026, 11)
AFTER = at(5, month=12)  # the month is over


def compute(session, world, *, user="leader", period=NOV, now=AFTER, subject=None, limit=120) -> Kpis:
    return kpis.compute(session=session, actor=world.users[user], period=period, subject=subject, now=now,
                        register_limit_minutes=limit)


# --------------------------------------------------------------------------------------- periods


def test_period_month_bounds_are_local_midnights():
    assert NOV.start == at(1, 0)
    assert NOV.end == at(1, 0, month=12)
    assert NOV.key == "2026-11" and NOV.is_month and NOV.days == 30
    assert NOV.previous() == Period.month(2026, 10)
    assert Period.month(2026, 1).previous() == Period.month(2025, 12)


def test_period_parse():
    now = at(15)
    assert Period.parse("", now) == NOV
    assert Period.parse("2026-02", now) == Period.month(2026, 2)
    week = Period.parse("2026-11-02..2026-11-08", now)
    assert week.days == 7 and week.previous() == Period(dt.date(2026, 10, 26), dt.date(2026, 11, 1))
    for bad in ("2026-13", "yesterday", "2026-11-09..2026-11-01", "2026-11-31..2026-12-01"):
        with pytest.raises(InvalidInput):
            Period.parse(bad, now)


# --------------------------------------------------------------------------------------- intake


def test_received_counts_local_day_boundaries(session, world, make):
    make(received=at(31, 23, 59, month=10))
    make(received=at(1, 0, 0))
    make(received=at(30, 23, 59))
    make(received=at(1, 0, 0, month=12))
    assert compute(session, world).counts["received"] == 2


def test_on_time_registration_rate(session, world, make):
    make(received=at(3, 8), registered_at=at(3, 9, 59))  # 119 min
    make(received=at(3, 8), registered_at=at(3, 10, 0))  # exactly the limit
    make(received=at(3, 8), registered_at=at(3, 10, 1))  # 121 min
    make(received=at(31, 8, month=10), registered_at=at(1, 9))  # received last month, registered in this one
    k = compute(session, world)
    assert k.counts["registered"] == 4
    assert k.counts["registered_on_time"] == 2
    assert k.rates["on_time_registration_rate"] == pytest.approx(2 / 4)
    assert compute(session, world, limit=180).rates["on_time_registration_rate"] == pytest.approx(3 / 4)


def test_accurate_registration_rate_counts_registered_duplicates(session, world, make):
    for _ in range(3):
        make(received=at(4), registered_at=at(4, 11))
    make(state=S.MERGED, received=at(4), registered_at=at(4, 11), closed_at=at(5))
    make(state=S.MERGED, received=at(4), closed_at=at(5))  # merged before registration: not a registration
    k = compute(session, world)
    assert (k.counts["registered"], k.counts["registered_inaccurate"]) == (4, 1)
    assert k.rates["accurate_registration_rate"] == pytest.approx(0.75)


def test_self_handled_counts_on_site_handling(session, world, make):
    make(state=S.CLOSED, received=at(6), registered_at=at(6), resolved_at=at(6), self_handled=True)
    make(state=S.RESOLVED, received=at(7), registered_at=at(7), resolved_at=at(7), self_handled=True)
    make(state=S.CLOSED, received=at(7), registered_at=at(7), resolved_at=at(8))
    assert compute(session, world).counts["self_handled"] == 2


# --------------------------------------------------------------------------------------- dispatch


def test_accurate_dispatch_rate_from_history(session, world, make):
    a = make(received=at(2), registered_at=at(2), unit="chengguan")
    b = make(received=at(2), registered_at=at(2), unit="zhujian")
    for day in (3, 4, 5):
        make.event(a, "dispatch", at(day), unit="chengguan")
    make.event(a, "return", at(3, 12), unit="chengguan")
    make.event(a, "return", at(4, 12), unit="chengguan")
    make.event(b, "dispatch", at(6), unit="zhujian")
    make.event(b, "dispatch", at(30, 10, month=10), unit="zhujian")  # last month
    make.event(b, "return", at(30, 12, month=10), unit="zhujian")
    k = compute(session, world)
    assert (k.counts["dispatched"], k.counts["returned"]) == (4, 2)
    assert k.rates["accurate_dispatch_rate"] == pytest.approx(0.5)
    cg = compute(session, world, subject=Subject("unit", world.units["chengguan"].id))
    assert (cg.counts["dispatched"], cg.counts["returned"]) == (3, 2)
    assert cg.rates["accurate_dispatch_rate"] == pytest.approx(1 / 3)
    zj = compute(session, world, subject=Subject("unit", world.units["zhujian"].id))
    assert zj.rates["accurate_dispatch_rate"] == 1.0


# --------------------------------------------------------------------------------------- due cohort


def _due_history(make):
    due = at(20, 17)
    make(state=S.CLOSED, registered_at=at(10), resolved_at=at(19), closed_at=at(21), finish_due_at=due)  # a
    make(state=S.CLOSED, registered_at=at(10), resolved_at=at(22), closed_at=at(23), finish_due_at=due)  # b late
    make(state=S.SUSPENDED, registered_at=at(10), suspended_at=at(15), finish_due_at=due)  # c deferred
    make(state=S.ACCEPTED, registered_at=at(10), finish_due_at=due)  # d unresolved, past due
    make(state=S.ACCEPTED, registered_at=at(10), finish_due_at=at(28, 17))  # e unresolved, not yet due on the 25th
    make(state=S.RESOLVED, registered_at=at(10), resolved_at=at(20, 16), finish_due_at=due)  # f on time, open
    make(state=S.MERGED, registered_at=at(10), closed_at=at(11), finish_due_at=due)  # g merged away
    make(state=S.ACCEPTED, registered_at=at(25), finish_due_at=at(2, month=12))  # h due next month


def test_due_cohort_counts_and_rates(session, world, make):
    _due_history(make)
    k = compute(session, world, now=at(25, 12))
    c = k.counts
    assert (c["due"], c["deferred"], c["closed"], c["closed_on_time"], c["handled_on_time"], c["overdue"]) == \
        (6, 1, 2, 1, 2, 2)
    assert k.rates["closure_rate"] == pytest.approx(2 / 5)
    assert k.rates["on_time_closure_rate"] == pytest.approx(1 / 5)
    assert k.rates["on_time_handling_rate"] == pytest.approx(2 / 5)
    # After the month, e is overdue too.
    assert compute(session, world, now=AFTER).counts["overdue"] == 3


def test_resolution_exactly_at_deadline_is_on_time(session, world, make):
    make(state=S.CLOSED, registered_at=at(2), resolved_at=at(9, 17), closed_at=at(10), finish_due_at=at(9, 17))
    k = compute(session, world)
    assert (k.counts["closed_on_time"], k.counts["overdue"]) == (1, 0)


def test_nothing_due_gives_no_rate(session, world, make):
    make(received=at(3))  # a report, nothing due
    k = compute(session, world)
    assert k.counts["due"] == 0
    for key in ("closure_rate", "on_time_closure_rate", "on_time_handling_rate", "rework_rate",
                "satisfaction_rate", "accurate_dispatch_rate"):
        assert k.rates[key] is None, key
    assert k.avg_handling_hours is None


def test_all_suspended_gives_no_closure_rate(session, world, make):
    for _ in range(2):
        make(state=S.SUSPENDED, registered_at=at(3), suspended_at=at(4), finish_due_at=at(10))
    k = compute(session, world)
    assert (k.counts["due"], k.counts["deferred"], k.counts["overdue"]) == (2, 2, 0)
    assert k.rates["closure_rate"] is None and k.rates["on_time_closure_rate"] is None


# --------------------------------------------------------------------------------------- resolution cohort


def test_rework_extension_and_average_handling_time(session, world, make):
    make(state=S.CLOSED, registered_at=at(2, 10), resolved_at=at(2, 14), closed_at=at(3))  # 4 h
    make(state=S.CLOSED, registered_at=at(2, 10), resolved_at=at(3, 10), closed_at=at(4), rework_count=2)  # 24 h
    make(state=S.VERIFIED, registered_at=at(2, 10), resolved_at=at(4, 10), extensions_count=1,
         suspended_seconds=24 * 3600)  # 48 h − 24 h suspended
    make(state=S.RESOLVED, registered_at=at(5, 10), resolved_at=at(5, 12))  # 2 h
    make(state=S.ACCEPTED, registered_at=at(5, 10), rework_count=1)  # sent back, not yet re-resolved
    make(state=S.CLOSED, registered_at=at(30, 10, month=10), resolved_at=at(31, 10, month=10))  # last month
    k = compute(session, world)
    assert (k.counts["handled"], k.counts["reworked"], k.counts["extended"]) == (4, 1, 1)
    assert k.rates["rework_rate"] == pytest.approx(0.25)
    assert k.rates["extension_rate"] == pytest.approx(0.25)
    assert k.avg_handling_hours == pytest.approx((4 + 24 + 24 + 2) / 4)


# --------------------------------------------------------------------------------------- closure cohort


def test_satisfaction_rate_over_rated_closures(session, world, make):
    for sat in ("satisfied", "basically", "unsatisfied", None):
        make(state=S.CLOSED, resolved_at=at(9), closed_at=at(10), satisfaction=sat)
    make(state=S.REJECTED, closed_at=at(10))  # a rejected report is not a closure
    make(state=S.CLOSED, resolved_at=at(9), closed_at=at(10, month=12), satisfaction="unsatisfied")
    k = compute(session, world)
    assert (k.counts["closures"], k.counts["rated"], k.counts["satisfied"]) == (4, 3, 2)
    assert k.rates["satisfaction_rate"] == pytest.approx(2 / 3)


# --------------------------------------------------------------------------------------- subjects, scope, groups


def test_scope_and_grouping(session, world, make):
    make(grid="grid111", received=at(3), unit="chengguan", reporter="gridworker")
    make(grid="grid121", received=at(3), unit="chengguan")
    make(grid="grid211", received=at(3), unit="zhujian", reporter="gridworker2")
    make(grid="grid212", received=at(4))
    assert compute(session, world).counts["received"] == 4
    assert compute(session, world, user="street_leader").counts["received"] == 2
    assert compute(session, world, subject=region_subject(world.regions["community11"])).counts["received"] == 1
    assert compute(session, world, subject=Subject("worker", world.users["gridworker"].id)).counts["received"] == 1
    district = world.regions["district"]
    children = (world.regions["street1"], world.regions["street2"])
    groups = kpis.compute_groups(session=session, actor=world.users["leader"], period=NOV, now=AFTER,
                                 grouping=Grouping("children", district, children))
    assert {k: v.counts["received"] for k, v in groups.items()} == {children[0].id: 2, children[1].id: 2}
    by_unit = kpis.compute_groups(session=session, actor=world.users["leader"], period=NOV, now=AFTER,
                                  grouping=Grouping("unit"))
    assert {k: v.counts["received"] for k, v in by_unit.items()} == {
        world.units["chengguan"].id: 2, world.units["zhujian"].id: 1}  # cases with no unit are in no group
    # The street leader's groups never include the other street.
    scoped = kpis.compute_groups(session=session, actor=world.users["street_leader"], period=NOV, now=AFTER,
                                 grouping=Grouping("children", district, children))
    assert {k: v.counts["received"] for k, v in scoped.items()} == {children[0].id: 2}


def test_every_count_lists_exactly_the_cases_it_counts(session, world, make):
    """The drill-down predicate and the aggregate are the same: list length == number, for every count."""
    _due_history(make)
    a = make(received=at(3), registered_at=at(3, 11), unit="chengguan", state=S.DISPATCHED)
    make.event(a, "dispatch", at(3, 12), unit="chengguan")
    make.event(a, "return", at(3, 13), unit="chengguan")
    make(state=S.CLOSED, registered_at=at(2), resolved_at=at(3), closed_at=at(4), satisfaction="satisfied",
         rework_count=1, received=at(2))
    make(state=S.ACCEPTED, received=at(6), registered_at=at(6), overdue=True, grid="grid211")
    actor = world.users["leader"]
    now = at(25, 12)
    ctx = Ctx(NOV, now)
    totals = kpis.count_measures(session=session, actor=actor, ctx=ctx).get(0, Kpis()).counts
    for count in kpis.COUNTS:
        listed = session.scalar(select(func.count()).select_from(Case).where(
            case_scope(actor), *kpis.measure_filter(count.key, ctx, None)))
        if count.cohort == "history":
            assert listed == 1 and totals[count.key] == 1, count.key  # one case, one event each
        else:
            assert listed == totals[count.key], count.key
    assert totals["open_now"] == 7 and totals["overdue_now"] == 1


def test_rates_floor_and_documented_denominators():
    k = Kpis()
    k.counts.update(dispatched=1, returned=3)
    assert k.rates["accurate_dispatch_rate"] == 0.0  # more returns than dispatches in the period: floored
    for rate in kpis.RATES:
        assert rate.numerator in COUNT and all(t.lstrip("-") in COUNT for t in rate.denominator)
