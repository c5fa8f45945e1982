"""Dashboard API: scoped counters with their links, map layer, drill-down, SSE, the page."""

from __future__ import annotations

import datetime as dt

from civicgrid.db import utcnow
from civicgrid.events.models import Urgency
from civicgrid.events.workflow import CaseState as S


def _today_cases(make, world):
    now = utcnow()
    make(state=S.REPORTED, received=now - dt.timedelta(minutes=5), grid="grid111")
    make(state=S.ACCEPTED, received=now - dt.timedelta(minutes=4), registered_at=now - dt.timedelta(minutes=3),
         grid="grid121", overdue=True, unit="chengguan", urgency=Urgency.HIGH)
    make(state=S.CLOSED, received=now - dt.timedelta(days=3), resolved_at=now - dt.timedelta(days=1),
         closed_at=now - dt.timedelta(seconds=30), satisfaction="satisfied", grid="grid211")


def test_counters_are_scoped_and_link_to_their_lists(client, as_user, world, make):
    _today_cases(make, world)
    body = client.get("/api/dashboard/counters", headers=as_user("leader")).json()
    assert body["received"]["value"] == 2
    assert body["registered"]["value"] == 1
    assert body["open_now"]["value"] == 2
    assert body["overdue_now"]["value"] == 1
    assert body["closures"]["value"] == 1
    assert body["satisfaction"]["value"] == 100.0
    assert body["open_now"]["href"].startswith("/cases?state=open&region=")
    assert body["overdue_now"]["href"].startswith("/cases?state=open&overdue=yes")
    assert body["closures"]["href"].startswith("/assessment/cases?measure=closures")
    street = client.get("/api/dashboard/counters", headers=as_user("street_leader")).json()
    assert street["received"]["value"] == 2 and street["closures"]["value"] == 0


def test_region_outside_scope_is_404_problem(client, as_user, world):
    r = client.get(f"/api/dashboard?region={world.regions['street2'].id}", headers=as_user("street_leader"))
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "detail_zh" in r.json() and "detail_en" in r.json()
    assert client.get("/api/dashboard", headers=as_user("handler")).status_code == 403
    assert client.get("/api/dashboard?region=abc", headers=as_user("leader")).status_code == 422


def test_full_dashboard_and_drill_to_grid(client, as_user, world, make):
    _today_cases(make, world)
    body = client.get("/api/dashboard", headers=as_user("leader")).json()
    assert [b["name"] for b in body["breadcrumb"]] == ["云湖区"]
    names = {f["properties"]["name"]: f["properties"] for f in body["map"]["features"]}
    assert set(names) == {"湖1街道", "湖2街道"}
    assert names["湖1街道"]["open_now"] == 2 and names["湖1街道"]["overdue_now"] == 1
    assert body["units_overdue"][0]["count"] == 1 and "unit=" in body["units_overdue"][0]["href"]
    assert body["urgent"][0]["href"].startswith("/cases/")
    assert sum(s["total"] for s in body["trends"]["by_channel"]) >= 2
    grid = world.regions["grid121"]
    leaf = client.get(f"/api/dashboard?region={grid.id}", headers=as_user("leader")).json()
    assert leaf["region"]["leaf"] is True
    assert [b["name"] for b in leaf["breadcrumb"]][-1] == grid.name_zh
    assert len(leaf["map"]["cases"]) == 1 and leaf["map"]["cases"][0]["overdue"] is True


def test_numbers_equal_their_drill_lists(client, as_user, world, make):
    _today_cases(make, world)
    body = client.get("/api/dashboard", headers=as_user("leader")).json()
    for key in ("registered", "closures"):
        page = client.get(body["counters"][key]["href"], headers=as_user("leader"))
        assert page.status_code == 200
        assert f'id="case-total">{body["counters"][key]["value"]}<' in page.text
    unit_link = body["units_overdue"][0]["href"]
    page = client.get(unit_link, headers=as_user("leader"))
    assert 'id="case-total">1<' in page.text


def test_stream_once_sends_counters(client, as_user, world, make):
    _today_cases(make, world)
    r = client.get("/api/dashboard/stream?once=true", headers=as_user("leader"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert r.text.startswith("event: counters\ndata: {")
    assert '"open_now": {"value": 2' in r.text


def test_dashboard_page_renders_for_leader_only(client, as_user, world):
    r = client.get("/dashboard", headers=as_user("leader"))
    assert r.status_code == 200 and "echarts.min.js" in r.text and 'id="dash"' in r.text
    assert client.get("/dashboard", headers=as_user("gridworker")).status_code == 403


def test_stream_refuses_like_the_rest(client, as_user, world):
    assert client.get("/api/dashboard/stream?once=true").status_code == 401
    assert client.get("/api/dashboard/stream?once=true", headers=as_user("gridworker")).status_code == 403
    r = client.get(f"/api/dashboard/stream?once=true&region={world.regions['street2'].id}",
                   headers=as_user("street_leader"))
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
