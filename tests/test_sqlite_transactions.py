"""On SQLite a unit of work is one transaction even when a savepoint comes before the first write."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from civicgrid.db import make_engine


def test_savepoint_before_first_write_does_not_commit_early(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'atomic.sqlite3'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    session = Session(engine)
    with pytest.raises(RuntimeError):
        with session.begin():
            session.execute(text("SELECT 1"))
            with session.begin_nested():  # released here: must not commit the outer work
                session.execute(text("INSERT INTO t VALUES (1)"))
            raise RuntimeError("the request fails after the savepoint")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
    engine.dispose()
