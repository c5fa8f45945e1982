"""The region API: tree, region as GeoJSON, grid layer, import, members, locate — all scoped."""

from __future__ import annotations

import io
import json

from shapely.geometry import box, mapping

from tests.factories import LAT0, STEP


def _feature(code: str, name: str, geom, level: str | None = None) -> dict:
    props = {"code": code, "name": name}
    if level:
        props["level"] = level
    # Round-trip through JSON so coordinates are lists, as they are in a file.
    return {"type": "Feature", "properties": props, "geometry": json.loads(json.dumps(mapping(geom)))}


def test_tree_defaults_to_scope_and_lists_children_one_level(client, world, as_user):
    r = client.get("/api/regions/tree", headers=as_user("street_op"))
    assert r.status_code == 200
    body = r.json()
    assert body["code"] == world.regions["street1"].code
    assert [c["code"] for c in body["children"]] == [world.regions["community11"].code,
                                                     world.regions["community12"].code]
    assert all(c["children"] == [] for c in body["children"])


def test_tree_of_a_child_node(client, world, as_user):
    r = client.get("/api/regions/tree", params={"root": world.regions["community11"].id},
                   headers=as_user("admin"))
    assert [c["code"] for c in r.json()["children"]] == [world.regions["grid111"].code,
                                                         world.regions["grid112"].code]


def test_tree_outside_scope_is_404(client, world, as_user):
    r = client.get("/api/regions/tree", params={"root": world.regions["street2"].id},
                   headers=as_user("street_op"))
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["detail_zh"] and r.json()["detail_en"]


def test_tree_needs_sign_in(client, world):
    assert client.get("/api/regions/tree").status_code == 401


def test_region_is_a_geojson_feature(client, world, as_user):
    grid = world.regions["grid111"]
    r = client.get(f"/api/regions/{grid.id}", headers=as_user("operator"))
    assert r.status_code == 200
    body = r.json()
    assert body["type"] == "Feature"
    assert body["geometry"]["type"] == "Polygon"
    assert body["properties"]["code"] == grid.code
    assert body["properties"]["level"] == "grid"


def test_region_outside_scope_and_absurd_ids(client, world, as_user):
    other = world.regions["grid211"]
    assert client.get(f"/api/regions/{other.id}", headers=as_user("operator")).status_code == 404
    assert client.get("/api/regions/999999999", headers=as_user("admin")).status_code == 404
    assert client.get(f"/api/regions/{2**63}", headers=as_user("admin")).status_code == 422


def test_grid_layer_counts_open_cases_in_scope(client, world, as_user):
    lat, lon = world.grid_point("grid111")
    for n in range(2):
        created = client.post("/api/cases", headers=as_user("operator"),
                              json={"category_code": "EV0101", "description": f"垃圾堆放 {n}", "lat": lat,
                                    "lon": lon, "channel": "operator"})
        assert created.status_code == 201, created.text
    r = client.get("/api/regions/grids.geojson", headers=as_user("street_op"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/geo+json")
    body = r.json()
    codes = {f["properties"]["code"]: f["properties"]["open_cases"] for f in body["features"]}
    assert set(codes) == {world.regions[g].code for g in ("grid111", "grid112", "grid121", "grid122")}
    assert codes[world.regions["grid111"].code] == 2
    assert codes[world.regions["grid112"].code] == 0
    assert all(f["geometry"]["type"] == "Polygon" for f in body["features"])


def test_grid_layer_within_a_community_and_outside_scope(client, world, as_user):
    r = client.get("/api/regions/grids.geojson", params={"within": world.regions["community21"].id},
                   headers=as_user("admin"))
    assert len(r.json()["features"]) == 2
    r = client.get("/api/regions/grids.geojson", params={"within": world.regions["community21"].id},
                   headers=as_user("street_op"))
    assert r.status_code == 404


def test_locate_finds_grid_in_scope_only(client, world, as_user):
    lat, lon = world.grid_point("grid121")
    r = client.get("/api/regions/locate", params={"lat": lat, "lon": lon}, headers=as_user("street_op"))
    assert r.status_code == 200
    assert r.json()["grid_id"] == world.regions["grid121"].id
    assert r.json()["snapped"] is False
    other = client.get("/api/regions/locate", params={"lat": lat, "lon": lon}, headers=as_user("street2_op"))
    assert other.json()["grid_id"] is None
    far = client.get("/api/regions/locate", params={"lat": 10.0, "lon": 10.0}, headers=as_user("admin"))
    assert far.json() == {"grid_id": None, "snapped": False, "distance_m": None}
    bad = client.get("/api/regions/locate", params={"lat": 91, "lon": 0}, headers=as_user("admin"))
    assert bad.status_code == 422


def _micro_grids(world, grid: str = "grid111") -> dict:
    # Two micro-grids splitting a grid of the world into a south and a north half.
    g = world.regions[grid]
    x0 = g.centroid_lon - STEP / 2
    return {
        "type": "FeatureCollection",
        "features": [
            _feature(f"{g.code}001", "南半格", box(x0, LAT0, x0 + STEP, LAT0 + 0.01)),
            _feature(f"{g.code}002", "北半格", box(x0, LAT0 + 0.01, x0 + STEP, LAT0 + 0.02)),
        ],
    }


def test_import_json_body_then_dry_run_reports_unchanged(client, world, as_user):
    collection = _micro_grids(world)
    r = client.post("/api/regions/import", json=collection, headers=as_user("admin"))
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 2
    again = client.post("/api/regions/import", params={"dry_run": True}, json=collection, headers=as_user("admin"))
    assert again.status_code == 200
    assert again.json()["unchanged"] == 2 and again.json()["dry_run"] is True
    tree = client.get("/api/regions/tree", params={"root": world.regions["grid111"].id}, headers=as_user("admin"))
    assert [c["level"] for c in tree.json()["children"]] == ["micro_grid", "micro_grid"]
    # A point in the north half now belongs to the finer micro-grid.
    lat, lon = world.grid_point("grid111")
    located = client.get("/api/regions/locate", params={"lat": lat + 0.005, "lon": lon}, headers=as_user("admin"))
    assert located.json()["grid_id"] == tree.json()["children"][1]["id"]


def test_import_uploaded_file(client, world, as_user):
    data = json.dumps(_micro_grids(world), ensure_ascii=False).encode()
    r = client.post("/api/regions/import", files={"file": ("grids.geojson", io.BytesIO(data), "application/geo+json")},
                    headers=as_user("admin"))
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 2


def test_import_with_errors_is_422_listing_every_problem_and_writes_nothing(client, world, as_user):
    collection = _micro_grids(world)
    collection["features"][0]["geometry"]["coordinates"][0].pop()  # unclosed ring
    collection["features"][1]["properties"]["code"] = "12ab"
    r = client.post("/api/regions/import", json=collection, headers=as_user("admin"))
    assert r.status_code == 422
    body = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    kinds = {e["kind"] for e in body["errors"]}
    assert len(body["errors"]) >= 2 and "ring_unclosed" in kinds
    assert all(e["message_zh"] and e["message_en"] for e in body["errors"])
    assert client.get("/api/regions/tree", params={"root": world.regions["grid111"].id},
                      headers=as_user("admin")).json()["children"] == []
    dry = client.post("/api/regions/import", params={"dry_run": True}, json=collection, headers=as_user("admin"))
    assert dry.status_code == 422 and dry.json()["dry_run"] is True


def test_import_rejects_bad_json_and_non_admins(client, world, as_user):
    r = client.post("/api/regions/import", content=b"{not json", headers={**as_user("admin"),
                                                                          "content-type": "application/json"})
    assert r.status_code == 422
    assert "GeoJSON" in r.json()["detail_en"]
    assert client.post("/api/regions/import", json=_micro_grids(world),
                       headers=as_user("city_op")).status_code == 403


def test_import_refuses_regions_outside_the_admins_area(client, world, as_user, session):
    from civicgrid.audit.service import SYSTEM
    from civicgrid.auth.models import Role
    from civicgrid.auth.service import create_user, issue_token

    street_admin = create_user(session=session, actor=None, origin=SYSTEM, username="street_admin",
                               display_name="street admin", password="test-password-1", role=Role.ADMIN,
                               scope_region_id=world.regions["street1"].id)
    collection = _micro_grids(world, "grid211")
    r = client.post("/api/regions/import", json=collection,
                    headers={"Authorization": f"Bearer {issue_token(street_admin)}"})
    assert r.status_code == 403
    assert {e["code"] for e in r.json()["errors"]} == {f["properties"]["code"] for f in collection["features"]}
    inside = client.post("/api/regions/import", json=_micro_grids(world, "grid121"),
                         headers={"Authorization": f"Bearer {issue_token(street_admin)}"})
    assert inside.status_code == 200, inside.text


def test_assign_and_list_members(client, world, as_user):
    grid = world.regions["grid112"]
    worker = world.users["gridworker2"]
    r = client.post(f"/api/regions/{grid.id}/members", json={"user_id": worker.id, "duty": "police"},
                    headers=as_user("admin"))
    assert r.status_code == 201, r.text
    assert r.json()["duty"] == "police" and r.json()["grid_id"] == grid.id
    dup = client.post(f"/api/regions/{grid.id}/members", json={"user_id": worker.id, "duty": "police"},
                      headers=as_user("admin"))
    assert dup.status_code == 409
    listed = client.get(f"/api/regions/{grid.id}/members", headers=as_user("operator"))
    assert [m["user_id"] for m in listed.json()] == [worker.id]


def test_assign_member_checks_duty_role_and_scope(client, world, as_user):
    grid = world.regions["grid111"]
    bad = client.post(f"/api/regions/{grid.id}/members", json={"user_id": world.users["gridworker"].id,
                                                               "duty": "mayor"}, headers=as_user("admin"))
    assert bad.status_code == 422 and bad.json()["detail_zh"]
    assert client.post(f"/api/regions/{grid.id}/members", json={"user_id": world.users["gridworker"].id,
                                                                "duty": "team"},
                       headers=as_user("operator")).status_code == 403
    community = world.regions["community11"]
    assert client.post(f"/api/regions/{community.id}/members", json={"user_id": world.users["gridworker"].id,
                                                                     "duty": "team"},
                       headers=as_user("admin")).status_code == 404
    assert client.post(f"/api/regions/{grid.id}/members", json={"user_id": 99999999, "duty": "team"},
                       headers=as_user("admin")).status_code == 404
