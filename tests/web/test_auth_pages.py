"""Sign-in, sign-out, CSRF on page forms, throttling on the page, and the language switch."""

from __future__ import annotations

from fastapi.testclient import TestClient

from civicgrid.settings import get_settings
from tests.web.conftest import form_csrf, post_form, sign_in


def test_login_page_is_chinese_and_hands_out_a_csrf_cookie(client):
    page = client.get("/login")
    assert page.status_code == 200
    assert 'lang="zh-CN"' in page.text and "用户登录" in page.text
    token = client.cookies.get("cg_csrf")
    assert token and form_csrf(page.text) == token
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" not in cookie  # the double-submit token must be readable by scripts
    assert "samesite=lax" in cookie


def test_login_sets_an_httponly_session_cookie_and_a_fresh_csrf_token(client, world):
    before = client.get("/login")
    old_token = form_csrf(before.text)
    response = client.post("/login", data={"username": "operator", "password": "test-password-1",
                                           "csrf": old_token, "next": "/cases"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/cases"
    cookies = {c.split("=", 1)[0]: c.lower() for c in response.headers.get_list("set-cookie")}
    assert "httponly" in cookies["cg_session"] and "samesite=lax" in cookies["cg_session"]
    assert "httponly" not in cookies["cg_csrf"]
    assert client.cookies.get("cg_csrf") != old_token
    assert client.get("/inbox").status_code == 200


def test_login_refuses_an_offsite_next(client, world):
    page = client.get("/login")
    response = client.post("/login", data={"username": "operator", "password": "test-password-1",
                                           "csrf": form_csrf(page.text), "next": "//evil.example/x"},
                           follow_redirects=False)
    assert response.headers["location"] == "/inbox"


def test_wrong_password_is_shown_on_the_page(client, world):
    response = sign_in(client, "operator", "not-the-password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert 'value="operator"' in response.text  # the user name is kept
    assert client.cookies.get("cg_session") is None


def test_throttling_is_shown_on_the_page(client, world):
    for _ in range(get_settings().login_max_failures):
        assert sign_in(client, "handler", "wrong-password").status_code == 401
    throttled = sign_in(client, "handler")  # even the right password is refused now
    assert throttled.status_code == 429
    assert "登录失败次数过多" in throttled.text
    assert client.cookies.get("cg_session") is None


def test_login_without_the_csrf_field_is_refused(client, world):
    client.get("/login")
    response = client.post("/login", data={"username": "operator", "password": "test-password-1"},
                           follow_redirects=False)
    assert response.status_code == 403
    assert "页面已过期" in response.text
    assert client.cookies.get("cg_session") is None


def test_signed_out_pages_redirect_to_login_with_next(client, world):
    response = client.get("/cases?state=open", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fcases%3Fstate%3Dopen"
    htmx = client.get("/inbox", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.headers["HX-Redirect"].startswith("/login?next=")


def test_root_goes_to_login_or_inbox(client, browser):
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    assert browser("operator").get("/", follow_redirects=False).headers["location"] == "/inbox"


def test_page_post_without_csrf_token_is_refused(browser, report):
    case = report()
    operator = browser("operator")
    refused = operator.post(f"/cases/{case.id}/actions/register", data={}, follow_redirects=False)
    assert refused.status_code == 403
    assert "页面已过期或来源不明" in refused.text
    forged = operator.post(f"/cases/{case.id}/actions/register", data={"csrf": "forged"}, follow_redirects=False)
    assert forged.status_code == 403
    assert "待立案" in operator.get(f"/cases/{case.id}").text  # nothing happened
    accepted = post_form(operator, f"/cases/{case.id}/actions/register")
    assert accepted.status_code == 303


def test_the_csrf_header_works_for_scripts(browser, report):
    case = report()
    operator = browser("operator")
    response = operator.post(f"/cases/{case.id}/comments", data={"note": "电话已联系反映人"},
                             headers={"X-CSRF-Token": operator.cookies.get("cg_csrf")}, follow_redirects=False)
    assert response.status_code == 303


def test_logout_forgets_the_session(browser):
    operator = browser("operator")
    response = post_form(operator, "/logout")
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert operator.cookies.get("cg_session") is None
    assert operator.get("/inbox", follow_redirects=False).status_code == 303


def test_logout_needs_the_csrf_field(browser):
    operator = browser("operator")
    response = operator.post("/logout", data={}, follow_redirects=False)
    assert response.headers["location"] == "/inbox"
    assert operator.get("/inbox").status_code == 200


def test_english_switch(browser):
    operator = browser("operator")
    assert "我的待办" in operator.get("/inbox").text
    switched = operator.get("/lang/en", params={"next": "/inbox"}, follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/inbox"
    assert "cg_lang=en" in switched.headers["set-cookie"]
    page = operator.get("/inbox")
    assert 'lang="en"' in page.text
    assert "My tasks" in page.text and "我的待办" not in page.text
    assert "中文" in page.text  # the way back
    operator.get("/lang/zh")
    assert "我的待办" in operator.get("/inbox").text


def test_language_switch_ignores_unknown_languages_and_offsite_targets(client: TestClient):
    response = client.get("/lang/fr", params={"next": "https://evil.example/"}, follow_redirects=False)
    assert response.headers["location"] == "/"
    assert "cg_lang" not in response.headers.get("set-cookie", "")


def test_accept_language_english_without_cookie(client):
    assert "Sign in" in client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"}).text
