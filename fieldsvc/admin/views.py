"""Admin pages: the branch at a glance, and the job types' deadline and evidence rules."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from ..auth.models import Role, User
from ..auth.permissions import role_required
from ..db import local_today, zone
from ..extensions import db
from ..metrics.models import JobRun
from ..metrics.settings import set_setting, setting
from ..workforce.models import District, Team
from ..workorders.evidence import EVIDENCE_FIELDS
from ..workorders.models import OPEN_STATUSES, JobType, WorkOrder
from .forms import JobTypeForm, RxBandForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
@role_required(Role.ADMIN)
def home() -> Any:
    """Counts of people by role, teams, districts, open orders; the latest job runs."""
    users_by_role = dict(
        db.session.execute(select(User.role, func.count()).where(User.is_active.is_(True)).group_by(User.role)).all()
    )
    counts = {
        "installers": users_by_role.get(Role.INSTALLER, 0),
        "supervisors": users_by_role.get(Role.SUPERVISOR, 0),
        "admins": users_by_role.get(Role.ADMIN, 0),
        "teams": db.session.scalar(select(func.count()).select_from(Team)),
        "districts": db.session.scalar(select(func.count()).select_from(District)),
        "open_orders": db.session.scalar(
            select(func.count()).select_from(WorkOrder).where(WorkOrder.status.in_(OPEN_STATUSES))
        ),
    }
    runs = db.session.scalars(select(JobRun).order_by(JobRun.started_at.desc()).limit(10)).all()
    return render_template("admin/home.html", counts=counts, runs=runs)


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
        form.populate_obj(job_type)
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
    set_setting("rx_power_band_dbm", [form.low.data, form.high.data], local_today(zone()), current_user.id)
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("admin.job_types"))
