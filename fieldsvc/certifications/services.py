"""Certificate dates and status, derived in the operator's time zone. Services flush; callers commit."""
from __future__ import annotations

import calendar
from datetime import date, timedelta

from .models import Certification, CertificationStatus, CertificationType


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
