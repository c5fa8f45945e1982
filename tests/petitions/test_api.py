"""The petition API: registration with repeat detection, lookup, actions, board; problem+json refusals."""

from __future__ import annotations

from .conftest import citizen_id


def register(client, as_user, n=1, name="赵大爷", **extra):
    body = {"subject_code": "LAND", "request": "征地补偿款未足额发放", "petitioners": [
        {"id_number": citizen_id(n), "name": name}]} | extra
    return client.post("/api/petitions", json=body, headers=as_user("operator"))


def test_register_lookup_and_work_a_petition(client, as_user, pet):
    first = register(client, as_user, client_key="p-1")
    assert first.status_code == 201, first.text
    assert register(client, as_user, client_key="p-1").status_code == 200
    assert citizen_id(1) not in first.text
    second = register(client, as_user).json()
    assert second["repeat_count"] == 1 and second["related"][0]["reasons"] == ["same_person", "same_subject"]
    found = client.get(f"/api/petitions/lookup?id_number={citizen_id(1)}", headers=as_user("operator")).json()
    assert found["persons"][0]["petitions"] == 2 and len(found["history"]) == 2
    pid = second["id"]
    r = client.post(f"/api/petitions/{pid}/actions", json={"action": "triage"}, headers=as_user("operator"))
    assert r.json()["state"] == "triaged" and r.json()["unit_id"] == pet.world.units["zhujian"].id
    r = client.post(f"/api/petitions/{pid}/actions", json={"action": "accept"}, headers=as_user("handler_zj"))
    assert r.json()["due_kind"] == "answer"
    board = client.get("/api/petitions/board", headers=as_user("operator")).json()
    assert {row["petition_id"] for row in board} == {first.json()["id"], pid}
    r = client.post(f"/api/petitions/{pid}/actions", json={"action": "to_dispute", "dispute": {"type_code": "DEMOLITION"}},
                    headers=as_user("operator"))
    assert r.status_code == 200 and r.json()["dispute_state"] == "registered"
    history = client.get(f"/api/petitions/{pid}/history", headers=as_user("operator")).json()
    assert [h["action"] for h in history] == ["intake", "triage", "accept", "to_dispute"]


def test_refusals_are_problems(client, as_user, pet):
    pid = register(client, as_user).json()["id"]
    checks = [
        (client.post(f"/api/petitions/{pid}/actions", json={"action": "answer", "note": "x"},
                     headers=as_user("operator")), 409),
        (client.post(f"/api/petitions/{pid}/actions", json={"action": "triage"}, headers=as_user("handler")), 404),
        (client.post(f"/api/petitions/{pid}/actions", json={"action": "request_extension", "extension_days": 45},
                     headers=as_user("operator")), 422),
        (client.get(f"/api/petitions/{pid}", headers=as_user("operator21")), 404),
        (client.post("/api/petitions", json={"subject_code": "LAND", "request": "诉求", "petitioners": []},
                     headers=as_user("operator")), 422),
        (client.post("/api/petitions", json={"subject_code": "LAND", "request": "诉求",
                                             "petitioners": [{"id_number": "12345"}]}, headers=as_user("operator")), 422),
        (client.post("/api/petitions", json={"subject_code": "LAND", "request": "诉求",
                                             "petitioners": [{"id_number": citizen_id(2)}]},
                     headers=as_user("operator")), 422),
        (register(client, as_user, 3) if False else client.post(
            "/api/petitions", json={"subject_code": "LAND", "request": "诉求",
                                    "petitioners": [{"id_number": citizen_id(3), "name": "甲"}]},
            headers=as_user("gridworker")), 403),
        (client.get("/api/petitions"), 401),
    ]
    for response, status in checks:
        assert response.status_code == status, (response.request.url, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["detail_zh"] and response.json()["detail_en"]


def test_a_page_of_petitions_costs_the_same_reads_as_one_and_matches_the_detail_view(client, as_user, pet, session):
    from sqlalchemy import event

    ids = [register(client, as_user, n=n, name=f"信访人{n}").json()["id"] for n in range(1, 7)]
    moved = client.post(f"/api/petitions/{ids[0]}/actions", json={"action": "triage"}, headers=as_user("operator"))
    assert moved.status_code == 200
    client.post(f"/api/petitions/{ids[0]}/actions", json={"action": "to_dispute", "dispute": {"type_code": "DEMOLITION"}},
                headers=as_user("operator"))
    headers = as_user("operator")
    sent: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    def reads(size: int) -> tuple[int, dict]:
        sent.clear()
        connection = session.connection()
        event.listen(connection, "before_cursor_execute", seen)
        try:
            page = client.get(f"/api/petitions?size={size}", headers=headers)
        finally:
            event.remove(connection, "before_cursor_execute", seen)
        assert page.status_code == 200, page.text
        return len(sent), page.json()

    one, small = reads(1)
    many, full = reads(6)
    assert len(small["items"]) == 1 and len(full["items"]) == 6 and full["total"] == 6
    assert many == one, "the page's petitioners and outcomes are read once, not per petition"
    # A list item is the detail view without the linked petitions.
    for item in full["items"]:
        detail = client.get(f"/api/petitions/{item['id']}", headers=headers).json()
        assert item == {k: v for k, v in detail.items() if k not in ("related", "later", "related_elsewhere")}
        assert "related" not in item
    disputed = next(i for i in full["items"] if i["id"] == ids[0])
    assert disputed["dispute_state"] == "registered" and disputed["petitioners"][0]["name"] == "信访人1"
