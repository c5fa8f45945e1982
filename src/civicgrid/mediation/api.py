"""Mediation API (/api/mediation): thin — parse, call the service, shape the answer."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session

from civicgrid.auth.models import Role, User
from civicgrid.mediation import agreement_pdf, campaigns, registry, service, stats
from civicgrid.mediation.models import Dispute, DisputeParty
from civicgrid.mediation.parties import parties_of_many, party_read
from civicgrid.mediation.schemas import (
    AgreementRead,
    CampaignBoardRead,
    CampaignCreate,
    CampaignItemRead,
    CampaignItemUpdate,
    CampaignRead,
    CommunityProgressRead,
    DisputeAction,
    DisputeCreate,
    DisputeFromCase,
    DisputePage,
    DisputeRead,
    HistoryRead,
    MediatorRead,
    MediatorWrite,
    OrgRead,
    OrgWrite,
    PartyIn,
    PartyRead,
    SessionRead,
    StatsRead,
    SuggestionRead,
    TypeRead,
    TypeWrite,
)
from civicgrid.mediation.workflow import STATE_LABELS, DisputeState
from civicgrid.web.deps import CurrentUser, OriginDep, SessionDep, require_roles
from civicgrid.web.i18n import request_lang

router = APIRouter(prefix="/api/mediation", tags=["mediation"])

StaffUser = Annotated[User, Depends(require_roles(Role.ADMIN, Role.OPERATOR))]
AdminUser = Annotated[User, Depends(require_roles(Role.ADMIN))]


def present(session: Session, dispute: Dispute, actor: User, lang: str,
            page: tuple[service.DisputeFacts, dict[int, list[DisputeParty]]] | None = None) -> DisputeRead:
    """The API view of a dispute for ``actor``: parties masked, the actions they may fire now.

    ``page``: the facts and parties read for the whole list the dispute is on (``present_page``).
    """
    facts, parties = page or (service.DisputeFacts(session, actor, [dispute]),
                              parties_of_many(session=session, dispute_ids=[dispute.id]))
    zh, en = STATE_LABELS[dispute.state]
    return DisputeRead(
        id=dispute.id, number=dispute.number, source=dispute.source, case_id=dispute.case_id,
        petition_id=dispute.petition_id, type_code=dispute.type.code,
        type_name=dispute.type.name_en if lang == "en" and dispute.type.name_en else dispute.type.name_zh,
        title=dispute.title, description=dispute.description, amount=dispute.amount,
        people_count=dispute.people_count, is_group=dispute.is_group, risk_level=dispute.risk_level,
        criminal_risk=dispute.criminal_risk, criminal_risk_note=dispute.criminal_risk_note,
        region_id=dispute.region_id, desk_region_id=dispute.desk_region_id, level=dispute.level.value,
        state=dispute.state, state_label=en if lang == "en" else zh, org_id=dispute.org_id,
        org_name=dispute.org.name_zh if dispute.org else None, mediator_id=dispute.mediator_id,
        mediator_name=dispute.mediator.name if dispute.mediator else None, received_at=dispute.received_at,
        accepted_at=dispute.accepted_at, outcome_at=dispute.outcome_at, closed_at=dispute.closed_at,
        due_at=dispute.due_at, overdue=dispute.overdue, outcome=dispute.outcome, handover=dispute.handover,
        court_case_number=dispute.court_case_number, escalations_count=dispute.escalations_count,
        sessions_count=dispute.sessions_count,
        parties=[party_read(p) for p in parties.get(dispute.id, [])],
        allowed=[s.action for s in service.allowed_actions(session=session, actor=actor, dispute=dispute,
                                                           facts=facts)],
    )


def present_page(session: Session, disputes: list[Dispute], actor: User, lang: str) -> list[DisputeRead]:
    """API views of a page of disputes, with what they need read once for the page."""
    page = (service.DisputeFacts(session, actor, disputes),
            parties_of_many(session=session, dispute_ids=[d.id for d in disputes]))
    return [present(session, d, actor, lang, page) for d in disputes]


# -- registry -------------------------------------------------------------------------


@router.get("/types", response_model=list[TypeRead], summary="Dispute types")
def types(session: SessionDep, user: CurrentUser, include_inactive: bool = False) -> list[TypeRead]:
    return [TypeRead.model_validate(t) for t in registry.list_types(session=session, active_only=not include_inactive)]


@router.put("/types/{code}", response_model=TypeRead, summary="Create or change a dispute type")
def save_type(code: str, data: TypeWrite, session: SessionDep, user: AdminUser, origin: OriginDep) -> TypeRead:
    values = data.model_dump() | {"code": code}
    return TypeRead.model_validate(registry.save_type(session=session, actor=user, origin=origin, **values))


@router.get("/orgs", response_model=list[OrgRead], summary="Mediation organisations")
def orgs(session: SessionDep, user: CurrentUser) -> list[OrgRead]:
    return [_org(o) for o in registry.list_orgs(session=session)]


@router.post("/orgs", response_model=OrgRead, status_code=201, summary="Register a mediation organisation")
def create_org(data: OrgWrite, session: SessionDep, user: StaffUser, origin: OriginDep) -> OrgRead:
    return _org(registry.create_org(session=session, actor=user, origin=origin, **data.model_dump()))


def _org(org) -> OrgRead:
    return OrgRead(id=org.id, code=org.code, name_zh=org.name_zh, name_en=org.name_en, kind=org.kind,
                   mediation_kind=org.mediation_kind, region_id=org.region_id, level=org.level.value,
                   specialties=org.specialties or [], capacity=org.capacity, active=org.active)


@router.get("/orgs/{org_id}/mediators", response_model=list[MediatorRead], summary="An organisation's mediators")
def mediators(org_id: int, session: SessionDep, user: CurrentUser) -> list[MediatorRead]:
    org = registry.get_org(session=session, org_id=org_id)
    return [MediatorRead.model_validate(m) for m in registry.list_mediators(session=session, org_id=org.id)]


@router.post("/orgs/{org_id}/mediators", response_model=MediatorRead, status_code=201, summary="Register a mediator")
def add_mediator(org_id: int, data: MediatorWrite, session: SessionDep, user: StaffUser,
                 origin: OriginDep) -> MediatorRead:
    return MediatorRead.model_validate(registry.add_mediator(session=session, actor=user, origin=origin,
                                                             org_id=org_id, **data.model_dump()))


# -- disputes -------------------------------------------------------------------------


@router.post("/disputes", response_model=DisputeRead, status_code=201, summary="Register a dispute (walk-in)")
def create_dispute(data: DisputeCreate, request: Request, response: Response, session: SessionDep,
                   user: CurrentUser, origin: OriginDep) -> DisputeRead:
    """The same ``client_key`` twice returns the first dispute with 200."""
    dispute, created = service.register_dispute(session=session, actor=user, origin=origin, data=data)
    if not created:
        response.status_code = 200
    return present(session, dispute, user, request_lang(request))


@router.post("/disputes/from-case/{case_id}", response_model=DisputeRead, status_code=201,
             summary="Raise a dispute from a case")
def from_case(case_id: int, data: DisputeFromCase, request: Request, session: SessionDep, user: StaffUser,
              origin: OriginDep) -> DisputeRead:
    dispute = service.dispute_from_case(session=session, actor=user, origin=origin, case_id=case_id, data=data)
    return present(session, dispute, user, request_lang(request))


@router.get("/disputes", response_model=DisputePage, summary="Disputes in your area")
def list_disputes(
    request: Request, session: SessionDep, user: CurrentUser,
    state: Annotated[list[DisputeState] | None, Query()] = None,
    type_code: Annotated[str | None, Query(max_length=20)] = None,
    region_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    org_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    mine: bool = False, overdue: bool | None = None, criminal_risk: bool | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> DisputePage:
    filters = service.DisputeFilter(state=[s.value for s in state] if state else None, type_code=type_code,
                                    region_id=region_id, org_id=org_id, mine=mine, overdue=overdue,
                                    criminal_risk=criminal_risk, q=q)
    rows, total = service.list_disputes(session=session, actor=user, filters=filters, page=page, size=size)
    lang = request_lang(request)
    return DisputePage(items=present_page(session, rows, user, lang), total=total, page=page, size=size)


@router.get("/disputes/{dispute_id}", response_model=DisputeRead, summary="One dispute")
def get_dispute(dispute_id: int, request: Request, session: SessionDep, user: CurrentUser) -> DisputeRead:
    dispute = service.get_dispute(session=session, actor=user, dispute_id=dispute_id)
    return present(session, dispute, user, request_lang(request))


@router.post("/disputes/{dispute_id}/actions", response_model=DisputeRead, summary="Fire a workflow action")
def act(dispute_id: int, data: DisputeAction, request: Request, session: SessionDep, user: CurrentUser,
        origin: OriginDep) -> DisputeRead:
    params = service.DisputeParams(**data.model_dump(exclude={"action", "session", "agreement"}),
                                   session=data.session, agreement=data.agreement)
    dispute = service.transition(session=session, actor=user, origin=origin, dispute_id=dispute_id,
                                 action=data.action, params=params)
    return present(session, dispute, user, request_lang(request))


@router.post("/disputes/{dispute_id}/parties", response_model=PartyRead, status_code=201, summary="Add a party")
def add_party(dispute_id: int, data: PartyIn, session: SessionDep, user: CurrentUser,
              origin: OriginDep) -> PartyRead:
    return party_read(service.add_party(session=session, actor=user, origin=origin, dispute_id=dispute_id,
                                        data=data))


@router.get("/disputes/{dispute_id}/history", response_model=list[HistoryRead], summary="The dispute's history")
def dispute_history(dispute_id: int, session: SessionDep, user: CurrentUser) -> list[HistoryRead]:
    return [HistoryRead.model_validate(e) for e in service.timeline(session=session, actor=user, dispute_id=dispute_id)]


@router.get("/disputes/{dispute_id}/sessions", response_model=list[SessionRead], summary="Mediation sessions")
def dispute_sessions(dispute_id: int, session: SessionDep, user: CurrentUser) -> list[SessionRead]:
    dispute = service.get_dispute(session=session, actor=user, dispute_id=dispute_id)
    return [SessionRead.model_validate(s) for s in service.sessions_of(session=session, dispute=dispute)]


@router.get("/disputes/{dispute_id}/agreement", response_model=AgreementRead | None, summary="The agreement")
def dispute_agreement(dispute_id: int, session: SessionDep, user: CurrentUser) -> AgreementRead | None:
    dispute = service.get_dispute(session=session, actor=user, dispute_id=dispute_id)
    agreement = service.agreement_of(session=session, dispute=dispute)
    return AgreementRead.model_validate(agreement) if agreement else None


@router.get("/disputes/{dispute_id}/agreement.pdf", summary="The agreement as a PDF to sign",
            response_class=Response, responses={200: {"content": {"application/pdf": {}}}})
def agreement_file(dispute_id: int, session: SessionDep, user: CurrentUser, origin: OriginDep) -> Response:
    data, filename = agreement_pdf.render_for(session=session, actor=user, origin=origin, dispute_id=dispute_id)
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{filename}"'})


@router.get("/disputes/{dispute_id}/suggestions", response_model=list[SuggestionRead],
            summary="Suggested organisations and mediators")
def suggestions(dispute_id: int, session: SessionDep, user: CurrentUser) -> list[SuggestionRead]:
    dispute = service.get_dispute(session=session, actor=user, dispute_id=dispute_id)
    return [SuggestionRead(org_id=s.org.id, org_name=s.org.name_zh, level=s.org.level.value,
                           mediator_id=s.mediator.id if s.mediator else None,
                           mediator_name=s.mediator.name if s.mediator else None, score=s.score, load=s.load,
                           capacity=s.org.capacity, reasons_zh=[r[0] for r in s.reasons],
                           reasons_en=[r[1] for r in s.reasons])
            for s in registry.suggest(session=session, dispute=dispute)]


@router.get("/stats", response_model=StatsRead, summary="Dispute statistics in your area")
def dispute_stats(session: SessionDep, user: CurrentUser, date_from: dt.date | None = None,
                  date_to: dt.date | None = None,
                  region_id: Annotated[int | None, Query(ge=1, le=2**62)] = None) -> StatsRead:
    figures = stats.dispute_stats(session=session, actor=user, date_from=date_from, date_to=date_to,
                                  region_id=region_id)
    return StatsRead.model_validate(figures, from_attributes=True)


# -- campaigns ------------------------------------------------------------------------


@router.get("/campaigns", response_model=list[CampaignRead], summary="Clearance campaigns")
def list_campaigns(session: SessionDep, user: CurrentUser) -> list[CampaignRead]:
    return [CampaignRead.model_validate(c) for c in campaigns.list_campaigns(session=session, actor=user)]


@router.post("/campaigns", response_model=CampaignBoardRead, status_code=201, summary="Start a campaign")
def create_campaign(data: CampaignCreate, session: SessionDep, user: StaffUser,
                    origin: OriginDep) -> CampaignBoardRead:
    campaign = campaigns.create_campaign(session=session, actor=user, origin=origin, data=data)
    return board_read(campaigns.board(session=session, actor=user, campaign_id=campaign.id))


@router.get("/campaigns/{campaign_id}", response_model=CampaignBoardRead, summary="A campaign's board")
def campaign_board(campaign_id: int, session: SessionDep, user: CurrentUser,
                   today: dt.date | None = None) -> CampaignBoardRead:
    return board_read(campaigns.board(session=session, actor=user, campaign_id=campaign_id, today=today))


@router.post("/campaigns/{campaign_id}/refresh", response_model=CampaignBoardRead,
             summary="Add newly registered unresolved disputes")
def refresh(campaign_id: int, session: SessionDep, user: StaffUser, origin: OriginDep) -> CampaignBoardRead:
    campaigns.refresh_campaign(session=session, actor=user, origin=origin, campaign_id=campaign_id)
    return board_read(campaigns.board(session=session, actor=user, campaign_id=campaign_id))


@router.patch("/campaigns/{campaign_id}/items/{item_id}", response_model=CampaignItemRead,
              summary="Set an item's owner and target date")
def update_item(campaign_id: int, item_id: int, data: CampaignItemUpdate, session: SessionDep, user: StaffUser,
                origin: OriginDep) -> CampaignItemRead:
    item = campaigns.update_item(session=session, actor=user, origin=origin, campaign_id=campaign_id,
                                 item_id=item_id, owner_user_id=data.owner_user_id, target_on=data.target_on)
    return _item(item)


def _item(item) -> CampaignItemRead:
    return CampaignItemRead(id=item.id, dispute_id=item.dispute_id, dispute_number=item.dispute.number,
                            dispute_state=item.dispute.state, community_id=item.community_id,
                            owner_user_id=item.owner_user_id, target_on=item.target_on)


def board_read(board: campaigns.CampaignBoard) -> CampaignBoardRead:
    """The API shape of a campaign board."""
    return CampaignBoardRead(
        campaign=CampaignRead.model_validate(board.campaign), months=board.months,
        communities=[CommunityProgressRead(community_id=p.community.id, community_name=p.community.name_zh,
                                           total=p.total, cleared=p.cleared, resolved=p.resolved,
                                           overdue=p.overdue, rate=p.rate, monthly=p.monthly)
                     for p in board.communities],
        items=[_item(i) for i in board.items])
