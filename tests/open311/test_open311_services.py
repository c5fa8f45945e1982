"""GET services, GET a service definition and the discovery file, in JSON and XML."""

from __future__ import annotations

import pytest

from civicgrid.audit.service import Origin
from civicgrid.events.config import update_category
from civicgrid.events.models import Category
from civicgrid.events.schemas import CategoryWrite
from tests.open311.conftest import BASE, parse

FORMATS = ("json", "xml")


def _leaf_codes(world) -> set[str]:
    parents = {c.parent_id for c in world.categories.values() if c.parent_id}
    return {c.code for c in world.categories.values() if c.active and c.public and c.id not in parents}


@pytest.mark.parametrize("fmt", FORMATS)
def test_services_are_the_active_public_leaf_categories(client, world, fmt):
    response = client.get(f"{BASE}/services.{fmt}")
    assert response.status_code == 200
    services = parse(response)
    assert {s["service_code"] for s in services} == _leaf_codes(world)
    rubbish = next(s for s in services if s["service_code"] == "EV0101")
    metadata = rubbish["metadata"] if fmt == "json" else rubbish["metadata"] == "true"
    assert rubbish["service_name"] == "暴露垃圾"
    assert rubbish["group"] == "市容环境"
    assert rubbish["type"] == "realtime"
    assert metadata is False
    assert "City appearance" in rubbish["keywords"] and "Exposed rubbish" in rubbish["keywords"]
    assert "5个工作日" in rubbish["description"]


def test_content_types_follow_the_format(client, world):
    assert client.get(f"{BASE}/services.json").headers["content-type"] == "application/json; charset=utf-8"
    xml = client.get(f"{BASE}/services.xml")
    assert xml.headers["content-type"] == "text/xml; charset=utf-8"
    assert xml.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')


def test_english_names_on_request(client, world):
    services = client.get(f"{BASE}/services.json", headers={"Accept-Language": "en-GB"}).json()
    rubbish = next(s for s in services if s["service_code"] == "EV0101")
    assert rubbish["service_name"] == "Exposed rubbish"
    assert rubbish["group"] == "City appearance"
    assert "5 working days" in rubbish["description"]


def test_inactive_category_is_not_offered(client, session, world):
    light = world.categories["CP0101"]
    update_category(session=session, actor=world.users["admin"], origin=Origin("test"), category_id=light.id,
                    data=CategoryWrite(code="CP0101", name_zh=light.name_zh, parent_id=light.parent_id,
                                       request_type=light.request_type, active=False))
    codes = {s["service_code"] for s in client.get(f"{BASE}/services.json").json()}
    assert "CP0101" not in codes and "CP0102" in codes
    assert client.get(f"{BASE}/services/CP0101.json").status_code == 404


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_definition_has_no_attributes(client, world, fmt):
    response = client.get(f"{BASE}/services/EV0101.{fmt}")
    assert response.status_code == 200
    if fmt == "json":
        assert response.json() == {"service_code": "EV0101", "attributes": []}
    else:
        assert parse(response) == {"service_code": "EV0101", "attributes": ""}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("code", ["NOPE", "EV01", "<script>", "%E4%B8%AD", "EV0101%00"])
def test_unknown_or_group_service_code_is_404_in_the_spec_error_format(client, world, fmt, code):
    response = client.get(f"{BASE}/services/{code}.{fmt}")
    assert response.status_code == 404
    [error] = parse(response)
    assert str(error["code"]) == "404"
    assert "不存在" in error["description"]


def test_unknown_format_is_an_xml_404(client, world):
    response = client.get(f"{BASE}/services.html")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/xml")
    assert parse(response)[0]["code"] == "404"


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_path_and_wrong_method_answer_in_the_spec_format(client, world, fmt):
    missing = client.get(f"{BASE}/nothing.{fmt}")
    assert missing.status_code == 404 and parse(missing)[0]["code"] in (404, "404")
    wrong = client.delete(f"{BASE}/services.{fmt}")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "GET"
    assert parse(wrong)[0]["code"] in (405, "405")


@pytest.mark.parametrize("fmt", FORMATS)
def test_discovery_points_at_the_v2_endpoint(client, world, fmt):
    response = client.get(f"/open311/discovery.{fmt}")
    assert response.status_code == 200
    doc = parse(response)
    endpoint = doc["endpoints"][0] if fmt == "json" else doc["endpoints"]["endpoint"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert doc["changeset"] and doc["key_service"] and doc["contact"]


def test_discovery_changeset_moves_when_a_category_changes(client, session, world):
    before = client.get("/open311/discovery.json").json()["changeset"]
    light = session.get(Category, world.categories["CP0101"].id)
    update_category(session=session, actor=world.users["admin"], origin=Origin("test"), category_id=light.id,
                    data=CategoryWrite(code="CP0101", name_zh="路灯不亮", parent_id=light.parent_id,
                                       request_type=light.request_type))
    after = client.get("/open311/discovery.json").json()["changeset"]
    assert after > before
    assert next(s for s in client.get(f"{BASE}/services.json").json()
                if s["service_code"] == "CP0101")["service_name"] == "路灯不亮"
