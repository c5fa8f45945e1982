"""Petition API (/api/petitions): thin — parse, call the service, shape the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from civicgrid.auth.models import Role, User
from civicgrid.events.attachments import MAX_BYTES
from civicgrid.mediation.schemas import HistoryRead
from civicgrid.petitions import documents, service
from civicgrid.petitions.models import Petition, Petitioner
from civicgrid.petitions.schemas import (
    BoardRowRead,
    DocumentRead,
    ElsewhereRead,
    LookupPerson,
    LookupRead,
    PetitionAction,
    PetitionCreate,
    PetitionerRead,
    PetitionPage,
    PetitionRead,
    PetitionSummary,
    RelatedRead,
    SubjectRead,
    SubjectWrite,
)
from civicgrid.petitions.workflow import STATE_LABELS, PetitionState
from civicgrid.web.deps import CurrentUser, OriginDep, SessionDep, require_roles
from civicgrid.web.i18n import request_lang

router = APIRouter(prefix="/api/petitions", tags=["petitions"])

AdminUser = Annotated[User, Depends(require_roles(Role.ADMIN))]


def related_read(r: service.Related) -> RelatedRead:
    """A related petition as the API shows it."""
    return RelatedRead(petition_id=r.petition.id, number=r.petition.number, title=r.petition.title,
                       state=r.petition.state, received_at=r.petition.received_at, reasons=r.reasons)


def elsewhere_read(e: service.Elsewhere, lang: str) -> ElsewhereRead:
    """A linked petition in another area as the API shows it: where and when only."""
    return ElsewhereRead(direction=e.direction, reasons=e.reasons, area_code=e.area_code,
                         area_name=e.area_en if lang == "en" else e.area_zh, received_on=e.received_on)


def summarize(petition: Petition, *, actor: User, lang: str, outcome: service.LinkedOutcome | None,
              petitioners: list[Petitioner]) -> PetitionSummary:
    """The list view of a petition for ``actor``: petitioners masked, linked outcome, actions."""
    zh, en = STATE_LABELS[petition.state]
    return PetitionSummary(
        id=petition.id, number=petition.number, form=petition.form, subject_code=petition.subject.code,
        subject_name=petition.subject.name_en if lang == "en" and petition.subject.name_en else petition.subject.name_zh,
        title=petition.title, request=petition.request, level_visited=petition.level_visited,
        is_group=petition.is_group, head_count=petition.head_count, group_name=petition.group_name,
        region_id=petition.region_id, state=petition.state, state_label=en if lang == "en" else zh,
        unit_id=petition.unit_id, unit_name=petition.unit.name_zh if petition.unit else None,
        leader_user_id=petition.leader_user_id, received_at=petition.received_at,
        accept_due_at=petition.accept_due_at, accepted_at=petition.accepted_at,
        answer_due_at=petition.answer_due_at, extension_days=petition.extension_days,
        extension_days_requested=petition.extension_days_requested, answered_at=petition.answered_at,
        answer=petition.answer, review_window_until=petition.review_window_until, due_at=petition.due_at,
        due_kind=petition.due_kind, overdue=petition.overdue, repeat_count=petition.repeat_count,
        higher_visits_count=petition.higher_visits_count,
        dispute_id=outcome.id if outcome and outcome.kind == "dispute" else None,
        dispute_state=outcome.state if outcome and outcome.kind == "dispute" else None,
        case_id=petition.case_id, case_state=outcome.state if outcome and outcome.kind == "case" else None,
        petitioners=[PetitionerRead(person_id=p.person_id, name=p.person.name, id_number_masked=p.person.id_masked,
                                    is_representative=p.is_representative) for p in petitioners],
        allowed=[s.action for s in service.allowed_actions(actor=actor, petition=petition)],
    )


def summarize_page(session: Session, petitions: list[Petition], actor: User, lang: str) -> list[PetitionSummary]:
    """List views of a page of petitions: their petitioners and outcomes read once for the page."""
    outcomes = service.linked_outcomes(session=session, petitions=petitions)
    petitioners = service.petitioners_of_many(session=session, petition_ids=[p.id for p in petitions])
    return [summarize(p, actor=actor, lang=lang, outcome=outcomes.get(p.id), petitioners=petitioners.get(p.id, []))
            for p in petitions]


def present(session: Session, petition: Petition, actor: User, lang: str) -> PetitionRead:
    """The API view of one petition for ``actor``: its list view and the petitions linked to it."""
    (summary,) = summarize_page(session, [petition], actor, lang)
    return PetitionRead(
        **dict(summary),
        related=[related_read(r) for r in service.related_of(session=session, actor=actor, petition=petition)],
        later=[related_read(r) for r in service.later_of(session=session, actor=actor, petition=petition)],
        related_elsewhere=[elsewhere_read(e, lang)
                           for e in service.elsewhere_of(session=session, actor=actor, petition=petition)],
    )


@router.get("/subjects", response_model=list[SubjectRead], summary="Petition subjects and their windows")
def subjects(session: SessionDep, user: CurrentUser) -> list[SubjectRead]:
    return [SubjectRead.model_validate(s) for s in service.list_subjects(session=session)]


@router.put("/subjects/{code}", response_model=SubjectRead, summary="Create or change a subject")
def save_subject(code: str, data: SubjectWrite, session: SessionDep, user: AdminUser,
                 origin: OriginDep) -> SubjectRead:
    values = data.model_dump() | {"code": code}
    return SubjectRead.model_validate(service.save_subject(session=session, actor=user, origin=origin, **values))


@router.get("/lookup", response_model=LookupRead, summary="Known petitioner and history, by ID number or name")
def lookup(request: Request, session: SessionDep, user: CurrentUser,
           id_number: Annotated[str | None, Query(max_length=18)] = None,
           name: Annotated[str | None, Query(max_length=60)] = None) -> LookupRead:
    found = service.lookup(session=session, actor=user, id_number=id_number, name=name)
    lang = request_lang(request)
    return LookupRead(persons=[LookupPerson(person_id=p.id, name=p.name, id_number_masked=p.id_masked,
                                            petitions=found.petition_counts.get(p.id, 0),
                                            petitions_elsewhere=found.elsewhere_counts.get(p.id, 0))
                               for p in found.persons],
                      history=[related_read(r) for r in found.history],
                      elsewhere=[elsewhere_read(e, lang) for e in found.elsewhere])


@router.get("/board", response_model=list[BoardRowRead], summary="Running deadlines, most urgent first")
def board(session: SessionDep, user: CurrentUser, mine: bool = False) -> list[BoardRowRead]:
    return [BoardRowRead(petition_id=r.petition.id, number=r.petition.number, title=r.petition.title,
                         state=r.petition.state, due_kind=r.petition.due_kind, due_at=r.petition.due_at,
                         remaining_seconds=r.remaining_seconds, bucket=r.bucket,
                         leader_user_id=r.petition.leader_user_id, unit_id=r.petition.unit_id)
            for r in service.deadline_board(session=session, actor=user, leader_only=mine)]


@router.post("", response_model=PetitionRead, status_code=201, summary="Register a petition")
def create_petition(data: PetitionCreate, request: Request, response: Response, session: SessionDep,
                    user: CurrentUser, origin: OriginDep) -> PetitionRead:
    """The same ``client_key`` twice returns the first petition with 200."""
    petition, created = service.register_petition(session=session, actor=user, origin=origin, data=data)
    if not created:
        response.status_code = 200
    return present(session, petition, user, request_lang(request))


@router.get("", response_model=PetitionPage, summary="Petitions in your area")
def list_petitions(
    request: Request, session: SessionDep, user: CurrentUser,
    state: Annotated[list[PetitionState] | None, Query()] = None,
    subject_code: Annotated[str | None, Query(max_length=20)] = None,
    region_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    unit_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    led_by_me: bool = False, overdue: bool | None = None, repeat: bool | None = None, group: bool | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> PetitionPage:
    filters = service.PetitionFilter(state=[s.value for s in state] if state else None, subject_code=subject_code,
                                     region_id=region_id, unit_id=unit_id, led_by_me=led_by_me, overdue=overdue,
                                     repeat=repeat, group=group, q=q)
    rows, total = service.list_petitions(session=session, actor=user, filters=filters, page=page, size=size)
    lang = request_lang(request)
    return PetitionPage(items=summarize_page(session, rows, user, lang), total=total, page=page, size=size)


@router.get("/{petition_id}", response_model=PetitionRead, summary="One petition")
def get_petition(petition_id: int, request: Request, session: SessionDep, user: CurrentUser) -> PetitionRead:
    petition = service.get_petition(session=session, actor=user, petition_id=petition_id)
    return present(session, petition, user, request_lang(request))


@router.post("/{petition_id}/actions", response_model=PetitionRead, summary="Fire a workflow action")
def act(petition_id: int, data: PetitionAction, request: Request, session: SessionDep, user: CurrentUser,
        origin: OriginDep) -> PetitionRead:
    params = service.PetitionParams(note=data.note, unit_id=data.unit_id, leader_user_id=data.leader_user_id,
                                    extension_days=data.extension_days, higher_visit=data.higher_visit,
                                    dispute=data.dispute, case=data.case)
    petition = service.transition(session=session, actor=user, origin=origin, petition_id=petition_id,
                                  action=data.action, params=params)
    return present(session, petition, user, request_lang(request))


@router.get("/{petition_id}/history", response_model=list[HistoryRead], summary="The petition's history")
def petition_history(petition_id: int, session: SessionDep, user: CurrentUser) -> list[HistoryRead]:
    return [HistoryRead.model_validate(e) for e in service.timeline(session=session, actor=user,
                                                                     petition_id=petition_id)]


@router.post("/{petition_id}/documents", response_model=DocumentRead, status_code=201,
             summary="Add a document (scanned letter, photo, PDF) to a petition")
async def upload_document(petition_id: int, file: UploadFile, session: SessionDep, user: CurrentUser,
                          origin: OriginDep,
                          kind: Annotated[str, Form(max_length=12)] = "letter",
                          note: Annotated[str, Form(max_length=200)] = "") -> DocumentRead:
    """JPEG, PNG, WebP or PDF up to 10 MB, checked by content; the same file twice is kept once."""
    content = await file.read(MAX_BYTES + 1)
    doc = documents.add_document(session=session, actor=user, origin=origin, petition_id=petition_id,
                                 doc=documents.DocumentIn(filename=file.filename or "upload", content=content,
                                                          kind=kind, note=note))
    return DocumentRead.model_validate(doc)


@router.get("/{petition_id}/documents", response_model=list[DocumentRead], summary="A petition's documents")
def list_documents(petition_id: int, session: SessionDep, user: CurrentUser) -> list[DocumentRead]:
    return [DocumentRead.model_validate(d)
            for d in documents.documents_of(session=session, actor=user, petition_id=petition_id)]


@router.get("/documents/{document_id}/file", response_class=FileResponse, summary="Download a document")
def download_document(document_id: int, session: SessionDep, user: CurrentUser, origin: OriginDep) -> FileResponse:
    doc, path = documents.document_file(session=session, actor=user, origin=origin, document_id=document_id)
    return FileResponse(path, media_type=doc.content_type, filename=doc.filename,
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})
