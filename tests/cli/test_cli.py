"""The command line against a real temporary SQLite file (``cli_db``, tests/cli/conftest.py), through
Typer's CliRunner."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from civicgrid import db as dbmod
from civicgrid.cli import app
from tests.cli.conftest import LAT0, LON0, city_geojson, import_small_city

runner = CliRunner()


@pytest.fixture(scope="module")
def city_file(cli_db, tmp_path_factory):
    """The small city imported, categories seeded and an operator created (what the case tests need)."""
    path = import_small_city(tmp_path_factory)
    result = runner.invoke(app, ["user", "create", "--username", "op1", "--name", "坐席一", "--role", "operator",
                                 "--scope", "990102001001", "--password", "op-password-1"])
    assert result.exit_code == 0, result.output
    return path


def _count(model) -> int:
    with dbmod.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_help_lists_every_command():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in ("serve", "db", "demo", "grids", "user", "apikey", "cases", "scheduler", "calendar"):
        assert name in result.output


def test_serve_runs_uvicorn_factory_with_httptools(monkeypatch):
    import uvicorn

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: seen.update(target=target, **kw))
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--port", "9000", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert seen["target"] == "civicgrid.app:create_app" and seen["factory"] is True
    assert (seen["host"], seen["port"], seen["workers"]) == ("0.0.0.0", 9000, 2)
    assert seen["http"] == "httptools" and seen["loop"] == "uvloop"


def test_grids_import_dry_run_and_errors(cli_db, city_file, tmp_path):
    result = runner.invoke(app, ["grids", "import", "--dry-run", str(city_file)])
    assert result.exit_code == 0, result.output
    assert "unchanged 6" in result.output and "dry run" in result.output

    broken = tmp_path / "broken.geojson"
    broken.write_text(json.dumps(city_geojson(broken=True)), encoding="utf-8")
    for args in (["grids", "import", "--dry-run", str(broken)], ["grids", "import", str(broken)]):
        result = runner.invoke(app, args)
        assert result.exit_code == 1
        assert "Traceback" not in result.output
        assert "未闭合" in result.output and "not closed" in result.output
        assert "99010200100100X" in result.output

    not_json = tmp_path / "x.geojson"
    not_json.write_text("{", encoding="utf-8")
    result = runner.invoke(app, ["grids", "import", str(not_json)])
    assert result.exit_code == 1 and "错误" in result.output and "Error" in result.output


def test_user_create_prompts_and_refuses_bilingually(cli_db, city_file):
    from civicgrid.auth.models import User

    before = _count(User)
    result = runner.invoke(app, ["user", "create", "--username", "gw1", "--name", "网格员一", "--role", "grid_worker",
                                 "--scope", "990102001001001"], input="gw-password-1\ngw-password-1\n")
    assert result.exit_code == 0, result.output
    assert _count(User) == before + 1

    result = runner.invoke(app, ["user", "create", "--username", "x1", "--name", "x", "--role", "operator",
                                 "--scope", "990199999999", "--password", "long-enough-1"])
    assert result.exit_code == 1
    assert "错误" in result.output and "Error" in result.output and "Traceback" not in result.output

    result = runner.invoke(app, ["user", "create", "--username", "h1", "--name", "承办", "--role", "handler",
                                 "--scope", "990102000000", "--password", "long-enough-1"])
    assert result.exit_code == 1 and "unit" in result.output.lower()

    result = runner.invoke(app, ["user", "create", "--username", "gw1", "--name", "again", "--role", "grid_worker",
                                 "--scope", "990102001001001", "--password", "long-enough-1"])
    assert result.exit_code == 1 and "already taken" in result.output


def test_apikey_is_printed_once(cli_db):
    result = runner.invoke(app, ["apikey", "create", "--name", "12345热线"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("cg_") and len(key) > 30
    assert runner.invoke(app, ["apikey", "create", "--name", " "]).exit_code == 1


def test_cases_import_csv_reports_rows_and_is_idempotent(cli_db, city_file, tmp_path):
    from civicgrid.events.models import Case

    lat, lon = LAT0 + 0.01, LON0 + 0.005
    lines = [
        "category_code,description,lat,lon,address,region_code,channel,received_at,reporter_name,reporter_phone,"
        "client_key,state",
        f"EV0101,小区门口垃圾堆放多日,{lat},{lon},,,hotline_12345,2026-03-02 09:30,张女士,13900000000,h-1,",
        f"EV0402,机动车乱停放堵塞通道,{lat},{lon},,,,2026-03-03T10:00:00+08:00,,,,registered",
        "CP0101,路灯不亮,,,,990102001001002,,2026-03-04 20:00,,,h-3,rejected",
        "XX9999,未知类别,,,,990102001001,,,,,h-4,",
        f"EV0101,坐标有误,{lat},999,,,,,,,h-5,",
        "EV0101,未来时间,,,,990102001001,,2099-01-01 00:00,,,h-6,",
        "EV0101,状态无效,,,,990102001001,,,,,h-7,finished",
    ]
    path = tmp_path / "cases.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    before = _count(Case)
    result = runner.invoke(app, ["cases", "import", str(path), "--as", "op1", "--batch-size", "2"])
    assert result.exit_code == 1  # some rows were rejected
    assert "created 3" in result.output and "rejected 4" in result.output
    for row in (5, 6, 7, 8):
        assert f"第 {row} 行" in result.output and f"Row {row}" in result.output
    assert "Traceback" not in result.output
    assert _count(Case) == before + 3

    again = runner.invoke(app, ["cases", "import", str(path), "--as", "op1"])
    assert "created 0" in again.output and "existing 3" in again.output
    assert _count(Case) == before + 3

    with dbmod.unit_of_work() as session:
        states = dict(session.execute(select(Case.idempotency_key, Case.state)).all())
    assert states["h-1"].value == "reported" and states["h-3"].value == "rejected"
    assert any(k.startswith("import-") and v.value == "registered" for k, v in states.items())


def test_cases_import_refuses_bad_files(cli_db, city_file, tmp_path):
    wrong_header = tmp_path / "h.csv"
    wrong_header.write_text("category,text\nEV0101,x\n", encoding="utf-8")
    result = runner.invoke(app, ["cases", "import", str(wrong_header), "--as", "op1"])
    assert result.exit_code == 1 and "category_code" in result.output
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("category_code,description\nEV0101,垃圾\n".encode("gbk"))
    result = runner.invoke(app, ["cases", "import", str(gbk), "--as", "op1"])
    assert result.exit_code == 1 and "UTF-8" in result.output
    result = runner.invoke(app, ["cases", "import", str(wrong_header), "--as", "nobody"])
    assert result.exit_code == 1 and "nobody" in result.output


def test_cases_import_xlsx(cli_db, city_file, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["category_code", "description", "region_code", "received_at", "client_key"])
    sheet.append(["GV0601", "咨询新生儿落户材料", "990102001001", "2026-04-01 09:00", "x-1"])
    path = tmp_path / "cases.xlsx"
    book.save(path)
    result = runner.invoke(app, ["cases", "import", str(path), "--as", "op1"])
    assert result.exit_code == 0, result.output
    assert "created 1" in result.output


def test_scheduler_run_once(cli_db):
    result = runner.invoke(app, ["scheduler", "run-once"])
    assert result.exit_code == 0, result.output
    assert "overdue" in result.output


def test_calendar_import_and_show(cli_db, tmp_path):
    path = tmp_path / "2031.csv"
    path.write_text("date,type,name\n2031-10-01,holiday,国庆节\n2031-10-11,workday,\n", encoding="utf-8")
    result = runner.invoke(app, ["calendar", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "2031" in result.output
    shown = runner.invoke(app, ["calendar", "show", "2031"])
    assert shown.exit_code == 0
    assert "2031-10-01" in shown.output and "国庆节" in shown.output and "2031-10-11" in shown.output
    assert runner.invoke(app, ["calendar", "show", "1800"]).exit_code == 1


def test_db_downgrade_and_upgrade_again(tmp_path, cli_db):
    # A separate file, so the other tests' database keeps its schema.
    url = f"sqlite:///{tmp_path / 'down.sqlite3'}"
    assert runner.invoke(app, ["--database", url, "db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["--database", url, "db", "downgrade", "base"])
    assert result.exit_code == 0, result.output
    assert "base" in result.output
    assert runner.invoke(app, ["--database", url, "db", "upgrade"]).exit_code == 0
    # Back to the module's database for the tests that follow.
    runner.invoke(app, ["--database", cli_db, "scheduler", "run-once"])


def test_demo_builds_once_and_prints_logins(tmp_path, cli_db):
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    try:
        assert runner.invoke(app, ["--database", url, "db", "upgrade"]).exit_code == 0
        result = runner.invoke(app, ["--database", url, "demo", "--scale", "small", "--cases", "25"])
        assert result.exit_code == 0, result.output
        for login in ("admin", "civicgrid-admin", "operator", "street_operator", "handler_chengguan",
                      "gridworker", "leader", "citizen"):
            assert login in result.output
        again = runner.invoke(app, ["--database", url, "demo"])
        assert again.exit_code == 0 and "skipped" in again.output
        bad = runner.invoke(app, ["--database", url, "demo", "--scale", "huge"])
        assert bad.exit_code == 1 and "small" in bad.output
    finally:
        runner.invoke(app, ["--database", cli_db, "scheduler", "run-once"])


def test_case_tallies_compact_and_recount_to_what_the_workflow_wrote(tmp_path, cli_db):
    # The demo walks its cases through the real workflow, so the tallies were written as deltas;
    # compacting and then recounting from the cases must leave every sum as it was.
    from sqlalchemy import create_engine, func, select

    from civicgrid.events import tally
    from civicgrid.events.models import Case, CaseTally

    url = f"sqlite:///{tmp_path / 'tally.sqlite3'}"
    t = CaseTally.__table__.c
    keys = [t.ledger, t.cohort, t.day, t.area_path, t.unit_id]

    def sums() -> dict:
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(select(*keys, *[func.sum(t[c]) for c in tally.COUNTERS]).group_by(*keys))
                return {tuple(r[:5]): tuple(round(float(v), 3) for v in r[5:]) for r in rows if any(r[5:])}
        finally:
            engine.dispose()

    try:
        assert runner.invoke(app, ["--database", url, "db", "upgrade"]).exit_code == 0
        assert runner.invoke(app, ["--database", url, "demo", "--scale", "small", "--cases", "40"]).exit_code == 0
        written = sums()
        engine = create_engine(url)
        with engine.connect() as conn:
            cases = conn.execute(select(func.count()).select_from(Case)).scalar_one()
        engine.dispose()
        assert cases >= 40
        assert sum(v[0] for k, v in written.items() if k[1] == "received" and k[0] == "area") == cases
        compacted = runner.invoke(app, ["--database", url, "cases", "tally"])
        assert compacted.exit_code == 0 and "compacted" in compacted.output
        assert sums() == written
        recounted = runner.invoke(app, ["--database", url, "cases", "tally", "--rebuild"])
        assert recounted.exit_code == 0 and "recounted" in recounted.output, recounted.output
        assert sums() == written
        # Stale tallies (as after the migration that adds them to a database with cases) are
        # counted by the next `db upgrade`, not left to a live server.
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(CaseTally.__table__.delete())
            conn.execute(tally.CaseTallyMeta.__table__.update().values(state="stale"))
        engine.dispose()
        upgraded = runner.invoke(app, ["--database", url, "db", "upgrade"])
        assert upgraded.exit_code == 0 and "counted" in upgraded.output, upgraded.output
        assert sums() == written
        again = runner.invoke(app, ["--database", url, "db", "upgrade"])
        assert again.exit_code == 0 and "counted" not in again.output
    finally:
        runner.invoke(app, ["--database", cli_db, "scheduler", "run-once"])
