"""The demo's case history: walked through the real workflow (small) or bulk-written (city).

``walk_history`` reports each case through ``intake_case`` and fires every step with
``transition()`` at the instant it "happened" (deadlines, lateness and audit entries follow
from those instants), to varied end states: most closed with a satisfaction rating, some
still in progress, some overdue, some returned, reworked, escalated, merged or rejected.

``bulk_history`` writes a million such cases with SQLAlchemy Core ``insert()`` in batches:
the same distributions and the same deadline arithmetic (``due_after`` on the working-day
calendar), consistent states and timestamps, but no audit entries or notifications.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from sqlalchemy import event, func, insert, inspect, select, text
from sqlalchemy.orm import Session

from civicgrid.audit.models import AuditEntry
from civicgrid.audit.service import Origin
from civicgrid.auth.models import User
from civicgrid.calendar.service import get_calendar
from civicgrid.calendar.workdays import WorkCalendar
from civicgrid.db import utcnow
from civicgrid.demo.geography import random_points_in
from civicgrid.demo.seed import DemoCity
from civicgrid.demo.texts import Place, describe, reporter_name, reporter_phone
from civicgrid.errors import DomainError
from civicgrid.events.deadlines import DeadlineSpec, category_specs, due_after
from civicgrid.events.intake import intake_case
from civicgrid.events.models import Case, Category, Channel, RequestType, Urgency
from civicgrid.events.routing import route
from civicgrid.events.scheduler import scan_deadlines
from civicgrid.events.schemas import CaseCreate
from civicgrid.events.search import document_terms
from civicgrid.events.service import ActionParams, transition
from civicgrid.events.workflow import CaseState
from civicgrid.notifications.models import Notification
from civicgrid.regions.geometry import geometry_from_geojson
from civicgrid.regions.models import Region
from civicgrid.settings import get_settings

H = dt.timedelta(hours=1)

# How often each category class is reported (a city's hotline mix: street order and
# city appearance dominate, emergencies are rare). Split evenly among the class's leaves.
CLASS_WEIGHTS = {
    "EV01": 18, "EV02": 5, "EV03": 7, "EV04": 16, "EV05": 2, "CP01": 6, "CP02": 5, "CP03": 2, "CP04": 5,
    "GV01": 7, "GV02": 2, "GV03": 6, "GV04": 3, "GV05": 1, "GV06": 5, "GV07": 5, "GV08": 3, "GV09": 2,
}
CHANNEL_WEIGHTS = {
    Channel.GRID_APP: 38, Channel.HOTLINE: 30, Channel.CITIZEN_WEB: 9, Channel.POLICE_110: 5, Channel.OPERATOR: 5,
    Channel.VIDEO_AI: 5, Channel.IOT: 2, Channel.PETITION: 3, Channel.DEPT_IMPORT: 3,
}
# Cameras see rubbish, vendors and parking; sensors see smoke, gas, manholes and pipes.
VIDEO_CLASSES = {"EV01", "EV02", "EV04"}
IOT_LEAVES = {"EV0502", "EV0503", "EV0504", "GV0302"}
# Small matters a grid worker settles on the spot (就地处置).
ON_SITE_CLASSES = {"EV01", "EV02", "EV04", "CP03", "GV01"}
# Reports that come with a reporter's name and phone.
PERSON_CHANNELS = {Channel.HOTLINE, Channel.CITIZEN_WEB, Channel.POLICE_110, Channel.PETITION, Channel.OPERATOR}
# Local hour of day a report arrives (hotlines and patrols are daytime work).
HOUR_WEIGHTS = np.array([1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 12, 9, 10, 12, 13, 12, 11, 9, 8, 7, 5, 3, 2], float)


def leaf_weights(categories: dict[str, Category]) -> tuple[list[Category], np.ndarray]:
    """Active leaf categories and their report probabilities."""
    leaves = [c for c in categories.values() if c.parent_id is not None and c.active and c.code[:4] in CLASS_WEIGHTS]
    leaves.sort(key=lambda c: c.code)
    per_class = Counter(c.code[:4] for c in leaves)
    weights = np.array([CLASS_WEIGHTS[c.code[:4]] / per_class[c.code[:4]] for c in leaves], float)
    return leaves, weights / weights.sum()


def received_times(n: int, days: int, now: dt.datetime, rng: np.random.Generator, tz: ZoneInfo) -> np.ndarray:
    """``n`` report instants (UTC epoch seconds, sorted) over the past ``days``, weighted to daytime."""
    today = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    day = rng.integers(0, days, n)
    hour = rng.choice(24, n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    seconds = rng.uniform(0, 3600, n)
    stamps = today.timestamp() - day * 86400.0 + hour * 3600.0 + seconds
    # Today's reports cannot be later than now; push them back a day.
    stamps = np.where(stamps > now.timestamp() - 600, stamps - 86400.0, stamps)
    return np.sort(stamps)


def _channel_for(category: Category, rng: np.random.Generator) -> Channel:
    channels = list(CHANNEL_WEIGHTS)
    weights = np.array(list(CHANNEL_WEIGHTS.values()), float)
    channel = channels[int(rng.choice(len(channels), p=weights / weights.sum()))]
    if channel == Channel.VIDEO_AI and category.code[:4] not in VIDEO_CLASSES:
        return Channel.GRID_APP
    if channel == Channel.IOT and category.code not in IOT_LEAVES:
        return Channel.HOTLINE
    return channel


def _urgency(category: Category, rng: np.random.Generator) -> Urgency:
    if category.request_type == RequestType.EMERGENCY:
        return Urgency.EMERGENCY
    return [Urgency.LOW, Urgency.NORMAL, Urgency.NORMAL, Urgency.NORMAL, Urgency.HIGH][int(rng.integers(5))]


class HistoryClock:
    """Stamps audit entries and notifications written by the walk with the instant they happened.

    Services stamp them with the wall clock; a history walked today would otherwise show
    every step of the past 90 days as "today" in every timeline and inbox.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.at: dt.datetime | None = None

    def _stamp(self, session, _context, _instances) -> None:
        if self.at is None:
            return
        for obj in session.new:
            if isinstance(obj, AuditEntry) and obj.at is None:
                obj.at = self.at
            elif isinstance(obj, Notification) and obj.created_at is None:
                obj.created_at = self.at
                # Old notifications are read; only the last days' ones wait in inboxes.
                if utcnow() - self.at > dt.timedelta(days=3):
                    obj.read_at = self.at + H
            elif isinstance(obj, Case) and obj.updated_at is None:
                obj.updated_at = self.at

    def __enter__(self) -> HistoryClock:
        event.listen(self.session, "before_flush", self._stamp)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.session, "before_flush", self._stamp)


@dataclass
class _Plan:
    """How one case's story goes (drawn up front so the walk reads as a script)."""

    duplicate_of: int | None = None
    reject: bool = False
    on_site: bool = False
    escalate: bool = False
    return_first: bool = False
    stuck: bool = False
    extension: bool = False
    suspend: bool = False
    rework: bool = False
    satisfaction: str = "satisfied"
    reopen: bool = False


def _plan(category: Category, channel: Channel, rng: np.random.Generator) -> _Plan:
    r = rng.random(12)
    plan = _Plan(
        reject=r[0] < 0.03,
        on_site=channel == Channel.GRID_APP and category.code[:4] in ON_SITE_CLASSES and r[1] < 0.35,
        escalate=r[2] < 0.04,
        return_first=r[3] < 0.07,
        stuck=r[4] < 0.05,
        extension=r[5] < 0.05,
        suspend=r[6] < 0.02,
        rework=r[7] < 0.06,
        satisfaction="satisfied" if r[8] < 0.78 else "basically" if r[8] < 0.94 else "unsatisfied",
        reopen=r[9] < 0.5,
    )
    return plan


def walk_history(
    *,
    session: Session,
    city: DemoCity,
    n: int,
    rng: np.random.Generator,
    days: int = 90,
    now: dt.datetime | None = None,
    log: Callable[[str], None] = lambda _msg: None,
) -> int:
    """Report ``n`` cases over the past ``days`` and walk each through the workflow; returns how many."""
    now = now or utcnow()
    tz = ZoneInfo(get_settings().timezone)
    leaves, p_leaf = leaf_weights(city.categories)
    grids = city.grids
    population = np.array([g.population or 1 for g in grids], float)
    grid_idx = rng.choice(len(grids), n, p=population / population.sum())
    leaf_idx = rng.choice(len(leaves), n, p=p_leaf)
    stamps = received_times(n, days, now, rng, tz)
    # About 2 % are repeat reports of an event reported shortly before (same grid and category).
    duplicate_of: dict[int, int] = {}
    for i in np.flatnonzero(rng.random(n) < 0.02):
        j = int(i) - int(rng.integers(1, 30))
        if j >= 0 and j not in duplicate_of and stamps[i] - stamps[j] < 3 * 86400:
            duplicate_of[int(i)] = j
            grid_idx[i], leaf_idx[i] = grid_idx[j], leaf_idx[j]
    points: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for g in np.unique(grid_idx):
        count = int((grid_idx == g).sum())
        points[int(g)] = random_points_in(geometry_from_geojson(grids[int(g)].geometry), count, rng)
    taken: Counter[int] = Counter()

    walker = _Walker(session=session, city=city, now=now, rng=rng)
    ids: list[int] = []
    t0 = time.perf_counter()
    with HistoryClock(session) as clock:
        walker.clock = clock
        for i in range(n):
            g = int(grid_idx[i])
            k = taken[g]
            taken[g] += 1
            lon, lat = float(points[g][0][k]), float(points[g][1][k])
            received = dt.datetime.fromtimestamp(float(stamps[i]), dt.UTC)
            category = leaves[int(leaf_idx[i])]
            master = ids[duplicate_of[i]] if i in duplicate_of else None
            ids.append(walker.walk(i, grids[g], category, lon, lat, received, master))
            if (i + 1) % 500 == 0:
                log(f"  {i + 1:,} / {n:,} 条 cases ({(i + 1) / (time.perf_counter() - t0):.0f}/s)")
        clock.at = now
        walker.recent_reports()
        walker.supervise_overdue()
    return n


class _Walker:
    """Walks one case at a time through ``transition()``, as the people of the demo city would."""

    def __init__(self, *, session: Session, city: DemoCity, now: dt.datetime, rng: np.random.Generator) -> None:
        self.session = session
        self.city = city
        self.now = now
        self.rng = rng
        self.clock: HistoryClock | None = None

    def _hours(self, low: float, high: float) -> dt.timedelta:
        # Log-uniform: most steps are quick, a few take much longer.
        return dt.timedelta(hours=float(np.exp(self.rng.uniform(np.log(low), np.log(high)))))

    def walk(self, i: int, grid: Region, category: Category, lon: float, lat: float, received: dt.datetime,
             master_id: int | None) -> int:
        """Report one case and take it as far as its plan and the present allow; returns its id."""
        city, rng = self.city, self.rng
        community = city.community_of(grid)
        street = city.region(community.parent_id)
        district = city.region(street.parent_id)
        channel = _channel_for(category, rng)
        words = describe(category.code, Place(district.name_zh, street.name_zh, community.name_zh, grid.name_zh), rng)
        person = channel in PERSON_CHANNELS
        data = CaseCreate(
            channel=channel, category_code=category.code, title=words.title, description=words.description,
            lat=lat, lon=lon, address=words.address, urgency=_urgency(category, rng),
            reporter_name=reporter_name(rng) if person else None,
            reporter_phone=reporter_phone(rng) if person else None,
            received_at=received, client_key=f"demo-{i:07d}",
        )
        assert self.clock is not None
        self.clock.at = received
        operator = city.operators[community.id]
        case, _ = intake_case(session=self.session, actor=operator, origin=Origin(channel.value), data=data)
        plan = _plan(category, channel, rng)
        self._story(case, plan, received, master_id, words.resolution)
        return case.id

    def _story(self, case: Case, plan: _Plan, t: dt.datetime, master_id: int | None, resolution: str) -> None:
        city = self.city
        desk = city.operators[case.desk_region_id]
        worker = city.grid_workers.get(case.grid_id) if case.grid_id else None
        state = {"t": t}

        def step(actor: User, action: str, delay: dt.timedelta, **params) -> bool:
            at = state["t"] + delay
            if at >= self.now:
                return False  # the story has not got that far yet
            state["t"] = at
            assert self.clock is not None
            self.clock.at = at
            transition(session=self.session, actor=actor, origin=Origin("demo"), case_id=case.id, action=action,
                       params=ActionParams(**params), now=at)
            return True

        master = self.session.get(Case, master_id) if master_id is not None else None
        if master is not None and master.state not in (CaseState.MERGED, CaseState.REJECTED):
            step(desk, "merge", self._hours(0.2, 4), master_id=master_id, note="重复反映，合并办理")
            return
        if plan.reject:
            step(desk, "reject", self._hours(0.2, 4), note="经核实不属于受理范围，已告知反映人")
            return
        if case.request_type == RequestType.CONSULTATION:
            step(desk, "answer", self._hours(0.1, 6), note=resolution)
            return
        if plan.on_site and worker is not None:
            if not step(worker, "handle_on_site", self._hours(0.1, 2), note=resolution):
                return
            self._verify_and_close(case, plan, step, desk, desk, resolution)
            return
        if not step(desk, "register", self._hours(0.05, 3)):
            return
        if plan.escalate:
            if not step(desk, "escalate", self._hours(0.2, 6), note="涉及多个部门，需街道统筹协调"):
                return
            desk = city.operators[case.desk_region_id]
        if not step(desk, "dispatch", self._hours(0.05, 2)):
            return
        handler = city.handlers.get(case.unit_id)
        if handler is None:
            return
        if plan.return_first:
            if not step(handler, "return", self._hours(0.5, 10), note="经核实不属于本单位职责，请重新派遣"):
                return
            # Re-dispatch to the community's own unit, or to the street office if that was the one.
            community = city.region(case.region_id) if case.grid_id is None else city.community_of(city.region(case.grid_id))
            fallback = city.community_units[community.id]
            if fallback.id == case.suggested_unit_id:
                fallback = city.street_units[community.parent_id]
            if not step(desk, "dispatch", self._hours(0.2, 4), unit_id=fallback.id):
                return
            handler = city.handlers[fallback.id]
        if not step(handler, "accept", self._hours(0.2, 30)):
            return
        if plan.stuck:
            return  # nobody finishes it: the scheduler will find it overdue
        if plan.extension:
            if not step(handler, "request_extension", self._hours(4, 72), extension_days=int(self.rng.integers(2, 8)),
                        note="需协调产权单位，申请延期"):
                return
            if not step(desk, "approve_extension", self._hours(0.5, 8)):
                return
        if plan.suspend:
            if not step(desk, "suspend", self._hours(2, 24), note="等待天气好转后施工"):
                return
            if not step(desk, "resume", self._hours(24, 120)):
                return
        work = self._hours(1, 10) if case.request_type == RequestType.EMERGENCY else self._hours(3, 200)
        if not step(handler, "resolve", work, note=resolution):
            return
        self._verify_and_close(case, plan, step, desk, worker or desk, resolution, handler)

    def _verify_and_close(self, case, plan: _Plan, step, desk: User, checker: User, resolution: str,
                          handler: User | None = None) -> None:
        if plan.rework and handler is not None:
            if not step(checker, "rework", self._hours(2, 30), note="现场核查发现未整改到位，退回返工"):
                return
            if not step(handler, "resolve", self._hours(4, 72), note=f"已按要求返工。{resolution}"):
                return
        if not step(checker, "verify", self._hours(1, 30)):
            return
        if not step(desk, "callback", self._hours(1, 48), satisfaction=plan.satisfaction):
            return
        if plan.satisfaction == "unsatisfied" and plan.reopen and handler is not None:
            if not step(desk, "reopen", self._hours(0.5, 8), note="反映人对处理结果不满意，重新办理"):
                return
            if not step(handler, "resolve", self._hours(4, 96), note=f"已重新处置。{resolution}"):
                return
            if not step(checker, "verify", self._hours(1, 24)):
                return
            if not step(desk, "callback", self._hours(1, 24), satisfaction="basically"):
                return
        step(desk, "close", self._hours(0.1, 8))

    def recent_reports(self) -> None:
        """A few reports made just now by the showcase citizen and grid worker (they wait in inboxes)."""
        city = self.city
        grid = city.region(city.showcase["gridworker"].scope_region_id)
        community = city.community_of(grid)
        street = city.region(community.parent_id)
        place = Place(city.district_of(grid).name_zh, street.name_zh, community.name_zh, grid.name_zh)
        lons, lats = random_points_in(geometry_from_geojson(grid.geometry), 6, self.rng)
        for k, (who, channel, code) in enumerate([
            ("citizen", Channel.CITIZEN_WEB, "EV0402"), ("citizen", Channel.CITIZEN_WEB, "CP0101"),
            ("citizen", Channel.CITIZEN_WEB, "GV0303"), ("gridworker", Channel.GRID_APP, "EV0101"),
            ("gridworker", Channel.GRID_APP, "GV0301"), ("gridworker", Channel.GRID_APP, "EV0401"),
        ]):
            words = describe(code, place, self.rng)
            data = CaseCreate(channel=channel, category_code=code, title=words.title, description=words.description,
                              lat=float(lats[k]), lon=float(lons[k]), address=words.address,
                              client_key=f"demo-recent-{k}")
            intake_case(session=self.session, actor=city.showcase[who], origin=Origin(channel.value), data=data)

    def supervise_overdue(self) -> None:
        """Run the real deadline scan, then have the city leader supervise some overdue cases (督办)."""
        while True:
            result = scan_deadlines(session=self.session, now=self.now)
            if not (result.overdue or result.due_soon or result.accept_overdue):
                break
        leader = self.city.showcase["leader"]
        overdue = self.session.scalars(
            select(Case.id).where(Case.overdue.is_(True), Case.state.not_in(
                [CaseState.CLOSED, CaseState.REJECTED, CaseState.MERGED])).order_by(Case.id)
        ).all()
        for case_id in overdue[::3]:
            try:
                transition(session=self.session, actor=leader, origin=Origin("demo"), case_id=case_id,
                           action="supervise", params=ActionParams(note="请加快办理，按期办结"), now=self.now)
            except DomainError:
                continue  # e.g. a case escalated to the city desk has no level above to supervise


def state_counts(*, session: Session) -> dict[str, int]:
    """Cases per state (for the demo's summary)."""
    rows = session.execute(select(Case.state, func.count()).group_by(Case.state)).all()
    return {state.value: n for state, n in sorted(rows, key=lambda r: -r[1])}


def overdue_count(*, session: Session) -> int:
    """Open cases flagged overdue."""
    return session.scalar(select(func.count()).select_from(Case).where(
        Case.overdue.is_(True), Case.state.not_in([CaseState.CLOSED, CaseState.REJECTED, CaseState.MERGED]))) or 0


# ---------------------------------------------------------------------------------------
# City scale: Core inserts in batches
# ---------------------------------------------------------------------------------------


class _DeadlineCache:
    """``due_after`` on epoch seconds, memoised per local date.

    On a working day the deadline is the same local time N working days on, so its offset
    depends only on the date; a start on a day off counts from the next working day, so its
    deadline is a fixed instant. The zone's offset is taken as fixed (Asia/Shanghai has no
    daylight saving).
    """

    def __init__(self, calendar: WorkCalendar, tz: ZoneInfo, now: dt.datetime) -> None:
        self.calendar = calendar
        self.offset = now.astimezone(tz).utcoffset().total_seconds()  # type: ignore[union-attr]
        self._memo: dict[tuple[int, DeadlineSpec], tuple[bool, float]] = {}

    def due(self, start: float, spec: DeadlineSpec) -> float:
        """The deadline ``spec`` after ``start`` (epoch seconds)."""
        if spec.unit == "minutes":
            return start + spec.amount * 60
        if spec.unit == "hours":
            return start + spec.amount * 3600
        day = int((start + self.offset) // 86400)
        hit = self._memo.get((day, spec))
        if hit is None:
            instant = dt.datetime.fromtimestamp(start, dt.UTC)
            due = due_after(self.calendar, instant, spec)[0].timestamp()
            local_day = dt.date(1970, 1, 1) + dt.timedelta(days=day)
            relative = self.calendar.is_workday(local_day)
            hit = (relative, due - start if relative else due)
            self._memo[(day, spec)] = hit
        relative, value = hit
        return start + value if relative else value


class _BulkWriter:
    """``insert(case)`` compiled once and run as a driver-level executemany with ready values.

    SQLAlchemy's per-parameter type processing (UTC datetimes, enums) cost more than the
    database's own work for a million rows, so values arrive already in storage form:
    naive-UTC datetimes (ISO text on SQLite), enum names, plain ints for booleans on SQLite.
    """

    def __init__(self, session: Session) -> None:
        self.connection = session.connection()
        dialect = self.connection.dialect
        self.sqlite = dialect.name == "sqlite"
        compiled = insert(Case.__table__).compile(dialect=dialect)
        self.sql = str(compiled)
        self.columns = [c.name for c in Case.__table__.columns]
        self.order = list(compiled.positiontup) if compiled.positional else None  # type: ignore[arg-type]
        if self.sqlite:
            # A bigger page cache keeps the case indexes in memory while they are built.
            self.connection.exec_driver_sql("PRAGMA cache_size=-262144")
        self.dropped: list = []

    def drop_indexes_if_empty(self, session: Session) -> None:
        """On an empty case table, drop the secondary indexes to rebuild them once after the load.

        Maintaining eight B-tree indexes row by row made inserts ~4x slower than the bare
        table (measured: 6,400 vs 26,800 rows/s on SQLite); one sorted build at the end is
        far cheaper. A table that already holds cases keeps its indexes untouched.
        """
        if session.scalar(select(Case.id).limit(1)) is not None:
            return
        # Only what the migrations created: an index declared in the models but not yet
        # migrated is left alone (a migration will create it).
        existing = {ix["name"] for ix in inspect(self.connection).get_indexes(Case.__tablename__)}
        for index in sorted(Case.__table__.indexes, key=lambda i: i.name or ""):
            if index.name in existing:
                index.drop(self.connection)
                self.dropped.append(index)

    def restore_indexes(self) -> None:
        """Recreate what ``drop_indexes_if_empty`` dropped, then refresh the planner's statistics."""
        for index in self.dropped:
            index.create(self.connection)
        self.dropped.clear()
        # After a bulk load the planner's row estimates are stale (or absent on SQLite).
        self.connection.exec_driver_sql('ANALYZE "case"')

    def time(self, epoch: float | None):
        """A stored UTC instant from epoch seconds."""
        if epoch is None:
            return None
        naive = _EPOCH + dt.timedelta(seconds=epoch)
        return naive.isoformat(sep=" ", timespec="microseconds") if self.sqlite else naive

    def write(self, rows: list[dict]) -> None:
        """Insert ``rows`` (dicts keyed by column name) in one executemany."""
        if self.order is not None:
            params = [tuple(row[c] for c in self.order) for row in rows]
        else:
            params = rows
        self.connection.exec_driver_sql(self.sql, params)  # type: ignore[arg-type]


_EPOCH = dt.datetime(1970, 1, 1)


def bulk_history(
    *,
    session: Session,
    city: DemoCity,
    n: int,
    rng: np.random.Generator,
    days: int = 365,
    batch: int = 20_000,
    now: dt.datetime | None = None,
    log: Callable[[str], None] = lambda _msg: None,
) -> int:
    """Write ``n`` historical cases in batches of ``batch`` rows; returns how many rows were written.

    Ids are assigned in order of the report time, as live intake would, so case numbers,
    merges (into an earlier case of the same grid) and the time indexes all grow together.
    """
    now = now or utcnow()
    settings = get_settings()
    tz = ZoneInfo(settings.timezone)
    deadlines = _DeadlineCache(get_calendar(session=session), tz, now)
    writer = _BulkWriter(session)
    leaves, p_leaf = leaf_weights(city.categories)
    specs = [category_specs(c) for c in leaves]
    grids = city.grids
    g_community = [city.community_of(g) for g in grids]
    g_district = [city.district_of(g) for g in grids]
    population = np.array([g.population or 1 for g in grids], float)
    decisions = _route_table(session, city, leaves)
    pools = _text_pools(leaves, rng)
    last_in_grid: dict[int, int] = {}
    channels = list(CHANNEL_WEIGHTS)
    p_channel = np.array(list(CHANNEL_WEIGHTS.values()), float)
    p_channel /= p_channel.sum()
    offset = deadlines.offset
    soon = settings.due_soon_hours * 3600.0
    ctx = _RowContext(now=now.timestamp(), soon=soon, deadlines=deadlines, writer=writer)

    writer.drop_indexes_if_empty(session)
    all_stamps = received_times(n, days, now, rng, tz)
    first_id = (session.scalar(select(func.max(Case.id))) or 0) + 1
    t_start = time.perf_counter()
    written = 0
    while written < n:
        m = min(batch, n - written)
        stamps = all_stamps[written:written + m]
        gi = rng.choice(len(grids), m, p=population / population.sum())
        li = rng.choice(len(leaves), m, p=p_leaf)
        ci = rng.choice(len(channels), m, p=p_channel)
        lons, lats = _points_in_grids(grids, gi, rng)
        u = rng.random((m, 10))
        # Step durations in seconds, log-uniform like the walk's.
        low = np.log([0.05, 0.05, 0.2, 3, 1, 1, 0.1])
        high = np.log([3, 2, 30, 200, 30, 48, 8])
        d = np.exp(rng.uniform(low, high, (m, 7))) * 3600.0
        pool_pick = rng.integers(0, 1 << 30, m)
        rows = []
        for k in range(m):
            case_id = first_id + written + k
            g = int(gi[k])
            grid, community, district = grids[g], g_community[g], g_district[g]
            category = leaves[int(li[k])]
            channel = channels[int(ci[k])]
            if channel == Channel.VIDEO_AI and category.code[:4] not in VIDEO_CLASSES:
                channel = Channel.GRID_APP
            elif channel == Channel.IOT and category.code not in IOT_LEAVES:
                channel = Channel.HOTLINE
            pool = pools[category.code]
            description, title, resolution = pool[int(pool_pick[k]) % len(pool)]
            base = community.name_zh.removesuffix("社区").removesuffix("村")
            unit_id, rule_id, reason = decisions[(category.id, district.id)]
            if unit_id is None:
                unit_id = city.community_units[community.id].id
                reason = f"无匹配规则，由所在社区 {community.name_zh} 兜底办理"
            received = float(stamps[k])
            local_day = dt.date(1970, 1, 1) + dt.timedelta(days=int((received + offset) // 86400))
            person = channel in PERSON_CHANNELS
            title = title.replace("\x01社区", community.name_zh).replace("\x01", base)
            description = description.replace("\x01社区", community.name_zh).replace("\x01", base)
            address = f"{district.name_zh}{community.name_zh}"
            row = {
                "id": case_id, "number": f"{local_day:%Y%m%d}{case_id:07d}", "channel": channel.name,
                "idempotency_key": None, "category_id": category.id, "request_type": category.request_type.name,
                "urgency": "EMERGENCY" if category.request_type == RequestType.EMERGENCY else "NORMAL",
                "title": title, "description": description, "address": address,
                "search_terms": document_terms(title, address, description), "lat": float(lats[k]), "lon": float(lons[k]),
                "location_status": "inside", "grid_id": grid.id, "region_id": grid.id, "region_path": grid.path,
                "level": community.level.name, "desk_region_id": community.id, "desk_path": community.path,
                "suggested_unit_id": unit_id, "routing_rule_id": rule_id, "routing_reason": reason,
                "reporter_name": f"{'王李张刘陈杨黄赵吴周'[case_id % 10]}{'先生' if case_id % 2 else '女士'}" if person else None,
                "reporter_phone": f"1990000{case_id % 10_000:04d}" if person else None,
                "reporter_user_id": None, "external_token": None,
            }
            _story_row(row, ctx, received=received, category=category, spec=specs[int(li[k])], channel=channel,
                       unit_id=unit_id, u=u[k], d=d[k], resolution=resolution, master=last_in_grid.get(grid.id),
                       street_desk=city.region(community.parent_id))
            last_in_grid[grid.id] = case_id
            rows.append(row)
        writer.write(rows)
        written += m
        rate = written / (time.perf_counter() - t_start)
        log(f"  {written:,} / {n:,} 条 rows ({rate:,.0f} rows/s)")
    if writer.dropped:
        started = time.perf_counter()
        writer.restore_indexes()
        log(f"  重建索引 indexes rebuilt in {time.perf_counter() - started:.1f} s")
    _advance_sequence(session)
    return written


@dataclass
class _RowContext:
    """What every row of a bulk run shares: the present, the due-soon window, deadlines, the writer."""

    now: float
    soon: float
    deadlines: _DeadlineCache
    writer: _BulkWriter


def _story_row(row: dict, ctx: _RowContext, *, received: float, category: Category, spec, channel: Channel,
               unit_id: int, u: np.ndarray, d: np.ndarray, resolution: str, master: int | None,
               street_desk: Region) -> None:
    """Fill the state columns of one row: the stages it reached by now, with stamps and deadlines."""
    accept_spec, finish_spec = spec
    S = CaseState
    st: dict = {
        "state": S.REPORTED, "unit_id": None, "registered_at": None, "dispatched_at": None, "accepted_at": None,
        "resolved_at": None, "verified_at": None, "closed_at": None, "accept_due_at": None, "finish_due_at": None,
        "extensions_count": 0, "rework_count": 0, "escalations_count": 0, "self_handled": False,
        "accepted_late": None, "resolved_late": None, "overdue": False, "due_soon": False, "accept_overdue": False,
        "satisfaction": None, "resolution_note": None, "merged_into_id": None,
    }
    t = received
    now = ctx.now

    def reached(delay: float) -> float | None:
        nonlocal t
        if t + delay >= now:
            return None
        t += delay
        return t

    def still_open() -> None:
        # Open cases past their deadline carry the flags the scheduler would have set.
        due = st["finish_due_at"]
        st["overdue"] = due is not None and due <= now
        st["due_soon"] = due is not None and not st["overdue"] and due <= now + ctx.soon

    def finish() -> None:
        w = ctx.writer
        for key in ("registered_at", "dispatched_at", "accepted_at", "resolved_at", "verified_at", "closed_at",
                    "accept_due_at", "finish_due_at"):
            st[key] = w.time(st[key])
        st["state"] = st["state"].name
        if w.sqlite:
            for key in ("self_handled", "overdue", "due_soon", "accept_overdue", "accepted_late", "resolved_late"):
                if st[key] is not None:
                    st[key] = int(st[key])
        row.update(st)
        row.update(received_at=w.time(received), updated_at=w.time(t), calendar_note=None, suspended_at=None,
                   remaining_seconds=None, suspended_seconds=0.0, extension_days_requested=None,
                   returns_count=0, supervision_count=0)

    _story_stages(st, reached, still_open, ctx, received=received, category=category, accept_spec=accept_spec,
                         finish_spec=finish_spec, channel=channel, unit_id=unit_id, u=u, d=d, resolution=resolution,
                         master=master, street_desk=street_desk, row=row)
    finish()


def _story_stages(st, reached, still_open, ctx, *, received, category, accept_spec, finish_spec, channel, unit_id,
                  u, d, resolution, master, street_desk, row) -> bool:
    """Walk one row's stages until ``now``; True if the story ended (closed, merged, rejected)."""
    S = CaseState
    due = ctx.deadlines.due
    # Repeat reports, rejections and consultations end at the desk.
    if u[0] < 0.015 and master is not None:
        if (at := reached(d[0])) is not None:
            st.update(state=S.MERGED, merged_into_id=master, closed_at=at)
        return True
    if u[0] < 0.045:
        if (at := reached(d[0])) is not None:
            st.update(state=S.REJECTED, closed_at=at, resolution_note="经核实不属于受理范围，已告知反映人")
        return True
    if category.request_type == RequestType.CONSULTATION:
        if (at := reached(d[0])) is not None:
            st.update(state=S.CLOSED, registered_at=at, resolved_at=at, closed_at=at, resolution_note=resolution)
        return True
    on_site = channel == Channel.GRID_APP and category.code[:4] in ON_SITE_CLASSES and u[1] < 0.35
    if (at := reached(d[0])) is None:
        return False
    if on_site:
        st.update(state=S.RESOLVED, registered_at=at, resolved_at=at, self_handled=True,
                  finish_due_at=due(at, finish_spec), resolved_late=False, resolution_note=resolution)
    else:
        st.update(state=S.REGISTERED, registered_at=at, finish_due_at=due(at, finish_spec))
        if u[2] < 0.04:
            # Escalated to the street centre (上报) before dispatch.
            row.update(level=street_desk.level.name, desk_region_id=street_desk.id, desk_path=street_desk.path)
            st["escalations_count"] = 1
        if (at := reached(d[1])) is None:
            still_open()
            return False
        accept_due = due(at, accept_spec) if accept_spec is not None else None
        st.update(state=S.DISPATCHED, dispatched_at=at, unit_id=unit_id, accept_due_at=accept_due)
        if (at := reached(d[2])) is None:
            st["accept_overdue"] = accept_due is not None and accept_due <= ctx.now
            still_open()
            return False
        st.update(state=S.ACCEPTED, accepted_at=at, accepted_late=accept_due is not None and at > accept_due)
        if u[4] < 0.03:
            still_open()  # stuck: nobody finishes it
            return False
        if u[5] < 0.05:
            st["extensions_count"] = 1
            st["finish_due_at"] = due(st["finish_due_at"], DeadlineSpec(2 + int(u[6] * 6), "working_days"))
        work = d[3] if category.request_type != RequestType.EMERGENCY else d[3] / 20
        if (at := reached(work)) is None:
            still_open()
            return False
        st.update(state=S.RESOLVED, resolved_at=at, resolution_note=resolution,
                  resolved_late=at > st["finish_due_at"])
        if u[7] < 0.06:
            st["rework_count"] = 1
            if (at := reached(d[4] * 2)) is None:
                return False
            st.update(resolved_at=at, resolution_note=f"已按要求返工。{resolution}")
    if (at := reached(d[4])) is None:
        return False
    st.update(state=S.VERIFIED, verified_at=at)
    if (at := reached(d[5])) is None:
        return False
    st.update(state=S.CALLED_BACK,
              satisfaction="satisfied" if u[8] < 0.78 else "basically" if u[8] < 0.94 else "unsatisfied")
    if (at := reached(d[6])) is None:
        return False
    st.update(state=S.CLOSED, closed_at=at)
    return True


def _points_in_grids(grids: list[Region], gi: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A uniformly random point inside each chosen grid (vectorised rejection sampling)."""
    geoms = _grid_geoms(grids)
    chosen = geoms[gi]
    bounds = shapely.bounds(chosen)
    lons = np.empty(len(gi))
    lats = np.empty(len(gi))
    todo = np.arange(len(gi))
    while todo.size:
        b = bounds[todo]
        xs = rng.uniform(b[:, 0], b[:, 2])
        ys = rng.uniform(b[:, 1], b[:, 3])
        ok = shapely.contains_xy(chosen[todo], xs, ys)
        lons[todo[ok]], lats[todo[ok]] = xs[ok], ys[ok]
        todo = todo[~ok]
    return lons, lats


# Parsed, prepared grid polygons of the current bulk run (parsing 10,000 polygons per batch
# would cost more than sampling the points).
_GEOMS: dict[int, np.ndarray] = {}


def _grid_geoms(grids: list[Region]) -> np.ndarray:
    """The grids' polygons as a prepared Shapely array, parsed once per list of grids."""
    key = id(grids)
    if key not in _GEOMS:
        _GEOMS.clear()
        geoms = np.array([geometry_from_geojson(g.geometry) for g in grids], dtype=object)
        shapely.prepare(geoms)
        _GEOMS[key] = geoms
    return _GEOMS[key]


def _route_table(session: Session, city: DemoCity, leaves: list[Category]) -> dict:
    """(category id, district id) → (unit id or None for the community fallback, rule id, reason)."""
    table = {}
    for district in city.districts:
        sample = next(g for g in city.grids if g.path.startswith(district.path))
        for category in leaves:
            decision = route(session=session, category=category, region_path=sample.path)
            if decision.rule_id is None:
                table[(category.id, district.id)] = (None, None, decision.reason)
            else:
                table[(category.id, district.id)] = (decision.unit_id, decision.rule_id, decision.reason)
    return table


def _text_pools(leaves: list[Category], rng: np.random.Generator, size: int = 200) -> dict[str, list]:
    """Per category, ``size`` generated texts with the community left as a placeholder (\\x01)."""
    place = Place("", "", "\x01社区", "")
    pools = {}
    for category in leaves:
        pool = []
        for _ in range(size):
            words = describe(category.code, place, rng)
            pool.append((words.description, words.title, words.resolution))
        pools[category.code] = pool
    return pools


def _advance_sequence(session: Session) -> None:
    """Explicit ids leave PostgreSQL's id sequence behind; move it past them so intake keeps working."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(
            "SELECT setval(pg_get_serial_sequence('\"case\"', 'id'), (SELECT coalesce(max(id), 1) FROM \"case\"))"
        ))
