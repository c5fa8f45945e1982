"""Running Alembic from code: ``civicgrid db upgrade`` and the test fixtures use this."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"

# Tables the migrations make that no model declares: SQLite's FTS5 index of the case words and
# its shadow tables (migration 0012_case_search).
UNMODELLED_TABLES = ("case_search", "case_search_data", "case_search_idx", "case_search_docsize",
                     "case_search_config")


def include_name(name: str | None, type_: str, parent_names) -> bool:
    """Alembic's filter for comparing models with the database: leave out the unmodelled tables."""
    return not (type_ == "table" and name in UNMODELLED_TABLES)


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at civicgrid's migrations (and ``url`` if given)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade(url: str | None = None, revision: str = "heads") -> None:
    """Apply migrations up to ``revision`` (default: every domain's head; domains branch from 0001)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    """Revert migrations down to ``revision``."""
    command.downgrade(alembic_config(url), revision)
