"""Dashboard and KPI latency over a million cases, and the live-counter fan-out to 100 dashboards.

For SQLite and then PostgreSQL (a throwaway database on 127.0.0.1:5432, user postgres):
build the city-scale demo (10,000 grids) with N bulk-written cases (``civicgrid demo``),
then time every dashboard panel and KPI query as a city leader and a street leader
(p50/p95 over ``--runs`` calls against the target p95 < 300 ms), the whole /api/dashboard
answer, the monthly report's data, and finally serve the app under uvicorn and measure how
long 100 connected SSE dashboards take to receive new counters after a commit.

    .venv/bin/python bench/bench_dashboard.py [--cases 1000000] [--runs 40] [--only sqlite|postgresql] [--keep]
    .venv/bin/python bench/bench_dashboard.py --reuse sqlite:////tmp/…/bench.sqlite3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import print_machine  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("CIVICGRID_BENCH_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
TARGET_P95_MS = 300.0
FAN_OUT = 100


def _build(url: str, cases: int) -> None:
    """Migrate and build the city-scale demo with ``cases`` bulk-written cases (in a child process)."""
    env = {**os.environ, "CIVICGRID_DATABASE_URL": url, "CIVICGRID_ENVIRONMENT": "demo"}
    civicgrid = str(ROOT / ".venv" / "bin" / "civicgrid")
    subprocess.run([civicgrid, "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL)
    started = time.perf_counter()
    subprocess.run([civicgrid, "demo", "--scale", "city", "--cases", str(cases)], env=env, check=True,
                   capture_output=True, text=True)
    print(f"  build (geography, users, {cases:,} cases, indexes) {time.perf_counter() - started:.0f} s", flush=True)


def _viewers(session):
    from sqlalchemy import select

    from civicgrid.auth.models import Role, User
    from civicgrid.regions.models import Region, RegionLevel

    city_leader = session.scalar(select(User).join(Region, Region.id == User.scope_region_id).where(
        User.role == Role.LEADER, Region.level == RegionLevel.CITY))
    street = session.scalar(select(Region).where(Region.level == RegionLevel.STREET).order_by(Region.code))
    street_leader = session.scalar(select(User).where(User.role == Role.LEADER, User.scope_region_id == street.id))
    if street_leader is None:  # the demo has no leader on every street: stand one up, read-only
        from civicgrid.dashboard.live import Viewer

        street_leader = Viewer(-1, Role.LEADER, None, street.path, street.id)
    return [("city leader", city_leader, city_leader.scope_region), ("street leader", street_leader, street)]


def _time(fn, runs: int) -> tuple[float, float]:
    fn()  # warm caches and plans once
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(int(len(samples) * 0.95) - 1, 0)]


def _queries(url: str, runs: int) -> list[tuple[str, float, float]]:
    from civicgrid import db as dbmod
    from civicgrid.assessment import service as assessment
    from civicgrid.assessment.kpis import Period
    from civicgrid.dashboard import service as dash
    from civicgrid.db import utcnow
    from civicgrid.reports.service import build_report, previous_month

    engine = dbmod.make_engine(url)
    dbmod.set_engine(engine)
    rows = []
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        now = utcnow()
        month = previous_month(now)
        this_month = Period.parse(None, now)
        for who, actor, region in _viewers(session):
            scenarios = [
                ("live counters (today)", lambda: dash.counters(session=session, actor=actor, region=region, now=now)),
                ("map layer (children × open/overdue/30-day)",
                 lambda: dash.map_layer(session=session, actor=actor, region=region, now=now)),
                ("30-day trends (class × day, channel × day)",
                 lambda: dash.trends(session=session, actor=actor, region=region, now=now)),
                ("top categories (30 days)",
                 lambda: dash.top_categories(session=session, actor=actor, region=region, now=now)),
                ("units with most overdue", lambda: dash.units_most_overdue(session=session, actor=actor,
                                                                           region=region, now=now)),
                ("latest urgent cases", lambda: dash.urgent_cases(session=session, actor=actor, region=region)),
                ("hotspots (week over week)", lambda: dash.hotspots(session=session, actor=actor, region=region,
                                                                    now=now)),
                ("KPIs, last month (all counts and rates)",
                 lambda: dash.month_kpis(session=session, actor=actor, region=region, period=month, now=now)),
                ("KPIs, this month", lambda: dash.month_kpis(session=session, actor=actor, region=region,
                                                             period=this_month, now=now)),
                ("ranking of child regions (+ previous month)",
                 lambda: assessment.region_ranking(session=session, actor=actor, region=region, period=month,
                                                   now=now)),
                ("ranking of units (+ previous month)",
                 lambda: assessment.unit_ranking(session=session, actor=actor, region=region, period=month, now=now)),
            ]

            def whole(scen=scenarios):
                for _, fn in scen[:9]:
                    fn()

            scenarios.append(("whole /api/dashboard (all panels)", whole))
            for name, fn in scenarios:
                p50, p95 = _time(fn, runs)
                rows.append((f"{who} · {name}", p50, p95))
                print(f"  {who:13s} {name:48s} p50 {p50:8.1f} ms  p95 {p95:8.1f} ms"
                      f"  {'ok' if p95 < TARGET_P95_MS else 'OVER'}", flush=True)
        city = _viewers(session)[0][2]
        t0 = time.perf_counter()
        build_report(session=session, region=city, period=month, now=now)
        print(f"  monthly report data for the city (once, not a dashboard call): "
              f"{(time.perf_counter() - t0) * 1000:.0f} ms", flush=True)
    return rows


def _fan_out(url: str) -> None:
    """Serve the app, connect FAN_OUT SSE dashboards, commit a new case, time each dashboard's update."""
    import httpx
    import uvicorn
    from sqlalchemy import select

    from civicgrid import db as dbmod
    from civicgrid.app import create_app
    from civicgrid.auth.models import Role, User
    from civicgrid.auth.service import issue_token
    from civicgrid.db import unit_of_work, utcnow
    from civicgrid.events.models import Case, Channel
    from civicgrid.events.workflow import CaseState
    from civicgrid.regions.models import Region, RegionLevel

    os.environ["CIVICGRID_SCHEDULER_ENABLED"] = "false"
    from civicgrid.settings import get_settings

    get_settings.cache_clear()
    dbmod.set_engine(dbmod.make_engine(url))
    with unit_of_work() as session:
        leader = session.scalar(select(User).join(Region, Region.id == User.scope_region_id).where(
            User.role == Role.LEADER, Region.level == RegionLevel.CITY))
        token = issue_token(leader)
        districts = list(session.scalars(select(Region).where(Region.level == RegionLevel.DISTRICT)
                                         .order_by(Region.code)))
        grid = session.scalar(select(Region).where(Region.level == RegionLevel.GRID,
                                                   Region.path.startswith(districts[0].path)).order_by(Region.code))
        template = session.scalar(select(Case).where(Case.grid_id == grid.id).limit(1))
        targets = [leader.scope_region_id if i % 2 == 0 else districts[0].id for i in range(FAN_OUT)]
    port = 18765
    server = uvicorn.Server(uvicorn.Config(create_app(start_scheduler=False), host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)

    async def run() -> list[float]:
        ready = 0
        all_ready = asyncio.Event()
        committed_at: list[float] = []
        got: list[float] = []
        limits = httpx.Limits(max_connections=FAN_OUT + 10)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=60,
                                     headers={"Authorization": f"Bearer {token}"}) as client:

            async def dashboard(region_id: int) -> None:
                nonlocal ready
                async with client.stream("GET", f"/api/dashboard/stream?region={region_id}") as r:
                    events = 0
                    async for line in r.aiter_lines():
                        if not line.startswith("data:"):
                            continue
                        events += 1
                        if events == 1:
                            ready += 1
                            if ready == FAN_OUT:
                                all_ready.set()
                        elif committed_at:
                            got.append(time.perf_counter() - committed_at[0])
                            return

            tasks = [asyncio.create_task(dashboard(rid)) for rid in targets]
            await asyncio.wait_for(all_ready.wait(), 120)
            await asyncio.sleep(1.5)

            def commit() -> None:
                with unit_of_work() as session:
                    now = utcnow()
                    session.add(Case(number=f"BENCH{uuid.uuid4().hex[:10]}", channel=Channel.HOTLINE,
                                     category_id=template.category_id, request_type=template.request_type,
                                     title="fan-out", description="bench", region_id=grid.id, region_path=grid.path,
                                     grid_id=grid.id, level=grid.level, desk_region_id=template.desk_region_id,
                                     desk_path=template.desk_path, state=CaseState.REPORTED, received_at=now))

            await asyncio.to_thread(commit)
            committed_at.append(time.perf_counter())
            await asyncio.wait_for(asyncio.gather(*tasks), 60)
            return got

    try:
        latencies = sorted(asyncio.run(run()))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    p50 = statistics.median(latencies) * 1000
    p95 = latencies[max(int(len(latencies) * 0.95) - 1, 0)] * 1000
    print(f"  SSE fan-out: {len(latencies)} dashboards updated after one commit — p50 {p50:.0f} ms, p95 {p95:.0f} ms,"
          f" max {latencies[-1] * 1000:.0f} ms (target: all within 2,000 ms)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--reuse", help="an already built database URL")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--no-fan-out", action="store_true")
    parser.add_argument("--fan-out-only", action="store_true")
    args = parser.parse_args()
    print_machine([PG_ADMIN])
    plans = []
    if args.reuse:
        plans.append(("reused", args.reuse, None))
    else:
        if args.only in (None, "sqlite"):
            folder = tempfile.mkdtemp(prefix="cg-bench-dash-")
            plans.append(("SQLite", f"sqlite:///{folder}/bench.sqlite3", None))
        if args.only in (None, "postgresql"):
            name = f"cg_bench_dash_{uuid.uuid4().hex[:8]}"
            plans.append(("PostgreSQL", PG_ADMIN.rsplit("/", 1)[0] + "/" + name, name))
    for label, url, pg_name in plans:
        print(f"\n== {label}: {url}", flush=True)
        admin = None
        if pg_name:
            from sqlalchemy import create_engine, text

            admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{pg_name}"'))
        try:
            if label != "reused":
                _build(url, args.cases)
            if pg_name:
                from sqlalchemy import create_engine, text

                with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
                    conn.execute(text("VACUUM ANALYZE"))
            if not args.fan_out_only:
                _queries(url, args.runs)
            if not args.no_fan_out:
                _fan_out(url)
        finally:
            if pg_name and not args.keep and admin is not None:
                from sqlalchemy import text

                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
            elif not pg_name and not args.keep and label != "reused":
                Path(url.split("///", 1)[1]).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
