"""One pass over the jobs at an instant: every key due, claimed and run once (`claims`). The
scheduler process calls it from its triggers; `fieldsvc scheduler --once` and the tests call it
directly. The instant comes from one injectable clock."""
from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..db import utcnow
from ..extensions import db
from ..metrics.models import JobRun, JobRunStatus
from . import jobs as registry
from .claims import DEFAULT_LEASE, Outcome, run_once
from .jobs import Job

log = logging.getLogger(__name__)

# For tests only: a fixed instant (ISO 8601 with an offset) the scheduler process takes as "now",
# so a test can run `fieldsvc scheduler --once` at a chosen instant in another process.
CLOCK_VARIABLE = "FIELDSVC_SCHEDULER_NOW"

Clock = Callable[[], datetime]


def clock_from_environment() -> Clock:
    """The process's clock: the machine's, or the fixed instant FIELDSVC_SCHEDULER_NOW (tests)."""
    value = os.environ.get(CLOCK_VARIABLE)
    if not value:
        return utcnow
    fixed = datetime.fromisoformat(value)
    if fixed.tzinfo is None:
        raise ValueError(f"{CLOCK_VARIABLE} needs an offset, e.g. 2026-03-16T10:30:00+08:00")
    return lambda: fixed


def _done(name: str, keys: list[str]) -> set[str]:
    """Which of a job's keys have succeeded (one read, before claiming the others)."""
    if not keys:
        return set()
    done = set(db.session.scalars(select(JobRun.period_key).where(
        JobRun.name == name, JobRun.period_key.in_(keys), JobRun.status == JobRunStatus.SUCCEEDED)))
    db.session.rollback()
    return done


def run_due(clock: Clock, tz: ZoneInfo, jobs: Iterable[Job] | None = None,
            lease: timedelta = DEFAULT_LEASE) -> Counter[Outcome]:
    """Run every key of `jobs` (by default all) due at the clock's instant that is not done yet,
    oldest first; how many ran to each outcome."""
    outcomes: Counter[Outcome] = Counter()
    for job in registry.JOBS if jobs is None else jobs:
        due = [key for key, _at in job.due(clock(), tz)]
        done = _done(job.name, due)
        for key in due:
            if key in done:
                continue
            outcome = run_once(job.name, key, lambda job=job, key=key: job.work(key, clock(), tz), clock, lease=lease)
            outcomes[outcome] += 1
            if outcome is not Outcome.SKIPPED:
                log.info("job %s %s: %s", job.name, key, outcome.value)
    return outcomes
