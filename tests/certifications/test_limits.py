"""The certificate pages' limits have one definition each: the service, the form and the API refuse
at the same boundary."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from werkzeug.datastructures import MultiDict

from fieldsvc.api.certifications import NewCertificationSchema
from fieldsvc.auth.models import Role
from fieldsvc.certifications.forms import RecordForm, ResultForm, RevokeForm
from fieldsvc.certifications.models import (
    Certification,
    TrainingCourse,
    TrainingSession,
)
from fieldsvc.certifications.services import (
    MAX_EVIDENCE,
    MAX_REVOKE_REASON,
    record_certification,
    revoke_certification,
)
from fieldsvc.certifications.training import SCORE_RANGE, enrol, record_result
from fieldsvc.db import column_length, local_today, utcnow, zone
from fieldsvc.errors import InvalidInput
from fieldsvc.extensions import db
from tests import factories as f


def _form_accepts(app: Flask, form_class: type, name: str, value: object) -> bool:
    with app.test_request_context():
        form = form_class(formdata=MultiDict({name: str(value)}), meta={"csrf": False})
        return form[name].validate(form)


def _service_accepts(call) -> bool:
    try:
        call()
    except InvalidInput:
        db.session.rollback()
        return False
    db.session.rollback()
    return True


@pytest.mark.parametrize(("length", "ok"), [(MAX_REVOKE_REASON, True), (MAX_REVOKE_REASON + 1, False)])
def test_a_revoke_reason_fits_its_column_in_form_and_service(app_ctx: Flask, length: int, ok: bool) -> None:
    assert MAX_REVOKE_REASON == column_length(Certification.revoked_reason)
    installer, admin = f.make_user(team=f.make_team()), f.make_user(Role.ADMIN)
    certificate = f.make_certification(installer, "ftth")
    assert _service_accepts(lambda: revoke_certification(certificate, admin, "假" * length, utcnow())) is ok
    assert _form_accepts(app_ctx, RevokeForm, "reason", "假" * length) is ok


@pytest.mark.parametrize(("length", "ok"), [(MAX_EVIDENCE, True), (MAX_EVIDENCE + 1, False)])
def test_certificate_evidence_has_one_length_in_form_api_and_service(app_ctx: Flask, length: int, ok: bool) -> None:
    installer = f.make_user(team=f.make_team())
    today = local_today(zone())
    assert _service_accepts(lambda: record_certification(installer, "ftth", today, evidence="证" * length, today=today)) is ok
    assert _form_accepts(app_ctx, RecordForm, "evidence", "证" * length) is ok
    errors = NewCertificationSchema().validate({"type": "ftth", "issued_on": today.isoformat(), "evidence": "证" * length})
    assert ("evidence" not in errors) is ok


@pytest.mark.parametrize(("score", "ok"), [(SCORE_RANGE[0], True), (SCORE_RANGE[1], True),
                                           (SCORE_RANGE[0] - 1, False), (SCORE_RANGE[1] + 1, False)])
def test_a_training_score_has_one_range_in_form_and_service(app_ctx: Flask, score: int, ok: bool) -> None:
    installer, admin = f.make_user(team=f.make_team()), f.make_user(Role.ADMIN)
    course = TrainingCourse(code="SAF-01", name_zh="安全生产", name_en="Safety", hours=8, pass_mark=60)
    start = utcnow() + timedelta(days=1)
    session = TrainingSession(course=course, starts_at=start, ends_at=start + timedelta(hours=8), place="洪山",
                              trainer="李老师", capacity=5)
    db.session.add(session)
    db.session.flush()
    record = enrol(session.id, installer, admin, utcnow())
    session.starts_at = utcnow() - timedelta(days=1)  # it took place
    db.session.flush()
    assert _service_accepts(lambda: record_result(record, admin, True, score, local_today(zone()), zone())) is ok
    assert _form_accepts(app_ctx, ResultForm, "score", score) is ok
