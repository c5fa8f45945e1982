"""case text search: each case's words (events/search.py), a GIN index on PostgreSQL, FTS5 on SQLite

Revision ID: 0012_case_search
Revises: 0011_reference_version
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import TSVECTOR

from civicgrid.events.search import document_terms

revision = "0012_case_search"
down_revision = "0011_reference_version"
branch_labels = None
depends_on = None

BATCH = 5_000
WORDS = sa.Text().with_variant(TSVECTOR(), "postgresql")

# SQLite: an FTS5 index over "case".search_terms (external content: the words are stored once, in
# "case"), kept in step by triggers, so every way a case row changes keeps its words findable.
SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE case_search USING fts5(search_terms, content='case', content_rowid='id')",
    """CREATE TRIGGER case_search_insert AFTER INSERT ON "case" BEGIN
         INSERT INTO case_search(rowid, search_terms) VALUES (new.id, new.search_terms);
       END""",
    """CREATE TRIGGER case_search_delete AFTER DELETE ON "case" BEGIN
         INSERT INTO case_search(case_search, rowid, search_terms) VALUES ('delete', old.id, old.search_terms);
       END""",
    """CREATE TRIGGER case_search_update AFTER UPDATE OF search_terms ON "case" BEGIN
         INSERT INTO case_search(case_search, rowid, search_terms) VALUES ('delete', old.id, old.search_terms);
         INSERT INTO case_search(rowid, search_terms) VALUES (new.id, new.search_terms);
       END""",
)


def _backfill(bind) -> None:
    """Cut the words of every existing case, in batches by id (1,000,000 cases: about 15 s of cutting)."""
    case = sa.table("case", sa.column("id", sa.BigInteger), sa.column("title", sa.String),
                    sa.column("address", sa.String), sa.column("description", sa.Text),
                    sa.column("search_terms", WORDS))
    update = sa.update(case).where(case.c.id == sa.bindparam("case_id")).values(search_terms=sa.bindparam("terms"))
    last = 0
    while True:
        rows = bind.execute(sa.select(case.c.id, case.c.title, case.c.address, case.c.description)
                            .where(case.c.id > last).order_by(case.c.id).limit(BATCH)).all()
        if not rows:
            return
        bind.execute(update, [{"case_id": r.id, "terms": document_terms(r.title, r.address, r.description)}
                              for r in rows])
        last = rows[-1].id


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column("case", sa.Column("search_terms", WORDS, nullable=False, server_default=""))
    _backfill(bind)
    if bind.dialect.name == "postgresql":
        op.create_index("ix_case_search_terms", "case", ["search_terms"], postgresql_using="gin")
    else:
        for statement in SQLITE_SEARCH:
            op.execute(statement)
        op.execute("INSERT INTO case_search(case_search) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_case_search_terms", table_name="case")
    else:
        for name in ("case_search_update", "case_search_delete", "case_search_insert"):
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE case_search")
    with op.batch_alter_table("case") as batch:
        batch.drop_column("search_terms")
