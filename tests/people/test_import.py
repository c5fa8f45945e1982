"""Department imports: matching, provenance (newer wins), review queue, per-row report, idempotency,
all-or-nothing, templates, and the masked, audited export."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from civicgrid.audit.models import AuditEntry
from civicgrid.errors import Conflict, Forbidden, InvalidInput
from civicgrid.people import importer, service
from civicgrid.people.models import ImportRow, Person, ReviewItem
from tests.people.conftest import ORIGIN, new_id

HEADER = ["姓名", "证件号码", "出生日期", "性别", "联系电话", "人口类型", "网格编码", "居住地址", "工作单位", "户号", "与户主关系", "数据日期"]


def csv_file(rows, header=HEADER, encoding="utf-8-sig") -> io.BytesIO:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    return io.BytesIO(buffer.getvalue().encode(encoding))


def run(session, world, data, *, source="公安", as_of=dt.date(2026, 10, 1), by="operator", filename="a.csv"):
    return importer.import_persons(session=session, actor=world.users[by], origin=ORIGIN, stream=data,
                                   filename=filename, source=source, as_of=as_of)


def persons(session):
    return session.scalar(select(func.count(Person.id))) or 0


@pytest.fixture
def grid(people):
    return people.world.regions["grid111"].code


def test_two_overlapping_department_files_give_one_record_per_person(session, world, people, grid):
    a, b, c = new_id(dt.date(1970, 1, 1)), new_id(dt.date(1985, 6, 1)), new_id(dt.date(1990, 3, 3))
    police = csv_file([
        ["张伟", a, "", "", "13800000001", "户籍人口", grid, "1号楼101", "", "H1", "户主", ""],
        ["李娜", b, "", "", "13800000002", "流动人口", grid, "2号楼202", "", "", "", ""],
        ["王芳", "", "1975-05-05", "女", "13800000003", "户籍人口", grid, "3号楼303", "", "", "", ""],
    ])
    report = run(session, world, police)
    assert report.counts == {"created": 3, "merged": 0, "unchanged": 0, "queued": 0, "rejected": 0}
    civil = csv_file([
        ["张伟", a, "", "", "13800000001", "户籍人口", grid, "1号楼101", "云湖区民政局", "H1", "户主", ""],   # same ID: merge (work unit)
        ["王芳", "", "1975-05-05", "女", "13800000003", "户籍人口", grid, "3号楼303", "", "", "", ""],        # name+birth+phone: unchanged
        ["王芳", "", "1975-05-05", "女", "13900000009", "户籍人口", grid, "5号楼505", "", "", "", ""],        # phone differs: review
        ["赵敏", c, "", "", "", "户籍人口", grid, "", "", "", "", ""],                                       # new
        ["坏号", "110105194912310021", "", "", "", "", grid, "", "", "", "", ""],                          # bad check digit
    ])
    report = run(session, world, civil, source="民政")
    assert report.counts == {"created": 1, "merged": 1, "unchanged": 1, "queued": 1, "rejected": 1}
    assert persons(session) == 4
    outcomes = {r.row_no: (r.outcome, r.zh) for r in report.items}
    assert outcomes[2][0] == "merged" and "工作单位" in outcomes[2][1]
    assert outcomes[4][0] == "queued" and "匹配度" in outcomes[4][1]
    assert outcomes[6][0] == "rejected" and "校验码" in outcomes[6][1]
    zhang = service.find_by_document(session=session, kind="resident", number=a)
    assert zhang.work_unit == "云湖区民政局" and zhang.provenance["work_unit"]["source"] == "民政"
    assert zhang.provenance["name"]["source"] == "公安"
    # The per-row report is stored.
    stored = session.scalars(select(ImportRow).where(ImportRow.batch_id == report.batch.id).order_by(ImportRow.row_no)).all()
    assert [r.outcome for r in stored] == ["merged", "unchanged", "queued", "created", "rejected"]


def test_same_file_twice_changes_nothing(session, world, people, grid):
    rows = [["张伟", new_id(), "", "", "13800000001", "", grid, "1号楼", "", "", "", ""],
            ["王芳", "", "1975-05-05", "女", "13800000003", "", grid, "3号楼", "", "", "", ""],
            ["王芳", "", "1975-05-05", "女", "13900000009", "", grid, "5号楼", "", "", "", ""]]
    first = run(session, world, csv_file(rows))
    assert first.counts["created"] == 2 and first.counts["queued"] == 1
    before = persons(session), session.scalar(select(func.count(ReviewItem.id)))
    second = run(session, world, csv_file(rows))
    assert second.batch.repeat_of_id == first.batch.id
    assert second.counts["created"] == 0 and second.counts["merged"] == 0
    assert (persons(session), session.scalar(select(func.count(ReviewItem.id)))) == before


def test_older_value_never_overwrites_a_newer_one(session, world, people, grid):
    number = new_id()
    run(session, world, csv_file([["张伟", number, "", "", "", "", grid, "新地址", "", "", "", ""]]), as_of=dt.date(2026, 9, 1))
    report = run(session, world, csv_file([["张伟", number, "", "", "", "", grid, "旧地址", "", "", "", ""]]),
                 source="卫健", as_of=dt.date(2025, 1, 1))
    person = service.find_by_document(session=session, kind="resident", number=number)
    assert person.address == "新地址"
    assert report.items[0].outcome == "unchanged" and "保留较新" in report.items[0].zh
    run(session, world, csv_file([["张伟", number, "", "", "", "", grid, "更新地址", "", "", "", "2026-10-20"]]),
        source="卫健", as_of=dt.date(2025, 1, 1))
    session.refresh(person)
    assert person.address == "更新地址" and person.provenance["address"] == {"source": "卫健", "at": "2026-10-20",
                                                                         "batch": person.provenance["address"]["batch"]}


def test_review_queue_merge_and_separate(session, world, people, grid):
    run(session, world, csv_file([["王芳", "", "1975-05-05", "女", "13800000003", "", grid, "3号楼", "", "", "", ""],
                                  ["刘洋", "", "1980-02-02", "男", "13800000004", "", grid, "4号楼", "", "", "", ""]]))
    number = new_id(dt.date(1975, 5, 5))
    run(session, world, csv_file([
        ["王芳", "", "1975-05-05", "女", "13900000009", "", grid, "5号楼", "", "", "", ""],
        ["刘洋", "", "1980-02-02", "男", "", "", grid, "9号楼", "", "", "", ""],
    ]), source="民政", as_of=dt.date(2026, 10, 5))
    queue = importer.review_queue(session=session, actor=world.users["operator"])
    assert len(queue) == 2
    wang = next(i for i in queue if i.incoming["name"] == "王芳")
    liu = next(i for i in queue if i.incoming["name"] == "刘洋")
    assert "13900000009" not in repr(wang.incoming)
    merged = importer.resolve_review(session=session, actor=world.users["operator"], origin=ORIGIN, item_id=wang.id,
                                     decision="merge", note="电话已核实为新号码")
    assert merged.id == wang.candidate_id and merged.phone_masked == "139****0009" and merged.address == "5号楼"
    separate = importer.resolve_review(session=session, actor=world.users["operator"], origin=ORIGIN, item_id=liu.id,
                                       decision="separate", note="同名同生日不同人")
    assert separate.id != liu.candidate_id and separate.address == "9号楼"
    with pytest.raises(Conflict):
        importer.resolve_review(session=session, actor=world.users["operator"], origin=ORIGIN, item_id=wang.id,
                                decision="merge")
    assert importer.review_queue(session=session, actor=world.users["operator"]) == []
    actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "review_item")))
    assert actions == {"merge", "separate"}
    del number


def test_a_failure_half_way_leaves_nothing(session, world, people, grid, monkeypatch):
    rows = [["人" + str(i), new_id(), "", "", "", "", grid, "", "", "", "", ""] for i in range(importer.CHUNK + 10)]
    before = persons(session)
    original = importer.PersonImporter._insert
    calls = {"n": 0}

    def failing(self, pending):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return original(self, pending)

    monkeypatch.setattr(importer.PersonImporter, "_insert", failing)
    with pytest.raises(RuntimeError):
        with session.begin_nested():  # what the request's unit of work does
            run(session, world, csv_file(rows))
    assert persons(session) == before


def test_missing_columns_refuse_the_file(session, world, people):
    with pytest.raises(InvalidInput) as exc:
        run(session, world, csv_file([["张伟", "x"]], header=["姓名", "证件号码"]))
    assert "网格编码" in exc.value.detail_zh


def test_rows_outside_the_area_are_rejected(session, world, people):
    other = world.regions["grid211"].code
    report = run(session, world, csv_file([["张伟", new_id(), "", "", "", "", other, "", "", "", "", ""]]))
    assert report.counts["rejected"] == 1 and "管辖范围" in report.items[0].zh


def test_gb18030_csv_and_excel_files(session, world, people, grid):
    report = run(session, world, csv_file([["陈静", new_id(), "", "", "", "", grid, "", "", "", "", ""]], encoding="gb18030"))
    assert report.counts["created"] == 1
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append(["周杰", new_id(), None, None, 13800000007, None, int(grid), None, None, None, None, None])
    data = io.BytesIO()
    wb.save(data)
    data.seek(0)
    report = run(session, world, data, filename="b.xlsx")
    assert report.counts["created"] == 1
    person = session.scalar(select(Person).where(Person.name == "周杰"))
    assert person.phone_masked == "138****0007"


def test_templates_have_the_required_columns(people):
    text = importer.template("person", "csv").decode("utf-8-sig")
    assert text.splitlines()[0].startswith("姓名,证件类型,证件号码")
    wb = load_workbook(io.BytesIO(importer.template("person", "xlsx")))
    assert wb.worksheets[0]["A1"].value == "姓名"


def test_only_import_roles_may_import(session, world, people, grid):
    with pytest.raises(Forbidden):
        run(session, world, csv_file([["张伟", new_id(), "", "", "", "", grid, "", "", "", "", ""]]), by="gridworker")


def test_export_is_masked_and_audited(session, client, as_user, world, people, grid):
    number = new_id()
    run(session, world, csv_file([["张伟", number, "", "", "13800000001", "", grid, "", "", "", "", ""]]))
    response = client.get("/api/people/export.xlsx", headers=as_user("leader"))
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.content)).worksheets[0]
    values = [str(c.value) for row in ws.iter_rows() for c in row]
    assert number not in values and "13800000001" not in values
    assert any("*" in v for v in values)
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "export"))
    assert entry.after["rows"] == 1 and entry.actor_name == "leader"
    assert client.get("/api/people/export.xlsx", headers=as_user("gridworker")).status_code == 403


def test_import_api_and_review_api(session, client, as_user, world, people, grid):
    data = csv_file([["王芳", "", "1975-05-05", "女", "13800000003", "", grid, "3号楼", "", "", "", ""]]).getvalue()
    r = client.post("/api/people/import", headers=as_user("operator"), data={"source": "公安", "as_of": "2026-10-01"},
                    files={"file": ("p.csv", data, "text/csv")})
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 1
    data2 = csv_file([["王芳", "", "1975-05-05", "女", "13900000009", "", grid, "5号楼", "", "", "", ""]]).getvalue()
    r = client.post("/api/people/import", headers=as_user("operator"), data={"source": "民政"},
                    files={"file": ("p2.csv", data2, "text/csv")})
    assert r.json()["queued"] == 1
    queue = client.get("/api/people/review", headers=as_user("operator")).json()
    assert len(queue) == 1 and "phone_hash" not in queue[0]["incoming"]
    decided = client.post(f"/api/people/review/{queue[0]['id']}", json={"decision": "merge"}, headers=as_user("operator"))
    assert decided.status_code == 200 and decided.json()["phone"] == "139****0009"
    bad = client.post("/api/people/import", headers=as_user("operator"), data={"source": "x"},
                      files={"file": ("p.pdf", b"%PDF", "application/pdf")})
    assert bad.status_code == 422 and bad.json()["detail_en"]
    template = client.get("/api/people/import/template.csv", headers=as_user("operator"))
    assert template.status_code == 200 and "姓名" in template.content.decode("utf-8-sig")


def test_other_base_data_imports_are_validated_reported_and_idempotent(session, world, people, grid):
    rows = ("组织名称,组织类型,统一社会信用代码,网格编码\n"
            f"云湖科技有限公司,非公有制经济组织,91110000600037341L,{grid}\n"
            f"坏代码公司,非公有制经济组织,91110000600037341M,{grid}\n"
            f"平安巡逻队,群防群治队伍,,{grid}\n"
            f"外区公司,社会组织,,{world.regions['grid211'].code}\n")
    report = importer.import_records(session=session, actor=world.users["operator"], origin=ORIGIN,
                                     entity="organisation", stream=io.BytesIO(rows.encode()), filename="o.csv",
                                     source="市场监管")
    assert report.counts["created"] == 2 and report.counts["rejected"] == 2
    assert any("MOD 31" in r.en for r in report.items)
    again = importer.import_records(session=session, actor=world.users["operator"], origin=ORIGIN,
                                    entity="organisation", stream=io.BytesIO(rows.encode()), filename="o.csv",
                                    source="市场监管")
    assert again.counts["created"] == 0 and again.counts["unchanged"] == 2
    lat, lon = world.grid_point("grid112")
    things = f"部件编码,部件类型,名称,经度,纬度\nCAM-9,视频监控,路口,{lon},{lat}\nX-1,飞船,?,{lon},{lat}\n"
    report = importer.import_records(session=session, actor=world.users["operator"], origin=ORIGIN, entity="thing",
                                     stream=io.BytesIO(things.encode()), filename="t.csv", source="公安")
    assert report.counts == {"created": 1, "merged": 0, "unchanged": 0, "queued": 0, "rejected": 1}
    assert "部件类型" in report.items[1].zh
    for entity in ("building", "house", "place", "organisation", "thing"):
        assert importer.template(entity, "csv").decode("utf-8-sig").splitlines()[0].endswith("网格编码,经度,纬度")
