"""Petitions in a real browser: a petitioner comes back and is recognised at the desk while
the officer types the ID number, with the history of the first visit; the petition then
goes through triage, acceptance and answer to closure by clicking."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid import db as dbmod
from civicgrid.people.identity import make_citizen_id
from civicgrid.petitions.models import PetitionSubject
from civicgrid.units.models import Unit
from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e

ID_NUMBER = make_citizen_id("350102", dt.date(1958, 7, 1), 71)


@pytest.fixture(scope="module")
def land_window(live_server):
    """Land petitions go to the housing department's window in the live city."""
    with Session(dbmod.get_engine()) as session:
        unit = session.scalar(select(Unit).where(Unit.code == "ZJ"))
        session.scalar(select(PetitionSubject).where(PetitionSubject.code == "LAND")).unit_id = unit.id
        session.commit()
        return unit.name_zh


def sign_in(page, username: str) -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("form.login-card button[type=submit]")
    expect(page).to_have_url(re.compile(r"/inbox$"))


def fire(page, action: str, state: str) -> None:
    page.click(f"form[data-action={action}] button[type=submit]")
    expect(page.locator("#petition-panel")).to_have_attribute("data-state", state)


def register(page, request: str) -> None:
    page.select_option("#subject_code", "LAND")
    page.fill("#request", request)
    page.select_option("#region_code", "990102001001001")
    page.click("#petition-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/petitions/\d+\?done=intake$"))


def test_a_repeat_petitioner_is_recognised_at_the_desk(new_page, live_server, land_window, shot):
    desk = new_page()
    sign_in(desk, "operator")
    desk.click("nav.mainnav >> text=信访接待")
    desk.click("nav.subnav >> text=来访登记")

    # First visit: nobody knows him yet.
    desk.type("#id_number_1", ID_NUMBER, delay=10)
    expect(desk.locator("#lookup-result")).to_have_attribute("data-repeat", "no")
    desk.fill("#name_1", "钱大爷")
    desk.fill("#phone_1", "13500005555")
    register(desk, "反映村集体土地征收补偿款未发放到位")
    first_number = desk.locator(".case-number").inner_text()
    expect(desk.locator("#repeat-flag")).to_have_count(0)

    # He comes back a week later: typing his ID number shows him and his first petition.
    desk.goto("/petitions/new")
    desk.type("#id_number_1", ID_NUMBER, delay=10)
    alert = desk.locator("#lookup-result")
    expect(alert).to_have_attribute("data-repeat", "yes")
    expect(alert).to_contain_text("钱大爷")
    expect(alert).to_contain_text("重复信访")
    expect(alert).to_contain_text(first_number)
    expect(alert).not_to_contain_text(ID_NUMBER)
    shot(desk, "petitions-01-repeat-recognised")
    register(desk, "再次反映补偿款问题，要求尽快解决")
    expect(desk.locator("#repeat-flag")).to_be_visible()
    expect(desk.locator("#related")).to_contain_text(first_number)
    petition_url = desk.url.split("?")[0]

    # Triage to the land window (chosen by the subject) and a leader owns it.
    expect(desk.locator("form[data-action=triage] select[name=unit_id]")).to_contain_text(land_window)
    fire(desk, "triage", "triaged")
    expect(desk.locator("#unit-name")).to_contain_text(land_window)
    desk.select_option("form[data-action=assign_leader] select[name=leader_user_id]", label="street_leader")
    desk.click("form[data-action=assign_leader] button[type=submit]")
    expect(desk.locator("#leader-name")).to_contain_text("street_leader")
    shot(desk, "petitions-02-triaged")

    window = new_page()
    sign_in(window, "handler_zj")
    window.goto(petition_url)
    fire(window, "accept", "accepted")
    window.locator("form[data-action=answer] textarea[name=note]").fill("经核实，补偿款已于本月发放到位。")
    fire(window, "answer", "answered")

    leader = new_page()
    sign_in(leader, "street_leader")
    leader.click("nav.mainnav >> text=信访接待")
    leader.click("nav.subnav >> text=领导包案")
    expect(leader.locator("#leader-owned")).to_contain_text("再次反映补偿款问题")

    desk.goto(petition_url)
    fire(desk, "close", "closed")
    desk.goto("/petitions/board")
    expect(desk.locator("#board")).not_to_contain_text("再次反映补偿款问题")
    shot(desk, "petitions-03-board")
    assert not desk.js_errors and not window.js_errors and not leader.js_errors


def test_a_letter_with_its_scan_and_the_writer_recognised_in_another_area(new_page, live_server, land_window, shot):
    writer = make_citizen_id("350102", dt.date(1962, 2, 2), 83)
    desk = new_page()
    sign_in(desk, "operator")
    desk.goto("/petitions/new")
    desk.select_option("#form", "letter")
    desk.type("#id_number_1", writer, delay=10)
    desk.fill("#name_1", "孙老师")
    desk.set_input_files("#documents", files=[
        {"name": "来信扫描.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"},
        {"name": "现场照片.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n" + b"\x00" * 16}])
    register(desk, "来信反映小区旁工地夜间施工扰民，要求依法处理")
    first_number = desk.locator(".case-number").inner_text()
    documents = desk.locator("#document-list")
    expect(documents).to_contain_text("来信扫描.pdf")
    expect(documents).to_contain_text("现场照片.png")
    scan = desk.request.get(documents.locator("a", has_text="来信扫描.pdf").get_attribute("href"))
    assert scan.status == 200 and scan.body().startswith(b"%PDF")
    # A later answer is added on the petition page.
    desk.set_input_files("#document-form input[type=file]", files=[
        {"name": "补充材料.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n% more\n%%EOF\n"}])
    desk.click("#document-form button[type=submit]")
    expect(documents).to_contain_text("补充材料.pdf")
    shot(desk, "petitions-04-documents")

    # The writer turns up at the desk of another street: recognised, but only where and when is shown.
    other = new_page()
    sign_in(other, "operator21")
    other.goto("/petitions/new")
    other.type("#id_number_1", writer, delay=10)
    alert = other.locator("#lookup-result")
    expect(alert).to_have_attribute("data-elsewhere", "yes")
    expect(alert).to_contain_text("湖1街道1社区")
    expect(alert).not_to_contain_text(first_number)
    expect(alert).not_to_contain_text("夜间施工")
    other.select_option("#subject_code", "LAND")
    other.fill("#request", "再次反映工地夜间施工扰民")
    other.select_option("#region_code", "990102002001001")
    other.click("#petition-form button[type=submit]")
    expect(other).to_have_url(re.compile(r"/petitions/\d+\?done=intake$"))
    expect(other.locator("#repeat-flag")).to_be_visible()
    expect(other.locator("#elsewhere")).to_contain_text("湖1街道1社区")
    expect(other.locator("#related")).to_have_count(0)
    expect(other.locator("body")).not_to_contain_text(first_number)
    shot(other, "petitions-05-repeat-elsewhere")
    assert not desk.js_errors and not other.js_errors
