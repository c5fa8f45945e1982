"""The database: one engine per process, one way to open a unit of work.

Services take a ``session`` and never commit; the edge (a request, a job, a CLI command)
opens ``unit_of_work()``, which commits on success and rolls back on any error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, Table, create_engine, event, func, select, text
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from civicgrid.settings import get_settings

# Stable constraint names so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT keys in PostgreSQL (tens of millions of cases); SQLite needs INTEGER for rowid aliasing.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes stored as naive UTC, so SQLite and PostgreSQL agree."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    """Declarative base of every civicgrid table."""

    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> dt.datetime:
    """The current instant, timezone-aware UTC (the only clock services should read)."""
    return dt.datetime.now(dt.UTC)


_engine: Engine | None = None
_factory: sessionmaker[Session] | None = None
# Tests run every unit of work inside one outer transaction that they roll back afterwards.
_test_session: Session | None = None


# SQLAlchemy renders no table hints on SQLite; its one hint, ``INDEXED BY``, is how a few
# queries keep its planner off a region range that for a city is every case (see
# ``assessment/kpis.py`` and the case list). Every other dialect ignores "sqlite" hints.
SQLiteCompiler.get_from_hint_text = lambda self, table, text: text


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin: otherwise a
    # SAVEPOINT issued before the first write starts (and its RELEASE commits) a transaction
    # of its own, and a request is no longer atomic.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _sqlite_begin(conn) -> None:
    # IMMEDIATE takes the write lock up front (waiting up to busy_timeout): a deferred
    # transaction that read first would fail at once on its first write if another process
    # had committed meanwhile (SQLITE_BUSY_SNAPSHOT), which several workers make likely.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with civicgrid's connection settings (WAL and foreign keys on SQLite)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # Rows inserted without RETURNING (grouped intake's cases, tallies) go through psycopg's
    # executemany: one statement it parses once per call. A multi-row INSERT would be parsed anew
    # for every group size, and costs more.
    _cache_wide_statements()
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


# psycopg keeps the parse of a statement (its %(name)s placeholders turned into $n) only for
# statements with at most 50 parameters, so that multi-row INSERTs of every size do not crowd
# its cache (psycopg discussion 628). The case row has 57 columns: its INSERT, the same text in
# every intake group, was parsed anew each time, 3.6 % of the committer's instructions per case
# at a group of 8 (bench/bench_intake_group.py --callgrind). Its own texts are few and fixed.
WIDEST_CACHED_STATEMENT = 128


def _cache_wide_statements() -> None:
    from psycopg import _queries  # the limit is a module constant; pinned psycopg version

    if getattr(_queries, "MAX_CACHED_STATEMENT_PARAMS", WIDEST_CACHED_STATEMENT) < WIDEST_CACHED_STATEMENT:
        _queries.MAX_CACHED_STATEMENT_PARAMS = WIDEST_CACHED_STATEMENT


def get_engine() -> Engine:
    """The process-wide engine, created on first use from the settings."""
    global _engine, _factory
    if _engine is None:
        _engine = make_engine(get_settings().database_url)
        _factory = sessionmaker(_engine, expire_on_commit=False)
    return _engine


def set_engine(engine: Engine | None) -> None:
    """Replace the process-wide engine (tests and the CLI's --database option)."""
    global _engine, _factory
    _engine = engine
    _factory = sessionmaker(engine, expire_on_commit=False) if engine is not None else None


def reserve_id(session: Session, table: Table) -> int:
    """A fresh primary key for one row of ``table``, drawn before the row is inserted.

    Lets a row carry values derived from its id (a case number) in its INSERT rather than in a
    second UPDATE, which on PostgreSQL would write a new version into every index of the row.
    PostgreSQL draws from the column's sequence. On SQLite every transaction holds the write
    lock from its start (BEGIN IMMEDIATE, see ``_sqlite_begin``), so the next rowid cannot be
    taken by anyone else before this transaction inserts it.
    """
    return reserve_ids(session, table, 1)[0]


def reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """``count`` fresh primary keys for ``table`` in one round trip (see ``reserve_id``)."""
    return reserve_ids_for(session, {table: count})[table]


def reserve_ids_for(session: Session, counts: Mapping[Table, int]) -> dict[Table, list[int]]:
    """Fresh primary keys for several tables at once, in one round trip (see ``reserve_id``).

    Rows that carry their id are inserted without RETURNING, which on PostgreSQL lets psycopg
    send them as one prepared statement per row instead of a multi-row INSERT it parses anew.
    """
    wanted = {table: count for table, count in counts.items() if count > 0}
    found: dict[Table, list[int]] = {table: [] for table in counts}
    if not wanted:
        return found
    if session.get_bind().dialect.name == "postgresql":
        tables = list(wanted)
        parts = [f"SELECT {i}, nextval(:seq{i}) FROM generate_series(1, :n{i})" for i in range(len(tables))]
        params: dict[str, object] = {}
        for i, table in enumerate(tables):
            params[f"seq{i}"], params[f"n{i}"] = f"{table.name}_id_seq", wanted[table]
        for i, value in session.execute(text(" UNION ALL ".join(parts)), params):
            found[tables[i]].append(int(value))
        return found
    for table, count in wanted.items():
        top = int(session.execute(select(func.max(table.c.id))).scalar_one() or 0)
        found[table] = list(range(top + 1, top + 1 + count))
    return found


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """Open a session; commit if the block succeeds, roll back if it raises."""
    if _test_session is not None:
        # A savepoint stands in for the commit, so a failing request still rolls back alone.
        with _test_session.begin_nested():
            yield _test_session
        return
    get_engine()
    assert _factory is not None
    session = _factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def shared_test_session() -> bool:
    """Whether units of work are routed to one test session (work must then stay on its thread)."""
    return _test_session is not None


@contextmanager
def test_session_scope(session: Session) -> Iterator[Session]:
    """Route every unit of work to ``session`` (tests only; the caller rolls it back)."""
    global _test_session
    previous, _test_session = _test_session, session
    try:
        yield session
    finally:
        _test_session = previous
