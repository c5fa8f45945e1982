"""Petition reception pages: registration with repeat detection while typing (htmx), the
petition with triage and the timeline's actions, the leader-owned list and the deadline board.

Routes are thin: they parse the form, call the same service functions as the API, and
hand the template what is already decided (actions allowed now, related petitions, the
deadline bucket of each row).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from civicgrid.auth.models import Role, User
from civicgrid.errors import DomainError, InvalidInput, NotFound
from civicgrid.events.attachments import MAX_BYTES
from civicgrid.events.models import Category
from civicgrid.mediation import registry
from civicgrid.mediation.models import RISK_LEVELS
from civicgrid.mediation.schemas import DisputeFromCase
from civicgrid.petitions import documents, service
from civicgrid.petitions.models import DOCUMENT_KINDS, FORMS, LEVELS, LINK_REASONS
from civicgrid.petitions.schemas import CaseFromPetition, HigherVisitIn, PetitionCreate, PetitionerIn
from civicgrid.petitions.workflow import STATE_LABELS, WORKFLOW, PetitionState
from civicgrid.regions import service as regions
from civicgrid.regions.models import RegionLevel
from civicgrid.units.service import list_units
from civicgrid.web.deps import OriginDep, SessionDep
from civicgrid.web.i18n import request_lang
from civicgrid.web.pagekit import (
    PageRoute,
    attempt,
    error_list,
    error_text,
    invalid_form,
    page,
    parse_int,
    redirect,
    require_page_roles,
)
from civicgrid.web.templating import local_tz

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PetitionUser = Annotated[User, Depends(require_page_roles(Role.ADMIN, Role.OPERATOR, Role.HANDLER, Role.LEADER))]
DeskUser = Annotated[User, Depends(require_page_roles(Role.ADMIN, Role.OPERATOR))]
PETITIONER_ROWS = 5
STATE_TONES = {
    PetitionState.REGISTERED: "new", PetitionState.TRIAGED: "waiting", PetitionState.ACCEPTED: "working",
    PetitionState.NOT_ACCEPTED: "void", PetitionState.ANSWERED: "check", PetitionState.UNDER_REVIEW: "working",
    PetitionState.REVIEWED: "check", PetitionState.UNDER_RE_REVIEW: "working", PetitionState.CLOSED: "done",
    PetitionState.TRANSFERRED: "done",
}
ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "triage": ("unit",), "return": ("note",), "accept": (), "not_accept": ("note",),
    "request_extension": ("days", "note"), "approve_extension": (), "deny_extension": ("note",),
    "answer": ("note",), "request_review": ("note",), "decide_review": ("note",), "request_re_review": ("note",),
    "decide_re_review": ("note",), "close": ("note",), "assign_leader": ("leader",),
    "to_dispute": ("dispute",), "to_case": ("category",), "record_higher_visit": ("visit", "note"),
    "supervise": ("note",),
}
SETBACKS = {"return", "not_accept", "deny_extension"}
DIRECTIONS = {"earlier": ("此前", "Earlier"), "later": ("此后", "Later")}
DUE_KINDS = {"accept": ("受理告知期限", "Decide on acceptance by"), "answer": ("办理答复期限", "Answer by"),
             "review": ("复查期限", "Review by"), "re_review": ("复核期限", "Re-review by")}
HISTORY_LABELS = {"intake": ("登记", "Registered"), "overdue": ("超期", "Overdue"),
                  "attach_document": ("上传材料", "Document added")} | {
    s.action: (s.label_zh, s.label_en) for s in WORKFLOW.steps}
FIELD_LABELS = {
    "subject_code": ("信访事项类别", "Subject"), "request": ("信访诉求", "Request"), "petitioners": ("信访人", "Petitioners"),
    "id_number": ("身份证号码", "ID number"), "name": ("姓名", "Name"), "phone": ("联系电话", "Phone"),
    "head_count": ("人数", "Head count"), "visited_on": ("走访日期", "Visit date"), "level": ("层级", "Level"),
    "type_code": ("纠纷类型", "Dispute type"), "category_code": ("事件类别", "Category"),
}


def _base(request: Request, user: User, session: Session, name: str, ctx: dict[str, Any], *,
          status_code: int = 200) -> Response:
    ctx = {"state_labels": STATE_LABELS, "state_tones": STATE_TONES, "forms_kinds": FORMS, "levels": LEVELS,
           "link_reasons": LINK_REASONS, "due_kinds": DUE_KINDS, "document_kinds": DOCUMENT_KINDS} | ctx
    return page(request, name, ctx, user=user, session=session, active="petitions", status_code=status_code)


def _flash(request: Request) -> tuple[str, str] | None:
    done = request.query_params.get("done")
    if done == "intake":
        return "已登记信访事项", "Petition registered"
    if done == "document":
        return "已上传信访材料", "Document added"
    if done in WORKFLOW.actions:
        zh, en = WORKFLOW.action_label(done)
        return f"已完成：{zh}", f"Done: {en}"
    return None


# -- lists ----------------------------------------------------------------------------


@router.get("/petitions")
def petition_list(request: Request, session: SessionDep, user: PetitionUser) -> Response:
    """Petitions in the user's area; repeat and group visits can be picked out."""
    q = request.query_params
    show = q.get("show") or ""
    filters = service.PetitionFilter(repeat=True if show == "repeat" else None, group=True if show == "group" else None,
                                     overdue=True if show == "overdue" else None,
                                     q=(q.get("q") or "").strip()[:100] or None)
    page_no = parse_int(q.get("page")) or 1
    rows, total = service.list_petitions(session=session, actor=user, filters=filters, page=page_no, size=30)
    return _base(request, user, session, "petitions/list.html", {
        "rows": rows, "total": total, "page_no": page_no, "show": show, "q": q.get("q") or "",
        "heading": ("信访事项", "Petitions"), "tab": "list"})


@router.get("/petitions/leader")
def leader_list(request: Request, session: SessionDep, user: PetitionUser) -> Response:
    """领导包案: the petitions a leader owns (for others: all owned petitions in their area)."""
    now = dt.datetime.now(dt.UTC)
    rows = service.deadline_board(session=session, actor=user, now=now, leader_only=user.role == Role.LEADER)
    owned, _ = service.list_petitions(session=session, actor=user, filters=service.PetitionFilter(
        led_by_me=user.role == Role.LEADER), size=200)
    owned = [p for p in owned if p.leader_user_id is not None]
    leaders = {u.id: u.display_name for u in session.scalars(
        select(User).where(User.id.in_({p.leader_user_id for p in owned})))} if owned else {}
    buckets = {r.petition.id: r for r in rows}
    return _base(request, user, session, "petitions/leader.html", {
        "owned": owned, "leaders": leaders, "buckets": buckets, "tab": "leader"})


@router.get("/petitions/board")
def board(request: Request, session: SessionDep, user: PetitionUser) -> Response:
    """The deadline board: every running 信访工作条例 deadline, overdue first."""
    rows = service.deadline_board(session=session, actor=user)
    counts = {b: sum(1 for r in rows if r.bucket == b) for b in ("overdue", "due_soon", "on_track")}
    return _base(request, user, session, "petitions/board.html", {"rows": rows, "counts": counts, "tab": "board"})


# -- registration with repeat detection -------------------------------------------------


def _areas(session: Session, user: User) -> list[tuple[Any, int]]:
    levels = [RegionLevel.DISTRICT, RegionLevel.STREET, RegionLevel.COMMUNITY, RegionLevel.GRID]
    nodes = regions.subtree(session=session, path=user.scope_path, levels=levels)
    base = user.scope_path.count("/")
    return [(r, max(r.path.count("/") - base, 0)) for r in nodes]


def _register_page(request: Request, session: Session, user: User, *, values: dict[str, Any] | None = None,
                   error: DomainError | None = None) -> Response:
    lang = request_lang(request)
    return _base(request, user, session, "petitions/new.html", {
        "subjects": service.list_subjects(session=session), "areas": _areas(session, user),
        "rows": range(1, PETITIONER_ROWS + 1), "values": values or {}, "error": error_text(error, lang),
        "error_items": error_list(error, lang), "tab": "new"}, status_code=error.status if error else 200)


@router.get("/petitions/new")
def register_form(request: Request, session: SessionDep, user: DeskUser) -> Response:
    """The reception form; typing an ID number or a name shows who has come before."""
    return _register_page(request, session, user)


@router.get("/petitions/lookup")
def lookup(request: Request, session: SessionDep, user: DeskUser) -> Response:
    """The htmx fragment under the petitioner fields: known persons and their history."""
    q = request.query_params
    number = (q.get("id_number_1") or q.get("id_number") or "").strip()[:18]
    name = (q.get("name_1") or q.get("name") or "").strip()[:60]
    found = service.lookup(session=session, actor=user, id_number=number or None, name=None if number else name)
    return page(request, "petitions/_lookup.html", {"found": found, "link_reasons": LINK_REASONS,
                                                    "direction_labels": DIRECTIONS,
                                                    "state_labels": STATE_LABELS, "state_tones": STATE_TONES,
                                                    "typed": bool(number or len(name) >= 2)},
                user=user, session=None)


def _uploads(form: Any, field: str = "documents") -> list[UploadFile]:
    """The files chosen in a file input (an input left empty sends a nameless empty part)."""
    return [f for f in form.getlist(field) if isinstance(f, UploadFile) and (f.filename or f.size)]


async def _read(upload: UploadFile) -> bytes:
    return await upload.read(MAX_BYTES + 1)


@router.post("/petitions/new")
async def register(request: Request, session: SessionDep, user: DeskUser, origin: OriginDep) -> Response:
    """Register the petition with its documents; a refusal re-shows the form with what was typed."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    kind = values.get("document_kind") or "letter"
    docs = [documents.DocumentIn(filename=f.filename or "upload", content=await _read(f), kind=kind)
            for f in _uploads(form)]
    get = lambda k: (values.get(k) or "").strip()  # noqa: E731
    try:
        petitioners = [PetitionerIn(id_number=get(f"id_number_{i}") or None, name=get(f"name_{i}") or None,
                                    phone=get(f"phone_{i}") or None, is_representative=get(f"rep_{i}") == "1")
                       for i in range(1, PETITIONER_ROWS + 1) if get(f"id_number_{i}") or get(f"name_{i}")]
        data = PetitionCreate(form=get("form") or "visit", subject_code=get("subject_code"), title=get("title") or None,
                              request=get("request"), facts=get("facts"), level_visited=get("level_visited") or "local",
                              head_count=parse_int(get("head_count")) or max(len(petitioners), 1),
                              group_name=get("group_name") or None, region_code=get("region_code") or None,
                              petitioners=petitioners, client_key=get("client_key") or None)
    except ValidationError as exc:
        return _register_page(request, session, user, values=values, error=invalid_form(exc, FIELD_LABELS))
    result, error = attempt(session, lambda: service.register_petition(session=session, actor=user, origin=origin,
                                                                       data=data, documents=docs))
    if error is not None or result is None:
        return _register_page(request, session, user, values=values, error=error)
    return redirect(f"/petitions/{result[0].id}?done=intake")


# -- one petition -----------------------------------------------------------------------


@dataclass(frozen=True)
class ActionForm:
    """One action this user may take now, with the fields its form needs."""

    action: str
    label: tuple[str, str]
    fields: tuple[str, ...]
    setback: bool
    note_required: bool


def _detail(request: Request, session: Session, user: User, petition_id: int, *,
            error: DomainError | None = None) -> Response:
    petition = service.get_petition(session=session, actor=user, petition_id=petition_id)
    lang = request_lang(request)
    forms = [ActionForm(s.action, (s.label_zh, s.label_en), ACTION_FIELDS.get(s.action, ("note",)),
                        s.action in SETBACKS, s.note_required)
             for s in service.allowed_actions(actor=user, petition=petition)]
    needs = {f for form in forms for f in form.fields}
    leader = session.get(User, petition.leader_user_id) if petition.leader_user_id else None
    ctx = {
        "p": petition, "forms": forms, "petitioners": service.petitioners_of(session=session, petition_id=petition.id),
        "related": service.related_of(session=session, actor=user, petition=petition),
        "later": service.later_of(session=session, actor=user, petition=petition),
        "elsewhere": service.elsewhere_of(session=session, actor=user, petition=petition),
        "direction_labels": DIRECTIONS,
        "documents": documents.documents_of(session=session, actor=user, petition_id=petition.id),
        "may_upload": user.role in documents.UPLOAD_ROLES,
        "visits": service.higher_visits_of(session=session, petition_id=petition.id),
        "outcome": service.linked_outcome(session=session, petition=petition), "leader": leader,
        "history": service.timeline(session=session, actor=user, petition_id=petition.id),
        "history_labels": HISTORY_LABELS,
        "units": list_units(session=session) if "unit" in needs else [],
        "leaders": list(session.scalars(select(User).where(User.role == Role.LEADER, User.active.is_(True))))
        if "leader" in needs else [],
        "dispute_types": registry.list_types(session=session) if "dispute" in needs else [],
        "risk_levels": RISK_LEVELS,
        "categories": list(session.scalars(select(Category).where(Category.active.is_(True),
                                                                   Category.parent_id.is_not(None))
                                           .order_by(Category.code))) if "category" in needs else [],
        "today": dt.datetime.now(local_tz()).date(), "flash": _flash(request),
        "error": error_text(error, lang), "error_items": error_list(error, lang),
    }
    ctx["leaders"] = [u for u in ctx["leaders"] if petition.region_path.startswith(u.scope_path)]
    return _base(request, user, session, "petitions/detail.html", ctx, status_code=error.status if error else 200)


@router.get("/petitions/{petition_id}")
def petition_detail(request: Request, petition_id: int, session: SessionDep, user: PetitionUser) -> Response:
    """One petition: petitioners, earlier visits, the timeline's deadlines and this user's actions."""
    return _detail(request, session, user, petition_id)


def _params(form: Any, action: str) -> service.PetitionParams:
    get = lambda k: (form.get(k) or "").strip()  # noqa: E731
    params = service.PetitionParams(note=get("note") or None)
    if action == "triage":
        params.unit_id = parse_int(get("unit_id"))
    elif action == "request_extension":
        params.extension_days = parse_int(get("extension_days"))
    elif action == "assign_leader":
        params.leader_user_id = parse_int(get("leader_user_id"))
    elif action == "to_dispute":
        params.dispute = DisputeFromCase(type_code=get("type_code"), risk_level=get("risk_level") or "low",
                                         criminal_risk=get("criminal_risk") == "1")
    elif action == "to_case":
        params.case = CaseFromPetition(category_code=get("category_code"))
    elif action == "record_higher_visit":
        params.higher_visit = HigherVisitIn(level=get("level"), visited_on=get("visited_on") or None,
                                            place=get("place"))
    return params


@router.post("/petitions/{petition_id}/act")
async def act(request: Request, petition_id: int, session: SessionDep, user: PetitionUser,
              origin: OriginDep) -> Response:
    """Fire one workflow action from its form; a refusal re-shows the petition with the reason."""
    form = await request.form()
    action = str(form.get("action") or "")
    try:
        params = _params(form, action)
    except ValidationError as exc:
        return _detail(request, session, user, petition_id, error=invalid_form(exc, FIELD_LABELS))
    except DomainError as exc:
        return _detail(request, session, user, petition_id, error=exc)
    _, error = attempt(session, lambda: service.transition(session=session, actor=user, origin=origin,
                                                           petition_id=petition_id, action=action, params=params))
    if error is not None:
        return _detail(request, session, user, petition_id, error=error)
    session.expire_all()
    try:
        service.get_petition(session=session, actor=user, petition_id=petition_id)
    except NotFound:  # e.g. a window returned it and no longer sees it
        return redirect(f"/petitions?done={action}")
    if action == "to_dispute":
        outcome = service.linked_outcome(session=session, petition=service.get_petition(
            session=session, actor=user, petition_id=petition_id))
        if outcome is not None and outcome.kind == "dispute":
            return redirect(f"/mediation/disputes/{outcome.id}?done=intake")
    return redirect(f"/petitions/{petition_id}?done={action}")



@router.post("/petitions/{petition_id}/documents")
async def upload_documents(request: Request, petition_id: int, session: SessionDep, user: PetitionUser,
                           origin: OriginDep) -> Response:
    """Add one or more documents (scanned letters, photos, PDFs); a refusal re-shows the petition."""
    form = await request.form()
    kind = str(form.get("kind") or "letter")
    note = str(form.get("note") or "")[:200]
    docs = [documents.DocumentIn(filename=f.filename or "upload", content=await _read(f), kind=kind, note=note)
            for f in _uploads(form)]
    if not docs:
        return _detail(request, session, user, petition_id,
                       error=InvalidInput("请选择要上传的文件", "Choose a file to upload"))
    if len(docs) > documents.MAX_AT_REGISTRATION:
        return _detail(request, session, user, petition_id, error=InvalidInput(
            f"一次最多上传 {documents.MAX_AT_REGISTRATION} 份材料",
            f"At most {documents.MAX_AT_REGISTRATION} documents at a time"))

    def add_all() -> None:
        for doc in docs:
            documents.add_document(session=session, actor=user, origin=origin, petition_id=petition_id, doc=doc)

    _, error = attempt(session, add_all)
    if error is not None:
        return _detail(request, session, user, petition_id, error=error)
    return redirect(f"/petitions/{petition_id}?done=document#documents")
