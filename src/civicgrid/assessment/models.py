"""Tables of the assessment domain: schemes (weights, grades), point rules and entries, responsibility lists."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from civicgrid.db import Base, BigId, UTCDateTime, utcnow


class AssessmentScheme(Base):
    """The weights and grade thresholds of the composite score (综合指标值) for one kind of subject."""

    __tablename__ = "assessment_scheme"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    target: Mapped[str] = mapped_column(String(10), unique=True, nullable=False)  # unit | region
    weights: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    grades: Mapped[list[Any]] = mapped_column(JSON, nullable=False)
    register_limit_minutes: Mapped[int] = mapped_column(Integer, default=120)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)


class PointRule(Base):
    """A configurable override of one automatic point rule (points and caps); defaults live in points.py."""

    __tablename__ = "point_rule"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    points: Mapped[int] = mapped_column(Integer, nullable=False)
    daily_cap: Mapped[int | None] = mapped_column(Integer, nullable=True)
    monthly_cap: Mapped[int | None] = mapped_column(Integer, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PointEntry(Base):
    """One line of a grid worker's points (积分): automatic (from the history) or a manual adjustment."""

    __tablename__ = "point_entry"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), nullable=False)
    rule_code: Mapped[str] = mapped_column(String(40), nullable=False)
    points: Mapped[int] = mapped_column(Integer, nullable=False)  # what counts (after caps)
    raw_points: Mapped[int] = mapped_column(Integer, nullable=False)  # what the rule gives before caps
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), nullable=True)
    source_key: Mapped[str] = mapped_column(String(80), nullable=False)  # audit:<id> or manual:<uuid>
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    day: Mapped[dt.date] = mapped_column(Date, nullable=False)  # local day of occurred_at
    month: Mapped[str] = mapped_column(String(7), nullable=False)  # YYYY-MM, local
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("user_id", "rule_code", "source_key", name="uq_point_entry_source"),
        Index("ix_point_entry_user_month", "user_id", "month"),
        Index("ix_point_entry_month", "month"),
    )


class PointCursor(Base):
    """How far the points job has read the audit trail (so each entry is scored once)."""

    __tablename__ = "point_cursor"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    last_audit_id: Mapped[int] = mapped_column(BigId, default=0)


RESPONSIBILITY_KINDS = {
    "duty": ("责任清单", "Responsibility"),
    "problem": ("问题清单", "Problem to fix"),
}
RESPONSIBILITY_STATUSES = {
    "planned": ("未开始", "Planned"),
    "in_progress": ("推进中", "In progress"),
    "done": ("已完成", "Done"),
    "dropped": ("已撤销", "Dropped"),
}


class ResponsibilityItem(Base):
    """One task of a unit's yearly responsibility or problem list (责任清单/问题清单)."""

    __tablename__ = "responsibility_item"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    detail: Mapped[str] = mapped_column(Text, default="")
    target: Mapped[str] = mapped_column(String(300), default="")
    due_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(12), default="planned")
    result: Mapped[str] = mapped_column(Text, default="")
    done_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_responsibility_unit_year", "unit_id", "year"),)
