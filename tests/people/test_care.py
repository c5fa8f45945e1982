"""People under care: start/end with reasons, levels, caretakers, visit schedules by type and colour,
the visit log, missed-visit alerts (idempotent), case involvement flagged to caretakers."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from civicgrid.audit.models import AuditEntry
from civicgrid.errors import Conflict, Forbidden, InvalidInput, NotFound
from civicgrid.events.intake import intake_case
from civicgrid.events.schemas import CaseCreate
from civicgrid.notifications.models import Notification
from civicgrid.people import care, risk
from civicgrid.people.models import CareRecord, Person
from civicgrid.people.schemas import CareChange, CareCreate, CareEnd, CaretakerCreate, VisitCreate
from tests.people.conftest import ORIGIN

UTC = dt.UTC


@pytest.fixture
def cared(session, people):
    """A person under care (severe mental illness, close attention) with the grid worker as caretaker."""
    w = people.world
    person = people.add("林某")
    record = care.start_care(session=session, actor=w.users["operator"], origin=ORIGIN, person_id=person.id,
                             data=CareCreate(type_code="mental_illness", level="key", reason="卫健部门转介"))
    care.add_caretaker(session=session, actor=w.users["operator"], origin=ORIGIN, care_id=record.id,
                       data=CaretakerCreate(kind="grid_worker", user_id=w.users["gridworker"].id, is_primary=True))
    care.add_caretaker(session=session, actor=w.users["operator"], origin=ORIGIN, care_id=record.id,
                       data=CaretakerCreate(kind="family", name="林某家属", phone="13811112222"))
    return person, record


def inbox(session, user, kind):
    return session.scalar(select(func.count(Notification.id)).where(Notification.user_id == user.id,
                                                                    Notification.kind == kind)) or 0


def test_start_care_sets_flag_colour_and_first_visit(session, people, cared):
    person, record = cared
    assert person.under_care
    assert record.colour == "orange"  # level key → orange (rule care_level_key)
    # mental_illness at orange: every 14 days from the start.
    start = dt.datetime.combine(record.started_on, dt.time(0, 0), tzinfo=UTC)
    assert record.next_visit_due == start + dt.timedelta(days=14)
    names = [c.name for c in care.caretakers(session=session, care_id=record.id)]
    assert names == ["gridworker", "林某家属"]


def test_same_type_twice_is_refused(session, people, cared):
    person, _ = cared
    with pytest.raises(Conflict):
        care.start_care(session=session, actor=people.world.users["operator"], origin=ORIGIN, person_id=person.id,
                        data=CareCreate(type_code="mental_illness", level="key", reason="重复"))


def test_visit_plans_the_next_one_by_colour(session, people, cared):
    _, record = cared
    at = dt.datetime.now(UTC) - dt.timedelta(hours=1)
    visit = care.log_visit(session=session, actor=people.world.users["gridworker"], origin=ORIGIN, care_id=record.id,
                           data=VisitCreate(at=at, place="家中", lat=26.09, lon=119.305, findings="按时服药，情绪稳定",
                                            next_step="两周后复访"))
    assert not visit.late
    assert record.last_visit_at == at and record.next_visit_due == at + dt.timedelta(days=14)
    with pytest.raises(InvalidInput):
        care.log_visit(session=session, actor=people.world.users["gridworker"], origin=ORIGIN, care_id=record.id,
                       data=VisitCreate(at=dt.datetime.now(UTC) + dt.timedelta(days=2), findings="未来的走访"))


def test_missed_visit_alerts_once_then_visit_clears(session, people, cared):
    w = people.world
    _, record = cared
    later = record.next_visit_due + dt.timedelta(days=2)
    first = care.scan_visits(session=session, now=later)
    assert first.missed == 1
    assert inbox(session, w.users["gridworker"], "visit_missed") == 1
    assert inbox(session, w.users["operator"], "visit_missed") == 1  # the community centre supervises
    assert record.visit_overdue
    again = care.scan_visits(session=session, now=later + dt.timedelta(hours=3))
    assert again.missed == 0 and inbox(session, w.users["gridworker"], "visit_missed") == 1
    care.log_visit(session=session, actor=w.users["gridworker"], origin=ORIGIN, care_id=record.id,
                   data=VisitCreate(findings="补充走访，情况正常"))
    assert not record.visit_overdue


def test_level_change_and_end_are_in_the_history(session, people, cared):
    w = people.world
    person, record = cared
    care.change_level(session=session, actor=w.users["operator"], origin=ORIGIN, care_id=record.id,
                      data=CareChange(level="routine", reason="病情稳定一年"))
    assert record.colour == "blue"
    care.end_care(session=session, actor=w.users["operator"], origin=ORIGIN, care_id=record.id,
                  data=CareEnd(reason="迁出本辖区"))
    assert not record.active and record.next_visit_due is None and not person.under_care
    actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "care_record",
                                                                   AuditEntry.entity_id == str(record.id))
                                   .order_by(AuditEntry.id)))
    assert actions == ["start", "add_caretaker", "add_caretaker", "level", "end"]
    colours = list(session.scalars(select(AuditEntry.to_state).where(AuditEntry.entity == "risk_care",
                                                                     AuditEntry.entity_id == str(record.id))
                                   .order_by(AuditEntry.id)))
    assert colours == ["orange", "blue", "green"]


def test_case_involving_a_person_under_care_is_flagged(session, people, cared):
    w = people.world
    person, record = cared
    lat, lon = w.grid_point("grid111")
    case, _ = intake_case(session=session, actor=w.users["operator"], origin=ORIGIN,
                          data=CaseCreate(category_code="EV0101", description="邻里纠纷，双方争吵", lat=lat, lon=lon))
    care.link_case_person(session=session, actor=w.users["operator"], origin=ORIGIN, case_id=case.id, person_id=person.id)
    assert inbox(session, w.users["gridworker"], "care_case") == 1
    row = risk.colour_of(session=session, actor=w.users["operator"], subject="care", subject_id=record.id)
    assert {h["rule"] for h in row.explanation} >= {"care_open_case", "care_recent_case"}
    cases = care.cases_of_person(session=session, actor=w.users["operator"], person_id=person.id)
    assert [c.id for c, _ in cases] == [case.id]


def test_care_data_is_for_the_roles_that_need_it(session, client, as_user, people, cared):
    _, record = cared
    assert client.get(f"/api/care/{record.id}", headers=as_user("handler")).status_code == 403
    assert client.get(f"/api/care/{record.id}", headers=as_user("operator21")).status_code == 404
    body = client.get(f"/api/care/{record.id}", headers=as_user("leader")).json()
    assert body["caretakers"][1]["phone"] == "138****2222"
    assert "phone_cipher" not in body["caretakers"][1]
    with pytest.raises(Forbidden):
        care.start_care(session=session, actor=people.world.users["gridworker"], origin=ORIGIN,
                        person_id=record.person_id, data=CareCreate(type_code="released_prisoner", reason="x" * 4))
    with pytest.raises(NotFound):
        care.get_care(session=session, actor=people.world.users["operator12"], care_id=record.id)


def test_care_list_api_filters(session, client, as_user, people, cared):
    _, record = cared
    rows = client.get("/api/care", params={"colour": "orange"}, headers=as_user("operator")).json()
    assert [r["id"] for r in rows] == [record.id]
    assert rows[0]["person"]["id_number"].count("*") == 8
    mine = client.get("/api/care", params={"mine": True}, headers=as_user("gridworker")).json()
    assert [r["id"] for r in mine] == [record.id]
    assert client.get("/api/care", params={"type_code": "key_youth"}, headers=as_user("operator")).json() == []
    visit = client.post(f"/api/care/{record.id}/visits", json={"findings": "情绪稳定", "place": "社区"},
                        headers=as_user("gridworker"))
    assert visit.status_code == 201 and visit.json()["late"] is False
    types = client.get("/api/care/types", headers=as_user("operator")).json()
    assert {"key_youth_idle", "community_correction"} <= {t["code"] for t in types}


def test_run_nightly_is_idempotent(session, people, cared):
    _, record = cared
    first = care.run_nightly()
    second = care.run_nightly()
    assert first["care"] == second["care"] == 1
    assert session.scalar(select(func.count(CareRecord.id))) == 1
    assert session.get(Person, record.person_id).under_care


def test_nightly_pass_runs_once_a_local_day_from_two_oclock(session, people, cared):
    from civicgrid.people.models import JobRun

    _, record = cared
    before_two = dt.datetime(2026, 11, 23, 17, 30, tzinfo=UTC)  # 01:30 in Shanghai on the 24th
    skipped = care.run_nightly_if_due(before_two)
    assert not skipped.ran and "02:00" in skipped.reason
    night = dt.datetime(2026, 11, 23, 19, 0, tzinfo=UTC)  # 03:00 in Shanghai on the 24th
    first = care.run_nightly_if_due(night)
    assert first.ran and first.run_on == dt.date(2026, 11, 24) and first.counts["care"] == 1
    again = care.run_nightly_if_due(night + dt.timedelta(hours=5))
    assert not again.ran and again.reason == "already run"
    claim = session.get(JobRun, (care.NIGHTLY_JOB, dt.date(2026, 11, 24)))
    assert claim.result["care"] == 1
    assert care.run_nightly_if_due(night + dt.timedelta(days=1)).ran
    assert "care 1" in str(first) and "skipped" in str(again)


def test_a_failed_nightly_pass_leaves_no_claim(session, people, cared, monkeypatch):
    from civicgrid.people.models import JobRun

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(risk, "recompute_all", broken)
    night = dt.datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
    with pytest.raises(RuntimeError):
        care.run_nightly_if_due(night)
    assert session.get(JobRun, (care.NIGHTLY_JOB, dt.date(2026, 11, 24))) is None
    monkeypatch.undo()
    assert care.run_nightly_if_due(night).ran


def test_the_care_scans_are_periodic_jobs_and_run_once_from_the_scheduler(session, people, cared):
    from civicgrid.jobs import PERIODIC_JOBS, run_all

    targets = [t for t, _zh, _en in PERIODIC_JOBS]
    assert "civicgrid.people.care:run_visit_scan" in targets
    assert "civicgrid.people.care:run_nightly_if_due" in targets
    _, record = cared
    record.next_visit_due = dt.datetime.now(UTC) - dt.timedelta(days=3)
    session.flush()
    results = {en: result for _zh, en, result in run_all()}
    assert results["missed care visits"].missed == 1
    session.refresh(record)
    assert record.visit_overdue and record.alerted_due is not None
    # Idempotent: a second round alerts nothing again.
    assert {en: r for _zh, en, r in run_all()}["missed care visits"].missed == 0
    alerts = session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.entity == "care_record",
                                                                    AuditEntry.action == "visit_missed"))
    assert alerts == 1


def test_the_people_router_no_longer_starts_a_watcher_of_its_own():
    from civicgrid.people.routes import router

    assert not hasattr(care, "CareWatcher") and not hasattr(care, "lifespan")
    assert router.lifespan_context is None or "care" not in getattr(router.lifespan_context, "__module__", "")
