"""The password policy: at least 10 characters, not a common password, not the username. Every
way of setting a password (create_user, set_password, the CLI) goes through `check_password`."""
from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from fieldsvc.auth.models import Role, User
from fieldsvc.auth.services import (
    MAX_PASSWORD,
    MIN_PASSWORD,
    check_password,
    create_user,
    set_password,
    verify_password,
)
from fieldsvc.demo import DEMO_PASSWORD
from fieldsvc.errors import RuleViolation
from fieldsvc.extensions import db
from tests import factories as f

REFUSED = [
    ("12345678", "w10001", "at least 10 characters"),
    ("password", "w10001", "at least 10 characters"),
    ("w10001", "w10001", "at least 10 characters"),
    ("1234567890", "w10001", "most common"),
    ("password123", "w10001", "most common"),
    ("PassWord123", "w10001", "most common"),  # in any letter case
    ("qwertyuiop", "w10001", "most common"),
    ("zhangwei2026", "zhangwei2026", "employee number"),
    ("ZhangWei2026", "zhangwei2026", "employee number"),
    ("x" * (MAX_PASSWORD + 1), "w10001", "at most 1024 characters"),
]


@pytest.mark.parametrize(("password", "username", "says"), REFUSED)
def test_weak_passwords_are_refused(app_ctx: Flask, password: str, username: str, says: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        check_password(password, username)
    assert says in str(refused.value.message)


@pytest.mark.parametrize("password", [f.PASSWORD, DEMO_PASSWORD, "a-long-password", "x" * MAX_PASSWORD,
                                      "9" * 3 + "安装维护光纤宽带"])
def test_good_passwords_pass(app_ctx: Flask, password: str) -> None:
    check_password(password, "w10001")


def test_the_limits(app_ctx: Flask) -> None:
    assert MIN_PASSWORD == 10
    check_password("k" * 9 + "!", "w10001")
    with pytest.raises(RuleViolation):
        check_password("k" * 8 + "!", "w10001")


def test_create_user_applies_the_policy(app_ctx: Flask) -> None:
    for password in ("12345678", "password", "password123"):
        with pytest.raises(RuleViolation):
            create_user("w30001", Role.INSTALLER, password)
    with pytest.raises(RuleViolation):
        create_user("installer-30001", Role.INSTALLER, "installer-30001")
    assert db.session.scalars(select(User.username)).all() == []
    assert create_user("w30001", Role.INSTALLER, "battery-staple-42").username == "w30001"


def test_set_password_applies_the_policy_and_keeps_the_old_one_when_refused(app_ctx: Flask) -> None:
    user = f.make_user(username="w20001")
    for password in ("short", "1234567890", "w20001"):
        with pytest.raises(RuleViolation):
            set_password(user, password)
    assert verify_password(user.password_hash, f.PASSWORD)
    set_password(user, "battery-staple-42")
    assert verify_password(user.password_hash, "battery-staple-42")


def test_the_messages_are_translated(app: Flask) -> None:
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("zh_CN"):
        with pytest.raises(RuleViolation) as refused:
            check_password("1234567890", "w10001")
        assert "常用" in str(refused.value.message)
