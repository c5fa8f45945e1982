"""Group commit for intake (合并提交): many reports arriving at once share one transaction.

Each server process has one committer thread. A request checks its token's signature and
validates its report, hands it to the committer and waits. The committer takes every report
waiting (at most ``intake_group_max``), under load waits for more while they keep arriving
(``gather``, up to ``intake_group_wait_ms``), and takes them in together with ``intake_cases``, in one
transaction; once it has committed, each request gets its own answer. Under light load a group
is a single report, so nothing waits longer than it would alone; under load the costs a
transaction has whatever its size (round trips, reading the senders, categories and places, the
commit) are shared by the group. That is what lets one process take in hundreds of reports a
second (bench/bench_intake.py).

A request is answered only after the transaction holding its case committed: nothing
acknowledged is lost. If a group's transaction fails (a client key racing another process, a
dropped connection, a fault), its reports are taken in again one by one, so a bad report fails
alone and the others still get their cases.

Inside the test suite's shared session, and where the setting turns grouping off, a report is
taken in directly in the calling thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload
from starlette.concurrency import run_in_threadpool

from civicgrid import db
from civicgrid.audit.service import Origin
from civicgrid.auth.models import User
from civicgrid.auth.service import TokenClaim, claimed_user
from civicgrid.errors import NotAuthenticated
from civicgrid.events.intake import IntakeRequest, intake_case, intake_cases
from civicgrid.events.models import Case
from civicgrid.events.schemas import CaseCreate
from civicgrid.settings import get_settings

log = logging.getLogger(__name__)

# Builds a request's answer from its case (and who sent it, and whether it is new), inside the
# transaction, so the case's relations still load.
Answer = Callable[[Case, "User | None", bool], Any]


@dataclass
class _Waiting:
    claim: TokenClaim | None  # who the request's token says sent it; checked in the group's transaction
    origin: Origin
    data: CaseCreate
    answer: Answer
    future: Future = field(default_factory=Future)


def _senders(session: Session, items: list[_Waiting]) -> dict[int, User]:
    """The accounts the items' tokens name, in one read (checked per item by ``claimed_user``)."""
    ids = {i.claim.user_id for i in items if i.claim is not None}
    if not ids:
        return {}
    # With their region (the API's answer offers the actions their level allows), not their unit
    # (loaded on access: only its id is needed).
    return {u.id: u for u in session.scalars(select(User).options(lazyload(User.unit)).where(User.id.in_(ids)))}


def _sender(senders: dict[int, User], item: _Waiting) -> User | None:
    """The item's sender if their account is active and the token not revoked, else NotAuthenticated."""
    return None if item.claim is None else claimed_user(senders.get(item.claim.user_id), item.claim)


def _alone(item: _Waiting) -> Any:
    """One report in its own transaction (the path every other caller of ``intake_case`` takes)."""
    with db.unit_of_work() as session:
        actor = _sender(_senders(session, [item]), item)
        case, created = intake_case(session=session, actor=actor, origin=item.origin, data=item.data)
        return item.answer(case, actor, created)


def _settle(item: _Waiting, run: Callable[[], Any]) -> None:
    try:
        item.future.set_result(run())
    except BaseException as error:  # the request thread re-raises it; problem handlers shape it
        item.future.set_exception(error)


def take_in_group(items: list[_Waiting]) -> None:
    """Take a group of waiting reports in, one transaction; settle every item's future."""
    answers: list[tuple[_Waiting, Any, BaseException | None]] = []
    try:
        with db.unit_of_work() as session:
            senders = _senders(session, items)
            live: list[tuple[_Waiting, IntakeRequest]] = []
            for item in items:
                try:
                    live.append((item, IntakeRequest(_sender(senders, item), item.origin, item.data)))
                except NotAuthenticated as error:
                    answers.append((item, None, error))
            outcomes = intake_cases(session=session, requests=[request for _, request in live])
            for (item, request), outcome in zip(live, outcomes):
                if outcome.error is not None:
                    answers.append((item, None, outcome.error))
                else:
                    answers.append((item, item.answer(outcome.case, request.actor, outcome.created), None))
    except Exception:
        if len(items) > 1:
            log.warning("intake group of %d failed; taking its reports in one by one", len(items), exc_info=True)
        for item in items:
            _settle(item, lambda item=item: _alone(item))
        return
    for item, answer, error in answers:
        if error is not None:
            item.future.set_exception(error)
        else:
            item.future.set_result(answer)


# Under load, a gathering group closes when no report has arrived for this long (seconds).
ARRIVAL_GAP = 0.002


def gather(waiting: queue.SimpleQueue, first: _Waiting, *, most: int, wait: float) -> list[_Waiting]:
    """``first`` and what else is waiting, up to ``most``; for up to ``wait`` seconds more under load.

    Under load the requests the last group answered send their next reports while this group
    gathers. Waiting for them (until ``wait`` is up, or no report came for ``ARRIVAL_GAP``) makes
    fewer, bigger groups, whose fixed costs (their reads and statements, the commit) are shared
    by more reports: throughput and latency both gain (bench/bench_intake.py). The committer
    passes ``wait=0`` after a group of one, so a lone report never waits.
    """
    group = [first]
    until = time.monotonic() + wait
    while len(group) < most:
        left = min(until - time.monotonic(), ARRIVAL_GAP)
        try:
            group.append(waiting.get(timeout=left) if left > 0 else waiting.get_nowait())
        except queue.Empty:
            break
    return group


class _Committer:
    """The thread of a process that writes grouped intake.

    One per process: measured with two and four (bench/bench_intake.py, PostgreSQL, 2 cores),
    throughput fell and CPU per case rose, as the threads contend for the GIL and for the rows
    every intake's foreign keys share (category, desk operators).
    """

    def __init__(self, group_max: int, wait_seconds: float) -> None:
        self.group_max = group_max
        self.wait_seconds = wait_seconds
        self.waiting: queue.SimpleQueue[_Waiting] = queue.SimpleQueue()
        self.pid = os.getpid()
        self.thread = threading.Thread(target=self._run, name="civicgrid-intake-commit", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        under_load = False
        while True:
            group = gather(self.waiting, self.waiting.get(), most=self.group_max,
                           wait=self.wait_seconds if under_load else 0.0)
            under_load = len(group) > 1
            try:
                take_in_group(group)
            except BaseException as error:  # never leave a request waiting forever
                for item in group:
                    if not item.future.done():
                        item.future.set_exception(error)


_committer: _Committer | None = None
_committer_lock = threading.Lock()


def _the_committer() -> _Committer:
    global _committer
    with _committer_lock:
        # A forked worker inherits the object but not the thread: start its own.
        if _committer is None or _committer.pid != os.getpid() or not _committer.thread.is_alive():
            settings = get_settings()
            _committer = _Committer(settings.intake_group_max, settings.intake_group_wait_ms / 1000)
        return _committer


async def take_in(*, claim: TokenClaim | None, origin: Origin, data: CaseCreate, answer: Answer) -> Any:
    """Take one report in, grouped with whatever else is arriving; returns ``answer``'s result.

    ``claim`` is who the request's token says sent it (``web.deps.SignedClaim``): the account is
    read and checked with the group's, so the request itself reads nothing and holds no
    database connection while it waits (the committer needs one). The wait is on the event
    loop, not in a worker thread, so a flood of reports does not use up the thread pool other
    requests need. Inside the test suite's shared session, or with grouping off, the report is
    taken in alone, in a unit of work of its own.
    """
    item = _Waiting(claim, origin, data, answer)
    if db.shared_test_session() or get_settings().intake_group_max <= 1:
        return await run_in_threadpool(_alone, item)
    _the_committer().waiting.put(item)
    return await asyncio.wrap_future(item.future)
