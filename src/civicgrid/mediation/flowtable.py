"""A workflow declared as data, for any domain: states, steps, roles, guards, conditions.

The case loop (``events/workflow.py``) set the shape: one table of transitions, each with
its source states, target, the roles that may fire it, the relation the actor must stand
in (a *guard*), an optional named *condition* and whether a note is required. Disputes
and petitions declare their own tables with :class:`Step` and read them only through a
:class:`FlowTable`, whose :meth:`FlowTable.check` gives the same bilingual refusals
everywhere. Domain code supplies what guards and conditions mean (two callables), fires
the effects and writes the audit entry in its single ``transition()``.

This module is generic on purpose (nothing here knows disputes); it is a candidate to
move to ``civicgrid/workflow.py`` and carry the case table too.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from civicgrid.auth.models import Role
from civicgrid.errors import Conflict, Forbidden, InvalidInput

S = TypeVar("S", bound=enum.Enum)


@dataclass(frozen=True)
class Step(Generic[S]):
    """One row of a workflow table."""

    action: str
    sources: frozenset[S]
    target: S | None  # None: the state does not change (a recorded step such as a session)
    roles: frozenset[Role]
    guard: str
    label_zh: str
    label_en: str
    note_required: bool = False
    # A named extra condition; the domain's service says what each name means.
    condition: str | None = None
    # A named clock effect (what the step does to deadlines), read by the domain's service.
    clock: str | None = None


def step(action: str, sources: Iterable[S], target: S | None, roles: Iterable[Role], guard: str,
         zh: str, en: str, **kw) -> Step[S]:
    """A table row, with sets given as any iterable."""
    return Step(action, frozenset(sources), target, frozenset(roles), guard, zh, en, **kw)


class FlowTable(Generic[S]):
    """A declared workflow: the only reader of its steps."""

    def __init__(self, *, name_zh: str, name_en: str, states: type[S], labels: dict[S, tuple[str, str]],
                 terminal: frozenset[S], steps: tuple[Step[S], ...],
                 conditions: dict[str, tuple[str, str]]) -> None:
        self.name_zh, self.name_en = name_zh, name_en
        self.states = states
        self.labels = labels
        self.terminal = terminal
        self.open = frozenset(states) - terminal
        self.steps = steps
        self.actions: tuple[str, ...] = tuple(dict.fromkeys(s.action for s in steps))
        # Each condition's refusal message (zh, en); a step may only name a listed condition.
        self.conditions = conditions
        unknown = {s.condition for s in steps if s.condition} - set(conditions)
        if unknown:
            raise ValueError(f"conditions without a message: {sorted(unknown)}")

    def find(self, action: str, state: S) -> Step[S] | None:
        """The row for ``action`` fired from ``state``, if there is one."""
        for s in self.steps:
            if s.action == action and state in s.sources:
                return s
        return None

    def steps_from(self, state: S) -> list[Step[S]]:
        """Every row whose sources include ``state``, in table order."""
        return [s for s in self.steps if state in s.sources]

    def action_label(self, action: str) -> tuple[str, str]:
        """The Chinese and English label of an action."""
        s = next(s for s in self.steps if s.action == action)
        return s.label_zh, s.label_en

    def allowed(self, *, state: S, role: Role, guard_ok: Callable[[str], bool],
                condition_ok: Callable[[str | None], bool]) -> list[Step[S]]:
        """The steps a user with ``role`` (standing as ``guard_ok`` says) may fire now."""
        return [s for s in self.steps_from(state)
                if role in s.roles and guard_ok(s.guard) and condition_ok(s.condition)]

    def check(self, *, action: str, state: S, role: Role, guard_ok: Callable[[str], bool],
              condition_ok: Callable[[str | None], bool], note: str | None) -> Step[S]:
        """The step to fire, or the refusal a person can act on (unknown, wrong state, role, condition, note)."""
        if action not in self.actions:
            raise InvalidInput(f"未知操作 {action}", f"Unknown action {action}", allowed=list(self.actions))
        s = self.find(action, state)
        zh_state, en_state = self.labels[state]
        if s is None:
            zh_action, en_action = self.action_label(action)
            raise Conflict(f"{self.name_zh}当前状态为「{zh_state}」，不能「{zh_action}」",
                           f"The {self.name_en} is '{en_state}'; '{en_action}' is not possible now")
        if role not in s.roles or not guard_ok(s.guard):
            raise Forbidden(f"您无权对此{self.name_zh}执行「{s.label_zh}」",
                            f"You may not '{s.label_en}' this {self.name_en}")
        if not condition_ok(s.condition):
            raise Conflict(*self.conditions[s.condition or ""])
        if s.note_required and not (note and note.strip()):
            raise InvalidInput(f"「{s.label_zh}」需要填写说明", f"'{s.label_en}' needs a note")
        return s
