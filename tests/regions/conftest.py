"""Fixtures for the regions tests: an in-memory SQLite database with the whole schema."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

import civicgrid.models  # noqa: F401  (registers every table on Base.metadata)
from civicgrid.db import Base, make_engine


@pytest.fixture
def geo_session():
    """A session on a fresh in-memory SQLite database (schema from the models, no migrations)."""
    engine = make_engine("sqlite://")
    Base.metadata.create_all(engine)
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        engine.dispose()
