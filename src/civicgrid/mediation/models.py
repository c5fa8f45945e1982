"""Disputes and mediation (矛盾纠纷多元化解): types, organisations, mediators, disputes,
sessions, agreements with obligations, follow-ups, and clearance campaigns (清零行动)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civicgrid.db import Base, BigId, UTCDateTime, utcnow
from civicgrid.mediation.workflow import DisputeState
from civicgrid.people.models import Organisation, Person
from civicgrid.regions.models import Region, RegionLevel

RISK_LEVELS = {
    "low": ("低风险", "Low"),
    "medium": ("中风险", "Medium"),
    "high": ("高风险", "High"),
    "major": ("重大风险", "Major"),
}
# Kinds of mediation organisation, and which of the three kinds of mediation (三调联动) each does.
ORG_KINDS = {
    "people": ("人民调解委员会", "People's mediation committee"),
    "street": ("乡镇（街道）矛调中心", "Street mediation centre"),
    "industry": ("行业性专业性调解组织", "Industry mediation organisation"),
    "administrative": ("行政调解（职能部门）", "Administrative mediation (department)"),
    "judicial": ("法院诉前调解（诉调对接）", "Court mediation (litigation link)"),
    "legal_aid": ("法律援助/律师调解", "Legal aid / lawyer mediation"),
}
MEDIATION_KIND_OF = {
    "people": "people", "street": "people", "industry": "people", "legal_aid": "people",
    "administrative": "administrative", "judicial": "judicial",
}
MEDIATION_KINDS = {
    "people": ("人民调解", "People's mediation"),
    "administrative": ("行政调解", "Administrative mediation"),
    "judicial": ("司法调解", "Judicial mediation"),
}
PARTY_ROLES = {
    "applicant": ("申请人", "Applicant"),
    "respondent": ("被申请人", "Respondent"),
    "third_party": ("第三人", "Third party"),
}
SOURCES = {
    "walk_in": ("来访登记", "Walk-in"),
    "case": ("事件转入", "From a case"),
    "petition": ("信访转入", "From a petition"),
}
CAMPAIGN_KINDS = {
    "clearance": ("矛盾纠纷清零行动", "Clearance campaign"),
    "3311": ("“3311”行动", "3311 campaign"),
}


class DisputeType(Base):
    """A kind of dispute (configurable): its group threshold and mediation period."""

    __tablename__ = "dispute_type"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    name_zh: Mapped[str] = mapped_column(String(60), nullable=False)
    name_en: Mapped[str] = mapped_column(String(100), default="")
    # From this many people involved a dispute of this type is a group dispute (群体性纠纷).
    group_threshold: Mapped[int] = mapped_column(Integer, default=5)
    # Working days from acceptance to an outcome (人民调解一般在一个月内结束).
    mediation_days: Mapped[int] = mapped_column(Integer, default=22)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class MediationOrg(Base):
    """A mediation organisation at a level of the region tree, with its specialties and capacity."""

    __tablename__ = "mediation_org"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    name_zh: Mapped[str] = mapped_column(String(100), nullable=False)
    name_en: Mapped[str] = mapped_column(String(150), default="")
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), nullable=False)
    region_path: Mapped[str] = mapped_column(String(255), nullable=False)
    level: Mapped[RegionLevel] = mapped_column(Enum(RegionLevel, native_enum=False, length=20), nullable=False)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), nullable=True)
    # Dispute type codes it specialises in; empty means it takes every type.
    specialties: Mapped[list[str]] = mapped_column(JSON, default=list)
    capacity: Mapped[int] = mapped_column(Integer, default=30)
    phone: Mapped[str | None] = mapped_column(String(30), nullable=True)
    address: Mapped[str | None] = mapped_column(String(200), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    region: Mapped[Region] = relationship(lazy="joined")

    __table_args__ = (Index("ix_mediation_org_region_path", "region_path"),)

    @property
    def mediation_kind(self) -> str:
        return MEDIATION_KIND_OF.get(self.kind, "people")


class Mediator(Base):
    """A mediator of an organisation; with a user account they act in civicgrid."""

    __tablename__ = "mediator"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("mediation_org.id"), nullable=False, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True, index=True)
    name: Mapped[str] = mapped_column(String(60), nullable=False)
    title: Mapped[str] = mapped_column(String(60), default="")
    phone: Mapped[str | None] = mapped_column(String(30), nullable=True)
    specialties: Mapped[list[str]] = mapped_column(JSON, default=list)
    max_load: Mapped[int] = mapped_column(Integer, default=10)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    org: Mapped[MediationOrg] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("org_id", "user_id", name="uq_mediator_org_user"),)


class Dispute(Base):
    """One dispute. ``region_path`` is where it arose; ``desk_path`` the centre that routes it now."""

    __tablename__ = "dispute"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str | None] = mapped_column(String(24), unique=True, nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(100), nullable=True, unique=True)
    source: Mapped[str] = mapped_column(String(12), nullable=False)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), nullable=True, index=True)
    petition_id: Mapped[int | None] = mapped_column(ForeignKey("petition.id"), nullable=True, index=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("dispute_type.id"), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), nullable=True)
    people_count: Mapped[int] = mapped_column(Integer, default=2)
    is_group: Mapped[bool] = mapped_column(Boolean, default=False)
    risk_level: Mapped[str] = mapped_column(String(10), default="low")
    criminal_risk: Mapped[bool] = mapped_column(Boolean, default=False)  # 民转刑 warning
    criminal_risk_note: Mapped[str | None] = mapped_column(String(300), nullable=True)
    assessment_note: Mapped[str | None] = mapped_column(Text, nullable=True)

    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), nullable=False)
    region_path: Mapped[str] = mapped_column(String(255), nullable=False)
    desk_region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), nullable=False)
    desk_path: Mapped[str] = mapped_column(String(255), nullable=False)
    level: Mapped[RegionLevel] = mapped_column(Enum(RegionLevel, native_enum=False, length=20), nullable=False)
    state: Mapped[DisputeState] = mapped_column(Enum(DisputeState, native_enum=False, length=20), nullable=False)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("mediation_org.id"), nullable=True, index=True)
    mediator_id: Mapped[int | None] = mapped_column(ForeignKey("mediator.id"), nullable=True, index=True)
    mediation_level: Mapped[RegionLevel | None] = mapped_column(
        Enum(RegionLevel, native_enum=False, length=20), nullable=True)

    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    assessed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    routed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outcome_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)

    outcome: Mapped[str | None] = mapped_column(String(12), nullable=True)
    outcome_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    handover: Mapped[str | None] = mapped_column(String(12), nullable=True)
    court_case_number: Mapped[str | None] = mapped_column(String(60), nullable=True)
    sessions_count: Mapped[int] = mapped_column(Integer, default=0)
    escalations_count: Mapped[int] = mapped_column(Integer, default=0)
    returns_count: Mapped[int] = mapped_column(Integer, default=0)
    supervision_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    type: Mapped[DisputeType] = relationship(lazy="joined")
    org: Mapped[MediationOrg | None] = relationship(lazy="joined")
    mediator: Mapped[Mediator | None] = relationship(lazy="joined")
    region: Mapped[Region] = relationship(lazy="joined", foreign_keys=[region_id])

    __table_args__ = (
        Index("ix_dispute_region_received", "region_path", "received_at"),
        Index("ix_dispute_desk_state", "desk_path", "state"),
        Index("ix_dispute_state_due", "state", "due_at"),
        CheckConstraint("people_count >= 1", name="people_count_positive"),
    )


class MediationSession(Base):
    """One mediation session: when, where, who attended, what was said, what comes next."""

    __tablename__ = "mediation_session"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id"), nullable=False, index=True)
    held_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    place: Mapped[str] = mapped_column(String(200), nullable=False)
    attendees: Mapped[str] = mapped_column(Text, nullable=False)
    record: Mapped[str] = mapped_column(Text, nullable=False)
    next_step: Mapped[str | None] = mapped_column(String(300), nullable=True)
    mediator_id: Mapped[int | None] = mapped_column(ForeignKey("mediator.id"), nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Agreement(Base):
    """The mediation agreement (调解协议书): its text and the obligations it sets."""

    __tablename__ = "mediation_agreement"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id"), nullable=False, unique=True)
    partial: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    place: Mapped[str | None] = mapped_column(String(200), nullable=True)
    total_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    obligations: Mapped[list[Obligation]] = relationship(
        order_by="Obligation.id", lazy="selectin", back_populates="agreement")


class Obligation(Base):
    """One thing a party promised in the agreement, by a date; followed up until performed."""

    __tablename__ = "mediation_obligation"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("mediation_agreement.id"), nullable=False, index=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id"), nullable=False, index=True)
    obligor: Mapped[str] = mapped_column(String(100), nullable=False)
    description: Mapped[str] = mapped_column(String(500), nullable=False)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), nullable=True)
    due_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    performed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    performed_note: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # Set once by the overdue scan (a conditional UPDATE), so the alert goes out exactly once.
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)

    agreement: Mapped[Agreement] = relationship(back_populates="obligations")

    __table_args__ = (Index("ix_mediation_obligation_due", "performed_at", "overdue", "due_on"),)


class FollowUp(Base):
    """A follow-up visit or call about an agreement's performance (回访)."""

    __tablename__ = "mediation_follow_up"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id"), nullable=False, index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    method: Mapped[str] = mapped_column(String(12), default="visit")
    note: Mapped[str] = mapped_column(Text, nullable=False)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)


class Campaign(Base):
    """A clearance campaign (清零行动 / “3311”) over chosen communities and a period."""

    __tablename__ = "mediation_campaign"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    kind: Mapped[str] = mapped_column(String(12), default="clearance")
    region_path: Mapped[str] = mapped_column(String(255), nullable=False)
    starts_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="period"),)


class CampaignCommunity(Base):
    """A community taking part in a campaign."""

    __tablename__ = "mediation_campaign_community"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("mediation_campaign.id"), nullable=False, index=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), nullable=False)

    region: Mapped[Region] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("campaign_id", "region_id", name="uq_campaign_community"),)


class CampaignItem(Base):
    """An unresolved dispute on a campaign's list, with its owner and target date."""

    __tablename__ = "mediation_campaign_item"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("mediation_campaign.id"), nullable=False, index=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id"), nullable=False)
    community_id: Mapped[int] = mapped_column(ForeignKey("region.id"), nullable=False)
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    target_on: Mapped[dt.date] = mapped_column(Date, nullable=False)

    dispute: Mapped[Dispute] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("campaign_id", "dispute_id", name="uq_campaign_item"),)


def snapshot(dispute: Dispute) -> dict[str, Any]:
    """The fields a history entry keeps before and after a change."""
    return {
        "state": dispute.state.value,
        "org_id": dispute.org_id,
        "mediator_id": dispute.mediator_id,
        "desk": dispute.desk_path,
        "risk_level": dispute.risk_level,
        "criminal_risk": dispute.criminal_risk,
        "due_at": dispute.due_at.isoformat() if dispute.due_at else None,
    }


class DisputeParty(Base):
    """A party to a dispute: a person or an organisation of the base data, with their role.

    Names, masked ID numbers and phones are read from the base data; no identifier is copied here.
    """

    __tablename__ = "dispute_party"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id"), nullable=False, index=True)
    role: Mapped[str] = mapped_column(String(12), nullable=False)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), nullable=True, index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), nullable=True, index=True)
    agent: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Person | None] = relationship(lazy="joined")
    organisation: Mapped[Organisation | None] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("(person_id IS NULL) <> (organisation_id IS NULL)", name="person_or_organisation"),
    )

    @property
    def name(self) -> str:
        if self.person is not None:
            return self.person.name
        return self.organisation.name if self.organisation is not None else ""
