"""Passwords without ever showing one: a reset link works once and expires (and a newer one
replaces it), the policy refuses short and common passwords on both password pages, and a user's
change of their own password needs the current one and signs out their other devices only."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fieldsvc.audit.models import AuditEntry
from fieldsvc.auth import people
from fieldsvc.auth.models import Role
from fieldsvc.auth.services import verify_password
from fieldsvc.errors import RuleViolation
from fieldsvc.extensions import db
from tests import factories as f
from tests.conftest import csrf_token, sign_in

NEW_PASSWORD = "battery-staple-42"



def browser(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def link(app: Flask) -> str:
    """Installer w1 and the path of a fresh reset link for them, made by admin ad001."""
    with app.app_context():
        f.make_user(Role.INSTALLER, "w1", f.make_team())
        secret = people.create_reset_link(f.make_user(Role.ADMIN, "ad001"), people.person("w1"))
        db.session.commit()
    return f"/reset/{secret}"


def post_reset(client: FlaskClient, path: str, password: str = NEW_PASSWORD, again: str | None = None):
    token = csrf_token(client, path)
    return client.post(path, data={"csrf_token": token, "new": password, "again": password if again is None else again})


def password_is(app: Flask, username: str, password: str) -> bool:
    with app.app_context():
        return verify_password(people.person(username).password_hash, password)


def test_a_reset_link_works_once(app: Flask, link: str) -> None:
    client = browser(app)
    answer = post_reset(client, link)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/login")
    assert password_is(app, "w1", NEW_PASSWORD)
    assert sign_in(browser(app), "w1", NEW_PASSWORD).status_code == 302
    assert client.get(link).status_code == 404  # spent
    late = browser(app)
    assert late.post(link, data={"csrf_token": csrf_token(late), "new": "another-password-77",
                                 "again": "another-password-77"}).status_code == 404
    assert password_is(app, "w1", NEW_PASSWORD)
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.password_change"))
        assert entry.object_key == "w1" and entry.after == {"via": "reset_link"}


def test_a_reset_link_expires(app: Flask, link: str, clock) -> None:
    clock.shift(people.RESET_LINK_LIFETIME - timedelta(minutes=1))
    assert browser(app).get(link).status_code == 200
    clock.shift(timedelta(minutes=2))
    assert browser(app).get(link).status_code == 404
    with app.app_context():
        with pytest.raises(RuleViolation):
            people.use_reset_link(link.rsplit("/", 1)[1], NEW_PASSWORD)
    assert password_is(app, "w1", f.PASSWORD)


def test_a_newer_link_replaces_the_older_and_a_deactivated_user_has_none(app: Flask, link: str) -> None:
    with app.app_context():
        admin, user = people.person("ad001"), people.person("w1")
        newer = people.create_reset_link(admin, user)
        db.session.commit()
    assert browser(app).get(link).status_code == 404
    assert browser(app).get(f"/reset/{newer}").status_code == 200
    with app.app_context():
        people.deactivate_person(people.person("ad001"), people.person("w1"))
        db.session.commit()
    assert browser(app).get(f"/reset/{newer}").status_code == 404
    assert browser(app).get("/reset/not-a-token").status_code == 404


@pytest.mark.parametrize(("password", "message"), [
    ("short-9", "at least 10 characters"),
    ("password123", "most common"),
    ("Qwertyuiop", "most common"),  # in any letter case
])
def test_the_policy_refuses_short_and_common_passwords(app: Flask, link: str, password: str, message: str) -> None:
    client = browser(app)
    refused = post_reset(client, link, password)
    assert refused.status_code == 400 and message in refused.get_data(as_text=True)
    assert password_is(app, "w1", f.PASSWORD)
    assert client.get(link).status_code == 200  # a refusal does not spend the link
    assert sign_in(client, "w1").status_code == 302
    own = client.post("/account/password", data={"csrf_token": csrf_token(client, "/account/password"),
                                                 "current": f.PASSWORD, "new": password, "again": password})
    assert own.status_code == 400 and message in own.get_data(as_text=True)
    assert password_is(app, "w1", f.PASSWORD)


def test_the_two_new_passwords_must_match(app: Flask, link: str) -> None:
    refused = post_reset(browser(app), link, NEW_PASSWORD, again=NEW_PASSWORD + "x")
    assert refused.status_code == 400 and "differ" in refused.get_data(as_text=True)


def test_changing_ones_own_password_needs_the_current_one_and_signs_out_the_other_devices(app: Flask) -> None:
    with app.app_context():
        f.make_user(Role.SUPERVISOR, "sa001", f.make_team())
        db.session.commit()
    here, other = browser(app), browser(app)
    assert sign_in(here, "sa001", remember="y").status_code == 302
    assert sign_in(other, "sa001").status_code == 302
    form = {"new": NEW_PASSWORD, "again": NEW_PASSWORD}
    wrong = here.post("/account/password", data={"csrf_token": csrf_token(here, "/account/password"),
                                                  "current": "not-my-password", **form})
    assert wrong.status_code == 400 and "current password is wrong" in wrong.get_data(as_text=True)
    assert password_is(app, "sa001", f.PASSWORD)
    done = here.post("/account/password", data={"csrf_token": csrf_token(here, "/account/password"),
                                                 "current": f.PASSWORD, **form})
    assert done.status_code == 302
    assert password_is(app, "sa001", NEW_PASSWORD)
    assert here.get("/board").status_code == 200  # this browser stays signed in
    remembered = browser(app)  # and its remember-me cookie, renewed, still signs it in
    cookie = here.get_cookie("remember_token")
    assert cookie is not None
    remembered.set_cookie("remember_token", cookie.value, domain=cookie.domain)
    assert remembered.get("/board").status_code == 200
    gone = other.get("/board")
    assert gone.status_code == 302 and "/login" in gone.headers["Location"]
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.password_change"))
        assert entry.actor_id == people.person("sa001").id and entry.after == {"via": "own"}


def test_the_password_page_needs_a_sign_in(app: Flask) -> None:
    answer = browser(app).get("/account/password")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_reset_links_are_throttled_per_address(app: Flask, link: str) -> None:
    """Whoever tries links (right or wrong) from one address is stopped at the sign-in limit."""
    from fieldsvc import create_app

    throttled = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                            "SECRET_KEY": "x", "SESSION_COOKIE_SECURE": False, "RATELIMIT_ENABLED": True,
                            "LOGIN_RATE_LIMIT": "5 per minute"})
    try:
        client = browser(throttled)
        statuses = [client.get(f"/reset/guess-{i}").status_code for i in range(5)]
        assert statuses == [404] * 5
        assert client.get(link).status_code == 429  # the right link too, from that address, for now
        assert browser(app).get(link).status_code == 200  # (the suite's app does not throttle)
    finally:
        with throttled.app_context():
            db.engine.dispose()
