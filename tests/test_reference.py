"""Reference data kept per process: a change counter moves with every change of the tables it
watches, in the change's own transaction, and a cache rebuilds exactly when it moved.

These run on a database of their own (the suite's kind) with real commits: what a cache may keep
depends on what other transactions have committed.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from civicgrid import db as dbmod, reference
from civicgrid.events.models import Category, RoutingRule
from civicgrid.events.routing import RoutingTable
from civicgrid.units.models import Unit
from tests.conftest import fresh_database
from tests.factories import build_world


@pytest.fixture(scope="module")
def engine_with_world(tmp_path_factory):
    with fresh_database(tmp_path_factory, "reference") as url:
        engine = dbmod.make_engine(url)
        try:
            with Session(engine) as session, session.begin():
                build_world(session)
            yield engine
        finally:
            engine.dispose()


def _unit_names(session: Session) -> dict[str, str]:
    return {code: name for code, name in session.execute(select(Unit.code, Unit.name_zh))}


@pytest.fixture
def names_cache():
    builds: list[int] = []

    def build(session: Session) -> dict[str, str]:
        builds.append(1)
        return _unit_names(session)

    cache = reference.ProcessCache("routing", build)
    cache.builds = builds
    return cache


def _rename(engine, code: str, name: str) -> None:
    with Session(engine) as session, session.begin():
        session.scalar(select(Unit).where(Unit.code == code)).name_zh = name


def test_a_change_moves_the_counter_with_its_own_commit(engine_with_world):
    with Session(engine_with_world) as session:
        before = reference.version(session, "routing")
    assert before > 0, "building the world wrote regions and units"
    _rename(engine_with_world, "CG", "云湖区城市管理局")
    with Session(engine_with_world) as session:
        assert reference.version(session, "routing") == before + 1
        # Rolled back, the change and its count go together.
        session.scalar(select(Unit).where(Unit.code == "CG")).name_zh = "不会保存"
        session.flush()
        assert reference.version(session, "routing") == before + 2
        session.rollback()
        assert reference.version(session, "routing") == before + 1
    # Loading and reading rows, or writing tables nobody watches, counts nothing.
    with Session(engine_with_world) as session, session.begin():
        session.scalars(select(Unit)).all()
        session.execute(text("UPDATE case_tally_meta SET compacted_id = compacted_id WHERE id = 1"))
        assert reference.version(session, "routing") == before + 1


def test_the_cache_rebuilds_exactly_when_a_commit_moved_the_counter(engine_with_world, names_cache):
    with Session(engine_with_world) as session:
        first = names_cache.get(session)
        assert names_cache.get(session) is first
    with Session(engine_with_world) as session:
        assert names_cache.get(session) is first
    assert len(names_cache.builds) == 1
    _rename(engine_with_world, "ZJ", "云湖区住房和城乡建设局")
    with Session(engine_with_world) as session:
        assert names_cache.get(session)["ZJ"] == "云湖区住房和城乡建设局"
    assert len(names_cache.builds) == 2


def test_a_transactions_own_change_is_seen_by_it_and_never_kept(engine_with_world, names_cache):
    with Session(engine_with_world) as session:
        committed = names_cache.get(session)
    with Session(engine_with_world) as session:
        session.scalar(select(Unit).where(Unit.code == "SJ")).name_zh = "草稿名称"
        assert names_cache.get(session)["SJ"] == "草稿名称"  # unflushed: reading the counter flushed it
        session.rollback()
    with Session(engine_with_world) as session:
        assert names_cache.get(session) is committed
        assert committed["SJ"] != "草稿名称"


def test_routing_follows_a_rule_committed_elsewhere_at_once(engine_with_world):
    with Session(engine_with_world) as session:
        category = session.scalar(select(Category).where(Category.code == "EV0101"))
        grid = "/990100000000/990102000000/"
        path = session.scalar(text("SELECT path FROM region WHERE level = 'GRID' ORDER BY id LIMIT 1"))
        assert path.startswith(grid)
        before = RoutingTable.current(session).route(category=category, region_path=path)
    with Session(engine_with_world) as session, session.begin():
        unit = session.scalar(select(Unit).where(Unit.code == "SJ"))
        unit_id, unit_name = unit.id, unit.name_zh
        district = session.scalar(text("SELECT id FROM region WHERE path = :p"), {"p": grid})
        session.add(RoutingRule(category_id=category.id, region_id=district, unit_id=unit.id, active=True))
    with Session(engine_with_world) as session:
        category = session.get(Category, category.id)
        after = RoutingTable.current(session).route(category=category, region_path=path)
    assert after.unit_id != before.unit_id and after.rule_id is not None
    assert after.unit_id == unit_id and after.reason.endswith(f"由 {unit_name} 办理")


def test_desk_operators_follow_a_committed_change_of_a_user(engine_with_world):
    from civicgrid.auth.models import Role, User
    from civicgrid.notifications.service import desks_operator_ids

    with Session(engine_with_world) as session:
        operator = session.scalar(select(User).where(User.role == Role.OPERATOR).order_by(User.id))
        desk, operator_id = operator.scope_region_id, operator.id
        assert operator_id in desks_operator_ids(session=session, desk_region_ids={desk})[desk]
    with Session(engine_with_world) as session, session.begin():
        session.get(User, operator_id).active = False
    try:
        with Session(engine_with_world) as session:
            assert operator_id not in desks_operator_ids(session=session, desk_region_ids={desk}).get(desk, ())
    finally:
        with Session(engine_with_world) as session, session.begin():
            session.get(User, operator_id).active = True
    with Session(engine_with_world) as session:
        assert operator_id in desks_operator_ids(session=session, desk_region_ids={desk})[desk]


def test_two_first_changes_racing_both_count(engine_with_world):
    import threading
    import uuid

    name = f"race-{uuid.uuid4().hex[:8]}"
    first = Session(engine_with_world)
    first.begin()
    reference.bump(first, name)  # the counter's row does not exist yet for anyone else
    done = []

    def second():
        with Session(engine_with_world) as session, session.begin():
            reference.bump(session, name)  # waits for the first transaction, then counts on top
        done.append(True)

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(0.3)
    first.commit()
    first.close()
    thread.join(30)
    assert done == [True]
    with Session(engine_with_world) as session:
        assert reference.version(session, name) == 2


def test_the_grid_index_is_built_once_per_commit_and_follows_a_grid_committed_elsewhere(engine_with_world,
                                                                                        monkeypatch):
    from shapely.geometry import box, mapping

    from civicgrid.regions import service as regions
    from civicgrid.regions.models import Region, RegionLevel

    builds: list[int] = []
    build = regions._build_grid_index
    monkeypatch.setattr(regions, "_build_grid_index", lambda *a, **k: builds.append(1) or build(*a, **k))
    with Session(engine_with_world) as session:
        community = session.scalar(select(Region).where(Region.level == RegionLevel.COMMUNITY).order_by(Region.id))
        grids = len(regions.get_grid_index(session))
        (x0, y0, x1, y1) = regions.get_grid_index(session).geometry(
            session.scalar(select(Region.id).where(Region.parent_id == community.id,
                                                   Region.level == RegionLevel.GRID))).bounds
        community_id, community_path, community_code = community.id, community.path, community.code
    with Session(engine_with_world) as session:
        assert len(regions.get_grid_index(session)) == grids
    assert len(builds) <= 1, "kept across transactions while nothing changed"
    # Far outside the world: no grid there until another process commits one.
    far = (x1 + 1.0, y1 + 1.0)
    with Session(engine_with_world) as session:
        assert regions.locate_point(session=session, lon=far[0], lat=far[1]).grid_id is None
    code = community_code + "777"
    with Session(engine_with_world) as session, session.begin():
        session.add(Region(code=code, name_zh="远处网格", level=RegionLevel.GRID, parent_id=community_id,
                           path=f"{community_path}{code}/",
                           geometry=mapping(box(far[0] - 0.001, far[1] - 0.001, far[0] + 0.001, far[1] + 0.001))))
    try:
        builds.clear()
        with Session(engine_with_world) as session:
            found = regions.locate_point(session=session, lon=far[0], lat=far[1]).grid_id
            assert found == session.scalar(select(Region.id).where(Region.code == code))
            assert len(regions.get_grid_index(session)) == grids + 1
        assert len(builds) == 1, "rebuilt once for the commit, then kept"
    finally:
        with Session(engine_with_world) as session, session.begin():
            session.delete(session.scalar(select(Region).where(Region.code == code)))
    with Session(engine_with_world) as session:
        assert regions.locate_point(session=session, lon=far[0], lat=far[1]).grid_id is None
