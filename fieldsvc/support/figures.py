"""The support figures (issue #15 item 2) per team, district or branch for a range of local days,
as plain functions the metric engine can call later (its integration is for another change).
Each figure is a few set-based queries over the range, whatever the scope's size; percentiles are
taken in Python from one query's durations, as SQLite has no percentile function.

Definitions (the defaults; written here once):
- requests_per_100_orders: 100 × requests raised in the range ÷ orders completed in the range
  (by the request's team fixed when raised, and the order's team; district: the order's);
- time to first reply, median and p90, in minutes: of the requests raised in the range that got a
  reply (nearest-rank percentiles); `replied_on_time`: of those, replied by their `reply_due_at`
  (the `support_reply_minutes` rule when raised: a reply at 14:59 to a request raised at 14:45 is
  on time against 15 minutes, one at 15:01 is not);
- solved_on_site: of the requests raised in the range, those resolved as solved remotely (by the
  desk, or by the installer's "solved, thanks") while a visit of the order was open;
- on-site resolution with / without a request: of the orders completed in the range with a visit,
  those resolved on their first visit (`visit_count` 1), split by whether a request was raised on
  the order."""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, exists, func, literal, or_, select

from ..db import local_day_range
from ..extensions import db
from ..workorders.models import Visit, WorkOrder
from .models import SupportRequest, SupportResolution, SupportStatus

SCOPES = ("team", "district", "branch")
BRANCH = 0  # the one key of the branch scope


@dataclass
class SupportFigures:
    """One scope's figures; rates are None when their denominator is 0."""

    requests: int = 0
    completed_orders: int = 0
    replied: int = 0
    replied_on_time: int = 0
    solved_on_site: int = 0
    reply_minutes: list[float] = field(default_factory=list)
    with_request: tuple[int, int] = (0, 0)  # (resolved on the first visit, orders with a visit)
    without_request: tuple[int, int] = (0, 0)

    @property
    def requests_per_100_orders(self) -> float | None:
        return 100 * self.requests / self.completed_orders if self.completed_orders else None

    @property
    def median_reply_minutes(self) -> float | None:
        return percentile(self.reply_minutes, 50)

    @property
    def p90_reply_minutes(self) -> float | None:
        return percentile(self.reply_minutes, 90)

    @property
    def solved_on_site_rate(self) -> float | None:
        return self.solved_on_site / self.requests if self.requests else None

    @property
    def onsite_resolution_with_request(self) -> float | None:
        return self.with_request[0] / self.with_request[1] if self.with_request[1] else None

    @property
    def onsite_resolution_without_request(self) -> float | None:
        return self.without_request[0] / self.without_request[1] if self.without_request[1] else None


def percentile(values: list[float], p: float) -> float | None:
    """The nearest-rank `p`th percentile (None of nothing)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(p / 100 * len(ordered)), 1) - 1]


def _request_key(scope: str) -> Any:
    if scope == "team":
        return SupportRequest.team_id
    if scope == "district":
        return WorkOrder.district_id
    return literal(BRANCH)


def _order_key(scope: str) -> Any:
    if scope == "team":
        return WorkOrder.team_id
    if scope == "district":
        return WorkOrder.district_id
    return literal(BRANCH)


def _grouped(scope: str, key: Any) -> tuple[Any, ...]:
    """What to group by: the scope's column (the branch is one group: a constant is not grouped by,
    which PostgreSQL would refuse)."""
    return () if scope == "branch" else (key,)


def support_figures(scope: str, first: date, last: date, tz: ZoneInfo) -> dict[Any, SupportFigures]:
    """The support figures of every team / district (by id) or of the branch (key 0) for the local
    days `first`..`last` inclusive; a scope with neither requests nor completed orders is absent."""
    if scope not in SCOPES:
        raise ValueError(scope)
    start, end = local_day_range(first, tz)[0], local_day_range(last, tz)[1]
    out: dict[Any, SupportFigures] = defaultdict(SupportFigures)
    raised = and_(SupportRequest.raised_at >= start, SupportRequest.raised_at < end)
    key = _request_key(scope)
    on_site = exists().where(Visit.work_order_id == SupportRequest.work_order_id,
                             Visit.arrived_at <= SupportRequest.resolved_at,
                             or_(Visit.left_at.is_(None), Visit.left_at >= SupportRequest.resolved_at))
    solved = and_(SupportRequest.status.in_((SupportStatus.RESOLVED, SupportStatus.THANKED)),
                  SupportRequest.resolution == SupportResolution.SOLVED_REMOTELY, on_site)
    counts = (select(key, func.count(), func.count(SupportRequest.first_reply_at),
                     func.sum(case((SupportRequest.first_reply_at <= SupportRequest.reply_due_at, 1), else_=0)),
                     func.sum(case((solved, 1), else_=0)))
              .select_from(SupportRequest).join(WorkOrder, WorkOrder.id == SupportRequest.work_order_id)
              .where(raised).group_by(*_grouped(scope, key)))
    for scope_id, requests, replied, on_time, on_site_count in db.session.execute(counts):
        figures = out[scope_id]
        figures.requests, figures.replied = requests, replied
        figures.replied_on_time, figures.solved_on_site = int(on_time or 0), int(on_site_count or 0)
    waits = (select(key, SupportRequest.raised_at, SupportRequest.first_reply_at)
             .select_from(SupportRequest).join(WorkOrder, WorkOrder.id == SupportRequest.work_order_id)
             .where(raised, SupportRequest.first_reply_at.is_not(None)))
    for scope_id, raised_at, first_reply_at in db.session.execute(waits):
        out[scope_id].reply_minutes.append((first_reply_at - raised_at) / timedelta(minutes=1))

    okey = _order_key(scope)
    asked = exists().where(SupportRequest.work_order_id == WorkOrder.id)
    orders = (select(okey, asked.label("asked"), func.count(),
                     func.sum(case((WorkOrder.visit_count >= 1, 1), else_=0)),
                     func.sum(case((WorkOrder.visit_count == 1, 1), else_=0)))
              .where(WorkOrder.completed_at >= start, WorkOrder.completed_at < end)
              .group_by(*_grouped(scope, okey), asked))
    for scope_id, has_request, completed, visited, first_time in db.session.execute(orders):
        figures = out[scope_id]
        figures.completed_orders += completed
        pair = (int(first_time or 0), int(visited or 0))
        if has_request:
            figures.with_request = pair
        else:
            figures.without_request = pair
    return dict(out)
