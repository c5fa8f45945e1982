"""reference version counters: per-process caches of reference data know when to rebuild (reference.py)

Revision ID: 0011_reference_version
Revises: 0010_case_tally
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_reference_version"
down_revision = "0010_case_tally"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reference_version",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_reference_version")),
    )


def downgrade() -> None:
    op.drop_table("reference_version")
