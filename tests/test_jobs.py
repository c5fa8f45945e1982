"""Every periodic scan is registered, importable, and runs in one pass."""

from __future__ import annotations

import datetime as dt

from civicgrid.audit.service import Origin
from civicgrid.events.intake import intake_case
from civicgrid.events.models import Case
from civicgrid.events.schemas import CaseCreate
from civicgrid.events.service import ActionParams, transition
from civicgrid.jobs import PERIODIC_JOBS, _resolve, run_all


def test_every_job_resolves():
    for target, zh, en in PERIODIC_JOBS:
        assert callable(_resolve(target)) and zh and en


def test_run_all_flags_an_overdue_case(session, world):
    lat, lon = world.grid_point("grid111")
    case, _ = intake_case(session=session, actor=world.users["operator"], origin=Origin("test"),
                          data=CaseCreate(category_code="EV0101", description="楼道堆放杂物", lat=lat, lon=lon))
    transition(session=session, actor=world.users["operator"], origin=Origin("test"), case_id=case.id,
               action="register", params=ActionParams())
    case.finish_due_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    session.flush()
    results = run_all()
    assert [en for _zh, en, _r in results] == [en for _t, _zh, en in PERIODIC_JOBS]
    assert session.get(Case, case.id).overdue is True
