"""Values a database refuses become a bilingual 422, never a 500 (safety net behind the schemas)."""

from __future__ import annotations


def test_nul_character_in_a_comment(client, world, as_user, engine):
    lat, lon = world.grid_point("grid111")
    created = client.post("/api/cases", json={"category_code": "EV0101", "description": "小区门口垃圾堆积三天",
                                              "lat": lat, "lon": lon}, headers=as_user("operator"))
    case_id = created.json()["id"]
    r = client.post(f"/api/cases/{case_id}/comments", json={"note": "a\u0000b"}, headers=as_user("operator"))
    if engine.dialect.name == "postgresql":
        # PostgreSQL text cannot hold NUL: refused with both languages, and nothing half-written.
        assert r.status_code == 422
        assert r.headers["content-type"].startswith("application/problem+json")
        body = r.json()
        assert "无法保存" in body["detail_zh"] and "cannot be stored" in body["detail_en"]
        history = client.get(f"/api/cases/{case_id}/history", headers=as_user("operator")).json()
        assert [e["action"] for e in history] == ["intake"]
    else:
        assert r.status_code == 201


def test_a_locked_sqlite_database_is_a_503_to_retry(app, world, as_user):
    from fastapi.testclient import TestClient
    from sqlalchemy.exc import OperationalError

    @app.get("/api/_locked_for_test")
    def locked():
        raise OperationalError("UPDATE case", {}, Exception("database is locked"))

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/api/_locked_for_test")
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    assert "未保存" in r.json()["detail_zh"] and "nothing was saved" in r.json()["detail_en"]
