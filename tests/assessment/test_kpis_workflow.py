"""KPIs over a history walked through the real workflow (intake and transition), not hand-built rows."""

from __future__ import annotations

import pytest

from civicgrid.assessment import kpis, points
from civicgrid.assessment.kpis import Period, Subject
from civicgrid.assessment.models import PointEntry
from tests.events.conftest import T0, Loop

PERIOD = Period.month(T0.year, T0.month)


@pytest.fixture
def walk(session, world) -> Loop:
    return Loop(session, world)


def test_dispatches_and_returns_are_counted_per_unit_from_the_history(session, world, walk):
    case = walk.report(by="gridworker")
    walk.fire(case, "register")
    walk.fire(case, "dispatch", unit_id=walk.unit_id("zhujian"))
    walk.fire(case, "return", by="handler_zj")
    walk.fire(case, "dispatch", unit_id=walk.unit_id("chengguan"))
    for action in ("accept", "resolve", "verify", "callback", "close"):
        walk.fire(case, action, by="handler" if action in ("accept", "resolve") else None)
    leader = world.users["leader"]
    now = walk.tick()

    def k(subject=None):
        return kpis.compute(session=session, actor=leader, period=PERIOD, subject=subject, now=now)

    total = k()
    assert (total.counts["dispatched"], total.counts["returned"]) == (2, 1)
    assert total.rates["accurate_dispatch_rate"] == pytest.approx(0.5)
    zj, cg = k(Subject("unit", walk.unit_id("zhujian"))), k(Subject("unit", walk.unit_id("chengguan")))
    assert (zj.counts["dispatched"], zj.counts["returned"]) == (1, 1)
    assert (cg.counts["dispatched"], cg.counts["returned"]) == (1, 0)
    assert (total.counts["received"], total.counts["registered"], total.counts["closures"]) == (1, 1, 1)
    assert total.counts["rated"] == 1 and total.rates["satisfaction_rate"] == 1.0
    # The grid worker who reported it earns the registration points.
    points.award_points(session=session)
    earned = session.query(PointEntry).filter_by(user_id=world.users["gridworker"].id).all()
    assert [(e.rule_code, e.points) for e in earned] == [("case_reported", 2)]
