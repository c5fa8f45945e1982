"""Request and response shapes of the people domain. Reads carry masked identifiers only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Located(BaseModel):
    """Where a record belongs: a region/grid code, or a WGS84 point located to its grid."""

    region_code: str | None = Field(None, max_length=20, description="Grid (or any region) code in your area")
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)


class PersonCreate(Located):
    name: str = Field(min_length=1, max_length=60)
    id_number: str | None = Field(None, max_length=40, description="Citizen ID (GB 11643) or other document")
    id_kind: str = Field("resident", max_length=12)
    phone: str | None = Field(None, max_length=30)
    population_type: str = Field("registered", max_length=16)
    ethnicity: str | None = Field(None, max_length=20)
    address: str = Field("", max_length=300)
    household_number: str | None = Field(None, max_length=40)
    relation_to_head: str | None = Field(None, max_length=12)
    house_id: int | None = None
    work_unit: str = Field("", max_length=200)
    notes: str = Field("", max_length=2000)
    birth_date: dt.date | None = Field(None, description="Only for documents other than a resident ID")
    gender: str | None = Field(None, pattern="^[MF]$")


class PersonUpdate(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=60)
    phone: str | None = Field(None, max_length=30)
    population_type: str | None = Field(None, max_length=16)
    ethnicity: str | None = Field(None, max_length=20)
    address: str | None = Field(None, max_length=300)
    work_unit: str | None = Field(None, max_length=200)
    notes: str | None = Field(None, max_length=2000)
    house_id: int | None = None


class PersonRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    id_kind: str | None
    id_number: str | None = Field(description="Masked (350102********1234)")
    birth_date: dt.date | None
    gender: str | None
    phone: str | None = Field(description="Masked (138****5678)")
    population_type: str
    ethnicity: str | None
    address: str
    household_id: int | None
    relation_to_head: str | None
    house_id: int | None
    work_unit: str
    notes: str
    region_id: int
    region_path: str
    grid_id: int | None
    under_care: bool
    provenance: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime


class PersonPage(BaseModel):
    items: list[PersonRead]
    total: int | None
    limit: int
    offset: int


class RevealRequest(BaseModel):
    field: str = Field(pattern="^(id_number|phone)$")
    reason: str = Field(min_length=4, max_length=300)


class RevealRead(BaseModel):
    field: str
    value: str | None
    audit_id: int


class HouseholdCreate(Located):
    number: str = Field(min_length=1, max_length=40)
    address: str = Field("", max_length=300)
    house_id: int | None = None


class HouseholdMember(BaseModel):
    relation: str = Field(max_length=12, description="Relation to the head: head, spouse, child, parent, …")


class BuildingCreate(Located):
    name: str = Field(min_length=1, max_length=100)
    address: str = Field(min_length=1, max_length=300)
    floors: int | None = Field(None, ge=0, le=300)
    units: int | None = Field(None, ge=0, le=100)


class HouseCreate(Located):
    address: str = Field(min_length=1, max_length=300)
    building_id: int | None = None
    unit_no: str = Field("", max_length=20)
    room_no: str = Field("", max_length=20)
    use: str = Field("own", max_length=12)
    area_m2: float | None = Field(None, ge=0, le=1_000_000)
    owner_person_id: int | None = None


class TenancyCreate(BaseModel):
    person_id: int
    start_date: dt.date
    end_date: dt.date | None = None
    note: str = Field("", max_length=200)


class PlaceCreate(Located):
    name: str = Field(min_length=1, max_length=150)
    kind: str = Field(max_length=20)
    address: str = Field("", max_length=300)
    person_in_charge_id: int | None = None
    contact_name: str = Field("", max_length=60)
    contact_phone: str | None = Field(None, max_length=30)
    organisation_id: int | None = None


class InspectionCreate(BaseModel):
    passed: bool
    hazards: int = Field(0, ge=0, le=1000)
    findings: str = Field("", max_length=2000)
    at: dt.datetime | None = None


class OrganisationCreate(Located):
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(max_length=24)
    uscc: str | None = Field(None, max_length=30)
    legal_representative: str = Field("", max_length=60)
    address: str = Field("", max_length=300)
    members: int | None = Field(None, ge=0)


class ThingCreate(Located):
    code: str = Field(min_length=1, max_length=40)
    kind: str = Field(max_length=20)
    name: str = Field("", max_length=150)
    unit_id: int | None = None


class RecordRead(BaseModel):
    """A base-data record other than a person: its columns (identifiers masked)."""

    id: int
    kind: str
    fields: dict[str, Any]


class ImportReportRead(BaseModel):
    batch_id: int
    entity: str
    source: str
    rows: int
    created: int
    merged: int
    unchanged: int
    queued: int
    rejected: int
    repeat_of_id: int | None
    items: list[dict[str, Any]] = Field(default_factory=list)


class ReviewRead(BaseModel):
    id: int
    batch_id: int
    row_no: int
    candidate_id: int
    score: float
    reasons: list[Any]
    incoming: dict[str, Any]
    status: str


class ReviewDecision(BaseModel):
    decision: str = Field(pattern="^(merge|separate)$")
    note: str = Field("", max_length=300)


class CareCreate(BaseModel):
    type_code: str = Field(max_length=30)
    level: str = Field("focus", max_length=10)
    started_on: dt.date | None = None
    reason: str = Field(min_length=2, max_length=300)


class CareEnd(BaseModel):
    reason: str = Field(min_length=2, max_length=300)
    ended_on: dt.date | None = None


class CareChange(BaseModel):
    level: str = Field(max_length=10)
    reason: str = Field(min_length=2, max_length=300)


class CaretakerCreate(BaseModel):
    kind: str = Field(max_length=16)
    user_id: int | None = None
    name: str | None = Field(None, max_length=60)
    phone: str | None = Field(None, max_length=30)
    is_primary: bool = False


class VisitCreate(BaseModel):
    at: dt.datetime | None = None
    place: str = Field("", max_length=200)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    findings: str = Field(min_length=2, max_length=4000)
    next_step: str = Field("", max_length=300)


class RiskOverride(BaseModel):
    colour: str = Field(max_length=8)
    reason: str = Field(min_length=4, max_length=300)
    until: dt.date | None = None


class CareTypeWrite(BaseModel):
    """A care type as the administrator configures it; ``visit_days`` gives days between visits per colour."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,29}$", description="Lower-case letters, digits and _")
    name_zh: str = Field(min_length=1, max_length=60)
    name_en: str = Field("", max_length=100)
    parent_code: str | None = Field(None, max_length=30, description="The type this is a sub-type of")
    visit_days: dict[str, int] = Field(description="Days between visits for red, orange, yellow, blue and green")
    sort: int = Field(0, ge=0, le=10_000)
    active: bool = True


class CareTypeUpdate(BaseModel):
    name_zh: str | None = Field(None, min_length=1, max_length=60)
    name_en: str | None = Field(None, max_length=100)
    parent_code: str | None = Field(None, max_length=30)
    visit_days: dict[str, int] | None = None
    sort: int | None = Field(None, ge=0, le=10_000)
    active: bool | None = None


class RiskRuleCreate(BaseModel):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$", description="Lower-case letters, digits and _")
    subject: str = Field(max_length=10, description="care, place, house or grid")
    kind: str = Field(max_length=30)
    params: dict[str, Any] = Field(default_factory=dict)
    colour: str = Field(max_length=8)
    label_zh: str = Field(min_length=1, max_length=200)
    label_en: str = Field(min_length=1, max_length=200)
    active: bool = True


class RiskRuleUpdate(BaseModel):
    params: dict[str, Any] | None = None
    colour: str | None = Field(None, max_length=8)
    label_zh: str | None = Field(None, min_length=1, max_length=200)
    label_en: str | None = Field(None, min_length=1, max_length=200)
    active: bool | None = None
