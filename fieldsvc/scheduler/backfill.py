"""The backfill: every period of a type in a date range computed through the same claims as the
scheduler, so it is resumable (a period done by an earlier backfill is skipped) and safe beside a
running scheduler (two computations of one period run one after the other, `claims.lock_period`)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date
from zoneinfo import ZoneInfo

from ..snapshots.models import PeriodType
from ..snapshots.periods import periods_between, utc_range
from .claims import Outcome, run_once
from .jobs import compute
from .runner import Clock


def backfill_job_name(period_type: PeriodType) -> str:
    """The job-run name a backfill of `period_type` records its periods under."""
    return f"backfill_{period_type.value}"


def backfill(period_type: PeriodType, first: date, last: date, clock: Clock, tz: ZoneInfo, *,
             redo: bool = False, progress: Callable[[date, Outcome], None] | None = None) -> Counter[Outcome]:
    """Compute each period of `period_type` overlapping `first` … `last`, each in its own
    transaction; skips the periods an earlier backfill did, unless `redo` (a period not yet over
    is always computed again: its earlier figures were provisional)."""
    outcomes: Counter[Outcome] = Counter()
    for start in periods_between(period_type, first, last):
        not_over = utc_range(period_type, start, tz)[1] > clock()
        outcome = run_once(backfill_job_name(period_type), start.isoformat(),
                           lambda start=start: compute(period_type, start, clock(), tz), clock,
                           redo=redo or not_over)
        outcomes[outcome] += 1
        if progress is not None:
            progress(start, outcome)
    return outcomes


def period_count(period_type: PeriodType, first: date, last: date) -> int:
    """How many periods a backfill of the range computes (for its progress bar)."""
    return sum(1 for _ in periods_between(period_type, first, last))
