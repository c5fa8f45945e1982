"""Bulk import of persons from department files (CSV or Excel), export to Excel, templates.

One file is one transaction: every row is validated and matched (``matching.py``); the
rows stream through in chunks so memory stays flat at a million rows; nothing is written
unless the whole file is processed (the caller's unit of work commits once). Every row
ends in the per-row report as created / merged / unchanged / queued / rejected with the
reason in Chinese and English. Importing the same file again changes nothing: matched
rows are unchanged, queued questions are keyed by their content and asked once.

Provenance: each tracked field of a person remembers which department gave its value and
as of which date. An incoming value replaces the stored one only if it is at least as new
(``as_of``); an older value is kept out and the row says so.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Date, String, column, func, insert, select, text, update, values
from sqlalchemy.orm import Session

from civicgrid.audit.service import Origin, record
from civicgrid.auth.models import User
from civicgrid.db import utcnow
from civicgrid.errors import Conflict, InvalidInput, not_found
from civicgrid.people import access
from civicgrid.people.matching import Candidate, best_match
from civicgrid.people.models import (
    GENDERS,
    ID_KINDS,
    POPULATION_TYPES,
    RELATIONS,
    Household,
    ImportBatch,
    ImportRow,
    Person,
    ReviewItem,
)
from civicgrid.people.service import (
    TRACKED,
    PersonQuery,
    audit_view,
    person_query,
    seal_document,
    seal_phone,
)
from civicgrid.regions.importer import GRID_LEVELS
from civicgrid.regions.models import Region
from civicgrid.regions.service import locate_points
from civicgrid.settings import get_settings

CHUNK = 2_000

# Template columns: field → (中文表头, English header, required, example)
PERSON_COLUMNS: list[tuple[str, str, str, bool, str]] = [
    ("name", "姓名", "name", True, "张三"),
    ("id_kind", "证件类型", "id_kind", False, "居民身份证"),
    ("id_number", "证件号码", "id_number", False, "11010519491231002X"),
    ("birth_date", "出生日期", "birth_date", False, ""),
    ("gender", "性别", "gender", False, ""),
    ("phone", "联系电话", "phone", False, "13800000000"),
    ("population_type", "人口类型", "population_type", False, "户籍人口"),
    ("ethnicity", "民族", "ethnicity", False, "汉族"),
    ("region_code", "网格编码", "region_code", False, "990102001001001"),
    ("lon", "经度", "lon", False, ""),
    ("lat", "纬度", "lat", False, ""),
    ("address", "居住地址", "address", False, "湖1街道1社区1号楼101"),
    ("household_number", "户号", "household_number", False, ""),
    ("relation_to_head", "与户主关系", "relation_to_head", False, ""),
    ("work_unit", "工作单位", "work_unit", False, ""),
    ("notes", "备注", "notes", False, ""),
    ("as_of", "数据日期", "as_of", False, ""),
]
ENTITIES = {"person": PERSON_COLUMNS}
OUTCOMES = {
    "created": ("新建", "Created"),
    "merged": ("合并更新", "Merged"),
    "unchanged": ("无变化", "Unchanged"),
    "queued": ("待人工核对", "Queued for review"),
    "rejected": ("拒绝", "Rejected"),
}


def _labels(choices: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Accept a choice by its code, Chinese label or English label."""
    out: dict[str, str] = {}
    for code, (zh, en) in choices.items():
        out[code.lower()] = code
        out[zh] = code
        out[en.lower()] = code
    return out


_ID_KIND = _labels(ID_KINDS) | {"身份证": "resident", "": "resident"}
_POPULATION = _labels(POPULATION_TYPES) | {"户籍": "registered", "流动": "floating", "境外": "overseas",
                                           "留守": "left_behind", "": "registered"}
_RELATION = _labels(RELATIONS) | {"本人": "head", "": None}  # type: ignore[dict-item]
_GENDER = _labels(GENDERS) | {"m": "M", "f": "F", "": None}  # type: ignore[dict-item]


# --------------------------------------------------------------------------------------
# Templates and reading files
# --------------------------------------------------------------------------------------


def template(entity: str, fmt: str) -> bytes:
    """A downloadable template with the header row and one example row (CSV: UTF-8 with BOM)."""
    columns = ENTITIES.get(entity)
    if columns is None:
        raise not_found("导入模板", "Import template", entity)
    header = [c[1] for c in columns]
    example = [c[4] for c in columns]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        writer.writerow(example)
        return buffer.getvalue().encode("utf-8-sig")
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("导入模板")
        ws.append(header)
        ws.append(example)
        notes = wb.create_sheet("填写说明")
        for c in columns:
            notes.append([c[1], c[2], "必填" if c[3] else "选填"])
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()
    raise InvalidInput(f"不支持的格式 {fmt!r}（csv 或 xlsx）", f"Unsupported format {fmt!r} (csv or xlsx)")


def _header_map(header: list[Any], columns: list[tuple[str, str, str, bool, str]]) -> dict[str, int]:
    names = {}
    for key, zh, en, _required, _ in columns:
        names[zh] = key
        names[en.lower()] = key
    found: dict[str, int] = {}
    unknown = []
    for i, cell in enumerate(header):
        text = str(cell or "").strip().lstrip("\ufeff")
        if not text:
            continue
        key = names.get(text) or names.get(text.lower())
        if key is None:
            unknown.append(text)
        elif key not in found:
            found[key] = i
    missing = [zh for key, zh, _en, required, _ in columns if required and key not in found]
    if "region_code" not in found and not ("lat" in found and "lon" in found):
        missing.append("网格编码（或经度、纬度）")
    if missing:
        raise InvalidInput(
            f"导入文件缺少必需的列：{'、'.join(missing)}。请使用下载的模板，未写入任何数据",
            f"The file lacks required columns: {', '.join(missing)}. Use the template; nothing was written",
            missing=missing, unknown=unknown,
        )
    return found


def _detect_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still UTF-8.
        if exc.start >= len(head) - 3:
            return "utf-8"
        return "gb18030"  # what Excel in Chinese saves as "CSV"


def read_rows(stream: IO[bytes], filename: str) -> Iterator[list[Any]]:
    """The rows of a CSV (UTF-8 or GB18030) or Excel (.xlsx) file, header first, streamed."""
    name = filename.lower()
    if name.endswith(".xlsx") or name.endswith(".xlsm"):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(stream, read_only=True, data_only=True)
        except Exception:  # openpyxl raises many kinds for a damaged file
            raise InvalidInput("无法读取该 Excel 文件（请保存为 .xlsx 后重试）",
                               "This Excel file cannot be read (save it as .xlsx and retry)") from None
        ws = wb.worksheets[0]
        for row in ws.iter_rows(values_only=True):
            yield list(row)
        wb.close()
        return
    if not (name.endswith(".csv") or name.endswith(".txt")):
        raise InvalidInput("只支持 .csv 或 .xlsx 文件", "Only .csv and .xlsx files are accepted")
    head = stream.read(65536)
    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding=_detect_encoding(head), newline="", errors="strict")
    try:
        yield from csv.reader(text)
    except UnicodeDecodeError:
        raise InvalidInput("文件编码无法识别（请保存为 UTF-8 或 GB18030 编码的 CSV）",
                           "The file's encoding is not recognised (save as UTF-8 or GB18030 CSV)") from None
    except csv.Error as exc:
        raise InvalidInput(f"CSV 格式错误：{exc}", f"Malformed CSV: {exc}") from None
    finally:
        try:
            text.detach()  # leave the caller's stream open
        except ValueError:
            pass


def file_sha256(stream: IO[bytes]) -> str:
    """The SHA-256 of a file, read in blocks; the stream is rewound."""
    digest = hashlib.sha256()
    for block in iter(lambda: stream.read(1 << 20), b""):
        digest.update(block)
    stream.seek(0)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------------------


@dataclass
class Incoming:
    """One valid row, sealed: what matching and writing need."""

    row_no: int
    name: str
    id_kind: str | None
    id_cipher: bytes | None
    id_hash: str | None
    id_masked: str | None
    birth_date: dt.date | None
    gender: str | None
    phone_cipher: bytes | None
    phone_hash: str | None
    phone_masked: str | None
    region: Region | None
    fields: dict[str, Any]
    household_number: str | None
    as_of: dt.date
    lat: float | None = None
    lon: float | None = None
    region_code: str | None = None

    @property
    def content_hash(self) -> str:
        """What makes two rows "the same question" for the review queue (no clear identifier inside)."""
        return _content_hash(self.name, self.id_hash, self.birth_date.isoformat() if self.birth_date else None,
                             self.gender, self.phone_hash, self.fields, self.household_number, self.region_code,
                             self.lat, self.lon, self.as_of.isoformat())

    def candidate(self) -> Candidate:
        return Candidate(("incoming", self.row_no), self.name, self.birth_date, self.gender, self.id_hash,
                         self.phone_hash, {})


def _content_hash(*parts: Any) -> str:
    content = json.dumps(list(parts), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(content.encode()).hexdigest()


def _review_key(candidate_id: int, content_hash: str) -> str:
    return hashlib.sha256(f"{candidate_id}:{content_hash}".encode()).hexdigest()


def review_dedupe_key(item: ReviewItem, *, id_hash: str | None, phone_hash: str | None) -> str | None:
    """The review item's dedupe key recomputed with these lookup hashes (for a data-key rotation), or None.

    The incoming row is rebuilt from what the item stored; the result is only trusted if the same
    reconstruction with the item's current hashes gives back its current key. Items from before the
    raw location was stored, located by position, cannot be rebuilt (None).
    """
    data = item.incoming or {}
    located = [(data.get("raw_region_code"), data.get("lat"), data.get("lon"))] if "raw_region_code" in data else \
        [(data.get("region_code"), None, None)]

    def key(ih: str | None, ph: str | None, where: tuple[Any, Any, Any]) -> str:
        return _review_key(item.candidate_id, _content_hash(
            data.get("name"), ih, data.get("birth_date"), data.get("gender"), ph, data.get("fields"),
            data.get("household_number"), where[0], where[1], where[2], data.get("as_of")))

    for where in located:
        if key(data.get("id_hash"), data.get("phone_hash"), where) == item.dedupe_key:
            return key(id_hash, phone_hash, where)
    return None


class RowError(Exception):
    """A row that cannot be imported; the message goes in the report."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh, self.en = zh, en


def _cell(row: list[Any], cols: dict[str, int], key: str) -> str:
    i = cols.get(key)
    if i is None or i >= len(row):
        return ""
    value = row[i]
    if value is None:
        return ""
    if type(value) is str:  # the CSV case: nothing to convert
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel turns long digit strings into numbers
    if isinstance(value, (dt.datetime, dt.date)):
        return value.strftime("%Y-%m-%d")
    return str(value).strip()


def _date(text: str, zh: str, en: str) -> dt.date | None:
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d"):
        try:
            return dt.datetime.strptime(text[:10], fmt).date()
        except ValueError:
            continue
    raise RowError(f"{zh}“{text}”不是有效日期", f"{en} {text!r} is not a valid date")


def _choice(mapping: dict[str, Any], text: str, zh: str, en: str) -> Any:
    key = text.strip()
    if key in mapping:
        return mapping[key]
    if key.lower() in mapping:
        return mapping[key.lower()]
    raise RowError(f"{zh}“{text}”无效", f"{en} {text!r} is invalid")


class _Regions:
    """Region codes of the file resolved once each, within the importer's area."""

    def __init__(self, session: Session, actor: User) -> None:
        self.session, self.actor = session, actor
        self.cache: dict[str, Region | None] = {}

    def by_code(self, code: str) -> Region:
        if code not in self.cache:
            region = self.session.scalar(select(Region).where(Region.code == code))
            self.cache[code] = region if region is not None and region.path.startswith(self.actor.scope_path) else None
        region = self.cache[code]
        if region is None:
            raise RowError(f"网格编码 {code} 不存在或不在您的管辖范围内", f"Region code {code} is unknown or outside your area")
        return region


def parse_person_row(row: list[Any], cols: dict[str, int], row_no: int, regions: _Regions, default_as_of: dt.date,
                     today: dt.date) -> Incoming:
    """Validate one row into a sealed ``Incoming`` (region by code; by position later, in bulk)."""
    name = _cell(row, cols, "name")
    if not name:
        raise RowError("姓名为空", "name is empty")
    if len(name) > 60:
        raise RowError("姓名过长（最多60字）", "name is too long (60 at most)")
    id_kind = _choice(_ID_KIND, _cell(row, cols, "id_kind"), "证件类型", "document kind")
    number = _cell(row, cols, "id_number")
    birth = _date(_cell(row, cols, "birth_date"), "出生日期", "birth date")
    gender = _choice(_GENDER, _cell(row, cols, "gender"), "性别", "gender")
    doc = None
    if number:
        try:
            doc = seal_document(id_kind, number, today=today)
        except InvalidInput as exc:
            raise RowError(exc.detail_zh, exc.detail_en) from None
        if doc.birth_date is not None:
            if birth is not None and birth != doc.birth_date:
                raise RowError(f"出生日期 {birth} 与身份证号码不符", f"birth date {birth} contradicts the ID number")
            if gender is not None and gender != doc.gender:
                raise RowError("性别与身份证号码不符", "gender contradicts the ID number")
            birth, gender = doc.birth_date, doc.gender
    elif birth is None:
        raise RowError("缺少证件号码时须填写出生日期", "without a document number the birth date is required")
    try:
        phone = seal_phone(_cell(row, cols, "phone"))
    except InvalidInput as exc:
        raise RowError(exc.detail_zh, exc.detail_en) from None
    population = _choice(_POPULATION, _cell(row, cols, "population_type"), "人口类型", "population type")
    relation = _choice(_RELATION, _cell(row, cols, "relation_to_head"), "与户主关系", "relation to head")
    code = _cell(row, cols, "region_code")
    region = regions.by_code(code) if code else None
    lat = lon = None
    if region is None:
        try:
            lat, lon = float(_cell(row, cols, "lat")), float(_cell(row, cols, "lon"))
        except ValueError:
            raise RowError("须填写网格编码或有效的经纬度", "give a region code or a valid position") from None
    as_of = _date(_cell(row, cols, "as_of"), "数据日期", "as-of date") or default_as_of
    if as_of > today:
        raise RowError(f"数据日期 {as_of} 晚于今天", f"as-of date {as_of} is in the future")
    fields = {
        "name": name,
        "population_type": population,
        "ethnicity": _cell(row, cols, "ethnicity")[:20] or None,
        "address": _cell(row, cols, "address")[:300] or None,
        "work_unit": _cell(row, cols, "work_unit")[:200] or None,
        "notes": _cell(row, cols, "notes")[:2000] or None,
        "relation_to_head": relation,
    }
    household = _cell(row, cols, "household_number")[:40] or None
    return Incoming(
        row_no=row_no, name=name, id_kind=doc.kind if doc else None, id_cipher=doc.cipher if doc else None,
        id_hash=doc.hash if doc else None, id_masked=doc.masked if doc else None, birth_date=birth, gender=gender,
        phone_cipher=phone.cipher, phone_hash=phone.hash, phone_masked=phone.masked, region=region, fields=fields,
        household_number=household, as_of=as_of, lat=lat, lon=lon, region_code=code or None,
    )


# --------------------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------------------


@dataclass
class RowResult:
    row_no: int
    outcome: str
    record_id: int | None
    zh: str
    en: str


@dataclass
class ImportReport:
    """What a file did, in total and (first ``items``) per row."""

    batch: ImportBatch
    counts: dict[str, int] = field(default_factory=lambda: {k: 0 for k in OUTCOMES})
    items: list[RowResult] = field(default_factory=list)


@dataclass
class _Stored:
    """A stored person being merged into during this chunk (changes gathered, written once)."""

    id: int
    candidate: Candidate
    values: dict[str, Any]
    provenance: dict[str, Any]
    changes: dict[str, Any] = field(default_factory=dict)


_CANDIDATE_COLS = (Person.id, Person.name, Person.birth_date, Person.gender, Person.id_hash, Person.phone_hash,
                   Person.provenance, Person.population_type, Person.ethnicity, Person.address, Person.work_unit,
                   Person.notes, Person.relation_to_head, Person.household_id, Person.region_id)


def _stored(row: Any) -> _Stored:
    values = {"name": row.name, "population_type": row.population_type, "ethnicity": row.ethnicity,
              "address": row.address, "work_unit": row.work_unit, "notes": row.notes,
              "relation_to_head": row.relation_to_head, "household_id": row.household_id, "region_id": row.region_id}
    cand = Candidate(row.id, row.name, row.birth_date, row.gender, row.id_hash, row.phone_hash, values,
                     dict(row.provenance or {}))
    return _Stored(row.id, cand, values, dict(row.provenance or {}))


def _newer(provenance: dict[str, Any], key: str, as_of: dt.date) -> bool:
    seen = provenance.get(key)
    return seen is None or as_of.isoformat() >= str(seen.get("at", ""))


class PersonImporter:
    """Imports one file of persons inside the caller's transaction (see the module docstring)."""

    def __init__(self, *, session: Session, actor: User, origin: Origin, source: str, as_of: dt.date,
                 filename: str, sha256: str, keep_items: int = 5000) -> None:
        access.require(actor, "import")
        source = (source or "").strip()
        if not source:
            raise InvalidInput("请填写数据来源部门", "Name the source department")
        settings = get_settings()
        self.session, self.actor, self.origin, self.source = session, actor, origin, source[:60]
        self.today = utcnow().date()
        if as_of > self.today:
            raise InvalidInput("数据日期不能晚于今天", "The as-of date cannot be in the future")
        self.as_of = as_of
        self.merge_at, self.review_at = settings.people_match_merge_score, settings.people_match_review_score
        self.keep_items = keep_items
        self.regions = _Regions(session, actor)
        self.households: dict[str, int] = {}
        repeat = session.scalar(select(ImportBatch.id).where(ImportBatch.sha256 == sha256, ImportBatch.source == self.source)
                                .order_by(ImportBatch.id).limit(1))
        self.batch = ImportBatch(entity="person", source=self.source, filename=filename[:200], sha256=sha256,
                                 as_of=as_of, actor_id=actor.id, region_path=actor.scope_path, repeat_of_id=repeat)
        session.add(self.batch)
        session.flush()
        self.report = ImportReport(self.batch)
        self._results: list[dict[str, Any]] = []

    # -- driving ----------------------------------------------------------------------

    def run(self, rows: Iterable[list[Any]]) -> ImportReport:
        """Consume the rows (header first) and write everything; returns the report."""
        iterator = iter(rows)
        try:
            header = next(iterator)
        except StopIteration:
            raise InvalidInput("文件为空", "The file is empty") from None
        cols = _header_map(header, PERSON_COLUMNS)
        chunk: list[Incoming] = []
        row_no = 1
        for raw in iterator:
            row_no += 1
            if not any(str(c).strip() for c in raw if c is not None):
                continue  # blank lines are not rows
            try:
                chunk.append(parse_person_row(raw, cols, row_no, self.regions, self.as_of, self.today))
            except RowError as exc:
                self._result(row_no, "rejected", None, exc.zh, exc.en)
            if len(chunk) >= CHUNK:
                self._chunk(chunk)
                chunk = []
            if len(self._results) >= CHUNK:
                self._flush_results()
        if chunk:
            self._chunk(chunk)
        self._flush_results()
        counts = self.report.counts
        self.batch.rows = sum(counts.values())
        for key in OUTCOMES:
            setattr(self.batch, key, counts[key])
        if self.batch.rows == 0:
            raise InvalidInput("文件中没有数据行", "The file has no data rows")
        if counts["created"] >= 10_000 and self.session.get_bind().dialect.name == "postgresql":
            # A large load leaves PostgreSQL's statistics stale until autovacuum comes by, and the
            # searches right after it would plan for a small table (bitmap-ANDing a million rows).
            self.session.execute(text("ANALYZE person"))
        record(session=self.session, actor=self.actor, origin=self.origin, entity="import_batch",
               entity_id=self.batch.id, action="import",
               after={"entity": "person", "source": self.source, "file": self.batch.filename, **counts,
                      "repeat_of": self.batch.repeat_of_id})
        self.session.flush()
        return self.report

    def _result(self, row_no: int, outcome: str, record_id: int | None, zh: str, en: str) -> None:
        self.report.counts[outcome] += 1
        if len(self.report.items) < self.keep_items:
            self.report.items.append(RowResult(row_no, outcome, record_id, zh, en))
        self._results.append({"batch_id": self.batch.id, "row_no": row_no, "outcome": outcome,
                              "record_id": record_id, "message_zh": zh[:500], "message_en": en[:500]})

    def _flush_results(self) -> None:
        if self._results:
            self.session.execute(insert(ImportRow), self._results)
            self._results = []

    # -- one chunk ---------------------------------------------------------------------

    def _locate(self, chunk: list[Incoming]) -> list[Incoming]:
        """Rows given by position get their grid (vectorised); rows outside the area are rejected."""
        by_position = [r for r in chunk if r.region is None]
        if not by_position:
            return chunk
        found = locate_points(session=self.session, lons=[r.lon for r in by_position], lats=[r.lat for r in by_position])
        grid_ids = {loc.grid_id for loc in found if loc.grid_id is not None}
        grids = {g.id: g for g in self.session.scalars(select(Region).where(Region.id.in_(grid_ids)))} if grid_ids else {}
        bad: set[int] = set()
        for incoming, loc in zip(by_position, found):
            grid = grids.get(loc.grid_id) if loc.grid_id is not None else None
            if grid is None or not grid.path.startswith(self.actor.scope_path):
                self._result(incoming.row_no, "rejected", None, "位置不在您管辖范围内的任何网格中",
                             "the position is not in any grid of your area")
                bad.add(incoming.row_no)
            else:
                incoming.region = grid
        return [r for r in chunk if r.row_no not in bad]

    def _candidates(self, chunk: list[Incoming]) -> tuple[dict[str, _Stored], dict[Any, list[_Stored]]]:
        hashes = [r.id_hash for r in chunk if r.id_hash]
        # A row with an ID number can only be a stored person without one (same ID: found by hash;
        # another ID: someone else), so its (name, birth date) is looked up in the small partial
        # index of persons without an ID. Rows without an ID look at everyone.
        pairs_any = {(r.name, r.birth_date) for r in chunk if r.birth_date is not None and not r.id_hash}
        pairs_noid = {(r.name, r.birth_date) for r in chunk if r.birth_date is not None and r.id_hash} - pairs_any
        phones = [r.phone_hash for r in chunk if r.phone_hash]
        stored: dict[int, _Stored] = {}
        if hashes:
            for row in self.session.execute(select(*_CANDIDATE_COLS).where(Person.id_hash.in_(hashes))):
                stored[row.id] = _stored(row)
        for pairs, only_without_id in ((pairs_any, False), (pairs_noid, True)):
            if not pairs:
                continue
            # Joined with the chunk's pairs as a VALUES list (an OR with a row-value IN makes SQLite
            # scan the table); no other condition than the partial index's own, or SQLite builds an
            # automatic index over the whole table.
            wanted = values(column("n", String), column("b", Date), name="wanted").data(sorted(pairs, key=str)).cte("wanted")
            on = (Person.name == wanted.c.n) & (Person.birth_date == wanted.c.b)
            if only_without_id:
                on = on & Person.id_hash.is_(None)
            stmt = select(*_CANDIDATE_COLS, Person.active).select_from(wanted).join(Person, on)
            for row in self.session.execute(stmt):
                if row.active:
                    stored.setdefault(row.id, _stored(row))
        if phones:
            for row in self.session.execute(select(*_CANDIDATE_COLS).where(Person.phone_hash.in_(phones),
                                                                         Person.active.is_(True))):
                stored.setdefault(row.id, _stored(row))
        by_hash = {s.candidate.id_hash: s for s in stored.values() if s.candidate.id_hash}
        by_birth: dict[Any, list[_Stored]] = {}
        for s in stored.values():
            by_birth.setdefault(s.candidate.birth_date, []).append(s)
        return by_hash, by_birth

    def _chunk(self, chunk: list[Incoming]) -> None:
        chunk = self._locate(chunk)
        by_hash, by_birth = self._candidates(chunk)
        pending: list[Incoming] = []  # new persons of this chunk, inserted together
        pending_hashes: set[str] = set()
        pending_by_birth: dict[Any, list[Incoming]] = {}
        queued: list[tuple[Incoming, _Stored, float, tuple]] = []
        touched: dict[int, _Stored] = {}

        def flush_pending() -> None:
            # A later row of the file resembles a row not yet written: write those first, so
            # the later row is judged against stored records like any other.
            for stored in self._insert(pending):
                if stored.candidate.id_hash:
                    by_hash[stored.candidate.id_hash] = stored
                by_birth.setdefault(stored.candidate.birth_date, []).append(stored)
            pending.clear()
            pending_hashes.clear()
            pending_by_birth.clear()

        for inc in chunk:
            if (inc.id_hash and inc.id_hash in pending_hashes) or best_match(
                    inc.candidate(), [p.candidate() for p in pending_by_birth.get(inc.birth_date, [])]).score >= self.review_at:
                flush_pending()
            target: _Stored | None = by_hash.get(inc.id_hash) if inc.id_hash else None
            if target is None:
                stored_here = by_birth.get(inc.birth_date, [])
                judgement = best_match(inc.candidate(), [s.candidate for s in stored_here])
                chosen = next((s for s in stored_here if judgement.candidate is not None
                               and s.id == judgement.candidate.key), None)
                if chosen is not None and judgement.score >= self.merge_at:
                    target = chosen
                elif chosen is not None and judgement.score >= self.review_at:
                    queued.append((inc, chosen, judgement.score, judgement.reasons))
                    continue
            if target is not None:
                self._merge(inc, target)
                touched[target.id] = target
                continue
            pending.append(inc)
            if inc.id_hash:
                pending_hashes.add(inc.id_hash)
            if inc.birth_date is not None:
                pending_by_birth.setdefault(inc.birth_date, []).append(inc)

        self._write_updates(touched)
        flush_pending()
        self._queue(queued)

    # -- outcomes ----------------------------------------------------------------------

    def _household_id(self, number: str, region: Region, address: str | None) -> int:
        if number in self.households:
            return self.households[number]
        household = self.session.execute(select(Household.id, Household.region_path).where(Household.number == number)).first()
        if household is not None:
            if not household.region_path.startswith(self.actor.scope_path):
                raise RowError(f"户号 {number} 属于其他辖区", f"household {number} belongs to another area")
            self.households[number] = household.id
            return household.id
        new = Household(number=number, address=address or "", region_id=region.id, region_path=region.path,
                        grid_id=region.id if region.level in GRID_LEVELS else None)
        self.session.add(new)
        self.session.flush()
        self.households[number] = new.id
        return new.id

    def _proposed(self, inc: Incoming) -> dict[str, Any]:
        """The tracked values a row proposes (empty cells propose nothing)."""
        values = {k: v for k, v in inc.fields.items() if v not in (None, "")}
        if inc.region is not None:
            values["region"] = inc.region
        if inc.phone_hash:
            values["phone"] = (inc.phone_cipher, inc.phone_hash, inc.phone_masked)
        if inc.household_number:
            values["household"] = inc.household_number
        return values

    def _merge(self, inc: Incoming, target: _Stored) -> None:
        """Apply a row to a stored person, newer value wins per field; report what happened."""
        changed: list[str] = []
        kept: list[str] = []
        stamp = {"source": self.source, "at": inc.as_of.isoformat(), "batch": self.batch.id}
        for key, value in self._proposed(inc).items():
            track = key if key in TRACKED else None
            if key == "region":
                same = target.values.get("region_id") == value.id
            elif key == "phone":
                same = target.candidate.phone_hash == value[1]
            elif key == "household":
                same = False
                try:
                    hid = self._household_id(value, inc.region or self._region_of(target), inc.fields.get("address"))
                except RowError:
                    kept.append("户号")
                    continue
                same = target.values.get("household_id") == hid
                value = hid
            else:
                same = target.values.get(key) == value
            if same:
                continue
            if track is not None and not _newer(target.provenance, track, inc.as_of):
                kept.append(_FIELD_ZH.get(key, key))
                continue
            if key == "region":
                target.changes.update(region_id=value.id, region_path=value.path,
                                      grid_id=value.id if value.level in GRID_LEVELS else None)
                target.values["region_id"] = value.id
            elif key == "phone":
                target.changes.update(phone_cipher=value[0], phone_hash=value[1], phone_masked=value[2])
                target.candidate.phone_hash = value[1]
            elif key == "household":
                target.changes["household_id"] = value
                target.values["household_id"] = value
            else:
                target.changes[key] = value
                target.values[key] = value
            if track is not None:
                target.provenance[track] = stamp
            changed.append(_FIELD_ZH.get(key, key))
        if inc.id_hash and not target.candidate.id_hash:
            target.changes.update(id_kind=inc.id_kind, id_cipher=inc.id_cipher, id_hash=inc.id_hash, id_masked=inc.id_masked)
            target.candidate.id_hash = inc.id_hash
            changed.append("证件号码")
        how_zh = "证件号码一致" if inc.id_hash and inc.id_hash == target.candidate.id_hash else "姓名、出生日期、电话一致"
        how_en = "same ID number" if inc.id_hash and inc.id_hash == target.candidate.id_hash else "same name, birth date and phone"
        kept_zh = f"；保留较新的已有值：{'、'.join(kept)}" if kept else ""
        kept_en = f"; kept newer stored values: {len(kept)} field(s)" if kept else ""
        if changed:
            self._result(inc.row_no, "merged", target.id, f"与档案 {target.id} 合并（{how_zh}），更新：{'、'.join(changed)}{kept_zh}",
                         f"merged into person {target.id} ({how_en}); updated {len(changed)} field(s){kept_en}")
        else:
            self._result(inc.row_no, "unchanged", target.id, f"与档案 {target.id} 一致（{how_zh}），无需更新{kept_zh}",
                         f"matches person {target.id} ({how_en}); nothing to update{kept_en}")

    def _region_of(self, target: _Stored) -> Region:
        return self.session.get(Region, target.values["region_id"])  # type: ignore[return-value]

    def _write_updates(self, touched: dict[int, _Stored]) -> None:
        rows = []
        for s in touched.values():
            if s.changes:
                rows.append({"id": s.id, **s.changes, "provenance": s.provenance, "updated_at": utcnow()})
                s.changes = {}
        # Group by the set of columns: one executemany per shape.
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for r in rows:
            shapes.setdefault(tuple(sorted(r)), []).append(r)
        for batch in shapes.values():
            self.session.execute(update(Person), batch)

    def _insert(self, pending: list[Incoming]) -> list[_Stored]:
        """Insert new persons in one statement; returns them as candidates for later rows."""
        if not pending:
            return []
        values = []
        now = utcnow()
        for inc in pending:
            region = inc.region
            assert region is not None
            household_id = None
            if inc.household_number:
                try:
                    household_id = self._household_id(inc.household_number, region, inc.fields.get("address"))
                except RowError:
                    household_id = None
            stamp = {"source": self.source, "at": inc.as_of.isoformat(), "batch": self.batch.id}
            provenance = {k: stamp for k in TRACKED if k in ("name", "region")
                          or (k == "phone" and inc.phone_hash) or (k == "household" and household_id)
                          or inc.fields.get(k) not in (None, "")}
            f = inc.fields
            values.append({
                "name": inc.name, "id_kind": inc.id_kind, "id_cipher": inc.id_cipher, "id_hash": inc.id_hash,
                "id_masked": inc.id_masked, "birth_date": inc.birth_date, "gender": inc.gender,
                "phone_cipher": inc.phone_cipher, "phone_hash": inc.phone_hash, "phone_masked": inc.phone_masked,
                "population_type": f["population_type"] or "registered", "ethnicity": f["ethnicity"],
                "address": f["address"] or "", "work_unit": f["work_unit"] or "", "notes": f["notes"] or "",
                "relation_to_head": f["relation_to_head"], "household_id": household_id, "house_id": None,
                "region_id": region.id, "region_path": region.path,
                "grid_id": region.id if region.level in GRID_LEVELS else None, "provenance": provenance,
                "under_care": False, "active": True, "created_at": now, "updated_at": now,
            })
        ids = self._allocate_ids(len(values))
        for v, person_id in zip(values, ids):
            v["id"] = person_id
        # Core executemany without RETURNING: batched into multi-row INSERTs on both databases.
        self.session.execute(insert(Person.__table__), values)
        created = []
        for inc, person_id, v in zip(pending, ids, values):
            self._result(inc.row_no, "created", person_id, "新建档案", "new record created")
            vals = {k: v[k] for k in ("name", "population_type", "ethnicity", "address", "work_unit", "notes",
                                      "relation_to_head", "household_id", "region_id")}
            cand = Candidate(person_id, inc.name, inc.birth_date, inc.gender, inc.id_hash, inc.phone_hash, vals,
                             dict(v["provenance"]))
            created.append(_Stored(person_id, cand, vals, dict(v["provenance"])))
        return created

    def _allocate_ids(self, n: int) -> list[int]:
        """Ids for ``n`` new persons, known before the insert (so one executemany needs no RETURNING).

        PostgreSQL hands them out from the table's sequence, safe under concurrency. SQLite has
        one writer at a time and this transaction already holds the write lock (the batch row
        was inserted first), so the ids above the current maximum are ours.
        """
        if self.session.get_bind().dialect.name == "postgresql":
            return list(self.session.scalars(text(
                "SELECT nextval(pg_get_serial_sequence('person', 'id')) FROM generate_series(1, :n)"), {"n": n}))
        top = self.session.scalar(select(func.max(Person.id))) or 0
        return list(range(top + 1, top + n + 1))

    def _queue(self, queued: list[tuple[Incoming, _Stored, float, tuple]]) -> None:
        if not queued:
            return
        keys = {inc.row_no: _review_key(s.id, inc.content_hash) for inc, s, _, _ in queued}
        existing = {k: (i, st) for k, i, st in self.session.execute(
            select(ReviewItem.dedupe_key, ReviewItem.id, ReviewItem.status).where(ReviewItem.dedupe_key.in_(list(keys.values()))))}
        for inc, stored, score_, reasons in queued:
            key = keys[inc.row_no]
            if key in existing:
                item_id, status = existing[key]
                if status == "open":
                    self._result(inc.row_no, "queued", stored.id, f"与档案 {stored.id} 疑似同一人，已在待核对队列（第 {item_id} 项）",
                                 f"possibly person {stored.id}; already in the review queue (item {item_id})")
                else:
                    self._result(inc.row_no, "unchanged", stored.id, f"该行已由人工核对处理（第 {item_id} 项）",
                                 f"this row was already decided in review (item {item_id})")
                continue
            incoming = {"name": inc.name, "id_kind": inc.id_kind, "id_masked": inc.id_masked, "id_hash": inc.id_hash,
                        "birth_date": inc.birth_date.isoformat() if inc.birth_date else None, "gender": inc.gender,
                        "phone_masked": inc.phone_masked, "phone_hash": inc.phone_hash,
                        "region_code": inc.region.code if inc.region else None, "fields": inc.fields,
                        "household_number": inc.household_number, "as_of": inc.as_of.isoformat(), "source": self.source,
                        # The row's own location, so the dedupe key can be rebuilt (data-key rotation).
                        "raw_region_code": inc.region_code, "lat": inc.lat, "lon": inc.lon}
            item = ReviewItem(batch_id=self.batch.id, row_no=inc.row_no, candidate_id=stored.id, score=round(score_, 3),
                              reasons=[list(r) for r in reasons], incoming=incoming, incoming_id_cipher=inc.id_cipher,
                              incoming_phone_cipher=inc.phone_cipher, dedupe_key=key, status="open",
                              region_path=inc.region.path if inc.region else self.actor.scope_path)
            self.session.add(item)
            self.session.flush()
            existing[key] = (item.id, "open")
            reason_zh = "、".join(r[0] for r in reasons)
            self._result(inc.row_no, "queued", stored.id,
                         f"与档案 {stored.id} 疑似同一人（匹配度 {score_:.0%}：{reason_zh}），已转人工核对",
                         f"possibly person {stored.id} (score {score_:.0%}); sent to the review queue")


_FIELD_ZH = {"name": "姓名", "population_type": "人口类型", "ethnicity": "民族", "address": "居住地址",
             "work_unit": "工作单位", "notes": "备注", "relation_to_head": "与户主关系", "region": "所属网格",
             "phone": "联系电话", "household": "户号"}


def import_persons(*, session: Session, actor: User, origin: Origin, stream: IO[bytes], filename: str, source: str,
                   as_of: dt.date | None = None, keep_items: int = 5000) -> ImportReport:
    """Import a CSV or Excel file of persons from a department, all or nothing (see module docstring)."""
    sha = file_sha256(stream)
    importer = PersonImporter(session=session, actor=actor, origin=origin, source=source,
                              as_of=as_of or utcnow().date(), filename=filename, sha256=sha, keep_items=keep_items)
    return importer.run(read_rows(stream, filename))


def import_path(*, session: Session, username: str, origin: Origin, path: Path, source: str, entity: str = "person",
                as_of: dt.date | None = None) -> ImportReport:
    """Import a file on disk as the user ``username`` (the CLI): the same importers, checks and audit as the web."""
    actor = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if actor is None:
        raise not_found("用户", "User", username)
    access.require(actor, "import")
    if entity not in ENTITIES:
        raise InvalidInput(f"不支持导入 {entity!r}", f"Cannot import {entity!r}", allowed=list(ENTITIES))
    with path.open("rb") as stream:
        if entity == "person":
            return import_persons(session=session, actor=actor, origin=origin, stream=stream, filename=path.name,
                                  source=source, as_of=as_of)
        if as_of is not None:
            raise InvalidInput("数据日期只适用于人员导入", "An as-of date applies to person imports only")
        return import_records(session=session, actor=actor, origin=origin, entity=entity, stream=stream,
                              filename=path.name, source=source)


def report_lines(report: ImportReport, *, show: int = 20) -> list[str]:
    """An import report as text: the batch, the counts, then the first ``show`` queued or rejected rows (zh + en)."""
    b = report.batch
    lines = [f"导入批次 batch #{b.id}（{b.entity}，来源 source {b.source}，文件 {b.filename}）",
             f"行 rows {b.rows:,}: " + ", ".join(f"{OUTCOMES[k][0]} {k} {report.counts[k]:,}" for k in OUTCOMES)]
    if b.repeat_of_id:
        lines.append(f"同一来源的同一文件曾于批次 #{b.repeat_of_id} 导入 / the same file from this source was "
                     f"imported as batch #{b.repeat_of_id}")
    notable = [r for r in report.items if r.outcome in ("queued", "rejected")]
    for item in notable[:show]:
        lines.append(f"  第 {item.row_no} 行 row {item.row_no} [{OUTCOMES[item.outcome][0]} {item.outcome}] {item.zh}")
        lines.append(f"      {item.en}")
    hidden = report.counts["queued"] + report.counts["rejected"] - min(len(notable), show)
    if hidden > 0:
        lines.append(f"  …另有 {hidden} 行待核对或拒绝，见导入批次页面 / {hidden} more queued or rejected rows: "
                     f"see the batch page")
    return lines


# --------------------------------------------------------------------------------------
# Review queue
# --------------------------------------------------------------------------------------


def review_queue(*, session: Session, actor: User, status: str = "open", limit: int = 50, offset: int = 0) -> list[ReviewItem]:
    """Review items in the actor's area, oldest first."""
    access.require(actor, "review")
    return list(session.scalars(select(ReviewItem).where(ReviewItem.status == status,
                                                         access.scope(ReviewItem.region_path, actor))
                                .order_by(ReviewItem.id).limit(limit).offset(offset)))


def get_review(*, session: Session, actor: User, item_id: int) -> ReviewItem:
    """One review item in the actor's area, or NotFound."""
    access.require(actor, "review")
    item = session.scalar(select(ReviewItem).where(ReviewItem.id == item_id, access.scope(ReviewItem.region_path, actor)))
    if item is None:
        raise not_found("待核对记录", "Review item", item_id)
    return item


def resolve_review(*, session: Session, actor: User, origin: Origin, item_id: int, decision: str, note: str = "") -> Person:
    """Decide a review item: ``merge`` into the candidate (newer values win) or keep ``separate`` (new record)."""
    item = get_review(session=session, actor=actor, item_id=item_id)
    if item.status != "open":
        raise Conflict(f"第 {item.id} 项已处理", f"Review item {item.id} has already been decided")
    if decision not in ("merge", "separate"):
        raise InvalidInput("处理方式应为 merge（合并）或 separate（另建档案）", "Decide 'merge' or 'separate'")
    data = item.incoming
    region = session.scalar(select(Region).where(Region.code == data.get("region_code"))) if data.get("region_code") else None
    if region is None:
        region = session.scalar(select(Region).where(Region.path == item.region_path))
    batch = session.get(ImportBatch, item.batch_id)
    as_of = dt.date.fromisoformat(data["as_of"])
    inc = Incoming(
        row_no=item.row_no, name=data["name"], id_kind=data.get("id_kind"), id_cipher=item.incoming_id_cipher,
        id_hash=data.get("id_hash"), id_masked=data.get("id_masked"),
        birth_date=dt.date.fromisoformat(data["birth_date"]) if data.get("birth_date") else None,
        gender=data.get("gender"), phone_cipher=item.incoming_phone_cipher, phone_hash=data.get("phone_hash"),
        phone_masked=data.get("phone_masked"), region=region, fields=dict(data.get("fields") or {}),
        household_number=data.get("household_number"), as_of=as_of,
    )
    if inc.id_hash and session.scalar(select(Person.id).where(Person.id_hash == inc.id_hash, Person.id != item.candidate_id)):
        raise Conflict("该证件号码已属于另一份档案，请先核对该档案", "That ID number now belongs to another record; check it first")
    # Write first: on SQLite this takes the write lock before ids are allocated for a new record.
    item.resolved_by_id, item.resolved_at = actor.id, utcnow()
    session.flush()
    importer = _ReviewWriter(session=session, actor=actor, origin=origin, batch=batch, source=data.get("source") or "")
    if decision == "merge":
        candidate = session.execute(select(*_CANDIDATE_COLS).where(Person.id == item.candidate_id)).first()
        if candidate is None:
            raise not_found("人员档案", "Person", item.candidate_id)
        target = _stored(candidate)
        if inc.id_hash and target.candidate.id_hash and inc.id_hash != target.candidate.id_hash:
            raise Conflict("两条记录的证件号码不同，不能合并", "The two records have different ID numbers; they cannot be merged")
        importer._merge(inc, target)
        importer._write_updates({target.id: target})
        person_id = target.id
    else:
        person_id = importer._insert([inc])[0].id
    item.status = "merged" if decision == "merge" else "separate"
    item.result_person_id = person_id
    person = session.get(Person, person_id)
    session.flush()
    session.refresh(person)
    record(session=session, actor=actor, origin=origin, entity="review_item", entity_id=item.id, action=decision,
           note=note or None, after={"person_id": person_id, "candidate_id": item.candidate_id, "score": item.score})
    record(session=session, actor=actor, origin=origin, entity="person", entity_id=person_id,
           action="review_merge" if decision == "merge" else "review_create", note=note or None,
           after=audit_view(person))
    return person  # type: ignore[return-value]


class _ReviewWriter(PersonImporter):
    """The importer's merge and insert, reused by the review decision (no new batch)."""

    def __init__(self, *, session: Session, actor: User, origin: Origin, batch: ImportBatch | None, source: str) -> None:
        self.session, self.actor, self.origin = session, actor, origin
        self.source = source or (batch.source if batch else "人工核对")
        self.batch = batch  # type: ignore[assignment]
        self.households = {}
        self.report = ImportReport(batch)  # type: ignore[arg-type]
        self.keep_items = 10
        self._results = []

    def _result(self, row_no: int, outcome: str, record_id: int | None, zh: str, en: str) -> None:
        """Review decisions are audited, not reported per row."""


# --------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------

EXPORT_HEADER = ["档案编号", "姓名", "证件类型", "证件号码（已遮蔽）", "出生日期", "性别", "联系电话（已遮蔽）", "人口类型",
                 "民族", "所属区域", "居住地址", "工作单位", "重点人员"]


def export_persons(*, session: Session, actor: User, origin: Origin, query: PersonQuery, stream: IO[bytes]) -> int:
    """Write the filtered person list to ``stream`` as .xlsx, identifiers masked; audited. Returns the row count."""
    access.require(actor, "export")
    from openpyxl import Workbook

    stmt = person_query(session=session, actor=actor, query=query).order_by(Person.id)
    regions: dict[int, str] = {}
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("人员")
    ws.append(EXPORT_HEADER)
    n = 0
    for person in session.scalars(stmt.execution_options(yield_per=2000)):
        if person.region_id not in regions:
            region = session.get(Region, person.region_id)
            regions[person.region_id] = region.name_zh if region else ""
        ws.append([person.id, person.name, ID_KINDS.get(person.id_kind or "", ("", ""))[0], person.id_masked or "",
                   person.birth_date.isoformat() if person.birth_date else "", GENDERS.get(person.gender or "", ("", ""))[0],
                   person.phone_masked or "", POPULATION_TYPES.get(person.population_type, ("", ""))[0],
                   person.ethnicity or "", regions[person.region_id], person.address, person.work_unit,
                   "是" if person.under_care else "否"])
        n += 1
    wb.save(stream)
    record(session=session, actor=actor, origin=origin, entity="person_export", entity_id=actor.id, action="export",
           after={"rows": n, "filters": {k: v for k, v in vars(query).items() if v not in (None, "")}, "masked": True})
    return n


# --------------------------------------------------------------------------------------
# Other base data: buildings, houses, places, organisations, things
# --------------------------------------------------------------------------------------
#
# Smaller files (thousands, not millions): each row goes through the same service function
# as the form and the API (validation, location, audit), inside a savepoint so a refused row
# is reported and skipped; the file as a whole is still one transaction. A row whose natural
# key is already registered is "unchanged" — importing the same file twice changes nothing.

LOCATION_COLUMNS = [("region_code", "网格编码", "region_code", False, ""), ("lon", "经度", "lon", False, ""),
                    ("lat", "纬度", "lat", False, "")]
RECORD_COLUMNS: dict[str, list[tuple[str, str, str, bool, str]]] = {
    "building": [("name", "楼栋名称", "name", True, "1号楼"), ("address", "地址", "address", True, "幸福路1号"),
                 ("floors", "层数", "floors", False, "6"), ("units", "单元数", "units", False, "2")],
    "house": [("address", "地址", "address", True, "幸福路1号1号楼"), ("unit_no", "单元", "unit_no", False, "1"),
              ("room_no", "房号", "room_no", False, "101"), ("use", "用途", "use", False, "出租"),
              ("area_m2", "面积", "area_m2", False, "89.5")],
    "place": [("name", "场所名称", "name", True, "星光网吧"), ("kind", "场所类型", "kind", True, "网吧"),
              ("address", "地址", "address", False, "幸福路8号"), ("contact_name", "负责人", "contact_name", False, "李四"),
              ("contact_phone", "负责人电话", "contact_phone", False, "13800000000")],
    "organisation": [("name", "组织名称", "name", True, "云湖科技有限公司"),
                     ("kind", "组织类型", "kind", True, "非公有制经济组织"),
                     ("uscc", "统一社会信用代码", "uscc", False, "91110000600037341L"),
                     ("legal_representative", "法定代表人", "legal_representative", False, "王五"),
                     ("address", "地址", "address", False, ""), ("members", "人数", "members", False, "")],
    "thing": [("code", "部件编码", "code", True, "CAM-0001"), ("kind", "部件类型", "kind", True, "视频监控"),
              ("name", "名称", "name", False, "幸福路口摄像头")],
}
for _entity, _columns in RECORD_COLUMNS.items():
    ENTITIES[_entity] = _columns + LOCATION_COLUMNS


def _record_choices() -> dict[str, dict[str, str]]:
    from civicgrid.people.models import HOUSE_USES, ORG_KINDS, PLACE_KINDS, THING_KINDS

    return {"house.use": _labels(HOUSE_USES), "place.kind": _labels(PLACE_KINDS),
            "organisation.kind": _labels(ORG_KINDS), "thing.kind": _labels(THING_KINDS)}


def _record_key(session: Session, entity: str, values: dict[str, Any], region: Region | None) -> Any:
    """The stored record this row describes, by its natural key (None if new)."""
    from civicgrid.people.models import Building, House, Organisation, Place, Thing

    if entity == "thing":
        return session.scalar(select(Thing).where(Thing.code == values["code"]))
    if entity == "organisation" and values.get("uscc"):
        from civicgrid.people.identity import parse_uscc

        return session.scalar(select(Organisation).where(Organisation.uscc == parse_uscc(values["uscc"])))
    model = {"building": Building, "house": House, "place": Place, "organisation": Organisation}[entity]
    stmt = select(model)
    for key in {"building": ("name", "address"), "house": ("address", "unit_no", "room_no"),
                "place": ("name", "address"), "organisation": ("name",)}[entity]:
        stmt = stmt.where(getattr(model, key) == (values.get(key) or ""))
    if region is not None:
        stmt = stmt.where(model.region_path == region.path)
    return session.scalar(stmt.limit(1))


def import_records(*, session: Session, actor: User, origin: Origin, entity: str, stream: IO[bytes], filename: str,
                   source: str) -> ImportReport:
    """Import a file of buildings, houses, places, organisations or things; all or nothing, per-row report."""
    from civicgrid.errors import DomainError
    from civicgrid.people import schemas, service as base

    access.require(actor, "import")
    columns = ENTITIES.get(entity)
    if columns is None or entity == "person":
        raise InvalidInput(f"不支持导入 {entity!r}", f"Cannot import {entity!r}",
                           allowed=[e for e in ENTITIES if e != "person"])
    create, schema = {
        "building": (base.create_building, schemas.BuildingCreate), "house": (base.create_house, schemas.HouseCreate),
        "place": (base.create_place, schemas.PlaceCreate),
        "organisation": (base.create_organisation, schemas.OrganisationCreate),
        "thing": (base.create_thing, schemas.ThingCreate),
    }[entity]
    sha = file_sha256(stream)
    repeat = session.scalar(select(ImportBatch.id).where(ImportBatch.sha256 == sha, ImportBatch.source == source[:60],
                                                         ImportBatch.entity == entity).order_by(ImportBatch.id).limit(1))
    batch = ImportBatch(entity=entity, source=(source or "").strip()[:60] or "—", filename=filename[:200], sha256=sha,
                        as_of=utcnow().date(), actor_id=actor.id, region_path=actor.scope_path, repeat_of_id=repeat)
    session.add(batch)
    session.flush()
    report = ImportReport(batch)
    results: list[dict[str, Any]] = []
    choices = _record_choices()
    rows = read_rows(stream, filename)
    try:
        header = next(rows)
    except StopIteration:
        raise InvalidInput("文件为空", "The file is empty") from None
    cols = _header_map(header, columns)
    regions = _Regions(session, actor)

    def result(row_no: int, outcome: str, record_id: int | None, zh: str, en: str) -> None:
        report.counts[outcome] += 1
        report.items.append(RowResult(row_no, outcome, record_id, zh, en))
        results.append({"batch_id": batch.id, "row_no": row_no, "outcome": outcome, "record_id": record_id,
                        "message_zh": zh[:500], "message_en": en[:500]})

    for row_no, raw in enumerate(rows, start=2):
        if not any(str(c).strip() for c in raw if c is not None):
            continue
        values: dict[str, Any] = {}
        try:
            for key, zh, _en, required, _ in columns:
                text_value = _cell(raw, cols, key)
                if required and not text_value:
                    raise RowError(f"{zh}为空", f"{key} is empty")
                if not text_value:
                    continue
                mapping = choices.get(f"{entity}.{key}")
                values[key] = _choice(mapping, text_value, zh, key) if mapping else text_value
            for number in ("floors", "units", "members"):
                if number in values:
                    values[number] = int(float(values[number]))
            for number in ("area_m2", "lat", "lon"):
                if number in values:
                    values[number] = float(values[number])
            region = regions.by_code(values["region_code"]) if values.get("region_code") else None
            existing = _record_key(session, entity, values, region)
            if existing is not None:
                if not existing.region_path.startswith(actor.scope_path):
                    raise RowError("该记录已在其他辖区登记", "already registered in another area")
                result(row_no, "unchanged", existing.id, f"已登记（编号 {existing.id}），未重复创建",
                       f"already registered (id {existing.id}); not created again")
                continue
            data = schema(**values)
            with session.begin_nested():
                created = create(session=session, actor=actor, origin=origin, data=data)
            result(row_no, "created", created.id, "新建", "created")
        except RowError as exc:
            result(row_no, "rejected", None, exc.zh, exc.en)
        except DomainError as exc:
            result(row_no, "rejected", None, exc.detail_zh, exc.detail_en)
        except (ValueError, TypeError) as exc:  # pydantic's ValidationError is a ValueError
            result(row_no, "rejected", None, "数值格式不正确", f"malformed value: {str(exc).splitlines()[0][:200]}")
    if results:
        session.execute(insert(ImportRow), results)
    batch.rows = sum(report.counts.values())
    for key in OUTCOMES:
        setattr(batch, key, report.counts[key])
    if batch.rows == 0:
        raise InvalidInput("文件中没有数据行", "The file has no data rows")
    record(session=session, actor=actor, origin=origin, entity="import_batch", entity_id=batch.id, action="import",
           after={"entity": entity, "source": batch.source, "file": batch.filename, **report.counts})
    session.flush()
    return report
