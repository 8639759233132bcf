"""Who may see which work orders, and the read queries of the installer and supervisor pages.
Each list loads its rows and their related rows in a constant number of queries (no N+1)."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import joinedload, selectinload

from ..auth.models import Role, User
from ..db import local_day_range
from ..extensions import db
from ..workforce.models import team_districts, team_supervisors
from .models import OPEN_STATUSES, Visit, WorkOrder, WorkOrderEvent


def visible_orders(user: User) -> Select[tuple[WorkOrder]]:
    """A SELECT of the orders `user` may see: an installer their own, a supervisor their teams'
    (and unassigned orders in districts their teams serve), an admin all."""
    query = select(WorkOrder)
    if user.role is Role.ADMIN:
        return query
    if user.role is Role.INSTALLER:
        return query.where(WorkOrder.assignee_id == user.id)
    my_teams = select(team_supervisors.c.team_id).where(team_supervisors.c.user_id == user.id)
    served = select(team_districts.c.district_id).where(team_districts.c.team_id.in_(my_teams))
    return query.where(
        or_(
            WorkOrder.team_id.in_(my_teams),
            (WorkOrder.team_id.is_(None)) & WorkOrder.district_id.in_(served),
        )
    )


def _with_list_columns(query: Select[tuple[WorkOrder]]) -> Select[tuple[WorkOrder]]:
    return query.options(
        joinedload(WorkOrder.customer),
        joinedload(WorkOrder.job_type),
        joinedload(WorkOrder.district),
        joinedload(WorkOrder.assignee),
    )


def installer_day(user: User, day: date, tz: ZoneInfo) -> list[WorkOrder]:
    """The installer's open orders booked for `day` (or earlier, or unbooked), plus what they
    finished that day, in appointment order."""
    start, end = local_day_range(day, tz)
    query = visible_orders(user).where(
        or_(
            WorkOrder.status.in_(OPEN_STATUSES) & (WorkOrder.appointment_start.is_(None) | (WorkOrder.appointment_start < end)),
            (WorkOrder.completed_at >= start) & (WorkOrder.completed_at < end),
        )
    )
    query = _with_list_columns(query).order_by(
        WorkOrder.appointment_start.is_(None), WorkOrder.appointment_start, WorkOrder.due_by
    )
    return list(db.session.scalars(query))


def installer_upcoming(user: User, after: datetime) -> list[WorkOrder]:
    """Open orders booked from `after` on, soonest first."""
    query = visible_orders(user).where(WorkOrder.status.in_(OPEN_STATUSES), WorkOrder.appointment_start >= after)
    return list(db.session.scalars(_with_list_columns(query).order_by(WorkOrder.appointment_start).limit(200)))


def installer_done(user: User, since: datetime) -> list[WorkOrder]:
    """Orders completed or cancelled since `since`, newest first."""
    query = visible_orders(user).where(
        or_(WorkOrder.completed_at >= since, WorkOrder.cancelled_at >= since)
    )
    query = _with_list_columns(query).order_by(WorkOrder.updated_at.desc()).limit(200)
    return list(db.session.scalars(query))


def order_page(user: User, number: str) -> WorkOrder | None:
    """The order with everything its page shows, if `user` may see it (else None)."""
    query = _with_list_columns(visible_orders(user).where(WorkOrder.number == number)).options(
        selectinload(WorkOrder.visits).joinedload(Visit.reason),
        selectinload(WorkOrder.events).joinedload(WorkOrderEvent.actor),
        selectinload(WorkOrder.photos),
    )
    return db.session.scalar(query)


__all__ = ["installer_day", "installer_done", "installer_upcoming", "order_page",
           "visible_orders"]
