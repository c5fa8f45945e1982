"""Mediation-centre pages: 我的纠纷, the intake desk, the dispute with its session, agreement and
follow-up forms, the agreement PDF, statistics, and the campaign board.

Routes are thin: they parse the form, call the same service functions as the API, and
hand the template what is already decided — which actions this user may take now (from
``allowed_actions``), the suggested organisations, what is overdue.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from civicgrid.auth.models import Role, User
from civicgrid.errors import DomainError, InvalidInput, NotFound
from civicgrid.mediation import agreement_pdf, campaigns, registry, service, stats
from civicgrid.mediation.models import (
    CAMPAIGN_KINDS,
    MEDIATION_KINDS,
    ORG_KINDS,
    PARTY_ROLES,
    RISK_LEVELS,
    SOURCES,
)
from civicgrid.mediation.parties import parties_of
from civicgrid.mediation.schemas import (
    AgreementIn,
    CampaignCreate,
    DisputeCreate,
    DisputeFromCase,
    ObligationIn,
    PartyIn,
    SessionIn,
)
from civicgrid.mediation.workflow import HANDOVER_LABELS, OUTCOME_LABELS, STATE_LABELS, WORKFLOW, DisputeState
from civicgrid.regions import service as regions
from civicgrid.regions.models import RegionLevel
from civicgrid.web.deps import OriginDep, SessionDep
from civicgrid.web.i18n import request_lang
from civicgrid.web.pagekit import (
    PageRoute,
    PageUser,
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

MEDIATION_ROLES = (Role.ADMIN, Role.OPERATOR, Role.HANDLER, Role.LEADER)
MediationUser = Annotated[User, Depends(require_page_roles(*MEDIATION_ROLES))]
DeskUser = Annotated[User, Depends(require_page_roles(Role.ADMIN, Role.OPERATOR))]
OBLIGATION_ROWS = 3
STATE_TONES = {
    DisputeState.REGISTERED: "new", DisputeState.ASSESSED: "waiting", DisputeState.ROUTED: "waiting",
    DisputeState.MEDIATING: "working", DisputeState.FAILED: "paused", DisputeState.FOLLOWING_UP: "check",
    DisputeState.CLOSED: "done", DisputeState.REFERRED: "done", DisputeState.WITHDRAWN: "void",
    DisputeState.DECLINED: "void",
}
# Which form fields each action needs (the template draws only those).
ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "assess": ("risk", "note"),
    "decline": ("note",),
    "route": ("org",),
    "accept": (),
    "return": ("note",),
    "hold_session": ("session",),
    "agree": ("agreement",),
    "agree_partial": ("agreement", "note"),
    "fail": ("note",),
    "refer_litigation": ("court", "note"),
    "refer_arbitration": ("court", "note"),
    "escalate": ("note",),
    "follow_up": ("method", "note"),
    "perform": ("obligation", "note"),
    "close": (),
    "withdraw": ("note",),
    "supervise": ("note",),
}
SETBACKS = {"decline", "return", "fail", "escalate", "withdraw", "refer_litigation", "refer_arbitration"}
FLASH = {"intake": ("已登记纠纷", "Dispute registered")}


def _base(request: Request, user: User, session: Session, name: str, ctx: dict[str, Any], *,
          status_code: int = 200) -> Response:
    ctx = {"state_labels": STATE_LABELS, "state_tones": STATE_TONES, "risk_levels": RISK_LEVELS,
           "outcome_labels": OUTCOME_LABELS, "handover_labels": HANDOVER_LABELS, "sources": SOURCES} | ctx
    return page(request, name, ctx, user=user, session=session, active="mediation", status_code=status_code)


def _flash(request: Request) -> tuple[str, str] | None:
    done = request.query_params.get("done")
    if not done:
        return None
    if done in FLASH:
        return FLASH[done]
    if done in WORKFLOW.actions:
        zh, en = WORKFLOW.action_label(done)
        return f"已完成：{zh}", f"Done: {en}"
    return None


def _local_datetime(raw: str) -> dt.datetime | None:
    """A ``datetime-local`` input in the city's time zone, as an aware instant."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return dt.datetime.fromisoformat(raw).replace(tzinfo=local_tz())
    except ValueError:
        raise InvalidInput("时间格式不正确", "The time is malformed") from None


def _decimal(raw: str) -> Decimal | None:
    raw = (raw or "").replace(",", "").strip()
    if not raw:
        return None
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise InvalidInput(f"金额“{raw}”不是数字", f"Amount '{raw}' is not a number") from None


def _areas(session: Session, user: User) -> list[tuple[Any, int]]:
    levels = [RegionLevel.DISTRICT, RegionLevel.STREET, RegionLevel.COMMUNITY, RegionLevel.GRID]
    nodes = regions.subtree(session=session, path=user.scope_path, levels=levels)
    base = user.scope_path.count("/")
    return [(r, max(r.path.count("/") - base, 0)) for r in nodes]


# -- 我的纠纷 ---------------------------------------------------------------------------


@router.get("/mediation")
def my_disputes(request: Request, session: SessionDep, user: MediationUser) -> Response:
    """The disputes waiting for this user: as mediator, or at their desk."""
    rows = service.my_disputes(session=session, actor=user)
    return _base(request, user, session, "mediation/mine.html", {
        "rows": rows, "now": dt.datetime.now(dt.UTC),
        "is_desk": user.role in (Role.OPERATOR, Role.ADMIN),
        "is_mediator": bool(registry.mediator_records(session=session, user=user)),
    })


@router.get("/mediation/disputes")
def dispute_list(request: Request, session: SessionDep, user: MediationUser) -> Response:
    """Every dispute in the user's area, newest first, with simple filters."""
    q = request.query_params
    state = q.get("state") or ""
    filters = service.DisputeFilter(state=[state] if state in DisputeState.__members__.values() else None,
                                    type_code=q.get("type") or None, q=(q.get("q") or "").strip()[:100] or None,
                                    criminal_risk=True if q.get("criminal") == "1" else None)
    page_no = parse_int(q.get("page")) or 1
    rows, total = service.list_disputes(session=session, actor=user, filters=filters, page=page_no, size=30)
    return _base(request, user, session, "mediation/list.html", {
        "rows": rows, "total": total, "page_no": page_no, "types": registry.list_types(session=session),
        "values": {"state": state, "type": q.get("type") or "", "q": q.get("q") or "", "criminal": q.get("criminal")},
    })


# -- the case page's dispute button ----------------------------------------------------


@router.get("/mediation/cases/{case_id}/dispute-link")
def case_dispute_link(request: Request, case_id: int, session: SessionDep, user: PageUser) -> Response:
    """The htmx fragment on a case page: "转为纠纷 / Raise as dispute" for the desk roles while the
    case has no dispute, else a link to its dispute; empty for anyone else."""
    try:
        link = service.case_dispute(session=session, actor=user, case_id=case_id)
    except DomainError:  # the fragment never replaces the page with a refusal
        link = service.CaseDispute(None)
    return page(request, "mediation/_case_link.html", {"link": link, "case_id": case_id,
                                                       "state_labels": STATE_LABELS, "state_tones": STATE_TONES},
                user=user, session=None)


# -- the intake desk --------------------------------------------------------------------


def _intake_page(request: Request, session: Session, user: User, *, values: dict[str, Any] | None = None,
                 error: DomainError | None = None) -> Response:
    lang = request_lang(request)
    case = None
    case_id = parse_int((values or {}).get("case_id") or request.query_params.get("case_id"))
    if case_id:
        from civicgrid.events.service import get_case

        case = get_case(session=session, actor=user, case_id=case_id)
    return _base(request, user, session, "mediation/new.html", {
        "types": registry.list_types(session=session), "areas": _areas(session, user), "case": case,
        "party_roles": PARTY_ROLES, "values": values or {}, "error": error_text(error, lang),
        "error_items": error_list(error, lang),
    }, status_code=error.status if error else 200)


@router.get("/mediation/new")
def intake_form(request: Request, session: SessionDep, user: DeskUser) -> Response:
    """The intake desk: a walk-in dispute, or one raised from a case (``?case_id=``)."""
    return _intake_page(request, session, user)


def _parties(form: Any) -> list[PartyIn]:
    parties = []
    for role in PARTY_ROLES:
        number = (form.get(f"{role}_id_number") or "").strip()
        name = (form.get(f"{role}_name") or "").strip()
        if not number and not name:
            continue
        parties.append(PartyIn(role=role, id_number=number or None, name=name or None,
                               phone=(form.get(f"{role}_phone") or "").strip() or None,
                               agent=(form.get(f"{role}_agent") or "").strip() or None))
    return parties


@router.post("/mediation/new")
async def intake(request: Request, session: SessionDep, user: DeskUser, origin: OriginDep) -> Response:
    """Register the dispute from the desk form; a refusal re-shows the form with what was typed."""
    form = await request.form()
    values = {k: v for k, v in form.items() if k != "csrf" and isinstance(v, str)}
    case_id = parse_int(values.get("case_id"))
    try:
        parties = _parties(form)
        common = {"type_code": values.get("type_code", ""), "amount": _decimal(values.get("amount", "")),
                  "people_count": parse_int(values.get("people_count")) or 2,
                  "risk_level": values.get("risk_level") or "low", "criminal_risk": values.get("criminal_risk") == "1",
                  "parties": parties}
        if case_id:
            data: Any = DisputeFromCase(**common)
        else:
            data = DisputeCreate(**common, title=values.get("title") or None, description=values.get("description", ""),
                                 region_code=values.get("region_code") or None,
                                 criminal_risk_note=values.get("criminal_risk_note") or None,
                                 client_key=values.get("client_key") or None)
    except ValidationError as exc:
        return _intake_page(request, session, user, values=values, error=invalid_form(exc, FIELD_LABELS))
    except DomainError as exc:
        return _intake_page(request, session, user, values=values, error=exc)
    if case_id:
        dispute, error = attempt(session, lambda: service.dispute_from_case(
            session=session, actor=user, origin=origin, case_id=case_id, data=data))
    else:
        result, error = attempt(session, lambda: service.register_dispute(
            session=session, actor=user, origin=origin, data=data))
        dispute = result[0] if result else None
    if error is not None or dispute is None:
        return _intake_page(request, session, user, values=values, error=error)
    return redirect(f"/mediation/disputes/{dispute.id}?done=intake")


FIELD_LABELS = {
    "type_code": ("纠纷类型", "Dispute type"), "description": ("纠纷事实", "Facts"), "amount": ("涉及金额", "Amount"),
    "people_count": ("涉及人数", "People involved"), "id_number": ("身份证号码", "ID number"),
    "phone": ("联系电话", "Phone"), "name": ("姓名", "Name"), "held_at": ("调解时间", "Time"),
    "place": ("地点", "Place"), "attendees": ("参加人员", "Attendees"), "record": ("调解记录", "Record"),
    "text": ("协议内容", "Agreement"), "obligations": ("履行事项", "Obligations"), "obligor": ("履行人", "Obligor"),
    "due_on": ("履行期限", "Due date"), "name_": ("名称", "Name"), "community_ids": ("社区", "Communities"),
    "starts_on": ("开始日期", "Start"), "ends_on": ("结束日期", "End"),
}


# -- one dispute ---------------------------------------------------------------------


@dataclass(frozen=True)
class ActionForm:
    """One action this user may take now, with the fields its form needs."""

    action: str
    label: tuple[str, str]
    fields: tuple[str, ...]
    setback: bool
    note_required: bool


def _detail(request: Request, session: Session, user: User, dispute_id: int, *,
            error: DomainError | None = None, values: dict[str, Any] | None = None) -> Response:
    dispute = service.get_dispute(session=session, actor=user, dispute_id=dispute_id)
    lang = request_lang(request)
    steps = service.allowed_actions(session=session, actor=user, dispute=dispute)
    forms = [ActionForm(s.action, (s.label_zh, s.label_en), ACTION_FIELDS.get(s.action, ("note",)),
                        s.action in SETBACKS, s.note_required) for s in steps]
    agreement = service.agreement_of(session=session, dispute=dispute)
    today = dt.datetime.now(local_tz()).date()
    case = None
    if dispute.case_id:
        from civicgrid.events.models import Case

        case = session.get(Case, dispute.case_id)
    petition = None
    if dispute.petition_id:
        from civicgrid.petitions.models import Petition

        petition = session.get(Petition, dispute.petition_id)
    ctx = {
        "d": dispute, "forms": forms, "parties": parties_of(session=session, dispute_id=dispute.id),
        "party_roles": PARTY_ROLES, "sessions": service.sessions_of(session=session, dispute=dispute),
        "agreement": agreement, "follow_ups": service.follow_ups_of(session=session, dispute=dispute),
        "history": service.timeline(session=session, actor=user, dispute_id=dispute.id),
        "history_labels": HISTORY_LABELS,
        "suggestions": registry.suggest(session=session, dispute=dispute)
        if any(f.action == "route" for f in forms) else [],
        "orgs": registry.list_orgs(session=session) if any(f.action == "route" for f in forms) else [],
        "org_kinds": ORG_KINDS, "mediation_kinds": MEDIATION_KINDS,
        "open_obligations": [o for o in agreement.obligations if o.performed_at is None] if agreement else [],
        "today": today, "now_local": dt.datetime.now(local_tz()).strftime("%Y-%m-%dT%H:%M"),
        "obligation_rows": range(1, OBLIGATION_ROWS + 1), "case": case, "petition": petition,
        "flash": _flash(request), "error": error_text(error, lang), "error_items": error_list(error, lang),
        "values": values or {},
    }
    return _base(request, user, session, "mediation/detail.html", ctx, status_code=error.status if error else 200)


HISTORY_LABELS = {
    "intake": ("登记", "Registered"), "add_party": ("添加当事人", "Party added"),
    "print_agreement": ("打印协议书", "Agreement printed"), "overdue": ("超期", "Overdue"),
    "obligation_overdue": ("义务逾期", "Obligation overdue"),
} | {s.action: (s.label_zh, s.label_en) for s in WORKFLOW.steps}


@router.get("/mediation/disputes/{dispute_id}")
def dispute_detail(request: Request, dispute_id: int, session: SessionDep, user: MediationUser) -> Response:
    """One dispute: facts, parties, sessions, agreement and follow-up, history, and this user's actions."""
    return _detail(request, session, user, dispute_id)


def _params(form: Any, action: str) -> service.DisputeParams:
    """The action's parameters from its form (validation errors become one InvalidInput)."""
    get = lambda k: (form.get(k) or "").strip()  # noqa: E731
    params = service.DisputeParams(note=get("note") or None)
    if action == "assess":
        params.risk_level = get("risk_level") or None
        params.criminal_risk = get("criminal_risk") == "1"
        params.criminal_risk_note = get("criminal_risk_note") or None
    elif action == "route":
        params.org_id, params.mediator_id = parse_int(get("org_id")), parse_int(get("mediator_id"))
        if not params.org_id:
            raise InvalidInput("请选择调解组织", "Choose a mediation organisation")
    elif action in ("refer_litigation", "refer_arbitration"):
        params.court_case_number = get("court_case_number") or None
    elif action == "perform":
        params.obligation_id = parse_int(get("obligation_id"))
    elif action == "follow_up":
        params.follow_up_method = get("follow_up_method") or "visit"
    elif action == "hold_session":
        params.session = SessionIn(held_at=_local_datetime(get("held_at")), place=get("place"),
                                   attendees=get("attendees"), record=get("record"),
                                   next_step=get("next_step") or None)
    elif action in ("agree", "agree_partial"):
        obligations = []
        for i in range(1, OBLIGATION_ROWS + 1):
            if not get(f"ob_description_{i}"):
                continue
            obligations.append(ObligationIn(obligor=get(f"ob_obligor_{i}"), description=get(f"ob_description_{i}"),
                                            amount=_decimal(get(f"ob_amount_{i}")),
                                            due_on=get(f"ob_due_on_{i}") or None))
        params.agreement = AgreementIn(text=get("text"), place=get("place") or None, obligations=obligations,
                                       signed_at=_local_datetime(get("signed_at")))
    return params


@router.post("/mediation/disputes/{dispute_id}/act")
async def act(request: Request, dispute_id: int, session: SessionDep, user: MediationUser,
              origin: OriginDep) -> Response:
    """Fire one workflow action from its form; a refusal re-shows the dispute with the reason."""
    form = await request.form()
    action = str(form.get("action") or "")
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    try:
        params = _params(form, action)
    except ValidationError as exc:
        return _detail(request, session, user, dispute_id, error=invalid_form(exc, FIELD_LABELS), values=values)
    except DomainError as exc:
        return _detail(request, session, user, dispute_id, error=exc, values=values)
    _, error = attempt(session, lambda: service.transition(session=session, actor=user, origin=origin,
                                                           dispute_id=dispute_id, action=action, params=params))
    if error is not None:
        return _detail(request, session, user, dispute_id, error=error, values=values)
    session.expire_all()
    try:
        service.get_dispute(session=session, actor=user, dispute_id=dispute_id)
    except NotFound:  # e.g. a mediator returned it and no longer sees it
        return redirect(f"/mediation?done={action}")
    return redirect(f"/mediation/disputes/{dispute_id}?done={action}")


@router.get("/mediation/disputes/{dispute_id}/agreement.pdf")
def agreement_file(dispute_id: int, session: SessionDep, user: MediationUser, origin: OriginDep) -> Response:
    """The agreement as a PDF to print and sign (the printing is recorded in the history)."""
    data, filename = agreement_pdf.render_for(session=session, actor=user, origin=origin, dispute_id=dispute_id)
    return Response(data, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{filename}"'})


# -- statistics -----------------------------------------------------------------------


@router.get("/mediation/stats")
def statistics(request: Request, session: SessionDep, user: MediationUser) -> Response:
    """Disputes by type, area, level and state, with the rates, over a date range."""
    q = request.query_params
    try:
        date_from = dt.date.fromisoformat(q["from"]) if q.get("from") else None
        date_to = dt.date.fromisoformat(q["to"]) if q.get("to") else None
    except ValueError:
        raise InvalidInput("日期格式应为 2026-11-01", "Dates look like 2026-11-01") from None
    figures = stats.dispute_stats(session=session, actor=user, date_from=date_from, date_to=date_to)
    names = {r.code: r for r, _ in _areas(session, user)}
    names[user.scope_region.code] = user.scope_region
    return _base(request, user, session, "mediation/stats.html", {
        "s": figures, "types": {t.code: t for t in registry.list_types(session=session, active_only=False)},
        "areas": names, "levels": {lv.value: (lv.label_zh, lv.label_en) for lv in RegionLevel},
        "values": {"from": q.get("from") or "", "to": q.get("to") or ""},
    })


# -- campaigns ------------------------------------------------------------------------


def _campaigns_page(request: Request, session: Session, user: User, *, error: DomainError | None = None,
                    values: dict[str, Any] | None = None) -> Response:
    lang = request_lang(request)
    communities = [r for r, _ in _areas(session, user) if r.level is RegionLevel.COMMUNITY]
    return _base(request, user, session, "mediation/campaigns.html", {
        "campaigns": campaigns.list_campaigns(session=session, actor=user), "communities": communities,
        "kinds": CAMPAIGN_KINDS, "can_create": user.role in (Role.OPERATOR, Role.ADMIN),
        "error": error_text(error, lang), "error_items": error_list(error, lang), "values": values or {},
        "today": dt.datetime.now(local_tz()).date(),
    }, status_code=error.status if error else 200)


@router.get("/mediation/campaigns")
def campaign_list(request: Request, session: SessionDep, user: MediationUser) -> Response:
    """Clearance campaigns the user may see, and the form to start one."""
    return _campaigns_page(request, session, user)


@router.post("/mediation/campaigns")
async def campaign_create(request: Request, session: SessionDep, user: DeskUser, origin: OriginDep) -> Response:
    """Start a campaign over the ticked communities."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    try:
        data = CampaignCreate(name=values.get("name", ""), kind=values.get("kind") or "clearance",
                              starts_on=values.get("starts_on") or None, ends_on=values.get("ends_on") or None,
                              community_ids=[parse_int(v) for v in form.getlist("community_ids") if parse_int(v)],
                              note=values.get("note") or None)
    except ValidationError as exc:
        return _campaigns_page(request, session, user, error=invalid_form(exc, FIELD_LABELS), values=values)
    campaign, error = attempt(session, lambda: campaigns.create_campaign(session=session, actor=user, origin=origin,
                                                                         data=data))
    if error is not None or campaign is None:
        return _campaigns_page(request, session, user, error=error, values=values)
    return redirect(f"/mediation/campaigns/{campaign.id}")


@router.get("/mediation/campaigns/{campaign_id}")
def campaign_board(request: Request, campaign_id: int, session: SessionDep, user: MediationUser) -> Response:
    """The campaign board: per-community progress, the monthly check and the list with owners."""
    board = campaigns.board(session=session, actor=user, campaign_id=campaign_id)
    from civicgrid.auth.models import User as UserModel

    owners = {i.owner_user_id for i in board.items if i.owner_user_id}
    names = {u.id: u.display_name for u in session.query(UserModel).filter(UserModel.id.in_(owners))} if owners else {}
    return _base(request, user, session, "mediation/board.html", {
        "board": board, "owners": names, "kinds": CAMPAIGN_KINDS, "today": dt.datetime.now(local_tz()).date(),
        "can_refresh": user.role in (Role.OPERATOR, Role.ADMIN),
    })


@router.post("/mediation/campaigns/{campaign_id}/refresh")
def campaign_refresh(campaign_id: int, session: SessionDep, user: DeskUser, origin: OriginDep) -> Response:
    """Put newly registered unresolved disputes on the list."""
    campaigns.refresh_campaign(session=session, actor=user, origin=origin, campaign_id=campaign_id)
    return redirect(f"/mediation/campaigns/{campaign_id}")



# -- the registry ---------------------------------------------------------------------


def _registry_page(request: Request, session: Session, user: User, *, error: DomainError | None = None,
                   values: dict[str, Any] | None = None, done: str | None = None) -> Response:
    from sqlalchemy import select as sql_select

    lang = request_lang(request)
    orgs = registry.list_orgs(session=session)
    loads = registry.org_loads(session=session, org_ids=[o.id for o in orgs])
    # Accounts that can be registered as mediators: handlers and operators in the user's area.
    accounts = list(session.scalars(sql_select(User).where(
        User.role.in_([Role.HANDLER, Role.OPERATOR]), User.active.is_(True),
        User.scope_path.startswith(user.scope_path)).order_by(User.username)))
    levels = [RegionLevel.CITY, RegionLevel.DISTRICT, RegionLevel.STREET, RegionLevel.COMMUNITY]
    return _base(request, user, session, "mediation/registry.html", {
        "orgs": orgs, "loads": loads, "mediators": {o.id: registry.list_mediators(session=session, org_id=o.id)
                                                    for o in orgs},
        "types": registry.list_types(session=session), "org_kinds": ORG_KINDS, "mediation_kinds": MEDIATION_KINDS,
        "places": [(r, d) for r, d in _areas(session, user) if r.level in levels] or
        [(user.scope_region, 0)], "accounts": accounts, "error": error_text(error, lang),
        "error_items": error_list(error, lang), "values": values or {}, "done": done,
    }, status_code=error.status if error else 200)


@router.get("/mediation/registry")
def registry_page(request: Request, session: SessionDep, user: DeskUser) -> Response:
    """The registry of mediation organisations and mediators, with their load."""
    return _registry_page(request, session, user, done=request.query_params.get("done"))


@router.post("/mediation/registry/orgs")
async def registry_add_org(request: Request, session: SessionDep, user: DeskUser, origin: OriginDep) -> Response:
    """Register a mediation organisation."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    get = lambda k: (values.get(k) or "").strip()  # noqa: E731
    org, error = attempt(session, lambda: registry.create_org(
        session=session, actor=user, origin=origin, code=get("code"), name_zh=get("name_zh"), kind=get("kind"),
        region_id=parse_int(get("region_id")) or 0, specialties=[str(v) for v in form.getlist("specialties")],
        capacity=parse_int(get("capacity")) or 30, phone=get("phone") or None, address=get("address") or None))
    if error is not None:
        return _registry_page(request, session, user, error=error, values=values)
    return redirect("/mediation/registry?done=org")


@router.post("/mediation/registry/mediators")
async def registry_add_mediator(request: Request, session: SessionDep, user: DeskUser,
                                origin: OriginDep) -> Response:
    """Register a mediator of an organisation (with an account, to act in civicgrid)."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    get = lambda k: (values.get(k) or "").strip()  # noqa: E731
    if not get("name"):
        return _registry_page(request, session, user, values=values,
                              error=InvalidInput("请填写调解员姓名", "Give the mediator's name"))
    _, error = attempt(session, lambda: registry.add_mediator(
        session=session, actor=user, origin=origin, org_id=parse_int(get("org_id")) or 0, name=get("name"),
        user_id=parse_int(get("user_id")), title=get("title"), phone=get("phone") or None,
        specialties=[str(v) for v in form.getlist("specialties")], max_load=parse_int(get("max_load")) or 10))
    if error is not None:
        return _registry_page(request, session, user, error=error, values=values)
    return redirect("/mediation/registry?done=mediator")
