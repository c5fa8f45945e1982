"""Dispute and mediation schemas (API and service inputs)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from civicgrid.mediation.workflow import DisputeState

Id = Field(ge=1, le=2**62)
Money = Field(None, ge=0, le=Decimal("999999999999.99"), max_digits=14, decimal_places=2)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _aware(v: dt.datetime | None) -> dt.datetime | None:
    if v is not None and v.tzinfo is None:
        raise ValueError("needs a time zone, e.g. 2026-11-23T09:30:00+08:00")
    return v


class PartyIn(_In):
    """A party: a person (by id, or found by ID number) or an organisation from the base data."""

    role: str = Field(pattern=r"^(applicant|respondent|third_party)$")
    person_id: int | None = Field(None, ge=1, le=2**62)
    organisation_id: int | None = Field(None, ge=1, le=2**62)
    id_number: str | None = Field(None, min_length=15, max_length=18, pattern=r"^[0-9]{15}$|^[0-9]{17}[0-9Xx]$")
    name: str | None = Field(None, max_length=60, description="Name for a person found or created by ID number")
    phone: str | None = Field(None, max_length=30, pattern=r"^[0-9+\-() ]{3,30}$")
    agent: str | None = Field(None, max_length=100, description="Representative or lawyer (委托代理人)")


class DisputeCreate(_In):
    """A dispute registered at the mediation desk (walk-in), or raised from a case or petition."""

    type_code: str = Field(min_length=1, max_length=20)
    title: str | None = Field(None, max_length=200)
    description: str = Field(min_length=2, max_length=5000)
    amount: Decimal | None = Money
    people_count: int = Field(2, ge=1, le=100_000)
    region_code: str | None = Field(None, max_length=20, pattern=r"^\d{12,18}$")
    risk_level: str = Field("low", pattern=r"^(low|medium|high|major)$")
    criminal_risk: bool = False
    criminal_risk_note: str | None = Field(None, max_length=300)
    parties: list[PartyIn] = Field(default_factory=list, max_length=50)
    received_at: dt.datetime | None = None
    client_key: str | None = Field(None, min_length=1, max_length=100)

    @field_validator("received_at")
    @classmethod
    def _received(cls, v):
        return _aware(v)


class DisputeFromCase(_In):
    """Raise a dispute from a case (the case's place and text are taken over)."""

    type_code: str = Field(min_length=1, max_length=20)
    amount: Decimal | None = Money
    people_count: int = Field(2, ge=1, le=100_000)
    risk_level: str = Field("low", pattern=r"^(low|medium|high|major)$")
    criminal_risk: bool = False
    parties: list[PartyIn] = Field(default_factory=list, max_length=50)


class SessionIn(_In):
    """One mediation session."""

    held_at: dt.datetime
    place: str = Field(min_length=1, max_length=200)
    attendees: str = Field(min_length=1, max_length=2000)
    record: str = Field(min_length=1, max_length=20000)
    next_step: str | None = Field(None, max_length=300)

    @field_validator("held_at")
    @classmethod
    def _held(cls, v):
        return _aware(v)


class ObligationIn(_In):
    """One obligation of an agreement."""

    obligor: str = Field(min_length=1, max_length=100)
    description: str = Field(min_length=1, max_length=500)
    amount: Decimal | None = Money
    due_on: dt.date


class AgreementIn(_In):
    """The agreement reached (or partly reached) and what each party must do by when."""

    text: str = Field(min_length=2, max_length=20000)
    place: str | None = Field(None, max_length=200)
    signed_at: dt.datetime | None = None
    obligations: list[ObligationIn] = Field(default_factory=list, max_length=50)

    @field_validator("signed_at")
    @classmethod
    def _signed(cls, v):
        return _aware(v)


class DisputeAction(_In):
    """Fire one workflow action; the extra fields are used by the actions that need them."""

    action: str = Field(min_length=1, max_length=40)
    note: str | None = Field(None, max_length=2000)
    risk_level: str | None = Field(None, pattern=r"^(low|medium|high|major)$")
    criminal_risk: bool | None = None
    criminal_risk_note: str | None = Field(None, max_length=300)
    org_id: int | None = Field(None, ge=1, le=2**62)
    mediator_id: int | None = Field(None, ge=1, le=2**62)
    court_case_number: str | None = Field(None, max_length=60)
    obligation_id: int | None = Field(None, ge=1, le=2**62)
    follow_up_method: str | None = Field(None, pattern=r"^(visit|phone|other)$")
    session: SessionIn | None = None
    agreement: AgreementIn | None = None


class TypeWrite(_In):
    code: str = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_.\-]+$")
    name_zh: str = Field(min_length=1, max_length=60)
    name_en: str = Field("", max_length=100)
    group_threshold: int = Field(5, ge=2, le=10_000)
    mediation_days: int = Field(22, ge=1, le=180)
    sort_order: int = Field(0, ge=0, le=10_000)
    active: bool = True


class TypeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name_zh: str
    name_en: str
    group_threshold: int
    mediation_days: int
    active: bool


class OrgWrite(_In):
    code: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.\-]+$")
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field("", max_length=150)
    kind: str = Field(max_length=20)
    region_id: int = Id
    specialties: list[str] = Field(default_factory=list, max_length=30)
    capacity: int = Field(30, ge=1, le=100_000)
    phone: str | None = Field(None, max_length=30)
    address: str | None = Field(None, max_length=200)


class OrgRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name_zh: str
    name_en: str
    kind: str
    mediation_kind: str
    region_id: int
    level: str
    specialties: list[str]
    capacity: int
    active: bool


class MediatorWrite(_In):
    name: str = Field(min_length=1, max_length=60)
    user_id: int | None = Field(None, ge=1, le=2**62)
    title: str = Field("", max_length=60)
    phone: str | None = Field(None, max_length=30)
    specialties: list[str] = Field(default_factory=list, max_length=30)
    max_load: int = Field(10, ge=1, le=1000)


class MediatorRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    org_id: int
    user_id: int | None
    name: str
    title: str
    specialties: list[str]
    max_load: int
    active: bool


class SuggestionRead(BaseModel):
    org_id: int
    org_name: str
    level: str
    mediator_id: int | None
    mediator_name: str | None
    score: float
    load: int
    capacity: int
    reasons_zh: list[str]
    reasons_en: list[str]


class PartyRead(BaseModel):
    id: int
    role: str
    person_id: int | None
    organisation_id: int | None
    name: str
    id_number_masked: str | None
    phone_masked: str | None
    agent: str | None


class ObligationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    obligor: str
    description: str
    amount: Decimal | None
    due_on: dt.date
    performed_at: dt.datetime | None
    overdue: bool


class AgreementRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    partial: bool
    text: str
    place: str | None
    signed_at: dt.datetime
    total_amount: Decimal | None
    obligations: list[ObligationRead]


class SessionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    held_at: dt.datetime
    place: str
    attendees: str
    record: str
    next_step: str | None


class DisputeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str | None
    source: str
    case_id: int | None
    petition_id: int | None
    type_code: str
    type_name: str
    title: str
    description: str
    amount: Decimal | None
    people_count: int
    is_group: bool
    risk_level: str
    criminal_risk: bool
    criminal_risk_note: str | None
    region_id: int
    desk_region_id: int
    level: str
    state: DisputeState
    state_label: str
    org_id: int | None
    org_name: str | None
    mediator_id: int | None
    mediator_name: str | None
    received_at: dt.datetime
    accepted_at: dt.datetime | None
    outcome_at: dt.datetime | None
    closed_at: dt.datetime | None
    due_at: dt.datetime | None
    overdue: bool
    outcome: str | None
    handover: str | None
    court_case_number: str | None
    escalations_count: int
    sessions_count: int
    parties: list[PartyRead] = Field(default_factory=list)
    allowed: list[str] = Field(default_factory=list, description="Actions you may fire now")


class HistoryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: dt.datetime
    actor_name: str
    channel: str
    action: str
    from_state: str | None
    to_state: str | None
    note: str | None


class StatsRead(BaseModel):
    total: int
    by_type: dict[str, int]
    by_area: dict[str, int]
    by_level: dict[str, int]
    by_state: dict[str, int]
    mediated: int
    agreements: int
    partial: int
    failed: int
    success_rate: float | None
    agreements_total: int
    agreements_performed: int
    performance_rate: float | None
    obligations_total: int
    obligations_performed: int
    obligations_overdue: int
    average_days: float | None
    escalated: int
    escalations: int
    referred_litigation: int
    referred_arbitration: int
    criminal_risk: int
    group: int


class CampaignRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: str
    starts_on: dt.date
    ends_on: dt.date
    note: str | None


class CommunityProgressRead(BaseModel):
    community_id: int
    community_name: str
    total: int
    cleared: int
    resolved: int
    overdue: int
    rate: float | None
    monthly: dict[str, int]


class CampaignItemRead(BaseModel):
    id: int
    dispute_id: int
    dispute_number: str | None
    dispute_state: DisputeState
    community_id: int
    owner_user_id: int | None
    target_on: dt.date


class CampaignBoardRead(BaseModel):
    campaign: CampaignRead
    months: list[str]
    communities: list[CommunityProgressRead]
    items: list[CampaignItemRead]


class DisputePage(BaseModel):
    items: list[DisputeRead]
    total: int
    page: int
    size: int


class CampaignCreate(_In):
    name: str = Field(min_length=1, max_length=100)
    kind: str = Field("clearance", pattern=r"^(clearance|3311)$")
    community_ids: list[int] = Field(min_length=1, max_length=500)
    starts_on: dt.date
    ends_on: dt.date
    note: str | None = Field(None, max_length=2000)


class CampaignItemUpdate(_In):
    owner_user_id: int | None = Field(None, ge=1, le=2**62)
    target_on: dt.date | None = None
