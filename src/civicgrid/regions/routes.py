"""Region API (/api/regions): the tree one level at a time, regions as GeoJSON, the grid map layer,
GeoJSON import, grid members and point → grid. Thin: every answer is limited to the caller's
region subtree (outside it: 404, so existence does not leak)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy import func, select

from civicgrid.auth.models import User
from civicgrid.errors import Forbidden, InvalidInput, not_found
from civicgrid.events.models import Case
from civicgrid.events.scope import case_scope
from civicgrid.events.workflow import OPEN
from civicgrid.regions import service
from civicgrid.regions.importer import GRID_LEVELS, ancestor_codes, code_error
from civicgrid.regions.models import Region, subtree_range
from civicgrid.regions.schemas import (
    GridMemberCreate,
    GridMemberRead,
    ImportReport,
    LocationRead,
    RegionRead,
    RegionTreeNode,
)
from civicgrid.web.deps import AdminUser, CurrentUser, OriginDep, SessionDep

router = APIRouter(prefix="/api/regions", tags=["regions"])
RegionId = Annotated[int, Path(ge=1, le=2**62)]

MAX_UPLOAD_BYTES = 50_000_000  # a whole city's grid layer is ~20 MB of GeoJSON


def _in_scope(user: User, region: Region | None) -> bool:
    return region is not None and region.path.startswith(user.scope_path)


def _scoped_region(session, user: User, region_id: int | None) -> Region:
    """The region ``region_id`` (default: the user's scope) if it lies in the user's subtree, else 404."""
    if region_id is None:
        region_id = user.scope_region_id
    region = session.get(Region, region_id)
    if not _in_scope(user, region):
        raise not_found("区域", "Region", region_id)
    assert region is not None
    return region


def _node(region: Region) -> RegionTreeNode:
    return RegionTreeNode.model_validate(region, from_attributes=True).model_copy(update={"children": []})


@router.get("/tree", response_model=RegionTreeNode, summary="A region and its direct children")
def tree(session: SessionDep, user: CurrentUser,
         root: Annotated[int | None, Query(ge=1, le=2**62, description="Region id; default: your scope")] = None
         ) -> RegionTreeNode:
    """One level at a time (for drill-down and lazy tree pickers): ``root`` with its children, by code."""
    region = _scoped_region(session, user, root)
    node = _node(region)
    node.children = [_node(child) for child in service.children(session=session, region_id=region.id)]
    return node


@router.get("/grids.geojson", summary="Grid layer for the map, with open-case counts")
def grids_geojson(session: SessionDep, user: CurrentUser,
                  within: Annotated[int | None, Query(ge=1, le=2**62, description="Region id; default: your scope")]
                  = None) -> Response:
    """A FeatureCollection of the active grids under ``within``, each with its open cases in your view."""
    region = _scoped_region(session, user, within)
    low, high = subtree_range(region.path)
    counts = dict(session.execute(
        select(Case.grid_id, func.count())
        .where(case_scope(user), Case.region_path >= low, Case.region_path < high, Case.state.in_(list(OPEN)),
               Case.grid_id.is_not(None))
        .group_by(Case.grid_id)
    ).all())
    rows = session.execute(
        select(Region.id, Region.code, Region.name_zh, Region.name_en, Region.level, Region.special_kind,
               Region.population, Region.geometry)
        .where(Region.path >= low, Region.path < high, Region.level.in_(list(GRID_LEVELS)),
               Region.active.is_(True), Region.geometry.is_not(None))
        .order_by(Region.code)
    ).all()
    features = [
        {"type": "Feature", "id": r.id, "geometry": r.geometry,
         "properties": {"id": r.id, "code": r.code, "name_zh": r.name_zh, "name_en": r.name_en,
                        "level": r.level.value, "special_kind": r.special_kind, "population": r.population,
                        "open_cases": counts.get(r.id, 0)}}
        for r in rows
    ]
    body = {"type": "FeatureCollection", "features": features}
    # Serialised once here: 10,000 polygons through the response-model machinery is needlessly slow.
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")), media_type="application/geo+json")


@router.get("/locate", response_model=LocationRead, summary="Which grid a point falls in")
def locate(session: SessionDep, user: CurrentUser,
           lat: Annotated[float, Query(ge=-90, le=90)], lon: Annotated[float, Query(ge=-180, le=180)]) -> LocationRead:
    """The grid containing the point (or the nearest within the snap tolerance), if it is in your area."""
    location = service.locate_point(session=session, lon=lon, lat=lat)
    if location.grid_id is None or not _in_scope(user, session.get(Region, location.grid_id)):
        return LocationRead(grid_id=None, snapped=False, distance_m=None)
    return LocationRead(grid_id=location.grid_id, snapped=location.snapped, distance_m=location.distance_m)


@router.post("/import", response_model=ImportReport, summary="Import regions and grids from GeoJSON (admin)")
async def import_regions(request: Request, session: SessionDep, user: AdminUser, origin: OriginDep,
                         dry_run: bool = False) -> ImportReport:
    """A FeatureCollection as the JSON body, or a .geojson file uploaded as form field ``file``.

    All or nothing: any problem answers 422 with every problem in ``errors``.
    """
    collection = await _read_collection(request)
    _check_codes_in_scope(user, collection)
    report = service.import_geojson(session=session, actor=user, origin=origin, feature_collection=collection,
                                    dry_run=dry_run)
    if report.errors:
        # A dry run returns its problems instead of raising; the API answers both the same way.
        raise InvalidInput(
            f"GeoJSON 校验未通过：共 {len(report.errors)} 个问题（试导入，未写入数据）",
            f"The GeoJSON failed validation with {len(report.errors)} problems (dry run; nothing written)",
            errors=[p.model_dump() for p in report.errors], dry_run=True,
        )
    return report


async def _read_collection(request: Request) -> Any:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidInput("请上传 .geojson 文件（表单字段 file）", "Upload a .geojson file as form field 'file'")
        raw = await upload.read(MAX_UPLOAD_BYTES + 1)
    else:
        raw = await request.body()
    if len(raw) > MAX_UPLOAD_BYTES:
        raise InvalidInput("文件过大（上限 50 MB）", "File too large (limit 50 MB)")
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"不是有效的 UTF-8 GeoJSON：{exc}", f"Not valid UTF-8 GeoJSON: {exc}") from None


def _check_codes_in_scope(user: User, collection: Any) -> None:
    """Refuse features whose code lies outside the admin's subtree (malformed codes are left to the import)."""
    scope_code = user.scope_path.strip("/").split("/")[-1]
    features = collection.get("features") if isinstance(collection, dict) else None
    outside = []
    for index, feature in enumerate(features if isinstance(features, list) else []):
        props = feature.get("properties") if isinstance(feature, dict) else None
        code = str(props.get("code", "")) if isinstance(props, dict) else ""
        if not code or code_error(code) is not None:
            continue
        if code != scope_code and scope_code not in ancestor_codes(code):
            outside.append({"index": index, "code": code, "kind": "outside_scope",
                            "message_zh": f"区域 {code} 不在您的管辖范围内", "message_en": f"Region {code} is outside your area"})
    if outside:
        raise Forbidden(f"文件中有 {len(outside)} 个区域不在您的管辖范围内，未写入任何数据",
                        f"{len(outside)} regions in the file are outside your area; nothing was written",
                        errors=outside)


@router.get("/{grid_id}/members", response_model=list[GridMemberRead], summary="Who serves a grid")
def members(grid_id: RegionId, session: SessionDep, user: CurrentUser) -> list[GridMemberRead]:
    """The grid's grid workers, police and team members (二员同格, 2+N)."""
    grid = _scoped_region(session, user, grid_id)
    return [GridMemberRead.model_validate(m) for m in service.grid_members(session=session, grid_id=grid.id)]


@router.post("/{grid_id}/members", response_model=GridMemberRead, status_code=201,
             summary="Assign a grid worker, police officer or team member (admin)")
def add_member(grid_id: RegionId, data: GridMemberCreate, session: SessionDep, user: AdminUser,
               origin: OriginDep) -> GridMemberRead:
    """Both the grid and the person must be in your area."""
    grid = _scoped_region(session, user, grid_id)
    member_user = session.get(User, data.user_id)
    if member_user is None or not member_user.scope_path.startswith(user.scope_path):
        raise not_found("用户", "User", data.user_id)
    member = service.assign_grid_member(session=session, actor=user, origin=origin, grid_id=grid.id,
                                        user_id=data.user_id, duty=data.duty, team_name=data.team_name)
    return GridMemberRead.model_validate(member)


@router.get("/{region_id}", summary="One region with its boundary as a GeoJSON Feature")
def read_region(region_id: RegionId, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """A GeoJSON Feature: ``properties`` is the region, ``geometry`` its polygon (null if none)."""
    region = _scoped_region(session, user, region_id)
    props = RegionRead.model_validate(region).model_dump(mode="json")
    return {"type": "Feature", "id": region.id, "geometry": region.geometry, "properties": props}
