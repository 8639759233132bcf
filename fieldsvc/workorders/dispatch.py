"""Who may be given a work order: active installer, a team serving the district, and a usable
certificate (at the required level) for every type the job type requires, plus work at height
when the order is flagged."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select

from ..auth.models import Role, User
from ..auth.scope import teams_serving
from ..certifications.models import (
    Certification,
    CertificationStatus,
    CertificationType,
    JobTypeRequirement,
)
from ..certifications.services import certification_status, is_usable, meets_level
from ..extensions import db
from ..workforce.models import District
from .models import WorkOrder


@dataclass
class Eligibility:
    """The verdict for one installer and one order: `unmet` lists every requirement not met."""

    installer: User | None
    unmet: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.unmet


def required_types(order: WorkOrder) -> list[tuple[CertificationType, int | None]]:
    """(certification type, minimum level) pairs the order needs."""
    rows = db.session.execute(
        select(CertificationType, JobTypeRequirement.min_level)
        .join(JobTypeRequirement, JobTypeRequirement.certification_type_id == CertificationType.id)
        .where(JobTypeRequirement.job_type_id == order.job_type_id)
        .order_by(CertificationType.code)
    ).all()
    needed = [(cert_type, min_level) for cert_type, min_level in rows]
    if order.is_work_at_height and not any(t.is_work_at_height for t, _ in needed):
        needed.extend((t, None) for t in db.session.scalars(
            select(CertificationType).where(CertificationType.is_work_at_height.is_(True)).order_by(CertificationType.code)
        ))
    return needed


# When no certificate meets a requirement, the one reported is the closest miss.
_MISS_ORDER = {"level": 0, "review_due": 1, "expired": 2, "revoked": 3}


def _certificate_verdicts(
    user_ids: list[int], needed: list[tuple[CertificationType, int | None]], today: date
) -> dict[tuple[int, int], tuple[str, date | None] | None]:
    """{(user id, type id): None when met, else (reason, the date behind it)} in one query."""
    types = {t.id: (t, min_level) for t, min_level in needed}
    verdicts: dict[tuple[int, int], tuple[str, date | None] | None] = {
        (u, t): ("missing", None) for u in user_ids for t in types}
    if not user_ids or not types:
        return verdicts
    # Plain rows, not ORM objects: for a whole branch that is thousands of certificates.
    certificates = db.session.execute(
        select(Certification.user_id, Certification.certification_type_id, Certification.level,
               Certification.expires_on, Certification.next_review_on, Certification.revoked_at)
        .where(Certification.user_id.in_(user_ids), Certification.certification_type_id.in_(list(types)))
    )
    for certificate in certificates:
        key = (certificate.user_id, certificate.certification_type_id)
        current = verdicts[key]
        if current is None:
            continue
        cert_type, min_level = types[certificate.certification_type_id]
        status = certification_status(certificate, today, cert_type.renewal_window_days)
        verdict: tuple[str, date | None] | None
        if is_usable(status):
            verdict = None if meets_level(cert_type, certificate.level, min_level) else ("level", None)
        elif status is CertificationStatus.EXPIRED:
            verdict = ("expired", certificate.expires_on)
        elif status is CertificationStatus.REVIEW_DUE:
            verdict = ("review_due", certificate.next_review_on)
        else:
            verdict = ("revoked", None)
        if verdict is None or current[0] == "missing" or _MISS_ORDER[verdict[0]] < _MISS_ORDER[current[0]] or (
                verdict[0] == current[0] and (verdict[1] or date.min) > (current[1] or date.min)):
            verdicts[key] = verdict
    return verdicts


def check_eligibility(order: WorkOrder, installers: list[User], today: date) -> list[Eligibility]:
    """The verdict for each installer, in the order given, computed with a constant number of queries."""
    needed = required_types(order)
    served_team_ids = set(db.session.scalars(teams_serving(order.district_id)))
    district_code = db.session.scalar(select(District.code).where(District.id == order.district_id))
    verdicts = _certificate_verdicts([u.id for u in installers], needed, today)
    results = []
    for installer in installers:
        unmet: list[dict[str, Any]] = []
        if installer.role is not Role.INSTALLER:
            unmet.append({"installer": installer.username, "reason": "not_installer"})
        elif not installer.is_active:
            unmet.append({"installer": installer.username, "reason": "inactive"})
        if installer.team_id not in served_team_ids:
            unmet.append({"district": district_code, "reason": "not_served"})
        for cert_type, _min_level in needed:
            verdict = verdicts[(installer.id, cert_type.id)]
            if verdict is not None:
                item: dict[str, Any] = {"certification_type": cert_type.code, "reason": verdict[0]}
                if verdict[1] is not None:
                    item["since"] = verdict[1].isoformat()
                unmet.append(item)
        results.append(Eligibility(installer, unmet))
    return results




def describe_unmet(unmet: list[dict[str, Any]]) -> list[str]:
    """Each unmet requirement as a sentence in the user's language, e.g. "Work at height: expired
    on 2026-10-02"."""
    return describe_each([unmet])[0]


def describe_each(unmet_lists: list[list[dict[str, Any]]]) -> list[list[str]]:
    """`describe_unmet` for many installers at once (two queries for all of them)."""
    from flask_babel import get_locale
    from flask_babel import gettext as _

    locale = str(get_locale())
    items = [item for unmet in unmet_lists for item in unmet]
    codes = {item["certification_type"] for item in items if "certification_type" in item}
    names = {t.code: t.name(locale) for t in db.session.scalars(
        select(CertificationType).where(CertificationType.code.in_(codes)))} if codes else {}
    district_codes = {item["district"] for item in items if "district" in item}
    districts = {d.code: d.name(locale) for d in db.session.scalars(
        select(District).where(District.code.in_(district_codes)))} if district_codes else {}

    def sentence(item: dict[str, Any]) -> str:
        reason, since = item.get("reason"), item.get("since", "")
        if "certification_type" in item:
            name = names.get(item["certification_type"], item["certification_type"])
            return {
                "missing": _("%(name)s: no certificate", name=name),
                "expired": _("%(name)s: expired on %(date)s", name=name, date=since),
                "review_due": _("%(name)s: review was due on %(date)s", name=name, date=since),
                "revoked": _("%(name)s: revoked", name=name),
                "level": _("%(name)s: level too low", name=name),
            }.get(reason, f"{name}: {reason}")
        if "district" in item:
            return _("their team does not serve %(district)s", district=districts.get(item["district"], item["district"]))
        return {
            "unknown": _("%(username)s is not a user", username=item.get("installer")),
            "inactive": _("%(username)s is inactive", username=item.get("installer")),
            "not_installer": _("%(username)s is not an installer", username=item.get("installer")),
            "not_your_team": _("%(username)s is not in your teams", username=item.get("installer")),
        }.get(reason, str(item))

    return [[sentence(item) for item in unmet] for unmet in unmet_lists]
