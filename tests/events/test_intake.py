"""Intake: one door for every channel — locate, scope, route, detect duplicates, be idempotent,
and start the clocks the request type sets (on China's real working-day calendar)."""

from __future__ import annotations

import datetime as dt

import chinese_calendar
import pytest
from sqlalchemy import func, select

from civicgrid.audit.models import AuditEntry
from civicgrid.audit.service import SYSTEM
from civicgrid.db import utcnow
from civicgrid.errors import Conflict, Forbidden, InvalidInput
from civicgrid.events import config
from civicgrid.events.duplicates import duplicate_candidates
from civicgrid.events.intake import intake_case
from civicgrid.events.models import Case, Channel
from civicgrid.events.schemas import CaseCreate, RoutingRuleWrite
from civicgrid.regions.models import RegionLevel

from .conftest import ORIGIN, SHANGHAI, Loop

METRE_LAT = 1 / 111_320  # degrees of latitude per metre
DESCRIPTION = "小区门口垃圾堆积多日无人清理，气味很大"


def intake(loop: Loop, by: str | None, **fields) -> tuple[Case, bool]:
    fields.setdefault("category_code", "EV0101")
    fields.setdefault("description", DESCRIPTION)
    actor = loop.user(by) if by else None
    return intake_case(session=loop.session, actor=actor, origin=ORIGIN, data=CaseCreate(**fields))


# -- locating --------------------------------------------------------------------------


@pytest.mark.parametrize("grid", ["grid111", "grid112", "grid121", "grid211", "grid222"])
def test_point_inside_a_grid_lands_on_that_grid_and_its_community_desk(loop: Loop, grid):
    w = loop.world
    lat, lon = w.grid_point(grid)
    case, created = intake(loop, "citizen", lat=lat, lon=lon, channel=Channel.CITIZEN_WEB)
    assert created
    community = w.regions[grid].parent
    assert (case.grid_id, case.region_id, case.location_status) == (w.regions[grid].id, w.regions[grid].id, "inside")
    assert (case.desk_region_id, case.desk_path, case.level) == (community.id, community.path, RegionLevel.COMMUNITY)
    assert case.region_path == w.regions[grid].path
    assert case.state.value == "reported" and case.number.endswith(f"{case.id:07d}")
    # The desk's operator is told there is something to register.
    desk_operator = {"community11": "operator", "community12": "operator12", "community21": "operator21"}.get(
        f"community{grid[4:6]}")
    if desk_operator:
        assert loop.notifications(desk_operator, case, "to_register") == 1


def test_point_just_outside_every_grid_snaps_to_the_nearest(loop: Loop):
    w = loop.world
    _, lon = w.grid_point("grid111")
    south_edge = w.regions["grid111"].centroid_lat - 0.01
    case, _ = intake(loop, "citizen", lat=south_edge - 30 * METRE_LAT, lon=lon)  # 30 m south, tolerance 50 m
    assert case.grid_id == w.regions["grid111"].id and case.location_status == "snapped"
    assert case.desk_region_id == w.regions["community11"].id


def test_point_far_outside_falls_back_to_the_staff_members_area(loop: Loop):
    w = loop.world
    lat, lon = w.grid_point("grid111")
    case, _ = intake(loop, "operator", lat=lat - 0.05, lon=lon, channel=Channel.OPERATOR)
    assert case.grid_id is None and case.location_status == "outside"
    assert case.region_id == w.regions["community11"].id and case.desk_region_id == w.regions["community11"].id
    street_case, _ = intake(loop, "street_op", lat=lat - 0.05, lon=lon, channel=Channel.OPERATOR)
    # A street operator's own area is the street: its centre registers the case.
    assert street_case.region_id == street_case.desk_region_id == w.regions["street1"].id
    assert street_case.level is RegionLevel.STREET


def test_point_far_outside_from_a_citizen_is_refused(loop: Loop):
    lat, lon = loop.world.grid_point("grid111")
    with pytest.raises(InvalidInput) as err:
        intake(loop, "citizen", lat=lat - 0.05, lon=lon, channel=Channel.CITIZEN_WEB)
    assert "位置" in err.value.detail_zh and "place" in err.value.detail_en
    assert loop.session.scalar(select(func.count(Case.id))) == 0


def test_citizen_without_any_location_is_refused(loop: Loop):
    with pytest.raises(InvalidInput):
        intake(loop, "citizen", channel=Channel.CITIZEN_WEB)


def test_address_lookup_finds_the_most_detailed_region(loop: Loop):
    w = loop.world
    case, _ = intake(loop, "citizen", address="云湖区湖1街道2社区第1网格 幸福路8号")
    assert case.region_id == case.grid_id == w.regions["grid121"].id and case.location_status == "none"
    assert case.desk_region_id == w.regions["community12"].id
    community, _ = intake(loop, "citizen", address="湖2街道1社区 菜市场门口")
    assert community.region_id == w.regions["community21"].id and community.grid_id is None
    assert community.desk_region_id == w.regions["community21"].id


def test_address_lookup_for_staff_stays_inside_their_area(loop: Loop):
    # The operator of community11 names another community: the address does not match inside
    # their area, so the case falls back to their own community.
    case, _ = intake(loop, "operator", address="湖2街道1社区 菜市场门口", channel=Channel.OPERATOR)
    assert case.region_id == loop.world.regions["community11"].id


@pytest.mark.parametrize("channel", [Channel.HOTLINE, Channel.POLICE_110])
def test_address_lookup_on_a_public_channel_searches_the_whole_city(loop: Loop, channel):
    # A hotline call is not bound to the operator's area (see the point-based test below), so
    # the address it names must not be forced into the operator's own community either.
    case, _ = intake(loop, "operator", address="湖2街道1社区 菜市场门口", channel=channel)
    assert case.region_id == case.desk_region_id == loop.world.regions["community21"].id


@pytest.mark.parametrize("key, level, desk", [
    ("grid122", RegionLevel.GRID, "community12"),
    ("community21", RegionLevel.COMMUNITY, "community21"),
    ("street2", RegionLevel.STREET, "street2"),
])
def test_region_code_places_the_case(loop: Loop, key, level, desk):
    w = loop.world
    case, _ = intake(loop, "citizen", region_code=w.regions[key].code)
    assert case.region_id == w.regions[key].id and w.regions[key].level is level
    assert case.grid_id == (w.regions[key].id if level is RegionLevel.GRID else None)
    assert case.desk_region_id == w.regions[desk].id


def test_unknown_region_code_is_invalid(loop: Loop):
    with pytest.raises(InvalidInput) as err:
        intake(loop, "citizen", region_code="990102009009")
    assert "990102009009" in err.value.detail_zh


# -- scope and back-dating ---------------------------------------------------------------


@pytest.mark.parametrize("who, grid", [("operator", "grid121"), ("operator", "grid211"), ("gridworker", "grid112"),
                                       ("street_op", "grid211"), ("community_handler", "grid121")])
def test_staff_cannot_report_outside_their_area(loop: Loop, who, grid):
    lat, lon = loop.world.grid_point(grid)
    with pytest.raises(Forbidden) as err:
        intake(loop, who, lat=lat, lon=lon, channel=Channel.OPERATOR)
    assert "管辖范围" in err.value.detail_zh and "outside your area" in err.value.detail_en
    assert loop.session.scalar(select(func.count(Case.id))) == 0


@pytest.mark.parametrize("channel", [Channel.HOTLINE, Channel.POLICE_110])
def test_public_channels_are_not_bound_to_the_operators_area(loop: Loop, channel):
    # A hotline call about another community is taken anyway and lands on that community's desk.
    lat, lon = loop.world.grid_point("grid211")
    case, _ = intake(loop, "operator", lat=lat, lon=lon, channel=channel)
    assert case.desk_region_id == loop.world.regions["community21"].id


@pytest.mark.parametrize("who", ["citizen", "gridworker", "handler", "leader"])
def test_back_dating_is_for_operators_only(loop: Loop, who):
    lat, lon = loop.world.grid_point("grid111")
    with pytest.raises(Forbidden):
        intake(loop, who, lat=lat, lon=lon, received_at=utcnow() - dt.timedelta(days=3))


@pytest.mark.parametrize("who", ["operator", "admin"])
def test_operators_may_back_date_but_not_into_the_future(loop: Loop, who):
    lat, lon = loop.world.grid_point("grid111")
    past = dt.datetime(2026, 3, 2, 9, 30, tzinfo=SHANGHAI)
    case, _ = intake(loop, who, lat=lat, lon=lon, received_at=past, channel=Channel.HOTLINE)
    assert case.received_at == past and case.number.startswith("20260302")
    with pytest.raises(InvalidInput):
        intake(loop, who, lat=lat, lon=lon, received_at=utcnow() + dt.timedelta(hours=1), channel=Channel.HOTLINE)


def test_unknown_or_inactive_category_is_invalid(loop: Loop):
    lat, lon = loop.world.grid_point("grid111")
    with pytest.raises(InvalidInput):
        intake(loop, "citizen", lat=lat, lon=lon, category_code="ZZ9999")
    loop.world.categories["EV0102"].active = False
    with pytest.raises(InvalidInput):
        intake(loop, "citizen", lat=lat, lon=lon, category_code="EV0102")


# -- idempotency ---------------------------------------------------------------------------


def intake_entries(loop: Loop) -> int:
    return loop.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "intake")) or 0


def test_same_channel_and_client_key_give_the_same_case(loop: Loop):
    lat, lon = loop.world.grid_point("grid111")
    first, created = intake(loop, "operator", lat=lat, lon=lon, channel=Channel.HOTLINE, client_key="call-42")
    again, created_again = intake(loop, "operator", lat=lat, lon=lon, channel=Channel.HOTLINE, client_key="call-42",
                                  description="第二次提交，内容不同")
    assert created and not created_again and again.id == first.id and again.description == DESCRIPTION
    assert intake_entries(loop) == 1
    other_channel, created = intake(loop, "operator", lat=lat, lon=lon, channel=Channel.OPERATOR,
                                    client_key="call-42")
    assert created and other_channel.id != first.id


def test_a_citizen_reports_through_the_citizen_channel_whatever_they_name(loop: Loop):
    lat, lon = loop.world.grid_point("grid111")
    case, _ = intake(loop, "citizen", lat=lat, lon=lon, channel=Channel.HOTLINE, client_key="c-1")
    assert case.channel == Channel.CITIZEN_WEB
    # Their key is theirs on that channel too: naming another channel finds the same case.
    again, created = intake(loop, "citizen", lat=lat, lon=lon, channel=Channel.API, client_key="c-1")
    assert again.id == case.id and not created
    staff, _ = intake(loop, "operator", lat=lat, lon=lon, channel=Channel.HOTLINE)
    assert staff.channel == Channel.HOTLINE


def test_idempotent_replay_through_the_api(client, as_user, world, loop):
    lat, lon = world.grid_point("grid111")
    body = {"category_code": "EV0101", "description": DESCRIPTION, "lat": lat, "lon": lon,
            "channel": "grid_app", "client_key": "app-7f3a"}
    first = client.post("/api/cases", json=body, headers=as_user("gridworker"))
    second = client.post("/api/cases", json=body, headers=as_user("gridworker"))
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert intake_entries(loop) == 1
    assert loop.session.scalar(select(func.count(Case.id))) == 1


def test_a_client_key_does_not_open_someone_elses_case(client, as_user, world, loop):
    # Citizen keys all land on the citizen_web channel: another citizen replaying a key must
    # not be handed the first citizen's report (nor any operator outside its area).
    lat, lon = world.grid_point("grid111")
    mine, _ = intake(loop, "citizen", lat=lat, lon=lon, channel=Channel.CITIZEN_WEB, client_key="k-1",
                     reporter_phone="13800138000", reporter_name="张三")
    from civicgrid.auth.models import Role
    from civicgrid.auth.service import create_user, issue_token

    other = create_user(session=loop.session, actor=None, origin=SYSTEM, username="citizen2", display_name="c2",
                        password="another-password", role=Role.CITIZEN, scope_region_id=world.regions["city"].id)
    body = {"category_code": "EV0101", "description": "别的事情", "lat": lat, "lon": lon, "client_key": "k-1"}
    r = client.post("/api/cases", json=body, headers={"Authorization": f"Bearer {issue_token(other)}"})
    assert r.status_code == 409, r.text
    assert "张三" not in r.text and str(mine.id) not in r.text.replace(r.json()["instance"], "")
    with pytest.raises(Conflict):
        intake(loop, "operator21", lat=lat, lon=lon, channel=Channel.CITIZEN_WEB, client_key="k-1")
    # The reporter themself, and staff who see the case, still get it back.
    assert client.post("/api/cases", json=body, headers=as_user("citizen")).json()["id"] == mine.id
    assert intake(loop, "operator", channel=Channel.CITIZEN_WEB, client_key="k-1")[0].id == mine.id


# -- routing ---------------------------------------------------------------------------------


def rule(loop: Loop, region: str, unit: str, category: str | None = None):
    w = loop.world
    return config.create_rule(session=loop.session, actor=loop.user("admin"), origin=ORIGIN, data=RoutingRuleWrite(
        region_id=w.regions[region].id, unit_id=w.units[unit].id,
        category_id=w.categories[category].id if category else None))


def routed(loop: Loop, grid: str = "grid111", category: str = "EV0101") -> Case:
    lat, lon = loop.world.grid_point(grid)
    return intake(loop, "citizen", lat=lat, lon=lon, category_code=category)[0]


def test_deeper_region_rule_beats_a_shallower_one(loop: Loop):
    district = rule(loop, "district", "shichang", "EV0101")
    street = rule(loop, "street1", "zhujian", "EV0101")
    here = routed(loop, "grid111")
    assert (here.suggested_unit_id, here.routing_rule_id) == (loop.unit_id("zhujian"), street.id)
    assert here.routing_reason == f"规则 #{street.id}：湖1街道 的「暴露垃圾」事件由 云湖区住建局 办理"
    there = routed(loop, "grid211")
    assert (there.suggested_unit_id, there.routing_rule_id) == (loop.unit_id("shichang"), district.id)


def test_leaf_category_beats_parent_beats_any_category(loop: Loop):
    anything = rule(loop, "street1", "shichang")
    parent = rule(loop, "street1", "zhujian", "EV01")
    leaf = rule(loop, "street1", "chengguan", "EV0101")
    assert routed(loop, category="EV0101").routing_rule_id == leaf.id
    sibling = routed(loop, category="EV0103")  # same parent, no leaf rule
    assert sibling.routing_rule_id == parent.id and "「市容环境」" in sibling.routing_reason
    unrelated = routed(loop, category="GV0101")
    assert unrelated.routing_rule_id == anything.id and "「所有类别」" in unrelated.routing_reason
    # A category-less rule deeper down still beats a leaf rule higher up.
    deeper = rule(loop, "community11", "community11")
    assert routed(loop, category="EV0101").routing_rule_id == deeper.id


def test_inactive_rules_do_not_route(loop: Loop):
    r = rule(loop, "street1", "zhujian", "EV0101")
    config.deactivate_rule(session=loop.session, actor=loop.user("admin"), origin=ORIGIN, rule_id=r.id)
    assert routed(loop).routing_rule_id is None


def test_category_default_unit_then_community_fallback(loop: Loop):
    loop.world.categories["EV0101"].default_unit_id = loop.unit_id("chengguan")
    by_default = routed(loop, category="EV0101")
    assert by_default.suggested_unit_id == loop.unit_id("chengguan") and by_default.routing_rule_id is None
    assert by_default.routing_reason == "无匹配规则，按类别默认单位 云湖区城管局"
    fallback = routed(loop, "grid122", category="EV0103")
    assert fallback.suggested_unit_id == loop.unit_id("community12")
    assert fallback.routing_reason == "无匹配规则，由所在社区 湖1街道2社区 兜底办理"


def test_no_rule_and_no_community_unit_asks_for_a_person(loop: Loop):
    case, _ = intake(loop, "citizen", region_code=loop.world.regions["street2"].code)
    assert case.suggested_unit_id is None and "人工指定" in case.routing_reason


# -- duplicates ------------------------------------------------------------------------------


def near(loop: Loop, metres_north: float, *, category="EV0101", description=DESCRIPTION, hours_ago: float | None = None,
         grid="grid111") -> Case:
    lat, lon = loop.world.grid_point(grid)
    extra = {}
    if hours_ago is not None:
        extra["received_at"] = utcnow() - dt.timedelta(hours=hours_ago)
    return intake(loop, "operator", lat=lat + metres_north * METRE_LAT, lon=lon, category_code=category,
                  description=description, channel=Channel.HOTLINE, **extra)[0]


def test_duplicate_candidates_same_category_near_recent_similar(loop: Loop):
    similar = near(loop, 60, description="小区门口垃圾堆积好几天了没人清理")
    near(loop, 20, category="EV0301")  # another category
    near(loop, 150)  # too far
    near(loop, 10, hours_ago=73)  # too old
    recent = near(loop, 10, hours_ago=71, description="楼下的垃圾")
    other_words = near(loop, 30, description="路边有一只黑色塑料袋")
    case = near(loop, 0)
    found = duplicate_candidates(session=loop.session, actor=loop.user("operator"), case=case)
    ids = [c.case.id for c in found]
    assert set(ids) == {similar.id, recent.id, other_words.id}
    assert ids[0] == similar.id  # the most similar wording first
    best = found[0]
    assert best.distance_m == pytest.approx(60, abs=1) and best.similarity >= 60
    assert found[-1].similarity < found[0].similarity


def test_duplicate_candidates_respect_the_viewers_scope(loop: Loop):
    w = loop.world
    # grid111's east edge touches grid112: a report 40 m across the line is near but in another grid.
    lat, lon = w.grid_point("grid111")
    edge = w.regions["grid112"].centroid_lon - 0.005
    a = intake(loop, "operator", lat=lat, lon=edge - 0.0002, channel=Channel.HOTLINE)[0]
    b = intake(loop, "operator", lat=lat, lon=edge + 0.0002, channel=Channel.HOTLINE)[0]
    assert a.grid_id != b.grid_id
    assert [c.case.id for c in duplicate_candidates(session=loop.session, actor=loop.user("operator"), case=a)] == [b.id]
    assert duplicate_candidates(session=loop.session, actor=loop.user("gridworker"), case=a) == []


def test_duplicate_api_lists_candidates(client, as_user, loop):
    first = near(loop, 40)
    case = near(loop, 0)
    r = client.get(f"/api/cases/{case.id}/duplicates", headers=as_user("operator"))
    assert r.status_code == 200
    assert [d["id"] for d in r.json()] == [first.id]
    assert r.json()[0]["distance_m"] == pytest.approx(40, abs=1)


# -- deadlines from request types ------------------------------------------------------------


def official_workday(d: dt.date) -> bool:
    """chinese_calendar where it has data; Monday–Friday after that (what civicgrid must also say)."""
    try:
        return chinese_calendar.is_workday(d)
    except NotImplementedError:
        return d.weekday() < 5


def nth_workday_after(d: dt.date, n: int) -> dt.date:
    while n:
        d += dt.timedelta(days=1)
        n -= official_workday(d)
    return d


def same_time_on(day: dt.date, instant: dt.datetime) -> dt.datetime:
    return dt.datetime.combine(day, instant.astimezone(SHANGHAI).time(), tzinfo=SHANGHAI)


def test_emergency_acceptance_clock_is_30_wall_clock_minutes(loop: Loop):
    case = routed(loop, category="EV0501")  # road collapse
    night = dt.datetime(2026, 10, 1, 3, 0, tzinfo=SHANGHAI)  # a public holiday, in the night
    loop.fire(case, "register", at=night)
    loop.fire(case, "dispatch", at=night)
    assert case.accept_due_at == night + dt.timedelta(minutes=30)
    # Finishing counts working days: from a holiday the clock starts on the next working day.
    first_workday = nth_workday_after(night.date(), 1)
    assert case.finish_due_at == dt.datetime.combine(first_workday + dt.timedelta(days=1), dt.time(),
                                                     tzinfo=SHANGHAI)
    assert case.calendar_note is None


def test_complaint_gets_15_working_days_across_national_day(loop: Loop):
    case = routed(loop, category="EV0301")  # construction noise
    start = dt.datetime(2026, 9, 29, 10, 30, tzinfo=SHANGHAI)
    assert official_workday(start.date())
    loop.fire(case, "register", at=start)
    due_day = nth_workday_after(start.date(), 15)
    assert case.finish_due_at == same_time_on(due_day, start)
    # The Golden Week holiday is skipped: more than 15 + 7 calendar days pass.
    assert (due_day - start.date()).days > 15 + 7
    assert case.calendar_note is None
    loop.fire(case, "dispatch", at=start)
    assert case.accept_due_at == same_time_on(nth_workday_after(start.date(), 1), start)


@pytest.mark.parametrize("category, accept_days, finish_days", [("EV0101", 1, 5), ("GV0601", None, 1),
                                                                  ("GV0701", 1, 15)])
def test_deadlines_follow_the_request_type(loop: Loop, category, accept_days, finish_days):
    case = routed(loop, category=category)
    start = dt.datetime(2026, 11, 24, 14, 0, tzinfo=SHANGHAI)
    loop.fire(case, "register", at=start)
    loop.fire(case, "dispatch", at=start)
    assert case.finish_due_at == same_time_on(nth_workday_after(start.date(), finish_days), start)
    expected_accept = same_time_on(nth_workday_after(start.date(), accept_days), start) if accept_days else None
    assert case.accept_due_at == expected_accept


def test_deadline_into_2027_says_the_calendar_was_guessed(loop: Loop):
    case = routed(loop, category="EV0301")
    start = dt.datetime(2026, 12, 21, 9, 0, tzinfo=SHANGHAI)
    loop.fire(case, "register", at=start)
    due_day = nth_workday_after(start.date(), 15)
    assert due_day.year == 2027
    assert case.finish_due_at == same_time_on(due_day, start)
    assert case.calendar_note == (
        "2027 年法定节假日尚未录入，按周一至周五计算工作日 (no official holidays for 2027; Mon–Fri used)")
    shown = routed(loop, category="EV0101")
    loop.fire(shown, "register", at=dt.datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI))
    assert shown.calendar_note is None


def test_case_numbers_are_written_with_the_insert_and_stay_unique_within_one_transaction(loop: Loop):
    # The id is reserved before the INSERT (a sequence on PostgreSQL, the next rowid under SQLite's
    # write lock), so the number needs no second UPDATE; several intakes in one transaction
    # (a bulk import) must still get distinct, consecutive ids and matching numbers.
    w = loop.world
    lat, lon = w.grid_point("grid111")
    cases = [intake(loop, "citizen", lat=lat, lon=lon, channel=Channel.CITIZEN_WEB,
                    description=f"{DESCRIPTION}（第{i}次）")[0] for i in range(3)]
    ids = [c.id for c in cases]
    assert len(set(ids)) == 3 and ids == sorted(ids)
    stored = dict(loop.session.execute(select(Case.id, Case.number).where(Case.id.in_(ids))).all())
    assert all(stored[c.id] == c.number and c.number.endswith(f"{c.id:07d}") for c in cases)
