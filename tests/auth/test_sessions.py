"""Browser sessions end for good: sign-out, a new password and deactivation end every session and
remember-me cookie of the user, copies included (each carries the user's session version)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from fieldsvc.auth.models import Role, User
from fieldsvc.auth.services import deactivate_user, set_password
from fieldsvc.extensions import db
from fieldsvc.workorders.models import OrderStatus, WorkOrder, WorkOrderEvent
from tests import factories as f
from tests.conftest import csrf_token, sign_in

NEW_PASSWORD = "battery-staple-42"


class Ref:
    """A committed order's number and id, usable outside any app context."""

    def __init__(self, number: str, id: int) -> None:
        self.number, self.id = number, id


@pytest.fixture
def order(app: Flask) -> Ref:
    """Installer w10001 with an order assigned to them, committed from a closed context."""
    with app.app_context():
        team = f.make_team()
        installer = f.make_user(Role.INSTALLER, username="w10001", team=team)
        made = f.make_work_order(OrderStatus.ASSIGNED, assignee=installer)
        db.session.commit()
        return Ref(made.number, made.id)


def new_client(app: Flask) -> FlaskClient:
    """Another browser (English, no cookies)."""
    other = app.test_client()
    other.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return other


def copy_cookie(source: FlaskClient, target: FlaskClient, name: str) -> None:
    cookie = source.get_cookie(name)
    assert cookie is not None, f"no {name} cookie to copy"
    target.set_cookie(name, cookie.value, domain=cookie.domain)


def sign_out(client: FlaskClient):
    return client.post("/logout", data={"csrf_token": csrf_token(client, "/today")})


def signed_out(response) -> bool:
    return response.status_code == 302 and "/login" in response.headers["Location"]


def accept_fields(client: FlaskClient, number: str) -> dict[str, str]:
    """The hidden fields of the job page's "accept" form (CSRF token, version, idempotency key)."""
    page = client.get(f"/orders/{number}").get_data(as_text=True)
    start = page.index('name="action" value="accept"')
    form = page[page.rindex("<form", 0, start):page.index("</form>", start)]
    fields = dict(re.findall(r'<input[^>]*?name="([^"]+)"[^>]*?value="([^"]*)"', form))
    fields.update({name: value for value, name in re.findall(r'<input[^>]*?value="([^"]*)"[^>]*?name="([^"]+)"', form)})
    return fields


def user_named(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def test_sign_out_deletes_the_remember_me_cookie(client: FlaskClient, order: Ref) -> None:
    sign_in(client, "w10001", remember="y")
    assert client.get_cookie("remember_token") is not None
    response = sign_out(client)
    assert signed_out(response)
    deleted = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember_token=")]
    assert deleted and "Expires=Thu, 01 Jan 1970" in deleted[0]
    assert client.get_cookie("remember_token") is None
    assert signed_out(client.get("/today"))


def test_a_remember_me_cookie_copied_before_sign_out_no_longer_signs_in(app: Flask, client: FlaskClient,
                                                                         order: Ref) -> None:
    sign_in(client, "w10001", remember="y")
    thief = new_client(app)
    copy_cookie(client, thief, "remember_token")
    assert thief.get("/today").status_code == 200  # the copy works while the user is signed in
    sign_out(client)
    fresh = new_client(app)
    copy_cookie(client if client.get_cookie("remember_token") else thief, fresh, "remember_token")
    assert signed_out(fresh.get("/today"))
    assert signed_out(thief.get("/today"))  # the session it had started ends too


def test_a_remember_me_cookie_alone_still_signs_in(app: Flask, client: FlaskClient, order: Ref) -> None:
    sign_in(client, "w10001", remember="y")
    phone = new_client(app)
    copy_cookie(client, phone, "remember_token")
    assert phone.get("/today").status_code == 200
    assert phone.get("/today").status_code == 200  # and the session it started carries on


def test_a_session_cookie_copied_before_sign_out_is_refused_and_posts_reach_nothing(
    app: Flask, client: FlaskClient, order: Ref
) -> None:
    sign_in(client, "w10001")
    fields = accept_fields(client, order.number)
    thief = new_client(app)
    copy_cookie(client, thief, "session")
    assert thief.get("/today").status_code == 200  # the copy works while the user is signed in
    sign_out(client)
    assert signed_out(thief.get("/today"))
    assert signed_out(thief.post(f"/orders/{order.number}/act", data=fields))
    with app.app_context():
        assert db.session.get(WorkOrder, order.id).status is OrderStatus.ASSIGNED
        assert db.session.scalar(select(func.count()).select_from(WorkOrderEvent)
                                 .where(WorkOrderEvent.action == "accept")) == 0


def test_signing_out_on_one_device_signs_out_the_others(app: Flask, client: FlaskClient, order: Ref) -> None:
    sign_in(client, "w10001")
    desk = new_client(app)
    sign_in(desk, "w10001", remember="y")
    sign_out(client)
    assert signed_out(desk.get("/today"))
    assert sign_in(desk, "w10001").status_code == 302  # signing in again works
    assert desk.get("/today").status_code == 200


def test_sign_out_keeps_the_language_and_says_so(client: FlaskClient, order: Ref) -> None:
    client.post("/language", data={"lang": "zh_CN", "csrf_token": csrf_token(client), "next": "/login"})
    sign_in(client, "w10001", remember="y")
    page = client.get(sign_out(client).headers["Location"]).get_data(as_text=True)
    assert "您已退出登录。" in page  # the flash, in the language chosen before signing in


def test_deactivation_ends_live_sessions_and_remember_me_cookies(app: Flask, client: FlaskClient,
                                                                 order: Ref) -> None:
    sign_in(client, "w10001", remember="y")
    phone = new_client(app)
    copy_cookie(client, phone, "remember_token")
    assert client.get("/today").status_code == 200
    with app.app_context():
        deactivate_user(user_named("w10001"))
        db.session.commit()
    assert signed_out(client.get("/today"))
    assert signed_out(phone.get("/today"))
    assert sign_in(new_client(app), "w10001").status_code == 400


def test_an_inactive_user_is_refused_even_without_a_new_version(app: Flask, client: FlaskClient,
                                                                order: Ref) -> None:
    sign_in(client, "w10001", remember="y")
    phone = new_client(app)
    copy_cookie(client, phone, "remember_token")
    with app.app_context():
        user_named("w10001").is_active = False  # set by hand, not through deactivate_user
        db.session.commit()
    assert signed_out(client.get("/today"))
    assert signed_out(phone.get("/today"))


def test_a_new_password_ends_live_sessions(app: Flask, client: FlaskClient, order: Ref) -> None:
    sign_in(client, "w10001", remember="y")
    phone = new_client(app)
    copy_cookie(client, phone, "remember_token")
    with app.app_context():
        set_password(user_named("w10001"), NEW_PASSWORD)
        db.session.commit()
    assert signed_out(client.get("/today"))
    assert signed_out(phone.get("/today"))
    assert sign_in(client, "w10001").status_code == 400  # the old password is gone
    assert sign_in(client, "w10001", NEW_PASSWORD).status_code == 302
    assert client.get("/today").status_code == 200


def test_a_session_from_before_session_versions_is_refused(app: Flask, client: FlaskClient, order: Ref) -> None:
    sign_in(client, "w10001")
    with app.app_context():
        user_id = user_named("w10001").id
    with client.session_transaction() as session:
        session["_user_id"] = str(user_id)  # what Flask-Login stored before: the id alone
    assert signed_out(client.get("/today"))


@pytest.mark.parametrize("value", ["", "1", "1:", ":0", "x:0", "1:x", "1:0:0", "¹:0", "1:²", "1:-1", "9" * 18 + ":0", "9" * 40 + ":0"])
def test_malformed_session_ids_are_refused(app: Flask, client: FlaskClient, order: Ref, value: str) -> None:
    sign_in(client, "w10001")
    with client.session_transaction() as session:
        session["_user_id"] = value
    assert signed_out(client.get("/today"))


def test_bumping_the_version_changes_the_id_the_cookies_carry(app_ctx: Flask) -> None:
    user = f.make_user(username="w20001")
    before = user.get_id()
    assert before == f"{user.id}:0"
    set_password(user, NEW_PASSWORD)
    db.session.flush()
    assert user.get_id() == f"{user.id}:1"
    deactivate_user(user)
    db.session.flush()
    assert user.get_id() == f"{user.id}:2" and not user.is_active


def _sets_session_cookie(response) -> bool:
    return any(header.startswith("session=") for header in response.headers.getlist("Set-Cookie"))


def test_the_idle_clock_moves_on_once_a_minute_and_two_idle_hours_sign_out(
        app: Flask, client: FlaskClient, order: Ref, clock) -> None:
    """The session cookie is signed again (the idle clock moved on) once it is a minute old, not on
    every request; two hours without a request end the session, however often it was used before."""
    sign_in(client, "w10001")
    client.get("/today")  # the first page keeps a CSRF token in the session: it is sent with it
    first = client.get("/today")
    assert first.status_code == 200 and not _sets_session_cookie(first), "signed seconds ago: not sent again"
    clock.shift(timedelta(minutes=2))
    again = client.get("/today")
    assert again.status_code == 200 and _sets_session_cookie(again), "two minutes old: signed again"
    clock.shift(app.config["PERMANENT_SESSION_LIFETIME"] - timedelta(minutes=1))  # idle, within the timeout
    assert client.get("/today").status_code == 200
    clock.shift(app.config["PERMANENT_SESSION_LIFETIME"] + timedelta(minutes=1))  # idle beyond it
    assert signed_out(client.get("/today"))
