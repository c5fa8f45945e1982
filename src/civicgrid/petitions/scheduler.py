"""Petition reminders: a deadline of the 信访工作条例 (accept, answer, review) coming up
within REMIND_DAYS working days, or passed.

Idempotent and safe with several processes: each flag is set by a conditional UPDATE and
only the process whose update changed the row sends the reminder. A transition that sets
a new deadline clears both flags, so each deadline is reminded once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from civicgrid.audit.service import Origin, record
from civicgrid.calendar.service import get_calendar
from civicgrid.db import unit_of_work, utcnow
from civicgrid.petitions.models import Petition
from civicgrid.petitions.service import REMIND_DAYS, notify_about, responsible_users
from civicgrid.petitions.workflow import WORKFLOW

ORIGIN = Origin("scheduler")
BATCH = 500
DUE_KIND_LABELS = {
    "accept": ("受理告知", "acceptance decision"),
    "answer": ("办理答复", "answer"),
    "review": ("复查意见", "review opinion"),
    "re_review": ("复核意见", "re-review opinion"),
}


@dataclass
class PetitionScan:
    due_soon: int = 0
    overdue: int = 0


def _claim(session: Session, petition_id: int, flag) -> bool:
    result = session.execute(update(Petition).where(Petition.id == petition_id, flag.is_(False)).values({flag: True}))
    return (result.rowcount or 0) == 1


def scan(*, session: Session, now: dt.datetime | None = None) -> PetitionScan:
    """One pass over running petition deadlines; returns what changed."""
    now = now or utcnow()
    calendar = get_calendar(session=session)
    result = PetitionScan()
    open_states = list(WORKFLOW.open)
    overdue = session.scalars(select(Petition.id).where(
        Petition.state.in_(open_states), Petition.overdue.is_(False), Petition.due_at <= now).limit(BATCH)).all()
    for petition_id in overdue:
        if not _claim(session, petition_id, Petition.overdue):
            continue
        petition = session.get(Petition, petition_id)
        session.refresh(petition)
        zh, en = DUE_KIND_LABELS.get(petition.due_kind or "", ("办理", "handling"))
        record(session=session, actor=None, origin=ORIGIN, entity="petition", entity_id=petition.id,
               action="overdue", from_state=petition.state.value, to_state=petition.state.value,
               note=f"已超过{zh}期限")
        notify_about(session, responsible_users(session=session, petition=petition), "overdue", petition,
                f"信访{zh}已超期", f"Petition {en} overdue")
        result.overdue += 1
    # Three working days never span more than a fortnight, even over the Spring Festival.
    horizon = now + dt.timedelta(days=15)
    soon = session.scalars(select(Petition.id).where(
        Petition.state.in_(open_states), Petition.due_soon.is_(False), Petition.overdue.is_(False),
        Petition.due_at > now, Petition.due_at <= horizon).limit(BATCH)).all()
    for petition_id in soon:
        petition = session.get(Petition, petition_id)
        if calendar.working_seconds_between(now, petition.due_at) > REMIND_DAYS * 86400:
            continue
        if not _claim(session, petition_id, Petition.due_soon):
            continue
        session.refresh(petition)
        zh, en = DUE_KIND_LABELS.get(petition.due_kind or "", ("办理", "handling"))
        notify_about(session, responsible_users(session=session, petition=petition), "due_soon", petition,
                f"信访{zh}即将到期", f"Petition {en} due soon")
        result.due_soon += 1
    return result


def run_once() -> PetitionScan:
    """One scan in its own unit of work (the CLI and a background loop call this)."""
    with unit_of_work() as session:
        return scan(session=session)
