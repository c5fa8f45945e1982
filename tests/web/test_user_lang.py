"""User.lang: the pages of a signed-in user follow the language they chose with the switch (saved, audited,
on every device); until they choose, and when signed out, the cg_lang cookie and Accept-Language decide."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from civicgrid.audit.models import AuditEntry
from civicgrid.auth.models import LANG_AUTO, User
from tests.web.conftest import sign_in


def saved(session, username: str) -> str:
    session.expire_all()
    return session.scalar(select(User.lang).where(User.username == username))


def english(html: str) -> bool:
    assert ('<html lang="en"' in html) != ('<html lang="zh' in html)
    return '<html lang="en"' in html


def test_nobody_has_chosen_at_first(session, world):
    assert {u.lang for u in world.users.values()} == {LANG_AUTO}


def test_without_a_choice_the_browser_decides(browser, session):
    operator = browser("operator")
    assert not english(operator.get("/inbox").text)
    assert english(operator.get("/inbox", headers={"Accept-Language": "en-US,en;q=0.9"}).text)
    assert saved(session, "operator") == LANG_AUTO


def test_the_switch_saves_the_choice_and_audits_it(browser, session, world):
    operator = browser("operator")
    response = operator.get("/lang/en", params={"next": "/cases"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/cases"
    assert saved(session, "operator") == "en"
    entry = session.scalar(select(AuditEntry).where(AuditEntry.entity == "user", AuditEntry.action == "set_language",
                                                    AuditEntry.entity_id == str(world.users["operator"].id)))
    assert entry.before == {"lang": LANG_AUTO} and entry.after == {"lang": "en"} and entry.channel == "web"
    operator.get("/lang/en")  # no change, no second entry
    assert session.scalar(select(AuditEntry.id).where(AuditEntry.action == "set_language")
                          .where(AuditEntry.id != entry.id)) is None


def test_the_saved_choice_beats_cookie_and_accept_language(browser, session):
    operator = browser("operator")
    operator.get("/lang/en")
    operator.cookies.set("cg_lang", "zh")
    page = operator.get("/cases", headers={"Accept-Language": "zh-CN"}).text
    assert english(page) and "Cases" in page and "事件列表" not in page
    operator.get("/lang/zh")
    assert saved(session, "operator") == "zh"
    assert not english(operator.get("/inbox", headers={"Accept-Language": "en"}).text)


def test_the_choice_follows_the_user_to_another_browser(app, browser, session):
    browser("operator").get("/lang/en")
    with TestClient(app, raise_server_exceptions=False) as laptop:
        assert not english(laptop.get("/login").text)  # signed out: nothing known yet
        response = sign_in(laptop, "operator")
        assert "cg_lang=en" in response.headers["set-cookie"]
        assert english(laptop.get("/inbox").text)
        laptop.post("/logout", data={"csrf": laptop.cookies.get("cg_csrf")})
        assert english(laptop.get("/login").text)  # the cookie keeps it for the sign-in page


def test_other_users_keep_their_own_language(browser):
    browser("operator").get("/lang/en")
    assert not english(browser("street_op").get("/inbox").text)


def test_a_switch_another_site_started_is_not_saved(browser, session):
    operator = browser("operator")
    operator.get("/lang/zh")
    forged = operator.get("/lang/en", headers={"Sec-Fetch-Site": "cross-site"}, follow_redirects=False)
    assert forged.status_code == 303 and "cg_lang=en" in forged.headers["set-cookie"]
    assert saved(session, "operator") == "zh"
    assert not english(operator.get("/inbox").text)
    operator.get("/lang/en", headers={"Sec-Fetch-Site": "same-origin"})
    assert saved(session, "operator") == "en"


def test_unknown_languages_and_bad_sessions_change_nothing(client, browser, session):
    operator = browser("operator")
    assert operator.get("/lang/fr", follow_redirects=False).status_code == 303
    assert saved(session, "operator") == LANG_AUTO
    client.cookies.set("cg_session", "forged-or-expired")
    response = client.get("/lang/en", follow_redirects=False)
    assert response.status_code == 303 and "cg_lang=en" in response.headers["set-cookie"]


def test_error_pages_follow_the_saved_choice(browser):
    operator = browser("operator")
    operator.get("/lang/en")
    page = operator.get("/cases/987654321")
    assert page.status_code == 404 and english(page.text) and "does not exist" in page.text


def test_the_api_still_follows_accept_language(client, as_user, browser):
    browser("operator").get("/lang/en")
    problem = client.get("/api/cases/987654321", headers=as_user("operator")).json()
    assert problem["detail"] == problem["detail_zh"]
    problem = client.get("/api/cases/987654321", headers=as_user("operator") | {"Accept-Language": "en"}).json()
    assert problem["detail"] == problem["detail_en"]
