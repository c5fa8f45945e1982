"""Shared fixtures: a migrated database (SQLite by default, PostgreSQL with CIVICGRID_TEST_DB=postgresql),
a per-test session rolled back afterwards, an app client, and a small fictional city to work in."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from civicgrid import db as dbmod
from civicgrid.migrations import upgrade
from civicgrid.settings import get_settings

PG_ADMIN_URL = os.environ.get("CIVICGRID_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def pytest_report_header(config):
    return f"civicgrid test database: {os.environ.get('CIVICGRID_TEST_DB', 'sqlite')}"


@contextmanager
def fresh_database(tmp_path_factory, prefix: str, revision: str = "heads") -> Iterator[str]:
    """A new database of the suite's kind (CIVICGRID_TEST_DB) migrated to ``revision``; a PostgreSQL one
    is dropped after."""
    if os.environ.get("CIVICGRID_TEST_DB", "sqlite") != "postgresql":
        url = f"sqlite:///{tmp_path_factory.mktemp(prefix) / (prefix + '.sqlite3')}"
        upgrade(url, revision)
        yield url
        return
    name = f"civicgrid_{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        upgrade(url, revision)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """A fresh, migrated database for this test run."""
    os.environ["CIVICGRID_ENVIRONMENT"] = "test"
    os.environ["CIVICGRID_UPLOAD_DIR"] = str(tmp_path_factory.mktemp("uploads"))
    os.environ["CIVICGRID_SCHEDULER_ENABLED"] = "false"
    with fresh_database(tmp_path_factory, "test") as url:
        os.environ["CIVICGRID_DATABASE_URL"] = url
        get_settings.cache_clear()
        yield url
        dbmod.set_engine(None)


@pytest.fixture(scope="session")
def engine(database_url):
    engine = dbmod.make_engine(database_url)
    dbmod.set_engine(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    """A session inside an outer transaction that is rolled back after the test."""
    # Each test builds its own grids in its own transaction: the per-process grid index never
    # keeps what a transaction built from its own changes (reference.py), so no test sees another's.
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    with dbmod.test_session_scope(session):
        yield session
    session.close()
    outer.rollback()
    connection.close()


@pytest.fixture
def app(session):
    from civicgrid.app import create_app

    return create_app(start_scheduler=False)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def world(session):
    """A small fictional city with units, users of every role and the seeded categories."""
    from tests.factories import build_world

    return build_world(session)


@pytest.fixture
def as_user(client, world):
    """``as_user('operator')`` → headers with a bearer token for that demo user."""
    from civicgrid.auth.service import issue_token

    def headers(name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(world.users[name])}"}

    return headers


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Argon2id with minimal cost in tests: same algorithm, far less time per user created."""
    from argon2 import PasswordHasher

    from civicgrid.auth import passwords

    saved = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    passwords._hasher = saved


# Property tests judge correctness, not speed: no per-example deadline (CI machines are shared).
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("civicgrid", deadline=None)
_hypothesis_settings.load_profile("civicgrid")
