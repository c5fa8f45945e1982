"""Hand-built case histories (KPI, dashboard and report tests): cases with exactly the timestamps a test names."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from civicgrid.audit.models import AuditEntry
from civicgrid.events.models import Case, Channel, RequestType
from civicgrid.events.workflow import CaseState

SH = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int = 10, minute: int = 0, month: int = 11, year: int = 2026) -> dt.datetime:
    """A local (Shanghai) instant in November 2026 by default."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=SH)


class CaseMaker:
    """``make(state=..., received=..., ...)`` inserts one case in a grid of the test world."""

    def __init__(self, session, world) -> None:
        self.session = session
        self.world = world
        self.n = 0

    def __call__(self, *, state: CaseState = CaseState.CLOSED, grid: str = "grid111", unit: str | None = None,
                 category: str | None = None, reporter: str | None = None, **fields) -> Case:
        self.n += 1
        region = self.world.regions[grid]
        cat = self.world.categories[category] if category else next(
            c for c in self.world.categories.values() if c.parent_id is not None)
        received = fields.pop("received", at(2))
        c = Case(
            number=f"T{self.n:06d}", channel=fields.pop("channel", Channel.HOTLINE), category_id=cat.id,
            request_type=cat.request_type or RequestType.HELP, title=f"case {self.n}", description="d",
            region_id=region.id, region_path=region.path, grid_id=region.id, level=region.level,
            desk_region_id=region.parent_id, desk_path=region.path.rsplit("/", 2)[0] + "/", state=state,
            unit_id=self.world.units[unit].id if unit else None,
            reporter_user_id=self.world.users[reporter].id if reporter else None,
            received_at=received, **{k.removesuffix("_"): v for k, v in fields.items()},
        )
        self.session.add(c)
        self.session.flush()
        return c

    def event(self, case: Case, action: str, when: dt.datetime, *, unit: str | None = None) -> AuditEntry:
        """A history entry (dispatch names the unit in ``after``, return in ``before``)."""
        unit_id = self.world.units[unit].id if unit else None
        entry = AuditEntry(entity="case", entity_id=str(case.id), action=action, at=when, actor_name="t",
                           channel="test",
                           after={"unit_id": unit_id} if action == "dispatch" else None,
                           before={"unit_id": unit_id} if action == "return" else None)
        self.session.add(entry)
        self.session.flush()
        return entry


@pytest.fixture
def make(session, world) -> CaseMaker:
    return CaseMaker(session, world)
