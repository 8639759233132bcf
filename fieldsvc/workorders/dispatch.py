"""Who may be given a work order: active installer, a team serving the district, and a usable
certificate (at the required level) for every type the job type requires, plus work at height
when the order is flagged."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select

from ..auth.models import Role, User
from ..auth.scope import teams_serving
from ..certifications.models import Certification, CertificationStatus, CertificationType, JobTypeRequirement
from ..certifications.services import reaches_level, unusable_status
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


# When no certificate meets a requirement, the one reported is the closest miss (and of two alike,
# the one with the later date): the reasons by rank, the closest first; 0 is met.
_MISSES = {1: "level", 2: "review_due", 3: "expired", 4: "revoked", 5: "missing"}
_RANKS = {CertificationStatus.REVIEW_DUE.value: 2, CertificationStatus.EXPIRED.value: 3,
          CertificationStatus.REVOKED.value: 4}


def _certificate_verdicts(
    installer_ids: Select[tuple[int]] | list[int], needed: list[tuple[CertificationType, int | None]], today: date
) -> dict[tuple[int, int], tuple[str, date | None]]:
    """{(user id, type id): (reason, the date behind it)} for every requirement of `needed` that an
    installer of `installer_ids` (a subquery or a list) does not meet; a requirement met is absent.
    One query, deciding in the database: for the pool of an order that is a thousand installers
    with thousands of certificates, of which only the few dozen misses come back."""
    if not needed:
        return {}
    meets = or_(*(and_(Certification.certification_type_id == cert_type.id, reaches_level(cert_type, min_level))
                  for cert_type, min_level in needed))
    rank = case((Certification.id.is_(None), 5),
                else_=case(_RANKS, value=unusable_status(today), else_=case((meets, 0), else_=1)))
    # Every (installer, required type), with each of their certificates of that type, if any.
    held = (
        select(User.id.label("user_id"), CertificationType.id.label("type_id"), rank.label("rank"),
               Certification.expires_on, Certification.next_review_on)
        .select_from(User).join(CertificationType, CertificationType.id.in_([cert_type.id for cert_type, _ in needed]))
        .outerjoin(Certification, and_(Certification.user_id == User.id,
                                       Certification.certification_type_id == CertificationType.id))
        .where(User.id.in_(installer_ids))
        .subquery()
    )
    rows = db.session.execute(
        select(held.c.user_id, held.c.type_id, func.min(held.c.rank),
               func.max(case((held.c.rank == 2, held.c.next_review_on))),
               func.max(case((held.c.rank == 3, held.c.expires_on))))
        .group_by(held.c.user_id, held.c.type_id).having(func.min(held.c.rank) > 0)
    )
    return {(user_id, type_id): (_MISSES[rank], review_due if rank == 2 else expired if rank == 3 else None)
            for user_id, type_id, rank, review_due, expired in rows}


def check_eligibility(order: WorkOrder, installers: list[User], today: date,
                      among: Select[tuple[int]] | None = None) -> list[Eligibility]:
    """The verdict for each installer, in the order given, computed with a constant number of
    queries; `among`, a subquery of ids including every installer given, saves sending a thousand
    ids to the database."""
    needed = required_types(order)
    served_team_ids = set(db.session.scalars(teams_serving(order.district_id)))
    district_code = db.session.scalar(select(District.code).where(District.id == order.district_id))
    verdicts = _certificate_verdicts([u.id for u in installers] if among is None else among, needed, today)
    lacking = {user_id for user_id, _type_id in verdicts}
    results = []
    for installer in installers:
        unmet: list[dict[str, Any]] = []
        if installer.role is not Role.INSTALLER:
            unmet.append({"installer": installer.username, "reason": "not_installer"})
        elif not installer.is_active:
            unmet.append({"installer": installer.username, "reason": "inactive"})
        if installer.team_id not in served_team_ids:
            unmet.append({"district": district_code, "reason": "not_served"})
        for cert_type, _min_level in needed if installer.id in lacking else ():
            verdict = verdicts.get((installer.id, cert_type.id))
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
