"""`demo_sign_ins`: whom to sign in as, read from a seeded database."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import func, select

from ..auth.models import Role, User
from ..db import local_today, zone
from ..extensions import db
from ..workforce.models import team_supervisors
from ..workorders.models import OrderStatus, WorkOrder


def demo_sign_ins() -> list[tuple[str, str, str]]:
    """(role, username, display name) of the admin, an installer with jobs today (in mixed states)
    and the supervisor of that installer's team, read from the database."""
    tz = zone()
    start, end = (datetime.combine(local_today(tz) + timedelta(days=n), time.min, tzinfo=tz) for n in (0, 1))
    today_orders = (WorkOrder.status != OrderStatus.CANCELLED) & (
        ((WorkOrder.appointment_start >= start) & (WorkOrder.appointment_start < end))
        | ((WorkOrder.completed_at >= start) & (WorkOrder.completed_at < end)))
    jobs = func.count(WorkOrder.id)
    states = func.count(WorkOrder.status.distinct())
    candidates = (
        select(User, jobs, states).join(WorkOrder, WorkOrder.assignee_id == User.id)
        .where(today_orders, User.role == Role.INSTALLER, User.is_active.is_(True))
        .group_by(User.id)
    )
    row = db.session.execute(
        candidates.having(jobs.between(4, 7)).order_by(states.desc(), jobs.desc(), User.username).limit(1)
    ).first() or db.session.execute(candidates.order_by(jobs.desc(), User.username).limit(1)).first()
    installer = row[0] if row else db.session.scalar(
        select(User).where(User.role == Role.INSTALLER, User.is_active.is_(True)).order_by(User.username).limit(1))
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

