"""Certificate alerts (30 and 7 days before an expiry or review, once on expiry; never twice),
the `fieldsvc certifications alerts` command, and each reader's wording of them in the inbox
(the inbox itself: tests/notifications)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from fieldsvc.auth.models import Role, User
from fieldsvc.certifications.alerts import certificate_alerts
from fieldsvc.certifications.models import Certification
from fieldsvc.db import utcnow, zone
from fieldsvc.extensions import db
from fieldsvc.notifications.models import Notification
from fieldsvc.notifications.services import InAppSender
from tests import factories as f
from tests.conftest import sign_in

TODAY = date(2026, 11, 28)


@dataclass
class Branch:
    installer: User  # w1, team HS01
    supervisor: User  # s1, runs HS01
    other: User  # w2, team JA01
    other_supervisor: User  # s2, runs JA01


def build_branch() -> Branch:
    hs = f.make_team("HS01")
    ja = f.make_team("JA01", districts=("jiangan",))
    return Branch(
        installer=f.make_user(Role.INSTALLER, username="w1", team=hs, name="张伟", name_en="Zhang Wei"),
        supervisor=f.make_user(Role.SUPERVISOR, username="s1", team=hs),
        other=f.make_user(Role.INSTALLER, username="w2", team=ja),
        other_supervisor=f.make_user(Role.SUPERVISOR, username="s2", team=ja),
    )


@pytest.fixture
def branch(app_ctx: Flask) -> Branch:
    return build_branch()


def certificate(user: User, type_code: str = "ftth", expires_on: date | None = None, **overrides: Any) -> Certification:
    """A certificate expiring on `expires_on` (issued three years before unless given)."""
    expires_on = expires_on or TODAY + timedelta(days=400)
    overrides.setdefault("issued_on", expires_on - timedelta(days=3 * 365))
    overrides.setdefault("next_review_on", None)
    return f.make_certification(user, type_code, expires_on=expires_on, **overrides)


def notices() -> list[tuple[str, str, str]]:
    """(username, kind, dedupe key) of every notification, by recipient and key."""
    rows = db.session.execute(select(User.username, Notification.kind, Notification.dedupe_key)
                              .join(User, User.id == Notification.user_id)
                              .order_by(User.username, Notification.dedupe_key))
    return [tuple(row) for row in rows]


# --- thresholds ------------------------------------------------------------------------------

def test_31_days_out_nothing(branch: Branch) -> None:
    certificate(branch.installer, expires_on=TODAY + timedelta(days=31))
    assert certificate_alerts(TODAY) == 0
    assert notices() == []


def test_30_days_out_one_notice_each_to_installer_and_supervisor(branch: Branch) -> None:
    cert = certificate(branch.installer, expires_on=TODAY + timedelta(days=30))
    assert certificate_alerts(TODAY) == 2
    assert notices() == [
        ("s1", "cert_expiring", f"cert:{cert.id}:expiry:30:{branch.supervisor.id}"),
        ("w1", "cert_expiring", f"cert:{cert.id}:expiry:30:{branch.installer.id}"),
    ]
    own = db.session.scalar(select(Notification).where(Notification.user_id == branch.installer.id))
    assert own.data == {
        "certification_id": cert.id, "type": "ftth", "type_name_zh": "光纤到户(FTTH)安装调试专项能力",
        "type_name_en": "FTTH installation and commissioning", "username": "w1", "name": "张伟",
        "name_en": "Zhang Wei", "date": "2026-12-28", "days_left": 30, "threshold": 30,
    }
    assert own.message == ("Your certificate “FTTH installation and commissioning” expires on 2026-12-28, "
                           "in 30 days.")
    assert own.read_at is None
    boss = db.session.scalar(select(Notification).where(Notification.user_id == branch.supervisor.id))
    assert boss.message.startswith("Zhang Wei (w1): the certificate “FTTH installation and commissioning”")
    assert own.link == "/me/certifications" and boss.link == "/certifications/installers/w1"


def test_7_days_out_the_7_day_notice_and_nothing_in_between(branch: Branch) -> None:
    cert = certificate(branch.installer, expires_on=TODAY + timedelta(days=30))
    assert certificate_alerts(TODAY) == 2
    for days_later in range(1, 23):  # 29 … 8 days before: said already
        assert certificate_alerts(TODAY + timedelta(days=days_later)) == 0
    assert certificate_alerts(TODAY + timedelta(days=23)) == 2
    assert [key for _user, _kind, key in notices()] == [
        f"cert:{cert.id}:expiry:30:{branch.supervisor.id}", f"cert:{cert.id}:expiry:7:{branch.supervisor.id}",
        f"cert:{cert.id}:expiry:30:{branch.installer.id}", f"cert:{cert.id}:expiry:7:{branch.installer.id}",
    ]


def test_running_twice_sends_nothing_new(branch: Branch) -> None:
    certificate(branch.installer, expires_on=TODAY + timedelta(days=7))
    certificate(branch.other, "work_at_height", expires_on=TODAY - timedelta(days=1))
    assert certificate_alerts(TODAY) == 4
    assert certificate_alerts(TODAY) == 0
    assert certificate_alerts(TODAY, sender=InAppSender()) == 0
    assert len(notices()) == 4


def test_a_first_run_close_to_expiry_sends_only_the_tightest_threshold(branch: Branch) -> None:
    cert = certificate(branch.installer, expires_on=TODAY + timedelta(days=5))
    assert certificate_alerts(TODAY) == 2
    assert {key for _u, _k, key in notices()} == {f"cert:{cert.id}:expiry:7:{branch.installer.id}",
                                                  f"cert:{cert.id}:expiry:7:{branch.supervisor.id}"}


def test_expired_yesterday_expired_notice_once(branch: Branch) -> None:
    cert = certificate(branch.installer, "work_at_height", expires_on=TODAY - timedelta(days=1))
    assert certificate_alerts(TODAY) == 2
    assert notices() == [("s1", "cert_expired", f"cert:{cert.id}:expired:0:{branch.supervisor.id}"),
                         ("w1", "cert_expired", f"cert:{cert.id}:expired:0:{branch.installer.id}")]
    own = db.session.scalar(select(Notification).where(Notification.user_id == branch.installer.id))
    assert own.message.startswith("Your certificate “Special operations: work at height” expired on 2026-11-27.")
    assert certificate_alerts(TODAY + timedelta(days=1)) == 0


def test_long_expired_certificates_are_not_announced(branch: Branch) -> None:
    certificate(branch.installer, expires_on=TODAY - timedelta(days=31))
    assert certificate_alerts(TODAY) == 0


def test_expiring_today_is_still_only_an_expiring_notice(branch: Branch) -> None:
    cert = certificate(branch.installer, expires_on=TODAY)
    assert certificate_alerts(TODAY) == 2
    assert {(kind, key) for _u, kind, key in notices()} == {
        ("cert_expiring", f"cert:{cert.id}:expiry:7:{branch.installer.id}"),
        ("cert_expiring", f"cert:{cert.id}:expiry:7:{branch.supervisor.id}"),
    }
    own = db.session.scalar(select(Notification).where(Notification.user_id == branch.installer.id))
    assert "expires today (2026-11-28)" in own.message
    # the next day it has expired: that is a new notice
    assert certificate_alerts(TODAY + timedelta(days=1)) == 2


def test_review_due_within_30_and_7_days(branch: Branch) -> None:
    cert = f.make_certification(branch.installer, "work_at_height", issued_on=date(2023, 12, 28))
    assert cert.next_review_on == date(2026, 12, 28) and cert.expires_on == date(2029, 12, 27)
    assert certificate_alerts(TODAY) == 2
    assert {(kind, key) for _u, kind, key in notices()} == {
        ("cert_review_due", f"cert:{cert.id}:review:30:{branch.installer.id}"),
        ("cert_review_due", f"cert:{cert.id}:review:30:{branch.supervisor.id}"),
    }
    assert certificate_alerts(date(2026, 12, 21)) == 2
    own = db.session.scalars(select(Notification.message).where(Notification.user_id == branch.installer.id)
                             .order_by(Notification.id)).all()
    assert own[-1] == ("Your certificate “Special operations: work at height” is due for review on 2026-12-28, "
                       "in 7 days.")


def test_a_renewed_certificate_does_not_alert(branch: Branch) -> None:
    certificate(branch.installer, expires_on=TODAY + timedelta(days=5))
    f.make_certification(branch.installer, "ftth", issued_on=TODAY - timedelta(days=2))  # the renewal
    certificate(branch.other, expires_on=TODAY - timedelta(days=3))
    certificate(branch.other, expires_on=TODAY + timedelta(days=700), issued_on=TODAY - timedelta(days=3))
    assert certificate_alerts(TODAY) == 0


def test_revoked_certificates_do_not_alert(branch: Branch) -> None:
    for days in (30, 7, 0, -1):
        certificate(branch.installer, "work_at_height", expires_on=TODAY + timedelta(days=days),
                    revoked_at=utcnow(), revoked_reason="withdrawn by the authority")
    assert certificate_alerts(TODAY) == 0


def test_inactive_people_are_not_told(branch: Branch) -> None:
    certificate(branch.installer, expires_on=TODAY + timedelta(days=7))
    certificate(branch.other, expires_on=TODAY + timedelta(days=7))
    branch.supervisor.is_active = False
    branch.other.is_active = False
    assert certificate_alerts(TODAY) == 1
    assert [user for user, _k, _key in notices()] == ["w1"]


def test_the_sender_is_pluggable(branch: Branch) -> None:
    class Recorder:
        def __init__(self) -> None:
            self.sent: list[tuple[str, str, str, dict[str, Any], str]] = []

        def sent_keys(self, keys: Any) -> set[str]:
            return {key for *_rest, key in self.sent} & set(keys)

        def send(self, user: User, kind: str, message: str, data: dict[str, Any], link: str | None,
                 dedupe_key: str) -> bool:
            self.sent.append((user.username, kind, message, data, dedupe_key))
            return True

    certificate(branch.installer, expires_on=TODAY + timedelta(days=7))
    recorder = Recorder()
    assert certificate_alerts(TODAY, sender=recorder) == 2
    assert certificate_alerts(TODAY, sender=recorder) == 0
    assert sorted(user for user, *_rest in recorder.sent) == ["s1", "w1"]
    assert all(data["days_left"] == 7 for *_r, data, _k in recorder.sent)
    assert notices() == []  # that sender does not write the in-app list


@contextmanager
def counting_statements() -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_statements_grow_with_notices_not_with_installers(app_ctx: Flask) -> None:
    def run_for(installers: int) -> int:
        team = f.make_team()
        f.make_user(Role.SUPERVISOR, team=team)
        for n in range(installers):  # two of them are told; the others' certificates run for long
            days = 7 if n < 2 else 200 + n
            user = f.make_user(Role.INSTALLER, team=team)
            certificate(user, expires_on=TODAY + timedelta(days=days))
            f.make_certification(user, "service_star", issued_on=TODAY - timedelta(days=n), level=2)
        db.session.commit()
        with counting_statements() as statements:
            assert certificate_alerts(TODAY) == 4
            db.session.commit()
        db.session.execute(Notification.__table__.delete())
        db.session.execute(Certification.__table__.delete())
        db.session.commit()
        return len(statements)

    assert run_for(3) == run_for(25)


# --- the operator's today -----------------------------------------------------------------------

@pytest.mark.parametrize(("instant", "kind"), [
    (datetime(2026, 11, 28, 15, 59, tzinfo=UTC), "cert_expiring"),  # 23:59 in Shanghai: expires today
    (datetime(2026, 11, 28, 16, 1, tzinfo=UTC), "cert_expired"),  # 00:01 the next day, though still the 28th in UTC
])
def test_midnight_in_shanghai(branch: Branch, instant: datetime, kind: str) -> None:
    certificate(branch.installer, "work_at_height", expires_on=date(2026, 11, 28))
    today = instant.astimezone(zone()).date()
    assert certificate_alerts(today) == 2
    assert {k for _u, k, _key in notices()} == {kind}


# --- the command ---------------------------------------------------------------------------------

def test_cli_command_sends_commits_and_says_how_many(app: Flask) -> None:
    with app.app_context():
        branch = build_branch()
        certificate(branch.installer, expires_on=date(2026, 12, 5))
        db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["certifications", "alerts", "--date", "2026-11-28"])
    assert result.exit_code == 0, result.output
    assert "2026-11-28: 2 notices sent" in result.output
    with app.app_context():  # committed: another session sees them
        assert db.session.scalar(select(func.count()).select_from(Notification)) == 2
    again = runner.invoke(args=["certifications", "alerts", "--date", "2026-11-28"])
    assert again.exit_code == 0 and "0 notices sent" in again.output
    assert runner.invoke(args=["certifications", "alerts", "--date", "28/11/2026"]).exit_code == 2


def test_cli_command_defaults_to_the_local_date(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    with app.app_context():
        branch = build_branch()
        certificate(branch.installer, expires_on=date(2026, 11, 28))
        db.session.commit()
    # 00:30 on 29 November in Shanghai, still the 28th in UTC
    monkeypatch.setattr("fieldsvc.db.utcnow", lambda: datetime(2026, 11, 28, 16, 30, tzinfo=UTC))
    result = app.test_cli_runner().invoke(args=["certifications", "alerts"])
    assert result.exit_code == 0, result.output
    assert "2026-11-29: 2 notices sent" in result.output
    with app.app_context():
        assert set(db.session.scalars(select(Notification.kind))) == {"cert_expired"}


# --- in the inbox: each reader's wording ---------------------------------------------------------

@pytest.fixture
def told(app: Flask) -> None:
    """w1's FTTH certificate expires in 30 days; w1 and s1 have been told; w2 and s2 have not."""
    with app.app_context():
        branch = build_branch()
        certificate(branch.installer, expires_on=TODAY + timedelta(days=30))
        assert certificate_alerts(TODAY) == 2
        db.session.commit()


def test_installer_sees_own_notice_in_own_words(client: FlaskClient, told: None) -> None:
    sign_in(client, "w1")
    page = client.get("/notifications").get_data(as_text=True)
    assert "Your certificate “FTTH installation and commissioning” expires on 2026-12-28, in 30 days." in page
    assert "(w1): the certificate" not in page  # the supervisor's copy is not w1's
    assert "1 unread" in page and "Mark all as read" in page


def test_supervisor_sees_the_installer_named(client: FlaskClient, told: None) -> None:
    sign_in(client, "s1")
    page = client.get("/notifications").get_data(as_text=True)
    assert "Zhang Wei (w1): the certificate “FTTH installation and commissioning” expires on 2026-12-28" in page
    assert "Your certificate" not in page


@pytest.mark.parametrize("username", ["w2", "s2"])
def test_others_see_nothing_of_it(client: FlaskClient, told: None, username: str) -> None:
    sign_in(client, username)
    page = client.get("/notifications").get_data(as_text=True)
    assert "FTTH" not in page and "No notifications yet." in page
    assert "Mark all as read" not in page
