"""The dedicated scheduler process: APScheduler 3's BlockingScheduler firing each job of
`jobs.JOBS` on its trigger, plus a catch-up pass at start and every few minutes (missed periods,
expired leases, failed runs due for their retry). Started only by `fieldsvc scheduler`, never in
a web worker: each worker would run every job (the claims would keep the figures right, but the
work would be attempted once per worker)."""
from __future__ import annotations

import logging
import signal
from datetime import timedelta
from typing import Any

from flask import Flask

from ..db import zone
from . import jobs as registry
from .claims import DEFAULT_LEASE
from .runner import Clock, run_due

log = logging.getLogger(__name__)

CATCH_UP_MINUTES = 5


def serve(app: Flask, clock: Clock, lease: timedelta = DEFAULT_LEASE) -> None:
    """Run the scheduler until SIGTERM or Ctrl-C: one job at a time, each in an app context."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler

    tz = zone(app.config["TIMEZONE"])

    def tick(names: tuple[str, ...]) -> None:
        with app.app_context():
            try:
                run_due(clock, tz, [registry.job(name) for name in names], lease=lease)
            finally:
                from ..extensions import db

                db.session.remove()

    scheduler = BlockingScheduler(
        timezone=tz,
        executors={"default": ThreadPoolExecutor(1)},  # one job at a time: the database sees one writer
        # A fire missed while another job ran is run once, late; catch-up covers longer gaps.
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    for item in registry.JOBS:
        scheduler.add_job(tick, id=item.name, args=[(item.name,)], **item.trigger)
    every = tuple(item.name for item in registry.JOBS)
    scheduler.add_job(tick, "interval", minutes=CATCH_UP_MINUTES, id="catch_up", args=[every],
                      next_run_time=clock())

    def stop(*_args: Any) -> None:
        log.info("scheduler stopping")
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    log.info("scheduler started: %s", ", ".join(every))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
