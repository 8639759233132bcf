"""The exactly-once core: claims, leases, take-over, and the mark that commits with the work."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from fieldsvc.db import zone
from fieldsvc.extensions import db
from fieldsvc.metrics.models import JobRun, JobRunStatus
from fieldsvc.scheduler.claims import DEFAULT_LEASE, RETRY_AFTER, Outcome, claim, run_claimed, run_once
from fieldsvc.scheduler.jobs import compute
from fieldsvc.snapshots.models import COMPANY_ID, MetricSnapshot, PeriodType, ScopeType

from .conftest import completed_order

pytestmark = pytest.mark.usefixtures("app_ctx")


def _write_marker(value: float) -> int:
    db.session.add(MetricSnapshot(metric="marker", scope_type=ScopeType.COMPANY, scope_id=f"{COMPANY_ID}{value}",
                                  period_type=PeriodType.DAY, period_start=date(2026, 1, 1),
                                  numerator=None, denominator=1, value=value))
    db.session.flush()
    return 1


def _markers() -> list[float]:
    db.session.rollback()
    return list(db.session.scalars(select(MetricSnapshot.value).where(MetricSnapshot.metric == "marker")))


def _run(name: str = "job", key: str = "k") -> JobRun:
    db.session.rollback()
    return db.session.scalar(select(JobRun).where(JobRun.name == name, JobRun.period_key == key))


def test_a_period_runs_once_and_is_recorded(fixed_clock) -> None:
    assert run_once("job", "k", lambda: _write_marker(1.0), fixed_clock) is Outcome.SUCCEEDED
    assert run_once("job", "k", lambda: _write_marker(2.0), fixed_clock) is Outcome.SKIPPED
    fixed_clock.advance(timedelta(days=1))  # done is done, whenever asked again
    assert run_once("job", "k", lambda: _write_marker(3.0), fixed_clock) is Outcome.SKIPPED
    assert _markers() == [1.0]
    run = _run()
    assert (run.status, run.rows_written, run.attempts, run.error) == (JobRunStatus.SUCCEEDED, 1, 1, None)
    assert run.started_at <= run.finished_at and run.host and run.lease_expires_at is None


def test_a_live_claim_is_not_taken_and_an_expired_one_is(fixed_clock) -> None:
    first = claim("job", "k", fixed_clock())
    assert first is not None
    assert claim("job", "k", fixed_clock()) is None
    fixed_clock.advance(DEFAULT_LEASE - timedelta(seconds=1))
    assert claim("job", "k", fixed_clock()) is None
    fixed_clock.advance(timedelta(seconds=1))
    second = claim("job", "k", fixed_clock())
    assert second is not None and second.token != first.token and second.run_id == first.run_id
    assert _run().attempts == 2


def test_a_process_whose_claim_was_taken_over_cannot_mark_it_done(fixed_clock) -> None:
    slow = claim("job", "k", fixed_clock())
    fixed_clock.advance(DEFAULT_LEASE)
    quick = claim("job", "k", fixed_clock())
    assert run_claimed(quick, lambda: _write_marker(2.0), fixed_clock) is Outcome.SUCCEEDED
    # The slow one finishes after all: its work is rolled back, the record stays the other's.
    assert run_claimed(slow, lambda: _write_marker(1.0), fixed_clock) is Outcome.LOST
    assert _markers() == [2.0]
    run = _run()
    assert run.status is JobRunStatus.SUCCEEDED and run.rows_written == 1


def test_an_exception_mid_period_leaves_the_previous_snapshot_intact(fixed_clock) -> None:
    tz = zone()
    day = fixed_clock().astimezone(tz).date() - timedelta(days=1)
    completed_order(fixed_clock() - timedelta(days=1))
    db.session.commit()
    assert run_once("first", day.isoformat(), lambda: compute(PeriodType.DAY, day, fixed_clock(), tz),
                    fixed_clock) is Outcome.SUCCEEDED

    def company_completed() -> tuple[float | None, int]:
        db.session.rollback()
        row = db.session.execute(select(MetricSnapshot.value, func.count()).where(
            MetricSnapshot.metric == "completed_orders", MetricSnapshot.scope_type == ScopeType.COMPANY,
            MetricSnapshot.period_start == day).group_by(MetricSnapshot.value)).one()
        return row[0], db.session.scalar(select(func.count()).select_from(MetricSnapshot))

    before = company_completed()
    assert before[0] == 1.0
    completed_order(fixed_clock() - timedelta(days=1, minutes=5))
    db.session.commit()

    def fails_midway() -> int:
        compute(PeriodType.DAY, day, fixed_clock(), tz)  # writes the new figures…
        raise RuntimeError("injected failure")  # …then the period's work fails

    fixed_clock.advance(timedelta(minutes=1))
    assert run_once("second", day.isoformat(), fails_midway, fixed_clock) is Outcome.FAILED
    assert company_completed() == before
    run = _run("second", day.isoformat())
    assert run.status is JobRunStatus.FAILED and "injected failure" in run.error

    # Retried once its retry time has come, not before; then the new figure lands.
    work = lambda: compute(PeriodType.DAY, day, fixed_clock(), tz)  # noqa: E731
    assert run_once("second", day.isoformat(), work, fixed_clock) is Outcome.SKIPPED
    fixed_clock.advance(RETRY_AFTER)
    assert run_once("second", day.isoformat(), work, fixed_clock) is Outcome.SUCCEEDED
    assert company_completed()[0] == 2.0
    run = _run("second", day.isoformat())
    assert (run.status, run.attempts, run.error) == (JobRunStatus.SUCCEEDED, 2, None)


def test_redo_takes_a_finished_run_but_never_a_live_claim(fixed_clock) -> None:
    assert run_once("job", "k", lambda: _write_marker(1.0), fixed_clock) is Outcome.SUCCEEDED
    db.session.execute(MetricSnapshot.__table__.delete())
    db.session.commit()
    assert run_once("job", "k", lambda: _write_marker(2.0), fixed_clock, redo=True) is Outcome.SUCCEEDED
    assert _markers() == [2.0]
    assert claim("job", "live", fixed_clock()) is not None
    assert claim("job", "live", fixed_clock(), redo=True) is None
