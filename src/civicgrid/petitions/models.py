"""Petitions (信访): subjects and their windows, petitions with their petitioners, visits to
higher levels, and the links between related petitions (repeat, same subject, same group)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, Date, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civicgrid.db import Base, BigId, UTCDateTime, utcnow
from civicgrid.people.models import Person
from civicgrid.petitions.workflow import PetitionState
from civicgrid.regions.models import Region, RegionLevel
from civicgrid.units.models import Unit

FORMS = {
    "visit": ("来访", "Visit"),
    "letter": ("来信", "Letter"),
    "online": ("网上信访", "Online"),
}
# The level a petitioner went to; anything above the local level is a visit to a higher level (越级).
LEVELS = {
    "local": ("本级", "Local"),
    "county": ("县（区）级", "County / district"),
    "city": ("市级", "City"),
    "province": ("省级", "Province"),
    "national": ("国家信访局", "National"),
}
HIGHER_LEVELS = ("county", "city", "province", "national")
LINK_REASONS = {
    "same_person": ("同一信访人", "Same petitioner"),
    "same_subject": ("同一事项", "Same subject"),
    "same_group": ("同一群体", "Same group"),
}
# What a petition document is (信访材料).
DOCUMENT_KINDS = {
    "letter": ("信访信件/材料原件", "Letter or original"),
    "photo": ("照片", "Photo"),
    "evidence": ("证据材料", "Evidence"),
    "reply": ("答复/处理意见书", "Written answer"),
    "other": ("其他材料", "Other"),
}
# From this many people a visit is a group visit (集体访); they choose at most five representatives.
GROUP_THRESHOLD = 5
MAX_REPRESENTATIVES = 5


class PetitionSubject(Base):
    """What a petition is about; each subject is routed to a department window."""

    __tablename__ = "petition_subject"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    name_zh: Mapped[str] = mapped_column(String(60), nullable=False)
    name_en: Mapped[str] = mapped_column(String(100), default="")
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), nullable=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    unit: Mapped[Unit | None] = relationship(lazy="joined")


class Petition(Base):
    """One petition (信访事项) and its timeline under the 信访工作条例."""

    __tablename__ = "petition"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str | None] = mapped_column(String(24), unique=True, nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(100), nullable=True, unique=True)
    form: Mapped[str] = mapped_column(String(10), nullable=False)
    subject_id: Mapped[int] = mapped_column(ForeignKey("petition_subject.id"), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    request: Mapped[str] = mapped_column(Text, nullable=False)
    facts: Mapped[str] = mapped_column(Text, default="")
    level_visited: Mapped[str] = mapped_column(String(10), default="local")
    is_group: Mapped[bool] = mapped_column(Boolean, default=False)
    head_count: Mapped[int] = mapped_column(Integer, default=1)
    group_name: Mapped[str | None] = mapped_column(String(100), nullable=True)

    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), nullable=False)
    region_path: Mapped[str] = mapped_column(String(255), nullable=False)
    desk_region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), nullable=False)
    desk_path: Mapped[str] = mapped_column(String(255), nullable=False)
    level: Mapped[RegionLevel] = mapped_column(Enum(RegionLevel, native_enum=False, length=20), nullable=False)
    state: Mapped[PetitionState] = mapped_column(Enum(PetitionState, native_enum=False, length=20), nullable=False)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), nullable=True, index=True)
    leader_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True, index=True)

    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    triaged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    accept_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    answer_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    extension_days_requested: Mapped[int | None] = mapped_column(Integer, nullable=True)
    extension_days: Mapped[int] = mapped_column(Integer, default=0)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    review_window_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    review_requested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    review_opinion: Mapped[str | None] = mapped_column(Text, nullable=True)
    re_review_requested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    re_reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    re_review_opinion: Mapped[str | None] = mapped_column(Text, nullable=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The deadline running now (acceptance, answer or review), and the reminder flags for it.
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    due_kind: Mapped[str | None] = mapped_column(String(12), nullable=True)
    due_soon: Mapped[bool] = mapped_column(Boolean, default=False)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    calendar_note: Mapped[str | None] = mapped_column(String(200), nullable=True)

    repeat_count: Mapped[int] = mapped_column(Integer, default=0)
    higher_visits_count: Mapped[int] = mapped_column(Integer, default=0)
    supervision_count: Mapped[int] = mapped_column(Integer, default=0)
    # A petition turned into a dispute is found from the dispute (``Dispute.petition_id``).
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), nullable=True)
    not_accepted_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    subject: Mapped[PetitionSubject] = relationship(lazy="joined")
    unit: Mapped[Unit | None] = relationship(lazy="joined", foreign_keys=[unit_id])
    region: Mapped[Region] = relationship(lazy="joined", foreign_keys=[region_id])

    __table_args__ = (
        Index("ix_petition_region_received", "region_path", "received_at"),
        Index("ix_petition_desk_state", "desk_path", "state"),
        Index("ix_petition_state_due", "state", "due_at"),
        Index("ix_petition_subject_region", "subject_id", "region_path"),
        # The same group returning anywhere (repeat detection across areas, migration 0008).
        Index("ix_petition_group_name", "group_name"),
    )


class Petitioner(Base):
    """A person who brought a petition (a group visit has several; some are representatives)."""

    __tablename__ = "petitioner"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petition.id"), nullable=False, index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False, index=True)
    is_representative: Mapped[bool] = mapped_column(Boolean, default=False)

    person: Mapped[Person] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("petition_id", "person_id", name="uq_petitioner_pair"),)


class HigherLevelVisit(Base):
    """A visit by the petitioner to a higher level (越级访), recorded as an event of the petition."""

    __tablename__ = "petition_higher_visit"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petition.id"), nullable=False, index=True)
    level: Mapped[str] = mapped_column(String(10), nullable=False)
    visited_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    place: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PetitionDocument(Base):
    """A document of a petition (信访材料): a scanned letter, a photo, evidence, the written answer.

    The bytes live once in the upload folder, named by their SHA-256 (the store of case
    attachments); the same file on the same petition is kept once.
    """

    __tablename__ = "petition_document"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petition.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    filename: Mapped[str] = mapped_column(String(200), nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    note: Mapped[str] = mapped_column(String(200), default="")
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("petition_id", "sha256", name="uq_petition_document_content"),)


class PetitionLink(Base):
    """An earlier petition this one is related to, and why (repeat and group detection)."""

    __tablename__ = "petition_link"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petition.id"), nullable=False, index=True)
    related_id: Mapped[int] = mapped_column(ForeignKey("petition.id"), nullable=False, index=True)
    reason: Mapped[str] = mapped_column(String(12), nullable=False)

    __table_args__ = (UniqueConstraint("petition_id", "related_id", "reason", name="uq_petition_link"),)


def snapshot(petition: Petition) -> dict[str, Any]:
    """What a history entry keeps before and after a change."""
    return {
        "state": petition.state.value,
        "unit_id": petition.unit_id,
        "leader_user_id": petition.leader_user_id,
        "due_at": petition.due_at.isoformat() if petition.due_at else None,
        "due_kind": petition.due_kind,
    }
