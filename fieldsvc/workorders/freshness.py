"""The validators of the installer's Today and job page (conditional GET, `fieldsvc.caching`):
what each page shows, read in a couple of cheap statements instead of rendering it.

A page's parts are plain values and SQL expressions (scalar subqueries); the expressions of all
the parts are read together in one SELECT. The areas that add a panel to a page (metrics on
Today; support, follow-ups and notes on the job page) give a validator with it, listing what
their panel shows; a panel without one turns conditional GET off for its page."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import ClauseElement, bindparam, func, select

from ..audit.services import generation
from ..auth.models import User
from ..db import Bound, stamp
from ..extensions import db
from ..notifications.services import inbox_stamp
from ..workforce.models import Customer
from .models import OPEN_STATUSES, WorkOrder
from .standards import OrderStandard, StepTick

# A validator of a panel: what the panel shows, as values and SQL expressions (`evaluate`).
TodayValidator = Callable[[User, datetime], Sequence[Any]]
JobValidator = Callable[["OrderHead", User, datetime], Sequence[Any]]


@dataclass(frozen=True)
class OrderHead:
    """The job page's order as its validator reads it: a few columns, no related rows."""

    id: int
    number: str
    version: int
    status: Any
    customer_id: int
    job_type_id: int
    due_by: datetime
    completed_at: datetime | None
    cancelled_at: datetime | None
    completed_by_id: int | None
    customer_name: str
    customer_phone: str

    @property
    def is_open(self) -> bool:
        return self.completed_at is None and self.cancelled_at is None and self.status in OPEN_STATUSES


def evaluate(parts: Sequence[Any]) -> list[Any]:
    """`parts` with every SQL expression (or `db.Bound` expression) replaced by its value, all read
    in one statement."""
    expressions, params, built_once = [], {}, True
    for part in parts:
        if isinstance(part, Bound):
            expressions.append(part.expression)
            params.update(part.params)
        elif isinstance(part, ClauseElement):
            expressions.append(part)
            built_once = False
    if not expressions:
        return list(parts)
    statement = _statement(expressions) if built_once else select(*expressions)
    # On the session's connection, not through its ORM execution (plain columns, nothing to load).
    values = iter(db.session.connection().execute(statement, params).one())
    return [next(values) if isinstance(part, Bound | ClauseElement) else part for part in parts]


# The SELECTs of validators whose expressions are all built once (`db.Bound`), by the expressions'
# identities: a page asks for the same ones on every request, and a statement built again would be
# walked again for its cache key (a fifth of the validator's time). A few shapes per page.
_STATEMENTS: dict[tuple[int, ...], tuple[list[Any], Any]] = {}
_MAX_STATEMENTS = 256


def _statement(expressions: list[Any]) -> Any:
    key = tuple(map(id, expressions))
    kept = _STATEMENTS.get(key)
    if kept is not None and all(a is b for a, b in zip(kept[0], expressions, strict=True)):
        return kept[1]
    statement = select(*expressions)
    if len(_STATEMENTS) < _MAX_STATEMENTS:  # the kept expressions stay alive, so their ids stay theirs
        _STATEMENTS[key] = (expressions, statement)
    return statement


def page_parts(user: User) -> list[Any]:
    """What every page of the installer depends on beyond its own content: their notices (the
    inbox's unread count and newest notice) and the back-office data (job type names, districts,
    people's names, rules, standards, notes), which moves with every audited change."""
    return [*inbox_stamp(user), generation()]


def card_row(order: WorkOrder, now: datetime) -> tuple[Any, ...]:
    """An order as its card shows it (templates/workorders/_order_row.html), from the columns the
    installer's lists load (its version is not among them), with its overdue mark at `now`."""
    o = order
    return (o.id, o.number, o.status.value, o.appointment_start, o.appointment_end, o.due_by, o.completed_at,
            o.cancelled_at, o.address, o.customer.name, o.job_type.name_zh, o.job_type.name_en,
            o.district.name_zh, o.district.name_en, o.completed_at is None and o.cancelled_at is None and o.due_by < now)


def today_parts(user: User, day: date, now: datetime, rows: Sequence[tuple[Any, ...]]) -> list[Any]:
    """Today's validator from its orders' cards (`card_row` of each: the orders are already loaded,
    the list is one light query and the page shows it whole)."""
    return [day, list(rows), *page_parts(user)]


def order_head(user: User, number: str) -> OrderHead | None:
    """The order `number` as its job page's validator needs it, if it is the installer's own."""
    row = db.session.execute(
        select(WorkOrder.id, WorkOrder.number, WorkOrder.version, WorkOrder.status, WorkOrder.customer_id,
               WorkOrder.job_type_id, WorkOrder.due_by, WorkOrder.completed_at, WorkOrder.cancelled_at,
               WorkOrder.completed_by_id, Customer.name, Customer.phone)
        .join(Customer, Customer.id == WorkOrder.customer_id)
        .where(WorkOrder.number == number, WorkOrder.assignee_id == user.id)).one_or_none()
    return None if row is None else OrderHead(*row)


def job_parts(head: OrderHead, user: User, now: datetime) -> list[Any]:
    """The job page's own validator: the order (its version moves with every change, its visits,
    events and photos come with one), the checklist's standard and ticks, and the deadline line
    as shown this minute ("due in 3 h 20 min")."""
    due_in = None
    if head.is_open:
        seconds = (head.due_by - now).total_seconds()
        due_in = (seconds < 0, int(abs(seconds) // 60))
    standard, ticks = _checklist_stamp()
    return [head, due_in, Bound(standard, {"job_order": head.id}), Bound(ticks, {"job_order": head.id}),
            *page_parts(user)]


@cache
def _checklist_stamp() -> tuple[Any, Any]:
    """The job page's checklist as SQL (built once): its standard's version, and its ticks."""
    order = bindparam("job_order")
    return (select(OrderStandard.version_id).where(OrderStandard.work_order_id == order).scalar_subquery(),
            select(stamp(func.count(), func.sum(StepTick.id))).where(StepTick.work_order_id == order)
            .scalar_subquery())


__all__ = ["JobValidator", "OrderHead", "TodayValidator", "card_row", "evaluate", "job_parts", "order_head", "page_parts",
           "today_parts"]
