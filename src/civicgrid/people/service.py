"""Base-data services: persons (一人一档), households, buildings, houses, places, organisations, things.

Plain functions with keyword-only ``session``/``actor``/``origin``; none commits. Every
query is scoped to the actor's region subtree (``access.scope``); every change and every
sensitive read (unmasking, opening a profile) is audited in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from civicgrid.audit.service import Origin, record
from civicgrid.auth.models import User
from civicgrid.db import utcnow
from civicgrid.errors import Conflict, InvalidInput, not_found
from civicgrid.people import access, crypto
from civicgrid.people.identity import (
    mask_id,
    mask_phone,
    normalise_phone,
    parse_citizen_id,
    parse_uscc,
)
from civicgrid.people.models import (
    HOUSE_USES,
    ID_KINDS,
    ORG_KINDS,
    PLACE_KINDS,
    POPULATION_TYPES,
    RELATIONS,
    THING_KINDS,
    Building,
    House,
    Household,
    Organisation,
    Person,
    Place,
    PlaceInspection,
    Tenancy,
    Thing,
)
from civicgrid.people.schemas import (
    BuildingCreate,
    HouseCreate,
    HouseholdCreate,
    InspectionCreate,
    Located,
    OrganisationCreate,
    PersonCreate,
    PersonRead,
    PersonUpdate,
    PlaceCreate,
    TenancyCreate,
    ThingCreate,
)
from civicgrid.regions.importer import GRID_LEVELS
from civicgrid.regions.models import Region
from civicgrid.regions.service import locate_point

# Fields whose provenance (source department, date of the value) is tracked per person.
TRACKED = ("name", "phone", "population_type", "ethnicity", "address", "work_unit", "household", "region")


# --------------------------------------------------------------------------------------
# Identifiers: sealed (encrypted + keyed hash + masked)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SealedDocument:
    """A document number ready to store: never kept in clear."""

    kind: str
    cipher: bytes
    hash: str
    masked: str
    birth_date: dt.date | None = None
    gender: str | None = None
    upgraded: bool = False


def document_hash(kind: str, number: str, *, secret: str | None = None) -> str:
    """The lookup hash of a normalised document number (resident IDs and others apart)."""
    return crypto.lookup_hash(number, kind="id" if kind == "resident" else f"doc:{kind}",  # type: ignore[return-value]
                              secret=secret)


def seal_document(kind: str, number: str, *, today: dt.date | None = None) -> SealedDocument:
    """Validate a document number (GB 11643 for resident IDs) and seal it."""
    if kind not in ID_KINDS:
        raise InvalidInput(f"证件类型 {kind!r} 无效", f"Unknown document kind {kind!r}",
                           allowed=list(ID_KINDS))
    if kind == "resident":
        cid = parse_citizen_id(number, today=today)
        return SealedDocument(kind, crypto.encrypt(cid.number, kind="id"), document_hash(kind, cid.number),  # type: ignore[arg-type]
                              mask_id(cid.number), cid.birth_date, cid.gender, cid.upgraded)  # type: ignore[arg-type]
    value = re.sub(r"\s+", "", number or "").upper()
    if not 5 <= len(value) <= 30 or not re.fullmatch(r"[0-9A-Z\-]+", value):
        raise InvalidInput("证件号码格式不正确（5–30位字母或数字）",
                           "The document number is malformed (5–30 letters or digits)")
    return SealedDocument(kind, crypto.encrypt(value, kind="id"), document_hash(kind, value), mask_id(value))  # type: ignore[arg-type]


@dataclass(frozen=True)
class SealedPhone:
    cipher: bytes | None
    hash: str | None
    masked: str | None


def seal_phone(raw: str | None) -> SealedPhone:
    """A phone number normalised and sealed (all None for an empty phone)."""
    phone = normalise_phone(raw)
    if phone is None:
        return SealedPhone(None, None, None)
    return SealedPhone(crypto.encrypt(phone, kind="phone"), crypto.lookup_hash(phone, kind="phone"), mask_phone(phone))


def _choice(value: str | None, choices: dict[str, tuple[str, str]], zh: str, en: str) -> None:
    if value is not None and value not in choices:
        raise InvalidInput(
            f"{zh} {value!r} 无效，可选：{'、'.join(f'{k}（{v[0]}）' for k, v in choices.items())}",
            f"{en} {value!r} is invalid; use one of: {', '.join(choices)}",
        )


# --------------------------------------------------------------------------------------
# Location: every record belongs to a region of the actor's area
# --------------------------------------------------------------------------------------


def locate(*, session: Session, actor: User, where: Located) -> tuple[Region, Region | None]:
    """The region (and grid, if it is one) a new record belongs to, inside the actor's area."""
    region: Region | None = None
    if where.region_code:
        region = session.scalar(select(Region).where(Region.code == where.region_code.strip()))
        if region is None or not region.path.startswith(actor.scope_path):
            raise InvalidInput(f"区域编码 {where.region_code} 不存在或不在您的管辖范围内",
                               f"Region code {where.region_code} does not exist or is outside your area")
    elif where.lat is not None and where.lon is not None:
        found = locate_point(session=session, lon=where.lon, lat=where.lat)
        region = session.get(Region, found.grid_id) if found.grid_id is not None else None
        if region is None:
            raise InvalidInput("该位置不在任何网格内", "That position is not inside any grid")
        if not region.path.startswith(actor.scope_path):
            raise InvalidInput("该位置不在您的管辖范围内", "That position is outside your area")
    else:
        raise InvalidInput("请填写所属网格编码或经纬度", "Give the grid code or a position (lat/lon)")
    grid = region if region.level in GRID_LEVELS else None
    return region, grid


def _place(obj: Any, region: Region, grid: Region | None) -> None:
    obj.region_id, obj.region_path, obj.grid_id = region.id, region.path, grid.id if grid else None


# --------------------------------------------------------------------------------------
# Persons
# --------------------------------------------------------------------------------------


def person_read(person: Person) -> PersonRead:
    """The API shape of a person: identifiers masked, always."""
    return PersonRead(
        id=person.id, name=person.name, id_kind=person.id_kind, id_number=person.id_masked,
        birth_date=person.birth_date, gender=person.gender, phone=person.phone_masked,
        population_type=person.population_type, ethnicity=person.ethnicity, address=person.address,
        household_id=person.household_id, relation_to_head=person.relation_to_head, house_id=person.house_id,
        work_unit=person.work_unit, notes=person.notes, region_id=person.region_id,
        region_path=person.region_path, grid_id=person.grid_id, under_care=person.under_care,
        provenance=person.provenance or {}, created_at=person.created_at, updated_at=person.updated_at,
    )


def audit_view(person: Person) -> dict[str, Any]:
    """What an audit entry keeps of a person: no identifier in clear, not even masked ones."""
    return {"name": person.name, "region_path": person.region_path, "population_type": person.population_type,
            "address": person.address, "work_unit": person.work_unit, "household_id": person.household_id,
            "has_id": person.id_hash is not None, "has_phone": person.phone_hash is not None}


def visible_persons(actor: User) -> Select:
    """``select(Person)`` limited to the actor's area."""
    return select(Person).where(access.scope(Person.region_path, actor), Person.active.is_(True))


def get_person(*, session: Session, actor: User, person_id: int) -> Person:
    """One person in the actor's area, or NotFound (also for ids outside it)."""
    access.require(actor, "read")
    person = session.scalar(visible_persons(actor).where(Person.id == person_id))
    if person is None:
        raise not_found("人员档案", "Person", person_id)
    return person


def open_profile(*, session: Session, actor: User, origin: Origin, person_id: int) -> Person:
    """A person for the profile page or API detail: reading a whole record is logged (access audit)."""
    person = get_person(session=session, actor=actor, person_id=person_id)
    record(session=session, actor=actor, origin=origin, entity="person", entity_id=person.id, action="view")
    return person


def find_by_document(*, session: Session, kind: str, number: str) -> Person | None:
    """The person holding this document, anywhere (for matching; callers apply scope)."""
    if kind == "resident":
        number = parse_citizen_id(number).number
    else:
        number = re.sub(r"\s+", "", number).upper()
    return session.scalar(select(Person).where(Person.id_hash == document_hash(kind, number)))


def _household(session: Session, actor: User, origin: Origin, number: str, region: Region,
               grid: Region | None, address: str) -> Household:
    household = session.scalar(select(Household).where(Household.number == number))
    if household is not None:
        if not household.region_path.startswith(actor.scope_path):
            raise InvalidInput(f"户号 {number} 已在其他辖区登记", f"Household {number} belongs to another area")
        return household
    household = Household(number=number, address=address)
    _place(household, region, grid)
    session.add(household)
    session.flush()
    record(session=session, actor=actor, origin=origin, entity="household", entity_id=household.id,
           action="create", after={"number": number, "region_path": region.path})
    return household


def _stamp(fields: list[str], source: str, at: dt.date) -> dict[str, Any]:
    return {f: {"source": source, "at": at.isoformat()} for f in fields}


def create_person(*, session: Session, actor: User, origin: Origin, data: PersonCreate,
                  source: str | None = None) -> Person:
    """Register a person (one record per document number), located to a grid in the actor's area."""
    access.require(actor, "write")
    _choice(data.population_type, POPULATION_TYPES, "人口类型", "Population type")
    _choice(data.relation_to_head, RELATIONS, "与户主关系", "Relation to head")
    region, grid = locate(session=session, actor=actor, where=data)
    person = Person(name=data.name.strip(), population_type=data.population_type, ethnicity=data.ethnicity,
                    address=data.address, work_unit=data.work_unit, notes=data.notes,
                    relation_to_head=data.relation_to_head, provenance={})
    if data.id_number:
        doc = seal_document(data.id_kind, data.id_number)
        existing = session.execute(select(Person.id, Person.region_path).where(Person.id_hash == doc.hash)).first()
        if existing is not None:
            # One person, one record: say where it is if the actor may see it.
            if existing.region_path.startswith(actor.scope_path):
                raise Conflict(f"该证件号码已登记，档案编号 {existing.id}",
                               f"This document number is already registered as person {existing.id}",
                               person_id=existing.id)
            raise Conflict("该证件号码已在其他辖区登记，请联系上级综治中心迁移档案",
                           "This document number is registered in another area; ask the centre above to move it")
        person.id_kind, person.id_cipher, person.id_hash, person.id_masked = doc.kind, doc.cipher, doc.hash, doc.masked
        person.birth_date, person.gender = doc.birth_date or data.birth_date, doc.gender or data.gender
    else:
        person.birth_date, person.gender = data.birth_date, data.gender
    phone = seal_phone(data.phone)
    person.phone_cipher, person.phone_hash, person.phone_masked = phone.cipher, phone.hash, phone.masked
    _place(person, region, grid)
    if data.household_number:
        household = _household(session, actor, origin, data.household_number.strip(), region, grid, data.address)
        person.household_id = household.id
    if data.house_id is not None:
        get_record(session=session, actor=actor, kind="house", record_id=data.house_id)
        person.house_id = data.house_id
    stamped = [f for f in TRACKED if f != "household" or data.household_number]
    person.provenance = _stamp(stamped, source or f"登记:{actor.username}", dt.date.today())
    session.add(person)
    session.flush()
    if data.household_number and data.relation_to_head == "head":
        household = session.get(Household, person.household_id)
        if household is not None and household.head_person_id is None:
            household.head_person_id = person.id
    record(session=session, actor=actor, origin=origin, entity="person", entity_id=person.id, action="create",
           after=audit_view(person))
    return person


def update_person(*, session: Session, actor: User, origin: Origin, person_id: int, data: PersonUpdate) -> Person:
    """Correct a person's base data (identity fields excepted); provenance says who and when."""
    access.require(actor, "write")
    person = get_person(session=session, actor=actor, person_id=person_id)
    before = audit_view(person)
    changes = data.model_dump(exclude_unset=True)
    _choice(changes.get("population_type"), POPULATION_TYPES, "人口类型", "Population type")
    provenance = dict(person.provenance or {})
    stamp = {"source": f"登记:{actor.username}", "at": dt.date.today().isoformat()}
    for key, value in changes.items():
        if key == "phone":
            phone = seal_phone(value)
            if phone.hash != person.phone_hash:
                person.phone_cipher, person.phone_hash, person.phone_masked = phone.cipher, phone.hash, phone.masked
                provenance["phone"] = stamp
        elif key == "house_id":
            if value is not None:
                get_record(session=session, actor=actor, kind="house", record_id=value)
            person.house_id = value
        elif value is not None and getattr(person, key) != value:
            setattr(person, key, value)
            if key in TRACKED:
                provenance[key] = stamp
    person.provenance = provenance
    session.flush()
    record(session=session, actor=actor, origin=origin, entity="person", entity_id=person.id, action="update",
           before=before, after=audit_view(person))
    return person


def reveal(*, session: Session, actor: User, origin: Origin, person_id: int, field: str, reason: str) -> tuple[str | None, int]:
    """An ID number or phone in clear, for a stated reason; refused without permission; always audited."""
    access.require(actor, "unmask")
    if field not in ("id_number", "phone"):
        raise InvalidInput(f"字段 {field!r} 不能解除遮蔽", f"Field {field!r} cannot be unmasked")
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise InvalidInput("查看完整信息须填写事由（至少4个字）", "State a reason (at least 4 characters) to see this in clear")
    person = get_person(session=session, actor=actor, person_id=person_id)
    if field == "id_number":
        value = crypto.decrypt(person.id_cipher, kind="id")
    else:
        value = crypto.decrypt(person.phone_cipher, kind="phone")
    entry = record(session=session, actor=actor, origin=origin, entity="person", entity_id=person.id,
                   action="unmask", note=reason, after={"field": field})
    session.flush()
    return value, entry.id


@dataclass
class PersonQuery:
    """Filters of a person list (the same for the API, the page and the export)."""

    q: str | None = None
    region_id: int | None = None
    population_type: str | None = None
    under_care: bool | None = None
    household_id: int | None = None


_ID_LIKE = re.compile(r"^\d{15}$|^\d{17}[\dXx]$")
_PHONE_LIKE = re.compile(r"^\+?\d{7,15}$")


def person_query(*, session: Session, actor: User, query: PersonQuery) -> Select:
    """The scoped, filtered ``select(Person)`` behind lists, searches and exports.

    ``q`` is read as a full ID number (keyed-hash lookup), a full phone number (likewise),
    or else the start of a name — all index lookups.
    """
    access.require(actor, "read")
    stmt = visible_persons(actor)
    q = (query.q or "").strip()
    if q:
        if _ID_LIKE.match(q):
            try:
                number = parse_citizen_id(q).number
            except InvalidInput:
                number = q.upper()
            stmt = stmt.where(Person.id_hash == document_hash("resident", number))
        elif _PHONE_LIKE.match(q.replace(" ", "")):
            phone = normalise_phone(q)
            stmt = stmt.where(Person.phone_hash == crypto.lookup_hash(phone, kind="phone"))
        else:
            stmt = stmt.where(name_prefix(session, q))
    if query.region_id is not None:
        region = session.get(Region, query.region_id)
        if region is None:
            raise not_found("区域", "Region", query.region_id)
        stmt = stmt.where(access.scope(Person.region_path, _as_scope(actor, region.path)))
    if query.population_type:
        stmt = stmt.where(Person.population_type == query.population_type)
    if query.under_care is not None:
        stmt = stmt.where(Person.under_care.is_(query.under_care))
    if query.household_id is not None:
        stmt = stmt.where(Person.household_id == query.household_id)
    return stmt


def name_prefix(session: Session, q: str):
    """``name`` starts with ``q``, written so that each database uses its name index."""
    if session.get_bind().dialect.name == "sqlite":
        # SQLite's LIKE ignores case and skips the index; a binary range uses it.
        return (Person.name >= q) & (Person.name < q + "\U0010ffff")
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return Person.name.like(escaped + "%", escape="\\")


class _as_scope:
    """A stand-in actor whose scope is another path (to reuse ``access.scope`` for a region filter)."""

    def __init__(self, actor: User, path: str) -> None:
        self.role = actor.role
        self.scope_path = path


TOTAL_CAP = 10_000


def search_persons(*, session: Session, actor: User, query: PersonQuery, limit: int = 20, offset: int = 0,
                   with_total: bool = True) -> tuple[list[Person], int | None]:
    """A page of persons matching ``query`` in the actor's area, and the total (counted up to TOTAL_CAP).

    Counting a city of millions on every keystroke would cost more than the page itself; the
    count stops at ``TOTAL_CAP`` (pages show "10,000+").
    """
    limit = max(1, min(limit, 200))
    stmt = person_query(session=session, actor=actor, query=query)
    order = (Person.name, Person.id) if query.q and not _ID_LIKE.match(query.q.strip()) else (Person.id.desc(),)
    rows = list(session.scalars(stmt.order_by(*order).limit(limit).offset(max(0, offset))))
    total = None
    if with_total:
        capped = stmt.with_only_columns(Person.id).order_by(None).limit(TOTAL_CAP).subquery()
        total = session.scalar(select(func.count()).select_from(capped))
    return rows, total


# --------------------------------------------------------------------------------------
# Households, buildings, houses, tenancies, places, organisations, things
# --------------------------------------------------------------------------------------

RECORD_MODELS: dict[str, Any] = {
    "household": Household, "building": Building, "house": House, "place": Place,
    "organisation": Organisation, "thing": Thing,
}
RECORD_LABELS = {
    "household": ("户", "Household"), "building": ("楼栋", "Building"), "house": ("房屋", "House"),
    "place": ("场所", "Place"), "organisation": ("组织", "Organisation"), "thing": ("部件", "Facility"),
}
# Columns never shown as they are (sealed identifiers).
_HIDDEN = {"contact_phone_cipher", "phone_cipher", "id_cipher"}


def record_fields(obj: Any) -> dict[str, Any]:
    """A record's columns for reading, ciphertext left out (masked forms stay)."""
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns if c.key not in _HIDDEN}


def get_record(*, session: Session, actor: User, kind: str, record_id: int) -> Any:
    """One household/building/house/place/organisation/thing in the actor's area, or NotFound."""
    access.require(actor, "read")
    model = RECORD_MODELS.get(kind)
    if model is None:
        raise not_found("记录类型", "Record kind", kind)
    obj = session.scalar(select(model).where(model.id == record_id, access.scope(model.region_path, actor)))
    if obj is None:
        zh, en = RECORD_LABELS[kind]
        raise not_found(zh, en, record_id)
    return obj


def list_records(*, session: Session, actor: User, kind: str, q: str | None = None, region_id: int | None = None,
                 sub_kind: str | None = None, limit: int = 50, offset: int = 0) -> list[Any]:
    """Records of one kind in the actor's area (optionally by name/address text, region or sub-kind)."""
    access.require(actor, "read")
    model = RECORD_MODELS.get(kind)
    if model is None:
        raise not_found("记录类型", "Record kind", kind)
    stmt = select(model).where(access.scope(model.region_path, actor))
    if region_id is not None:
        region = session.get(Region, region_id)
        if region is None:
            raise not_found("区域", "Region", region_id)
        stmt = stmt.where(access.scope(model.region_path, _as_scope(actor, region.path)))
    if q:
        text = f"%{q.strip()}%"
        columns = [getattr(model, c) for c in ("name", "address", "number", "code") if hasattr(model, c)]
        stmt = stmt.where(or_(*[c.like(text) for c in columns]))
    if sub_kind and hasattr(model, "kind"):
        stmt = stmt.where(model.kind == sub_kind)
    return list(session.scalars(stmt.order_by(model.id.desc()).limit(max(1, min(limit, 500))).offset(max(0, offset))))


def _create(session: Session, actor: User, origin: Origin, kind: str, obj: Any, where: Located) -> Any:
    access.require(actor, "write")
    region, grid = locate(session=session, actor=actor, where=where)
    _place(obj, region, grid)
    if hasattr(obj, "lat") and where.lat is not None and where.lon is not None:
        obj.lat, obj.lon = where.lat, where.lon
    session.add(obj)
    session.flush()
    record(session=session, actor=actor, origin=origin, entity=kind, entity_id=obj.id, action="create",
           after={k: v for k, v in record_fields(obj).items() if isinstance(v, (str, int, float, bool, type(None)))})
    return obj


def create_household(*, session: Session, actor: User, origin: Origin, data: HouseholdCreate) -> Household:
    """Register a household (户) by its number."""
    if session.scalar(select(Household.id).where(Household.number == data.number.strip())) is not None:
        raise Conflict(f"户号 {data.number} 已登记", f"Household number {data.number} is already registered")
    if data.house_id is not None:
        get_record(session=session, actor=actor, kind="house", record_id=data.house_id)
    obj = Household(number=data.number.strip(), address=data.address, house_id=data.house_id)
    return _create(session, actor, origin, "household", obj, data)


def set_household_head(*, session: Session, actor: User, origin: Origin, household_id: int, person_id: int,
                       previous_relation: str | None = None) -> Household:
    """Make a member the head of their household (户主); the former head takes ``previous_relation`` (else 其他)."""
    access.require(actor, "write")
    household = get_record(session=session, actor=actor, kind="household", record_id=household_id)
    person = get_person(session=session, actor=actor, person_id=person_id)
    if person.household_id != household.id:
        raise InvalidInput("户主须是本户成员", "The head must be a member of the household")
    _choice(previous_relation, RELATIONS, "原户主与新户主关系", "Former head's relation")
    if previous_relation == "head":
        raise InvalidInput("一户只能有一位户主：请为原户主选择其他关系",
                           "A household has one head: choose another relation for the former head")
    before = household.head_person_id
    former = None
    if before is not None and before != person.id:
        former = session.get(Person, before)
        if former is not None and former.household_id == household.id:
            former.relation_to_head = previous_relation or "other"
    household.head_person_id = person.id
    person.relation_to_head = "head"
    session.flush()
    record(session=session, actor=actor, origin=origin, entity="household", entity_id=household.id,
           action="set_head", before={"head_person_id": before},
           after={"head_person_id": person.id,
                  "former_head_relation": former.relation_to_head if former is not None else None})
    return household


def household_members(*, session: Session, actor: User, household_id: int) -> list[Person]:
    """The members of a household in the actor's area, the head first."""
    household = get_record(session=session, actor=actor, kind="household", record_id=household_id)
    members = list(session.scalars(visible_persons(actor).where(Person.household_id == household.id).order_by(Person.id)))
    return sorted(members, key=lambda p: (p.id != household.head_person_id, p.id))


def _stamp_household(person: Person, actor: User) -> None:
    provenance = dict(person.provenance or {})
    provenance["household"] = {"source": f"登记:{actor.username}", "at": dt.date.today().isoformat()}
    person.provenance = provenance


def add_household_member(*, session: Session, actor: User, origin: Origin, household_id: int, person_id: int,
                         relation: str) -> Person:
    """Put a person in a household with their relation to the head (or change a member's relation).

    A person belongs to one household: joining this one leaves the former (which loses its head if they
    were it). ``head`` is only for a household without a head; to change the head use ``set_household_head``.
    """
    access.require(actor, "write")
    household = get_record(session=session, actor=actor, kind="household", record_id=household_id)
    person = get_person(session=session, actor=actor, person_id=person_id)
    if not relation:
        raise InvalidInput("请选择与户主关系", "Choose the relation to the head")
    _choice(relation, RELATIONS, "与户主关系", "Relation to head")
    is_head = household.head_person_id == person.id
    if relation == "head" and household.head_person_id is not None and not is_head:
        raise InvalidInput("本户已有户主；请用“设为户主”更换户主", "The household has a head; use 'make head' to change it")
    if is_head and relation != "head":
        raise InvalidInput("户主的关系不能直接修改；请先把另一位成员设为户主",
                           "The head's relation cannot be changed here; make another member the head first")
    former_id = person.household_id
    before = {"household_id": former_id, "relation": person.relation_to_head}
    if former_id is not None and former_id != household.id:
        former = session.get(Household, former_id)
        if former is not None:
            if not access.path_in_scope(former.region_path, actor):
                raise InvalidInput("此人登记在其他辖区的户中，请联系该辖区迁出",
                                   "This person belongs to a household of another area; ask that area to move them")
            if former.head_person_id == person.id:
                former.head_person_id = None
            record(session=session, actor=actor, origin=origin, entity="household", entity_id=former.id,
                   action="remove_member", after={"person_id": person.id, "moved_to": household.id})
    person.household_id, person.relation_to_head = household.id, relation
    if relation == "head":
        household.head_person_id = person.id
    if former_id != household.id:
        _stamp_household(person, actor)
    session.flush()
    action = "add_member" if former_id != household.id else "member_relation"
    record(session=session, actor=actor, origin=origin, entity="household", entity_id=household.id, action=action,
           before=before, after={"person_id": person.id, "relation": relation})
    record(session=session, actor=actor, origin=origin, entity="person", entity_id=person.id, action="household",
           before=before, after={"household_id": household.id, "relation": relation})
    return person


def remove_household_member(*, session: Session, actor: User, origin: Origin, household_id: int,
                            person_id: int) -> Person:
    """Take a member out of a household (moved away, split off); a head leaves the household without one."""
    access.require(actor, "write")
    household = get_record(session=session, actor=actor, kind="household", record_id=household_id)
    person = get_person(session=session, actor=actor, person_id=person_id)
    if person.household_id != household.id:
        raise InvalidInput(f"{person.name} 不是本户成员", f"{person.name} is not a member of this household")
    before = {"household_id": household.id, "relation": person.relation_to_head}
    was_head = household.head_person_id == person.id
    if was_head:
        household.head_person_id = None
    person.household_id, person.relation_to_head = None, None
    _stamp_household(person, actor)
    session.flush()
    record(session=session, actor=actor, origin=origin, entity="household", entity_id=household.id,
           action="remove_member", before=before, after={"person_id": person.id, "was_head": was_head})
    record(session=session, actor=actor, origin=origin, entity="person", entity_id=person.id, action="household",
           before=before, after={"household_id": None, "relation": None})
    return person


def create_building(*, session: Session, actor: User, origin: Origin, data: BuildingCreate) -> Building:
    """Register a building (楼栋)."""
    obj = Building(name=data.name, address=data.address, floors=data.floors, units=data.units)
    return _create(session, actor, origin, "building", obj, data)


def create_house(*, session: Session, actor: User, origin: Origin, data: HouseCreate) -> House:
    """Register a house (房屋) with its use and owner."""
    _choice(data.use, HOUSE_USES, "房屋用途", "House use")
    if data.building_id is not None:
        get_record(session=session, actor=actor, kind="building", record_id=data.building_id)
    if data.owner_person_id is not None:
        get_person(session=session, actor=actor, person_id=data.owner_person_id)
    obj = House(address=data.address, building_id=data.building_id, unit_no=data.unit_no, room_no=data.room_no,
                use=data.use, area_m2=data.area_m2, owner_person_id=data.owner_person_id)
    return _create(session, actor, origin, "house", obj, data)


def add_tenancy(*, session: Session, actor: User, origin: Origin, house_id: int, data: TenancyCreate) -> Tenancy:
    """Register a tenant of a rented house (出租房屋登记) from a date."""
    access.require(actor, "write")
    house = get_record(session=session, actor=actor, kind="house", record_id=house_id)
    if house.use != "rented":
        raise InvalidInput("只有用途为“出租”的房屋才能登记租户", "Only a house used as 'rented' takes tenants")
    get_person(session=session, actor=actor, person_id=data.person_id)
    if data.end_date is not None and data.end_date < data.start_date:
        raise InvalidInput("租住结束日期早于开始日期", "The tenancy ends before it starts")
    tenancy = Tenancy(house_id=house.id, person_id=data.person_id, start_date=data.start_date,
                      end_date=data.end_date, note=data.note)
    session.add(tenancy)
    session.flush()
    record(session=session, actor=actor, origin=origin, entity="house", entity_id=house.id, action="add_tenant",
           after={"tenancy_id": tenancy.id, "person_id": data.person_id, "start": data.start_date.isoformat(),
                  "end": data.end_date.isoformat() if data.end_date else None})
    return tenancy


def tenancies(*, session: Session, actor: User, house_id: int) -> list[Tenancy]:
    """The tenancies of a house, newest first."""
    get_record(session=session, actor=actor, kind="house", record_id=house_id)
    return list(session.scalars(select(Tenancy).where(Tenancy.house_id == house_id).order_by(Tenancy.start_date.desc())))


def create_place(*, session: Session, actor: User, origin: Origin, data: PlaceCreate) -> Place:
    """Register a place (场所) with its person in charge."""
    _choice(data.kind, PLACE_KINDS, "场所类型", "Place kind")
    if data.person_in_charge_id is not None:
        get_person(session=session, actor=actor, person_id=data.person_in_charge_id)
    if data.organisation_id is not None:
        get_record(session=session, actor=actor, kind="organisation", record_id=data.organisation_id)
    phone = seal_phone(data.contact_phone)
    obj = Place(name=data.name, kind=data.kind, address=data.address, person_in_charge_id=data.person_in_charge_id,
                contact_name=data.contact_name, contact_phone_cipher=phone.cipher,
                contact_phone_masked=phone.masked, organisation_id=data.organisation_id)
    return _create(session, actor, origin, "place", obj, data)


def inspect_place(*, session: Session, actor: User, origin: Origin, place_id: int, data: InspectionCreate) -> PlaceInspection:
    """Record an inspection of a place; its risk colour is recomputed."""
    access.require(actor, "write")
    place = get_record(session=session, actor=actor, kind="place", record_id=place_id)
    at = data.at or utcnow()
    if at.tzinfo is None:
        raise InvalidInput("检查时间须带时区", "The inspection time needs a time zone")
    inspection = PlaceInspection(place_id=place.id, at=at, inspector_id=actor.id, passed=data.passed,
                                 hazards=data.hazards, findings=data.findings)
    session.add(inspection)
    session.flush()
    record(session=session, actor=actor, origin=origin, entity="place", entity_id=place.id, action="inspect",
           after={"inspection_id": inspection.id, "passed": data.passed, "hazards": data.hazards})
    from civicgrid.people import risk

    risk.recompute(session=session, subject="place", subject_id=place.id, origin=origin)
    return inspection


def inspections(*, session: Session, actor: User, place_id: int) -> list[PlaceInspection]:
    """A place's inspections, newest first."""
    get_record(session=session, actor=actor, kind="place", record_id=place_id)
    return list(session.scalars(select(PlaceInspection).where(PlaceInspection.place_id == place_id)
                                .order_by(PlaceInspection.at.desc())))


def create_organisation(*, session: Session, actor: User, origin: Origin, data: OrganisationCreate) -> Organisation:
    """Register an organisation; a non-public economic one needs a valid USCC (GB 32100)."""
    _choice(data.kind, ORG_KINDS, "组织类型", "Organisation kind")
    code = parse_uscc(data.uscc) if data.uscc else None
    if data.kind == "non_public_economic" and code is None:
        raise InvalidInput("非公有制经济组织须填写统一社会信用代码",
                           "A non-public economic organisation needs its unified social credit code")
    if code and session.scalar(select(Organisation.id).where(Organisation.uscc == code)) is not None:
        raise Conflict(f"统一社会信用代码 {code} 已登记", f"Unified social credit code {code} is already registered")
    obj = Organisation(name=data.name, kind=data.kind, uscc=code, legal_representative=data.legal_representative,
                       address=data.address, members=data.members)
    return _create(session, actor, origin, "organisation", obj, data)


def create_thing(*, session: Session, actor: User, origin: Origin, data: ThingCreate) -> Thing:
    """Register a facility or camera (部件) with its owning unit."""
    _choice(data.kind, THING_KINDS, "部件类型", "Facility kind")
    if session.scalar(select(Thing.id).where(Thing.code == data.code.strip())) is not None:
        raise Conflict(f"部件编码 {data.code} 已登记", f"Facility code {data.code} is already registered")
    obj = Thing(code=data.code.strip(), kind=data.kind, name=data.name, unit_id=data.unit_id)
    return _create(session, actor, origin, "thing", obj, data)
