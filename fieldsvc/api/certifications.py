"""An installer's certificates in /api/v1: read them (the installer, their supervisors, admins)
and record a new one (admins); expiry and review dates come from the certificate's type."""
from __future__ import annotations

from datetime import date
from typing import Any

import marshmallow as ma
from flask import abort
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..auth.models import Role, User
from ..auth.scope import may_see
from ..certifications.models import (
    Certification,
    CertificationStatus,
    CertificationType,
)
from ..certifications.services import (
    MAX_EVIDENCE,
    certification_status,
    record_certification,
)
from ..db import column_length, local_today, zone
from ..extensions import db
from . import api_blueprint, current_api_user
from .schemas import ACCEPTED_YEARS, accepted_day

# "certifications" is the name of the HTML pages' blueprint; Flask names must be unique per app.
blp = api_blueprint("installer-certifications", __name__, "Installers' certificates: read and record")


class CertificationSchema(ma.Schema):
    """One certificate with its status on the operator's today."""

    id = ma.fields.Integer()
    type = ma.fields.String(metadata={"description": "certification type code"})
    name_zh = ma.fields.String(metadata={"description": "the type's Chinese name"})
    name_en = ma.fields.String(metadata={"description": "the type's English name"})
    level = ma.fields.Integer(allow_none=True)
    number = ma.fields.String(allow_none=True, metadata={"description": "certificate number"})
    issued_on = ma.fields.Date()
    expires_on = ma.fields.Date(metadata={"description": "valid through this day inclusive"})
    next_review_on = ma.fields.Date(allow_none=True)
    status = ma.fields.String(validate=ma.validate.OneOf([s.value for s in CertificationStatus]),
                              metadata={"description": "derived from the dates in the operator's time zone"})
    revoked_reason = ma.fields.String(allow_none=True)
    training_record_id = ma.fields.Integer(allow_none=True, metadata={"description": "the passed training that granted it"})


class NewCertificationSchema(ma.Schema):
    type = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=column_length(CertificationType.code)),
                            metadata={"description": "certification type code"})
    issued_on = ma.fields.Date(required=True, validate=accepted_day, metadata={"description": "not in the future", "pattern": ACCEPTED_YEARS})
    level = ma.fields.Integer(load_default=None, allow_none=True, strict=True,
                              metadata={"description": "within the type's levels; omit for types without levels"})
    number = ma.fields.String(load_default=None, allow_none=True,
                              validate=ma.validate.Length(max=column_length(Certification.number)))
    evidence = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=MAX_EVIDENCE))


def _installer(username: str) -> User:
    """The installer `username`, or 404."""
    installer = db.session.scalar(select(User).where(User.username == username, User.role == Role.INSTALLER))
    if installer is None:
        abort(404, description=f"No installer {username} whose certificates you may see.")
    return installer


def _dump(certification: Certification, today: date) -> dict[str, Any]:
    certification_type = certification.certification_type
    return {
        "id": certification.id,
        "type": certification_type.code,
        "name_zh": certification_type.name_zh,
        "name_en": certification_type.name_en,
        "level": certification.level,
        "number": certification.number,
        "issued_on": certification.issued_on,
        "expires_on": certification.expires_on,
        "next_review_on": certification.next_review_on,
        "status": certification_status(certification, today, certification_type.renewal_window_days).value,
        "revoked_reason": certification.revoked_reason,
        "training_record_id": certification.training_record_id,
    }


@blp.route("/installers/<username>/certifications")
@blp.response(200, CertificationSchema(many=True))
@blp.problems(404)
def list_certifications(username: str) -> list[dict[str, Any]]:
    """The installer's certificates, renewals and revoked ones included, newest first (404 when
    the installer does not exist or is not the caller's to see)."""
    installer = _installer(username)
    if not may_see(current_api_user(), installer):
        abort(404, description=f"No installer {username} whose certificates you may see.")
    today = local_today(zone())
    certifications = db.session.scalars(
        select(Certification).where(Certification.user_id == installer.id)
        .options(joinedload(Certification.certification_type))
        .order_by(Certification.issued_on.desc(), Certification.id.desc())
    )
    return [_dump(certification, today) for certification in certifications]


@blp.route("/installers/<username>/certifications", methods=["POST"])
@blp.arguments(NewCertificationSchema)
@blp.response(201, CertificationSchema)
@blp.problems(403, 404)
def create_certification(payload: dict[str, Any], username: str) -> dict[str, Any]:
    """Record a certificate (admin); a renewal is simply a newer one. 400 for an unknown type, a
    level outside the type's range or an issue date in the future."""
    if current_api_user().role is not Role.ADMIN:
        abort(403, description="Only admins record certificates.")
    installer = _installer(username)
    today = local_today(zone())
    certification = record_certification(
        installer, payload["type"], payload["issued_on"], level=payload["level"], number=payload["number"],
        evidence=payload["evidence"], today=today,
    )
    db.session.commit()
    return _dump(certification, today)
