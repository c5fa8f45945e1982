"""Person import and search at a city's scale: 1,000,000 persons from CSV with matching, then search p95.

Run: ``.venv/bin/python bench/bench_people.py [--persons 1000000] [--db sqlite|postgresql|both]``

For each database (a throwaway SQLite file or a throwaway PostgreSQL database on
127.0.0.1:5432), on the small fictional test city:

1. yardsticks measured in the same run: parsing + validating + sealing the CSV rows with no
   database (the Python cost of GB 11643 checks, AES-GCM and HMAC), and a plain bulk insert
   of as many person-shaped rows into a scratch table (the database's raw rate);
2. the real import (``import_persons``: matching, provenance, per-row report, one
   transaction) of N new persons, with the process's resident memory sampled through the run
   (flat memory = the same RSS at 10 % and at 100 %);
3. a second, overlapping department file (10 % of N: half known ID numbers with a newer
   address, a quarter known by name + birth date + phone, a quarter new) — the matching path;
4. person search p95 over 1,000 queries each of: start of a name, full ID number, full phone
   (the page query with its capped count, as the list page runs it).

Targets (issue 3): import under 5 minutes with flat memory; search p95 under 100 ms.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from machine import print_machine  # noqa: E402

PG_ADMIN = os.environ.get("CIVICGRID_BENCH_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉斌建国红梅文海波宇浩然子涵雨欣一诺梓轩欣怡思远博文嘉怡晨曦俊杰"
REGION6 = ["350102", "350103", "350104", "350105", "350111", "350121", "350122", "110105", "310101", "440103"]


def rss_mib() -> float:
    """This process's resident set size now."""
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class RssSampler:
    """Samples RSS every 0.5 s in a thread; reports it at fractions of the run."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        start = time.perf_counter()
        while not self._stop.wait(0.5):
            self.samples.append((time.perf_counter() - start, rss_mib()))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def at(self, fraction: float) -> float:
        if not self.samples:
            return rss_mib()
        return self.samples[min(len(self.samples) - 1, int(fraction * (len(self.samples) - 1)))][1]


def person_rows(n: int, seed: int, grids: list[str]):
    """N synthetic persons: (name, id, phone, grid, address, born); IDs valid and unique."""
    from civicgrid.people.identity import make_citizen_id

    rng = random.Random(seed)
    seen: set[str] = set()
    base = dt.date(1930, 1, 1)
    while len(seen) < n:
        born = base + dt.timedelta(days=rng.randrange(0, 33_000))
        number = make_citizen_id(rng.choice(REGION6), born, rng.randrange(1000))
        if number in seen:
            continue
        seen.add(number)
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
        phone = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
        yield name, number, phone, rng.choice(grids), f"幸福路{rng.randrange(1, 400)}号{rng.randrange(1, 30)}栋", born


HEADER = ["姓名", "证件号码", "出生日期", "性别", "联系电话", "人口类型", "网格编码", "居住地址"]


def write_csv(path: Path, rows) -> int:
    n = 0
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for row in rows:
            w.writerow(row)
            n += 1
    return n


def make_database(kind: str) -> tuple[str, callable]:
    """A fresh migrated database URL and a cleanup function."""
    from sqlalchemy import create_engine, text

    from civicgrid.migrations import upgrade

    if kind == "postgresql":
        name = f"civicgrid_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name

        def cleanup() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    else:
        folder = Path(tempfile.mkdtemp(prefix="civicgrid-bench-"))
        url = f"sqlite:///{folder / 'bench.sqlite3'}"

        def cleanup() -> None:
            for p in folder.iterdir():
                p.unlink()
            folder.rmdir()
    upgrade(url)
    return url, cleanup


def bench(kind: str, n: int, workdir: Path) -> None:
    from argon2 import PasswordHasher
    from sqlalchemy import Column, Date, Integer, LargeBinary, MetaData, String, Table, insert, select
    from sqlalchemy.orm import Session

    from civicgrid import db as dbmod
    from civicgrid.audit.service import Origin
    from civicgrid.auth import passwords
    from civicgrid.people import importer, service
    from civicgrid.people.models import Person
    from civicgrid.regions.models import Region, RegionLevel
    from tests.factories import build_world

    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # 16 demo users, not the point
    print(f"\n== {kind}: {n:,} persons ==")
    url, cleanup = make_database(kind)
    engine = dbmod.make_engine(url)
    dbmod.set_engine(engine)
    origin = Origin("bench")
    try:
        with Session(engine, expire_on_commit=False) as session:
            world = build_world(session)
            session.commit()
            grids = [r.code for r in session.scalars(select(Region).where(Region.level == RegionLevel.GRID))]
            admin = world.users["admin"]

        first = workdir / "persons.csv"
        t = time.perf_counter()
        write_csv(first, ((name, number, "", "", phone, "户籍人口", grid, addr)
                          for name, number, phone, grid, addr, _ in person_rows(n, 1, grids)))
        print(f"generated {first.name}: {first.stat().st_size / 2**20:.0f} MiB in {time.perf_counter() - t:.1f} s")

        # Yardstick 1: parse + validate + seal, no database.
        sample = min(n, 200_000)
        with first.open("rb") as f:
            rows = importer.read_rows(f, "x.csv")
            cols = importer._header_map(next(rows), importer.PERSON_COLUMNS)

            class _R:
                def by_code(self, code):
                    return code  # stands in for the Region: the lookup is cached per file anyway

            regions = _R()
            today = dt.date.today()
            t = time.perf_counter()
            for i, row in enumerate(rows):
                if i >= sample:
                    break
                importer.parse_person_row(row, cols, i, regions, today, today)
            parse_rate = sample / (time.perf_counter() - t)
        print(f"yardstick  parse+validate+seal (no DB)  : {parse_rate:,.0f} rows/s")

        # Yardstick 2: raw bulk insert of person-shaped rows into a scratch table.
        scratch = Table("bench_scratch", MetaData(), Column("id", Integer, primary_key=True),
                        Column("name", String(60)), Column("id_cipher", LargeBinary), Column("id_hash", String(32)),
                        Column("birth_date", Date), Column("region_path", String(255)))
        scratch.create(engine)
        blob = os.urandom(47)
        with Session(engine) as session:
            t = time.perf_counter()
            batch = []
            for i in range(n):
                batch.append({"name": "张伟", "id_cipher": blob, "id_hash": f"{i:032x}", "birth_date": dt.date(1980, 1, 1),
                              "region_path": "/990100000000/990102000000/"})
                if len(batch) == 5000:
                    session.execute(insert(scratch), batch)
                    batch = []
            if batch:
                session.execute(insert(scratch), batch)
            session.commit()
            raw_rate = n / (time.perf_counter() - t)
        scratch.drop(engine)
        print(f"yardstick  plain bulk insert            : {raw_rate:,.0f} rows/s")

        # The import itself.
        with RssSampler() as rss, Session(engine, expire_on_commit=False) as session:
            before = rss_mib()
            t = time.perf_counter()
            with first.open("rb") as f:
                report = importer.import_persons(session=session, actor=admin, origin=origin, stream=f,
                                                 filename=first.name, source="公安", as_of=dt.date.today(),
                                                 keep_items=100)
            session.commit()
            seconds = time.perf_counter() - t
        print(f"import     {n:,} new persons             : {seconds:,.1f} s = {n / seconds:,.0f} rows/s "
              f"(target < 300 s) counts={report.counts}")
        print(f"memory     RSS before {before:,.0f} MiB · at 10% {rss.at(0.1):,.0f} · 50% {rss.at(0.5):,.0f} · "
              f"100% {rss.at(1.0):,.0f} MiB (flat = the same from 10% on)")

        # A second department's overlapping file: the matching path.
        m = max(10, n // 10)
        rng = random.Random(3)
        known = list(person_rows(n, 1, grids))  # regenerated (same seed): no need to keep them from above
        picks = rng.sample(range(n), m)
        second = workdir / "civil.csv"

        def overlap(known):
            for j, k in enumerate(picks):
                name, number, phone, grid, addr, born = known[k]
                if j % 4 in (0, 1):
                    yield name, number, "", "", phone, "户籍人口", grid, addr + "（新）"       # known ID, newer address
                elif j % 4 == 2:
                    yield name, "", born.isoformat(), "", phone, "户籍人口", grid, addr    # name + birth + phone
            for name, number, phone, grid, addr, _born in person_rows(m // 4, 99, grids):
                yield name, number, "", "", phone, "流动人口", grid, addr                  # new
        write_csv(second, overlap(known))
        del known
        with Session(engine, expire_on_commit=False) as session:
            t = time.perf_counter()
            with second.open("rb") as f:
                report2 = importer.import_persons(session=session, actor=admin, origin=origin, stream=f,
                                                  filename=second.name, source="民政", as_of=dt.date.today(),
                                                  keep_items=100)
            session.commit()
            s2 = time.perf_counter() - t
        rows2 = sum(report2.counts.values())
        print(f"import     overlapping file {rows2:,} rows  : {s2:,.1f} s = {rows2 / s2:,.0f} rows/s counts={report2.counts}")

        # Search p95 at this size.
        with Session(engine, expire_on_commit=False) as session:
            total = session.query(Person).count()
            sample_rows = list(person_rows(n, 1, grids))[:: max(1, n // 1000)][:1000]
            kinds = {
                "name prefix": [r[0][:2] for r in sample_rows],
                "full ID number": [r[1] for r in sample_rows],
                "full phone": [r[2] for r in sample_rows],
            }
            operator = world.users["district_op"]
            for label, queries in kinds.items():
                times = []
                for q in queries:
                    t = time.perf_counter()
                    service.search_persons(session=session, actor=operator, query=service.PersonQuery(q=q), limit=20)
                    times.append((time.perf_counter() - t) * 1000)
                times.sort()
                p95 = times[int(len(times) * 0.95) - 1]
                print(f"search     {label:<15} ({total:,} persons): p50 {statistics.median(times):.1f} ms · "
                      f"p95 {p95:.1f} ms · max {times[-1]:.1f} ms (target p95 < 100 ms)")
    finally:
        dbmod.set_engine(None)
        engine.dispose()
        cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    os.environ.setdefault("CIVICGRID_ENVIRONMENT", "dev")
    print_machine([PG_ADMIN] if args.db != "sqlite" else [])
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    with tempfile.TemporaryDirectory(prefix="civicgrid-people-") as folder:
        for kind in kinds:
            bench(kind, args.persons, Path(folder))


if __name__ == "__main__":
    main()
