"""Reference data (参考数据) kept per process, exact to the last commit.

Some tables change a few times a day and are read on every intake: routing rules, units, the
region tree, who sits at which centre. Reading them for every group of reports costs more than
the reports' own writes (bench/bench_intake.py). So a process keeps a copy, and a change counter
tells it when the copy is out of date:

* ``watch(name, *models)`` names a counter and the tables it stands for. Every flush that
  inserts, changes or deletes a row of one of them bumps the counter, in the same transaction
  as the change, so no reader can see the change without the new number or the other way round.
* ``ProcessCache(name, build)`` holds what ``build(session)`` made from those tables, together
  with the counter's number then. ``get(session)`` reads the counters (one statement per
  transaction) and rebuilds only when its own moved. A transaction sees every change committed before it began,
  across processes, with no waiting window.

Writes that go around the ORM (raw SQL, another program) do not bump the counter: call
``bump(session, name)`` after them.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy import BigInteger, String, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from civicgrid.db import Base

T = TypeVar("T")


class ReferenceVersion(Base):
    """How often one set of reference tables has changed (a counter only ever moves up)."""

    __tablename__ = "reference_version"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}

# counter name → the mapped classes whose rows it stands for
_WATCHED: dict[str, tuple[type, ...]] = {}


def watch(name: str, *models: type) -> str:
    """Declare counter ``name`` for the rows of ``models``; returns the name."""
    _WATCHED[name] = _WATCHED.get(name, ()) + tuple(models)
    return name


def bump(session: Session, name: str) -> None:
    """Count one change of counter ``name`` in the session's transaction (creating the row if new)."""
    session.info.setdefault("reference_bumped", set()).add(name)
    session.info.pop("reference_versions", None)
    # One upsert: two first-ever changes racing each other both count, neither fails.
    upsert = _INSERT[session.get_bind().dialect.name](ReferenceVersion).values(name=name, version=1)
    session.execute(upsert.on_conflict_do_update(index_elements=[ReferenceVersion.name],
                                                 set_={"version": ReferenceVersion.version + 1}))


def version(session: Session, name: str) -> int:
    """The counter's number as this transaction sees it (0 before the first change).

    All counters are read in one statement, once per transaction until it changes one itself:
    a group of reports consults several caches.
    """
    if session.new or session.dirty or session.deleted:
        session.flush()  # the transaction's own pending changes count (the flush bumps)
    versions = session.info.get("reference_versions")
    if versions is None:
        versions = {name: number for name, number in
                    session.execute(select(ReferenceVersion.name, ReferenceVersion.version))}
        session.info["reference_versions"] = versions
    return versions.get(name, 0)


@event.listens_for(Session, "before_flush")
def _bump_changed(session: Session, flush_context, instances) -> None:
    touched = [obj for obj in (*session.new, *session.deleted) if not isinstance(obj, ReferenceVersion)]
    touched += [obj for obj in session.dirty if session.is_modified(obj, include_collections=False)]
    if not touched:
        return
    for name, models in _WATCHED.items():
        if any(isinstance(obj, models) for obj in touched):
            bump(session, name)


@event.listens_for(Session, "after_transaction_end")
def _forget_bumps(session: Session, transaction) -> None:
    session.info.pop("reference_versions", None)
    if transaction.parent is None:
        session.info.pop("reference_bumped", None)


class ProcessCache(Generic[T]):
    """What ``build(session)`` makes of the tables counter ``name`` watches, rebuilt when they change."""

    def __init__(self, name: str, build: Callable[[Session], T]) -> None:
        assert name in _WATCHED, f"no tables are watched under {name!r}"
        self.name = name
        self.build = build
        self._lock = threading.Lock()
        # engine → (version, value): tests and the CLI may use more than one database in a process
        self._held: weakref.WeakKeyDictionary[Engine, tuple[int, T]] = weakref.WeakKeyDictionary()

    def get(self, session: Session) -> T:
        """The value for the state of the tables this transaction sees."""
        bind = session.get_bind()
        engine = getattr(bind, "engine", bind)
        seen = version(session, self.name)
        own_changes = self.name in session.info.get("reference_bumped", ())
        if own_changes:
            # A transaction's own changes are not anyone else's: what it builds is not kept.
            return self.build(session)
        held = self._held.get(engine)
        if held is not None and held[0] == seen:
            return held[1]
        # One build per change, not one per thread that notices it (the city's grid index takes
        # seconds). The builder is already in its transaction, so on SQLite, where a transaction
        # holds the one write lock, no thread can wait here while holding what the builder needs.
        with self._lock:
            held = self._held.get(engine)
            if held is not None and held[0] == seen:
                return held[1]
            value = self.build(session)
            self._held[engine] = (seen, value)
            return value
