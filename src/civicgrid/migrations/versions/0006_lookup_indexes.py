"""indexes for handler lists by category/overdue, category lists in scope, and who-to-notify lookups

Revision ID: 0006_lookup_indexes
Revises: 0005_case_list_indexes
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_lookup_indexes"
down_revision = "0005_case_list_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_case_unit_category", "case", ["unit_id", "category_id", "received_at", "id"])
    op.create_index(
        "ix_case_unit_overdue", "case", ["unit_id", "received_at", "id"],
        sqlite_where=sa.text("overdue IS 1"), postgresql_where=sa.text("overdue IS true"),
    )
    op.create_index("ix_case_category_order", "case", ["category_id", "received_at", "id", "region_path"])
    op.create_index("ix_app_user_scope_role", "app_user", ["scope_region_id", "role"])
    op.create_index("ix_app_user_unit_role", "app_user", ["unit_id", "role"])


def downgrade() -> None:
    op.drop_index("ix_app_user_unit_role", table_name="app_user")
    op.drop_index("ix_app_user_scope_role", table_name="app_user")
    op.drop_index("ix_case_category_order", table_name="case")
    op.drop_index("ix_case_unit_overdue", table_name="case")
    op.drop_index("ix_case_unit_category", table_name="case")
