"""Certificate dates and status, derived in the operator's time zone. Services flush; callers commit."""
from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, case, select, true

from ..auth.models import Role
from ..db import column_length
from ..errors import Conflict, InvalidInput
from ..extensions import db
from .models import Certification, CertificationStatus, CertificationType

# The limits of what an admin types about a certificate; the pages' forms and the API read them here.
MAX_EVIDENCE = 2000
MAX_REVOKE_REASON = column_length(Certification.revoked_reason)
LEVELS = (0, 20)  # the levels a certification type may have; each type allows its own range within


def add_months(day: date, months: int) -> date:
    """`day` plus whole calendar months, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def certificate_dates(certification_type: CertificationType, issued_on: date) -> tuple[date, date | None]:
    """(expires_on, next_review_on) of a certificate of this type issued on `issued_on`.

    A certificate is valid through its expiry date inclusive, so it expires the day before the
    anniversary (issued 2020-03-01, valid 72 months → valid through 2026-02-28)."""
    expires_on = add_months(issued_on, certification_type.validity_months) - timedelta(days=1)
    review = certification_type.review_months
    next_review_on = add_months(issued_on, review) if review and review < certification_type.validity_months else None
    return expires_on, next_review_on


def certification_status(certification: Certification, today: date, renewal_window_days: int) -> CertificationStatus:
    """Revoked, expired (after its expiry date), review due (on or after its review date),
    expiring (within the renewal window), else valid."""
    if certification.revoked_at is not None:
        return CertificationStatus.REVOKED
    if today > certification.expires_on:
        return CertificationStatus.EXPIRED
    if certification.next_review_on is not None and today >= certification.next_review_on:
        return CertificationStatus.REVIEW_DUE
    if (certification.expires_on - today).days < renewal_window_days:
        return CertificationStatus.EXPIRING
    return CertificationStatus.VALID


def unusable_status(today: date) -> ColumnElement[str | None]:
    """`certification_status` in SQL, as far as using the certificate goes: the status value of a
    certificate that cannot be used (revoked, expired, review due), NULL for one that can (valid or
    expiring). For checks over many installers at once (dispatch); tests/certifications holds it
    to `certification_status` certificate by certificate."""
    return case(
        (Certification.revoked_at.is_not(None), CertificationStatus.REVOKED.value),
        (Certification.expires_on < today, CertificationStatus.EXPIRED.value),
        (Certification.next_review_on <= today, CertificationStatus.REVIEW_DUE.value),
    )


def is_usable(status: CertificationStatus) -> bool:
    """Whether a certificate in this status lets its holder do the work it covers."""
    return status in (CertificationStatus.VALID, CertificationStatus.EXPIRING)


def meets_level(certification_type: CertificationType, level: int | None, min_level: int | None) -> bool:
    """Whether `level` reaches `min_level` (for descending types, like skill 5 → 1, lower is better)."""
    if min_level is None:
        return True
    if level is None:
        return False
    return level <= min_level if certification_type.is_level_descending else level >= min_level


def reaches_level(certification_type: CertificationType, min_level: int | None) -> ColumnElement[bool]:
    """`meets_level` in SQL, for the certificates of `certification_type` (a certificate without a
    level reaches no minimum: the comparison is NULL, not true)."""
    if min_level is None:
        return true()
    if certification_type.is_level_descending:
        return Certification.level <= min_level
    return Certification.level >= min_level


# --- recording, renewing, revoking ------------------------------------------------------------

def _type_by_code(code: str) -> CertificationType:
    certification_type = db.session.scalar(select(CertificationType).where(
        CertificationType.code == code, CertificationType.is_active.is_(True)))
    if certification_type is None:
        raise InvalidInput(_l("Unknown certification type."), errors={"type": [_l("Unknown certification type.")]})
    return certification_type


def _check_level(certification_type: CertificationType, level: int | None) -> None:
    if certification_type.min_level is None:
        if level is not None:
            raise InvalidInput(_l("This certification has no levels."), errors={"level": [_l("This certification has no levels.")]})
        return
    low, high = certification_type.min_level, certification_type.max_level or certification_type.min_level
    if level is None or not low <= level <= high:
        raise InvalidInput(_l("The level must be from %(low)d to %(high)d.", low=low, high=high),
                           errors={"level": [_l("The level must be from %(low)d to %(high)d.", low=low, high=high)]})


def record_certification(installer: Any, type_code: str, issued_on: date, *, level: int | None = None,
                         number: str | None = None, evidence: str | None = None,
                         training_record_id: int | None = None, today: date | None = None) -> Certification:
    """Record a certificate (a renewal is simply a newer one: history stays); expiry and review are
    computed from the type."""
    if installer.role is not Role.INSTALLER:
        raise InvalidInput(_l("Only installers hold certificates."), errors={"username": [_l("Not an installer.")]})
    certification_type = _type_by_code(type_code)
    _check_level(certification_type, level)
    if today is not None and issued_on > today:
        raise InvalidInput(_l("A certificate cannot be issued in the future."),
                           errors={"issued_on": [_l("A certificate cannot be issued in the future.")]})
    evidence = (evidence or "").strip() or None
    if evidence and len(evidence) > MAX_EVIDENCE:
        raise InvalidInput(_l("The evidence has at most %(n)d characters.", n=MAX_EVIDENCE),
                           errors={"evidence": [_l("Too long.")]})
    expires_on, next_review_on = certificate_dates(certification_type, issued_on)
    certification = Certification(
        user_id=installer.id, certification_type=certification_type, level=level,
        number=(number or "").strip() or None, evidence=evidence,
        issued_on=issued_on, expires_on=expires_on, next_review_on=next_review_on,
        training_record_id=training_record_id,
    )
    db.session.add(certification)
    db.session.flush()
    return certification


def revoke_certification(certification: Certification, actor: Any, reason: str, now: Any) -> None:
    """Revoke a certificate with a reason (it stays in the history, marked revoked)."""
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REVOKE_REASON:
        raise InvalidInput(_l("Say why the certificate is revoked (at most %(n)d characters).", n=MAX_REVOKE_REASON),
                           errors={"reason": [_l("Required.")]})
    if certification.revoked_at is not None:
        raise Conflict(_l("This certificate is already revoked."))
    certification.revoked_at, certification.revoked_reason, certification.revoked_by_id = now, reason, actor.id
    db.session.flush()


def current_certifications(user_ids: Any, today: date) -> dict[tuple[int, int], tuple[Certification, CertificationStatus]]:
    """For each (installer, type): the certificate that counts (the best usable one, else the
    latest) and its status. One query for any number of installers."""
    best: dict[tuple[int, int], tuple[Certification, CertificationStatus]] = {}
    rank = {CertificationStatus.VALID: 0, CertificationStatus.EXPIRING: 1, CertificationStatus.REVIEW_DUE: 2,
            CertificationStatus.EXPIRED: 3, CertificationStatus.REVOKED: 4}
    # The few types are loaded once; each certificate then finds its type in the session's identity
    # map instead of joining it in again for every row.
    windows = {t.id: t.renewal_window_days for t in db.session.scalars(select(CertificationType))}
    rows = db.session.scalars(
        select(Certification).where(Certification.user_id.in_(user_ids)).order_by(Certification.issued_on)
    )
    for certification in rows:
        status = certification_status(certification, today, windows[certification.certification_type_id])
        key = (certification.user_id, certification.certification_type_id)
        held = best.get(key)
        if held is None or rank[status] < rank[held[1]] or (rank[status] == rank[held[1]]
                                                           and certification.expires_on >= held[0].expires_on):
            best[key] = (certification, status)
    return best
