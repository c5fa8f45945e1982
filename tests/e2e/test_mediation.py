"""Disputes in a real browser: one raised from a grid worker's case and taken to a signed
agreement and its follow-up, and one walk-in taken to court — all by clicking."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid import db as dbmod
from civicgrid.audit.service import SYSTEM
from civicgrid.auth.models import Role, User
from civicgrid.auth.service import create_user, issue_token
from civicgrid.mediation import registry
from civicgrid.people.identity import make_citizen_id
from civicgrid.regions.models import Region
from civicgrid.units.models import Unit
from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def mediation_city(live_server):
    """The live server's city plus a community mediation committee with one mediator account."""
    with Session(dbmod.get_engine(), expire_on_commit=False) as session:
        admin = session.scalar(select(User).where(User.username == "admin"))
        community = session.scalar(select(Region).where(Region.code == "990102001001"))
        unit = Unit(code="U-TJ-C11", name_zh="湖1街道1社区人民调解委员会", kind="centre", region_id=community.id)
        session.add(unit)
        session.flush()
        org = registry.create_org(session=session, actor=admin, origin=SYSTEM, code="TJ-C11",
                                  name_zh="湖1街道1社区人民调解委员会", kind="people", region_id=community.id,
                                  unit_id=unit.id)
        mediator = create_user(session=session, actor=None, origin=SYSTEM, username="mediator", display_name="调解员老周",
                               password=PASSWORD, role=Role.HANDLER, scope_region_id=community.id, unit_id=unit.id)
        registry.add_mediator(session=session, actor=admin, origin=SYSTEM, org_id=org.id, name="调解员老周",
                              user_id=mediator.id)
        gridworker = session.scalar(select(User).where(User.username == "gridworker"))
        session.commit()
        return {"org": org.name_zh, "gridworker_token": issue_token(gridworker)}


def sign_in(page, username: str) -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("form.login-card button[type=submit]")
    expect(page).to_have_url(re.compile(r"/inbox$"))


def fire(page, action: str, state: str) -> None:
    page.click(f"form[data-action={action}] button[type=submit]")
    expect(page.locator("#dispute-panel")).to_have_attribute("data-state", state)


def test_a_grid_workers_case_becomes_a_signed_agreement_followed_up_to_performance(
        new_page, live_server, mediation_city, shot):
    operator = new_page()
    # The grid worker reports from the field app (the API the app uses).
    lat, lon = 26.09, 119.305
    reported = operator.request.post("/api/cases", headers={"Authorization": f"Bearer {mediation_city['gridworker_token']}"},
                                     data={"channel": "grid_app", "category_code": "GV0101", "lat": lat, "lon": lon,
                                           "title": "邻里漏水纠纷", "description": "楼上装修漏水，两户争吵激烈，需要调解"})
    assert reported.status == 201, reported.text()
    case = reported.json()

    sign_in(operator, "operator")
    # On the case page the desk raises it as a dispute with one click.
    operator.goto(f"/cases/{case['id']}")
    operator.click("#raise-dispute")
    expect(operator).to_have_url(re.compile(rf"/mediation/new\?case_id={case['id']}$"))
    expect(operator.locator("#from-case")).to_contain_text(case["number"])
    operator.select_option("#type_code", "NEIGHBOUR")
    operator.fill("#amount", "3000")
    operator.fill("#applicant_id_number", make_citizen_id("350102", dt.date(1968, 3, 8), 21))
    operator.fill("#applicant_name", "王阿姨")
    operator.fill("#applicant_phone", "13800001234")
    operator.fill("#respondent_id_number", make_citizen_id("350102", dt.date(1985, 9, 1), 33))
    operator.fill("#respondent_name", "李先生")
    shot(operator, "mediation-01-intake-from-case")
    operator.click("#dispute-form button[type=submit]")
    expect(operator).to_have_url(re.compile(r"/mediation/disputes/\d+\?done=intake$"))
    expect(operator.locator("#dispute-panel")).to_have_attribute("data-state", "registered")
    expect(operator.locator("#parties")).to_contain_text("138****1234")
    dispute_url = operator.url.split("?")[0]
    fire(operator, "assess", "assessed")
    expect(operator.locator("table.suggestions")).to_contain_text(mediation_city["org"])
    fire(operator, "route", "routed")
    expect(operator.locator("#org-name")).to_contain_text("调解员老周")
    shot(operator, "mediation-02-routed")

    mediator = new_page()
    sign_in(mediator, "mediator")
    mediator.click("nav.mainnav >> text=矛盾调解")
    row = mediator.locator("table.dispute-table tbody tr").first
    expect(row).to_contain_text("邻里漏水纠纷")
    row.locator("a").click()
    fire(mediator, "accept", "mediating")
    form = mediator.locator("form[data-action=hold_session]")
    form.locator("input[name=place]").fill("湖1街道1社区调解室")
    form.locator("input[name=attendees]").fill("王阿姨、李先生、调解员老周")
    form.locator("textarea[name=record]").fill("双方陈述事实。经释法说理，李先生同意修复并赔偿。")
    form.locator("button[type=submit]").click()
    expect(mediator.locator("#sessions")).to_contain_text("湖1街道1社区调解室")
    form = mediator.locator("form[data-action=agree]")
    form.locator("textarea[name=text]").fill("李先生负责修复漏水并赔偿王阿姨装修损失3000元。")
    form.locator("input[name=ob_obligor_1]").fill("李先生")
    form.locator("input[name=ob_description_1]").fill("赔偿装修损失")
    form.locator("input[name=ob_amount_1]").fill("3000")
    form.locator("input[name=ob_due_on_1]").fill((dt.date.today() + dt.timedelta(days=10)).isoformat())
    form.locator("button[type=submit]").click()
    expect(mediator.locator("#dispute-panel")).to_have_attribute("data-state", "following_up")
    expect(mediator.locator("#obligations")).to_contain_text("赔偿装修损失")
    shot(mediator, "mediation-03-agreement")

    # The agreement prints as a PDF for the parties to sign.
    href = mediator.get_attribute("#agreement-pdf", "href")
    pdf = mediator.request.get(href)
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF")

    # Follow-up until performed, then closed.
    form = mediator.locator("form[data-action=follow_up]")
    form.locator("textarea[name=note]").fill("电话回访：李先生已开始维修")
    form.locator("button[type=submit]").click()
    expect(mediator.locator("#follow-ups")).to_contain_text("已开始维修")
    form = operator.locator("form[data-action=perform]")
    operator.goto(dispute_url)
    operator.locator("form[data-action=perform] textarea[name=note]").fill("已转账3000元")
    operator.click("form[data-action=perform] button[type=submit]")
    expect(operator.locator("#obligations")).to_contain_text("已履行")
    fire(operator, "close", "closed")
    expect(operator.locator(".history")).to_contain_text("履行完毕结案")
    shot(operator, "mediation-04-closed")
    # The case shows where it went: the button became a link to the dispute.
    operator.goto(f"/cases/{case['id']}")
    expect(operator.locator("body")).to_contain_text("矛盾纠纷")
    expect(operator.locator("#raise-dispute")).to_have_count(0)
    operator.click("#case-dispute-link")
    expect(operator).to_have_url(re.compile(re.escape(dispute_url) + "$"))
    assert not operator.js_errors and not mediator.js_errors


def test_a_walk_in_dispute_goes_to_court_when_mediation_fails(new_page, live_server, mediation_city, shot):
    operator = new_page()
    sign_in(operator, "operator")
    operator.click("nav.mainnav >> text=矛盾调解")
    operator.click("nav.subnav >> text=来访登记")
    operator.select_option("#type_code", "CONTRACT")
    operator.fill("#description", "装修合同尾款争议，双方各执一词")
    operator.fill("#amount", "48000")
    operator.select_option("#region_code", "990102001001001")
    operator.fill("#applicant_id_number", make_citizen_id("350102", dt.date(1975, 5, 5), 45))
    operator.fill("#applicant_name", "陈老板")
    operator.fill("#respondent_id_number", make_citizen_id("350102", dt.date(1990, 1, 2), 57))
    operator.fill("#respondent_name", "赵女士")
    operator.click("#dispute-form button[type=submit]")
    expect(operator.locator("#dispute-panel")).to_have_attribute("data-state", "registered")
    fire(operator, "assess", "assessed")
    fire(operator, "route", "routed")

    mediator = new_page()
    sign_in(mediator, "mediator")
    mediator.goto("/mediation")
    mediator.locator("table.dispute-table a", has_text=re.compile("JF")).first.click()
    expect(mediator.locator("#dispute-panel")).to_contain_text("装修合同尾款争议")
    fire(mediator, "accept", "mediating")
    form = mediator.locator("form[data-action=hold_session]")
    form.locator("input[name=place]").fill("调解室")
    form.locator("input[name=attendees]").fill("陈老板、赵女士")
    form.locator("textarea[name=record]").fill("双方对工程质量分歧大，未能达成一致。")
    form.locator("button[type=submit]").click()
    expect(mediator.locator("#sessions")).to_contain_text("未能达成一致")
    mediator.locator("form[data-action=fail] textarea[name=note]").fill("双方分歧过大，建议诉讼")
    fire(mediator, "fail", "failed")
    form = mediator.locator("form[data-action=refer_litigation]")
    form.locator("input[name=court_case_number]").fill("（2026）云0102民初2288号")
    fire(mediator, "refer_litigation", "referred")
    expect(mediator.locator("#dispute-panel")).to_contain_text("（2026）云0102民初2288号")
    shot(mediator, "mediation-05-referred")
    operator.goto("/mediation/stats")
    expect(operator.locator("[data-kpi=total]")).not_to_have_text("0")
    assert not operator.js_errors and not mediator.js_errors
