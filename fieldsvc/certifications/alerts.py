"""Certificate alerts: the daily job that tells installers and their supervisors 30 and 7 days
before a certificate expires or is due for review, and once when it has expired, through the
notifications package's senders; and the wording of those notices, registered as their kinds.

Services flush; the edge (CLI command, scheduler wrapper, test) commits."""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Flask
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select

from ..auth.models import Role, User
from ..auth.scope import supervisors_by_team
from ..extensions import db
from ..notifications import kinds
from ..notifications.services import Notice, Sender, deliver
from .models import Certification, CertificationStatus
from .services import current_certifications

log = logging.getLogger(__name__)

THRESHOLDS = (30, 7)  # days before an expiry or review date; each is announced once
# An expired notice goes out when the job first sees the certificate expired; after this many
# days nobody is told any more, so a first run over old records does not flood everyone.
EXPIRED_NOTICE_DAYS = 30

CERT_EXPIRING = "cert_expiring"
CERT_REVIEW_DUE = "cert_review_due"
CERT_EXPIRED = "cert_expired"
NOTICE_KINDS = (CERT_EXPIRING, CERT_REVIEW_DUE, CERT_EXPIRED)


def register_notice_kinds(app: Flask) -> None:
    """Teach `app` to word certificate notices (done when the certifications blueprint is
    registered, so every app the factory builds knows them)."""
    for kind in NOTICE_KINDS:
        kinds.register(app, kind, describe)


@dataclass(frozen=True)
class _Notice:
    """Who is told what, collected before the links are built and it becomes a `Notice`."""

    recipient: User
    kind: str
    data: dict[str, Any]
    dedupe_key: str


def _link(notice: Any) -> str:
    """Where the notice leads: the installer's own certificates, or for a supervisor, that
    installer's certificate page. Built from the URL map, so it works outside a request."""
    from flask import current_app

    adapter = current_app.url_map.bind("localhost")
    username = notice.data.get("username")
    if notice.recipient.username == username:
        return adapter.build("certifications.mine")
    return adapter.build("certifications.installer_page", {"username": username})


def certificate_alerts(today: date, sender: Sender | None = None) -> int:
    """Notify active installers and their teams' supervisors of certificates expiring or due for
    review within 30 and 7 days, and of those that have just expired; returns notices sent."""
    active_installers = select(User.id).where(User.role == Role.INSTALLER, User.is_active.is_(True))
    installers = {user.id: user for user in db.session.scalars(
        select(User).where(User.id.in_(active_installers)))}
    supervisors = supervisors_by_team()
    notices: list[_Notice] = []
    # The certificate that counts for each installer and type: a renewed one hides the old one.
    for (user_id, _type_id), (certification, status) in current_certifications(active_installers, today).items():
        installer = installers.get(user_id)
        if installer is None or status is CertificationStatus.REVOKED:
            continue
        for kind, event, threshold, on in _due(certification, today):
            data = _data(certification, installer, on, (on - today).days, threshold)
            for recipient in (installer, *supervisors.get(installer.team_id, ())):
                notices.append(_Notice(recipient, kind, data,
                                       f"cert:{certification.id}:{event}:{threshold}:{recipient.id}"))
    sent = deliver([Notice(notice.recipient, notice.kind, notice.data, notice.dedupe_key, _link(notice))
                    for notice in notices], sender)
    log.info("certificate alerts for %s: %d notices sent", today.isoformat(), sent)
    return sent


def _due(certification: Certification, today: date) -> Iterable[tuple[str, str, int, date]]:
    """(kind, event, threshold, date) of each notice this certificate calls for today."""
    if today > certification.expires_on:
        if (today - certification.expires_on).days <= EXPIRED_NOTICE_DAYS:
            yield CERT_EXPIRED, "expired", 0, certification.expires_on
        return
    for kind, event, on in ((CERT_EXPIRING, "expiry", certification.expires_on),
                            (CERT_REVIEW_DUE, "review", certification.next_review_on)):
        if on is None or on < today:
            continue
        reached = [threshold for threshold in THRESHOLDS if (on - today).days <= threshold]
        if reached:  # only the tightest one: a first run 5 days before says "7 days", not both
            yield kind, event, min(reached), on


def _data(certification: Certification, installer: User, on: date, days_left: int, threshold: int) -> dict[str, Any]:
    certification_type = certification.certification_type
    return {
        "certification_id": certification.id,
        "type": certification_type.code,
        "type_name_zh": certification_type.name_zh,
        "type_name_en": certification_type.name_en,
        "username": installer.username,
        "name": installer.name,
        "name_en": installer.name_en,
        "date": on.isoformat(),
        "days_left": days_left,
        "threshold": threshold,
    }


def describe(kind: str, data: Mapping[str, Any], reader: User) -> str:
    """A certificate notice worded for `reader` in the current language: "your certificate" to
    the installer, the installer's name to a supervisor (the registered wording of its kinds)."""
    chinese = str(get_locale() or "en").startswith("zh")
    values = {
        "type": data.get("type_name_zh" if chinese else "type_name_en") or data.get("type", ""),
        "date": data.get("date", ""),
        "name": (data.get("name") if chinese else data.get("name_en") or data.get("name")) or "",
        "username": data.get("username", ""),
    }
    days = int(data.get("days_left") or 0)
    own = data.get("username") == reader.username
    if kind == CERT_EXPIRED:
        if own:
            return _("Your certificate “%(type)s” expired on %(date)s. Renew it to keep doing the jobs that need it.",
                     **values)
        return _("%(name)s (%(username)s): the certificate “%(type)s” expired on %(date)s.", **values)
    if kind == CERT_EXPIRING:
        if days <= 0:
            if own:
                return _("Your certificate “%(type)s” expires today (%(date)s): renew it now.", **values)
            return _("%(name)s (%(username)s): the certificate “%(type)s” expires today (%(date)s).", **values)
        if own:
            return ngettext("Your certificate “%(type)s” expires on %(date)s, in %(num)d day.",
                            "Your certificate “%(type)s” expires on %(date)s, in %(num)d days.", days, **values)
        return ngettext("%(name)s (%(username)s): the certificate “%(type)s” expires on %(date)s, in %(num)d day.",
                        "%(name)s (%(username)s): the certificate “%(type)s” expires on %(date)s, in %(num)d days.",
                        days, **values)
    if days <= 0:
        if own:
            return _("Your certificate “%(type)s” is due for review today (%(date)s).", **values)
        return _("%(name)s (%(username)s): the certificate “%(type)s” is due for review today (%(date)s).", **values)
    if own:
        return ngettext("Your certificate “%(type)s” is due for review on %(date)s, in %(num)d day.",
                        "Your certificate “%(type)s” is due for review on %(date)s, in %(num)d days.", days, **values)
    return ngettext("%(name)s (%(username)s): the certificate “%(type)s” is due for review on %(date)s, in %(num)d day.",
                    "%(name)s (%(username)s): the certificate “%(type)s” is due for review on %(date)s, in %(num)d days.",
                    days, **values)
