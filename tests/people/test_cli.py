"""The ``civicgrid people`` commands against the test database: import real CSV and Excel files and print the
per-row report, the missed-visit scan, and the same scans from ``civicgrid scheduler run-once``."""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from typer.testing import CliRunner

from civicgrid.audit.models import AuditEntry
from civicgrid.cli import app
from civicgrid.people import care
from civicgrid.people.models import ImportBatch, Person
from civicgrid.people.schemas import CareCreate
from tests.people.conftest import ORIGIN, new_id

runner = CliRunner()
HEADER = ["姓名", "证件号码", "出生日期", "性别", "联系电话", "网格编码", "居住地址"]


def write_csv(path, rows, *, header=HEADER, encoding="utf-8-sig"):
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def grid(people):
    return people.world.regions["grid111"].code


def test_import_a_csv_file_prints_the_report_and_is_idempotent(session, people, grid, tmp_path):
    a = new_id(dt.date(1966, 6, 6))
    path = write_csv(tmp_path / "公安人口.csv", [
        ["陈一", a, "", "", "13800000011", grid, "1号楼"],
        ["陈二", "", "1970-01-01", "男", "13800000012", grid, "2号楼"],
        ["陈坏", "110105194912310021", "", "", "", grid, ""],
    ])
    result = invoke("people", "import", path, "--source", "公安", "--as", "operator")
    assert result.exit_code == 0, result.output
    assert "新建 created 2" in result.output and "拒绝 rejected 1" in result.output
    assert "第 4 行" in result.output and "校验码" in result.output and "check" in result.output.lower()
    assert session.scalar(select(func.count(Person.id)).where(Person.name.in_(["陈一", "陈二"]))) == 2
    batch = session.scalar(select(ImportBatch).order_by(ImportBatch.id.desc()))
    assert batch.source == "公安" and batch.actor_id == people.world.users["operator"].id
    again = invoke("people", "import", path, "--source", "公安", "--as", "operator")
    assert again.exit_code == 0, again.output
    assert "新建 created 0" in again.output and "无变化 unchanged 2" in again.output
    assert f"#{batch.id}" in again.output  # marked as a repeat of the first batch
    entries = session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.entity == "import_batch",
                                                                     AuditEntry.channel == "cli"))
    assert entries == 2


def test_import_an_excel_file_with_an_as_of_date(session, people, grid, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append(["周一", new_id(dt.date(1988, 8, 8)), None, None, "13800000021", grid, "8号楼"])
    path = tmp_path / "民政.xlsx"
    wb.save(path)
    result = invoke("people", "import", path, "--source", "民政", "--as", "operator", "--as-of", "2026-01-31")
    assert result.exit_code == 0, result.output
    assert "新建 created 1" in result.output
    person = session.scalar(select(Person).where(Person.name == "周一"))
    assert person.provenance["address"]["source"] == "民政" and person.provenance["address"]["at"] == "2026-01-31"


def test_import_other_base_data(session, people, grid, tmp_path):
    path = write_csv(tmp_path / "cams.csv", [["CAM-CLI-1", "camera", grid]], header=["部件编码", "部件类型", "网格编码"])
    result = invoke("people", "import", path, "--source", "公安", "--as", "operator", "--entity", "thing")
    assert result.exit_code == 0, result.output
    assert "（thing，" in result.output and "新建 created 1" in result.output


@pytest.mark.parametrize("case", ["missing_column", "unknown_user", "no_permission", "bad_date", "bad_entity",
                                  "not_a_spreadsheet", "future_as_of"])
def test_bad_input_is_refused_in_both_languages_and_writes_nothing(session, people, grid, tmp_path, case):
    path = write_csv(tmp_path / "p.csv", [["林一", new_id(), "", "", "", grid, ""]])
    args = ["people", "import", path, "--source", "公安", "--as", "operator"]
    if case == "missing_column":
        args[2] = write_csv(tmp_path / "bad.csv", [["林二"]], header=["姓名"])
    elif case == "unknown_user":
        args[-1] = "nobody"
    elif case == "no_permission":
        args[-1] = "gridworker"
    elif case == "bad_date":
        args += ["--as-of", "31/01/2026"]
    elif case == "bad_entity":
        args += ["--entity", "planet"]
    elif case == "not_a_spreadsheet":
        fake = tmp_path / "p.xlsx"
        fake.write_bytes(b"MZ\x90\x00 this is not a workbook")
        args[2] = fake
    elif case == "future_as_of":
        args += ["--as-of", (dt.date.today() + dt.timedelta(days=3)).isoformat()]
    before = session.scalar(select(func.count(Person.id)))
    result = invoke(*args)
    assert result.exit_code == 1, result.output
    assert "错误：" in result.output and "Error: " in result.output
    assert "Traceback" not in result.output
    assert session.scalar(select(func.count(Person.id))) == before
    assert session.scalar(select(func.count(ImportBatch.id))) == 0


def test_care_scan_alerts_once(session, people):
    w = people.world
    person = people.add("孙某")
    record = care.start_care(session=session, actor=w.users["operator"], origin=ORIGIN, person_id=person.id,
                             data=CareCreate(type_code="released_prisoner", level="key", reason="刑满释放"))
    record.next_visit_due = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    session.flush()
    first = invoke("people", "care-scan")
    assert first.exit_code == 0, first.output
    assert "missed visits: 1" in first.output
    second = invoke("people", "care-scan", "--recompute")
    assert second.exit_code == 0, second.output
    assert "missed visits: 0" in second.output and "care 1" in second.output
    session.refresh(record)
    assert record.visit_overdue


def test_scheduler_run_once_runs_the_care_scans(session, people):
    result = invoke("scheduler", "run-once")
    assert result.exit_code == 0, result.output
    assert "missed care visits" in result.output and "nightly care and risk pass" in result.output
