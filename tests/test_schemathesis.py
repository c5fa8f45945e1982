"""Property-based API check (schemathesis over the app's own OpenAPI): no input gives a 500.

Slow (`-m slow`); bounded examples per operation. Every operation is called as a community
operator, and the admin-only ones again as the admin, against one world of regions, users
and a few cases built once for the module and rolled back at its end.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from argon2 import PasswordHasher
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy.orm import Session

from civicgrid import db as dbmod
from civicgrid.app import create_app
from civicgrid.audit.service import SYSTEM
from civicgrid.auth import passwords
from civicgrid.auth.service import issue_token

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("CIVICGRID_SCHEMATHESIS_EXAMPLES", "25"))
# Operations only an admin can reach past the role check: called again as the admin.
ADMIN_PATHS = r"^/api/(users|routing-rules|categories|units|calendar)"
STREAMS = {"/api/dashboard/stream"}

# Loaded at import (schemathesis' fixture-based lazy loader does not work with pytest 9). The
# app reaches the database only per request, through the session the fixture below installs.
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(start_scheduler=False))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def headers(engine) -> dict[str, dict[str, str]]:
    """Bearer headers per user of one world shared by every operation (rolled back at the end)."""
    from civicgrid.events.intake import intake_case
    from civicgrid.events.schemas import CaseCreate
    from tests.factories import build_world

    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    with pytest.MonkeyPatch.context() as mp, dbmod.test_session_scope(session):
        mp.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        world = build_world(session)
        for grid in ("grid111", "grid112"):
            lat, lon = world.grid_point(grid)
            intake_case(session=session, actor=world.users["operator"], origin=SYSTEM,
                        data=CaseCreate(category_code="EV0101", description="路灯不亮", lat=lat, lon=lon))
        session.flush()
        yield {name: {"Authorization": f"Bearer {issue_token(u)}"} for name, u in world.users.items()}
    session.close()
    outer.rollback()
    connection.close()


def call(case, headers) -> None:
    if case.operation.path in STREAMS:
        # A live event stream never ends by itself: ask for its one-shot form (same inputs otherwise).
        case.query = (case.query or {}) | {"once": "true"}
    case.call_and_validate(headers=headers, checks=[not_a_server_error])


@schema.parametrize()
@SETTINGS
def test_no_server_error_as_operator(case, headers):
    call(case, headers["operator"])


@schema.include(path_regex=ADMIN_PATHS).parametrize()
@SETTINGS
def test_no_server_error_as_admin(case, headers):
    call(case, headers["admin"])
