"""The periodic scans every domain needs (deadlines, obligations, petition reminders).

One list, run by the in-process watcher inside `civicgrid serve` and by
`civicgrid scheduler run-once`. Each job opens its own unit of work and is idempotent, so
several worker processes may run them at once.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("civicgrid.jobs")

# "module:function" — each function takes no argument and returns a printable result.
PERIODIC_JOBS: tuple[tuple[str, str, str], ...] = (
    ("civicgrid.events.scheduler:run_once", "事件时限", "case deadlines"),
    ("civicgrid.events.tally:refresh_if_stale", "统计台账重算与合并", "case tallies: rebuild if stale, compact"),
    ("civicgrid.mediation.scheduler:run_once", "调解协议履行与时限", "mediation obligations and deadlines"),
    ("civicgrid.petitions.scheduler:run_once", "信访办理时限提醒", "petition deadline reminders"),
    ("civicgrid.people.care:run_visit_scan", "重点人员走访逾期", "missed care visits"),
    ("civicgrid.people.care:run_nightly_if_due", "五色风险夜间重算（每日一次）", "nightly care and risk pass (once a day)"),
)


def _resolve(target: str) -> Callable[[], Any]:
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def run_all() -> list[tuple[str, str, Any]]:
    """Run every periodic job once; returns (label_zh, label_en, result) per job."""
    results = []
    for target, zh, en in PERIODIC_JOBS:
        results.append((zh, en, _resolve(target)()))
    return results


class PeriodicWatcher:
    """A daemon thread that runs every job each interval until stopped; one failing job does not stop the rest."""

    def __init__(self, interval_seconds: int) -> None:
        self.interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="civicgrid-jobs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            for target, _zh, en in PERIODIC_JOBS:
                try:
                    _resolve(target)()
                except Exception:  # the next round retries; a broken job must not silence the others
                    log.exception("periodic job failed: %s", en)
