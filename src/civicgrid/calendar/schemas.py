"""Request and response shapes of the working-day calendar API."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from civicgrid.calendar.workdays import DaySource


class CalendarDayIn(BaseModel):
    """One holiday (``is_workday=false``) or make-up workday (``is_workday=true``) to enter."""

    model_config = ConfigDict(extra="forbid")

    date: dt.date
    is_workday: bool
    name: str = Field("", max_length=60, description="e.g. 春节, 国庆节; a make-up workday may be left empty")


class CalendarDayRead(BaseModel):
    """A holiday or make-up workday as the calendar applies it."""

    date: dt.date
    weekday: int = Field(description="ISO weekday, 1 = Monday … 7 = Sunday")
    is_workday: bool
    name_zh: str
    source: DaySource
    entered_via: Literal["admin", "import"] | None = Field(
        None, description="For entered days: typed in by an administrator, or imported from a file"
    )


class CalendarYearRead(BaseModel):
    """A year's schedule: whether it is official, where it comes from, and its special days."""

    year: int
    known: bool = Field(description="False when no official schedule exists and Monday–Friday is assumed")
    source: DaySource
    source_label_zh: str
    source_label_en: str
    workday_count: int
    days: list[CalendarDayRead]


class CalendarImportRead(BaseModel):
    """What an import changed: the years replaced and how many days each now has."""

    years: dict[int, int]
