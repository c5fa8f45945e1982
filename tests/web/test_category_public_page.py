"""The admin categories page shows and edits the `public` flag (offered to citizens through Open311)."""

from __future__ import annotations

import re

from sqlalchemy import select

from civicgrid.events.models import Category
from tests.web.conftest import post_form

PUBLIC_BOX = re.compile(r'<input type="checkbox" name="public" value="1"( checked)?>')


def _fields(category: Category, **extra) -> dict:
    return {"code": category.code, "name_zh": category.name_zh, "name_en": category.name_en,
            "parent_id": category.parent_id or "", "request_type": category.request_type.value,
            "active": "1", **extra}


def _box(html: str) -> bool:
    return PUBLIC_BOX.search(html).group(1) is not None


def test_list_shows_which_categories_are_public(browser, world):
    page = browser("admin").get("/admin/categories").text
    cells = re.findall(r'<td class="nowrap">([A-Z0-9]+)</td>.*?<td class="category-public">([^<]+)</td>', page, re.S)
    flags = dict(cells)
    assert flags["EV0101"] == "公开" and flags["GV0101"] == "不公开"
    english = browser("admin")
    english.get("/lang/en")
    assert '<td class="category-public">not public</td>' in english.get("/admin/categories").text


def test_edit_form_ticks_the_box_as_stored_and_saves_it(browser, session, world):
    admin = browser("admin")
    rubbish, neighbours = world.categories["EV0101"], world.categories["GV0101"]
    assert _box(admin.get(f"/admin/categories/{rubbish.id}").text)
    assert not _box(admin.get(f"/admin/categories/{neighbours.id}").text)
    response = post_form(admin, f"/admin/categories/{neighbours.id}", _fields(neighbours, public="1"))
    assert response.status_code == 303
    session.expire_all()
    assert session.get(Category, neighbours.id).public is True
    assert _box(admin.get(f"/admin/categories/{neighbours.id}").text)
    # An unticked box is a withdrawal.
    post_form(admin, f"/admin/categories/{rubbish.id}", _fields(rubbish))
    session.expire_all()
    assert session.get(Category, rubbish.id).public is False
    codes = {s["service_code"] for s in admin.get("/open311/v2/services.json").json()}
    assert "GV0101" in codes and "EV0101" not in codes


def test_new_categories_are_private_unless_ticked(browser, session, world):
    admin = browser("admin")
    assert not _box(admin.get("/admin/categories").text)
    parent = world.categories["EV01"].id
    post_form(admin, "/admin/categories", {"code": "EV0197", "name_zh": "乱涂乱画", "parent_id": parent,
                                           "request_type": "help", "active": "1"})
    post_form(admin, "/admin/categories", {"code": "EV0196", "name_zh": "废弃车辆", "parent_id": parent,
                                           "request_type": "help", "active": "1", "public": "1"})
    flags = dict(session.execute(select(Category.code, Category.public)
                                 .where(Category.code.in_(["EV0197", "EV0196"]))).tuples().all())
    assert flags == {"EV0197": False, "EV0196": True}


def test_a_refused_form_keeps_the_tick(browser, world):
    response = post_form(browser("admin"), "/admin/categories", {"code": "bad code!", "name_zh": "坏", "public": "1",
                                                                 "request_type": "help"})
    assert response.status_code == 422 and _box(response.text)
