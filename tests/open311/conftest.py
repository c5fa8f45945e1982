"""Fixtures for the Open311 tests: an API key, a form poster, and helpers that make and walk cases."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

import pytest
from argon2 import PasswordHasher

from civicgrid.audit.service import SYSTEM, Origin
from civicgrid.auth import passwords
from civicgrid.auth.service import create_api_key
from civicgrid.events import service as cases
from civicgrid.events.intake import intake_case
from civicgrid.events.models import Case, Channel
from civicgrid.events.schemas import CaseCreate

BASE = "/open311/v2"
ORIGIN = Origin("test", request_id="req-open311")


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    """Argon2id with minimal cost: the test world has 16 users and the real parameters take ~0.3 s each."""
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def api_key(session, world) -> str:
    """A fresh active API key (the raw value a client sends)."""
    _, raw = create_api_key(session=session, actor=None, origin=SYSTEM, name="test client")
    return raw


def parse(response) -> Any:
    """The body as Python: JSON as is; XML as a list of dicts per item (or one dict for a single object)."""
    if response.headers["content-type"].startswith("application/json"):
        return response.json()
    root = ET.fromstring(response.content)

    def value(node):
        return {child.tag: value(child) for child in node} if len(node) else (node.text or "")

    if root.tag in ("services", "service_requests", "errors"):
        return [value(item) for item in root]
    return value(root)


@dataclass
class Poster:
    """POSTs a service request form in one format and returns the response."""

    client: Any
    api_key: str

    def __call__(self, fmt: str = "json", *, headers: dict[str, str] | None = None, **fields: Any):
        data = {"api_key": self.api_key, **fields}
        data = {k: v for k, v in data.items() if v is not None}
        return self.client.post(f"{BASE}/requests.{fmt}", data=data, headers=headers)


@pytest.fixture
def post(client, api_key) -> Poster:
    """``post('xml', service_code=..., lat=..., long=...)`` → the response."""
    return Poster(client, api_key)


def make_case(session, world, *, category: str = "EV0101", grid: str = "grid111", description: str = "路边堆放垃圾",
              received_at: dt.datetime | None = None, channel: Channel = Channel.OPERATOR, **extra: Any) -> Case:
    """A case through the real intake, by the community operator (who may back-date it)."""
    lat, lon = world.grid_point(grid)
    data = CaseCreate(channel=channel, category_code=category, description=description, lat=lat, lon=lon,
                      received_at=received_at, **extra)
    case, _ = intake_case(session=session, actor=world.users["operator"], origin=ORIGIN, data=data)
    return case


def fire(session, world, case: Case, action: str, actor: str = "operator", **params: Any) -> Case:
    """Fire one workflow action through the real ``transition`` service."""
    return cases.transition(session=session, actor=world.users[actor], origin=ORIGIN, case_id=case.id,
                            action=action, params=cases.ActionParams(**params))


def close_through_workflow(session, world, case: Case, note: str = "已清理完毕") -> Case:
    """Walk a case registered → dispatched → accepted → resolved → verified → closed."""
    fire(session, world, case, "register")
    fire(session, world, case, "dispatch", unit_id=world.units["chengguan"].id)
    fire(session, world, case, "accept", actor="handler")
    fire(session, world, case, "resolve", actor="handler", note=note)
    fire(session, world, case, "verify")
    return fire(session, world, case, "close")
