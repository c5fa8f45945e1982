"""GET requests, one request and tokens: fields, filters, the 1,000 cap, status through the workflow, privacy."""

from __future__ import annotations

import datetime as dt
import time
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import pytest
from sqlalchemy import insert, select

from civicgrid.db import utcnow
from civicgrid.events.models import Case, Channel
from civicgrid.open311.service import scrub
from tests.open311.conftest import BASE, close_through_workflow, fire, make_case, parse

FORMATS = ("json", "xml")
FIELDS = ["service_request_id", "status", "status_notes", "service_name", "service_code", "description",
          "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
          "address", "address_id", "zipcode", "lat", "long", "media_url"]
DAY = dt.timedelta(days=1)


def _get(client, path: str, fmt: str = "json", **params):
    return client.get(f"{BASE}/{path}.{fmt}", params=params)


def _ids(response) -> list[str]:
    return [r["service_request_id"] for r in parse(response)]


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


# --- one request, tokens, fields ------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_posted_request_reads_back_by_number_id_and_token(post, client, session, world, fmt):
    lat, lon = world.grid_point("grid111")
    created = parse(post(fmt, service_code="EV0101", lat=lat, long=lon, description="垃圾桶满了",
                         media_url="https://img.example.cn/1.jpg"))[0]
    number, token = created["service_request_id"], created["token"]
    case = session.scalar(select(Case).where(Case.number == number))

    by_number = _get(client, f"requests/{number}", fmt)
    assert by_number.status_code == 200
    [request] = parse(by_number)
    assert list(request) == FIELDS
    assert parse(_get(client, f"requests/{case.id}", fmt)) == [request]
    assert request["service_request_id"] == number
    assert request["status"] == "open" and request["status_notes"] == "待立案"
    assert request["service_code"] == "EV0101" and request["service_name"] == "暴露垃圾"
    assert request["description"] == "垃圾桶满了"
    assert request["media_url"] == "https://img.example.cn/1.jpg"
    assert request["address_id"] == world.regions["grid111"].code
    assert "第1网格" in request["address"]
    assert float(request["lat"]) == pytest.approx(lat) and float(request["long"]) == pytest.approx(lon)
    assert _instant(request["requested_datetime"]) == case.received_at.replace(microsecond=0)
    assert request["requested_datetime"].endswith("+08:00")
    assert request["expected_datetime"] in (None, "")
    assert request["agency_responsible"] == world.units["community11"].name_zh

    from_token = _get(client, f"tokens/{token}", fmt)
    assert from_token.status_code == 200
    assert parse(from_token) == [{"service_request_id": number, "token": token}]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("path", ["requests/999999999", "requests/abc", "requests/0", "requests/1" + "0" * 30,
                                  "requests/1%00", "tokens/deadbeefdeadbeef", "tokens/<x>", "tokens/a%00b"])
def test_unknown_request_or_token_is_404(client, world, fmt, path):
    response = _get(client, path, fmt)
    assert response.status_code == 404
    [error] = parse(response)
    assert str(error["code"]) == "404" and error["description"]


def test_tokens_only_name_open311_requests(client, session, world):
    case = make_case(session, world)
    assert case.external_token is None
    case.external_token = "feedfacefeedface"  # as if another integration had used the column
    session.flush()
    assert _get(client, "tokens/feedfacefeedface").status_code == 404


def test_english_labels_on_request(post, client, world):
    lat, lon = world.grid_point("grid111")
    number = post(service_code="EV0101", lat=lat, long=lon).json()[0]["service_request_id"]
    [request] = client.get(f"{BASE}/requests/{number}.json", headers={"Accept-Language": "en"}).json()
    assert request["service_name"] == "Exposed rubbish"
    assert request["status_notes"] == "Reported"
    assert "working days" in request["service_notice"]


# --- status through the workflow ------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_closing_through_the_workflow_reports_closed(client, session, world, fmt):
    case = make_case(session, world)
    fire(session, world, case, "register")
    fire(session, world, case, "dispatch", unit_id=world.units["chengguan"].id)
    [dispatched] = parse(_get(client, f"requests/{case.number}", fmt))
    assert dispatched["status"] == "open" and dispatched["status_notes"] == "待签收"
    assert dispatched["agency_responsible"] == "云湖区城管局"
    assert _instant(dispatched["expected_datetime"]) == case.finish_due_at.replace(microsecond=0)

    fire(session, world, case, "accept", actor="handler")
    fire(session, world, case, "resolve", actor="handler", note="已清运，联系电话 13900001111")
    assert parse(_get(client, f"requests/{case.number}", fmt))[0]["status"] == "open"  # resolved, not yet verified
    fire(session, world, case, "verify")
    fire(session, world, case, "close")
    [closed] = parse(_get(client, f"requests/{case.number}", fmt))
    assert closed["status"] == "closed"
    assert closed["status_notes"] == "已清运，联系电话 139****1111"
    assert _instant(closed["updated_datetime"]) == case.closed_at.replace(microsecond=0)


def test_rejection_is_closed_with_the_reason(client, session, world):
    case = make_case(session, world)
    fire(session, world, case, "reject", note="不属于受理范围")
    [request] = _get(client, f"requests/{case.number}").json()
    assert request["status"] == "closed" and request["status_notes"] == "不属于受理范围"


def test_a_merged_case_reports_its_masters_status(client, session, world):
    master = make_case(session, world, description="小区门口垃圾堆积")
    duplicate = make_case(session, world, description="门口垃圾没人清")
    fire(session, world, duplicate, "merge", master_id=master.id, note="重复事件")
    [merged] = _get(client, f"requests/{duplicate.number}").json()
    assert merged["status"] == "open"
    assert master.number in merged["status_notes"]
    assert _ids(_get(client, "requests", status="closed")) == []

    close_through_workflow(session, world, master, note="已清理")
    [merged] = _get(client, f"requests/{duplicate.number}").json()
    assert merged["status"] == "closed"
    assert merged["status_notes"] == f"已合并到服务请求 {master.number}（已清理）"
    assert merged["agency_responsible"] == "云湖区城管局"
    assert set(_ids(_get(client, "requests", status="closed"))) == {master.number, duplicate.number}
    assert _ids(_get(client, "requests", status="open")) == []


def test_a_chain_of_merges_is_followed(client, session, world):
    first, second, third = (make_case(session, world, description=f"垃圾 {i}") for i in range(3))
    fire(session, world, first, "merge", master_id=second.id)
    fire(session, world, second, "merge", master_id=third.id)
    fire(session, world, third, "reject", note="已由环卫处理")
    by_id = {r["service_request_id"]: r for r in _get(client, "requests").json()}
    assert {n: r["status"] for n, r in by_id.items()} == {first.number: "closed", second.number: "closed",
                                                          third.number: "closed"}
    assert third.number in by_id[first.number]["status_notes"]
    assert set(_ids(_get(client, "requests", status="closed"))) == {first.number, second.number, third.number}


# --- filters ----------------------------------------------------------------------------


@pytest.fixture
def dated(session, world) -> dict[str, Case]:
    """Cases received 1, 30 and 100 days ago (EV0101) and 10 days ago (CP0101)."""
    now = utcnow()
    return {
        "d1": make_case(session, world, received_at=now - DAY),
        "d30": make_case(session, world, received_at=now - 30 * DAY),
        "d100": make_case(session, world, received_at=now - 100 * DAY),
        "light10": make_case(session, world, category="CP0101", description="路灯不亮", received_at=now - 10 * DAY),
    }


@pytest.mark.parametrize("fmt", FORMATS)
def test_default_window_is_the_last_90_days_newest_first(client, dated, fmt):
    assert _ids(_get(client, "requests", fmt)) == [dated[k].number for k in ("d1", "light10", "d30")]


def _w3c(instant: dt.datetime, utc: bool = False) -> str:
    if utc:
        return instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return instant.astimezone(dt.timezone(dt.timedelta(hours=8))).isoformat(timespec="seconds")


@pytest.mark.parametrize("fmt", FORMATS)
def test_start_and_end_date_bound_the_window(client, dated, fmt):
    now = utcnow()
    found = _ids(_get(client, "requests", fmt, start_date=_w3c(now - 120 * DAY, utc=True),
                      end_date=_w3c(now - 31 * DAY, utc=True)))
    assert found == [dated["d100"].number]
    found = _ids(_get(client, "requests", fmt, start_date=_w3c(now - 40 * DAY), end_date=_w3c(now - 5 * DAY)))
    assert found == [dated["light10"].number, dated["d30"].number]


def test_only_start_date_spans_90_days_from_it(client, dated):
    now = utcnow()
    assert _ids(_get(client, "requests", start_date=_w3c(now - 101 * DAY))) == [dated["d30"].number,
                                                                                 dated["d100"].number]


def test_only_end_date_spans_90_days_before_it(client, dated):
    now = utcnow()
    assert _ids(_get(client, "requests", end_date=_w3c(now - 20 * DAY))) == [dated["d30"].number,
                                                                              dated["d100"].number]


def test_date_only_end_covers_the_whole_day(client, session, world):
    now = utcnow()
    case = make_case(session, world, received_at=now - 2 * DAY)
    local_day = case.received_at.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    found = _ids(_get(client, "requests", start_date=local_day.isoformat(), end_date=local_day.isoformat()))
    assert found == [case.number]


def test_an_unencoded_plus_in_the_offset_is_understood(client, dated):
    # "…+08:00" typed into a URL without encoding arrives as "… 08:00".
    now = utcnow()
    start = _w3c(now - 40 * DAY).replace("+", " ")
    response = client.get(f"{BASE}/requests.json?start_date={start}&end_date={_w3c(now - 5 * DAY).replace('+', '%2B')}")
    assert response.status_code == 200
    assert _ids(response) == [dated["light10"].number, dated["d30"].number]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("params", "mentioned"), [
    ({"start_date": "yesterday"}, "start_date"),
    ({"end_date": "2026-13-01"}, "end_date"),
    ({"start_date": "2026-11-01T25:00:00Z"}, "start_date"),
    ({"start_date": "9999-12-31T00:00:00Z"}, "range"),
    ({"start_date": "0001-01-01"}, "start_date"),
    ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}, "90 days"),
    ({"start_date": "2026-06-01T00:00:00Z", "end_date": "2026-05-01T00:00:00Z"}, "after"),
    ({"status": "pending"}, "status"),
    ({"status": "open,resolved"}, "resolved"),
])
def test_bad_filters_are_400_in_the_spec_format(client, world, fmt, params, mentioned):
    response = client.get(f"{BASE}/requests.{fmt}", params=params, headers={"Accept-Language": "en"})
    assert response.status_code == 400, response.text
    [error] = parse(response)
    assert str(error["code"]) == "400" and mentioned in error["description"]


def test_status_filter(client, session, dated, world):
    close_through_workflow(session, world, dated["d30"])
    assert _ids(_get(client, "requests", status="closed")) == [dated["d30"].number]
    assert _ids(_get(client, "requests", status="open")) == [dated["d1"].number, dated["light10"].number]
    both = [dated[k].number for k in ("d1", "light10", "d30")]
    assert _ids(_get(client, "requests", status="open,closed")) == both
    assert _ids(client.get(f"{BASE}/requests.json?status=closed&status=OPEN")) == both


def test_service_code_filter_takes_lists(client, dated):
    assert _ids(_get(client, "requests", service_code="CP0101")) == [dated["light10"].number]
    assert len(_ids(_get(client, "requests", service_code="CP0101,EV0101"))) == 3
    assert len(_ids(client.get(f"{BASE}/requests.json?service_code=CP0101&service_code=EV0101"))) == 3
    assert _ids(_get(client, "requests", service_code="NOPE")) == []


def test_service_request_id_overrides_the_other_filters(client, dated):
    wanted = f"{dated['d100'].number},{dated['d1'].id}, nonsense,999999999"
    found = _ids(_get(client, "requests", service_request_id=wanted, status="closed", service_code="CP0101",
                      start_date="2020-01-01"))
    assert found == [dated["d1"].number, dated["d100"].number]


def test_at_most_1000_requests_newest_first(client, session, world):
    template = make_case(session, world)
    columns = {c.key: getattr(template, c.key) for c in Case.__table__.columns
               if c.key not in ("id", "number", "external_token", "idempotency_key", "received_at")}
    now = utcnow()
    session.execute(insert(Case), [
        {**columns, "number": f"BULK{i:06d}", "received_at": now - dt.timedelta(minutes=i + 1)}
        for i in range(1005)
    ])
    for fmt in FORMATS:
        found = _ids(_get(client, "requests", fmt))
        assert len(found) == 1000
        assert found[:3] == [template.number, "BULK000000", "BULK000001"]
        assert found[-1] == "BULK000998"


# --- privacy ----------------------------------------------------------------------------


def test_reporter_contact_data_is_never_shown(post, client, world):
    lat, lon = world.grid_point("grid111")
    secrets = {"first_name": "三", "last_name": "张", "phone": "13812345678", "email": "zhang@example.cn",
               "device_id": "device-secret-1", "account_id": "account-secret-9"}
    number = post(service_code="EV0101", lat=lat, long=lon, description="张三反映：楼下垃圾，回电 13812345678",
                  **secrets).json()[0]["service_request_id"]
    for fmt in FORMATS:
        for response in (_get(client, "requests", fmt), _get(client, f"requests/{number}", fmt)):
            text = response.content.decode()
            for value in ("13812345678", "zhang@example.cn", "张三", "device-secret-1", "account-secret-9"):
                assert value not in text
    assert _get(client, f"requests/{number}").json()[0]["description"] == "张*反映：楼下垃圾，回电 138****5678"


def test_contact_details_in_free_text_are_masked(client, session, world):
    case = make_case(session, world, description=(
        "住户 李四 电话 0591-87654321 身份证 350102199001011234 邮箱 lisi@mail.example.cn 手机 +86 13900001111"))
    [request] = _get(client, f"requests/{case.number}").json()
    text = request["description"]
    for secret in ("87654321", "199001011234", "lisi@", "13900001111"):
        assert secret not in text
    assert "***@mail.example.cn" in text


@pytest.mark.parametrize("text", ["a" * 5000, "1" * 5000, "垃圾" * 2500, "a." * 2500, "a@" * 2500,
                                  "x@a." + "b." * 2500])
def test_masking_stays_linear_on_long_text(text):
    # 1,000 rows of 5,000 characters each are scrubbed per page; a backtracking pattern took ~1 s per row.
    reporter = SimpleNamespace(reporter_phone="13812345678", reporter_name="张三")
    started = time.perf_counter()
    scrub(text, reporter)
    assert time.perf_counter() - started < 0.05


def test_requests_about_individuals_show_no_details(client, session, world):
    case = make_case(session, world, category="GV0101", description="王五和邻居为漏水争吵")
    fire(session, world, case, "reject", note="已由人民调解委员会受理")
    [request] = _get(client, f"requests/{case.number}").json()
    assert request["service_code"] == "GV0101" and request["status"] == "closed"
    assert request["status_notes"] == "不予立案"
    for withheld in ("description", "address", "address_id", "lat", "long", "media_url"):
        assert request[withheld] is None
    assert "王五" not in _get(client, "requests", "xml").content.decode()


def test_petition_visits_are_not_published(client, session, world):
    case = make_case(session, world, channel=Channel.PETITION, description="来访反映拆迁补偿问题")
    assert case.number not in _ids(_get(client, "requests"))
    assert _get(client, f"requests/{case.number}").status_code == 404
    assert _ids(_get(client, "requests", service_request_id=case.number)) == []


def test_xml_is_escaped_and_stripped_of_invalid_characters(client, session, world):
    case = make_case(session, world, description='<b>"垃圾"</b> & \x01\x0bstuff ]]> 完')
    response = _get(client, f"requests/{case.number}", "xml")
    root = ET.fromstring(response.content)
    assert root.find("request/description").text == '<b>"垃圾"</b> & stuff ]]> 完'
    assert _get(client, f"requests/{case.number}").json()[0]["description"] == '<b>"垃圾"</b> & \x01\x0bstuff ]]> 完'


@pytest.mark.parametrize("query", ["start_date=%00", "status=", "status=%00", "service_request_id=%FF%FE",
                                   "service_request_id=1%00", "service_code=%00", "start_date=&end_date=",
                                   "jurisdiction_id=x&api_key=y", "page=-1"])
def test_odd_query_strings_never_give_422_or_500(client, world, query):
    response = client.get(f"{BASE}/requests.json?{query}")
    assert response.status_code in (200, 400)
    assert response.headers["content-type"].startswith("application/json")
