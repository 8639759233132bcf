"""Sending: the in-app sender never sends a key twice; `deliver` stores the English wording of a
registered kind and refuses kinds nobody can word."""
from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from fieldsvc.auth.models import Role
from fieldsvc.extensions import db
from fieldsvc.notifications.models import Notification
from fieldsvc.notifications.services import InAppSender, Notice, deliver
from tests import factories as f


def test_in_app_sender_never_sends_a_key_twice(app_ctx: Flask) -> None:
    user = f.make_user(Role.INSTALLER)
    sender = InAppSender()
    assert sender.send(user, "note", "once", {}, None, "k:1") is True
    assert sender.send(user, "note", "twice", {}, None, "k:1") is False
    db.session.flush()
    assert InAppSender().send(user, "note", "again", {}, None, "k:1") is False
    assert InAppSender().sent_keys(["k:1", "k:2"]) == {"k:1"}
    assert db.session.scalars(select(Notification.message)).all() == ["once"]


def test_deliver_stores_the_english_wording_whatever_the_language(app: Flask, note_kind: str) -> None:
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        owner, other = f.make_user(username="w1"), f.make_user(username="s1")
        notices = [Notice(owner, note_kind, {"n": 3, "owner": "w1"}, "note:3:w1", link="/today"),
                   Notice(other, note_kind, {"n": 3, "owner": "w1"}, "note:3:s1")]
        assert deliver(notices) == 2
        assert deliver(notices) == 0  # each key once
        rows = db.session.execute(select(Notification.user_id, Notification.message, Notification.link,
                                         Notification.data).order_by(Notification.id)).all()
    assert [tuple(row) for row in rows] == [
        (owner.id, "Notifications 3 (mine)", "/today", {"n": 3, "owner": "w1"}),
        (other.id, "Notifications 3 (w1)", None, {"n": 3, "owner": "w1"}),
    ]


def test_deliver_refuses_a_kind_nobody_registered(app_ctx: Flask) -> None:
    user = f.make_user()
    with pytest.raises(LookupError, match="not registered: unheard_of"):
        deliver([Notice(user, "unheard_of", {"n": 1}, "x:1")])
    assert db.session.scalars(select(Notification)).all() == []
