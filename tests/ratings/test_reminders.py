"""Rating reminders: one at most for a link still unused a day after completion, none once it is
used, expired or refused, none at night; the text carries a fresh link to the same invitation and
goes out only when the claim commits; the expiry job marks links that ran out."""
from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from fieldsvc.auth.models import Role
from fieldsvc.errors import NotFound
from fieldsvc.extensions import db
from fieldsvc.notifications.sms import LoggingSmsSender, SmsMessage, load_sender, send_on_commit, sms_sender
from fieldsvc.ratings import reminders
from fieldsvc.ratings.models import SurveyInvitation
from fieldsvc.ratings.reminders import mark_expired, send_reminders, set_reminders
from fieldsvc.ratings.services import invitation_for, submit_rating
from fieldsvc.scheduler.jobs import job
from fieldsvc.scheduler.runner import run_due
from tests import factories as f
from tests.ratings.conftest import TZ, completed, ten_am
from tests.scheduler.conftest import FixedClock


@pytest.fixture
def installer(app_ctx: Flask) -> Any:
    return f.make_user(Role.INSTALLER, "wa001", f.make_team("TA01"))


def test_one_reminder_with_a_fresh_link_even_over_two_runs_of_the_job(app_ctx: Flask, installer: Any,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    now = ten_am()
    order, old_token = completed(installer, now - timedelta(hours=25),
                                 customer=f.make_customer(phone="139 0555 0101"))
    completed(installer, now - timedelta(hours=2))  # not a day old yet
    db.session.commit()
    sender = sms_sender()
    assert isinstance(sender, LoggingSmsSender) and not sender.sent

    clock = FixedClock(now)
    caplog.set_level(logging.INFO, logger="fieldsvc.notifications.sms")
    for _ in range(2):  # the slot's run, then the next slot's
        run_due(clock, TZ, [job("rating_reminders")])
        clock.advance(timedelta(minutes=15))
    assert send_reminders(clock(), TZ) == 0  # and `fieldsvc ratings remind` beside them
    db.session.commit()

    (message,) = sender.sent
    assert message.phone == "13905550101" and message.reference.startswith("rating-reminder:")
    assert order.number in message.text and "http://localhost/r/" in message.text
    new_token = message.text.split("/r/")[1].split()[0]
    invitation = invitation_for(new_token)  # the same invitation, its expiry kept
    assert invitation.work_order_id == order.id and invitation.reminded_at == now
    assert invitation.expires_at == now - timedelta(hours=25) + timedelta(days=7)
    with pytest.raises(NotFound):
        invitation_for(old_token)  # only the digest was stored: the old link is retired
    assert "139****0101" in caplog.text and "13905550101" not in caplog.text


def test_none_after_use_expiry_or_opt_out_nor_at_night(app_ctx: Flask, installer: Any) -> None:
    now = ten_am()
    day_old = now - timedelta(hours=25)
    used, used_token = completed(installer, day_old)
    submit_rating(invitation_for(used_token), 5, now=day_old + timedelta(hours=3))
    expired, _ = completed(installer, now - timedelta(days=8))
    refused, _ = completed(installer, day_old)
    set_reminders(refused.customer_id, False, None, now)
    waiting, _ = completed(installer, day_old)
    db.session.commit()
    sender = LoggingSmsSender()

    assert send_reminders(now.replace(hour=22), TZ, sender=sender) == 0  # 22:00: waits for the morning
    assert send_reminders(now.replace(hour=8, minute=59), TZ, sender=sender) == 0
    assert send_reminders(now, TZ, sender=sender) == 1
    db.session.commit()
    assert [m.text for m in sender.sent if waiting.number in m.text] and len(sender.sent) == 1
    reminded = dict(db.session.execute(select(SurveyInvitation.work_order_id, SurveyInvitation.reminded_at)).all())
    assert reminded == {used.id: None, expired.id: None, refused.id: None, waiting.id: now}

    set_reminders(refused.customer_id, True, None, now)  # reminders back on: its turn comes
    assert send_reminders(now, TZ, sender=sender) == 1
    db.session.commit()
    assert refused.number in sender.sent[-1].text


def test_two_schedulers_at_once_send_one_reminder(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    now = ten_am()
    with app.app_context():
        team = f.make_team("TA01")
        completed(f.make_user(Role.INSTALLER, "wa001", team), now - timedelta(hours=25))
        db.session.commit()
        postgres = db.engine.dialect.name == "postgresql"
    if postgres:  # both read the due link before either claims it (SQLite's write lock serialises them)
        barrier = threading.Barrier(2, timeout=20)
        token = reminders.secrets.token_urlsafe
        monkeypatch.setattr(reminders.secrets, "token_urlsafe", lambda n: (barrier.wait(), token(n))[1])
    senders = [LoggingSmsSender(), LoggingSmsSender()]
    counts = [0, 0]

    def run(index: int) -> None:
        with app.app_context():
            try:
                counts[index] = send_reminders(now, TZ, sender=senders[index])
                db.session.commit()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(counts) == [0, 1]
    assert sum(len(s.sent) for s in senders) == 1


def test_a_rolled_back_claim_sends_nothing_and_a_failing_gateway_is_logged(app_ctx: Flask, installer: Any,
                                                                          caplog: pytest.LogCaptureFixture) -> None:
    now = ten_am()
    completed(installer, now - timedelta(hours=25))
    db.session.commit()
    sender = LoggingSmsSender()
    assert send_reminders(now, TZ, sender=sender) == 1
    db.session.rollback()
    assert not sender.sent
    assert db.session.scalar(select(SurveyInvitation.reminded_at)) is None

    class Down:
        def send(self, message: SmsMessage) -> None:
            raise ConnectionError("gateway down")

    send_on_commit(db.session(), Down(), SmsMessage("13900000000", "hello", "ref-1"))
    send_on_commit(db.session(), sender, SmsMessage("13900000001", "hello", "ref-2"))
    db.session.commit()
    assert "ref-1" in caplog.text and [m.reference for m in sender.sent] == ["ref-2"]


class RecordingGateway:
    """A gateway as a deployment would plug one in: built with the app's config."""

    def __init__(self, config: Any) -> None:
        self.account = config.get("SMS_ACCOUNT")
        self.sent: list[SmsMessage] = []

    def send(self, message: SmsMessage) -> None:
        self.sent.append(message)


def test_a_gateway_plugs_in_by_its_dotted_path(app_ctx: Flask) -> None:
    gateway = load_sender("tests.ratings.test_reminders:RecordingGateway", {"SMS_ACCOUNT": "acct"})
    assert isinstance(gateway, RecordingGateway) and gateway.account == "acct"
    with pytest.raises(RuntimeError, match="no such class"):
        load_sender("tests.ratings.test_reminders:Nothing", {})


def test_the_expiry_job_marks_links_that_ran_out_unused(app_ctx: Flask, installer: Any) -> None:
    now = ten_am()
    ran_out, _ = completed(installer, now - timedelta(days=8))
    rated, token = completed(installer, now - timedelta(days=8))
    submit_rating(invitation_for(token), 4, now=now - timedelta(days=7, hours=1))
    open_link, _ = completed(installer, now - timedelta(days=2))
    db.session.commit()

    clock = FixedClock(now)
    run_due(clock, TZ, [job("rating_link_expiry")])
    marks = dict(db.session.execute(select(SurveyInvitation.work_order_id, SurveyInvitation.expired_at)).all())
    assert marks == {ran_out.id: now - timedelta(days=8) + timedelta(days=7), rated.id: None, open_link.id: None}
    assert mark_expired(now) == 0  # once


def test_the_cli_reminds_and_expires(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    now = ten_am()
    with app.app_context():
        installer = f.make_user(Role.INSTALLER, "wa001", f.make_team("TA01"))
        completed(installer, now - timedelta(hours=25))
        completed(installer, now - timedelta(days=8))
        db.session.commit()
    monkeypatch.setenv("FIELDSVC_SCHEDULER_NOW", now.isoformat())
    runner = app.test_cli_runner()
    remind = runner.invoke(args=["ratings", "remind"])
    assert remind.exit_code == 0 and "rating reminders: 1 sent" in remind.output
    assert "rating reminders: 0 sent" in runner.invoke(args=["ratings", "remind"]).output
    expire = runner.invoke(args=["ratings", "expire"])
    assert expire.exit_code == 0 and "marked expired: 1" in expire.output
    assert len(sms_sender(app).sent) == 1
