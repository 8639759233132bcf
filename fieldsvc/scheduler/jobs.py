"""The scheduled jobs, as data: each a name, when APScheduler fires it, the period keys due at an
instant (missed ones included, oldest first) and the work for one key.

The work is a plain function of the domain packages (the metrics engine, the certificate alerts);
this module only says which period each key means. Nothing here commits: `claims.run_once` runs
each key's work in the transaction that marks it done.

Catch-up: `due(now, tz)` lists every key whose time has come within the job's catch-up window,
so after downtime the keys missed are run once each (`claims` skips those done). Jobs whose
latest key covers the earlier ones (today's provisional figures, the alerts, which look at
everything due by their day) list only their latest key."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..metrics.engine import compute_period
from ..snapshots.models import MetricSnapshot, PeriodType
from ..snapshots.periods import next_start, period_start
from .claims import lock_period

# (period key, the instant it became due)
Due = list[tuple[str, datetime]]

SLOT_MINUTES = 15
CATCH_UP_DAYS = 7  # how far back missed daily periods are caught up after downtime


@dataclass(frozen=True)
class Job:
    """One scheduled job: what the admin page calls it, APScheduler's trigger (keyword
    arguments of `add_job`), the keys due at an instant, the work for one key (returns the rows
    it wrote), and how long after a key falls due the health page calls the job late."""

    name: str
    label: Any  # a lazy string: what the health page calls it
    trigger: dict[str, Any]
    due: Callable[[datetime, ZoneInfo], Due]
    work: Callable[[str, datetime, ZoneInfo], int]
    late_after: timedelta = field(default=timedelta(minutes=30))


# --- the keys due at an instant --------------------------------------------------------------------

def slot_key(instant: datetime, tz: ZoneInfo) -> tuple[str, datetime]:
    """The 15-minute slot (local) that `instant` falls in, as a key and its start."""
    local = instant.astimezone(tz)
    start = local.replace(minute=local.minute - local.minute % SLOT_MINUTES, second=0, microsecond=0)
    return start.strftime("%Y-%m-%dT%H:%M"), start


def latest_slot(now: datetime, tz: ZoneInfo) -> Due:
    """Only the current slot: a later slot's run covers everything an earlier one would have."""
    return [slot_key(now, tz)]


def daily(at: time, covers_days_before: int = 1, catch_up_days: int = CATCH_UP_DAYS,
          latest_only: bool = False) -> Callable[[datetime, ZoneInfo], Due]:
    """Keys of a job run every day at local time `at` for the day `covers_days_before` days
    earlier (the key is that day); every run of the last `catch_up_days` whose time has come."""

    def due(now: datetime, tz: ZoneInfo) -> Due:
        today = now.astimezone(tz).date()
        keys: Due = []
        for back in range(catch_up_days, -1, -1):
            run_day = today - timedelta(days=back)
            instant = datetime.combine(run_day, at, tzinfo=tz)
            if instant <= now:
                keys.append(((run_day - timedelta(days=covers_days_before)).isoformat(), instant))
        return keys[-1:] if latest_only else keys

    return due


# --- the work ---------------------------------------------------------------------------------------

def compute(period_type: PeriodType, start: date, now: datetime, tz: ZoneInfo) -> int:
    """One period's figures, locked against another computation of the same period."""
    lock_period("metrics", period_type.value, start.isoformat())
    return compute_period(period_type, start, now, tz)


def today_provisional(key: str, now: datetime, tz: ZoneInfo) -> int:
    """The figures of the slot's day so far (provisional)."""
    return compute(PeriodType.DAY, date.fromisoformat(key[:10]), now, tz)


def day_final(key: str, now: datetime, tz: ZoneInfo) -> int:
    """The day's figures once it is over (final, but for the look-ahead metrics)."""
    return compute(PeriodType.DAY, date.fromisoformat(key), now, tz)


def roll_up(period_type: PeriodType) -> Callable[[str, datetime, ZoneInfo], int]:
    """The week's or month's figures as of the end of the key's day."""

    def work(key: str, now: datetime, tz: ZoneInfo) -> int:
        return compute(period_type, period_start(period_type, date.fromisoformat(key)), now, tz)

    return work


def refresh_windows(key: str, now: datetime, tz: ZoneInfo) -> int:
    """Recompute every period before the key's day whose snapshots are still provisional (repeat
    repairs, early faults, ratings still to come), until they are final — however long the
    scheduler was down, so only the latest key needs to run. The periods holding the key's day
    belong to the day, week and month jobs."""
    day = date.fromisoformat(key)
    table = MetricSnapshot.__table__
    pending = db.session.execute(
        select(table.c.period_type, table.c.period_start).distinct()
        .where(table.c.is_final.is_(False), table.c.period_start < day)
        .order_by(table.c.period_type, table.c.period_start)
    ).all()
    rows = 0
    for period_type, start in pending:
        if start <= day < next_start(period_type, start):
            continue
        rows += compute(period_type, start, now, tz)
    return rows


def certificate_alerts(key: str, now: datetime, tz: ZoneInfo) -> int:
    """The day's certificate alerts (notices sent)."""
    from ..certifications.alerts import certificate_alerts as alerts

    return alerts(date.fromisoformat(key))


def overdue_alerts(key: str, now: datetime, tz: ZoneInfo) -> int:
    """Tell installers and supervisors of the orders that fell overdue (notices sent)."""
    from ..workorders.overdue import overdue_alerts as alerts

    return alerts(now, tz)


def rating_reminders(key: str, now: datetime, tz: ZoneInfo) -> int:
    """Claim the rating reminders due now (texts sent once the run commits)."""
    from ..ratings.reminders import send_reminders

    return send_reminders(now, tz)


def rating_link_expiry(key: str, now: datetime, tz: ZoneInfo) -> int:
    """Mark the rating links that ran out unused."""
    from ..ratings.reminders import mark_expired

    return mark_expired(now)


JOBS: tuple[Job, ...] = (
    Job("metrics_today", _l("Today's figures (provisional, every 15 minutes)"), {"trigger": "cron", "minute": "*/15"}, latest_slot, today_provisional,
        late_after=timedelta(minutes=30)),
    Job("metrics_day", _l("Yesterday's figures (final, 02:00)"), {"trigger": "cron", "hour": 2, "minute": 0}, daily(time(2, 0)), day_final),
    Job("metrics_week", _l("This week's figures (02:10)"), {"trigger": "cron", "hour": 2, "minute": 10}, daily(time(2, 10)), roll_up(PeriodType.WEEK)),
    Job("metrics_month", _l("This month's figures (02:20)"), {"trigger": "cron", "hour": 2, "minute": 20}, daily(time(2, 20)), roll_up(PeriodType.MONTH)),
    Job("metrics_windows", _l("Figures still provisional: repeat repairs, early faults, ratings (03:00)"), {"trigger": "cron", "hour": 3, "minute": 0}, daily(time(3, 0), latest_only=True), refresh_windows,
        late_after=timedelta(hours=1)),
    Job("certificate_alerts", _l("Certificate alerts (07:00)"), {"trigger": "cron", "hour": 7, "minute": 0},
        daily(time(7, 0), covers_days_before=0, latest_only=True), certificate_alerts),
    Job("overdue_alerts", _l("Overdue orders (every 15 minutes)"), {"trigger": "cron", "minute": "*/15"},
        latest_slot, overdue_alerts, late_after=timedelta(minutes=30)),
    Job("rating_reminders", _l("Rating reminders (every 15 minutes)"), {"trigger": "cron", "minute": "*/15"},
        latest_slot, rating_reminders),
    Job("rating_link_expiry", _l("Expired rating links (every 15 minutes)"), {"trigger": "cron", "minute": "*/15"},
        latest_slot, rating_link_expiry),
)


def job(name: str) -> Job:
    """The job called `name`."""
    for item in JOBS:
        if item.name == name:
            return item
    raise KeyError(name)
