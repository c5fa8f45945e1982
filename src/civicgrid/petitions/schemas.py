"""Petition schemas (API and service inputs)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, field_validator

from civicgrid.mediation.schemas import DisputeFromCase
from civicgrid.petitions.workflow import PetitionState

ID_NUMBER = r"^[0-9]{15}$|^[0-9]{17}[0-9Xx]$"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PetitionerIn(_In):
    """A petitioner: a base-data person by id, or by ID number (registered there if new)."""

    person_id: int | None = Field(None, ge=1, le=2**62)
    id_number: str | None = Field(None, pattern=ID_NUMBER)
    name: str | None = Field(None, max_length=60)
    phone: str | None = Field(None, max_length=30, pattern=r"^[0-9+\-() ]{3,30}$")
    is_representative: bool = False


class PetitionCreate(_In):
    """A petition registered at the reception: visit, letter or online."""

    form: str = Field("visit", pattern=r"^(visit|letter|online)$")
    subject_code: str = Field(min_length=1, max_length=20)
    title: str | None = Field(None, max_length=200)
    request: str = Field(min_length=2, max_length=5000)
    facts: str = Field("", max_length=20000)
    level_visited: str = Field("local", pattern=r"^(local|county|city|province|national)$")
    head_count: int = Field(1, ge=1, le=100_000)
    group_name: str | None = Field(None, max_length=100)
    region_code: str | None = Field(None, max_length=20, pattern=r"^\d{12,18}$")
    petitioners: list[PetitionerIn] = Field(min_length=1, max_length=200)
    received_at: dt.datetime | None = None
    client_key: str | None = Field(None, min_length=1, max_length=100)

    @field_validator("received_at")
    @classmethod
    def _aware(cls, v: dt.datetime | None) -> dt.datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("needs a time zone, e.g. 2026-11-23T09:30:00+08:00")
        return v


class HigherVisitIn(_In):
    level: str = Field(pattern=r"^(county|city|province|national)$")
    visited_on: dt.date
    place: str = Field("", max_length=200)


class CaseFromPetition(_In):
    category_code: str = Field(min_length=1, max_length=20)


class PetitionAction(_In):
    """Fire one workflow action; the extra fields are used by the actions that need them."""

    action: str = Field(min_length=1, max_length=40)
    note: str | None = Field(None, max_length=5000)
    unit_id: int | None = Field(None, ge=1, le=2**62)
    leader_user_id: int | None = Field(None, ge=1, le=2**62)
    extension_days: int | None = Field(None, ge=1, le=30)
    higher_visit: HigherVisitIn | None = None
    dispute: DisputeFromCase | None = None
    case: CaseFromPetition | None = None


class SubjectWrite(_In):
    code: str = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_.\-]+$")
    name_zh: str = Field(min_length=1, max_length=60)
    name_en: str = Field("", max_length=100)
    unit_id: int | None = Field(None, ge=1, le=2**62)
    sort_order: int = Field(0, ge=0, le=10_000)
    active: bool = True


class SubjectRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name_zh: str
    name_en: str
    unit_id: int | None
    active: bool


class PetitionerRead(BaseModel):
    person_id: int
    name: str
    id_number_masked: str | None
    is_representative: bool


class RelatedRead(BaseModel):
    petition_id: int
    number: str | None
    title: str
    state: PetitionState
    received_at: dt.datetime
    reasons: list[str]


class ElsewhereRead(BaseModel):
    """A linked petition in an area you do not see: where and when only."""

    direction: str = Field(description="earlier or later than the petition at hand")
    reasons: list[str]
    area_code: str = Field(description="The region code of the desk that received it")
    area_name: str
    received_on: dt.date


class DocumentRead(BaseModel):
    """A petition document (信访材料); the bytes are at ``/api/petitions/documents/{id}/file``."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    petition_id: int
    kind: str
    filename: str
    content_type: str
    size: int
    note: str
    at: dt.datetime


class PetitionSummary(BaseModel):
    """A petition as a list shows it: everything but the petitions linked to it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str | None
    form: str
    subject_code: str
    subject_name: str
    title: str
    request: str
    level_visited: str
    is_group: bool
    head_count: int
    group_name: str | None
    region_id: int
    state: PetitionState
    state_label: str
    unit_id: int | None
    unit_name: str | None
    leader_user_id: int | None
    received_at: dt.datetime
    accept_due_at: dt.datetime | None
    accepted_at: dt.datetime | None
    answer_due_at: dt.datetime | None
    extension_days: int
    extension_days_requested: int | None
    answered_at: dt.datetime | None
    answer: str | None
    review_window_until: dt.datetime | None
    due_at: dt.datetime | None
    due_kind: str | None
    overdue: bool
    repeat_count: int
    higher_visits_count: int
    dispute_id: int | None = None
    dispute_state: str | None = None
    case_id: int | None
    case_state: str | None = None
    petitioners: list[PetitionerRead] = Field(default_factory=list)
    allowed: list[str] = Field(default_factory=list, description="Actions you may fire now")


class PetitionRead(PetitionSummary):
    """One petition with the petitions linked to it (GET /api/petitions/{id})."""

    related: list[RelatedRead] = Field(default_factory=list)
    later: list[RelatedRead] = Field(default_factory=list, description="Later petitions linked to this one")
    related_elsewhere: list[ElsewhereRead] = Field(
        default_factory=list, description="Linked petitions in areas you do not see: where and when only")


class PetitionPage(BaseModel):
    """A page of petitions; the petitions linked to each are in its own view (GET /api/petitions/{id})."""

    items: list[PetitionSummary]
    total: int
    page: int
    size: int


class LookupPerson(BaseModel):
    person_id: int
    name: str
    id_number_masked: str | None
    petitions: int
    petitions_elsewhere: int = 0


class LookupRead(BaseModel):
    """What the desk learns while typing: known persons and their petition history."""

    persons: list[LookupPerson]
    history: list[RelatedRead]
    elsewhere: list[ElsewhereRead] = Field(default_factory=list)


class BoardRowRead(BaseModel):
    petition_id: int
    number: str | None
    title: str
    state: PetitionState
    due_kind: str | None
    due_at: dt.datetime | None
    remaining_seconds: float
    bucket: str
    leader_user_id: int | None
    unit_id: int | None
