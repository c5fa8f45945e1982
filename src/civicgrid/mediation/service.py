"""Dispute service functions: intake (walk-in, from a case, from a petition), the one
``transition()`` over the declared workflow, sessions, agreements, follow-up, and queries.

Every function takes keyword-only ``session``, ``actor`` and ``origin``, never commits,
and writes its audit entry in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civicgrid.audit.models import AuditEntry
from civicgrid.audit.service import Origin, history, record
from civicgrid.auth.models import Role, User
from civicgrid.calendar.service import get_calendar
from civicgrid.db import utcnow
from civicgrid.errors import Forbidden, InvalidInput, not_found
from civicgrid.mediation import parties as party_service, registry
from civicgrid.mediation.flowtable import Step
from civicgrid.mediation.models import (
    Agreement,
    Dispute,
    DisputeType,
    FollowUp,
    MediationOrg,
    MediationSession,
    Mediator,
    Obligation,
    snapshot,
)
from civicgrid.mediation.schemas import AgreementIn, DisputeCreate, DisputeFromCase, PartyIn, SessionIn
from civicgrid.mediation.scope import dispute_scope, visible_disputes
from civicgrid.mediation.workflow import OUTCOME_OF, WORKFLOW, Clock, DisputeState, Guard
from civicgrid.notifications.service import desk_operators, notify
from civicgrid.regions.models import Region, RegionLevel
from civicgrid.regions.service import within_region
from civicgrid.settings import get_settings

# Working days the centre has to assess and route a dispute after intake or a return.
ROUTING_DAYS = 3
# Roles that may register a dispute at the desk (grid workers raise cases, which are turned into disputes).
INTAKE_ROLES = {Role.OPERATOR, Role.ADMIN}


# -- reading --------------------------------------------------------------------------


def get_dispute(*, session: Session, actor: User, dispute_id: int, for_update: bool = False) -> Dispute:
    """The dispute if ``actor`` may see it, else NotFound (never revealing that it exists)."""
    if not 1 <= dispute_id <= 2**62:
        raise not_found("纠纷", "Dispute", dispute_id)
    stmt = visible_disputes(actor).where(Dispute.id == dispute_id)
    if for_update:
        stmt = stmt.with_for_update(of=Dispute)
    dispute = session.scalar(stmt)
    if dispute is None:
        raise not_found("纠纷", "Dispute", dispute_id)
    return dispute


class DisputeFacts:
    """What the guards and conditions read besides the dispute, read once for a page of disputes.

    Each fact is read on first use, for every dispute of the page at once: a list of 200
    disputes costs the same reads as one.
    """

    def __init__(self, session: Session, actor: User, disputes: Sequence[Dispute]) -> None:
        self._session, self._actor, self._ids = session, actor, [d.id for d in disputes]

    @cached_property
    def mediating_orgs(self) -> frozenset[int]:
        """The organisations the actor is an active registered mediator of."""
        return frozenset(self._session.scalars(select(Mediator.org_id).where(
            Mediator.user_id == self._actor.id, Mediator.active.is_(True))))

    @cached_property
    def open_obligations(self) -> dict[int, int]:
        """Per dispute, how many agreed obligations are not yet performed."""
        return dict(self._session.execute(
            select(Obligation.dispute_id, func.count(Obligation.id))
            .where(Obligation.dispute_id.in_(self._ids), Obligation.performed_at.is_(None))
            .group_by(Obligation.dispute_id)).all())


def guard_allows(facts: DisputeFacts, guard: str, actor: User, dispute: Dispute) -> bool:
    """Whether the actor stands in the relation to the dispute that ``guard`` names."""
    desk = actor.role != Role.HANDLER and dispute.desk_path.startswith(actor.scope_path)
    if guard == Guard.DESK:
        return desk
    if guard == Guard.ORG:
        return dispute.org_id in facts.mediating_orgs
    if guard == Guard.ORG_OR_DESK:
        return desk or dispute.org_id in facts.mediating_orgs
    if guard == Guard.HIGHER:
        return dispute.region_path.startswith(actor.scope_path) and actor.scope_region.level.rank < dispute.level.rank
    raise AssertionError(guard)


def condition_holds(facts: DisputeFacts, condition: str | None, dispute: Dispute) -> bool:
    """The conditions that depend on the dispute alone (parameters are checked on firing)."""
    if condition == "sessions_held":
        return dispute.sessions_count > 0
    if condition == "all_performed":
        return not facts.open_obligations.get(dispute.id, 0)
    if condition == "level_above":
        return dispute.desk_path.count("/") > 2  # the city desk has nowhere to go
    if condition == "obligation":
        return bool(facts.open_obligations.get(dispute.id, 0))
    return True


def allowed_actions(*, session: Session, actor: User, dispute: Dispute,
                    facts: DisputeFacts | None = None) -> list[Step]:
    """The steps ``actor`` may fire on ``dispute`` now (what pages offer as buttons).

    ``facts``: read for the page the dispute is listed on (``DisputeFacts``), else for it alone.
    """
    facts = facts or DisputeFacts(session, actor, [dispute])
    return WORKFLOW.allowed(
        state=dispute.state, role=actor.role,
        guard_ok=lambda g: guard_allows(facts, g, actor, dispute),
        condition_ok=lambda c: condition_holds(facts, c, dispute))


# -- intake ---------------------------------------------------------------------------


def desk_for(region: Region) -> Region:
    """The centre that assesses a dispute arising at ``region``: its community, or the region above that."""
    node = region
    while node.level.rank > RegionLevel.COMMUNITY.rank and node.parent is not None:
        node = node.parent
    return node


def dispute_number(dispute: Dispute) -> str:
    """The human number: ``JF`` + local intake date + zero-padded id."""
    local = dispute.received_at.astimezone(ZoneInfo(get_settings().timezone))
    return f"JF{local:%Y%m%d}{dispute.id:06d}"


def _region(session: Session, actor: User, code: str | None) -> Region:
    if not code:
        return actor.scope_region
    region = session.scalar(select(Region).where(Region.code == code))
    if region is None or not region.path.startswith(actor.scope_path):
        raise InvalidInput(f"区域代码 {code} 不存在或不在您的管辖范围内",
                           f"Region {code} does not exist or is outside your area")
    return region


def _find_by_key(session: Session, key: str | None) -> Dispute | None:
    if not key:
        return None
    return session.scalar(select(Dispute).where(Dispute.idempotency_key == key))


def register_dispute(*, session: Session, actor: User, origin: Origin, data: DisputeCreate,
                     source: str = "walk_in", case_id: int | None = None, petition_id: int | None = None,
                     region: Region | None = None, now: dt.datetime | None = None) -> tuple[Dispute, bool]:
    """Register a dispute (walk-in, or from a case or petition); returns (dispute, created). Idempotent by key."""
    existing = _find_by_key(session, data.client_key)
    if existing is not None:
        return existing, False
    if actor.role not in INTAKE_ROLES:
        raise Forbidden("只有综治中心（矛调中心）工作人员可以登记纠纷", "Only centre staff may register disputes")
    now = now or utcnow()
    if data.received_at is not None and data.received_at > now + dt.timedelta(minutes=5):
        raise InvalidInput("受理时间不能晚于当前时间", "received_at cannot be in the future")
    dtype = registry.type_by_code(session=session, code=data.type_code)
    region = region or _region(session, actor, data.region_code)
    desk = desk_for(region)
    received = data.received_at or now
    dispute = Dispute(
        idempotency_key=data.client_key, source=source, case_id=case_id, petition_id=petition_id,
        type_id=dtype.id, type=dtype, title=data.title or data.description.replace("\n", " ")[:40],
        description=data.description, amount=data.amount, people_count=data.people_count,
        is_group=data.people_count >= dtype.group_threshold, risk_level=data.risk_level,
        criminal_risk=data.criminal_risk, criminal_risk_note=data.criminal_risk_note,
        region_id=region.id, region_path=region.path, desk_region_id=desk.id, desk_path=desk.path,
        level=desk.level, state=DisputeState.REGISTERED, received_at=received,
        due_at=get_calendar(session=session).add_working_days(received, ROUTING_DAYS).due,
        created_by_id=actor.id,
    )
    try:
        # A savepoint, so a concurrent request with the same key loses cleanly to the winner.
        with session.begin_nested():
            session.add(dispute)
            session.flush()
    except IntegrityError:
        existing = _find_by_key(session, data.client_key)
        if existing is not None:
            return existing, False
        raise
    dispute.number = dispute_number(dispute)
    added = party_service.add_parties(session=session, actor=actor, origin=origin, dispute=dispute,
                                      parties=data.parties)
    record(session=session, actor=actor, origin=origin, entity="dispute", entity_id=dispute.id, action="intake",
           to_state=dispute.state.value, note=f"{dtype.name_zh}：{dispute.title}",
           after={"source": source, "type": dtype.code, "region": region.code, "people_count": dispute.people_count,
                  "is_group": dispute.is_group, "risk_level": dispute.risk_level,
                  "criminal_risk": dispute.criminal_risk, "amount": _money(dispute.amount),
                  "case_id": case_id, "petition_id": petition_id, "parties": len(added)})
    _tell_desk(session, dispute, "to_register", "新纠纷待研判", "New dispute to assess")
    return dispute, True


def dispute_from_case(*, session: Session, actor: User, origin: Origin, case_id: int, data: DisputeFromCase,
                      now: dt.datetime | None = None) -> Dispute:
    """Raise a dispute from a case in the actor's area; the case's history notes it. One dispute per case."""
    from civicgrid.events.service import get_case
    from civicgrid.events.workflow import CaseState

    case = get_case(session=session, actor=actor, case_id=case_id)
    existing = session.scalar(select(Dispute).where(Dispute.case_id == case.id))
    if existing is not None:
        return existing
    if case.state == CaseState.MERGED:
        raise InvalidInput("该事件已合并到主事件，请从主事件转为纠纷",
                           "This case was merged into another; raise the dispute from the master case")
    region = session.get(Region, case.region_id)
    assert region is not None
    create = DisputeCreate(type_code=data.type_code, title=case.title, description=case.description,
                           amount=data.amount, people_count=data.people_count, risk_level=data.risk_level,
                           criminal_risk=data.criminal_risk, parties=data.parties)
    dispute, _ = register_dispute(session=session, actor=actor, origin=origin, data=create, source="case",
                                  case_id=case.id, region=region, now=now)
    record(session=session, actor=actor, origin=origin, entity="case", entity_id=case.id, action="to_dispute",
           from_state=case.state.value, to_state=case.state.value,
           note=f"转入矛盾纠纷调解：{dispute.number}", after={"dispute_id": dispute.id})
    return dispute


@dataclass
class CaseDispute:
    """What a case page offers this user about disputes: the dispute raised from the case (if
    any), whether they may open it or at least see its number, and whether they may raise one."""

    dispute: Dispute | None
    may_open: bool = False
    may_see: bool = False
    may_raise: bool = False


# Roles with the dispute pages (grid workers see disputes in their area through the API only).
PAGE_ROLES = {Role.ADMIN, Role.OPERATOR, Role.HANDLER, Role.LEADER}


def case_dispute(*, session: Session, actor: User, case_id: int) -> CaseDispute:
    """For a case the actor may see (else NotFound): its dispute and what the actor may do about it.

    One dispute per case: once raised, the case links to it (for those who may see it);
    before, only the desk roles that register disputes may raise one, and not from a merged case."""
    from civicgrid.events.service import get_case
    from civicgrid.events.workflow import CaseState

    case = get_case(session=session, actor=actor, case_id=case_id)
    existing = session.scalar(select(Dispute).where(Dispute.case_id == case.id))
    if existing is not None:
        seen = session.scalar(select(Dispute.id).where(dispute_scope(actor), Dispute.id == existing.id)) is not None
        return CaseDispute(existing, may_open=seen and actor.role in PAGE_ROLES, may_see=seen)
    return CaseDispute(None, may_raise=actor.role in INTAKE_ROLES and case.state != CaseState.MERGED)


# -- the one transition ---------------------------------------------------------------


@dataclass
class DisputeParams:
    """What an action may carry besides its name."""

    note: str | None = None
    risk_level: str | None = None
    criminal_risk: bool | None = None
    criminal_risk_note: str | None = None
    org_id: int | None = None
    mediator_id: int | None = None
    court_case_number: str | None = None
    obligation_id: int | None = None
    follow_up_method: str | None = None
    session: SessionIn | None = None
    agreement: AgreementIn | None = None


def transition(*, session: Session, actor: User, origin: Origin, dispute_id: int, action: str,
               params: DisputeParams | None = None, now: dt.datetime | None = None) -> Dispute:
    """Fire ``action`` on a dispute, checking the workflow table; audited in the same transaction."""
    params = params or DisputeParams()
    now = now or utcnow()
    dispute = get_dispute(session=session, actor=actor, dispute_id=dispute_id, for_update=True)
    facts = DisputeFacts(session, actor, [dispute])
    s = WORKFLOW.check(
        action=action, state=dispute.state, role=actor.role,
        guard_ok=lambda g: guard_allows(facts, g, actor, dispute),
        condition_ok=lambda c: condition_holds(facts, c, dispute), note=params.note)
    before = snapshot(dispute)
    from_state = dispute.state
    extra = _apply(session=session, actor=actor, origin=origin, dispute=dispute, s=s, params=params, now=now)
    _clock(session, dispute, s, now)
    if s.target is not None:
        dispute.state = s.target
    dispute.updated_at = now
    record(session=session, actor=actor, origin=origin, entity="dispute", entity_id=dispute.id, action=s.action,
           from_state=from_state.value, to_state=dispute.state.value, note=params.note, before=before,
           after=snapshot(dispute) | extra)
    session.flush()
    if s.target in (DisputeState.CLOSED, DisputeState.REFERRED, DisputeState.FAILED, DisputeState.FOLLOWING_UP) \
            and dispute.case_id is not None:
        # The case the dispute came from shows how it ended, in its own history.
        zh, _ = WORKFLOW.labels[dispute.state]
        record(session=session, actor=actor, origin=origin, entity="case", entity_id=dispute.case_id,
               action="dispute_outcome", note=f"矛盾纠纷 {dispute.number}：{zh}",
               after={"dispute_id": dispute.id, "state": dispute.state.value})
    return dispute


def _clock(session: Session, dispute: Dispute, s: Step, now: dt.datetime) -> None:
    if s.clock is None:
        return
    calendar = get_calendar(session=session)
    if s.clock == Clock.START_MEDIATION:
        dispute.due_at = calendar.add_working_days(now, dispute.type.mediation_days).due
    elif s.clock == Clock.RESTART_ROUTING:
        dispute.due_at = calendar.add_working_days(now, ROUTING_DAYS).due
    elif s.clock == Clock.STOP:
        dispute.due_at = None
    dispute.overdue = False


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _apply(*, session: Session, actor: User, origin: Origin, dispute: Dispute, s: Step, params: DisputeParams,
           now: dt.datetime) -> dict[str, Any]:
    """The effects of each action beyond state and clock; returns extra fields for the history."""
    a = s.action
    if a in OUTCOME_OF:
        dispute.outcome = OUTCOME_OF[a]
        dispute.outcome_at = now
        dispute.outcome_note = params.note
    if a == "assess":
        if params.risk_level is not None:
            dispute.risk_level = params.risk_level
        if params.criminal_risk is not None:
            dispute.criminal_risk = params.criminal_risk
        if params.criminal_risk_note is not None:
            dispute.criminal_risk_note = params.criminal_risk_note or None
        dispute.assessment_note = params.note
        dispute.assessed_at = now
        return {"assessment": params.note}
    if a == "decline":
        dispute.closed_at = now
        return {}
    if a == "route":
        return _route(session, dispute, params, now)
    if a == "accept":
        dispute.accepted_at = now
        if dispute.mediator_id is None:
            own = session.scalar(select(Mediator).where(Mediator.org_id == dispute.org_id,
                                                        Mediator.user_id == actor.id))
            dispute.mediator_id = own.id if own else None
        return {}
    if a == "return":
        dispute.returns_count += 1
        dispute.org_id = dispute.mediator_id = None
        dispute.mediation_level = None
        dispute.accepted_at = dispute.routed_at = None
        _tell_desk(session, dispute, "returned", f"纠纷被退回（{params.note}）", f"Dispute returned ({params.note})")
        return {}
    if a == "hold_session":
        return _hold_session(session, actor, dispute, params, now)
    if a in ("agree", "agree_partial"):
        return _agreement(session, actor, dispute, params, now, partial=a == "agree_partial")
    if a == "fail":
        return {}
    if a in ("refer_litigation", "refer_arbitration"):
        number = (params.court_case_number or "").strip()
        if not number:
            raise InvalidInput(*WORKFLOW.conditions["court_number"])
        dispute.handover = "litigation" if a == "refer_litigation" else "arbitration"
        dispute.court_case_number = number
        dispute.closed_at = now
        return {"handover": dispute.handover, "court_case_number": number}
    if a == "escalate":
        desk = session.get(Region, dispute.desk_region_id)
        upper = desk.parent if desk is not None else None
        if upper is None:
            raise InvalidInput(*WORKFLOW.conditions["level_above"])
        dispute.desk_region_id, dispute.desk_path, dispute.level = upper.id, upper.path, upper.level
        dispute.escalations_count += 1
        dispute.org_id = dispute.mediator_id = None
        dispute.mediation_level = None
        dispute.accepted_at = dispute.routed_at = None
        _tell_desk(session, dispute, "escalated", f"下级上报纠纷（{params.note}）", f"Dispute escalated ({params.note})")
        return {"escalated_to": upper.code}
    if a == "follow_up":
        method = params.follow_up_method or "visit"
        session.add(FollowUp(dispute_id=dispute.id, at=now, method=method, note=params.note or "", by_id=actor.id))
        return {"method": method}
    if a == "perform":
        obligation = session.get(Obligation, params.obligation_id) if params.obligation_id else None
        if obligation is None or obligation.dispute_id != dispute.id or obligation.performed_at is not None:
            raise InvalidInput(*WORKFLOW.conditions["obligation"])
        obligation.performed_at = now
        obligation.performed_note = params.note
        return {"obligation_id": obligation.id, "obligation": obligation.description}
    if a == "close":
        dispute.closed_at = now
        return {}
    if a == "withdraw":
        dispute.closed_at = now
        return {}
    if a == "supervise":
        dispute.supervision_count += 1
        users = _org_users(session, dispute.org_id) + desk_operators(session=session,
                                                                       desk_region_id=dispute.desk_region_id)
        notify_about(session, users, "supervised", dispute, f"督办（{params.note}）", f"Supervision ({params.note})")
        return {}
    raise AssertionError(a)


def _route(session: Session, dispute: Dispute, params: DisputeParams, now: dt.datetime) -> dict[str, Any]:
    org = session.get(MediationOrg, params.org_id) if params.org_id else None
    if org is None and params.org_id is None:
        best = registry.suggest(session=session, dispute=dispute, limit=1)
        org = best[0].org if best else None
    if org is None or not org.active:
        raise InvalidInput(*WORKFLOW.conditions["org"])
    if org.region_path not in registry.covering_paths(dispute.region_path):
        raise InvalidInput(f"{org.name_zh}不负责该纠纷所在区域", f"{org.name_en or org.name_zh} does not cover the area")
    if org.specialties and dispute.type.code not in org.specialties:
        raise InvalidInput(f"{org.name_zh}不受理该类型纠纷", f"{org.name_en or org.name_zh} does not take this type")
    mediator = None
    if params.mediator_id is not None:
        mediator = session.get(Mediator, params.mediator_id)
        if mediator is None or mediator.org_id != org.id or not mediator.active:
            raise InvalidInput("调解员不属于所选调解组织", "The mediator does not belong to the chosen organisation")
    else:
        mediator = registry.suggest_mediator(session=session, org_id=org.id, type_code=dispute.type.code)
    dispute.org_id, dispute.mediator_id = org.id, mediator.id if mediator else None
    dispute.mediation_level = org.level
    dispute.routed_at = now
    users = _mediator_users(session, mediator) if mediator and mediator.user_id else _org_users(session, org.id)
    notify_about(session, users, "assigned", dispute, "新分流纠纷", "Dispute routed to you")
    return {"org": org.code, "mediator": mediator.name if mediator else None}


def _hold_session(session: Session, actor: User, dispute: Dispute, params: DisputeParams,
                  now: dt.datetime) -> dict[str, Any]:
    data = params.session
    if data is None:
        raise InvalidInput("请填写调解时间、地点、参加人和调解记录", "Give the session's time, place, attendees and record")
    if data.held_at > now + dt.timedelta(minutes=5):
        raise InvalidInput("调解时间不能晚于当前时间", "A session cannot be recorded in the future")
    own = session.scalar(select(Mediator.id).where(Mediator.org_id == dispute.org_id, Mediator.user_id == actor.id))
    row = MediationSession(dispute_id=dispute.id, held_at=data.held_at, place=data.place, attendees=data.attendees,
                           record=data.record, next_step=data.next_step, mediator_id=own, created_by_id=actor.id)
    session.add(row)
    session.flush()
    dispute.sessions_count += 1
    return {"session_id": row.id, "held_at": data.held_at.isoformat(), "place": data.place}


def _agreement(session: Session, actor: User, dispute: Dispute, params: DisputeParams, now: dt.datetime, *,
               partial: bool) -> dict[str, Any]:
    data = params.agreement
    if data is None:
        raise InvalidInput("请填写协议内容", "Give the text of the agreement")
    signed_at = data.signed_at or now
    local_signed = signed_at.astimezone(ZoneInfo(get_settings().timezone)).date()
    late = [o for o in data.obligations if o.due_on < local_signed]
    if late:
        raise InvalidInput("履行期限不能早于协议签订日期", "An obligation cannot be due before the agreement is signed",
                           errors=[{"field": "due_on", "message_zh": f"{o.description}：{o.due_on}",
                                    "message_en": f"{o.description}: {o.due_on}"} for o in late])
    amounts = [o.amount for o in data.obligations if o.amount is not None]
    agreement = Agreement(dispute_id=dispute.id, partial=partial, text=data.text, place=data.place,
                          signed_at=signed_at, total_amount=sum(amounts, Decimal("0")) if amounts else None,
                          created_by_id=actor.id)
    session.add(agreement)
    session.flush()
    for o in data.obligations:
        session.add(Obligation(agreement_id=agreement.id, dispute_id=dispute.id, obligor=o.obligor,
                               description=o.description, amount=o.amount, due_on=o.due_on))
    session.flush()
    session.refresh(agreement)
    return {"agreement_id": agreement.id, "obligations": len(data.obligations),
            "total_amount": _money(agreement.total_amount)}


# -- notifications --------------------------------------------------------------------


def _mediator_users(session: Session, mediator: Mediator) -> list[User]:
    user = session.get(User, mediator.user_id) if mediator.user_id else None
    return [user] if user is not None and user.active else []


def _org_users(session: Session, org_id: int | None) -> list[User]:
    if org_id is None:
        return []
    return list(session.scalars(select(User).join(Mediator, Mediator.user_id == User.id).where(
        Mediator.org_id == org_id, Mediator.active.is_(True), User.active.is_(True))))


def notify_about(session: Session, users: list[User], kind: str, dispute: Dispute, zh: str, en: str) -> None:
    """Tell ``users`` about the record in their inbox (number and title in both languages)."""
    notify(session=session, users=users, kind=kind, case_id=None,
           text_zh=f"{zh}：{dispute.number} {dispute.title}"[:300], text_en=f"{en}: {dispute.number} {dispute.title}"[:300])


def _tell_desk(session: Session, dispute: Dispute, kind: str, zh: str, en: str) -> None:
    notify_about(session, desk_operators(session=session, desk_region_id=dispute.desk_region_id), kind, dispute, zh, en)


def responsible_users(*, session: Session, dispute: Dispute) -> list[User]:
    """Who answers for a dispute now: its mediator (or the organisation's mediators) and the desk."""
    mediator = session.get(Mediator, dispute.mediator_id) if dispute.mediator_id else None
    users = _mediator_users(session, mediator) if mediator else _org_users(session, dispute.org_id)
    return users + desk_operators(session=session, desk_region_id=dispute.desk_region_id)


# -- wrappers that read well at call sites ---------------------------------------------


def record_session(*, session: Session, actor: User, origin: Origin, dispute_id: int, data: SessionIn,
                   now: dt.datetime | None = None) -> Dispute:
    """Record a mediation session (the ``hold_session`` step)."""
    return transition(session=session, actor=actor, origin=origin, dispute_id=dispute_id, action="hold_session",
                      params=DisputeParams(session=data), now=now)


def record_agreement(*, session: Session, actor: User, origin: Origin, dispute_id: int, data: AgreementIn,
                     partial: bool = False, note: str | None = None, now: dt.datetime | None = None) -> Dispute:
    """Record the agreement reached (``agree`` or ``agree_partial``) with its obligations."""
    return transition(session=session, actor=actor, origin=origin, dispute_id=dispute_id,
                      action="agree_partial" if partial else "agree",
                      params=DisputeParams(agreement=data, note=note), now=now)


def add_party(*, session: Session, actor: User, origin: Origin, dispute_id: int, data: PartyIn):
    """Add a party to an open dispute (audited)."""
    dispute = get_dispute(session=session, actor=actor, dispute_id=dispute_id)
    if dispute.state in WORKFLOW.terminal:
        raise InvalidInput("纠纷已办结，不能再添加当事人", "The dispute is concluded; no parties can be added")
    if not guard_allows(DisputeFacts(session, actor, [dispute]), Guard.ORG_OR_DESK, actor, dispute):
        raise Forbidden("您无权修改此纠纷的当事人", "You may not change this dispute's parties")
    added = party_service.add_parties(session=session, actor=actor, origin=origin, dispute=dispute, parties=[data])
    record(session=session, actor=actor, origin=origin, entity="dispute", entity_id=dispute.id, action="add_party",
           from_state=dispute.state.value, to_state=dispute.state.value,
           after={"party_id": added[0].id, "role": data.role})
    return added[0]


# -- queries --------------------------------------------------------------------------


def timeline(*, session: Session, actor: User, dispute_id: int) -> list[AuditEntry]:
    """The dispute's append-only history, oldest first."""
    dispute = get_dispute(session=session, actor=actor, dispute_id=dispute_id)
    return history(session=session, entity="dispute", entity_id=dispute.id)


def sessions_of(*, session: Session, dispute: Dispute) -> list[MediationSession]:
    """The dispute's mediation sessions, oldest first."""
    return list(session.scalars(select(MediationSession).where(MediationSession.dispute_id == dispute.id)
                                .order_by(MediationSession.held_at, MediationSession.id)))


def agreement_of(*, session: Session, dispute: Dispute) -> Agreement | None:
    """The dispute's agreement, if one was reached."""
    return session.scalar(select(Agreement).where(Agreement.dispute_id == dispute.id))


def follow_ups_of(*, session: Session, dispute: Dispute) -> list[FollowUp]:
    """The follow-ups of the dispute's agreement, oldest first."""
    return list(session.scalars(select(FollowUp).where(FollowUp.dispute_id == dispute.id).order_by(FollowUp.at)))


@dataclass
class DisputeFilter:
    """Filters of the dispute list (pages and API share it)."""

    state: list[str] | None = None
    type_code: str | None = None
    region_id: int | None = None
    org_id: int | None = None
    mine: bool = False
    overdue: bool | None = None
    criminal_risk: bool | None = None
    q: str | None = None


def list_disputes(*, session: Session, actor: User, filters: DisputeFilter, page: int = 1,
                  size: int = 20) -> tuple[list[Dispute], int]:
    """(disputes, total): newest first, scoped to the actor."""
    page, size = max(page, 1), min(max(size, 1), 200)
    where = [dispute_scope(actor)]
    if filters.state:
        where.append(Dispute.state.in_(filters.state))
    if filters.type_code:
        where.append(Dispute.type_id == select(DisputeType.id).where(DisputeType.code == filters.type_code)
                     .scalar_subquery())
    if filters.region_id:
        where += within_region(session=session, path_column=Dispute.region_path, region_id=filters.region_id)
    if filters.org_id:
        where.append(Dispute.org_id == filters.org_id)
    if filters.mine:
        where.append(Dispute.mediator_id.in_(select(Mediator.id).where(Mediator.user_id == actor.id)))
    if filters.overdue is not None:
        where.append(Dispute.overdue.is_(filters.overdue))
    if filters.criminal_risk is not None:
        where.append(Dispute.criminal_risk.is_(filters.criminal_risk))
    if filters.q:
        like = f"%{filters.q}%"
        where.append(Dispute.title.like(like) | (Dispute.number == filters.q))
    total = session.scalar(select(func.count(Dispute.id)).where(*where)) or 0
    rows = session.scalars(select(Dispute).where(*where).order_by(Dispute.received_at.desc(), Dispute.id.desc())
                           .offset((page - 1) * size).limit(size))
    return list(rows), total


def my_disputes(*, session: Session, actor: User) -> list[Dispute]:
    """'我的纠纷': open disputes routed to the actor (as mediator) or waiting at their desk, by deadline."""
    mine = Dispute.mediator_id.in_(select(Mediator.id).where(Mediator.user_id == actor.id))
    org_unassigned = Dispute.org_id.in_(select(Mediator.org_id).where(Mediator.user_id == actor.id,
                                                                      Mediator.active.is_(True))) \
        & Dispute.mediator_id.is_(None)
    conditions = mine | org_unassigned
    if actor.role == Role.OPERATOR:
        at_desk = Dispute.desk_path.startswith(actor.scope_path) & Dispute.state.in_(
            [DisputeState.REGISTERED, DisputeState.ASSESSED, DisputeState.FAILED, DisputeState.FOLLOWING_UP])
        conditions = conditions | at_desk
    stmt = (select(Dispute).where(dispute_scope(actor), conditions, Dispute.state.not_in(list(WORKFLOW.terminal)))
            .order_by(Dispute.due_at.is_(None), Dispute.due_at, Dispute.received_at).limit(200))
    return list(session.scalars(stmt))
