"""Grid geometry, pure: metres on a local projection, polygon checks, and point → grid lookup.

Coordinates are WGS84 longitude/latitude in degrees (GeoJSON order: lon, lat). Nothing in
this module touches the database; ``civicgrid.regions.service`` reads the grids and keeps
the process-wide :class:`GridIndex`.

Metres come from a local equirectangular projection (x = lon·cos(lat0)·k, y = lat·k) around
one reference latitude. Across a city (tens of kilometres) its scale error stays well under
1 %, which is plenty for areas, overlap tolerances and a 50 m snap radius, and it keeps every
conversion a cheap linear scaling that works the same on SQLite and PostgreSQL (no PostGIS).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely import STRtree
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

# Metres per degree of latitude on a sphere of the IUGG mean Earth radius (6,371,008.8 m).
# The ellipsoid varies 110.6–111.7 km per degree; the sphere is within 0.6 % of it everywhere.
METRES_PER_DEGREE = 6_371_008.8 * math.pi / 180.0

POLYGON_TYPES = ("Polygon", "MultiPolygon")


# ---------------------------------------------------------------------------------------
# Local projection
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalProjection:
    """Equirectangular projection around ``lat0``: degrees → metres by a fixed scale per axis."""

    lat0: float

    @property
    def kx(self) -> float:
        """Metres per degree of longitude at ``lat0``."""
        return METRES_PER_DEGREE * math.cos(math.radians(self.lat0))

    @property
    def ky(self) -> float:
        """Metres per degree of latitude."""
        return METRES_PER_DEGREE

    def to_metres(self, geom: Any) -> Any:
        """The geometry (or array of geometries) with coordinates in metres."""
        scale = np.array([self.kx, self.ky])
        return shapely.transform(geom, lambda coords: coords * scale)

    def metres_to_degrees_radius(self, metres: float) -> float:
        """A radius in degrees that certainly covers ``metres`` in every direction.

        A degree of longitude is the shorter one (cos(lat0) ≤ 1), so dividing by it gives
        the larger — conservative — radius: nothing within ``metres`` is left out.
        """
        return metres / self.kx


def projection_for(geom: BaseGeometry) -> LocalProjection:
    """The local projection centred on the middle latitude of ``geom``'s bounds."""
    _, miny, _, maxy = geom.bounds
    return LocalProjection((miny + maxy) / 2.0)


def area_m2(geom: BaseGeometry, projection: LocalProjection | None = None) -> float:
    """Area in square metres (local equirectangular projection around the geometry)."""
    if geom is None or geom.is_empty:
        return 0.0
    projection = projection or projection_for(geom)
    # The projection is a pure scaling, so area scales by kx·ky: no need to transform vertices.
    return float(geom.area * projection.kx * projection.ky)


def centroid(geom: BaseGeometry) -> tuple[float, float]:
    """The centroid as ``(lon, lat)``.

    The projection is linear, so the centroid computed in degrees is exactly the projected
    centroid mapped back: no transformation round trip needed.
    """
    c = geom.centroid
    return float(c.x), float(c.y)


def distance_m(a: BaseGeometry, b: BaseGeometry, projection: LocalProjection | None = None) -> float:
    """Shortest distance between two geometries in metres (local projection)."""
    projection = projection or projection_for(a)
    return float(shapely.distance(projection.to_metres(a), projection.to_metres(b)))


# ---------------------------------------------------------------------------------------
# Polygon validation (GeoJSON in, problems out)
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GeometryProblem:
    """One thing wrong with a geometry: a stable ``kind`` and what to fix, in Chinese and English."""

    kind: str
    message_zh: str
    message_en: str


def _position_ok(pos: Any) -> bool:
    """A GeoJSON position: a list of 2 (or 3, with altitude) finite numbers."""
    return (
        isinstance(pos, (list, tuple))
        and 2 <= len(pos) <= 3
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in pos)
    )


def _rings(geojson_geometry: dict[str, Any]) -> list[list[Any]] | None:
    """All linear rings of a Polygon/MultiPolygon, or None if the nesting is malformed."""
    coords = geojson_geometry.get("coordinates")
    polygons = [coords] if geojson_geometry.get("type") == "Polygon" else coords
    # Tuples too: Python callers often pass shapely.geometry.mapping() output.
    if not isinstance(polygons, (list, tuple)) or not polygons:
        return None
    rings: list[list[Any]] = []
    for polygon in polygons:
        if not isinstance(polygon, (list, tuple)) or not polygon:
            return None
        for ring in polygon:
            if not isinstance(ring, (list, tuple)) or not all(_position_ok(p) for p in ring):
                return None
            rings.append(ring)
    return rings


def validate_polygon(geojson_geometry: Any) -> list[GeometryProblem]:
    """Every problem that stops ``geojson_geometry`` being a usable Polygon/MultiPolygon (empty if fine)."""
    return parse_polygon(geojson_geometry)[1]


def parse_polygon(geojson_geometry: Any) -> tuple[BaseGeometry | None, list[GeometryProblem]]:
    """``(geometry, [])`` for a usable Polygon/MultiPolygon, else ``(None, problems)``; parses only once."""
    if not isinstance(geojson_geometry, dict):
        return None, [
            GeometryProblem(
                "geometry_missing",
                "缺少几何图形：请提供 Polygon 或 MultiPolygon 类型的 geometry",
                "Geometry is missing: provide a Polygon or MultiPolygon geometry",
            )
        ]
    gtype = geojson_geometry.get("type")
    if gtype not in POLYGON_TYPES:
        return None, [
            GeometryProblem(
                "geometry_type",
                f"几何类型为 {gtype!s}，网格边界必须是 Polygon 或 MultiPolygon",
                f"Geometry type is {gtype!s}; a boundary must be a Polygon or MultiPolygon",
            )
        ]
    rings = _rings(geojson_geometry)
    if rings is None:
        return None, [
            GeometryProblem(
                "geometry_coordinates",
                "坐标结构不正确：每个环必须是 [经度, 纬度] 数值对的列表",
                "Coordinates are malformed: every ring must be a list of [lon, lat] number pairs",
            )
        ]
    problems: list[GeometryProblem] = []
    for n, ring in enumerate(rings, start=1):
        if len(ring) < 4:
            problems.append(
                GeometryProblem(
                    "ring_too_short",
                    f"第 {n} 个环只有 {len(ring)} 个点，闭合环至少需要 4 个点（首尾相同）",
                    f"Ring {n} has {len(ring)} points; a closed ring needs at least 4 (first = last)",
                )
            )
        elif list(ring[0][:2]) != list(ring[-1][:2]):
            problems.append(
                GeometryProblem(
                    "ring_unclosed",
                    f"第 {n} 个环未闭合：最后一个点必须与第一个点 {list(ring[0][:2])} 相同",
                    f"Ring {n} is not closed: its last point must repeat the first point {list(ring[0][:2])}",
                )
            )
    bad = [p for ring in rings for p in ring if not (-180 <= p[0] <= 180 and -90 <= p[1] <= 90)]
    if bad:
        problems.append(
            GeometryProblem(
                "coordinate_range",
                f"有 {len(bad)} 个坐标超出经纬度范围（如 {list(bad[0][:2])}）：应为 [经度 -180…180, 纬度 -90…90]，"
                "请检查是否为投影坐标或经纬度顺序颠倒",
                f"{len(bad)} coordinates are outside lon/lat range (e.g. {list(bad[0][:2])}): expected "
                "[lon -180…180, lat -90…90]; check for projected coordinates or swapped lat/lon",
            )
        )
    if problems:
        # Shapely would silently close rings or fail on short ones: report the raw defects only.
        return None, problems
    geom = geometry_from_geojson(geojson_geometry)
    # Collinear or repeated points: nothing to repair, so say so rather than "self-intersection"
    # (a bow-tie also has zero signed area, but its hull does not).
    if geom.is_empty or geom.convex_hull.area == 0:
        return None, [
            GeometryProblem(
                "geometry_empty",
                "多边形面积为零：请检查坐标是否重复或共线",
                "The polygon has zero area: check for repeated or collinear points",
            )
        ]
    if not geom.is_valid:
        reason = explain_validity(geom)
        kind = "self_intersection" if "self-intersection" in reason.lower() else "invalid_geometry"
        what_zh = "边界自相交" if kind == "self_intersection" else "多边形无效"
        what_en = "The boundary intersects itself" if kind == "self_intersection" else "The polygon is invalid"
        return None, [
            GeometryProblem(
                kind,
                f"{what_zh}（{reason}）：请在 GIS 软件中修复该处（如 QGIS“修复几何”）后重新导入",
                f"{what_en} ({reason}): repair it in a GIS tool (e.g. QGIS 'Fix geometries') and import again",
            )
        ]
    return geom, []


def geometry_from_geojson(geojson_geometry: dict[str, Any]) -> BaseGeometry:
    """A Shapely geometry from a GeoJSON geometry dict, dropping any altitude."""
    geom = shape(geojson_geometry)
    return shapely.force_2d(geom) if geom.has_z else geom


def geometry_to_geojson(geom: BaseGeometry) -> dict[str, Any]:
    """A plain-JSON (lists, not tuples) GeoJSON geometry dict, as stored in ``Region.geometry``."""
    return json.loads(shapely.to_geojson(geom))


def clean_geojson(geojson_geometry: dict[str, Any]) -> dict[str, Any]:
    """A validated Polygon/MultiPolygon reduced to ``type`` and 2-D float ``coordinates`` lists.

    Same result as ``geometry_to_geojson(geometry_from_geojson(g))`` without the Shapely and
    JSON round trip, which dominates the cost of importing 10,000 grids.
    """
    def ring(r: list[Any]) -> list[list[float]]:
        return [[float(p[0]), float(p[1])] for p in r]

    coords = geojson_geometry["coordinates"]
    if geojson_geometry["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": [ring(r) for r in coords]}
    return {"type": "MultiPolygon", "coordinates": [[ring(r) for r in poly] for poly in coords]}


# ---------------------------------------------------------------------------------------
# Point → grid
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Location:
    """Where a point falls: the grid (None if none), whether it was snapped from outside, and how far (m)."""

    grid_id: int | None
    snapped: bool
    distance_m: float


NOWHERE = Location(None, False, math.inf)


class GridIndex:
    """An immutable spatial index over grid polygons for fast point → grid lookup.

    Where polygons overlap or share a boundary, a point belongs to exactly one grid,
    chosen deterministically: the deepest (``depth``: micro-grid over grid), then the
    lowest region id. Entries are stored in that preference order, so "best match" is
    simply "smallest entry index", which keeps the vectorised path branch-free.

    Vectorised lookups go through a uniform cell table built once with the STRtree: the
    bounding box of all grids is cut into square cells about a third of a typical grid
    across; each cell lists the grids touching it, and a cell touched by a single grid
    that covers it entirely answers without any geometry test. Only points in mixed
    cells get an exact (prepared, GIL-free) point-in-polygon test. This avoids building
    a Shapely Point per query point, which alone costs more than the whole lookup
    (measured in bench/bench_point_to_grid.py).
    """

    # Cell side as a fraction of a typical grid's side: finer cells answer more points
    # without a test but cost more to build (0.33 was the sweet spot at 10,000 grids).
    CELL_FRACTION = 0.33
    MAX_CELLS = 4_000_000  # bounds memory (≈ 50 MB) if grids are spread over a huge area
    # Cells are tested slightly enlarged so a point that float rounding puts in a
    # neighbouring cell still meets the right candidates (1e-9° ≈ 0.1 mm).
    CELL_PAD_DEG = 1e-9

    def __init__(
        self,
        items: Iterable[tuple[int, BaseGeometry]],
        *,
        depth: Mapping[int, int] | None = None,
    ) -> None:
        depth = depth or {}
        ordered = sorted(
            ((int(rid), geom) for rid, geom in items if geom is not None and not geom.is_empty),
            key=lambda item: (-depth.get(item[0], 0), item[0]),
        )
        self._ids = np.fromiter((rid for rid, _ in ordered), dtype=np.int64, count=len(ordered))
        self._geoms = np.array([geom for _, geom in ordered], dtype=object)
        self._pos = {int(rid): i for i, rid in enumerate(self._ids)}
        self._tree = STRtree(self._geoms)
        if len(self._geoms):
            bounds = shapely.bounds(self._geoms)
            lat0 = float(np.mean((bounds[:, 1] + bounds[:, 3]) / 2.0))
        else:
            lat0 = 0.0
        self.projection = LocalProjection(lat0)
        # Prepared polygons make the exact point-in-polygon tests cheap.
        shapely.prepare(self._geoms)
        self._build_cells()
        # GEOS fills a prepared polygon's point locator lazily on first use; do it now, in
        # one thread, so concurrent request threads only ever read it.
        if len(self._geoms):
            reps = shapely.point_on_surface(self._geoms)
            shapely.intersects_xy(self._geoms, shapely.get_x(reps), shapely.get_y(reps))

    def _build_cells(self) -> None:
        """Build the cell table: per cell, the candidate grids, and the single grid if it covers the cell."""
        n = len(self._geoms)
        if n == 0:
            self._nx = self._ny = 0
            return
        bounds = shapely.bounds(self._geoms)
        x0, y0 = bounds[:, 0].min(), bounds[:, 1].min()
        x1, y1 = bounds[:, 2].max(), bounds[:, 3].max()
        side_m = math.sqrt(max(float(np.mean(shapely.area(self._geoms))), 1e-18) * self.projection.kx * self.projection.ky)
        cell_m = max(side_m * self.CELL_FRACTION, 1e-3)
        hx, hy = cell_m / self.projection.kx, cell_m / self.projection.ky
        cells = ((x1 - x0) / hx + 1) * ((y1 - y0) / hy + 1)
        if cells > self.MAX_CELLS:
            grow = math.sqrt(cells / self.MAX_CELLS)
            hx, hy = hx * grow, hy * grow
        nx = int(math.floor((x1 - x0) / hx)) + 1
        ny = int(math.floor((y1 - y0) / hy)) + 1
        ix, iy = np.meshgrid(np.arange(nx), np.arange(ny))
        ix, iy = ix.ravel(), iy.ravel()
        pad = self.CELL_PAD_DEG
        boxes = shapely.box(x0 + ix * hx - pad, y0 + iy * hy - pad, x0 + (ix + 1) * hx + pad, y0 + (iy + 1) * hy + pad)
        cell_idx, entry_idx = self._tree.query(boxes, predicate="intersects")
        # Candidates of a cell in ascending entry order = preference order (see locate_many).
        order = np.lexsort((entry_idx, cell_idx))
        cell_idx, entry_idx = cell_idx[order], entry_idx[order]
        counts = np.bincount(cell_idx, minlength=nx * ny)
        starts = np.zeros(nx * ny, dtype=np.int64)
        np.cumsum(counts[:-1], out=starts[1:])
        pure = np.full(nx * ny, -1, dtype=np.int64)
        single = np.flatnonzero(counts == 1)
        only = entry_idx[starts[single]]
        covered = shapely.covers(self._geoms[only], boxes[single])
        pure[single[covered]] = only[covered]
        self._x0, self._y0, self._hx, self._hy, self._nx, self._ny = x0, y0, hx, hy, nx, ny
        self._counts, self._starts, self._entries, self._pure = counts, starts, entry_idx, pure

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def ids(self) -> np.ndarray:
        """Region ids in preference order (a copy)."""
        return self._ids.copy()

    def geometry(self, region_id: int) -> BaseGeometry | None:
        """The polygon of one grid, or None if it is not in the index."""
        pos = self._pos.get(int(region_id))
        return None if pos is None else self._geoms[pos]

    def locate_many(self, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
        """Region id of the grid containing each point (boundary included); -1 where none."""
        lons = np.asarray(lons, dtype=np.float64).ravel()
        lats = np.asarray(lats, dtype=np.float64).ravel()
        if lons.shape != lats.shape:
            raise ValueError("lons and lats must have the same length")
        n = lons.shape[0]
        out = np.full(n, -1, dtype=np.int64)
        if n == 0 or len(self._ids) == 0:
            return out
        with np.errstate(invalid="ignore"):
            fx = np.floor((lons - self._x0) / self._hx)
            fy = np.floor((lats - self._y0) / self._hy)
        # NaN/inf compare False, so unusable coordinates simply find no grid.
        inside = (fx >= 0) & (fx < self._nx) & (fy >= 0) & (fy < self._ny)
        cell = np.zeros(n, dtype=np.int64)
        cell[inside] = fy[inside].astype(np.int64) * self._nx + fx[inside].astype(np.int64)
        # 1. Cells wholly covered by one grid: answer by table lookup.
        pure = np.where(inside, self._pure[cell], -1)
        answered = pure >= 0
        best = np.where(answered, pure, -1)
        # 2. Mixed cells: expand each point into its cell's candidates and test exactly.
        rest = np.flatnonzero(inside & ~answered & (self._counts[cell] > 0))
        if rest.size:
            k = self._counts[cell[rest]]
            first = self._starts[cell[rest]]
            point_rep = np.repeat(rest, k)
            offsets = np.arange(point_rep.size) - np.repeat(np.cumsum(k) - k, k)
            cand = self._entries[np.repeat(first, k) + offsets]
            hit = shapely.intersects_xy(self._geoms[cand], lons[point_rep], lats[point_rep])
            point_rep, cand = point_rep[hit], cand[hit]
            # point_rep is grouped by point and candidates ascend within a cell, so the first
            # hit of each point is its preferred grid (boundaries and overlaps resolved).
            first_hit = np.ones(point_rep.size, dtype=bool)
            first_hit[1:] = point_rep[1:] != point_rep[:-1]
            best[point_rep[first_hit]] = cand[first_hit]
        found = best >= 0
        out[found] = self._ids[best[found]]
        return out

    def locate(self, lon: float, lat: float, snap_tolerance_m: float = 0.0) -> Location:
        """The grid containing the point; else the nearest grid within ``snap_tolerance_m`` (snapped)."""
        if len(self._ids) == 0 or not (math.isfinite(lon) and math.isfinite(lat)):
            return NOWHERE
        inside = self.locate_many(np.array([lon]), np.array([lat]))[0]
        if inside >= 0:
            return Location(int(inside), False, 0.0)
        if snap_tolerance_m <= 0:
            return NOWHERE
        point = shapely.points(lon, lat)
        radius_deg = self.projection.metres_to_degrees_radius(snap_tolerance_m)
        # query_nearest ranks by distance in *degrees*, which stretches east-west against
        # north-south (cos(lat)), so the degree-nearest grid need not be the metre-nearest.
        # Take every grid within the conservative degree radius instead and rank in metres.
        candidates = self._tree.query(point, predicate="dwithin", distance=radius_deg)
        if candidates.size == 0:
            return NOWHERE
        candidates = np.sort(candidates)  # preference order breaks distance ties
        metres = shapely.distance(
            self.projection.to_metres(self._geoms[candidates]), self.projection.to_metres(point)
        )
        best = int(np.argmin(metres))
        if metres[best] > snap_tolerance_m:
            return NOWHERE
        return Location(int(self._ids[candidates[best]]), True, float(metres[best]))
