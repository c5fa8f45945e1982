"""The category `public` flag: only public categories are Open311 services; filing in another is a clear
400; the flag is edited through the category API (and kept when a client leaves it out); the seeded
taxonomy (and so the demo) makes the categories about individuals private."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from civicgrid.audit.models import AuditEntry
from civicgrid.audit.service import Origin
from civicgrid.events.config import create_category, update_category
from civicgrid.events.models import Case, Category
from civicgrid.events.schemas import CategoryWrite
from civicgrid.events.taxonomy import NOT_PUBLIC_GROUPS, TAXONOMY
from tests.open311.conftest import BASE, parse

FORMATS = ("json", "xml")
ORIGIN = Origin("test")


def _codes(client, **headers) -> set[str]:
    return {s["service_code"] for s in client.get(f"{BASE}/services.json", headers=headers).json()}


def _set_public(session, world, code: str, public: bool | None) -> Category:
    category = session.get(Category, world.categories[code].id)
    return update_category(session=session, actor=world.users["admin"], origin=ORIGIN, category_id=category.id,
                           data=CategoryWrite(code=code, name_zh=category.name_zh, name_en=category.name_en,
                                              parent_id=category.parent_id, request_type=category.request_type,
                                              public=public))


def test_seeded_taxonomy_keeps_reports_about_individuals_private(world):
    for group, _, _, _, leaves in TAXONOMY:
        for code in [group, *(leaf[0] for leaf in leaves)]:
            assert world.categories[code].public is (group not in NOT_PUBLIC_GROUPS), code
    assert {"GV01", "GV02", "GV04", "GV05"} == NOT_PUBLIC_GROUPS


def test_services_list_only_public_categories(client, world):
    codes = _codes(client)
    assert {"EV0101", "CP0101", "GV0301", "GV0601", "GV0701", "GV0801", "GV0901"} <= codes
    assert not codes & {"GV0101", "GV0102", "GV0103", "GV0201", "GV0202", "GV0401", "GV0402", "GV0501"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_private_service_has_no_definition(client, world, fmt):
    response = client.get(f"{BASE}/services/GV0101.{fmt}")
    assert response.status_code == 404
    assert str(parse(response)[0]["code"]) == "404"


@pytest.mark.parametrize("fmt", FORMATS)
def test_filing_in_a_private_category_is_a_clear_400_and_files_nothing(post, session, world, fmt):
    lat, lon = world.grid_point("grid111")
    before = session.scalar(select(func.count(Case.id)))
    response = post(fmt, service_code="GV0101", lat=lat, long=lon, description="邻居吵架")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json" if fmt == "json" else "text/xml")
    [error] = parse(response)
    assert str(error["code"]) == "400"
    assert "GV0101" in error["description"] and "不通过 Open311 接口受理" in error["description"]
    assert session.scalar(select(func.count(Case.id))) == before


def test_the_refusal_speaks_english_on_request(post, world):
    lat, lon = world.grid_point("grid111")
    [error] = post(service_code="GV0401", lat=lat, long=lon, headers={"Accept-Language": "en"}).json()
    assert error["description"].startswith("service_code GV0401 (Social assistance) is not offered through Open311")


def test_unknown_codes_stay_404(post, world):
    lat, lon = world.grid_point("grid111")
    assert post(service_code="ZZ9999", lat=lat, long=lon).status_code == 404


def test_publishing_and_withdrawing_take_effect_at_once(client, post, session, world):
    lat, lon = world.grid_point("grid111")
    _set_public(session, world, "GV0102", True)
    assert "GV0102" in _codes(client)
    assert post(service_code="GV0102", lat=lat, long=lon, description="家里吵架需要调解").status_code == 200
    _set_public(session, world, "EV0101", False)
    assert "EV0101" not in _codes(client)
    assert post(service_code="EV0101", lat=lat, long=lon).status_code == 400


def test_leaving_the_flag_out_keeps_it(session, world):
    assert _set_public(session, world, "EV0101", None).public is True
    assert _set_public(session, world, "GV0101", None).public is False


def test_a_new_category_is_private_unless_said(session, world):
    admin = world.users["admin"]
    parent = world.categories["EV01"].id
    quiet = create_category(session=session, actor=admin, origin=ORIGIN,
                            data=CategoryWrite(code="EV0199", name_zh="其他市容", parent_id=parent, request_type="help"))
    loud = create_category(session=session, actor=admin, origin=ORIGIN,
                           data=CategoryWrite(code="EV0198", name_zh="乱涂乱画", parent_id=parent, request_type="help",
                                              public=True))
    assert quiet.public is False and loud.public is True
    entry = session.scalar(select(AuditEntry).where(AuditEntry.entity == "category",
                                                    AuditEntry.entity_id == str(loud.id)))
    assert entry.after["public"] is True


def test_category_api_reads_and_writes_the_flag(client, as_user, session, world):
    admin = as_user("admin")
    listed = {c["code"]: c for c in client.get("/api/categories", headers=admin).json()}
    assert listed["EV0101"]["public"] is True and listed["GV0101"]["public"] is False
    cat = world.categories["GV0901"]
    body = {"code": "GV0901", "name_zh": cat.name_zh, "parent_id": cat.parent_id, "request_type": "consultation"}
    kept = client.put(f"/api/categories/{cat.id}", json=body, headers=admin)
    assert kept.status_code == 200 and kept.json()["public"] is True
    withdrawn = client.put(f"/api/categories/{cat.id}", json=body | {"public": False}, headers=admin)
    assert withdrawn.json()["public"] is False
    assert "GV0901" not in _codes(client)
    audit = session.scalar(select(AuditEntry).where(AuditEntry.entity == "category",
                                                    AuditEntry.entity_id == str(cat.id))
                           .order_by(AuditEntry.id.desc()).limit(1))
    assert audit.before["public"] is True and audit.after["public"] is False


@pytest.mark.parametrize("value", ["perhaps", 2, [True]])
def test_a_bad_flag_is_a_bilingual_problem(client, as_user, world, value):
    cat = world.categories["GV0901"]
    body = {"code": "GV0901", "name_zh": cat.name_zh, "request_type": "consultation", "public": value}
    response = client.put(f"/api/categories/{cat.id}", json=body, headers=as_user("admin"))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["detail_zh"] and problem["detail_en"] and "public" in problem["detail_en"]


def test_only_admins_change_the_flag(client, as_user, world):
    cat = world.categories["GV0101"]
    body = {"code": "GV0101", "name_zh": cat.name_zh, "request_type": "complaint", "public": True}
    assert client.put(f"/api/categories/{cat.id}", json=body, headers=as_user("operator")).status_code == 403
