"""Sign-in, sign-out, sessions, roles and CSRF on the HTML side."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fieldsvc.auth.models import Role
from fieldsvc.auth.services import authenticate, hash_password, verify_password
from fieldsvc.extensions import db
from tests import factories as f
from tests.conftest import csrf_token, sign_in

WRONG = "Wrong employee number or password."
REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture
def people(app: Flask) -> dict[str, str]:
    """An installer, a supervisor and an admin, committed."""
    with app.app_context():
        team = f.make_team()
        f.make_user(Role.INSTALLER, username="w10001", team=team)
        f.make_user(Role.SUPERVISOR, username="s0001", team=team)
        f.make_user(Role.ADMIN, username="admin")
        f.make_user(Role.INSTALLER, username="w10002", team=team, is_active=False)
        db.session.commit()
    return {"installer": "w10001", "supervisor": "s0001", "admin": "admin"}


@pytest.mark.parametrize(
    ("role", "home"), [("installer", "/today"), ("supervisor", "/board"), ("admin", "/admin/")]
)
def test_each_role_lands_on_its_home(client: FlaskClient, people: dict[str, str], role: str, home: str) -> None:
    response = sign_in(client, people[role])
    assert response.status_code == 302
    assert response.headers["Location"].endswith(home)
    assert client.get(home).status_code == 200
    assert client.get("/").headers["Location"].endswith(home)


def test_wrong_password_and_unknown_user_get_the_same_message(client: FlaskClient, people: dict[str, str]) -> None:
    wrong = sign_in(client, "w10001", "not-the-password")
    unknown = sign_in(client, "nobody", "not-the-password")
    assert wrong.status_code == unknown.status_code == 400
    assert WRONG in wrong.get_data(as_text=True)
    assert WRONG in unknown.get_data(as_text=True)
    assert client.get("/today").status_code == 302  # still signed out


def test_inactive_user_cannot_sign_in(client: FlaskClient, people: dict[str, str]) -> None:
    response = sign_in(client, "w10002")
    assert response.status_code == 400
    assert WRONG in response.get_data(as_text=True)


def test_empty_fields_are_form_errors(client: FlaskClient, people: dict[str, str]) -> None:
    response = sign_in(client, "", "")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Enter your employee number." in page
    assert "Enter your password." in page


def test_a_10_kb_username_is_refused_politely(client: FlaskClient, people: dict[str, str]) -> None:
    response = sign_in(client, "w" * 10_240)
    assert response.status_code == 400
    assert "at most 32 characters" in response.get_data(as_text=True)


def test_post_without_csrf_token_is_400(client: FlaskClient, people: dict[str, str]) -> None:
    response = client.post("/login", data={"username": "w10001", "password": f.PASSWORD})
    assert response.status_code == 400
    assert client.get("/today").status_code == 302


def test_sign_out_needs_post_with_csrf(client: FlaskClient, people: dict[str, str]) -> None:
    sign_in(client, "w10001")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/today")})
    assert response.status_code == 302
    assert client.get("/today").status_code == 302


@pytest.mark.parametrize("path", ["/board", "/admin/"])
def test_installer_gets_403_on_supervisor_and_admin_pages(client: FlaskClient, people: dict[str, str], path: str) -> None:
    sign_in(client, "w10001")
    assert client.get(path).status_code == 403


def test_supervisor_gets_403_on_admin_and_installer_pages(client: FlaskClient, people: dict[str, str]) -> None:
    sign_in(client, "s0001")
    assert client.get("/admin/").status_code == 403
    assert client.get("/today").status_code == 403


@pytest.mark.parametrize("path", ["/today", "/board", "/admin/", "/orders/WO1"])
def test_anonymous_is_sent_to_sign_in(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


def test_next_parameter_only_redirects_within_the_site(client: FlaskClient, people: dict[str, str]) -> None:
    token = csrf_token(client)
    data = {"username": "w10001", "password": f.PASSWORD, "csrf_token": token}
    response = client.post("/login?next=https://evil.example/", data=data)
    assert response.headers["Location"].endswith("/today")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/today")})
    data["csrf_token"] = csrf_token(client)
    response = client.post("/login?next=/orders/WO1", data=data)
    assert response.headers["Location"].endswith("/orders/WO1")


def test_remember_me_cookie_is_secure_httponly_and_bounded(app: Flask, people: dict[str, str]) -> None:
    app.config.update(REMEMBER_COOKIE_SECURE=True, SESSION_COOKIE_SECURE=True)
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = sign_in(client, "w10001", remember="y")
    cookies = {h.split("=", 1)[0]: h for h in response.headers.getlist("Set-Cookie")}
    remember = cookies["remember_token"]
    assert "Secure" in remember and "HttpOnly" in remember
    assert "Expires=" in remember
    assert "Secure" in cookies["session"] and "HttpOnly" in cookies["session"]


def test_absolute_session_lifetime_signs_out(app: Flask, client: FlaskClient, people: dict[str, str]) -> None:
    sign_in(client, "w10001")
    assert client.get("/today").status_code == 200
    with client.session_transaction() as session:
        session["signed_in_at"] -= (app.config["SESSION_ABSOLUTE_LIFETIME"] + timedelta(minutes=1)).total_seconds()
    response = client.get("/today")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_session_protection_is_basic_so_a_network_change_keeps_the_session(
    app: Flask, people: dict[str, str]
) -> None:
    client = app.test_client()
    client.environ_base.update({"REMOTE_ADDR": "10.1.1.1", "HTTP_USER_AGENT": "phone"})
    sign_in(client, "w10001")
    client.environ_base["REMOTE_ADDR"] = "100.64.9.9"  # Wi-Fi → mobile data
    assert client.get("/today").status_code == 200


@pytest.mark.full_cost_passwords
def test_passwords_are_hashed_with_argon2id_at_the_production_cost(app_ctx: Flask) -> None:
    hashed = hash_password("s3cret-pass")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")  # RFC 9106's low-memory profile
    assert "s3cret-pass" not in hashed
    assert verify_password(hashed, "s3cret-pass")
    assert not verify_password(hashed, "wrong")
    assert not verify_password("not-a-hash", "s3cret-pass")


def test_authenticate_records_the_sign_in(app_ctx: Flask) -> None:
    user = f.make_user(username="w20001")
    assert user.last_login_at is None
    assert authenticate(" w20001 ", f.PASSWORD) is user
    assert user.last_login_at is not None
    assert authenticate("w20001", "nope") is None


def test_language_switch_and_accept_language(client: FlaskClient, people: dict[str, str]) -> None:
    chinese = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert "登录" in chinese
    english = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.8"}).get_data(as_text=True)
    assert "Sign in" in english and "登录" not in english
    client.post("/language", data={"lang": "en", "csrf_token": csrf_token(client), "next": "/login"})
    switched = client.get("/login", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "Sign in" in switched


def test_sign_in_attempts_are_throttled_per_account(app: Flask, people: dict[str, str]) -> None:
    from fieldsvc import create_app

    throttled = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                            "SECRET_KEY": "x", "SESSION_COOKIE_SECURE": False, "RATELIMIT_ENABLED": True})
    try:
        client = throttled.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        statuses = [sign_in(client, "w10001", f"guess-{i}").status_code for i in range(6)]
        assert statuses[:5] == [400] * 5 and statuses[5] == 429
        # the right password does not get through either while the account is throttled
        throttled_page = sign_in(client, "w10001")
        assert throttled_page.status_code == 429 and "Too many attempts" in throttled_page.get_data(as_text=True)
        assert sign_in(client, "s0001").status_code == 302  # another account is not affected
    finally:
        with throttled.app_context():
            db.engine.dispose()


# A second worker process: its own interpreter and its own limiter, on the same database, at the
# suite's instant. It signs in with each (username, password) and prints the statuses.
SECOND_WORKER = """
import json, sys
from datetime import datetime

import time_machine

config, instant, attempts = json.loads(sys.argv[1])
with time_machine.travel(datetime.fromisoformat(instant), tick=True):
    from fieldsvc import create_app
    from tests.conftest import sign_in

    client = create_app(config).test_client()
    print(json.dumps([sign_in(client, username, password).status_code for username, password in attempts]))
"""


def test_sign_in_throttle_holds_across_workers(app: Flask, people: dict[str, str]) -> None:
    """Each gunicorn worker counted on its own: wrong passwords spread over the workers went on
    past the limit, and the right one got in. The counters are shared now (the database)."""
    from fieldsvc import create_app

    config = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
              "SECRET_KEY": "x", "SESSION_COOKIE_SECURE": False, "RATELIMIT_ENABLED": True}
    first = create_app(config)
    try:
        client = first.test_client()
        assert [sign_in(client, "w10001", f"guess-{i}").status_code for i in range(3)] == [400] * 3
        second = subprocess.run(
            [sys.executable, "-c", SECOND_WORKER,
             json.dumps([config, datetime.now(UTC).isoformat(),
                         [["w10001", "guess-3"], ["w10001", "guess-4"], ["w10001", "guess-5"], ["w10001", f.PASSWORD]]])],
            cwd=REPOSITORY, env={**os.environ, "PYTHONPATH": str(REPOSITORY)}, capture_output=True, text=True,
            timeout=120)
        assert second.returncode == 0, second.stderr
        assert json.loads(second.stdout.splitlines()[-1]) == [400, 400, 429, 429]  # 6th attempt, then the right one
        assert sign_in(client, "w10001").status_code == 429  # and back on the first worker
        assert sign_in(client, "s0001").status_code == 302
    finally:
        with first.app_context():
            db.engine.dispose()


def test_pages_carry_security_headers(client: FlaskClient) -> None:
    response = client.get("/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
