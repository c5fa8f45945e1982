"""People pages through the app: masked by default, reveal refused or audited, import → review → one record,
care list, visit entry, colour override."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from civicgrid.audit.models import AuditEntry
from civicgrid.people import care
from civicgrid.people.models import CareRecord, Person
from civicgrid.people.schemas import CareCreate
from tests.people.conftest import CSRF, ORIGIN, new_id


def test_profile_is_masked_for_everyone_and_leader_cannot_unmask(session, browse, people):
    number = new_id()
    person = people.add("马一", id_number=number, phone="13866667777")
    for name in ("operator", "leader", "gridworker"):
        html = browse(name).get(f"/people/{person.id}").text
        assert number not in html and "13866667777" not in html
        assert person.id_masked in html and "138****7777" in html
    html = browse("leader").get(f"/people/{person.id}").text
    assert 'id="no-unmask"' in html and 'id="reveal-form"' not in html
    refused = browse("leader").post(f"/people/{person.id}/reveal", data={"csrf": CSRF, "field": "id_number",
                                                                         "reason": "想看看完整号码"})
    assert refused.status_code == 403 and number not in refused.text
    views = session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.entity == "person",
                                                                   AuditEntry.action == "view"))
    assert views >= 4
    assert session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "unmask")) == 0


def test_operator_reveals_with_a_reason(session, browse, people):
    number = new_id()
    person = people.add("马二", id_number=number)
    c = browse("operator")
    no_reason = c.post(f"/people/{person.id}/reveal", data={"csrf": CSRF, "field": "id_number", "reason": ""})
    assert no_reason.status_code == 422 and number not in no_reason.text
    ok = c.post(f"/people/{person.id}/reveal", data={"csrf": CSRF, "field": "id_number", "reason": "办理低保核实身份"})
    assert ok.status_code == 200 and number in ok.text
    # The next page view is masked again.
    assert number not in c.get(f"/people/{person.id}").text
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "unmask"))
    assert entry.note == "办理低保核实身份" and entry.channel == "web"


def test_people_list_search_and_out_of_scope(session, browse, people):
    person = people.add("马三")
    html = browse("operator").get("/people", params={"q": "马"}).text
    assert f"/people/{person.id}" in html and person.id_masked in html
    assert browse("operator21").get(f"/people/{person.id}").status_code == 404
    assert browse("handler").get("/people").status_code == 403
    assert "/people" in browse("leader").get("/people").text


def _csv(rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["姓名", "证件号码", "出生日期", "性别", "联系电话", "网格编码", "居住地址"])
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def test_import_then_review_through_the_pages(session, browse, people):
    grid = people.world.regions["grid111"].code
    c = browse("operator")
    first = c.post("/people/import", data={"csrf": CSRF, "source": "公安", "as_of": "2026-10-01"},
                   files={"file": ("a.csv", _csv([["吴芳", "", "1975-05-05", "女", "13800000003", grid, "3号楼"]]), "text/csv")})
    assert first.status_code == 200 and 'data-outcome="created"' in first.text
    second = c.post("/people/import", data={"csrf": CSRF, "source": "民政"},
                    files={"file": ("b.csv", _csv([["吴芳", "", "1975-05-05", "女", "13900000009", grid, "5号楼"]]), "text/csv")})
    assert "待人工核对" in second.text
    queue = c.get("/people/review").text
    assert "139****0009" in queue and "13900000009" not in queue
    item_id = int(queue.split('data-review-id="')[1].split('"')[0])
    done = c.post(f"/people/review/{item_id}", data={"csrf": CSRF, "decision": "merge", "note": "电话已更换"},
                  follow_redirects=False)
    assert done.status_code == 303
    assert session.scalar(select(func.count(Person.id)).where(Person.name == "吴芳")) == 1
    assert 'id="review-empty"' in c.get("/people/review").text
    bad = c.post("/people/import", data={"csrf": CSRF, "source": "民政"},
                 files={"file": ("c.csv", "姓名\n张三\n".encode(), "text/csv")})
    assert bad.status_code == 422 and "网格编码" in bad.text


def test_care_pages_visit_and_override(session, browse, people):
    w = people.world
    person = people.add("马四")
    record = care.start_care(session=session, actor=w.users["operator"], origin=ORIGIN, person_id=person.id,
                             data=CareCreate(type_code="released_prisoner", level="focus", reason="刑满释放衔接"))
    c = browse("operator")
    added = c.post(f"/care/{record.id}/caretakers", data={"csrf": CSRF, "kind": "grid_worker",
                                                           "user_id": str(w.users["gridworker"].id), "is_primary": "1"},
                   follow_redirects=False)
    assert added.status_code == 303
    listing = browse("gridworker").get("/care", params={"mine": "1"}).text
    assert f'data-care-id="{record.id}"' in listing
    visited = browse("gridworker").post(f"/care/{record.id}/visits",
                                        data={"csrf": CSRF, "findings": "在家，已就业", "place": "家中"},
                                        follow_redirects=False)
    assert visited.status_code == 303
    assert "在家，已就业" in browse("gridworker").get(f"/care/{record.id}").text
    empty = browse("gridworker").post(f"/care/{record.id}/visits", data={"csrf": CSRF, "findings": ""})
    assert empty.status_code == 422
    refused = browse("gridworker").post(f"/care/{record.id}/override", data={"csrf": CSRF, "colour": "green",
                                                                            "reason": "表现良好"})
    assert refused.status_code == 403
    c = browse("operator")
    c.post(f"/care/{record.id}/override", data={"csrf": CSRF, "colour": "red", "reason": "近期有过激言论"})
    session.refresh(record)
    assert record.colour == "red"
    page = c.get(f"/care/{record.id}").text
    assert "近期有过激言论" in page and 'data-colour="red"' in page
    assert browse("handler").get(f"/care/{record.id}").status_code == 403
    leader = browse("leader").get("/care").text
    assert person.name in leader and person.id_masked in leader
    assert session.scalar(select(func.count(CareRecord.id))) == 1


def test_start_care_from_profile(session, browse, people):
    person = people.add("马五")
    c = browse("operator")
    response = c.post(f"/people/{person.id}/care", data={"csrf": CSRF, "type_code": "empty_nest_elderly",
                                                         "level": "routine", "reason": "子女在外地"},
                      follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/care/")
    assert "空巢老人" in c.get(f"/people/{person.id}").text


def test_nav_shows_people_to_the_right_roles(browse, people):
    assert 'href="/people"' in browse("leader").get("/people").text
    assert 'href="/care"' in browse("gridworker").get("/care").text


def test_risk_map_layer(session, browse, people):
    html = browse("operator").get("/risk/map").text
    assert 'data-grids="/risk/map/grids.geojson"' in html
    layer = browse("operator").get("/risk/map/grids.geojson").json()
    assert layer["type"] == "FeatureCollection" and len(layer["features"]) == 2
    assert all(f["properties"]["fill"].startswith("#") and f["properties"]["open_cases"] for f in layer["features"])
    assert browse("handler").get("/risk/map").status_code == 403


def test_base_data_page_and_inspection(session, browse, people):
    from civicgrid.people import service
    from civicgrid.people.schemas import PlaceCreate

    w = people.world
    place = service.create_place(session=session, actor=w.users["operator"], origin=ORIGIN,
                                 data=PlaceCreate(name="阳光旅馆", kind="hotel", region_code=w.regions["grid111"].code,
                                                  contact_name="周老板", contact_phone="13877778888"))
    c = browse("gridworker")
    html = c.get("/base", params={"kind": "place"}).text
    assert "阳光旅馆" in html and "138****8888" in html and "13877778888" not in html
    done = c.post(f"/base/places/{place.id}/inspections", data={"csrf": CSRF, "passed": "no", "hazards": "4",
                                                                "findings": "消防通道堵塞"}, follow_redirects=False)
    assert done.status_code == 303
    assert 'data-colour="red"' in c.get("/base", params={"kind": "place"}).text
    for kind in ("house", "building", "organisation", "thing", "nonsense"):
        assert c.get("/base", params={"kind": kind}).status_code == 200
    assert browse("leader").post(f"/base/places/{place.id}/inspections",
                                 data={"csrf": CSRF, "passed": "yes"}).status_code == 403
