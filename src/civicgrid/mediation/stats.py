"""Dispute statistics: by type, area, level and state; mediation success rate (调解成功率),
agreement performance rate (协议履行率), average time to an outcome, escalations, 民转刑 flags.

Definitions (also in docs/mediation.md):
- *mediated*: disputes with a mediation outcome — agreement, partial agreement or failed;
- *success rate*: full agreements ÷ mediated;
- *performance rate*: agreements (full or partial) whose every obligation is performed ÷ agreements;
- *average days*: mean calendar days from intake to the mediation outcome, over mediated disputes.
The population is the disputes the actor may see, received in [date_from, date_to).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from civicgrid.auth.models import User
from civicgrid.errors import InvalidInput, not_found
from civicgrid.mediation.models import Agreement, Dispute, DisputeType, Obligation
from civicgrid.mediation.scope import dispute_scope
from civicgrid.regions.models import Region, subtree_range
from civicgrid.settings import get_settings

MEDIATED = ("agreement", "partial", "failed")


@dataclass
class DisputeStats:
    """The figures of one statistics request."""

    total: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    by_area: dict[str, int] = field(default_factory=dict)
    by_level: dict[str, int] = field(default_factory=dict)
    by_state: dict[str, int] = field(default_factory=dict)
    mediated: int = 0
    agreements: int = 0
    partial: int = 0
    failed: int = 0
    success_rate: float | None = None
    agreements_total: int = 0
    agreements_performed: int = 0
    performance_rate: float | None = None
    obligations_total: int = 0
    obligations_performed: int = 0
    obligations_overdue: int = 0
    average_days: float | None = None
    escalated: int = 0
    escalations: int = 0
    referred_litigation: int = 0
    referred_arbitration: int = 0
    criminal_risk: int = 0
    group: int = 0


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(get_settings().timezone))


def dispute_stats(*, session: Session, actor: User, date_from: dt.date | None = None, date_to: dt.date | None = None,
                  region_id: int | None = None) -> DisputeStats:
    """Statistics over the disputes the actor may see, received between the dates (local days, end exclusive)."""
    if date_from and date_to and date_to <= date_from:
        raise InvalidInput("结束日期须晚于开始日期", "The end date must be after the start date")
    root = actor.scope_region
    where = [dispute_scope(actor)]
    if region_id is not None:
        region = session.get(Region, region_id)
        if region is None or not (region.path.startswith(actor.scope_path) or actor.scope_path.startswith(region.path)):
            raise not_found("区域", "Region", region_id)
        low, high = subtree_range(region.path)
        where += [Dispute.region_path >= low, Dispute.region_path < high]
        root = region
    if date_from:
        where.append(Dispute.received_at >= _local_midnight(date_from))
    if date_to:
        where.append(Dispute.received_at < _local_midnight(date_to))

    rows = session.execute(select(
        Dispute.id, Dispute.state, Dispute.region_path, Dispute.mediation_level, Dispute.outcome, Dispute.handover,
        Dispute.received_at, Dispute.outcome_at, Dispute.escalations_count, Dispute.criminal_risk, Dispute.is_group,
        DisputeType.code).join(DisputeType, DisputeType.id == Dispute.type_id).where(*where)).all()
    out = DisputeStats(total=len(rows))
    by_type, by_area, by_level, by_state = Counter(), Counter(), Counter(), Counter()
    depth = root.path.count("/")
    days: list[float] = []
    for r in rows:
        by_type[r.code] += 1
        segments = [c for c in r.region_path.strip("/").split("/") if c]
        by_area[segments[depth - 1] if len(segments) >= depth else root.code] += 1
        by_level[r.mediation_level.value if r.mediation_level else "unrouted"] += 1
        by_state[r.state.value] += 1
        if r.outcome in MEDIATED:
            out.mediated += 1
            if r.outcome_at is not None:
                days.append((r.outcome_at - r.received_at).total_seconds() / 86400)
        out.agreements += r.outcome == "agreement"
        out.partial += r.outcome == "partial"
        out.failed += r.outcome == "failed"
        out.escalated += r.escalations_count > 0
        out.escalations += r.escalations_count
        out.referred_litigation += r.handover == "litigation"
        out.referred_arbitration += r.handover == "arbitration"
        out.criminal_risk += bool(r.criminal_risk)
        out.group += bool(r.is_group)
    out.by_type, out.by_area, out.by_level, out.by_state = (dict(sorted(c.items())) for c in
                                                            (by_type, by_area, by_level, by_state))
    out.success_rate = _rate(out.agreements, out.mediated)
    out.average_days = round(sum(days) / len(days), 2) if days else None

    ids = select(Dispute.id).where(*where)
    open_obligations = (select(Obligation.agreement_id).where(Obligation.performed_at.is_(None))
                        .distinct().subquery())
    out.agreements_total = session.scalar(select(func.count(Agreement.id)).where(Agreement.dispute_id.in_(ids))) or 0
    out.agreements_performed = session.scalar(select(func.count(Agreement.id)).where(
        Agreement.dispute_id.in_(ids), Agreement.id.not_in(select(open_obligations.c.agreement_id)))) or 0
    out.performance_rate = _rate(out.agreements_performed, out.agreements_total)
    total, performed, overdue = session.execute(select(
        func.count(Obligation.id),
        func.count(Obligation.performed_at),
        func.count(Obligation.id).filter(and_(Obligation.performed_at.is_(None), Obligation.overdue.is_(True))),
    ).where(Obligation.dispute_id.in_(ids))).one()
    out.obligations_total, out.obligations_performed, out.obligations_overdue = total or 0, performed or 0, overdue or 0
    return out
