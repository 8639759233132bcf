"""The admin home: the branch at a glance (users, teams, open orders, scheduler runs)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from sqlalchemy import func, select

from ..auth.models import Role, User
from ..auth.permissions import role_required
from ..extensions import db
from ..metrics.models import JobRun
from ..workforce.models import District, Team
from ..workorders.models import OPEN_STATUSES, WorkOrder

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
