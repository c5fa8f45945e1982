"""Sign-in, tokens, throttling, API keys and user creation."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import itsdangerous.timed
import pytest
from sqlalchemy import func, select

from civicgrid.audit.models import AuditEntry
from civicgrid.audit.service import SYSTEM
from civicgrid.auth import passwords
from civicgrid.auth.models import ApiKey, LoginAttempt, Role, User
from civicgrid.auth.service import api_key_valid, create_api_key, create_user, issue_token
from civicgrid.db import utcnow
from civicgrid.errors import Conflict, InvalidInput, NotFound
from civicgrid.settings import get_settings
from tests.factories import PASSWORD

from .conftest import REAL_HASHER

PROBLEM = "application/problem+json"


def login(client, username: str, password: str):
    return client.post("/api/auth/token", json={"username": username, "password": password})


def assert_problem(r, status: int):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == status and body["detail_zh"] and body["detail_en"]
    assert body["type"].startswith("https://") and body["title"]
    return body


# -- passwords ---------------------------------------------------------------------------


def test_production_hasher_is_argon2id_with_strong_parameters():
    hashed = REAL_HASHER.hash("correct horse battery staple")
    assert hashed.startswith("$argon2id$v=19$")
    params = REAL_HASHER
    # RFC 9106's second recommended option: 64 MiB, 3 passes.
    assert params.memory_cost >= 65536 and params.time_cost >= 3
    assert REAL_HASHER.verify(hashed, "correct horse battery staple")


def test_stored_hashes_are_argon2id_and_never_the_password(world, session):
    for user in world.users.values():
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
    assert passwords.verify_password(world.users["operator"].password_hash, PASSWORD)
    assert not passwords.verify_password(world.users["operator"].password_hash, PASSWORD + "x")
    assert not passwords.verify_password(None, PASSWORD)
    assert not passwords.verify_password("not-a-hash", PASSWORD)


def test_weak_hash_is_upgraded_at_sign_in(client, world, session, monkeypatch):
    user = world.users["operator"]
    assert "m=8," in user.password_hash  # made with the cheap test parameters
    monkeypatch.setattr(passwords, "_hasher", REAL_HASHER)
    assert login(client, "operator", PASSWORD).status_code == 200
    session.refresh(user)
    assert user.password_hash.startswith("$argon2id$v=19$m=65536,t=3")


# -- sign-in -----------------------------------------------------------------------------


def test_sign_in_gives_a_working_bearer_token(client, world):
    r = login(client, "operator", PASSWORD)
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == get_settings().token_ttl_hours * 3600
    me = client.get("/api/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.json()["username"] == "operator" and me.json()["role"] == "operator"


@pytest.mark.parametrize("username, password", [("operator", "wrong-password"), ("nobody", PASSWORD)])
def test_wrong_password_or_unknown_user_is_the_same_bilingual_401(client, world, username, password):
    body = assert_problem(login(client, username, password), 401)
    assert body["detail_zh"] == "用户名或密码错误" and body["detail_en"] == "Wrong user name or password"
    assert body["detail"] == body["detail_zh"]  # Chinese first
    en = client.post("/api/auth/token", json={"username": username, "password": password},
                     headers={"Accept-Language": "en-US,en;q=0.9"})
    assert en.json()["detail"] == "Wrong user name or password"


def test_inactive_user_cannot_sign_in(client, world, session):
    world.users["operator"].active = False
    session.flush()
    assert_problem(login(client, "operator", PASSWORD), 401)


def test_sign_in_is_throttled_after_repeated_failures(client, world, session, app):
    limit = get_settings().login_max_failures
    for _ in range(limit):
        assert login(client, "operator", "wrong-password").status_code == 401
    # The failures live in the database, so every worker process (here: a new app) sees them.
    assert session.scalar(select(func.count(LoginAttempt.id)).where(LoginAttempt.username == "operator")) == limit
    from fastapi.testclient import TestClient

    from civicgrid.app import create_app

    with TestClient(create_app(start_scheduler=False), raise_server_exceptions=False) as other_worker:
        body = assert_problem(login(other_worker, "operator", PASSWORD), 429)
    assert str(get_settings().login_lockout_minutes) in body["detail_zh"]
    assert "Too many" in body["detail_en"]
    # Other users are not affected.
    assert login(client, "street_op", PASSWORD).status_code == 200


def test_old_failures_expire_and_success_clears_them(client, world, session):
    limit = get_settings().login_max_failures
    long_ago = utcnow() - dt.timedelta(minutes=get_settings().login_lockout_minutes + 1)
    session.add_all([LoginAttempt(username="operator", address="x", at=long_ago) for _ in range(limit)])
    session.flush()
    for _ in range(limit - 1):
        assert login(client, "operator", "wrong-password").status_code == 401
    assert login(client, "operator", PASSWORD).status_code == 200
    assert session.scalar(select(func.count(LoginAttempt.id)).where(LoginAttempt.username == "operator")) == 0


# -- tokens ------------------------------------------------------------------------------


def test_token_is_revoked_by_bumping_token_version(client, world, session, as_user):
    headers = as_user("operator")
    assert client.get("/api/me", headers=headers).status_code == 200
    world.users["operator"].token_version += 1
    session.flush()
    body = assert_problem(client.get("/api/me", headers=headers), 401)
    assert body["detail_en"].startswith("Invalid credentials")
    assert client.get("/api/me", headers=as_user("operator")).status_code == 200  # a new token works


def test_expired_token_is_refused(client, world, monkeypatch):
    ttl = get_settings().token_ttl_hours * 3600
    with monkeypatch.context() as m:
        real = itsdangerous.timed.TimestampSigner.get_timestamp
        m.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: real(self) - ttl - 60)
        token = issue_token(world.users["operator"])
    body = assert_problem(client.get("/api/me", headers={"Authorization": f"Bearer {token}"}), 401)
    assert body["detail_zh"] == "登录已过期，请重新登录" and "expired" in body["detail_en"]


@pytest.mark.parametrize("token", ["garbage", "", "a.b.c", "eyJ1aWQiOjF9.x.y"])
def test_forged_or_broken_tokens_are_401(client, world, token):
    assert_problem(client.get("/api/me", headers={"Authorization": f"Bearer {token}"}), 401)


def test_token_signed_for_another_purpose_is_refused(client, world):
    from civicgrid.auth.service import _serializer

    forged = _serializer("something-else").dumps({"uid": world.users["admin"].id, "v": 0})
    assert_problem(client.get("/api/me", headers={"Authorization": f"Bearer {forged}"}), 401)


def test_deactivated_user_token_stops_working(client, world, session, as_user):
    headers = as_user("handler")
    world.users["handler"].active = False
    session.flush()
    assert_problem(client.get("/api/cases", headers=headers), 401)


# -- page sessions and CSRF --------------------------------------------------------------


def test_cookie_session_writes_need_the_csrf_token(client, world, loop_case):
    token = issue_token(world.users["operator"])
    client.cookies.set("cg_session", token)
    client.cookies.set("cg_csrf", "csrf-123")
    assert client.get("/api/me").status_code == 200
    url = f"/api/cases/{loop_case.id}/comments"
    assert_problem(client.post(url, json={"note": "无 CSRF"}), 403)
    assert_problem(client.post(url, json={"note": "错 CSRF"}, headers={"X-CSRF-Token": "other"}), 403)
    assert client.post(url, json={"note": "有 CSRF"}, headers={"X-CSRF-Token": "csrf-123"}).status_code == 201


@pytest.fixture
def loop_case(session, world):
    from civicgrid.events.intake import intake_case
    from civicgrid.events.schemas import CaseCreate

    lat, lon = world.grid_point("grid111")
    case, _ = intake_case(session=session, actor=world.users["operator"], origin=SYSTEM,
                          data=CaseCreate(category_code="EV0101", description="路灯不亮", lat=lat, lon=lon))
    return case


# -- API keys ----------------------------------------------------------------------------


def test_api_key_only_its_hash_is_stored(session, world):
    key, raw = create_api_key(session=session, actor=world.users["admin"], origin=SYSTEM, name="区热线系统")
    assert raw.startswith("cg_") and len(raw) > 40
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest() and key.prefix == raw[:10]
    stored = {c.name: getattr(key, c.name) for c in ApiKey.__table__.columns}
    assert all(raw not in str(v) for v in stored.values())
    entry = session.scalar(select(AuditEntry).where(AuditEntry.entity == "api_key", AuditEntry.entity_id == str(key.id)))
    assert entry is not None and raw not in json.dumps(entry.after, ensure_ascii=False)
    assert api_key_valid(session=session, raw=raw).id == key.id
    assert api_key_valid(session=session, raw=raw + "x") is None
    assert api_key_valid(session=session, raw=None) is None
    key.active = False
    assert api_key_valid(session=session, raw=raw) is None


def test_api_key_needs_a_name(session, world):
    with pytest.raises(InvalidInput):
        create_api_key(session=session, actor=world.users["admin"], origin=SYSTEM, name="   ")


# -- users -------------------------------------------------------------------------------


def test_create_user_is_audited_without_the_password(session, world):
    admin = world.users["admin"]
    user = create_user(session=session, actor=admin, origin=SYSTEM, username="new.op", display_name="新坐席",
                       password="a-long-password", role=Role.OPERATOR,
                       scope_region_id=world.regions["street2"].id)
    assert user.scope_path == world.regions["street2"].path and user.password_hash.startswith("$argon2id$")
    entry = session.scalar(select(AuditEntry).where(AuditEntry.entity == "user", AuditEntry.entity_id == str(user.id)))
    assert entry.actor_id == admin.id and entry.action == "create"
    assert "a-long-password" not in json.dumps(entry.after)


@pytest.mark.parametrize("fields, error", [
    ({"username": "operator"}, Conflict),
    ({"username": "bad name!"}, InvalidInput),
    ({"password": "short"}, InvalidInput),
    ({"role": Role.HANDLER}, InvalidInput),  # a handler needs a unit
    ({"unit_id": 2**62}, NotFound),
    ({"scope_region_id": 2**62}, NotFound),
])
def test_create_user_refusals(session, world, fields, error):
    data = {"username": "someone", "display_name": "某人", "password": "a-long-password", "role": Role.OPERATOR,
            "scope_region_id": world.regions["community11"].id} | fields
    with pytest.raises(error):
        create_user(session=session, actor=world.users["admin"], origin=SYSTEM, **data)


def test_an_admin_cannot_create_users_outside_their_area(session, world):
    street_admin = create_user(session=session, actor=None, origin=SYSTEM, username="street.admin",
                               display_name="街道管理员", password="a-long-password", role=Role.ADMIN,
                               scope_region_id=world.regions["street1"].id)
    with pytest.raises(NotFound):
        create_user(session=session, actor=street_admin, origin=SYSTEM, username="far.away", display_name="x",
                    password="a-long-password", role=Role.OPERATOR, scope_region_id=world.regions["street2"].id)


def test_user_api_is_admin_only_and_hashes(client, as_user, world, session):
    body = {"username": "api.user", "display_name": "接口用户", "password": "a-long-password", "role": "grid_worker",
            "scope_region_id": world.regions["grid112"].id}
    assert_problem(client.post("/api/users", json=body, headers=as_user("operator")), 403)
    r = client.post("/api/users", json=body, headers=as_user("admin"))
    assert r.status_code == 201, r.text
    assert "password" not in r.text
    user = session.scalar(select(User).where(User.username == "api.user"))
    assert user.password_hash.startswith("$argon2id$") and user.role == Role.GRID_WORKER
    assert login(client, "api.user", "a-long-password").status_code == 200


def test_every_sign_in_attempt_is_audited(client, world, session):
    def entries(action):
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))

    login(client, "operator", "wrong-password")
    login(client, "nobody", "wrong-password")
    assert login(client, "operator", PASSWORD).status_code == 200
    failed = entries("sign_in_failed")
    assert [(e.entity_id, e.actor_id, e.after["username"]) for e in failed] == [
        (str(world.users["operator"].id), None, "operator"), ("nobody", None, "nobody")]
    assert all(e.channel == "api" and e.request_id for e in failed)
    ok = entries("sign_in")
    assert len(ok) == 1 and ok[0].actor_id == world.users["operator"].id and ok[0].after["address"] == "testclient"
    assert all("wrong-password" not in json.dumps(e.after) for e in failed + ok)
