"""The factory, configuration, the database setup and the data model's guarantees."""
from __future__ import annotations

import os
import stat
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, StatementError

from fieldsvc import create_app
from fieldsvc.auth.models import Role
from fieldsvc.db import UTC, local_day_range, utcnow
from fieldsvc.extensions import db
from fieldsvc.ratings.models import SurveyInvitation, SurveyResponse
from fieldsvc.workorders.models import (
    OrderStatus,
    Visit,
    VisitOutcome,
    WorkOrder,
    WorkOrderEvent,
)
from tests import factories as f


def test_secret_key_is_generated_once_into_the_instance_folder(tmp_path: Path) -> None:
    from fieldsvc.config import _secret_key

    key = _secret_key(tmp_path / "instance")
    assert len(key) == 64
    assert stat.S_IMODE(os.stat(tmp_path / "instance" / "secret_key").st_mode) == 0o600
    assert _secret_key(tmp_path / "instance") == key
    assert [p.name for p in (tmp_path / "instance").iterdir()] == ["secret_key"]  # no draft left


def test_workers_starting_together_read_one_whole_key(tmp_path: Path) -> None:
    """gunicorn's workers (or two test runs) start at the same moment: each reads the same, whole
    key; none reads a file another has created but not yet written."""
    from concurrent.futures import ThreadPoolExecutor

    from fieldsvc.config import _secret_key

    for attempt in range(20):
        folder = tmp_path / f"instance-{attempt}"
        with ThreadPoolExecutor(max_workers=8) as pool:
            keys = set(pool.map(_secret_key, [folder] * 8))
        assert len(keys) == 1 and len(keys.pop()) == 64


def test_an_app_without_a_configured_key_takes_the_instance_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("FIELDSVC_SECRET_KEY", raising=False)
    monkeypatch.setenv("FIELDSVC_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    first, second = create_app({"TESTING": True}), create_app({"TESTING": True})
    assert len(first.config["SECRET_KEY"]) == 64 and second.config["SECRET_KEY"] == first.config["SECRET_KEY"]


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FIELDSVC_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("FIELDSVC_TIMEZONE", "Europe/London")
    monkeypatch.setenv("FIELDSVC_DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite3'}")
    app = create_app({"TESTING": True})
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.config["TIMEZONE"] == "Europe/London"
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("env.sqlite3")


def test_factory_touches_no_database(tmp_path: Path) -> None:
    path = tmp_path / "never.sqlite3"
    create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "x"})
    assert not path.exists()


def test_sqlite_runs_with_wal_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite3'}", "SECRET_KEY": "x"})
    with app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == 30000
        db.session.remove()
        db.engine.dispose()


def test_times_are_stored_in_utc_and_come_back_aware(app_ctx: Flask) -> None:
    shanghai = datetime(2026, 11, 28, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    order = f.make_work_order(created_at=shanghai)
    db.session.commit()
    db.session.expire_all()
    loaded = db.session.get(WorkOrder, order.id)
    assert loaded.created_at == shanghai
    assert loaded.created_at.tzinfo is not None and loaded.created_at.utcoffset() == timedelta(0)
    assert loaded.created_at.hour == 1


def test_naive_datetimes_are_refused(app_ctx: Flask) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        f.make_work_order(created_at=datetime(2026, 11, 28, 9, 30))


def test_local_day_is_turned_into_a_utc_range() -> None:
    start, end = local_day_range(datetime(2026, 11, 28).date(), ZoneInfo("Asia/Shanghai"))
    assert start == datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 28, 16, 0, tzinfo=UTC)


def test_work_order_version_refuses_a_stale_write(app: Flask) -> None:
    """Two sessions read version 1; the first write wins, the second is refused (no overwrite)."""
    with app.app_context():
        number = f.make_work_order().number
        db.session.commit()
    with app.app_context():
        first = db.session.scalar(select(WorkOrder).where(WorkOrder.number == number))
        with db.engine.connect() as other:
            other.execute(text("UPDATE work_orders SET notes = 'theirs', version = version + 1 WHERE number = :n"), {"n": number})
            other.commit()
        first.notes = "mine"
        from sqlalchemy.orm.exc import StaleDataError

        with pytest.raises(StaleDataError):
            db.session.commit()
        db.session.rollback()
        assert db.session.scalar(select(WorkOrder.notes).where(WorkOrder.number == number)) == "theirs"


def test_work_order_events_are_append_only_in_the_database(app_ctx: Flask) -> None:
    order = f.make_work_order()
    db.session.add(WorkOrderEvent(work_order=order, action="created", to_status="new"))
    db.session.commit()
    for statement in ("UPDATE work_order_events SET note = 'rewritten'", "DELETE FROM work_order_events"):
        with pytest.raises(Exception, match="append-only"):
            with db.engine.begin() as connection:
                connection.execute(text(statement))
    assert db.session.scalar(select(WorkOrderEvent.note)) is None


def test_database_checks_enumerations_scores_and_uniques(app_ctx: Flask) -> None:
    order = f.make_work_order(status=OrderStatus.COMPLETED, external_ref="CRM-1")
    installer = f.make_user(Role.INSTALLER)
    db.session.commit()
    with pytest.raises(IntegrityError):
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE work_orders SET status = 'lost'"))
    invitation = SurveyInvitation(work_order_id=order.id, token_hash="a" * 64, expires_at=utcnow())
    db.session.add(invitation)
    db.session.flush()
    db.session.add(SurveyResponse(invitation_id=invitation.id, work_order_id=order.id, score=6))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(IntegrityError):
        f.make_work_order(external_ref="CRM-1")
    db.session.rollback()
    visit = Visit(work_order_id=order.id, seq=1, installer_id=installer.id, arrived_at=utcnow(),
                  outcome=VisitOutcome.RESOLVED, reason_code="customer_absent")
    db.session.add(visit)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_unknown_page_is_a_translated_html_404(client) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Not found" in response.get_data(as_text=True)


def test_pages_escape_user_text(app: Flask, client) -> None:
    from tests.conftest import sign_in

    with app.app_context():
        installer = f.make_user(Role.INSTALLER, username="w1", team=f.make_team())
        f.make_work_order(OrderStatus.ASSIGNED, assignee=installer, number="WOX1",
                          customer=f.make_customer(name="<script>alert(1)</script>"),
                          notes="<img src=x onerror=alert(2)>")
        db.session.commit()
    sign_in(client, "w1")
    page = client.get("/orders/WOX1").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page
