"""Bulk history import (部门数据导入): CSV or Excel rows, each through ``intake_case``.

Every row is validated on its own; a bad row is reported with its row number and a
Chinese and English message, and the good rows are imported. Rows without a
``client_key`` get one derived from their content, so importing the same file twice
creates nothing new. ``import_file`` commits every ``batch_size`` rows in its own unit of
work: if a later batch fails, the batches before it stay imported.

Columns (header row, UTF-8; a BOM from Excel is fine): category_code, description, lat,
lon, address, region_code, channel, received_at, reporter_name, reporter_phone,
client_key, state (optional: reported, registered or rejected).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.audit.service import Origin
from civicgrid.auth.models import User
from civicgrid.db import unit_of_work
from civicgrid.errors import DomainError, InvalidInput, not_found
from civicgrid.events.intake import intake_case
from civicgrid.events.models import Channel
from civicgrid.events.schemas import CaseCreate
from civicgrid.events.service import ActionParams, transition
from civicgrid.settings import get_settings

COLUMNS = (
    "category_code", "description", "lat", "lon", "address", "region_code", "channel", "received_at",
    "reporter_name", "reporter_phone", "client_key", "state",
)
REQUIRED = ("category_code", "description")
# What an imported row may already be: left for registration, registered, or refused.
STATES = {"reported": "待立案", "registered": "待派遣", "rejected": "不予立案"}
REJECT_NOTE = "历史数据导入：不予立案 (imported as rejected)"
MAX_REPORTED = 1_000  # errors kept in the summary; the counts stay exact beyond that
DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d",
                    "%Y/%m/%d")

# Pydantic error types → Chinese wording (the English comes from pydantic itself).
_ZH = {
    "missing": "必填",
    "string_too_short": "内容太短",
    "string_too_long": "内容太长",
    "string_pattern_mismatch": "格式不正确",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "enum": "取值不在允许范围内",
    "datetime_parsing": "日期时间格式不正确",
    "datetime_from_date_parsing": "日期时间格式不正确",
    "value_error": "取值无效",
    "extra_forbidden": "不认识的列",
}


@dataclass
class RowError:
    """Why one row was not imported: its row number in the file (header = row 1) and both languages."""

    row: int
    message_zh: str
    message_en: str
    column: str | None = None


@dataclass
class ImportSummary:
    """What an import did: counts, the errors per row, and whether it stopped early."""

    rows: int = 0
    created: int = 0
    existing: int = 0
    rejected: int = 0
    batches_committed: int = 0
    errors: list[RowError] = field(default_factory=list)
    aborted_zh: str | None = None
    aborted_en: str | None = None

    def reject(self, error: RowError) -> None:
        """Count a rejected row (and keep its message, up to MAX_REPORTED)."""
        self.rejected += 1
        if len(self.errors) < MAX_REPORTED:
            self.errors.append(error)


# ---------------------------------------------------------------------------------------
# Reading files
# ---------------------------------------------------------------------------------------


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, {column: text}) for each data row of a .csv or .xlsx file; the header is row 1."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        yield from _read_xlsx(path)
    elif suffix in (".csv", ".txt", ""):
        yield from _read_csv(path.read_bytes())
    else:
        raise InvalidInput(f"不支持的文件类型 {suffix}：请使用 .csv 或 .xlsx",
                           f"Unsupported file type {suffix}: use .csv or .xlsx")


def _decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(
            "文件不是 UTF-8 编码：请在 Excel 中“另存为 CSV UTF-8”，或直接导入 .xlsx",
            "The file is not UTF-8: save it as 'CSV UTF-8' in Excel, or import the .xlsx directly",
        ) from None


def _header(names: list[Any]) -> list[str]:
    header = [str(n or "").strip().lower() for n in names]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InvalidInput(
            f"表头缺少必填列：{', '.join(missing)}。表头应为：{', '.join(COLUMNS)}",
            f"The header lacks required columns: {', '.join(missing)}. Expected: {', '.join(COLUMNS)}",
        )
    unknown = [h for h in header if h and h not in COLUMNS]
    if unknown:
        raise InvalidInput(
            f"表头有不认识的列：{', '.join(unknown)}。允许的列：{', '.join(COLUMNS)}",
            f"The header has unknown columns: {', '.join(unknown)}. Allowed: {', '.join(COLUMNS)}",
        )
    return header


def _read_csv(content: bytes) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.reader(io.StringIO(_decode(content), newline=""))
    try:
        header = _header(next(reader))
    except StopIteration:
        raise InvalidInput("文件为空", "The file is empty") from None
    for number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        yield number, {h: v for h, v in zip(header, values) if h}


def _read_xlsx(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        import openpyxl
    except ModuleNotFoundError:
        raise InvalidInput("导入 Excel 需要安装 openpyxl；也可另存为 CSV UTF-8 后导入",
                           "Importing Excel needs openpyxl; or save the sheet as CSV UTF-8") from None
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        try:
            header = _header(list(next(rows)))
        except StopIteration:
            raise InvalidInput("工作表为空", "The sheet is empty") from None
        for number, values in enumerate(rows, start=2):
            if not any(v not in (None, "") for v in values):
                continue
            yield number, {h: _cell(v) for h, v in zip(header, values) if h}
    finally:
        book.close()


def _cell(value: Any) -> str:
    # Excel gives real datetimes and numbers; keep them in a form the row parser reads back.
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, float) and value.is_integer() and abs(value) > 1e6:
        return str(int(value))  # phone numbers typed as numbers
    return str(value)


# ---------------------------------------------------------------------------------------
# One row
# ---------------------------------------------------------------------------------------


def parse_received_at(value: str, tz: ZoneInfo) -> dt.datetime:
    """An aware datetime from ISO 8601 or common spreadsheet forms; without an offset, local time."""
    value = value.strip()
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        for fmt in DATETIME_FORMATS:
            try:
                parsed = dt.datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
        else:
            raise InvalidInput(
                f"接报时间 {value!r} 无法识别，请用 2026-11-22 09:30 或 2026-11-22T09:30:00+08:00",
                f"received_at {value!r} is not a date and time; use 2026-11-22 09:30 or 2026-11-22T09:30:00+08:00",
            ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


def derived_key(values: dict[str, str]) -> str:
    """A client key from the row's content, so a row without one is still imported only once."""
    canonical = "\x1f".join(values.get(c, "").strip() for c in COLUMNS if c != "client_key")
    return "import-" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def row_to_case(values: dict[str, str], tz: ZoneInfo) -> tuple[CaseCreate, str]:
    """The intake request and the target state for one row (InvalidInput if the row is wrong)."""
    clean = {k: v.strip() for k, v in values.items() if k in COLUMNS and v is not None and v.strip() != ""}
    state = clean.pop("state", "reported").lower()
    if state not in STATES:
        raise InvalidInput(
            f"状态 {state!r} 无效，可选：{'、'.join(f'{k}（{v}）' for k, v in STATES.items())}",
            f"state {state!r} is invalid; use one of: {', '.join(STATES)}",
        )
    if "received_at" in clean:
        clean["received_at"] = parse_received_at(clean["received_at"], tz)  # type: ignore[assignment]
    clean.setdefault("channel", Channel.DEPT_IMPORT.value)
    clean.setdefault("client_key", derived_key(values))
    try:
        return CaseCreate.model_validate(clean), state
    except ValidationError as exc:
        first = exc.errors()[0]
        column = ".".join(str(p) for p in first["loc"]) or None
        zh = _ZH.get(first["type"], "取值无效")
        where_zh = f"列 {column}：" if column else ""
        where_en = f"column {column}: " if column else ""
        more = len(exc.errors()) - 1
        raise InvalidInput(
            f"{where_zh}{zh}" + (f"（另有 {more} 处错误）" if more else ""),
            f"{where_en}{first['msg']}" + (f" (and {more} more)" if more else ""),
            column=column,
        ) from None


def import_row(*, session: Session, actor: User, origin: Origin, values: dict[str, str],
               tz: ZoneInfo) -> bool:
    """Import one row in a savepoint; True if a case was created, False if it already existed."""
    data, state = row_to_case(values, tz)
    with session.begin_nested():
        case, created = intake_case(session=session, actor=actor, origin=origin, data=data)
        if created and state == "registered":
            transition(session=session, actor=actor, origin=origin, case_id=case.id, action="register",
                       now=case.received_at)
        elif created and state == "rejected":
            transition(session=session, actor=actor, origin=origin, case_id=case.id, action="reject",
                       params=ActionParams(note=REJECT_NOTE), now=case.received_at)
    return created


def import_rows(*, session: Session, actor: User, origin: Origin, rows: list[tuple[int, dict[str, str]]],
                summary: ImportSummary) -> None:
    """Import a batch of rows into ``session`` (the caller commits), counting into ``summary``."""
    tz = ZoneInfo(get_settings().timezone)
    for number, values in rows:
        summary.rows += 1
        try:
            created = import_row(session=session, actor=actor, origin=origin, values=values, tz=tz)
        except DomainError as exc:
            summary.reject(RowError(number, f"第 {number} 行：{exc.detail_zh}", f"Row {number}: {exc.detail_en}",
                                    exc.extra.get("column")))
            continue
        if created:
            summary.created += 1
        else:
            summary.existing += 1


def import_file(path: Path, *, username: str, batch_size: int = 500, origin: Origin = Origin("import")) -> ImportSummary:
    """Import a CSV/XLSX file as ``username`` (an operator or admin), committing every ``batch_size`` rows."""
    if batch_size < 1:
        raise InvalidInput("批大小至少为 1", "batch_size must be at least 1")
    with unit_of_work() as session:
        actor = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
        if actor is None:
            raise not_found("用户", "User", username)
        actor_id = actor.id
    summary = ImportSummary()
    batch: list[tuple[int, dict[str, str]]] = []
    rows = read_rows(path)
    while True:
        batch.clear()
        for item in rows:
            batch.append(item)
            if len(batch) >= batch_size:
                break
        if not batch:
            return summary
        counts = (summary.rows, summary.created, summary.existing, summary.rejected, len(summary.errors))
        try:
            with unit_of_work() as session:
                actor = session.get(User, actor_id)
                assert actor is not None
                import_rows(session=session, actor=actor, origin=origin, rows=batch, summary=summary)
        except Exception as exc:  # the batch rolled back: say where we stopped, keep what was committed
            summary.rows, summary.created, summary.existing, summary.rejected = counts[:4]
            del summary.errors[counts[4]:]
            first, last = batch[0][0], batch[-1][0]
            summary.aborted_zh = f"第 {first}–{last} 行这一批写入失败，已回滚；之前的 {summary.batches_committed} 批已保存：{exc}"
            summary.aborted_en = (f"The batch of rows {first}–{last} failed and was rolled back; the "
                                  f"{summary.batches_committed} batches before it are saved: {exc}")
            return summary
        summary.batches_committed += 1
