"""The mediation watch: overdue agreement obligations and disputes past their deadline.

Idempotent and safe with several processes, like the case scheduler: each flag is set by
a conditional UPDATE (``… WHERE overdue = false``) and only the process whose update
changed the row sends the alert and writes the history entry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from civicgrid.audit.service import Origin, record
from civicgrid.db import unit_of_work, utcnow
from civicgrid.mediation.models import Dispute, Obligation
from civicgrid.mediation.service import notify_about, responsible_users
from civicgrid.mediation.workflow import DisputeState
from civicgrid.settings import get_settings

ORIGIN = Origin("scheduler")
BATCH = 500
# Deadlines run while the dispute waits for the centre or the mediator (not while performing).
RUNNING = (DisputeState.REGISTERED, DisputeState.ASSESSED, DisputeState.ROUTED, DisputeState.MEDIATING)


@dataclass
class MediationScan:
    obligations_overdue: int = 0
    disputes_overdue: int = 0


def scan(*, session: Session, now: dt.datetime | None = None) -> MediationScan:
    """One pass: alert on obligations past their date and disputes past their deadline."""
    now = now or utcnow()
    today = now.astimezone(ZoneInfo(get_settings().timezone)).date()
    result = MediationScan()
    due_ids = session.scalars(select(Obligation.id).where(
        Obligation.performed_at.is_(None), Obligation.overdue.is_(False), Obligation.due_on < today).limit(BATCH)).all()
    for obligation_id in due_ids:
        claimed = session.execute(update(Obligation).where(Obligation.id == obligation_id,
                                                           Obligation.overdue.is_(False)).values(overdue=True))
        if (claimed.rowcount or 0) != 1:
            continue
        obligation = session.get(Obligation, obligation_id)
        session.refresh(obligation)
        dispute = session.get(Dispute, obligation.dispute_id)
        record(session=session, actor=None, origin=ORIGIN, entity="dispute", entity_id=dispute.id,
               action="obligation_overdue", from_state=dispute.state.value, to_state=dispute.state.value,
               note=f"协议义务逾期未履行：{obligation.obligor} {obligation.description}（{obligation.due_on}）",
               after={"obligation_id": obligation.id, "due_on": obligation.due_on.isoformat()})
        notify_about(session, responsible_users(session=session, dispute=dispute), "overdue", dispute,
                f"协议义务逾期未履行（{obligation.description}）", f"Agreement obligation overdue ({obligation.description})")
        result.obligations_overdue += 1

    late_ids = session.scalars(select(Dispute.id).where(
        Dispute.state.in_(RUNNING), Dispute.overdue.is_(False), Dispute.due_at <= now).limit(BATCH)).all()
    for dispute_id in late_ids:
        claimed = session.execute(update(Dispute).where(Dispute.id == dispute_id, Dispute.overdue.is_(False))
                                  .values(overdue=True))
        if (claimed.rowcount or 0) != 1:
            continue
        dispute = session.get(Dispute, dispute_id)
        session.refresh(dispute)
        record(session=session, actor=None, origin=ORIGIN, entity="dispute", entity_id=dispute.id, action="overdue",
               from_state=dispute.state.value, to_state=dispute.state.value, note="已超过办理时限")
        notify_about(session, responsible_users(session=session, dispute=dispute), "overdue", dispute, "纠纷已超期",
                "Dispute overdue")
        result.disputes_overdue += 1
    return result


def run_once() -> MediationScan:
    """One scan in its own unit of work (the CLI and a background loop call this)."""
    with unit_of_work() as session:
        return scan(session=session)
