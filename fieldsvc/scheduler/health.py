"""What the admin's scheduler health page shows: per job its latest run (period, start, duration,
status, rows, attempts), its failures over the last week, and whether it is late — a period due
(a missed one included) has not succeeded although it fell due longer ago than the job allows. Three queries,
whatever the number of runs."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, tuple_

from ..extensions import db
from ..metrics.models import JobRun, JobRunStatus
from .jobs import JOBS, Job

FAILURE_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class JobHealth:
    """One job's state on the health page."""

    job: Job
    last: JobRun | None
    failures: int
    late_key: str | None  # the period due but not done, when the job is late
    late_since: datetime | None

    @property
    def duration(self) -> timedelta | None:
        """How long the latest run took (None while it runs)."""
        if self.last is None or self.last.finished_at is None:
            return None
        return self.last.finished_at - self.last.started_at


def job_health(now: datetime, tz: ZoneInfo) -> list[JobHealth]:
    """The health of every scheduled job at `now`, in the order of the job list."""
    names = [job.name for job in JOBS]
    newest = (select(JobRun.name, func.max(JobRun.started_at).label("started_at"))
              .where(JobRun.name.in_(names)).group_by(JobRun.name).subquery())
    last = {run.name: run for run in db.session.scalars(
        select(JobRun).join(newest, and_(JobRun.name == newest.c.name, JobRun.started_at == newest.c.started_at))
        .order_by(JobRun.id))}
    failures = dict(db.session.execute(
        select(JobRun.name, func.count()).where(
            JobRun.name.in_(names), JobRun.started_at >= now - FAILURE_WINDOW,
            or_(JobRun.status == JobRunStatus.FAILED, JobRun.attempts > 1))
        .group_by(JobRun.name)).all())
    due = {job.name: job.due(now, tz) for job in JOBS}
    wanted = [(name, key) for name, keys in due.items() for key, _at in keys]
    done = set(tuple(row) for row in db.session.execute(select(JobRun.name, JobRun.period_key).where(
        JobRun.status == JobRunStatus.SUCCEEDED, tuple_(JobRun.name, JobRun.period_key).in_(wanted),
    )).all()) if wanted else set()
    rows = []
    for job in JOBS:
        # Late: the oldest period due (missed ones included) that has not succeeded in its time.
        overdue = [(key, at) for key, at in due[job.name] if (job.name, key) not in done and now - at > job.late_after]
        key, at = overdue[0] if overdue else (None, None)
        rows.append(JobHealth(job, last.get(job.name), int(failures.get(job.name, 0)), key, at))
    return rows
