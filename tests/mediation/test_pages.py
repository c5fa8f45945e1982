"""The mediation pages through the app: the desk form, the dispute with its action forms,
the PDF, statistics and the campaign board; refusals shown as pages, never a 500."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from civicgrid.mediation import registry

from .conftest import citizen_id


@pytest.fixture
def headers(med):
    from civicgrid.auth.service import issue_token

    return lambda name: {"Authorization": f"Bearer {issue_token(med.user(name))}"}


def post(client, headers, url, user, data):
    return client.post(url, data=data, headers=headers(user), follow_redirects=False)


def test_desk_to_agreement_through_the_pages(client, headers, med, world):
    form = client.get("/mediation/new", headers=headers("operator"))
    assert form.status_code == 200 and 'name="applicant_id_number"' in form.text
    r = post(client, headers, "/mediation/new", "operator", {
        "type_code": "NEIGHBOUR", "description": "楼上装修导致楼下漏水", "amount": "2,500", "people_count": "2",
        "region_code": world.regions["grid111"].code, "risk_level": "low",
        "applicant_id_number": citizen_id(61), "applicant_name": "吴阿姨", "applicant_phone": "13700002222",
        "respondent_id_number": citizen_id(62), "respondent_name": "郑先生"})
    assert r.status_code == 303, r.text
    url = r.headers["location"].split("?")[0]
    detail = client.get(r.headers["location"], headers=headers("operator"))
    assert detail.status_code == 200 and "已登记纠纷" in detail.text and "吴阿姨" in detail.text
    assert citizen_id(61) not in detail.text and "137****2222" in detail.text
    assert 'data-action="assess"' in detail.text and 'data-action="accept"' not in detail.text
    dispute_id = int(url.rsplit("/", 1)[1])
    assert post(client, headers, f"{url}/act", "operator", {"action": "assess", "risk_level": "low"}).status_code == 303
    detail = client.get(url, headers=headers("operator")).text
    assert "建议分流" in detail and med.orgs["c11"].name_zh in detail
    assert post(client, headers, f"{url}/act", "operator",
                {"action": "route", "org_id": str(med.orgs["c11"].id)}).status_code == 303
    mine = client.get("/mediation", headers=headers("med_c11b")).text
    assert f'data-dispute-id="{dispute_id}"' in mine
    assert post(client, headers, f"{url}/act", "med_c11b", {"action": "accept"}).status_code == 303
    # A session without its record is refused on the page, with the reason.
    refused = post(client, headers, f"{url}/act", "med_c11b", {"action": "hold_session", "place": "调解室"})
    assert refused.status_code == 422 and "调解时间" in refused.text
    now = dt.datetime.now().strftime("%Y-%m-%dT%H:%M")
    assert post(client, headers, f"{url}/act", "med_c11b", {
        "action": "hold_session", "held_at": now, "place": "社区调解室", "attendees": "吴阿姨、郑先生",
        "record": "双方同意由郑先生赔偿"}).status_code == 303
    due = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    r = post(client, headers, f"{url}/act", "med_c11b", {
        "action": "agree", "text": "郑先生赔偿吴阿姨装修损失2500元。", "place": "社区调解室",
        "ob_obligor_1": "郑先生", "ob_description_1": "赔偿装修损失", "ob_amount_1": "2500", "ob_due_on_1": due})
    assert r.status_code == 303, r.text
    detail = client.get(url, headers=headers("med_c11b")).text
    assert 'id="agreement-pdf"' in detail and 'data-state="following_up"' in detail
    pdf = client.get(f"{url}/agreement.pdf", headers=headers("med_c11b"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    obligation = re.search(r'data-obligation-id="(\d+)"', detail).group(1)
    assert post(client, headers, f"{url}/act", "operator",
                {"action": "perform", "obligation_id": obligation, "note": "已转账"}).status_code == 303
    assert post(client, headers, f"{url}/act", "operator", {"action": "close"}).status_code == 303
    assert 'data-state="closed"' in client.get(url, headers=headers("operator")).text
    stats = client.get("/mediation/stats", headers=headers("operator")).text
    assert 'data-kpi="success_rate">100.0%' in stats and 'data-kpi="performance_rate">100.0%' in stats


def test_dispute_from_a_case_via_the_desk(client, headers, med, world, session):
    from civicgrid.audit.service import Origin
    from civicgrid.events.intake import intake_case
    from civicgrid.events.schemas import CaseCreate

    lat, lon = world.grid_point("grid111")
    case, _ = intake_case(session=session, actor=world.users["gridworker"], origin=Origin("test"),
                          data=CaseCreate(category_code="GV0103", description="工地拖欠工资，工人聚集", lat=lat, lon=lon))
    form = client.get(f"/mediation/new?case_id={case.id}", headers=headers("operator"))
    assert form.status_code == 200 and 'id="from-case"' in form.text
    r = post(client, headers, "/mediation/new", "operator", {
        "case_id": str(case.id), "type_code": "LABOUR", "people_count": "8", "risk_level": "medium",
        "criminal_risk": "1"})
    assert r.status_code == 303
    detail = client.get(r.headers["location"], headers=headers("operator")).text
    assert case.number in detail and 'id="criminal-flag"' in detail and "群体性纠纷" in detail


def test_pages_refuse_as_pages(client, headers, med):
    assert client.get("/mediation", headers=headers("citizen")).status_code == 403
    assert client.get("/mediation/new", headers=headers("med_c11")).status_code == 403
    assert client.get("/mediation/disputes/999999", headers=headers("operator")).status_code == 404
    r = post(client, headers, "/mediation/new", "operator", {"type_code": "NEIGHBOUR", "description": "x"})
    assert r.status_code == 422 and "纠纷事实" in r.text
    r = post(client, headers, "/mediation/new", "operator", {"type_code": "NEIGHBOUR", "description": "漏水纠纷",
                                                            "amount": "abc"})
    assert r.status_code == 422 and "不是数字" in r.text
    assert client.get("/mediation/stats?from=notadate", headers=headers("operator")).status_code == 422
    assert client.get("/mediation", follow_redirects=False).status_code in (303, 307)


def test_campaign_pages(client, headers, med, world):
    med.register()
    assert client.get("/mediation/campaigns", headers=headers("street_op")).status_code == 200
    today = dt.date.today()
    r = client.post("/mediation/campaigns", headers=headers("street_op"), follow_redirects=False, data={
        "name": "冬季清零", "kind": "3311", "starts_on": today.isoformat(),
        "ends_on": (today + dt.timedelta(days=30)).isoformat(),
        "community_ids": [str(world.regions["community11"].id), str(world.regions["community12"].id)]})
    assert r.status_code == 303, r.text
    board = client.get(r.headers["location"], headers=headers("street_op"))
    assert board.status_code == 200 and f'data-community="{world.regions["community11"].code}"' in board.text
    bad = client.post("/mediation/campaigns", headers=headers("street_op"), data={"name": "x", "starts_on": "",
                                                                                  "ends_on": ""})
    assert bad.status_code == 422


def test_registry_page_registers_organisations_and_mediators(client, headers, med, world):
    page = client.get("/mediation/registry", headers=headers("operator"))
    assert page.status_code == 200 and 'data-org="TJ-C11"' in page.text
    r = client.post("/mediation/registry/orgs", headers=headers("district_op"), follow_redirects=False, data={
        "code": "TJ-MED", "name_zh": "云湖区医疗纠纷人民调解委员会", "kind": "industry",
        "region_id": str(world.regions["district"].id), "capacity": "40", "specialties": ["MEDICAL"]})
    assert r.status_code == 303, r.text
    org = next(o for o in registry.list_orgs(session=med.session) if o.code == "TJ-MED")
    assert org.specialties == ["MEDICAL"] and org.level.value == "district"
    r = client.post("/mediation/registry/mediators", headers=headers("district_op"), follow_redirects=False, data={
        "org_id": str(org.id), "name": "医调员", "user_id": str(world.users["handler"].id), "specialties": ["MEDICAL"]})
    assert r.status_code == 303
    again = client.post("/mediation/registry/mediators", headers=headers("district_op"), data={
        "org_id": str(org.id), "name": "医调员", "user_id": str(world.users["handler"].id)})
    assert again.status_code == 409 and "已是该组织的调解员" in again.text
    outside = client.post("/mediation/registry/orgs", headers=headers("operator"), data={
        "code": "TJ-X", "name_zh": "越界", "kind": "people", "region_id": str(world.regions["community21"].id)})
    assert outside.status_code == 404
    assert client.get("/mediation/registry", headers=headers("med_c11")).status_code == 403
