"""The demo city: built through the real services, walked history, bulk history consistency."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sqlalchemy import func, select

from civicgrid.audit.models import AuditEntry
from civicgrid.auth.models import Role, User
from civicgrid.auth.passwords import verify_password
from civicgrid.db import utcnow
from civicgrid.demo import cases as history
from civicgrid.demo.seed import ADMIN_PASSWORD, DEMO_PASSWORD, build_demo, demo_exists
from civicgrid.demo.texts import TEMPLATES, Place, describe
from civicgrid.errors import Conflict
from civicgrid.events.listing import CaseFilter, list_cases
from civicgrid.events.models import Case, Category
from civicgrid.events.taxonomy import TAXONOMY
from civicgrid.events.workflow import TERMINAL, CaseState
from civicgrid.regions.models import GridMember, Region, RegionLevel
from civicgrid.units.models import Unit


def test_every_leaf_category_has_varied_chinese_texts():
    leaves = {leaf[0] for *_, children in TAXONOMY for leaf in children}
    assert leaves == set(TEMPLATES)
    rng = np.random.default_rng(7)
    place = Place("云湖区", "金山街道", "翠湖社区", "第1网格")
    for code in leaves:
        texts = {describe(code, place, rng).description for _ in range(20)}
        assert len(texts) >= 4, code
        assert all("{" not in t and "}" not in t for t in texts), code
        assert all(len(describe(code, place, rng).title) <= 40 for _ in range(5))


def test_small_demo_is_built_through_the_services_and_walked(session):
    started = utcnow()
    report = build_demo(session=session, scale="small", seed=11, cases=150)
    assert demo_exists(session=session)

    assert report.regions == 566 and report.rules == 66
    assert session.scalar(select(func.count()).select_from(Region).where(Region.level == RegionLevel.GRID)) == 500
    assert session.scalar(select(func.count()).select_from(Unit).where(Unit.kind == "department")) == 45
    # 二员同格: every grid has a grid worker and a police officer.
    duties = dict(session.execute(select(GridMember.duty, func.count()).group_by(GridMember.duty)).all())
    assert duties["grid_worker"] == 500 and duties["police"] == 500 and duties["team"] > 0

    users = {u.username: u for u in session.scalars(select(User).where(User.username.in_(
        ["admin", "operator", "street_operator", "district_operator", "city_operator", "handler_chengguan",
         "gridworker", "police", "leader", "citizen"])))}
    assert len(users) == 10
    assert verify_password(users["admin"].password_hash, ADMIN_PASSWORD)
    assert verify_password(users["operator"].password_hash, DEMO_PASSWORD)
    assert {u.role for u in users.values()} == set(Role) - set()
    assert {login.username for login in report.logins} >= {"admin", "operator", "handler_chengguan", "citizen"}

    # The history: 150 walked cases plus 6 fresh reports, in varied end states.
    assert report.cases == 150
    states = report.case_states
    assert sum(states.values()) == 156
    assert states["closed"] > 75
    assert len(states) >= 5
    assert states.get("reported", 0) >= 6
    cases = list(session.scalars(select(Case)))
    horizon = started - dt.timedelta(days=91)
    for case in cases:
        assert horizon <= case.received_at <= utcnow()
        assert case.grid_id is not None and case.region_path.startswith("/990100000000/")
        if case.state == CaseState.CLOSED:
            assert case.closed_at is not None and case.closed_at >= case.received_at
        if case.satisfaction is not None:
            assert case.satisfaction in ("satisfied", "basically", "unsatisfied")
    assert any(c.self_handled for c in cases)
    assert any(c.returns_count for c in cases) or any(c.escalations_count for c in cases)

    # Routing: rubbish goes to the district's urban management bureau.
    rubbish = session.scalars(select(Case).join(Category).where(Category.code.like("EV01%"),
                                                                Case.unit_id.is_not(None))).first()
    if rubbish is not None:
        assert rubbish.unit.name_zh.endswith("城市管理局") or rubbish.returns_count

    # Audit entries carry the instant each step happened, not the seeding time.
    first = min(cases, key=lambda c: c.received_at)
    entries = list(session.scalars(select(AuditEntry).where(AuditEntry.entity == "case",
                                                            AuditEntry.entity_id == str(first.id))))
    assert entries and all(e.at < started for e in entries)
    assert entries[0].action == "intake" and entries[0].at == first.received_at

    # The showcase operator's list shows cases of their community only.
    operator = users["operator"]
    rows, total, _, _ = list_cases(session=session, actor=operator, filters=CaseFilter())
    assert all(r.region_path.startswith(operator.scope_path) for r in rows)

    with pytest.raises(Conflict):
        build_demo(session=session, scale="small", seed=11, cases=0)


def test_bulk_history_rows_are_consistent(session):
    build_demo(session=session, scale="small", seed=5, cases=0)
    from civicgrid.demo.seed import _load_city

    city = _load_city(session)
    city.community_units = {u.region_id: u for u in session.scalars(select(Unit).where(Unit.kind == "community"))}
    before = session.scalar(select(func.max(Case.id)))
    now = utcnow()
    written = history.bulk_history(session=session, city=city, n=3_000, rng=np.random.default_rng(3), batch=1_000,
                                   now=now)
    assert written == 3_000
    session.expire_all()
    rows = list(session.scalars(select(Case).where(Case.id > before).order_by(Case.id)))
    assert len(rows) == 3_000
    states = {r.state for r in rows}
    assert {CaseState.CLOSED, CaseState.REJECTED, CaseState.ACCEPTED} <= states
    previous = None
    for r in rows:
        assert r.number.endswith(f"{r.id:07d}")
        if previous is not None:
            assert r.received_at >= previous  # ids follow report time
        previous = r.received_at
        stamps = [r.received_at, r.registered_at, r.dispatched_at, r.accepted_at, r.verified_at, r.closed_at]
        present = [s for s in stamps if s is not None]
        assert present == sorted(present), r.id
        assert all(s <= now for s in present)
        if r.registered_at is not None and r.state not in (CaseState.REJECTED, CaseState.MERGED) \
                and r.request_type.value != "consultation":
            assert r.finish_due_at is not None and r.finish_due_at > r.registered_at
        if r.overdue:
            assert r.state not in TERMINAL and r.finish_due_at <= now
        if r.state == CaseState.MERGED:
            assert r.merged_into_id is not None and r.merged_into_id < r.id
        if r.state in (CaseState.DISPATCHED, CaseState.ACCEPTED):
            assert r.unit_id is not None
        if r.state == CaseState.CLOSED and r.request_type.value != "consultation" and not r.self_handled:
            assert r.satisfaction is not None
    # The rows read back through the ordinary list service.
    admin = session.scalar(select(User).where(User.username == "city_operator"))
    page, total, _, _ = list_cases(session=session, actor=admin, filters=CaseFilter(state=["accepted"]))
    assert page and total > 0
