"""petition documents (信访材料) and the group-name index for repeat detection across areas.

Revision ID: 0008_petition_documents
Revises: 0004_mediation_petitions
Create Date: 2026-11-30 10:00:00
"""
import sqlalchemy as sa
from alembic import op

import civicgrid.db

revision = '0008_petition_documents'
down_revision = '0004_mediation_petitions'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('petition_document',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('petition_id', BIG_ID, nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('uploaded_by_id', BIG_ID, nullable=True),
    sa.Column('at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['petition_id'], ['petition.id'], name=op.f('fk_petition_document_petition_id_petition')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['app_user.id'],
                            name=op.f('fk_petition_document_uploaded_by_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_petition_document')),
    sa.UniqueConstraint('petition_id', 'sha256', name='uq_petition_document_content')
    )
    with op.batch_alter_table('petition_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_petition_document_petition_id'), ['petition_id'], unique=False)
    with op.batch_alter_table('petition', schema=None) as batch_op:
        batch_op.create_index('ix_petition_group_name', ['group_name'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('petition', schema=None) as batch_op:
        batch_op.drop_index('ix_petition_group_name')
    with op.batch_alter_table('petition_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_petition_document_petition_id'))
    op.drop_table('petition_document')
