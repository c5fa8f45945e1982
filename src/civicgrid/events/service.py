"""The case loop's service functions: read (scoped), fire workflow actions, comment, list.

``transition()`` is the one place that reads the workflow table; everything a transition
does — state, timestamps, counters, clock, notifications and the history entry — happens
here in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicgrid.audit.models import AuditEntry
from civicgrid.audit.service import Origin, history, record
from civicgrid.auth.models import Role, User
from civicgrid.calendar.service import get_calendar
from civicgrid.db import utcnow
from civicgrid.errors import Conflict, Forbidden, InvalidInput, not_found
from civicgrid.events.deadlines import apply_clock
from civicgrid.events.models import Case, Channel, RequestType
from civicgrid.events.scope import case_scope, visible_cases
from civicgrid.events.workflow import (
    ACTIONS,
    SATISFACTION,
    STATE_LABELS,
    TERMINAL,
    CaseState,
    Guard,
    Transition,
    find_transition,
    transitions_from,
)
from civicgrid.notifications.service import desk_operators, notify, unit_handlers
from civicgrid.regions.models import Region
from civicgrid.units.models import Unit


def get_case(*, session: Session, actor: User, case_id: int, for_update: bool = False) -> Case:
    """The case if ``actor`` may see it, else NotFound (never revealing that it exists)."""
    if not 1 <= case_id <= 2**62:
        raise not_found("事件", "Case", case_id)
    stmt = visible_cases(actor).where(Case.id == case_id)
    if for_update:
        stmt = stmt.with_for_update(of=Case)
    case = session.scalar(stmt)
    if case is None:
        raise not_found("事件", "Case", case_id)
    return case


def guard_allows(guard: Guard, actor: User, case: Case) -> bool:
    """Whether the actor stands in the relation to the case that ``guard`` names."""
    if actor.role == Role.HANDLER and (actor.unit_id is None or case.unit_id != actor.unit_id):
        return False
    if guard is Guard.UNIT:
        return actor.unit_id is not None and case.unit_id == actor.unit_id
    if guard is Guard.DESK:
        return case.desk_path.startswith(actor.scope_path)
    in_area = case.region_path.startswith(actor.scope_path)
    if guard is Guard.AREA:
        return in_area or actor.role == Role.HANDLER
    if guard is Guard.HIGHER:
        return in_area and actor.scope_region.level.rank < case.level.rank
    raise AssertionError(guard)


def _condition_holds(t: Transition, case: Case) -> bool:
    # Only the conditions that depend on the case alone; parameters are checked on firing.
    if t.condition == "consultation":
        return case.request_type == RequestType.CONSULTATION
    if t.condition == "extension_pending":
        return case.extension_days_requested is not None
    if t.condition == "extension_days":
        return case.extension_days_requested is None
    if t.condition == "unsatisfied":
        return case.satisfaction == "unsatisfied"
    if t.condition == "has_unit":
        return case.unit_id is not None
    if t.condition == "level_above":
        return case.desk_path.count("/") > 2  # the city desk has nowhere to go
    return True


def allowed_actions(actor: User, case: Case) -> list[Transition]:
    """The transitions ``actor`` may fire on ``case`` now (what the pages offer as buttons)."""
    return [
        t
        for t in transitions_from(case.state)
        if actor.role in t.roles and guard_allows(t.guard, actor, case) and _condition_holds(t, case)
    ]


@dataclass
class ActionParams:
    """What an action may carry besides its name."""

    note: str | None = None
    unit_id: int | None = None
    master_id: int | None = None
    satisfaction: str | None = None
    extension_days: int | None = None
    extra: dict = field(default_factory=dict)


def _snapshot(case: Case) -> dict:
    return {
        "state": case.state.value,
        "unit_id": case.unit_id,
        "desk": case.desk_path,
        "finish_due_at": case.finish_due_at.isoformat() if case.finish_due_at else None,
        "accept_due_at": case.accept_due_at.isoformat() if case.accept_due_at else None,
    }


def transition(
    *,
    session: Session,
    actor: User,
    origin: Origin,
    case_id: int,
    action: str,
    params: ActionParams | None = None,
    now: dt.datetime | None = None,
) -> Case:
    """Fire ``action`` on a case, checking the workflow table; audited in the same transaction."""
    params = params or ActionParams()
    now = now or utcnow()
    if action not in ACTIONS:
        raise InvalidInput(f"未知操作 {action}", f"Unknown action {action}", allowed=list(ACTIONS))
    case = get_case(session=session, actor=actor, case_id=case_id, for_update=True)
    t = find_transition(action, case.state)
    zh_state, en_state = STATE_LABELS[case.state]
    if t is None:
        raise Conflict(
            f"事件当前状态为「{zh_state}」，不能执行该操作",
            f"The case is '{en_state}'; action '{action}' is not possible now",
        )
    if actor.role not in t.roles or not guard_allows(t.guard, actor, case):
        raise Forbidden(f"您无权对此事件执行「{t.label_zh}」", f"You may not '{t.label_en}' this case")
    if not _condition_holds(t, case):
        raise Conflict(*_condition_message(t))
    if t.note_required and not (params.note and params.note.strip()):
        raise InvalidInput(f"「{t.label_zh}」需要填写说明", f"'{t.label_en}' needs a note")
    return _fire(session=session, actor=actor, origin=origin, case=case, t=t, params=params, now=now)


def _fire(*, session: Session, actor: User | None, origin: Origin, case: Case, t: Transition,
          params: ActionParams, now: dt.datetime) -> Case:
    """Apply a checked transition: effects, clock, state, and the history entry."""
    before = _snapshot(case)
    from_state = case.state
    _apply(session=session, actor=actor, origin=origin, case=case, t=t, params=params, now=now)
    if t.clock is not None:
        apply_clock(
            case=case, clock=t.clock, calendar=get_calendar(session=session), now=now,
            extension_days=params.extension_days,
        )
    if t.target is not None:
        case.state = t.target
    case.updated_at = now
    record(
        session=session,
        actor=actor,
        origin=origin,
        entity="case",
        entity_id=case.id,
        action=t.action,
        from_state=from_state.value,
        to_state=case.state.value,
        note=params.note,
        before=before,
        after=_snapshot(case) | {k: v for k, v in {
            "satisfaction": params.satisfaction, "extension_days": params.extension_days,
            "master_id": params.master_id}.items() if v is not None},
    )
    session.flush()
    return case


def system_transition(*, session: Session, origin: Origin, case: Case, action: str, note: str,
                      now: dt.datetime | None = None) -> Case | None:
    """Fire ``action`` as the system (the scheduler's auto-escalation); None if the table forbids it now."""
    t = find_transition(action, case.state)
    if t is None or not _condition_holds(t, case):
        return None
    return _fire(session=session, actor=None, origin=origin, case=case, t=t,
                 params=ActionParams(note=note), now=now or utcnow())


def _condition_message(t: Transition) -> tuple[str, str]:
    return {
        "consultation": ("只有咨询类事件可以直接答复办结", "Only consultations can be answered and closed directly"),
        "extension_pending": ("没有待审批的延期申请", "There is no pending extension request"),
        "extension_days": ("已有待审批的延期申请", "An extension request is already pending"),
        "unsatisfied": ("只有不满意的回访可以重新办理", "Only an unsatisfied callback can reopen the case"),
        "has_unit": ("该事件没有承办单位，不能返工", "The case has no handling unit to send it back to"),
        "level_above": ("已是最高层级，不能再上报", "The case is already at the top level"),
    }.get(t.condition or "", ("当前不满足操作条件", "The action's condition does not hold"))


def _notify_case(session: Session, users, kind: str, case: Case, zh: str, en: str) -> None:
    notify(session=session, users=users, kind=kind, case_id=case.id,
           text_zh=f"{zh}：{case.number} {case.title}", text_en=f"{en}: {case.number} {case.title}")


def _apply(*, session: Session, actor: User | None, origin: Origin, case: Case, t: Transition,
           params: ActionParams, now: dt.datetime) -> None:
    """The effects of each action beyond state and clock."""
    a = t.action
    if a == "register":
        case.registered_at = now
    elif a == "reject":
        case.resolution_note = params.note
        case.closed_at = now
    elif a == "merge":
        if not params.master_id or params.master_id == case.id:
            raise InvalidInput("请选择要合并到的主事件", "Choose the master case to merge into")
        master = get_case(session=session, actor=actor, case_id=params.master_id)
        if master.state in (CaseState.MERGED, CaseState.REJECTED):
            raise Conflict("主事件已被合并或不予立案，不能作为合并目标", "The master case is merged or rejected")
        case.merged_into_id = master.id
        case.closed_at = now
        record(session=session, actor=actor, origin=origin, entity="case", entity_id=master.id,
               action="merged_in", note=f"合并事件 {case.number}", after={"merged_case_id": case.id})
    elif a == "answer":
        case.registered_at = case.registered_at or now
        case.resolved_at = case.closed_at = now
        case.resolution_note = params.note
    elif a == "handle_on_site":
        case.registered_at = case.resolved_at = now
        case.self_handled = True
        case.resolution_note = params.note
        _notify_case(session, desk_operators(session=session, desk_region_id=case.desk_region_id),
                     "resolved", case, "网格员已自行处置，待核查", "Handled on site, to verify")
    elif a == "dispatch":
        unit_id = params.unit_id or case.suggested_unit_id
        unit = session.get(Unit, unit_id) if unit_id else None
        if unit is None or not unit.active:
            raise InvalidInput("请选择有效的承办单位", "Choose an active unit to dispatch to")
        case.unit = unit  # the relationship, so case.unit (unit_name) is current too
        case.dispatched_at = now
        _notify_case(session, unit_handlers(session=session, unit_id=unit.id), "assigned", case,
                     "新派遣事件", "New case assigned")
    elif a == "accept":
        case.accepted_at = now
    elif a == "return":
        case.returns_count += 1
        case.unit = None
        case.accepted_at = None
        case.dispatched_at = None
        _notify_case(session, desk_operators(session=session, desk_region_id=case.desk_region_id), "returned",
                     case, f"事件被退回（{params.note}）", f"Case returned ({params.note})")
    elif a == "resolve":
        case.resolved_at = now
        case.resolution_note = params.note
        _notify_case(session, desk_operators(session=session, desk_region_id=case.desk_region_id), "resolved",
                     case, "处置完毕待核查", "Resolved, to verify")
    elif a == "request_extension":
        if params.extension_days is None or not 1 <= params.extension_days <= 30:
            raise InvalidInput("请填写延期天数（1–30 个工作日）", "Give the extension in working days (1–30)")
        case.extension_days_requested = params.extension_days
        _notify_case(session, desk_operators(session=session, desk_region_id=case.desk_region_id), "extension",
                     case, f"申请延期 {params.extension_days} 个工作日", f"Extension of {params.extension_days} days requested")
    elif a == "approve_extension":
        params.extension_days = case.extension_days_requested
        case.extensions_count += 1
        case.extension_days_requested = None
        _notify_case(session, unit_handlers(session=session, unit_id=case.unit_id), "extension", case,
                     "延期已批准", "Extension approved")
    elif a == "deny_extension":
        case.extension_days_requested = None
        _notify_case(session, unit_handlers(session=session, unit_id=case.unit_id), "extension", case,
                     "延期被驳回", "Extension denied")
    elif a == "verify":
        case.verified_at = now
    elif a in ("rework", "reopen"):
        case.rework_count += 1
        case.resolved_at = None
        case.verified_at = None
        _notify_case(session, unit_handlers(session=session, unit_id=case.unit_id), "rework", case,
                     "事件需返工", "Case sent back for rework")
    elif a == "callback":
        if params.satisfaction not in SATISFACTION:
            raise InvalidInput("请选择满意度：满意、基本满意或不满意",
                               "Choose satisfaction: satisfied, basically or unsatisfied",
                               allowed=list(SATISFACTION))
        case.satisfaction = params.satisfaction
    elif a == "close":
        case.closed_at = now
    elif a == "escalate":
        desk = session.get(Region, case.desk_region_id)
        upper = desk.parent if desk is not None else None
        if upper is None:
            raise Conflict("已是最高层级，不能再上报", "The case is already at the top level")
        case.desk_region_id, case.desk_path, case.level = upper.id, upper.path, upper.level
        case.escalations_count += 1
        case.unit = None
        case.accepted_at = None
        case.dispatched_at = None
        _notify_case(session, desk_operators(session=session, desk_region_id=upper.id), "escalated", case,
                     f"下级上报（{params.note}）", f"Escalated from below ({params.note})")
    elif a == "supervise":
        case.supervision_count += 1
        _notify_case(
            session,
            unit_handlers(session=session, unit_id=case.unit_id)
            + desk_operators(session=session, desk_region_id=case.desk_region_id),
            "supervised", case, f"督办（{params.note}）", f"Supervision ({params.note})",
        )


def add_comment(*, session: Session, actor: User, origin: Origin, case_id: int, note: str) -> AuditEntry:
    """Add a remark to a case's history (anyone who can see the case)."""
    case = get_case(session=session, actor=actor, case_id=case_id)
    if not note.strip():
        raise InvalidInput("备注不能为空", "A comment cannot be empty")
    return record(session=session, actor=actor, origin=origin, entity="case", entity_id=case.id,
                  action="comment", from_state=case.state.value, to_state=case.state.value, note=note.strip())


def timeline(*, session: Session, actor: User, case_id: int) -> list[AuditEntry]:
    """The case's append-only history, oldest first."""
    case = get_case(session=session, actor=actor, case_id=case_id)
    return history(session=session, entity="case", entity_id=case.id)


def inbox_cases(*, session: Session, actor: User, limit: int = 50) -> list[Case]:
    """'我的待办': the open cases waiting for this user's action, most urgent deadline first."""
    S = CaseState
    stmt = select(Case).where(case_scope(actor))
    if actor.role == Role.OPERATOR:
        stmt = stmt.where(
            Case.desk_path.startswith(actor.scope_path),
            Case.state.in_([S.REPORTED, S.REGISTERED, S.RESOLVED, S.VERIFIED, S.CALLED_BACK])
            | (Case.extension_days_requested.is_not(None) & (Case.state == S.ACCEPTED)),
        )
    elif actor.role == Role.HANDLER:
        stmt = stmt.where(Case.state.in_([S.DISPATCHED, S.ACCEPTED]))
    elif actor.role == Role.GRID_WORKER:
        stmt = stmt.where(Case.state.in_([S.REPORTED, S.RESOLVED]))
    elif actor.role == Role.CITIZEN:
        stmt = stmt.where(Case.state.not_in(list(TERMINAL)))
    else:
        stmt = stmt.where(Case.overdue.is_(True), Case.state.not_in(list(TERMINAL)))
    order = (Case.finish_due_at.is_(None), Case.finish_due_at, Case.received_at)
    return list(session.scalars(stmt.order_by(*order).limit(limit)))


def count_by_state(*, session: Session, actor: User) -> dict[str, int]:
    """Open cases per state in the actor's scope (for the inbox header)."""
    rows = session.execute(
        select(Case.state, func.count()).where(case_scope(actor), Case.state.not_in(list(TERMINAL)))
        .group_by(Case.state)
    ).all()
    return {state.value: n for state, n in rows}


def reporter_channels() -> list[Channel]:
    """The channels a person may choose on the new-case form."""
    return [Channel.OPERATOR, Channel.HOTLINE, Channel.POLICE_110, Channel.GRID_APP, Channel.PETITION,
            Channel.CITIZEN_WEB]
