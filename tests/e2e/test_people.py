"""Issue 3's "done means", in a real browser: an operator imports two overlapping department files,
resolves the review queue, sees one clean record per person, puts a person under care, assigns a
caretaker, logs a visit and watches the colour change; a leader sees only masked data."""

from __future__ import annotations

import csv
import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from civicgrid.people.identity import make_citizen_id
from tests.e2e.test_case_loop import sign_in

pytestmark = pytest.mark.e2e

GRID = "990102001001001"  # grid111 of the fictional city (tests/factories.py)
HEADER = ["姓名", "证件号码", "出生日期", "性别", "联系电话", "人口类型", "网格编码", "居住地址", "工作单位"]


def write(path, rows):
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def upload(page, path, source: str) -> None:
    page.goto("/people/import")
    page.fill("#import-form input[name=source]", source)
    page.set_input_files("#import-form input[name=file]", str(path))
    page.click("#import-form button[type=submit]")
    expect(page.locator("#import-report")).to_be_visible()


def outcome(page, key: str):
    return page.locator(f"#import-report [data-outcome={key}] strong")


def test_operator_builds_one_record_per_person_and_cares_for_them(new_page, live_server, tmp_path, shot):
    gao = make_citizen_id("350102", dt.date(1968, 3, 9), 17)
    qin = make_citizen_id("350102", dt.date(1990, 7, 21), 24)
    police = write(tmp_path / "police.csv", [
        ["高建国", gao, "", "", "13811110001", "户籍人口", GRID, "幸福路1号", ""],
        ["秦雪", qin, "", "", "13811110002", "流动人口", GRID, "幸福路2号", ""],
        ["宋立", "", "1975-05-05", "男", "13811110003", "户籍人口", GRID, "幸福路3号", ""],
    ])
    civil = write(tmp_path / "civil.csv", [
        ["高建国", gao, "", "", "13811110001", "户籍人口", GRID, "幸福路1号", "云湖区环卫所"],   # same ID → merged
        ["宋立", "", "1975-05-05", "男", "13922220003", "户籍人口", GRID, "幸福路9号", ""],        # phone differs → review
        ["范文", make_citizen_id("350102", dt.date(2001, 1, 2), 31), "", "", "", "户籍人口", GRID, "", ""],  # new
    ])
    page = new_page()
    sign_in(page, "operator")
    page.click("nav.mainnav >> text=实有人口")
    expect(page).to_have_url(re.compile(r"/people$"))

    upload(page, police, "公安")
    expect(outcome(page, "created")).to_have_text("3")
    upload(page, civil, "民政")
    expect(outcome(page, "merged")).to_have_text("1")
    expect(outcome(page, "queued")).to_have_text("1")
    expect(outcome(page, "created")).to_have_text("1")
    shot(page, "people-01-import-report")
    # The same file again changes nothing.
    upload(page, civil, "民政")
    expect(outcome(page, "created")).to_have_text("0")
    expect(outcome(page, "merged")).to_have_text("0")

    page.goto("/people/review")
    item = page.locator(".review-item").first
    expect(item).to_contain_text("139****0003")
    expect(page.locator("body")).not_to_contain_text("13922220003")
    shot(page, "people-02-review")
    item.locator("input[name=note]").fill("电话已核实为新号码")
    item.locator("button[value=merge]").click()
    expect(page.locator("#review-empty")).to_be_visible()

    page.goto("/people?q=宋立")
    expect(page.locator("#people-table tbody tr")).to_have_count(1)
    expect(page.locator("#people-table")).to_contain_text("139****0003")
    page.goto("/people?q=高建国")
    expect(page.locator("#people-table tbody tr")).to_have_count(1)
    page.click("#people-table >> text=高建国")
    expect(page.locator("#person-name")).to_contain_text("高建国")
    expect(page.locator("#provenance")).to_contain_text("民政")
    expect(page.locator("#id-number")).to_have_text(gao[:6] + "********" + gao[-4:])
    # Unmask with a reason: shown once, audited.
    page.select_option("#reveal-form select[name=field]", "id_number")
    page.fill("#reveal-form input[name=reason]", "办理救助核实身份")
    page.click("#reveal-form button[type=submit]")
    expect(page.locator("#id-number-clear")).to_have_text(gao)
    profile_url = page.url

    # Put him under care and look after him.
    page.goto(profile_url)
    expect(page.locator("#id-number")).to_contain_text("*")
    page.select_option("#start-care-form select[name=type_code]", "released_prisoner")
    page.select_option("#start-care-form select[name=level]", "key")
    page.fill("#start-care-form input[name=reason]", "刑满释放，司法所移交")
    page.click("#start-care-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/care/\d+"))
    expect(page.locator("#care-colour [data-colour]")).to_have_attribute("data-colour", "orange")
    page.select_option("#caretaker-form select[name=kind]", "grid_worker")
    page.select_option("#caretaker-form select[name=user_id]", label="gridworker（gridworker）")
    page.check("#caretaker-form input[name=is_primary]")
    page.click("#caretaker-form button[type=submit]")
    expect(page.locator("#caretakers")).to_contain_text("gridworker")
    care_url = page.url.split("?")[0]

    # The caretaker logs a visit from the web.
    worker = new_page()
    sign_in(worker, "gridworker")
    worker.goto("/care?mine=1")
    worker.click("#care-table >> text=高建国")
    worker.fill("#visit-form input[name=place]", "家中")
    worker.fill("#visit-form textarea[name=findings]", "已找到工作，情绪稳定")
    worker.fill("#visit-form input[name=next_step]", "一周后电话回访")
    worker.click("#visit-form button[type=submit]")
    expect(worker.locator("#visit-log")).to_contain_text("已找到工作，情绪稳定")
    shot(worker, "people-03-visit")

    # The colour changes: the level goes down (computed), then a manual judgement raises it (audited).
    page.goto(care_url)
    page.select_option("#level-form select[name=level]", "routine")
    page.fill("#level-form input[name=reason]", "就业稳定三个月")
    page.click("#level-form button[type=submit]")
    expect(page.locator("#care-colour [data-colour]")).to_have_attribute("data-colour", "blue")
    page.select_option("#override-form select[name=colour]", "red")
    page.fill("#override-form input[name=reason]", "群众反映近期有过激言论")
    page.click("#override-form button[type=submit]")
    expect(page.locator("#care-colour [data-colour]")).to_have_attribute("data-colour", "red")
    expect(page.locator("#colour-explain")).to_contain_text("群众反映近期有过激言论")
    shot(page, "people-04-care-red")
    page.goto("/care")
    expect(page.locator("#colour-counts [data-colour=red] strong")).to_have_text("1")
    # The map: his grid turns orange (a red subject in it).
    page.click("text=风险地图")
    expect(page.locator("#grid-map[data-ready]")).to_have_count(1)
    expect(page.locator('#grid-map path.leaflet-interactive[fill="#f28c28"]')).to_have_count(1)
    shot(page, "people-06-risk-map")
    assert page.js_errors == [] and worker.js_errors == []


def test_leader_sees_only_masked_data(new_page, live_server, tmp_path, shot):
    number = make_citizen_id("350102", dt.date(1955, 12, 1), 45)
    path = write(tmp_path / "health.csv", [["龚秀兰", number, "", "", "13833334444", "户籍人口", GRID, "和平路5号", ""]])
    operator = new_page()
    sign_in(operator, "operator")
    upload(operator, path, "卫健")
    expect(outcome(operator, "created")).to_have_text("1")

    leader = new_page()
    sign_in(leader, "leader")
    leader.click("nav.mainnav >> text=实有人口")
    leader.fill("#people-q", "龚秀兰")
    leader.click("form.filters button[type=submit]")
    expect(leader.locator("#people-table tbody tr")).to_have_count(1)
    expect(leader.locator("#people-table")).to_contain_text(number[:6] + "********" + number[-4:])
    expect(leader.locator("#people-table")).to_contain_text("138****4444")
    leader.click("#people-table >> text=龚秀兰")
    expect(leader.locator("#no-unmask")).to_be_visible()
    expect(leader.locator("#reveal-form")).to_have_count(0)
    body = leader.locator("body").inner_text()
    assert number not in body and "13833334444" not in body
    shot(leader, "people-05-leader-masked")
    # Even a hand-made request is refused.
    csrf = next(c["value"] for c in leader.context.cookies() if c["name"] == "cg_csrf")
    response = leader.request.post(leader.url + "/reveal", form={"csrf": csrf, "field": "id_number",
                                                                 "reason": "想看完整号码"})
    assert response.status == 403 and number not in response.text()
    assert leader.js_errors == [] and operator.js_errors == []
