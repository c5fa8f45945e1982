"""The deadline watch: due soon, overdue, accept-overdue and auto-escalation — each exactly once."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from civicgrid.audit.models import AuditEntry
from civicgrid.events.scheduler import ScanResult, run_once, scan_deadlines
from civicgrid.events.workflow import CaseState
from civicgrid.notifications.models import Notification
from civicgrid.regions.models import RegionLevel

from .conftest import Loop

S = CaseState
HOUR = dt.timedelta(hours=1)


def scan(loop: Loop, now: dt.datetime) -> ScanResult:
    return scan_deadlines(session=loop.session, now=now)


def all_notifications(loop: Loop, case, kind: str) -> int:
    return loop.session.scalar(select(func.count(Notification.id)).where(
        Notification.case_id == case.id, Notification.kind == kind)) or 0


def test_due_soon_is_flagged_and_told_once(loop: Loop):
    case = loop.drive(loop.report(), S.ACCEPTED)
    due = case.finish_due_at
    assert scan(loop, due - 25 * HOUR) == ScanResult()
    assert case.due_soon is False
    first = scan(loop, due - 24 * HOUR)
    assert first == ScanResult(due_soon=1)
    loop.session.refresh(case)
    assert case.due_soon is True and case.overdue is False
    assert loop.notifications("handler", case, "due_soon") == 1
    assert loop.notifications("operator", case, "due_soon") == 1
    assert scan(loop, due - 2 * HOUR) == ScanResult()  # twice: nothing new
    assert all_notifications(loop, case, "due_soon") == 2


def test_overdue_is_flagged_recorded_and_told_once(loop: Loop):
    case = loop.drive(loop.report(), S.ACCEPTED)
    late = case.finish_due_at + HOUR
    assert scan(loop, late) == ScanResult(overdue=1)
    assert scan(loop, late + HOUR) == ScanResult()
    loop.session.refresh(case)
    assert case.overdue is True and case.state is S.ACCEPTED  # help requests do not auto-escalate
    entries = [e for e in loop.entries(case) if e.action == "overdue"]
    assert len(entries) == 1
    assert (entries[0].actor_id, entries[0].actor_name, entries[0].channel) == (None, "system", "scheduler")
    assert loop.notifications("handler", case, "overdue") == 1
    assert loop.notifications("operator", case, "overdue") == 1
    note = loop.session.scalar(select(Notification.text_zh).where(Notification.case_id == case.id,
                                                                   Notification.kind == "overdue"))
    assert case.number in note and "已超期" in note


@pytest.mark.parametrize("state", [S.SUSPENDED, S.RESOLVED, S.VERIFIED, S.CLOSED])
def test_stopped_clocks_are_not_watched(loop: Loop, state):
    case = loop.drive(loop.report(), state)
    assert scan(loop, case.finish_due_at + 100 * HOUR) == ScanResult()
    loop.session.refresh(case)
    assert case.overdue is False and case.due_soon is False


@pytest.mark.parametrize("state", [S.REGISTERED, S.DISPATCHED, S.ACCEPTED])
def test_running_clocks_are_watched(loop: Loop, state):
    case = loop.drive(loop.report(), state)
    result = scan(loop, case.finish_due_at + HOUR)
    assert result.overdue == 1


def test_overdue_emergency_is_escalated_automatically_once(loop: Loop):
    case = loop.report(category="EV0501")  # road collapse: emergency, auto-escalates
    assert case.category.auto_escalate
    loop.drive(case, S.ACCEPTED)
    late = case.finish_due_at + HOUR
    assert scan(loop, late) == ScanResult(overdue=1, escalated=1)
    loop.session.refresh(case)
    street = loop.world.regions["street1"]
    assert case.state is S.REGISTERED and case.desk_region_id == street.id and case.level is RegionLevel.STREET
    assert case.unit_id is None and case.escalations_count == 1
    entry = loop.entries(case)[-1]
    assert (entry.action, entry.from_state, entry.to_state) == ("escalate", "accepted", "registered")
    assert entry.actor_id is None and entry.channel == "scheduler" and "auto-escalated" in entry.note
    assert loop.notifications("street_op", case, "escalated") == 1
    assert scan(loop, late + HOUR) == ScanResult()
    loop.session.refresh(case)
    assert case.escalations_count == 1


def test_auto_escalation_stops_at_the_city_desk(loop: Loop):
    case = loop.report(category="EV0501")
    for who in ("operator", "street_op", "district_op"):
        loop.fire(case, "escalate", by=who)
    loop.fire(case, "register", by="city_op")
    assert scan(loop, case.finish_due_at + HOUR) == ScanResult(overdue=1, escalated=0)
    assert case.level is RegionLevel.CITY and case.state is S.REGISTERED


def test_accept_overdue_for_dispatched_cases(loop: Loop):
    case = loop.drive(loop.report(), S.DISPATCHED)
    late = case.accept_due_at + HOUR
    assert scan(loop, case.accept_due_at - HOUR) == ScanResult()
    assert scan(loop, late) == ScanResult(accept_overdue=1)
    assert scan(loop, late + HOUR) == ScanResult()
    loop.session.refresh(case)
    assert case.accept_overdue is True and case.overdue is False
    assert loop.notifications("handler", case, "overdue") == 1
    loop.fire(case, "accept", at=late + 2 * HOUR)
    assert case.accepted_late is True


def test_redispatch_restarts_the_acceptance_watch(loop: Loop):
    case = loop.drive(loop.report(), S.DISPATCHED)
    first_due = case.accept_due_at
    assert scan(loop, first_due + HOUR).accept_overdue == 1
    loop.session.refresh(case)
    later = first_due + 2 * HOUR
    loop.fire(case, "return", at=later)
    assert case.accept_overdue is False and case.accept_due_at is None
    loop.fire(case, "dispatch", at=later)
    assert case.accept_overdue is False and case.accept_due_at > later
    assert scan(loop, case.accept_due_at + HOUR).accept_overdue == 1


def test_extension_lifts_overdue_and_due_soon(loop: Loop):
    case = loop.drive(loop.report(), S.ACCEPTED)
    scan(loop, case.finish_due_at - HOUR)
    loop.session.refresh(case)
    assert case.due_soon is True
    loop.fire(case, "request_extension", extension_days=5, at=case.finish_due_at - HOUR)
    loop.fire(case, "approve_extension", at=case.finish_due_at - HOUR / 2)
    assert case.due_soon is False and case.overdue is False
    # Near the new deadline it is due soon again, and told again.
    assert scan(loop, case.finish_due_at - HOUR).due_soon == 1


def test_run_once_uses_its_own_unit_of_work(loop: Loop):
    case = loop.report()
    from civicgrid.db import utcnow

    loop.fire(case, "register", at=utcnow() - dt.timedelta(days=30))
    result = run_once()
    assert result.overdue == 1
    loop.session.refresh(case)
    assert case.overdue is True
    assert loop.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "overdue")) == 1


@pytest.mark.parametrize("send_back", ["rework", "reopen"])
def test_sent_back_after_the_deadline_is_reported_overdue_by_the_watch(loop: Loop, send_back):
    # Resolved on time; sent back once the deadline has passed: the clock runs again past its
    # deadline, and the watch must say so (history, notifications) like for any other case.
    case = loop.drive(loop.report(), S.RESOLVED)
    due = case.finish_due_at
    assert case.resolved_late is False
    if send_back == "reopen":
        loop.fire(case, "verify", at=due + HOUR)
        loop.fire(case, "callback", satisfaction="unsatisfied", at=due + 2 * HOUR)
    loop.fire(case, send_back, at=due + 3 * HOUR, note="仍未解决")
    assert case.state is S.ACCEPTED
    assert scan(loop, due + 4 * HOUR) == ScanResult(overdue=1)
    loop.session.refresh(case)
    assert case.overdue is True
    assert [e.action for e in loop.entries(case)].count("overdue") == 1
    assert loop.notifications("handler", case, "overdue") == 1


def test_sent_back_emergency_past_its_deadline_is_auto_escalated(loop: Loop):
    case = loop.report(category="EV0501")
    loop.drive(case, S.RESOLVED)
    due = case.finish_due_at
    loop.fire(case, "rework", at=due + HOUR, note="未处置到位")
    assert scan(loop, due + 2 * HOUR) == ScanResult(overdue=1, escalated=1)
    loop.session.refresh(case)
    assert case.state is S.REGISTERED and case.level is RegionLevel.STREET


def test_an_approved_extension_lifts_the_overdue_flag(loop: Loop):
    case = loop.drive(loop.report(), S.ACCEPTED)
    late = case.finish_due_at + HOUR
    assert scan(loop, late).overdue == 1
    loop.session.refresh(case)
    loop.fire(case, "request_extension", extension_days=5, at=late)
    loop.fire(case, "approve_extension", at=late + HOUR)
    assert case.overdue is False and case.finish_due_at > late + HOUR
    # Missing the new deadline is a new overdue, recorded again.
    assert scan(loop, case.finish_due_at + HOUR).overdue == 1
    assert [e.action for e in loop.entries(case)].count("overdue") == 2
