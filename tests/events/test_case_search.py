"""Text search over cases (events/search.py): the words kept for each case, the search in the case
list on both databases, the index kept in step when a case changes, and the migration's back-fill."""

from __future__ import annotations

import datetime as dt
import os
import re

import pytest
from sqlalchemy import create_engine, text

from civicgrid.errors import InvalidInput
from civicgrid.events import listing, search
from civicgrid.events.listing import CaseFilter
from civicgrid.events.workflow import CaseState as S
from civicgrid.migrations import upgrade
from tests.conftest import fresh_database

from .conftest import Loop

MATCH = "SELECT rowid FROM case_search WHERE case_search MATCH :w"


def found(loop: Loop, q: str, user: str = "operator") -> set[int]:
    rows, total, exact, more = listing.list_cases(session=loop.session, actor=loop.user(user),
                                                  filters=CaseFilter(q=q), size=200)
    assert total == len(rows) and exact and not more
    return {c.id for c in rows}


def test_document_terms_hold_each_word_and_the_words_inside_it():
    terms = search.document_terms("东城区井盖破损", "幸福路12号", "ABC公司门口，井盖缺失！").split()
    assert {"东城区", "东城", "城区", "井盖", "破损", "幸福", "路", "12", "号", "abc", "公司", "缺失"} <= set(terms)
    assert len(terms) == len(set(terms))  # each word once
    assert not any(t in terms for t in ("，", "！", " ", ""))  # punctuation is never a word
    assert search.document_terms("", None, "") == ""


def test_a_query_without_letters_or_digits_is_refused_in_both_languages():
    with pytest.raises(InvalidInput) as caught:
        search.query_words("，、！ ")
    assert "文字或数字" in caught.value.detail_zh and "letters or digits" in caught.value.detail_en
    assert search.query_words("垃圾 清运 ABC") == ["垃圾", "清运", "abc"]


@pytest.fixture
def texts(loop: Loop) -> dict:
    made = {
        "manhole": loop.report(by="operator", title="人行道井盖破损", address="幸福路12号",
                               description="井盖破损有行人绊倒的危险，请尽快处理"),
        "rubbish": loop.report(by="operator", title="小区垃圾清运不及时", address="和平街8号",
                               description="垃圾桶已满三天，ABC物业未清运"),
        "noise": loop.report(by="operator", title="夜间施工噪音扰民", address="幸福路30号",
                             description="工地每晚十一点后仍在施工，噪音很大"),
    }
    made["far"] = loop.report(by="street2_op", grid="grid211", title="井盖丢失", address="远方路1号",
                              description="路口井盖丢失")
    return made


def test_the_case_list_finds_words_in_title_address_and_description(loop: Loop, texts):
    ids = {k: c.id for k, c in texts.items()}
    assert found(loop, "井盖") == {ids["manhole"]}  # the other district's 井盖 case stays out of scope
    assert found(loop, "井盖", "street2_op") == {ids["far"]}
    assert found(loop, "幸福路") == {ids["manhole"], ids["noise"]}  # address
    assert found(loop, "绊倒") == {ids["manhole"]}  # description only
    assert found(loop, "abc") == found(loop, "ABC") == {ids["rubbish"]}  # Latin letters in any case
    assert found(loop, "垃圾 清运") == {ids["rubbish"]}  # every word is required ...
    assert found(loop, "垃圾 噪音") == set()  # ... so two cases' words together find neither
    assert found(loop, "噪音扰民") == {ids["noise"]}  # words typed together are cut the same way
    assert found(loop, "停车") == set()
    assert found(loop, texts["noise"].number) == {ids["noise"]}  # a case number finds its case
    assert found(loop, f" {texts['noise'].number} ") == {ids["noise"]}


def test_the_search_follows_a_case_whose_words_change(loop: Loop, texts):
    case = texts["noise"]
    case.search_terms = search.document_terms("占道经营", None, "流动摊贩占用人行道")
    loop.session.flush()
    assert found(loop, "摊贩") == {case.id}
    assert found(loop, "噪音") == set()


def test_the_api_refuses_a_search_without_words(client, as_user, world):
    response = client.get("/api/cases", params={"q": "，，"}, headers=as_user("operator"))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert "文字或数字" in body["detail_zh"] and "letters or digits" in body["detail_en"]


def test_the_migration_fills_in_the_words_of_existing_cases(tmp_path_factory):
    """Cases stored before 0012 become findable: the back-fill cuts their words into the index."""
    with fresh_database(tmp_path_factory, "search", "0011_reference_version") as url:
        engine = create_engine(url)
        try:
            with engine.begin() as conn:
                _insert_bare_case(conn, title="井盖破损", description="人行道井盖破损", address="幸福路12号")
            upgrade(url)
            with engine.begin() as conn:
                words = conn.execute(text('SELECT search_terms FROM "case"')).scalar_one()
                assert {"井盖", "破损", "幸福", "12"} <= set(re.findall(r"[^\W_]+", words))
                if conn.dialect.name == "sqlite":  # the FTS5 index, and its triggers for later changes
                    assert len(conn.execute(text(MATCH), {"w": '"幸福" "路"'}).all()) == 1
                    conn.execute(text("UPDATE \"case\" SET search_terms = '占道 经营'"))
                    assert len(conn.execute(text(MATCH), {"w": '"经营"'}).all()) == 1
                    assert conn.execute(text(MATCH), {"w": '"幸福"'}).all() == []
                    conn.execute(text('DELETE FROM "case"'))
                    assert conn.execute(text(MATCH), {"w": '"经营"'}).all() == []
                else:
                    assert conn.execute(text("SELECT count(*) FROM \"case\" WHERE search_terms @@ '幸福 & 路'::tsquery"
                                             )).scalar_one() == 1
        finally:
            engine.dispose()


def _insert_bare_case(conn, **given) -> None:
    """A case row as release 0011 stored it (its required columns), with no foreign rows behind it."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL session_replication_role = replica"))  # no foreign-key checks
    at = dt.datetime(2026, 11, 1, 8)
    values = {
        "channel": "OPERATOR", "category_id": 1, "request_type": "COMPLAINT", "urgency": "NORMAL",
        "location_status": "inside", "region_id": 1, "region_path": "/99/", "level": "GRID", "desk_region_id": 1,
        "desk_path": "/99/", "state": "REPORTED", "received_at": at, "updated_at": at, "suspended_seconds": 0,
        "extensions_count": 0, "returns_count": 0, "rework_count": 0, "escalations_count": 0,
        "supervision_count": 0, "self_handled": False, "due_soon": False, "overdue": False, "accept_overdue": False,
    } | given
    conn.execute(text(f'INSERT INTO "case" ({", ".join(values)}) VALUES ({", ".join(":" + k for k in values)})'),
                 values)


def test_every_sqlite_plan_lists_the_same_cases(loop: Loop, texts, monkeypatch):
    """The index hints change how SQLite finds a page, never what it finds: forcing every walk
    (thresholds at 0) lists the same cases and totals as leaving the plan to the planner."""
    loop.drive(texts["rubbish"], S.DISPATCHED)  # to 城管, so the handler has a case to search
    queries = [("operator", {"q": "井盖"}), ("city_op", {"q": "井盖"}), ("district_op", {"q": "幸福路"}),
               ("street_op", {"q": "施工 噪音"}), ("handler", {"q": "垃圾"}), ("city_op", {"state": ["reported"]}),
               ("city_op", {}), ("street_op", {"channel": "operator"}), ("city_op", {"q": "井盖", "region_id": "street2"}),
               ("operator", {"category_id": "EV0101"}), ("city_op", {"category_id": "EV0101", "q": "井盖"})]

    def lists() -> list:
        out = []
        for user, given in queries:
            given = dict(given)
            if "region_id" in given:
                given["region_id"] = loop.world.regions[given["region_id"]].id
            if "category_id" in given:
                given["category_id"] = loop.world.categories[given["category_id"]].id
            rows, total, exact, _ = listing.list_cases(session=loop.session, actor=loop.user(user),
                                                       filters=CaseFilter(**given), size=200)
            out.append(([c.id for c in rows], total, exact))
        return out

    planned = lists()
    assert planned[0][0] == [texts["manhole"].id] and planned[4][0] == [texts["rubbish"].id]
    assert planned[8][0] == [texts["far"].id]
    assert set(planned[9][0]) == {texts[k].id for k in ("manhole", "rubbish", "noise")}  # a category's own walk
    assert planned[10][0] == [texts["far"].id, texts["manhole"].id]
    monkeypatch.setattr(listing, "WALK_ABOVE", 0)
    monkeypatch.setattr(listing, "SEARCH_DRIVE_LIMIT", 0)
    assert lists() == planned


@pytest.mark.skipif(os.environ.get("CIVICGRID_TEST_DB", "sqlite") != "sqlite", reason="SQLite's plans only")
def test_sqlite_walks_the_index_that_fits_the_scope(loop: Loop, texts, monkeypatch):
    pick = listing._sqlite_search_index
    assert pick(loop.session, loop.user("city_op"), CaseFilter(q="井盖")) is None  # few matches: from them
    monkeypatch.setattr(listing, "SEARCH_DRIVE_LIMIT", 0)
    assert pick(loop.session, loop.user("city_op"), CaseFilter(q="井盖")) == "ix_case_received_order"
    assert pick(loop.session, loop.user("district_op"), CaseFilter(q="井盖")) == "ix_case_received_order"
    assert pick(loop.session, loop.user("street_op"), CaseFilter(q="井盖")) == "ix_case_region_received"
    street = loop.world.regions["street1"].id
    assert pick(loop.session, loop.user("city_op"), CaseFilter(q="井盖", region_id=street)) == \
        "ix_case_region_received"
    assert pick(loop.session, loop.user("handler"), CaseFilter(q="井盖")) == "ix_case_unit_received"
    assert pick(loop.session, loop.user("city_op"), CaseFilter(q=texts["far"].number)) is None
    walk = listing._sqlite_walk
    assert walk(loop.user("city_op"), CaseFilter(state=["reported"]), listing.WALK_ABOVE + 1) == \
        "ix_case_received_order"
    assert walk(loop.user("city_op"), CaseFilter(state=["reported"]), listing.WALK_ABOVE) is None
    category = loop.world.categories["EV0101"].id
    assert walk(loop.user("city_op"), CaseFilter(category_id=category), 0) == "ix_case_category_order"
    assert walk(loop.user("city_op"), CaseFilter(category_id=category, overdue=True), 10**6) is None
    assert walk(loop.user("handler"), CaseFilter(), 10**6) is None
