"""The migrations build exactly the schema the models declare, on SQLite and PostgreSQL, and go back down."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import civicgrid.models  # noqa: F401
from civicgrid.db import Base
from civicgrid.migrations import include_name


def _dialect_only_index(diff, dialect: str) -> bool:
    # An index that only exists on the other database (e.g. PostgreSQL's text_pattern_ops).
    if diff[0] not in ("add_index", "remove_index"):
        return False
    index = diff[1]
    # `is not None`, not truthiness: a partial index's where-clause is a SQL expression, which
    # refuses bool().
    options = {name for name, opts in index.dialect_options.items()
               if any(v is not None and v is not False and not (isinstance(v, (dict, list, tuple)) and not v)
                      for v in opts.values())}
    return bool(options) and dialect not in options and options <= {"postgresql", "sqlite"}


def test_models_and_migrations_agree(engine):
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"include_name": include_name}), Base.metadata)
    real = [d for d in diffs if not _dialect_only_index(d, engine.dialect.name)]
    assert real == [], f"models differ from the migrated schema — write a migration: {real}"


def test_every_table_is_migrated(engine):
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
