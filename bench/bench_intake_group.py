"""The intake committer's own cost per case, by group size, measured so that runs can be compared.

``bench_intake.py`` measures the whole server under wrk; on a shared 2-core host its figures move
by ±20 % from run to run, more than most single changes to the committer are worth. This bench
takes the HTTP side and the load generator away: it runs ``intake_queue.take_in_group`` in one
process, on a throwaway PostgreSQL database with the small demo city (or SQLite with
``--database sqlite``), for groups of 1, 8 and 32 reports like the API's (each answered with the
API's view of its case), and prints per case

* CPU milliseconds (median of 5 runs; moves with the host's load), and
* with ``--callgrind``, the instructions executed (valgrind's callgrind, counted only inside the
  measured loop): the same code on the same data gives the same count to within about 1 %,
  whatever else the machine is doing. Use it to compare two versions of the committer.

From the counts for 1 and 32 it splits the cost into what a group pays once (its reads, the
commit) and what each report adds: the first is what grouping shares.

    .venv/bin/python bench/bench_intake_group.py [--database postgresql|sqlite] [--callgrind]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import print_machine  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CIVICGRID = ROOT / ".venv" / "bin" / "civicgrid"
PG_ADMIN = os.environ.get("CIVICGRID_BENCH_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SIZES = (1, 8, 32)
CASES_PER_SIZE = 240  # per run: 240 groups of 1, 30 of 8, 8 (rounded up) of 32


def _measure(size: int, runs: int, callgrind: bool) -> dict:
    """In this process (the database URL is in the environment): CPU ms per case for ``size``."""
    from sqlalchemy import select

    from civicgrid.audit.service import Origin
    from civicgrid.auth.models import User
    from civicgrid.auth.service import issue_token, read_token
    from civicgrid.db import unit_of_work
    from civicgrid.events.intake_queue import _Waiting, take_in_group
    from civicgrid.events.routes import present
    from civicgrid.events.schemas import CaseCreate
    from civicgrid.regions.models import Region, RegionLevel

    with unit_of_work() as session:
        operator = session.scalar(select(User).where(User.username == "city_operator"))
        claim = read_token(issue_token(operator))
        points = [(r.centroid_lat, r.centroid_lon) for r in session.scalars(
            select(Region).where(Region.level == RegionLevel.GRID).order_by(Region.id).limit(300))]
    categories = ["EV0101", "EV0402", "EV0401", "CP0101", "CP0201", "GV0301", "EV0301", "GV0101", "EV0201", "CP0402"]
    counter = 0

    def group() -> list[_Waiting]:
        nonlocal counter
        items = []
        for _ in range(size):
            counter += 1
            lat, lon = points[counter % len(points)]
            data = CaseCreate.model_validate({
                "channel": "hotline_12345", "category_code": categories[counter % len(categories)],
                "description": f"压测事件 {counter}：小区门口垃圾堆放", "lat": lat + (counter % 7) * 1e-5, "lon": lon})
            items.append(_Waiting(claim, Origin("api"), data, lambda case, actor, created: (
                present(case, actor, "zh"), created)))
        return items

    for _ in range(max(3, 24 // size)):  # warm: caches, prepared statements, the grid index
        take_in_group(group())
    groups_per_run = -(-CASES_PER_SIZE // size)
    cpu_ms = []
    if callgrind:
        subprocess.run(["callgrind_control", "--instr=on", str(os.getpid())], capture_output=True, check=False)
    for _ in range(runs):
        groups = [group() for _ in range(groups_per_run)]
        start = time.process_time()
        for items in groups:
            take_in_group(items)
            for item in items:
                item.future.result()  # raises if a report was refused: the bench must not count failures
        cpu_ms.append(1000 * (time.process_time() - start) / (groups_per_run * size))
    if callgrind:
        subprocess.run(["callgrind_control", "--instr=off", str(os.getpid())], capture_output=True, check=False)
    cpu_ms.sort()
    return {"size": size, "cases": groups_per_run * size * runs, "cpu_ms": cpu_ms[len(cpu_ms) // 2]}


def _instructions(out_file: Path) -> int:
    # "totals:", not "summary:": the summary is taken when the run ends, with counting already off.
    for line in out_file.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {out_file}")


def _run_child(env: dict[str, str], size: int, callgrind: bool, workdir: Path) -> dict:
    """One group size in a fresh process (under callgrind if asked): CPU ms and instructions per case."""
    cmd = [sys.executable, __file__, "--child", str(size)]
    if callgrind:
        out = workdir / f"callgrind.{size}.out"
        # PYTHONMALLOC=malloc: valgrind follows the system allocator faster than pymalloc's arenas.
        cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}", *cmd,
               "--runs", "1", "--callgrind"]
        env = {**env, "PYTHONMALLOC": "malloc"}
    done = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if callgrind:
        result["instructions_per_case"] = _instructions(out) / result["cases"]
    return result


def _prepare(kind: str, workdir: Path) -> tuple[str, str | None]:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.sqlite3'}", None
    from sqlalchemy import create_engine, text

    name = f"civicgrid_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name, name


def _drop(name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    """Measure the committer for each group size on a fresh database; print the figures and the machine."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--callgrind", action="store_true", help="also count instructions (valgrind)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_measure(args.child, args.runs, args.callgrind)))
        return
    if args.callgrind and shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed: apt-get install -y valgrind")
    print_machine([PG_ADMIN] if args.database == "postgresql" else [])
    workdir = Path(tempfile.mkdtemp(prefix="cg-bench-group-"))
    url, pg_name = _prepare(args.database, workdir)
    env = {**os.environ, "CIVICGRID_DATABASE_URL": url, "CIVICGRID_SCHEDULER_ENABLED": "false",
           "CIVICGRID_ENVIRONMENT": "demo", "CIVICGRID_UPLOAD_DIR": str(workdir / "uploads")}
    try:
        subprocess.run([str(CIVICGRID), "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([str(CIVICGRID), "demo", "--scale", "small", "--cases", "0"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        print(f"\nintake_queue.take_in_group on {args.database}, small demo city, "
              f"{CASES_PER_SIZE} reports per run, answers built as the API's")
        results = []
        for size in SIZES:
            r = _run_child(env, size, False, workdir)
            if args.callgrind:
                r["instructions_per_case"] = _run_child(env, size, True, workdir)["instructions_per_case"]
            results.append(r)
            line = f"  group of {size:>2}: {r['cpu_ms']:6.2f} ms CPU per case (median of {args.runs})"
            if args.callgrind:
                line += f", {r['instructions_per_case'] / 1e6:6.2f} M instructions per case"
            print(line, flush=True)
        if args.callgrind:
            one, many = results[0]["instructions_per_case"], results[-1]["instructions_per_case"]
            per_report = (many * SIZES[-1] - one) / (SIZES[-1] - 1)
            print(f"  split: {(one - per_report) / 1e6:.1f} M instructions once per group, "
                  f"{per_report / 1e6:.2f} M per report")
    finally:
        if pg_name:
            _drop(pg_name)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
