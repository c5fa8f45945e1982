"""Case tallies (事件统计台账): exact running counts behind the KPIs and the dashboard.

A case *contributes* to a few rows: for each KPI cohort it is in (received, registered, due,
resolved, closed — each on the local day of its timestamp — and, while it is open, the open
cohort) it adds 1 to the cohort's count and 1 to each condition it meets (docs/kpis.md), in
two ledgers:

* ``area`` — by the street (or the coarser region) it is located in, all units together;
* ``unit`` — by the unit it is assigned to, within its district;
* ``unitm`` — by unit within its street, per calendar month (the key's day is the 1st): unit
  rankings are asked for whole months, and a city's month is otherwise tens of thousands of
  unit-days;
* ``trend`` — reports received per day within their district, by category (cohort ``rcat``,
  ``unit_id`` holding the category id) and by channel (``rchan``, ``unit_id`` holding the
  channel's number in ``CHANNEL_NUMBERS``): the dashboard's 30-day trends.

Dispatch and return events (counted from the history, not the case) add one row each, on
the day of the event, for the unit the event names.

Every write of a case writes the difference between its old and new contributions as new
rows, in the same flush (mapper events below), so the tallies are exact at every commit
without locking a shared counter row. Readers sum the rows; ``compact()`` (a periodic job)
merges the rows of each key into one. ``rebuild()`` recomputes everything from the cases
(after a bulk load, or when the registration limit changes).

``assessment/kpis.py`` reads the tallies for whole past days when the question fits a
ledger (see ``ledger_for``) and the cases themselves otherwise, and for today: "overdue"
needs the current instant, and today's figures are few.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, event, func, insert, select, tuple_, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper, Session, object_session
from sqlalchemy.orm.attributes import NO_VALUE, get_history

from civicgrid.audit.models import AuditEntry
from civicgrid.db import utcnow
from civicgrid.events.models import Case, CaseTally, CaseTallyMeta, Channel
from civicgrid.events.workflow import OPEN, CaseState
from civicgrid.settings import get_settings

AREA, UNIT, UNIT_MONTH, TREND = "area", "unit", "unitm", "trend"
LEDGERS = (AREA, UNIT, UNIT_MONTH)
BY_UNIT = {UNIT, UNIT_MONTH}
# Path segments kept: /city/district/street/ for areas and unit-months, /city/district/ for the rest.
LEDGER_DEPTH = {AREA: 3, UNIT: 2, UNIT_MONTH: 3, TREND: 2}
# A channel's number in the trend ledger: append new channels at the end, never reorder.
CHANNEL_NUMBERS = {channel.value: number for number, channel in enumerate(Channel)}
CHANNEL_BY_NUMBER = {number: value for value, number in CHANNEL_NUMBERS.items()}
# The open cohort has no day; its rows carry this one.
OPEN_DAY = dt.date(1970, 1, 1)
DEFAULT_REGISTER_LIMIT_MINUTES = 120

# Counter columns, in table order; ``handling_seconds`` is a float sum, the rest are counts.
COUNTERS = (
    "n", "registered_on_time", "registered_inaccurate", "self_handled", "deferred", "closed_now",
    "closed_on_time", "handled_on_time", "resolved_late", "unresolved", "reworked", "extended", "rated",
    "satisfied", "overdue_now", "handling_seconds",
)
_INDEX = {name: i for i, name in enumerate(COUNTERS)}

# The case columns a contribution reads: a change to any other column changes no tally.
INPUTS = (
    "region_path", "unit_id", "state", "received_at", "registered_at", "finish_due_at", "resolved_at",
    "closed_at", "self_handled", "rework_count", "extensions_count", "satisfaction", "suspended_seconds",
    "overdue", "category_id", "channel",
)
SATISFIED = ("satisfied", "basically")
EVENT_COHORTS = {"dispatch": "dispatch", "return": "return"}

Key = tuple[str, str, dt.date, str, int]  # ledger, cohort, day, area_path, unit_id


def area_of(path: str, ledger: str) -> str:
    """The first segments of a region path kept by ``ledger`` (the whole path if it is shorter)."""
    parts = [p for p in path.split("/") if p][: LEDGER_DEPTH[ledger]]
    return "/" + "/".join(parts) + "/"


def path_depth(path: str) -> int:
    return len([p for p in path.split("/") if p])


# ---------------------------------------------------------------------------------------
# Contributions: the Python reading of the predicates in assessment/kpis.py
# ---------------------------------------------------------------------------------------


def contributions(case: Mapping, *, limit_minutes: int, tz: ZoneInfo) -> dict[Key, list[float]]:
    """The rows a case with these column values adds, in every ledger."""
    state = case["state"]
    state = CaseState(state) if state is not None else None

    def day(instant: dt.datetime) -> dt.date:
        return instant.astimezone(tz).date()

    cohorts: list[tuple[str, dt.date, dict[str, float]]] = []
    received, registered = case["received_at"], case["registered_at"]
    due, resolved, closed = case["finish_due_at"], case["resolved_at"], case["closed_at"]
    suspended = state == CaseState.SUSPENDED
    if received is not None:
        cohorts.append(("received", day(received), {}))
    if registered is not None:
        on_time = received is not None and (registered - received).total_seconds() <= limit_minutes * 60 + 0.001
        cohorts.append(("registered", day(registered), {
            "registered_on_time": on_time, "registered_inaccurate": state == CaseState.MERGED,
            "self_handled": bool(case["self_handled"])}))
    if due is not None and state != CaseState.MERGED:
        by_deadline = resolved is not None and resolved <= due
        cohorts.append(("due", day(due), {
            "deferred": suspended, "closed_now": state == CaseState.CLOSED,
            "closed_on_time": state == CaseState.CLOSED and by_deadline,
            "handled_on_time": not suspended and by_deadline,
            "resolved_late": not suspended and resolved is not None and resolved > due,
            "unresolved": not suspended and resolved is None}))
    if resolved is not None:
        counters: dict[str, float] = {"reworked": (case["rework_count"] or 0) > 0,
                                      "extended": (case["extensions_count"] or 0) > 0}
        if registered is not None:
            counters["handling_seconds"] = ((resolved - registered).total_seconds()
                                            - float(case["suspended_seconds"] or 0.0))
        cohorts.append(("resolved", day(resolved), counters))
    if closed is not None and state == CaseState.CLOSED:
        cohorts.append(("closed", day(closed), {
            "rated": case["satisfaction"] is not None, "satisfied": case["satisfaction"] in SATISFIED}))
    if state in OPEN:
        cohorts.append(("open", OPEN_DAY, {"overdue_now": bool(case["overdue"])}))

    rows: dict[Key, list[float]] = {}
    for ledger in LEDGERS:
        area = area_of(case["region_path"], ledger)
        unit = (case["unit_id"] or 0) if ledger in BY_UNIT else 0
        for cohort, on, counters in cohorts:
            if ledger == UNIT_MONTH:
                if cohort == "open":
                    continue
                on = on.replace(day=1)
            vector = [0.0] * len(COUNTERS)
            vector[0] = 1
            for name, value in counters.items():
                vector[_INDEX[name]] = float(value)
            rows[(ledger, cohort, on, area, unit)] = vector
    if received is not None:
        area = area_of(case["region_path"], TREND)
        on = day(received)
        channel = case["channel"].value if hasattr(case["channel"], "value") else case["channel"]
        for cohort, value in (("rcat", case["category_id"] or 0), ("rchan", CHANNEL_NUMBERS.get(channel, -1))):
            vector = [0.0] * len(COUNTERS)
            vector[0] = 1
            rows[(TREND, cohort, on, area, value)] = vector
    return rows


def event_contributions(*, action: str, at: dt.datetime, region_path: str, unit_id: int | None,
                        tz: ZoneInfo) -> dict[Key, list[float]]:
    """The rows one dispatch or return event adds (the unit it names: dispatched to, or returning)."""
    vector = [0.0] * len(COUNTERS)
    vector[0] = 1
    on = at.astimezone(tz).date()
    return {(ledger, EVENT_COHORTS[action], on.replace(day=1) if ledger == UNIT_MONTH else on,
             area_of(region_path, ledger), (unit_id or 0) if ledger in BY_UNIT else 0): list(vector)
            for ledger in LEDGERS}


def difference(old: Mapping[Key, list[float]], new: Mapping[Key, list[float]]) -> dict[Key, list[float]]:
    """``new − old`` per key, without the keys that did not change."""
    out: dict[Key, list[float]] = {}
    for key in old.keys() | new.keys():
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if a is None:
            out[key] = list(b)
        elif b is None:
            out[key] = [-x for x in a]
        else:
            out[key] = [y - x for x, y in zip(a, b)]
    return out


def _rows(delta: Mapping[Key, list[float]]) -> list[dict]:
    rows = []
    for (ledger, cohort, on, area, unit), vector in delta.items():
        row = {"ledger": ledger, "cohort": cohort, "day": on, "area_path": area, "unit_id": unit}
        for name, value in zip(COUNTERS, vector):
            row[name] = value if name == "handling_seconds" else int(round(value))
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------
# Meta: whether the tallies are usable, and the registration limit they were counted with
# ---------------------------------------------------------------------------------------


# PostgreSQL advisory lock that orders tally writers (shared) against recounts and limit changes
# (exclusive). A row lock on the meta row would do the same, but every writer sharing one row
# lock rewrites that row (a MultiXact), which serialises concurrent intake.
TALLY_LOCK = 0x6361_7365_7461_6C79  # "casetaly"


def _lock(connection: Connection, *, exclusive: bool) -> None:
    if connection.dialect.name == "postgresql":
        fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        connection.execute(select(getattr(func, fn)(TALLY_LOCK)))
    # SQLite: every transaction already holds the database's one write lock (BEGIN IMMEDIATE).


def read_meta(connection: Connection, *, lock: bool = False) -> CaseTallyMeta | None:
    if lock:
        # Writers share the lock; a recount or a limit change takes it alone, so no writer counts
        # with a limit the recount is replacing.
        _lock(connection, exclusive=False)
    row = connection.execute(select(CaseTallyMeta.__table__).where(CaseTallyMeta.id == 1)).mappings().first()
    return CaseTallyMeta(**row) if row is not None else None


def _writer_limit(connection: Connection, session: Session | None) -> int:
    """The registration limit to count with, read once per transaction."""
    cache = session.info if session is not None else {}
    if "tally_limit" not in cache:
        meta = read_meta(connection, lock=True)
        cache["tally_limit"] = meta.register_limit_minutes if meta else DEFAULT_REGISTER_LIMIT_MINUTES
    return cache["tally_limit"]


def tz() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


# ---------------------------------------------------------------------------------------
# Keeping the tallies in step with every write of a case (same flush, same transaction)
# ---------------------------------------------------------------------------------------


def _snapshot(case: Case, *, old: bool) -> dict:
    values = {}
    for name in INPUTS:
        if old:
            history = get_history(case, name)
            if history.deleted:
                values[name] = history.deleted[0]
                continue
            if history.unchanged:
                values[name] = history.unchanged[0]
                continue
        value = getattr(case, name) if not old else case.__dict__.get(name, NO_VALUE)
        values[name] = None if value is NO_VALUE else value
    return values


def _write(connection: Connection, delta: Mapping[Key, list[float]]) -> None:
    if delta:
        connection.execute(insert(CaseTally.__table__), _rows(delta))


def _merge(into: dict[Key, list[float]], delta: Mapping[Key, list[float]]) -> None:
    """Add ``delta`` into ``into`` key by key (in place)."""
    for key, vector in delta.items():
        have = into.get(key)
        if have is None:
            into[key] = list(vector)
        else:
            for i, value in enumerate(vector):
                have[i] += value


def _pend(connection: Connection, session: Session | None, delta: Mapping[Key, list[float]]) -> None:
    """Hold a write's rows until the end of its flush, merged per key with the flush's other writes.

    A flush of many cases (batched intake, imports) then writes one row per touched key, in
    one statement, instead of a statement and a row set per case.
    """
    if session is None:
        _write(connection, delta)
        return
    _merge(session.info.setdefault("tally_pending", {}), delta)


@event.listens_for(Session, "after_flush")
def _write_pending(session: Session, flush_context) -> None:
    pending = session.info.pop("tally_pending", None)
    if pending:
        _write(session.connection(), {key: v for key, v in pending.items() if any(v)})


@event.listens_for(Case, "after_insert")
def _case_inserted(mapper: Mapper, connection: Connection, case: Case) -> None:
    session = object_session(case)
    limit = _writer_limit(connection, session)
    _pend(connection, session, contributions(_snapshot(case, old=False), limit_minutes=limit, tz=tz()))


@event.listens_for(Case, "before_update")
def _case_updated(mapper: Mapper, connection: Connection, case: Case) -> None:
    if not any(get_history(case, name).has_changes() for name in INPUTS):
        return
    old, new = _snapshot(case, old=True), _snapshot(case, old=False)
    if old == new:
        return
    session = object_session(case)
    limit = _writer_limit(connection, session)
    zone = tz()
    _pend(connection, session, difference(contributions(old, limit_minutes=limit, tz=zone),
                                          contributions(new, limit_minutes=limit, tz=zone)))


@event.listens_for(Case, "after_delete")
def _case_deleted(mapper: Mapper, connection: Connection, case: Case) -> None:
    session = object_session(case)
    limit = _writer_limit(connection, session)
    _pend(connection, session,
          difference(contributions(_snapshot(case, old=True), limit_minutes=limit, tz=tz()), {}))


@event.listens_for(AuditEntry, "after_insert")
def _event_recorded(mapper: Mapper, connection: Connection, entry: AuditEntry) -> None:
    if entry.entity != "case" or entry.action not in EVENT_COHORTS:
        return
    unit_id = (entry.after or {}).get("unit_id") if entry.action == "dispatch" else (entry.before or {}).get("unit_id")
    session = object_session(entry)
    case = session.identity_map.get(session.identity_key(Case, int(entry.entity_id))) if session else None
    path = case.region_path if case is not None else connection.execute(
        select(Case.region_path).where(Case.id == int(entry.entity_id))).scalar_one()
    _pend(connection, session, event_contributions(action=entry.action, at=entry.at, region_path=path,
                                                   unit_id=unit_id, tz=tz()))


@event.listens_for(Session, "after_transaction_end")
def _forget_limit(session: Session, transaction) -> None:
    # A flush that failed leaves rows it never wrote; they must not ride on the next flush.
    session.info.pop("tally_pending", None)
    if transaction.parent is None:
        session.info.pop("tally_limit", None)


def flag_set(*, session: Session, case_id: int, name: str) -> None:
    """Count a flag a bulk UPDATE just raised (the scheduler's claims bypass the mapper events)."""
    if name not in INPUTS:
        return
    case = session.get(Case, case_id, populate_existing=True)
    if case is None:
        return
    connection = session.connection()
    new = _snapshot(case, old=False)
    old = {**new, name: False}
    limit = _writer_limit(connection, session)
    zone = tz()
    _write(connection, difference(contributions(old, limit_minutes=limit, tz=zone),
                                  contributions(new, limit_minutes=limit, tz=zone)))


# ---------------------------------------------------------------------------------------
# Compaction and rebuild
# ---------------------------------------------------------------------------------------

_KEY_COLS = ("ledger", "cohort", "day", "area_path", "unit_id")


def compact(*, session: Session) -> int:
    """Merge the rows of each key written to since the last compaction into one (dropping keys that
    sum to nothing); returns how many rows went. Rows up to ``compacted_id`` are one per key
    already, so the work follows what changed, not the size of the history."""
    table = CaseTally.__table__
    meta_table = CaseTallyMeta.__table__
    top = session.scalar(select(func.max(table.c.id)))
    mark = session.scalar(select(meta_table.c.compacted_id).where(meta_table.c.id == 1)) or 0
    if top is None or top <= mark:
        return 0
    keys = [table.c[k] for k in _KEY_COLS]
    touched = select(*[table.c[k] for k in _KEY_COLS]).where(table.c.id > mark, table.c.id <= top).distinct()
    merging = and_(table.c.id <= top, tuple_(*keys).in_(touched))
    before = session.scalar(select(func.count()).select_from(table).where(merging)) or 0
    if session.get_bind().dialect.name == "postgresql":
        # One statement, one snapshot: exactly the rows deleted are the rows summed, whatever
        # commits meanwhile (rows committed later keep their own ids and stay).
        gone = delete(table).where(merging).returning(*[table.c[k] for k in (*_KEY_COLS, *COUNTERS)]).cte("gone")
        summed = select(*[gone.c[k] for k in _KEY_COLS], *[func.sum(gone.c[name]).label(name) for name in COUNTERS]
                        ).group_by(*[gone.c[k] for k in _KEY_COLS]).having(_any_nonzero(gone))
        written = len(session.execute(insert(table).from_select([*_KEY_COLS, *COUNTERS], summed).add_cte(gone)
                                      .returning(table.c.id)).all())
    else:
        # SQLite: this transaction holds the write lock, so nothing commits in between.
        sums = [func.sum(table.c[name]).label(name) for name in COUNTERS]
        rows = [dict(r) for r in session.execute(
            select(*keys, *sums).where(merging).group_by(*keys).having(_any_nonzero(table))).mappings()]
        session.execute(delete(table).where(merging))
        if rows:
            session.execute(insert(table), rows)
        written = len(rows)
    session.execute(update(meta_table).where(meta_table.c.id == 1).values(compacted_id=top))
    return int(before - written)


def _any_nonzero(source):
    # A key with no case left in it: every condition is a subset of n, and the handling sum is
    # only rounding residue.
    return func.sum(source.c.n) != 0


def rebuild(*, session: Session, register_limit_minutes: int | None = None, batch: int = 20_000) -> int:
    """Recompute every tally from the cases and their history; returns the rows written.

    Takes the meta row first (exclusively), so writers in flight finish before and writers
    after wait, and count with the limit written here.
    """
    connection = session.connection()
    meta = read_meta(connection)
    limit = register_limit_minutes or (meta.register_limit_minutes if meta else DEFAULT_REGISTER_LIMIT_MINUTES)
    zone = tz()
    _set_meta(session, state="rebuilding", limit=limit, lock=True)
    session.execute(delete(CaseTally.__table__))
    totals: dict[Key, list[float]] = {}
    columns = [getattr(Case, name) for name in INPUTS]
    for chunk in session.execute(select(*columns).execution_options(yield_per=batch)).mappings().partitions():
        for row in chunk:
            _merge(totals, contributions(row, limit_minutes=limit, tz=zone))
    path = select(Case.region_path).where(Case.id == func.cast(AuditEntry.entity_id, Case.id.type)).scalar_subquery()
    events = select(AuditEntry.action, AuditEntry.at, AuditEntry.before, AuditEntry.after, path.label("path")).where(
        AuditEntry.entity == "case", AuditEntry.action.in_(list(EVENT_COHORTS)))
    for chunk in session.execute(events.execution_options(yield_per=batch)).partitions():
        for action, at, before, after, region_path in chunk:
            if region_path is None:
                continue
            unit_id = (after or {}).get("unit_id") if action == "dispatch" else (before or {}).get("unit_id")
            _merge(totals, event_contributions(action=action, at=at, region_path=region_path, unit_id=unit_id,
                                               tz=zone))
    rows = _rows(totals)
    for start in range(0, len(rows), batch):
        session.execute(insert(CaseTally.__table__), rows[start:start + batch])
    _set_meta(session, state="ready", limit=limit)
    # Every key has one row now.
    session.execute(update(CaseTallyMeta.__table__).where(CaseTallyMeta.id == 1).values(
        compacted_id=session.scalar(select(func.max(CaseTally.id))) or 0))
    session.info["tally_limit"] = limit
    return len(rows)


def _set_meta(session: Session, *, state: str, limit: int | None = None, lock: bool = False) -> None:
    table = CaseTallyMeta.__table__
    values = {"state": state, "timezone": get_settings().timezone, "updated_at": utcnow()}
    if limit is not None:
        values["register_limit_minutes"] = limit
    if lock:
        _lock(session.connection(), exclusive=True)
    if session.execute(update(table).where(table.c.id == 1).values(**values)).rowcount == 0:
        session.execute(insert(table).values(id=1, register_limit_minutes=limit or DEFAULT_REGISTER_LIMIT_MINUTES,
                                             **{k: v for k, v in values.items() if k != "register_limit_minutes"}))


def mark_stale(*, session: Session, register_limit_minutes: int | None = None) -> None:
    """The tallies no longer answer (a new registration limit): readers use the cases until ``rebuild``."""
    _set_meta(session, state="stale", limit=register_limit_minutes, lock=True)
    session.info.pop("tally_limit", None)


def usable_limit(session: Session) -> int | None:
    """The registration limit the tallies were counted with, or None when they must not be read."""
    meta = read_meta(session.connection())
    if meta is None or meta.state != "ready" or meta.timezone != get_settings().timezone:
        return None
    return meta.register_limit_minutes


def refresh_if_stale() -> dict:
    """The periodic job: rebuild stale tallies, then compact. Returns what it did."""
    from civicgrid.db import unit_of_work

    rebuilt = None
    with unit_of_work() as session:
        meta = read_meta(session.connection())
        if meta is None or meta.state != "ready" or meta.timezone != get_settings().timezone:
            rebuilt = rebuild(session=session)
    with unit_of_work() as session:
        merged = compact(session=session)
    return {"rebuilt_rows": rebuilt, "merged_rows": merged}


def totals_for(session: Session, keys: Iterable[str] = COUNTERS) -> dict[str, float]:
    """Sum of every counter over the whole table (tests and the CLI's check)."""
    table = CaseTally.__table__
    row = session.execute(select(*[func.coalesce(func.sum(table.c[k]), 0).label(k) for k in keys])).mappings().one()
    return dict(row)
