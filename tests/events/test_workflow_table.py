"""The declared workflow table, checked as data: no database, no service (STYLE.md rule 5)."""

from __future__ import annotations

import re
from collections import deque

import pytest

from civicgrid.auth.models import Role
from civicgrid.events.workflow import (
    ACTIONS,
    CLOCK_RUNNING,
    OPEN,
    STATE_LABELS,
    TERMINAL,
    TRANSITIONS,
    CaseState,
    Clock,
    Guard,
    Transition,
    action_labels,
    find_transition,
    transitions_from,
)

CJK = re.compile(r"[\u4e00-\u9fff]")
# Conditions the service knows how to check (case-dependent ones in _condition_holds,
# parameter ones when the action fires). A new name here needs code in service.py.
KNOWN_CONDITIONS = {
    "master_case", "consultation", "unit", "extension_days", "extension_pending",
    "has_unit", "satisfaction", "unsatisfied", "level_above",
}


def reachable_from(start: CaseState) -> dict[CaseState, list[str]]:
    """Every state reachable from ``start`` by walking the table, with a shortest action path."""
    paths = {start: []}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        for t in transitions_from(state):
            target = t.target or state
            if target not in paths:
                paths[target] = paths[state] + [t.action]
                queue.append(target)
    return paths


@pytest.mark.parametrize("state", list(CaseState))
def test_every_state_has_a_chinese_and_an_english_label(state):
    zh, en = STATE_LABELS[state]
    assert CJK.search(zh), f"{state}: Chinese label {zh!r} has no Chinese"
    assert en.strip() and en.isascii(), f"{state}: English label {en!r}"


def test_state_labels_are_distinct():
    zh = [z for z, _ in STATE_LABELS.values()]
    en = [e for _, e in STATE_LABELS.values()]
    assert len(set(zh)) == len(zh) == len(CaseState)
    assert len(set(en)) == len(en)


@pytest.mark.parametrize("t", TRANSITIONS, ids=lambda t: f"{t.action}-{'+'.join(sorted(t.sources))}")
def test_every_transition_is_well_formed(t: Transition):
    assert t.sources, "a transition needs at least one source state"
    assert all(isinstance(s, CaseState) for s in t.sources)
    assert t.target is None or isinstance(t.target, CaseState)
    assert t.roles and all(isinstance(r, Role) for r in t.roles)
    assert isinstance(t.guard, Guard)
    assert t.clock is None or isinstance(t.clock, Clock)
    assert t.condition is None or t.condition in KNOWN_CONDITIONS
    assert CJK.search(t.label_zh) and t.label_en.strip() and t.label_en.isascii()
    assert not (t.sources & TERMINAL), "nothing leaves a terminal state"
    # Citizens and admins never fire workflow actions; leaders only supervise.
    assert Role.CITIZEN not in t.roles and Role.ADMIN not in t.roles
    if Role.LEADER in t.roles:
        assert t.action == "supervise"


def test_each_action_state_pair_is_unique():
    seen: dict[tuple[str, CaseState], Transition] = {}
    for t in TRANSITIONS:
        for s in t.sources:
            assert (t.action, s) not in seen, f"{t.action} from {s} is declared twice"
            seen[(t.action, s)] = t
    # find_transition answers exactly the declared pairs.
    for action in ACTIONS:
        for s in CaseState:
            assert (find_transition(action, s) is not None) == ((action, s) in seen)


def test_rows_of_one_action_share_their_labels():
    for action in ACTIONS:
        labels = {(t.label_zh, t.label_en) for t in TRANSITIONS if t.action == action}
        assert labels == {action_labels(action)}


@pytest.mark.parametrize("state", sorted(TERMINAL))
def test_terminal_states_have_no_outgoing_transitions(state):
    assert transitions_from(state) == []
    assert all(find_transition(a, state) is None for a in ACTIONS)


def test_terminal_and_open_partition_the_states():
    assert TERMINAL | OPEN == set(CaseState)
    assert not TERMINAL & OPEN
    assert CLOCK_RUNNING <= OPEN


def test_every_state_is_reachable_from_reported():
    paths = reachable_from(CaseState.REPORTED)
    assert set(paths) == set(CaseState), f"unreachable: {set(CaseState) - set(paths)}"
    assert paths[CaseState.CLOSED]  # closing takes at least one step


def test_every_action_is_reachable():
    reachable = reachable_from(CaseState.REPORTED)
    for action in ACTIONS:
        sources = set().union(*(t.sources for t in TRANSITIONS if t.action == action))
        assert sources & set(reachable), f"{action} can never fire"


@pytest.mark.parametrize("state", sorted(OPEN))
def test_every_open_state_can_still_end(state):
    # No dead ends: from any open state some walk reaches a terminal state.
    assert TERMINAL & set(reachable_from(state)), f"a case in {state} can never end"


@pytest.mark.parametrize("state", sorted(OPEN))
def test_every_open_state_can_be_supervised(state):
    t = find_transition("supervise", state)
    assert t is not None and t.target is None and t.guard is Guard.HIGHER


def test_the_main_loop_is_declared_in_order():
    path = [
        ("register", CaseState.REGISTERED), ("dispatch", CaseState.DISPATCHED), ("accept", CaseState.ACCEPTED),
        ("resolve", CaseState.RESOLVED), ("verify", CaseState.VERIFIED), ("callback", CaseState.CALLED_BACK),
        ("close", CaseState.CLOSED),
    ]
    state = CaseState.REPORTED
    for action, target in path:
        t = find_transition(action, state)
        assert t is not None and t.target is target, f"{action} from {state}"
        state = target


def test_clock_effects_match_their_transitions():
    clocks = {(t.action, t.clock) for t in TRANSITIONS if t.clock is not None}
    assert ("register", Clock.START_FINISH) in clocks
    assert ("handle_on_site", Clock.START_FINISH) in clocks
    assert ("dispatch", Clock.START_ACCEPT) in clocks
    assert ("accept", Clock.STOP_ACCEPT) in clocks
    assert ("suspend", Clock.PAUSE) in clocks and ("resume", Clock.RESUME) in clocks
    assert ("approve_extension", Clock.EXTEND) in clocks and ("resolve", Clock.STOP) in clocks
    # Every clock effect is used by some transition (otherwise it is dead code in deadlines.py).
    assert {c for _, c in clocks} == set(Clock)
    # A suspended case's clock is paused: suspension is not a running state, resumption returns to one.
    assert CaseState.SUSPENDED not in CLOCK_RUNNING
    assert find_transition("resume", CaseState.SUSPENDED).target in CLOCK_RUNNING


def test_state_changing_actions_that_end_or_send_back_need_a_note():
    for t in TRANSITIONS:
        if t.action in {"reject", "return", "resolve", "suspend", "rework", "reopen", "escalate", "supervise",
                        "answer", "handle_on_site", "request_extension", "deny_extension"}:
            assert t.note_required, f"{t.action} must carry a reason"


def test_escalation_is_possible_only_before_resolution():
    sources = set().union(*(t.sources for t in TRANSITIONS if t.action == "escalate"))
    assert sources == {CaseState.REPORTED, CaseState.REGISTERED, CaseState.DISPATCHED, CaseState.ACCEPTED}
    assert find_transition("escalate", CaseState.REPORTED).target is CaseState.REPORTED
    for s in sources - {CaseState.REPORTED}:
        t = find_transition("escalate", s)
        assert t.target is CaseState.REGISTERED and t.clock is Clock.CLEAR_ACCEPT
