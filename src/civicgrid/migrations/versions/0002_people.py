"""people: base data (人地事物组织), imports and review queue, people under care, five-colour risk

Revision ID: 0002_people
Revises: 0001
Create Date: 2026-11-22 20:23:33.592476
"""
import sqlalchemy as sa
from alembic import op

import civicgrid.db

revision = '0002_people'
down_revision = '0001'
branch_labels = None
depends_on = None


# The defaults shipped with 0002 (frozen here: later edits to the code's defaults do not rewrite history).
CARE_TYPES = [{'code': 'community_correction',
  'parent_code': None,
  'name_zh': '社区矫正对象',
  'name_en': 'Community correction',
  'visit_days': {'red': 7, 'orange': 7, 'yellow': 15, 'blue': 30, 'green': 30},
  'sort': 0,
  'active': True},
 {'code': 'released_prisoner',
  'parent_code': None,
  'name_zh': '刑满释放人员',
  'name_en': 'Released prisoner',
  'visit_days': {'red': 7, 'orange': 15, 'yellow': 30, 'blue': 60, 'green': 90},
  'sort': 1,
  'active': True},
 {'code': 'drug_rehab',
  'parent_code': None,
  'name_zh': '社区戒毒康复人员',
  'name_en': 'Drug user in community rehabilitation',
  'visit_days': {'red': 7, 'orange': 15, 'yellow': 15, 'blue': 30, 'green': 60},
  'sort': 2,
  'active': True},
 {'code': 'mental_illness',
  'parent_code': None,
  'name_zh': '严重精神障碍患者',
  'name_en': 'Severe mental illness',
  'visit_days': {'red': 7, 'orange': 14, 'yellow': 30, 'blue': 30, 'green': 90},
  'sort': 3,
  'active': True},
 {'code': 'hiv_risk',
  'parent_code': None,
  'name_zh': '艾滋病危险人员',
  'name_en': 'HIV-risk person',
  'visit_days': {'red': 7, 'orange': 15, 'yellow': 30, 'blue': 60, 'green': 90},
  'sort': 4,
  'active': True},
 {'code': 'key_youth',
  'parent_code': None,
  'name_zh': '重点青少年',
  'name_en': 'Key youth',
  'visit_days': {'red': 7, 'orange': 15, 'yellow': 30, 'blue': 60, 'green': 90},
  'sort': 5,
  'active': True},
 {'code': 'key_youth_idle',
  'parent_code': 'key_youth',
  'name_zh': '闲散青少年',
  'name_en': 'Idle youth',
  'visit_days': {'red': 7, 'orange': 15, 'yellow': 30, 'blue': 60, 'green': 90},
  'sort': 6,
  'active': True},
 {'code': 'key_youth_misconduct',
  'parent_code': 'key_youth',
  'name_zh': '有不良行为青少年',
  'name_en': 'Youth with misconduct',
  'visit_days': {'red': 7, 'orange': 15, 'yellow': 30, 'blue': 60, 'green': 90},
  'sort': 7,
  'active': True},
 {'code': 'key_youth_vagrant',
  'parent_code': 'key_youth',
  'name_zh': '流浪乞讨未成年人',
  'name_en': 'Vagrant or begging minor',
  'visit_days': {'red': 7, 'orange': 15, 'yellow': 30, 'blue': 60, 'green': 90},
  'sort': 8,
  'active': True},
 {'code': 'key_youth_prisoner_child',
  'parent_code': 'key_youth',
  'name_zh': '服刑人员未成年子女',
  'name_en': 'Minor child of a prisoner',
  'visit_days': {'red': 7, 'orange': 15, 'yellow': 30, 'blue': 60, 'green': 90},
  'sort': 9,
  'active': True},
 {'code': 'key_youth_rural_left_behind',
  'parent_code': 'key_youth',
  'name_zh': '农村留守儿童',
  'name_en': 'Rural left-behind child',
  'visit_days': {'red': 7, 'orange': 15, 'yellow': 30, 'blue': 60, 'green': 90},
  'sort': 10,
  'active': True},
 {'code': 'left_behind_child',
  'parent_code': None,
  'name_zh': '留守儿童',
  'name_en': 'Left-behind child',
  'visit_days': {'red': 7, 'orange': 15, 'yellow': 30, 'blue': 60, 'green': 90},
  'sort': 11,
  'active': True},
 {'code': 'empty_nest_elderly',
  'parent_code': None,
  'name_zh': '空巢老人',
  'name_en': 'Empty-nest elderly',
  'visit_days': {'red': 7, 'orange': 15, 'yellow': 30, 'blue': 60, 'green': 90},
  'sort': 12,
  'active': True},
 {'code': 'solitary_elderly',
  'parent_code': None,
  'name_zh': '独居老人',
  'name_en': 'Solitary elderly',
  'visit_days': {'red': 7, 'orange': 15, 'yellow': 30, 'blue': 60, 'green': 90},
  'sort': 13,
  'active': True},
 {'code': 'hardship_family',
  'parent_code': None,
  'name_zh': '困难家庭',
  'name_en': 'Family in hardship',
  'visit_days': {'red': 7, 'orange': 15, 'yellow': 30, 'blue': 60, 'green': 90},
  'sort': 14,
  'active': True}]

RISK_RULES = [{'code': 'care_level_key',
  'subject': 'care',
  'kind': 'care_level',
  'params': {'level': 'key'},
  'colour': 'orange',
  'label_zh': '管控等级为重点关注',
  'label_en': 'Care level is close attention',
  'active': True},
 {'code': 'care_level_focus',
  'subject': 'care',
  'kind': 'care_level',
  'params': {'level': 'focus'},
  'colour': 'yellow',
  'label_zh': '管控等级为一般关注',
  'label_en': 'Care level is attention',
  'active': True},
 {'code': 'care_level_routine',
  'subject': 'care',
  'kind': 'care_level',
  'params': {'level': 'routine'},
  'colour': 'blue',
  'label_zh': '管控等级为日常关怀',
  'label_en': 'Care level is routine care',
  'active': True},
 {'code': 'care_visit_overdue',
  'subject': 'care',
  'kind': 'visit_overdue',
  'params': {'days': 0},
  'colour': 'orange',
  'label_zh': '走访逾期',
  'label_en': 'A visit is overdue',
  'active': True},
 {'code': 'care_visit_overdue_30',
  'subject': 'care',
  'kind': 'visit_overdue',
  'params': {'days': 30},
  'colour': 'red',
  'label_zh': '走访逾期超过30天',
  'label_en': 'A visit is more than 30 days overdue',
  'active': True},
 {'code': 'care_recent_case',
  'subject': 'care',
  'kind': 'recent_cases',
  'params': {'days': 90, 'count': 1},
  'colour': 'yellow',
  'label_zh': '近90天涉及事件',
  'label_en': 'Involved in a case in the last 90 days',
  'active': True},
 {'code': 'care_recent_cases_3',
  'subject': 'care',
  'kind': 'recent_cases',
  'params': {'days': 90, 'count': 3},
  'colour': 'red',
  'label_zh': '近90天涉及3起以上事件',
  'label_en': 'Involved in 3 or more cases in the last 90 days',
  'active': True},
 {'code': 'care_open_case',
  'subject': 'care',
  'kind': 'open_cases',
  'params': {'count': 1},
  'colour': 'orange',
  'label_zh': '涉及未办结的事件或纠纷',
  'label_en': 'Involved in an open case or dispute',
  'active': True},
 {'code': 'place_failed_inspection',
  'subject': 'place',
  'kind': 'failed_inspection',
  'params': {'days': 180},
  'colour': 'orange',
  'label_zh': '近180天检查未通过',
  'label_en': 'Failed an inspection in the last 180 days',
  'active': True},
 {'code': 'place_hazards',
  'subject': 'place',
  'kind': 'hazards',
  'params': {'days': 180, 'min': 3},
  'colour': 'red',
  'label_zh': '近180天检查发现3处以上隐患',
  'label_en': '3 or more hazards found in the last 180 days',
  'active': True},
 {'code': 'place_not_inspected',
  'subject': 'place',
  'kind': 'not_inspected',
  'params': {'days': 365},
  'colour': 'yellow',
  'label_zh': '一年内未检查',
  'label_en': 'Not inspected for a year',
  'active': True},
 {'code': 'house_crowded_rent',
  'subject': 'house',
  'kind': 'tenants',
  'params': {'min': 5},
  'colour': 'yellow',
  'label_zh': '在租人员5人以上（疑似群租）',
  'label_en': '5 or more current tenants (possible group renting)',
  'active': True},
 {'code': 'house_care_resident',
  'subject': 'house',
  'kind': 'care_residents',
  'params': {'colours': ['red', 'orange']},
  'colour': 'orange',
  'label_zh': '居住有红色或橙色管控的重点人员',
  'label_en': 'Home of a person under care at red or orange',
  'active': True},
 {'code': 'grid_red_subjects',
  'subject': 'grid',
  'kind': 'subjects_at',
  'params': {'colour': 'red', 'min': 1},
  'colour': 'orange',
  'label_zh': '网格内有红色管控对象',
  'label_en': 'A subject in the grid is red',
  'active': True},
 {'code': 'grid_red_subjects_3',
  'subject': 'grid',
  'kind': 'subjects_at',
  'params': {'colour': 'red', 'min': 3},
  'colour': 'red',
  'label_zh': '网格内红色管控对象3个以上',
  'label_en': '3 or more subjects in the grid are red',
  'active': True},
 {'code': 'grid_orange_subjects',
  'subject': 'grid',
  'kind': 'subjects_at',
  'params': {'colour': 'orange', 'min': 3},
  'colour': 'yellow',
  'label_zh': '网格内橙色管控对象3个以上',
  'label_en': '3 or more subjects in the grid are orange',
  'active': True},
 {'code': 'grid_open_cases',
  'subject': 'grid',
  'kind': 'open_cases',
  'params': {'min': 10},
  'colour': 'yellow',
  'label_zh': '网格内未办结事件10件以上',
  'label_en': '10 or more open cases in the grid',
  'active': True}]


def upgrade() -> None:
    # house/household ↔ person reference each other: PostgreSQL gets those two foreign keys
    # after both tables exist; SQLite accepts them inline (it cannot add one later).
    sqlite = op.get_bind().dialect.name == "sqlite"
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table('care_type',
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('name_zh', sa.String(length=60), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=False),
    sa.Column('parent_code', sa.String(length=30), nullable=True),
    sa.Column('visit_days', sa.JSON(), nullable=False),
    sa.Column('sort', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['parent_code'], ['care_type.code'], name=op.f('fk_care_type_parent_code_care_type')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_care_type'))
    )
    op.create_table('risk_rule',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=10), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('colour', sa.String(length=8), nullable=False),
    sa.Column('label_zh', sa.String(length=200), nullable=False),
    sa.Column('label_en', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_rule')),
    sa.UniqueConstraint('code', name=op.f('uq_risk_rule_code'))
    )
    op.create_table('building',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('floors', sa.Integer(), nullable=True),
    sa.Column('units', sa.Integer(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('created_at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.Column('region_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('region_path', sa.String(length=255), nullable=False),
    sa.Column('grid_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['grid_id'], ['region.id'], name=op.f('fk_building_grid_id_region')),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_building_region_id_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_building'))
    )
    with op.batch_alter_table('building', schema=None) as batch_op:
        batch_op.create_index('ix_building_region_path', ['region_path'], unique=False)

    op.create_table('organisation',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=True),
    sa.Column('legal_representative', sa.String(length=60), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('members', sa.Integer(), nullable=True),
    sa.Column('created_at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.Column('region_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('region_path', sa.String(length=255), nullable=False),
    sa.Column('grid_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['grid_id'], ['region.id'], name=op.f('fk_organisation_grid_id_region')),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_organisation_region_id_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisation')),
    sa.UniqueConstraint('uscc', name=op.f('uq_organisation_uscc'))
    )
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.create_index('ix_organisation_region_path', ['region_path'], unique=False)

    op.create_table('house',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('building_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('unit_no', sa.String(length=20), nullable=False),
    sa.Column('room_no', sa.String(length=20), nullable=False),
    sa.Column('use', sa.String(length=12), nullable=False),
    sa.Column('area_m2', sa.Float(), nullable=True),
    sa.Column('owner_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('created_at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.Column('region_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('region_path', sa.String(length=255), nullable=False),
    sa.Column('grid_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['building_id'], ['building.id'], name=op.f('fk_house_building_id_building')),
    sa.ForeignKeyConstraint(['grid_id'], ['region.id'], name=op.f('fk_house_grid_id_region')),
    *([sa.ForeignKeyConstraint(['owner_person_id'], ['person.id'], name='fk_house_owner_person_id_person')] if sqlite else []),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_house_region_id_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_house'))
    )
    with op.batch_alter_table('house', schema=None) as batch_op:
        batch_op.create_index('ix_house_building', ['building_id'], unique=False)
        batch_op.create_index('ix_house_region_path', ['region_path'], unique=False)

    op.create_table('thing',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=150), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('unit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.Column('region_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('region_path', sa.String(length=255), nullable=False),
    sa.Column('grid_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['grid_id'], ['region.id'], name=op.f('fk_thing_grid_id_region')),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_thing_region_id_region')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_thing_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_thing')),
    sa.UniqueConstraint('code', name=op.f('uq_thing_code'))
    )
    with op.batch_alter_table('thing', schema=None) as batch_op:
        batch_op.create_index('ix_thing_region_path', ['region_path'], unique=False)

    op.create_table('household',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('house_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('head_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.Column('region_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('region_path', sa.String(length=255), nullable=False),
    sa.Column('grid_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['grid_id'], ['region.id'], name=op.f('fk_household_grid_id_region')),
    *([sa.ForeignKeyConstraint(['head_person_id'], ['person.id'], name='fk_household_head_person_id_person')] if sqlite else []),
    sa.ForeignKeyConstraint(['house_id'], ['house.id'], name=op.f('fk_household_house_id_house')),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_household_region_id_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household')),
    sa.UniqueConstraint('number', name=op.f('uq_household_number'))
    )
    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.create_index('ix_household_region_path', ['region_path'], unique=False)

    op.create_table('import_batch',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('entity', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=60), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('actor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('region_path', sa.String(length=255), nullable=False),
    sa.Column('at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('merged', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('queued', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('repeat_of_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['app_user.id'], name=op.f('fk_import_batch_actor_id_app_user')),
    sa.ForeignKeyConstraint(['repeat_of_id'], ['import_batch.id'], name=op.f('fk_import_batch_repeat_of_id_import_batch')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_batch'))
    )
    with op.batch_alter_table('import_batch', schema=None) as batch_op:
        batch_op.create_index('ix_import_batch_sha', ['sha256', 'source'], unique=False)

    op.create_table('risk_colour',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('subject', sa.String(length=10), nullable=False),
    sa.Column('subject_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('region_path', sa.String(length=255), nullable=False),
    sa.Column('colour', sa.String(length=8), nullable=False),
    sa.Column('computed_colour', sa.String(length=8), nullable=False),
    sa.Column('explanation', sa.JSON(), nullable=False),
    sa.Column('override_colour', sa.String(length=8), nullable=True),
    sa.Column('override_reason', sa.String(length=300), nullable=True),
    sa.Column('override_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('override_until', sa.Date(), nullable=True),
    sa.Column('computed_at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['override_by_id'], ['app_user.id'], name=op.f('fk_risk_colour_override_by_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_colour')),
    sa.UniqueConstraint('subject', 'subject_id', name='uq_risk_colour_subject')
    )
    with op.batch_alter_table('risk_colour', schema=None) as batch_op:
        batch_op.create_index('ix_risk_colour_region', ['subject', 'region_path'], unique=False)

    op.create_table('import_row',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('row_no', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=12), nullable=False),
    sa.Column('record_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('message_zh', sa.String(length=500), nullable=False),
    sa.Column('message_en', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batch.id'], name=op.f('fk_import_row_batch_id_import_batch')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_row'))
    )
    with op.batch_alter_table('import_row', schema=None) as batch_op:
        batch_op.create_index('ix_import_row_batch', ['batch_id', 'row_no'], unique=False)

    op.create_table('person',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('id_kind', sa.String(length=12), nullable=True),
    sa.Column('id_cipher', sa.LargeBinary(), nullable=True),
    sa.Column('id_hash', sa.String(length=32), nullable=True),
    sa.Column('id_masked', sa.String(length=40), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('gender', sa.String(length=1), nullable=True),
    sa.Column('phone_cipher', sa.LargeBinary(), nullable=True),
    sa.Column('phone_hash', sa.String(length=32), nullable=True),
    sa.Column('phone_masked', sa.String(length=30), nullable=True),
    sa.Column('population_type', sa.String(length=16), nullable=False),
    sa.Column('ethnicity', sa.String(length=20), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('house_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('household_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('relation_to_head', sa.String(length=12), nullable=True),
    sa.Column('work_unit', sa.String(length=200), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('provenance', sa.JSON(), nullable=False),
    sa.Column('under_care', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.Column('region_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('region_path', sa.String(length=255), nullable=False),
    sa.Column('grid_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['grid_id'], ['region.id'], name=op.f('fk_person_grid_id_region')),
    sa.ForeignKeyConstraint(['house_id'], ['house.id'], name=op.f('fk_person_house_id_house')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_person_household_id_household')),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_person_region_id_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person')),
    sa.UniqueConstraint('id_hash', name=op.f('uq_person_id_hash'))
    )
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index('ix_person_house', ['house_id'], unique=False)
        batch_op.create_index('ix_person_household', ['household_id'], unique=False)
        batch_op.create_index('ix_person_name_birth', ['name', 'birth_date'], unique=False)
        batch_op.create_index('ix_person_name_birth_noid', ['name', 'birth_date'], unique=False,
                              sqlite_where=sa.text('id_hash IS NULL'), postgresql_where=sa.text('id_hash IS NULL'))
        batch_op.create_index('ix_person_phone_hash', ['phone_hash'], unique=False)
        batch_op.create_index('ix_person_region_path', ['region_path', 'id'], unique=False)
    if not sqlite:
        # Prefix search by name (LIKE '张%') needs the pattern operator class under a locale collation.
        op.create_index('ix_person_name_pattern', 'person', ['name'], unique=False,
                        postgresql_ops={'name': 'text_pattern_ops'})
        op.create_foreign_key('fk_house_owner_person_id_person', 'house', 'person', ['owner_person_id'], ['id'])
        op.create_foreign_key('fk_household_head_person_id_person', 'household', 'person', ['head_person_id'], ['id'])

    op.create_table('care_record',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('type_code', sa.String(length=30), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('colour', sa.String(length=8), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('start_reason', sa.String(length=300), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('end_reason', sa.String(length=300), nullable=True),
    sa.Column('last_visit_at', civicgrid.db.UTCDateTime(), nullable=True),
    sa.Column('next_visit_due', civicgrid.db.UTCDateTime(), nullable=True),
    sa.Column('alerted_due', civicgrid.db.UTCDateTime(), nullable=True),
    sa.Column('visit_overdue', sa.Boolean(), nullable=False),
    sa.Column('created_at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.Column('region_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('region_path', sa.String(length=255), nullable=False),
    sa.Column('grid_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['grid_id'], ['region.id'], name=op.f('fk_care_record_grid_id_region')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_care_record_person_id_person')),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_care_record_region_id_region')),
    sa.ForeignKeyConstraint(['type_code'], ['care_type.code'], name=op.f('fk_care_record_type_code_care_type')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_record'))
    )
    with op.batch_alter_table('care_record', schema=None) as batch_op:
        batch_op.create_index('ix_care_record_due', ['active', 'next_visit_due'], unique=False)
        batch_op.create_index('ix_care_record_person', ['person_id'], unique=False)
        batch_op.create_index('ix_care_record_region', ['region_path', 'active'], unique=False)

    op.create_table('case_person',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_case_person_case_id_case')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_case_person_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_person')),
    sa.UniqueConstraint('case_id', 'person_id', name='uq_case_person_pair')
    )
    with op.batch_alter_table('case_person', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_person_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_person_person_id'), ['person_id'], unique=False)

    op.create_table('place',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=150), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('person_in_charge_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('contact_name', sa.String(length=60), nullable=False),
    sa.Column('contact_phone_cipher', sa.LargeBinary(), nullable=True),
    sa.Column('contact_phone_masked', sa.String(length=30), nullable=True),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.Column('region_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('region_path', sa.String(length=255), nullable=False),
    sa.Column('grid_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['grid_id'], ['region.id'], name=op.f('fk_place_grid_id_region')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_place_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['person_in_charge_id'], ['person.id'], name=op.f('fk_place_person_in_charge_id_person')),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_place_region_id_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_place'))
    )
    with op.batch_alter_table('place', schema=None) as batch_op:
        batch_op.create_index('ix_place_region_path', ['region_path'], unique=False)

    op.create_table('review_item',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('row_no', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('incoming', sa.JSON(), nullable=False),
    sa.Column('incoming_id_cipher', sa.LargeBinary(), nullable=True),
    sa.Column('incoming_phone_cipher', sa.LargeBinary(), nullable=True),
    sa.Column('dedupe_key', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('region_path', sa.String(length=255), nullable=False),
    sa.Column('resolved_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('resolved_at', civicgrid.db.UTCDateTime(), nullable=True),
    sa.Column('result_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batch.id'], name=op.f('fk_review_item_batch_id_import_batch')),
    sa.ForeignKeyConstraint(['candidate_id'], ['person.id'], name=op.f('fk_review_item_candidate_id_person')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['app_user.id'], name=op.f('fk_review_item_resolved_by_id_app_user')),
    sa.ForeignKeyConstraint(['result_person_id'], ['person.id'], name=op.f('fk_review_item_result_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_item')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_review_item_dedupe_key'))
    )
    with op.batch_alter_table('review_item', schema=None) as batch_op:
        batch_op.create_index('ix_review_item_status_path', ['status', 'region_path'], unique=False)

    op.create_table('tenancy',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('house_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['house_id'], ['house.id'], name=op.f('fk_tenancy_house_id_house')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_tenancy_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenancy'))
    )
    with op.batch_alter_table('tenancy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tenancy_house_id'), ['house_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tenancy_person_id'), ['person_id'], unique=False)

    op.create_table('care_visit',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('care_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.Column('visitor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('visitor_name', sa.String(length=100), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('findings', sa.Text(), nullable=False),
    sa.Column('next_step', sa.String(length=300), nullable=False),
    sa.Column('photo_sha256', sa.String(length=64), nullable=True),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['care_id'], ['care_record.id'], name=op.f('fk_care_visit_care_id_care_record')),
    sa.ForeignKeyConstraint(['visitor_id'], ['app_user.id'], name=op.f('fk_care_visit_visitor_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_visit'))
    )
    with op.batch_alter_table('care_visit', schema=None) as batch_op:
        batch_op.create_index('ix_care_visit_care_at', ['care_id', 'at'], unique=False)

    op.create_table('caretaker',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('care_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('phone_masked', sa.String(length=30), nullable=True),
    sa.Column('phone_cipher', sa.LargeBinary(), nullable=True),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('since', civicgrid.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['care_id'], ['care_record.id'], name=op.f('fk_caretaker_care_id_care_record')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_caretaker_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_caretaker'))
    )
    with op.batch_alter_table('caretaker', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_caretaker_care_id'), ['care_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_caretaker_user_id'), ['user_id'], unique=False)

    op.create_table('place_inspection',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('place_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', civicgrid.db.UTCDateTime(), nullable=False),
    sa.Column('inspector_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('hazards', sa.Integer(), nullable=False),
    sa.Column('findings', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['inspector_id'], ['app_user.id'], name=op.f('fk_place_inspection_inspector_id_app_user')),
    sa.ForeignKeyConstraint(['place_id'], ['place.id'], name=op.f('fk_place_inspection_place_id_place')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_place_inspection'))
    )
    with op.batch_alter_table('place_inspection', schema=None) as batch_op:
        batch_op.create_index('ix_place_inspection_place_at', ['place_id', 'at'], unique=False)

    care_type = sa.table('care_type', sa.column('code', sa.String), sa.column('parent_code', sa.String),
                         sa.column('name_zh', sa.String), sa.column('name_en', sa.String),
                         sa.column('visit_days', sa.JSON), sa.column('sort', sa.Integer), sa.column('active', sa.Boolean))
    op.bulk_insert(care_type, CARE_TYPES)
    risk_rule = sa.table('risk_rule', sa.column('code', sa.String), sa.column('subject', sa.String),
                         sa.column('kind', sa.String), sa.column('params', sa.JSON), sa.column('colour', sa.String),
                         sa.column('label_zh', sa.String), sa.column('label_en', sa.String),
                         sa.column('active', sa.Boolean))
    op.bulk_insert(risk_rule, RISK_RULES)
    # ### end Alembic commands ###


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint('fk_house_owner_person_id_person', 'house', type_='foreignkey')
        op.drop_constraint('fk_household_head_person_id_person', 'household', type_='foreignkey')
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table('place_inspection', schema=None) as batch_op:
        batch_op.drop_index('ix_place_inspection_place_at')

    op.drop_table('place_inspection')
    with op.batch_alter_table('caretaker', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_caretaker_user_id'))
        batch_op.drop_index(batch_op.f('ix_caretaker_care_id'))

    op.drop_table('caretaker')
    with op.batch_alter_table('care_visit', schema=None) as batch_op:
        batch_op.drop_index('ix_care_visit_care_at')

    op.drop_table('care_visit')
    with op.batch_alter_table('tenancy', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tenancy_person_id'))
        batch_op.drop_index(batch_op.f('ix_tenancy_house_id'))

    op.drop_table('tenancy')
    with op.batch_alter_table('review_item', schema=None) as batch_op:
        batch_op.drop_index('ix_review_item_status_path')

    op.drop_table('review_item')
    with op.batch_alter_table('place', schema=None) as batch_op:
        batch_op.drop_index('ix_place_region_path')

    op.drop_table('place')
    with op.batch_alter_table('case_person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_person_person_id'))
        batch_op.drop_index(batch_op.f('ix_case_person_case_id'))

    op.drop_table('case_person')
    with op.batch_alter_table('care_record', schema=None) as batch_op:
        batch_op.drop_index('ix_care_record_region')
        batch_op.drop_index('ix_care_record_person')
        batch_op.drop_index('ix_care_record_due')

    op.drop_table('care_record')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index('ix_person_region_path')
        batch_op.drop_index('ix_person_phone_hash')
        batch_op.drop_index('ix_person_name_birth_noid')
        batch_op.drop_index('ix_person_name_birth')
        batch_op.drop_index('ix_person_household')
        batch_op.drop_index('ix_person_house')

    op.drop_table('person')
    with op.batch_alter_table('import_row', schema=None) as batch_op:
        batch_op.drop_index('ix_import_row_batch')

    op.drop_table('import_row')
    with op.batch_alter_table('risk_colour', schema=None) as batch_op:
        batch_op.drop_index('ix_risk_colour_region')

    op.drop_table('risk_colour')
    with op.batch_alter_table('import_batch', schema=None) as batch_op:
        batch_op.drop_index('ix_import_batch_sha')

    op.drop_table('import_batch')
    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.drop_index('ix_household_region_path')

    op.drop_table('household')
    with op.batch_alter_table('thing', schema=None) as batch_op:
        batch_op.drop_index('ix_thing_region_path')

    op.drop_table('thing')
    with op.batch_alter_table('house', schema=None) as batch_op:
        batch_op.drop_index('ix_house_region_path')
        batch_op.drop_index('ix_house_building')

    op.drop_table('house')
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_index('ix_organisation_region_path')

    op.drop_table('organisation')
    with op.batch_alter_table('building', schema=None) as batch_op:
        batch_op.drop_index('ix_building_region_path')

    op.drop_table('building')
    op.drop_table('risk_rule')
    op.drop_table('care_type')
    # ### end Alembic commands ###
