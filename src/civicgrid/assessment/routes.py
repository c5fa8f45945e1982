"""Assessment HTTP: KPI and ranking API, schemes, points, responsibility lists, and their pages. Thin."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Form, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicgrid.assessment import kpis, points, responsibilities, service
from civicgrid.assessment.kpis import COUNT, RATES, Ctx, Period, Subject
from civicgrid.assessment.links import count_url
from civicgrid.assessment.models import RESPONSIBILITY_KINDS, RESPONSIBILITY_STATUSES
from civicgrid.auth.models import Role, User
from civicgrid.db import utcnow
from civicgrid.errors import InvalidInput, not_found
from civicgrid.events.models import CHANNEL_LABELS, Case, Category
from civicgrid.events.scope import case_scope
from civicgrid.events.workflow import CLOCK_RUNNING, OPEN
from civicgrid.units.models import Unit
from civicgrid.web.deps import CurrentUser, OriginDep, SessionDep, require_roles
from civicgrid.web.i18n import request_lang
from civicgrid.web.pagekit import (
    PageRoute,
    PageUser,
    attempt,
    error_text,
    page,
    parse_int,
    redirect,
    require_page_roles,
)

api = APIRouter(prefix="/api", tags=["assessment"])
pages = APIRouter(route_class=PageRoute, include_in_schema=False)

Judge = Annotated[User, Depends(require_roles(*service.JUDGES))]
PageJudge = Annotated[User, Depends(require_page_roles(*service.JUDGES))]
Admin = Annotated[User, Depends(require_roles(Role.ADMIN))]
PeriodQ = Annotated[str | None, Query(max_length=30, description="YYYY-MM or YYYY-MM-DD..YYYY-MM-DD")]
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _month(value: str | None) -> str:
    if not value:
        return points.current_month()
    if not _MONTH.match(value):
        raise InvalidInput("月份格式应为 年-月，如 2026-11", "The month must be YYYY-MM")
    return value


def _kpis_json(k: kpis.Kpis, score: float | None = None, grade: dict | None = None) -> dict:
    data = k.as_dict()
    data.update(score=score, grade=grade)
    return data


# ---------------------------------------------------------------------------------------
# KPI API
# ---------------------------------------------------------------------------------------


@api.get("/kpis/definitions")
def definitions() -> dict:
    """Every count and rate with its Chinese and English name and formula (docs/kpis.md in data form)."""
    return {
        "counts": [{"key": c.key, "zh": c.zh, "en": c.en, "cohort": c.cohort, "definition_zh": c.doc_zh,
                    "definition_en": c.doc_en} for c in kpis.COUNTS],
        "rates": [{"key": r.key, "zh": r.zh, "en": r.en, "formula_zh": r.formula_zh, "numerator": r.numerator,
                   "denominator": list(r.denominator), "complement": r.complement,
                   "lower_is_better": r.lower_is_better} for r in RATES],
    }


@api.get("/kpis")
def kpi_values(session: SessionDep, user: CurrentUser,
               subject: Annotated[str, Query(pattern="^(region|unit|worker)$")] = "region",
               id: Annotated[int | None, Query(ge=1, le=2**62)] = None, period: PeriodQ = None) -> dict:
    """KPIs of a region (default: the user's scope), a unit, or a grid worker, for a period."""
    now = utcnow()
    p = Period.parse(period, now)
    if subject == "unit":
        if id is None:
            raise InvalidInput("请指定单位编号 id", "Give the unit id")
        unit, k, score, grade = service.unit_kpis(session=session, actor=user, unit_id=id, period=p, now=now)
        return {"subject": "unit", "id": unit.id, "name": unit.name_zh, "period": p.key, **_kpis_json(k, score, grade)}
    if subject == "worker":
        worker = _worker(session, user, id or user.id)
        k = kpis.compute(session=session, actor=user, period=p, subject=Subject("worker", worker.id), now=now)
        return {"subject": "worker", "id": worker.id, "name": worker.display_name, "period": p.key, **_kpis_json(k)}
    if user.role not in service.JUDGES:
        raise not_found("区域", "Region", id or "")
    region = service.scoped_region(session=session, actor=user, region_id=id)
    k, score, grade = service.region_kpis(session=session, actor=user, region=region, period=p, now=now)
    return {"subject": "region", "id": region.id, "name": region.name_zh, "period": p.key,
            **_kpis_json(k, score, grade)}


def _worker(session: Session, actor: User, worker_id: int) -> User:
    worker = session.get(User, worker_id)
    ok = worker is not None and worker.role == Role.GRID_WORKER and (
        worker.id == actor.id or (actor.role in service.JUDGES and worker.scope_path.startswith(actor.scope_path)))
    if not ok:
        raise not_found("网格员", "Grid worker", worker_id)
    return worker


def _ranked_json(rows: list[service.Ranked]) -> list[dict]:
    return [{"id": r.key, "name": r.name_zh, "name_en": r.name_en, "score": r.score, "grade": r.grade,
             "rank": r.rank, "previous_rank": r.previous_rank, "rank_change": r.rank_change,
             "previous_score": r.previous_score, "score_change": r.score_change, **_kpis_json(r.kpis)}
            for r in rows]


@api.get("/assessment/rankings")
def rankings(session: SessionDep, user: Judge, kind: Annotated[str, Query(pattern="^(region|unit)$")] = "region",
             region: Annotated[int | None, Query(ge=1, le=2**62)] = None, period: PeriodQ = None) -> dict:
    """Child regions or units ranked by composite score, with the change since the previous period."""
    now = utcnow()
    p = Period.parse(period, now)
    r = service.scoped_region(session=session, actor=user, region_id=region)
    fn = service.region_ranking if kind == "region" else service.unit_ranking
    rows = fn(session=session, actor=user, region=r, period=p, now=now)
    return {"kind": kind, "region_id": r.id, "period": p.key, "previous_period": p.previous().key,
            "rows": _ranked_json(rows)}


class SchemeWrite(BaseModel):
    """New weights (rate key → weight), optional grades and registration limit."""

    weights: dict[str, float]
    grades: list[dict[str, Any]] | None = None
    register_limit_minutes: int | None = Field(None, ge=1, le=10080)


@api.get("/assessment/schemes/{target}")
def get_scheme(session: SessionDep, user: Judge, target: str) -> dict:
    """The weights, grades and registration limit in force for 'unit' or 'region'."""
    s = service.get_scheme(session=session, target=target)
    return {"target": s.target, "weights": s.weights, "grades": s.grades,
            "register_limit_minutes": s.register_limit_minutes}


@api.put("/assessment/schemes/{target}")
def put_scheme(session: SessionDep, user: Admin, origin: OriginDep, target: str, body: SchemeWrite) -> dict:
    """Replace a scheme (administrators); audited."""
    s = service.update_scheme(session=session, actor=user, origin=origin, target=target, weights=body.weights,
                              grades=body.grades, register_limit_minutes=body.register_limit_minutes)
    return {"target": s.target, "weights": s.weights, "grades": s.grades,
            "register_limit_minutes": s.register_limit_minutes}


# ---------------------------------------------------------------------------------------
# Points API
# ---------------------------------------------------------------------------------------


def _summary_json(s: points.PointsSummary) -> dict:
    return {
        "worker_id": s.worker.id, "name": s.worker.display_name, "month": s.month, "total": s.total,
        "by_rule": [{"rule": code, "zh": label[0], "en": label[1], "entries": n, "points": pts}
                    for code, label, n, pts in s.by_rule],
        "entries": [{"id": e.id, "rule": e.rule_code, "points": e.points, "raw_points": e.raw_points,
                     "reason": e.reason, "case_id": e.case_id, "at": e.occurred_at.isoformat()} for e in s.entries],
    }


@api.get("/points/me")
def my_points(session: SessionDep, user: CurrentUser, month: Annotated[str | None, Query(max_length=7)] = None) -> dict:
    """The signed-in grid worker's points for a month, entry by entry with the reason."""
    return _summary_json(points.worker_points(session=session, actor=user, worker_id=user.id, month=_month(month)))


@api.get("/points/workers/{worker_id}")
def worker_points(session: SessionDep, user: Judge, worker_id: int,
                  month: Annotated[str | None, Query(max_length=7)] = None) -> dict:
    """A grid worker's points (leaders, operators, administrators over their area)."""
    return _summary_json(points.worker_points(session=session, actor=user, worker_id=worker_id, month=_month(month)))


@api.get("/points/standings")
def standings(session: SessionDep, user: Judge, region: Annotated[int | None, Query(ge=1, le=2**62)] = None,
              month: Annotated[str | None, Query(max_length=7)] = None) -> dict:
    """Grid workers in a region by points this month, with the change in rank since last month."""
    r = service.scoped_region(session=session, actor=user, region_id=region)
    m = _month(month)
    rows = points.standings(session=session, actor=user, path=r.path, month=m)
    return {"region_id": r.id, "month": m, "rows": [
        {"worker_id": x.worker_id, "name": x.name, "grid_id": x.grid_id, "points": x.total, "rank": x.rank,
         "previous_rank": x.previous_rank, "rank_change": x.rank_change} for x in rows]}


class AdjustmentCreate(BaseModel):
    worker_id: int = Field(ge=1, le=2**62)
    points: int = Field(ge=-50, le=50)
    reason: str = Field(min_length=2, max_length=300)


@api.post("/points/adjustments", status_code=201)
def adjust(session: SessionDep, user: Judge, origin: OriginDep, body: AdjustmentCreate) -> dict:
    """A manual adjustment with a reason; audited."""
    e = points.adjust_points(session=session, actor=user, origin=origin, worker_id=body.worker_id,
                             points=body.points, reason=body.reason)
    return {"id": e.id, "worker_id": e.user_id, "points": e.points, "reason": e.reason, "month": e.month}


class CheckinCreate(BaseModel):
    kind: str = Field("checkin", pattern="^(checkin|safe_report)$")
    note: str | None = Field(None, max_length=500)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)


@api.post("/points/checkins", status_code=201)
def checkin(session: SessionDep, user: CurrentUser, origin: OriginDep, body: CheckinCreate) -> dict:
    """A grid worker's patrol check-in or all-clear report (无事报平安)."""
    entry = points.check_in(session=session, actor=user, origin=origin, kind=body.kind, note=body.note,
                            lat=body.lat, lon=body.lon)
    return {"id": entry.id, "kind": entry.action}


@api.get("/points/rules")
def point_rules(session: SessionDep, user: CurrentUser) -> dict:
    """The automatic point rules in force, with caps."""
    return {"monthly_total_cap": points.MONTHLY_TOTAL_CAP, "rules": [
        {"code": r.code, "zh": r.zh, "en": r.en, "points": r.points, "daily_cap": r.daily_cap,
         "monthly_cap": r.monthly_cap, "active": r.active, "entity": r.entity, "action": r.action,
         "beneficiary": r.beneficiary} for r in points.rules(session=session)]}


class RuleWrite(BaseModel):
    points: int = Field(ge=-100, le=100)
    daily_cap: int | None = Field(None, ge=1, le=10000)
    monthly_cap: int | None = Field(None, ge=1, le=10000)
    active: bool = True


@api.put("/points/rules/{code}")
def put_rule(session: SessionDep, user: Admin, origin: OriginDep, code: str, body: RuleWrite) -> dict:
    """Override a rule's points and caps (administrators); audited."""
    r = points.update_rule(session=session, actor=user, origin=origin, code=code, points=body.points,
                           daily_cap=body.daily_cap, monthly_cap=body.monthly_cap, active=body.active)
    return {"code": r.code, "points": r.points, "daily_cap": r.daily_cap, "monthly_cap": r.monthly_cap,
            "active": r.active}


# ---------------------------------------------------------------------------------------
# Responsibility lists API
# ---------------------------------------------------------------------------------------


def _item_json(i) -> dict:
    return {"id": i.id, "unit_id": i.unit_id, "year": i.year, "kind": i.kind, "title": i.title, "detail": i.detail,
            "target": i.target, "due_on": i.due_on.isoformat() if i.due_on else None, "status": i.status,
            "result": i.result, "done_on": i.done_on.isoformat() if i.done_on else None}


class ItemCreate(BaseModel):
    year: int = Field(ge=2000, le=2100)
    kind: str = Field(pattern="^(duty|problem)$")
    title: str = Field(min_length=1, max_length=200)
    detail: str = Field("", max_length=4000)
    target: str = Field("", max_length=300)
    due_on: dt.date | None = None


class ItemUpdate(BaseModel):
    status: str | None = Field(None, pattern="^(planned|in_progress|done|dropped)$")
    result: str | None = Field(None, max_length=4000)
    title: str | None = Field(None, min_length=1, max_length=200)
    target: str | None = Field(None, max_length=300)
    due_on: dt.date | None = None


@api.get("/units/{unit_id}/responsibilities")
def list_items(session: SessionDep, user: CurrentUser, unit_id: int,
               year: Annotated[int | None, Query(ge=2000, le=2100)] = None) -> dict:
    """A unit's responsibility and problem list for a year, with the tally."""
    y = year or kpis.local_day(utcnow()).year
    items = responsibilities.list_items(session=session, actor=user, unit_id=unit_id, year=y)
    t = responsibilities.tally(items, kpis.local_day(utcnow()))
    return {"unit_id": unit_id, "year": y, "items": [_item_json(i) for i in items],
            "tally": {"total": t.total, "done": t.done, "in_progress": t.in_progress, "planned": t.planned,
                      "late": t.late, "done_rate": t.done_rate}}


@api.post("/units/{unit_id}/responsibilities", status_code=201)
def create_item(session: SessionDep, user: CurrentUser, origin: OriginDep, unit_id: int, body: ItemCreate) -> dict:
    """Add a task to a unit's list (leaders, operators, administrators over the unit); audited."""
    item = responsibilities.create_item(session=session, actor=user, origin=origin, unit_id=unit_id,
                                        **body.model_dump())
    return _item_json(item)


@api.patch("/responsibilities/{item_id}")
def update_item(session: SessionDep, user: CurrentUser, origin: OriginDep, item_id: int,
                body: Annotated[ItemUpdate, Body()]) -> dict:
    """Report progress or change a task; audited."""
    item = responsibilities.update_item(session=session, actor=user, origin=origin, item_id=item_id,
                                        **body.model_dump(exclude_unset=True))
    return _item_json(item)


# ---------------------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------------------


def _period_of(request: Request) -> Period:
    return Period.parse(request.query_params.get("period"), utcnow())


@pages.get("/assessment")
def assessment_page(request: Request, session: SessionDep, user: PageJudge) -> Response:
    """考核排名: child regions and units ranked by composite score, KPIs behind each score, change since last period."""
    now = utcnow()
    p = _period_of(request)
    region = service.scoped_region(session=session, actor=user, region_id=parse_int(request.query_params.get("region")))
    region_rows = service.region_ranking(session=session, actor=user, region=region, period=p, now=now)
    unit_rows = service.unit_ranking(session=session, actor=user, region=region, period=p, now=now)
    k, score, grade = service.region_kpis(session=session, actor=user, region=region, period=p, now=now)
    months = _recent_months(now)
    return page(request, "assessment/index.html", {
        "region": region, "period": p, "months": months, "region_rows": region_rows, "unit_rows": unit_rows,
        "kpis": k, "score": score, "grade": grade, "rates": RATES, "counts": kpis.COUNTS,
        "link": lambda measure, **kw: count_url(measure, period=p, **kw),
        "schemes": {t: service.get_scheme(session=session, target=t) for t in service.TARGETS},
    }, user=user, session=session, active="assessment")


def _recent_months(now: dt.datetime, n: int = 12) -> list[str]:
    day = kpis.local_day(now)
    out = []
    y, m = day.year, day.month
    for _ in range(n):
        out.append(f"{y}-{m:02d}")
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out


@pages.get("/assessment/cases")
def drill_list(request: Request, session: SessionDep, user: PageUser) -> Response:
    """The cases behind one KPI number: exactly the rows the count counted."""
    q = request.query_params
    measure = q.get("measure", "")
    if measure not in COUNT:
        raise InvalidInput("未知的统计口径", "Unknown measure", allowed=list(COUNT))
    now = utcnow()
    p = Period.parse(q.get("period"), now)
    subject, subject_label = _drill_subject(session, user, q)
    ctx = Ctx(p, now, service.get_scheme(session=session, target="region").register_limit_minutes)
    where = [case_scope(user), *kpis.measure_filter(measure, ctx, subject)]
    category_id = parse_int(q.get("category"))
    if category_id:
        where.append(Case.category_id.in_(select(Category.id).where(
            (Category.id == category_id) | (Category.parent_id == category_id))))
    channel = q.get("channel")
    if channel:
        where.append(Case.channel == channel)
    page_no = min(parse_int(q.get("page")) or 1, 10_000)
    size = 50
    total = session.scalar(select(func.count()).select_from(Case).where(*where)) or 0
    rows = list(session.scalars(select(Case).where(*where).order_by(Case.received_at.desc(), Case.id.desc())
                                .offset((page_no - 1) * size).limit(size)))
    count = COUNT[measure]
    base = {k: v for k, v in q.items() if k != "page"}
    from urllib.parse import urlencode

    return page(request, "assessment/cases.html", {
        "count": count, "period": p if count.cohort != "open" else None, "subject_label": subject_label,
        "rows": [(c, _is_overdue(c, now)) for c in rows], "total": total, "page_no": page_no,
        "prev": urlencode({**base, "page": page_no - 1}) if page_no > 1 else None,
        "next": urlencode({**base, "page": page_no + 1}) if page_no * size < total else None,
        "channel_label": CHANNEL_LABELS.get(channel) if channel else None,
        "category": session.get(Category, category_id) if category_id else None,
    }, user=user, session=session, active="assessment")


def _is_overdue(case: Case, now: dt.datetime) -> bool:
    if case.state not in OPEN:
        return False
    return bool(case.overdue or (case.state in CLOCK_RUNNING and case.finish_due_at and case.finish_due_at < now))


def _drill_subject(session: Session, user: User, q) -> tuple[Subject | None, str]:
    region_id, unit_id, worker_id = parse_int(q.get("region")), parse_int(q.get("unit")), parse_int(q.get("worker"))
    if unit_id:
        unit = session.get(Unit, unit_id)
        if unit is None:
            raise not_found("单位", "Unit", unit_id)
        subject = Subject("unit", unit.id)
        label = unit.name_zh
        if region_id:  # a unit's cases within a region (the dashboard's "units with most overdue")
            region = service.scoped_region(session=session, actor=user, region_id=region_id)
            return Subject("unit", unit.id, region.path), f"{region.name_zh} · {label}"
        return subject, label
    if worker_id:
        worker = _worker(session, user, worker_id)
        return Subject("worker", worker.id), worker.display_name
    if region_id:
        region = service.scoped_region(session=session, actor=user, region_id=region_id)
        return kpis.region_subject(region), region.name_zh
    return None, user.scope_region.name_zh


@pages.get("/assessment/points")
def points_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    """我的积分 for a grid worker; for leaders, operators and administrators: standings and adjustments."""
    month = _month(request.query_params.get("month"))
    now = utcnow()
    ctx: dict[str, Any] = {"month": month, "months": _recent_months(now), "flash": request.query_params.get("done")}
    worker_id = parse_int(request.query_params.get("worker"))
    if user.role == Role.GRID_WORKER:
        ctx["summary"] = points.worker_points(session=session, actor=user, worker_id=user.id, month=month)
        ctx["rules"] = points.rules(session=session)
    elif user.role in service.JUDGES:
        region = service.scoped_region(session=session, actor=user,
                                       region_id=parse_int(request.query_params.get("region")))
        ctx["region"] = region
        ctx["standings"] = points.standings(session=session, actor=user, path=region.path, month=month)
        if worker_id:
            ctx["summary"] = points.worker_points(session=session, actor=user, worker_id=worker_id, month=month)
    else:
        raise not_found("页面", "Page", "points")
    ctx["error"] = request.query_params.get("error", "")
    ctx["rule_label"] = points.rule_label
    ctx["monthly_cap"] = points.MONTHLY_TOTAL_CAP
    return page(request, "assessment/points.html", ctx, user=user, session=session,
                active="points" if user.role == Role.GRID_WORKER else "assessment")


@pages.post("/assessment/points/adjust")
def adjust_page(request: Request, session: SessionDep, user: PageJudge, origin: OriginDep,
                worker_id: Annotated[str, Form(max_length=20)] = "", points_: Annotated[str, Form(alias="points",
                                                                                                  max_length=6)] = "",
                reason: Annotated[str, Form(max_length=300)] = "") -> Response:
    """The manual adjustment form."""
    wid, pts = parse_int(worker_id), _signed(points_)
    if wid is None or pts is None:
        error = InvalidInput("请填写网格员和分值（−50 到 50）", "Give the worker and the points (-50 to 50)")
    else:
        _, error = attempt(session, lambda: points.adjust_points(session=session, actor=user, origin=origin,
                                                                 worker_id=wid, points=pts, reason=reason))
    from urllib.parse import urlencode

    if error is not None:
        return redirect("/assessment/points?" + urlencode({"worker": wid or "", "error": error_text(
            error, request_lang(request))}))
    return redirect(f"/assessment/points?worker={wid}&done=adjusted")


def _signed(value: str) -> int | None:
    try:
        return int(value.strip())
    except (ValueError, AttributeError):
        return None


@pages.post("/assessment/points/checkin")
def checkin_page(request: Request, session: SessionDep, user: PageUser, origin: OriginDep,
                 kind: Annotated[str, Form(max_length=20)] = "checkin") -> Response:
    """A grid worker's check-in button; points follow when the points job runs (within a minute)."""
    _, error = attempt(session, lambda: points.check_in(session=session, actor=user, origin=origin, kind=kind))
    if error is None:
        attempt(session, lambda: points.award_points(session=session))
    from urllib.parse import urlencode

    if error is not None:
        return redirect("/assessment/points?" + urlencode({"error": error_text(error, request_lang(request))}))
    return redirect("/assessment/points?done=checkin")


@pages.get("/assessment/units/{unit_id}")
def unit_page(request: Request, unit_id: int, session: SessionDep, user: PageUser) -> Response:
    """A unit's report card (成绩单): its KPIs and score for the year, and its responsibility and problem lists."""
    now = utcnow()
    year = parse_int(request.query_params.get("year")) or kpis.local_day(now).year
    if not 2000 <= year <= 2100:
        year = kpis.local_day(now).year
    items = responsibilities.list_items(session=session, actor=user, unit_id=unit_id, year=year)
    p = responsibilities.year_period(year)
    unit, k, score, grade = service.unit_kpis(session=session, actor=user, unit_id=unit_id, period=p, now=now)
    return page(request, "assessment/unit.html", {
        "unit": unit, "year": year, "items": items, "tally": responsibilities.tally(items, kpis.local_day(now)),
        "kpis": k, "score": score, "grade": grade, "rates": RATES, "period": p,
        "kinds": RESPONSIBILITY_KINDS, "statuses": RESPONSIBILITY_STATUSES,
        "can_set": user.role in responsibilities.SETTERS, "error": request.query_params.get("error", ""),
        "link": lambda measure: count_url(measure, period=p, unit_id=unit.id),
    }, user=user, session=session, active="assessment")


@pages.post("/assessment/units/{unit_id}/items")
def add_item_page(request: Request, unit_id: int, session: SessionDep, user: PageUser, origin: OriginDep,
                  year: Annotated[str, Form(max_length=4)] = "", kind: Annotated[str, Form(max_length=10)] = "duty",
                  title: Annotated[str, Form(max_length=200)] = "", target: Annotated[str, Form(max_length=300)] = "",
                  due_on: Annotated[str, Form(max_length=10)] = "") -> Response:
    """Add a task from the unit page."""
    due = _date(due_on)
    y = parse_int(year) or kpis.local_day(utcnow()).year
    _, error = attempt(session, lambda: responsibilities.create_item(
        session=session, actor=user, origin=origin, unit_id=unit_id, year=y, kind=kind, title=title, target=target,
        due_on=due))
    return _back_to_unit(request, unit_id, y, error)


@pages.post("/assessment/items/{item_id}")
def update_item_page(request: Request, item_id: int, session: SessionDep, user: PageUser, origin: OriginDep,
                     status: Annotated[str, Form(max_length=12)] = "",
                     result: Annotated[str, Form(max_length=4000)] = "") -> Response:
    """Report a task's progress from the unit page."""
    from civicgrid.assessment.models import ResponsibilityItem

    item = session.get(ResponsibilityItem, item_id)
    if item is None:
        raise not_found("清单任务", "Task", item_id)
    unit_id, year = item.unit_id, item.year
    _, error = attempt(session, lambda: responsibilities.update_item(
        session=session, actor=user, origin=origin, item_id=item_id, status=status or None, result=result))
    return _back_to_unit(request, unit_id, year, error)


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _back_to_unit(request: Request, unit_id: int, year: int, error) -> Response:
    from urllib.parse import urlencode

    params = {"year": year}
    if error is not None:
        params["error"] = error_text(error, request_lang(request))
    return redirect(f"/assessment/units/{unit_id}?" + urlencode(params))


router = APIRouter()
router.include_router(api)
router.include_router(pages)
