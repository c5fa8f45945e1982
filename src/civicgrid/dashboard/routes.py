"""Dashboard HTTP: the JSON panels, the live counter stream (SSE) and the full-screen page. Thin."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from civicgrid.assessment.kpis import Period
from civicgrid.auth.models import User
from civicgrid.dashboard import live, service
from civicgrid.db import unit_of_work, utcnow
from civicgrid.errors import Forbidden, InvalidInput, NotAuthenticated
from civicgrid.web.deps import SessionDep, get_optional_user, require_roles
from civicgrid.web.pagekit import PageRoute, page, require_page_roles
from civicgrid.web.templating import name_of  # noqa: F401  (templates use it)

api = APIRouter(prefix="/api/dashboard", tags=["dashboard"])
pages = APIRouter(route_class=PageRoute, include_in_schema=False)

Viewer = Annotated[User, Depends(require_roles(*service.VIEWERS))]
PageViewer = Annotated[User, Depends(require_page_roles(*service.VIEWERS))]
RegionQ = Annotated[int | None, Query(ge=1, le=2**62, description="Region id (default: the viewer's scope)")]


def _region_json(view: service.RegionView) -> dict:
    r = view.region
    return {
        "region": {"id": r.id, "name": r.name_zh, "name_en": r.name_en or r.name_zh, "level": r.level.value,
                   "code": r.code, "leaf": view.is_leaf},
        "breadcrumb": [{"id": b.id, "name": b.name_zh, "name_en": b.name_en or b.name_zh} for b in view.breadcrumb],
        "parent_id": view.parent.id if view.parent else None,
    }


@api.get("")
def dashboard(session: SessionDep, user: Viewer, region: RegionQ = None,
              period: Annotated[str | None, Query(max_length=30)] = None) -> dict:
    """Every panel of the dashboard for a region in one answer (counters, map, trends, lists, month KPIs)."""
    now = utcnow()
    view = service.region_view(session=session, actor=user, region_id=region)
    p = Period.parse(period, now)
    r = view.region
    return {
        **_region_json(view),
        "counters": service.counters(session=session, actor=user, region=r, now=now),
        "map": service.map_layer(session=session, actor=user, region=r, now=now),
        "trends": service.trends(session=session, actor=user, region=r, now=now),
        "top_categories": service.top_categories(session=session, actor=user, region=r, now=now),
        "units_overdue": service.units_most_overdue(session=session, actor=user, region=r, now=now),
        "urgent": service.urgent_cases(session=session, actor=user, region=r),
        "hotspots": service.hotspots(session=session, actor=user, region=r, now=now),
        "kpis": service.month_kpis(session=session, actor=user, region=r, period=p, now=now),
    }


@api.get("/counters")
def counters(session: SessionDep, user: Viewer, region: RegionQ = None) -> dict:
    """Today's live counters for a region, each with the URL of its case list."""
    view = service.region_view(session=session, actor=user, region_id=region)
    return service.counters(session=session, actor=user, region=view.region)


@api.get("/map")
def map_layer(session: SessionDep, user: Viewer, region: RegionQ = None) -> dict:
    """The region's children (or a grid's open cases) as GeoJSON with every map measure."""
    view = service.region_view(session=session, actor=user, region_id=region)
    return {**_region_json(view), **service.map_layer(session=session, actor=user, region=view.region)}


@api.get("/trends")
def trends(session: SessionDep, user: Viewer, region: RegionQ = None,
           days: Annotated[int, Query(ge=7, le=90)] = 30) -> dict:
    """Reports per day by category class and by channel."""
    view = service.region_view(session=session, actor=user, region_id=region)
    return service.trends(session=session, actor=user, region=view.region, days=days)


@api.get("/lists")
def lists(session: SessionDep, user: Viewer, region: RegionQ = None) -> dict:
    """Top categories, units with most overdue, latest urgent cases and hotspots."""
    view = service.region_view(session=session, actor=user, region_id=region)
    r = view.region
    return {
        "top_categories": service.top_categories(session=session, actor=user, region=r),
        "units_overdue": service.units_most_overdue(session=session, actor=user, region=r),
        "urgent": service.urgent_cases(session=session, actor=user, region=r),
        "hotspots": service.hotspots(session=session, actor=user, region=r),
    }


def _stream_viewer(request: Request, region: int | None) -> tuple[live.Viewer, int]:
    """Sign-in, role and region checks in a short unit of work of their own: a stream must not hold a
    database connection for as long as it stays open."""
    with unit_of_work() as session:
        user = get_optional_user(request, session)
        if user is None:
            raise NotAuthenticated("请先登录", "Please sign in first")
        if user.role not in service.VIEWERS:
            raise Forbidden("您的角色无权进行此操作", "Your role may not do this")
        view = service.region_view(session=session, actor=user, region_id=region)
        return live.viewer_of(user), view.region.id


@api.get("/stream")
async def stream(request: Request, region: RegionQ = None, once: bool = False) -> Response:
    """Server-sent events: ``counters`` now and whenever they change (within ~1 s of a commit anywhere)."""
    viewer, region_id = await asyncio.to_thread(_stream_viewer, request, region)
    if once:
        first = await asyncio.to_thread(live.compute_counters, viewer, region_id)
        return Response(live.sse("counters", first), media_type="text/event-stream")

    async def events():
        sub, first = await live.hub.subscribe(viewer, region_id)
        try:
            yield "retry: 2000\n\n" + live.sse("counters", first)
            while True:
                try:
                    data = await asyncio.wait_for(sub.queue.get(), timeout=15)
                    yield live.sse("counters", data)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                if await request.is_disconnected():
                    break
        finally:
            live.hub.unsubscribe(sub)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@pages.get("/dashboard")
def dashboard_page(request: Request, session: SessionDep, user: PageViewer) -> Response:
    """指挥中心大屏: the full-screen dashboard (the panels load from /api/dashboard)."""
    raw = request.query_params.get("region")
    region_id = None
    if raw:
        try:
            region_id = int(raw)
        except ValueError:
            raise InvalidInput("区域编号应为数字", "The region id must be a number") from None
    view = service.region_view(session=session, actor=user, region_id=region_id)
    return page(request, "dashboard/index.html", {
        "view": view, "measures": service.MEASURES, "period": Period.parse(None, utcnow()),
    }, user=user, session=session, active="dashboard")


router = APIRouter()
router.include_router(api)
router.include_router(pages)
