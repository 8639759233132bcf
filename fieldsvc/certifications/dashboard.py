"""The certification dashboard's read side: who holds what (a matrix), who may do which job types,
each team's full-certification figure, and what expires or falls due for review soon. A handful
of queries for any number of installers."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..auth.models import User
from ..auth.scope import managed_installers, teams_serving
from ..extensions import db
from ..workforce.models import District, JobType, Team
from .models import Certification, CertificationStatus, CertificationType
from .services import current_certifications, is_usable, meets_level

SYMBOLS = {  # colour is never the only sign
    CertificationStatus.VALID: "✔",
    CertificationStatus.EXPIRING: "◔",
    CertificationStatus.REVIEW_DUE: "⟳",
    CertificationStatus.EXPIRED: "✘",
    CertificationStatus.REVOKED: "⊘",
    None: "—",
}


@dataclass
class Row:
    """One installer: their current certificate of each type, and the job types they may not do."""

    installer: User
    cells: dict[int, tuple[Certification | None, CertificationStatus | None]]
    blocked: dict[str, list[str]] = field(default_factory=dict)  # job type code → type codes lacking

    @property
    def fully_certified(self) -> bool:
        return not self.blocked


@dataclass
class Due:
    """A certificate whose expiry or review falls within the horizon."""

    installer: User
    certification: Certification
    kind: str  # "expiry" or "review"
    on: date
    days: int


@dataclass
class Dashboard:
    types: list[CertificationType]
    rows: list[Row]
    job_types: list[JobType]
    team_figures: list[tuple[Team, int, int]]  # team, fully certified, installers
    due: list[Due]
    all_types: list[CertificationType] = field(default_factory=list)  # active ones, the filter aside

    def type_name(self, code: str, locale: str) -> str:
        """A certification type's name from its code (for the job types an installer is blocked from)."""
        return next((t.name(locale) for t in self.all_types if t.code == code), code)

    def job_type_name(self, code: str, locale: str) -> str:
        """A job type's name from its code."""
        return next((j.name(locale) for j in self.job_types if j.code == code), code)


def installers_in_scope(user: User, team_code: str = "", district_code: str = "") -> list[User]:
    """Active installers a supervisor runs (an admin: all), narrowed by team and district."""
    query = managed_installers(user).options(joinedload(User.team))
    if team_code:
        query = query.where(User.team_id == select(Team.id).where(Team.code == team_code).scalar_subquery())
    if district_code:
        query = query.where(User.team_id.in_(teams_serving(
            select(District.id).where(District.code == district_code).scalar_subquery())))
    return list(db.session.scalars(query))


def build(user: User, today: date, *, team_code: str = "", district_code: str = "", type_code: str = "",
          horizon_days: int = 90) -> Dashboard:
    """Everything the dashboard shows, for the installers the user may see."""
    installers = installers_in_scope(user, team_code, district_code)
    all_types = list(db.session.scalars(select(CertificationType).where(CertificationType.is_active.is_(True))
                                        .order_by(CertificationType.category, CertificationType.id)))
    types = [t for t in all_types if not type_code or t.code == type_code]
    current = current_certifications([u.id for u in installers], today) if installers else {}
    job_types = list(db.session.scalars(select(JobType).where(JobType.is_active.is_(True))
                                        .options(joinedload(JobType.requirements)).order_by(JobType.id)).unique())
    rows = []
    for installer in installers:
        cells = {t.id: current.get((installer.id, t.id), (None, None)) for t in all_types}
        _may, blocked = job_type_access(cells, all_types, job_types)
        rows.append(Row(installer, cells, {job_type.code: [t.code for t in lacking] for job_type, lacking in blocked}))
    teams: dict[int, list[Row]] = {}
    for row in rows:
        if row.installer.team_id is not None:
            teams.setdefault(row.installer.team_id, []).append(row)
    team_objects = {t.id: t for t in db.session.scalars(select(Team).where(Team.id.in_(list(teams))))} if teams else {}
    figures = [(team_objects[team_id], sum(r.fully_certified for r in members), len(members))
               for team_id, members in sorted(teams.items(), key=lambda item: team_objects[item[0]].code)]
    return Dashboard(types, rows, job_types, figures, _due(rows, types, today, horizon_days), all_types)


def job_type_access(cells: dict[int, tuple[Certification | None, CertificationStatus | None]],
                    types: list[CertificationType], job_types: list[JobType] | None = None,
                    ) -> tuple[list[tuple[JobType, list[CertificationType]]], list[tuple[JobType, list[CertificationType]]]]:
    """Split the job types into those one installer may do and those they may not, with the
    certification types they lack (the same rule as assignment, without work at height)."""
    if job_types is None:
        job_types = list(db.session.scalars(select(JobType).where(JobType.is_active.is_(True))
                                            .options(joinedload(JobType.requirements)).order_by(JobType.id)).unique())
    by_id = {t.id: t for t in types}
    may, blocked = [], []
    for job_type in job_types:
        lacking = [by_id[r.certification_type_id] for r in job_type.requirements
                   if r.certification_type_id in by_id
                   and not _meets(cells[r.certification_type_id], by_id[r.certification_type_id], r.min_level)]
        (blocked if lacking else may).append((job_type, lacking))
    return may, blocked


def _meets(cell: tuple[Certification | None, CertificationStatus | None], certification_type: CertificationType,
           min_level: int | None) -> bool:
    certification, status = cell
    return certification is not None and status is not None and is_usable(status) and \
        meets_level(certification_type, certification.level, min_level)


def _due(rows: list[Row], types: list[CertificationType], today: date, horizon_days: int) -> list[Due]:
    horizon = today + timedelta(days=horizon_days)
    found = []
    wanted = {t.id for t in types}
    for row in rows:
        for type_id, (certification, status) in row.cells.items():
            if certification is None or type_id not in wanted or status is CertificationStatus.REVOKED:
                continue
            if certification.next_review_on and certification.next_review_on <= horizon \
                    and certification.next_review_on < certification.expires_on:
                found.append(Due(row.installer, certification, "review", certification.next_review_on,
                                 (certification.next_review_on - today).days))
            elif certification.expires_on <= horizon:
                found.append(Due(row.installer, certification, "expiry", certification.expires_on,
                                 (certification.expires_on - today).days))
    return sorted(found, key=lambda d: (d.on, d.installer.username))


def export_rows(dashboard: Dashboard, locale: str) -> tuple[list[str], list[list[Any]]]:
    """The matrix as a table for CSV and Excel: one row per installer and certification type."""
    from flask_babel import gettext as _

    header = [_("Employee number"), _("Installer"), _("Team"), _("Certification"), _("Status"), _("Level"),
              _("Certificate number"), _("Issued on"), _("Expires on"), _("Next review"), _("Blocked job types")]
    rows = []
    names = status_names()
    for row in dashboard.rows:
        blocked = ", ".join(sorted(row.blocked))
        for certification_type in dashboard.types:
            certification, status = row.cells[certification_type.id]
            rows.append([
                row.installer.username, row.installer.display_name(locale),
                row.installer.team.code if row.installer.team else "", certification_type.name(locale),
                names[status], certification.level if certification else "",
                certification.number or "" if certification else "",
                certification.issued_on if certification else "", certification.expires_on if certification else "",
                certification.next_review_on or "" if certification else "", blocked,
            ])
    return header, rows


def status_names() -> dict[CertificationStatus | None, str]:
    """Every status in the reader's language (None: no certificate), translated once per page."""
    from flask_babel import gettext as _

    return {
        CertificationStatus.VALID: _("valid"), CertificationStatus.EXPIRING: _("expiring"),
        CertificationStatus.REVIEW_DUE: _("review due"), CertificationStatus.EXPIRED: _("expired"),
        CertificationStatus.REVOKED: _("revoked"), None: _("missing"),
    }



def record_label(result: Any) -> str:
    """A training result in the reader's language."""
    from flask_babel import gettext as _

    from .models import TrainingResult

    return {TrainingResult.ENROLLED: _("booked"), TrainingResult.PASSED: _("passed"),
            TrainingResult.FAILED: _("failed"), TrainingResult.ABSENT: _("absent")}[result]
