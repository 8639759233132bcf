"""Admin pages: the branch at a glance (the overview), and the job types' deadline and evidence rules."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import and_, case, delete, func, select
from sqlalchemy.orm import aliased

from ..audit import services as audit
from ..auth.models import Role, User
from ..auth.permissions import role_required
from ..certifications.models import Certification, CertificationCategory, CertificationType, JobTypeRequirement
from ..db import among, local_today, utcnow, zone
from ..errors import DomainError, InvalidInput
from ..extensions import current_locale, db
from ..forms import choices, show_error
from ..metrics.models import JobRun
from ..rules.services import put_rule, setting
from ..workforce.models import District, JobType, Team
from ..workorders.evidence import EVIDENCE_FIELDS
from ..workorders.models import OPEN_STATUSES, WorkOrder
from .forms import CATEGORY_LABELS, CertificationTypeForm, JobTypeForm, RxBandForm

bp = Blueprint("admin", __name__, url_prefix="/admin")

# What the audit log keeps of a job type's and a certification type's edits.
JOB_TYPE_FIELDS = ("name_zh", "name_en", "same_day_cutoff_hour", "deadline_hours", "required_evidence",
                   "photos_required", "is_active")
CERTIFICATION_TYPE_FIELDS = ("code", "name_zh", "name_en", "category", "validity_months", "review_months",
                             "renewal_window_days", "min_level", "max_level", "is_level_descending",
                             "is_work_at_height", "is_active")


@bp.route("/")
@role_required(Role.ADMIN)
def home() -> Any:
    """The branch overview: people by role, active installers per team, open and overdue orders,
    certificates expiring within 30 days, links to each area; the latest job runs."""
    users_by_role = dict(
        db.session.execute(select(User.role, func.count()).where(User.is_active.is_(True)).group_by(User.role)).all()
    )
    now, today = utcnow(), local_today(zone())
    open_orders, overdue = db.session.execute(
        select(func.count(), func.coalesce(func.sum(case((WorkOrder.due_by < now, 1), else_=0)), 0))
        .select_from(WorkOrder).where(among(WorkOrder.status, OPEN_STATUSES))
    ).one()
    counts = {
        "installers": users_by_role.get(Role.INSTALLER, 0),
        "supervisors": users_by_role.get(Role.SUPERVISOR, 0),
        "admins": users_by_role.get(Role.ADMIN, 0),
        "teams": db.session.scalar(select(func.count()).select_from(Team)),
        "districts": db.session.scalar(select(func.count()).select_from(District)),
        "open_orders": open_orders,
        "overdue_orders": overdue,
        "expiring_certificates": expiring_certificates(today, EXPIRY_HORIZON_DAYS),
    }
    runs = db.session.scalars(select(JobRun).order_by(JobRun.started_at.desc()).limit(10)).all()
    return render_template("admin/home.html", counts=counts, runs=runs, per_team=installers_per_team(),
                           horizon=EXPIRY_HORIZON_DAYS)


EXPIRY_HORIZON_DAYS = 30  # one of the certification dashboard's horizons, so the tile links to it filtered


def installers_per_team() -> list[tuple[Team, int]]:
    """Each active team with its count of active installers, in one grouped query (teams with
    none included, so an empty crew shows as 0)."""
    counted = (select(Team, func.count(User.id))
               .outerjoin(User, and_(User.team_id == Team.id, User.is_active.is_(True), User.role == Role.INSTALLER))
               .where(Team.is_active.is_(True)).group_by(Team.id).order_by(Team.code))
    return [(team, count) for team, count in db.session.execute(counted).all()]


def expiring_certificates(today: date, days: int) -> int:
    """How many certificates of active users expire within `days` from `today` (not yet expired,
    not revoked) and have not been renewed: a renewal is a new row, so a certificate counts only
    when its holder has no later-expiring unrevoked one of the same type."""
    later = aliased(Certification)
    renewed = (select(later.id).where(later.user_id == Certification.user_id,
                                      later.certification_type_id == Certification.certification_type_id,
                                      later.revoked_at.is_(None), later.expires_on > Certification.expires_on)
               .exists())
    return db.session.scalar(
        select(func.count()).select_from(Certification).join(User, User.id == Certification.user_id)
        .where(User.is_active.is_(True), Certification.revoked_at.is_(None),
               Certification.expires_on >= today, Certification.expires_on <= today + timedelta(days=days), ~renewed)
    ) or 0


@bp.route("/scheduler")
@role_required(Role.ADMIN)
def scheduler_health() -> Any:
    """Scheduler health: each job's last run, its duration, failures, and a warning when it is late."""
    from ..scheduler.health import job_health

    now = utcnow()
    return render_template("admin/scheduler.html", jobs=job_health(now, zone()), now=now)


@bp.route("/job-types")
@role_required(Role.ADMIN)
def job_types() -> Any:
    """Job types with their deadline rule and completion evidence; the accepted optical band."""
    rows = db.session.scalars(select(JobType).order_by(JobType.id)).all()
    today = local_today(zone())
    low, high = setting("rx_power_band_dbm", today)
    band_form = RxBandForm(formdata=None, low=low, high=high)
    return render_template("admin/job_types.html", job_types=rows, band_form=band_form,
                           evidence_labels=EVIDENCE_FIELDS)


@bp.route("/job-types/<code>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def edit_job_type(code: str) -> Any:
    """Change a job type's deadline rule and what completing it requires."""
    job_type = db.session.scalar(select(JobType).where(JobType.code == code))
    if job_type is None:
        abort(404)
    form = JobTypeForm(obj=job_type)
    if form.validate_on_submit():
        before = audit.fields(job_type, JOB_TYPE_FIELDS)
        form.populate_obj(job_type)
        audit.record(current_user, "job_type.edit", "job_type", job_type.code, before, audit.fields(job_type, before))
        db.session.commit()
        flash(_("Saved."), "success")
        return redirect(url_for("admin.job_types"))
    return render_template("admin/job_type_form.html", form=form, job_type=job_type), 400 if form.errors else 200


@bp.route("/rx-band", methods=["POST"])
@role_required(Role.ADMIN)
def rx_band() -> Any:
    """Put a new accepted optical receive band in force from today (earlier completions keep theirs)."""
    form = RxBandForm()
    if not form.validate_on_submit():
        rows = db.session.scalars(select(JobType).order_by(JobType.id)).all()
        return render_template("admin/job_types.html", job_types=rows, band_form=form,
                               evidence_labels=EVIDENCE_FIELDS), 400
    today = local_today(zone())
    put_rule("rx_power_band_dbm", [form.low.data, form.high.data], today, current_user, today)
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("admin.job_types"))


@bp.route("/certification-types")
@role_required(Role.ADMIN)
def certification_types() -> Any:
    """Certification types with their validity, review cycle and the job types requiring them."""
    types = db.session.scalars(select(CertificationType).order_by(CertificationType.category, CertificationType.id)).all()
    requirements = db.session.execute(
        select(JobTypeRequirement.certification_type_id, JobType.code, JobTypeRequirement.min_level)
        .join(JobType, JobType.id == JobTypeRequirement.job_type_id).order_by(JobType.id)
    ).all()
    names = {jt.code: jt.name(current_locale()) for jt in db.session.scalars(select(JobType))}
    required_by: dict[int, list[str]] = {}
    for type_id, code, level in requirements:
        name = names.get(code, code)
        required_by.setdefault(type_id, []).append(_("%(job_type)s (level %(n)d)", job_type=name, n=level)
                                                   if level is not None else name)
    return render_template("admin/certification_types.html", types=types, required_by=required_by,
                           category_labels=CATEGORY_LABELS)


@bp.route("/certification-types/new", methods=["GET", "POST"])
@bp.route("/certification-types/<code>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def edit_certification_type(code: str | None = None) -> Any:
    """Create or change a certification type, and which job types require it (at which level)."""
    certification_type = None
    if code is not None:
        certification_type = db.session.scalar(select(CertificationType).where(CertificationType.code == code))
        if certification_type is None:
            abort(404)
    form = CertificationTypeForm(obj=certification_type)
    job_types = list(db.session.scalars(select(JobType).order_by(JobType.id)))
    form.required_by.choices = choices((jt.code, jt.name(current_locale())) for jt in job_types)
    levels: dict[str, str] = {jt.code: request.form.get(f"level-{jt.code}", "") for jt in job_types}
    if request.method == "GET":
        form.required_by.data = []
        if certification_type is not None:
            form.category.data = certification_type.category.value
            for r in db.session.scalars(select(JobTypeRequirement).where(
                    JobTypeRequirement.certification_type_id == certification_type.id)):
                form.required_by.data.append(r.job_type.code)
                levels[r.job_type.code] = "" if r.min_level is None else str(r.min_level)
    if form.validate_on_submit():
        try:
            save_certification_type(certification_type, form, levels)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("admin.certification_types"))
    return render_template("admin/certification_type_form.html", form=form, certification_type=certification_type,
                           job_types=job_types, levels=levels), 400 if form.errors or form.form_errors else 200


def save_certification_type(certification_type: CertificationType | None, form: CertificationTypeForm,
                            levels: dict[str, str]) -> CertificationType:
    """Apply the form: the type's fields, then its job-type requirements (replaced as a whole), each
    ticked job type at the minimum level given for it in `levels` (none when empty)."""
    code = form.code.data.strip()
    clash = db.session.scalar(select(CertificationType.id).where(CertificationType.code == code))
    if clash is not None and (certification_type is None or clash != certification_type.id):
        raise InvalidInput(_l("The code %(code)s is taken.", code=code))
    wanted: list[tuple[JobType, int | None]] = []
    job_types = {jt.code: jt for jt in db.session.scalars(select(JobType))}
    for job_code in form.required_by.data or []:
        level = levels.get(job_code, "").strip()
        if job_code not in job_types or (level and not level.isdigit()):
            raise InvalidInput(_l("Unknown job type or level: %(token)s", token=f"{job_code} {level}".strip()))
        wanted.append((job_types[job_code], int(level) if level else None))
    before = None if certification_type is None else _certification_type_state(certification_type)
    if certification_type is None:
        certification_type = CertificationType(code=code, category=CertificationCategory(form.category.data),
                                               validity_months=form.validity_months.data)
        db.session.add(certification_type)
    for name in ("code", "name_zh", "name_en", "validity_months", "review_months", "renewal_window_days",
                 "min_level", "max_level", "is_level_descending", "is_work_at_height", "is_active"):
        setattr(certification_type, name, getattr(form, name).data)
    certification_type.code = code
    certification_type.category = CertificationCategory(form.category.data)
    db.session.flush()
    db.session.execute(delete(JobTypeRequirement).where(JobTypeRequirement.certification_type_id == certification_type.id))
    for job_type, level in wanted:
        db.session.add(JobTypeRequirement(job_type_id=job_type.id, certification_type_id=certification_type.id,
                                          min_level=level))
    db.session.flush()
    after = {**audit.fields(certification_type, CERTIFICATION_TYPE_FIELDS),
             "required_by": {jt.code: level for jt, level in wanted}}
    audit.record(current_user, "certification_type.create" if before is None else "certification_type.edit",
                 "certification_type", certification_type.code, before, after)
    return certification_type


def _certification_type_state(certification_type: CertificationType) -> dict[str, Any]:
    """A certification type's audited fields and its requirements ({job type code: minimum level})."""
    requirements = db.session.execute(
        select(JobType.code, JobTypeRequirement.min_level).join(JobType, JobType.id == JobTypeRequirement.job_type_id)
        .where(JobTypeRequirement.certification_type_id == certification_type.id)
    ).all()
    return {**audit.fields(certification_type, CERTIFICATION_TYPE_FIELDS),
            "required_by": {code: level for code, level in requirements}}
