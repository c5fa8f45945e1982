"""Every row of the workflow table fired through ``service.transition`` on the database:
allowed (state, history, counters, timestamps, clock, notifications), forbidden by role,
impossible from the wrong state, refused without its note, and each extra condition."""

from __future__ import annotations

import datetime as dt

import pytest

from civicgrid.auth.models import Role
from civicgrid.calendar.service import get_calendar
from civicgrid.errors import Conflict, Forbidden, InvalidInput, NotFound
from civicgrid.events import service
from civicgrid.events.workflow import (
    ACTIONS,
    OPEN,
    TRANSITIONS,
    CaseState,
    Guard,
    Transition,
    find_transition,
)
from civicgrid.regions.models import RegionLevel

from .conftest import DEFAULT_ACTOR, ORIGIN, Loop, working_days_after

S = CaseState
# One representative user per role for the "who may not" checks (scoped so that most can see
# a case in grid111; those who cannot must get 404, never a hint that the case exists).
ROLE_USERS = {
    Role.ADMIN: "admin",
    Role.OPERATOR: "operator",
    Role.HANDLER: "handler",
    Role.GRID_WORKER: "gridworker",
    Role.LEADER: "leader",
    Role.CITIZEN: "citizen",
}
TRACKED = (
    "state", "unit_id", "desk_path", "desk_region_id", "level", "registered_at", "dispatched_at", "accepted_at",
    "resolved_at", "verified_at", "closed_at", "accept_due_at", "finish_due_at", "calendar_note", "suspended_at",
    "remaining_seconds", "suspended_seconds", "extension_days_requested", "extensions_count", "returns_count",
    "rework_count", "escalations_count", "supervision_count", "self_handled", "accepted_late", "resolved_late",
    "due_soon", "overdue", "accept_overdue", "satisfaction", "resolution_note", "merged_into_id",
)
ROWS = [(t, s) for t in TRANSITIONS for s in sorted(t.sources)]


def row_id(row) -> str:
    t, s = row[0], row[1]
    return f"{t.action}@{s.value}" + (f"-by-{row[2]}" if len(row) > 2 else "")


def allowed_users(t: Transition, state: CaseState) -> list[str]:
    """Users who may fire ``t`` from ``state`` on a case in grid111 dispatched to chengguan."""
    names = []
    for role in sorted(t.roles):
        if role == Role.OPERATOR:
            names.append("street_op" if t.guard is Guard.HIGHER else "operator")
        elif role == Role.HANDLER and state in (S.DISPATCHED, S.ACCEPTED):
            names.append("handler")  # only once the case is assigned to the handler's unit
        elif role == Role.GRID_WORKER:
            names.append("gridworker")
        elif role == Role.LEADER:
            names += ["leader", "street_leader"]
    return names


def prepare(loop: Loop, t: Transition, state: CaseState):
    """A fresh case standing in ``state``, with whatever ``t``'s condition needs."""
    case = loop.report(category="GV0601" if t.condition == "consultation" else "EV0101")
    loop.drive(case, state, satisfaction="unsatisfied" if t.action == "reopen" else "satisfied")
    if t.condition == "extension_pending":
        loop.fire(case, "request_extension", extension_days=3)
    return case


def snapshot(case) -> dict:
    return {f: getattr(case, f) for f in TRACKED}


def expected_changes(loop: Loop, t: Transition, state: CaseState, before: dict, case, now: dt.datetime,
                     params: service.ActionParams) -> dict:
    """What ``t`` must change (everything else must stay as it was), restated from the design."""
    calendar = get_calendar(session=loop.session)
    a = t.action
    if a == "register":
        change = {"registered_at": now, "finish_due_at": working_days_after(now, 5)}
    elif a == "reject":
        change = {"resolution_note": params.note, "closed_at": now}
    elif a == "merge":
        change = {"merged_into_id": params.master_id, "closed_at": now}
    elif a == "answer":
        change = {"registered_at": before["registered_at"] or now, "resolved_at": now, "closed_at": now,
                  "resolution_note": params.note}
    elif a == "handle_on_site":
        change = {"registered_at": now, "resolved_at": now, "self_handled": True, "resolution_note": params.note,
                  "finish_due_at": working_days_after(now, 5)}
    elif a == "dispatch":
        change = {"unit_id": params.unit_id, "dispatched_at": now, "accept_due_at": working_days_after(now, 1)}
    elif a == "accept":
        change = {"accepted_at": now, "accepted_late": False}
    elif a == "return":
        change = {"returns_count": before["returns_count"] + 1, "unit_id": None, "accepted_at": None,
                  "dispatched_at": None, "accept_due_at": None}
    elif a == "resolve":
        change = {"resolved_at": now, "resolution_note": params.note, "resolved_late": False}
    elif a == "request_extension":
        change = {"extension_days_requested": params.extension_days}
    elif a == "approve_extension":
        change = {"extension_days_requested": None, "extensions_count": before["extensions_count"] + 1,
                  "finish_due_at": working_days_after(before["finish_due_at"], 3)}
    elif a == "deny_extension":
        change = {"extension_days_requested": None}
    elif a == "suspend":
        change = {"suspended_at": now,
                  "remaining_seconds": calendar.working_seconds_between(now, before["finish_due_at"])}
    elif a == "resume":
        paused = now - before["suspended_at"]
        # Both instants fall on the same working day, so the deadline moves by the wall-clock pause.
        change = {"suspended_at": None, "remaining_seconds": None,
                  "suspended_seconds": before["suspended_seconds"] + paused.total_seconds(),
                  "finish_due_at": before["finish_due_at"] + paused}
    elif a == "verify":
        change = {"verified_at": now}
    elif a in ("rework", "reopen"):
        change = {"rework_count": before["rework_count"] + 1, "resolved_at": None, "verified_at": None,
                  "resolved_late": None}
    elif a == "callback":
        change = {"satisfaction": params.satisfaction}
    elif a == "close":
        change = {"closed_at": now}
    elif a == "escalate":
        street = loop.world.regions["street1"]
        change = {"desk_path": street.path, "desk_region_id": street.id, "level": RegionLevel.STREET,
                  "escalations_count": before["escalations_count"] + 1, "unit_id": None, "accepted_at": None,
                  "dispatched_at": None}
        if state is not S.REPORTED:
            change["accept_due_at"] = None
    elif a == "supervise":
        change = {"supervision_count": before["supervision_count"] + 1}
    else:
        raise AssertionError(f"no expectation written for {a}: add one")
    return change | {"state": t.target or state}


# Who hears about each action (user names of the world); the rest hear nothing about this case.
NOTIFIED = {
    "handle_on_site": {"operator": "resolved"},
    "dispatch": {"handler": "assigned"},
    "return": {"operator": "returned"},
    "resolve": {"operator": "resolved"},
    "request_extension": {"operator": "extension"},
    "approve_extension": {"handler": "extension"},
    "deny_extension": {"handler": "extension"},
    "rework": {"handler": "rework"},
    "reopen": {"handler": "rework"},
    "escalate": {"street_op": "escalated"},
    "supervise": {"operator": "supervised"},
}


@pytest.mark.parametrize(
    "row", [(t, s, u) for t, s in ROWS for u in allowed_users(t, s)], ids=row_id
)
def test_allowed_actor_fires_the_transition(loop: Loop, row):
    t, state, user = row
    case = prepare(loop, t, state)
    actor = loop.user(user)
    assert t in service.allowed_actions(actor, case), "allowed_actions must offer what transition() accepts"
    before = snapshot(case)
    history_before = len(loop.entries(case))
    heard_before = {name: loop.notifications(name, case) for name in loop.world.users}
    params = loop.params(case, t.action)
    now = loop.tick()

    service.transition(session=loop.session, actor=actor, origin=ORIGIN, case_id=case.id, action=t.action,
                       params=params, now=now)
    loop.session.expire_all()  # read back what was written, not what sits in memory
    case = loop.session.get(type(case), case.id)

    expected = before | expected_changes(loop, t, state, before, case, now, params)
    assert snapshot(case) == expected
    assert case.updated_at == now
    # Exactly one history entry for the case, saying who did what, from where, why.
    entries = loop.entries(case)
    assert len(entries) == history_before + 1
    entry = entries[-1]
    assert (entry.action, entry.from_state, entry.to_state) == (t.action, state.value, (t.target or state).value)
    assert (entry.actor_id, entry.actor_name, entry.note) == (actor.id, actor.display_name, params.note)
    assert (entry.channel, entry.request_id) == (ORIGIN.channel, ORIGIN.request_id)
    assert entry.before["state"] == state.value and entry.after["state"] == case.state.value
    # Notifications: the right people, once; nobody else.
    heard = {name: loop.notifications(name, case) - heard_before[name] for name in loop.world.users}
    told = dict(NOTIFIED.get(t.action, {}))
    if t.action == "supervise" and case.unit_id is not None:
        told["handler"] = "supervised"
    assert {n: c for n, c in heard.items() if c} == {n: 1 for n in told}
    for name, kind in told.items():
        assert loop.notifications(name, case, kind) >= 1


@pytest.mark.parametrize("row", ROWS, ids=row_id)
def test_every_other_role_is_refused(loop: Loop, row):
    t, state = row
    case = prepare(loop, t, state)
    refused = [name for role, name in ROLE_USERS.items() if role not in t.roles]
    assert refused, "every action is closed to some role"
    forbidden_seen = 0
    for name in refused:
        actor = loop.user(name)
        before = snapshot(case)
        history = len(loop.entries(case))
        expected = Forbidden if loop.sees(actor, case) else NotFound
        with pytest.raises(expected) as err:
            loop.fire(case, t.action, by=actor)
        assert err.value.detail_zh and err.value.detail_en
        assert snapshot(case) == before and len(loop.entries(case)) == history
        if expected is Forbidden:
            forbidden_seen += 1
            assert t not in service.allowed_actions(actor, case)
    assert forbidden_seen >= 1  # the admin sees every case and may fire none


@pytest.mark.parametrize("action", ACTIONS)
def test_action_from_a_state_outside_its_sources_is_a_conflict(loop: Loop, action):
    sources = set().union(*(t.sources for t in TRANSITIONS if t.action == action))
    wrong = [s for s in CaseState if s not in sources]
    assert wrong
    for state in wrong:
        case = loop.report(category="GV0601" if action == "answer" else "EV0101")
        loop.drive(case, state)
        before = snapshot(case)
        actor = loop.user(DEFAULT_ACTOR[action])
        if not loop.sees(actor, case):
            actor = loop.user("operator")  # someone who sees it, so the answer is about the state
        with pytest.raises(Conflict) as err:
            loop.fire(case, action, by=actor)
        assert action in err.value.detail_en and "「" in err.value.detail_zh
        assert snapshot(case) == before
        assert find_transition(action, state) is None


@pytest.mark.parametrize("row", [r for r in ROWS if r[0].note_required], ids=row_id)
@pytest.mark.parametrize("note", [None, "", "   \n"])
def test_missing_note_is_invalid_input(loop: Loop, row, note):
    t, state = row
    case = prepare(loop, t, state)
    before = snapshot(case)
    with pytest.raises(InvalidInput) as err:
        loop.fire(case, t.action, by=allowed_users(t, state)[0], note=note)
    assert t.label_zh in err.value.detail_zh and t.label_en in err.value.detail_en
    assert snapshot(case) == before


def test_unknown_action_is_invalid_input(loop: Loop):
    case = loop.report()
    with pytest.raises(InvalidInput) as err:
        loop.fire(case, "teleport", by="operator")
    assert err.value.extra["allowed"] == list(ACTIONS)


# -- conditions -------------------------------------------------------------------------


def test_answer_is_only_for_consultations(loop: Loop):
    case = loop.report(category="EV0101")
    with pytest.raises(Conflict) as err:
        loop.fire(case, "answer")
    assert "咨询" in err.value.detail_zh and "consultation" in err.value.detail_en.lower()
    assert case.state is S.REPORTED
    assert not any(t.action == "answer" for t in service.allowed_actions(loop.user("operator"), case))


@pytest.mark.parametrize("satisfaction", [None, "", "great", "SATISFIED"])
def test_callback_needs_a_known_satisfaction(loop: Loop, satisfaction):
    case = loop.drive(loop.report(), S.VERIFIED)
    with pytest.raises(InvalidInput) as err:
        loop.fire(case, "callback", satisfaction=satisfaction)
    assert err.value.extra["allowed"] == ["satisfied", "basically", "unsatisfied"]
    assert case.state is S.VERIFIED and case.satisfaction is None


@pytest.mark.parametrize("satisfaction", ["satisfied", "basically"])
def test_reopen_only_when_unsatisfied(loop: Loop, satisfaction):
    case = loop.drive(loop.report(), S.CALLED_BACK, satisfaction=satisfaction)
    with pytest.raises(Conflict) as err:
        loop.fire(case, "reopen")
    assert "不满意" in err.value.detail_zh
    assert case.state is S.CALLED_BACK
    loop.fire(case, "close")
    assert case.state is S.CLOSED


def test_escalate_from_the_city_desk_is_refused(loop: Loop):
    case = loop.report()
    for who in ("operator", "street_op", "district_op"):
        loop.fire(case, "escalate", by=who)
    assert case.level is RegionLevel.CITY and case.desk_path == loop.world.regions["city"].path
    assert case.escalations_count == 3
    with pytest.raises(Conflict) as err:
        loop.fire(case, "escalate", by="city_op")
    assert "最高层级" in err.value.detail_zh and "top level" in err.value.detail_en
    assert not any(t.action == "escalate" for t in service.allowed_actions(loop.user("city_op"), case))
    assert case.escalations_count == 3


@pytest.mark.parametrize("master", [None, "self"])
def test_merge_needs_another_case_as_master(loop: Loop, master):
    case = loop.report()
    with pytest.raises(InvalidInput):
        loop.fire(case, "merge", master_id=case.id if master == "self" else None)
    assert case.state is S.REPORTED and case.merged_into_id is None


@pytest.mark.parametrize("master_state", [S.MERGED, S.REJECTED])
def test_merge_into_a_merged_or_rejected_case_is_a_conflict(loop: Loop, master_state):
    master = loop.drive(loop.report(), master_state)
    case = loop.report()
    with pytest.raises(Conflict):
        loop.fire(case, "merge", master_id=master.id)
    assert case.state is S.REPORTED


def test_merge_into_a_case_outside_the_operators_area_is_not_found(loop: Loop):
    elsewhere = loop.report(grid="grid211")
    case = loop.report()
    with pytest.raises(NotFound):
        loop.fire(case, "merge", master_id=elsewhere.id)
    assert case.state is S.REPORTED


def test_dispatch_needs_an_active_unit(loop: Loop):
    case = loop.drive(loop.report(), S.REGISTERED)
    loop.world.units["zhujian"].active = False
    for unit_id in (loop.unit_id("zhujian"), 2**62):
        with pytest.raises(InvalidInput):
            loop.fire(case, "dispatch", unit_id=unit_id)
    assert case.state is S.REGISTERED and case.unit_id is None
    # Without a unit the routing suggestion serves (the community fallback here).
    loop.fire(case, "dispatch", unit_id=None)
    assert case.unit_id == case.suggested_unit_id == loop.unit_id("community11")


@pytest.mark.parametrize("days", [None, 0, -1, 31])
def test_extension_request_needs_1_to_30_working_days(loop: Loop, days):
    case = loop.drive(loop.report(), S.ACCEPTED)
    with pytest.raises(InvalidInput):
        loop.fire(case, "request_extension", extension_days=days)
    assert case.extension_days_requested is None


def test_one_extension_request_at_a_time(loop: Loop):
    case = loop.drive(loop.report(), S.ACCEPTED)
    with pytest.raises(Conflict):
        loop.fire(case, "approve_extension")
    loop.fire(case, "request_extension", extension_days=2)
    with pytest.raises(Conflict) as err:
        loop.fire(case, "request_extension", extension_days=5)
    assert "延期" in err.value.detail_zh
    assert case.extension_days_requested == 2


def test_rework_needs_a_unit_to_send_back_to(loop: Loop):
    case = loop.report()
    loop.fire(case, "handle_on_site")
    assert case.state is S.RESOLVED and case.unit_id is None
    with pytest.raises(Conflict) as err:
        loop.fire(case, "rework")
    assert "承办单位" in err.value.detail_zh
    loop.fire(case, "verify")
    assert case.state is S.VERIFIED


def test_handlers_of_another_unit_cannot_see_the_case(loop: Loop):
    case = loop.drive(loop.report(), S.DISPATCHED)
    with pytest.raises(NotFound):
        loop.fire(case, "accept", by="handler_zj")
    with pytest.raises(NotFound):
        loop.fire(case, "accept", by="community_handler")
    loop.fire(case, "accept", by="handler")
    assert case.state is S.ACCEPTED


def test_operators_of_another_area_get_not_found(loop: Loop):
    case = loop.report()
    for who in ("operator12", "operator21", "street2_op", "gridworker2"):
        with pytest.raises(NotFound):
            loop.fire(case, "register" if who != "gridworker2" else "handle_on_site", by=who)
    assert case.state is S.REPORTED


def test_guard_uses_the_current_desk(loop: Loop):
    # After escalation the community centre still sees the case but no longer owns it.
    case = loop.report()
    loop.fire(case, "escalate", by="gridworker")
    with pytest.raises(Forbidden):
        loop.fire(case, "register", by="operator")
    assert loop.sees(loop.user("operator"), case)
    loop.fire(case, "register", by="street_op")
    assert case.state is S.REGISTERED


# -- allowed_actions (the buttons people see) agrees with transition() exactly -----------------

SCENARIOS = {f"{s.value}": ("EV0101", s, None) for s in sorted(OPEN)} | {
    "consultation-reported": ("GV0601", S.REPORTED, None),
    "consultation-registered": ("GV0601", S.REGISTERED, None),
    "accepted-extension-pending": ("EV0101", S.ACCEPTED, "extension"),
    "called_back-unsatisfied": ("EV0101", S.CALLED_BACK, "unsatisfied"),
    "reported-at-street-desk": ("EV0101", S.REPORTED, "escalated"),
    "accepted-at-street-desk": ("EV0101", S.ACCEPTED, "escalated"),
    "self-handled-resolved": ("EV0101", S.RESOLVED, "on_site"),
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_allowed_actions_match_what_transition_accepts(loop: Loop, scenario):
    category, state, twist = SCENARIOS[scenario]
    case = loop.report(category=category)
    if twist == "on_site":
        loop.fire(case, "handle_on_site")
    elif twist == "escalated" and state is S.REPORTED:
        loop.fire(case, "escalate")
    else:
        loop.drive(case, S.REGISTERED if twist == "escalated" else state,
                   satisfaction="unsatisfied" if twist == "unsatisfied" else "satisfied")
    if twist == "escalated" and state is S.ACCEPTED:
        loop.fire(case, "escalate")
        loop.fire(case, "dispatch", by="street_op")
        loop.fire(case, "accept")
    if twist == "extension":
        loop.fire(case, "request_extension")
    assert case.state is state
    mismatches = []
    for name, user in loop.world.users.items():
        offered = {t.action for t in service.allowed_actions(user, case)} if loop.sees(user, case) else set()
        for action in dict.fromkeys(t.action for t in TRANSITIONS if state in t.sources):
            savepoint = loop.session.begin_nested()
            try:
                loop.fire(case, action, by=user)
                accepted = True
            except (Forbidden, NotFound, Conflict):
                accepted = False
            finally:
                savepoint.rollback()
            if accepted != (action in offered):
                mismatches.append((name, action, "accepted" if accepted else "refused", sorted(offered)))
    assert mismatches == []
