"""The petition pages through the app: registration with the htmx repeat lookup, triage and
the timeline's forms, leader list and deadline board; refusals as pages."""

from __future__ import annotations

import re

from .conftest import citizen_id


def post(client, as_user, url, user, data):
    return client.post(url, data=data, headers=as_user(user), follow_redirects=False)


def test_register_recognise_and_work_a_petition_through_the_pages(client, as_user, pet, world):
    form = client.get("/petitions/new", headers=as_user("operator"))
    assert form.status_code == 200 and 'hx-get="/petitions/lookup"' in form.text
    # A stranger: the lookup says so.
    fragment = client.get(f"/petitions/lookup?id_number_1={citizen_id(7)}", headers=as_user("operator"))
    assert fragment.status_code == 200 and 'data-repeat="no"' in fragment.text
    r = post(client, as_user, "/petitions/new", "operator", {
        "form": "visit", "subject_code": "LAND", "request": "征地补偿款未足额发放", "level_visited": "local",
        "region_code": world.regions["grid111"].code, "id_number_1": citizen_id(7), "name_1": "冯大伯",
        "phone_1": "13600003333"})
    assert r.status_code == 303, r.text
    first_url = r.headers["location"].split("?")[0]
    # He comes back: typing his ID number shows him and his history.
    fragment = client.get(f"/petitions/lookup?id_number_1={citizen_id(7)}", headers=as_user("operator")).text
    assert 'data-repeat="yes"' in fragment and "冯大伯" in fragment and "重复信访" in fragment
    assert citizen_id(7) not in fragment
    by_name = client.get("/petitions/lookup?name_1=冯大", headers=as_user("operator")).text
    assert "冯大伯" in by_name
    r = post(client, as_user, "/petitions/new", "operator", {
        "form": "visit", "subject_code": "LAND", "request": "再次反映补偿问题", "region_code": world.regions["grid111"].code,
        "id_number_1": citizen_id(7)})
    detail = client.get(r.headers["location"], headers=as_user("operator")).text
    assert 'id="repeat-flag"' in detail and first_url.rsplit("/", 1)[1] in detail
    url = r.headers["location"].split("?")[0]
    assert post(client, as_user, f"{url}/act", "operator",
                {"action": "triage", "unit_id": str(world.units["zhujian"].id)}).status_code == 303
    assert post(client, as_user, f"{url}/act", "operator",
                {"action": "assign_leader", "leader_user_id": str(world.users["street_leader"].id)}).status_code == 303
    leader_page = client.get("/petitions/leader", headers=as_user("street_leader")).text
    assert f'data-petition-id="{url.rsplit("/", 1)[1]}"' in leader_page
    assert post(client, as_user, f"{url}/act", "handler_zj", {"action": "accept"}).status_code == 303
    refused = post(client, as_user, f"{url}/act", "handler_zj", {"action": "request_extension",
                                                                 "extension_days": "45", "note": "复杂"})
    assert refused.status_code == 422 and "30" in refused.text
    board = client.get("/petitions/board", headers=as_user("operator")).text
    assert 'data-bucket="on_track"' in board
    r = post(client, as_user, f"{url}/act", "operator", {"action": "to_dispute", "type_code": "DEMOLITION"})
    assert r.status_code == 303 and r.headers["location"].startswith("/mediation/disputes/")
    detail = client.get(url, headers=as_user("operator")).text
    assert 'id="linked-outcome"' in detail and 'data-linked-state="registered"' in detail


def test_petition_pages_refuse_as_pages(client, as_user, pet):
    assert client.get("/petitions/new", headers=as_user("handler")).status_code == 403
    assert client.get("/petitions", headers=as_user("citizen")).status_code == 403
    assert client.get("/petitions/999999", headers=as_user("operator")).status_code == 404
    r = post(client, as_user, "/petitions/new", "operator", {"subject_code": "LAND", "request": "诉求内容"})
    assert r.status_code == 422 and "信访人" in r.text
    r = post(client, as_user, "/petitions/new", "operator", {"subject_code": "LAND", "request": "诉求内容",
                                                            "id_number_1": citizen_id(8)})
    assert r.status_code == 422 and re.search("姓名|name", r.text)
