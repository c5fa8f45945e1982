"""mediation and petitions: dispute types, mediation organisations and mediators, disputes with
parties, sessions, agreements, obligations, follow-ups, campaigns; petition subjects, petitions with
petitioners, higher-level visits and links. Seeds the default dispute types and petition subjects.

Revision ID: 0004_mediation_petitions
Revises: 0002_people
Create Date: 2026-11-22 20:29:17.628815
"""
import sqlalchemy as sa
from alembic import op

import civicgrid.db

revision = '0004_mediation_petitions'
down_revision = '0002_people'
branch_labels = None
depends_on = None

# Defaults an administrator can change afterwards (types and subjects are configuration).
# (code, 中文, English, group threshold, mediation working days)
DISPUTE_TYPES = [
    ("MARRIAGE", "婚姻家庭纠纷", "Marriage and family", 5, 22),
    ("NEIGHBOUR", "邻里纠纷", "Neighbours", 5, 22),
    ("HOUSING", "房屋宅基地纠纷", "Housing and homestead", 5, 22),
    ("LAND", "山林土地纠纷", "Forest and land", 5, 22),
    ("DEMOLITION", "征地拆迁纠纷", "Land acquisition and demolition", 5, 22),
    ("LABOUR", "劳动争议/欠薪纠纷", "Labour and unpaid wages", 5, 22),
    ("PROPERTY", "物业纠纷", "Property management", 5, 22),
    ("MEDICAL", "医疗纠纷", "Medical", 5, 22),
    ("TRAFFIC", "交通事故纠纷", "Traffic accident", 5, 22),
    ("CONSUMER", "消费纠纷", "Consumer", 5, 22),
    ("CONTRACT", "合同/商事纠纷", "Contract and commercial", 5, 22),
    ("DAMAGES", "损害赔偿纠纷", "Damages", 5, 22),
    ("POLLUTION", "环境污染纠纷", "Environmental pollution", 5, 22),
    ("OTHER", "其他纠纷", "Other", 5, 22),
]
# (code, 中文, English); the window (unit) is set by an administrator per city.
PETITION_SUBJECTS = [
    ("LAND", "国土资源（征地拆迁）", "Land and demolition"),
    ("LABOUR", "劳动和社会保障", "Labour and social security"),
    ("URBAN", "城乡建设（住房、物业）", "Urban construction, housing, property"),
    ("LAW", "政法（涉法涉诉）", "Law enforcement and courts"),
    ("AGRI", "农村农业", "Rural affairs and agriculture"),
    ("HEALTH", "卫生健康", "Health"),
    ("EDU", "教育", "Education"),
    ("ENV", "生态环境", "Environment"),
    ("ENTERPRISE", "企业改制与经营", "Enterprises"),
    ("CIVIL", "民政与社会救助", "Civil affairs and assistance"),
    ("OTHER", "其他", "Other"),
]


def _seed() -> None:
    dispute_type = sa.table("dispute_type", sa.column("code"), sa.column("name_zh"), sa.column("name_en"),
                            sa.column("group_threshold"), sa.column("mediation_days"), sa.column("sort_order"),
                            sa.column("active", sa.Boolean))
    op.bulk_insert(dispute_type, [
        {"code": c, "name_zh": zh, "name_en": en, "group_threshold": g, "mediation_days": d, "sort_order": i,
         "active": True} for i, (c, zh, en, g, d) in enumerate(DISPUTE_TYPES)])
    subject = sa.table("petition_subject", sa.column("code"), sa.column("name_zh"), sa.column("name_en"),
                       sa.column("sort_order"), sa.column("active", sa.Boolean))
    op.bulk_insert(subject, [
        {"code": c, "name_zh": zh, "name_en": en, "sort_order": i, "active": True}
        for i, (c, zh, en) in enumerate(PETITION_SUBJECTS)])


def upgrade() -> None:
    op.create_table('dispute_type',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name_zh', sa.String(length=60), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=False),
    sa.Column('group_threshold', sa.Integer(), nullable=False),
    sa.Column('mediation_days', sa.Integer(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispute_type')),
    sa.UniqueConstraint('code', name=op.f('uq_dispute_type_code'))
    )
    op.create_table('mediation_org',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name_zh', sa.String(length=100), nullable=False),
    sa.Column('name_en', sa.String(length=150), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('region_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('region_path', sa.String(length=255), nullable=False),
    sa.Column('level', sa.Enum('CITY', 'DISTRICT', 'STREET', 'COMMUNITY', 'GRID', 'MICRO_GRID', name='regionlevel', native_enum=False, length=20), nullable=False),
    sa.Column('unit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('specialties', sa.JSON(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=30), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_mediation_org_region_id_region')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_mediation_org_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mediation_org')),
    sa.UniqueConstraint('code', name=op.f('uq_mediation_org_code'))
    )
    with op.batch_alter_table('mediation_org', schema=None) as batch_op:
        batch_op.create_index('ix_mediation_org_region_path', ['region_path'], unique=False)

    op.create_table('petition_subject',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name_zh', sa.String(length=60), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=False),
    sa.Column('unit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_petition_subject_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_petition_subject')),
    sa.UniqueConstraint('code', name=op.f('uq_petition_subject_code'))
    )
    op.create_table('mediation_campaign',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('region_path', sa.String(length=255), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_mediation_campaign_period')),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_mediation_campaign_created_by_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mediation_campaign'))
    )
    op.create_table('mediator',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('title', sa.String(length=60), nullable=False),
    sa.Column('phone', sa.String(length=30), nullable=True),
    sa.Column('specialties', sa.JSON(), nullable=False),
    sa.Column('max_load', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['mediation_org.id'], name=op.f('fk_mediator_org_id_mediation_org')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_mediator_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mediator')),
    sa.UniqueConstraint('org_id', 'user_id', name='uq_mediator_org_user')
    )
    with op.batch_alter_table('mediator', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mediator_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mediator_user_id'), ['user_id'], unique=False)

    op.create_table('mediation_campaign_community',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('region_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['mediation_campaign.id'], name=op.f('fk_mediation_campaign_community_campaign_id_mediation_campaign')),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_mediation_campaign_community_region_id_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mediation_campaign_community')),
    sa.UniqueConstraint('campaign_id', 'region_id', name='uq_campaign_community')
    )
    with op.batch_alter_table('mediation_campaign_community', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mediation_campaign_community_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('petition',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('number', sa.String(length=24), nullable=True),
    sa.Column('idempotency_key', sa.String(length=100), nullable=True),
    sa.Column('form', sa.String(length=10), nullable=False),
    sa.Column('subject_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('request', sa.Text(), nullable=False),
    sa.Column('facts', sa.Text(), nullable=False),
    sa.Column('level_visited', sa.String(length=10), nullable=False),
    sa.Column('is_group', sa.Boolean(), nullable=False),
    sa.Column('head_count', sa.Integer(), nullable=False),
    sa.Column('group_name', sa.String(length=100), nullable=True),
    sa.Column('region_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('region_path', sa.String(length=255), nullable=False),
    sa.Column('desk_region_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('desk_path', sa.String(length=255), nullable=False),
    sa.Column('level', sa.Enum('CITY', 'DISTRICT', 'STREET', 'COMMUNITY', 'GRID', 'MICRO_GRID', name='regionlevel', native_enum=False, length=20), nullable=False),
    sa.Column('state', sa.Enum('REGISTERED', 'TRIAGED', 'ACCEPTED', 'NOT_ACCEPTED', 'ANSWERED', 'UNDER_REVIEW', 'REVIEWED', 'UNDER_RE_REVIEW', 'CLOSED', 'TRANSFERRED', name='petitionstate', native_enum=False, length=20), nullable=False),
    sa.Column('unit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('leader_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('received_at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.Column('triaged_at', civicgrid.db.UTCDateTime(), nullable=True),
    sa.Column('accept_due_at', civicgrid.db.UTCDateTime(), nullable=True),
    sa.Column('accepted_at', civicgrid.db.UTCDateTime(), nullable=True),
    sa.Column('answer_due_at', civicgrid.db.UTCDateTime(), nullable=True),
    sa.Column('extension_days_requested', sa.Integer(), nullable=True),
    sa.Column('extension_days', sa.Integer(), nullable=False),
    sa.Column('answered_at', civicgrid.db.UTCDateTime(), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('review_window_until', civicgrid.db.UTCDateTime(), nullable=True),
    sa.Column('review_requested_at', civicgrid.db.UTCDateTime(), nullable=True),
    sa.Column('reviewed_at', civicgrid.db.UTCDateTime(), nullable=True),
    sa.Column('review_opinion', sa.Text(), nullable=True),
    sa.Column('re_review_requested_at', civicgrid.db.UTCDateTime(), nullable=True),
    sa.Column('re_reviewed_at', civicgrid.db.UTCDateTime(), nullable=True),
    sa.Column('re_review_opinion', sa.Text(), nullable=True),
    sa.Column('closed_at', civicgrid.db.UTCDateTime(), nullable=True),
    sa.Column('due_at', civicgrid.db.UTCDateTime(), nullable=True),
    sa.Column('due_kind', sa.String(length=12), nullable=True),
    sa.Column('due_soon', sa.Boolean(), nullable=False),
    sa.Column('overdue', sa.Boolean(), nullable=False),
    sa.Column('calendar_note', sa.String(length=200), nullable=True),
    sa.Column('repeat_count', sa.Integer(), nullable=False),
    sa.Column('higher_visits_count', sa.Integer(), nullable=False),
    sa.Column('supervision_count', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('not_accepted_reason', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('updated_at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_petition_case_id_case')),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_petition_created_by_id_app_user')),
    sa.ForeignKeyConstraint(['desk_region_id'], ['region.id'], name=op.f('fk_petition_desk_region_id_region')),
    sa.ForeignKeyConstraint(['leader_user_id'], ['app_user.id'], name=op.f('fk_petition_leader_user_id_app_user')),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_petition_region_id_region')),
    sa.ForeignKeyConstraint(['subject_id'], ['petition_subject.id'], name=op.f('fk_petition_subject_id_petition_subject')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_petition_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_petition')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_petition_idempotency_key')),
    sa.UniqueConstraint('number', name=op.f('uq_petition_number'))
    )
    with op.batch_alter_table('petition', schema=None) as batch_op:
        batch_op.create_index('ix_petition_desk_state', ['desk_path', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_petition_leader_user_id'), ['leader_user_id'], unique=False)
        batch_op.create_index('ix_petition_region_received', ['region_path', 'received_at'], unique=False)
        batch_op.create_index('ix_petition_state_due', ['state', 'due_at'], unique=False)
        batch_op.create_index('ix_petition_subject_region', ['subject_id', 'region_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_petition_unit_id'), ['unit_id'], unique=False)

    op.create_table('dispute',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('number', sa.String(length=24), nullable=True),
    sa.Column('idempotency_key', sa.String(length=100), nullable=True),
    sa.Column('source', sa.String(length=12), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('petition_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('type_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('people_count', sa.Integer(), nullable=False),
    sa.Column('is_group', sa.Boolean(), nullable=False),
    sa.Column('risk_level', sa.String(length=10), nullable=False),
    sa.Column('criminal_risk', sa.Boolean(), nullable=False),
    sa.Column('criminal_risk_note', sa.String(length=300), nullable=True),
    sa.Column('assessment_note', sa.Text(), nullable=True),
    sa.Column('region_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('region_path', sa.String(length=255), nullable=False),
    sa.Column('desk_region_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('desk_path', sa.String(length=255), nullable=False),
    sa.Column('level', sa.Enum('CITY', 'DISTRICT', 'STREET', 'COMMUNITY', 'GRID', 'MICRO_GRID', name='regionlevel', native_enum=False, length=20), nullable=False),
    sa.Column('state', sa.Enum('REGISTERED', 'ASSESSED', 'ROUTED', 'MEDIATING', 'FAILED', 'FOLLOWING_UP', 'CLOSED', 'REFERRED', 'WITHDRAWN', 'DECLINED', name='disputestate', native_enum=False, length=20), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('mediator_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('mediation_level', sa.Enum('CITY', 'DISTRICT', 'STREET', 'COMMUNITY', 'GRID', 'MICRO_GRID', name='regionlevel', native_enum=False, length=20), nullable=True),
    sa.Column('received_at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.Column('assessed_at', civicgrid.db.UTCDateTime(), nullable=True),
    sa.Column('routed_at', civicgrid.db.UTCDateTime(), nullable=True),
    sa.Column('accepted_at', civicgrid.db.UTCDateTime(), nullable=True),
    sa.Column('outcome_at', civicgrid.db.UTCDateTime(), nullable=True),
    sa.Column('closed_at', civicgrid.db.UTCDateTime(), nullable=True),
    sa.Column('due_at', civicgrid.db.UTCDateTime(), nullable=True),
    sa.Column('overdue', sa.Boolean(), nullable=False),
    sa.Column('outcome', sa.String(length=12), nullable=True),
    sa.Column('outcome_note', sa.Text(), nullable=True),
    sa.Column('handover', sa.String(length=12), nullable=True),
    sa.Column('court_case_number', sa.String(length=60), nullable=True),
    sa.Column('sessions_count', sa.Integer(), nullable=False),
    sa.Column('escalations_count', sa.Integer(), nullable=False),
    sa.Column('returns_count', sa.Integer(), nullable=False),
    sa.Column('supervision_count', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('updated_at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('people_count >= 1', name=op.f('ck_dispute_people_count_positive')),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_dispute_case_id_case')),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_dispute_created_by_id_app_user')),
    sa.ForeignKeyConstraint(['desk_region_id'], ['region.id'], name=op.f('fk_dispute_desk_region_id_region')),
    sa.ForeignKeyConstraint(['mediator_id'], ['mediator.id'], name=op.f('fk_dispute_mediator_id_mediator')),
    sa.ForeignKeyConstraint(['org_id'], ['mediation_org.id'], name=op.f('fk_dispute_org_id_mediation_org')),
    sa.ForeignKeyConstraint(['petition_id'], ['petition.id'], name=op.f('fk_dispute_petition_id_petition')),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_dispute_region_id_region')),
    sa.ForeignKeyConstraint(['type_id'], ['dispute_type.id'], name=op.f('fk_dispute_type_id_dispute_type')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispute')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_dispute_idempotency_key')),
    sa.UniqueConstraint('number', name=op.f('uq_dispute_number'))
    )
    with op.batch_alter_table('dispute', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispute_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_dispute_desk_state', ['desk_path', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispute_mediator_id'), ['mediator_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispute_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispute_petition_id'), ['petition_id'], unique=False)
        batch_op.create_index('ix_dispute_region_received', ['region_path', 'received_at'], unique=False)
        batch_op.create_index('ix_dispute_state_due', ['state', 'due_at'], unique=False)

    op.create_table('petition_higher_visit',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('petition_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('visited_on', sa.Date(), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('recorded_at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['petition_id'], ['petition.id'], name=op.f('fk_petition_higher_visit_petition_id_petition')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['app_user.id'], name=op.f('fk_petition_higher_visit_recorded_by_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_petition_higher_visit'))
    )
    with op.batch_alter_table('petition_higher_visit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_petition_higher_visit_petition_id'), ['petition_id'], unique=False)

    op.create_table('petition_link',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('petition_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('related_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reason', sa.String(length=12), nullable=False),
    sa.ForeignKeyConstraint(['petition_id'], ['petition.id'], name=op.f('fk_petition_link_petition_id_petition')),
    sa.ForeignKeyConstraint(['related_id'], ['petition.id'], name=op.f('fk_petition_link_related_id_petition')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_petition_link')),
    sa.UniqueConstraint('petition_id', 'related_id', 'reason', name='uq_petition_link')
    )
    with op.batch_alter_table('petition_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_petition_link_petition_id'), ['petition_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_petition_link_related_id'), ['related_id'], unique=False)

    op.create_table('petitioner',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('petition_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('is_representative', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_petitioner_person_id_person')),
    sa.ForeignKeyConstraint(['petition_id'], ['petition.id'], name=op.f('fk_petitioner_petition_id_petition')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_petitioner')),
    sa.UniqueConstraint('petition_id', 'person_id', name='uq_petitioner_pair')
    )
    with op.batch_alter_table('petitioner', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_petitioner_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_petitioner_petition_id'), ['petition_id'], unique=False)

    op.create_table('dispute_party',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('dispute_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('role', sa.String(length=12), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('agent', sa.String(length=100), nullable=True),
    sa.Column('created_at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('(person_id IS NULL) <> (organisation_id IS NULL)', name=op.f('ck_dispute_party_person_or_organisation')),
    sa.ForeignKeyConstraint(['dispute_id'], ['dispute.id'], name=op.f('fk_dispute_party_dispute_id_dispute')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_dispute_party_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_dispute_party_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispute_party'))
    )
    with op.batch_alter_table('dispute_party', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispute_party_dispute_id'), ['dispute_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispute_party_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispute_party_person_id'), ['person_id'], unique=False)

    op.create_table('mediation_agreement',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('dispute_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('partial', sa.Boolean(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('signed_at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=True),
    sa.Column('total_amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_mediation_agreement_created_by_id_app_user')),
    sa.ForeignKeyConstraint(['dispute_id'], ['dispute.id'], name=op.f('fk_mediation_agreement_dispute_id_dispute')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mediation_agreement')),
    sa.UniqueConstraint('dispute_id', name=op.f('uq_mediation_agreement_dispute_id'))
    )
    op.create_table('mediation_campaign_item',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('dispute_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('owner_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('target_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['mediation_campaign.id'], name=op.f('fk_mediation_campaign_item_campaign_id_mediation_campaign')),
    sa.ForeignKeyConstraint(['community_id'], ['region.id'], name=op.f('fk_mediation_campaign_item_community_id_region')),
    sa.ForeignKeyConstraint(['dispute_id'], ['dispute.id'], name=op.f('fk_mediation_campaign_item_dispute_id_dispute')),
    sa.ForeignKeyConstraint(['owner_user_id'], ['app_user.id'], name=op.f('fk_mediation_campaign_item_owner_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mediation_campaign_item')),
    sa.UniqueConstraint('campaign_id', 'dispute_id', name='uq_campaign_item')
    )
    with op.batch_alter_table('mediation_campaign_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mediation_campaign_item_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('mediation_follow_up',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('dispute_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.Column('method', sa.String(length=12), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['by_id'], ['app_user.id'], name=op.f('fk_mediation_follow_up_by_id_app_user')),
    sa.ForeignKeyConstraint(['dispute_id'], ['dispute.id'], name=op.f('fk_mediation_follow_up_dispute_id_dispute')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mediation_follow_up'))
    )
    with op.batch_alter_table('mediation_follow_up', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mediation_follow_up_dispute_id'), ['dispute_id'], unique=False)

    op.create_table('mediation_session',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('dispute_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('held_at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('attendees', sa.Text(), nullable=False),
    sa.Column('record', sa.Text(), nullable=False),
    sa.Column('next_step', sa.String(length=300), nullable=True),
    sa.Column('mediator_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_mediation_session_created_by_id_app_user')),
    sa.ForeignKeyConstraint(['dispute_id'], ['dispute.id'], name=op.f('fk_mediation_session_dispute_id_dispute')),
    sa.ForeignKeyConstraint(['mediator_id'], ['mediator.id'], name=op.f('fk_mediation_session_mediator_id_mediator')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mediation_session'))
    )
    with op.batch_alter_table('mediation_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mediation_session_dispute_id'), ['dispute_id'], unique=False)

    op.create_table('mediation_obligation',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('agreement_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('dispute_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('obligor', sa.String(length=100), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('performed_at', civicgrid.db.UTCDateTime(), nullable=True),
    sa.Column('performed_note', sa.String(length=300), nullable=True),
    sa.Column('overdue', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['mediation_agreement.id'], name=op.f('fk_mediation_obligation_agreement_id_mediation_agreement')),
    sa.ForeignKeyConstraint(['dispute_id'], ['dispute.id'], name=op.f('fk_mediation_obligation_dispute_id_dispute')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mediation_obligation'))
    )
    with op.batch_alter_table('mediation_obligation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mediation_obligation_agreement_id'), ['agreement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mediation_obligation_dispute_id'), ['dispute_id'], unique=False)
        batch_op.create_index('ix_mediation_obligation_due', ['performed_at', 'overdue', 'due_on'], unique=False)

    _seed()


def downgrade() -> None:
    with op.batch_alter_table('mediation_obligation', schema=None) as batch_op:
        batch_op.drop_index('ix_mediation_obligation_due')
        batch_op.drop_index(batch_op.f('ix_mediation_obligation_dispute_id'))
        batch_op.drop_index(batch_op.f('ix_mediation_obligation_agreement_id'))

    op.drop_table('mediation_obligation')
    with op.batch_alter_table('mediation_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mediation_session_dispute_id'))

    op.drop_table('mediation_session')
    with op.batch_alter_table('mediation_follow_up', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mediation_follow_up_dispute_id'))

    op.drop_table('mediation_follow_up')
    with op.batch_alter_table('mediation_campaign_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mediation_campaign_item_campaign_id'))

    op.drop_table('mediation_campaign_item')
    op.drop_table('mediation_agreement')
    with op.batch_alter_table('dispute_party', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispute_party_person_id'))
        batch_op.drop_index(batch_op.f('ix_dispute_party_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_dispute_party_dispute_id'))

    op.drop_table('dispute_party')
    with op.batch_alter_table('petitioner', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_petitioner_petition_id'))
        batch_op.drop_index(batch_op.f('ix_petitioner_person_id'))

    op.drop_table('petitioner')
    with op.batch_alter_table('petition_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_petition_link_related_id'))
        batch_op.drop_index(batch_op.f('ix_petition_link_petition_id'))

    op.drop_table('petition_link')
    with op.batch_alter_table('petition_higher_visit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_petition_higher_visit_petition_id'))

    op.drop_table('petition_higher_visit')
    with op.batch_alter_table('dispute', schema=None) as batch_op:
        batch_op.drop_index('ix_dispute_state_due')
        batch_op.drop_index('ix_dispute_region_received')
        batch_op.drop_index(batch_op.f('ix_dispute_petition_id'))
        batch_op.drop_index(batch_op.f('ix_dispute_org_id'))
        batch_op.drop_index(batch_op.f('ix_dispute_mediator_id'))
        batch_op.drop_index('ix_dispute_desk_state')
        batch_op.drop_index(batch_op.f('ix_dispute_case_id'))

    op.drop_table('dispute')
    with op.batch_alter_table('petition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_petition_unit_id'))
        batch_op.drop_index('ix_petition_subject_region')
        batch_op.drop_index('ix_petition_state_due')
        batch_op.drop_index('ix_petition_region_received')
        batch_op.drop_index(batch_op.f('ix_petition_leader_user_id'))
        batch_op.drop_index('ix_petition_desk_state')

    op.drop_table('petition')
    with op.batch_alter_table('mediation_campaign_community', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mediation_campaign_community_campaign_id'))

    op.drop_table('mediation_campaign_community')
    with op.batch_alter_table('mediator', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mediator_user_id'))
        batch_op.drop_index(batch_op.f('ix_mediator_org_id'))

    op.drop_table('mediator')
    op.drop_table('mediation_campaign')
    op.drop_table('petition_subject')
    with op.batch_alter_table('mediation_org', schema=None) as batch_op:
        batch_op.drop_index('ix_mediation_org_region_path')

    op.drop_table('mediation_org')
    op.drop_table('dispute_type')
