"""Case schemas for the API (the pages and Open311 map their own formats onto these)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from civicgrid.events.models import Channel, RequestType, Urgency
from civicgrid.events.workflow import CaseState


class CaseCreate(BaseModel):
    """A report from any channel. Give a position, an address or a region code (else the reporter's area)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel: Channel = Channel.API
    category_code: str = Field(min_length=1, max_length=20)
    title: str | None = Field(None, max_length=200)
    description: str = Field(min_length=2, max_length=5000)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    address: str | None = Field(None, max_length=300)
    region_code: str | None = Field(None, max_length=20, pattern=r"^\d{12,18}$")
    urgency: Urgency = Urgency.NORMAL
    reporter_name: str | None = Field(None, max_length=100)
    reporter_phone: str | None = Field(None, max_length=30, pattern=r"^[0-9+\-() ]{3,30}$")
    received_at: dt.datetime | None = Field(None, description="Only for imported history; defaults to now.")
    client_key: str | None = Field(None, min_length=1, max_length=100, description="Idempotency key")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, v):
        # PostgreSQL refuses NUL in text: without this a stray \x00 becomes a 500 instead of a 422.
        if isinstance(v, str) and "\x00" in v:
            raise ValueError("NUL characters are not allowed (不允许空字符)")
        return v

    @model_validator(mode="after")
    def _both_coordinates(self) -> CaseCreate:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon go together (经纬度须同时提供)")
        return self

    @field_validator("received_at")
    @classmethod
    def _aware(cls, v: dt.datetime | None) -> dt.datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("received_at needs a time zone, e.g. 2026-11-22T09:30:00+08:00")
        return v


class TransitionIn(BaseModel):
    """Fire one workflow action; the extra fields are used by the actions that need them."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action: str = Field(min_length=1, max_length=40)
    note: str | None = Field(None, max_length=2000)
    unit_id: int | None = Field(None, ge=1, le=2**62)
    master_id: int | None = Field(None, ge=1, le=2**62)
    satisfaction: str | None = Field(None, max_length=12)
    extension_days: int | None = Field(None, ge=1, le=30)


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: str = Field(min_length=1, max_length=2000)


class CaseRead(BaseModel):
    """A case as the API shows it (reporter phone masked unless the viewer works the case)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str | None
    channel: Channel
    category_id: int
    category_code: str
    category_name: str
    request_type: RequestType
    urgency: Urgency
    title: str
    description: str
    address: str | None
    lat: float | None
    lon: float | None
    location_status: str
    grid_id: int | None
    region_id: int
    level: str
    desk_region_id: int
    state: CaseState
    state_label: str
    unit_id: int | None
    unit_name: str | None
    suggested_unit_id: int | None
    routing_reason: str | None
    reporter_name: str | None
    reporter_phone: str | None
    received_at: dt.datetime
    registered_at: dt.datetime | None
    dispatched_at: dt.datetime | None
    accepted_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    accept_due_at: dt.datetime | None
    finish_due_at: dt.datetime | None
    calendar_note: str | None
    overdue: bool
    due_soon: bool
    extension_days_requested: int | None
    extensions_count: int
    returns_count: int
    rework_count: int
    escalations_count: int
    supervision_count: int
    satisfaction: str | None
    resolution_note: str | None
    merged_into_id: int | None
    allowed_actions: list[str] = []


class CasePage(BaseModel):
    items: list[CaseRead]
    page: int
    size: int
    total: int
    total_is_exact: bool
    has_more: bool


class HistoryEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: dt.datetime
    actor_name: str
    channel: str
    action: str
    from_state: str | None
    to_state: str | None
    note: str | None


class DuplicateRead(BaseModel):
    id: int
    number: str | None
    title: str
    state: CaseState
    distance_m: float
    similarity: float
    received_at: dt.datetime


class CategoryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name_zh: str
    name_en: str
    parent_id: int | None
    request_type: RequestType
    accept_amount: float | None
    accept_unit: str | None
    finish_amount: float
    finish_unit: str
    default_unit_id: int | None
    auto_escalate: bool
    active: bool
    public: bool


class CategoryWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_.\-]+$")
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field("", max_length=150)
    parent_id: int | None = Field(None, ge=1, le=2**62)
    request_type: RequestType
    accept_amount: float | None = Field(None, gt=0, le=10000)
    accept_unit: str | None = Field(None, pattern=r"^(minutes|hours|working_days)$")
    finish_amount: float | None = Field(None, gt=0, le=10000)
    finish_unit: str | None = Field(None, pattern=r"^(minutes|hours|working_days)$")
    default_unit_id: int | None = Field(None, ge=1, le=2**62)
    auto_escalate: bool = False
    active: bool = True
    # Offered to citizens through Open311. Omitted: a new category is not public, an edited
    # one keeps what it had (so clients written before the flag existed do not withdraw services).
    public: bool | None = None


class RoutingRuleWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category_id: int | None = Field(None, ge=1, le=2**62)
    region_id: int = Field(ge=1, le=2**62)
    unit_id: int = Field(ge=1, le=2**62)
    note: str = Field("", max_length=200)


class RoutingRuleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    category_id: int | None
    region_id: int
    unit_id: int
    note: str
    active: bool


def mask_phone(phone: str | None) -> str | None:
    """138****1234: enough to recognise, not enough to call."""
    if not phone:
        return phone
    digits = phone.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    return digits[:3] + "*" * max(len(digits) - 7, 1) + digits[-4:]


def case_read(case, *, allowed: list[str], show_phone: bool, lang: str = "zh") -> CaseRead:
    """Build the API view of a case; the phone is masked unless ``show_phone``."""
    from civicgrid.events.workflow import STATE_LABELS

    zh, en = STATE_LABELS[case.state]
    return CaseRead(
        id=case.id, number=case.number, channel=case.channel, category_id=case.category_id,
        category_code=case.category.code,
        category_name=case.category.name_zh if lang == "zh" else (case.category.name_en or case.category.name_zh),
        request_type=case.request_type, urgency=case.urgency, title=case.title, description=case.description,
        address=case.address, lat=case.lat, lon=case.lon, location_status=case.location_status,
        grid_id=case.grid_id, region_id=case.region_id, level=case.level.value, desk_region_id=case.desk_region_id,
        state=case.state, state_label=zh if lang == "zh" else en, unit_id=case.unit_id,
        unit_name=case.unit.name_zh if case.unit else None, suggested_unit_id=case.suggested_unit_id,
        routing_reason=case.routing_reason, reporter_name=case.reporter_name,
        reporter_phone=case.reporter_phone if show_phone else mask_phone(case.reporter_phone),
        received_at=case.received_at, registered_at=case.registered_at, dispatched_at=case.dispatched_at,
        accepted_at=case.accepted_at, resolved_at=case.resolved_at, closed_at=case.closed_at,
        accept_due_at=case.accept_due_at, finish_due_at=case.finish_due_at, calendar_note=case.calendar_note,
        overdue=case.overdue, due_soon=case.due_soon, extension_days_requested=case.extension_days_requested,
        extensions_count=case.extensions_count, returns_count=case.returns_count, rework_count=case.rework_count,
        escalations_count=case.escalations_count, supervision_count=case.supervision_count,
        satisfaction=case.satisfaction, resolution_note=case.resolution_note, merged_into_id=case.merged_into_id,
        allowed_actions=allowed,
    )
