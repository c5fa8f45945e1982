"""A recount (or a new registration limit) and the writers of case tallies are ordered by one lock.

On PostgreSQL writers share an advisory lock and a recount takes it alone, so a writer that
arrives during a recount waits for it and then counts with the recount's limit. SQLite needs no
lock of its own: every civicgrid transaction holds the database's single write lock.
"""

from __future__ import annotations

import threading
import time

import pytest

from civicgrid.events import tally


def test_a_writer_waits_while_a_recount_holds_the_tallies(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite orders writers with its single write lock")
    done = threading.Event()

    def writer() -> None:
        with engine.connect() as conn, conn.begin():
            tally.read_meta(conn, lock=True)  # what every tally writer does first in a transaction
            done.set()

    with engine.connect() as recount, recount.begin() as tx:
        tally._lock(recount, exclusive=True)
        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        time.sleep(0.5)
        assert not done.is_set(), "a writer went ahead during a recount"
        tx.commit()
    thread.join(timeout=10)
    assert done.is_set(), "the writer did not proceed after the recount"


def test_writers_do_not_wait_for_each_other(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite orders writers with its single write lock")
    with engine.connect() as first, first.begin():
        tally.read_meta(first, lock=True)
        done = threading.Event()

        def second() -> None:
            with engine.connect() as conn, conn.begin():
                tally.read_meta(conn, lock=True)
                done.set()

        thread = threading.Thread(target=second, daemon=True)
        thread.start()
        thread.join(timeout=5)
        assert done.is_set(), "two writers serialised on the tally lock"
