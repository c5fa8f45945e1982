"""The working-day calendar as the rest of civicgrid sees it: built-in data plus entered years.

Services take a keyword-only ``session`` and never commit; the caller's unit of work does.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import threading
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicgrid.audit.service import Origin, record
from civicgrid.calendar.models import CalendarDay
from civicgrid.calendar.schemas import CalendarDayIn, CalendarDayRead, CalendarYearRead
from civicgrid.calendar.workdays import HOLIDAY_DEFAULT_ZH, MAKEUP_WORKDAY_ZH, WorkCalendar
from civicgrid.db import utcnow
from civicgrid.errors import InvalidInput
from civicgrid.settings import get_settings

# Years an administrator may enter or view; wide enough for history and planning, narrow
# enough that a typo such as 20277 is refused instead of stored.
FIRST_YEAR = 2000
LAST_YEAR = 2100
MAX_IMPORT_BYTES = 1_000_000
MAX_REPORTED_ERRORS = 100

_HEADER_ALIASES = {
    "date": "date",
    "日期": "date",
    "type": "type",
    "类型": "type",
    "name": "name",
    "名称": "name",
}
_TYPE_ALIASES = {
    "holiday": False,
    "休": False,
    "假": False,
    "休息": False,
    "放假": False,
    "workday": True,
    "班": True,
    "上班": True,
}
# Spreadsheets re-format ISO dates on save, so the common Chinese forms are accepted too.
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日")

_cache_lock = threading.Lock()
_cached: tuple[tuple[Any, ...], WorkCalendar] | None = None


# -- reading --------------------------------------------------------------------------


def _change_marker(session: Session) -> tuple[int, dt.datetime | None]:
    """Row count and newest stamp: changes whenever any process replaces or clears a year."""
    count, latest = session.execute(select(func.count(), func.max(CalendarDay.updated_at))).one()
    return int(count), latest


def get_calendar(*, session: Session) -> WorkCalendar:
    """The calendar in force: cached per process, rebuilt as soon as the table changes."""
    global _cached
    key = (_change_marker(session), get_settings().timezone)
    cached = _cached
    if cached is not None and cached[0] == key:
        return cached[1]
    rows = session.scalars(select(CalendarDay)).all()
    calendar = WorkCalendar(
        overrides={r.day: (r.is_workday, r.name_zh) for r in rows},
        admin_years=frozenset(r.year for r in rows),
        tz=ZoneInfo(key[1]),
    )
    with _cache_lock:
        _cached = (key, calendar)
    return calendar


def year_view(*, session: Session, year: int) -> CalendarYearRead:
    """All holidays and make-up workdays of ``year``, each with where it comes from."""
    _check_year(year)
    calendar = get_calendar(session=session)
    entered = dict(session.execute(select(CalendarDay.day, CalendarDay.source).where(CalendarDay.year == year)).all())
    source = calendar.year_source(year)
    days = [
        CalendarDayRead(
            date=s.day,
            weekday=s.day.isoweekday(),
            is_workday=s.is_workday,
            name_zh=s.name_zh,
            source=s.source,
            entered_via=entered.get(s.day),
        )
        for s in calendar.special_days(year)
    ]
    return CalendarYearRead(
        year=year,
        known=calendar.knows(dt.date(year, 1, 1)),
        source=source,
        source_label_zh=source.label_zh,
        source_label_en=source.label_en,
        workday_count=calendar.workday_count(year),
        days=days,
    )


# -- writing --------------------------------------------------------------------------


def set_year(
    *, session: Session, actor: Any, origin: Origin, year: int, days: list[CalendarDayIn]
) -> list[CalendarDay]:
    """Replace ``year``'s entered schedule with ``days`` (empty: back to the built-in data)."""
    _check_year(year)
    errors: list[dict[str, Any]] = []
    seen: set[dt.date] = set()
    for row, day in enumerate(days, start=1):
        errors.extend(_check_day(row, day.date, day.is_workday, seen))
        if day.date.year != year:
            errors.append(
                _row_error(row, f"{day.date} 不属于 {year} 年", f"{day.date} is not in {year}")
            )
    _raise_if(errors, f"{year} 年节假日安排有误，未保存", f"The {year} schedule has errors; nothing was saved")
    return _replace_year(session=session, actor=actor, origin=origin, year=year, days=days, source="admin")


def import_schedule(
    *, session: Session, actor: Any, origin: Origin, content: bytes, filename: str
) -> dict[int, int]:
    """Import a CSV or JSON schedule; every year in the file is replaced. Returns days per year."""
    if len(content) > MAX_IMPORT_BYTES:
        raise InvalidInput("文件过大（上限 1 MB）", "File too large (limit 1 MB)")
    text = _decode(content)
    if filename.lower().endswith(".json") or (not filename.lower().endswith(".csv") and text.lstrip().startswith("[")):
        rows = _parse_json(text)
    else:
        rows = _parse_csv(text)
    if not rows:
        raise InvalidInput("文件中没有任何日期", "The file contains no dates")

    by_year: dict[int, list[CalendarDayIn]] = {}
    for day in rows:
        by_year.setdefault(day.date.year, []).append(day)
    for year, days in sorted(by_year.items()):
        _replace_year(
            session=session, actor=actor, origin=origin, year=year, days=days, source="import", note=filename
        )
    return {year: len(days) for year, days in sorted(by_year.items())}


def _replace_year(
    *,
    session: Session,
    actor: Any,
    origin: Origin,
    year: int,
    days: list[CalendarDayIn],
    source: str,
    note: str | None = None,
) -> list[CalendarDay]:
    existing = {r.day: r for r in session.scalars(select(CalendarDay).where(CalendarDay.year == year))}
    before = _snapshot(existing.values())
    stamp = _next_stamp(session)
    wanted = {d.date: d for d in days}
    # Update in place rather than delete-and-insert, so the primary key never collides in one flush.
    for day, row in existing.items():
        if day not in wanted:
            session.delete(row)
    kept: list[CalendarDay] = []
    for day, entry in sorted(wanted.items()):
        row = existing.get(day)
        if row is None:
            row = CalendarDay(day=day, year=year)
            session.add(row)
        row.is_workday = entry.is_workday
        row.name_zh = entry.name.strip() or (MAKEUP_WORKDAY_ZH if entry.is_workday else HOLIDAY_DEFAULT_ZH)
        row.source = source
        row.updated_at = stamp
        kept.append(row)
    session.flush()
    record(
        session=session,
        actor=actor,
        origin=origin,
        entity="calendar",
        entity_id=year,
        action="set_year" if source == "admin" else "import",
        before=before,
        after=_snapshot(kept),
        note=note,
    )
    return kept


def _next_stamp(session: Session) -> dt.datetime:
    """Now, but always after the newest stamp, so the change marker moves even with clock skew."""
    _, latest = _change_marker(session)
    now = utcnow()
    if latest is not None and now <= latest:
        return latest + dt.timedelta(microseconds=1)
    return now


def _snapshot(rows: Iterable[CalendarDay]) -> dict[str, Any] | None:
    days = [
        {"date": r.day.isoformat(), "is_workday": r.is_workday, "name": r.name_zh, "source": r.source}
        for r in sorted(rows, key=lambda r: r.day)
    ]
    return {"days": days} if days else None


# -- validation -----------------------------------------------------------------------


def _check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput(
            f"年份须在 {FIRST_YEAR}–{LAST_YEAR} 之间", f"The year must be between {FIRST_YEAR} and {LAST_YEAR}"
        )


def _row_error(row: int, message_zh: str, message_en: str) -> dict[str, Any]:
    return {"row": row, "message_zh": message_zh, "message_en": message_en}


def _check_day(row: int, day: dt.date, is_workday: bool, seen: set[dt.date]) -> list[dict[str, Any]]:
    errors = []
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        errors.append(
            _row_error(row, f"年份须在 {FIRST_YEAR}–{LAST_YEAR} 之间", f"year must be {FIRST_YEAR}–{LAST_YEAR}")
        )
    if day in seen:
        errors.append(_row_error(row, f"{day} 重复出现", f"{day} appears more than once"))
    seen.add(day)
    # Monday–Friday are working days anyway; a "workday" there usually means the type
    # column was swapped, which would silently drop a holiday.
    if is_workday and day.weekday() < 5:
        errors.append(
            _row_error(
                row,
                f"{day} 是周一至周五，本就是工作日；调休上班日只能是周六或周日（类型是否填反？）",
                f"{day} is a weekday and already a working day; make-up workdays fall on Saturday "
                "or Sunday (is the type swapped?)",
            )
        )
    return errors


def _raise_if(errors: list[dict[str, Any]], detail_zh: str, detail_en: str) -> None:
    if not errors:
        return
    extra = len(errors) - MAX_REPORTED_ERRORS
    shown = errors[:MAX_REPORTED_ERRORS]
    if extra > 0:
        detail_zh += f"（另有 {extra} 处错误未列出）"
        detail_en += f" ({extra} more errors not listed)"
    raise InvalidInput(detail_zh, detail_en, errors=shown)


# -- file formats ---------------------------------------------------------------------


def _decode(content: bytes) -> str:
    """UTF-8 (with or without BOM) or, as Excel in China saves CSV, GB18030."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return content.decode("gb18030")
        except UnicodeDecodeError:
            raise InvalidInput("文件编码无法识别，请保存为 UTF-8", "Unknown file encoding; save as UTF-8") from None


def _cell(cells: list[str], columns: dict[str, int], name: str) -> str:
    """The stripped text of a CSV row's named column ("" where the row is short of it)."""
    i = columns.get(name)
    return cells[i].strip() if i is not None and i < len(cells) else ""


def _parse_date(value: str) -> dt.date | None:
    value = value.strip()
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def _parse_csv(text: str) -> list[CalendarDayIn]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        return []
    columns = {_HEADER_ALIASES.get(h.strip().lower()): i for i, h in enumerate(header)}
    missing = [c for c in ("date", "type") if c not in columns]
    if missing:
        raise InvalidInput(
            "CSV 表头须包含 日期,类型,名称（或 date,type,name）",
            "The CSV header must have date,type,name (or 日期,类型,名称)",
            errors=[_row_error(1, f"缺少列：{', '.join(missing)}", f"missing columns: {', '.join(missing)}")],
        )
    days: list[CalendarDayIn] = []
    errors: list[dict[str, Any]] = []
    seen: set[dt.date] = set()
    # Row numbers match a spreadsheet's: the header is row 1.
    for row, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue

        raw_date = _cell(cells, columns, "date")
        raw_type = _cell(cells, columns, "type")
        name = _cell(cells, columns, "name")
        day = _parse_date(raw_date)
        is_workday = _TYPE_ALIASES.get(raw_type.lower())
        if day is None:
            errors.append(
                _row_error(row, f"日期“{raw_date}”无法识别（应如 2027-01-01）", f"unreadable date '{raw_date}' (use 2027-01-01)")
            )
        if is_workday is None:
            errors.append(
                _row_error(
                    row,
                    f"类型“{raw_type}”无效（应为 休 或 班）",
                    f"invalid type '{raw_type}' (use holiday or workday)",
                )
            )
        if len(name) > 60:
            errors.append(_row_error(row, "名称过长（最多 60 字）", "name too long (60 characters at most)"))
        if day is None or is_workday is None or len(name) > 60:
            continue
        errors.extend(_check_day(row, day, is_workday, seen))
        days.append(CalendarDayIn(date=day, is_workday=is_workday, name=name))
    _raise_if(errors, "导入文件有误，未导入任何内容", "The file has errors; nothing was imported")
    return days


def _parse_json(text: str) -> list[CalendarDayIn]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"JSON 格式错误（第 {exc.lineno} 行）", f"Malformed JSON (line {exc.lineno}): {exc.msg}"
        ) from None
    if not isinstance(items, list):
        raise InvalidInput("JSON 须为数组：[{\"date\": …}, …]", "The JSON must be an array: [{\"date\": …}, …]")
    days: list[CalendarDayIn] = []
    errors: list[dict[str, Any]] = []
    seen: set[dt.date] = set()
    # Row numbers count array items from 1.
    for row, item in enumerate(items, start=1):
        try:
            day = CalendarDayIn.model_validate(item)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'item'}: {e['msg']}" for e in exc.errors())
            errors.append(_row_error(row, f"内容无效：{problems}", f"invalid item: {problems}"))
            continue
        errors.extend(_check_day(row, day.date, day.is_workday, seen))
        days.append(day)
    _raise_if(errors, "导入文件有误，未导入任何内容", "The file has errors; nothing was imported")
    return days
