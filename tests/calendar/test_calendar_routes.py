"""The calendar API through the real app: who may read, who may enter, what errors look like."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI

from civicgrid.audit.service import history
from civicgrid.calendar.routes import router
from civicgrid.web import problems

NEW_YEAR_2027 = [
    {"date": "2027-01-01", "is_workday": False, "name": "元旦"},
    {"date": "2027-01-02", "is_workday": False, "name": "元旦"},
    {"date": "2027-01-03", "is_workday": False, "name": "元旦"},
]


@pytest.fixture
def app(session):
    """Just the calendar router with the real dependencies and problem+json handlers.

    Overrides the shared ``app`` fixture so these tests depend on no other domain's routes;
    the shared ``client``, ``world`` and ``as_user`` fixtures then run against it.
    """
    app = FastAPI()
    problems.install(app)
    app.include_router(router)
    return app


def test_any_signed_in_user_reads_a_year(client, as_user):
    resp = client.get("/api/calendar/2026", headers=as_user("gridworker"))
    assert resp.status_code == 200
    body = resp.json()
    assert body["known"] is True and body["source"] == "chinese_calendar"
    assert {"date": "2026-10-01", "name_zh": "国庆节"}.items() <= next(
        d for d in body["days"] if d["date"] == "2026-10-01"
    ).items()


def test_reading_needs_a_sign_in(client):
    resp = client.get("/api/calendar/2026")
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")


def test_an_unknown_year_reads_as_a_fallback(client, as_user):
    body = client.get("/api/calendar/2027", headers=as_user("operator")).json()
    assert body["known"] is False and body["source"] == "fallback" and body["days"] == []


def test_an_out_of_range_year_is_a_problem_not_a_crash(client, as_user):
    resp = client.get("/api/calendar/1899", headers=as_user("operator"))
    assert resp.status_code == 422
    assert resp.json()["detail_en"]


def test_only_an_admin_enters_a_year(client, as_user):
    resp = client.put("/api/calendar/2027", json=NEW_YEAR_2027, headers=as_user("operator"))
    assert resp.status_code == 403


def test_an_admin_enters_a_year_and_it_is_audited(client, as_user, session, world):
    resp = client.put("/api/calendar/2027", json=NEW_YEAR_2027, headers=as_user("admin"))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["known"] is True and body["source"] == "admin"
    assert [d["date"] for d in body["days"]] == ["2027-01-01", "2027-01-02", "2027-01-03"]
    assert all(d["entered_via"] == "admin" for d in body["days"])
    (entry,) = history(session=session, entity="calendar", entity_id=2027)
    assert entry.actor_id == world.users["admin"].id and entry.channel == "api"
    assert client.get("/api/calendar/2027", headers=as_user("leader")).json()["known"] is True


def test_entering_a_bad_year_lists_the_rows(client, as_user):
    days = NEW_YEAR_2027 + [{"date": "2027-01-06", "is_workday": True, "name": ""}]
    resp = client.put("/api/calendar/2027", json=days, headers=as_user("admin"))
    assert resp.status_code == 422
    assert [e["row"] for e in resp.json()["errors"]] == [4]


def test_an_admin_imports_a_csv_file(client, as_user):
    content = "日期,类型,名称\n2027-01-01,休,元旦\n2027-02-06,班,春节调休上班\n".encode()
    resp = client.post(
        "/api/calendar/import", files={"file": ("2027.csv", content, "text/csv")}, headers=as_user("admin")
    )
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"years": {"2027": 2}}
    days = client.get("/api/calendar/2027", headers=as_user("admin")).json()["days"]
    assert [(d["date"], d["entered_via"]) for d in days] == [("2027-01-01", "import"), ("2027-02-06", "import")]


def test_an_import_with_errors_is_a_problem_with_rows(client, as_user):
    content = json.dumps([{"date": "2027-01-01", "is_workday": False}, {"date": "2027-99-01", "is_workday": False}])
    resp = client.post(
        "/api/calendar/import",
        files={"file": ("x.json", content.encode(), "application/json")},
        headers=as_user("admin"),
    )
    assert resp.status_code == 422
    body = resp.json()
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert body["errors"][0]["row"] == 2
    assert client.get("/api/calendar/2027", headers=as_user("admin")).json()["known"] is False


def test_only_an_admin_imports(client, as_user):
    resp = client.post(
        "/api/calendar/import",
        files={"file": ("x.csv", b"date,type\n2027-01-01,holiday\n", "text/csv")},
        headers=as_user("handler"),
    )
    assert resp.status_code == 403
