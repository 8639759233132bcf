"""The rules page: dated values put in force from today or later, with who set them; typed
validation from the registry; the deadline rule on the job types, with its history."""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from fieldsvc.audit.models import AuditEntry
from fieldsvc.auth.models import Role, User
from fieldsvc.db import zone
from fieldsvc.errors import InvalidInput
from fieldsvc.extensions import db
from fieldsvc.rules.models import MetricSetting
from fieldsvc.rules.registry import RULES
from fieldsvc.rules.services import DEFAULT_RULES, setting
from fieldsvc.workorders.services import NewOrder, create_work_order
from tests import factories as f
from tests.conftest import sign_in


@pytest.fixture
def admin(app: Flask) -> None:
    with app.app_context():
        f.reference()
        f.make_user(Role.ADMIN, username="admin", name="管理员", name_en="Admin One")
        db.session.commit()


def token(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def version(page: str) -> str:
    return re.search(r'name="version" type="hidden" value="([^"]*)"', page).group(1)


def post_rule(client: FlaskClient, key: str, **fields: Any) -> Any:
    page = client.get(f"/admin/rules/{key}").get_data(as_text=True)
    return client.post(f"/admin/rules/{key}", data={"csrf_token": token(page), "version": version(page), **fields})


def test_every_rule_is_described_once_and_its_default_fits() -> None:
    assert set(RULES) == set(DEFAULT_RULES)
    for key, spec in RULES.items():
        assert spec.check(DEFAULT_RULES[key]) is not None, key


def test_a_future_value_leaves_today_and_the_history_shows_who(client: FlaskClient, admin: None, app: Flask) -> None:
    sign_in(client, "admin")
    day = f.today() + timedelta(days=3)
    response = post_rule(client, "installer_daily_capacity", value="10", effective_from=day.isoformat(),
                         note="more vans")
    assert response.status_code == 302
    with app.app_context():
        assert setting("installer_daily_capacity", f.today()) == 8
        assert setting("installer_daily_capacity", day) == 10
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "rule.set"))
        assert (entry.object_type, entry.object_key) == ("rule", "installer_daily_capacity")
        assert entry.before["value"] == 8 and entry.after == {"value": 10, "effective_from": day.isoformat(),
                                                              "note": "more vans"}
    history = client.get("/admin/rules/installer_daily_capacity").get_data(as_text=True)
    assert "Admin One" in history and "more vans" in history and day.isoformat() in history
    listing = client.get("/admin/rules/").get_data(as_text=True)
    assert "Jobs an installer takes a day" in listing and f"from {day.isoformat()}" in listing


def test_a_percentage_is_entered_as_such_and_stored_as_a_fraction(client: FlaskClient, admin: None, app: Flask) -> None:
    sign_in(client, "admin")
    assert post_rule(client, "satisfaction_target", value="98.5", effective_from=f.today().isoformat()).status_code == 302
    with app.app_context():
        assert setting("satisfaction_target", f.today()) == pytest.approx(0.985)
    assert "98.5 %" in client.get("/admin/rules/").get_data(as_text=True)


@pytest.mark.parametrize(("key", "fields"), [
    ("installer_daily_capacity", {"value": "0"}),
    ("installer_daily_capacity", {"value": "many"}),
    ("satisfaction_target", {"value": "101"}),
    ("rating_reminder_hours", {"low": "21", "high": "9"}),
    ("rx_power_band_dbm", {"low": "-50", "high": "-8"}),
    ("not_installer_fault_reasons", {"value": ["telepathy"]}),
    ("installer_daily_capacity", {"value": "9", "past": True}),
])
def test_bad_values_are_refused_and_nothing_is_written(client: FlaskClient, admin: None, app: Flask, key: str,
                                                       fields: dict[str, Any]) -> None:
    sign_in(client, "admin")
    day = f.today() - timedelta(days=1) if fields.pop("past", False) else f.today()
    response = post_rule(client, key, effective_from=day.isoformat(), **fields)
    assert response.status_code == 400
    assert 'class="field-error"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MetricSetting).where(
            MetricSetting.key == key, MetricSetting.created_by_id.is_not(None))) == 0
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_reasons_are_picked_from_the_code_list(client: FlaskClient, admin: None, app: Flask) -> None:
    sign_in(client, "admin")
    response = post_rule(client, "not_installer_fault_reasons", value=["weather", "customer_absent"],
                         effective_from=f.today().isoformat())
    assert response.status_code == 302
    with app.app_context():
        assert setting("not_installer_fault_reasons", f.today()) == ["customer_absent", "weather"]


def test_a_rule_changed_meanwhile_is_a_conflict(client: FlaskClient, admin: None, app: Flask) -> None:
    sign_in(client, "admin")
    page = client.get("/admin/rules/survey_link_days").get_data(as_text=True)
    assert post_rule(client, "survey_link_days", value="10", effective_from=f.today().isoformat()).status_code == 302
    stale = client.post("/admin/rules/survey_link_days", data={
        "csrf_token": token(page), "version": version(page), "value": "5", "effective_from": f.today().isoformat()})
    assert stale.status_code == 409
    with app.app_context():
        assert setting("survey_link_days", f.today()) == 10


def test_the_service_checks_what_a_form_would(app_ctx: Flask) -> None:
    with pytest.raises(InvalidInput):
        RULES["rating_reminder_hours"].check([9, 9])
    with pytest.raises(InvalidInput):
        RULES["installer_daily_capacity"].check(True)
    assert RULES["rx_power_band_dbm"].check([-27, -8]) == [-27.0, -8.0]


def test_a_deadline_change_applies_to_orders_created_after_it(client: FlaskClient, admin: None, app: Flask) -> None:
    with app.app_context():
        supervisor_id = f.make_user(Role.SUPERVISOR, username="s1", team=f.make_team()).id
        db.session.commit()
    order = NewOrder(job_type="install", account_no="A1", customer_name="王", phone="13800000000",
                     address="珞喻路1号", district="hongshan")
    with app.app_context():
        before, _ = create_work_order(db.session.get(User, supervisor_id), order, zone())
        db.session.commit()
        before_id, before_due = before.id, before.due_by
    sign_in(client, "admin")
    page = client.get("/admin/job-types/install").get_data(as_text=True)
    assert client.post("/admin/job-types/install", data={
        "csrf_token": token(page), "name_zh": "新装", "name_en": "New install", "same_day_cutoff_hour": "",
        "deadline_hours": "72", "required_evidence": ["onu_serial", "rx_power_dbm"], "photos_required": "0",
        "is_active": "y"}).status_code == 302
    with app.app_context():
        after, _ = create_work_order(db.session.get(User, supervisor_id), order, zone())
        db.session.commit()
        assert after.due_by - after.created_at == timedelta(hours=72)
        assert db.session.get(type(after), before_id).due_by == before_due
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "job_type.edit"))
        assert entry.object_key == "install" and entry.after["deadline_hours"] == 72
    history = client.get("/admin/rules/deadlines/install").get_data(as_text=True)
    assert "Admin One" in history and "24 → 72" in history and "16 → —" in history
    assert "/admin/rules/deadlines/install" in client.get("/admin/rules/").get_data(as_text=True)


def test_the_rx_band_form_records_a_rule_change(client: FlaskClient, admin: None, app: Flask) -> None:
    sign_in(client, "admin")
    page = client.get("/admin/job-types").get_data(as_text=True)
    assert client.post("/admin/rx-band", data={"csrf_token": token(page), "low": "-25", "high": "-8"}).status_code == 302
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry))
        assert (entry.action, entry.object_key) == ("rule.set", "rx_power_band_dbm")
        assert entry.before["value"] == [-27.0, -8.0] and entry.after["value"] == [-25.0, -8.0]


def test_an_unknown_rule_is_404_and_supervisors_are_refused(client: FlaskClient, admin: None, app: Flask) -> None:
    with app.app_context():
        f.make_user(Role.SUPERVISOR, username="s9")
        db.session.commit()
    sign_in(client, "admin")
    assert client.get("/admin/rules/no_such_rule").status_code == 404
    assert client.get("/admin/rules/deadlines/no_such_type").status_code == 404
    other = app.test_client()
    sign_in(other, "s9")
    assert other.get("/admin/rules/").status_code == 403
    assert other.get("/admin/rules/satisfaction_target").status_code == 403
