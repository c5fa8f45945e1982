"""The grid map page: grids of the user's area coloured by their open-case load."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicgrid.auth.models import Role, User
from civicgrid.events.models import Case
from civicgrid.events.scope import case_scope
from civicgrid.events.workflow import TERMINAL
from civicgrid.regions import service as regions
from civicgrid.regions.models import Region, RegionLevel
from civicgrid.settings import get_settings
from civicgrid.web.deps import SessionDep
from civicgrid.web.pagekit import PageRoute, PageUser, admit_to_page, page

router = APIRouter(route_class=PageRoute, include_in_schema=False)

MAP_ROLES = (Role.ADMIN, Role.OPERATOR, Role.HANDLER, Role.GRID_WORKER, Role.LEADER)

# Load bands: (lowest count, colour class, legend zh, legend en). Colours live in the CSS.
LOAD_BANDS = (
    (0, "load-0", "无未办结事件", "no open cases"),
    (1, "load-1", "1–2 件", "1–2 open"),
    (3, "load-2", "3–5 件", "3–5 open"),
    (6, "load-3", "6 件及以上", "6 or more open"),
)
LOAD_COLOURS = {"load-0": "#e8f1e4", "load-1": "#fbe7a1", "load-2": "#f6b26b", "load-3": "#d9534f"}


def open_cases_per_grid(*, session: Session, actor: User) -> dict[int, int]:
    """Open cases per grid id among the cases ``actor`` may see."""
    rows = session.execute(
        select(Case.grid_id, func.count())
        .where(case_scope(actor), Case.state.not_in(list(TERMINAL)), Case.grid_id.is_not(None))
        .group_by(Case.grid_id)
    ).all()
    return {grid_id: n for grid_id, n in rows}


def load_band(count: int) -> str:
    """The colour class for a grid with ``count`` open cases."""
    band = LOAD_BANDS[0][1]
    for lowest, name, _zh, _en in LOAD_BANDS:
        if count >= lowest:
            band = name
    return band


def scope_grids(*, session: Session, actor: User) -> list[Region]:
    """The grids (with a polygon) in the actor's area."""
    grids = regions.subtree(session=session, path=actor.scope_path, levels=[RegionLevel.GRID], with_geometry=True)
    return [g for g in grids if g.geometry and g.active]


def grid_collection(*, session: Session, actor: User) -> dict:
    """The actor's grids as a GeoJSON FeatureCollection with name, open-case count and fill colour."""
    counts = open_cases_per_grid(session=session, actor=actor)
    features = []
    for grid in scope_grids(session=session, actor=actor):
        n = counts.get(grid.id, 0)
        band = load_band(n)
        features.append({
            "type": "Feature",
            "id": grid.id,
            "geometry": grid.geometry,
            "properties": {"id": grid.id, "code": grid.code, "name_zh": grid.name_zh,
                           "name_en": grid.name_en or grid.name_zh, "open_cases": n, "band": band,
                           "fill": LOAD_COLOURS[band]},
        })
    return {"type": "FeatureCollection", "features": features}


@router.get("/map")
def grid_map(request: Request, session: SessionDep, user: PageUser) -> Response:
    """The grid map: every grid of the user's area, coloured by open cases, name and count on hover."""
    admit_to_page(user, MAP_ROLES)
    scope = user.scope_region
    center = (scope.centroid_lat, scope.centroid_lon) if scope.centroid_lat is not None else None
    bands = [(name, LOAD_COLOURS[name], zh, en) for _lowest, name, zh, en in LOAD_BANDS]
    return page(request, "map.html", {"bands": bands, "tiles": get_settings().map_tile_url, "center": center,
                                      "scope": scope}, user=user, session=session, active="map")


@router.get("/map/grids.geojson")
def grid_geojson(session: SessionDep, user: PageUser) -> Response:
    """The user's grids as GeoJSON for the map scripts (also the new-case form's location picker)."""
    return JSONResponse(grid_collection(session=session, actor=user), media_type="application/geo+json",
                        headers={"Cache-Control": "private, max-age=30"})
