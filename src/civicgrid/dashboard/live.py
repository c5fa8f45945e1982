"""Live counters over server-sent events, safe with several worker processes.

Each process runs one watcher while it has subscribers. About once a second it reads a
cheap change marker from the database — the number and highest id of recent audit
entries (every change to a case writes one, in the same transaction) and the highest case
id — so a change committed by any process is seen by all. When the marker moves (or every
``REFRESH_SECONDS`` anyway, for the turn of the day), it recomputes the counters once per
distinct (scope, region) among its subscribers and pushes them to those whose numbers
changed. A hundred dashboards on one street cost one query per change, not a hundred.

The marker counts the entries above a floor a little behind the highest id rather than
reading the highest id alone: a long transaction that commits a lower id after a higher
one still changes the count.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from civicgrid.audit.models import AuditEntry
from civicgrid.auth.models import Role
from civicgrid.db import unit_of_work, utcnow
from civicgrid.events.models import Case
from civicgrid.regions.models import Region

log = logging.getLogger("civicgrid.dashboard")

POLL_SECONDS = 1.0
REFRESH_SECONDS = 30.0
FLOOR_LAG = 1_000


@dataclass(frozen=True)
class Viewer:
    """The parts of a user the scope rule reads, detached from any session (a stream outlives its request)."""

    id: int
    role: Role
    unit_id: int | None
    scope_path: str
    scope_region_id: int

    @property
    def scope_key(self) -> tuple:
        # Viewers with the same key see the same cases (case_scope depends on these only).
        if self.role == Role.HANDLER:
            return ("unit", self.unit_id)
        if self.role == Role.CITIZEN:
            return ("citizen", self.id)
        return ("area", self.scope_path)


def viewer_of(user) -> Viewer:
    """A detached copy of what the scope rule needs from ``user``."""
    return Viewer(user.id, user.role, user.unit_id, user.scope_path, user.scope_region_id)


@dataclass(eq=False)
class Subscriber:
    viewer: Viewer
    region_id: int
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(maxsize=10))
    last: str | None = None


def read_marker(floor: int) -> tuple[int, int, int]:
    """(entries above ``floor``, highest audit id, highest case id): changes whenever anything commits."""
    with unit_of_work() as session:
        count, top = session.execute(
            select(func.count(AuditEntry.id), func.max(AuditEntry.id)).where(AuditEntry.id > floor)).one()
        top_case = session.scalar(select(func.max(Case.id))) or 0
        return int(count or 0), int(top or floor), int(top_case)


def compute_counters(viewer: Viewer, region_id: int, now: dt.datetime | None = None) -> dict[str, Any]:
    """The dashboard counters for one viewer and region, in a fresh unit of work."""
    from civicgrid.dashboard.service import counters

    with unit_of_work() as session:
        region = session.get(Region, region_id)
        if region is None:
            return {}
        return counters(session=session, actor=viewer, region=region, now=now)  # type: ignore[arg-type]


class Hub:
    """One per process: the watcher and its subscribers."""

    def __init__(self, poll_seconds: float = POLL_SECONDS, autostart: bool = True) -> None:
        self.poll_seconds = poll_seconds
        self.autostart = autostart  # tests drive _poll and fan_out by hand
        self.subscribers: set[Subscriber] = set()
        self._task: asyncio.Task | None = None
        self._floor: int | None = None
        self._marker: tuple | None = None
        self.recomputes = 0  # how many counter computations ran (the fan-out benchmark reads it)

    async def subscribe(self, viewer: Viewer, region_id: int) -> tuple[Subscriber, dict[str, Any]]:
        """Register a subscriber and return it with its first counters."""
        sub = Subscriber(viewer, region_id)
        first = await asyncio.to_thread(compute_counters, viewer, region_id)
        sub.last = json.dumps(first, sort_keys=True)
        self.subscribers.add(sub)
        if self.autostart and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._run())
        return sub, first

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    async def _run(self) -> None:
        last_refresh = asyncio.get_running_loop().time()
        while self.subscribers:
            try:
                changed = await asyncio.to_thread(self._poll)
                now_t = asyncio.get_running_loop().time()
                if changed or now_t - last_refresh >= REFRESH_SECONDS:
                    last_refresh = now_t
                    await self.fan_out()
            except Exception:  # a failed poll must not end the stream; the next one retries
                log.exception("dashboard live poll failed")
            await asyncio.sleep(self.poll_seconds)
        self._task = None

    def _poll(self) -> bool:
        if self._floor is None:
            with unit_of_work() as session:
                top = session.scalar(select(func.max(AuditEntry.id))) or 0
            self._floor = max(top - FLOOR_LAG, 0)
        marker = read_marker(self._floor)
        if marker[1] - self._floor > 5 * FLOOR_LAG:
            self._floor = marker[1] - FLOOR_LAG  # keep the counted window small
            marker = read_marker(self._floor)
            self._marker = None  # a new floor changes the count: recompute once
        changed = marker != self._marker
        self._marker = marker
        return changed

    async def fan_out(self) -> int:
        """Recompute the counters once per distinct (scope, region) and push the changed ones; returns pushes."""
        groups: dict[tuple, list[Subscriber]] = {}
        for sub in list(self.subscribers):
            groups.setdefault((sub.viewer.scope_key, sub.region_id), []).append(sub)
        pushed = 0
        now = utcnow()
        for (_, region_id), subs in groups.items():
            data = await asyncio.to_thread(compute_counters, subs[0].viewer, region_id, now)
            self.recomputes += 1
            text = json.dumps(data, sort_keys=True)
            for sub in subs:
                if text != sub.last:
                    sub.last = text
                    if sub.queue.full():
                        sub.queue.get_nowait()  # a slow reader gets the newest numbers, not a backlog
                    sub.queue.put_nowait(data)
                    pushed += 1
        return pushed


hub = Hub()


def sse(event: str, data: Any) -> str:
    """One server-sent event."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
