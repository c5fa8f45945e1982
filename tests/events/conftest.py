"""Fixtures for the case-loop tests: cheap password hashing, and ``loop`` — a driver that
reports cases, fires actions on a virtual clock and walks the workflow table to any state."""

from __future__ import annotations

import datetime as dt
from collections import deque
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from civicgrid.audit.models import AuditEntry
from civicgrid.audit.service import Origin
from civicgrid.auth import passwords
from civicgrid.auth.models import Role, User
from civicgrid.events import service
from civicgrid.events.intake import intake_case
from civicgrid.events.models import Case, Channel, RequestType
from civicgrid.events.schemas import CaseCreate
from civicgrid.events.workflow import CaseState, Transition, transitions_from
from civicgrid.notifications.models import Notification

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Monday that is an ordinary working day; the virtual clock starts here.
T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
STEP = dt.timedelta(hours=1)
ORIGIN = Origin("test", request_id="req-test")

# Who fires each action by default on a case reported in grid111 (desk: community11).
DEFAULT_ACTOR = {
    "register": "operator", "reject": "operator", "merge": "operator", "answer": "operator",
    "handle_on_site": "gridworker", "dispatch": "operator", "accept": "handler", "return": "handler",
    "resolve": "handler", "request_extension": "handler", "approve_extension": "operator",
    "deny_extension": "operator", "suspend": "operator", "resume": "operator", "verify": "operator",
    "rework": "operator", "callback": "operator", "reopen": "operator", "close": "operator",
    "escalate": "operator", "supervise": "street_op",
}
# The actions the path-finder may use to bring a case to a state (the others are what we test).
DRIVING = ("register", "reject", "merge", "answer", "dispatch", "accept", "resolve", "suspend", "verify",
           "callback", "close")


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    """Argon2id with minimal cost: the world has 16 users and the real parameters take ~0.3 s each."""
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


def nth_working_day(start: dt.date, n: int) -> dt.date:
    """The n-th working day strictly after ``start``, by chinese_calendar alone (independent of our calendar)."""
    d = start
    while n:
        d += dt.timedelta(days=1)
        if chinese_calendar.is_workday(d):
            n -= 1
    return d


def working_days_after(instant: dt.datetime, n: int) -> dt.datetime:
    """``instant`` (on a working day) plus n working days: same local time on the n-th working day after."""
    local = instant.astimezone(SHANGHAI)
    assert chinese_calendar.is_workday(local.date()), "expectations assume a start on a working day"
    day = nth_working_day(local.date(), n)
    return dt.datetime.combine(day, local.time(), tzinfo=SHANGHAI)


def path_to(start: CaseState, goal: CaseState, *, consultation: bool) -> list[Transition]:
    """A shortest walk over the workflow table from ``start`` to ``goal`` using the driving actions."""
    prev: dict[CaseState, tuple[CaseState, Transition] | None] = {start: None}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        if state is goal:
            break
        for t in transitions_from(state):
            if t.action not in DRIVING or t.target is None or t.target in prev:
                continue
            if t.condition == "consultation" and not consultation:
                continue
            prev[t.target] = (state, t)
            queue.append(t.target)
    if goal not in prev:
        raise AssertionError(f"the table has no walk from {start} to {goal}")
    walk: list[Transition] = []
    state = goal
    while prev[state] is not None:
        state, t = prev[state]
        walk.append(t)
    return walk[::-1]


class Loop:
    """Drives cases through the loop with the world's users on a virtual clock."""

    def __init__(self, session, world):
        self.session = session
        self.world = world
        self.now = T0

    # -- people and places ---------------------------------------------------------

    def user(self, name: str | User) -> User:
        return name if isinstance(name, User) else self.world.users[name]

    def unit_id(self, key: str) -> int:
        return self.world.units[key].id

    @staticmethod
    def sees(user: User, case: Case) -> bool:
        """The visibility rule, restated independently of events/scope.py."""
        if user.role == Role.HANDLER:
            return user.unit_id is not None and case.unit_id == user.unit_id
        if user.role == Role.CITIZEN:
            return case.reporter_user_id == user.id
        return case.region_path.startswith(user.scope_path)

    # -- reporting -----------------------------------------------------------------

    def report(self, *, category: str = "EV0101", grid: str = "grid111", by: str = "citizen",
               description: str = "小区门口垃圾堆积多日无人清理，气味很大", **fields) -> Case:
        """Report a case at the centre of ``grid`` (a citizen uses the citizen portal)."""
        actor = self.user(by)
        lat, lon = self.world.grid_point(grid)
        fields.setdefault("channel", Channel.CITIZEN_WEB if actor.role == Role.CITIZEN else Channel.OPERATOR)
        data = CaseCreate(category_code=category, description=description, lat=lat, lon=lon, **fields)
        case, created = intake_case(session=self.session, actor=actor, origin=ORIGIN, data=data)
        assert created
        return case

    # -- firing --------------------------------------------------------------------

    def tick(self, step: dt.timedelta = STEP) -> dt.datetime:
        self.now = self.now + step
        return self.now

    def params(self, case: Case, action: str, **given) -> service.ActionParams:
        """Sensible parameters for ``action``; anything given overrides them."""
        defaults: dict = {"note": f"{action} 说明"}
        if action == "dispatch":
            defaults["unit_id"] = self.unit_id("chengguan")
        elif action == "callback":
            defaults["satisfaction"] = "satisfied"
        elif action == "request_extension":
            defaults["extension_days"] = 3
        elif action == "merge":
            if "master_id" not in given:
                master = self.report(category=case.category.code, grid=self.grid_key(case))
                defaults["master_id"] = master.id
        defaults.update(given)
        return service.ActionParams(**defaults)

    def grid_key(self, case: Case) -> str:
        return next(k for k, r in self.world.regions.items() if r.id == case.region_id)

    def fire(self, case: Case, action: str, *, by: str | User | None = None, at: dt.datetime | None = None,
             **given) -> Case:
        """Fire ``action`` through ``service.transition`` as ``by`` (default: the usual actor)."""
        actor = self.user(by or DEFAULT_ACTOR[action])
        params = self.params(case, action, **given)
        return service.transition(session=self.session, actor=actor, origin=ORIGIN, case_id=case.id,
                                  action=action, params=params, now=at or self.tick())

    def drive(self, case: Case, goal: CaseState, *, satisfaction: str = "satisfied") -> Case:
        """Walk the table from the case's state to ``goal`` with the default actors."""
        consultation = case.request_type == RequestType.CONSULTATION
        for t in path_to(case.state, goal, consultation=consultation):
            extra = {"satisfaction": satisfaction} if t.action == "callback" else {}
            self.fire(case, t.action, **extra)
        assert case.state is goal
        return case

    # -- reading back --------------------------------------------------------------

    def entries(self, case: Case) -> list[AuditEntry]:
        return list(self.session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "case", AuditEntry.entity_id == str(case.id))
            .order_by(AuditEntry.id)
        ))

    def notifications(self, user: str, case: Case, kind: str | None = None) -> int:
        stmt = select(func.count(Notification.id)).where(
            Notification.user_id == self.user(user).id, Notification.case_id == case.id)
        if kind:
            stmt = stmt.where(Notification.kind == kind)
        return self.session.scalar(stmt) or 0


@pytest.fixture
def loop(session, world) -> Loop:
    return Loop(session, world)


def add_working_time(start: dt.datetime, seconds: float) -> dt.datetime:
    """``start`` plus ``seconds`` of working time, walking day by day over chinese_calendar."""
    cur = start.astimezone(SHANGHAI)
    remaining = dt.timedelta(seconds=seconds)
    while True:
        day_end = dt.datetime.combine(cur.date() + dt.timedelta(days=1), dt.time(), tzinfo=SHANGHAI)
        if chinese_calendar.is_workday(cur.date()):
            if remaining <= day_end - cur:
                return cur + remaining
            remaining -= day_end - cur
        cur = day_end


def working_time_between(a: dt.datetime, b: dt.datetime) -> float:
    """Seconds of working time from ``a`` to ``b``, walking day by day over chinese_calendar."""
    cur, end, total = a.astimezone(SHANGHAI), b.astimezone(SHANGHAI), dt.timedelta()
    while cur < end:
        day_end = dt.datetime.combine(cur.date() + dt.timedelta(days=1), dt.time(), tzinfo=SHANGHAI)
        if chinese_calendar.is_workday(cur.date()):
            total += min(day_end, end) - cur
        cur = day_end
    return total.total_seconds()
