"""The deadline watch: marks cases due soon and overdue, notifies, auto-escalates.

Idempotent and safe with several worker processes: each flag is set by a conditional
UPDATE (``… WHERE overdue = false``), and only the process whose update changed the row
sends the notification.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from civicgrid.audit.service import Origin, record
from civicgrid.db import unit_of_work, utcnow
from civicgrid.events import tally
from civicgrid.events.models import Case, Category
from civicgrid.events.service import system_transition
from civicgrid.events.workflow import CLOCK_RUNNING, CaseState
from civicgrid.notifications.service import desk_operators, notify, unit_handlers
from civicgrid.settings import get_settings

log = logging.getLogger("civicgrid.scheduler")
ORIGIN = Origin("scheduler")
BATCH = 500


@dataclass
class ScanResult:
    due_soon: int = 0
    overdue: int = 0
    accept_overdue: int = 0
    escalated: int = 0


def _claim(session: Session, case_id: int, flag) -> bool:
    # Only the first process to flip the flag owns the follow-up (notification, escalation).
    result = session.execute(update(Case).where(Case.id == case_id, flag.is_(False)).values({flag: True}))
    claimed = (result.rowcount or 0) == 1
    if claimed:
        # A bulk UPDATE bypasses the mapper events that keep the case tallies.
        tally.flag_set(session=session, case_id=case_id, name=flag.key)
    return claimed


def scan_deadlines(*, session: Session, now: dt.datetime | None = None) -> ScanResult:
    """One pass over running clocks; returns what changed."""
    now = now or utcnow()
    soon = now + dt.timedelta(hours=get_settings().due_soon_hours)
    result = ScanResult()
    running = [s.value for s in CLOCK_RUNNING]

    due_soon_ids = session.scalars(
        select(Case.id).where(Case.state.in_(running), Case.due_soon.is_(False), Case.overdue.is_(False),
                              Case.finish_due_at > now, Case.finish_due_at <= soon).limit(BATCH)
    ).all()
    for case_id in due_soon_ids:
        if _claim(session, case_id, Case.due_soon):
            case = session.get(Case, case_id)
            _tell(session, case, "due_soon", "即将到期", "Due soon")
            result.due_soon += 1

    overdue_ids = session.scalars(
        select(Case.id).where(Case.state.in_(running), Case.overdue.is_(False), Case.finish_due_at <= now)
        .limit(BATCH)
    ).all()
    for case_id in overdue_ids:
        if not _claim(session, case_id, Case.overdue):
            continue
        case = session.get(Case, case_id)
        session.refresh(case)
        record(session=session, actor=None, origin=ORIGIN, entity="case", entity_id=case.id, action="overdue",
               from_state=case.state.value, to_state=case.state.value, note="已超过办结时限")
        _tell(session, case, "overdue", "已超期", "Overdue")
        result.overdue += 1
        category = session.get(Category, case.category_id)
        if category is not None and category.auto_escalate:
            if system_transition(session=session, origin=ORIGIN, case=case, action="escalate",
                                 note="超期自动上报 (auto-escalated: overdue)", now=now) is not None:
                result.escalated += 1

    accept_ids = session.scalars(
        select(Case.id).where(Case.state == CaseState.DISPATCHED, Case.accept_overdue.is_(False),
                              Case.accept_due_at <= now).limit(BATCH)
    ).all()
    for case_id in accept_ids:
        if _claim(session, case_id, Case.accept_overdue):
            case = session.get(Case, case_id)
            _tell(session, case, "overdue", "超时未签收", "Not accepted in time")
            result.accept_overdue += 1
    return result


def _tell(session: Session, case: Case, kind: str, zh: str, en: str) -> None:
    users = unit_handlers(session=session, unit_id=case.unit_id) + desk_operators(
        session=session, desk_region_id=case.desk_region_id
    )
    notify(session=session, users=users, kind=kind, case_id=case.id,
           text_zh=f"{zh}：{case.number} {case.title}", text_en=f"{en}: {case.number} {case.title}")


def run_once() -> ScanResult:
    """One scan in its own unit of work (the CLI and the background loop call this)."""
    with unit_of_work() as session:
        return scan_deadlines(session=session)
