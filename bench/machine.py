"""Print the machine a benchmark ran on: platform, CPU, memory, load, Python and database versions.

Every bench script prints this next to its figures, so a number is never read without
knowing where (and under how much other load) it was measured.
"""

from __future__ import annotations

import os
import platform
import sys


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> str:
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _database_versions(urls: list[str]) -> list[str]:
    import sqlite3

    out = [f"SQLite {sqlite3.sqlite_version} (Python sqlite3 module)"]
    for url in urls:
        if not url.startswith("postgresql"):
            continue
        try:
            from sqlalchemy import create_engine, text

            engine = create_engine(url)
            with engine.connect() as conn:
                out.append(conn.execute(text("select version()")).scalar_one().split(",")[0])
            engine.dispose()
        except Exception as exc:  # the machine report must never stop a benchmark
            out.append(f"PostgreSQL: unavailable ({exc.__class__.__name__})")
    return out


def describe(database_urls: list[str] | None = None) -> str:
    """A few lines naming the machine, its current load and the software versions."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?", "?", "?")
    lines = [
        f"platform : {platform.platform()}",
        f"cpu      : {_cpu_model()} × {os.cpu_count()} logical",
        f"memory   : {_memory_gib()}",
        f"load avg : {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1/5/15 min; other work on the machine skews results)",
        f"python   : {platform.python_implementation()} {sys.version.split()[0]}",
    ]
    try:
        import sqlalchemy
        import uvicorn

        lines.append(f"libs     : SQLAlchemy {sqlalchemy.__version__}, uvicorn {uvicorn.__version__}")
    except ImportError:
        pass
    lines += [f"database : {v}" for v in _database_versions(database_urls or [])]
    return "\n".join(lines)


def print_machine(database_urls: list[str] | None = None) -> None:
    """Print ``describe()`` under a heading."""
    print("== machine ==")
    print(describe(database_urls))


if __name__ == "__main__":
    print_machine(["postgresql+psycopg://postgres@127.0.0.1:5432/postgres"])
