"""Cases, their categories, routing rules and attachments."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text as sql_text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civicgrid.db import Base, BigId, UTCDateTime, utcnow
from civicgrid.events.workflow import CaseState
from civicgrid.regions.models import Region, RegionLevel
from civicgrid.units.models import Unit


class RequestType(enum.StrEnum):
    """The request type decides the default deadlines (DESIGN.md §2)."""

    EMERGENCY = "emergency"
    CONSULTATION = "consultation"
    HELP = "help"
    COMPLAINT = "complaint"


REQUEST_TYPE_LABELS = {
    RequestType.EMERGENCY: ("紧急", "Emergency"),
    RequestType.CONSULTATION: ("咨询", "Consultation"),
    RequestType.HELP: ("求助/一般", "Help request / report"),
    RequestType.COMPLAINT: ("投诉", "Complaint"),
}


class Channel(enum.StrEnum):
    """The door a report came in by (多端口收集)."""

    GRID_APP = "grid_app"
    HOTLINE = "hotline_12345"
    POLICE_110 = "transfer_110"
    CITIZEN_WEB = "citizen_web"
    OPERATOR = "operator"
    PETITION = "petition_visit"
    VIDEO_AI = "video_ai"
    IOT = "iot"
    DEPT_IMPORT = "dept_import"
    OPEN311 = "open311"
    API = "api"


CHANNEL_LABELS = {
    Channel.GRID_APP: ("网格员上报", "Grid worker app"),
    Channel.HOTLINE: ("12345热线", "12345 hotline"),
    Channel.POLICE_110: ("110非警务转办", "110 non-police transfer"),
    Channel.CITIZEN_WEB: ("群众网上反映", "Citizen portal"),
    Channel.OPERATOR: ("坐席登记", "Operator entry"),
    Channel.PETITION: ("来访", "Petition visit"),
    Channel.VIDEO_AI: ("视频智能发现", "Video AI"),
    Channel.IOT: ("物联感知", "IoT sensor"),
    Channel.DEPT_IMPORT: ("部门数据导入", "Department import"),
    Channel.OPEN311: ("Open311 接口", "Open311"),
    Channel.API: ("系统接口", "API"),
}


class Urgency(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    EMERGENCY = "emergency"


URGENCY_LABELS = {
    Urgency.LOW: ("一般", "Low"),
    Urgency.NORMAL: ("普通", "Normal"),
    Urgency.HIGH: ("紧急", "High"),
    Urgency.EMERGENCY: ("特急", "Emergency"),
}


class Category(Base):
    """A class of event (事件分类): two levels, each leaf with its request type and deadlines."""

    __tablename__ = "category"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    name_zh: Mapped[str] = mapped_column(String(100), nullable=False)
    name_en: Mapped[str] = mapped_column(String(150), default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"), nullable=True)
    request_type: Mapped[RequestType] = mapped_column(Enum(RequestType, native_enum=False, length=20))
    # Deadlines: amount + unit ('minutes' and 'hours' are wall-clock, 'working_days' follow the calendar).
    accept_amount: Mapped[float | None] = mapped_column(Float, nullable=True)
    accept_unit: Mapped[str | None] = mapped_column(String(15), nullable=True)
    finish_amount: Mapped[float] = mapped_column(Float, nullable=False)
    finish_unit: Mapped[str] = mapped_column(String(15), nullable=False)
    default_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), nullable=True)
    auto_escalate: Mapped[bool] = mapped_column(Boolean, default=False)
    description_zh: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    public: Mapped[bool] = mapped_column(Boolean, default=False)  # offered to citizens through Open311 (0009)

    parent: Mapped[Category | None] = relationship(remote_side="Category.id", lazy="joined")


class RoutingRule(Base):
    """Category × region subtree → owning unit. The most specific rule wins."""

    __tablename__ = "routing_rule"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"), nullable=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), nullable=False)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), nullable=False)
    note: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    category: Mapped[Category | None] = relationship(lazy="joined")
    region: Mapped[Region] = relationship(lazy="joined")
    unit: Mapped[Unit] = relationship(lazy="joined")


COHORT_INDEXES: dict[str, tuple[str, ...]] = {
    "ix_case_received_cover": ("received_at", "region_path", "category_id", "channel", "grid_id", "unit_id",
                               "reporter_user_id"),
    "ix_case_registered_cover": ("registered_at", "region_path", "received_at", "state", "self_handled", "unit_id",
                                 "reporter_user_id"),
    "ix_case_due_cover": ("finish_due_at", "region_path", "state", "resolved_at", "unit_id", "reporter_user_id"),
    "ix_case_resolved_cover": ("resolved_at", "region_path", "registered_at", "suspended_seconds", "rework_count",
                               "extensions_count", "unit_id", "reporter_user_id"),
    "ix_case_closed_cover": ("closed_at", "region_path", "state", "satisfaction", "unit_id", "reporter_user_id"),
    "ix_case_open_cover": ("state", "region_path", "overdue", "unit_id", "urgency", "received_at"),
}


class Case(Base):
    """One event in the loop. ``region_path`` is where it happened; ``desk_path`` who owns it now."""

    __tablename__ = "case"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str | None] = mapped_column(String(24), unique=True, nullable=True)
    channel: Mapped[Channel] = mapped_column(Enum(Channel, native_enum=False, length=20), nullable=False)
    idempotency_key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"), nullable=False)
    request_type: Mapped[RequestType] = mapped_column(Enum(RequestType, native_enum=False, length=20))
    urgency: Mapped[Urgency] = mapped_column(Enum(Urgency, native_enum=False, length=12), default=Urgency.NORMAL)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    address: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # The words of title, address and description (events/search.py), written at intake. On
    # PostgreSQL a tsvector under a GIN index; on SQLite text that triggers copy into the FTS5
    # table case_search (migration 0012): a migration that rebuilds this table on SQLite
    # (batch mode) drops those triggers and must create them again. Deferred: only the search reads it.
    search_terms: Mapped[str] = mapped_column(Text().with_variant(TSVECTOR(), "postgresql"), default="",
                                              server_default="", deferred=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    location_status: Mapped[str] = mapped_column(String(12), default="inside")  # inside|snapped|outside|none
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"), nullable=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), nullable=False)
    region_path: Mapped[str] = mapped_column(String(255), nullable=False)
    level: Mapped[RegionLevel] = mapped_column(Enum(RegionLevel, native_enum=False, length=20))
    desk_region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), nullable=False)
    desk_path: Mapped[str] = mapped_column(String(255), nullable=False)
    state: Mapped[CaseState] = mapped_column(Enum(CaseState, native_enum=False, length=20), nullable=False)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), nullable=True)
    suggested_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), nullable=True)
    routing_rule_id: Mapped[int | None] = mapped_column(ForeignKey("routing_rule.id"), nullable=True)
    routing_reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    reporter_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    reporter_phone: Mapped[str | None] = mapped_column(String(30), nullable=True)
    reporter_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    external_token: Mapped[str | None] = mapped_column(String(40), nullable=True, unique=True)

    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    registered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    accept_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finish_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    calendar_note: Mapped[str | None] = mapped_column(String(200), nullable=True)
    suspended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    remaining_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    suspended_seconds: Mapped[float] = mapped_column(Float, default=0)

    extension_days_requested: Mapped[int | None] = mapped_column(Integer, nullable=True)
    extensions_count: Mapped[int] = mapped_column(Integer, default=0)
    returns_count: Mapped[int] = mapped_column(Integer, default=0)
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    escalations_count: Mapped[int] = mapped_column(Integer, default=0)
    supervision_count: Mapped[int] = mapped_column(Integer, default=0)
    self_handled: Mapped[bool] = mapped_column(Boolean, default=False)
    accepted_late: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    resolved_late: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    due_soon: Mapped[bool] = mapped_column(Boolean, default=False)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    accept_overdue: Mapped[bool] = mapped_column(Boolean, default=False)

    satisfaction: Mapped[str | None] = mapped_column(String(12), nullable=True)
    resolution_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    category: Mapped[Category] = relationship(lazy="joined")
    unit: Mapped[Unit | None] = relationship(lazy="joined", foreign_keys=[unit_id])
    grid: Mapped[Region | None] = relationship(lazy="joined", foreign_keys=[grid_id])

    __table_args__ = (
        UniqueConstraint("channel", "idempotency_key", name="uq_case_channel_key"),
        Index("ix_case_region_received", "region_path", "received_at"),
        Index("ix_case_desk_state", "desk_path", "state"),
        Index("ix_case_state_due", "state", "finish_due_at"),
        Index("ix_case_unit_state", "unit_id", "state"),
        Index("ix_case_received", "received_at"),
        Index("ix_case_category_received", "category_id", "received_at"),
        Index("ix_case_merged_into", "merged_into_id"),
        # Assessment and dashboard cohorts (migration 0003_assessment): one covering index per period
        # timestamp holding every column its KPI conditions and groupings read, so each cohort is an
        # index-only range scan; and the open cases by state within a region (live counters, lists).
        *(Index(name, *cols) for name, cols in COHORT_INDEXES.items()),
        # The case list over 1,000,000 cases (bench/bench_case_list.py; needs a migration):
        # a handler's newest cases in order; the newest cases in order with the scope path
        # checked inside the index; and the rare overdue ones (partial, matching `overdue IS true`).
        Index("ix_case_unit_received", "unit_id", "received_at", "id"),
        Index("ix_case_received_order", "received_at", "id", "region_path"),
        Index("ix_case_overdue_received", "received_at", "id", "region_path",
              sqlite_where=sql_text("overdue IS 1"), postgresql_where=sql_text("overdue IS true")),
        # Measured next on 1M cases (need a migration): a handler's list by category and its
        # overdue cases, and the category filter with the scope checked inside the index
        # (supersedes ix_case_category_received): 400–1,700 ms → 1–20 ms on SQLite.
        Index("ix_case_unit_category", "unit_id", "category_id", "received_at", "id"),
        Index("ix_case_unit_overdue", "unit_id", "received_at", "id",
              sqlite_where=sql_text("overdue IS 1"), postgresql_where=sql_text("overdue IS true")),
        Index("ix_case_category_order", "category_id", "received_at", "id", "region_path"),
        Index("ix_case_search_terms", "search_terms", postgresql_using="gin").ddl_if(dialect="postgresql"),
    )


class Attachment(Base):
    """A photo or file attached to a case; bytes live in the upload folder, named by hash."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), nullable=False, index=True)
    filename: Mapped[str] = mapped_column(String(200), nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseTally(Base):
    """Rows of the case tallies (events/tally.py): per ledger, KPI cohort, local day, area and unit,
    the number of cases and of those meeting each KPI condition. Rows are appended as deltas and
    compacted; a key's figures are the sum of its rows."""

    __tablename__ = "case_tally"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ledger: Mapped[str] = mapped_column(String(5), nullable=False)  # area | unit | unitm
    cohort: Mapped[str] = mapped_column(String(10), nullable=False)
    day: Mapped[dt.date] = mapped_column(Date, nullable=False)
    area_path: Mapped[str] = mapped_column(String(255), nullable=False)
    unit_id: Mapped[int] = mapped_column(BigInteger, nullable=False)  # 0: none / all units
    n: Mapped[int] = mapped_column(Integer, nullable=False)
    registered_on_time: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    registered_inaccurate: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    self_handled: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    deferred: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    closed_now: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    closed_on_time: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    handled_on_time: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    resolved_late: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    unresolved: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    reworked: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    extended: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rated: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    satisfied: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    overdue_now: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    handling_seconds: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)

    # Covering: a KPI question is one range of the index, never a visit to the table.
    __table_args__ = (Index("ix_case_tally_key", "ledger", "cohort", "day", "area_path", "unit_id", "n",
                            "registered_on_time", "registered_inaccurate", "self_handled", "deferred", "closed_now",
                            "closed_on_time", "handled_on_time", "resolved_late", "unresolved", "reworked",
                            "extended", "rated", "satisfied", "overdue_now", "handling_seconds"),)


class CaseTallyMeta(Base):
    """One row: whether the tallies may be read, and the registration limit and zone they count with."""

    __tablename__ = "case_tally_meta"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(12), nullable=False)  # ready | stale | rebuilding
    register_limit_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    compacted_id: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)  # rows up to here: one per key
