"""Working time (工作时间) on China's official calendar of holidays and make-up workdays (调休).

Pure: no database. **Working time is the measure of wall-clock time that falls on working
days, in local time.** One working day is 86,400 working seconds; a non-working day adds
none. Deadlines in civicgrid ("5 working days to finish") are working time added to the
instant a case was dispatched.

Which days are working days, year by year:

- a year an administrator entered (``admin_years``): Monday–Friday, except the entered
  days (``overrides``) — the entered list is the whole official schedule of that year;
- otherwise a year ``chinese_calendar`` knows (2004–2026 in 1.11.0): its data, with any
  individual ``overrides`` on top;
- otherwise Monday–Friday (plus any ``overrides``), and every result that relied on such a
  year says so in ``Deadline.fallback_years`` — a guessed deadline is never passed off as
  an official one.
"""

from __future__ import annotations

import datetime as dt
import enum
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from zoneinfo import ZoneInfo

import chinese_calendar
from chinese_calendar.constants import Holiday, holidays as _CC_HOLIDAYS, workdays as _CC_WORKDAYS

DAY_SECONDS = 86_400
SHANGHAI = ZoneInfo("Asia/Shanghai")

# chinese_calendar raises NotImplementedError outside these years; we ask it only inside.
CC_FIRST_YEAR = min(_CC_HOLIDAYS).year
CC_LAST_YEAR = max(_CC_HOLIDAYS).year

# All arithmetic is in integer microseconds (datetime's resolution) so results are exact.
_US = dt.timedelta(microseconds=1)
_DAY_US = DAY_SECONDS * 1_000_000
_MIDNIGHT = dt.time()
_UTC = dt.UTC

HOLIDAY_DEFAULT_ZH = "节假日"
MAKEUP_WORKDAY_ZH = "调休上班"


class DaySource(enum.StrEnum):
    """Where a year's (or a day's) working-day status comes from."""

    CHINESE_CALENDAR = "chinese_calendar"
    ADMIN = "admin"
    FALLBACK = "fallback"

    @property
    def label_zh(self) -> str:
        """The source as shown to Chinese-speaking users."""
        return _SOURCE_LABELS[self][0]

    @property
    def label_en(self) -> str:
        """The source as shown to English-speaking users."""
        return _SOURCE_LABELS[self][1]


_SOURCE_LABELS = {
    DaySource.CHINESE_CALENDAR: ("国务院公布的节假日安排（内置）", "State Council schedule (built in)"),
    DaySource.ADMIN: ("管理员录入", "Entered by an administrator"),
    DaySource.FALLBACK: ("无官方安排，按周一至周五推算", "No official schedule; Monday–Friday assumed"),
}


@dataclass(frozen=True)
class Deadline:
    """A computed due instant (UTC) and the years it had to guess as Monday–Friday."""

    due: dt.datetime
    fallback_years: tuple[int, ...] = ()

    @property
    def is_official(self) -> bool:
        """True when every day involved follows an official schedule."""
        return not self.fallback_years


@dataclass(frozen=True)
class SpecialDay:
    """A holiday or a make-up workday: a day whose status is not the plain weekday rule."""

    day: dt.date
    is_workday: bool
    name_zh: str
    source: DaySource


@dataclass(frozen=True, eq=False)
class _Year:
    """One year's working-day flags and their running count, for O(log n) day arithmetic."""

    year: int
    first_ordinal: int
    flags: bytes
    # cum[i] = number of working days among the year's first i days (cum[0] == 0).
    cum: tuple[int, ...]
    source: DaySource

    @property
    def total(self) -> int:
        return self.cum[-1]


def _cc_name_zh(english: str) -> str:
    """chinese_calendar names days in English; its Holiday enum carries the Chinese."""
    try:
        return Holiday(english).chinese
    except ValueError:
        return english


@dataclass(frozen=True, eq=False)
class WorkCalendar:
    """Which days are working days, and working-time arithmetic on instants. Immutable."""

    overrides: Mapping[dt.date, tuple[bool, str]] = field(default_factory=dict)
    admin_years: frozenset[int] = frozenset()
    tz: ZoneInfo = SHANGHAI
    # Per-year lookup tables, filled on first use; safe to share because they never change.
    _years: dict[int, _Year] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        # Copy so a caller mutating its dict cannot change an "immutable" calendar.
        object.__setattr__(self, "overrides", MappingProxyType(dict(self.overrides)))
        object.__setattr__(self, "admin_years", frozenset(self.admin_years))

    # -- days -------------------------------------------------------------------------

    def year_source(self, year: int) -> DaySource:
        """Where the given year's schedule comes from: admin, chinese_calendar or fallback."""
        if year in self.admin_years:
            return DaySource.ADMIN
        if CC_FIRST_YEAR <= year <= CC_LAST_YEAR:
            return DaySource.CHINESE_CALENDAR
        return DaySource.FALLBACK

    def knows(self, d: dt.date) -> bool:
        """True when an official schedule (built in or entered) exists for ``d``'s year."""
        return self.year_source(d.year) is not DaySource.FALLBACK

    def is_workday(self, d: dt.date) -> bool:
        """True when ``d`` is a working day (including a make-up Saturday or Sunday)."""
        y = self._year(d.year)
        return bool(y.flags[d.toordinal() - y.first_ordinal])

    def workday_count(self, year: int) -> int:
        """How many working days ``year`` has."""
        return self._year(year).total

    def unknown_years(self, first: dt.date, last: dt.date) -> tuple[int, ...]:
        """The years from ``first`` to ``last`` (inclusive) that have no official schedule."""
        return tuple(y for y in range(first.year, last.year + 1) if self.year_source(y) is DaySource.FALLBACK)

    def special_days(self, year: int) -> list[SpecialDay]:
        """Every holiday and make-up workday of ``year``, in date order, with its source."""
        found: dict[dt.date, SpecialDay] = {}
        if self.year_source(year) is DaySource.CHINESE_CALENDAR:
            for d, english in _CC_HOLIDAYS.items():
                if d.year == year:
                    found[d] = SpecialDay(d, False, _cc_name_zh(english), DaySource.CHINESE_CALENDAR)
            for d, english in _CC_WORKDAYS.items():
                if d.year == year:
                    name = f"{_cc_name_zh(english)}{MAKEUP_WORKDAY_ZH}"
                    found[d] = SpecialDay(d, True, name, DaySource.CHINESE_CALENDAR)
        for d, (is_workday, name_zh) in self.overrides.items():
            if d.year == year:
                found[d] = SpecialDay(d, is_workday, name_zh, DaySource.ADMIN)
        return [found[d] for d in sorted(found)]

    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is None:
            cached = self._years[year] = self._build_year(year)
        return cached

    def _build_year(self, year: int) -> _Year:
        if not dt.MINYEAR <= year <= dt.MAXYEAR:
            raise ValueError(f"year {year} is outside the calendar")
        source = self.year_source(year)
        first = dt.date(year, 1, 1).toordinal()
        length = dt.date(year, 12, 31).toordinal() - first + 1
        flags = bytearray(length)
        cum = [0] * (length + 1)
        for i in range(length):
            d = dt.date.fromordinal(first + i)
            entered = self.overrides.get(d)
            if entered is not None:
                working = entered[0]
            elif source is DaySource.CHINESE_CALENDAR:
                working = chinese_calendar.is_workday(d)
            else:
                working = d.weekday() < 5
            flags[i] = working
            cum[i + 1] = cum[i] + working
        return _Year(year, first, bytes(flags), tuple(cum), source)

    def _working_days_in(self, first: dt.date, stop: dt.date) -> int:
        """Number of working days ``d`` with ``first <= d < stop``."""
        count = 0
        d = first
        while d < stop:
            y = self._year(d.year)
            i = d.toordinal() - y.first_ordinal
            j = stop.toordinal() - y.first_ordinal if stop.year == d.year else len(y.flags)
            count += y.cum[j] - y.cum[i]
            if stop.year == d.year:
                break
            d = dt.date(d.year + 1, 1, 1)
        return count

    def _nth_working_day_after(self, d: dt.date, n: int) -> dt.date:
        """The ``n``-th working day strictly after ``d`` (``n >= 1``)."""
        y = self._year(d.year)
        target = y.cum[d.toordinal() - y.first_ordinal + 1] + n
        while target > y.total:
            # Skip whole years by their totals instead of walking day by day.
            target -= y.total
            y = self._year(y.year + 1)
        index = bisect_left(y.cum, target) - 1
        return dt.date.fromordinal(y.first_ordinal + index)

    # -- instants ---------------------------------------------------------------------

    def _local(self, instant: dt.datetime, what: str) -> dt.datetime:
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError(f"{what} must be a timezone-aware datetime")
        return instant.astimezone(self.tz).replace(tzinfo=None)

    def _deadline(self, due_local: dt.datetime, first: dt.date, last: dt.date) -> Deadline:
        due = due_local.replace(tzinfo=self.tz).astimezone(_UTC)
        return Deadline(due=due, fallback_years=self.unknown_years(first, last))

    def add_working_seconds(self, start: dt.datetime, seconds: int | float) -> Deadline:
        """The instant ``seconds`` of working time after ``start`` (aware), in UTC."""
        remaining = dt.timedelta(seconds=seconds) // _US
        if remaining < 0:
            raise ValueError("working time to add must not be negative")
        local = self._local(start, "start")
        day = local.date()
        midnight = dt.datetime.combine(day, _MIDNIGHT)
        if self.is_workday(day):
            left_today = _DAY_US - (local - midnight) // _US
            if remaining <= left_today:
                return self._deadline(local + remaining * _US, day, day)
            remaining -= left_today
            anchor = day
        elif local == midnight and day > dt.date.min and self.is_workday(day - dt.timedelta(days=1)):
            # The midnight ending a working day still belongs to it: adding nothing leaves
            # the instant where it is, which keeps add(add(t, a), b) == add(t, a + b).
            anchor = day - dt.timedelta(days=1)
            if remaining == 0:
                return self._deadline(local, anchor, anchor)
        else:
            # Inside a non-working day the clock starts at 00:00 of the next working day.
            anchor = day
        # Land on the n-th following working day; ``offset`` is in (0, one day], so a
        # result exactly at a working day's end is that day's closing midnight.
        n = max(1, -(-remaining // _DAY_US))
        end_day = self._nth_working_day_after(anchor, n)
        offset = remaining - (n - 1) * _DAY_US
        due_local = dt.datetime.combine(end_day, _MIDNIGHT) + offset * _US
        return self._deadline(due_local, anchor, end_day)

    def add_working_days(self, start: dt.datetime, n: int | float) -> Deadline:
        """The instant ``n`` working days (of 86,400 working seconds) after ``start``."""
        return self.add_working_seconds(start, n * DAY_SECONDS)

    def working_seconds_between(self, a: dt.datetime, b: dt.datetime) -> float:
        """Working seconds from ``a`` to ``b`` (both aware); 0 when ``b`` is not after ``a``."""
        la = self._local(a, "a")
        lb = self._local(b, "b")
        if b <= a or lb <= la:
            return 0.0
        da, db = la.date(), lb.date()
        if da == db:
            micros = (lb - la) // _US if self.is_workday(da) else 0
        else:
            micros = 0
            if self.is_workday(da):
                micros += (dt.datetime.combine(da + dt.timedelta(days=1), _MIDNIGHT) - la) // _US
            micros += self._working_days_in(da + dt.timedelta(days=1), db) * _DAY_US
            if self.is_workday(db):
                micros += (lb - dt.datetime.combine(db, _MIDNIGHT)) // _US
        return micros / 1_000_000
