"""The working-day calendar table: official schedules an administrator entered or imported."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from civicgrid.db import Base, UTCDateTime, utcnow

SOURCES = ("admin", "import")


class CalendarDay(Base):
    """One holiday or make-up workday (调休上班) of a year whose schedule an administrator entered.

    A year with any row here is an "admin year": its rows are the whole official schedule
    and replace the built-in ``chinese_calendar`` data for that year; unlisted days follow
    Monday–Friday.
    """

    __tablename__ = "calendar_day"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean, nullable=False)
    name_zh: Mapped[str] = mapped_column(String(60), nullable=False)
    year: Mapped[int] = mapped_column(Integer, index=True, nullable=False)
    source: Mapped[str] = mapped_column(String(10), nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    __table_args__ = (CheckConstraint("source IN ('admin', 'import')", name="source"),)
