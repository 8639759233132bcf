"""Reading the stored figures: the snapshots a caller may see (for the API and the exports), one
scope's figures for a few periods (tiles, Today), a trend series, rankings with their minimum
sample, and the orders behind a figure. Everything reads `metric_snapshots` (never recomputes on a
page view), each a single set-based statement whatever the number of installers; who may read what
is `access`."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from typing import Any, cast
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import Integer, String, and_, bindparam, case, func, select, tuple_
from sqlalchemy.orm import aliased, joinedload

from ..auth.models import Role, User
from ..db import Bound, stamp
from ..errors import NotFound
from ..extensions import db
from ..snapshots.models import COMPANY_ID, MetricSnapshot, PeriodType, ScopeType
from ..snapshots.periods import period_start, periods_between
from ..workforce.models import Team
from ..workorders.models import WorkOrder
from ..workorders.queries import visible_orders
from .access import drillable, may_drill, readable
from .definitions import BY_CODE, Base, Metric, is_code
from .engine import orders_behind

# The figure that is each base's sample size for the rankings (PRODUCT.md §4: 30 completed orders,
# 20 ratings in the period, by default), with the rule that sets its minimum.
SAMPLE = {
    Base.ORDERS: ("completed_orders", "ranking_min_completed_orders"),
    Base.RATINGS: ("satisfaction_rate", "ranking_min_ratings"),  # its denominator: every rating
}
# The trend windows (days) and the period of a point in each.
TREND_WINDOWS = {30: PeriodType.DAY, 90: PeriodType.DAY, 365: PeriodType.WEEK}
PARTS = ("numerator", "denominator")


def current_periods(today: date) -> list[tuple[PeriodType, date]]:
    """Today, this week and this month, as (period type, start)."""
    return [(kind, period_start(kind, today)) for kind in PeriodType]


def snapshots(user: User, *, metric: str | None = None, scope_type: ScopeType | None = None,
              scope_id: str | None = None, period_type: PeriodType | None = None,
              first: date | None = None, last: date | None = None) -> Any:
    """A SELECT of the snapshots `user` may read, filtered as given (periods starting from `first`
    to `last`, both included), in metric, scope and period order."""
    query = select(MetricSnapshot).where(readable(user))
    if metric:
        query = query.where(MetricSnapshot.metric == metric)
    if scope_type:
        query = query.where(MetricSnapshot.scope_type == scope_type)
    if scope_id:
        query = query.where(MetricSnapshot.scope_id == scope_id)
    if period_type:
        query = query.where(MetricSnapshot.period_type == period_type)
    if first:
        query = query.where(MetricSnapshot.period_start >= first)
    if last:
        query = query.where(MetricSnapshot.period_start <= last)
    return query.order_by(MetricSnapshot.metric, MetricSnapshot.scope_type, MetricSnapshot.scope_id,
                          MetricSnapshot.period_type, MetricSnapshot.period_start)


def _in_periods(pairs: Any, types: Any, starts: Any) -> Any:
    """The snapshots of the periods `pairs` ((type, start) each, or a bound parameter of them).
    Their `types` and `starts` are also tested apart, which the period-scope index can seek: the
    pairs alone were a filter over every stored period of the scope, a read growing with the
    history (6,400 index entries a Today on two years)."""
    return and_(MetricSnapshot.period_type.in_(types), MetricSnapshot.period_start.in_(starts),
                tuple_(MetricSnapshot.period_type, MetricSnapshot.period_start).in_(pairs))


def figures(user: User, scope_type: ScopeType, scope_id: str,
            periods: list[tuple[PeriodType, date]]) -> dict[tuple[str, PeriodType], MetricSnapshot]:
    """One scope's snapshots for the given periods, by (metric, period type), in one query
    (empty when `user` may not read the scope)."""
    rows = db.session.scalars(
        select(MetricSnapshot).where(
            readable(user), MetricSnapshot.scope_type == scope_type, MetricSnapshot.scope_id == scope_id,
            _in_periods(periods, [kind for kind, _start in periods], [start for _kind, start in periods]),
        ))
    return {(row.metric, row.period_type): row for row in rows}


@dataclass(frozen=True)
class _BoundInstaller:
    """An installer whose name and team are bound parameters: `access.readable` of it is the
    condition of every installer's own figures, built once (`_own`)."""

    role: Role = Role.INSTALLER
    username: Any = field(default_factory=lambda: bindparam("own_username", type_=String))
    team_id: Any = field(default_factory=lambda: bindparam("own_team_id", type_=Integer))


@cache
def _own() -> Any:
    """Which of the snapshots of `access.readable(installer)` are the installer's own figures for
    their Today: the metrics `own_codes` of the periods `own_periods` (each a (type, start))."""
    return and_(readable(cast(User, _BoundInstaller())),
                MetricSnapshot.scope_type.in_((ScopeType.INSTALLER, ScopeType.TEAM)),
                MetricSnapshot.metric.in_(bindparam("own_codes", expanding=True)),
                _in_periods(bindparam("own_periods", expanding=True), bindparam("own_period_types", expanding=True),
                           bindparam("own_period_starts", expanding=True)))


def _own_params(installer: User, periods: list[tuple[PeriodType, date]], codes: Sequence[str]) -> dict[str, Any]:
    return {"own_username": installer.username, "own_team_id": installer.team_id, "own_codes": list(codes),
            "own_periods": [(kind.value, start) for kind, start in periods],
            "own_period_types": [kind.value for kind, _start in periods],
            "own_period_starts": [start for _kind, start in periods]}


@cache
def _own_statement() -> Any:
    return select(MetricSnapshot).where(_own())


@cache
def _own_stamp() -> Any:
    """How many of the figures there are, the newest computation and the sum of their ids, as one
    text read in one pass over the rows (three aggregates apart read them three times)."""
    return select(stamp(func.count(), func.max(MetricSnapshot.computed_at), func.sum(MetricSnapshot.id))
                  ).where(_own()).scalar_subquery()


def own_figures(installer: User, periods: list[tuple[PeriodType, date]],
                codes: Sequence[str]) -> dict[tuple[str, str, PeriodType], MetricSnapshot]:
    """An installer's own and their team's snapshots of the metrics `codes` for the given periods
    (all they may read), by (scope type, metric, period type), in one query built once."""
    rows = db.session.scalars(_own_statement(), _own_params(installer, periods, codes))
    return {(row.scope_type.value, row.metric, row.period_type): row for row in rows}


def own_figures_stamp(installer: User, periods: list[tuple[PeriodType, date]], codes: Sequence[str]) -> list[Bound]:
    """What changes whenever `own_figures` would (a snapshot stored or recomputed), as SQL
    expressions (built once) for a page's validator: how many there are, the newest computation,
    their ids."""
    return [Bound(_own_stamp(), _own_params(installer, periods, codes))]


@dataclass(frozen=True)
class Series:
    """One metric's figures over a window: a point per period, None where nothing was stored."""

    metric: Metric
    period_type: PeriodType
    starts: list[date]
    points: list[MetricSnapshot | None]


def trend_starts(days: int, today: date) -> tuple[PeriodType, list[date]]:
    """The period type and the period starts of a trend over the last `days` days."""
    period_type = TREND_WINDOWS[days]
    return period_type, list(periods_between(period_type, today - timedelta(days=days - 1), today))


def series(user: User, scope_type: ScopeType, scope_id: str, codes: list[str], days: int,
           today: date) -> dict[str, Series]:
    """Each metric's trend over the last `days` days (30 and 90 by day, 365 by week), in one query."""
    period_type, starts = trend_starts(days, today)
    rows = db.session.scalars(
        snapshots(user, scope_type=scope_type, scope_id=scope_id, period_type=period_type,
                  first=starts[0], last=starts[-1]).where(MetricSnapshot.metric.in_(codes)))
    found = {(row.metric, row.period_start): row for row in rows}
    return {code: Series(BY_CODE[code], period_type, starts, [found.get((code, start)) for start in starts])
            for code in codes}


@dataclass(frozen=True)
class Placed:
    """One scope's place in a ranking: its figure, sample, name, and whether its orders may be listed."""

    snapshot: MetricSnapshot
    sample: int
    user: User | None
    team: Team | None
    drill: bool


@dataclass
class Ranking:
    """A ranking of installers or teams by one metric in one period: the best and the worst, and
    how many were left out for too small a sample."""

    metric: Metric
    scope_type: ScopeType
    min_sample: int
    sample_metric: str
    top: list[Placed] = field(default_factory=list)
    bottom: list[Placed] = field(default_factory=list)
    ranked: int = 0
    left_out: int = 0


def ranking(user: User, code: str, scope_type: ScopeType, period_type: PeriodType, start: date,
            rules: dict[str, Any], size: int = 5, team_code: str | None = None) -> Ranking:
    """The top and bottom `size` installers (or teams) that `user` may read by metric `code` in one
    period, best first; those below the rule's minimum sample are left out and counted. With
    `team_code`, installers of that team only. One query."""
    item = BY_CODE[code]
    sample_code, rule = SAMPLE[item.base]
    sample = aliased(MetricSnapshot, name="sample")
    query = (
        select(MetricSnapshot, func.coalesce(sample.denominator, 0), User, Team, drillable(user))
        .outerjoin(sample, and_(sample.metric == sample_code, sample.scope_type == MetricSnapshot.scope_type,
                                sample.scope_id == MetricSnapshot.scope_id,
                                sample.period_type == MetricSnapshot.period_type,
                                sample.period_start == MetricSnapshot.period_start))
        .outerjoin(User, and_(MetricSnapshot.scope_type == ScopeType.INSTALLER, User.username == MetricSnapshot.scope_id))
        .outerjoin(Team, and_(MetricSnapshot.scope_type == ScopeType.TEAM, Team.code == MetricSnapshot.scope_id))
        .where(readable(user), MetricSnapshot.metric == code, MetricSnapshot.scope_type == scope_type,
               MetricSnapshot.period_type == period_type, MetricSnapshot.period_start == start,
               MetricSnapshot.value.is_not(None))
    )
    if team_code and scope_type is ScopeType.INSTALLER:
        query = query.where(User.team_id == select(Team.id).where(Team.code == team_code).scalar_subquery())
    result = Ranking(item, scope_type, int(rules[rule]), sample_code)
    placed = []
    for snapshot, sample_size, person, team, drill in db.session.execute(query):
        if sample_size < result.min_sample:
            result.left_out += 1
            continue
        placed.append(Placed(snapshot, int(sample_size), person, team, bool(drill)))
    # Best first: the highest value (lowest where lower is better), the larger sample on a tie.
    sign = 1 if item.lower_is_better else -1
    placed.sort(key=lambda p: (sign * p.snapshot.value, -p.sample, p.snapshot.scope_id))
    result.ranked = len(placed)
    result.top = placed[:size]
    rest = placed[size:]
    result.bottom = list(reversed(rest[-size:]))  # worst first
    return result


@dataclass(frozen=True)
class Behind:
    """A page of the orders behind one figure that the caller may see (by order number), how many
    they may see in all, how many others it counted, and where the next page starts."""

    snapshot: MetricSnapshot | None
    part: str
    orders: list[Any]  # WorkOrder rows, or their numbers (`numbers=True`)
    not_shown: int
    shown: int = 0  # every order behind the figure that the caller may see, on any page
    next_after: str | None = None  # the `after` of the next page; None on the last


def orders_for(user: User, code: str, scope_type: ScopeType, scope_id: str, period_type: PeriodType,
               start: date, part: str, tz: ZoneInfo, limit: int | None = None, after: str | None = None,
               numbers: bool = False) -> Behind:
    """The orders behind one figure's numerator or denominator: the very rows the engine counted
    (`engine.orders_behind`), cut to those `user` may see, in order-number order: `limit` of them
    after the number `after` (a page), as WorkOrder rows or, with `numbers`, their numbers alone;
    NotFound when `user` may not list the orders of that scope. Four queries, whatever the count."""
    if not is_code(code) or part not in PARTS:
        raise NotFound(_("No such figure."))
    if scope_type is ScopeType.COMPANY:
        scope_id = COMPANY_ID
    if not may_drill(user, scope_type, scope_id):
        raise NotFound(_("You may not see the orders behind these figures."))
    # The engine's rows, each with its order, tested with the caller's visibility rule on that order
    # (a semi-join against every order the caller may see hashed all of them: an admin's 2 M).
    behind = orders_behind(code, scope_type, scope_id, period_type, start, tz, part=part)
    visible = visible_orders(user).whereclause
    page = behind if visible is None else behind.where(visible)
    if not numbers:
        page = page.with_only_columns(WorkOrder).options(joinedload(WorkOrder.job_type),
                                                         joinedload(WorkOrder.completed_by))
    if after is not None:
        page = page.where(WorkOrder.number > after)
    if limit is not None:
        page = page.limit(limit + 1)  # one more: is there a next page?
    orders = list(db.session.scalars(page))
    next_after = None
    if limit is not None and len(orders) > limit:
        orders = orders[:limit]
        next_after = orders[-1] if numbers else orders[-1].number
    shown_rows = func.count() if visible is None else func.sum(case((visible, 1), else_=0))
    total, shown = db.session.execute(  # both counts from one pass over the engine's rows
        behind.with_only_columns(func.count(), func.coalesce(shown_rows, 0), maintain_column_froms=True)
        .order_by(None)).one()
    snapshot = db.session.scalar(select(MetricSnapshot).where(
        MetricSnapshot.metric == code, MetricSnapshot.scope_type == scope_type, MetricSnapshot.scope_id == scope_id,
        MetricSnapshot.period_type == period_type, MetricSnapshot.period_start == start))
    return Behind(snapshot, part, orders, total - shown, shown, next_after)


