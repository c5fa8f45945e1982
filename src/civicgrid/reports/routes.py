"""Reports HTTP: list, generate on demand, download; the download page. Also starts the assessment jobs. Thin."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from civicgrid.assessment.kpis import local_day
from civicgrid.assessment.service import child_regions, scoped_region
from civicgrid.auth.models import User
from civicgrid.db import utcnow
from civicgrid.reports import service
from civicgrid.settings import get_settings
from civicgrid.web.deps import OriginDep, SessionDep, require_roles
from civicgrid.web.i18n import request_lang
from civicgrid.web.pagekit import PageRoute, attempt, error_text, page, parse_int, redirect, require_page_roles


@asynccontextmanager
async def assessment_jobs(app: FastAPI):
    """Run the points job and the scheduled monthly reports beside the deadline scheduler (same setting)."""
    settings = get_settings()
    scheduler = None
    if settings.scheduler_enabled and not getattr(app.state, "no_assessment_jobs", False):
        scheduler = service.ReportScheduler(settings.scheduler_interval_seconds)
        scheduler.start()
    yield
    if scheduler is not None:
        scheduler.stop()


api = APIRouter(prefix="/api/reports", tags=["reports"])
pages = APIRouter(route_class=PageRoute, include_in_schema=False)
Reader = Annotated[User, Depends(require_roles(*service.GENERATORS))]
PageReader = Annotated[User, Depends(require_page_roles(*service.GENERATORS))]


def _json(r) -> dict:
    return {"id": r.id, "region_id": r.region_id, "region": r.region.name_zh, "month": r.month, "format": r.fmt,
            "trigger": r.trigger, "generated_at": r.generated_at.isoformat(), "size": r.size, "sha256": r.sha256,
            "href": f"/reports/{r.id}/download"}


class ReportCreate(BaseModel):
    region_id: int | None = Field(None, ge=1, le=2**62)
    month: str = Field(pattern=r"^\d{4}-\d{2}$")
    formats: list[str] = Field(default_factory=lambda: list(service.FORMATS), min_length=1, max_length=2)


@api.get("")
def list_reports(session: SessionDep, user: Reader,
                 region: Annotated[int | None, Query(ge=1, le=2**62)] = None) -> dict:
    """Generated reports for regions in the user's scope, newest month first."""
    return {"items": [_json(r) for r in service.list_reports(session=session, actor=user, region_id=region)]}


@api.post("", status_code=201)
def create_report(session: SessionDep, user: Reader, origin: OriginDep, body: ReportCreate) -> dict:
    """Generate (or regenerate) a region's monthly report now."""
    rows = service.generate_report(session=session, actor=user, origin=origin,
                                   region_id=body.region_id or user.scope_region_id, month=body.month,
                                   formats=tuple(dict.fromkeys(body.formats)))
    return {"items": [_json(r) for r in rows]}


@pages.get("/reports/{report_id}/download")
def download(request: Request, report_id: int, session: SessionDep, user: PageReader) -> Response:
    """The report file (scoped to the user's area)."""
    r = service.get_report(session=session, actor=user, report_id=report_id)
    name = f"{r.region.name_zh}-{r.month}-月度报告.{r.fmt}"
    return Response(r.content, media_type=service.MEDIA_TYPES[r.fmt], headers={
        "Content-Disposition": f"attachment; filename=\"report-{r.month}.{r.fmt}\"; filename*=UTF-8''{quote(name)}"})


@pages.get("/reports")
def reports_page(request: Request, session: SessionDep, user: PageReader) -> Response:
    """月度报告: the reports of the user's area, and a form to generate one now."""
    region = scoped_region(session=session, actor=user, region_id=parse_int(request.query_params.get("region")))
    rows = service.list_reports(session=session, actor=user, region_id=region.id)
    now = utcnow()
    last = service.previous_month(now)
    today = local_day(now)
    months = []
    y, m = today.year, today.month
    for _ in range(12):
        months.append(f"{y}-{m:02d}")
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return page(request, "reports/index.html", {
        "region": region, "rows": rows, "months": months, "default_month": last.key,
        "regions": [region, *child_regions(session=session, region=region)],
        "error": request.query_params.get("error", ""), "done": request.query_params.get("done", ""),
    }, user=user, session=session, active="reports")


@pages.post("/reports/generate")
def generate_page(request: Request, session: SessionDep, user: PageReader, origin: OriginDep,
                  region_id: Annotated[str, Form(max_length=20)] = "",
                  month: Annotated[str, Form(max_length=7)] = "") -> Response:
    """Generate a month's report (Excel and PDF) from the download page."""
    rid = parse_int(region_id) or user.scope_region_id
    _, error = attempt(session, lambda: service.generate_report(session=session, actor=user, origin=origin,
                                                                region_id=rid, month=month))
    if error is not None:
        return redirect(f"/reports?error={quote(error_text(error, request_lang(request)))}")
    return redirect(f"/reports?done={quote(month)}")


router = APIRouter(lifespan=assessment_jobs)
router.include_router(api)
router.include_router(pages)
