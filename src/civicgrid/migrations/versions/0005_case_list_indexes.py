"""case list indexes for a million cases (handler's newest, newest in scope, overdue)

Revision ID: 0005_case_list_indexes
Revises: 0001
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_case_list_indexes"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_case_unit_received", "case", ["unit_id", "received_at", "id"])
    op.create_index("ix_case_received_order", "case", ["received_at", "id", "region_path"])
    op.create_index(
        "ix_case_overdue_received", "case", ["received_at", "id", "region_path"],
        sqlite_where=sa.text("overdue IS 1"), postgresql_where=sa.text("overdue IS true"),
    )


def downgrade() -> None:
    op.drop_index("ix_case_overdue_received", table_name="case")
    op.drop_index("ix_case_received_order", table_name="case")
    op.drop_index("ix_case_unit_received", table_name="case")
