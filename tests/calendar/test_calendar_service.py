"""Calendar services against a real (in-memory SQLite) database: entering, importing, viewing."""

from __future__ import annotations

import datetime as dt
import json

import chinese_calendar
import pytest
from sqlalchemy import create_engine, event, func, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

import civicgrid.models  # noqa: F401  (registers every table on Base.metadata)
from civicgrid.audit.models import AuditEntry
from civicgrid.audit.service import Origin, history
from civicgrid.calendar import service
from civicgrid.calendar.models import CalendarDay
from civicgrid.calendar.schemas import CalendarDayIn
from civicgrid.calendar.workdays import DaySource
from civicgrid.db import Base
from civicgrid.errors import InvalidInput

ORIGIN = Origin("test", "req-1")

NEW_YEAR_2027 = [
    CalendarDayIn(date=dt.date(2027, 1, 1), is_workday=False, name="元旦"),
    CalendarDayIn(date=dt.date(2027, 1, 2), is_workday=False, name="元旦"),
    CalendarDayIn(date=dt.date(2027, 1, 3), is_workday=False, name="元旦"),
]


@pytest.fixture
def cal_session():
    """A session on a fresh in-memory database with every table, foreign keys enforced."""
    engine = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    event.listen(engine, "connect", lambda conn, _: conn.execute("PRAGMA foreign_keys=ON"))
    Base.metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


def count_days(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(CalendarDay))


def put_2027(session: Session, days=NEW_YEAR_2027):
    return service.set_year(session=session, actor=None, origin=ORIGIN, year=2027, days=list(days))


def errors_of(exc: pytest.ExceptionInfo[InvalidInput]) -> list[dict]:
    return exc.value.extra["errors"]


# -- get_calendar ---------------------------------------------------------------------


def test_empty_table_gives_the_built_in_calendar(cal_session):
    cal = service.get_calendar(session=cal_session)
    assert cal.knows(dt.date(2026, 10, 1))
    assert not cal.is_workday(dt.date(2026, 10, 1))
    assert not cal.knows(dt.date(2027, 1, 1))


def test_the_calendar_is_cached_until_the_table_changes(cal_session):
    first = service.get_calendar(session=cal_session)
    assert service.get_calendar(session=cal_session) is first
    put_2027(cal_session)
    second = service.get_calendar(session=cal_session)
    assert second is not first
    assert second.knows(dt.date(2027, 1, 1)) and not second.is_workday(dt.date(2027, 1, 1))
    assert service.get_calendar(session=cal_session) is second


def test_a_change_made_by_another_process_is_noticed_on_the_next_call(cal_session):
    service.get_calendar(session=cal_session)
    # Another worker writes the table directly; this process's cache must not survive it.
    cal_session.execute(
        insert(CalendarDay).values(
            day=dt.date(2028, 1, 3), is_workday=False, name_zh="元旦", year=2028, source="admin",
            updated_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        )
    )
    cal = service.get_calendar(session=cal_session)
    assert cal.knows(dt.date(2028, 6, 1))
    assert not cal.is_workday(dt.date(2028, 1, 3))


def test_a_rolled_back_change_does_not_linger_in_the_cache(cal_session):
    cal_session.commit()
    put_2027(cal_session)
    assert service.get_calendar(session=cal_session).knows(dt.date(2027, 1, 1))
    cal_session.rollback()
    assert not service.get_calendar(session=cal_session).knows(dt.date(2027, 1, 1))


# -- set_year -------------------------------------------------------------------------


def test_set_year_stores_the_schedule_and_audits_it(cal_session):
    rows = put_2027(cal_session)
    assert [r.day for r in rows] == [d.date for d in NEW_YEAR_2027]
    assert all(r.source == "admin" and r.year == 2027 for r in rows)
    (entry,) = history(session=cal_session, entity="calendar", entity_id=2027)
    assert entry.action == "set_year"
    assert entry.channel == "test" and entry.request_id == "req-1"
    assert entry.before is None
    assert [d["date"] for d in entry.after["days"]] == ["2027-01-01", "2027-01-02", "2027-01-03"]


def test_set_year_replaces_the_previous_schedule(cal_session):
    put_2027(cal_session)
    replaced = [
        CalendarDayIn(date=dt.date(2027, 1, 1), is_workday=False, name="元旦"),
        CalendarDayIn(date=dt.date(2027, 2, 6), is_workday=True, name=""),
    ]
    put_2027(cal_session, replaced)
    stored = {r.day: r for r in cal_session.scalars(select(CalendarDay))}
    assert set(stored) == {dt.date(2027, 1, 1), dt.date(2027, 2, 6)}
    assert stored[dt.date(2027, 2, 6)].name_zh == "调休上班"  # empty name gets the usual label
    cal = service.get_calendar(session=cal_session)
    assert cal.is_workday(dt.date(2027, 1, 4))  # Monday; 2027-01-03 was dropped, a Sunday anyway
    assert cal.is_workday(dt.date(2027, 2, 6))
    latest = history(session=cal_session, entity="calendar", entity_id=2027)[-1]
    assert len(latest.before["days"]) == 3 and len(latest.after["days"]) == 2


def test_an_empty_schedule_returns_the_year_to_its_default(cal_session):
    put_2027(cal_session)
    put_2027(cal_session, [])
    assert count_days(cal_session) == 0
    assert not service.get_calendar(session=cal_session).knows(dt.date(2027, 1, 1))
    assert history(session=cal_session, entity="calendar", entity_id=2027)[-1].after is None


def test_entering_a_built_in_year_replaces_chinese_calendar_for_that_year(cal_session):
    national_day = [
        CalendarDayIn(date=dt.date(2026, 10, 1) + dt.timedelta(days=i), is_workday=False, name="国庆节")
        for i in range(7)
    ]
    service.set_year(session=cal_session, actor=None, origin=ORIGIN, year=2026, days=national_day)
    cal = service.get_calendar(session=cal_session)
    assert cal.year_source(2026) is DaySource.ADMIN
    assert not chinese_calendar.is_workday(dt.date(2026, 2, 16))
    assert cal.is_workday(dt.date(2026, 2, 16))


def test_set_year_refuses_bad_days_and_writes_nothing(cal_session):
    bad = [
        CalendarDayIn(date=dt.date(2027, 1, 1), is_workday=False, name="元旦"),
        CalendarDayIn(date=dt.date(2028, 1, 1), is_workday=False, name="元旦"),  # other year
        CalendarDayIn(date=dt.date(2027, 1, 1), is_workday=False, name="元旦"),  # duplicate
        CalendarDayIn(date=dt.date(2027, 1, 4), is_workday=True, name=""),  # a Monday "make-up"
    ]
    with pytest.raises(InvalidInput) as exc:
        put_2027(cal_session, bad)
    assert sorted({e["row"] for e in errors_of(exc)}) == [2, 3, 4]
    assert all(e["message_zh"] and e["message_en"] for e in errors_of(exc))
    assert count_days(cal_session) == 0
    assert cal_session.scalar(select(func.count()).select_from(AuditEntry)) == 0


@pytest.mark.parametrize("year", [1999, 2101, 20277])
def test_set_year_refuses_years_out_of_range(cal_session, year):
    with pytest.raises(InvalidInput):
        service.set_year(session=cal_session, actor=None, origin=ORIGIN, year=year, days=[])


# -- import_schedule ------------------------------------------------------------------


def do_import(session: Session, content: bytes, filename: str) -> dict[int, int]:
    return service.import_schedule(session=session, actor=None, origin=ORIGIN, content=content, filename=filename)


def test_import_csv_with_english_headers(cal_session):
    content = b"date,type,name\n2027-01-01,holiday,New Year\n2027-02-06,workday,\n"
    assert do_import(cal_session, content, "2027.csv") == {2027: 2}
    rows = {r.day: r for r in cal_session.scalars(select(CalendarDay))}
    assert rows[dt.date(2027, 1, 1)].is_workday is False
    assert rows[dt.date(2027, 2, 6)].is_workday is True
    assert all(r.source == "import" for r in rows.values())
    (entry,) = history(session=cal_session, entity="calendar", entity_id=2027)
    assert entry.action == "import" and entry.note == "2027.csv"


def test_import_csv_with_chinese_headers_as_excel_saves_it(cal_session):
    text = "日期,类型,名称\n2027/1/1,休,元旦\n2027年2月6日,班,春节调休上班\n"
    for encoded in (text.encode("gb18030"), "\ufeff".encode() + text.encode()):
        assert do_import(cal_session, encoded, "节假日.csv") == {2027: 2}
    cal = service.get_calendar(session=cal_session)
    assert not cal.is_workday(dt.date(2027, 1, 1))
    assert cal.is_workday(dt.date(2027, 2, 6))


def test_import_json(cal_session):
    content = json.dumps(
        [
            {"date": "2027-01-01", "is_workday": False, "name": "元旦"},
            {"date": "2027-02-06", "is_workday": True, "name": "春节调休上班"},
            {"date": "2028-01-01", "is_workday": False, "name": "元旦"},
        ],
        ensure_ascii=False,
    ).encode()
    assert do_import(cal_session, content, "schedule.json") == {2027: 2, 2028: 1}
    cal = service.get_calendar(session=cal_session)
    assert cal.knows(dt.date(2027, 5, 5)) and cal.knows(dt.date(2028, 5, 5))
    assert [e.entity_id for e in cal_session.scalars(select(AuditEntry).order_by(AuditEntry.id))] == ["2027", "2028"]


def test_import_replaces_each_year_in_the_file_and_no_other(cal_session):
    put_2027(cal_session)
    service.set_year(
        session=cal_session, actor=None, origin=ORIGIN, year=2028,
        days=[CalendarDayIn(date=dt.date(2028, 1, 1), is_workday=False, name="元旦")],
    )
    do_import(cal_session, b"date,type,name\n2027-10-01,holiday,National Day\n", "x.csv")
    days = {r.day for r in cal_session.scalars(select(CalendarDay))}
    assert days == {dt.date(2027, 10, 1), dt.date(2028, 1, 1)}


def test_import_reports_every_bad_row_and_writes_nothing(cal_session):
    content = (
        "日期,类型,名称\n"
        "2027-01-01,休,元旦\n"  # row 2: fine
        "2027-13-01,休,坏日期\n"  # row 3: no such month
        "2027-01-02,放风,\n"  # row 4: unknown type
        "2027-01-01,休,元旦\n"  # row 5: duplicate
        "2027-01-06,班,\n"  # row 6: a Wednesday "make-up workday"
    ).encode()
    with pytest.raises(InvalidInput) as exc:
        do_import(cal_session, content, "bad.csv")
    assert [e["row"] for e in errors_of(exc)] == [3, 4, 5, 6]
    assert "2027-13-01" in errors_of(exc)[0]["message_zh"]
    assert count_days(cal_session) == 0


def test_import_json_row_errors_count_items_from_one(cal_session):
    content = json.dumps(
        [{"date": "2027-01-01", "is_workday": False}, {"date": "not a date", "is_workday": False}, {"is_workday": True}]
    ).encode()
    with pytest.raises(InvalidInput) as exc:
        do_import(cal_session, content, "bad.json")
    assert [e["row"] for e in errors_of(exc)] == [2, 3]
    assert count_days(cal_session) == 0


@pytest.mark.parametrize(
    ("content", "filename"),
    [
        (b"", "empty.csv"),
        (b"date,type,name\n", "header-only.csv"),
        (b"day,kind\n2027-01-01,holiday\n", "wrong-header.csv"),
        (b"[", "broken.json"),
        (b'{"date": "2027-01-01"}', "object.json"),
        (b"[]", "empty.json"),
        (b"\xff\xfe\x00\x00garbage\xff", "binary.csv"),
        (b"date,type,name\n" + b"2027-01-01,holiday,x\n" * 80_000, "huge.csv"),
    ],
)
def test_import_refuses_unusable_files(cal_session, content, filename):
    with pytest.raises(InvalidInput):
        do_import(cal_session, content, filename)
    assert count_days(cal_session) == 0


def test_a_file_without_a_known_extension_is_recognised_by_its_content(cal_session):
    assert do_import(cal_session, b'[{"date": "2027-01-01", "is_workday": false}]', "upload") == {2027: 1}
    assert do_import(cal_session, b"date,type\n2027-01-01,holiday\n", "upload") == {2027: 1}


# -- year_view ------------------------------------------------------------------------


def test_year_view_of_a_built_in_year(cal_session):
    view = service.year_view(session=cal_session, year=2026)
    assert view.known and view.source is DaySource.CHINESE_CALENDAR
    by_day = {d.date: d for d in view.days}
    assert by_day[dt.date(2026, 10, 1)].name_zh == "国庆节"
    assert by_day[dt.date(2026, 10, 1)].weekday == 4
    assert all(d.source is DaySource.CHINESE_CALENDAR and d.entered_via is None for d in view.days)
    expected = sum(
        chinese_calendar.is_workday(dt.date(2026, 1, 1) + dt.timedelta(days=i)) for i in range(365)
    )
    assert view.workday_count == expected


def test_year_view_of_an_unknown_year_says_it_is_a_fallback(cal_session):
    view = service.year_view(session=cal_session, year=2027)
    assert not view.known
    assert view.source is DaySource.FALLBACK
    assert "周一至周五" in view.source_label_zh
    assert view.days == []


def test_year_view_of_an_entered_year_shows_how_it_was_entered(cal_session):
    do_import(cal_session, "日期,类型,名称\n2027-01-01,休,元旦\n".encode(), "a.csv")
    view = service.year_view(session=cal_session, year=2027)
    assert view.known and view.source is DaySource.ADMIN
    (day,) = view.days
    assert (day.date, day.is_workday, day.name_zh, day.source, day.entered_via) == (
        dt.date(2027, 1, 1), False, "元旦", DaySource.ADMIN, "import",
    )
