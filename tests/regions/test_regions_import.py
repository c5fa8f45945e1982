"""GeoJSON import: codes, the validation report (every error kind), all-or-nothing writes, upserts."""

from __future__ import annotations

import copy

import pytest
from shapely.geometry import box, mapping
from sqlalchemy import func, select

from civicgrid.audit.models import AuditEntry
from civicgrid.audit.service import SYSTEM
from civicgrid.errors import InvalidInput
from civicgrid.regions import service
from civicgrid.regions.importer import ancestor_codes, code_error, level_for_code, parent_code_for
from civicgrid.regions.models import Region, RegionLevel

LON0, LAT0 = 119.30, 26.08
CITY, DISTRICT, STREET, COMMUNITY = "990100000000", "990102000000", "990102001000", "990102001001"
GRID1, GRID2 = COMMUNITY + "001", COMMUNITY + "002"


def feature(code, name, geom, **props):
    """A GeoJSON feature with ``code``/``name`` and any other properties."""
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name, **props},
        "geometry": mapping(geom) if geom is not None and not isinstance(geom, dict) else geom,
    }


def good_file() -> dict:
    """City → district → street → community → two grids splitting the community in half."""
    whole = box(LON0, LAT0, LON0 + 0.02, LAT0 + 0.01)
    return {
        "type": "FeatureCollection",
        "features": [
            # Deliberately children before parents: the import orders them itself.
            feature(GRID2, "第2网格", box(LON0 + 0.01, LAT0, LON0 + 0.02, LAT0 + 0.01), name_en="Grid 2", special="school"),
            feature(GRID1, "第1网格", box(LON0, LAT0, LON0 + 0.01, LAT0 + 0.01), name_en="Grid 1", population=2100),
            feature(COMMUNITY, "金山社区", whole, name_en="Jinshan Community"),
            feature(STREET, "金山街道", whole, level="street"),
            feature(DISTRICT, "云湖区", whole),
            feature(CITY, "云州市", whole, level="city"),
        ],
    }


def count(session, model=Region) -> int:
    return session.scalar(select(func.count()).select_from(model))


def run(session, fc, **kw):
    return service.import_geojson(session=session, actor=None, origin=SYSTEM, feature_collection=fc, **kw)


def errors_of(session, fc) -> list[dict]:
    """Import expecting failure; check nothing was written; return the error list."""
    with pytest.raises(InvalidInput) as raised:
        run(session, fc)
    session.flush()
    assert count(session) == 0 and count(session, AuditEntry) == 0
    body = raised.value.problem("en")
    assert body["status"] == 422 and body["errors"]
    return body["errors"]


# --- codes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "level", "parent"),
    [
        ("990100000000", RegionLevel.CITY, None),
        ("990102000000", RegionLevel.DISTRICT, "990100000000"),
        ("990102001000", RegionLevel.STREET, "990102000000"),
        ("990102001201", RegionLevel.COMMUNITY, "990102001000"),
        ("990102001201007", RegionLevel.GRID, "990102001201"),
        ("990102001201007003", RegionLevel.MICRO_GRID, "990102001201007"),
        # A city without districts (不设区的市): its townships hang straight under the city.
        ("441900003000", RegionLevel.STREET, "441900000000"),
        ("441900003001", RegionLevel.COMMUNITY, "441900003000"),
    ],
)
def test_level_and_parent_are_inferred_from_the_code(code, level, parent):
    assert code_error(code) is None
    assert level_for_code(code) == level
    assert parent_code_for(code) == parent


def test_ancestor_chain():
    assert ancestor_codes(GRID1) == [COMMUNITY, STREET, DISTRICT, CITY]


@pytest.mark.parametrize(
    "code", ["99010200100", "99010200100A", "000102001001", "990000000000", "990102001000001", "990102001001000", "990102001001001000"]
)
def test_bad_codes_are_explained(code):
    zh, en = code_error(code)
    assert code in zh or repr(code) in zh
    assert en


# --- a good file -----------------------------------------------------------------------------


def test_a_good_file_imports_with_paths_areas_and_one_audit_entry(geo_session):
    report = run(geo_session, good_file())
    assert (report.features, report.created, report.updated, report.unchanged, report.errors) == (6, 6, 0, 0, [])
    grid = service.region_by_code(session=geo_session, code=GRID1)
    assert grid.level == RegionLevel.GRID
    assert grid.path == f"/{CITY}/{DISTRICT}/{STREET}/{COMMUNITY}/{GRID1}/"
    assert grid.parent.code == COMMUNITY
    assert grid.area_m2 == pytest.approx(1_111_000, rel=0.01)  # 0.01° × 0.01° at 26°N ≈ 1,112 m × 999 m
    assert (grid.centroid_lon, grid.centroid_lat) == pytest.approx((LON0 + 0.005, LAT0 + 0.005))
    assert (grid.name_en, grid.population, grid.special_kind) == ("Grid 1", 2100, None)
    assert service.region_by_code(session=geo_session, code=GRID2).special_kind == "school"
    city = service.region_by_code(session=geo_session, code=CITY)
    assert city.parent_id is None and city.path == f"/{CITY}/"
    assert grid.geometry["type"] == "Polygon" and isinstance(grid.geometry["coordinates"][0][0], list)
    (entry,) = geo_session.scalars(select(AuditEntry)).all()
    assert (entry.entity, entry.entity_id, entry.action) == ("region_import", "6", "import")
    assert entry.after == {"created": 6, "updated": 0, "unchanged": 0}


def test_reimport_updates_instead_of_duplicating(geo_session):
    run(geo_session, good_file())
    again = run(geo_session, good_file())
    assert (again.created, again.updated, again.unchanged) == (0, 0, 6)
    changed = good_file()
    changed["features"][1]["properties"]["name"] = "第一网格"
    changed["features"][1]["geometry"] = mapping(box(LON0, LAT0, LON0 + 0.01, LAT0 + 0.009))
    report = run(geo_session, changed)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 5)
    assert count(geo_session) == 6
    grid = service.region_by_code(session=geo_session, code=GRID1)
    assert grid.name_zh == "第一网格" and grid.area_m2 == pytest.approx(1_000_000, rel=0.01)
    assert count(geo_session, AuditEntry) == 3


def test_absent_optional_properties_keep_stored_values_and_null_clears(geo_session):
    run(geo_session, good_file())
    fc = good_file()
    del fc["features"][1]["properties"]["population"]  # absent: keep 2100
    fc["features"][0]["properties"]["special"] = None  # null: clear "school"
    run(geo_session, fc)
    assert service.region_by_code(session=geo_session, code=GRID1).population == 2100
    assert service.region_by_code(session=geo_session, code=GRID2).special_kind is None


def test_children_can_be_imported_under_stored_parents(geo_session):
    fc = good_file()
    parents = {"type": "FeatureCollection", "features": fc["features"][2:]}
    grids = {"type": "FeatureCollection", "features": fc["features"][:2]}
    assert run(geo_session, parents).created == 4
    assert run(geo_session, grids).created == 2
    community = service.region_by_code(session=geo_session, code=COMMUNITY)
    assert [r.code for r in service.children(session=geo_session, region_id=community.id)] == [GRID1, GRID2]
    assert service.region_by_code(session=geo_session, code=GRID2).path == community.path + GRID2 + "/"


def test_dry_run_writes_nothing_and_returns_errors_instead_of_raising(geo_session):
    report = run(geo_session, good_file(), dry_run=True)
    assert (report.created, report.dry_run, report.ok) == (6, True, True)
    assert count(geo_session) == 0 and count(geo_session, AuditEntry) == 0
    bad = good_file()
    bad["features"][0]["properties"]["code"] = "12345"
    report = run(geo_session, bad, dry_run=True)
    assert not report.ok and report.errors[0].kind == "code_format"
    assert count(geo_session) == 0


def test_explicit_null_parent_makes_a_root_and_altitude_is_dropped(geo_session):
    district = feature(
        DISTRICT, "云湖区", {"type": "Polygon", "coordinates": [[[LON0, LAT0, 10], [LON0 + 0.01, LAT0, 10], [LON0, LAT0 + 0.01, 10], [LON0, LAT0, 10]]]},
        parent_code=None,
    )
    run(geo_session, {"type": "FeatureCollection", "features": [district]})
    region = service.region_by_code(session=geo_session, code=DISTRICT)
    assert region.parent_id is None and region.path == f"/{DISTRICT}/"
    assert all(len(p) == 2 for p in region.geometry["coordinates"][0])


def test_small_slop_is_tolerated(geo_session):
    fc = good_file()
    # Grid 1 sticks 0.5 % out of the community (west) and overlaps grid 2 by 0.5 %.
    fc["features"][1]["geometry"] = mapping(box(LON0 - 0.00005, LAT0, LON0 + 0.01005, LAT0 + 0.01))
    assert run(geo_session, fc).created == 6


# --- every error kind --------------------------------------------------------------------------


def _set(i, key, value):
    def mutate(fc):
        fc["features"][i]["properties"][key] = value
    return mutate


def _geometry(i, geom):
    def mutate(fc):
        fc["features"][i]["geometry"] = geom
    return mutate


def _delete_prop(i, key):
    def mutate(fc):
        del fc["features"][i]["properties"][key]
    return mutate


def _append(feat):
    def mutate(fc):
        fc["features"].append(feat)
    return mutate


def _drop(i):
    def mutate(fc):
        del fc["features"][i]
    return mutate


def _unclosed(fc):
    fc["features"][1]["geometry"] = {
        "type": "Polygon",
        "coordinates": [[[LON0, LAT0], [LON0 + 0.01, LAT0], [LON0 + 0.01, LAT0 + 0.01], [LON0, LAT0 + 0.01]]],
    }


BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[LON0, LAT0], [LON0 + 0.01, LAT0 + 0.01], [LON0 + 0.01, LAT0], [LON0, LAT0 + 0.01], [LON0, LAT0]]],
}

# kind → (mutation of the good file, index of the feature the error must name)
CASES = {
    "code_format": (_set(0, "code", "99010200100100A"), 0),
    "code_missing": (_delete_prop(0, "code"), 0),
    "level_unknown": (_set(0, "level", "village"), 0),
    "level_mismatch": (_set(0, "level", "community"), 0),
    "parent_code_format": (_set(0, "parent_code", "abc"), 0),
    "parent_mismatch": (_set(0, "parent_code", "990102002001"), 0),
    "name_missing": (_set(1, "name", "  "), 1),
    "name_en_invalid": (_set(1, "name_en", 42), 1),
    "special_unknown": (_set(0, "special", "temple"), 0),
    "special_not_grid": (_set(2, "special", "school"), 2),
    "population_invalid": (_set(1, "population", -5), 1),
    "geometry_missing": (_geometry(1, None), 1),
    "geometry_type": (_geometry(1, {"type": "Point", "coordinates": [LON0, LAT0]}), 1),
    "geometry_coordinates": (_geometry(1, {"type": "Polygon", "coordinates": "nope"}), 1),
    "ring_unclosed": (_unclosed, 1),
    "ring_too_short": (_geometry(1, {"type": "Polygon", "coordinates": [[[LON0, LAT0], [LON0 + 0.01, LAT0], [LON0, LAT0]]]}), 1),
    "self_intersection": (_geometry(1, BOWTIE), 1),
    "coordinate_range": (_geometry(1, mapping(box(LAT0, LON0, LAT0 + 0.01, LON0 + 0.01))), 1),  # lat/lon swapped
    "duplicate_code": (_append(feature(GRID1, "第1网格（重复）", box(LON0, LAT0, LON0 + 0.001, LAT0 + 0.001))), 6),
    "unknown_parent": (_drop(2), 0),  # both grids lose their community
    "outside_parent": (_geometry(1, mapping(box(LON0 - 0.005, LAT0, LON0 + 0.005, LAT0 + 0.01))), 1),
    "sibling_overlap": (_geometry(0, mapping(box(LON0 + 0.005, LAT0, LON0 + 0.02, LAT0 + 0.01))), 0),
    "feature_invalid": (_append({"type": "Feature", "geometry": None}), 6),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_each_error_kind_is_named_bilingual_and_writes_nothing(geo_session, kind):
    mutate, index = CASES[kind]
    fc = good_file()
    mutate(fc)
    errors = errors_of(geo_session, fc)
    mine = [e for e in errors if e["kind"] == kind]
    assert mine, f"expected {kind}, got {[e['kind'] for e in errors]}"
    err = mine[0]
    assert err["index"] == index
    assert f"features[{index}]" in err["message_zh"] and f"features[{index}]" in err["message_en"]
    if err["code"]:
        assert err["code"] in err["message_zh"] and err["code"] in err["message_en"]
    assert err["message_zh"] != err["message_en"]


@pytest.mark.parametrize(
    ("fc", "kind"),
    [
        ({"type": "Feature"}, "not_feature_collection"),
        ([], "not_feature_collection"),
        ({"type": "FeatureCollection", "features": []}, "no_features"),
        (
            {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:4547"}}, "features": good_file()["features"]},
            "crs_unsupported",
        ),
    ],
)
def test_file_level_problems(geo_session, fc, kind):
    errors = errors_of(geo_session, fc)
    assert errors[0]["kind"] == kind and errors[0]["index"] is None


def test_every_problem_is_reported_at_once(geo_session):
    fc = good_file()
    _set(0, "code", "bad")(fc)
    _geometry(1, BOWTIE)(fc)
    _set(2, "population", "many")(fc)
    _set(3, "special", "park")(fc)
    kinds = {(e["index"], e["kind"]) for e in errors_of(geo_session, fc)}
    assert {(0, "code_format"), (1, "self_intersection"), (2, "population_invalid"), (3, "special_not_grid")} <= kinds


def test_overlap_names_both_features(geo_session):
    fc = good_file()
    _geometry(0, mapping(box(LON0 + 0.005, LAT0, LON0 + 0.02, LAT0 + 0.01)))(fc)
    (err,) = [e for e in errors_of(geo_session, fc) if e["kind"] == "sibling_overlap"]
    assert {err["code"], err["related_code"]} == {GRID1, GRID2}
    assert "m²" in err["message_en"] and "平方米" in err["message_zh"]


def test_code_stored_under_another_parent_is_refused(geo_session):
    run(geo_session, good_file())
    audits = count(geo_session, AuditEntry)
    fc = copy.deepcopy(good_file())
    # The community claims the district as its parent; it is stored under the street.
    fc["features"] = [fc["features"][2]]
    fc["features"][0]["properties"]["parent_code"] = DISTRICT
    with pytest.raises(InvalidInput) as raised:
        run(geo_session, fc)
    (err,) = raised.value.extra["errors"]
    assert err["kind"] == "duplicate_code_db" and err["related_code"] == STREET
    assert service.region_by_code(session=geo_session, code=COMMUNITY).parent.code == STREET
    assert count(geo_session, AuditEntry) == audits


def test_new_grid_overlapping_a_stored_sibling_is_refused(geo_session):
    run(geo_session, good_file())
    extra = feature(COMMUNITY + "003", "第3网格", box(LON0 + 0.002, LAT0 + 0.002, LON0 + 0.006, LAT0 + 0.006))
    with pytest.raises(InvalidInput) as raised:
        run(geo_session, {"type": "FeatureCollection", "features": [extra]})
    kinds = {(e["kind"], e["related_code"], e["related_index"]) for e in raised.value.extra["errors"]}
    assert ("sibling_overlap", GRID1, None) in kinds
    assert count(geo_session) == 6


def test_shrinking_a_parent_around_stored_children_is_refused(geo_session):
    run(geo_session, good_file())
    smaller = feature(COMMUNITY, "金山社区", box(LON0, LAT0, LON0 + 0.01, LAT0 + 0.01))
    with pytest.raises(InvalidInput) as raised:
        run(geo_session, {"type": "FeatureCollection", "features": [smaller]})
    (err,) = raised.value.extra["errors"]
    assert (err["kind"], err["code"], err["related_code"]) == ("existing_child_outside", COMMUNITY, GRID2)
    assert service.region_by_code(session=geo_session, code=COMMUNITY).area_m2 == pytest.approx(2_222_000, rel=0.01)


# --- docs stay in step -----------------------------------------------------------------------------


def test_every_problem_kind_is_declared_and_documented():
    import pathlib
    import re

    from civicgrid.regions import geometry, importer

    root = pathlib.Path(__file__).resolve().parents[2]
    source = pathlib.Path(importer.__file__).read_text() + pathlib.Path(geometry.__file__).read_text()
    raised = set(re.findall(r'(?:problem|fail|GeometryProblem)\(\s*"([a-z_]+)"', source))
    raised |= set(re.findall(r'kind = "([a-z_]+)" if .* else "([a-z_]+)"', source)[0])
    assert raised == set(importer.PROBLEM_KINDS)
    docs = (root / "docs" / "grids.md").read_text()
    missing = [kind for kind in importer.PROBLEM_KINDS if f"| `{kind}` |" not in docs]
    assert missing == []
    for zh, en in importer.PROBLEM_KINDS.values():
        assert zh and en and zh != en
