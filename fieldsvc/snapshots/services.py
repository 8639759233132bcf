"""Reading stored figures: sums of snapshots over runs of periods, for the scopes a caller names.
A rate over several periods is the sum of their numerators over the sum of their denominators
(never a mean of the periods' rates), so the figure is the one the engine would have computed
over the whole range."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select

from ..extensions import db
from .models import MetricSnapshot, PeriodType, ScopeType


def sums(scope_type: ScopeType, scope_ids: Select[tuple[str]], period_type: PeriodType,
         windows: Sequence[tuple[str, date, date]]) -> Select[Any]:
    """A SELECT of (scope_id, numerator_0, denominator_0, numerator_1, …): for each scope id of the
    subquery `scope_ids` that has a snapshot in one of the `windows` (metric, first, last), that
    metric summed over its periods of type `period_type` starting `first` … `last` (NULL where it
    has none), window by window. One range of the (metric, scope type, period type, period start)
    index per window, summed per scope in one pass: a caller may join it as a subquery."""
    in_window = [and_(MetricSnapshot.metric == metric, MetricSnapshot.period_start >= first,
                      MetricSnapshot.period_start <= last) for metric, first, last in windows]
    # A row is in at most one window of each metric: the WHERE keeps only rows in some window, so
    # within it the metric alone says whose sums a row adds to (windows of one metric would overlap).
    metrics = [metric for metric, _first, _last in windows]
    alone = len(set(metrics)) == len(metrics)
    columns: list[Any] = []
    for i, (condition, metric) in enumerate(zip(in_window, metrics, strict=True)):
        which = MetricSnapshot.metric == metric if alone else condition
        columns += [func.sum(case((which, MetricSnapshot.numerator))).label(f"numerator_{i}"),
                    func.sum(case((which, MetricSnapshot.denominator))).label(f"denominator_{i}")]
    return (
        select(MetricSnapshot.scope_id, *columns)
        .where(MetricSnapshot.scope_type == scope_type, MetricSnapshot.period_type == period_type,
               MetricSnapshot.scope_id.in_(scope_ids), or_(*in_window))
        .group_by(MetricSnapshot.scope_id)
    )


def summed(scope_type: ScopeType, scope_ids: Select[tuple[str]], period_type: PeriodType,
           windows: Sequence[tuple[str, date, date]]) -> dict[str, list[tuple[float, int]]]:
    """`sums` read: {scope id: [(numerator, denominator) of each window, (0, 0) where none]}."""
    pairs = range(1, 2 * len(windows), 2)
    return {row[0]: [(float(row[i] or 0), int(row[i + 1] or 0)) for i in pairs]
            for row in db.session.execute(sums(scope_type, scope_ids, period_type, windows))}
