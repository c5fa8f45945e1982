"""Who sees what: every user of the world × every case endpoint.

Cases sit in several grids; each user must see exactly the cases of their subtree (handlers:
their unit's; citizens: their own reports) and get 404 — never 403 — for the others, worded
exactly like a case that does not exist. A new endpoint or user is one line below.
"""

from __future__ import annotations

import pytest

from civicgrid.events.attachments import add_attachment

from .conftest import ORIGIN, Loop

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

# case key: (grid, reported by, desk operator who registers it, unit it is dispatched to)
CASES = {
    "c111": ("grid111", "citizen", "operator", "chengguan"),
    "c112": ("grid112", "operator", "operator", "community11"),
    "c121": ("grid121", "operator12", "operator12", "zhujian"),
    "c211": ("grid211", "gridworker2", "operator21", "chengguan"),
    "c222": ("grid222", "street2_op", None, None),
}
ALL = set(CASES)
# What each user of the world may see — written out, not derived from the code under test.
VISIBLE = {
    "admin": ALL,
    "operator": {"c111", "c112"},
    "operator12": {"c121"},
    "operator21": {"c211"},
    "street_op": {"c111", "c112", "c121"},
    "street2_op": {"c211", "c222"},
    "district_op": ALL,
    "city_op": ALL,
    "handler": {"c111", "c211"},
    "handler_zj": {"c121"},
    "community_handler": {"c112"},
    "gridworker": {"c111"},
    "gridworker2": {"c211"},
    "leader": ALL,
    "street_leader": {"c111", "c112", "c121"},
    "citizen": {"c111"},
}
ADMIN_ONLY = ["/api/users", "/api/routing-rules"]

# name: (method, path template, body) — {id} is the case id, {att} an attachment of that case.
ENDPOINTS = {
    "read": ("GET", "/api/cases/{id}", None),
    "history": ("GET", "/api/cases/{id}/history", None),
    "duplicates": ("GET", "/api/cases/{id}/duplicates", None),
    "attachments": ("GET", "/api/cases/{id}/attachments", None),
    "attachment-file": ("GET", "/api/cases/attachments/{att}/file", None),
    "upload": ("POST", "/api/cases/{id}/attachments", "file"),
    "action": ("POST", "/api/cases/{id}/actions", {"action": "supervise", "note": "请加快办理"}),
    "comment": ("POST", "/api/cases/{id}/comments", {"note": "已电话联系当事人"}),
}


@pytest.fixture
def cases(loop: Loop) -> dict[str, tuple[int, int]]:
    """The cases of CASES (each with one attachment): key → (case id, attachment id)."""
    made = {}
    for key, (grid, reporter, desk, unit) in CASES.items():
        case = loop.report(grid=grid, by=reporter)
        if desk:
            loop.fire(case, "register", by=desk)
            loop.fire(case, "dispatch", by=desk, unit_id=loop.unit_id(unit))
        att = add_attachment(session=loop.session, actor=loop.user("admin"), origin=ORIGIN, case_id=case.id,
                             filename="photo.png", content=PNG)
        made[key] = (case.id, att.id)
    loop.session.flush()
    return made


def call(client, headers, endpoint: str, case_id: int, att_id: int):
    method, template, body = ENDPOINTS[endpoint]
    url = template.format(id=case_id, att=att_id)
    if body == "file":
        return client.post(url, headers=headers, files={"file": ("p.png", PNG, "image/png")})
    if method == "GET":
        return client.get(url, headers=headers)
    return client.post(url, headers=headers, json=body)


def assert_not_found(r, case_id: int | None = None):
    assert r.status_code == 404, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["detail_zh"] and body["detail_en"]
    if case_id is not None:
        # Exactly the words a missing case gets: nothing tells "exists elsewhere" from "never existed".
        assert body["detail_en"] == f"Case {case_id} does not exist or is outside your area"


@pytest.mark.parametrize("user", VISIBLE)
def test_case_list_shows_exactly_the_users_subtree(client, as_user, world, cases, user):
    r = client.get("/api/cases", params={"size": 200}, headers=as_user(user))
    assert r.status_code == 200
    ids = {item["id"] for item in r.json()["items"]}
    assert ids == {cases[k][0] for k in VISIBLE[user]}
    assert r.json()["total"] == len(VISIBLE[user]) and r.json()["total_is_exact"]
    # Filters narrow within the scope, never widen it.
    city = world.regions["city"].id
    for key in ALL - VISIBLE[user]:
        widened = client.get("/api/cases", params={"region_id": city, "unit_id": world.units["chengguan"].id},
                             headers=as_user(user))
        assert widened.status_code == 200
        assert cases[key][0] not in {i["id"] for i in widened.json()["items"]}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_case_endpoint_obeys_scope(client, as_user, cases, endpoint):
    # Every user against every case; all mismatches are reported together.
    wrong = []
    for user in VISIBLE:
        headers = as_user(user)
        for key, (case_id, att_id) in cases.items():
            r = call(client, headers, endpoint, case_id, att_id)
            if key in VISIBLE[user]:
                ok = r.status_code != 404 and r.status_code < 500
                if ENDPOINTS[endpoint][0] == "GET" or endpoint in ("comment", "upload"):
                    ok = r.status_code in (200, 201)
            else:
                try:
                    assert_not_found(r, case_id if endpoint != "attachment-file" else None)
                    ok = True
                except AssertionError:
                    ok = False
            if not ok:
                wrong.append((user, key, r.status_code, r.text[:120]))
    assert wrong == []


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_missing_case_reads_like_an_out_of_scope_one(client, as_user, cases, endpoint):
    missing = max(cid for cid, _ in cases.values()) + 1000
    r = call(client, as_user("admin"), endpoint, missing, missing)
    assert_not_found(r, missing if endpoint != "attachment-file" else None)


@pytest.mark.parametrize("user", VISIBLE)
def test_notifications_are_only_ones_own(client, as_user, cases, loop, user):
    from sqlalchemy import func, select

    from civicgrid.notifications.models import Notification

    r = client.get("/api/notifications", headers=as_user(user))
    assert r.status_code == 200
    own = loop.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == loop.user(user).id))
    assert len(r.json()) == own
    visible_ids = {cases[k][0] for k in VISIBLE[user]}
    assert {n["case_id"] for n in r.json()} <= visible_ids


@pytest.mark.parametrize("path", ADMIN_ONLY)
@pytest.mark.parametrize("user", VISIBLE)
def test_admin_only_endpoints(client, as_user, cases, user, path):
    r = client.get(path, headers=as_user(user))
    if user == "admin":
        assert r.status_code == 200
    else:
        assert r.status_code == 403, r.text
        assert r.headers["content-type"].startswith("application/problem+json")


def test_admin_user_list_is_the_admins_area(client, as_user, world):
    r = client.get("/api/users", headers=as_user("admin"))
    assert {u["username"] for u in r.json()} == set(world.users)


@pytest.mark.parametrize("path", ["/api/cases", "/api/cases/1", "/api/notifications", "/api/users", "/api/me"])
def test_anonymous_gets_401(client, path):
    r = client.get(path)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
