"""`demo_sign_ins`: whom to sign in as, read from a seeded database."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select

from ..auth.models import Role, User
from ..db import local_day_range, utcnow, zone
from ..extensions import db
from ..workforce.models import team_supervisors
from ..workorders.models import OrderStatus, WorkOrder


def demo_sign_ins(now: datetime | None = None) -> list[tuple[str, str, str]]:
    """(role, username, display name) of the admin, an installer with jobs on the local day of `now`
    (by default the current time) in as many states as any, one of them completed when any
    installer has completed one, and the supervisor of that installer's team, read from the
    database (what they promise: the package docstring)."""
    tz = zone()
    start, end = local_day_range((now or utcnow()).astimezone(tz).date(), tz)
    today_orders = (WorkOrder.status != OrderStatus.CANCELLED) & (
        ((WorkOrder.appointment_start >= start) & (WorkOrder.appointment_start < end))
        | ((WorkOrder.completed_at >= start) & (WorkOrder.completed_at < end)))
    jobs = func.count(WorkOrder.id)
    states = func.count(WorkOrder.status.distinct())
    has_done = func.max(case((WorkOrder.status == OrderStatus.COMPLETED, 1), else_=0))
    candidates = (
        select(User).join(WorkOrder, WorkOrder.assignee_id == User.id)
        .where(today_orders, User.role == Role.INSTALLER, User.is_active.is_(True))
        .group_by(User.id)
        # A finished job to look at once there are any, then the most states, then the busiest.
        .order_by(has_done.desc(), states.desc(), jobs.desc(), User.username).limit(1)
    )
    installer = (db.session.scalar(candidates.having(jobs.between(4, 7))) or db.session.scalar(candidates)
                 or db.session.scalar(select(User).where(User.role == Role.INSTALLER, User.is_active.is_(True))
                                      .order_by(User.username).limit(1)))
    supervisor = None
    if installer is not None and installer.team_id is not None:
        supervisor = db.session.scalar(
            select(User).join(team_supervisors, team_supervisors.c.user_id == User.id)
            .where(team_supervisors.c.team_id == installer.team_id, User.is_active.is_(True))
            .order_by(User.username).limit(1))
    if supervisor is None:
        supervisor = db.session.scalar(
            select(User).where(User.role == Role.SUPERVISOR).order_by(User.username).limit(1))
    admin = db.session.scalar(select(User).where(User.role == Role.ADMIN).order_by(User.id).limit(1))
    sign_ins = []
    for role, user in (("admin", admin), ("supervisor", supervisor), ("installer", installer)):
        if user is not None:
            label = f"{user.name} ({user.name_en})" if user.name_en and user.name_en != user.name else user.name
            sign_ins.append((role, user.username, label))
    return sign_ins

