"""Properties of working time, checked with hypothesis on instants around real holidays.

Instants are drawn from mid-2025 to mid-2028, so they cross built-in years (2025, 2026),
the fallback years (2027, 2028) and, for one calendar, an administrator-entered 2027.
Midnights and the last microsecond of a day are drawn often: that is where bugs live.
"""

from __future__ import annotations

import datetime as dt

import chinese_calendar
from hypothesis import example, given, settings, strategies as st

from civicgrid.calendar.workdays import CC_LAST_YEAR, DAY_SECONDS, SHANGHAI, WorkCalendar

BUILT_IN = WorkCalendar()
ENTERED_2027 = WorkCalendar(
    overrides={
        dt.date(2027, 1, 1): (False, "元旦"),
        dt.date(2027, 2, 6): (True, "春节调休上班"),
        **{dt.date(2027, 2, 8) + dt.timedelta(days=i): (False, "春节") for i in range(7)},
        **{dt.date(2027, 10, 1) + dt.timedelta(days=i): (False, "国庆节") for i in range(7)},
        dt.date(2027, 10, 9): (True, "国庆节调休上班"),
    },
    admin_years=frozenset({2027}),
)

calendars = st.sampled_from([BUILT_IN, ENTERED_2027])
day_times = st.one_of(
    st.sampled_from([dt.time(0), dt.time(23, 59, 59, 999_999), dt.time(12)]),
    st.times(),
)
instants = st.builds(
    lambda d, t: dt.datetime.combine(d, t, tzinfo=SHANGHAI),
    st.dates(dt.date(2025, 6, 1), dt.date(2028, 6, 30)),
    day_times,
)
# Whole days are drawn often so results land exactly on midnights.
spans = st.one_of(
    st.integers(0, 40 * DAY_SECONDS),
    st.integers(0, 40).map(lambda n: n * DAY_SECONDS),
    st.integers(0, 4 * 24).map(lambda h: h * 3600),
)


def local(instant: dt.datetime) -> dt.datetime:
    return instant.astimezone(SHANGHAI).replace(tzinfo=None)


def reference_is_workday(cal: WorkCalendar, d: dt.date) -> bool:
    """The rule written out plainly, independent of the calendar's year tables."""
    if d in cal.overrides:
        return cal.overrides[d][0]
    if d.year not in cal.admin_years and d.year <= CC_LAST_YEAR:
        return chinese_calendar.is_workday(d)
    return d.weekday() < 5


def reference_between(cal: WorkCalendar, a: dt.datetime, b: dt.datetime) -> float:
    """Working seconds by walking every day from a to b: slow, obvious, independent."""
    la, lb = local(a), local(b)
    total = dt.timedelta(0)
    day = la.date()
    while day <= lb.date():
        lo = max(la, dt.datetime.combine(day, dt.time()))
        hi = min(lb, dt.datetime.combine(day + dt.timedelta(days=1), dt.time()))
        if hi > lo and reference_is_workday(cal, day):
            total += hi - lo
        day += dt.timedelta(days=1)
    return total / dt.timedelta(microseconds=1) / 1_000_000


@settings(max_examples=300)
@given(cal=calendars, t=instants)
def test_every_day_agrees_with_the_plain_rule(cal, t):
    assert cal.is_workday(t.date()) == reference_is_workday(cal, t.date())


@settings(max_examples=300)
@given(cal=calendars, t=instants, s=spans)
@example(cal=BUILT_IN, t=dt.datetime(2026, 10, 1, tzinfo=SHANGHAI), s=0)
@example(cal=BUILT_IN, t=dt.datetime(2026, 9, 30, tzinfo=SHANGHAI), s=DAY_SECONDS)
def test_between_undoes_add(cal, t, s):
    assert cal.working_seconds_between(t, cal.add_working_seconds(t, s).due) == s


@settings(max_examples=300)
@given(cal=calendars, t=instants, s=st.floats(0, 20 * DAY_SECONDS, allow_nan=False))
def test_between_undoes_add_to_the_microsecond_for_fractions(cal, t, s):
    # datetimes hold microseconds, so a fractional amount is kept to the nearest one.
    assert abs(cal.working_seconds_between(t, cal.add_working_seconds(t, s).due) - s) <= 1e-6


@settings(max_examples=300)
@given(cal=calendars, t=instants, s1=spans, s2=spans)
def test_add_is_monotonic_in_seconds(cal, t, s1, s2):
    lo, hi = sorted((s1, s2))
    assert cal.add_working_seconds(t, lo).due <= cal.add_working_seconds(t, hi).due
    assert cal.add_working_seconds(t, hi).due >= t


@settings(max_examples=300)
@given(cal=calendars, t=instants, s=spans)
@example(cal=BUILT_IN, t=dt.datetime(2026, 10, 3, 15, tzinfo=SHANGHAI), s=0)
def test_a_due_instant_is_never_inside_a_non_working_day(cal, t, s):
    due = local(cal.add_working_seconds(t, s).due)
    if not cal.is_workday(due.date()):
        # Only allowed at the midnight that closes a working day.
        assert due.time() == dt.time(0)
        assert cal.is_workday(due.date() - dt.timedelta(days=1))


@settings(max_examples=300)
@given(cal=calendars, t=instants, a=spans, b=spans)
@example(cal=BUILT_IN, t=dt.datetime(2026, 9, 30, tzinfo=SHANGHAI), a=DAY_SECONDS, b=0)
def test_add_is_additive(cal, t, a, b):
    stepwise = cal.add_working_seconds(cal.add_working_seconds(t, a).due, b).due
    assert stepwise == cal.add_working_seconds(t, a + b).due


@settings(max_examples=300)
@given(cal=calendars, t=instants, s=spans)
def test_add_matches_a_day_by_day_walk(cal, t, s):
    due = cal.add_working_seconds(t, s).due
    assert reference_between(cal, t, due) == s
    # ...and no earlier instant already has the full amount: the due time is the first one.
    if s > 0:
        assert reference_between(cal, t, due - dt.timedelta(microseconds=1)) < s


@settings(max_examples=300)
@given(cal=calendars, a=instants, b=instants)
def test_between_matches_a_day_by_day_walk(cal, a, b):
    assert cal.working_seconds_between(a, b) == reference_between(cal, a, b)


@settings(max_examples=200)
@given(cal=calendars, a=instants, b=instants, c=instants)
def test_between_adds_up_over_consecutive_spans(cal, a, b, c):
    a, b, c = sorted((a, b, c))
    # Compared in whole microseconds: the sum of two floats may round differently.
    micros = lambda x, y: round(cal.working_seconds_between(x, y) * 1_000_000)  # noqa: E731
    assert micros(a, b) + micros(b, c) == micros(a, c)


@settings(max_examples=200)
@given(cal=calendars, t=instants, n=st.integers(0, 30))
def test_working_days_are_86400_working_seconds(cal, t, n):
    assert cal.add_working_days(t, n) == cal.add_working_seconds(t, n * DAY_SECONDS)


@settings(max_examples=300)
@given(cal=calendars, t=instants, s=spans)
def test_fallback_years_name_exactly_the_guessed_years_touched(cal, t, s):
    deadline = cal.add_working_seconds(t, s)
    assert all(not cal.knows(dt.date(y, 1, 1)) for y in deadline.fallback_years)
    due = local(deadline.due)
    # The day holding the last working second (a closing midnight belongs to the day before).
    closes_a_day = due.time() == dt.time(0) and (s > 0 or due == local(t))
    last = due.date() - dt.timedelta(days=1) if closes_a_day else due.date()
    for year in range(local(t).year, last.year + 1):
        if not cal.knows(dt.date(year, 1, 1)):
            assert year in deadline.fallback_years
    # Nothing outside what was looked at: the start's day (or the working day it closes) to the due day.
    assert all(local(t).year - 1 <= y <= due.year for y in deadline.fallback_years)
