"""The inbox at /notifications: signed-in users only, each sees and marks read only their own
notices, newest first and at most 100, each worded by its kind or shown as stored."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from fieldsvc.auth.models import Role, User
from fieldsvc.db import utcnow
from fieldsvc.extensions import db
from fieldsvc.notifications.models import Notification
from fieldsvc.notifications.services import InAppSender, Notice, deliver
from tests import factories as f
from tests.conftest import csrf_token, sign_in


@pytest.fixture
def people(app: Flask, note_kind: str) -> None:
    """w1 has two notes (one of the registered kind, one of a kind nobody words), s1 has one."""
    with app.app_context():
        w1 = f.make_user(Role.INSTALLER, username="w1")
        s1 = f.make_user(Role.SUPERVISOR, username="s1")
        f.make_user(Role.INSTALLER, username="w2")
        assert deliver([Notice(w1, note_kind, {"n": 1, "owner": "w1"}, "note:1", link="/today"),
                        Notice(s1, note_kind, {"n": 2, "owner": "w1"}, "note:2")]) == 2
        f.make_notification(w1, kind="retired_kind", message="A note of a kind nobody words.",
                            created_at=utcnow() - timedelta(hours=1))
        db.session.commit()


def unread_count(app: Flask, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Notification).join(
            User, User.id == Notification.user_id).where(User.username == username, Notification.read_at.is_(None)))


def up_to(client: FlaskClient) -> str:
    """The newest id the inbox page showed, as its form posts it back."""
    page = client.get("/notifications").get_data(as_text=True)
    return re.search(r'name="up_to" value="(\d+)"', page).group(1)


def test_anonymous_is_sent_to_sign_in(app: Flask, client: FlaskClient, people: None) -> None:
    assert client.post("/notifications/read").status_code == 400  # no CSRF token: refused first
    for response in (client.get("/notifications"),
                     client.post("/notifications/read", data={"csrf_token": csrf_token(client)})):
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert unread_count(app, "w1") == 2


def test_each_user_sees_only_their_own(client: FlaskClient, people: None) -> None:
    sign_in(client, "w1")
    page = client.get("/notifications").get_data(as_text=True)
    assert '<a href="/today">Notifications 1 (mine)</a>' in page
    assert "A note of a kind nobody words." in page  # an unknown kind: the stored message
    assert "Notifications 2" not in page  # s1's
    assert "2 unread" in page and "Mark all as read" in page


def test_someone_with_nothing_sees_nothing(client: FlaskClient, people: None) -> None:
    sign_in(client, "w2")
    page = client.get("/notifications").get_data(as_text=True)
    assert "No notifications yet." in page and "Mark all as read" not in page
    assert "Notifications 1" not in page and "A note of a kind" not in page


def test_marking_read_needs_csrf(app: Flask, client: FlaskClient, people: None) -> None:
    sign_in(client, "w1")
    assert client.post("/notifications/read").status_code == 400
    assert client.post("/notifications/read", data={"csrf_token": "forged"}).status_code == 400
    assert unread_count(app, "w1") == 2


def test_marking_read_touches_only_ones_own_and_goes_back(app: Flask, client: FlaskClient, people: None) -> None:
    sign_in(client, "w1")
    with app.app_context():  # an id beyond s1's notice: still only w1's are marked
        newest = db.session.scalar(select(func.max(Notification.id)))
    response = client.post("/notifications/read", data={"csrf_token": csrf_token(client, "/notifications"),
                                                         "up_to": newest})
    assert response.status_code == 302 and response.headers["Location"].endswith("/notifications")
    assert unread_count(app, "w1") == 0
    assert unread_count(app, "s1") == 1
    page = client.get("/notifications").get_data(as_text=True)
    assert "Notifications marked as read." in page
    assert "Mark all as read" not in page and "Notifications 1 (mine)" in page


def test_a_notice_arriving_after_the_page_stays_unread(app: Flask, client: FlaskClient, people: None) -> None:
    sign_in(client, "w1")
    shown = up_to(client)
    with app.app_context():
        w1 = db.session.scalar(select(User).where(User.username == "w1"))
        InAppSender().send(w1, "retired_kind", "A later notice.", {}, None, "later")
        db.session.commit()
    client.post("/notifications/read", data={"csrf_token": csrf_token(client, "/notifications"), "up_to": shown})
    assert unread_count(app, "w1") == 1


def test_newest_first_and_at_most_100(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        w1 = f.make_user(Role.INSTALLER, username="w1")
        start = utcnow() - timedelta(days=1)
        for i in range(105):
            f.make_notification(w1, message=f"message number {i:03d}.", created_at=start + timedelta(minutes=i))
        db.session.commit()
    sign_in(client, "w1")
    page = client.get("/notifications").get_data(as_text=True)
    shown = re.findall(r"message number (\d{3})\.", page)
    assert shown == [f"{i:03d}" for i in range(104, 4, -1)]
    assert "Only the latest 100 notifications are shown." in page
    assert "100 unread" in page


@pytest.mark.parametrize("newest", ["99999999999999999999", "2147483648", "-99999999999999999999"])
def test_an_up_to_beyond_any_id_is_clamped(app: Flask, client: FlaskClient, people: None, newest: str) -> None:
    sign_in(client, "w1")
    response = client.post("/notifications/read", data={"csrf_token": csrf_token(client, "/notifications"),
                                                         "up_to": newest})
    assert response.status_code == 302  # was a 500 on PostgreSQL: "integer out of range"
    assert unread_count(app, "w1") == (0 if not newest.startswith("-") else 2)
