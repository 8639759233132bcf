"""The record of each scheduled job run (the snapshots they write are in fieldsvc.snapshots, the
dated rules they follow in fieldsvc.rules)."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, enum_column, utcnow


class JobRunStatus(enum.Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class JobRun(Base):
    """One execution of a scheduled job; (name, period_key) unique makes each period's work run once.

    A process claims the row (`claim_token`, `lease_expires_at`) before it works; another takes the
    claim over only once the lease has expired, and only the holder of the token marks it done
    (fieldsvc.scheduler.claims). `attempts` counts the claims, so a taken-over or retried run shows."""

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
    claim_token: Mapped[str | None] = mapped_column(String(32))
    lease_expires_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=1, server_default="1")

    __table_args__ = (
        UniqueConstraint("name", "period_key"),
        Index("ix_job_runs_started_at", "started_at"),
    )
