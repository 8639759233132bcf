"""The admin's scheduler health page: each job's last run, duration, failures, and lateness."""
from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from fieldsvc.auth.models import Role
from fieldsvc.db import utcnow, zone
from fieldsvc.extensions import db
from fieldsvc.metrics.models import JobRun, JobRunStatus
from fieldsvc.scheduler.health import job_health
from fieldsvc.scheduler.jobs import job
from tests import factories as f
from tests.conftest import sign_in


def test_health_shows_last_runs_failures_and_late_jobs(app: Flask, client: FlaskClient) -> None:
    now = utcnow()
    today_key, _at = job("metrics_today").due(now, zone(app.config["TIMEZONE"]))[-1]
    with app.app_context():
        f.make_user(Role.ADMIN, username="admin")
        f.make_user(Role.SUPERVISOR, username="s1")
        db.session.add_all([
            JobRun(name="metrics_today", period_key=today_key, started_at=now - timedelta(seconds=3),
                   finished_at=now, status=JobRunStatus.SUCCEEDED, rows_written=123),
            JobRun(name="metrics_day", period_key="2000-01-01", started_at=now - timedelta(minutes=1),
                   finished_at=now, status=JobRunStatus.FAILED, error="Traceback: <b>boom</b>", attempts=2),
        ])
        db.session.commit()
        health = {item.job.name: item for item in job_health(now, zone())}
        assert health["metrics_today"].late_key is None and health["metrics_today"].duration == timedelta(seconds=3)
        assert health["metrics_day"].failures == 1
        # The day's final figures fell due at 02:00 on each of the last days and never ran: late since
        # the oldest of them (a week back, the catch-up window).
        assert health["metrics_day"].late_key is not None
        assert now - health["metrics_day"].late_since > timedelta(days=6)

    sign_in(client, "s1")
    assert client.get("/admin/scheduler").status_code == 403
    admin = app.test_client()
    admin.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    sign_in(admin, "admin")
    page = admin.get("/admin/scheduler").get_data(as_text=True)
    assert "metrics_today" in page and "123" in page and "3.0 s" in page
    assert "&lt;b&gt;boom&lt;/b&gt;" in page and "<b>boom" not in page  # the error is escaped
    assert "attempt 2" in page and "certificate_alerts" in page
