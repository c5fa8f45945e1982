"""Case API (/api/cases): thin — parse, call the service, shape the answer."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from civicgrid.auth.models import Role, User
from civicgrid.events import attachments, intake_queue, listing, service
from civicgrid.events.duplicates import duplicate_candidates
from civicgrid.events.models import Case, Channel
from civicgrid.events.schemas import (
    CaseCreate,
    CasePage,
    CaseRead,
    CommentIn,
    DuplicateRead,
    HistoryEntryRead,
    TransitionIn,
    case_read,
)
from civicgrid.events.workflow import CaseState
from civicgrid.web.deps import CurrentUser, OriginDep, SessionDep, SignedClaim
from civicgrid.web.i18n import request_lang

router = APIRouter(prefix="/api/cases", tags=["cases"])

# Who may read a reporter's phone in clear: those who must call them back or work the case.
PHONE_ROLES = {Role.OPERATOR, Role.HANDLER}


def present(case: Case, actor: User, lang: str) -> CaseRead:
    """The API view of ``case`` for ``actor``, in ``lang``."""
    return case_read(
        case,
        allowed=[t.action for t in service.allowed_actions(actor, case)],
        show_phone=actor.role in PHONE_ROLES,
        lang=lang,
    )


@router.post("", status_code=201, response_model=CaseRead, summary="Report a case (any channel)")
async def create_case(data: CaseCreate, request: Request, response: Response, claim: SignedClaim,
                      origin: OriginDep) -> CaseRead:
    """Intake; the same ``client_key`` twice returns the first case with 200."""
    lang = request_lang(request)

    def answer(case: Case, actor: User, created: bool) -> tuple[CaseRead, bool]:
        return present(case, actor, lang), created

    read, created = await intake_queue.take_in(claim=claim, origin=origin, data=data, answer=answer)
    if not created:
        response.status_code = 200
    return read


@router.get("", response_model=CasePage, summary="List cases in your area")
def list_cases(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    state: Annotated[list[CaseState] | None, Query()] = None,
    category_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    region_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    channel: Channel | None = None,
    unit_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    overdue: bool | None = None,
    received_from: dt.datetime | None = None,
    received_to: dt.datetime | None = None,
    registered_from: dt.datetime | None = None,
    registered_to: dt.datetime | None = None,
    closed_from: dt.datetime | None = None,
    closed_to: dt.datetime | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> CasePage:
    """Newest first; every filter combines with your region scope.

    ``unit_id`` is the unit the case is dispatched to (承办单位). The date ranges (received,
    registered, closed) are ISO 8601 instants, local time without an offset: ``*_from``
    inclusive, ``*_to`` exclusive; a range that does not start before it ends is a 422.
    ``q`` finds cases holding every word of it (cut into Chinese words) in their title, address
    or description, or the case whose 15-digit number it is; a ``q`` without letters or digits is a 422.
    """
    filters = listing.CaseFilter(
        state=[s.value for s in state] if state else None, category_id=category_id, region_id=region_id,
        channel=channel.value if channel else None, unit_id=unit_id, overdue=overdue,
        received_from=_aware(received_from), received_to=_aware(received_to),
        registered_from=_aware(registered_from), registered_to=_aware(registered_to),
        closed_from=_aware(closed_from), closed_to=_aware(closed_to), q=q,
    )
    rows, total, exact, more = listing.list_cases(session=session, actor=user, filters=filters, page=page, size=size)
    return CasePage(items=[present(c, user, request_lang(request)) for c in rows], page=page, size=size, total=total,
                    total_is_exact=exact, has_more=more)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        from zoneinfo import ZoneInfo

        from civicgrid.settings import get_settings

        return value.replace(tzinfo=ZoneInfo(get_settings().timezone))
    return value


@router.get("/{case_id}", response_model=CaseRead)
def read_case(case_id: int, request: Request, session: SessionDep,
              user: CurrentUser) -> CaseRead:
    """One case, if it is in your scope."""
    return present(service.get_case(session=session, actor=user, case_id=case_id), user, request_lang(request))


@router.post("/{case_id}/actions", response_model=CaseRead, summary="Fire a workflow action")
def fire_action(case_id: int, data: TransitionIn, request: Request, session: SessionDep, user: CurrentUser,
                origin: OriginDep) -> CaseRead:
    """register, dispatch, accept, return, resolve, verify, callback, close, escalate… (see /api/workflow)."""
    case = service.transition(
        session=session, actor=user, origin=origin, case_id=case_id, action=data.action,
        params=service.ActionParams(note=data.note, unit_id=data.unit_id, master_id=data.master_id,
                                    satisfaction=data.satisfaction, extension_days=data.extension_days),
    )
    return present(case, user, request_lang(request))


@router.post("/{case_id}/comments", response_model=HistoryEntryRead, status_code=201)
def comment(case_id: int, data: CommentIn, session: SessionDep, user: CurrentUser,
            origin: OriginDep) -> HistoryEntryRead:
    """Add a remark to the case history."""
    entry = service.add_comment(session=session, actor=user, origin=origin, case_id=case_id, note=data.note)
    session.flush()
    return HistoryEntryRead.model_validate(entry)


@router.get("/{case_id}/history", response_model=list[HistoryEntryRead])
def case_history(case_id: int, session: SessionDep, user: CurrentUser) -> list[HistoryEntryRead]:
    """Every step, oldest first."""
    return [HistoryEntryRead.model_validate(e) for e in service.timeline(session=session, actor=user,
                                                                          case_id=case_id)]


@router.get("/{case_id}/duplicates", response_model=list[DuplicateRead])
def duplicates(case_id: int, session: SessionDep, user: CurrentUser) -> list[DuplicateRead]:
    """Possible duplicates: same category, within 100 m and 72 h, similar text."""
    case = service.get_case(session=session, actor=user, case_id=case_id)
    return [
        DuplicateRead(id=c.case.id, number=c.case.number, title=c.case.title, state=c.case.state,
                      distance_m=c.distance_m, similarity=c.similarity, received_at=c.case.received_at)
        for c in duplicate_candidates(session=session, actor=user, case=case)
    ]


router.include_router(attachments.router)
