"""Bad input never gives a 500: every refusal is a 4xx application/problem+json in Chinese and English."""

from __future__ import annotations

import pytest

PROBLEM = "application/problem+json"
HUGE = 2**70


def assert_problem(r, *statuses: int) -> dict:
    assert r.status_code in statuses, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith(PROBLEM), r.headers["content-type"]
    body = r.json()
    assert body["status"] == r.status_code
    assert isinstance(body["detail_zh"], str) and body["detail_zh"]
    assert isinstance(body["detail_en"], str) and body["detail_en"]
    assert body["title"] and body["type"].startswith("https://")
    return body


@pytest.fixture
def case_id(client, as_user, world) -> int:
    lat, lon = world.grid_point("grid111")
    r = client.post("/api/cases", headers=as_user("operator"),
                    json={"category_code": "EV0101", "description": "路灯不亮", "lat": lat, "lon": lon})
    assert r.status_code == 201
    return r.json()["id"]


# (method, path, raw body) sent with Content-Type: application/json
MALFORMED = [
    ("POST", "/api/cases", b'{"category_code": "EV0101", '),
    ("POST", "/api/cases", b"not json at all"),
    ("POST", "/api/cases", b""),
    ("POST", "/api/cases", b"[]"),
    ("POST", "/api/cases", b"null"),
    ("POST", "/api/cases/{id}/actions", b'{"action": register}'),
    ("POST", "/api/cases/{id}/comments", b"\xff\xfe\x00"),
    ("POST", "/api/auth/token", b"{'username': 'x'}"),
    ("POST", "/api/categories", b"{"),
    ("POST", "/api/routing-rules", b"42"),
    ("POST", "/api/notifications/read", b'{"ids": [1, 2'),
    ("PUT", "/api/calendar/2027", b'[{"day": }]'),
]


@pytest.mark.parametrize("method, path, raw", MALFORMED, ids=lambda v: v if isinstance(v, str) else None)
def test_malformed_json_is_a_bilingual_4xx(client, as_user, case_id, method, path, raw):
    r = client.request(method, path.format(id=case_id), content=raw,
                       headers=as_user("admin") | {"Content-Type": "application/json"})
    assert_problem(r, 400, 422)  # 400 when the bytes are not even text


WRONG_TYPES = [
    ("/api/cases", {"category_code": 5, "description": "abc"}),
    ("/api/cases", {"category_code": "EV0101", "description": ["a", "b"]}),
    ("/api/cases", {"category_code": "EV0101", "description": "abc", "lat": "north", "lon": 119.3}),
    ("/api/cases", {"category_code": "EV0101", "description": "abc", "lat": 26.09}),  # lon missing
    ("/api/cases", {"category_code": "EV0101", "description": "abc", "lat": 91, "lon": 0}),
    ("/api/cases", {"category_code": "EV0101", "description": "abc", "channel": "carrier_pigeon"}),
    ("/api/cases", {"category_code": "EV0101", "description": "abc", "urgency": 3}),
    ("/api/cases", {"category_code": "EV0101", "description": "abc", "received_at": "yesterday"}),
    ("/api/cases", {"category_code": "EV0101", "description": "abc", "received_at": "2026-11-20T09:00:00"}),
    ("/api/cases", {"category_code": "EV0101", "description": "abc", "region_code": "99 01"}),
    ("/api/cases", {"category_code": "EV0101", "description": "x" * 5001}),
    ("/api/cases", {"category_code": "EV0101", "description": "abc", "client_key": ""}),
    ("/api/cases/{id}/actions", {"action": 7}),
    ("/api/cases/{id}/actions", {"action": "dispatch", "unit_id": "one"}),
    ("/api/cases/{id}/actions", {"action": "dispatch", "unit_id": HUGE}),
    ("/api/cases/{id}/actions", {"action": "merge", "master_id": -3}),
    ("/api/cases/{id}/actions", {"action": "request_extension", "extension_days": 31}),
    ("/api/cases/{id}/actions", {"action": "request_extension", "extension_days": 1.5}),
    ("/api/cases/{id}/actions", {"action": "x" * 41}),
    ("/api/cases/{id}/comments", {"note": ""}),
    ("/api/cases/{id}/comments", {"note": None}),
    ("/api/auth/token", {"username": "", "password": "x"}),
    ("/api/auth/token", {"username": ["admin"], "password": "x"}),
    ("/api/notifications/read", {"ids": "all"}),
    ("/api/routing-rules", {"region_id": HUGE, "unit_id": 1}),
    ("/api/categories", {"code": "a b", "name_zh": "类", "request_type": "help"}),
    ("/api/categories", {"code": "X1", "name_zh": "类", "request_type": "urgent"}),
]


@pytest.mark.parametrize("path, body", WRONG_TYPES)
def test_wrong_types_and_out_of_range_values_are_422(client, as_user, case_id, path, body):
    r = client.post(path.format(id=case_id), json=body, headers=as_user("admin"))
    problem = assert_problem(r, 422)
    assert problem["errors"], "validation errors list which field is wrong"
    for err in problem["errors"]:
        assert err["message_zh"] and err["message_en"] and isinstance(err["field"], list)


def test_values_the_database_cannot_store_are_422(client, as_user, case_id):
    # Not caught by a schema: the database refuses them, and that is still the caller's fault.
    assert_problem(client.post("/api/notifications/read", json={"ids": [HUGE]}, headers=as_user("operator")), 422)


EXTRA_FIELDS = [
    ("/api/cases", {"category_code": "EV0101", "description": "abc", "state": "closed"}),
    ("/api/cases/{id}/actions", {"action": "register", "state": "closed"}),
    ("/api/cases/{id}/comments", {"note": "ok", "actor_id": 1}),
    ("/api/auth/token", {"username": "admin", "password": "x", "role": "admin"}),
    ("/api/users", {"username": "abc", "display_name": "x", "password": "a-long-password", "role": "admin",
                    "scope_region_id": 1, "token_version": 9}),
    ("/api/routing-rules", {"region_id": 1, "unit_id": 1, "active": False}),
]


@pytest.mark.parametrize("path, body", EXTRA_FIELDS)
def test_extra_fields_are_refused(client, as_user, case_id, path, body):
    problem = assert_problem(client.post(path.format(id=case_id), json=body, headers=as_user("admin")), 422)
    assert any(e["field"][-1] in body for e in problem["errors"])


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/cases/{huge}"),
    ("GET", "/api/cases/-1"),
    ("GET", "/api/cases/0"),
    ("GET", "/api/cases/{huge}/history"),
    ("GET", "/api/cases/{huge}/duplicates"),
    ("GET", "/api/cases/{huge}/attachments"),
    ("GET", "/api/cases/attachments/{huge}/file"),
    ("GET", "/api/cases/attachments/-5/file"),
    ("POST", "/api/cases/{huge}/actions"),
    ("POST", "/api/cases/{huge}/comments"),
    ("PUT", "/api/categories/{huge}"),
    ("DELETE", "/api/routing-rules/{huge}"),
    ("DELETE", "/api/routing-rules/-1"),
    ("GET", "/api/calendar/{huge}"),
    ("GET", "/api/calendar/-4"),
])
def test_huge_and_negative_ids_are_4xx(client, as_user, world, method, path):
    bodies = {"actions": {"action": "register"}, "comments": {"note": "x"},
              "categories": {"code": "X1", "name_zh": "类", "request_type": "help"}}
    body = next((b for k, b in bodies.items() if k in path), None)
    r = client.request(method, path.format(huge=HUGE), json=body, headers=as_user("admin"))
    assert_problem(r, 404, 422)


@pytest.mark.parametrize("query", [
    {"category_id": HUGE}, {"region_id": -1}, {"page": 0}, {"size": 1000}, {"state": "lost"},
    {"overdue": "perhaps"}, {"received_from": "last week"}, {"q": "x" * 101}, {"channel": "fax"},
])
def test_bad_list_filters_are_422(client, as_user, world, query):
    assert_problem(client.get("/api/cases", params=query, headers=as_user("operator")), 422)


def test_list_filter_on_unknown_region_is_404(client, as_user, world):
    assert_problem(client.get("/api/cases", params={"region_id": 2**62}, headers=as_user("operator")), 404)


def test_unknown_action_lists_the_known_ones(client, as_user, case_id):
    r = client.post(f"/api/cases/{case_id}/actions", json={"action": "teleport"}, headers=as_user("operator"))
    body = assert_problem(r, 422)
    assert "teleport" in body["detail_en"] and "register" in body["allowed"]


def test_domain_refusals_are_problems(client, as_user, case_id):
    conflict = client.post(f"/api/cases/{case_id}/actions", json={"action": "close"}, headers=as_user("operator"))
    assert_problem(conflict, 409)
    forbidden = client.post(f"/api/cases/{case_id}/actions", json={"action": "register"}, headers=as_user("leader"))
    assert_problem(forbidden, 403)
    no_note = client.post(f"/api/cases/{case_id}/actions", json={"action": "reject"}, headers=as_user("operator"))
    assert_problem(no_note, 422)


@pytest.mark.parametrize("text", ["nul\x00byte", "emoji 🚧 and 中文", "<script>alert(1)</script>", "'; DROP TABLE case; --"])
def test_odd_text_is_stored_or_refused_never_a_500(client, as_user, world, text):
    lat, lon = world.grid_point("grid111")
    r = client.post("/api/cases", headers=as_user("operator"),
                    json={"category_code": "EV0101", "description": text, "lat": lat, "lon": lon, "title": text})
    if r.status_code == 201:
        stored = client.get(f"/api/cases/{r.json()['id']}", headers=as_user("operator")).json()
        assert stored["description"] == text.strip()
    else:
        assert_problem(r, 422)
    c = client.post("/api/cases", headers=as_user("operator"), json={"category_code": "EV0101", "description": "ok",
                                                                     "lat": lat, "lon": lon})
    r = client.post(f"/api/cases/{c.json()['id']}/comments", json={"note": text}, headers=as_user("operator"))
    assert r.status_code in (201, 422), r.text
    r = client.get("/api/cases", params={"q": text}, headers=as_user("operator"))
    assert r.status_code in (200, 422), r.text


def test_non_json_content_type_is_422(client, as_user, case_id):
    r = client.post(f"/api/cases/{case_id}/comments", content="note=hi",
                    headers=as_user("operator") | {"Content-Type": "application/x-www-form-urlencoded"})
    assert_problem(r, 422)


def test_upload_of_a_non_image_is_422(client, as_user, case_id):
    r = client.post(f"/api/cases/{case_id}/attachments", headers=as_user("operator"),
                    files={"file": ("evil.png", b"MZ\x90\x00 not an image", "image/png")})
    assert_problem(r, 422)
    r = client.post(f"/api/cases/{case_id}/attachments", headers=as_user("operator"),
                    files={"file": ("empty.png", b"", "image/png")})
    assert_problem(r, 422)


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/api/no-such-thing", 404), ("DELETE", "/api/cases", 405), ("PATCH", "/api/cases/1", 405),
])
def test_routing_errors_are_problems_too(client, as_user, world, method, path, status):
    assert_problem(client.request(method, path, headers=as_user("operator")), status)


def test_english_detail_on_request(client, as_user, world):
    r = client.get(f"/api/cases/{HUGE}", headers=as_user("operator") | {"Accept-Language": "en"})
    body = assert_problem(r, 404)
    assert body["detail"] == body["detail_en"] and body["title"] == "Not found"
