"""The leader's dashboard in a real browser: drill from the district to a grid and a case, watch a counter
move when a case is closed elsewhere, download the month's report. Screenshots in test-artifacts/screenshots/."""

from __future__ import annotations

import datetime as dt
import time

import httpx
import pytest
from sqlalchemy import select

from civicgrid.auth.models import User
from civicgrid.auth.service import issue_token
from civicgrid.db import unit_of_work, utcnow
from civicgrid.events.models import Case, Category, Channel, RequestType, Urgency
from civicgrid.events.workflow import CaseState as S
from civicgrid.regions.models import Region
from tests.e2e.test_case_loop import sign_in

pytestmark = pytest.mark.e2e


def _seed() -> int:
    """Cases of today and this month in the live database; returns the id of a verified case ready to close."""
    now = utcnow()
    with unit_of_work() as session:
        regions = {r.code: r for r in session.scalars(select(Region))}
        grids = [r for r in regions.values() if r.level.value == "grid"]
        leaf = next(c for c in session.scalars(select(Category).where(Category.parent_id.is_not(None))))
        n = session.query(Case).count()

        def make(grid: Region, state: S, **fields) -> Case:
            nonlocal n
            n += 1
            c = Case(number=f"E2E{n:05d}", channel=Channel.HOTLINE, category_id=leaf.id,
                     request_type=leaf.request_type or RequestType.HELP, title=f"测试事件 {n}", description="e2e",
                     region_id=grid.id, region_path=grid.path, grid_id=grid.id, level=grid.level,
                     desk_region_id=grid.parent_id, desk_path=grid.path.rsplit("/", 2)[0] + "/", state=state,
                     lat=grid.centroid_lat, lon=grid.centroid_lon, **fields)
            session.add(c)
            return c

        for i, grid in enumerate(grids):
            for k in range(i % 3 + 1):
                make(grid, S.ACCEPTED, received_at=now - dt.timedelta(hours=k + 1),
                     registered_at=now - dt.timedelta(hours=k), finish_due_at=now + dt.timedelta(days=3),
                     urgency=Urgency.HIGH if k == 0 else Urgency.NORMAL, overdue=(k == 2))
        grid111 = next(g for g in grids if g.code.endswith("001001001"))
        ready = make(grid111, S.VERIFIED, received_at=now - dt.timedelta(hours=5),
                     registered_at=now - dt.timedelta(hours=5), resolved_at=now - dt.timedelta(hours=1),
                     verified_at=now - dt.timedelta(minutes=30), finish_due_at=now + dt.timedelta(days=2))
        session.flush()
        return ready.id


def _counter(page, key: str) -> str:
    return page.locator(f"#counter-{key} [data-value]").inner_text()


def test_leader_drills_down_watches_live_counter_and_downloads_report(new_page, live_server, shot, tmp_path):
    ready_id = _seed()
    page = new_page()
    page.set_viewport_size({"width": 1920, "height": 1080})
    sign_in(page, "leader")
    page.goto("/dashboard")
    page.wait_for_function("document.querySelector('#counter-open_now [data-value]').textContent !== '—'")
    page.wait_for_selector("#area-list a.area-link")
    page.wait_for_selector("#live-state.on", timeout=10_000)
    assert _counter(page, "open_now") != "0"
    time.sleep(0.5)  # let the charts finish their entry animation for the screenshot
    shot(page, "dashboard-1920x1080-district")

    # Drill: district → street → community → grid, following the map's area list; the breadcrumb follows.
    for name in ("湖1街道", "湖1街道1社区", live_server.grid_names["grid111"]):
        page.click(f"#area-list a.area-link:text-is('{name}')")
        page.wait_for_selector(f"#crumbs strong:text-is('{name}')")
        page.wait_for_selector("#area-list a.area-link")
    assert [t.strip() for t in page.locator("#crumbs a").all_inner_texts()] == ["云湖区", "湖1街道", "湖1街道1社区"]
    page.wait_for_selector("#grid-cases li a")
    time.sleep(0.5)
    shot(page, "dashboard-grid")

    # Into a case, and back up one level with the back button.
    page.click("#grid-cases li a >> nth=0")
    page.wait_for_url("**/cases/*")
    assert page.locator("h1").count() >= 1
    shot(page, "dashboard-case-detail")
    page.go_back()
    page.click("#back")
    page.wait_for_selector("#crumbs strong:text-is('湖1街道1社区')")

    # Back on the district; an operator closes a case from elsewhere (the API); the counter moves by itself.
    page.goto("/dashboard")
    page.wait_for_selector("#live-state.on", timeout=10_000)
    before = int(_counter(page, "closures"))
    with unit_of_work() as session:
        operator = session.scalar(select(User).where(User.username == "operator"))
        token = issue_token(operator)
    started = time.monotonic()
    r = httpx.post(f"{live_server.url}/api/cases/{ready_id}/actions",
                   headers={"Authorization": f"Bearer {token}"}, json={"action": "close"})
    assert r.status_code == 200, r.text
    page.wait_for_function(
        f"Number(document.querySelector('#counter-closures [data-value]').textContent) === {before + 1}",
        timeout=4_000)
    elapsed = time.monotonic() - started
    print(f"counter moved {elapsed:.2f} s after the close was committed")
    assert elapsed < 2.5
    shot(page, "dashboard-counter-moved")

    # The counter is a link to the list behind it.
    href = page.get_attribute("#counter-closures", "href")
    assert href and "measure=closures" in href

    # Laptop size.
    page.set_viewport_size({"width": 1366, "height": 768})
    time.sleep(0.5)
    shot(page, "dashboard-laptop-1366x768")

    # The month's report: generate and download the Excel and the PDF.
    page.goto("/reports")
    month = utcnow().astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m")
    page.select_option("#generate-form select[name=month]", month)
    page.click("#generate-form button[type=submit]")
    page.wait_for_selector("#reports a[data-format=xlsx]")
    shot(page, "reports-page")
    with page.expect_download() as info:
        page.click("#reports a[data-format=xlsx] >> nth=0")
    xlsx = tmp_path / "report.xlsx"
    info.value.save_as(xlsx)
    assert xlsx.read_bytes()[:2] == b"PK"
    with page.expect_download() as info:
        page.click("#reports a[data-format=pdf] >> nth=0")
    pdf = tmp_path / "report.pdf"
    info.value.save_as(pdf)
    assert pdf.read_bytes()[:4] == b"%PDF"
    assert page.js_errors == []
