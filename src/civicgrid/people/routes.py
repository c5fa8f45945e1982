"""People API (/api/people, /api/base, /api/care, /api/risk) and the people pages: thin.

Every answer carries masked identifiers; the clear value is only given by
``POST /api/people/{id}/reveal`` with a reason, to roles that may, and is audited.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import FileResponse

from civicgrid.people import care, risk, service
from civicgrid.people.models import CARE_LEVELS, COLOUR_LABELS, Colour
from civicgrid.people.schemas import (
    BuildingCreate,
    CareChange,
    CareCreate,
    CareEnd,
    CaretakerCreate,
    CareTypeUpdate,
    CareTypeWrite,
    HouseCreate,
    HouseholdCreate,
    HouseholdMember,
    InspectionCreate,
    OrganisationCreate,
    PersonCreate,
    PersonPage,
    PersonRead,
    PersonUpdate,
    PlaceCreate,
    RecordRead,
    RevealRead,
    RevealRequest,
    RiskOverride,
    RiskRuleCreate,
    RiskRuleUpdate,
    TenancyCreate,
    ThingCreate,
    VisitCreate,
)
from civicgrid.web.deps import CurrentUser, OriginDep, SessionDep

api = APIRouter(tags=["people"])


# --------------------------------------------------------------------------------------
# Persons
# --------------------------------------------------------------------------------------


@api.post("/api/people", status_code=201, response_model=PersonRead, summary="Register a person")
def create_person(data: PersonCreate, session: SessionDep, user: CurrentUser, origin: OriginDep) -> PersonRead:
    """One record per document number; located to a grid of your area."""
    return service.person_read(service.create_person(session=session, actor=user, origin=origin, data=data))


@api.get("/api/people", response_model=PersonPage, summary="Search persons in your area")
def search_people(
    session: SessionDep, user: CurrentUser,
    q: Annotated[str | None, Query(max_length=40, description="Full ID number, full phone, or start of a name")] = None,
    region_id: int | None = None, population_type: str | None = Query(None, max_length=16),
    under_care: bool | None = None, household_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20, offset: Annotated[int, Query(ge=0)] = 0,
) -> PersonPage:
    """Masked results; scope is applied in the query."""
    query = service.PersonQuery(q=q, region_id=region_id, population_type=population_type, under_care=under_care,
                                household_id=household_id)
    rows, total = service.search_persons(session=session, actor=user, query=query, limit=limit, offset=offset)
    return PersonPage(items=[service.person_read(p) for p in rows], total=total, limit=limit, offset=offset)


@api.get("/api/people/{person_id}", response_model=PersonRead, summary="One person (access is logged)")
def read_person(person_id: int, session: SessionDep, user: CurrentUser, origin: OriginDep) -> PersonRead:
    """The record, masked; opening it leaves an access-audit entry."""
    return service.person_read(service.open_profile(session=session, actor=user, origin=origin, person_id=person_id))


@api.patch("/api/people/{person_id}", response_model=PersonRead, summary="Correct a person's base data")
def update_person(person_id: int, data: PersonUpdate, session: SessionDep, user: CurrentUser,
                  origin: OriginDep) -> PersonRead:
    """Identity fields are not editable here; provenance records who changed what."""
    return service.person_read(service.update_person(session=session, actor=user, origin=origin,
                                                     person_id=person_id, data=data))


@api.post("/api/people/{person_id}/reveal", response_model=RevealRead, summary="Unmask an ID number or phone")
def reveal(person_id: int, data: RevealRequest, session: SessionDep, user: CurrentUser, origin: OriginDep) -> RevealRead:
    """Needs the permission and a reason; writes an access-audit entry."""
    value, audit_id = service.reveal(session=session, actor=user, origin=origin, person_id=person_id,
                                     field=data.field, reason=data.reason)
    return RevealRead(field=data.field, value=value, audit_id=audit_id)


@api.post("/api/people/{person_id}/cases/{case_id}", status_code=201, summary="Link a person to a case")
def link_case(person_id: int, case_id: int, session: SessionDep, user: CurrentUser, origin: OriginDep,
              role: Annotated[str, Query(max_length=20)] = "involved") -> dict[str, Any]:
    """A person under care flags the case to their caretakers."""
    link = care.link_case_person(session=session, actor=user, origin=origin, case_id=case_id, person_id=person_id,
                                 role=role)
    return {"id": link.id, "case_id": link.case_id, "person_id": link.person_id, "role": link.role}


# --------------------------------------------------------------------------------------
# Households, buildings, houses, places, organisations, things
# --------------------------------------------------------------------------------------


def _read(kind: str, obj: Any) -> RecordRead:
    return RecordRead(id=obj.id, kind=kind, fields=service.record_fields(obj))


@api.post("/api/base/households", status_code=201, response_model=RecordRead, summary="Register a household")
def create_household(data: HouseholdCreate, session: SessionDep, user: CurrentUser, origin: OriginDep) -> RecordRead:
    return _read("household", service.create_household(session=session, actor=user, origin=origin, data=data))


@api.post("/api/base/households/{household_id}/head/{person_id}", response_model=RecordRead,
          summary="Set the head of a household")
def set_head(household_id: int, person_id: int, session: SessionDep, user: CurrentUser, origin: OriginDep,
             previous_relation: Annotated[str | None, Query(max_length=12,
                                                            description="The former head's relation (default other)")]
             = None) -> RecordRead:
    return _read("household", service.set_household_head(session=session, actor=user, origin=origin,
                                                          household_id=household_id, person_id=person_id,
                                                          previous_relation=previous_relation))


@api.get("/api/base/households/{household_id}/members", response_model=list[PersonRead],
         summary="The members of a household (masked)")
def household_members(household_id: int, session: SessionDep, user: CurrentUser) -> list[PersonRead]:
    return [service.person_read(p) for p in service.household_members(session=session, actor=user,
                                                                       household_id=household_id)]


@api.put("/api/base/households/{household_id}/members/{person_id}", response_model=PersonRead,
         summary="Add a member with their relation (or change it)")
def put_household_member(household_id: int, person_id: int, data: HouseholdMember, session: SessionDep,
                         user: CurrentUser, origin: OriginDep) -> PersonRead:
    """Joining this household leaves the former one."""
    return service.person_read(service.add_household_member(session=session, actor=user, origin=origin,
                                                            household_id=household_id, person_id=person_id,
                                                            relation=data.relation))


@api.delete("/api/base/households/{household_id}/members/{person_id}", response_model=PersonRead,
            summary="Take a member out of a household")
def delete_household_member(household_id: int, person_id: int, session: SessionDep, user: CurrentUser,
                            origin: OriginDep) -> PersonRead:
    return service.person_read(service.remove_household_member(session=session, actor=user, origin=origin,
                                                               household_id=household_id, person_id=person_id))


@api.post("/api/base/buildings", status_code=201, response_model=RecordRead, summary="Register a building")
def create_building(data: BuildingCreate, session: SessionDep, user: CurrentUser, origin: OriginDep) -> RecordRead:
    return _read("building", service.create_building(session=session, actor=user, origin=origin, data=data))


@api.post("/api/base/houses", status_code=201, response_model=RecordRead, summary="Register a house")
def create_house(data: HouseCreate, session: SessionDep, user: CurrentUser, origin: OriginDep) -> RecordRead:
    return _read("house", service.create_house(session=session, actor=user, origin=origin, data=data))


@api.post("/api/base/houses/{house_id}/tenancies", status_code=201, summary="Register a tenant (出租房屋)")
def add_tenancy(house_id: int, data: TenancyCreate, session: SessionDep, user: CurrentUser,
                origin: OriginDep) -> dict[str, Any]:
    tenancy = service.add_tenancy(session=session, actor=user, origin=origin, house_id=house_id, data=data)
    risk.recompute(session=session, subject="house", subject_id=house_id, origin=origin)
    return {"id": tenancy.id, "house_id": house_id, "person_id": tenancy.person_id,
            "start_date": tenancy.start_date, "end_date": tenancy.end_date}


@api.post("/api/base/places", status_code=201, response_model=RecordRead, summary="Register a place")
def create_place(data: PlaceCreate, session: SessionDep, user: CurrentUser, origin: OriginDep) -> RecordRead:
    return _read("place", service.create_place(session=session, actor=user, origin=origin, data=data))


@api.post("/api/base/places/{place_id}/inspections", status_code=201, summary="Record an inspection")
def inspect_place(place_id: int, data: InspectionCreate, session: SessionDep, user: CurrentUser,
                  origin: OriginDep) -> dict[str, Any]:
    inspection = service.inspect_place(session=session, actor=user, origin=origin, place_id=place_id, data=data)
    return {"id": inspection.id, "place_id": place_id, "passed": inspection.passed, "hazards": inspection.hazards,
            "at": inspection.at}


@api.post("/api/base/organisations", status_code=201, response_model=RecordRead, summary="Register an organisation")
def create_organisation(data: OrganisationCreate, session: SessionDep, user: CurrentUser,
                        origin: OriginDep) -> RecordRead:
    return _read("organisation", service.create_organisation(session=session, actor=user, origin=origin, data=data))


@api.post("/api/base/things", status_code=201, response_model=RecordRead, summary="Register a facility or camera")
def create_thing(data: ThingCreate, session: SessionDep, user: CurrentUser, origin: OriginDep) -> RecordRead:
    return _read("thing", service.create_thing(session=session, actor=user, origin=origin, data=data))


@api.get("/api/base/{kind}", response_model=list[RecordRead], summary="List records of one kind in your area")
def list_records(kind: str, session: SessionDep, user: CurrentUser,
                 q: Annotated[str | None, Query(max_length=60)] = None, region_id: int | None = None,
                 sub_kind: Annotated[str | None, Query(max_length=24)] = None,
                 limit: Annotated[int, Query(ge=1, le=500)] = 50,
                 offset: Annotated[int, Query(ge=0)] = 0) -> list[RecordRead]:
    singular = kind[:-1] if kind.endswith("s") else kind
    return [_read(singular, o) for o in service.list_records(session=session, actor=user, kind=singular, q=q,
                                                             region_id=region_id, sub_kind=sub_kind,
                                                             limit=limit, offset=offset)]


@api.get("/api/base/{kind}/{record_id}", response_model=RecordRead, summary="One record")
def read_record(kind: str, record_id: int, session: SessionDep, user: CurrentUser) -> RecordRead:
    singular = kind[:-1] if kind.endswith("s") else kind
    return _read(singular, service.get_record(session=session, actor=user, kind=singular, record_id=record_id))


# --------------------------------------------------------------------------------------
# People under care
# --------------------------------------------------------------------------------------


def care_dict(record: Any, person: Any = None) -> dict[str, Any]:
    """The API shape of a care record (and its person, masked)."""
    out = {c.key: getattr(record, c.key) for c in record.__table__.columns}
    out["level_label"] = CARE_LEVELS.get(record.level)
    out["colour_label"] = COLOUR_LABELS.get(Colour(record.colour))
    if person is not None:
        out["person"] = service.person_read(person).model_dump()
    return out


def care_type_dict(t: Any) -> dict[str, Any]:
    return {"code": t.code, "name_zh": t.name_zh, "name_en": t.name_en, "parent_code": t.parent_code,
            "visit_days": t.visit_days, "sort": t.sort, "active": t.active}


@api.get("/api/care/types", summary="Care types (configurable)")
def list_care_types(session: SessionDep, user: CurrentUser,
                    include_inactive: Annotated[bool, Query(description="Also the deactivated ones")] = False
                    ) -> list[dict[str, Any]]:
    types = care.all_care_types(session=session) if include_inactive else care.care_types(session=session)
    return [care_type_dict(t) for t in types]


@api.post("/api/care/types", status_code=201, summary="Add a care type (administrators)")
def create_care_type(data: CareTypeWrite, session: SessionDep, user: CurrentUser, origin: OriginDep) -> dict[str, Any]:
    return care_type_dict(care.create_care_type(session=session, actor=user, origin=origin, data=data))


@api.patch("/api/care/types/{code}", summary="Change a care type or its visit schedule (administrators)")
def update_care_type(code: str, data: CareTypeUpdate, session: SessionDep, user: CurrentUser,
                     origin: OriginDep) -> dict[str, Any]:
    """A changed schedule re-plans the next visit of every active record of the type."""
    return care_type_dict(care.update_care_type(session=session, actor=user, origin=origin, code=code, data=data))


@api.get("/api/care", summary="People under care in your area")
def list_care(session: SessionDep, user: CurrentUser, type_code: Annotated[str | None, Query(max_length=30)] = None,
              colour: Annotated[str | None, Query(max_length=8)] = None, overdue: bool | None = None,
              mine: bool = False, active: bool = True, limit: Annotated[int, Query(ge=1, le=500)] = 50,
              offset: Annotated[int, Query(ge=0)] = 0) -> list[dict[str, Any]]:
    query = care.CareQuery(type_code=type_code, colour=colour, overdue=overdue, mine=mine, active=active)
    return [care_dict(c, p) for c, p in care.list_care(session=session, actor=user, query=query, limit=limit,
                                                       offset=offset)]


@api.post("/api/people/{person_id}/care", status_code=201, summary="Put a person under care")
def start_care(person_id: int, data: CareCreate, session: SessionDep, user: CurrentUser,
               origin: OriginDep) -> dict[str, Any]:
    return care_dict(care.start_care(session=session, actor=user, origin=origin, person_id=person_id, data=data))


@api.get("/api/care/{care_id}", summary="One care record with caretakers and visits")
def read_care(care_id: int, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    record = care.get_care(session=session, actor=user, care_id=care_id)
    out = care_dict(record)
    out["caretakers"] = [{"id": c.id, "kind": c.kind, "user_id": c.user_id, "name": c.name, "phone": c.phone_masked,
                          "is_primary": c.is_primary} for c in care.caretakers(session=session, care_id=care_id)]
    photos = care.visit_photos(session=session, actor=user, care_id=care_id)
    out["visits"] = [{"id": v.id, "at": v.at, "visitor": v.visitor_name, "place": v.place, "lat": v.lat, "lon": v.lon,
                      "findings": v.findings, "next_step": v.next_step, "late": v.late,
                      "photos": [photo_dict(p) for p in photos.get(v.id, [])]}
                     for v in care.visits(session=session, care_id=care_id)]
    return out


def photo_dict(photo: Any) -> dict[str, Any]:
    """A visit photo's metadata and the (scoped, audited) address of its file."""
    return {"id": photo.id, "visit_id": photo.visit_id, "filename": photo.filename, "content_type": photo.content_type,
            "size": photo.size, "at": photo.at, "url": f"/api/care/photos/{photo.id}/file"}


@api.post("/api/care/{care_id}/level", summary="Change the care level")
def change_level(care_id: int, data: CareChange, session: SessionDep, user: CurrentUser,
                 origin: OriginDep) -> dict[str, Any]:
    return care_dict(care.change_level(session=session, actor=user, origin=origin, care_id=care_id, data=data))


@api.post("/api/care/{care_id}/end", summary="End care")
def end_care(care_id: int, data: CareEnd, session: SessionDep, user: CurrentUser, origin: OriginDep) -> dict[str, Any]:
    return care_dict(care.end_care(session=session, actor=user, origin=origin, care_id=care_id, data=data))


@api.post("/api/care/{care_id}/caretakers", status_code=201, summary="Assign a caretaker")
def add_caretaker(care_id: int, data: CaretakerCreate, session: SessionDep, user: CurrentUser,
                  origin: OriginDep) -> dict[str, Any]:
    c = care.add_caretaker(session=session, actor=user, origin=origin, care_id=care_id, data=data)
    return {"id": c.id, "kind": c.kind, "user_id": c.user_id, "name": c.name, "phone": c.phone_masked,
            "is_primary": c.is_primary}


@api.delete("/api/care/caretakers/{caretaker_id}", status_code=204, summary="Relieve a caretaker")
def remove_caretaker(caretaker_id: int, session: SessionDep, user: CurrentUser, origin: OriginDep) -> None:
    care.remove_caretaker(session=session, actor=user, origin=origin, caretaker_id=caretaker_id)


@api.post("/api/care/{care_id}/visits", status_code=201, summary="Log a visit")
def log_visit(care_id: int, data: VisitCreate, session: SessionDep, user: CurrentUser,
              origin: OriginDep) -> dict[str, Any]:
    v = care.log_visit(session=session, actor=user, origin=origin, care_id=care_id, data=data)
    record = care.get_care(session=session, actor=user, care_id=care_id)
    return {"id": v.id, "at": v.at, "late": v.late, "next_visit_due": record.next_visit_due, "colour": record.colour}


@api.post("/api/care/visits/{visit_id}/photos", status_code=201, summary="Attach photos to a visit")
def add_visit_photos(visit_id: int, session: SessionDep, user: CurrentUser, origin: OriginDep,
                     files: Annotated[list[UploadFile], File(description="JPEG, PNG or WebP, up to 10 MB each")]
                     ) -> list[dict[str, Any]]:
    """All or nothing: one refused photo refuses the request. Checked by content (magic numbers), not by name."""
    return [photo_dict(care.add_visit_photo(session=session, actor=user, origin=origin, visit_id=visit_id,
                                            filename=f.filename or "photo", content=read_upload(f)))
            for f in files]


@api.get("/api/care/photos/{photo_id}/file", response_class=FileResponse, summary="A visit photo (access is logged)")
def visit_photo_file(photo_id: int, session: SessionDep, user: CurrentUser, origin: OriginDep) -> FileResponse:
    """Scoped like the care record; every opening leaves an access-audit entry; never cached by shared caches."""
    photo, path = care.open_visit_photo(session=session, actor=user, origin=origin, photo_id=photo_id)
    return FileResponse(path, media_type=photo.content_type, filename=photo.filename, content_disposition_type="inline",
                        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


def read_upload(upload: UploadFile) -> bytes:
    """An uploaded file's bytes, read no further than one byte past the photo limit."""
    from civicgrid.events.attachments import MAX_BYTES

    return upload.file.read(MAX_BYTES + 1)


# --------------------------------------------------------------------------------------
# Five-colour risk
# --------------------------------------------------------------------------------------


def colour_dict(row: Any) -> dict[str, Any]:
    """A stored colour with its explanation and any override."""
    return {"subject": row.subject, "subject_id": row.subject_id, "colour": row.colour,
            "computed_colour": row.computed_colour, "explanation": row.explanation,
            "override_colour": row.override_colour, "override_reason": row.override_reason,
            "override_until": row.override_until, "computed_at": row.computed_at}


@api.get("/api/risk/grids", summary="Grids of your area coloured by risk (GeoJSON)")
def risk_grids(session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    return risk.grid_map(session=session, actor=user)


@api.get("/api/risk/{subject}/{subject_id}", summary="A subject's colour and why")
def risk_colour(subject: str, subject_id: int, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    return colour_dict(risk.colour_of(session=session, actor=user, subject=subject, subject_id=subject_id))


@api.post("/api/risk/{subject}/{subject_id}/override", summary="Set a colour by hand (audited)")
def risk_override(subject: str, subject_id: int, data: RiskOverride, session: SessionDep, user: CurrentUser,
                  origin: OriginDep) -> dict[str, Any]:
    return colour_dict(risk.override(session=session, actor=user, origin=origin, subject=subject,
                                     subject_id=subject_id, colour=data.colour, reason=data.reason, until=data.until))


def rule_dict(rule: Any) -> dict[str, Any]:
    return {"id": rule.id, "code": rule.code, "subject": rule.subject, "kind": rule.kind, "params": rule.params,
            "colour": rule.colour, "label_zh": rule.label_zh, "label_en": rule.label_en, "active": rule.active}


@api.get("/api/risk/rules", summary="The five-colour rules")
def list_risk_rules(session: SessionDep, user: CurrentUser,
                    subject: Annotated[str | None, Query(max_length=10)] = None) -> list[dict[str, Any]]:
    return [rule_dict(r) for r in risk.list_rules(session=session, actor=user, subject=subject)]


@api.post("/api/risk/rules", status_code=201, summary="Add a five-colour rule (administrators)")
def create_risk_rule(data: RiskRuleCreate, session: SessionDep, user: CurrentUser, origin: OriginDep) -> dict[str, Any]:
    return rule_dict(risk.create_rule(session=session, actor=user, origin=origin, data=data))


@api.patch("/api/risk/rules/{rule_id}", summary="Change a five-colour rule (administrators)")
def update_risk_rule(rule_id: int, data: RiskRuleUpdate, session: SessionDep, user: CurrentUser,
                     origin: OriginDep) -> dict[str, Any]:
    return rule_dict(risk.update_rule(session=session, actor=user, origin=origin, rule_id=rule_id, data=data))


@api.post("/api/risk/recompute", summary="Recompute every colour now (administrators)")
def recompute_risk(session: SessionDep, user: CurrentUser, origin: OriginDep) -> dict[str, int]:
    return risk.recompute_now(session=session, actor=user, origin=origin)


@api.delete("/api/risk/{subject}/{subject_id}/override", summary="Back to the computed colour (audited)")
def risk_clear(subject: str, subject_id: int, session: SessionDep, user: CurrentUser, origin: OriginDep,
               reason: Annotated[str, Query(min_length=2, max_length=300)] = "恢复规则计算结果") -> dict[str, Any]:
    return colour_dict(risk.clear_override(session=session, actor=user, origin=origin, subject=subject,
                                           subject_id=subject_id, reason=reason))


# --------------------------------------------------------------------------------------
# Import, review queue, export, templates
# --------------------------------------------------------------------------------------

import datetime as dt  # noqa: E402
import io  # noqa: E402

from fastapi import Form  # noqa: E402
from fastapi.responses import Response  # noqa: E402

from civicgrid.errors import InvalidInput  # noqa: E402
from civicgrid.people import importer  # noqa: E402
from civicgrid.people.schemas import ImportReportRead, ReviewDecision, ReviewRead  # noqa: E402
from civicgrid.settings import get_settings  # noqa: E402

io_api = APIRouter(tags=["people"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def report_read(report: importer.ImportReport, items: int = 1000) -> ImportReportRead:
    """The API shape of an import report (the first ``items`` rows)."""
    b = report.batch
    return ImportReportRead(
        batch_id=b.id, entity=b.entity, source=b.source, rows=b.rows, created=b.created, merged=b.merged,
        unchanged=b.unchanged, queued=b.queued, rejected=b.rejected, repeat_of_id=b.repeat_of_id,
        items=[{"row": r.row_no, "outcome": r.outcome, "record_id": r.record_id, "message_zh": r.zh,
                "message_en": r.en} for r in report.items[:items]],
    )


def check_upload(upload: UploadFile) -> None:
    """Refuse an upload that is too large before reading it."""
    limit = get_settings().people_import_max_bytes
    if upload.size is not None and upload.size > limit:
        raise InvalidInput(f"文件过大（上限 {limit // 1_000_000} MB）", f"The file is too large (limit {limit // 1_000_000} MB)")


@io_api.get("/api/people/import/template.{fmt}", summary="Download the person import template (csv or xlsx)")
def import_template(fmt: str, user: CurrentUser) -> Response:
    data = importer.template("person", fmt)
    media = "text/csv; charset=utf-8" if fmt == "csv" else XLSX
    return Response(data, media_type=media,
                    headers={"Content-Disposition": f"attachment; filename=person-template.{fmt}"})


@io_api.get("/api/base/import/{entity}/template.{fmt}", summary="Download an import template (csv or xlsx)")
def record_template(entity: str, fmt: str, user: CurrentUser) -> Response:
    """Templates for building, house, place, organisation, thing (and person)."""
    data = importer.template(entity, fmt)
    media = "text/csv; charset=utf-8" if fmt == "csv" else XLSX
    return Response(data, media_type=media,
                    headers={"Content-Disposition": f"attachment; filename={entity}-template.{fmt}"})


@io_api.post("/api/base/import/{entity}", response_model=ImportReportRead,
             summary="Import buildings, houses, places, organisations or things (CSV or Excel)")
def import_base(entity: str, session: SessionDep, user: CurrentUser, origin: OriginDep,
                file: Annotated[UploadFile, File()], source: Annotated[str, Form(min_length=1, max_length=60)]) -> ImportReportRead:
    """All or nothing per file; a record already registered (by its natural key) is unchanged."""
    check_upload(file)
    report = importer.import_records(session=session, actor=user, origin=origin, entity=entity, stream=file.file,
                                     filename=file.filename or "upload.csv", source=source)
    return report_read(report)


@io_api.post("/api/people/import", response_model=ImportReportRead, summary="Import persons (CSV or Excel)")
def import_people(session: SessionDep, user: CurrentUser, origin: OriginDep, file: Annotated[UploadFile, File()],
                  source: Annotated[str, Form(min_length=1, max_length=60)],
                  as_of: Annotated[dt.date | None, Form()] = None) -> ImportReportRead:
    """All or nothing per file; idempotent; per-row report."""
    check_upload(file)
    report = importer.import_persons(session=session, actor=user, origin=origin, stream=file.file,
                                     filename=file.filename or "upload.csv", source=source, as_of=as_of)
    return report_read(report)


@io_api.get("/api/people/review", response_model=list[ReviewRead], summary="The review queue of your area")
def review_queue(session: SessionDep, user: CurrentUser, status: Annotated[str, Query(pattern="^(open|merged|separate)$")] = "open",
                 limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Annotated[int, Query(ge=0)] = 0) -> list[ReviewRead]:
    return [review_read(i) for i in importer.review_queue(session=session, actor=user, status=status, limit=limit,
                                                          offset=offset)]


def review_read(item: Any) -> ReviewRead:
    """A review item without hashes (masked identifiers only)."""
    incoming = {k: v for k, v in (item.incoming or {}).items() if not k.endswith("_hash")}
    return ReviewRead(id=item.id, batch_id=item.batch_id, row_no=item.row_no, candidate_id=item.candidate_id,
                      score=item.score, reasons=item.reasons, incoming=incoming, status=item.status)


@io_api.post("/api/people/review/{item_id}", response_model=PersonRead, summary="Decide a review item")
def decide_review(item_id: int, data: ReviewDecision, session: SessionDep, user: CurrentUser,
                  origin: OriginDep) -> PersonRead:
    person = importer.resolve_review(session=session, actor=user, origin=origin, item_id=item_id,
                                     decision=data.decision, note=data.note)
    return service.person_read(person)


@io_api.get("/api/people/export.xlsx", summary="Export the filtered list to Excel (masked, audited)")
def export_people(session: SessionDep, user: CurrentUser, origin: OriginDep,
                  q: Annotated[str | None, Query(max_length=40)] = None, region_id: int | None = None,
                  population_type: Annotated[str | None, Query(max_length=16)] = None,
                  under_care: bool | None = None) -> Response:
    buffer = io.BytesIO()
    query = service.PersonQuery(q=q, region_id=region_id, population_type=population_type, under_care=under_care)
    importer.export_persons(session=session, actor=user, origin=origin, query=query, stream=buffer)
    return Response(buffer.getvalue(), media_type=XLSX,
                    headers={"Content-Disposition": "attachment; filename=persons.xlsx"})


# The missed-visit scan and the nightly colour pass are periodic jobs (civicgrid.jobs), run by the
# app's watcher and by `civicgrid scheduler run-once`.
router = APIRouter()
# Fixed paths (/api/people/review, /import, /export.xlsx) before /api/people/{person_id}.
router.include_router(io_api)
router.include_router(api)

# The people pages travel with the API (civicgrid.app mounts this module's router).
from civicgrid.people.pages import router as pages  # noqa: E402

router.include_router(pages)

# The administration pages for care types and five-colour rules (under /admin/people).
from civicgrid.people.config_pages import router as config_pages  # noqa: E402

router.include_router(config_pages)
