"""GET /api/v1/metrics: the stored figures the caller may read (PRODUCT.md §5), and
GET /api/v1/metrics/orders: the order numbers behind one of them."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import abort
from flask_babel import gettext as _

from ..db import local_today, zone
from ..errors import NotFound
from ..extensions import db
from ..metrics.dashboard import snapshot_row
from ..metrics.services import orders_for, snapshots
from ..snapshots.models import COMPANY_ID, PeriodType, ScopeType
from ..snapshots.periods import is_period_start
from . import api_blueprint, current_api_user
from .schemas import (
    MetricOrdersQuerySchema,
    MetricOrdersSchema,
    MetricQuerySchema,
    MetricSnapshotSchema,
    decode_cursor,
    encode_cursor,
)

blp = api_blueprint("metrics-api", __name__, "Installation-quality figures and the orders behind them")

DEFAULT_DAYS = 30  # `from` when not given: this many days before `to`
MAX_FIGURES = 10_000  # one answer; more is refused (400) with a hint to narrow the question


@blp.route("/metrics")
@blp.arguments(MetricQuerySchema, location="query")
@blp.response(200, MetricSnapshotSchema(many=True))
def list_metrics(args: dict[str, Any]) -> list[dict[str, Any]]:
    """The figures the caller may read (an installer: their own and their team's; a supervisor:
    their teams and installers, the districts and the company; an admin: all), by metric, scope
    and period start; periods starting from `from` to `to` (default: the last 30 days)."""
    last = args["last"] or local_today(zone())
    first = args["first"] or last - timedelta(days=DEFAULT_DAYS)
    if first > last:
        return []  # no period starts in that range
    query = snapshots(current_api_user(), metric=args["metric"],
                      scope_type=ScopeType(args["scope"]) if args["scope"] else None, scope_id=args["scope_id"],
                      period_type=PeriodType(args["period"]), first=first, last=last)
    rows = list(db.session.scalars(query.limit(MAX_FIGURES + 1)))
    if len(rows) > MAX_FIGURES:
        abort(400, description=_("More than %(n)d figures match: name a metric or a scope, or ask for fewer days.",
                                 n=MAX_FIGURES))
    return [snapshot_row(row) for row in rows]


@blp.route("/metrics/orders")
@blp.arguments(MetricOrdersQuerySchema, location="query")
@blp.response(200, MetricOrdersSchema)
@blp.problems(404)
def metric_orders(args: dict[str, Any]) -> dict[str, Any]:
    """The numbers of the orders behind one figure's numerator or denominator (the rows the
    figure counted, cut to those the caller may see), a page at a time in number order (`limit`,
    then `cursor`: the answer's `next_cursor`); 404 for a scope whose orders the caller may
    not list (a supervisor: districts and the company; an installer: anyone but themself), or a
    figure that cannot exist (a period_start that does not start its period, a scope without its id)."""
    scope = ScopeType(args["scope"])
    scope_id = COMPANY_ID if scope is ScopeType.COMPANY else args["scope_id"]
    period = PeriodType(args["period"])
    # No figure is stored for a day that does not start a period, nor for a scope without its id.
    if scope_id is None or not is_period_start(period, args["period_start"]):
        raise NotFound(_("No such figure: period_start must start its period (a Monday for a week, the 1st "
                         "for a month), and scope_id name the scope."))
    after = _after(args["cursor"]) if args["cursor"] else None
    behind = orders_for(current_api_user(), args["metric"], scope, scope_id, period, args["period_start"],
                        args["part"], zone(), limit=args["limit"], after=after, numbers=True)
    return {"metric": args["metric"], "scope": scope.value, "scope_id": scope_id, "period": args["period"],
            "period_start": args["period_start"].isoformat(), "part": args["part"],
            "orders": behind.orders, "total": behind.shown, "not_shown": behind.not_shown,
            "next_cursor": encode_cursor([behind.next_after]) if behind.next_after else None}


def _after(cursor: str) -> str:
    """The order number a drill-down cursor continues after; 400 for a cursor this did not make."""
    try:
        (after,) = decode_cursor(cursor)
    except ValueError:
        after = None
    if not isinstance(after, str):
        abort(400, description=_("The cursor is malformed: pass next_cursor as it came."))
    return after
