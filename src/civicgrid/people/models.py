"""Base data tables (人、地、事、物、组织 after GB/T 31000-2015), imports and review, care, risk.

Every record carries its region (``region_id``, ``region_path`` copied from the region,
``grid_id`` when known) so scope is one index range, as for cases. Identifiers that name
a person (ID numbers, other documents, phones) are stored only as ciphertext, a keyed
lookup hash and a masked form (see ``people/crypto.py``).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from civicgrid.db import Base, BigId, UTCDateTime, utcnow

# --------------------------------------------------------------------------------------
# Choices are data: value → (中文, English) in one place
# --------------------------------------------------------------------------------------

POPULATION_TYPES = {
    "registered": ("户籍人口", "Registered resident"),
    "floating": ("流动人口", "Floating population"),
    "overseas": ("境外人员", "Overseas person"),
    "left_behind": ("留守人员", "Left-behind person"),
}

ID_KINDS = {
    "resident": ("居民身份证", "Resident ID card"),
    "passport": ("护照", "Passport"),
    "hk_macao": ("港澳居民来往内地通行证", "Home-return permit (HK/Macao)"),
    "taiwan": ("台湾居民来往大陆通行证", "Mainland travel permit (Taiwan)"),
    "foreign_pr": ("外国人永久居留身份证", "Foreigner's permanent residence ID"),
    "other": ("其他证件", "Other document"),
}

GENDERS = {"M": ("男", "Male"), "F": ("女", "Female")}

RELATIONS = {
    "head": ("户主", "Head"),
    "spouse": ("配偶", "Spouse"),
    "child": ("子女", "Child"),
    "parent": ("父母", "Parent"),
    "grandchild": ("孙子女", "Grandchild"),
    "grandparent": ("祖父母/外祖父母", "Grandparent"),
    "sibling": ("兄弟姐妹", "Sibling"),
    "other": ("其他", "Other"),
}

HOUSE_USES = {
    "own": ("自住", "Owner-occupied"),
    "rented": ("出租", "Rented"),
    "vacant": ("空置", "Vacant"),
    "commercial": ("商用", "Commercial"),
}

PLACE_KINDS = {
    "school": ("学校", "School"),
    "hospital": ("医院", "Hospital"),
    "hotel": ("旅馆", "Hotel"),
    "internet_cafe": ("网吧", "Internet café"),
    "market": ("市场", "Market"),
    "construction": ("建筑工地", "Construction site"),
    "hazchem": ("危化品场所", "Hazardous-chemical site"),
    "crowded": ("人员密集场所", "Crowded place"),
    "other": ("其他场所", "Other place"),
}

ORG_KINDS = {
    "non_public_economic": ("非公有制经济组织", "Non-public economic organisation"),
    "social": ("社会组织", "Social organisation"),
    "self_governing": ("基层群众自治组织", "Self-governing organisation"),
    "governance_team": ("群防群治队伍", "Community safety team"),
}

THING_KINDS = {
    "camera": ("视频监控", "Camera"),
    "fire_hydrant": ("消防栓", "Fire hydrant"),
    "manhole": ("井盖", "Manhole cover"),
    "smoke_sensor": ("烟感", "Smoke sensor"),
    "streetlight": ("路灯", "Street light"),
    "other": ("其他部件", "Other facility"),
}


class Colour(enum.StrEnum):
    """Five-colour risk (五色管控), most severe first."""

    RED = "red"
    ORANGE = "orange"
    YELLOW = "yellow"
    BLUE = "blue"
    GREEN = "green"

    @property
    def severity(self) -> int:
        """4 for red … 0 for green."""
        return len(COLOUR_ORDER) - 1 - COLOUR_ORDER.index(self)


COLOUR_ORDER = list(Colour)
COLOUR_LABELS = {
    Colour.RED: ("红色（高风险）", "Red (high risk)"),
    Colour.ORANGE: ("橙色（较高风险）", "Orange (elevated risk)"),
    Colour.YELLOW: ("黄色（一般风险）", "Yellow (moderate risk)"),
    Colour.BLUE: ("蓝色（低风险）", "Blue (low risk)"),
    Colour.GREEN: ("绿色（正常）", "Green (normal)"),
}
COLOUR_HEX = {
    Colour.RED: "#d93025", Colour.ORANGE: "#f28c28", Colour.YELLOW: "#f4c20d",
    Colour.BLUE: "#3b78e7", Colour.GREEN: "#34a853",
}

CARE_LEVELS = {
    "key": ("重点关注", "Close attention"),
    "focus": ("一般关注", "Attention"),
    "routine": ("日常关怀", "Routine care"),
}

CARETAKER_KINDS = {
    "grid_worker": ("网格员", "Grid worker"),
    "police": ("社区民警", "Community police"),
    "social_worker": ("社工", "Social worker"),
    "family": ("家属", "Family member"),
    "other": ("其他", "Other"),
}


class Scoped:
    """Columns every base-data record has: its region (path copied for range scans) and grid."""

    @declared_attr
    def region_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("region.id"), nullable=False)

    @declared_attr
    def region_path(cls) -> Mapped[str]:
        return mapped_column(String(255), nullable=False)

    @declared_attr
    def grid_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("region.id"), nullable=True)


# --------------------------------------------------------------------------------------
# 人 — persons and households
# --------------------------------------------------------------------------------------


class Household(Scoped, Base):
    """A household (户) with its number and address; members point to it with their relation."""

    __tablename__ = "household"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    house_id: Mapped[int | None] = mapped_column(ForeignKey("house.id"), nullable=True)
    head_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", use_alter=True, name="fk_household_head_person_id_person"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_household_region_path", "region_path"),)


class Person(Scoped, Base):
    """One person, one record (一人一档). The document number lives only encrypted and hashed."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(60), nullable=False)
    id_kind: Mapped[str | None] = mapped_column(String(12), nullable=True)
    id_cipher: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    id_hash: Mapped[str | None] = mapped_column(String(32), nullable=True, unique=True)
    id_masked: Mapped[str | None] = mapped_column(String(40), nullable=True)
    birth_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    gender: Mapped[str | None] = mapped_column(String(1), nullable=True)
    phone_cipher: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    phone_hash: Mapped[str | None] = mapped_column(String(32), nullable=True)
    phone_masked: Mapped[str | None] = mapped_column(String(30), nullable=True)
    population_type: Mapped[str] = mapped_column(String(16), default="registered")
    ethnicity: Mapped[str | None] = mapped_column(String(20), nullable=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    house_id: Mapped[int | None] = mapped_column(ForeignKey("house.id"), nullable=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"), nullable=True)
    relation_to_head: Mapped[str | None] = mapped_column(String(12), nullable=True)
    work_unit: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    # field → {"source": department, "at": ISO date of the value, "batch": import id}
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    under_care: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        Index("ix_person_name_birth", "name", "birth_date"),
        # Matching a row that has an ID number only needs persons without one: a small index.
        Index("ix_person_name_birth_noid", "name", "birth_date", sqlite_where=text("id_hash IS NULL"),
              postgresql_where=text("id_hash IS NULL")),
        Index("ix_person_region_path", "region_path", "id"),
        Index("ix_person_phone_hash", "phone_hash"),
        Index("ix_person_household", "household_id"),
        Index("ix_person_house", "house_id"),
        Index("ix_person_name_pattern", "name", postgresql_ops={"name": "text_pattern_ops"}),
    )


# --------------------------------------------------------------------------------------
# 地 — buildings, houses, tenancies, places
# --------------------------------------------------------------------------------------


class Building(Scoped, Base):
    """A building (楼栋) with its address, position, floors and units."""

    __tablename__ = "building"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    address: Mapped[str] = mapped_column(String(300), nullable=False)
    floors: Mapped[int | None] = mapped_column(Integer, nullable=True)
    units: Mapped[int | None] = mapped_column(Integer, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_building_region_path", "region_path"),)


class House(Scoped, Base):
    """A house or flat (房屋): use, owner, and for rented houses the tenancies (出租房屋登记)."""

    __tablename__ = "house"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("building.id"), nullable=True)
    address: Mapped[str] = mapped_column(String(300), nullable=False)
    unit_no: Mapped[str] = mapped_column(String(20), default="")
    room_no: Mapped[str] = mapped_column(String(20), default="")
    use: Mapped[str] = mapped_column(String(12), default="own")
    area_m2: Mapped[float | None] = mapped_column(Float, nullable=True)
    owner_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", use_alter=True, name="fk_house_owner_person_id_person"), nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_house_region_path", "region_path"), Index("ix_house_building", "building_id"))


class Tenancy(Base):
    """A tenant living in a rented house between two dates."""

    __tablename__ = "tenancy"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    house_id: Mapped[int] = mapped_column(ForeignKey("house.id"), nullable=False, index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False, index=True)
    start_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    end_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str] = mapped_column(String(200), default="")


class Place(Scoped, Base):
    """A place (场所): school, hospital, hotel, internet café…, with its person in charge."""

    __tablename__ = "place"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(150), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    address: Mapped[str] = mapped_column(String(300), default="")
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    person_in_charge_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), nullable=True)
    contact_name: Mapped[str] = mapped_column(String(60), default="")
    contact_phone_cipher: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    contact_phone_masked: Mapped[str | None] = mapped_column(String(30), nullable=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_place_region_path", "region_path"),)


class PlaceInspection(Base):
    """One inspection of a place: when, by whom, passed or not, what was found."""

    __tablename__ = "place_inspection"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id"), nullable=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    passed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    hazards: Mapped[int] = mapped_column(Integer, default=0)
    findings: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_place_inspection_place_at", "place_id", "at"),)


# --------------------------------------------------------------------------------------
# 组织、物 — organisations and things
# --------------------------------------------------------------------------------------


class Organisation(Scoped, Base):
    """An organisation; economic ones carry a validated unified social credit code (GB 32100)."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(24), nullable=False)
    uscc: Mapped[str | None] = mapped_column(String(18), nullable=True, unique=True)
    legal_representative: Mapped[str] = mapped_column(String(60), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    members: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_organisation_region_path", "region_path"),)


class Thing(Scoped, Base):
    """A facility or camera (部件) with its position and owning unit."""

    __tablename__ = "thing"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    name: Mapped[str] = mapped_column(String(150), default="")
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_thing_region_path", "region_path"),)


# --------------------------------------------------------------------------------------
# Imports: batches, per-row report, review queue
# --------------------------------------------------------------------------------------


class ImportBatch(Base):
    """One imported file: who, from which department, as of when, and the counts."""

    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(20), nullable=False)
    source: Mapped[str] = mapped_column(String(60), nullable=False)
    filename: Mapped[str] = mapped_column(String(200), default="")
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    as_of: Mapped[dt.date] = mapped_column(Date, nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    region_path: Mapped[str] = mapped_column(String(255), nullable=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    merged: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    queued: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    repeat_of_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"), nullable=True)

    __table_args__ = (Index("ix_import_batch_sha", "sha256", "source"),)


class ImportRow(Base):
    """What one row of an import did, and why (中文 and English)."""

    __tablename__ = "import_row"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), nullable=False)
    row_no: Mapped[int] = mapped_column(Integer, nullable=False)
    outcome: Mapped[str] = mapped_column(String(12), nullable=False)  # created|merged|unchanged|queued|rejected
    record_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    message_zh: Mapped[str] = mapped_column(String(500), default="")
    message_en: Mapped[str] = mapped_column(String(500), default="")

    __table_args__ = (Index("ix_import_row_batch", "batch_id", "row_no"),)


class ReviewItem(Base):
    """An uncertain match an operator must decide: merge into the candidate, or keep apart."""

    __tablename__ = "review_item"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), nullable=False)
    row_no: Mapped[int] = mapped_column(Integer, nullable=False)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False)
    score: Mapped[float] = mapped_column(Float, nullable=False)
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The incoming row without identifiers in clear: those are in the two cipher columns.
    incoming: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    incoming_id_cipher: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    incoming_phone_cipher: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # Same candidate + same incoming content = same question: asked once, however often imported.
    dedupe_key: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open|merged|separate
    region_path: Mapped[str] = mapped_column(String(255), nullable=False)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    result_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_review_item_status_path", "status", "region_path"),)


# --------------------------------------------------------------------------------------
# 重点人群 — people under care
# --------------------------------------------------------------------------------------


class CareType(Base):
    """A configurable type of care (社区矫正, 严重精神障碍…), sub-types by ``parent_code``.

    ``visit_days`` maps a colour to the visit interval in days (what the schedule follows).
    """

    __tablename__ = "care_type"

    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(60), nullable=False)
    name_en: Mapped[str] = mapped_column(String(100), default="")
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("care_type.code"), nullable=True)
    visit_days: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sort: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CareRecord(Scoped, Base):
    """A person under care of one type, from start to end, with level, colour and visit schedule."""

    __tablename__ = "care_record"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False)
    type_code: Mapped[str] = mapped_column(ForeignKey("care_type.code"), nullable=False)
    level: Mapped[str] = mapped_column(String(10), default="focus")
    colour: Mapped[str] = mapped_column(String(8), default=Colour.YELLOW.value)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    started_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    start_reason: Mapped[str] = mapped_column(String(300), default="")
    ended_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    last_visit_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    next_visit_due: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The due instant the missed-visit alert was last sent for (idempotent scheduler).
    alerted_due: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    visit_overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_care_record_person", "person_id"),
        Index("ix_care_record_region", "region_path", "active"),
        Index("ix_care_record_due", "active", "next_visit_due"),
    )


class Caretaker(Base):
    """Someone who looks after a person under care: a user (grid worker, police) or family."""

    __tablename__ = "caretaker"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    care_id: Mapped[int] = mapped_column(ForeignKey("care_record.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True, index=True)
    name: Mapped[str] = mapped_column(String(60), nullable=False)
    phone_masked: Mapped[str | None] = mapped_column(String(30), nullable=True)
    phone_cipher: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    since: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Visit(Base):
    """One visit (走访) to a person under care: when, where, what was found, next step."""

    __tablename__ = "care_visit"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    care_id: Mapped[int] = mapped_column(ForeignKey("care_record.id"), nullable=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    visitor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    visitor_name: Mapped[str] = mapped_column(String(100), default="")
    place: Mapped[str] = mapped_column(String(200), default="")
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    findings: Mapped[str] = mapped_column(Text, nullable=False)
    next_step: Mapped[str] = mapped_column(String(300), default="")
    photo_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    channel: Mapped[str] = mapped_column(String(20), default="web")

    __table_args__ = (Index("ix_care_visit_care_at", "care_id", "at"),)


class VisitPhoto(Base):
    """A photo taken on a visit: its bytes stored once by content hash under the upload folder."""

    __tablename__ = "care_visit_photo"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("care_visit.id"), nullable=False)
    care_id: Mapped[int] = mapped_column(ForeignKey("care_record.id"), nullable=False)
    filename: Mapped[str] = mapped_column(String(200), nullable=False)
    content_type: Mapped[str] = mapped_column(String(40), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_care_visit_photo_visit", "visit_id", "id"),
                      Index("ix_care_visit_photo_care", "care_id"))


class CaseInvolvement(Base):
    """A person involved in a case (party, reporter, subject); flags the case to their caretakers."""

    __tablename__ = "case_person"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), nullable=False, index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False, index=True)
    role: Mapped[str] = mapped_column(String(20), default="involved")
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("case_id", "person_id", name="uq_case_person_pair"),)


# --------------------------------------------------------------------------------------
# 五色管控 — risk rules and colours
# --------------------------------------------------------------------------------------


class RiskRule(Base):
    """A configurable rule: if ``kind`` holds with ``params`` for a subject, it is at least ``colour``."""

    __tablename__ = "risk_rule"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    subject: Mapped[str] = mapped_column(String(10), nullable=False)  # care|place|house|grid
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    colour: Mapped[str] = mapped_column(String(8), nullable=False)
    label_zh: Mapped[str] = mapped_column(String(200), nullable=False)
    label_en: Mapped[str] = mapped_column(String(200), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class RiskColour(Base):
    """The current colour of one subject: computed with its explanation, or overridden with a reason."""

    __tablename__ = "risk_colour"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(10), nullable=False)
    subject_id: Mapped[int] = mapped_column(BigId, nullable=False)
    region_path: Mapped[str] = mapped_column(String(255), nullable=False)
    colour: Mapped[str] = mapped_column(String(8), nullable=False)
    computed_colour: Mapped[str] = mapped_column(String(8), nullable=False)
    explanation: Mapped[list[Any]] = mapped_column(JSON, default=list)
    override_colour: Mapped[str | None] = mapped_column(String(8), nullable=True)
    override_reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    override_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    override_until: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("subject", "subject_id", name="uq_risk_colour_subject"),
        Index("ix_risk_colour_region", "subject", "region_path"),
    )


class JobRun(Base):
    """A once-a-day job claimed for one local date: the row is inserted once, so two processes never both run it."""

    __tablename__ = "people_job_run"

    job: Mapped[str] = mapped_column(String(40), primary_key=True)
    run_on: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
