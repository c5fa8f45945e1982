"""People under care (重点人群): types, care records, caretakers, visit schedules, visit log, alerts.

The visit interval depends on the type and the person's risk colour (``CareType.visit_days``);
``scan_visits`` (a periodic job in ``civicgrid.jobs``, and ``civicgrid people care-scan``) alerts
the caretakers and the community centre once per missed due date, so running it twice sends
nothing twice; ``run_nightly_if_due`` recomputes every colour once a local day. A case that
involves a person under care is flagged to their caretakers (``link_case_person``). Visits carry
photos checked by their bytes (``events.attachments.sniff``) and stored by content hash. Types and
their schedules are configured by administrators (``create_care_type``, ``update_care_type``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civicgrid.audit.service import Origin, record
from civicgrid.auth.models import Role, User
from civicgrid.db import unit_of_work, utcnow
from civicgrid.errors import Conflict, InvalidInput, NotFound, not_found
from civicgrid.events import attachments
from civicgrid.events.models import Case
from civicgrid.events.scope import case_scope
from civicgrid.notifications.service import notify
from civicgrid.people import access, risk
from civicgrid.people.models import (
    CARE_LEVELS,
    CARETAKER_KINDS,
    CareRecord,
    Caretaker,
    CareType,
    CaseInvolvement,
    Colour,
    JobRun,
    Person,
    Visit,
    VisitPhoto,
)
from civicgrid.people.schemas import (
    CareChange,
    CareCreate,
    CareEnd,
    CaretakerCreate,
    CareTypeUpdate,
    CareTypeWrite,
    VisitCreate,
)
from civicgrid.people.service import get_person, seal_phone
from civicgrid.regions.models import Region, RegionLevel
from civicgrid.settings import get_settings

ORIGIN = Origin("scheduler")

# Days between visits by colour, unless the type says otherwise.
DEFAULT_VISIT_DAYS = {"red": 7, "orange": 15, "yellow": 30, "blue": 60, "green": 90}

# (code, parent, 中文, English, visit days by colour or None for the default)
DEFAULT_TYPES: list[tuple[str, str | None, str, str, dict[str, int] | None]] = [
    ("community_correction", None, "社区矫正对象", "Community correction", {"red": 7, "orange": 7, "yellow": 15, "blue": 30, "green": 30}),
    ("released_prisoner", None, "刑满释放人员", "Released prisoner", None),
    ("drug_rehab", None, "社区戒毒康复人员", "Drug user in community rehabilitation", {"red": 7, "orange": 15, "yellow": 15, "blue": 30, "green": 60}),
    ("mental_illness", None, "严重精神障碍患者", "Severe mental illness", {"red": 7, "orange": 14, "yellow": 30, "blue": 30, "green": 90}),
    ("hiv_risk", None, "艾滋病危险人员", "HIV-risk person", None),
    ("key_youth", None, "重点青少年", "Key youth", None),
    ("key_youth_idle", "key_youth", "闲散青少年", "Idle youth", None),
    ("key_youth_misconduct", "key_youth", "有不良行为青少年", "Youth with misconduct", None),
    ("key_youth_vagrant", "key_youth", "流浪乞讨未成年人", "Vagrant or begging minor", None),
    ("key_youth_prisoner_child", "key_youth", "服刑人员未成年子女", "Minor child of a prisoner", None),
    ("key_youth_rural_left_behind", "key_youth", "农村留守儿童", "Rural left-behind child", None),
    ("left_behind_child", None, "留守儿童", "Left-behind child", None),
    ("empty_nest_elderly", None, "空巢老人", "Empty-nest elderly", None),
    ("solitary_elderly", None, "独居老人", "Solitary elderly", None),
    ("hardship_family", None, "困难家庭", "Family in hardship", None),
]


def seed_care_types(*, session: Session) -> int:
    """Insert the default care types that are missing; returns how many were added."""
    have = set(session.scalars(select(CareType.code)))
    added = 0
    for sort, (code, parent, zh, en, days) in enumerate(DEFAULT_TYPES):
        if code in have:
            continue
        session.add(CareType(code=code, parent_code=parent, name_zh=zh, name_en=en,
                             visit_days=days or dict(DEFAULT_VISIT_DAYS), sort=sort, active=True))
        added += 1
        session.flush()
    return added


def care_types(*, session: Session) -> list[CareType]:
    """The active care types, parents before their sub-types."""
    return list(session.scalars(select(CareType).where(CareType.active.is_(True)).order_by(CareType.sort, CareType.code)))


def all_care_types(*, session: Session) -> list[CareType]:
    """Every care type, active or not, parents before their sub-types (for the configuration page)."""
    return list(session.scalars(select(CareType).order_by(CareType.sort, CareType.code)))


def _visit_days(days: dict[str, int]) -> dict[str, int]:
    colours = [c.value for c in Colour]
    unknown = sorted(set(days) - set(colours))
    missing = [c for c in colours if c not in days]
    if unknown or missing:
        raise InvalidInput("走访周期须为红、橙、黄、蓝、绿五种颜色各填天数",
                           "Give the visit interval in days for each of red, orange, yellow, blue and green",
                           missing=missing, unknown=unknown)
    out = {}
    for colour in colours:
        value = days[colour]
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 365:
            raise InvalidInput(f"走访周期（{colour}）应为 1–365 天", f"The visit interval for {colour} must be 1–365 days")
        out[colour] = value
    return out


def _parent(session: Session, code: str, parent_code: str | None) -> str | None:
    if not parent_code:
        return None
    parent = session.get(CareType, parent_code)
    if parent is None:
        raise InvalidInput(f"上级类型 {parent_code!r} 不存在", f"Parent type {parent_code!r} does not exist")
    if parent.code == code or parent.parent_code is not None:
        raise InvalidInput("上级类型须是一个顶级类型（子类型下不能再分）",
                           "The parent must be a top-level type (sub-types have no sub-types)")
    if session.scalar(select(CareType.code).where(CareType.parent_code == code).limit(1)) is not None:
        raise InvalidInput("该类型已有子类型，不能再挂到其他类型下", "This type has sub-types; it cannot become one")
    return parent.code


def _type_view(t: CareType) -> dict[str, object]:
    return {"name_zh": t.name_zh, "name_en": t.name_en, "parent_code": t.parent_code, "visit_days": dict(t.visit_days),
            "sort": t.sort, "active": t.active}


def create_care_type(*, session: Session, actor: User, origin: Origin, data: CareTypeWrite) -> CareType:
    """Add a care type (or sub-type) with its visit schedule per colour; administrators only."""
    access.require(actor, "configure")
    if session.get(CareType, data.code) is not None:
        raise Conflict(f"类型代码 {data.code} 已存在", f"Care type code {data.code} already exists")
    care_type = CareType(code=data.code, name_zh=data.name_zh.strip(), name_en=data.name_en.strip(),
                         parent_code=_parent(session, data.code, data.parent_code), visit_days=_visit_days(data.visit_days),
                         sort=data.sort, active=data.active)
    session.add(care_type)
    session.flush()
    record(session=session, actor=actor, origin=origin, entity="care_type", entity_id=care_type.code, action="create",
           after=_type_view(care_type))
    return care_type


def update_care_type(*, session: Session, actor: User, origin: Origin, code: str, data: CareTypeUpdate) -> CareType:
    """Change a care type's names, parent, order, activity or visit schedule; administrators only.

    A changed schedule re-plans the next visit of every active record of the type (and their colours);
    a deactivated type takes no new records, while its current records carry on.
    """
    access.require(actor, "configure")
    care_type = session.get(CareType, code)
    if care_type is None:
        raise not_found("重点人群类型", "Care type", code)
    before = _type_view(care_type)
    changes = data.model_dump(exclude_unset=True)
    if "name_zh" in changes and changes["name_zh"] is not None:
        care_type.name_zh = changes["name_zh"].strip()
    if "name_en" in changes and changes["name_en"] is not None:
        care_type.name_en = changes["name_en"].strip()
    if "parent_code" in changes:
        care_type.parent_code = _parent(session, code, changes["parent_code"])
    if changes.get("sort") is not None:
        care_type.sort = changes["sort"]
    if changes.get("active") is not None:
        care_type.active = changes["active"]
    replanned = 0
    if changes.get("visit_days") is not None:
        days = _visit_days(changes["visit_days"])
        if days != dict(care_type.visit_days or {}):
            care_type.visit_days = days
            session.flush()
            for care in session.scalars(select(CareRecord).where(CareRecord.type_code == code,
                                                                 CareRecord.active.is_(True))).all():
                plan_next_visit(session=session, care=care)
                risk.recompute(session=session, subject="care", subject_id=care.id, origin=origin)
                replanned += 1
    session.flush()
    after = _type_view(care_type)
    if after != before:
        record(session=session, actor=actor, origin=origin, entity="care_type", entity_id=code, action="update",
               before=before, after={**after, "replanned": replanned})
    return care_type


def visit_interval(care_type: CareType | None, colour: str) -> dt.timedelta:
    """Time between visits for a type at a colour."""
    days = (care_type.visit_days if care_type else None) or {}
    return dt.timedelta(days=int(days.get(colour, DEFAULT_VISIT_DAYS.get(colour, 30))))


def plan_next_visit(*, session: Session, care: CareRecord) -> None:
    """Set the next due visit from the last visit (or the start) and the current colour."""
    if not care.active:
        care.next_visit_due = None
        return
    base = care.last_visit_at or dt.datetime.combine(care.started_on, dt.time(0, 0), tzinfo=dt.UTC)
    care.next_visit_due = base + visit_interval(session.get(CareType, care.type_code), care.colour)
    care.visit_overdue = care.next_visit_due + _grace() <= utcnow()


def _grace() -> dt.timedelta:
    return dt.timedelta(hours=get_settings().care_visit_grace_hours)


def visible_care(actor: User):
    """``select(CareRecord)`` limited to the actor's area (and refused to roles without care access)."""
    access.require(actor, "care_read")
    return select(CareRecord).where(access.scope(CareRecord.region_path, actor))


def get_care(*, session: Session, actor: User, care_id: int) -> CareRecord:
    """One care record in the actor's area, or NotFound."""
    care = session.scalar(visible_care(actor).where(CareRecord.id == care_id))
    if care is None:
        raise not_found("重点人员管控记录", "Care record", care_id)
    return care


def start_care(*, session: Session, actor: User, origin: Origin, person_id: int, data: CareCreate) -> CareRecord:
    """Put a person under care of a type and level, with the reason; the first visit is planned."""
    access.require(actor, "care_write")
    person = get_person(session=session, actor=actor, person_id=person_id)
    care_type = session.get(CareType, data.type_code)
    if care_type is None or not care_type.active:
        raise InvalidInput(f"重点人群类型 {data.type_code!r} 不存在", f"Unknown care type {data.type_code!r}")
    if data.level not in CARE_LEVELS:
        raise InvalidInput(f"管控等级 {data.level!r} 无效", f"Unknown care level {data.level!r}", allowed=list(CARE_LEVELS))
    if session.scalar(select(CareRecord.id).where(CareRecord.person_id == person.id, CareRecord.type_code == data.type_code,
                                                  CareRecord.active.is_(True))) is not None:
        raise Conflict(f"{person.name} 已在{care_type.name_zh}管控中", f"{person.name} is already under care as {care_type.name_en}")
    care = CareRecord(person_id=person.id, type_code=care_type.code, level=data.level, colour=Colour.GREEN.value,
                      active=True, started_on=data.started_on or utcnow().date(), start_reason=data.reason,
                      region_id=person.region_id, region_path=person.region_path, grid_id=person.grid_id)
    session.add(care)
    person.under_care = True
    session.flush()
    plan_next_visit(session=session, care=care)
    record(session=session, actor=actor, origin=origin, entity="care_record", entity_id=care.id, action="start",
           note=data.reason, after={"person_id": person.id, "type": care.type_code, "level": care.level,
                                    "started_on": care.started_on.isoformat()})
    risk.recompute(session=session, subject="care", subject_id=care.id, origin=origin)
    return care


def change_level(*, session: Session, actor: User, origin: Origin, care_id: int, data: CareChange) -> CareRecord:
    """Change the care level with a reason (kept in the history); the colour is recomputed."""
    access.require(actor, "care_write")
    care = get_care(session=session, actor=actor, care_id=care_id)
    if not care.active:
        raise Conflict("该管控记录已结束", "This care record has ended")
    if data.level not in CARE_LEVELS:
        raise InvalidInput(f"管控等级 {data.level!r} 无效", f"Unknown care level {data.level!r}", allowed=list(CARE_LEVELS))
    before = care.level
    care.level = data.level
    session.flush()
    record(session=session, actor=actor, origin=origin, entity="care_record", entity_id=care.id, action="level",
           from_state=before, to_state=care.level, note=data.reason)
    risk.recompute(session=session, subject="care", subject_id=care.id, origin=origin)
    return care


def end_care(*, session: Session, actor: User, origin: Origin, care_id: int, data: CareEnd) -> CareRecord:
    """End care with a reason (released from correction, moved away, recovered…)."""
    access.require(actor, "care_write")
    care = get_care(session=session, actor=actor, care_id=care_id)
    if not care.active:
        raise Conflict("该管控记录已结束", "This care record has already ended")
    care.active, care.ended_on, care.end_reason = False, data.ended_on or utcnow().date(), data.reason
    care.next_visit_due, care.visit_overdue = None, False
    person = session.get(Person, care.person_id)
    session.flush()
    if person is not None:
        person.under_care = session.scalar(select(CareRecord.id).where(
            CareRecord.person_id == person.id, CareRecord.active.is_(True))) is not None
    record(session=session, actor=actor, origin=origin, entity="care_record", entity_id=care.id, action="end",
           note=data.reason, after={"ended_on": care.ended_on.isoformat()})
    risk.recompute(session=session, subject="care", subject_id=care.id, origin=origin)
    return care


def add_caretaker(*, session: Session, actor: User, origin: Origin, care_id: int, data: CaretakerCreate) -> Caretaker:
    """Assign a caretaker: a user (grid worker, police, social worker) or a family member by name."""
    access.require(actor, "care_write")
    care = get_care(session=session, actor=actor, care_id=care_id)
    if data.kind not in CARETAKER_KINDS:
        raise InvalidInput(f"帮扶人类型 {data.kind!r} 无效", f"Unknown caretaker kind {data.kind!r}",
                           allowed=list(CARETAKER_KINDS))
    name = (data.name or "").strip()
    if data.user_id is not None:
        user = session.get(User, data.user_id)
        if user is None or not user.active or not care.region_path.startswith(user.scope_path) and not user.scope_path.startswith(care.region_path):
            raise InvalidInput("帮扶人须是本辖区的在岗用户", "A caretaker user must be active and work in this area")
        name = name or user.display_name
        if session.scalar(select(Caretaker.id).where(Caretaker.care_id == care.id, Caretaker.user_id == user.id,
                                                     Caretaker.active.is_(True))) is not None:
            raise Conflict(f"{user.display_name} 已是帮扶人", f"{user.display_name} is already a caretaker")
    if not name:
        raise InvalidInput("请填写帮扶人姓名或选择用户", "Give the caretaker's name or choose a user")
    phone = seal_phone(data.phone)
    if data.is_primary:
        session.execute(update(Caretaker).where(Caretaker.care_id == care.id).values(is_primary=False))
    caretaker = Caretaker(care_id=care.id, kind=data.kind, user_id=data.user_id, name=name,
                          phone_cipher=phone.cipher, phone_masked=phone.masked, is_primary=data.is_primary, active=True)
    session.add(caretaker)
    session.flush()
    record(session=session, actor=actor, origin=origin, entity="care_record", entity_id=care.id, action="add_caretaker",
           after={"caretaker_id": caretaker.id, "kind": data.kind, "user_id": data.user_id, "name": name,
                  "primary": data.is_primary})
    return caretaker


def remove_caretaker(*, session: Session, actor: User, origin: Origin, caretaker_id: int) -> Caretaker:
    """Relieve a caretaker (kept in the history)."""
    access.require(actor, "care_write")
    caretaker = session.get(Caretaker, caretaker_id)
    if caretaker is None:
        raise not_found("帮扶人", "Caretaker", caretaker_id)
    get_care(session=session, actor=actor, care_id=caretaker.care_id)
    caretaker.active = False
    record(session=session, actor=actor, origin=origin, entity="care_record", entity_id=caretaker.care_id,
           action="remove_caretaker", before={"caretaker_id": caretaker.id, "name": caretaker.name})
    return caretaker


def caretakers(*, session: Session, care_id: int) -> list[Caretaker]:
    """The active caretakers of a care record, primary first."""
    return list(session.scalars(select(Caretaker).where(Caretaker.care_id == care_id, Caretaker.active.is_(True))
                                .order_by(Caretaker.is_primary.desc(), Caretaker.id)))


def log_visit(*, session: Session, actor: User, origin: Origin, care_id: int, data: VisitCreate) -> Visit:
    """Log a visit (time, place and position, findings, next step); the next one is planned."""
    access.require(actor, "visit")
    care = get_care(session=session, actor=actor, care_id=care_id)
    if not care.active:
        raise Conflict("该管控记录已结束，不能再登记走访", "This care record has ended; no more visits")
    now = utcnow()
    at = data.at or now
    if at.tzinfo is None:
        raise InvalidInput("走访时间须带时区", "The visit time needs a time zone")
    if at > now + dt.timedelta(minutes=5):
        raise InvalidInput("走访时间不能晚于现在", "A visit cannot be in the future")
    if (data.lat is None) != (data.lon is None):
        raise InvalidInput("经纬度须同时填写", "Give both latitude and longitude, or neither")
    late = care.next_visit_due is not None and at > care.next_visit_due + _grace()
    visit = Visit(care_id=care.id, at=at, visitor_id=actor.id, visitor_name=actor.display_name, place=data.place,
                  lat=data.lat, lon=data.lon, findings=data.findings, next_step=data.next_step, late=late,
                  channel=origin.channel)
    session.add(visit)
    if care.last_visit_at is None or at > care.last_visit_at:
        care.last_visit_at = at
    plan_next_visit(session=session, care=care)
    session.flush()
    record(session=session, actor=actor, origin=origin, entity="care_record", entity_id=care.id, action="visit",
           after={"visit_id": visit.id, "at": at.isoformat(), "late": late,
                  "next_due": care.next_visit_due.isoformat() if care.next_visit_due else None})
    risk.recompute(session=session, subject="care", subject_id=care.id, origin=origin)
    return visit


def visits(*, session: Session, care_id: int, limit: int = 100) -> list[Visit]:
    """A care record's visits, newest first."""
    return list(session.scalars(select(Visit).where(Visit.care_id == care_id).order_by(Visit.at.desc()).limit(limit)))


# --------------------------------------------------------------------------------------
# Visit photos: checked by their magic numbers (events.attachments), stored by content hash
# --------------------------------------------------------------------------------------

PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
MAX_PHOTOS_PER_VISIT = 20
PHOTO_FOLDER = "care-visits"


def photo_path(sha256: str) -> Path:
    """Where a visit photo's bytes live: ``<upload_dir>/care-visits/ab/abcdef…`` (one file per content)."""
    return Path(get_settings().upload_dir) / PHOTO_FOLDER / sha256[:2] / sha256


def _visit_in_scope(session: Session, actor: User, visit_id: int, care_id: int | None = None) -> tuple[Visit, CareRecord]:
    visit = session.get(Visit, visit_id) if 1 <= visit_id <= 2**62 else None
    if visit is None or (care_id is not None and visit.care_id != care_id):
        raise not_found("走访记录", "Visit", visit_id)
    try:
        care = get_care(session=session, actor=actor, care_id=visit.care_id)
    except NotFound:
        raise not_found("走访记录", "Visit", visit_id) from None
    return visit, care


def add_visit_photo(*, session: Session, actor: User, origin: Origin, visit_id: int, filename: str, content: bytes,
                    care_id: int | None = None) -> VisitPhoto:
    """Attach a photo (JPEG, PNG or WebP by its bytes, up to 10 MB) to a visit of a care record in the actor's area."""
    access.require(actor, "visit")
    visit, care = _visit_in_scope(session, actor, visit_id, care_id)
    if not care.active:
        raise Conflict("该管控记录已结束，不能再添加走访照片", "This care record has ended; no more visit photos")
    if not content:
        raise InvalidInput("上传的照片是空的", "The uploaded photo is empty")
    if len(content) > attachments.MAX_BYTES:
        raise InvalidInput(f"照片超过 {attachments.MAX_BYTES // (1024 * 1024)} MB",
                           f"The photo is larger than {attachments.MAX_BYTES // (1024 * 1024)} MB")
    kind = attachments.sniff(content)
    if kind not in PHOTO_TYPES:
        raise InvalidInput("走访照片只接受 JPEG、PNG 或 WebP 图片（按文件内容判断，不看扩展名）",
                           "Visit photos must be JPEG, PNG or WebP images (judged by the content, not the name)")
    have = session.scalar(select(func.count(VisitPhoto.id)).where(VisitPhoto.visit_id == visit.id)) or 0
    if have >= MAX_PHOTOS_PER_VISIT:
        raise InvalidInput(f"每次走访最多 {MAX_PHOTOS_PER_VISIT} 张照片", f"At most {MAX_PHOTOS_PER_VISIT} photos per visit")
    digest = hashlib.sha256(content).hexdigest()
    target = photo_path(digest)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{digest}.{os.getpid()}.part")
        partial.write_bytes(content)
        partial.replace(target)
    photo = VisitPhoto(visit_id=visit.id, care_id=care.id, filename=Path(filename or "photo").name[:200] or "photo",
                       content_type=kind, size=len(content), sha256=digest, uploaded_by_id=actor.id)
    session.add(photo)
    if visit.photo_sha256 is None:
        visit.photo_sha256 = digest
    session.flush()
    record(session=session, actor=actor, origin=origin, entity="care_record", entity_id=care.id, action="visit_photo",
           note=photo.filename, after={"visit_id": visit.id, "photo_id": photo.id, "sha256": digest, "size": len(content),
                                       "content_type": kind})
    return photo


def visit_photos(*, session: Session, actor: User, care_id: int) -> dict[int, list[VisitPhoto]]:
    """The photos of a care record's visits (visit id → photos, oldest first), for a record in the actor's area."""
    get_care(session=session, actor=actor, care_id=care_id)
    out: dict[int, list[VisitPhoto]] = {}
    for photo in session.scalars(select(VisitPhoto).where(VisitPhoto.care_id == care_id).order_by(VisitPhoto.id)):
        out.setdefault(photo.visit_id, []).append(photo)
    return out


def open_visit_photo(*, session: Session, actor: User, origin: Origin, photo_id: int) -> tuple[VisitPhoto, Path]:
    """A visit photo and its file, for a record in the actor's area; every opening is logged (access audit)."""
    photo = session.get(VisitPhoto, photo_id) if 1 <= photo_id <= 2**62 else None
    if photo is None:
        raise not_found("走访照片", "Visit photo", photo_id)
    try:
        get_care(session=session, actor=actor, care_id=photo.care_id)
    except NotFound:
        raise not_found("走访照片", "Visit photo", photo_id) from None
    path = photo_path(photo.sha256)
    if not path.is_file():
        raise not_found("走访照片文件", "Visit photo file", photo_id)
    record(session=session, actor=actor, origin=origin, entity="care_visit_photo", entity_id=photo.id, action="view",
           after={"care_id": photo.care_id, "visit_id": photo.visit_id})
    return photo, path


@dataclass
class CareQuery:
    """Filters of the care list."""

    type_code: str | None = None
    colour: str | None = None
    overdue: bool | None = None
    mine: bool = False
    active: bool = True


def list_care(*, session: Session, actor: User, query: CareQuery, limit: int = 50, offset: int = 0) -> list[tuple[CareRecord, Person]]:
    """Care records in the actor's area with their person, most at risk and most overdue first."""
    stmt = visible_care(actor).add_columns(Person).join(Person, Person.id == CareRecord.person_id)
    stmt = stmt.where(CareRecord.active.is_(query.active))
    if query.type_code:
        codes = [query.type_code] + list(session.scalars(select(CareType.code).where(CareType.parent_code == query.type_code)))
        stmt = stmt.where(CareRecord.type_code.in_(codes))
    if query.colour:
        stmt = stmt.where(CareRecord.colour == query.colour)
    if query.overdue is not None:
        stmt = stmt.where(CareRecord.visit_overdue.is_(query.overdue))
    if query.mine:
        stmt = stmt.where(CareRecord.id.in_(select(Caretaker.care_id).where(Caretaker.user_id == actor.id,
                                                                             Caretaker.active.is_(True))))
    rows = session.execute(stmt.order_by(CareRecord.next_visit_due.asc(), CareRecord.id).limit(max(1, min(limit, 500)))
                           .offset(max(0, offset))).all()
    order = {c.value: i for i, c in enumerate(Colour)}
    return sorted(((r[0], r[1]) for r in rows), key=lambda cp: order.get(cp[0].colour, 9))


def care_of_person(*, session: Session, actor: User, person_id: int) -> list[CareRecord]:
    """Every care record of a person (active first), for the profile; empty for roles without care access."""
    if not access.may(actor, "care_read"):
        return []
    return list(session.scalars(visible_care(actor).where(CareRecord.person_id == person_id)
                                .order_by(CareRecord.active.desc(), CareRecord.started_on.desc())))


# --------------------------------------------------------------------------------------
# Cases that involve a person under care
# --------------------------------------------------------------------------------------


def link_case_person(*, session: Session, actor: User, origin: Origin, case_id: int, person_id: int,
                     role: str = "involved") -> CaseInvolvement:
    """Record that a person is involved in a case; if under care, tell their caretakers."""
    access.require(actor, "write")
    case = session.scalar(select(Case).where(Case.id == case_id, case_scope(actor)))
    if case is None:
        raise not_found("事件", "Case", case_id)
    person = get_person(session=session, actor=actor, person_id=person_id)
    existing = session.scalar(select(CaseInvolvement).where(CaseInvolvement.case_id == case.id,
                                                            CaseInvolvement.person_id == person.id))
    if existing is not None:
        return existing
    link = CaseInvolvement(case_id=case.id, person_id=person.id, role=role[:20])
    session.add(link)
    session.flush()
    record(session=session, actor=actor, origin=origin, entity="case", entity_id=case.id, action="link_person",
           after={"person_id": person.id, "role": link.role})
    for care in session.scalars(select(CareRecord).where(CareRecord.person_id == person.id, CareRecord.active.is_(True))):
        users = _caretaker_users(session, care)
        notify(session=session, users=users, kind="care_case", case_id=case.id,
               text_zh=f"重点人员 {person.name} 涉及事件 {case.number or case.id}：{case.title}"[:300],
               text_en=f"{person.name}, under your care, is involved in case {case.number or case.id}"[:300])
        risk.recompute(session=session, subject="care", subject_id=care.id, origin=origin)
    return link


def cases_of_person(*, session: Session, actor: User, person_id: int) -> list[tuple[Case, str]]:
    """Cases a person reported (by phone) or is involved in, that the actor may see, newest first."""
    person = get_person(session=session, actor=actor, person_id=person_id)
    linked = session.execute(select(Case, CaseInvolvement.role).join(CaseInvolvement, CaseInvolvement.case_id == Case.id)
                             .where(CaseInvolvement.person_id == person.id, case_scope(actor))).all()
    found = {c.id: (c, role) for c, role in linked}
    if person.phone_cipher is not None:
        from civicgrid.people import crypto

        phone = crypto.decrypt(person.phone_cipher, kind="phone")
        for case in session.scalars(select(Case).where(Case.reporter_phone == phone, case_scope(actor)).limit(50)):
            found.setdefault(case.id, (case, "reporter"))
    return sorted(found.values(), key=lambda cr: cr[0].received_at, reverse=True)


# --------------------------------------------------------------------------------------
# Missed visits: the scheduler's pass (idempotent)
# --------------------------------------------------------------------------------------


def _caretaker_users(session: Session, care: CareRecord) -> list[User]:
    ids = session.scalars(select(Caretaker.user_id).where(Caretaker.care_id == care.id, Caretaker.active.is_(True),
                                                          Caretaker.user_id.is_not(None))).all()
    return list(session.scalars(select(User).where(User.id.in_(ids), User.active.is_(True)))) if ids else []


def _supervisors(session: Session, care: CareRecord) -> list[User]:
    # The operators of the community centre above the grid (or of the record's own region).
    codes = [c for c in care.region_path.strip("/").split("/") if c]
    regions = list(session.scalars(select(Region).where(Region.code.in_(codes))))
    community = next((r for r in regions if r.level == RegionLevel.COMMUNITY), None) or next(
        (r for r in regions if r.path == care.region_path), None)
    if community is None:
        return []
    return list(session.scalars(select(User).where(User.scope_region_id == community.id, User.role == Role.OPERATOR,
                                                   User.active.is_(True))))


@dataclass
class VisitScan:
    missed: int = 0
    notified: int = 0


def scan_visits(*, session: Session, now: dt.datetime | None = None, batch: int = 500) -> VisitScan:
    """Alert caretakers and their supervisors once per missed due date; mark the record overdue."""
    now = now or utcnow()
    cutoff = now - _grace()
    result = VisitScan()
    ids = session.scalars(select(CareRecord.id).where(
        CareRecord.active.is_(True), CareRecord.next_visit_due <= cutoff,
        (CareRecord.alerted_due.is_(None)) | (CareRecord.alerted_due != CareRecord.next_visit_due)).limit(batch)).all()
    for care_id in ids:
        # Claim by a conditional update, so two processes never alert the same due date twice.
        claimed = session.execute(
            update(CareRecord).where(CareRecord.id == care_id, CareRecord.next_visit_due <= cutoff,
                                     (CareRecord.alerted_due.is_(None)) | (CareRecord.alerted_due != CareRecord.next_visit_due))
            .values(alerted_due=CareRecord.next_visit_due, visit_overdue=True)
            .execution_options(synchronize_session=False))
        if (claimed.rowcount or 0) != 1:
            continue
        care = session.get(CareRecord, care_id)
        session.refresh(care)
        person = session.get(Person, care.person_id)
        name = person.name if person else str(care.person_id)
        due = care.next_visit_due
        users = _caretaker_users(session, care) + _supervisors(session, care)
        result.notified += notify(session=session, users=users, kind="visit_missed", case_id=None,
                                  text_zh=f"重点人员 {name} 应于 {due:%Y-%m-%d} 前走访，已逾期",
                                  text_en=f"The visit to {name} was due by {due:%Y-%m-%d} and is overdue")
        record(session=session, actor=None, origin=ORIGIN, entity="care_record", entity_id=care.id,
               action="visit_missed", after={"due": due.isoformat() if due else None})
        risk.recompute(session=session, subject="care", subject_id=care.id, origin=ORIGIN, now=now)
        result.missed += 1
    return result


def run_nightly() -> dict[str, int]:
    """The nightly job: missed visits, then every risk colour, in one unit of work."""
    with unit_of_work() as session:
        scan = scan_visits(session=session)
        counts = risk.recompute_all(session=session)
        counts["missed_visits"] = scan.missed
        return counts


def run_visit_scan() -> VisitScan:
    """One missed-visit scan in its own unit of work (the CLI and the background loop call this)."""
    with unit_of_work() as session:
        return scan_visits(session=session)


NIGHTLY_HOUR = 2  # local time (settings.timezone), when the city sleeps
NIGHTLY_JOB = "care_risk_nightly"


@dataclass
class NightlyPass:
    """What ``run_nightly_if_due`` did: ran the pass for a local date (with its counts), or skipped it and why."""

    run_on: dt.date
    ran: bool
    counts: dict[str, int]
    reason: str = ""

    def __str__(self) -> str:
        if self.ran:
            return f"{self.run_on}: " + ", ".join(f"{k} {v}" for k, v in self.counts.items())
        return f"{self.run_on}: skipped ({self.reason})"


def run_nightly_if_due(now: dt.datetime | None = None) -> NightlyPass:
    """The nightly pass (missed visits, every colour) once a local day, from 02:00.

    Registered in ``civicgrid.jobs.PERIODIC_JOBS``, so it runs every scheduler round and from
    ``civicgrid scheduler run-once``. The day is claimed by inserting ``(job, local date)`` into
    ``people_job_run`` in the same transaction as the pass: a second process (or a re-run) finds
    the claim, or waits for it and fails the insert, and skips; a failed pass rolls its claim back.
    """
    now = now or utcnow()
    local = now.astimezone(ZoneInfo(get_settings().timezone))
    day = local.date()
    if local.hour < NIGHTLY_HOUR:
        return NightlyPass(day, False, {}, f"before {NIGHTLY_HOUR:02d}:00 local")
    with unit_of_work() as session:
        if session.get(JobRun, (NIGHTLY_JOB, day)) is not None:
            return NightlyPass(day, False, {}, "already run")
        claim = JobRun(job=NIGHTLY_JOB, run_on=day, started_at=now, result={})
        try:
            with session.begin_nested():
                session.add(claim)
                session.flush()
        except IntegrityError:
            return NightlyPass(day, False, {}, "run by another process")
        scan = scan_visits(session=session, now=now)
        counts = risk.recompute_all(session=session, now=now)
        counts["missed_visits"] = scan.missed
        claim.result = dict(counts)
        return NightlyPass(day, True, counts)
