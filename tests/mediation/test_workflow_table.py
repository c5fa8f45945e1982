"""The dispute and petition workflow tables, checked as data (no database): labels in both
languages, every state reachable, every open state has a way out, conditions declared."""

from __future__ import annotations

import re
from collections import deque

import pytest

from civicgrid.auth.models import Role
from civicgrid.errors import Conflict, Forbidden, InvalidInput
from civicgrid.mediation.flowtable import FlowTable, step
from civicgrid.mediation.workflow import WORKFLOW as DISPUTES, Guard as DisputeGuard
from civicgrid.petitions.workflow import WORKFLOW as PETITIONS, Guard as PetitionGuard

CJK = re.compile(r"[\u4e00-\u9fff]")
TABLES = {"dispute": (DISPUTES, DisputeGuard), "petition": (PETITIONS, PetitionGuard)}


def reachable(table: FlowTable, start) -> set:
    seen, queue = {start}, deque([start])
    while queue:
        state = queue.popleft()
        for s in table.steps_from(state):
            target = s.target or state
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


@pytest.mark.parametrize("name", TABLES)
def test_every_state_and_action_has_both_labels(name):
    table, _ = TABLES[name]
    for state in table.states:
        zh, en = table.labels[state]
        assert CJK.search(zh) and en.isascii() and en.strip(), state
    for s in table.steps:
        assert CJK.search(s.label_zh) and s.label_en.isascii(), s.action
    zh_labels = [zh for zh, _ in table.labels.values()]
    assert len(set(zh_labels)) == len(zh_labels), "two states share a Chinese label"


@pytest.mark.parametrize("name", TABLES)
def test_every_state_is_reachable_from_registration(name):
    table, _ = TABLES[name]
    first = list(table.states)[0]
    assert reachable(table, first) == set(table.states)


@pytest.mark.parametrize("name", TABLES)
def test_every_open_state_has_a_way_forward_and_terminal_states_are_final(name):
    table, _ = TABLES[name]
    for state in table.open:
        assert any(s.target is not None and s.target != state for s in table.steps_from(state)), state
    for state in table.terminal:
        assert all(s.target is None for s in table.steps_from(state)), state


@pytest.mark.parametrize("name", TABLES)
def test_guards_and_roles_are_declared(name):
    table, guards = TABLES[name]
    for s in table.steps:
        assert s.guard in set(guards), s.action
        assert s.roles and s.roles <= set(Role), s.action
        assert Role.CITIZEN not in s.roles and Role.GRID_WORKER not in s.roles
        assert s.condition is None or s.condition in table.conditions


@pytest.mark.parametrize("name", TABLES)
def test_one_row_per_action_and_state(name):
    table, _ = TABLES[name]
    pairs = [(s.action, state) for s in table.steps for state in s.sources]
    assert len(pairs) == len(set(pairs))


def test_disputes_reach_an_outcome_only_after_a_session():
    for action in ("agree", "agree_partial", "fail"):
        s = DISPUTES.find(action, DISPUTES.states("mediating"))
        assert s is not None and s.condition == "sessions_held"


def test_check_refuses_in_the_order_a_person_can_act_on():
    from civicgrid.mediation.workflow import DisputeState as S

    ok = lambda _: True  # noqa: E731
    with pytest.raises(InvalidInput):
        DISPUTES.check(action="fly", state=S.REGISTERED, role=Role.OPERATOR, guard_ok=ok, condition_ok=ok, note=None)
    with pytest.raises(Conflict):
        DISPUTES.check(action="agree", state=S.REGISTERED, role=Role.OPERATOR, guard_ok=ok, condition_ok=ok,
                       note=None)
    with pytest.raises(Forbidden):
        DISPUTES.check(action="assess", state=S.REGISTERED, role=Role.LEADER, guard_ok=ok, condition_ok=ok,
                       note=None)
    with pytest.raises(Forbidden):
        DISPUTES.check(action="assess", state=S.REGISTERED, role=Role.OPERATOR, guard_ok=lambda _: False,
                       condition_ok=ok, note=None)
    with pytest.raises(Conflict) as refused:
        DISPUTES.check(action="close", state=S.FOLLOWING_UP, role=Role.OPERATOR, guard_ok=ok,
                       condition_ok=lambda c: c is None, note=None)
    assert "履行" in refused.value.detail_zh
    with pytest.raises(InvalidInput):
        DISPUTES.check(action="decline", state=S.REGISTERED, role=Role.OPERATOR, guard_ok=ok, condition_ok=ok,
                       note="  ")
    assert DISPUTES.check(action="decline", state=S.REGISTERED, role=Role.OPERATOR, guard_ok=ok,
                          condition_ok=ok, note="不属于民间纠纷").action == "decline"


def test_a_table_naming_an_undeclared_condition_is_refused():
    from civicgrid.mediation.workflow import DisputeState as S

    with pytest.raises(ValueError):
        FlowTable(name_zh="测试", name_en="test", states=S, labels={}, terminal=frozenset(), conditions={},
                  steps=(step("x", {S.REGISTERED}, None, {Role.OPERATOR}, "desk", "测", "x", condition="nope"),))
