"""Calendar periods in the operator's time zone (a day, an ISO week from Monday, a month) and the
UTC half-open range each covers, so one indexed range scan serves SQLite and PostgreSQL."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .models import PeriodType


def period_start(period: PeriodType, day: date) -> date:
    """The first day of the period of type `period` that contains `day`."""
    if period is PeriodType.WEEK:
        return day - timedelta(days=day.weekday())
    if period is PeriodType.MONTH:
        return day.replace(day=1)
    return day


def next_start(period: PeriodType, start: date) -> date:
    """The first day of the period after the one starting on `start`."""
    if period is PeriodType.WEEK:
        return start + timedelta(days=7)
    if period is PeriodType.MONTH:
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=1)


def period_end(period: PeriodType, start: date) -> date:
    """The last day of the period starting on `start`."""
    return next_start(period, start) - timedelta(days=1)


def is_period_start(period: PeriodType, day: date) -> bool:
    """Whether `day` starts a period of its type (a Monday for a week, the 1st for a month)."""
    return period_start(period, day) == day


def utc_range(period: PeriodType, start: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC half-open range [from, to) of the local period starting on `start`."""
    begin = datetime.combine(start, time.min, tzinfo=tz)
    end = datetime.combine(next_start(period, start), time.min, tzinfo=tz)
    return begin.astimezone(UTC), end.astimezone(UTC)


def periods_between(period: PeriodType, first: date, last: date) -> Iterator[date]:
    """The start of every period of type `period` that overlaps the days `first` … `last`."""
    start = period_start(period, first)
    while start <= last:
        yield start
        start = next_start(period, start)
