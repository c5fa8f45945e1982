"""The demo city 云州市: tiling without gaps or overlaps, well-formed codes, names, determinism."""

from __future__ import annotations

import re
from collections import defaultdict

import numpy as np
import pytest
import shapely
from shapely.geometry import shape
from sqlalchemy import func, select

from civicgrid.audit.service import SYSTEM
from civicgrid.demo.geography import (
    CITY_CODE,
    POPULATION,
    SCALES,
    chinese_number,
    generate_city,
    pinyin_join,
    random_points_in,
)
from civicgrid.regions import service
from civicgrid.regions.geometry import area_m2, projection_for
from civicgrid.regions.importer import code_error, level_for_code, parent_code_for
from civicgrid.regions.models import SPECIAL_GRID_KINDS, Region, RegionLevel


@pytest.fixture(scope="module")
def small() -> dict:
    return generate_city(scale="small")


def _by_level(fc) -> dict[str, list[dict]]:
    out = defaultdict(list)
    for f in fc["features"]:
        out[f["properties"]["level"]].append(f)
    return out


def test_small_scale_counts(small):
    levels = _by_level(small)
    plan = SCALES["small"]
    assert {k: len(v) for k, v in levels.items()} == {
        "city": 1, "district": plan.districts, "street": plan.streets, "community": plan.communities, "grid": plan.grids,
    }
    assert [f["properties"]["name"] for f in levels["district"]] == ["云湖区", "东岭区", "西江区"]


def test_codes_are_well_formed_and_unique(small):
    codes = [f["properties"]["code"] for f in small["features"]]
    assert len(codes) == len(set(codes))
    present = set(codes)
    assert codes[0] == CITY_CODE
    for f in small["features"]:
        p = f["properties"]
        code = p["code"]
        assert code.startswith("99") and code_error(code) is None
        assert level_for_code(code).value == p["level"]
        parent = parent_code_for(code)
        assert parent is None or parent in present
        if p["level"] == "district":
            assert re.fullmatch(r"9901\d\d000000", code)
        elif p["level"] == "street":
            assert re.fullmatch(r"9901\d\d0\d\d000", code)  # 001–099: 街道
        elif p["level"] == "community":
            village = int(code[9:])
            # 001–199 居委会 (社区), 200–399 村委会 (村)
            assert p["name"].endswith("社区") == (village < 200)
            assert p["name"].endswith("村") == (200 <= village < 400)
        elif p["level"] == "grid":
            assert len(code) == 15 and int(code[12:]) >= 1


def test_names_are_chinese_with_pinyin_english(small):
    for f in small["features"]:
        p = f["properties"]
        assert p["name_en"].isascii() and p["name_en"][0].isupper()
        if p["level"] == "street":
            assert p["name"].endswith("街道") and p["name_en"].endswith(" Subdistrict")
        if p["level"] == "grid" and "special" not in p:
            n = int(p["code"][12:])
            assert (p["name"], p["name_en"]) == (f"第{n}网格", f"Grid {n}")
    names = [f["properties"]["name"] for f in small["features"] if f["properties"]["level"] in ("street", "community")]
    assert len(names) == len(set(names))


def test_tiles_without_gaps_or_overlaps_at_every_level(small):
    geoms = {f["properties"]["code"]: shape(f["geometry"]) for f in small["features"]}
    kids = defaultdict(list)
    for code in geoms:
        parent = parent_code_for(code)
        if parent:
            kids[parent].append(code)
    assert len(kids) == 1 + 3 + 12 + 50
    for parent, children in kids.items():
        # One projection per family: area_m2 otherwise scales each polygon at its own latitude.
        proj = projection_for(geoms[parent])
        parent_area = area_m2(geoms[parent], proj)
        child_geoms = [geoms[c] for c in children]
        union_area = area_m2(shapely.union_all(child_geoms), proj)
        summed = sum(area_m2(g, proj) for g in child_geoms)
        assert union_area == pytest.approx(parent_area, rel=1e-3), f"gap under {parent}"
        assert summed == pytest.approx(union_area, rel=1e-6), f"overlap under {parent}"
        # Every polygon is valid, convex and inside its parent.
        for g in child_geoms:
            assert g.geom_type == "Polygon" and g.is_valid
            assert g.convex_hull.area == pytest.approx(g.area, rel=1e-9)
            assert area_m2(g.difference(geoms[parent])) <= 1e-6 * area_m2(g)


def test_special_grids_and_populations(small):
    levels = _by_level(small)
    specials = [f["properties"] for f in levels["grid"] if "special" in f["properties"]]
    kinds = {p["special"] for p in specials}
    assert {"school", "park", "industrial"} <= kinds <= set(SPECIAL_GRID_KINDS)
    assert all(p["name"].endswith("专属网格") for p in specials)
    for f in levels["grid"]:
        low, high = POPULATION[f["properties"].get("special")]
        assert low <= f["properties"]["population"] <= high
    ordinary = [f["properties"]["population"] for f in levels["grid"] if "special" not in f["properties"]]
    assert 1_500 <= np.mean(ordinary) <= 3_000
    totals = defaultdict(int)
    for f in small["features"]:
        parent = parent_code_for(f["properties"]["code"])
        if parent:
            totals[parent] += f["properties"]["population"]
    for f in small["features"]:
        if f["properties"]["level"] != "grid":
            assert f["properties"]["population"] == totals[f["properties"]["code"]]


def test_deterministic_from_the_seed(small):
    assert generate_city(scale="small") == small
    other = generate_city(scale="small", seed=7)
    assert other != small
    assert [f["properties"]["code"] for f in other["features"]][:1] == [CITY_CODE]
    with pytest.raises(ValueError):
        generate_city(scale="province")  # type: ignore[arg-type]


def test_the_demo_city_goes_through_the_real_import(geo_session, small):
    report = service.import_geojson(session=geo_session, actor=None, origin=SYSTEM, feature_collection=small)
    assert report.created == len(small["features"]) and report.errors == []
    grids = geo_session.scalar(select(func.count()).select_from(Region).where(Region.level == RegionLevel.GRID))
    assert grids == 500
    # Random points inside a community land in one of that community's grids.
    community = geo_session.scalars(select(Region).where(Region.level == RegionLevel.COMMUNITY)).first()
    lons, lats = random_points_in(shape(community.geometry), 50, np.random.default_rng(3))
    for lon, lat in zip(lons, lats):
        loc = service.locate_point(session=geo_session, lon=float(lon), lat=float(lat))
        grid = geo_session.get(Region, loc.grid_id)
        assert grid.parent_id == community.id and not loc.snapped


def test_city_scale_has_ten_thousand_grids_and_validates(geo_session):
    fc = generate_city(scale="city")
    report = service.import_geojson(session=geo_session, actor=None, origin=SYSTEM, feature_collection=fc, dry_run=True)
    assert report.ok and report.created == len(fc["features"])
    levels = _by_level(fc)
    assert len(levels["grid"]) == 10_000 and len(levels["district"]) == 9
    assert len({f["properties"]["code"] for f in fc["features"]}) == len(fc["features"])
    population = fc["features"][0]["properties"]["population"]
    assert 15_000_000 < population < 30_000_000


def test_name_helpers():
    assert pinyin_join(["xi", "an"]) == "Xi'an"
    assert pinyin_join(["jin", "shan"]) == "Jinshan"
    assert [chinese_number(n) for n in (1, 10, 12, 20, 21, 99)] == ["一", "十", "十二", "二十", "二十一", "九十九"]
    with pytest.raises(ValueError):
        chinese_number(100)
