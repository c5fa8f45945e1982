"""POST rate limits per API key and per client address: 429 in the spec's error format with Retry-After,
counted in the database over a sliding minute, refused requests not counted, 0 switching a limit off."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from civicgrid.audit.service import SYSTEM
from civicgrid.auth.service import create_api_key
from civicgrid.db import utcnow
from civicgrid.events.models import Case
from civicgrid.open311 import service
from civicgrid.open311.models import Open311Submission
from civicgrid.open311.service import Open311Error
from civicgrid.settings import get_settings
from tests.open311.conftest import BASE, ORIGIN, parse

FORMATS = ("json", "xml")
LIMIT_VARS = ("CIVICGRID_OPEN311_RATE_LIMIT_PER_KEY", "CIVICGRID_OPEN311_RATE_LIMIT_PER_ADDRESS")


@pytest.fixture
def limits(monkeypatch):
    """``limits(per_key, per_address)`` sets the two settings for this test."""

    def set_limits(per_key: int, per_address: int) -> None:
        for name, value in zip(LIMIT_VARS, (per_key, per_address)):
            monkeypatch.setenv(name, str(value))
        get_settings.cache_clear()

    yield set_limits
    for name in LIMIT_VARS:
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()


@pytest.fixture
def from_address(app):
    """``from_address('10.0.0.7')`` → a client whose requests come from that address."""
    clients = []

    def make(host: str) -> TestClient:
        client = TestClient(app, raise_server_exceptions=False, client=(host, 40000))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def _key(session, name: str) -> str:
    return create_api_key(session=session, actor=None, origin=SYSTEM, name=name)[1]


def _form(world, key: str, n: int = 0) -> dict[str, str]:
    lat, lon = world.grid_point("grid111")
    return {"api_key": key, "service_code": "EV0101", "lat": str(lat), "long": str(lon),
            "description": f"路口垃圾第{n}次反映"}


def _post(client, world, key, fmt="json", n=0, **headers):
    return client.post(f"{BASE}/requests.{fmt}", data=_form(world, key, n), headers=headers)


def test_defaults_are_thirty_a_minute():
    settings = get_settings()
    assert settings.open311_rate_limit_per_key == 30 and settings.open311_rate_limit_per_address == 30


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_key_over_its_limit_gets_429_with_retry_after(client, session, world, limits, fmt):
    limits(2, 0)
    key = _key(session, "busy client")
    assert [_post(client, world, key, fmt, n).status_code for n in range(2)] == [200, 200]
    before = session.scalar(select(func.count(Case.id)))
    refused = _post(client, world, key, fmt, 3)
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/json" if fmt == "json" else "text/xml")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    [error] = parse(refused)
    assert str(error["code"]) == "429"
    assert "过于频繁" in error["description"] and "每分钟最多 2 件" in error["description"]
    assert session.scalar(select(func.count(Case.id))) == before  # nothing filed


def test_the_limit_is_per_key(client, session, world, limits):
    limits(1, 0)
    first, second = _key(session, "one"), _key(session, "two")
    assert _post(client, world, first).status_code == 200
    assert _post(client, world, first).status_code == 429
    assert _post(client, world, second).status_code == 200


def test_a_key_is_limited_from_every_address(session, world, limits, from_address):
    limits(2, 0)
    key = _key(session, "roaming client")
    assert _post(from_address("10.0.0.1"), world, key).status_code == 200
    assert _post(from_address("10.0.0.2"), world, key).status_code == 200
    assert _post(from_address("10.0.0.3"), world, key).status_code == 429


def test_an_address_is_limited_whatever_key_it_sends(session, world, limits, from_address):
    limits(0, 2)
    here, elsewhere = from_address("10.0.0.9"), from_address("10.0.0.10")
    keys = [_key(session, f"key {n}") for n in range(3)]
    assert _post(here, world, keys[0]).status_code == 200
    assert _post(here, world, keys[1]).status_code == 200
    refused = _post(here, world, keys[2], **{"Accept-Language": "en"})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert "Too many requests from this address (at most 2 a minute)" in refused.json()[0]["description"]
    # An address over its limit is refused before its key is even looked at.
    assert _post(here, world, "cg_not-a-key").status_code == 429
    assert _post(elsewhere, world, keys[2]).status_code == 200


def test_refused_requests_do_not_count(client, session, world, limits):
    limits(1, 1)
    key = _key(session, "careless client")
    lat, lon = world.grid_point("grid111")
    bad = client.post(f"{BASE}/requests.json", data={"api_key": key, "service_code": "EV0101", "lat": "x"})
    assert bad.status_code == 400
    assert client.post(f"{BASE}/requests.json", data={"api_key": "cg_wrong", "service_code": "EV0101",
                                                      "lat": lat, "long": lon}).status_code == 403
    assert _post(client, world, key).status_code == 200


def test_zero_switches_the_limits_off(client, session, world, limits):
    limits(0, 0)
    key = _key(session, "bulk client")
    assert {_post(client, world, key, n=n).status_code for n in range(5)} == {200}


def test_the_window_slides_and_retry_after_says_when(session, world, limits):
    limits(2, 0)
    key = _key(session, "patient client")
    start = utcnow()
    form = _form(world, key)
    service.create_request(session=session, origin=ORIGIN, form=form, lang="zh", client_address="a", now=start)
    service.create_request(session=session, origin=ORIGIN, form=form, lang="zh", client_address="a",
                           now=start + dt.timedelta(seconds=20))
    with pytest.raises(Open311Error) as refused:
        service.create_request(session=session, origin=ORIGIN, form=form, lang="zh", client_address="a",
                               now=start + dt.timedelta(seconds=30))
    assert refused.value.status == 429 and refused.value.headers == {"Retry-After": "30"}
    # 60 s after the first request one slot is free again; the second still counts.
    service.create_request(session=session, origin=ORIGIN, form=form, lang="zh", client_address="a",
                           now=start + dt.timedelta(seconds=61))
    with pytest.raises(Open311Error) as again:
        service.create_request(session=session, origin=ORIGIN, form=form, lang="zh", client_address="a",
                               now=start + dt.timedelta(seconds=62))
    assert again.value.headers == {"Retry-After": "18"}  # the one at 20 s leaves at 80 s


def test_a_lowered_limit_waits_for_enough_requests_to_leave(session, world, limits):
    limits(0, 0)
    key = _key(session, "lowered")
    start = utcnow()
    form = _form(world, key)
    for second in (0, 10, 20, 30):
        service.create_request(session=session, origin=ORIGIN, form=form, lang="zh", client_address="b",
                               now=start + dt.timedelta(seconds=second))
    limits(2, 0)
    with pytest.raises(Open311Error) as refused:
        service.create_request(session=session, origin=ORIGIN, form=form, lang="zh", client_address="b",
                               now=start + dt.timedelta(seconds=40))
    # Four in the window, two allowed: the third oldest (at 20 s) has to leave, at 80 s.
    assert refused.value.headers == {"Retry-After": "40"}
    assert session.scalar(select(func.count(Open311Submission.id)).where(Open311Submission.client_address == "b")) == 4
