"""Who may be given a work order: active installer, a team serving the district, and a usable
certificate (at the required level) for every type the job type requires, plus work at height
when the order is flagged."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select

from ..auth.models import Role, User
from ..certifications.models import Certification, CertificationStatus, CertificationType
from ..certifications.services import certification_status, is_usable, meets_level
from ..extensions import db
from ..workforce.models import District, Team, team_districts
from .models import JobTypeRequirement, WorkOrder


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
) -> dict[tuple[int, int], str | None]:
    """{(user id, type id): None when met, else the reason} with one query for all users and types."""
    types = {t.id: (t, min_level) for t, min_level in needed}
    verdicts: dict[tuple[int, int], str | None] = {(u, t): "missing" for u in user_ids for t in types}
    if not user_ids or not types:
        return verdicts
    certificates = db.session.scalars(
        select(Certification).where(
            Certification.user_id.in_(user_ids), Certification.certification_type_id.in_(list(types))
        )
    )
    for certificate in certificates:
        key = (certificate.user_id, certificate.certification_type_id)
        if verdicts[key] is None:
            continue
        cert_type, min_level = types[certificate.certification_type_id]
        status = certification_status(certificate, today, cert_type.renewal_window_days)
        if is_usable(status):
            reason = None if meets_level(cert_type, certificate.level, min_level) else "level"
        else:
            reason = {CertificationStatus.EXPIRED: "expired", CertificationStatus.REVIEW_DUE: "review_due",
                      CertificationStatus.REVOKED: "revoked"}[status]
        current = verdicts[key]
        if reason is None or current == "missing" or _MISS_ORDER[reason] < _MISS_ORDER[current]:  # type: ignore[index]
            verdicts[key] = reason
    return verdicts


def check_eligibility(order: WorkOrder, installers: list[User], today: date) -> list[Eligibility]:
    """The verdict for each installer, in the order given, computed with a constant number of queries."""
    needed = required_types(order)
    served_team_ids = set(db.session.scalars(
        select(team_districts.c.team_id).where(team_districts.c.district_id == order.district_id)
    ))
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
            reason = verdicts[(installer.id, cert_type.id)]
            if reason is not None:
                unmet.append({"certification_type": cert_type.code, "reason": reason})
        results.append(Eligibility(installer, unmet))
    return results


def supervised_team_ids(user: User) -> set[int]:
    """The teams a supervisor runs (every team for an admin is expressed by callers, not here)."""
    return {team.id for team in user.supervised_teams}


__all__ = ["Eligibility", "Team", "check_eligibility", "required_types", "supervised_team_ids"]
