"""Metric snapshots and the record of each scheduled job run (the dated rules they follow are in
fieldsvc.rules)."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Index, String, Text, UniqueConstraint
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


class JobRunStatus(enum.Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


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
        Index("ix_metric_snapshots_scope_period", "scope_type", "period_type", "period_start"),
    )


class JobRun(Base):
    """One execution of a scheduled job; (name, period_key) unique makes each period's work run once."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    period_key: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    status: Mapped[JobRunStatus] = mapped_column(enum_column(JobRunStatus, "job_run_status"), default=JobRunStatus.RUNNING)
    rows_written: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(128))

    __table_args__ = (
        UniqueConstraint("name", "period_key"),
        Index("ix_job_runs_started_at", "started_at"),
    )
