"""The ``civicgrid`` command line (Typer): serve, migrate, demo city, imports, users, keys, scheduler.

Every command opens its own ``unit_of_work()`` and calls the same service functions as the
web app. A refusal (``DomainError``) prints its Chinese and English message and exits
with status 1 — no traceback for a user's mistake. Documented in docs/cli.md.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any

import typer

from civicgrid.audit.service import Origin
from civicgrid.auth.models import Role
from civicgrid.errors import DomainError, InvalidInput

ORIGIN = Origin("cli")

app = typer.Typer(help="civicgrid 市域社会治理平台 — municipal social governance platform", no_args_is_help=True,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="数据库迁移 / database migrations", no_args_is_help=True)
grids_app = typer.Typer(help="区域与网格 / regions and grids", no_args_is_help=True)
user_app = typer.Typer(help="用户 / users", no_args_is_help=True)
apikey_app = typer.Typer(help="Open311 API 密钥 / API keys", no_args_is_help=True)
cases_app = typer.Typer(help="事件 / cases", no_args_is_help=True)
scheduler_app = typer.Typer(help="时限监控 / deadline scheduler", no_args_is_help=True)
calendar_app = typer.Typer(help="工作日历 / working-day calendar", no_args_is_help=True)
people_app = typer.Typer(help="实有人口与重点人群 / base data and people under care", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(grids_app, name="grids")
app.add_typer(user_app, name="user")
app.add_typer(apikey_app, name="apikey")
app.add_typer(cases_app, name="cases")
app.add_typer(scheduler_app, name="scheduler")
app.add_typer(calendar_app, name="calendar")
app.add_typer(people_app, name="people")


def _err(text: str) -> None:
    typer.echo(text, err=True)


def _print_problem(exc: DomainError) -> None:
    """Both languages, plus any itemised errors the problem carries (e.g. GeoJSON validation)."""
    _err(f"错误：{exc.detail_zh}")
    _err(f"Error: {exc.detail_en}")
    for item in exc.extra.get("errors", []) or []:
        if isinstance(item, dict):
            _err(f"  - {_problem_line(item)}")


def _problem_line(item: dict[str, Any]) -> str:
    where = []
    if item.get("index") is not None:
        where.append(f"#{item['index']}")
    if item.get("code"):
        where.append(str(item["code"]))
    if item.get("row") is not None:
        where.append(f"row {item['row']}")
    prefix = f"[{' '.join(where)}] " if where else ""
    zh = item.get("message_zh") or item.get("detail_zh") or item.get("msg") or ""
    en = item.get("message_en") or item.get("detail_en") or ""
    return f"{prefix}{zh}" + (f"\n      {en}" if en else "")


def domain_errors(fn: Callable) -> Callable:
    """Turn a DomainError into a bilingual message and exit status 1 (decorator for commands)."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DomainError as exc:
            _print_problem(exc)
            raise typer.Exit(1) from None

    return wrapper


@app.callback()
def main(
    database: Annotated[str | None, typer.Option(
        "--database", envvar="CIVICGRID_DATABASE_URL",
        help="SQLAlchemy URL (default: the CIVICGRID_DATABASE_URL setting, else var/civicgrid.sqlite3)")] = None,
) -> None:
    """civicgrid 命令行 / command line."""
    if database:
        _use_database(database)


def _use_database(url: str) -> None:
    """Point settings and the process-wide engine at ``url``."""
    from civicgrid import db
    from civicgrid.settings import get_settings

    if os.environ.get("CIVICGRID_DATABASE_URL") != url:
        os.environ["CIVICGRID_DATABASE_URL"] = url
        get_settings.cache_clear()
        db.set_engine(None)


# ---------------------------------------------------------------------------------------
# serve, db
# ---------------------------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (each runs the app)")] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development only; one worker)")] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
    access_log: Annotated[bool, typer.Option(help="Log every request")] = True,
) -> None:
    """Run the web app under uvicorn (httptools + uvloop) — 启动服务."""
    import uvicorn

    uvicorn.run(
        "civicgrid.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=None if reload else workers,
        reload=reload,
        # The C parser and event loop from uvicorn[standard]: the pure-Python h11 parser
        # stalls every keep-alive request ~44 ms (DESIGN.md §5).
        http="httptools",
        loop="uvloop",
        log_level=log_level,
        access_log=access_log,
        proxy_headers=True,
    )


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision (default: every domain's head)")]
               = "heads") -> None:
    """Apply migrations up to REVISION (default: heads — each domain has its own branch) — 升级数据库."""
    from civicgrid.migrations import upgrade
    from civicgrid.settings import get_settings

    upgrade(get_settings().database_url, revision)
    typer.echo(f"数据库已升级到 {revision} / database upgraded to {revision}")
    _recount_stale_tallies()


def _recount_stale_tallies() -> None:
    # A database that had cases before the tallies existed counts them now, while nothing else
    # runs (an upgrade is a maintenance step), rather than in a live server's periodic job,
    # where the recount would hold every case write for its duration.
    import time

    from sqlalchemy import inspect

    from civicgrid.db import get_engine, unit_of_work
    from civicgrid.events import tally

    if not inspect(get_engine()).has_table("case_tally_meta"):
        return
    with unit_of_work() as session:
        if tally.usable_limit(session) is not None:
            return
        started = time.perf_counter()
        rows = tally.rebuild(session=session)
    typer.echo(f"统计台账已重算 / case tallies counted: {rows:,} 行 rows, {time.perf_counter() - started:.1f} s")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="Target revision, e.g. base or -1")]) -> None:
    """Revert migrations down to REVISION — 回退数据库."""
    from civicgrid.migrations import downgrade
    from civicgrid.settings import get_settings

    downgrade(get_settings().database_url, revision)
    typer.echo(f"数据库已回退到 {revision} / database downgraded to {revision}")


# ---------------------------------------------------------------------------------------
# demo
# ---------------------------------------------------------------------------------------


@app.command()
@domain_errors
def demo(
    scale: Annotated[str, typer.Option(help="small: 500 grids, ~2,000 cases walked through the workflow; "
                                            "city: 10,000 grids, 1,000,000 bulk-written cases")] = "small",
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same city)")] = 20260101,
    cases: Annotated[int | None, typer.Option(min=0, help="Number of historical cases (default by scale)")] = None,
) -> None:
    """Build the fictional demo city 云州市 and print its logins (skips if it exists) — 生成演示城市."""
    import time

    from civicgrid.db import unit_of_work
    from civicgrid.demo.seed import build_demo, demo_exists

    if scale not in ("small", "city"):
        raise InvalidInput(f"规模 {scale} 无效，可选 small 或 city", f"Unknown scale {scale}; use small or city")
    with unit_of_work() as session:
        if demo_exists(session=session):
            typer.echo("演示城市云州市已存在，跳过 / the demo city already exists; skipped")
            return
    started = time.perf_counter()
    with unit_of_work() as session:
        report = build_demo(session=session, scale=scale, seed=seed, cases=cases, log=typer.echo)
    total = time.perf_counter() - started
    typer.echo(f"\n云州市（{scale}）已生成 / demo city built in {total:.1f} s")
    typer.echo(f"  区域 regions {report.regions:,} · 单位 units {report.units:,} · 用户 users {report.users:,} · "
               f"网格成员 grid members {report.grid_members:,} · 派遣规则 rules {report.rules:,}")
    typer.echo(f"  事件 cases {report.cases:,}: " + ", ".join(f"{k} {v:,}" for k, v in report.case_states.items()))
    typer.echo(f"  其中超期未办结 open and overdue: {report.overdue:,}")
    for step, seconds in report.timings.items():
        typer.echo(f"  {step}: {seconds:.1f} s")
    if report.rows_per_second:
        typer.echo(f"  批量写入速度 bulk insert: {report.rows_per_second:,.0f} rows/s")
    for note in report.skipped:
        typer.echo(f"  未生成 skipped: {note}")
    typer.echo("\n演示账号 / demo logins:")
    for login in report.logins:
        typer.echo(f"  {login.username:<22} / {login.password:<16} {login.role.label_zh}（{login.role.value}）"
                   f" — {login.scope_zh}" + (f" · {login.note}" if login.note else ""))


# ---------------------------------------------------------------------------------------
# grids
# ---------------------------------------------------------------------------------------


@grids_app.command("import")
@domain_errors
def grids_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="GeoJSON FeatureCollection")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and report only; write nothing")] = False,
) -> None:
    """Import regions and grids from GeoJSON, all or nothing; exit 1 on any problem — 导入网格."""
    from civicgrid.db import unit_of_work
    from civicgrid.regions.service import import_geojson

    try:
        collection = json.loads(file.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"文件不是有效的 UTF-8 GeoJSON：{exc}", f"The file is not valid UTF-8 GeoJSON: {exc}") from None
    with unit_of_work() as session:
        report = import_geojson(session=session, actor=None, origin=ORIGIN, feature_collection=collection,
                                dry_run=dry_run)
    mode = "校验（未写入）/ dry run, nothing written" if dry_run else "已导入 / imported"
    typer.echo(f"{mode}: 要素 features {report.features}, 新建 created {report.created}, "
               f"更新 updated {report.updated}, 未变 unchanged {report.unchanged}")
    if report.errors:
        _err(f"发现 {len(report.errors)} 个问题 / {len(report.errors)} problems:")
        for problem in report.errors:
            _err(f"  - {_problem_line(problem.model_dump())}")
        raise typer.Exit(1)


# ---------------------------------------------------------------------------------------
# users and keys
# ---------------------------------------------------------------------------------------


@user_app.command("create")
@domain_errors
def user_create(
    username: Annotated[str, typer.Option(help="Sign-in name (letters, digits, _ . -)")],
    name: Annotated[str, typer.Option(help="Display name, e.g. 张三")],
    role: Annotated[Role, typer.Option(help="Role", case_sensitive=False)],
    scope: Annotated[str, typer.Option(help="Region code of the user's scope (they see its subtree)")],
    unit: Annotated[str | None, typer.Option(help="Unit code (required for handlers)")] = None,
    phone: Annotated[str | None, typer.Option(help="Phone number")] = None,
    password: Annotated[str | None, typer.Option(help="Password (prompted, hidden, if not given)")] = None,
) -> None:
    """Create a user scoped to a region — 创建用户."""
    from sqlalchemy import select

    from civicgrid.auth.service import create_user
    from civicgrid.db import unit_of_work
    from civicgrid.errors import not_found
    from civicgrid.regions.service import region_by_code
    from civicgrid.units.models import Unit

    if password is None:
        password = typer.prompt("密码 / password", hide_input=True, confirmation_prompt=True)
    with unit_of_work() as session:
        region = region_by_code(session=session, code=scope)
        unit_id = None
        if unit is not None:
            unit_id = session.scalar(select(Unit.id).where(Unit.code == unit))
            if unit_id is None:
                raise not_found("单位", "Unit", unit)
        user = create_user(session=session, actor=None, origin=ORIGIN, username=username, display_name=name,
                           password=password, role=role, scope_region_id=region.id, unit_id=unit_id, phone=phone)
        typer.echo(f"已创建用户 / user created: {user.username} (id {user.id}, {role.label_zh} {role.value}, "
                   f"{region.name_zh} {region.code})")


@apikey_app.command("create")
@domain_errors
def apikey_create(name: Annotated[str, typer.Option(help="Who the key is for, e.g. 12345热线")]) -> None:
    """Create an Open311 API key and print it once — 创建 API 密钥."""
    from civicgrid.auth.service import create_api_key
    from civicgrid.db import unit_of_work

    with unit_of_work() as session:
        key, raw = create_api_key(session=session, actor=None, origin=ORIGIN, name=name)
        key_id = key.id
    typer.echo(f"API 密钥 #{key_id}（{name}），只显示这一次，请妥善保存 / shown once, keep it safe:")
    typer.echo(raw)


def _when(value) -> str:
    """An instant in the city's local time for a table cell; '—' for never."""
    if value is None:
        return "—"
    from zoneinfo import ZoneInfo

    from civicgrid.settings import get_settings

    return value.astimezone(ZoneInfo(get_settings().timezone)).strftime("%Y-%m-%d %H:%M")


@apikey_app.command("list")
@domain_errors
def apikey_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per key instead of a table")] = False,
) -> None:
    """List the API keys: id, name, prefix, created, last used, active — never the key — 列出 API 密钥."""
    from civicgrid.auth.service import list_api_keys
    from civicgrid.db import unit_of_work

    with unit_of_work() as session:
        keys = [
            {"id": k.id, "name": k.name, "prefix": k.prefix, "created_at": k.created_at,
             "last_used_at": k.last_used_at, "active": k.active, "revoked_at": k.revoked_at}
            for k in list_api_keys(session=session)
        ]
    if as_json:
        for k in keys:
            typer.echo(json.dumps({name: (value.isoformat() if hasattr(value, "isoformat") else value)
                                   for name, value in k.items()}, ensure_ascii=False))
        return
    if not keys:
        typer.echo("还没有 API 密钥 / no API keys yet (civicgrid apikey create --name NAME)")
        return
    header = ("编号 id", "名称 name", "前缀 prefix", "创建 created", "最近使用 last used", "状态 status")
    rows = [(f"#{k['id']}", k["name"], f"{k['prefix']}…", _when(k["created_at"]), _when(k["last_used_at"]),
             "有效 active" if k["active"] else f"已停用 revoked {_when(k['revoked_at'])}".rstrip(" —"))
            for k in keys]
    widths = [max(_width(r[i]) for r in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        typer.echo("  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(row, widths)).rstrip())


def _width(text: str) -> int:
    """Display width in a terminal: CJK characters take two columns."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


@apikey_app.command("revoke")
@domain_errors
def apikey_revoke(
    key: Annotated[str, typer.Argument(metavar="NAME|ID", help="The key's name, or its id (#12 or 12)")],
) -> None:
    """Revoke an API key: Open311 refuses it from the next request on — 停用 API 密钥."""
    from civicgrid.auth.service import revoke_api_key
    from civicgrid.db import unit_of_work

    with unit_of_work() as session:
        found, revoked = revoke_api_key(session=session, actor=None, origin=ORIGIN, ref=key)
        key_id, name = found.id, found.name
    if revoked:
        typer.echo(f"已停用 API 密钥 #{key_id}（{name}） / revoked API key #{key_id} ({name})")
    else:
        typer.echo(f"API 密钥 #{key_id}（{name}）此前已停用 / API key #{key_id} ({name}) was already revoked")


# ---------------------------------------------------------------------------------------
# cases
# ---------------------------------------------------------------------------------------


@cases_app.command("import")
@domain_errors
def cases_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".csv (UTF-8) or .xlsx")],
    as_user: Annotated[str, typer.Option("--as", help="Operator or admin the import acts as")] = "admin",
    batch_size: Annotated[int, typer.Option(min=1, help="Rows per committed batch")] = 500,
    show: Annotated[int, typer.Option(min=0, help="How many row errors to print")] = 50,
) -> None:
    """Import historical cases; bad rows are reported, good rows imported; idempotent — 导入历史事件."""
    from civicgrid.events.bulk_import import import_file

    summary = import_file(file, username=as_user, batch_size=batch_size)
    typer.echo(f"行 rows {summary.rows:,}: 新建 created {summary.created:,}, 已存在 existing {summary.existing:,}, "
               f"拒绝 rejected {summary.rejected:,}")
    for error in summary.errors[:show]:
        _err(f"  - {error.message_zh}\n    {error.message_en}")
    if summary.rejected > show:
        _err(f"  …另有 {summary.rejected - show} 行错误 / {summary.rejected - show} more row errors")
    if summary.aborted_zh:
        _err(f"错误：{summary.aborted_zh}")
        _err(f"Error: {summary.aborted_en}")
        raise typer.Exit(1)
    if summary.rejected:
        raise typer.Exit(1)


# ---------------------------------------------------------------------------------------
# scheduler and calendar
# ---------------------------------------------------------------------------------------


@scheduler_app.command("run-once")
@domain_errors
def scheduler_run_once() -> None:
    """Run every periodic scan once (case deadlines, mediation obligations, petition reminders) — 执行一次时限扫描."""
    from civicgrid.jobs import run_all

    for zh, en, result in run_all():
        typer.echo(f"{zh} / {en}: {result}")


@cases_app.command("tally")
@domain_errors
def cases_tally(
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Recount every tally from the cases")] = False,
) -> None:
    """Compact the case tallies behind the KPIs, or recount them (--rebuild) — 统计台账合并或重算."""
    import time

    from civicgrid.db import unit_of_work
    from civicgrid.events import tally

    started = time.perf_counter()
    with unit_of_work() as session:
        if rebuild:
            rows = tally.rebuild(session=session)
            typer.echo(f"统计台账已重算 / case tallies recounted: {rows:,} 行 rows, {time.perf_counter() - started:.1f} s")
        else:
            merged = tally.compact(session=session)
            typer.echo(f"统计台账已合并 / case tallies compacted: {merged:,} 行 rows merged")


@calendar_app.command("import")
@domain_errors
def calendar_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV (date,type,name) or JSON")],
) -> None:
    """Import official holidays and make-up workdays; replaces each year in the file — 导入节假日安排."""
    from civicgrid.calendar.service import import_schedule
    from civicgrid.db import unit_of_work

    with unit_of_work() as session:
        years = import_schedule(session=session, actor=None, origin=ORIGIN, content=file.read_bytes(),
                                filename=file.name)
    for year, days in years.items():
        typer.echo(f"{year} 年：{days} 天 / {year}: {days} days")


@calendar_app.command("show")
@domain_errors
def calendar_show(year: Annotated[int, typer.Argument(help="Year, e.g. 2026")]) -> None:
    """Print a year's holidays and make-up workdays and where they come from — 查看年度日历."""
    from civicgrid.calendar.service import year_view
    from civicgrid.db import unit_of_work

    weekdays = "一二三四五六日"
    with unit_of_work() as session:
        view = year_view(session=session, year=year)
    typer.echo(f"{view.year} 年 · {view.source_label_zh} / {view.source_label_en} · "
               f"工作日 {view.workday_count} working days")
    if not view.known:
        typer.echo("  未录入官方安排，按周一至周五计算 / no official schedule: Monday–Friday assumed")
    for day in view.days:
        kind = "上班 workday" if day.is_workday else "放假 holiday"
        typer.echo(f"  {day.date} 周{weekdays[day.weekday - 1]}  {kind:<12} {day.name_zh}")


# ---------------------------------------------------------------------------------------
# people (base data, care, data key)
# ---------------------------------------------------------------------------------------


@people_app.command("import")
@domain_errors
def people_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".csv (UTF-8 or GB18030) or .xlsx")],
    source: Annotated[str, typer.Option("--source", help="Source department, e.g. 公安 or 民政")],
    as_user: Annotated[str, typer.Option("--as", help="Operator or admin the import acts as (their area)")] = "admin",
    entity: Annotated[str, typer.Option(help="person, building, house, place, organisation or thing")] = "person",
    as_of: Annotated[str | None, typer.Option("--as-of", help="Date the data is as of, YYYY-MM-DD (default today)")]
    = None,
    show: Annotated[int, typer.Option(min=0, help="How many queued or rejected rows to print")] = 20,
) -> None:
    """Import a department file, all or nothing, and print the per-row report summary — 导入基础数据."""
    import datetime as dt

    from civicgrid.db import unit_of_work
    from civicgrid.people import importer

    try:
        day = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise InvalidInput("数据日期格式应为 YYYY-MM-DD", "The as-of date must be YYYY-MM-DD") from None
    with unit_of_work() as session:
        report = importer.import_path(session=session, username=as_user, origin=ORIGIN, path=file, source=source,
                                      entity=entity, as_of=day)
        for line in importer.report_lines(report, show=show):
            typer.echo(line)


@people_app.command("care-scan")
@domain_errors
def people_care_scan(
    recompute: Annotated[bool, typer.Option("--recompute", help="Also recompute every risk colour now")] = False,
) -> None:
    """Run the missed-visit scan once (idempotent; alerts each missed due date once) — 重点人员走访逾期扫描."""
    from civicgrid.people import care

    scan = care.run_visit_scan()
    typer.echo(f"走访逾期 missed visits: {scan.missed}, 已通知 notifications: {scan.notified}")
    if recompute:
        counts = care.run_nightly()
        typer.echo("风险颜色已重算 / colours recomputed: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@people_app.command("rotate-key")
@domain_errors
def people_rotate_key(
    new_key_env: Annotated[str, typer.Option(help="Environment variable holding the new key (else prompted, hidden)")]
    = "CIVICGRID_NEW_DATA_KEY",
    old_key_env: Annotated[str | None, typer.Option(
        help="Environment variable holding the old key (default: the configured CIVICGRID_DATA_KEY)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check that the old key opens everything; write nothing")]
    = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
) -> None:
    """Re-encrypt and re-hash every ID number and phone with a new data key, all or nothing — 轮换数据密钥."""
    from civicgrid.db import unit_of_work
    from civicgrid.people import keys
    from civicgrid.settings import get_settings

    old_key = os.environ.get(old_key_env, "") if old_key_env else get_settings().data_key
    if old_key_env and not old_key:
        raise InvalidInput(f"环境变量 {old_key_env} 未设置", f"The environment variable {old_key_env} is not set")
    new_key = os.environ.get(new_key_env, "")
    if not new_key:
        new_key = typer.prompt("新数据密钥 / new data key", hide_input=True, confirmation_prompt=True)
    keys.check_new_key(old_key, new_key)
    if not dry_run and not yes:
        typer.confirm("请先停止所有 civicgrid 进程（服务和定时任务）。继续？ / Stop every civicgrid process "
                      "(servers and schedulers) first. Continue?", abort=True)
    with unit_of_work() as session:
        done = keys.rotate_data_key(session=session, origin=ORIGIN, old_key=old_key, new_key=new_key, dry_run=dry_run)
    for line in done.lines():
        typer.echo(line)
    if dry_run:
        typer.echo("检查通过，未做任何修改 / check passed; nothing was changed")
    else:
        typer.echo("已用新密钥重新加密。请把 CIVICGRID_DATA_KEY 设为新密钥后再启动服务 / re-encrypted with the new key: "
                   "set CIVICGRID_DATA_KEY to it before starting civicgrid again")


def run() -> None:
    """Entry point for ``python -m civicgrid.cli``."""
    app()


if __name__ == "__main__":
    sys.exit(run())
