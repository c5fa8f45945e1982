"""Deadlines: what each request type allows, and what each workflow clock effect does.

Wall-clock units (minutes, hours) are for emergencies that run around the clock; working
days follow the official calendar (see docs/calendar.md). Suspension keeps the remaining
working time and gives it back on resumption; approved extensions add working days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from civicgrid.calendar.workdays import WorkCalendar
from civicgrid.events.models import Case, Category, RequestType
from civicgrid.events.workflow import Clock

UNITS = {"minutes": ("分钟", "minutes"), "hours": ("小时", "hours"), "working_days": ("个工作日", "working days")}


@dataclass(frozen=True)
class DeadlineSpec:
    """An amount of time in one unit."""

    amount: float
    unit: str

    def label(self, lang: str = "zh") -> str:
        zh, en = UNITS[self.unit]
        amount = int(self.amount) if float(self.amount).is_integer() else self.amount
        return f"{amount}{zh}" if lang == "zh" else f"{amount} {en}"


# DESIGN.md §2 defaults; each category may override them.
DEFAULT_DEADLINES: dict[RequestType, tuple[DeadlineSpec | None, DeadlineSpec]] = {
    RequestType.EMERGENCY: (DeadlineSpec(30, "minutes"), DeadlineSpec(1, "working_days")),
    RequestType.CONSULTATION: (None, DeadlineSpec(1, "working_days")),
    RequestType.HELP: (DeadlineSpec(1, "working_days"), DeadlineSpec(5, "working_days")),
    RequestType.COMPLAINT: (DeadlineSpec(1, "working_days"), DeadlineSpec(15, "working_days")),
}


def category_specs(category: Category) -> tuple[DeadlineSpec | None, DeadlineSpec]:
    """The acceptance and completion deadlines a category sets."""
    accept = (
        DeadlineSpec(category.accept_amount, category.accept_unit)
        if category.accept_amount is not None and category.accept_unit
        else None
    )
    return accept, DeadlineSpec(category.finish_amount, category.finish_unit)


def due_after(calendar: WorkCalendar, start: dt.datetime, spec: DeadlineSpec) -> tuple[dt.datetime, str | None]:
    """The instant ``spec`` after ``start`` and, if the calendar had to guess a year, a note saying so."""
    if spec.unit == "minutes":
        return start + dt.timedelta(minutes=spec.amount), None
    if spec.unit == "hours":
        return start + dt.timedelta(hours=spec.amount), None
    deadline = calendar.add_working_seconds(start, spec.amount * 86400)
    return deadline.due, fallback_note(deadline.fallback_years)


def fallback_note(years) -> str | None:
    """The note a case shows when its deadline crossed a year with no official holiday data."""
    if not years:
        return None
    listed = "、".join(str(y) for y in years)
    return f"{listed} 年法定节假日尚未录入，按周一至周五计算工作日 (no official holidays for {listed}; Mon–Fri used)"


def _remaining(calendar: WorkCalendar, now: dt.datetime, due: dt.datetime, unit: str) -> float:
    if unit == "working_days":
        if due <= now:
            return -(now - due).total_seconds()
        return calendar.working_seconds_between(now, due)
    return (due - now).total_seconds()


def _still_overdue(case: Case, now: dt.datetime) -> bool:
    # A clock change may lift the overdue flag but never raises it: the deadline watch does,
    # so that it also records the history entry, tells people and auto-escalates (scheduler.py).
    return case.overdue and bool(case.finish_due_at and case.finish_due_at < now)


def apply_clock(
    *,
    case: Case,
    clock: Clock,
    calendar: WorkCalendar,
    now: dt.datetime,
    extension_days: int | None = None,
) -> None:
    """Apply one workflow clock effect to ``case`` at ``now``."""
    accept_spec, finish_spec = category_specs(case.category)
    if clock is Clock.START_FINISH:
        case.finish_due_at, case.calendar_note = due_after(calendar, now, finish_spec)
    elif clock is Clock.START_ACCEPT:
        if accept_spec is not None:
            case.accept_due_at, note = due_after(calendar, now, accept_spec)
            case.calendar_note = case.calendar_note or note
        case.accept_overdue = False
    elif clock is Clock.STOP_ACCEPT:
        case.accepted_late = bool(case.accept_due_at and now > case.accept_due_at)
    elif clock is Clock.CLEAR_ACCEPT:
        case.accept_due_at = None
        case.accept_overdue = False
    elif clock is Clock.PAUSE:
        case.suspended_at = now
        if case.finish_due_at is not None:
            case.remaining_seconds = _remaining(calendar, now, case.finish_due_at, finish_spec.unit)
    elif clock is Clock.RESUME:
        if case.suspended_at is not None:
            case.suspended_seconds = (case.suspended_seconds or 0) + (now - case.suspended_at).total_seconds()
        if case.remaining_seconds is not None and case.remaining_seconds > 0:
            remaining = DeadlineSpec(case.remaining_seconds / 86400, finish_spec.unit)
            if finish_spec.unit != "working_days":
                remaining = DeadlineSpec(case.remaining_seconds / 60, "minutes")
            case.finish_due_at, note = due_after(calendar, now, remaining)
            case.calendar_note = case.calendar_note or note
        case.suspended_at = None
        case.remaining_seconds = None
        case.due_soon = False
        case.overdue = _still_overdue(case, now)
    elif clock is Clock.EXTEND:
        days = extension_days or case.extension_days_requested or 0
        if case.finish_due_at is not None and days > 0:
            case.finish_due_at, note = due_after(calendar, case.finish_due_at, DeadlineSpec(days, "working_days"))
            case.calendar_note = case.calendar_note or note
        case.due_soon = False
        case.overdue = _still_overdue(case, now)
    elif clock is Clock.STOP:
        case.resolved_late = bool(case.finish_due_at and now > case.finish_due_at)
    elif clock is Clock.RESTART:
        # Rework and reopening do not buy new time: the original deadline stands.
        case.resolved_late = None
        case.overdue = _still_overdue(case, now)
