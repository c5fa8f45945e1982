"""The petition workflow (信访事项办理), declared as data after the 信访工作条例 (2022).

Registration → triage to the responsible window (导引分流) → decision to accept within
15 working days (受理) → answer within 60 working days of acceptance, extendable once by
at most 30 with approval (延期) → review (复查) and re-review (复核) on request, each
answered within 30 working days. A petition can instead become a dispute (矛调) or a
case in the loop (转办), whose outcome it then shows. ``service.transition()`` is the
only reader of this table.
"""

from __future__ import annotations

import enum

from civicgrid.auth.models import Role
from civicgrid.mediation.flowtable import FlowTable, step


class PetitionState(enum.StrEnum):
    """Where a petition stands."""

    REGISTERED = "registered"
    TRIAGED = "triaged"
    ACCEPTED = "accepted"
    NOT_ACCEPTED = "not_accepted"
    ANSWERED = "answered"
    UNDER_REVIEW = "under_review"
    REVIEWED = "reviewed"
    UNDER_RE_REVIEW = "under_re_review"
    CLOSED = "closed"
    TRANSFERRED = "transferred"


STATE_LABELS: dict[PetitionState, tuple[str, str]] = {
    PetitionState.REGISTERED: ("待分流", "Registered"),
    PetitionState.TRIAGED: ("待受理", "Awaiting acceptance"),
    PetitionState.ACCEPTED: ("办理中", "In progress"),
    PetitionState.NOT_ACCEPTED: ("不予受理", "Not accepted"),
    PetitionState.ANSWERED: ("已答复", "Answered"),
    PetitionState.UNDER_REVIEW: ("复查中", "Under review"),
    PetitionState.REVIEWED: ("已复查", "Reviewed"),
    PetitionState.UNDER_RE_REVIEW: ("复核中", "Under re-review"),
    PetitionState.CLOSED: ("已办结", "Closed"),
    PetitionState.TRANSFERRED: ("已转办", "Transferred"),
}

TERMINAL = frozenset({PetitionState.NOT_ACCEPTED, PetitionState.CLOSED, PetitionState.TRANSFERRED})
OPEN = frozenset(PetitionState) - TERMINAL


class Guard(enum.StrEnum):
    """The relation between actor and petition a step needs."""

    DESK = "desk"  # the petition's reception desk is in the actor's subtree (handlers excluded)
    UNIT = "unit"  # the petition is with the actor's unit (its window)
    UNIT_OR_DESK = "unit_or_desk"
    HIGHER = "higher"  # in the actor's area, and the actor sits above the desk


class Clock(enum.StrEnum):
    """What a step does to the petition's deadlines (信访工作条例), applied in service.py."""

    ACCEPT = "accept"  # registration/triage: decide on acceptance within 15 working days of receipt
    ANSWER = "answer"  # acceptance: answer within 60 working days
    EXTEND = "extend"  # approved extension: up to 30 more working days
    REVIEW_WINDOW = "review_window"  # answer/review: the petitioner may ask for (re-)review within 30
    REVIEW = "review"  # a (re-)review request: decided within 30 working days
    STOP = "stop"


S = PetitionState
OP, HD, LD = Role.OPERATOR, Role.HANDLER, Role.LEADER
TRANSFERABLE = {S.REGISTERED, S.TRIAGED, S.ACCEPTED}

WORKFLOW: FlowTable[PetitionState] = FlowTable(
    name_zh="信访事项",
    name_en="petition",
    states=PetitionState,
    labels=STATE_LABELS,
    terminal=TERMINAL,
    conditions={
        "unit": ("请选择有效的承办单位（窗口）", "Choose an active unit (window) to send it to"),
        "extension_days": ("已申请或已延期过：延期只能一次，且不超过 30 日",
                           "An extension was already requested or granted; one extension of at most 30 days"),
        "extension_pending": ("没有待审批的延期申请", "There is no pending extension request"),
        "review_window": ("已超过请求复查（复核）的 30 日期限", "The 30-day window to request a review has passed"),
        "leader": ("请选择辖区内的领导", "Choose a leader whose area covers the petition"),
        "dispute_type": ("请选择纠纷类型", "Choose a dispute type"),
        "category": ("请选择事件类别", "Choose a case category"),
    },
    steps=(
        step("triage", {S.REGISTERED}, S.TRIAGED, {OP}, Guard.DESK, "导引分流", "Triage to a window",
             condition="unit"),
        step("return", {S.TRIAGED}, S.REGISTERED, {HD}, Guard.UNIT, "退回（非本单位职责）", "Return (not ours)",
             note_required=True),
        step("accept", {S.TRIAGED}, S.ACCEPTED, {HD, OP}, Guard.UNIT_OR_DESK, "受理", "Accept",
             clock=Clock.ANSWER),
        step("not_accept", {S.TRIAGED}, S.NOT_ACCEPTED, {HD, OP}, Guard.UNIT_OR_DESK, "不予受理", "Do not accept",
             note_required=True, clock=Clock.STOP),
        step("request_extension", {S.ACCEPTED}, None, {HD, OP}, Guard.UNIT_OR_DESK, "申请延期", "Request extension",
             note_required=True, condition="extension_days"),
        step("approve_extension", {S.ACCEPTED}, None, {OP, LD}, Guard.DESK, "批准延期", "Approve extension",
             condition="extension_pending", clock=Clock.EXTEND),
        step("deny_extension", {S.ACCEPTED}, None, {OP, LD}, Guard.DESK, "驳回延期", "Deny extension",
             note_required=True, condition="extension_pending"),
        step("answer", {S.ACCEPTED}, S.ANSWERED, {HD, OP}, Guard.UNIT_OR_DESK, "出具处理意见", "Answer",
             note_required=True, clock=Clock.REVIEW_WINDOW),
        step("request_review", {S.ANSWERED}, S.UNDER_REVIEW, {OP}, Guard.DESK, "请求复查", "Review requested",
             note_required=True, condition="review_window", clock=Clock.REVIEW),
        step("decide_review", {S.UNDER_REVIEW}, S.REVIEWED, {OP, LD}, Guard.DESK, "出具复查意见", "Review decided",
             note_required=True, clock=Clock.REVIEW_WINDOW),
        step("request_re_review", {S.REVIEWED}, S.UNDER_RE_REVIEW, {OP}, Guard.DESK, "请求复核",
             "Re-review requested", note_required=True, condition="review_window", clock=Clock.REVIEW),
        step("decide_re_review", {S.UNDER_RE_REVIEW}, S.CLOSED, {OP, LD}, Guard.DESK, "出具复核意见（终结）",
             "Re-review decided (final)", note_required=True, clock=Clock.STOP),
        step("close", {S.ANSWERED, S.REVIEWED}, S.CLOSED, {OP}, Guard.DESK, "办结", "Close", clock=Clock.STOP),
        step("assign_leader", OPEN, None, {OP, LD}, Guard.DESK, "领导包案", "Assign an owning leader",
             condition="leader"),
        step("to_dispute", TRANSFERABLE, S.TRANSFERRED, {OP}, Guard.DESK, "转矛盾纠纷调解", "Turn into a dispute",
             condition="dispute_type", clock=Clock.STOP),
        step("to_case", TRANSFERABLE, S.TRANSFERRED, {OP}, Guard.DESK, "转事件办理", "Turn into a case",
             condition="category", clock=Clock.STOP),
        step("record_higher_visit", set(PetitionState), None, {OP}, Guard.DESK, "登记越级走访",
             "Record a visit to a higher level"),
        step("supervise", OPEN, None, {OP, LD}, Guard.HIGHER, "督办", "Supervise", note_required=True),
    ),
)

ACTIONS = WORKFLOW.actions
