"""Reading stored figures: sums of snapshots over a run of periods, for the scopes a caller names.
A rate over several periods is the sum of their numerators over the sum of their denominators
(never a mean of the periods' rates), so the figure is the one the engine would have computed
over the whole range."""
from __future__ import annotations

from datetime import date

from sqlalchemy import Select, func, select

from ..extensions import db
from .models import MetricSnapshot, PeriodType, ScopeType


def summed(metric: str, scope_type: ScopeType, scope_ids: Select[tuple[str]], period_type: PeriodType,
           first: date, last: date) -> dict[str, tuple[float, int]]:
    """(numerator, denominator) of `metric` summed over the periods of type `period_type` starting
    `first` … `last`, per scope id of the subquery `scope_ids` that has a snapshot among them: one
    range of the (metric, scope type, period type, period start) index for all of them."""
    rows = db.session.execute(
        select(MetricSnapshot.scope_id, func.sum(MetricSnapshot.numerator), func.sum(MetricSnapshot.denominator))
        .where(MetricSnapshot.metric == metric, MetricSnapshot.scope_type == scope_type,
               MetricSnapshot.scope_id.in_(scope_ids), MetricSnapshot.period_type == period_type,
               MetricSnapshot.period_start >= first, MetricSnapshot.period_start <= last)
        .group_by(MetricSnapshot.scope_id)
    ).all()
    return {scope_id: (float(numerator or 0), int(denominator or 0)) for scope_id, numerator, denominator in rows}
