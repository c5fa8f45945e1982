"""case tallies: exact running counts per KPI cohort, day, area and unit (events/tally.py)

Revision ID: 0010_case_tally
Revises: 0006_lookup_indexes
Create Date: 2026-11-22
"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0010_case_tally"
down_revision = "0006_lookup_indexes"
branch_labels = None
depends_on = None

COUNTERS = (
    "registered_on_time", "registered_inaccurate", "self_handled", "deferred", "closed_now", "closed_on_time",
    "handled_on_time", "resolved_late", "unresolved", "reworked", "extended", "rated", "satisfied", "overdue_now",
)


def upgrade() -> None:
    op.create_table(
        "case_tally",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("ledger", sa.String(length=5), nullable=False),
        sa.Column("cohort", sa.String(length=10), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("area_path", sa.String(length=255), nullable=False),
        sa.Column("unit_id", sa.BigInteger(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in COUNTERS],
        sa.Column("handling_seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_tally")),
    )
    # Covering: a KPI question is one range of the index, never a visit to the table.
    op.create_index("ix_case_tally_key", "case_tally", ["ledger", "cohort", "day", "area_path", "unit_id", "n",
                                                        *COUNTERS, "handling_seconds"])
    meta = op.create_table(
        "case_tally_meta",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("register_limit_minutes", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("compacted_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_tally_meta")),
    )
    # An empty database starts with exact (empty) tallies; one with cases waits for the periodic
    # job (or `civicgrid kpi rebuild`) to count them, and until then the KPIs read the cases.
    has_cases = op.get_bind().execute(sa.text('SELECT 1 FROM "case" LIMIT 1')).first() is not None
    op.bulk_insert(meta, [{
        "id": 1, "state": "stale" if has_cases else "ready", "register_limit_minutes": 120,
        "timezone": "Asia/Shanghai", "updated_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
        "compacted_id": 0,
    }])


def downgrade() -> None:
    op.drop_table("case_tally_meta")
    op.drop_index("ix_case_tally_key", table_name="case_tally")
    op.drop_table("case_tally")
