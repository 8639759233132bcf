"""Admins configure what completing each job type requires, and the accepted optical band."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fieldsvc.auth.models import Role
from fieldsvc.db import utcnow
from fieldsvc.extensions import db
from fieldsvc.rules.services import setting
from fieldsvc.workforce.models import JobType
from fieldsvc.workorders import lifecycle
from fieldsvc.workorders.models import OrderStatus, Visit
from tests import factories as f
from tests.conftest import sign_in


@pytest.fixture
def admin(app: Flask) -> None:
    with app.app_context():
        f.reference()
        f.make_user(Role.ADMIN, username="admin")
        f.make_user(Role.SUPERVISOR, username="s1")
        db.session.commit()


def token(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_admin_requires_photos_and_signature_for_repairs(client: FlaskClient, admin: None, app: Flask) -> None:
    sign_in(client, "admin")
    listing = client.get("/admin/job-types").get_data(as_text=True)
    assert "repair" in listing and "Fault cause" in listing
    page = client.get("/admin/job-types/repair").get_data(as_text=True)
    response = client.post("/admin/job-types/repair", data={
        "csrf_token": token(page), "name_zh": "修障", "name_en": "Fault repair", "same_day_cutoff_hour": "16",
        "deadline_hours": "24", "required_evidence": ["fault_cause", "signature"], "photos_required": "1",
        "is_active": "y"})
    assert response.status_code == 302
    with app.app_context():
        repair = db.session.scalar(select(JobType).where(JobType.code == "repair"))
        assert repair.required_evidence == ["fault_cause", "signature"] and repair.photos_required == 1
        installer = f.certify_fully(f.make_user(Role.INSTALLER, team=f.make_team()))
        order = f.make_work_order(OrderStatus.ON_SITE, assignee=installer, job_type="repair")
        db.session.add(Visit(work_order=order, seq=1, installer=installer, arrived_at=utcnow()))
        db.session.commit()
        from fieldsvc.errors import RuleViolation

        with pytest.raises(RuleViolation) as refused:
            lifecycle.transition(order, installer, "complete", order.version, tz=None, evidence={"fault_cause": "onu"})
        assert refused.value.details["missing"] == ["signature", "photos"]


def test_bad_job_type_input_changes_nothing(client: FlaskClient, admin: None, app: Flask) -> None:
    sign_in(client, "admin")
    page = client.get("/admin/job-types/repair").get_data(as_text=True)
    response = client.post("/admin/job-types/repair", data={
        "csrf_token": token(page), "name_zh": "", "name_en": "x", "deadline_hours": "0",
        "same_day_cutoff_hour": "25", "photos_required": "-1", "required_evidence": ["telepathy"]})
    assert response.status_code == 400
    with app.app_context():
        repair = db.session.scalar(select(JobType).where(JobType.code == "repair"))
        assert repair.name_zh == "修障" and repair.deadline_hours == 24 and repair.required_evidence == ["fault_cause"]


def test_band_change_applies_from_today(client: FlaskClient, admin: None, app: Flask) -> None:
    sign_in(client, "admin")
    page = client.get("/admin/job-types").get_data(as_text=True)
    assert client.post("/admin/rx-band", data={"csrf_token": token(page), "low": "-20", "high": "-25"}).status_code == 400
    assert client.post("/admin/rx-band", data={"csrf_token": token(page), "low": "-25", "high": "-8"}).status_code == 302
    with app.app_context():
        today = utcnow().date()
        assert setting("rx_power_band_dbm", today + timedelta(days=1)) == [-25.0, -8.0]
        assert setting("rx_power_band_dbm", today - timedelta(days=2)) == [-27.0, -8.0]


@pytest.mark.parametrize("path", ["/admin/job-types", "/admin/job-types/repair"])
def test_only_admins_configure_job_types(client: FlaskClient, admin: None, path: str) -> None:
    sign_in(client, "s1")
    assert client.get(path).status_code == 403
    assert client.post("/admin/rx-band", data={}).status_code in (400, 403)


def test_admin_defines_a_certification_type_and_who_requires_it(client: FlaskClient, admin: None, app: Flask) -> None:
    sign_in(client, "admin")
    listing = client.get("/admin/certification-types").get_data(as_text=True)
    assert "work_at_height" in listing and "install" in listing
    page = client.get("/admin/certification-types/new").get_data(as_text=True)
    base = {"csrf_token": token(page), "code": "fttr", "name_zh": "FTTR组网", "name_en": "FTTR networking",
            "category": "skill", "validity_months": "24", "renewal_window_days": "60", "is_active": "y"}
    assert 'type="checkbox" name="required_by" value="smart_home"' in page and 'name="level-smart_home"' in page
    bad = client.post("/admin/certification-types/new", data={**base, "required_by": "teleport"})
    assert bad.status_code == 400 and "Unknown job type" in bad.get_data(as_text=True)
    bad = client.post("/admin/certification-types/new", data={**base, "required_by": "install", "level-install": "x"})
    assert bad.status_code == 400 and "Unknown job type or level" in bad.get_data(as_text=True)
    levels = client.post("/admin/certification-types/new", data={**base, "min_level": "1"})
    assert levels.status_code == 400
    assert client.post("/admin/certification-types/new", data={**base, "required_by": ["smart_home", "iptv"],
                                                               "level-iptv": "3"}).status_code == 302
    with app.app_context():
        from fieldsvc.certifications.models import CertificationType, JobTypeRequirement

        fttr = db.session.scalar(select(CertificationType).where(CertificationType.code == "fttr"))
        assert fttr.validity_months == 24
        required = db.session.execute(select(JobType.code, JobTypeRequirement.min_level)
                                      .join(JobType, JobType.id == JobTypeRequirement.job_type_id)
                                      .where(JobTypeRequirement.certification_type_id == fttr.id)).all()
        assert sorted(required) == [("iptv", 3), ("smart_home", None)]
    edit = client.get("/admin/certification-types/fttr").get_data(as_text=True)
    assert "<h1>FTTR networking <small><code>fttr</code></small></h1>" in edit
    assert re.search(r'value="iptv"\s+checked', edit) and 'name="level-iptv" value="3"' in edit
    listing = client.get("/admin/certification-types").get_data(as_text=True)
    assert "IPTV (level 3)" in listing and "iptv:3" not in listing
    sign_in_as_supervisor = FlaskClient(app, app.response_class)
    sign_in(sign_in_as_supervisor, "s1")
    assert sign_in_as_supervisor.get("/admin/certification-types").status_code == 403
