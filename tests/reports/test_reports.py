"""Monthly reports: Excel and PDF with the dashboard's numbers, on demand and on schedule, scoped downloads."""

from __future__ import annotations

import io

import openpyxl
from sqlalchemy import select

from civicgrid.audit.models import AuditEntry
from civicgrid.audit.service import Origin
from civicgrid.events.workflow import CaseState as S
from civicgrid.reports import service
from civicgrid.reports.models import MonthlyReport
from tests.histories import at

ORIGIN = Origin("test")


def _month(make):
    make(state=S.CLOSED, received=at(2), registered_at=at(2, 11), resolved_at=at(3), closed_at=at(4),
         finish_due_at=at(9), satisfaction="satisfied", unit="chengguan", grid="grid111")
    make(state=S.CLOSED, received=at(5), registered_at=at(5, 13), resolved_at=at(20), closed_at=at(21),
         finish_due_at=at(12), satisfaction="unsatisfied", unit="zhujian", grid="grid211")
    make(state=S.ACCEPTED, received=at(6), registered_at=at(6, 10), finish_due_at=at(13), unit="chengguan",
         grid="grid121")
    make(state=S.SUSPENDED, received=at(7), registered_at=at(7, 10), finish_due_at=at(14), grid="grid212")
    make(state=S.REPORTED, received=at(28), grid="grid111")


def test_excel_numbers_match_the_dashboard(client, as_user, world, make):
    _month(make)
    dash = client.get("/api/dashboard?period=2026-11", headers=as_user("leader")).json()["kpis"]
    r = client.post("/api/reports", json={"month": "2026-11"}, headers=as_user("leader"))
    assert r.status_code == 201, r.text
    items = {i["format"]: i for i in r.json()["items"]}
    assert set(items) == {"xlsx", "pdf"}
    xlsx = client.get(items["xlsx"]["href"], headers=as_user("leader"))
    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith("application/vnd.openxml")
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    sheet = wb["概况"]
    values = {sheet.cell(row=i, column=3).value: sheet.cell(row=i, column=2).value for i in range(7, sheet.max_row + 1)}
    for key, value in dash["counts"].items():
        if key in values:
            assert values[key] == value, key
    for key, value in dash["rates"].items():
        assert values[key] == (None if value is None else round(value, 4)), key
    assert sheet["B4"].value == dash["score"]
    assert values["received"] == 5 and values["due"] == 4 and values["deferred"] == 1
    assert {"每日趋势", "受理构成", "高发问题", "区域排名", "单位排名"} <= set(wb.sheetnames)
    daily = wb["每日趋势"]
    assert sum(daily.cell(row=i, column=2).value for i in range(2, 32)) == 5
    pdf = client.get(items["pdf"]["href"], headers=as_user("leader"))
    assert pdf.content.startswith(b"%PDF") and len(pdf.content) > 3000


def test_report_listing_and_download_are_scoped(client, as_user, world, make, session):
    _month(make)
    service.generate_report(session=session, actor=world.users["leader"], origin=ORIGIN,
                            region_id=world.regions["street2"].id, month="2026-11", formats=("pdf",))
    own = client.get("/api/reports", headers=as_user("leader")).json()["items"]
    assert len(own) == 1
    assert client.get("/api/reports", headers=as_user("street_leader")).json()["items"] == []
    assert client.get(own[0]["href"], headers=as_user("street_leader")).status_code == 404
    bad = client.post("/api/reports", json={"month": "2026-11", "region_id": world.regions["street2"].id},
                      headers=as_user("street_leader"))
    assert bad.status_code == 404 and bad.headers["content-type"].startswith("application/problem+json")
    assert client.post("/api/reports", json={"month": "2026-13"}, headers=as_user("leader")).status_code == 422
    assert client.post("/api/reports", json={"month": "2099-01"}, headers=as_user("leader")).status_code == 422
    assert client.get("/api/reports", headers=as_user("gridworker")).status_code == 403


def test_scheduled_generation_is_idempotent_and_audited(session, world, make):
    _month(make)
    now = at(3, 2, month=12)
    first = service.generate_scheduled(session=session, now=now)
    assert first == 4  # city, district, two streets
    assert service.generate_scheduled(session=session, now=now) == 0
    rows = session.scalars(select(MonthlyReport).where(MonthlyReport.month == "2026-11")).all()
    assert len(rows) == 8 and {r.trigger for r in rows} == {"schedule"}
    audits = session.scalars(select(AuditEntry).where(AuditEntry.entity == "monthly_report")).all()
    assert len(audits) == 8


def test_reports_page_generates_and_lists(client, as_user, world, make):
    _month(make)
    page = client.get("/reports", headers=as_user("leader"))
    assert page.status_code == 200 and 'id="generate-form"' in page.text
