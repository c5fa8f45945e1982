"""Pure geometry: metres, polygon validation and point → grid lookup (no database)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from shapely.geometry import Point, box, mapping, shape

from civicgrid.demo.geography import generate_city, random_points_in
from civicgrid.regions.geometry import (
    METRES_PER_DEGREE,
    GridIndex,
    LocalProjection,
    area_m2,
    centroid,
    clean_geojson,
    distance_m,
    geometry_from_geojson,
    parse_polygon,
    validate_polygon,
)

LON0, LAT0 = 119.30, 26.08
EARTH_R = 6_371_008.8


def square(x0: float, y0: float, size: float) -> dict:
    """A GeoJSON square with its south-west corner at (x0, y0)."""
    return mapping(box(x0, y0, x0 + size, y0 + size))


# --- metres ------------------------------------------------------------------------------


def test_area_matches_the_spherical_formula_at_city_scale():
    size = 0.01  # about 1 km
    geom = box(LON0, LAT0, LON0 + size, LAT0 + size)
    exact = EARTH_R**2 * math.radians(size) * (math.sin(math.radians(LAT0 + size)) - math.sin(math.radians(LAT0)))
    assert area_m2(geom) == pytest.approx(exact, rel=1e-4)


def test_centroid_is_lon_lat_of_the_middle():
    lon, lat = centroid(box(LON0, LAT0, LON0 + 0.02, LAT0 + 0.01))
    assert (lon, lat) == pytest.approx((LON0 + 0.01, LAT0 + 0.005))


def test_distance_in_metres_uses_the_local_scale_on_each_axis():
    proj = LocalProjection(LAT0)
    east = distance_m(Point(LON0, LAT0), Point(LON0 + 0.001, LAT0), proj)
    north = distance_m(Point(LON0, LAT0), Point(LON0, LAT0 + 0.001), proj)
    assert north == pytest.approx(0.001 * METRES_PER_DEGREE)
    assert east == pytest.approx(north * math.cos(math.radians(LAT0)))


def test_degree_radius_is_conservative():
    proj = LocalProjection(LAT0)
    radius = proj.metres_to_degrees_radius(50.0)
    # Along either axis, that many degrees are at least 50 m.
    assert radius * proj.kx >= 50.0 - 1e-9
    assert radius * proj.ky >= 50.0


# --- validation ----------------------------------------------------------------------------


def test_a_good_polygon_and_multipolygon_have_no_problems():
    assert validate_polygon(square(LON0, LAT0, 0.01)) == []
    multi = mapping(box(LON0, LAT0, LON0 + 0.01, LAT0 + 0.01).union(box(LON0 + 0.02, LAT0, LON0 + 0.03, LAT0 + 0.01)))
    assert multi["type"] == "MultiPolygon"
    assert validate_polygon(multi) == []


def _ring(*pts):
    return {"type": "Polygon", "coordinates": [[list(p) for p in pts]]}


BAD_GEOMETRIES = {
    "geometry_missing": None,
    "geometry_type": {"type": "Point", "coordinates": [LON0, LAT0]},
    "geometry_coordinates": {"type": "Polygon", "coordinates": [[["a", "b"], [1, 2]]]},
    "ring_too_short": _ring((LON0, LAT0), (LON0 + 0.01, LAT0), (LON0, LAT0)),
    "ring_unclosed": _ring((LON0, LAT0), (LON0 + 0.01, LAT0), (LON0 + 0.01, LAT0 + 0.01), (LON0, LAT0 + 0.01)),
    "self_intersection": _ring(
        (LON0, LAT0), (LON0 + 0.01, LAT0 + 0.01), (LON0 + 0.01, LAT0), (LON0, LAT0 + 0.01), (LON0, LAT0)
    ),
    "coordinate_range": _ring((500000, 2880000), (501000, 2880000), (501000, 2881000), (500000, 2880000)),
    "geometry_empty": _ring((LON0, LAT0), (LON0 + 0.01, LAT0), (LON0 + 0.02, LAT0), (LON0, LAT0)),
    "invalid_geometry": {
        "type": "Polygon",
        "coordinates": [
            [[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]],
            [[3, 3], [4, 3], [4, 4], [3, 3]],  # a hole outside its shell
        ],
    },
}


@pytest.mark.parametrize("kind", sorted(BAD_GEOMETRIES))
def test_each_geometry_defect_is_named_in_both_languages(kind):
    problems = validate_polygon(BAD_GEOMETRIES[kind])
    assert [p.kind for p in problems] == [kind]
    assert problems[0].message_zh and problems[0].message_en
    assert problems[0].message_zh != problems[0].message_en


def test_self_intersection_explains_where():
    (p,) = validate_polygon(BAD_GEOMETRIES["self_intersection"])
    assert "Self-intersection[" in p.message_en and "自相交" in p.message_zh


def test_parse_polygon_returns_the_geometry_once_valid_and_drops_altitude():
    g3 = {"type": "Polygon", "coordinates": [[[0, 0, 5], [1, 0, 5], [1, 1, 5], [0, 0, 5]]]}
    geom, problems = parse_polygon(g3)
    assert problems == [] and not geom.has_z
    assert clean_geojson(g3) == {"type": "Polygon", "coordinates": [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]]}
    assert geometry_from_geojson(clean_geojson(g3)).equals(geom)
    assert parse_polygon(BAD_GEOMETRIES["ring_unclosed"])[0] is None


# --- point → grid --------------------------------------------------------------------------

S = 0.01  # grid side in degrees (about 1 km)


@pytest.fixture
def four_squares() -> GridIndex:
    """A 2×2 block of squares; ids deliberately not in spatial order."""
    return GridIndex(
        [
            (7, box(LON0, LAT0, LON0 + S, LAT0 + S)),  # south-west
            (3, box(LON0 + S, LAT0, LON0 + 2 * S, LAT0 + S)),  # south-east
            (9, box(LON0, LAT0 + S, LON0 + S, LAT0 + 2 * S)),  # north-west
            (5, box(LON0 + S, LAT0 + S, LON0 + 2 * S, LAT0 + 2 * S)),  # north-east
        ]
    )


def test_inside_points_find_their_grid(four_squares):
    loc = four_squares.locate(LON0 + 0.3 * S, LAT0 + 0.3 * S, 50)
    assert (loc.grid_id, loc.snapped, loc.distance_m) == (7, False, 0.0)
    assert four_squares.locate(LON0 + 1.5 * S, LAT0 + 1.5 * S).grid_id == 5


def test_boundary_points_go_to_exactly_one_grid_the_lowest_id(four_squares):
    edge = (LON0 + S, LAT0 + 0.5 * S)  # between 7 and 3
    corner = (LON0 + S, LAT0 + S)  # shared by all four
    north_edge = (LON0 + 0.5 * S, LAT0 + S)  # between 7 and 9
    got = four_squares.locate_many(np.array([edge[0], corner[0], north_edge[0]]), np.array([edge[1], corner[1], north_edge[1]]))
    assert got.tolist() == [3, 3, 7]
    assert four_squares.locate(*edge).grid_id == 3
    # The outer boundary belongs to its grid too.
    assert four_squares.locate(LON0, LAT0 + 0.5 * S).grid_id == 7


def test_outside_within_tolerance_snaps_to_the_nearest_grid(four_squares):
    metres_per_deg_lon = METRES_PER_DEGREE * math.cos(math.radians(four_squares.projection.lat0))
    lon = LON0 + 2 * S + 30 / metres_per_deg_lon  # 30 m east of grid 3
    loc = four_squares.locate(lon, LAT0 + 0.5 * S, snap_tolerance_m=50)
    assert loc.grid_id == 3 and loc.snapped
    assert loc.distance_m == pytest.approx(30.0, rel=1e-6)


def test_outside_beyond_tolerance_finds_nothing(four_squares):
    lon = LON0 + 2 * S + 0.002  # ~200 m east
    assert four_squares.locate(lon, LAT0 + 0.5 * S, snap_tolerance_m=50).grid_id is None
    assert four_squares.locate(lon, LAT0 + 0.5 * S, snap_tolerance_m=0).grid_id is None
    assert four_squares.locate_many(np.array([lon]), np.array([LAT0 + 0.5 * S])).tolist() == [-1]


def test_snap_ranks_by_metres_not_degrees():
    # At 60°N a degree of longitude is half a degree of latitude: the grid 0.0003° east is
    # 16.7 m away, the one 0.0002° north is 22.2 m away — nearer in degrees, farther in metres.
    lat = 60.0
    east = box(0.0003, lat - 0.001, 0.0013, lat + 0.001)
    north = box(-0.001, lat + 0.0002, 0.001, lat + 0.0012)
    index = GridIndex([(1, north), (2, east)])
    loc = index.locate(0.0, lat, snap_tolerance_m=50)
    assert loc.grid_id == 2 and loc.snapped
    assert loc.distance_m == pytest.approx(0.0003 * METRES_PER_DEGREE * math.cos(math.radians(index.projection.lat0)), rel=1e-3)


def test_deeper_level_wins_over_lower_id():
    grid = box(LON0, LAT0, LON0 + S, LAT0 + S)
    micro = box(LON0, LAT0, LON0 + S / 2, LAT0 + S / 2)
    index = GridIndex([(1, grid), (50, micro)], depth={50: 1})
    assert index.locate(LON0 + S / 4, LAT0 + S / 4).grid_id == 50
    assert index.locate(LON0 + 0.75 * S, LAT0 + 0.75 * S).grid_id == 1


def test_unusable_input_and_empty_index_find_nothing(four_squares):
    got = four_squares.locate_many(np.array([np.nan, np.inf, LON0 + 0.5 * S]), np.array([LAT0, LAT0, np.nan]))
    assert got.tolist() == [-1, -1, -1]
    assert four_squares.locate(float("nan"), LAT0, 50).grid_id is None
    empty = GridIndex([])
    assert len(empty) == 0
    assert empty.locate_many(np.array([LON0]), np.array([LAT0])).tolist() == [-1]
    assert empty.locate(LON0, LAT0, 50).grid_id is None
    with pytest.raises(ValueError):
        four_squares.locate_many(np.array([1.0, 2.0]), np.array([1.0]))


def test_vectorised_equals_scalar_and_naive_on_random_points():
    fc = generate_city(scale="small")
    grids = [(i, shape(f["geometry"])) for i, f in enumerate(fc["features"]) if f["properties"]["level"] == "grid"]
    city = shape(fc["features"][0]["geometry"])
    index = GridIndex(grids)
    rng = np.random.default_rng(42)
    minx, miny, maxx, maxy = city.bounds
    # Points in the bounding box (some outside every grid) plus points on grid vertices.
    lons = rng.uniform(minx, maxx, 4_000)
    lats = rng.uniform(miny, maxy, 4_000)
    vertices = np.array([c for _, g in grids[:100] for c in g.exterior.coords])
    lons = np.concatenate([lons, vertices[:, 0]])
    lats = np.concatenate([lats, vertices[:, 1]])
    vectorised = index.locate_many(lons, lats)
    scalar = [index.locate(float(x), float(y)).grid_id for x, y in zip(lons, lats)]
    tree = shapely.STRtree([g for _, g in grids])
    naive = [
        min((grids[k][0] for k in tree.query(Point(x, y), predicate="intersects")), default=None)
        for x, y in zip(lons, lats)
    ]
    assert [None if v < 0 else int(v) for v in vectorised] == scalar == naive
    assert (vectorised >= 0).mean() > 0.5


def test_random_points_in_stay_inside_and_repeat_with_the_seed():
    geom = box(LON0, LAT0, LON0 + S, LAT0 + S).difference(box(LON0, LAT0, LON0 + S / 2, LAT0 + S / 2))
    lons, lats = random_points_in(geom, 500, np.random.default_rng(1))
    assert len(lons) == len(lats) == 500
    assert all(geom.covers(Point(x, y)) for x, y in zip(lons, lats))
    again = random_points_in(geom, 500, np.random.default_rng(1))
    assert np.array_equal(lons, again[0]) and np.array_equal(lats, again[1])
