"""Intake throughput: `civicgrid serve --workers 2` on a fresh database, driven by wrk.

For SQLite and then PostgreSQL (a throwaway database on 127.0.0.1:5432, user postgres):
build the small demo city without history, start the server, then from a separate load
process run the bare ``/healthz`` (the yardstick) and ``POST /api/cases`` with a bearer
token, each for a bounded time, and print requests/s, the ratio and p50/p95 latency.

    .venv/bin/python bench/bench_intake.py [--seconds 15] [--connections 16,64] [--only sqlite|postgresql]
                                           [--profile]   # py-spy the workers during the case run

Each load level (concurrent connections) is run against the same server in turn. Throughput
is the best level's; every level's figures and latency are printed, because grouped intake
costs less per report the more reports arrive together (docs/architecture.md, "Intake throughput").

Needs `wrk` (apt-get install -y wrk). Target: ≥ 500 cases/s on PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import print_machine  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CIVICGRID = ROOT / ".venv" / "bin" / "civicgrid"
PG_ADMIN = os.environ.get("CIVICGRID_BENCH_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
TARGET_PG = 500.0

LUA_REPORT = """
done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
               + summary.errors.write + summary.errors.timeout
  io.write(string.format("JSON{\\"requests\\": %d, \\"seconds\\": %f, \\"p50_ms\\": %f, \\"p95_ms\\": %f, "
    .. "\\"p99_ms\\": %f, \\"errors\\": %d, \\"non2xx\\": %d}\\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(95) / 1e3,
    latency:percentile(99) / 1e3, errors, summary.errors.status))
end
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepare(url: str, env: dict[str, str]) -> tuple[str, list[tuple[float, float]]]:
    """Migrate, build the demo city without history; return an operator token and grid centroids."""
    subprocess.run([str(CIVICGRID), "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([str(CIVICGRID), "demo", "--scale", "small", "--cases", "0"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    code = (
        "from sqlalchemy import select\n"
        "from civicgrid.db import unit_of_work\n"
        "from civicgrid.auth.models import User\n"
        "from civicgrid.auth.service import issue_token\n"
        "from civicgrid.regions.models import Region, RegionLevel\n"
        "import json\n"
        "with unit_of_work() as s:\n"
        "    u = s.scalar(select(User).where(User.username == 'city_operator'))\n"
        "    pts = [(r.centroid_lat, r.centroid_lon) for r in s.scalars(select(Region).where("
        "Region.level == RegionLevel.GRID).limit(300))]\n"
        "    print(json.dumps({'token': issue_token(u), 'points': pts}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True).stdout
    data = json.loads(out.strip().splitlines()[-1])
    return data["token"], [tuple(p) for p in data["points"]]


def _case_script(token: str, points: list[tuple[float, float]], path: Path) -> None:
    """A wrk Lua script posting varied cases (category, position, text) with the bearer token."""
    cats = ["EV0101", "EV0402", "EV0401", "CP0101", "CP0201", "GV0301", "EV0301", "GV0101", "EV0201", "CP0402"]
    lua_points = ",".join(f"{{{lat:.6f},{lon:.6f}}}" for lat, lon in points)
    lua_cats = ",".join(f'"{c}"' for c in cats)
    path.write_text(f"""
local points = {{{lua_points}}}
local cats = {{{lua_cats}}}
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
request = function()
  counter = counter + 1
  local p = points[(counter % #points) + 1]
  local c = cats[(counter % #cats) + 1]
  local body = string.format('{{"channel":"hotline_12345","category_code":"%s","description":"压测事件 %d：小区门口垃圾堆放","lat":%f,"lon":%f}}',
                             c, counter, p[1] + (counter % 7) * 0.00001, p[2])
  return wrk.format(nil, "/api/cases", nil, body)
end
{LUA_REPORT}
""", encoding="utf-8")


def _wrk(url: str, seconds: int, connections: int, script: Path) -> dict:
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s", "-s", str(script), url],
        check=True, capture_output=True, text=True,
    ).stdout
    line = next(row for row in out.splitlines() if row.startswith("JSON"))
    result = json.loads(line[4:])
    result["rps"] = result["requests"] / result["seconds"]
    return result


def _serve(env: dict[str, str], port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [str(CIVICGRID), "serve", "--port", str(port), "--workers", "2", "--no-access-log", "--log-level", "warning"],
        env=env, start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                time.sleep(1.0)  # let the second worker finish starting too
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    _stop(proc)
    raise RuntimeError("server did not start")


def _cpu_by_kind(server_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the server's processes, PostgreSQL's and wrk's (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {"app": 0.0, "postgres": 0.0, "wrk": 0.0}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        pgid = int(fields[2])
        seconds = (int(fields[11]) + int(fields[12])) / tick
        if pgid == server_pid or int(entry.name) == server_pid:
            used["app"] += seconds
        elif comm.startswith("postgres"):
            used["postgres"] += seconds
        elif comm == "wrk":
            used["wrk"] += seconds
    return used


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


def _profile(proc: subprocess.Popen, seconds: int, out: Path) -> None:
    """py-spy the worker processes during the case run (speedscope-free: a flat top list, per thread)."""
    spy = shutil.which("py-spy") or str(ROOT / ".venv" / "bin" / "py-spy")
    if not Path(spy).exists():
        print("  (py-spy not installed: pip install py-spy)")
        return
    subprocess.Popen([spy, "record", "--pid", str(proc.pid), "--subprocesses", "--duration", str(seconds),
                      "--format", "raw", "--threads", "--output", str(out), "--nonblocking"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def summarize_profile(path: Path, top: int = 25) -> str:
    """Inclusive and self time per function from py-spy's collapsed stacks ("a;b;c count" lines)."""
    from collections import Counter

    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = committer = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        committer += n if "_Committer._run" in stack else 0
        frames = [f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0].rsplit("/", 1)[-1] + ")"
                  if " (" in f else f for f in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] += n
        own[frames[-1]] += n
    if not total:
        return "  (no samples)"
    # Sampled per thread (--threads): the committer thread against the event loop that parses
    # requests and writes answers.
    lines = [f"  {total} samples: committer thread {100 * committer / total:.0f} %, "
             f"event loops and the rest {100 * (total - committer) / total:.0f} %"]
    lines += ["  inclusive (share of all worker samples):"]
    lines += [f"    {100 * n / total:5.1f}%  {f}" for f, n in inclusive.most_common(top * 3)
              if "civicgrid" in f or any(k in f for k in ("execute", "flush", "commit", "validate", "serialize",
                                                             "hash", "loads", "dumps", "connect"))][:top]
    lines += ["  self (where the CPU actually is):"]
    lines += [f"    {100 * n / total:5.1f}%  {f}" for f, n in own.most_common(15)]
    return "\n".join(lines)


def _run_level(proc: subprocess.Popen, port: int, connections: int, seconds: int, health: Path, cases: Path,
               profile_out: Path | None) -> dict:
    """The bare endpoint, then intake, at one number of connections; prints and returns the figures.

    With ``profile_out``, py-spy samples the workers during the intake run into that file.
    """
    print(f"  -- {connections} connections --")
    _wrk(f"http://127.0.0.1:{port}/healthz", 2, connections, health)  # warm-up
    h = _wrk(f"http://127.0.0.1:{port}/healthz", seconds, connections, health)
    if profile_out is not None:
        _profile(proc, seconds, profile_out)
    before = _cpu_by_kind(proc.pid)
    c = _wrk(f"http://127.0.0.1:{port}/", seconds, connections, cases)
    after = _cpu_by_kind(proc.pid)
    print(f"  healthz : {h['rps']:>8,.0f} req/s   p50 {h['p50_ms']:6.1f} ms   p95 {h['p95_ms']:6.1f} ms"
          f"   errors {h['errors']}")
    print(f"  cases   : {c['rps']:>8,.0f} cases/s p50 {c['p50_ms']:6.1f} ms   p95 {c['p95_ms']:6.1f} ms"
          f"   errors {c['errors']} (non-2xx {c['non2xx']})")
    print(f"  ratio   : cases/s ÷ healthz req/s = {c['rps'] / h['rps']:.3f}")
    # wrk's own CPU is not visible until it exits; it is measured by its process group only while alive.
    cpu = {k: after[k] - before[k] for k in ("app", "postgres")}
    print(f"  CPU per case: server {1000 * cpu['app'] / max(c['requests'], 1):.2f} ms, "
          f"PostgreSQL {1000 * cpu['postgres'] / max(c['requests'], 1):.2f} ms "
          f"(of {os.cpu_count()} cores × {c['seconds']:.0f} s)", flush=True)
    return {"connections": connections, "healthz": h, "cases": c,
            "cpu_ms_per_case": {k: 1000 * v / max(c["requests"], 1) for k, v in cpu.items()}}


def run_one(kind: str, args) -> dict:
    """Benchmark one database kind; returns the figures."""
    workdir = Path(tempfile.mkdtemp(prefix=f"cg-bench-intake-{kind}-"))
    pg_name = None
    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    else:
        from sqlalchemy import create_engine, text

        pg_name = f"civicgrid_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{pg_name}"'))
        admin.dispose()
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + pg_name
    env = {**os.environ, "CIVICGRID_DATABASE_URL": url, "CIVICGRID_SCHEDULER_ENABLED": "false",
           "CIVICGRID_ENVIRONMENT": "demo", "CIVICGRID_UPLOAD_DIR": str(workdir / "uploads")}
    try:
        print(f"\n== {kind}: preparing {url} ==", flush=True)
        token, points = _prepare(url, env)
        port = _free_port()
        health = workdir / "health.lua"
        health.write_text(LUA_REPORT, encoding="utf-8")
        cases = workdir / "cases.lua"
        _case_script(token, points, cases)
        proc = _serve(env, port)
        levels = []
        try:
            for i, connections in enumerate(args.connections):
                # --profile samples the last (heaviest) level only: py-spy writes one file per run.
                profiled = args.profile and i == len(args.connections) - 1
                levels.append(_run_level(proc, port, connections, args.seconds, health, cases,
                                         workdir / f"profile-{kind}.txt" if profiled else None))
        finally:
            _stop(proc)
        result = {"kind": kind, "levels": levels}
        if args.profile:
            time.sleep(2)  # py-spy writes its file when its duration ends
            if (workdir / f"profile-{kind}.txt").exists():
                result["profile"] = str(workdir / f"profile-{kind}.txt")
                print(f"  profile : {result['profile']}")
                print(summarize_profile(workdir / f"profile-{kind}.txt"))
        return result
    finally:
        if pg_name:
            from sqlalchemy import create_engine, text

            admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
            admin.dispose()
        if not args.profile:
            shutil.rmtree(workdir, ignore_errors=True)


def _levels(text: str) -> list[int]:
    """``16,64`` → [16, 64]; argparse reports a ValueError as an invalid value."""
    levels = [int(n) for n in text.split(",")]
    if any(n < 1 for n in levels):
        raise ValueError(text)
    return levels


def main() -> None:
    """Run the intake benchmark on SQLite and PostgreSQL and print the figures and the machine."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=_levels, default=[16, 64],
                        help="load levels, comma-separated (default 16,64)")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    print_machine([PG_ADMIN])
    print(f"\nload: wrk, 2 threads, {'/'.join(map(str, args.connections))} keep-alive connections in turn, "
          f"{args.seconds} s per endpoint and level; "
          "server: civicgrid serve --workers 2 (uvicorn httptools/uvloop), scheduler off")
    results = [run_one(kind, args) for kind in ("sqlite", "postgresql") if args.only in (None, kind)]
    print("\n== summary ==")
    print(f"{'database':<11} {'conns':>5} {'healthz req/s':>14} {'cases/s':>9} {'ratio':>7} {'case p50':>9} "
          f"{'case p95':>9}")
    for r in results:
        for level in r["levels"]:
            h, c = level["healthz"], level["cases"]
            print(f"{r['kind']:<11} {level['connections']:>5} {h['rps']:>14,.0f} {c['rps']:>9,.0f} "
                  f"{c['rps'] / h['rps']:>7.3f} {c['p50_ms']:>7.1f}ms {c['p95_ms']:>7.1f}ms")
    for r in results:
        if r["kind"] == "postgresql":
            best = max(r["levels"], key=lambda level: level["cases"]["rps"])
            verdict = "met" if best["cases"]["rps"] >= TARGET_PG else "NOT met"
            print(f"target ≥ {TARGET_PG:.0f} cases/s on PostgreSQL: {verdict} (best level: "
                  f"{best['cases']['rps']:,.0f} cases/s at {best['connections']} connections, "
                  f"p95 {best['cases']['p95_ms']:.0f} ms)")


if __name__ == "__main__":
    main()
