"""assessment: schemes, points, responsibility lists, monthly reports; cohort indexes on case and audit_entry

Revision ID: 0003_assessment
Revises: 0001
Create Date: 2026-11-22 20:26:38.771509
"""
import sqlalchemy as sa
from alembic import op

import civicgrid.db

# Frozen here (not imported from the models) so the migration keeps creating what it created.
COHORT_INDEXES = {
    "ix_case_received_cover": ("received_at", "region_path", "category_id", "channel", "grid_id", "unit_id",
                               "reporter_user_id"),
    "ix_case_registered_cover": ("registered_at", "region_path", "received_at", "state", "self_handled", "unit_id",
                                 "reporter_user_id"),
    "ix_case_due_cover": ("finish_due_at", "region_path", "state", "resolved_at", "unit_id", "reporter_user_id"),
    "ix_case_resolved_cover": ("resolved_at", "region_path", "registered_at", "suspended_seconds", "rework_count",
                               "extensions_count", "unit_id", "reporter_user_id"),
    "ix_case_closed_cover": ("closed_at", "region_path", "state", "satisfaction", "unit_id", "reporter_user_id"),
    "ix_case_open_cover": ("state", "region_path", "overdue", "unit_id", "urgency", "received_at"),
}


revision = '0003_assessment'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('point_cursor',
    sa.Column('name', sa.String(length=20), nullable=False),
    sa.Column('last_audit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_point_cursor'))
    )
    op.create_table('point_rule',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('daily_cap', sa.Integer(), nullable=True),
    sa.Column('monthly_cap', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_point_rule'))
    )
    op.create_table('assessment_scheme',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('target', sa.String(length=10), nullable=False),
    sa.Column('weights', sa.JSON(), nullable=False),
    sa.Column('grades', sa.JSON(), nullable=False),
    sa.Column('register_limit_minutes', sa.Integer(), nullable=False),
    sa.Column('updated_at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.Column('updated_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['app_user.id'], name=op.f('fk_assessment_scheme_updated_by_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_scheme')),
    sa.UniqueConstraint('target', name=op.f('uq_assessment_scheme_target'))
    )
    op.create_table('monthly_report',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('region_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('region_path', sa.String(length=255), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('fmt', sa.String(length=4), nullable=False),
    sa.Column('trigger', sa.String(length=10), nullable=False),
    sa.Column('generated_at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.Column('generated_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['generated_by_id'], ['app_user.id'], name=op.f('fk_monthly_report_generated_by_id_app_user')),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_monthly_report_region_id_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monthly_report')),
    sa.UniqueConstraint('region_id', 'month', 'fmt', name='uq_monthly_report_region_month_fmt')
    )
    op.create_table('responsibility_item',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('unit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('target', sa.String(length=300), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('result', sa.Text(), nullable=False),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_responsibility_item_created_by_id_app_user')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_responsibility_item_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_responsibility_item'))
    )
    with op.batch_alter_table('responsibility_item', schema=None) as batch_op:
        batch_op.create_index('ix_responsibility_unit_year', ['unit_id', 'year'], unique=False)

    op.create_table('point_entry',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('rule_code', sa.String(length=40), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('raw_points', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('source_key', sa.String(length=80), nullable=False),
    sa.Column('occurred_at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_point_entry_case_id_case')),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_point_entry_created_by_id_app_user')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_point_entry_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_point_entry')),
    sa.UniqueConstraint('user_id', 'rule_code', 'source_key', name='uq_point_entry_source')
    )
    with op.batch_alter_table('point_entry', schema=None) as batch_op:
        batch_op.create_index('ix_point_entry_month', ['month'], unique=False)
        batch_op.create_index('ix_point_entry_user_month', ['user_id', 'month'], unique=False)

    # Plain CREATE INDEX on the large tables (no batch table copy).
    op.create_index('ix_audit_action_at', 'audit_entry', ['action', 'at'], unique=False)
    # Covering indexes of the KPI cohorts (see events/models.py COHORT_INDEXES): index-only scans.
    for name, columns in COHORT_INDEXES.items():
        op.create_index(name, 'case', list(columns), unique=False)



def downgrade() -> None:
    for name in reversed(list(COHORT_INDEXES)):
        op.drop_index(name, table_name='case')
    op.drop_index('ix_audit_action_at', table_name='audit_entry')

    with op.batch_alter_table('point_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_point_entry_user_month')
        batch_op.drop_index('ix_point_entry_month')

    op.drop_table('point_entry')
    with op.batch_alter_table('responsibility_item', schema=None) as batch_op:
        batch_op.drop_index('ix_responsibility_unit_year')

    op.drop_table('responsibility_item')
    op.drop_table('monthly_report')
    op.drop_table('assessment_scheme')
    op.drop_table('point_rule')
    op.drop_table('point_cursor')
