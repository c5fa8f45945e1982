"""What a POST sends beyond the case's own fields is kept (open311_submission): e-mail (validated),
media URL, first and last name, phone, device and account ids, the key and the address; GET returns
media_url where the spec does, never the contact data; older requests are backfilled from the audit."""

from __future__ import annotations

import importlib.util

import pytest
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import delete, select

from civicgrid.audit.service import Origin
from civicgrid.auth.models import ApiKey
from civicgrid.events.config import update_category
from civicgrid.events.models import Case, Category, Channel
from civicgrid.events.schemas import CategoryWrite
from civicgrid.migrations import MIGRATIONS
from civicgrid.open311.models import Open311Submission
from tests.open311.conftest import BASE, make_case, parse

FORMATS = ("json", "xml")


def _submitted(session, number: str) -> tuple[Case, Open311Submission]:
    case = session.scalar(select(Case).where(Case.number == number))
    return case, session.scalar(select(Open311Submission).where(Open311Submission.case_id == case.id))


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_field_the_spec_has_is_kept(post, session, world, fmt):
    lat, lon = world.grid_point("grid111")
    response = post(fmt, service_code="EV0101", lat=lat, long=lon, description="井边垃圾", first_name="三",
                    last_name="张", phone="138 1234 5678", email="zhang.san@example.cn",
                    media_url="https://img.example.cn/p/1.jpg?size=large", device_id="ios-42", account_id="u-9")
    assert response.status_code == 200
    case, kept = _submitted(session, parse(response)[0]["service_request_id"])
    key = session.scalar(select(ApiKey).where(ApiKey.name == "test client"))
    assert (kept.first_name, kept.last_name, kept.phone) == ("三", "张", "138 1234 5678")
    assert kept.email == "zhang.san@example.cn"
    assert kept.media_url == "https://img.example.cn/p/1.jpg?size=large"
    assert (kept.device_id, kept.account_id) == ("ios-42", "u-9")
    assert kept.api_key_id == key.id and kept.client_address == "testclient" and kept.at is not None
    assert case.reporter_name == "张三" and case.reporter_phone == "138 1234 5678"
    assert key.last_used_at is not None


def test_a_bare_request_keeps_empty_extras(post, session, world):
    lat, lon = world.grid_point("grid111")
    _, kept = _submitted(session, post(service_code="EV0101", lat=lat, long=lon).json()[0]["service_request_id"])
    assert kept.email is kept.media_url is kept.first_name is kept.phone is None


@pytest.mark.parametrize("email", ["zhang@example.cn", "a.b+tag@mail.example.com", "li_si@例子.中国",
                                   "O'Brien@example.ie"])
def test_good_email_addresses_are_accepted(post, session, world, email):
    lat, lon = world.grid_point("grid111")
    response = post(service_code="EV0101", lat=lat, long=lon, email=email)
    assert response.status_code == 200
    assert _submitted(session, response.json()[0]["service_request_id"])[1].email == email


@pytest.mark.parametrize("email", ["nope", "a@b", "zhang@example", "a..b@example.cn", ".a@example.cn",
                                   "a b@example.cn", "a@-x.cn", "张三@example.cn", "a@b@example.cn",
                                   "a@1.2.3.4", "x" * 65 + "@example.cn", "a@" + "b" * 64 + ".cn"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_email_addresses_are_a_400_naming_email(post, session, world, email, fmt):
    lat, lon = world.grid_point("grid111")
    response = post(fmt, service_code="EV0101", lat=lat, long=lon, email=email)
    assert response.status_code == 400
    assert any("email" in e["description"] for e in parse(response))
    assert session.scalar(select(Open311Submission.id).where(Open311Submission.email == email)) is None


def test_english_email_message(post, world):
    lat, lon = world.grid_point("grid111")
    response = post(service_code="EV0101", lat=lat, long=lon, email="nope", headers={"Accept-Language": "en"})
    assert response.json() == [{"code": 400, "description": "email is not a valid e-mail address"}]


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_returns_the_media_url_and_no_contact_data(client, post, world, fmt):
    lat, lon = world.grid_point("grid111")
    number = post(service_code="EV0101", lat=lat, long=lon, media_url="https://img.example.cn/a.jpg",
                  email="wang@example.cn", first_name="五", last_name="王", phone="13900001111",
                  device_id="dev-7", account_id="acct-7").json()[0]["service_request_id"]
    response = client.get(f"{BASE}/requests/{number}.{fmt}")
    [request] = parse(response)
    assert request["media_url"] == "https://img.example.cn/a.jpg"
    body = response.text
    for secret in ("wang@example.cn", "13900001111", "dev-7", "acct-7", "王五"):
        assert secret not in body
    listed = parse(client.get(f"{BASE}/requests.{fmt}", params={"service_request_id": number}))
    assert listed[0]["media_url"] == "https://img.example.cn/a.jpg"


def test_requests_without_media_and_from_other_channels_have_none(client, post, session, world):
    lat, lon = world.grid_point("grid111")
    plain = post(service_code="EV0101", lat=lat, long=lon).json()[0]["service_request_id"]
    desk = make_case(session, world, channel=Channel.HOTLINE)
    found = client.get(f"{BASE}/requests.json", params={"service_request_id": f"{plain},{desk.number}"}).json()
    assert [r["media_url"] for r in found] == [None, None]


def test_media_of_a_request_about_an_individual_is_withheld(client, post, session, world):
    neighbours = session.get(Category, world.categories["GV0101"].id)
    update_category(session=session, actor=world.users["admin"], origin=Origin("test"), category_id=neighbours.id,
                    data=CategoryWrite(code="GV0101", name_zh=neighbours.name_zh, parent_id=neighbours.parent_id,
                                       request_type=neighbours.request_type, public=True))
    lat, lon = world.grid_point("grid111")
    number = post(service_code="GV0101", lat=lat, long=lon, media_url="https://img.example.cn/fight.jpg",
                  description="邻居半夜吵架").json()[0]["service_request_id"]
    [request] = client.get(f"{BASE}/requests/{number}.json").json()
    assert request["media_url"] is None and request["description"] is None
    assert _submitted(session, number)[1].media_url == "https://img.example.cn/fight.jpg"  # kept, not shown


def test_migration_backfills_requests_filed_before_it(client, post, session, world):
    """0009 copies the extras of older requests from their `open311_request` audit entries."""
    lat, lon = world.grid_point("grid111")
    number = post(service_code="EV0101", lat=lat, long=lon, media_url="http://img.example.cn/old.png",
                  email="old@example.cn", device_id="d-1").json()[0]["service_request_id"]
    case, kept = _submitted(session, number)
    key_id = kept.api_key_id
    session.execute(delete(Open311Submission))  # as before 0009: only the audit entry holds them
    session.flush()
    spec = importlib.util.spec_from_file_location("migration_0009", MIGRATIONS / "versions" / "0009_open311_more.py")
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with Operations.context(MigrationContext.configure(session.connection())):
        migration._backfill(Open311Submission.__table__)
    session.expire_all()
    _, restored = _submitted(session, number)
    assert restored.media_url == "http://img.example.cn/old.png" and restored.email == "old@example.cn"
    assert restored.device_id == "d-1" and restored.api_key_id == key_id and restored.client_address == ""
    [request] = client.get(f"{BASE}/requests/{number}.json").json()
    assert request["media_url"] == "http://img.example.cn/old.png"
