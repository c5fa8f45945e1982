"""People pages: person search, the one-page profile (一人一档), import and review queue, care lists,
the care record with visit entry, caretakers and colour.

Routes are thin: they parse the form, call the same services as the API (mutations inside
``attempt`` so a refusal rolls back alone), and hand the templates everything decided —
which forms this user may see, masked values, the colour and why. A clear ID number or
phone is shown only in the response to a reveal with a reason, never stored in the page.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import func, or_, select

from civicgrid.audit.models import AuditEntry
from civicgrid.auth.models import Role, User
from civicgrid.db import utcnow
from civicgrid.errors import InvalidInput
from civicgrid.people import access, care, importer, risk, service
from civicgrid.people.models import (
    CARE_LEVELS,
    CARETAKER_KINDS,
    COLOUR_HEX,
    COLOUR_LABELS,
    GENDERS,
    ID_KINDS,
    POPULATION_TYPES,
    RELATIONS,
    CareRecord,
    CareType,
    Colour,
    Household,
    ImportRow,
    Person,
    ReviewItem,
)
from civicgrid.people.schemas import (
    CareChange,
    CareCreate,
    CareEnd,
    CaretakerCreate,
    HouseholdCreate,
    PersonUpdate,
    VisitCreate,
)
from civicgrid.regions.models import Region
from civicgrid.web.deps import OriginDep, SessionDep
from civicgrid.web.i18n import request_lang
from civicgrid.web.pagekit import (
    FormValues,
    PageRoute,
    PageUser,
    attempt,
    error_list,
    error_text,
    invalid_form,
    page,
    parse_int,
    redirect,
    refusal_context,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 20

LABELS = {"population": POPULATION_TYPES, "gender": GENDERS, "id_kind": ID_KINDS, "relation": RELATIONS,
          "level": CARE_LEVELS, "caretaker": CARETAKER_KINDS, "outcome": importer.OUTCOMES}
HISTORY_LABELS = {
    "create": ("建档", "Record created"), "update": ("修改", "Edited"), "view": ("查阅档案", "Record opened"),
    "unmask": ("查看完整信息", "Unmasked"), "review_merge": ("人工核对：合并", "Review: merged"),
    "review_create": ("人工核对：另建档案", "Review: kept apart"), "start": ("纳入管控", "Care started"),
    "end": ("解除管控", "Care ended"), "level": ("调整管控等级", "Level changed"), "visit": ("走访", "Visit"),
    "add_caretaker": ("指定帮扶人", "Caretaker assigned"), "remove_caretaker": ("撤销帮扶人", "Caretaker relieved"),
    "visit_missed": ("走访逾期", "Visit missed"), "visit_photo": ("走访照片", "Visit photo"),
    "household": ("户籍变动", "Household changed"), "colour": ("风险颜色变化", "Colour changed"),
    "override": ("人工调整颜色", "Colour overridden"), "clear_override": ("恢复计算颜色", "Override cleared"),
}


def colour_view(colour: str | None) -> dict[str, Any]:
    """A colour as the templates draw it: value, label pair and hex."""
    c = Colour(colour or "green")
    return {"value": c.value, "label": COLOUR_LABELS[c], "hex": COLOUR_HEX[c]}


IMPORT_ENTITIES = {
    "person": ("人员", "Persons"), "building": ("楼栋", "Buildings"), "house": ("房屋", "Houses"),
    "place": ("场所", "Places"), "organisation": ("组织", "Organisations"), "thing": ("部件", "Facilities"),
}


def _flash(request: Request) -> str:
    return request.query_params.get("done", "")


# --------------------------------------------------------------------------------------
# Person search
# --------------------------------------------------------------------------------------


@router.get("/people")
def people_list(request: Request, session: SessionDep, user: PageUser) -> Response:
    """Search persons in one's area (masked), with links to import, review and export."""
    access.require(user, "read")
    params = request.query_params
    values = {k: params.get(k, "") for k in ("q", "population_type", "under_care", "page")}
    page_no = max(1, parse_int(values["page"]) or 1)
    query = service.PersonQuery(q=values["q"] or None, population_type=values["population_type"] or None,
                                under_care={"yes": True, "no": False}.get(values["under_care"]))
    rows, total = service.search_persons(session=session, actor=user, query=query, limit=PAGE_SIZE,
                                         offset=(page_no - 1) * PAGE_SIZE)
    regions = {r.id: r for r in session.scalars(select(Region).where(Region.id.in_({p.region_id for p in rows})))} if rows else {}
    export_query = "&".join(f"{k}={v}" for k, v in (("q", values["q"]), ("population_type", values["population_type"]))
                            if v)
    if values["under_care"] in ("yes", "no"):
        export_query += ("&" if export_query else "") + f"under_care={'true' if values['under_care'] == 'yes' else 'false'}"
    return page(request, "people/list.html", {
        "rows": rows, "total": total, "total_cap": service.TOTAL_CAP, "values": values, "regions": regions, "page_no": page_no,
        "has_next": (total or 0) > page_no * PAGE_SIZE, "populations": POPULATION_TYPES,
        "can_import": access.may(user, "import"), "can_review": access.may(user, "review"),
        "can_export": access.may(user, "export"), "export_query": export_query, "labels": LABELS,
        "open_reviews": _open_reviews(session, user),
    }, user=user, session=session, active="people")


def _open_reviews(session, user: User) -> int:
    if not access.may(user, "review"):
        return 0
    return session.scalar(select(func.count(ReviewItem.id)).where(ReviewItem.status == "open",
                                                                  access.scope(ReviewItem.region_path, user))) or 0


# --------------------------------------------------------------------------------------
# Import and review
# --------------------------------------------------------------------------------------


@router.get("/people/import")
def import_form(request: Request, session: SessionDep, user: PageUser) -> Response:
    """The upload form with the templates to download."""
    access.require(user, "import")
    batches = list(session.scalars(select(importer.ImportBatch).where(access.scope(importer.ImportBatch.region_path, user))
                                   .order_by(importer.ImportBatch.id.desc()).limit(10)))
    return page(request, "people/import.html", {"report": None, "batches": batches, "error": "", "error_items": [],
                                                "today": utcnow().date().isoformat(), "labels": LABELS,
                                                "entities": IMPORT_ENTITIES, "entity": "person"},
                user=user, session=session, active="people")


@router.post("/people/import")
def import_upload(request: Request, session: SessionDep, user: PageUser, origin: OriginDep,
                  file: UploadFile | None = None, source: Annotated[str, Form()] = "",
                  as_of_text: Annotated[str, Form(alias="as_of")] = "",
                  entity: Annotated[str, Form()] = "person") -> Response:
    """Run an import and show its per-row report."""
    access.require(user, "import")
    upload = file
    lang = request_lang(request)

    def call():
        if upload is None or not getattr(upload, "filename", None):
            raise InvalidInput("请选择要导入的文件", "Choose a file to import")
        from civicgrid.people.routes import check_upload

        check_upload(upload)
        try:
            as_of = dt.date.fromisoformat(as_of_text) if as_of_text else None
        except ValueError:
            raise InvalidInput("数据日期格式应为 YYYY-MM-DD", "The as-of date must be YYYY-MM-DD") from None
        if entity != "person":
            return importer.import_records(session=session, actor=user, origin=origin, entity=entity,
                                           stream=upload.file, filename=upload.filename, source=source)
        return importer.import_persons(session=session, actor=user, origin=origin, stream=upload.file,
                                       filename=upload.filename, source=source, as_of=as_of, keep_items=2000)

    report, error = attempt(session, call)
    batches = list(session.scalars(select(importer.ImportBatch).where(access.scope(importer.ImportBatch.region_path, user))
                                   .order_by(importer.ImportBatch.id.desc()).limit(10)))
    return page(request, "people/import.html", {
        "report": report, "batches": batches, "error": error_text(error, lang), "error_items": _import_errors(error, lang),
        "today": utcnow().date().isoformat(), "labels": LABELS, "entities": IMPORT_ENTITIES, "entity": entity,
    }, user=user, session=session, active="people", status_code=error.status if error else 200)


def _import_errors(error, lang: str) -> list[str]:
    if error is None:
        return []
    missing = error.extra.get("missing") or []
    return [str(m) for m in missing] or error_list(error, lang)


@router.get("/people/review")
def review_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    """The review queue: each uncertain match beside its candidate, to merge or keep apart."""
    items = importer.review_queue(session=session, actor=user, limit=50)
    candidates = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_({i.candidate_id for i in items})))} if items else {}
    return page(request, "people/review.html", {"items": items, "candidates": candidates, "labels": LABELS,
                                                "flash": _flash(request), "error": "", "error_items": []},
                user=user, session=session, active="people")


@router.post("/people/review/{item_id}")
def review_decide(item_id: int, request: Request, session: SessionDep, user: PageUser, origin: OriginDep,
                  decision: Annotated[str, Form()], note: Annotated[str, Form()] = "") -> Response:
    """Merge into the candidate or create a separate record."""
    _, error = attempt(session, lambda: importer.resolve_review(session=session, actor=user, origin=origin,
                                                                item_id=item_id, decision=decision, note=note[:300]))
    if error is not None:
        lang = request_lang(request)
        items = importer.review_queue(session=session, actor=user, limit=50)
        candidates = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_({i.candidate_id for i in items})))} if items else {}
        return page(request, "people/review.html", {"items": items, "candidates": candidates, "labels": LABELS,
                                                    "flash": "", **refusal_context(error, lang)},
                    user=user, session=session, active="people", status_code=error.status)
    return redirect(f"/people/review?done={decision}")


# --------------------------------------------------------------------------------------
# Households (户): list, register, members and their relations, the head
# (before /people/{person_id}, whose integer path would otherwise take /people/households)
# --------------------------------------------------------------------------------------


def _grids(session, user: User) -> list[Region]:
    from civicgrid.regions.importer import GRID_LEVELS

    return list(session.scalars(select(Region).where(Region.level.in_(list(GRID_LEVELS)),
                                                     access.scope(Region.path, user)).order_by(Region.code).limit(500)))


def _households_page(request: Request, session, user: User, *, values: dict[str, str] | None = None, error=None,
                     status_code: int = 200) -> Response:
    access.require(user, "read")
    q = request.query_params.get("q", "")[:60]
    households = service.list_records(session=session, actor=user, kind="household", q=q or None, limit=100)
    heads = {p.id: p for p in session.scalars(select(Person).where(
        Person.id.in_({h.head_person_id for h in households if h.head_person_id})))} if households else {}
    sizes = dict(session.execute(select(Person.household_id, func.count(Person.id)).where(
        Person.household_id.in_([h.id for h in households]), Person.active.is_(True))
        .group_by(Person.household_id)).all()) if households else {}
    lang = request_lang(request)
    return page(request, "people/households.html", {
        "households": households, "heads": heads, "sizes": sizes, "q": q, "values": FormValues(values or {}),
        "grids": _grids(session, user) if access.may(user, "write") else [], "can_write": access.may(user, "write"),
        **refusal_context(error, lang), "flash": _flash(request),
    }, user=user, session=session, active="people", status_code=status_code)


@router.get("/people/households")
def households_list(request: Request, session: SessionDep, user: PageUser) -> Response:
    """Households of one's area (by number or address), with the form to register one."""
    return _households_page(request, session, user)


@router.post("/people/households")
def households_create(request: Request, session: SessionDep, user: PageUser, origin: OriginDep,
                      number: Annotated[str, Form()] = "", address: Annotated[str, Form()] = "",
                      region_code: Annotated[str, Form()] = "") -> Response:
    """Register a household in a grid of one's area."""
    values = {"number": number, "address": address, "region_code": region_code}

    def call():
        try:
            data = HouseholdCreate(number=number.strip(), address=address.strip(), region_code=region_code.strip() or None)
        except ValidationError as exc:
            raise invalid_form(exc, HOUSEHOLD_LABELS) from None
        return service.create_household(session=session, actor=user, origin=origin, data=data)

    household, error = attempt(session, call)
    if error is not None:
        return _households_page(request, session, user, values=values, error=error, status_code=error.status)
    return redirect(f"/people/households/{household.id}?done=created")  # type: ignore[union-attr]


HOUSEHOLD_LABELS = {"number": ("户号", "Household number"), "address": ("地址", "Address"),
                    "region_code": ("所属网格", "Grid")}


def _household_page(request: Request, session, user: User, household_id: int, *, error=None,
                    status_code: int = 200) -> Response:
    household = service.get_record(session=session, actor=user, kind="household", record_id=household_id)
    members = service.household_members(session=session, actor=user, household_id=household.id)
    q = request.query_params.get("q", "").strip()[:40]
    candidates: list[Person] = []
    if q and access.may(user, "write"):
        found, _ = service.search_persons(session=session, actor=user, query=service.PersonQuery(q=q), limit=10,
                                          with_total=False)
        candidates = [p for p in found if p.household_id != household.id]
    lang = request_lang(request)
    return page(request, "people/household.html", {
        "household": household, "members": members, "region": session.get(Region, household.region_id),
        "q": q, "candidates": candidates, "labels": LABELS, "can_write": access.may(user, "write"),
        "relations": {k: v for k, v in RELATIONS.items() if k != "head"},
        **refusal_context(error, lang), "flash": _flash(request),
    }, user=user, session=session, active="people", status_code=status_code)


@router.get("/people/households/{household_id}")
def household_detail(household_id: int, request: Request, session: SessionDep, user: PageUser) -> Response:
    """One household: members with their relation (masked), the head, forms to change them."""
    return _household_page(request, session, user, household_id)


def _household_after(request: Request, session, user: User, household_id: int, call, done: str) -> Response:
    _, error = attempt(session, call)
    if error is not None:
        return _household_page(request, session, user, household_id, error=error, status_code=error.status)
    return redirect(f"/people/households/{household_id}?done={done}")


@router.post("/people/households/{household_id}/members")
def household_add_member(household_id: int, request: Request, session: SessionDep, user: PageUser,
                         origin: OriginDep, person_id: Annotated[str, Form()] = "",
                         relation: Annotated[str, Form()] = "") -> Response:
    """Add a person to the household (or change a member's relation)."""
    def call():
        pid = parse_int(person_id)
        if pid is None:
            raise InvalidInput("请填写档案编号", "Give the person's record number")
        return service.add_household_member(session=session, actor=user, origin=origin, household_id=household_id,
                                            person_id=pid, relation=relation)

    return _household_after(request, session, user, household_id, call, "member")


@router.post("/people/households/{household_id}/members/{person_id}/remove")
def household_remove_member(household_id: int, person_id: int, request: Request, session: SessionDep,
                            user: PageUser, origin: OriginDep) -> Response:
    """Take a member out of the household."""
    return _household_after(request, session, user, household_id, lambda: service.remove_household_member(
        session=session, actor=user, origin=origin, household_id=household_id, person_id=person_id), "removed")


@router.post("/people/households/{household_id}/head")
def household_set_head(household_id: int, request: Request, session: SessionDep, user: PageUser, origin: OriginDep,
                       person_id: Annotated[str, Form()] = "",
                       previous_relation: Annotated[str, Form()] = "") -> Response:
    """Make a member the head; the former head takes the relation chosen."""
    def call():
        pid = parse_int(person_id)
        if pid is None:
            raise InvalidInput("请选择新户主", "Choose the new head")
        return service.set_household_head(session=session, actor=user, origin=origin, household_id=household_id,
                                          person_id=pid, previous_relation=previous_relation or None)

    return _household_after(request, session, user, household_id, call, "head")


# --------------------------------------------------------------------------------------
# Editing a person's base data (the same service, validation and provenance as the API)
# --------------------------------------------------------------------------------------

PERSON_LABELS = {
    "name": ("姓名", "Name"), "phone": ("联系电话", "Phone"), "population_type": ("人口类型", "Population type"),
    "ethnicity": ("民族", "Ethnicity"), "address": ("居住地址", "Address"), "work_unit": ("工作单位", "Work unit"),
    "notes": ("备注", "Notes"), "house_id": ("房屋编号", "House number"),
}
EDITABLE = ("name", "population_type", "ethnicity", "address", "work_unit", "notes")


def _edit_values(person: Person) -> dict[str, str]:
    values = {k: "" if getattr(person, k) is None else str(getattr(person, k)) for k in EDITABLE}
    values["house_id"] = str(person.house_id or "")
    return values


def _edit_page(request: Request, session, user: User, person: Person, *, values: dict[str, str] | None = None,
               error=None, status_code: int = 200) -> Response:
    lang = request_lang(request)
    return page(request, "people/edit.html", {
        "person": person, "values": FormValues(values or _edit_values(person)), "labels": LABELS,
        "populations": POPULATION_TYPES, "provenance": sorted((person.provenance or {}).items()),
        **refusal_context(error, lang),
    }, user=user, session=session, active="people", status_code=status_code)


@router.get("/people/{person_id}/edit")
def person_edit_form(person_id: int, request: Request, session: SessionDep, user: PageUser) -> Response:
    """The base-data form (identity fields are not editable; phone shown masked, typed anew to change)."""
    access.require(user, "write")
    person = service.get_person(session=session, actor=user, person_id=person_id)
    return _edit_page(request, session, user, person)


@router.post("/people/{person_id}/edit")
def person_edit(person_id: int, request: Request, session: SessionDep, user: PageUser, origin: OriginDep,
                name: Annotated[str, Form()] = "", population_type: Annotated[str, Form()] = "",
                ethnicity: Annotated[str, Form()] = "", address: Annotated[str, Form()] = "",
                work_unit: Annotated[str, Form()] = "", notes: Annotated[str, Form()] = "",
                house_id: Annotated[str, Form()] = "", phone: Annotated[str, Form()] = "",
                clear_phone: Annotated[str, Form()] = "") -> Response:
    """Save what changed through ``service.update_person`` (provenance stamped per changed field, audited)."""
    access.require(user, "write")
    person = service.get_person(session=session, actor=user, person_id=person_id)
    submitted = {"name": name.strip(), "population_type": population_type, "ethnicity": ethnicity.strip(),
                 "address": address.strip(), "work_unit": work_unit.strip(), "notes": notes.strip(),
                 "house_id": house_id.strip()}
    current = _edit_values(person)

    def call():
        changes: dict[str, Any] = {k: v for k, v in submitted.items() if k != "house_id" and v != current[k]}
        if submitted["house_id"] != current["house_id"]:
            if submitted["house_id"] and parse_int(submitted["house_id"]) is None:
                raise InvalidInput("房屋编号应为正整数", "The house number must be a positive whole number")
            changes["house_id"] = parse_int(submitted["house_id"])
        if clear_phone:
            changes["phone"] = None
        elif phone.strip():
            changes["phone"] = phone.strip()
        if not changes:
            return person
        try:
            data = PersonUpdate(**changes)
        except ValidationError as exc:
            raise invalid_form(exc, PERSON_LABELS) from None
        return service.update_person(session=session, actor=user, origin=origin, person_id=person_id, data=data)

    _, error = attempt(session, call)
    if error is not None:
        session.refresh(person)
        return _edit_page(request, session, user, person, values={**submitted, "phone": ""}, error=error,
                          status_code=error.status)
    return redirect(f"/people/{person_id}?done=edited")


# --------------------------------------------------------------------------------------
# The profile (一人一档)
# --------------------------------------------------------------------------------------


def _profile(request: Request, session, user: User, origin, person_id: int, *, revealed: dict[str, str] | None = None,
             error=None, status_code: int = 200) -> Response:
    person = service.open_profile(session=session, actor=user, origin=origin, person_id=person_id)
    region = session.get(Region, person.region_id)
    household = session.get(Household, person.household_id) if person.household_id else None
    members = []
    if household is not None:
        members = list(session.scalars(service.visible_persons(user).where(Person.household_id == household.id)
                                       .order_by(Person.id)))
    house = None
    if person.house_id:
        try:
            house = service.get_record(session=session, actor=user, kind="house", record_id=person.house_id)
        except Exception:  # a house outside the area is simply not shown
            house = None
    cases = care.cases_of_person(session=session, actor=user, person_id=person.id)
    records = care.care_of_person(session=session, actor=user, person_id=person.id)
    care_views = []
    for r in records:
        care_views.append({"record": r, "type": session.get(CareType, r.type_code), "colour": colour_view(r.colour),
                           "caretakers": care.caretakers(session=session, care_id=r.id),
                           "visits": care.visits(session=session, care_id=r.id, limit=5)})
    history = _history(session, [("person", person.id)] + [("care_record", r.id) for r in records])
    imports = list(session.execute(
        select(ImportRow.batch_id, ImportRow.row_no, ImportRow.outcome, ImportRow.message_zh, ImportRow.message_en)
        .where(ImportRow.record_id == person.id, ImportRow.outcome.in_(["created", "merged", "unchanged"]))
        .order_by(ImportRow.id.desc()).limit(20)))
    lang = request_lang(request)
    return page(request, "people/profile.html", {
        "person": person, "region": region, "household": household, "members": members, "house": house,
        "cases": cases, "care_views": care_views, "history": history, "imports": imports, "labels": LABELS,
        "revealed": revealed or {}, "can_unmask": access.may(user, "unmask"), "can_write": access.may(user, "write"),
        "can_start_care": access.may(user, "care_write"), "care_types": care.care_types(session=session),
        "sees_care": access.may(user, "care_read"), "provenance": sorted((person.provenance or {}).items()),
        **refusal_context(error, lang), "flash": _flash(request),
    }, user=user, session=session, active="people", status_code=status_code)


def _history(session, subjects: list[tuple[str, int]], limit: int = 60) -> list[dict[str, Any]]:
    if not subjects:
        return []
    clauses = [(AuditEntry.entity == e) & (AuditEntry.entity_id == str(i)) for e, i in subjects]
    clauses += [(AuditEntry.entity == "risk_care") & (AuditEntry.entity_id == str(i)) for e, i in subjects if e == "care_record"]
    entries = session.scalars(select(AuditEntry).where(or_(*clauses)).order_by(AuditEntry.id.desc()).limit(limit))
    return [{"at": e.at, "actor": e.actor_name, "label": HISTORY_LABELS.get(e.action, (e.action, e.action)),
             "note": e.note, "from": _state_label(e.from_state), "to": _state_label(e.to_state), "channel": e.channel}
            for e in entries]


def _state_label(value: str | None) -> tuple[str, str] | None:
    """A colour or care level from the history as a (zh, en) pair."""
    if not value:
        return None
    if value in {c.value for c in Colour}:
        return COLOUR_LABELS[Colour(value)]
    return CARE_LEVELS.get(value, (value, value))


@router.get("/people/{person_id}")
def person_profile(person_id: int, request: Request, session: SessionDep, user: PageUser, origin: OriginDep) -> Response:
    """Everything about one person on one page (masked; opening it is logged)."""
    return _profile(request, session, user, origin, person_id)


@router.get("/people/{person_id}/reveal")
def person_reveal_again(person_id: int) -> Response:
    """Reloading a revealed page shows the masked profile (a clear value is never re-shown by a GET)."""
    return redirect(f"/people/{person_id}")


@router.post("/people/{person_id}/reveal")
def person_reveal(person_id: int, request: Request, session: SessionDep, user: PageUser, origin: OriginDep,
                  field: Annotated[str, Form()], reason: Annotated[str, Form()] = "") -> Response:
    """Show one identifier in clear in this response only, after the permission and reason checks."""
    result, error = attempt(session, lambda: service.reveal(session=session, actor=user, origin=origin,
                                                            person_id=person_id, field=field, reason=reason))
    if error is not None:
        return _profile(request, session, user, origin, person_id, error=error, status_code=error.status)
    value, _ = result  # type: ignore[misc]
    return _profile(request, session, user, origin, person_id, revealed={field: value or ""})


@router.post("/people/{person_id}/care")
def person_start_care(person_id: int, request: Request, session: SessionDep, user: PageUser, origin: OriginDep,
                      type_code: Annotated[str, Form()], level: Annotated[str, Form()] = "focus",
                      reason: Annotated[str, Form()] = "") -> Response:
    """Put the person under care from the profile page."""
    def call():
        return care.start_care(session=session, actor=user, origin=origin, person_id=person_id,
                               data=CareCreate(type_code=type_code, level=level, reason=reason or "—"))

    if len(reason.strip()) < 2:
        error = InvalidInput("请填写纳入管控的原因", "Give the reason for starting care")
        return _profile(request, session, user, origin, person_id, error=error, status_code=422)
    record, error = attempt(session, call)
    if error is not None:
        return _profile(request, session, user, origin, person_id, error=error, status_code=error.status)
    return redirect(f"/care/{record.id}?done=started")  # type: ignore[union-attr]


# --------------------------------------------------------------------------------------
# People under care
# --------------------------------------------------------------------------------------


@router.get("/care")
def care_list(request: Request, session: SessionDep, user: PageUser) -> Response:
    """People under care in one's area, most at risk first; filters by type, colour, overdue, mine."""
    params = request.query_params
    values = {k: params.get(k, "") for k in ("type", "colour", "overdue", "mine")}
    query = care.CareQuery(type_code=values["type"] or None, colour=values["colour"] or None,
                           overdue={"yes": True, "no": False}.get(values["overdue"]), mine=values["mine"] == "1")
    rows = care.list_care(session=session, actor=user, query=query, limit=200)
    types = {t.code: t for t in care.care_types(session=session)}
    counts = dict(session.execute(select(CareRecord.colour, func.count(CareRecord.id)).where(
        CareRecord.active.is_(True), access.scope(CareRecord.region_path, user)).group_by(CareRecord.colour)).all())
    return page(request, "people/care_list.html", {
        "rows": [{"record": r, "person": p, "type": types.get(r.type_code), "colour": colour_view(r.colour)} for r, p in rows],
        "values": values, "types": list(types.values()), "colours": [colour_view(c.value) for c in Colour],
        "counts": counts, "labels": LABELS, "now": utcnow(), "can_configure": access.may(user, "configure"),
    }, user=user, session=session, active="care")


def _care_page(request: Request, session, user: User, care_id: int, *, error=None, status_code: int = 200) -> Response:
    record = care.get_care(session=session, actor=user, care_id=care_id)
    person = session.get(Person, record.person_id)
    colour_row = risk.colour_of(session=session, actor=user, subject="care", subject_id=record.id)
    caretaker_users = []
    if access.may(user, "care_write"):
        caretaker_users = list(session.scalars(select(User).where(
            User.active.is_(True), User.role.in_([Role.GRID_WORKER, Role.OPERATOR]),
            User.scope_path >= user.scope_path, User.scope_path < user.scope_path + "~").order_by(User.username)))
    lang = request_lang(request)
    return page(request, "people/care_detail.html", {
        "record": record, "person": person, "type": session.get(CareType, record.type_code),
        "colour": colour_view(record.colour), "computed": colour_view(colour_row.computed_colour),
        "explanation": colour_row.explanation, "override": colour_row, "labels": LABELS,
        "override_view": colour_view(colour_row.override_colour) if colour_row.override_colour else None,
        "caretakers": care.caretakers(session=session, care_id=record.id), "caretaker_users": caretaker_users,
        "visits": care.visits(session=session, care_id=record.id), "history": _history(session, [("care_record", record.id)]),
        "photos": care.visit_photos(session=session, actor=user, care_id=record.id),
        "can_write": access.may(user, "care_write") and record.active, "can_visit": access.may(user, "visit") and record.active,
        "can_override": access.may(user, "risk_override"), "colours": [colour_view(c.value) for c in Colour],
        "overdue": record.visit_overdue or (record.next_visit_due is not None and record.next_visit_due < utcnow()),
        **refusal_context(error, lang), "flash": _flash(request),
    }, user=user, session=session, active="care", status_code=status_code)


@router.get("/care/{care_id}")
def care_detail(care_id: int, request: Request, session: SessionDep, user: PageUser) -> Response:
    """One care record: colour and why, caretakers, the visit form and log, history."""
    return _care_page(request, session, user, care_id)


def _after(request: Request, session, user: User, care_id: int, call, done: str) -> Response:
    _, error = attempt(session, call)
    if error is not None:
        return _care_page(request, session, user, care_id, error=error, status_code=error.status)
    return redirect(f"/care/{care_id}?done={done}")


def _float(text: str) -> float | None:
    try:
        return float(text) if text.strip() else None
    except ValueError:
        raise InvalidInput("经纬度应为数字", "Latitude and longitude must be numbers") from None


def _chosen(photos: list[UploadFile | str] | None) -> list[UploadFile]:
    # A file input left empty still sends one part with no file name (or none at all, read as text).
    return [p for p in (photos or []) if not isinstance(p, str) and p.filename]


def _store_photos(session, user: User, origin, care_id: int, visit_id: int, photos: list[UploadFile]) -> None:
    from civicgrid.people.routes import read_upload

    for upload in photos:
        care.add_visit_photo(session=session, actor=user, origin=origin, visit_id=visit_id, care_id=care_id,
                             filename=upload.filename or "photo", content=read_upload(upload))


@router.post("/care/{care_id}/visits")
def care_visit(care_id: int, request: Request, session: SessionDep, user: PageUser, origin: OriginDep,
               findings: Annotated[str, Form()] = "", place: Annotated[str, Form()] = "",
               next_step: Annotated[str, Form()] = "", lat: Annotated[str, Form()] = "",
               lon: Annotated[str, Form()] = "",
               photos: Annotated[list[UploadFile | str] | None, File()] = None) -> Response:
    """Log a visit from the web form, with any photos (the visit and its photos are saved together or not at all)."""
    def call():
        if len(findings.strip()) < 2:
            raise InvalidInput("请填写走访情况", "Describe what was found")
        visit = care.log_visit(session=session, actor=user, origin=origin, care_id=care_id,
                               data=VisitCreate(findings=findings.strip(), place=place[:200], next_step=next_step[:300],
                                                lat=_float(lat), lon=_float(lon)))
        _store_photos(session, user, origin, care_id, visit.id, _chosen(photos))
        return visit

    return _after(request, session, user, care_id, call, "visited")


@router.post("/care/{care_id}/visits/{visit_id}/photos")
def care_visit_photos(care_id: int, visit_id: int, request: Request, session: SessionDep, user: PageUser,
                      origin: OriginDep, photos: Annotated[list[UploadFile | str] | None, File()] = None) -> Response:
    """Add photos to a visit already logged."""
    def call():
        chosen = _chosen(photos)
        if not chosen:
            raise InvalidInput("请选择要上传的照片", "Choose the photos to upload")
        _store_photos(session, user, origin, care_id, visit_id, chosen)

    return _after(request, session, user, care_id, call, "photo")


@router.post("/care/{care_id}/caretakers")
def care_caretaker(care_id: int, request: Request, session: SessionDep, user: PageUser, origin: OriginDep,
                   kind: Annotated[str, Form()], user_id: Annotated[str, Form()] = "",
                   name: Annotated[str, Form()] = "", phone: Annotated[str, Form()] = "",
                   is_primary: Annotated[str, Form()] = "") -> Response:
    """Assign a caretaker from the web form."""
    return _after(request, session, user, care_id, lambda: care.add_caretaker(
        session=session, actor=user, origin=origin, care_id=care_id,
        data=CaretakerCreate(kind=kind, user_id=parse_int(user_id), name=name[:60] or None, phone=phone[:30] or None,
                             is_primary=bool(is_primary))), "caretaker")


@router.post("/care/{care_id}/level")
def care_level(care_id: int, request: Request, session: SessionDep, user: PageUser, origin: OriginDep,
               level: Annotated[str, Form()], reason: Annotated[str, Form()] = "") -> Response:
    """Change the care level with a reason."""
    def call():
        if len(reason.strip()) < 2:
            raise InvalidInput("请填写调整原因", "Give the reason")
        return care.change_level(session=session, actor=user, origin=origin, care_id=care_id,
                                 data=CareChange(level=level, reason=reason.strip()[:300]))

    return _after(request, session, user, care_id, call, "level")


@router.post("/care/{care_id}/end")
def care_end(care_id: int, request: Request, session: SessionDep, user: PageUser, origin: OriginDep,
             reason: Annotated[str, Form()] = "") -> Response:
    """End care with a reason."""
    def call():
        if len(reason.strip()) < 2:
            raise InvalidInput("请填写解除原因", "Give the reason")
        return care.end_care(session=session, actor=user, origin=origin, care_id=care_id,
                             data=CareEnd(reason=reason.strip()[:300]))

    return _after(request, session, user, care_id, call, "ended")


@router.post("/care/{care_id}/override")
def care_override(care_id: int, request: Request, session: SessionDep, user: PageUser, origin: OriginDep,
                  colour: Annotated[str, Form()], reason: Annotated[str, Form()] = "") -> Response:
    """Set the colour by hand (manual judgement) with a reason; or clear it."""
    if colour == "auto":
        call = lambda: risk.clear_override(session=session, actor=user, origin=origin, subject="care",  # noqa: E731
                                           subject_id=care_id, reason=reason.strip() or "恢复规则计算结果")
    else:
        call = lambda: risk.override(session=session, actor=user, origin=origin, subject="care",  # noqa: E731
                                     subject_id=care_id, colour=colour, reason=reason)
    return _after(request, session, user, care_id, call, "colour")


# --------------------------------------------------------------------------------------
# The grid map coloured by risk
# --------------------------------------------------------------------------------------


@router.get("/risk/map")
def risk_map(request: Request, session: SessionDep, user: PageUser) -> Response:
    """Grids of one's area coloured by five-colour risk (drawn by the shared grid-map script)."""
    access.require(user, "read")
    from civicgrid.settings import get_settings

    scope = session.get(Region, user.scope_region_id)
    center = (scope.centroid_lat, scope.centroid_lon) if scope and scope.centroid_lat is not None else None
    return page(request, "people/risk_map.html", {
        "scope": scope, "center": center, "tiles": get_settings().map_tile_url,
        "colours": [colour_view(c.value) for c in Colour],
    }, user=user, session=session, active="care")


@router.get("/risk/map/grids.geojson")
def risk_map_grids(request: Request, session: SessionDep, user: PageUser) -> Response:
    """The coloured grid layer, its tooltip line in the page's language."""
    import json

    layer = risk.grid_map(session=session, actor=user)
    en = request_lang(request) == "en"
    for feature in layer["features"]:
        p = feature["properties"]
        reasons = p["reasons_en"] if en else p["reasons_zh"]
        p["open_cases"] = (p["label_en"] if en else p["label_zh"]) + (f" — {'; '.join(reasons)}" if reasons else "")
    return Response(json.dumps(layer, ensure_ascii=False), media_type="application/geo+json")


# --------------------------------------------------------------------------------------
# Places, houses, buildings, organisations, things (read and inspect)
# --------------------------------------------------------------------------------------

BASE_KINDS = {
    "place": ("场所", "Places"), "house": ("房屋", "Houses"), "building": ("楼栋", "Buildings"),
    "organisation": ("组织", "Organisations"), "thing": ("部件", "Facilities"),
}


@router.get("/base")
def base_list(request: Request, session: SessionDep, user: PageUser) -> Response:
    """Places, houses, buildings, organisations and things of one's area, with risk colours where they have one."""
    from civicgrid.people.models import HOUSE_USES, ORG_KINDS, PLACE_KINDS, THING_KINDS, RiskColour

    kind = request.query_params.get("kind", "place")
    if kind not in BASE_KINDS:
        kind = "place"
    q = request.query_params.get("q", "")[:60]
    records = service.list_records(session=session, actor=user, kind=kind, q=q or None, limit=200)
    colours = {}
    if kind in ("place", "house") and records:
        colours = {r.subject_id: colour_view(r.colour) for r in session.scalars(select(RiskColour).where(
            RiskColour.subject == kind, RiskColour.subject_id.in_([r.id for r in records])))}
    sub_labels = {"place": PLACE_KINDS, "organisation": ORG_KINDS, "thing": THING_KINDS, "house": HOUSE_USES}.get(kind, {})
    return page(request, "people/base_list.html", {
        "kind": kind, "kinds": BASE_KINDS, "q": q, "records": records, "colours": colours, "sub_labels": sub_labels,
        "can_inspect": access.may(user, "write") and kind == "place", "flash": _flash(request),
    }, user=user, session=session, active="people")


@router.post("/base/places/{place_id}/inspections")
def base_inspect(place_id: int, request: Request, session: SessionDep, user: PageUser, origin: OriginDep,
                 passed: Annotated[str, Form()] = "yes", hazards: Annotated[str, Form()] = "0",
                 findings: Annotated[str, Form()] = "") -> Response:
    """Record an inspection of a place from the list; its colour is recomputed."""
    from civicgrid.people.schemas import InspectionCreate

    def call():
        return service.inspect_place(session=session, actor=user, origin=origin, place_id=place_id,
                                     data=InspectionCreate(passed=passed == "yes", hazards=parse_int(hazards) or 0,
                                                           findings=findings[:2000]))

    _, error = attempt(session, call)
    if error is not None:
        raise error
    return redirect("/base?kind=place&done=inspected")
