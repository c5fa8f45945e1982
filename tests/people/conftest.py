"""Fixtures for the people domain: seeded care types and risk rules, ID numbers, a registrar, a signed-in browser."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from civicgrid.audit.service import Origin
from civicgrid.auth.service import issue_token
from civicgrid.people import care, risk, service
from civicgrid.people.identity import make_citizen_id
from civicgrid.people.schemas import PersonCreate

ORIGIN = Origin("test", request_id="req-people")
CSRF = "test-csrf-token"
_seq = itertools.count(1)


def new_id(born: dt.date = dt.date(1980, 5, 17), region6: str = "350102") -> str:
    """A fresh valid citizen ID number."""
    return make_citizen_id(region6, born, next(_seq))


@pytest.fixture
def people(session, world):
    """The world plus seeded care types and risk rules; ``people.add(...)`` registers a person."""
    care.seed_care_types(session=session)
    risk.seed_rules(session=session)

    class People:
        def __init__(self):
            self.world = world

        def add(self, name: str = "张三", *, by: str = "operator", grid: str = "grid111", **fields):
            fields.setdefault("id_number", new_id())
            data = PersonCreate(name=name, region_code=world.regions[grid].code, **fields)
            return service.create_person(session=session, actor=world.users[by], origin=ORIGIN, data=data)

    return People()


@pytest.fixture
def browse(client, world):
    """``browse('operator')`` → the client signed in with a page session and a CSRF cookie (forms send ``CSRF``)."""
    def sign_in(name: str):
        client.cookies.clear()
        client.cookies.set("cg_session", issue_token(world.users[name]))
        client.cookies.set("cg_csrf", CSRF)
        return client

    return sign_in
