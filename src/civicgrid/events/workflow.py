"""The case workflow, declared as data (事件处置闭环).

States, the transitions between them, who may fire each, and what each does to the
clock. ``service.transition()`` is the only code that reads this table; a city reads it
in docs/workflow.md (kept complete by tests/test_meta.py) and tests walk every row.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from civicgrid.auth.models import Role


class CaseState(enum.StrEnum):
    """Where a case stands in the loop."""

    REPORTED = "reported"
    REGISTERED = "registered"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    SUSPENDED = "suspended"
    RESOLVED = "resolved"
    VERIFIED = "verified"
    CALLED_BACK = "called_back"
    CLOSED = "closed"
    REJECTED = "rejected"
    MERGED = "merged"


STATE_LABELS: dict[CaseState, tuple[str, str]] = {
    CaseState.REPORTED: ("待立案", "Reported"),
    CaseState.REGISTERED: ("待派遣", "Registered"),
    CaseState.DISPATCHED: ("待签收", "Dispatched"),
    CaseState.ACCEPTED: ("处置中", "In progress"),
    CaseState.SUSPENDED: ("已挂起", "Suspended"),
    CaseState.RESOLVED: ("待核查", "Resolved"),
    CaseState.VERIFIED: ("待回访", "Verified"),
    CaseState.CALLED_BACK: ("待结案", "Called back"),
    CaseState.CLOSED: ("已结案", "Closed"),
    CaseState.REJECTED: ("不予立案", "Rejected"),
    CaseState.MERGED: ("已合并", "Merged"),
}

TERMINAL = frozenset({CaseState.CLOSED, CaseState.REJECTED, CaseState.MERGED})
OPEN = frozenset(CaseState) - TERMINAL
# States in which the completion clock runs (suspension pauses it).
CLOCK_RUNNING = frozenset({CaseState.REGISTERED, CaseState.DISPATCHED, CaseState.ACCEPTED})


class Guard(enum.StrEnum):
    """Which relation between actor and case a transition needs.

    Handlers act only on cases assigned to their unit, whatever the guard says.
    """

    DESK = "desk"  # the case's desk (the centre currently owning it) is in the actor's subtree
    UNIT = "unit"  # the case is assigned to the actor's unit
    AREA = "area"  # the case's location is in the actor's subtree
    HIGHER = "higher"  # AREA, and the actor sits at a level above the case's desk


class Clock(enum.StrEnum):
    """What a transition does to deadlines (applied in deadlines.py)."""

    START_FINISH = "start_finish"  # registration starts the completion clock
    START_ACCEPT = "start_accept"  # dispatch starts the acceptance clock
    STOP_ACCEPT = "stop_accept"  # acceptance stops it
    CLEAR_ACCEPT = "clear_accept"  # a return clears it until the next dispatch
    PAUSE = "pause"  # suspension pauses the completion clock
    RESUME = "resume"  # resumption restarts it with the remaining working time
    EXTEND = "extend"  # an approved extension moves the completion deadline
    STOP = "stop"  # resolution stops the clock (on time or late is recorded)
    RESTART = "restart"  # rework starts the clock again where it stood


@dataclass(frozen=True)
class Transition:
    """One row of the workflow table."""

    action: str
    sources: frozenset[CaseState]
    target: CaseState | None  # None: the state does not change
    roles: frozenset[Role]
    guard: Guard
    label_zh: str
    label_en: str
    note_required: bool = False
    clock: Clock | None = None
    # Extra conditions checked by the service, named here so the table says what they are.
    condition: str | None = None


def _t(action, sources, target, roles, guard, zh, en, **kw) -> Transition:
    return Transition(action, frozenset(sources), target, frozenset(roles), guard, zh, en, **kw)


S = CaseState
OP, HD, GW, LD = Role.OPERATOR, Role.HANDLER, Role.GRID_WORKER, Role.LEADER
ESCALATABLE = {S.REPORTED, S.REGISTERED, S.DISPATCHED, S.ACCEPTED}

TRANSITIONS: tuple[Transition, ...] = (
    _t("register", {S.REPORTED}, S.REGISTERED, {OP}, Guard.DESK, "立案", "Register", clock=Clock.START_FINISH),
    _t("reject", {S.REPORTED}, S.REJECTED, {OP}, Guard.DESK, "不予立案", "Reject", note_required=True),
    _t("merge", {S.REPORTED, S.REGISTERED}, S.MERGED, {OP}, Guard.DESK, "合并到重复事件", "Merge into duplicate",
       condition="master_case"),
    _t("answer", {S.REPORTED, S.REGISTERED}, S.CLOSED, {OP}, Guard.DESK, "直接答复办结", "Answer and close",
       note_required=True, condition="consultation"),
    _t("handle_on_site", {S.REPORTED}, S.RESOLVED, {GW}, Guard.AREA, "自行处置", "Handled on site",
       note_required=True, clock=Clock.START_FINISH),
    _t("dispatch", {S.REGISTERED}, S.DISPATCHED, {OP}, Guard.DESK, "派遣", "Dispatch", clock=Clock.START_ACCEPT,
       condition="unit"),
    _t("accept", {S.DISPATCHED}, S.ACCEPTED, {HD}, Guard.UNIT, "签收", "Accept", clock=Clock.STOP_ACCEPT),
    _t("return", {S.DISPATCHED, S.ACCEPTED}, S.REGISTERED, {HD}, Guard.UNIT, "退回", "Return",
       note_required=True, clock=Clock.CLEAR_ACCEPT),
    _t("resolve", {S.ACCEPTED}, S.RESOLVED, {HD}, Guard.UNIT, "处置完毕", "Mark resolved",
       note_required=True, clock=Clock.STOP),
    _t("request_extension", {S.ACCEPTED}, None, {HD}, Guard.UNIT, "申请延期", "Request extension",
       note_required=True, condition="extension_days"),
    _t("approve_extension", {S.ACCEPTED}, None, {OP}, Guard.DESK, "批准延期", "Approve extension",
       clock=Clock.EXTEND, condition="extension_pending"),
    _t("deny_extension", {S.ACCEPTED}, None, {OP}, Guard.DESK, "驳回延期", "Deny extension",
       note_required=True, condition="extension_pending"),
    _t("suspend", {S.ACCEPTED}, S.SUSPENDED, {OP}, Guard.DESK, "挂起", "Suspend", note_required=True,
       clock=Clock.PAUSE),
    _t("resume", {S.SUSPENDED}, S.ACCEPTED, {OP}, Guard.DESK, "恢复办理", "Resume", clock=Clock.RESUME),
    _t("verify", {S.RESOLVED}, S.VERIFIED, {OP, GW}, Guard.AREA, "核查通过", "Verify"),
    _t("rework", {S.RESOLVED}, S.ACCEPTED, {OP, GW}, Guard.AREA, "返工", "Send back for rework",
       note_required=True, clock=Clock.RESTART, condition="has_unit"),
    _t("callback", {S.VERIFIED}, S.CALLED_BACK, {OP}, Guard.DESK, "回访", "Record callback",
       condition="satisfaction"),
    _t("reopen", {S.CALLED_BACK}, S.ACCEPTED, {OP}, Guard.DESK, "不满意重办", "Reopen (unsatisfied)",
       note_required=True, clock=Clock.RESTART, condition="unsatisfied"),
    _t("close", {S.VERIFIED, S.CALLED_BACK}, S.CLOSED, {OP}, Guard.DESK, "结案", "Close"),
    # Escalation moves the case to the centre one level up: unregistered reports stay to be
    # registered there; everything else waits there for a new dispatch.
    _t("escalate", {S.REPORTED}, S.REPORTED, {OP, GW, HD}, Guard.AREA, "上报", "Escalate",
       note_required=True, condition="level_above"),
    _t("escalate", ESCALATABLE - {S.REPORTED}, S.REGISTERED, {OP, GW, HD}, Guard.AREA, "上报", "Escalate",
       note_required=True, clock=Clock.CLEAR_ACCEPT, condition="level_above"),
    _t("supervise", OPEN, None, {OP, LD}, Guard.HIGHER, "督办", "Supervise", note_required=True),
)

ACTIONS: tuple[str, ...] = tuple(dict.fromkeys(t.action for t in TRANSITIONS))


def find_transition(action: str, state: CaseState) -> Transition | None:
    """The row for ``action`` fired from ``state``, if the table has one."""
    for t in TRANSITIONS:
        if t.action == action and state in t.sources:
            return t
    return None


def action_labels(action: str) -> tuple[str, str]:
    """The Chinese and English label of an action."""
    t = next(t for t in TRANSITIONS if t.action == action)
    return t.label_zh, t.label_en

SATISFACTION = {
    "satisfied": ("满意", "Satisfied"),
    "basically": ("基本满意", "Basically satisfied"),
    "unsatisfied": ("不满意", "Unsatisfied"),
}


def transitions_from(state: CaseState) -> list[Transition]:
    """Every transition whose sources include ``state``, in table order."""
    return [t for t in TRANSITIONS if state in t.sources]
