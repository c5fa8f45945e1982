"""Configuring care types (visit schedules per colour) and five-colour rules: admin only, validated with
bilingual refusals, audited, and effective — schedules re-plan the next visits, rules change the colours."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from civicgrid.audit.models import AuditEntry
from civicgrid.errors import Conflict, Forbidden, InvalidInput, NotFound
from civicgrid.people import care, risk
from civicgrid.people.models import CareType, RiskColour, RiskRule
from civicgrid.people.schemas import CareCreate, CareTypeUpdate, CareTypeWrite, RiskRuleCreate, RiskRuleUpdate
from tests.people.conftest import CSRF, ORIGIN

DAYS = {"red": 3, "orange": 5, "yellow": 10, "blue": 20, "green": 40}


def admin(people):
    return people.world.users["admin"]


def entries(session, entity, action):
    return session.scalars(select(AuditEntry).where(AuditEntry.entity == entity, AuditEntry.action == action)
                           .order_by(AuditEntry.id)).all()


def test_add_a_care_type_and_a_sub_type(session, people):
    parent = care.create_care_type(session=session, actor=admin(people), origin=ORIGIN,
                                   data=CareTypeWrite(code="petition_key", name_zh="重点信访人员", name_en="Key petitioner",
                                                      visit_days=DAYS, sort=50))
    sub = care.create_care_type(session=session, actor=admin(people), origin=ORIGIN,
                                data=CareTypeWrite(code="petition_group", name_zh="群体访牵头人", parent_code="petition_key",
                                                   visit_days=DAYS, sort=51))
    assert parent.visit_days == DAYS and sub.parent_code == "petition_key"
    assert "petition_group" in [t.code for t in care.care_types(session=session)]
    assert entries(session, "care_type", "create")[-1].after["visit_days"] == DAYS


@pytest.mark.parametrize("data, words", [
    (dict(code="hardship_family"), ("已存在", "already exists")),
    (dict(visit_days={"red": 3}), ("五种颜色", "each of red")),
    (dict(visit_days={**DAYS, "purple": 4}), ("五种颜色", "each of red")),
    (dict(visit_days={**DAYS, "red": 0}), ("1–365", "1–365")),
    (dict(visit_days={**DAYS, "green": 999}), ("1–365", "1–365")),
    (dict(parent_code="nope"), ("不存在", "does not exist")),
    (dict(parent_code="key_youth_idle"), ("顶级", "top-level")),
])
def test_bad_care_types_are_refused_in_both_languages(session, people, data, words):
    fields = dict(code="new_type", name_zh="新类型", visit_days=DAYS) | data
    with pytest.raises((InvalidInput, Conflict)) as err:
        care.create_care_type(session=session, actor=admin(people), origin=ORIGIN, data=CareTypeWrite(**fields))
    assert words[0] in err.value.detail_zh and words[1] in err.value.detail_en


def test_only_administrators_configure(session, people):
    for name in ("operator", "city_op", "leader", "gridworker"):
        with pytest.raises(Forbidden):
            care.update_care_type(session=session, actor=people.world.users[name], origin=ORIGIN, code="hardship_family",
                                  data=CareTypeUpdate(active=False))
        with pytest.raises(Forbidden):
            risk.update_rule(session=session, actor=people.world.users[name], origin=ORIGIN,
                             rule_id=session.scalar(select(RiskRule.id).limit(1)), data=RiskRuleUpdate(colour="red"))
    assert session.get(CareType, "hardship_family").active


def test_a_new_schedule_re_plans_the_next_visits(session, people):
    w = people.world
    person = people.add("褚某")
    record = care.start_care(session=session, actor=w.users["operator"], origin=ORIGIN, person_id=person.id,
                             data=CareCreate(type_code="hardship_family", level="focus", reason="低保户",
                                             started_on=dt.date.today()))
    assert record.colour == "yellow"
    start = dt.datetime.combine(record.started_on, dt.time(0, 0), tzinfo=dt.UTC)
    assert record.next_visit_due == start + dt.timedelta(days=30)
    care.update_care_type(session=session, actor=admin(people), origin=ORIGIN, code="hardship_family",
                          data=CareTypeUpdate(visit_days={**DAYS, "yellow": 12}))
    session.refresh(record)
    assert record.next_visit_due == start + dt.timedelta(days=12)
    entry = entries(session, "care_type", "update")[-1]
    assert entry.before["visit_days"]["yellow"] == 30 and entry.after["visit_days"]["yellow"] == 12
    assert entry.after["replanned"] == 1
    # Deactivated: no new records of the type; the current one carries on.
    care.update_care_type(session=session, actor=admin(people), origin=ORIGIN, code="hardship_family",
                          data=CareTypeUpdate(active=False))
    with pytest.raises(InvalidInput):
        care.start_care(session=session, actor=w.users["operator"], origin=ORIGIN, person_id=people.add("褚二").id,
                        data=CareCreate(type_code="hardship_family", reason="低保户"))
    session.refresh(record)
    assert record.active
    with pytest.raises(NotFound):
        care.update_care_type(session=session, actor=admin(people), origin=ORIGIN, code="nope",
                              data=CareTypeUpdate(active=False))


def test_rules_change_colours_after_a_recompute(session, people):
    from civicgrid.people import service
    from civicgrid.people.schemas import InspectionCreate, PlaceCreate

    w = people.world
    place = service.create_place(session=session, actor=w.users["operator"], origin=ORIGIN,
                                 data=PlaceCreate(name="夜市", kind="market", region_code=w.regions["grid111"].code))
    service.inspect_place(session=session, actor=w.users["operator"], origin=ORIGIN, place_id=place.id,
                          data=InspectionCreate(passed=True, hazards=2))
    colour = lambda: session.scalar(select(RiskColour.colour).where(RiskColour.subject == "place",  # noqa: E731
                                                                    RiskColour.subject_id == place.id))
    assert colour() == "green"  # 2 hazards: below the seeded 3
    rule = session.scalar(select(RiskRule).where(RiskRule.code == "place_hazards"))
    risk.update_rule(session=session, actor=admin(people), origin=ORIGIN, rule_id=rule.id,
                     data=RiskRuleUpdate(params={"days": 180, "min": 2}, label_zh="近180天发现2处以上隐患",
                                         label_en="2 or more hazards in 180 days"))
    assert colour() == "green"  # not until a recompute
    counts = risk.recompute_now(session=session, actor=admin(people), origin=ORIGIN)
    assert counts["place"] >= 1 and colour() == "red"
    added = risk.create_rule(session=session, actor=admin(people), origin=ORIGIN, data=RiskRuleCreate(
        code="grid_open_cases_1", subject="grid", kind="open_cases", params={"min": "1"}, colour="blue",
        label_zh="有未办结事件", label_en="Has an open case"))
    assert added.params == {"min": 1}
    update = entries(session, "risk_rule", "update")[-1]
    assert update.before["params"] == {"days": 180, "min": 3} and update.after["params"] == {"days": 180, "min": 2}
    assert entries(session, "risk_rule", "create")[-1].after["code"] == "grid_open_cases_1"
    assert entries(session, "risk_rule", "recompute")[-1].actor_id == admin(people).id


@pytest.mark.parametrize("subject, kind, params, colour, words", [
    ("care", "visit_overdue", {"days": -1}, "red", ("0–3650", "between 0 and 3650")),
    ("care", "visit_overdue", {"days": "x"}, "red", ("整数", "whole number")),
    ("care", "visit_overdue", {}, "red", ("请填写", "Give")),
    ("care", "care_level", {"level": "extreme"}, "red", ("管控等级", "care level")),
    ("house", "care_residents", {"colours": ["red", "pink"]}, "red", ("红、橙", "choose from")),
    ("house", "care_residents", {"colours": 7}, "red", ("红、橙", "choose from")),
    ("house", "care_residents", {"colours": [{"a": 1}]}, "red", ("红、橙", "choose from")),
    ("care", "care_level", {"level": {"nested": 1}}, "red", ("管控等级", "care level")),
    ("grid", "subjects_at", {"colour": ["red"], "min": 1}, "red", ("颜色", "colour")),
    ("care", "open_cases", {"count": 2.5}, "red", ("整数", "whole number")),
    ("grid", "subjects_at", {"colour": "red", "min": 1, "extra": 2}, "red", ("不适用", "do not apply")),
    ("grid", "teleport", {}, "red", ("不存在", "Unknown rule kind")),
    ("planet", "open_cases", {}, "red", ("无效", "Unknown risk subject")),
    ("grid", "open_cases", {"min": 3}, "purple", ("颜色", "Colour")),
])
def test_bad_rules_are_refused_in_both_languages(session, people, subject, kind, params, colour, words):
    with pytest.raises(InvalidInput) as err:
        risk.create_rule(session=session, actor=admin(people), origin=ORIGIN, data=RiskRuleCreate(
            code="bad_rule", subject=subject, kind=kind, params=params, colour=colour, label_zh="坏", label_en="bad"))
    assert words[0] in err.value.detail_zh and words[1] in err.value.detail_en
    assert session.scalar(select(func.count(RiskRule.id)).where(RiskRule.code == "bad_rule")) == 0


def test_config_api(session, client, as_user, people):
    r = client.post("/api/care/types", headers=as_user("admin"),
                    json={"code": "api_type", "name_zh": "接口类型", "visit_days": DAYS})
    assert r.status_code == 201 and r.json()["visit_days"] == DAYS
    assert client.post("/api/care/types", headers=as_user("operator"),
                       json={"code": "api_type2", "name_zh": "x", "visit_days": DAYS}).status_code == 403
    bad = client.post("/api/care/types", headers=as_user("admin"), json={"code": "Bad Code", "name_zh": "x",
                                                                         "visit_days": DAYS})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    r = client.patch("/api/care/types/api_type", headers=as_user("admin"), json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    assert "api_type" not in [t["code"] for t in client.get("/api/care/types", headers=as_user("operator")).json()]
    assert "api_type" in [t["code"] for t in client.get("/api/care/types", params={"include_inactive": True},
                                                       headers=as_user("operator")).json()]
    rules = client.get("/api/risk/rules", params={"subject": "place"}, headers=as_user("leader")).json()
    assert {r["code"] for r in rules} >= {"place_hazards"} and all(r["subject"] == "place" for r in rules)
    rule_id = rules[0]["id"]
    bad = client.patch(f"/api/risk/rules/{rule_id}", headers=as_user("admin"), json={"params": {"days": "soon"}})
    assert bad.status_code == 422 and "整数" in bad.json()["detail_zh"] and "whole number" in bad.json()["detail_en"]
    ok = client.patch(f"/api/risk/rules/{rule_id}", headers=as_user("admin"), json={"colour": "red"})
    assert ok.status_code == 200 and ok.json()["colour"] == "red"
    assert client.post("/api/risk/recompute", headers=as_user("operator")).status_code == 403
    assert client.post("/api/risk/recompute", headers=as_user("admin")).status_code == 200
    assert client.patch("/api/risk/rules/999999", headers=as_user("admin"), json={"colour": "red"}).status_code == 404


def test_care_type_pages(session, browse, people):
    c = browse("admin")
    html = c.get("/admin/people/care-types").text
    assert 'id="type-mental_illness"' in html and 'id="care-type-form"' in html
    assert 'href="/admin/people/care-types"' in c.get("/care").text
    days = {f"days_{k}": str(v) for k, v in DAYS.items()}
    made = c.post("/admin/people/care-types", data={"csrf": CSRF, "code": "page_type", "name_zh": "页面类型",
                                                    "name_en": "Page type", "sort": "99", "active": "1", **days},
                  follow_redirects=False)
    assert made.status_code == 303
    assert session.get(CareType, "page_type").visit_days == DAYS
    edit = c.get("/admin/people/care-types/page_type").text
    assert 'action="/admin/people/care-types/page_type"' in edit and 'value="页面类型"' in edit
    saved = c.post("/admin/people/care-types/page_type", data={"csrf": CSRF, "name_zh": "页面类型二", "sort": "99",
                                                               **days, "days_red": "2"}, follow_redirects=False)
    assert saved.status_code == 303
    t = session.get(CareType, "page_type")
    session.refresh(t)
    assert t.name_zh == "页面类型二" and t.visit_days["red"] == 2 and t.active is False  # unchecked box: inactive
    bad = c.post("/admin/people/care-types/page_type", data={"csrf": CSRF, "name_zh": "x", **days, "days_blue": "abc"})
    assert bad.status_code == 422 and "走访周期" in bad.text and 'value="abc"' in bad.text
    dup = c.post("/admin/people/care-types", data={"csrf": CSRF, "code": "page_type", "name_zh": "重复", **days})
    assert dup.status_code == 409 and "已存在" in dup.text
    assert c.get("/admin/people/care-types/nope").status_code == 404
    for name in ("operator", "leader"):
        assert browse(name).get("/admin/people/care-types").status_code == 403
        assert browse(name).post("/admin/people/care-types", data={"csrf": CSRF, "code": "x_type", "name_zh": "x",
                                                                   **days}).status_code == 403
    assert session.get(CareType, "x_type") is None


def test_risk_rule_pages(session, browse, people):
    c = browse("admin")
    html = c.get("/admin/people/risk-rules").text
    assert 'data-code="place_hazards"' in html and 'id="new-rule-kind"' in html
    form = c.get("/admin/people/risk-rules/new", params={"kind": "house:care_residents"}).text
    assert 'name="p_colours"' in form and 'name="kind" value="house:care_residents"' in form
    made = c.post("/admin/people/risk-rules", data={"csrf": CSRF, "kind": "house:care_residents", "code": "house_any_care",
                                                    "p_colours": ["red", "yellow"], "colour": "blue", "active": "1",
                                                    "label_zh": "住有重点人员", "label_en": "Home of a person under care"},
                  follow_redirects=False)
    assert made.status_code == 303, made.text
    rule = session.scalar(select(RiskRule).where(RiskRule.code == "house_any_care"))
    assert rule.params == {"colours": ["red", "yellow"]} and rule.colour == "blue"
    edit = c.get(f"/admin/people/risk-rules/{rule.id}").text
    assert "checked" in edit and 'value="住有重点人员"' in edit
    bad = c.post(f"/admin/people/risk-rules/{rule.id}", data={"csrf": CSRF, "colour": "blue", "label_zh": "x",
                                                              "label_en": "x", "active": "1"})
    assert bad.status_code == 422 and "请填写" in bad.text
    hazard = session.scalar(select(RiskRule).where(RiskRule.code == "place_hazards"))
    saved = c.post(f"/admin/people/risk-rules/{hazard.id}", data={"csrf": CSRF, "p_days": "90", "p_min": "5",
                                                                  "colour": "orange", "label_zh": "近90天5处隐患",
                                                                  "label_en": "5 hazards in 90 days", "active": "1"},
                   follow_redirects=False)
    assert saved.status_code == 303
    session.refresh(hazard)
    assert hazard.params == {"days": 90, "min": 5} and hazard.colour == "orange"
    assert c.get("/admin/people/risk-rules/new", params={"kind": "x:y"}).status_code == 422
    assert c.get("/admin/people/risk-rules/999999").status_code == 404
    done = c.post("/admin/people/risk-rules/recompute", data={"csrf": CSRF}, follow_redirects=False)
    assert done.status_code == 303 and "done=recomputed" in done.headers["location"]
    assert browse("operator").get("/admin/people/risk-rules").status_code == 403
    assert browse("operator").post("/admin/people/risk-rules/recompute", data={"csrf": CSRF}).status_code == 403
    assert len(entries(session, "risk_rule", "recompute")) == 1
