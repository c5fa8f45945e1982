"""Region and grid services: the tree, grid members, point → grid, and GeoJSON import.

Plain functions taking a ``session``; none of them commits (the caller's unit of work does).
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Collection, Iterable, Sequence
from typing import Any

import numpy as np
import shapely
import shapely.errors
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session, undefer

from civicgrid import reference
from civicgrid.audit.service import Origin, record
from civicgrid.auth.models import User
from civicgrid.errors import Conflict, InvalidInput, not_found
from civicgrid.regions.geometry import (
    NOWHERE,
    GridIndex,
    Location,
    area_m2,
    centroid,
    geometry_from_geojson,
)
from civicgrid.regions.importer import (
    GRID_LEVELS,
    FeatureRow,
    KnownRegion,
    check_tree,
    import_order,
    parse_features,
)
from civicgrid.regions.models import GRID_DUTIES, GridMember, Region, RegionLevel, subtree_range
from civicgrid.regions.schemas import ImportReport, RegionTreeNode
from civicgrid.settings import get_settings

log = logging.getLogger("civicgrid.regions")

# Large IN (...) lists are sent in chunks: SQLite caps bound parameters per statement.
_CHUNK = 5_000


# ---------------------------------------------------------------------------------------
# The tree
# ---------------------------------------------------------------------------------------


def region_by_code(*, session: Session, code: str) -> Region:
    """The region with this code, or NotFound."""
    region = session.scalar(select(Region).where(Region.code == code))
    if region is None:
        raise not_found("区域", "Region", code)
    return region


def within_region(*, session: Session, path_column: Any, region_id: int) -> list[Any]:
    """Conditions keeping rows whose ``path_column`` lies in region ``region_id``'s subtree.

    For list filters ("cases in this street"); the caller's own scope condition still applies,
    so a region outside it just finds nothing. NotFound if there is no such region.
    """
    path = session.scalar(select(Region.path).where(Region.id == region_id))
    if path is None:
        raise not_found("区域", "Region", region_id)
    low, high = subtree_range(path)
    return [path_column >= low, path_column < high]


def children(*, session: Session, region_id: int) -> list[Region]:
    """The direct children of a region, ordered by code."""
    return list(session.scalars(select(Region).where(Region.parent_id == region_id).order_by(Region.code)))


def subtree(*, session: Session, path: str, levels: Iterable[RegionLevel] | None = None,
            with_geometry: bool = False) -> list[Region]:
    """The region at ``path`` and all its descendants (optionally only some levels), parents first."""
    low, high = subtree_range(path)
    stmt = select(Region).where(Region.path >= low, Region.path < high)
    if with_geometry:
        stmt = stmt.options(undefer(Region.geometry))
    if levels is not None:
        stmt = stmt.where(Region.level.in_(list(levels)))
    return sorted(session.scalars(stmt), key=lambda r: (r.path.count("/"), r.code))


def ancestors(region: Region) -> list[Region]:
    """The regions above ``region``, root first (one query, read from its materialised path)."""
    codes = [c for c in region.path.strip("/").split("/")[:-1] if c]
    if not codes:
        return []
    session = object_session(region)
    if session is None:
        raise ValueError("ancestors() needs a region attached to a session")
    found = {r.code: r for r in session.scalars(select(Region).where(Region.code.in_(codes)))}
    return [found[c] for c in codes if c in found]


def region_tree(*, session: Session, path: str, max_level: RegionLevel | None = None) -> RegionTreeNode:
    """The subtree at ``path`` as nested nodes (down to ``max_level``, e.g. stop at communities)."""
    levels = None if max_level is None else [lv for lv in RegionLevel if lv.rank <= max_level.rank]
    regions = subtree(session=session, path=path, levels=levels)
    if not regions:
        raise not_found("区域", "Region", path)
    nodes = {r.id: RegionTreeNode.model_validate(r, from_attributes=True) for r in regions}
    root = nodes[regions[0].id]
    for r in regions[1:]:
        parent = nodes.get(r.parent_id) if r.parent_id is not None else None
        if parent is not None:
            parent.children.append(nodes[r.id])
    return root


# ---------------------------------------------------------------------------------------
# Grid members (二员同格, 2+N)
# ---------------------------------------------------------------------------------------


def assign_grid_member(
    *,
    session: Session,
    actor: Any | None,
    origin: Origin,
    grid_id: int,
    user_id: int,
    duty: str,
    team_name: str | None = None,
) -> GridMember:
    """Assign a user to a grid as grid worker, community police or N-team member (audited)."""
    if duty not in GRID_DUTIES:
        raise InvalidInput(
            f"职责 {duty!r} 无效，应为：{'、'.join(f'{k}（{v[0]}）' for k, v in GRID_DUTIES.items())}",
            f"Duty {duty!r} is invalid; use one of: {', '.join(GRID_DUTIES)}",
        )
    grid = session.get(Region, grid_id)
    if grid is None or grid.level not in GRID_LEVELS:
        raise not_found("网格", "Grid", grid_id)
    user = session.get(User, user_id)
    if user is None:
        raise not_found("用户", "User", user_id)
    existing = session.scalar(
        select(GridMember).where(GridMember.grid_id == grid_id, GridMember.user_id == user_id, GridMember.duty == duty)
    )
    if existing is not None:
        raise Conflict(
            f"{user.display_name} 已是{grid.name_zh}的{GRID_DUTIES[duty][0]}",
            f"{user.display_name} is already {GRID_DUTIES[duty][1].lower()} of {grid.name_en or grid.name_zh}",
        )
    member = GridMember(grid_id=grid_id, user_id=user_id, duty=duty, team_name=team_name if duty == "team" else None)
    session.add(member)
    session.flush()
    record(
        session=session,
        actor=actor,
        origin=origin,
        entity="grid_member",
        entity_id=member.id,
        action="assign",
        after={"grid_id": grid_id, "grid_code": grid.code, "user_id": user_id, "duty": duty, "team_name": member.team_name},
    )
    return member


def remove_grid_member(*, session: Session, actor: Any | None, origin: Origin, member_id: int) -> None:
    """End a grid assignment (audited with what it was)."""
    member = session.get(GridMember, member_id)
    if member is None:
        raise not_found("网格成员", "Grid member", member_id)
    before = {"grid_id": member.grid_id, "user_id": member.user_id, "duty": member.duty, "team_name": member.team_name}
    session.delete(member)
    session.flush()
    record(
        session=session, actor=actor, origin=origin, entity="grid_member", entity_id=member_id,
        action="remove", before=before,
    )


def grid_members(*, session: Session, grid_id: int) -> list[GridMember]:
    """Everyone assigned to a grid, grid workers first, then police, then teams."""
    order = {duty: i for i, duty in enumerate(GRID_DUTIES)}
    members = session.scalars(select(GridMember).where(GridMember.grid_id == grid_id))
    return sorted(members, key=lambda m: (order.get(m.duty, 99), m.id))


# ---------------------------------------------------------------------------------------
# Point → grid, with a process-wide index rebuilt only when grids change
# ---------------------------------------------------------------------------------------

# Areas above the grid, for points that fall outside every grid: finest level first.
AREA_DEPTH = {RegionLevel.COMMUNITY: 2, RegionLevel.STREET: 1, RegionLevel.DISTRICT: 0}
AREA_LEVELS = frozenset(AREA_DEPTH)


def _build_grid_index(session: Session, levels: Collection[RegionLevel] = GRID_LEVELS) -> GridIndex:
    """Read every active polygon of ``levels`` (grids and micro-grids by default) and index them."""
    rows = session.execute(
        select(Region.id, Region.level, Region.geometry).where(
            Region.level.in_(list(levels)), Region.geometry.is_not(None), Region.active.is_(True)
        )
    ).all()
    items = []
    for rid, _, geometry in rows:
        # A JSON 'null' or a polygon some other writer stored badly must not take point
        # lookup down for the whole city: skip it and say which grid it is.
        try:
            geom = geometry_from_geojson(geometry) if geometry else None
        except (ValueError, TypeError, KeyError, AttributeError, shapely.errors.ShapelyError):
            geom = None
        if geom is None or geom.is_empty:
            log.warning("grid %s has no usable polygon; it is left out of point lookup", rid)
            continue
        items.append((rid, geom))
    # Micro-grids lie inside grids: a point in both belongs to the finer one (likewise for areas).
    if levels == GRID_LEVELS:
        depth = {rid: 1 for rid, level, _ in rows if level == RegionLevel.MICRO_GRID}
    else:
        depth = {rid: AREA_DEPTH.get(level, 0) for rid, level, _ in rows}
    return GridIndex(items, depth=depth)


# The polygons of the grid layer and of the areas above it, kept per process and rebuilt when a
# region changes (reference.py): a grid imported by any process is used from its commit on.
_GRID_LAYER = reference.watch("grid_layer", Region)
_INDEXES = {
    frozenset(levels): reference.ProcessCache(
        _GRID_LAYER, lambda session, levels=levels: _build_grid_index(session, levels))
    for levels in (GRID_LEVELS, AREA_LEVELS)
}


def get_grid_index(session: Session, levels: Collection[RegionLevel] = GRID_LEVELS) -> GridIndex:
    """The index of ``levels`` (grids by default, or ``AREA_LEVELS``) for the regions this transaction sees."""
    return _INDEXES[frozenset(levels)].get(session)


def containing_area(*, session: Session, lon: float, lat: float) -> Region | None:
    """The finest community, street or district whose polygon holds a point that no grid holds."""
    if not (math.isfinite(lon) and math.isfinite(lat)) or not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return None
    found = get_grid_index(session, AREA_LEVELS).locate(lon, lat, 0.0)
    return session.get(Region, found.grid_id) if found.grid_id is not None else None


def _located(index: GridIndex, lon: float, lat: float, tolerance: float) -> Location:
    if not (math.isfinite(lon) and math.isfinite(lat)) or not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return NOWHERE
    return index.locate(lon, lat, tolerance)


def locate_point(*, session: Session, lon: float, lat: float) -> Location:
    """The grid of a WGS84 point; outside every grid, the nearest within the snap tolerance (snapped)."""
    return _located(get_grid_index(session), lon, lat, get_settings().grid_snap_tolerance_m)


def locate_points(*, session: Session, lons: Sequence[float], lats: Sequence[float]) -> list[Location]:
    """``locate_point`` for many points at once (imports, grouped intake): vectorised, then snapping the misses."""
    index = get_grid_index(session)
    tolerance = get_settings().grid_snap_tolerance_m
    lons_a = np.asarray(lons, dtype=np.float64)
    lats_a = np.asarray(lats, dtype=np.float64)
    found = index.locate_many(lons_a, lats_a)
    return [
        Location(int(gid), False, 0.0) if gid >= 0 else _located(index, float(x), float(y), tolerance)
        for gid, x, y in zip(found, lons_a, lats_a)
    ]


# ---------------------------------------------------------------------------------------
# GeoJSON import
# ---------------------------------------------------------------------------------------


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    """Slices of at most _CHUNK values."""
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


def _parent_code_of(path: str) -> str | None:
    """The parent's code read from a materialised path ``/a/b/c/`` → ``b``."""
    parts = [p for p in path.strip("/").split("/") if p]
    return parts[-2] if len(parts) >= 2 else None


def _known(region: Region, *, with_geometry: bool = True) -> KnownRegion:
    """What the checks need to know about a stored region (its polygon only when asked)."""
    geom = geometry_from_geojson(region.geometry) if with_geometry and region.geometry else None
    return KnownRegion(region.id, region.code, region.level, _parent_code_of(region.path), region.path, geom)


def _load_by_codes(session: Session, codes: Iterable[str]) -> dict[str, Region]:
    """Stored regions by code, for the given codes."""
    found: dict[str, Region] = {}
    for chunk in _chunks(sorted(set(codes))):
        for region in session.scalars(select(Region).where(Region.code.in_(chunk))):
            found[region.code] = region
    return found


def _load_stored_children(
    session: Session, parent_ids: Iterable[int], roots: bool, exclude: set[str]
) -> list[KnownRegion]:
    """Stored regions under the given parents (and roots, if asked), minus codes in the file."""
    # Ids first, polygons only for what is left: a re-import of a whole city would otherwise
    # decode every stored polygon a second time just to drop it.
    ids: list[int] = []
    for chunk in _chunks(sorted(set(parent_ids))):
        ids += [rid for rid, code in session.execute(select(Region.id, Region.code).where(Region.parent_id.in_(chunk))) if code not in exclude]
    if roots:
        ids += [rid for rid, code in session.execute(select(Region.id, Region.code).where(Region.parent_id.is_(None))) if code not in exclude]
    out: list[KnownRegion] = []
    for chunk in _chunks(sorted(set(ids))):
        out += [_known(r) for r in session.scalars(select(Region).where(Region.id.in_(chunk)))]
    return out


def _values(row: FeatureRow) -> dict[str, Any]:
    """The column values a feature sets; optional properties absent from the feature are left out."""
    values: dict[str, Any] = {"name_zh": row.name_zh}
    if row.has(row.name_en):
        values["name_en"] = row.name_en or ""
    if row.has(row.special):
        values["special_kind"] = row.special
    if row.has(row.population):
        values["population"] = row.population
    if row.geom is not None:
        lon, lat = centroid(row.geom)
        values.update(
            geometry=row.geometry_json,
            area_m2=round(area_m2(row.geom), 1),
            centroid_lon=lon,
            centroid_lat=lat,
        )
    return values


def _changes(region: Region, values: dict[str, Any]) -> dict[str, Any]:
    """The subset of ``values`` that differs from what is stored (empty: an unchanged feature)."""
    return {k: v for k, v in values.items() if getattr(region, k) != v}


def import_geojson(
    *,
    session: Session,
    actor: Any | None,
    origin: Origin,
    feature_collection: Any,
    dry_run: bool = False,
) -> ImportReport:
    """Validate a GeoJSON FeatureCollection of regions and upsert it by code, all or nothing.

    Any problem raises InvalidInput listing every problem (``errors`` in the problem body)
    and writes nothing. With ``dry_run`` nothing is written either way and the report,
    problems included, is returned instead of raised.
    """
    rows, problems = parse_features(feature_collection)
    n_features = len(feature_collection.get("features") or []) if isinstance(feature_collection, dict) else 0
    codes = {r.code for r in rows}
    stored = _load_by_codes(session, codes | {r.parent_code for r in rows if r.parent_code})
    # A stored polygon matters only where the file does not replace it (parents outside the file).
    replaced = {r.code for r in rows if r.geom is not None}
    known = {code: _known(region, with_geometry=code not in replaced) for code, region in stored.items()}
    parent_ids = {stored[r.parent_code].id for r in rows if r.parent_code in stored}
    parent_ids |= {stored[c].id for c in codes if c in stored}
    roots = any(r.parent_code is None for r in rows)
    stored_children = _load_stored_children(session, parent_ids, roots, codes)
    problems += check_tree(rows, known=known, stored_children=stored_children)
    problems.sort(key=lambda p: (p.index is not None, p.index if p.index is not None else -1))

    if problems:
        report = ImportReport(features=n_features, dry_run=dry_run, errors=problems)
        if dry_run:
            return report
        raise InvalidInput(
            f"GeoJSON 导入未通过校验：共 {len(problems)} 个问题，未写入任何数据。请按 errors 逐条修正后重新导入",
            f"The GeoJSON import failed validation with {len(problems)} problem{'s' if len(problems) != 1 else ''}; "
            "nothing was written. "
            "Fix each entry in errors and import again",
            errors=[p.model_dump() for p in problems],
        )

    created = updated = unchanged = 0
    regions = dict(stored)
    ordered = import_order(rows)
    for _, level_rows in itertools.groupby(ordered, key=lambda r: r.level):
        for row in level_rows:
            values = _values(row)
            region = regions.get(row.code)
            if region is not None:
                changes = _changes(region, values)
                if not changes:
                    unchanged += 1
                    continue
                updated += 1
                if not dry_run:
                    for key, value in changes.items():
                        setattr(region, key, value)
                continue
            created += 1
            if dry_run:
                continue
            parent = regions.get(row.parent_code) if row.parent_code else None
            region = Region(
                code=row.code,
                level=row.level,
                parent_id=parent.id if parent is not None else None,
                path=(parent.path if parent is not None else "/") + row.code + "/",
                **{"name_en": "", **values},
            )
            session.add(region)
            regions[row.code] = region
        if not dry_run:
            # Children of the next level need their parents' ids.
            session.flush()

    report = ImportReport(
        features=n_features, created=created, updated=updated, unchanged=unchanged, dry_run=dry_run
    )
    if not dry_run:
        record(
            session=session,
            actor=actor,
            origin=origin,
            entity="region_import",
            entity_id=n_features,
            action="import",
            after={"created": created, "updated": updated, "unchanged": unchanged},
        )
        session.flush()
    return report
