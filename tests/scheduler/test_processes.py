"""The scheduler as real OS processes on the test database: three started at once do each
period's work once; one killed mid-period and started again finishes that period once. Each
process is given its instant through FIELDSVC_SCHEDULER_NOW (the suite's clock does not reach
other processes)."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from fieldsvc.db import zone
from fieldsvc.extensions import db
from fieldsvc.metrics.models import JobRun, JobRunStatus
from fieldsvc.scheduler.jobs import JOBS
from fieldsvc.snapshots.models import MetricSnapshot, PeriodType

from .conftest import completed_order

CLI = "from fieldsvc.cli import main; main()"
# The same CLI, with metrics_day's work made to hang after writing its first period (uncommitted)
# and to touch the file $HANG_SIGNAL, so that the test can kill the process mid-period.
HANGING_CLI = textwrap.dedent("""
    import os, time
    from dataclasses import replace
    import fieldsvc.scheduler.jobs as registry

    def hang(work):
        def hung(key, now, tz):
            work(key, now, tz)
            open(os.environ["HANG_SIGNAL"], "w").close()
            time.sleep(600)
        return hung

    registry.JOBS = tuple(replace(j, work=hang(j.work)) for j in registry.JOBS if j.name == "metrics_day")
    from fieldsvc.cli import main
    main()
""")


def _environment(app: Flask, instant: datetime, **extra: str) -> dict[str, str]:
    return {**os.environ, "FIELDSVC_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "FIELDSVC_SECRET_KEY": "x", "FIELDSVC_SCHEDULER_NOW": instant.isoformat(), **extra}


def _scheduler(app: Flask, instant: datetime, *args: str, script: str = CLI, **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", script, "scheduler", "--once", *args],
                            env=_environment(app, instant, **extra), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _expected_keys(instant: datetime) -> set[tuple[str, str]]:
    return {(job.name, key) for job in JOBS for key, _at in job.due(instant, zone())}


def _runs() -> dict[tuple[str, str], JobRun]:
    db.session.rollback()
    return {(run.name, run.period_key): run for run in db.session.scalars(select(JobRun))}


def _day_snapshots(day) -> int:  # type: ignore[no-untyped-def]
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(MetricSnapshot).where(
        MetricSnapshot.period_type == PeriodType.DAY, MetricSnapshot.period_start == day)) or 0


def test_three_schedulers_at_once_write_each_period_once(app: Flask, app_ctx: Flask, clock) -> None:
    now = datetime.now().astimezone()
    completed_order(now - timedelta(days=1))
    completed_order(now - timedelta(days=3))
    db.session.commit()
    processes = [_scheduler(app, now) for _ in range(3)]
    outputs = [process.communicate(timeout=300) for process in processes]
    for process, (_out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
    runs = _runs()
    assert set(runs) == _expected_keys(now)
    for key, run in runs.items():
        assert (run.status, run.attempts) == (JobRunStatus.SUCCEEDED, 1), (key, run.error)
    # Each key's work was done by exactly one of the three.
    succeeded = sum(int(match) for out, _ in outputs for match in re.findall(r"(\d+) succeeded", out))
    assert succeeded == len(runs)
    # (Three days back: yesterday's final figures wait for 02:00, so before then it has none.)
    assert _day_snapshots(now.astimezone(zone()).date() - timedelta(days=3)) > 0

    # After downtime: two days later, the days missed are caught up once, the others not redone.
    later = now + timedelta(days=2)
    again = _scheduler(app, later)
    _out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    runs = _runs()
    assert set(runs) == _expected_keys(now) | _expected_keys(later)
    assert all(run.attempts == 1 and run.status is JobRunStatus.SUCCEEDED for run in runs.values())


def test_a_scheduler_killed_mid_period_and_restarted_finishes_it_once(app: Flask, app_ctx: Flask, clock,
                                                                       tmp_path: Path) -> None:
    now = datetime.now().astimezone()
    completed_order(now - timedelta(days=8))
    db.session.commit()
    signal_file = tmp_path / "hung"
    hung = _scheduler(app, now, "--lease", "60", script=HANGING_CLI, HANG_SIGNAL=str(signal_file))
    deadline = time.monotonic() + 120
    while not signal_file.exists():
        assert hung.poll() is None, hung.communicate()[1]
        assert time.monotonic() < deadline, "the scheduler never reached the middle of its period"
        time.sleep(0.1)
    hung.send_signal(signal.SIGKILL)
    hung.communicate(timeout=30)

    first_key = min(key for name, key in _expected_keys(now) if name == "metrics_day")
    runs = _runs()
    assert list(runs) == [("metrics_day", first_key)]
    assert runs["metrics_day", first_key].status is JobRunStatus.RUNNING
    assert _day_snapshots(datetime.fromisoformat(first_key).date()) == 0  # its writes died with it

    # Started again before the lease ran out: the claim is left alone.
    early = _scheduler(app, now + timedelta(seconds=30))
    assert early.communicate(timeout=300)[0] and early.returncode == 0
    assert _runs()["metrics_day", first_key].status is JobRunStatus.RUNNING
    # After it: taken over and finished, once.
    restarted = _scheduler(app, now + timedelta(minutes=2))
    _out, err = restarted.communicate(timeout=300)
    assert restarted.returncode == 0, err
    runs = _runs()
    taken = runs["metrics_day", first_key]
    assert (taken.status, taken.attempts) == (JobRunStatus.SUCCEEDED, 2)
    assert _day_snapshots(datetime.fromisoformat(first_key).date()) > 0
    assert all(run.attempts == 1 for key, run in runs.items() if key != ("metrics_day", first_key))
    assert all(run.status is JobRunStatus.SUCCEEDED for run in runs.values())
