"""Case pages: 我的待办 inbox, the case list, the new-case form and the case detail with its actions.

Routes are thin: they parse the form, call the same service functions as the API, and
hand the template everything already decided — which actions this user may take (from
``allowed_actions``), which fields each action needs, how much time is left and whether
the case is overdue.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from civicgrid.auth.models import Role, User
from civicgrid.db import utcnow
from civicgrid.errors import DomainError, InvalidInput, NotFound
from civicgrid.events import attachments, config, listing, service
from civicgrid.events.duplicates import duplicate_candidates
from civicgrid.events.intake import intake_case
from civicgrid.events.models import (
    CHANNEL_LABELS,
    REQUEST_TYPE_LABELS,
    URGENCY_LABELS,
    Case,
    Category,
    Channel,
    Urgency,
)
from civicgrid.events.schemas import CaseCreate, mask_phone
from civicgrid.events.scope import visible_cases
from civicgrid.events.workflow import (
    ACTIONS,
    CLOCK_RUNNING,
    OPEN,
    SATISFACTION,
    STATE_LABELS,
    CaseState,
    Transition,
    action_labels,
)
from civicgrid.notifications import service as notifications
from civicgrid.notifications.models import KINDS as NOTIFICATION_KINDS
from civicgrid.regions import service as regions
from civicgrid.regions.models import Region, RegionLevel
from civicgrid.settings import get_settings
from civicgrid.units.models import Unit
from civicgrid.units.service import list_units
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
    is_htmx,
    page,
    parse_int,
    redirect,
)
from civicgrid.web.templating import local_tz

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 20
# Who reads a reporter's phone in clear (as in the API): those who call back or work the case.
PHONE_ROLES = {Role.OPERATOR, Role.HANDLER}
# Actions that are a single click; every other action opens a small form.
ONE_CLICK = {"register", "accept", "verify", "close", "resume", "approve_extension"}
# Actions that turn a case back or away: drawn as secondary (red) forms, folded by default.
SETBACKS = {"reject", "return", "rework", "reopen", "escalate", "suspend", "deny_extension", "merge", "answer"}
# History entries that are not workflow actions.
HISTORY_LABELS = {
    "intake": ("接报登记", "Reported"),
    "comment": ("备注", "Comment"),
    "attach": ("上传附件", "Attachment added"),
    "merged_in": ("合并入重复事件", "Duplicate merged in"),
    "overdue": ("超期", "Overdue"),
    "due_soon": ("即将到期", "Due soon"),
    "to_dispute": ("转为矛盾纠纷", "Raised as a dispute"),
    "dispute_outcome": ("纠纷调处结果", "Dispute outcome"),
}


# --------------------------------------------------------------------------------------
# What the templates receive
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadlineView:
    """One deadline as shown: what, when, how long is left (negative: overdue) and the verdict."""

    label: tuple[str, str]
    due_at: dt.datetime | None
    remaining_seconds: float | None
    overdue: bool
    paused: bool = False


@dataclass(frozen=True)
class ActionForm:
    """One action this user may take now, with the fields its form needs."""

    action: str
    label: tuple[str, str]
    one_click: bool
    setback: bool
    note_required: bool
    unit: bool = False
    satisfaction: bool = False
    extension_days: bool = False
    master: bool = False


@dataclass(frozen=True)
class HistoryView:
    """One timeline line."""

    at: dt.datetime
    actor: str
    label: tuple[str, str]
    from_state: str | None
    to_state: str | None
    note: str | None
    channel: str


@dataclass
class CaseRow:
    """A case in a list: the case plus the computed overdue flag and time left."""

    case: Case
    overdue: bool
    remaining_seconds: float | None


@dataclass
class FormState:
    """Values and messages of a form being re-shown after a refusal."""

    values: FormValues = field(default_factory=FormValues)
    error: str = ""
    items: list[str] = field(default_factory=list)


def case_overdue(case: Case, now: dt.datetime) -> bool:
    """Whether an open case has passed its completion (or, while dispatched, acceptance) deadline."""
    if case.state not in OPEN:
        return False
    if case.overdue or (case.state == CaseState.DISPATCHED and case.accept_overdue):
        return True
    if case.state in CLOCK_RUNNING and case.finish_due_at is not None and case.finish_due_at < now:
        return True
    return case.state == CaseState.DISPATCHED and case.accept_due_at is not None and case.accept_due_at < now


def case_row(case: Case, now: dt.datetime) -> CaseRow:
    """A list row: overdue flag and wall-clock time left to the completion deadline."""
    remaining = None
    if case.state in CLOCK_RUNNING and case.finish_due_at is not None:
        remaining = (case.finish_due_at - now).total_seconds()
    return CaseRow(case, case_overdue(case, now), remaining)


def deadlines(case: Case, now: dt.datetime) -> list[DeadlineView]:
    """The deadlines that matter in the case's state, with time left computed against ``now``."""
    views: list[DeadlineView] = []
    if case.state == CaseState.DISPATCHED and case.accept_due_at is not None:
        left = (case.accept_due_at - now).total_seconds()
        views.append(DeadlineView(("签收时限", "Accept by"), case.accept_due_at, left,
                                  left < 0 or case.accept_overdue))
    if case.state in CLOCK_RUNNING and case.finish_due_at is not None:
        left = (case.finish_due_at - now).total_seconds()
        views.append(DeadlineView(("办结时限", "Resolve by"), case.finish_due_at, left, left < 0 or case.overdue))
    if case.state == CaseState.SUSPENDED:
        views.append(DeadlineView(("办结时限（已暂停计时）", "Resolve by (clock paused)"), None,
                                  case.remaining_seconds, bool(case.remaining_seconds is not None
                                                               and case.remaining_seconds < 0), paused=True))
    return views


def action_forms(actor: User, case: Case) -> list[ActionForm]:
    """The forms of the actions ``actor`` may take on ``case`` now (one per action)."""
    forms: dict[str, ActionForm] = {}
    for t in service.allowed_actions(actor, case):
        if t.action in forms:
            continue
        forms[t.action] = _action_form(t)
    # The way forward first, then what turns the case back or away.
    return sorted(forms.values(), key=lambda f: f.setback)


def _action_form(t: Transition) -> ActionForm:
    a = t.action
    return ActionForm(
        action=a, label=(t.label_zh, t.label_en), one_click=a in ONE_CLICK and not t.note_required,
        setback=a in SETBACKS, note_required=t.note_required, unit=a == "dispatch",
        satisfaction=a == "callback", extension_days=a == "request_extension", master=a == "merge",
    )


def history_views(entries: list[Any]) -> list[HistoryView]:
    """The case history as timeline lines, newest last."""
    views = []
    for e in entries:
        if e.action in ACTIONS:
            label = action_labels(e.action)
        else:
            label = HISTORY_LABELS.get(e.action, (e.action, e.action))
        views.append(HistoryView(e.at, e.actor_name, label, e.from_state, e.to_state, e.note, e.channel))
    return views


def grid_feature(region: Region | None) -> dict | None:
    """A region's polygon as a GeoJSON feature for the detail map (None without geometry)."""
    if region is None or not region.geometry:
        return None
    return {"type": "Feature", "geometry": region.geometry,
            "properties": {"name": region.name_zh, "code": region.code}}


def map_settings() -> dict[str, str]:
    """What the map scripts need: the intranet tile URL, or empty for no base map."""
    return {"tiles": get_settings().map_tile_url}


# --------------------------------------------------------------------------------------
# Inbox
# --------------------------------------------------------------------------------------


@router.get("/inbox")
def inbox(request: Request, session: SessionDep, user: PageUser) -> Response:
    """我的待办: the cases waiting for this user, most urgent first, and unread notifications."""
    now = utcnow()
    cases = [case_row(c, now) for c in service.inbox_cases(session=session, actor=user)]
    unread = notifications.inbox(session=session, user=user, unread_only=True, limit=20)
    counts = service.count_by_state(session=session, actor=user)
    state_counts = [(CaseState(s), counts[s.value]) for s in CaseState if s.value in counts]
    return page(request, "inbox.html", {
        "rows": cases, "notes": unread, "state_counts": state_counts, "kinds": NOTIFICATION_KINDS,
        "flash": _flash(request),
    }, user=user, session=session, active="inbox")


@router.post("/notifications/read")
def mark_notifications_read(request: Request, session: SessionDep, user: PageUser) -> Response:
    """Mark all of the user's notifications read."""
    notifications.mark_read(session=session, user=user)
    return redirect("/inbox")


# --------------------------------------------------------------------------------------
# Case list
# --------------------------------------------------------------------------------------

STATE_CHOICES = ["open", *[s.value for s in CaseState]]


@dataclass
class ListQuery:
    """The case list's filters as the form shows them, the service filter, and what was not understood."""

    values: dict[str, str]
    filters: listing.CaseFilter
    page: int
    problems: list[tuple[str, str]]


# Query parameter → (filter field, whether it ends a range, (zh, en) name): the date filters of the list.
DATE_PARAMS = {
    "from": ("received_from", False, ("接报开始日期", "Received from")),
    "to": ("received_to", True, ("接报结束日期", "Received to")),
    "reg_from": ("registered_from", False, ("立案开始日期", "Registered from")),
    "reg_to": ("registered_to", True, ("立案结束日期", "Registered to")),
    "closed_from": ("closed_from", False, ("结案开始日期", "Closed from")),
    "closed_to": ("closed_to", True, ("结案结束日期", "Closed to")),
}
LIST_PARAMS = ("state", "category", "region", "unit", "channel", "overdue", *DATE_PARAMS, "q")


def _local_day(value: str, problems: list[tuple[str, str]], name: tuple[str, str], *,
               end: bool = False) -> dt.datetime | None:
    """The local midnight starting day ``value`` (YYYY-MM-DD), or ending it when ``end`` (so the
    whole last day counts); None and a problem if it is not such a day within the years the list knows."""
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
        if not listing.FIRST_YEAR <= day.year <= listing.LAST_YEAR:
            raise ValueError
    except ValueError:
        problems.append((f"{name[0]}格式应为 年-月-日（{listing.FIRST_YEAR}–{listing.LAST_YEAR} 年）",
                         f"{name[1]} must be a date YYYY-MM-DD (years {listing.FIRST_YEAR}–{listing.LAST_YEAR})"))
        return None
    return dt.datetime.combine(day + dt.timedelta(days=1) if end else day, dt.time(), tzinfo=local_tz())


def parse_list_query(request: Request) -> ListQuery:
    """Read the list filters from the query string; bad values are dropped and reported, never a 422."""
    q = request.query_params
    values = {k: (q.get(k) or "").strip()[:100] for k in LIST_PARAMS}
    problems: list[tuple[str, str]] = []
    states: list[str] | None = None
    if values["state"] == "open":
        states = sorted(s.value for s in OPEN)
    elif values["state"] in {s.value for s in CaseState}:
        states = [values["state"]]
    elif values["state"]:
        values["state"] = ""
    channel = values["channel"] if values["channel"] in {c.value for c in Channel} else None
    overdue = {"yes": True, "no": False}.get(values["overdue"])
    bounds = {field: _local_day(values[param], problems, name, end=end)
              for param, (field, end, name) in DATE_PARAMS.items()}
    page_no = parse_int(q.get("page")) or 1
    filters = listing.CaseFilter(
        state=states, category_id=parse_int(values["category"]), region_id=parse_int(values["region"]),
        unit_id=parse_int(values["unit"]), channel=channel, overdue=overdue, q=values["q"] or None, **bounds,
    )
    problems += listing.range_problems(filters)
    return ListQuery(values, filters, min(page_no, 100_000), problems)


def _filter_choices(session: Session, user: User) -> dict[str, Any]:
    categories = config.list_categories(session=session, active_only=True)
    levels = [RegionLevel.CITY, RegionLevel.DISTRICT, RegionLevel.STREET, RegionLevel.COMMUNITY]
    if user.scope_region.level.rank >= RegionLevel.COMMUNITY.rank:
        levels.append(RegionLevel.GRID)  # a community's handful of grids; a city's thousands would not fit
    areas = regions.subtree(session=session, path=user.scope_path, levels=levels)
    return {
        "units": listing.unit_choices(session=session, actor=user),
        "state_choices": [("open", ("全部未办结", "All open"))] + [(s.value, STATE_LABELS[s]) for s in CaseState],
        "categories": [c for c in categories if c.parent_id is not None],
        "areas": [(r, r.path.count("/") - user.scope_path.count("/")) for r in areas],
        "channels": [(c.value, CHANNEL_LABELS[c]) for c in Channel],
    }


@router.get("/cases")
def case_list(request: Request, session: SessionDep, user: PageUser) -> Response:
    """All cases in the user's scope, newest first, with filters and paging."""
    query = parse_list_query(request)
    lang = request_lang(request)
    error = None
    if listing.range_problems(query.filters):
        rows, total, exact, more = [], 0, True, False  # already reported: a reversed or impossible range
    else:
        try:
            rows, total, exact, more = listing.list_cases(session=session, actor=user, filters=query.filters,
                                                          page=query.page, size=PAGE_SIZE)
        except DomainError as exc:  # e.g. an unknown region or unit
            rows, total, exact, more, error = [], 0, True, False, exc
    now = utcnow()
    messages = [en if lang == "en" else zh for zh, en in query.problems] + ([error_text(error, lang)] if error else [])
    base = {k: v for k, v in query.values.items() if v}
    ctx = {
        "rows": [case_row(c, now) for c in rows], "total": total, "exact": exact, "has_more": more,
        "page_no": query.page, "size": PAGE_SIZE, "values": query.values, "messages": messages,
        "prev_query": _query_string(base, query.page - 1) if query.page > 1 else None,
        "next_query": _query_string(base, query.page + 1) if more else None,
        "first_index": (query.page - 1) * PAGE_SIZE + 1,
    }
    if is_htmx(request) and request.headers.get("hx-target") == "case-results":
        return page(request, "cases/_results.html", ctx, user=user, session=None)
    ctx.update(_filter_choices(session, user))
    return page(request, "cases/list.html", ctx, user=user, session=session, active="cases")


def _query_string(values: dict[str, str], page_no: int) -> str:
    from urllib.parse import urlencode

    return urlencode({**values, "page": page_no})


# --------------------------------------------------------------------------------------
# New case
# --------------------------------------------------------------------------------------

NEW_CASE_LABELS = {
    "category_code": ("事件类别", "Category"),
    "channel": ("来源渠道", "Channel"),
    "urgency": ("紧急程度", "Urgency"),
    "title": ("标题", "Title"),
    "description": ("事件描述", "Description"),
    "address": ("地址", "Address"),
    "lat": ("纬度", "Latitude"),
    "lon": ("经度", "Longitude"),
    "reporter_name": ("反映人", "Reporter"),
    "reporter_phone": ("联系电话", "Phone"),
    "client_key": ("表单编号", "Form key"),
}


def channel_choices(user: User) -> list[Channel]:
    """The channels this user may pick on the new-case form (citizens report as themselves)."""
    if user.role == Role.CITIZEN:
        return [Channel.CITIZEN_WEB]
    return service.reporter_channels()


def default_channel(user: User) -> Channel:
    """The channel preselected for this user's reports."""
    return {Role.CITIZEN: Channel.CITIZEN_WEB, Role.GRID_WORKER: Channel.GRID_APP}.get(user.role, Channel.OPERATOR)


def _category_groups(session: Session) -> list[tuple[Category, list[Category]]]:
    categories = config.list_categories(session=session, active_only=True)
    parents = [c for c in categories if c.parent_id is None]
    return [(p, [c for c in categories if c.parent_id == p.id]) for p in parents]


def _new_case_page(request: Request, session: Session, user: User, form: FormState,
                   status_code: int = 200) -> Response:
    scope = user.scope_region
    center = (scope.centroid_lat, scope.centroid_lon) if scope.centroid_lat is not None else None
    return page(request, "cases/new.html", {
        "form": form, "category_groups": _category_groups(session),
        "channels": [(c.value, CHANNEL_LABELS[c]) for c in channel_choices(user)],
        "urgencies": [(u.value, URGENCY_LABELS[u]) for u in Urgency],
        "center": center, "map": map_settings(),
    }, user=user, session=session, active="new", status_code=status_code)


@router.get("/cases/new")
def new_case_form(request: Request, session: SessionDep, user: PageUser) -> Response:
    """The new-case form: category, channel, urgency, text, reporter and a map to click the place."""
    values = {"channel": default_channel(user).value, "urgency": Urgency.NORMAL.value,
              "client_key": uuid.uuid4().hex}
    return _new_case_page(request, session, user, FormState(FormValues(values)))


@router.post("/cases/new")
def create_case(
    request: Request,
    session: SessionDep,
    user: PageUser,
    origin: OriginDep,
    category_code: Annotated[str, Form(max_length=100)] = "",
    channel: Annotated[str, Form(max_length=40)] = "",
    urgency: Annotated[str, Form(max_length=20)] = "",
    title: Annotated[str, Form(max_length=400)] = "",
    description: Annotated[str, Form(max_length=10000)] = "",
    address: Annotated[str, Form(max_length=600)] = "",
    lat: Annotated[str, Form(max_length=40)] = "",
    lon: Annotated[str, Form(max_length=40)] = "",
    reporter_name: Annotated[str, Form(max_length=200)] = "",
    reporter_phone: Annotated[str, Form(max_length=60)] = "",
    client_key: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Register the report through the one intake; the form's key makes a double submit harmless."""
    raw = {k: v.strip() for k, v in {
        "category_code": category_code, "channel": channel, "urgency": urgency, "title": title,
        "description": description, "address": address, "lat": lat, "lon": lon, "reporter_name": reporter_name,
        "reporter_phone": reporter_phone, "client_key": client_key}.items()}
    data_in: dict[str, Any] = {k: v for k, v in raw.items() if v}
    # The form offers each user their own channels (a citizen only theirs; the intake service
    # enforces that rule too).
    if data_in.get("channel") not in {c.value for c in channel_choices(user)}:
        data_in["channel"] = default_channel(user).value
    lang = request_lang(request)
    try:
        data = CaseCreate(**data_in)
    except ValidationError as exc:
        error = invalid_form(exc, NEW_CASE_LABELS)
        return _new_case_page(request, session, user, FormState(FormValues(raw), error_text(error, lang), error_list(error, lang)),
                              status_code=422)
    result, error = attempt(session, lambda: intake_case(session=session, actor=user, origin=origin, data=data))
    if error is not None or result is None:
        return _new_case_page(request, session, user,
                              FormState(FormValues(raw), error_text(error, lang), error_list(error, lang)),
                              status_code=error.status if error else 422)
    case, _created = result
    return redirect(f"/cases/{case.id}?done=intake")


# --------------------------------------------------------------------------------------
# Case detail and actions
# --------------------------------------------------------------------------------------


DONE_MESSAGES = {
    "intake": ("事件已登记", "The case has been registered"),
    "comment": ("备注已添加", "Comment added"),
    "attach": ("附件已上传", "File attached"),
}


def _flash_for(done: str) -> tuple[str, str] | None:
    """The confirmation shown after ``done`` (an action name or intake/comment/attach)."""
    if done in ACTIONS:
        zh, en = action_labels(done)
        return f"已完成：{zh}", f"Done: {en}"
    return DONE_MESSAGES.get(done)


def _flash(request: Request) -> tuple[str, str] | None:
    """The confirmation named by ``?done=`` after a redirect."""
    return _flash_for(request.query_params.get("done", ""))


def detail_context(session: Session, user: User, case: Case) -> dict[str, Any]:
    """Everything the detail panel shows, computed for this user at this moment."""
    now = utcnow()
    forms = action_forms(user, case)
    can_merge = any(f.master for f in forms)
    units = list_units(session=session) if any(f.unit for f in forms) else []
    history = service.timeline(session=session, actor=user, case_id=case.id)
    files = attachments.case_attachments(session=session, actor=user, case_id=case.id)
    dupes = duplicate_candidates(session=session, actor=user, case=case) if case.state in OPEN else []
    region = session.get(Region, case.region_id)
    suggested = session.get(Unit, case.suggested_unit_id) if case.suggested_unit_id else None
    merged_into = (session.scalar(visible_cases(user).where(Case.id == case.merged_into_id))
                   if case.merged_into_id else None)
    return {
        "case": case, "region": region,
        "channel_label": CHANNEL_LABELS.get(case.channel), "urgency_label": URGENCY_LABELS.get(case.urgency),
        "request_type_label": REQUEST_TYPE_LABELS.get(case.request_type),
        "phone": case.reporter_phone if user.role in PHONE_ROLES else mask_phone(case.reporter_phone),
        "deadlines": deadlines(case, now), "overdue": case_overdue(case, now),
        "forms": forms, "units": units, "suggested_unit": suggested,
        "satisfaction_choices": list(SATISFACTION.items()),
        "satisfaction_label": SATISFACTION.get(case.satisfaction or ""),
        "history": history_views(history), "files": files,
        "duplicates": dupes, "can_merge": can_merge,
        "grid_feature": grid_feature(case.grid), "map": map_settings(),
        "merged_into": merged_into,
    }


def _detail(request: Request, session: Session, user: User, case_id: int, *, flash: tuple[str, str] | None = None,
            error: DomainError | None = None, status_code: int = 200) -> Response:
    case = service.get_case(session=session, actor=user, case_id=case_id)
    lang = request_lang(request)
    ctx = detail_context(session, user, case)
    ctx.update({"flash": flash, "error": error_text(error, lang), "error_items": error_list(error, lang)})
    if is_htmx(request) and request.headers.get("hx-target") == "case-panel":
        return page(request, "cases/_panel.html", ctx, user=user, session=None, status_code=status_code)
    return page(request, "cases/detail.html", ctx, user=user, session=session, active="cases",
                status_code=status_code)


@router.get("/cases/{case_id}")
def case_detail(request: Request, case_id: int, session: SessionDep, user: PageUser) -> Response:
    """One case: facts, deadlines, the actions this user may take, map, duplicates, files and history."""
    return _detail(request, session, user, case_id, flash=_flash(request))


def _after_change(request: Request, session: Session, user: User, case_id: int, done: str) -> Response:
    """Answer a successful change: the refreshed panel (htmx) or a redirect (plain form)."""
    # Services set foreign keys (case.unit_id…); reload so relationships show the new values.
    session.expire_all()
    try:
        service.get_case(session=session, actor=user, case_id=case_id)
    except NotFound:
        # The action took the case out of this user's sight (e.g. a unit returned it).
        target = f"/inbox?done={done}"
        if is_htmx(request):
            return Response(status_code=200, headers={"HX-Redirect": target})
        return redirect(target)
    if is_htmx(request):
        return _detail(request, session, user, case_id, flash=_flash_for(done))
    return redirect(f"/cases/{case_id}?done={done}")


def _master_id(session: Session, user: User, raw: str) -> int | None:
    """The master case named on the merge form by id or by case number (within the user's sight)."""
    raw = raw.strip()
    if not raw:
        return None
    found = session.scalar(visible_cases(user).where(Case.number == raw))
    if found is not None:
        return found.id
    return parse_int(raw)


@router.post("/cases/{case_id}/actions/{action}")
def fire_action(
    request: Request,
    case_id: int,
    action: str,
    session: SessionDep,
    user: PageUser,
    origin: OriginDep,
    note: Annotated[str, Form(max_length=2000)] = "",
    unit_id: Annotated[str, Form(max_length=20)] = "",
    master: Annotated[str, Form(max_length=40)] = "",
    satisfaction: Annotated[str, Form(max_length=12)] = "",
    extension_days: Annotated[str, Form(max_length=4)] = "",
) -> Response:
    """Fire one workflow action from its form; a refusal re-shows the case with the reason."""
    days = parse_int(extension_days)
    if extension_days.strip() and (days is None or days > 30):
        error: DomainError | None = InvalidInput("延期天数应为 1–30 个工作日", "Extension must be 1–30 working days")
    else:
        params = service.ActionParams(
            note=note.strip() or None, unit_id=parse_int(unit_id), master_id=_master_id(session, user, master),
            satisfaction=satisfaction or None, extension_days=days,
        )
        _, error = attempt(session, lambda: service.transition(
            session=session, actor=user, origin=origin, case_id=case_id, action=action, params=params))
    if error is not None:
        return _detail(request, session, user, case_id, error=error, status_code=error.status)
    return _after_change(request, session, user, case_id, action)


@router.post("/cases/{case_id}/comments")
def comment(request: Request, case_id: int, session: SessionDep, user: PageUser, origin: OriginDep,
            note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Add a remark to the case history."""
    _, error = attempt(session, lambda: service.add_comment(session=session, actor=user, origin=origin,
                                                            case_id=case_id, note=note))
    if error is not None:
        return _detail(request, session, user, case_id, error=error, status_code=error.status)
    return _after_change(request, session, user, case_id, "comment")


@router.post("/cases/{case_id}/attachments")
def upload(request: Request, case_id: int, session: SessionDep, user: PageUser, origin: OriginDep,
           file: UploadFile | None = None) -> Response:
    """Attach a photo (JPEG/PNG/WebP) or PDF of up to 10 MB."""
    content = file.file.read(attachments.MAX_BYTES + 1) if file is not None else b""
    filename = (file.filename if file is not None else None) or "upload"
    _, error = attempt(session, lambda: attachments.add_attachment(
        session=session, actor=user, origin=origin, case_id=case_id, filename=filename, content=content))
    if error is not None:
        return _detail(request, session, user, case_id, error=error, status_code=error.status)
    return _after_change(request, session, user, case_id, "attach")

