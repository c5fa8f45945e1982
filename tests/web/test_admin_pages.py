"""Administration pages: admin only; categories, routing rules, units, users and grid import."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from civicgrid.auth.models import User
from civicgrid.events.models import Category, RoutingRule
from civicgrid.units.models import Unit
from tests.web.conftest import post_form, sign_in

ADMIN_PAGES = ["/admin", "/admin/categories", "/admin/rules", "/admin/units", "/admin/users", "/admin/grids"]


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_admin_pages_render_for_the_admin(browser, url):
    page = browser("admin").get(url)
    assert page.status_code == 200
    assert 'class="subnav"' in page.text


@pytest.mark.parametrize("username", ["operator", "handler", "leader", "citizen", "gridworker"])
def test_admin_pages_refuse_everyone_else(browser, world, username):
    client = browser(username)
    category = world.categories["EV0101"]
    for url in ADMIN_PAGES + [f"/admin/categories/{category.id}"]:
        page = client.get(url)
        assert page.status_code == 403, url
        assert "无权访问此页面" in page.text
    refused = post_form(client, "/admin/units", {"code": "X1", "name_zh": "越权单位",
                                                 "region_id": world.regions["city"].id})
    assert refused.status_code == 403
    assert "系统管理" not in client.get("/inbox").text  # not in the menu either


def test_admin_menu_entry(browser):
    assert "系统管理" in browser("admin").get("/inbox").text


def test_category_list_shows_deadlines(browser):
    page = browser("admin").get("/admin/categories").text
    assert "EV0101" in page and "暴露垃圾" in page and "5个工作日" in page and "30分钟" in page


def test_create_and_edit_a_category(browser, session, world):
    admin = browser("admin")
    parent = world.categories["EV01"]
    response = post_form(admin, "/admin/categories", {
        "code": "EV0199", "name_zh": "垃圾桶满溢", "name_en": "Overflowing bin", "parent_id": parent.id,
        "request_type": "help", "finish_amount": "3", "finish_unit": "working_days", "active": "1"})
    assert response.status_code == 303 and response.headers["location"] == "/admin/categories?done=created"
    category = session.scalar(select(Category).where(Category.code == "EV0199"))
    assert category.finish_amount == 3 and category.accept_unit == "working_days"  # accept from the default
    form = admin.get(f"/admin/categories/{category.id}").text
    assert 'value="垃圾桶满溢"' in form
    response = post_form(admin, f"/admin/categories/{category.id}", {
        "code": "EV0199", "name_zh": "垃圾桶满溢", "parent_id": parent.id, "request_type": "complaint",
        "finish_amount": "10", "finish_unit": "working_days", "active": ""})
    assert response.headers["location"] == "/admin/categories?done=updated"
    session.expire_all()
    category = session.get(Category, category.id)
    assert category.finish_amount == 10 and not category.active
    assert "已保存" in admin.get("/admin/categories?done=updated").text


def test_category_form_errors_are_shown_with_the_values(browser):
    admin = browser("admin")
    response = post_form(admin, "/admin/categories", {"code": "bad code!", "name_zh": "", "request_type": "help",
                                                      "finish_amount": "-1", "finish_unit": "working_days"})
    assert response.status_code == 422
    assert "代码：格式不正确" in response.text and "中文名称" in response.text
    assert 'value="bad code!"' in response.text
    clash = post_form(admin, "/admin/categories", {"code": "EV0101", "name_zh": "重复", "request_type": "help"})
    assert clash.status_code == 409 and "已存在" in clash.text


def test_edit_unknown_category_is_a_404_page(browser):
    page = browser("admin").get("/admin/categories/999999")
    assert page.status_code == 404 and "<html" in page.text


def test_create_and_deactivate_a_routing_rule(browser, session, world):
    admin = browser("admin")
    response = post_form(admin, "/admin/rules", {"category_id": world.categories["EV0101"].id,
                                                 "region_id": world.regions["street1"].id,
                                                 "unit_id": world.units["chengguan"].id, "note": "垃圾归城管"})
    assert response.status_code == 303
    rule = session.scalar(select(RoutingRule).where(RoutingRule.note == "垃圾归城管"))
    page = admin.get("/admin/rules").text
    assert "垃圾归城管" in page and f"/admin/rules/{rule.id}/deactivate" in page
    assert post_form(admin, f"/admin/rules/{rule.id}/deactivate").status_code == 303
    session.expire_all()
    assert session.get(RoutingRule, rule.id).active is False
    missing = post_form(admin, "/admin/rules", {"region_id": "", "unit_id": ""})
    assert missing.status_code == 422 and "区域" in missing.text
    gone = post_form(admin, "/admin/rules/999999/deactivate")
    assert gone.status_code == 404 and "派遣规则" in gone.text


def test_create_a_unit(browser, session, world):
    admin = browser("admin")
    response = post_form(admin, "/admin/units", {"code": "WJ", "name_zh": "云湖区卫健局", "name_en": "Health bureau",
                                                 "kind": "department", "region_id": world.regions["district"].id})
    assert response.status_code == 303
    assert session.scalar(select(Unit).where(Unit.code == "WJ")).name_zh == "云湖区卫健局"
    assert "云湖区卫健局" in admin.get("/admin/units").text
    clash = post_form(admin, "/admin/units", {"code": "WJ", "name_zh": "重名", "kind": "department",
                                              "region_id": world.regions["district"].id})
    assert clash.status_code == 409 and 'value="重名"' in clash.text
    empty = post_form(admin, "/admin/units", {"code": "", "name_zh": "", "region_id": ""})
    assert empty.status_code == 422


def test_create_a_user_who_can_then_sign_in(app, browser, session, world):
    admin = browser("admin")
    response = post_form(admin, "/admin/users", {
        "username": "new_handler", "display_name": "新承办人", "password": "a-good-password",
        "role": "handler", "scope_region_id": world.regions["district"].id, "unit_id": world.units["zhujian"].id,
        "phone": "13600000000"})
    assert response.status_code == 303
    user = session.scalar(select(User).where(User.username == "new_handler"))
    assert user.unit_id == world.units["zhujian"].id
    assert "新承办人" in admin.get("/admin/users").text
    newcomer = TestClient(app)
    assert sign_in(newcomer, "new_handler", "a-good-password").status_code == 303
    assert "我的待办" in newcomer.get("/inbox").text


def test_user_form_refusals(browser, world):
    admin = browser("admin")
    short = post_form(admin, "/admin/users", {"username": "x1", "display_name": "短密码", "password": "short",
                                              "role": "operator", "scope_region_id": world.regions["city"].id})
    assert short.status_code == 422 and "初始密码" in short.text
    no_unit = post_form(admin, "/admin/users", {"username": "h2", "display_name": "无单位", "password": "long-enough-1",
                                                "role": "handler", "scope_region_id": world.regions["city"].id})
    assert no_unit.status_code == 422 and "承办人必须属于一个单位" in no_unit.text
    taken = post_form(admin, "/admin/users", {"username": "operator", "display_name": "重名", "password": "long-enough-1",
                                              "role": "operator", "scope_region_id": world.regions["city"].id})
    assert taken.status_code == 409 and "已存在" in taken.text


def test_grids_page_lists_grids_with_counts(browser, report):
    report()
    page = browser("admin").get("/admin/grids").text
    assert "湖1街道1社区第1网格" in page and "共 8 个网格" in page.replace("\n", " ").replace("  ", " ")
    assert "990102001001001" in page


def geojson_upload(client, collection, *, dry_run: bool):
    data = {"csrf": client.cookies.get("cg_csrf")}
    if dry_run:
        data["dry_run"] = "1"
    body = json.dumps(collection, ensure_ascii=False).encode()
    return client.post("/admin/grids/import", data=data, files={"file": ("grids.geojson", body, "application/geo+json")},
                       follow_redirects=False)


def _grid_feature(code: str, name: str, ring: list[list[float]]) -> dict:
    return {"type": "Feature", "properties": {"code": code, "name": name},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


def test_geojson_import_reports_problems(browser):
    admin = browser("admin")
    bad = {"type": "FeatureCollection", "features": [
        _grid_feature("990102001001009", "坏网格", [[119.30, 26.08], [119.301, 26.08], [119.30, 26.081]])]}
    dry = geojson_upload(admin, bad, dry_run=True)
    assert dry.status_code == 200 and 'id="import-report"' in dry.text and "report-bad" in dry.text
    real = geojson_upload(admin, bad, dry_run=False)
    assert real.status_code == 422 and "未写入任何数据" in real.text and "<li>" in real.text
    not_json = admin.post("/admin/grids/import", data={"csrf": admin.cookies.get("cg_csrf")},
                          files={"file": ("x.geojson", b"{nope", "application/json")}, follow_redirects=False)
    assert not_json.status_code == 422 and "不是有效的 UTF-8 JSON" in not_json.text
    empty = admin.post("/admin/grids/import", data={"csrf": admin.cookies.get("cg_csrf")}, follow_redirects=False)
    assert empty.status_code == 422 and "请选择要导入的 GeoJSON 文件" in empty.text


def test_geojson_import_of_a_valid_file(browser, world):
    admin = browser("admin")
    grid = world.regions["grid111"]
    feature = {"type": "Feature", "properties": {"code": grid.code, "name": "湖1街道1社区第1网格（新名）"},
               "geometry": grid.geometry}
    collection = {"type": "FeatureCollection", "features": [feature]}
    dry = geojson_upload(admin, collection, dry_run=True)
    assert dry.status_code == 200 and "report-ok" in dry.text and "仅校验，未写入" in dry.text
    assert "湖1街道1社区第1网格（新名）" not in admin.get("/admin/grids").text
    real = geojson_upload(admin, collection, dry_run=False)
    assert real.status_code == 200 and "report-ok" in real.text
    assert "湖1街道1社区第1网格（新名）" in real.text
