"""Who may see which work orders, and the read queries of the installer and supervisor pages.
Each list loads its rows and their related rows in a constant number of queries (no N+1)."""
from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, or_, select
from sqlalchemy.orm import joinedload, load_only, selectinload

from ..auth.models import Role, User
from ..auth.scope import in_managed_team, served_district_ids
from ..db import among, local_day_range
from ..extensions import db
from ..workforce.models import Customer, District, JobType
from .models import OPEN_STATUSES, Visit, WorkOrder, WorkOrderEvent


def visible_orders(user: User) -> Select[tuple[WorkOrder]]:
    """A SELECT of the orders `user` may see: an installer their own, a supervisor their teams'
    (and unassigned orders in districts their teams serve), an admin all."""
    return orders_visible_to(user.role, user.id)


def orders_visible_to(role: Role, me: Any) -> Select[tuple[WorkOrder]]:
    """`visible_orders` for a user of `role` whose id is `me`: a value, or a bound parameter for
    statements built once and run for many users."""
    query = select(WorkOrder)
    if role is Role.ADMIN:
        return query
    if role is Role.INSTALLER:
        return query.where(WorkOrder.assignee_id == me)
    return query.where(
        or_(
            in_managed_team(WorkOrder.team_id, role, me),
            (WorkOrder.team_id.is_(None)) & WorkOrder.district_id.in_(served_district_ids(role, me)),
        )
    )


def _with_list_columns(query: Select[tuple[WorkOrder]]) -> Select[tuple[WorkOrder]]:
    return query.options(
        joinedload(WorkOrder.customer),
        joinedload(WorkOrder.job_type),
        joinedload(WorkOrder.district),
        joinedload(WorkOrder.assignee),
    )


def _installer_list() -> Select[tuple[WorkOrder]]:
    """An installer's own orders (`:me`) with only what their list shows (templates/workorders/
    _order_row.html): the phone's most frequent pages read a few columns, not whole rows. The
    assignee is the installer, already in the session, so it is not joined."""
    return orders_visible_to(Role.INSTALLER, bindparam("me")).options(
        load_only(WorkOrder.number, WorkOrder.status, WorkOrder.address, WorkOrder.assignee_id,
                  WorkOrder.appointment_start, WorkOrder.appointment_end, WorkOrder.due_by,
                  WorkOrder.completed_at, WorkOrder.cancelled_at),
        joinedload(WorkOrder.customer).load_only(Customer.name),
        joinedload(WorkOrder.job_type).load_only(JobType.name_zh, JobType.name_en),
        joinedload(WorkOrder.district).load_only(District.name_zh, District.name_en),
    )


# The installer's lists are built once (with bound parameters) rather than on every request.
@cache
def _day_statement() -> Select[tuple[WorkOrder]]:
    return _installer_list().where(
        or_(
            among(WorkOrder.status, OPEN_STATUSES)
            & (WorkOrder.appointment_start.is_(None) | (WorkOrder.appointment_start < bindparam("end"))),
            (WorkOrder.completed_at >= bindparam("start")) & (WorkOrder.completed_at < bindparam("end")),
        )
    ).order_by(WorkOrder.appointment_start.is_(None), WorkOrder.appointment_start, WorkOrder.due_by)


@cache
def _upcoming_statement() -> Select[tuple[WorkOrder]]:
    return (_installer_list()
            .where(among(WorkOrder.status, OPEN_STATUSES), WorkOrder.appointment_start >= bindparam("after"))
            .order_by(WorkOrder.appointment_start).limit(200))


@cache
def _done_statement() -> Select[tuple[WorkOrder]]:
    return (_installer_list()
            .where(or_(WorkOrder.completed_at >= bindparam("since"), WorkOrder.cancelled_at >= bindparam("since")))
            .order_by(WorkOrder.updated_at.desc()).limit(200))


def installer_day(installer: User, day: date, tz: ZoneInfo) -> list[WorkOrder]:
    """The installer's open orders booked for `day` (or earlier, or unbooked), plus what they
    finished that day, in appointment order."""
    start, end = local_day_range(day, tz)
    return list(db.session.scalars(_day_statement(), {"me": installer.id, "start": start, "end": end}))


def installer_upcoming(installer: User, after: datetime) -> list[WorkOrder]:
    """The installer's open orders booked from `after` on, soonest first."""
    return list(db.session.scalars(_upcoming_statement(), {"me": installer.id, "after": after}))


def installer_done(installer: User, since: datetime) -> list[WorkOrder]:
    """The installer's orders completed or cancelled since `since`, newest first."""
    return list(db.session.scalars(_done_statement(), {"me": installer.id, "since": since}))


def order_page(user: User, number: str) -> WorkOrder | None:
    """The order with everything its page shows, if `user` may see it (else None)."""
    query = _with_list_columns(visible_orders(user).where(WorkOrder.number == number)).options(
        selectinload(WorkOrder.visits).joinedload(Visit.reason),
        selectinload(WorkOrder.events).joinedload(WorkOrderEvent.actor),
        selectinload(WorkOrder.photos),
    )
    return db.session.scalar(query)


__all__ = ["installer_day", "installer_done", "installer_upcoming", "order_page",
           "orders_visible_to", "visible_orders"]
