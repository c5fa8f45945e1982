"""The mediation API: region-scoped, problem+json on every refusal, never a 500; the agreement PDF."""

from __future__ import annotations

import datetime as dt
import zlib

import pytest

from .conftest import citizen_id


@pytest.fixture
def headers(as_user, med):
    from civicgrid.auth.service import issue_token

    def make(name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(med.user(name))}"}

    return make


def walk_in(client, headers, **extra):
    body = {"type_code": "NEIGHBOUR", "description": "楼上漏水，多次协商未果", "people_count": 2,
            "parties": [{"role": "applicant", "id_number": citizen_id(41), "name": "孙阿姨"},
                        {"role": "respondent", "id_number": citizen_id(42), "name": "周先生"}]} | extra
    return client.post("/api/mediation/disputes", json=body, headers=headers("operator"))


def act(client, headers, dispute_id, user, **body):
    return client.post(f"/api/mediation/disputes/{dispute_id}/actions", json=body, headers=headers(user))


def test_a_dispute_from_desk_to_signed_agreement_over_the_api(client, headers, med):
    created = walk_in(client, headers, client_key="api-1")
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["state"] == "registered" and body["allowed"] == ["assess", "decline", "withdraw"]
    assert [p["name"] for p in body["parties"]] == ["孙阿姨", "周先生"]
    assert citizen_id(41) not in created.text and body["parties"][0]["id_number_masked"].startswith("350103") is False
    assert walk_in(client, headers, client_key="api-1").status_code == 200
    did = body["id"]
    assert act(client, headers, did, "operator", action="assess", risk_level="low").status_code == 200
    suggestions = client.get(f"/api/mediation/disputes/{did}/suggestions", headers=headers("operator")).json()
    assert suggestions[0]["org_id"] == med.orgs["c11"].id and suggestions[0]["reasons_zh"]
    assert act(client, headers, did, "operator", action="route", org_id=suggestions[0]["org_id"],
               mediator_id=med.mediators["med_c11"].id).json()["state"] == "routed"
    assert act(client, headers, did, "med_c11", action="accept").json()["state"] == "mediating"
    now = dt.datetime.now(dt.UTC).isoformat()
    r = act(client, headers, did, "med_c11", action="hold_session",
            session={"held_at": now, "place": "社区调解室", "attendees": "孙阿姨、周先生", "record": "达成一致"})
    assert r.status_code == 200, r.text
    due = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    r = act(client, headers, did, "med_c11", action="agree", agreement={
        "text": "周先生负责修复漏水并赔偿损失。", "place": "社区调解室",
        "obligations": [{"obligor": "周先生", "description": "赔偿装修损失", "amount": "1200.00", "due_on": due}]})
    assert r.status_code == 200 and r.json()["state"] == "following_up"
    agreement = client.get(f"/api/mediation/disputes/{did}/agreement", headers=headers("operator")).json()
    assert agreement["obligations"][0]["amount"] == "1200.00"
    pdf = client.get(f"/api/mediation/disputes/{did}/agreement.pdf", headers=headers("med_c11"))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and b"STSong-Light" in pdf.content
    history = client.get(f"/api/mediation/disputes/{did}/history", headers=headers("operator")).json()
    assert [h["action"] for h in history][-2:] == ["agree", "print_agreement"]
    r = act(client, headers, did, "operator", action="perform", obligation_id=agreement["obligations"][0]["id"])
    assert r.json()["allowed"].count("close") == 1
    assert act(client, headers, did, "operator", action="close").json()["state"] == "closed"
    stats = client.get("/api/mediation/stats", headers=headers("operator")).json()
    assert stats["total"] == 1 and stats["success_rate"] == 1.0 and stats["performance_rate"] == 1.0


def test_refusals_are_bilingual_problems_never_500(client, headers, med):
    did = walk_in(client, headers).json()["id"]
    cases = [
        (act(client, headers, did, "operator", action="agree"), 409),
        (act(client, headers, did, "operator", action="fly"), 422),
        (act(client, headers, did, "operator", action="decline"), 422),
        (act(client, headers, did, "leader", action="assess"), 403),
        (act(client, headers, did, "operator21", action="assess"), 404),
        (client.get(f"/api/mediation/disputes/{did}", headers=headers("operator21")), 404),
        (client.get("/api/mediation/disputes/99999999999999999999", headers=headers("operator")), 404),
        (client.get(f"/api/mediation/disputes/{did}/agreement.pdf", headers=headers("operator")), 409),
        (client.post("/api/mediation/disputes", json={"type_code": "NOPE", "description": "xx"},
                     headers=headers("operator")), 422),
        (client.post("/api/mediation/disputes", json={"type_code": "NEIGHBOUR", "description": "x"},
                     headers=headers("operator")), 422),
        (client.post("/api/mediation/disputes", json={"type_code": "NEIGHBOUR", "description": "纠纷",
                                                      "amount": "-5"}, headers=headers("operator")), 422),
        (client.get("/api/mediation/disputes"), 401),
        (client.get("/api/mediation/stats?date_from=2026-12-01&date_to=2026-11-01", headers=headers("operator")), 422),
        (client.put("/api/mediation/types/NEW", json={"code": "NEW", "name_zh": "新"}, headers=headers("operator")),
         403),
        (client.get("/api/mediation/campaigns/123456", headers=headers("operator")), 404),
    ]
    for response, status in cases:
        assert response.status_code == status, (response.request.url, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["detail_zh"] and problem["detail_en"]


def test_registry_and_campaign_endpoints(client, headers, med, world):
    types = client.get("/api/mediation/types", headers=headers("operator")).json()
    assert len(types) == 14 and types[0]["code"] == "MARRIAGE"
    r = client.put("/api/mediation/types/PROPERTY", headers=headers("admin"),
                   json={"code": "PROPERTY", "name_zh": "物业纠纷", "group_threshold": 8})
    assert r.status_code == 200 and r.json()["group_threshold"] == 8
    orgs = client.get("/api/mediation/orgs", headers=headers("operator")).json()
    assert {o["code"] for o in orgs} >= {"TJ-C11", "TJ-LAB"}
    assert next(o for o in orgs if o["code"] == "TJ-CT")["mediation_kind"] == "judicial"
    r = client.post("/api/mediation/orgs", headers=headers("operator"), json={
        "code": "TJ-G", "name_zh": "网格调解点", "kind": "people", "region_id": world.regions["grid111"].id})
    assert r.status_code == 422  # organisations sit at a community or above
    walk_in(client, headers)
    today = dt.date.today()
    r = client.post("/api/mediation/campaigns", headers=headers("street_op"), json={
        "name": "清零行动", "community_ids": [world.regions["community11"].id],
        "starts_on": today.isoformat(), "ends_on": (today + dt.timedelta(days=30)).isoformat()})
    assert r.status_code == 201, r.text
    board = r.json()
    assert board["communities"][0]["total"] == 1 and len(board["items"]) == 1
    r = client.patch(f"/api/mediation/campaigns/{board['campaign']['id']}/items/{board['items'][0]['id']}",
                     headers=headers("street_op"), json={"target_on": (today + dt.timedelta(days=5)).isoformat()})
    assert r.status_code == 200


def test_agreement_pdf_carries_the_chinese_text(med, session):
    from civicgrid.mediation import agreement_pdf
    from civicgrid.mediation.parties import parties_of

    dispute = med.to_agreement(med.register(), ("周先生", "赔偿损失", None, 5))
    data = agreement_pdf.render(dispute=dispute, agreement=med.session.scalar(
        __import__("sqlalchemy").select(agreement_pdf.Agreement).where(agreement_pdf.Agreement.dispute_id == dispute.id)),
        parties=parties_of(session=session, dispute_id=dispute.id), org=dispute.org, mediator_name="调解员甲")
    content = b"".join(zlib.decompress(chunk) for chunk in _streams(data))
    shown = "".join(_literal(m).decode("utf-16-be", "replace")
                    for m in __import__("re").findall(rb"\(((?:[^()\\]|\\.)*)\) Tj", content, flags=16))
    # The CID font writes UCS-2 text: the title, the parties and the obligation are on the page.
    for expected in ("人民调解协议书", "周先生", "赔偿损失", "调解员甲", dispute.number):
        assert expected in shown, expected


def _literal(raw: bytes) -> bytes:
    """A PDF literal string with its backslash escapes undone."""
    out, i = bytearray(), 0
    while i < len(raw):
        c = raw[i]
        if c == 0x5C and i + 1 < len(raw):
            nxt = raw[i + 1:i + 4]
            digits = len(nxt) - len(nxt.lstrip(b"01234567"))
            if digits:
                out.append(int(nxt[:digits], 8))
                i += 1 + digits
                continue
            out.append({ord("n"): 10, ord("r"): 13, ord("t"): 9}.get(raw[i + 1], raw[i + 1]))
            i += 2
            continue
        out.append(c)
        i += 1
    return bytes(out)


def _streams(pdf: bytes):
    """The page content streams, undoing reportlab's ASCII85 + Flate encoding."""
    import base64
    import re

    for m in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        raw = m.group(1).strip()
        if raw.endswith(b"~>"):
            raw = base64.a85decode(raw, adobe=True) if raw.startswith(b"<~") else base64.a85decode(raw[:-2])
        try:
            zlib.decompress(raw)
        except zlib.error:
            continue
        yield raw


def test_a_page_of_disputes_costs_the_same_reads_as_one_and_each_item_matches_its_own_view(client, headers, med,
                                                                                             session):
    from decimal import Decimal

    from sqlalchemy import event

    created = [walk_in(client, headers, description=f"第{n}起邻里纠纷：楼上漏水").json()["id"] for n in range(5)]
    # One with an agreement still to perform (conditions read obligations), one being mediated (guards read orgs).
    following = med.to_agreement(med.register(), ("李先生", "修复漏水并赔偿", Decimal("1500"), 7))
    med.fire(following, "follow_up", by="med_c11", note="电话回访")
    med.to_mediating(med.register())
    sent: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    def reads(user: str, size: int) -> tuple[int, dict]:
        sent.clear()
        connection = session.connection()
        event.listen(connection, "before_cursor_execute", seen)
        try:
            page = client.get(f"/api/mediation/disputes?size={size}", headers=headers(user))
        finally:
            event.remove(connection, "before_cursor_execute", seen)
        assert page.status_code == 200, page.text
        return len(sent), page.json()

    for user in ("operator", "med_c11"):
        one, small = reads(user, 1)
        many, full = reads(user, 20)
        assert len(small["items"]) == 1 and len(full["items"]) == full["total"] >= 2
        # Parties are read once for the page; the two facts the workflow may need (the user's
        # organisations, open obligations) at most once each, whatever the page's size.
        assert many <= one + 2, (user, one, many)
        for item in full["items"]:
            assert item == client.get(f"/api/mediation/disputes/{item['id']}", headers=headers(user)).json()
    items = {i["id"]: i for i in reads("operator", 20)[1]["items"]}
    assert set(created) <= set(items)
    assert [p["name"] for p in items[created[0]]["parties"]] == ["孙阿姨", "周先生"]
    assert "perform" in items[following.id]["allowed"] and "close" not in items[following.id]["allowed"]
