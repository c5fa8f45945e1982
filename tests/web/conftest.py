"""Fixtures for the page tests: sign in through the real login form, then browse as that user."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from civicgrid.audit.service import SYSTEM
from civicgrid.events.intake import intake_case
from civicgrid.events.schemas import CaseCreate
from tests.factories import PASSWORD

CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


def form_csrf(html: str) -> str:
    """The hidden csrf field of the first form on a page."""
    found = CSRF_FIELD.search(html)
    assert found, "no csrf field on the page"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD):
    """Sign ``client`` in through the login form; returns the POST response."""
    page = client.get("/login")
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf": form_csrf(page.text), "next": "/inbox"},
                       follow_redirects=False)


@pytest.fixture
def browser(app, world):
    """``browser('operator')`` → a TestClient signed in as that demo user (one cookie jar each)."""
    clients: list[TestClient] = []

    def open_as(username: str) -> TestClient:
        client = TestClient(app, raise_server_exceptions=False, base_url="http://testserver")
        clients.append(client)
        response = sign_in(client, username)
        assert response.status_code == 303, response.text
        return client

    yield open_as
    for client in clients:
        client.close()


@pytest.fixture
def report(session, world):
    """``report(**fields)`` → a case reported by the community operator in grid 111 (or as told)."""

    def make(actor: str = "operator", grid: str = "grid111", **fields):
        lat, lon = world.grid_point(grid)
        data = {"channel": "operator", "category_code": "EV0101", "description": "路边堆放大量生活垃圾，无人清运",
                "title": "路边垃圾堆积", "lat": lat, "lon": lon, "reporter_name": "张先生",
                "reporter_phone": "13800001234"}
        data.update(fields)
        case, _ = intake_case(session=session, actor=world.users[actor], origin=SYSTEM, data=CaseCreate(**data))
        session.flush()
        return case

    return make


def post_form(client: TestClient, url: str, data: dict | None = None, *, htmx: bool = False, **kw):
    """POST a page form the way the browser does: the csrf field from the cookie, no redirects followed."""
    body = {"csrf": client.cookies.get("cg_csrf"), **(data or {})}
    headers = {"HX-Request": "true", "HX-Target": "case-panel"} if htmx else {}
    return client.post(url, data=body, headers=headers, follow_redirects=False, **kw)
