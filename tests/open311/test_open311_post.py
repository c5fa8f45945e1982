"""POST requests: the form onto the one intake, the API key, and every refusal in the spec's format."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from civicgrid.audit.models import AuditEntry
from civicgrid.auth.models import ApiKey
from civicgrid.events.models import Case, Channel
from civicgrid.events.workflow import CaseState
from tests.open311.conftest import BASE, parse

FORMATS = ("json", "xml")


def _case(session, number: str) -> Case:
    return session.scalar(select(Case).where(Case.number == number))


def _count(session) -> int:
    return session.scalar(select(func.count(Case.id)))


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_creates_an_open311_case_through_intake(post, session, world, fmt):
    lat, lon = world.grid_point("grid111")
    response = post(fmt, service_code="EV0101", lat=lat, long=lon, description="路口有一堆垃圾\n已经三天了",
                    first_name="三", last_name="张", phone="13812345678", email="zhang@example.cn",
                    media_url="https://img.example.cn/a.jpg", device_id="dev-1", account_id="acct-9",
                    jurisdiction_id="yunzhou.gov.cn")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json" if fmt == "json" else "text/xml")
    [created] = parse(response)
    case = _case(session, created["service_request_id"])
    assert case.channel == Channel.OPEN311 and case.state == CaseState.REPORTED
    assert case.category.code == "EV0101"
    assert case.grid_id == world.regions["grid111"].id and case.location_status == "inside"
    assert case.description == "路口有一堆垃圾\n已经三天了"
    assert case.reporter_name == "张三" and case.reporter_phone == "13812345678"
    assert created["token"] == case.external_token and len(case.external_token) == 16
    assert "5个工作日" in created["service_notice"]
    assert created["account_id"] in (None, "")


def test_intake_history_says_open311_and_the_key_is_recorded(post, session, world):
    lat, lon = world.grid_point("grid121")
    number = post(service_code="CP0101", lat=lat, long=lon, email="a@example.cn",
                  media_url="http://img.example.cn/b.png").json()[0]["service_request_id"]
    case = _case(session, number)
    entries = session.scalars(select(AuditEntry).where(AuditEntry.entity == "case",
                                                       AuditEntry.entity_id == str(case.id))).all()
    intake = next(e for e in entries if e.action == "intake")
    submission = next(e for e in entries if e.action == "open311_request")
    key = session.scalar(select(ApiKey).where(ApiKey.name == "test client"))
    assert intake.channel == submission.channel == "open311"
    assert submission.actor_name.startswith("Open311 test client")
    assert submission.after["api_key_id"] == key.id
    assert submission.after["email"] == "a@example.cn"
    assert submission.after["media_url"] == "http://img.example.cn/b.png"


def test_western_names_keep_their_order(post, session, world):
    lat, lon = world.grid_point("grid111")
    number = post(service_code="EV0101", lat=lat, long=lon, first_name="Ada", last_name="Lovelace").json()[0][
        "service_request_id"]
    assert _case(session, number).reporter_name == "Ada Lovelace"


def test_address_string_places_the_case(post, session, world):
    number = post(service_code="EV0402", address_string="湖2街道1社区第2网格 幸福路12号门口").json()[0]["service_request_id"]
    case = _case(session, number)
    assert case.grid_id == world.regions["grid212"].id
    assert case.address == "湖2街道1社区第2网格 幸福路12号门口"


def test_address_id_is_a_region_code(post, session, world):
    number = post(service_code="EV0402", address_id=world.regions["grid122"].code).json()[0]["service_request_id"]
    assert _case(session, number).grid_id == world.regions["grid122"].id


def test_missing_description_becomes_the_service_name(post, session, world):
    lat, lon = world.grid_point("grid111")
    number = post(service_code="CP0101", lat=lat, long=lon, description="").json()[0]["service_request_id"]
    assert _case(session, number).description == "路灯损坏"


def test_api_key_in_the_query_string_is_accepted(client, api_key, session, world):
    # Some clients (the codeforamerica open311 wrapper) send api_key in the URL and the rest in the body.
    lat, lon = world.grid_point("grid111")
    response = client.post(f"{BASE}/requests.json?api_key={api_key}",
                           data={"service_code": "EV0101", "lat": lat, "long": lon})
    assert response.status_code == 200


def test_multipart_form_is_accepted(client, api_key, world):
    lat, lon = world.grid_point("grid111")
    response = client.post(f"{BASE}/requests.json", files={"placeholder": (None, "x")},
                           data={"api_key": api_key, "service_code": "EV0101", "lat": str(lat), "long": str(lon)})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("key", [None, "", "cg_not-a-key"])
def test_missing_or_invalid_api_key_is_403(client, session, world, fmt, key):
    lat, lon = world.grid_point("grid111")
    data = {"service_code": "EV0101", "lat": lat, "long": lon}
    if key is not None:
        data["api_key"] = key
    before = _count(session)
    response = client.post(f"{BASE}/requests.{fmt}", data=data)
    assert response.status_code == 403
    [error] = parse(response)
    assert str(error["code"]) == "403" and "api_key" in error["description"]
    assert _count(session) == before


def test_deactivated_key_is_refused(post, session, world):
    key = session.scalar(select(ApiKey).where(ApiKey.name == "test client"))
    key.active = False
    session.flush()
    lat, lon = world.grid_point("grid111")
    assert post(service_code="EV0101", lat=lat, long=lon).status_code == 403


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_service_code_is_404_and_missing_is_400(post, world, fmt):
    lat, lon = world.grid_point("grid111")
    unknown = post(fmt, service_code="ZZ9999", lat=lat, long=lon)
    assert unknown.status_code == 404 and "ZZ9999" in parse(unknown)[0]["description"]
    group = post(fmt, service_code="EV01", lat=lat, long=lon)
    assert group.status_code == 404
    missing = post(fmt, lat=lat, long=lon)
    assert missing.status_code == 400 and "service_code" in parse(missing)[0]["description"]


BAD_FORMS = [
    ({}, "location"),
    ({"lat": "26.09"}, "lat"),
    ({"long": "119.305"}, "lat"),
    ({"lat": "north", "long": "119.305"}, "lat"),
    ({"lat": "nan", "long": "119.305"}, "lat"),
    ({"lat": "95", "long": "119.305"}, "lat"),
    ({"lat": "26.09", "long": "inf"}, "long"),
    ({"address_id": "not-a-code"}, "address_id"),
    ({"address_id": "990199999999"}, "990199999999"),
    ({"address_string": "火星基地"}, "Cannot place"),
    ({"lat": "0", "long": "0"}, "Cannot place"),
    ({"address_string": "湖1街道1社区", "phone": "call me"}, "phone"),
    ({"address_string": "湖1街道1社区", "email": "not an email"}, "email"),
    ({"address_string": "湖1街道1社区", "media_url": "javascript:alert(1)"}, "media_url"),
    ({"address_string": "湖1街道1社区", "media_url": "https://" + "a" * 2000}, "media_url"),
    ({"address_string": "湖1街道1社区", "description": "x"}, "description"),
    ({"address_string": "湖1街道1社区", "description": "长" * 5001}, "description"),
    ({"address_string": "湖1街道1社区", "first_name": "名" * 51}, "first_name"),
    ({"address_string": "长" * 301}, "address_string"),
    ({"address_string": "湖1街道1社区", "description": "垃圾\x00堆"}, "description"),
    ({"address_string": "湖1街道1社区", "first_name": "\x00"}, "first_name"),
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("fields", "mentioned"), BAD_FORMS)
def test_bad_fields_are_400_with_a_description_and_create_nothing(post, session, world, fmt, fields, mentioned):
    before = _count(session)
    response = post(fmt, headers={"Accept-Language": "en"}, service_code="EV0101", **fields)
    assert response.status_code == 400, response.text
    errors = parse(response)
    assert all(str(e["code"]) == "400" for e in errors)
    assert mentioned in " ".join(e["description"] for e in errors)
    assert _count(session) == before


def test_every_bad_field_is_reported_at_once(post, world):
    response = post(service_code="EV0101", lat="x", email="nope", media_url="ftp://x")
    descriptions = " ".join(e["description"] for e in response.json())
    assert response.status_code == 400 and len(response.json()) >= 4
    for param in ("lat", "email", "media_url"):
        assert param in descriptions


@pytest.mark.parametrize("fmt", FORMATS)
def test_unreadable_bodies_are_spec_errors_not_422(client, api_key, world, fmt):
    english = {"Accept-Language": "en"}
    as_json = client.post(f"{BASE}/requests.{fmt}", json={"api_key": api_key, "service_code": "EV0101"},
                          headers=english)
    assert as_json.status_code == 400
    assert "x-www-form-urlencoded" in parse(as_json)[0]["description"]
    bad_utf8 = client.post(f"{BASE}/requests.{fmt}", content=b"api_key=\xff\xfe&service_code=EV0101",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert bad_utf8.status_code == 400
    too_big = client.post(f"{BASE}/requests.{fmt}", content=b"description=" + b"a" * 300_000,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert too_big.status_code == 413
    with_file = client.post(f"{BASE}/requests.{fmt}", data={"api_key": api_key},
                            files={"media": ("a.jpg", b"\xff\xd8", "image/jpeg")})
    assert with_file.status_code == 400
    for response in (as_json, bad_utf8, too_big, with_file):
        assert response.headers["content-type"].startswith("application/json" if fmt == "json" else "text/xml")
        assert parse(response)[0]["description"]


def test_a_refused_request_leaves_no_trace(post, session, world):
    entries = session.scalar(select(func.count(AuditEntry.id)))
    post(service_code="EV0101", address_string="火星基地")
    assert session.scalar(select(func.count(AuditEntry.id))) == entries
