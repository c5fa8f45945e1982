"""people: visit photos, and the once-a-day claim of the nightly care and risk pass

Revision ID: 0007_people_more
Revises: 0004_mediation_petitions
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

import civicgrid.db

revision = '0007_people_more'
down_revision = '0004_mediation_petitions'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'care_visit_photo',
        sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
        sa.Column('visit_id', BIG_ID, nullable=False),
        sa.Column('care_id', BIG_ID, nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('content_type', sa.String(length=40), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('uploaded_by_id', BIG_ID, nullable=True),
        sa.Column('at', civicgrid.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['visit_id'], ['care_visit.id'], name=op.f('fk_care_visit_photo_visit_id_care_visit')),
        sa.ForeignKeyConstraint(['care_id'], ['care_record.id'], name=op.f('fk_care_visit_photo_care_id_care_record')),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['app_user.id'],
                                name=op.f('fk_care_visit_photo_uploaded_by_id_app_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_care_visit_photo')),
    )
    op.create_index('ix_care_visit_photo_visit', 'care_visit_photo', ['visit_id', 'id'])
    op.create_index('ix_care_visit_photo_care', 'care_visit_photo', ['care_id'])
    op.create_table(
        'people_job_run',
        sa.Column('job', sa.String(length=40), nullable=False),
        sa.Column('run_on', sa.Date(), nullable=False),
        sa.Column('started_at', civicgrid.db.UTCDateTime(), nullable=False),
        sa.Column('result', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('job', 'run_on', name=op.f('pk_people_job_run')),
    )


def downgrade() -> None:
    op.drop_table('people_job_run')
    op.drop_index('ix_care_visit_photo_care', table_name='care_visit_photo')
    op.drop_index('ix_care_visit_photo_visit', table_name='care_visit_photo')
    op.drop_table('care_visit_photo')
