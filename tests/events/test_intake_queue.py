"""Group intake: ``intake_cases`` takes a group of reports in one flush with the same results as one
by one, and the committer thread (``intake_queue``) groups concurrent reports into one
transaction, answers each caller with its own case or error, and never loses a report.

The committer tests run on a database of their own (the suite's kind) with real commits: the
shared test session would keep everything on one thread.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from argon2 import PasswordHasher
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import IntegrityError

from civicgrid import db as dbmod
from civicgrid.audit.models import AuditEntry
from civicgrid.audit.service import Origin
from civicgrid.auth import passwords
from civicgrid.auth.service import TokenClaim
from civicgrid.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated
from civicgrid.events import intake_queue, tally
from civicgrid.events.intake import IntakeRequest, intake_case, intake_cases
from civicgrid.events.models import Case, CaseTally, Channel
from civicgrid.events.schemas import CaseCreate
from civicgrid.notifications.models import Notification
from civicgrid.settings import get_settings
from tests.conftest import fresh_database
from tests.factories import build_world

ORIGIN = Origin("api", request_id="req-group")
# What a case says about where it went and who owns it: equal whether taken in alone or in a group.
SAME = ("channel", "category_id", "request_type", "title", "description", "lat", "lon", "location_status",
        "grid_id", "region_id", "region_path", "level", "desk_region_id", "desk_path", "state",
        "suggested_unit_id", "routing_rule_id", "routing_reason", "reporter_user_id")


def report(world, grid: str = "grid111", code: str = "EV0101", **extra) -> CaseCreate:
    lat, lon = world.grid_point(grid)
    return CaseCreate(channel=extra.pop("channel", Channel.API), category_code=code,
                      description=extra.pop("description", f"{grid} 路边垃圾堆放，请尽快清理"), lat=lat, lon=lon, **extra)


def test_a_group_gives_each_report_what_it_would_get_alone(session):
    world = build_world(session)
    op, city_op = world.users["operator"], world.users["city_op"]
    cases = [(city_op, report(world, g, c)) for g in ("grid111", "grid122", "grid212", "grid221")
             for c in ("EV0101", "CP0201", "GV0301")]
    alone = []
    for actor, data in cases:
        case, created = intake_case(session=session, actor=actor, origin=ORIGIN,
                                    data=data.model_copy(update={"description": data.description + "（单独）"}))
        assert created
        alone.append(case)
    grouped = intake_cases(session=session, requests=[IntakeRequest(a, ORIGIN, d) for a, d in cases]
                           + [IntakeRequest(op, ORIGIN, report(world, "grid111"))])
    assert all(o.error is None and o.created for o in grouped)
    for single, outcome in zip(alone, grouped):
        for name in SAME:
            want, got = getattr(single, name), getattr(outcome.case, name)
            if name in ("title", "description"):
                want = want.replace("（单独）", "")
            assert got == want, name
    ids = [o.case.id for o in grouped]
    assert len(set(ids)) == len(ids) and min(ids) > max(c.id for c in alone)
    assert all(o.case.number.endswith(f"{o.case.id:07d}") for o in grouped)
    # Each case has its intake entry and its desk's operators are told, as when alone.
    entries = session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.entity == "case", AuditEntry.action == "intake", AuditEntry.entity_id.in_([str(i) for i in ids])))
    assert entries == len(ids)
    told = session.scalars(select(Notification.case_id).where(
        Notification.case_id.in_(ids), Notification.user_id == op.id, Notification.kind == "to_register")).all()
    assert sorted(told) == sorted(o.case.id for o in grouped if o.case.desk_region_id == op.scope_region_id)


def test_a_refused_report_fails_alone_and_keys_repeat_within_and_across_groups(session):
    world = build_world(session)
    op = world.users["operator"]
    before = intake_case(session=session, actor=op, origin=ORIGIN, data=report(world, client_key="k-old"))[0]
    outcomes = intake_cases(session=session, requests=[
        IntakeRequest(op, ORIGIN, report(world, client_key="k-new")),
        IntakeRequest(op, ORIGIN, report(world, code="NOPE")),                 # no such category
        IntakeRequest(op, ORIGIN, report(world, "grid221")),                   # outside the operator's area
        IntakeRequest(op, ORIGIN, report(world, client_key="k-new")),          # same key in the same group
        IntakeRequest(op, ORIGIN, report(world, client_key="k-old")),          # key of an earlier case
        IntakeRequest(op, ORIGIN, report(world, "grid112")),
    ])
    first, bad_category, outside, repeat, old, last = outcomes
    assert first.created and last.created and first.case.id != last.case.id
    assert isinstance(bad_category.error, InvalidInput) and "NOPE" in bad_category.error.detail_zh
    assert isinstance(outside.error, Forbidden)
    assert not repeat.created and repeat.case is first.case
    assert not old.created and old.case.id == before.id
    made = session.scalar(select(func.count(Case.id)).where(Case.id > before.id))
    assert made == 2


def test_a_key_repeated_in_a_group_by_someone_else_does_not_reveal_the_case(session):
    world = build_world(session)
    op, other = world.users["operator"], world.users["operator21"]  # community11's and community21's desks
    mine, theirs = intake_cases(session=session, requests=[
        IntakeRequest(op, ORIGIN, report(world, client_key="shared-key")),
        IntakeRequest(other, ORIGIN, report(world, "grid211", client_key="shared-key")),
    ])
    assert mine.created
    assert theirs.case is None and isinstance(theirs.error, Conflict)


def test_tallies_of_a_group_are_merged_rows_with_the_same_sums(session):
    world = build_world(session)
    city_op = world.users["city_op"]
    start = session.scalar(select(func.coalesce(func.max(CaseTally.id), 0)))
    requests = [IntakeRequest(city_op, ORIGIN, report(world, g)) for g in ("grid111", "grid112", "grid121") * 4]
    intake_cases(session=session, requests=requests)
    rows = session.execute(select(CaseTally).where(CaseTally.id > start)).scalars().all()
    keys = [(r.ledger, r.cohort, r.day, r.area_path, r.unit_id) for r in rows]
    assert len(keys) == len(set(keys)), "one row per key for the whole group"
    received = sum(r.n for r in rows if r.ledger == tally.AREA and r.cohort == "received")
    assert received == len(requests)


def _statements(session, run):
    """The SQL statements ``run()`` sends through the session's connection (executemany counted once)."""
    sent: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    connection = session.connection()
    event.listen(connection, "before_cursor_execute", seen)
    try:
        run()
    finally:
        event.remove(connection, "before_cursor_execute", seen)
    return sent


def test_a_group_costs_the_same_statements_as_one_report_and_reads_back_no_keys(session):
    world = build_world(session)
    city_op = world.users["city_op"]
    grids = ("grid111", "grid112", "grid121", "grid122", "grid211", "grid212")

    def take(grids_codes):
        outcomes = intake_cases(session=session, requests=[
            IntakeRequest(city_op, ORIGIN, report(world, g, c)) for g, c in grids_codes])
        assert all(o.created for o in outcomes)

    take([("grid111", "EV0101")])  # reference data and the grid index are read once per process
    one = _statements(session, lambda: take([("grid122", "CP0201")]))
    six = _statements(session, lambda: take([(g, c) for g in grids for c in ("EV0101",)]))
    # Ids are drawn up front (case numbers are made of them), so no INSERT asks for its keys back.
    assert not [s for s in one + six if "RETURNING" in s.upper()]
    # Fixed per group, whatever its size: that is what grouping buys.
    assert len(six) == len(one), (one, six)


def test_a_groups_statements_are_parsed_once_per_process(session, monkeypatch):
    """psycopg caches a statement's parse only up to 50 parameters by default; the case INSERT has
    57, and ``db.WIDEST_CACHED_STATEMENT`` raises the limit. Every statement of a second group
    comes from the cache."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("psycopg's statement cache: PostgreSQL only")
    from psycopg import _queries

    world = build_world(session)
    city_op = world.users["city_op"]

    def take(grids_codes):
        intake_cases(session=session, requests=[
            IntakeRequest(city_op, ORIGIN, report(world, g, c)) for g, c in grids_codes])
        session.flush()

    take([("grid111", "EV0101"), ("grid112", "CP0201")])
    parsed_anew: list[bytes] = []
    real = _queries._query2pg_nocache
    monkeypatch.setattr(_queries, "_query2pg_nocache",
                        lambda query, *a, **k: parsed_anew.append(bytes(query)[:60]) or real(query, *a, **k))
    take([("grid121", "EV0101"), ("grid122", "CP0201"), ("grid211", "EV0101")])
    assert parsed_anew == []
    assert len(Case.__table__.columns) <= _queries.MAX_CACHED_STATEMENT_PARAMS


# ---------------------------------------------------------------------------------------
# The committer, on a database of its own with real commits
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live(engine, tmp_path_factory):
    """A fresh database like the suite's, with the test world committed; the suite's engine after."""
    with fresh_database(tmp_path_factory, "group") as url:
        saved, hasher = dbmod._engine, passwords._hasher
        live_engine = dbmod.make_engine(url)
        dbmod.set_engine(live_engine)
        passwords._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        try:
            with dbmod.unit_of_work() as session:
                world = build_world(session)
            yield world
        finally:
            passwords._hasher = hasher
            dbmod.set_engine(saved)
            live_engine.dispose()


def _answer(case, actor, created):
    return case.id, case.number, created


def _count(model, *where) -> int:
    with dbmod.unit_of_work() as session:
        return session.scalar(select(func.count(model.id)).where(*where))


def _post_all(world, datas, actor_name="city_op"):
    """Every report from its own thread at once, through ``take_in``; (result or error) per report."""
    actor = world.users[actor_name]
    claim = TokenClaim(actor.id, actor.token_version)
    gate = threading.Barrier(len(datas))

    def post(data):
        gate.wait()
        try:
            return asyncio.run(intake_queue.take_in(claim=claim, origin=ORIGIN, data=data, answer=_answer))
        except Exception as error:  # noqa: BLE001 - the error is the result under test
            return error

    with ThreadPoolExecutor(len(datas)) as pool:
        return list(pool.map(post, datas))


@pytest.fixture
def groups(monkeypatch):
    """The sizes of the groups the committer took in."""
    sizes: list[int] = []
    real = intake_queue.take_in_group

    def counting(items):
        sizes.append(len(items))
        return real(items)

    monkeypatch.setattr(intake_queue, "take_in_group", counting)
    return sizes


def test_concurrent_reports_share_transactions_and_each_gets_its_own_answer(live, groups):
    assert not dbmod.shared_test_session()
    cases_before = _count(Case)
    datas = [report(live, g, description=f"并发上报 {i}") for i, g in
             enumerate(("grid111", "grid112", "grid121", "grid211", "grid222") * 8)]
    datas[7] = report(live, code="NOPE")
    results = _post_all(live, datas)
    assert isinstance(results[7], InvalidInput)
    made = [r for i, r in enumerate(results) if i != 7]
    assert all(isinstance(r, tuple) and r[2] for r in made), made
    assert len({r[0] for r in made}) == len(made)
    # Every acknowledged case is committed, with its history entry.
    assert _count(Case) == cases_before + len(made)
    assert _count(AuditEntry, AuditEntry.action == "intake",
                  AuditEntry.entity_id.in_([str(r[0]) for r in made])) == len(made)
    with dbmod.unit_of_work() as session:
        mine = {c.id: c.description for c in session.scalars(select(Case).where(Case.id.in_([r[0] for r in made])))}
    assert all(mine[r[0]] == datas[i].description for i, r in enumerate(results) if i != 7)
    assert sum(groups) == len(datas) and max(groups) > 1, groups


def test_the_same_key_from_many_callers_makes_one_case(live, groups):
    key = f"dup-{uuid.uuid4().hex[:8]}"
    results = _post_all(live, [report(live, client_key=key) for _ in range(12)])
    assert all(isinstance(r, tuple) for r in results), results
    assert len({r[0] for r in results}) == 1
    assert sum(1 for r in results if r[2]) == 1
    assert _count(Case, Case.idempotency_key == key) == 1


def test_a_failing_group_is_taken_in_again_one_by_one(live, groups, monkeypatch):
    real = intake_queue.intake_cases

    def flaky(*, session, requests):
        if len(requests) > 1:
            raise IntegrityError("INSERT", {}, Exception("a key raced another process"))
        return real(session=session, requests=requests)

    monkeypatch.setattr(intake_queue, "intake_cases", flaky)
    before = _count(Case)
    results = _post_all(live, [report(live, description=f"重试 {i}") for i in range(10)])
    assert all(isinstance(r, tuple) and r[2] for r in results), results
    assert _count(Case) == before + 10
    assert max(groups) > 1, "no group formed, so no group failed"


def test_a_disabled_account_is_refused_at_commit(live):
    worker = live.users["gridworker2"]
    with dbmod.unit_of_work() as session:
        session.execute(text("UPDATE app_user SET active = :no WHERE id = :id"), {"no": False, "id": worker.id})
    try:
        (result,) = _post_all(live, [report(live, "grid211")], actor_name="gridworker2")
        assert isinstance(result, NotAuthenticated)
    finally:
        with dbmod.unit_of_work() as session:
            session.execute(text("UPDATE app_user SET active = :yes WHERE id = :id"), {"yes": True, "id": worker.id})


def test_a_revoked_token_is_refused_at_commit(live):
    # Signing out everywhere bumps the token version: a token issued before is refused when its
    # report's group reads the account, although its signature is still good.
    worker = live.users["gridworker2"]
    with dbmod.unit_of_work() as session:
        session.execute(text("UPDATE app_user SET token_version = token_version + 1 WHERE id = :id"), {"id": worker.id})
    try:
        before = _count(Case)
        results = _post_all(live, [report(live, "grid211"), report(live, "grid212")], actor_name="gridworker2")
        assert all(isinstance(r, NotAuthenticated) for r in results), results
        assert _count(Case) == before
    finally:
        with dbmod.unit_of_work() as session:
            session.execute(text("UPDATE app_user SET token_version = token_version - 1 WHERE id = :id"),
                            {"id": worker.id})


def test_grouping_off_takes_each_report_in_alone(live, monkeypatch, groups):
    monkeypatch.setenv("CIVICGRID_INTAKE_GROUP_MAX", "1")
    get_settings.cache_clear()
    try:
        results = _post_all(live, [report(live, description=f"不合并 {i}") for i in range(4)])
    finally:
        monkeypatch.delenv("CIVICGRID_INTAKE_GROUP_MAX")
        get_settings.cache_clear()
    assert all(isinstance(r, tuple) and r[2] for r in results)
    assert groups == []


def test_the_api_answers_after_commit(live, groups):
    from fastapi.testclient import TestClient

    from civicgrid.app import create_app
    from civicgrid.auth.service import issue_token

    client = TestClient(create_app(start_scheduler=False))
    lat, lon = live.grid_point("grid121")
    headers = {"Authorization": f"Bearer {issue_token(live.users['city_op'])}"}
    body = {"channel": "api", "category_code": "EV0101", "description": "接口合并提交", "lat": lat, "lon": lon,
            "client_key": f"api-{uuid.uuid4().hex[:8]}"}
    first = client.post("/api/cases", json=body, headers={**headers, "X-Request-ID": "req-api-1"})
    assert first.status_code == 201, first.text
    assert first.headers["x-request-id"] == "req-api-1"
    assert _count(Case, Case.id == first.json()["id"]) == 1
    # The history entry, written by the committer thread, names the request it came from.
    assert _count(AuditEntry, AuditEntry.entity_id == str(first.json()["id"]), AuditEntry.action == "intake",
                  AuditEntry.request_id == "req-api-1", AuditEntry.channel == "api") == 1
    again = client.post("/api/cases", json=body, headers=headers)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    bad = client.post("/api/cases", json={**body, "category_code": "NOPE", "client_key": None}, headers=headers)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert sum(groups) == 3, "the API's reports went through the committer"
    # A token we did not sign is refused at the door: it never reaches the committer.
    forged = client.post("/api/cases", json=body, headers={"Authorization": "Bearer " + headers["Authorization"][8:-2]})
    assert forged.status_code == 401 and forged.headers["content-type"].startswith("application/problem+json")
    assert client.post("/api/cases", json=body).status_code == 401
    assert sum(groups) == 3


# -- gathering a group -----------------------------------------------------------------------


def _item(n: int) -> intake_queue._Waiting:
    return intake_queue._Waiting(None, ORIGIN, CaseCreate(channel=Channel.API, category_code="EV0101",
                                                         description=f"第 {n} 条"), _answer)


def _feed(waiting, count: int, every: float) -> threading.Thread:
    def run():
        for n in range(count):
            time.sleep(every)
            waiting.put(_item(n))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_an_idle_committer_writes_what_is_waiting_at_once():
    waiting = queue.SimpleQueue()
    for n in range(3):
        waiting.put(_item(n))
    started = time.monotonic()
    group = intake_queue.gather(waiting, _item(-1), most=64, wait=0.0)
    assert len(group) == 4 and time.monotonic() - started < 0.05
    # At most ``most`` reports; the rest wait for the next group.
    for n in range(10):
        waiting.put(_item(n))
    assert len(intake_queue.gather(waiting, _item(-1), most=5, wait=0.0)) == 5
    assert len(intake_queue.gather(waiting, _item(-1), most=64, wait=0.0)) == 1 + 6


def test_under_load_a_group_waits_for_reports_still_arriving():
    waiting = queue.SimpleQueue()
    feeder = _feed(waiting, 6, every=0.0005)
    group = intake_queue.gather(waiting, _item(-1), most=64, wait=1.0)
    feeder.join()
    assert len(group) == 7, "reports arriving less than ARRIVAL_GAP apart join the group"


def test_under_load_a_group_closes_when_reports_stop_or_its_time_is_up():
    waiting = queue.SimpleQueue()
    started = time.monotonic()
    assert len(intake_queue.gather(waiting, _item(-1), most=64, wait=5.0)) == 1
    assert time.monotonic() - started < 1.0, "nothing arrived: the group closes after the gap, not the wait"
    # A steady stream does not hold a group open past its wait.
    feeder = _feed(waiting, 2000, every=0.0005)
    started = time.monotonic()
    group = intake_queue.gather(waiting, _item(-1), most=10_000, wait=0.05)
    assert time.monotonic() - started < 0.5 and 1 < len(group) < 2001
    feeder.join()
