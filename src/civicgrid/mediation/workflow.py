"""The dispute workflow (矛盾纠纷多元化解), declared as data.

Intake → assessment (研判) → routing (分流) to a mediation organisation → sessions →
outcome (agreement / partial / failed) → follow-up of the agreement until performed, or
hand-over to litigation or arbitration (诉调对接), or escalation one level up.
``service.transition()`` is the only reader of this table; tests walk every row.
"""

from __future__ import annotations

import enum

from civicgrid.auth.models import Role
from civicgrid.mediation.flowtable import FlowTable, step


class DisputeState(enum.StrEnum):
    """Where a dispute stands."""

    REGISTERED = "registered"
    ASSESSED = "assessed"
    ROUTED = "routed"
    MEDIATING = "mediating"
    FAILED = "failed"
    FOLLOWING_UP = "following_up"
    CLOSED = "closed"
    REFERRED = "referred"
    WITHDRAWN = "withdrawn"
    DECLINED = "declined"


STATE_LABELS: dict[DisputeState, tuple[str, str]] = {
    DisputeState.REGISTERED: ("待研判", "Registered"),
    DisputeState.ASSESSED: ("待分流", "Assessed"),
    DisputeState.ROUTED: ("待受理", "Routed"),
    DisputeState.MEDIATING: ("调解中", "Mediating"),
    DisputeState.FAILED: ("调解不成", "Mediation failed"),
    DisputeState.FOLLOWING_UP: ("协议履行中", "Agreement being performed"),
    DisputeState.CLOSED: ("已化解", "Resolved"),
    DisputeState.REFERRED: ("已转诉讼/仲裁", "Referred to court / arbitration"),
    DisputeState.WITHDRAWN: ("已撤回", "Withdrawn"),
    DisputeState.DECLINED: ("不予受理", "Declined"),
}

TERMINAL = frozenset({DisputeState.CLOSED, DisputeState.REFERRED, DisputeState.WITHDRAWN, DisputeState.DECLINED})
OPEN = frozenset(DisputeState) - TERMINAL
# A dispute counts as resolved (化解) for campaigns once mediation has produced its result.
SETTLED = frozenset({DisputeState.FOLLOWING_UP, DisputeState.CLOSED})


class Guard(enum.StrEnum):
    """The relation between actor and dispute a step needs."""

    DESK = "desk"  # the dispute's desk (the centre that routes it) is in the actor's subtree
    ORG = "org"  # the actor is a registered mediator of the organisation the dispute is routed to
    ORG_OR_DESK = "org_or_desk"  # either of the above
    HIGHER = "higher"  # the dispute is in the actor's area and the actor sits above its desk


class Clock(enum.StrEnum):
    """What a step does to the dispute's deadline (applied in service.py)."""

    START_MEDIATION = "start_mediation"  # acceptance: the mediation period starts
    RESTART_ROUTING = "restart_routing"  # return / escalation: routing is due again
    STOP = "stop"  # an outcome stops the clock


S = DisputeState
OP, HD, LD = Role.OPERATOR, Role.HANDLER, Role.LEADER
MEDIATORS = {OP, HD}  # anyone registered as a mediator; the ORG guard checks the registry

WORKFLOW: FlowTable[DisputeState] = FlowTable(
    name_zh="纠纷",
    name_en="dispute",
    states=DisputeState,
    labels=STATE_LABELS,
    terminal=TERMINAL,
    conditions={
        "org": ("请选择有效的调解组织", "Choose an active mediation organisation"),
        "sessions_held": ("尚未记录任何调解，不能登记调解结果", "Record at least one mediation session first"),
        "all_performed": ("协议义务尚未全部履行，不能结案", "Not every obligation of the agreement is performed yet"),
        "level_above": ("已是最高层级，不能再升级", "The dispute is already at the top level"),
        "court_number": ("请填写法院案号或仲裁案号", "Give the court or arbitration case number"),
        "obligation": ("请选择尚未履行的协议义务", "Choose an obligation not yet performed"),
    },
    steps=(
        step("assess", {S.REGISTERED}, S.ASSESSED, {OP}, Guard.DESK, "研判", "Assess"),
        step("decline", {S.REGISTERED}, S.DECLINED, {OP}, Guard.DESK, "不予受理", "Decline", note_required=True),
        step("route", {S.ASSESSED}, S.ROUTED, {OP}, Guard.DESK, "分流", "Route", condition="org"),
        step("accept", {S.ROUTED}, S.MEDIATING, MEDIATORS, Guard.ORG, "受理调解", "Accept",
             clock=Clock.START_MEDIATION),
        step("return", {S.ROUTED, S.MEDIATING}, S.ASSESSED, MEDIATORS, Guard.ORG, "退回", "Return",
             note_required=True, clock=Clock.RESTART_ROUTING),
        step("hold_session", {S.MEDIATING}, None, MEDIATORS, Guard.ORG, "记录调解", "Record a session"),
        step("agree", {S.MEDIATING}, S.FOLLOWING_UP, MEDIATORS, Guard.ORG, "达成协议", "Agreement reached",
             condition="sessions_held", clock=Clock.STOP),
        step("agree_partial", {S.MEDIATING}, S.FOLLOWING_UP, MEDIATORS, Guard.ORG, "部分达成协议",
             "Partial agreement", condition="sessions_held", clock=Clock.STOP),
        step("fail", {S.MEDIATING}, S.FAILED, MEDIATORS, Guard.ORG, "调解不成", "Mediation failed",
             note_required=True, condition="sessions_held", clock=Clock.STOP),
        step("refer_litigation", {S.FAILED, S.FOLLOWING_UP}, S.REFERRED, MEDIATORS, Guard.ORG_OR_DESK,
             "转诉讼（诉调对接）", "Refer to court", condition="court_number"),
        step("refer_arbitration", {S.FAILED, S.FOLLOWING_UP}, S.REFERRED, MEDIATORS, Guard.ORG_OR_DESK,
             "转仲裁", "Refer to arbitration", condition="court_number"),
        step("escalate", {S.ASSESSED, S.ROUTED, S.MEDIATING, S.FAILED}, S.ASSESSED, MEDIATORS, Guard.ORG_OR_DESK,
             "升级上报", "Escalate a level", note_required=True, condition="level_above",
             clock=Clock.RESTART_ROUTING),
        step("follow_up", {S.FOLLOWING_UP}, None, MEDIATORS, Guard.ORG_OR_DESK, "履行回访", "Follow up",
             note_required=True),
        step("perform", {S.FOLLOWING_UP}, None, MEDIATORS, Guard.ORG_OR_DESK, "确认义务履行",
             "Confirm an obligation performed", condition="obligation"),
        step("close", {S.FOLLOWING_UP}, S.CLOSED, MEDIATORS, Guard.ORG_OR_DESK, "履行完毕结案",
             "Close (performed)", condition="all_performed"),
        step("withdraw", {S.REGISTERED, S.ASSESSED, S.ROUTED, S.MEDIATING}, S.WITHDRAWN, MEDIATORS,
             Guard.ORG_OR_DESK, "申请人撤回", "Withdrawn by the applicant", note_required=True, clock=Clock.STOP),
        step("supervise", OPEN, None, {OP, LD}, Guard.HIGHER, "督办", "Supervise", note_required=True),
    ),
)

ACTIONS = WORKFLOW.actions

# Outcome recorded by each concluding step (statistics read these).
OUTCOME_OF = {
    "agree": "agreement",
    "agree_partial": "partial",
    "fail": "failed",
    "withdraw": "withdrawn",
    "decline": "declined",
}
OUTCOME_LABELS = {
    "agreement": ("达成协议", "Agreement"),
    "partial": ("部分达成", "Partial agreement"),
    "failed": ("调解不成", "Failed"),
    "withdrawn": ("撤回", "Withdrawn"),
    "declined": ("不予受理", "Declined"),
}
HANDOVER_LABELS = {
    "litigation": ("诉讼", "Litigation"),
    "arbitration": ("仲裁", "Arbitration"),
}
