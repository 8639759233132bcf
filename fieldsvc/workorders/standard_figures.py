"""The service standard's two figures (issue #15 item 4), set-based, per installer, team or the
branch, for a range of local days: one grouped query each, which the metric engine can call.

- Checklist compliance: visits closed in the range under a standard whose every required step was
  ticked by the time the installer left (the at-completion steps count for a resolved visit only:
  a visit that could not finish had nothing to complete) ÷ those visits.
- Booking timeliness (预约及时率): orders first dispatched in the range whose `booked_call` came
  within the `booking_within_minutes` rule (in force on the range's last day; inclusive) ÷ those
  orders. The installer and team are the order's current ones."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, literal, or_, select

from ..db import local_day_range
from ..extensions import db
from ..rules.services import setting
from .models import Visit, VisitOutcome, WorkOrder, WorkOrderEvent
from .standards import BOOKED_CALL, OrderStandard, Phase, StandardStep, StepTick

SCOPES = ("installer", "team", "branch")


@dataclass(frozen=True)
class Figure:
    """A rate's parts; `value` is None when nothing counted."""

    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


def _range(first: date, last: date, tz: ZoneInfo) -> tuple[object, object]:
    return local_day_range(first, tz)[0], local_day_range(last, tz)[1]


def _grouped(scope: str, key: Any) -> tuple[Any, ...]:
    # PostgreSQL refuses to group by a constant: the branch is one group, so no key, no GROUP BY.
    return () if scope == "branch" else (key,)


def _figures(scope: str, rows: Any) -> dict[int | None, Figure]:
    if scope == "branch":
        ((n, d),) = rows
        return {None: Figure(int(n or 0), int(d))}
    return {k: Figure(int(n or 0), int(d)) for k, n, d in rows}


def checklist_compliance(scope: str, first: date, last: date, tz: ZoneInfo) -> dict[int | None, Figure]:
    """Scope key (installer id, team id, None for the branch) → compliant visits / visits."""
    start, end = _range(first, last, tz)
    key = {"installer": Visit.installer_id, "team": WorkOrder.team_id, "branch": literal(None)}[scope]
    applies = and_(StandardStep.version_id == OrderStandard.version_id, StandardStep.is_required.is_(True),
                   or_(StandardStep.phase != Phase.AT_COMPLETION, Visit.outcome == VisitOutcome.RESOLVED))
    done = and_(StepTick.work_order_id == Visit.work_order_id, StepTick.code == StandardStep.code,
                StepTick.ticked_at <= Visit.left_at)
    per_visit = (
        select(Visit.id, key.label("k"), (func.count(StandardStep.id) - func.count(StepTick.id)).label("missing"))
        .join(WorkOrder, WorkOrder.id == Visit.work_order_id)
        .join(OrderStandard, OrderStandard.work_order_id == Visit.work_order_id)
        .outerjoin(StandardStep, applies).outerjoin(StepTick, done)
        .where(Visit.left_at >= start, Visit.left_at < end)
        .group_by(Visit.id, *_grouped(scope, key))
    ).subquery()
    keys = _grouped(scope, per_visit.c.k)
    rows = db.session.execute(select(*keys, func.sum(case((per_visit.c.missing == 0, 1), else_=0)),
                                     func.count()).group_by(*keys))
    return _figures(scope, rows)


def booking_timeliness(scope: str, first: date, last: date, tz: ZoneInfo) -> dict[int | None, Figure]:
    """Scope key → orders booked within the rule's minutes of dispatch / orders dispatched."""
    start, end = _range(first, last, tz)
    limit = int(setting("booking_within_minutes", last)) * 60
    dispatched = (select(WorkOrderEvent.work_order_id.label("order_id"))
                  .where(WorkOrderEvent.action == "assign").group_by(WorkOrderEvent.work_order_id)
                  .having(func.min(WorkOrderEvent.created_at) >= start)
                  .having(func.min(WorkOrderEvent.created_at) < end)).subquery()
    key = {"installer": WorkOrder.assignee_id, "team": WorkOrder.team_id, "branch": literal(None)}[scope]
    on_time = case((StepTick.dispatch_lag_seconds <= limit, 1), else_=0)
    keys = _grouped(scope, key)
    rows = db.session.execute(
        select(*keys, func.sum(on_time), func.count(WorkOrder.id))
        .join(dispatched, dispatched.c.order_id == WorkOrder.id)
        .outerjoin(StepTick, and_(StepTick.work_order_id == WorkOrder.id, StepTick.code == BOOKED_CALL))
        .group_by(*keys))
    return _figures(scope, rows)
