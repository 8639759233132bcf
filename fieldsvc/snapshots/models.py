"""One computed figure per (metric, scope, period); recomputing replaces the row with the same key."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, enum_column, utcnow


class ScopeType(enum.Enum):
    INSTALLER = "installer"
    TEAM = "team"
    DISTRICT = "district"
    COMPANY = "company"


class PeriodType(enum.Enum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


# The company scope's one id.
COMPANY_ID = "all"


class MetricSnapshot(Base):
    """One figure for one scope and period; recomputing replaces the row with the same key."""

    __tablename__ = "metric_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    metric: Mapped[str] = mapped_column(String(48))
    scope_type: Mapped[ScopeType] = mapped_column(enum_column(ScopeType, "scope_type"))
    scope_id: Mapped[str] = mapped_column(String(32))  # username / team code / district code / "all"
    period_type: Mapped[PeriodType] = mapped_column(enum_column(PeriodType, "period_type"))
    period_start: Mapped[date]
    numerator: Mapped[float | None]
    denominator: Mapped[int]
    value: Mapped[float | None]  # NULL when the denominator is 0
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    is_final: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (
        UniqueConstraint("metric", "scope_type", "scope_id", "period_type", "period_start"),
        # A period's rows (the engine compares, deletes and counts them) and, within it, one scope's
        # (the Today figures, a scope's page): one range each, whatever the history.
        Index("ix_metric_snapshots_period_scope", "period_type", "period_start", "scope_type", "scope_id"),
        # One metric of every installer over a run of periods as one range (dispatch suggestions
        # read 5 and 13 weeks of a thousand installers), where the unique key walks each scope.
        Index("ix_metric_snapshots_metric_period", "metric", "scope_type", "period_type", "period_start"),
    )
