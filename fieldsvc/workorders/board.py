"""The dispatch board's read side: queues, filters, search, counts and the installers' workload.
Every query starts from `visible_orders`, so a supervisor only ever sees their teams' orders."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import aliased, joinedload

from ..auth.models import User
from ..auth.scope import managed_installers
from ..db import among, local_day_range
from ..extensions import db
from ..workforce.models import Customer, District, JobType
from .models import OPEN_STATUSES, OrderStatus, Priority, WorkOrder
from .queries import visible_orders

QUEUES = ("unassigned", "at_risk", "overdue", "today", "open")
AT_RISK_WINDOW = timedelta(hours=2)
CLOSED_STATUS_VALUES = frozenset({OrderStatus.COMPLETED.value, OrderStatus.CANCELLED.value})
PAGE_SIZE = 50


@dataclass
class BoardFilters:
    """What the supervisor narrowed the board to; empty values do not filter."""

    queue: str = "open"
    district: str = ""
    job_type: str = ""
    priority: str = ""
    status: str = ""
    day: date | None = None
    q: str = ""
    page: int = 1

    @property
    def includes_closed(self) -> bool:
        """A search, or a filter on a closed status, reaches completed and cancelled orders too
        (a supervisor answering a customer's call must find any order); the queues stay open."""
        return bool(self.q.strip()) or self.status in CLOSED_STATUS_VALUES

    def query_args(self, **changes: Any) -> dict[str, Any]:
        """The filters as URL parameters (for links that keep them), with `changes` applied."""
        args = {"queue": self.queue, "district": self.district, "job_type": self.job_type,
                "priority": self.priority, "status": self.status, "day": self.day.isoformat() if self.day else "",
                "q": self.q, "page": self.page}
        args.update(changes)
        return {k: v for k, v in args.items() if v not in ("", None, 1) or k == "queue"}


def _queue_condition(queue: str, now: datetime, today: tuple[datetime, datetime]) -> Any:
    # Every queue but "open" holds open orders only, even when a search reaches closed ones.
    is_open = among(WorkOrder.status, OPEN_STATUSES)
    if queue == "unassigned":
        return and_(is_open, WorkOrder.assignee_id.is_(None))
    if queue == "at_risk":
        return and_(is_open, WorkOrder.due_by >= now, WorkOrder.due_by < now + AT_RISK_WINDOW,
                    WorkOrder.status != OrderStatus.ON_SITE)
    if queue == "overdue":
        return and_(is_open, WorkOrder.due_by < now)
    if queue == "today":  # by installer: an unassigned order booked today waits in "unassigned"
        return and_(is_open, WorkOrder.assignee_id.is_not(None),
                    WorkOrder.appointment_start >= today[0], WorkOrder.appointment_start < today[1])
    return None


def _filtered(user: User, filters: BoardFilters, tz: ZoneInfo) -> Select[tuple[WorkOrder]]:
    query = visible_orders(user)
    if not filters.includes_closed:
        query = query.where(among(WorkOrder.status, OPEN_STATUSES))
    if filters.district:
        query = query.where(WorkOrder.district_id == select(District.id).where(District.code == filters.district).scalar_subquery())
    if filters.job_type:
        query = query.where(WorkOrder.job_type_id == select(JobType.id).where(JobType.code == filters.job_type).scalar_subquery())
    if filters.priority in {p.value for p in Priority}:
        query = query.where(WorkOrder.priority == Priority(filters.priority))
    if filters.status in {s.value for s in OrderStatus}:
        query = query.where(WorkOrder.status == OrderStatus(filters.status))
    if filters.day:
        start, end = local_day_range(filters.day, tz)
        query = query.where(WorkOrder.appointment_start >= start, WorkOrder.appointment_start < end)
    text = filters.q.strip()
    if text:
        matching_customers = select(Customer.id).where(or_(Customer.phone == text, Customer.account_no == text))
        query = query.where(or_(
            WorkOrder.number == text.upper(),
            WorkOrder.customer_id.in_(matching_customers),
            WorkOrder.address.ilike(f"%{_escape_like(text)}%", escape="\\"),
        ))
    return query


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def queue_counts(user: User, filters: BoardFilters, now: datetime, tz: ZoneInfo, day: date) -> dict[str, int]:
    """How many orders each queue holds under the current filters, in one query."""
    today = local_day_range(day, tz)
    columns = [func.count().label("open")]
    for queue in QUEUES[:-1]:
        condition = _queue_condition(queue, now, today)
        columns.append(func.coalesce(func.sum(case((condition, 1), else_=0)), 0).label(queue))
    row = db.session.execute(_filtered(user, filters, tz).with_only_columns(*columns)).one()
    return {queue: int(getattr(row, queue)) for queue in QUEUES}


def board_page(user: User, filters: BoardFilters, now: datetime, tz: ZoneInfo, day: date,
               english_names: bool = False) -> list[WorkOrder]:
    """One page of the chosen queue, with the columns the board shows loaded in the same query.
    "Today by installer" runs by installer name (in the reader's language), then appointment."""
    query = _filtered(user, filters, tz)
    condition = _queue_condition(filters.queue, now, local_day_range(day, tz))
    if condition is not None:
        query = query.where(condition)
    if filters.queue == "today":
        installer = aliased(User)
        query = query.join(installer, installer.id == WorkOrder.assignee_id)
        name = func.coalesce(func.nullif(installer.name_en, ""), installer.name) if english_names else installer.name
        order = (name, installer.username, WorkOrder.appointment_start, WorkOrder.id)
    elif filters.includes_closed and filters.queue == "open":
        order = (WorkOrder.created_at.desc(), WorkOrder.id.desc())  # a customer's orders, newest first
    else:
        order = (WorkOrder.due_by, WorkOrder.id)
    query = query.options(joinedload(WorkOrder.customer), joinedload(WorkOrder.job_type),
                          joinedload(WorkOrder.district), joinedload(WorkOrder.assignee))
    offset = (max(filters.page, 1) - 1) * PAGE_SIZE
    return list(db.session.scalars(query.order_by(*order).offset(offset).limit(PAGE_SIZE)))


def team_installers(user: User) -> list[User]:
    """Active installers a dispatcher may give work to: their teams' (an admin: everyone's)."""
    return list(db.session.scalars(managed_installers(user)))


@dataclass
class Workload:
    """One installer's day: counts, what they are doing now, and what comes next."""

    installer: User
    assigned: int = 0
    done: int = 0
    open: int = 0
    current: WorkOrder | None = None
    next_start: datetime | None = None
    flags: list[str] = field(default_factory=list)


def workloads(user: User, day: date, tz: ZoneInfo, capacity: int) -> list[Workload]:
    """Today's load of every installer the user dispatches, from two set-based queries."""
    installers = team_installers(user)
    if not installers:
        return []
    start, end = local_day_range(day, tz)
    ids = [u.id for u in installers]
    in_day = or_(
        and_(among(WorkOrder.status, OPEN_STATUSES),
             or_(WorkOrder.appointment_start.is_(None), WorkOrder.appointment_start < end)),
        and_(WorkOrder.completed_at >= start, WorkOrder.completed_at < end),
    )
    rows = db.session.execute(
        select(
            WorkOrder.assignee_id,
            func.count(),
            func.sum(case((WorkOrder.status == OrderStatus.COMPLETED, 1), else_=0)),
            func.sum(case((among(WorkOrder.status, OPEN_STATUSES), 1), else_=0)),
            func.min(case((and_(among(WorkOrder.status, OPEN_STATUSES), WorkOrder.appointment_start >= start),
                           WorkOrder.appointment_start), else_=None)),
        ).where(WorkOrder.assignee_id.in_(ids), in_day).group_by(WorkOrder.assignee_id)
    ).all()
    by_id = {u.id: Workload(u) for u in installers}
    for assignee_id, total, done, open_, next_start in rows:
        load = by_id[assignee_id]
        load.assigned, load.done, load.open, load.next_start = int(total), int(done or 0), int(open_ or 0), next_start
    active = db.session.scalars(
        select(WorkOrder).where(WorkOrder.assignee_id.in_(ids),
                                among(WorkOrder.status, [OrderStatus.ON_SITE, OrderStatus.EN_ROUTE]))
        .options(joinedload(WorkOrder.customer))
    )
    for order in active:
        current = by_id[order.assignee_id].current
        if current is None or order.status is OrderStatus.ON_SITE:
            by_id[order.assignee_id].current = order
    for load in by_id.values():
        if load.open > capacity:
            load.flags.append("overloaded")
        elif load.open == 0:
            load.flags.append("idle")
    return list(by_id.values())


