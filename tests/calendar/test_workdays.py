"""Working time on real dates, checked against chinese_calendar itself (no hand-typed holidays)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from civicgrid.calendar.workdays import (
    CC_FIRST_YEAR,
    CC_LAST_YEAR,
    DAY_SECONDS,
    SHANGHAI,
    DaySource,
    WorkCalendar,
)

CAL = WorkCalendar()
UTC = dt.UTC


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def local(instant: dt.datetime) -> dt.datetime:
    return instant.astimezone(SHANGHAI)


def days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def test_every_built_in_day_agrees_with_chinese_calendar():
    for d in days(dt.date(CC_FIRST_YEAR, 1, 1), dt.date(CC_LAST_YEAR, 12, 31)):
        assert CAL.is_workday(d) == chinese_calendar.is_workday(d), d


def test_national_day_week_2026_is_off_and_its_make_up_saturday_is_on():
    golden_week = days(dt.date(2026, 10, 1), dt.date(2026, 10, 7))
    assert all(not chinese_calendar.is_workday(d) for d in golden_week)  # the premise, from the source
    assert all(not CAL.is_workday(d) for d in golden_week)
    autumn = days(dt.date(2026, 9, 1), dt.date(2026, 10, 31))
    make_up = [d for d in autumn if d.weekday() >= 5 and chinese_calendar.is_workday(d)]
    assert make_up, "chinese_calendar lists make-up weekend days around National Day 2026"
    assert all(CAL.is_workday(d) for d in make_up)
    names = {s.day: s.name_zh for s in CAL.special_days(2026)}
    assert names[dt.date(2026, 10, 1)] == "国庆节"
    assert all(names[d].endswith("调休上班") for d in make_up)


def test_spring_festival_2026_make_up_saturdays():
    winter = days(dt.date(2026, 1, 15), dt.date(2026, 3, 15))
    saturdays = [d for d in winter if d.weekday() == 5 and chinese_calendar.is_workday(d)]
    assert len(saturdays) >= 2
    for d in saturdays:
        assert CAL.is_workday(d)
        detail = chinese_calendar.get_holiday_detail(d)
        assert detail[1] == "Spring Festival"
    special = {s.day: s for s in CAL.special_days(2026)}
    assert all(special[d].is_workday and special[d].name_zh == "春节调休上班" for d in saturdays)


def test_special_days_2026_are_exactly_chinese_calendars_holidays_and_workdays():
    from chinese_calendar.constants import holidays, workdays

    listed = CAL.special_days(2026)
    assert {s.day for s in listed if not s.is_workday} == {d for d in holidays if d.year == 2026}
    assert {s.day for s in listed if s.is_workday} == {d for d in workdays if d.year == 2026}
    assert all(s.source is DaySource.CHINESE_CALENDAR for s in listed)
    assert [s.day for s in listed] == sorted(s.day for s in listed)


def test_one_working_day_across_national_day():
    start = at(2026, 9, 30, 10, 0)
    expected_day = chinese_calendar.find_workday(1, dt.date(2026, 9, 30))
    deadline = CAL.add_working_days(start, 1)
    assert local(deadline.due) == at(expected_day.year, expected_day.month, expected_day.day, 10, 0)
    assert deadline.fallback_years == ()
    assert deadline.due.tzinfo == UTC


@pytest.mark.parametrize("n", [1, 5, 15])
def test_n_working_days_match_chinese_calendars_find_workday(n):
    for start_day in days(dt.date(2026, 1, 1), dt.date(2026, 11, 30)):
        if not chinese_calendar.is_workday(start_day):
            continue
        due = local(CAL.add_working_days(at(start_day.year, start_day.month, start_day.day, 9, 30), n).due)
        assert due.date() == chinese_calendar.find_workday(n, start_day)
        assert due.time() == dt.time(9, 30)


def test_start_on_a_holiday_starts_the_clock_next_working_morning():
    start = at(2026, 10, 3, 15, 0)
    # find_workday(0, d) is the first working day on or after d.
    first = chinese_calendar.find_workday(0, dt.date(2026, 10, 3))
    assert local(CAL.add_working_seconds(start, 0).due) == at(first.year, first.month, first.day)
    assert local(CAL.add_working_seconds(start, 3600).due) == at(first.year, first.month, first.day, 1, 0)
    # A full working day from then ends at the midnight closing that day.
    end = local(CAL.add_working_days(start, 1).due)
    assert end == at(first.year, first.month, first.day) + dt.timedelta(days=1)


def test_a_result_at_a_working_days_end_is_that_midnight():
    # 2026-09-30 is the last working day before the golden week.
    assert chinese_calendar.is_workday(dt.date(2026, 9, 30))
    due = local(CAL.add_working_days(at(2026, 9, 30), 1).due)
    assert due == at(2026, 10, 1)  # not 2026-10-08 00:00


def test_the_midnight_ending_a_working_day_is_not_moved_by_adding_nothing():
    t = at(2026, 10, 1)  # midnight after 2026-09-30, a working day
    assert local(CAL.add_working_seconds(t, 0).due) == t
    first = chinese_calendar.find_workday(0, dt.date(2026, 10, 1))
    assert local(CAL.add_working_seconds(t, 60).due) == at(first.year, first.month, first.day, 0, 1)


def test_working_seconds_between_across_national_day():
    a, b = at(2026, 9, 30, 18, 0), at(2026, 10, 9, 12, 0)
    working_full_days = sum(chinese_calendar.is_workday(d) for d in days(dt.date(2026, 10, 1), dt.date(2026, 10, 8)))
    expected = 6 * 3600 + working_full_days * DAY_SECONDS + 12 * 3600
    assert CAL.working_seconds_between(a, b) == expected
    assert CAL.working_seconds_between(b, a) == 0
    assert CAL.working_seconds_between(a, a) == 0
    # Within one holiday nothing counts.
    assert CAL.working_seconds_between(at(2026, 10, 2, 8), at(2026, 10, 2, 20)) == 0


def test_instants_in_other_zones_are_read_in_local_time():
    # 2026-10-07 17:00 UTC is 2026-10-08 01:00 in Shanghai: already a working day there.
    start = dt.datetime(2026, 10, 7, 17, 0, tzinfo=UTC)
    assert local(CAL.add_working_seconds(start, 3600).due) == at(2026, 10, 8, 2, 0)
    # A UTC calendar sees the same instant on the holiday of 2026-10-07.
    utc_cal = WorkCalendar(tz=ZoneInfo("UTC"))
    assert utc_cal.add_working_seconds(start, 3600).due == dt.datetime(2026, 10, 8, 1, 0, tzinfo=UTC)


def test_2027_is_unknown_and_falls_back_to_monday_to_friday_and_says_so():
    assert CAL.knows(dt.date(2026, 12, 31))
    assert not CAL.knows(dt.date(2027, 1, 1))
    assert CAL.year_source(2027) is DaySource.FALLBACK
    assert CAL.is_workday(dt.date(2027, 1, 1))  # a Friday; the real New Year holiday is not known
    assert not CAL.is_workday(dt.date(2027, 1, 2))  # Saturday
    assert CAL.special_days(2027) == []
    deadline = CAL.add_working_days(at(2026, 12, 30, 10), 5)
    assert deadline.fallback_years == (2027,)
    assert not deadline.is_official
    # 12-30, 12-31 (2 days in 2026) then Fri 1, Mon 4, Tue 5, Wed 6 -> 10:00 on 2027-01-06.
    assert chinese_calendar.is_workday(dt.date(2026, 12, 30)) and chinese_calendar.is_workday(dt.date(2026, 12, 31))
    assert local(deadline.due) == at(2027, 1, 6, 10)
    assert CAL.add_working_days(at(2026, 12, 1, 10), 5).fallback_years == ()
    assert CAL.unknown_years(dt.date(2025, 6, 1), dt.date(2029, 1, 1)) == (2027, 2028, 2029)


def test_a_deadline_ending_at_the_last_midnight_of_a_known_year_is_official():
    deadline = CAL.add_working_seconds(at(2026, 12, 31, 23, 0), 3600)
    assert local(deadline.due) == at(2027, 1, 1)
    assert deadline.fallback_years == ()


def test_admin_overrides_for_2027_take_effect():
    entered = {
        dt.date(2027, 1, 1): (False, "元旦"),
        dt.date(2027, 2, 6): (True, "春节调休上班"),  # a Saturday
        **{dt.date(2027, 2, 8) + dt.timedelta(days=i): (False, "春节") for i in range(7)},
    }
    cal = WorkCalendar(overrides=entered, admin_years=frozenset({2027}))
    assert cal.knows(dt.date(2027, 6, 1))
    assert cal.year_source(2027) is DaySource.ADMIN
    assert not cal.is_workday(dt.date(2027, 1, 1))
    assert cal.is_workday(dt.date(2027, 2, 6))
    assert not cal.is_workday(dt.date(2027, 2, 10))
    assert cal.is_workday(dt.date(2027, 3, 1))  # an unlisted Monday
    deadline = cal.add_working_days(at(2026, 12, 30, 10), 5)
    assert deadline.fallback_years == ()
    # 12-30, 12-31, then 1-1 is off: Mon 4, Tue 5, Wed 6, Thu 7.
    assert local(deadline.due) == at(2027, 1, 7, 10)
    specials = cal.special_days(2027)
    assert [s.day for s in specials][:2] == [dt.date(2027, 1, 1), dt.date(2027, 2, 6)]
    assert all(s.source is DaySource.ADMIN for s in specials)


def test_an_entered_year_replaces_the_built_in_one_entirely():
    only_national_day = {d: (False, "国庆节") for d in days(dt.date(2026, 10, 1), dt.date(2026, 10, 7))}
    cal = WorkCalendar(overrides=only_national_day, admin_years=frozenset({2026}))
    assert cal.year_source(2026) is DaySource.ADMIN
    assert not cal.is_workday(dt.date(2026, 10, 1))
    assert not chinese_calendar.is_workday(dt.date(2026, 2, 16))
    assert cal.is_workday(dt.date(2026, 2, 16))  # Spring Festival was not entered: a plain Monday
    assert not cal.is_workday(dt.date(2026, 2, 14))  # nor its make-up Saturday


def test_an_individual_override_sits_on_top_of_a_built_in_year():
    cal = WorkCalendar(overrides={dt.date(2026, 3, 2): (False, "临时休假")})
    assert cal.year_source(2026) is DaySource.CHINESE_CALENDAR
    assert not cal.is_workday(dt.date(2026, 3, 2))
    assert not cal.is_workday(dt.date(2026, 10, 1))  # the rest still comes from chinese_calendar
    assert any(s.day == dt.date(2026, 3, 2) and s.source is DaySource.ADMIN for s in cal.special_days(2026))


def test_the_calendar_is_immutable():
    entered = {dt.date(2027, 1, 1): (False, "元旦")}
    cal = WorkCalendar(overrides=entered, admin_years=frozenset({2027}))
    entered[dt.date(2027, 1, 4)] = (False, "late edit")
    assert cal.is_workday(dt.date(2027, 1, 4))
    with pytest.raises(dataclasses.FrozenInstanceError):
        cal.tz = ZoneInfo("UTC")  # type: ignore[misc]
    with pytest.raises(TypeError):
        cal.overrides[dt.date(2027, 1, 5)] = (False, "x")  # type: ignore[index]


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.add_working_seconds(dt.datetime(2026, 5, 6, 9), 60)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.working_seconds_between(dt.datetime(2026, 5, 6, 9), at(2026, 5, 7))
    with pytest.raises(ValueError, match="negative"):
        CAL.add_working_seconds(at(2026, 5, 6, 9), -1)


def test_fractional_days_and_seconds():
    start = at(2026, 5, 6, 9)  # a Wednesday with no holiday around it
    assert chinese_calendar.is_workday(dt.date(2026, 5, 6)) and chinese_calendar.is_workday(dt.date(2026, 5, 7))
    assert local(CAL.add_working_days(start, 0.5).due) == at(2026, 5, 6, 21)
    assert local(CAL.add_working_seconds(start, 1.5).due) == start + dt.timedelta(seconds=1.5)
    assert CAL.add_working_days(start, 2) == CAL.add_working_seconds(start, 2 * DAY_SECONDS)


def test_long_spans_skip_whole_years():
    # Ten years of working days crosses the built-in, then the fallback years.
    deadline = CAL.add_working_days(at(2020, 1, 2, 9), 2500)
    assert deadline.fallback_years[0] == 2027
    assert CAL.working_seconds_between(at(2020, 1, 2, 9), deadline.due) == 2500 * DAY_SECONDS


def test_a_case_list_page_worth_of_deadlines_is_fast():
    starts = [at(2026, 1, 1) + dt.timedelta(hours=7 * i) for i in range(500)]
    began = time.perf_counter()
    for s in starts:
        due = CAL.add_working_days(s, 15).due
        CAL.working_seconds_between(s, due + dt.timedelta(days=90))
    # Measured ~0.02 s; the bound only catches a per-second or uncached per-day loop.
    assert time.perf_counter() - began < 1.0
