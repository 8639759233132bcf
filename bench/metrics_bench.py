"""Metrics-engine benchmark (issue #12 item 7): `compute_period` against a hand-written SQL
reference over the same rows, timed side by side in the same run (this VM's speed drifts by ±20 %
within minutes, so only ratios of one run are compared).

    python bench/metrics_bench.py --database-url URL [--small-url URL] [--backfill-days 730]

- day: one day's metrics for all scopes (`compute_period(DAY, …)` and its commit) against one
  hand-written aggregate of the same day's completed orders per installer (a count and a couple
  of sums, what a person would write), interleaved, `--rounds` each;
- history: the same day's `compute_period` on a database with a tenth of the history
  (`--small-url`, e.g. `fieldsvc seed-demo --days 73`), interleaved with the big one;
- statements per `compute_period`, counted with a `before_cursor_execute` listener, for several
  days, a week and a month;
- backfill: every day of the last `--backfill-days` (one transaction per day, as the scheduler
  does), its wall time against one set-based statement over all of it (the reference aggregate
  grouped by installer and local day), and the process's resident memory before, during and
  after (from /proc/self/statm).

Give it databases seeded by `fieldsvc seed-demo` (bench/README.md: the 2 M-order one is
`--installers 1000 --days 730`); it writes metric snapshots into them and nothing else.
"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    """This process's resident set now (Linux /proc/self/statm: pages)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[94] if len(values) > 1 else values[0]


def ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:7.1f} ms, p95 {p95(values) * 1000:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="the 2 M-order database")
    parser.add_argument("--small-url", help="the same branch with a tenth of the history")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--days-back", type=int, default=14, help="the day measured: this many days before the last")
    parser.add_argument("--backfill-days", type=int, default=730, help="0: no backfill")
    parser.add_argument("--no-backfill-write-floor", dest="backfill_write_floor", action="store_false",
                        help="skip writing a copy of the backfill's rows in one statement (PostgreSQL: ~5 min for 730 days)")
    args = parser.parse_args()
    os.environ["FIELDSVC_DATABASE_URL"] = args.database_url
    os.environ.setdefault("FIELDSVC_SECRET_KEY", "bench")

    from sqlalchemy import event, text

    from fieldsvc import create_app
    from fieldsvc.db import utcnow, zone
    from fieldsvc.extensions import db
    from fieldsvc.metrics.engine import Period, compute_period
    from fieldsvc.snapshots.models import PeriodType
    from fieldsvc.snapshots.periods import period_start

    app = create_app({"RATELIMIT_ENABLED": False})
    with app.app_context():
        tz = zone()
    small_app = create_app({"RATELIMIT_ENABLED": False, "SQLALCHEMY_DATABASE_URI": args.small_url}) if args.small_url else None
    gc.freeze()

    def reference(period: Period, per_day: bool = False) -> str:
        """The hand-written aggregate: completed orders per installer (and local day), with the
        first-visit and on-time sums."""
        postgres = db.engine.dialect.name == "postgresql"
        local_day = ("date(completed_at AT TIME ZONE :zone)" if postgres
                     else "date(completed_at, :offset)")
        group = f"completed_by_id, {local_day}" if per_day else "completed_by_id"
        return (f"SELECT {group}, count(*), sum(CASE WHEN visit_count = 1 THEN 1 ELSE 0 END), "
                "sum(CASE WHEN completed_at <= due_by THEN 1 ELSE 0 END) FROM work_orders "
                "WHERE status = 'completed' AND completed_at >= :begins AND completed_at < :ends "
                f"GROUP BY {group}")

    def full_reference(per_day: bool = False) -> str:
        """A hand-written aggregate of every order metric per installer (first visits, the
        deadline, the booked window, repeat repairs and early faults, ratings, hours, readings):
        what the engine reads, for one scope, without writing anything (PostgreSQL)."""
        return """
SELECT o.completed_by_id, count(*), sum(CASE WHEN o.visit_count >= 1 THEN 1 ELSE 0 END),
  sum(CASE WHEN v.outcome = 'resolved' THEN 1 ELSE 0 END),
  sum(CASE WHEN v.appointment_start IS NOT NULL AND v.arrived_at BETWEEN v.appointment_start AND v.appointment_end
      THEN 1 ELSE 0 END),
  sum(CASE WHEN o.completed_at <= o.due_by THEN 1 ELSE 0 END),
  sum(CASE WHEN t.is_repair AND EXISTS (SELECT 1 FROM work_orders r JOIN job_types rt ON rt.id = r.job_type_id
      WHERE rt.is_repair AND r.customer_id = o.customer_id AND r.id <> o.id AND r.created_at > o.completed_at
      AND r.created_at <= o.completed_at + interval '30 days') THEN 1 ELSE 0 END),
  sum(CASE WHEN t.is_install AND EXISTS (SELECT 1 FROM work_orders r JOIN job_types rt ON rt.id = r.job_type_id
      WHERE rt.is_repair AND r.customer_id = o.customer_id AND r.created_at > o.completed_at
      AND r.created_at <= o.completed_at + interval '15 days') THEN 1 ELSE 0 END),
  sum(CASE WHEN EXISTS (SELECT 1 FROM survey_responses s WHERE s.work_order_id = o.id) THEN 1 ELSE 0 END),
  sum(extract(epoch FROM o.completed_at - o.created_at)),
  sum(CASE WHEN (o.evidence ->> 'rx_power_dbm')::float BETWEEN -27 AND -8 THEN 1 ELSE 0 END)
FROM work_orders o JOIN job_types t ON t.id = o.job_type_id
LEFT JOIN visits v ON v.work_order_id = o.id AND v.seq = 1
WHERE o.status = 'completed' AND o.completed_at >= :begins AND o.completed_at < :ends
GROUP BY o.completed_by_id""" + (", date(o.completed_at AT TIME ZONE :zone)" if per_day else "")

    # What a person would write by hand for the other rows the engine's figures count since #15
    # and the follow-ups (one installer scope each, writing nothing): the ratings submitted in the
    # day, the follow-ups opened, the visits under a standard left (is every required step ticked
    # by then?) and the support requests raised. With `full_reference` they are every base.
    other_references = [
        """SELECT s.installer_id, count(*), sum(CASE WHEN s.score >= 3 THEN 1 ELSE 0 END),
  sum(CASE WHEN s.score = 5 THEN 1 ELSE 0 END), sum(CASE WHEN s.score <= 2 THEN 1 ELSE 0 END), sum(s.score)
FROM survey_responses s JOIN work_orders o ON o.id = s.work_order_id
WHERE s.submitted_at >= :begins AND s.submitted_at < :ends GROUP BY s.installer_id""",
        """SELECT f.installer_id, count(*), sum(CASE WHEN f.contacted_at <= f.contact_due_at THEN 1 ELSE 0 END),
  sum(CASE WHEN f.status = 'closed' THEN 1 ELSE 0 END), sum(CASE WHEN f.outcome = 'resolved' THEN 1 ELSE 0 END)
FROM follow_ups f JOIN work_orders o ON o.id = f.work_order_id
WHERE f.opened_at >= :begins AND f.opened_at < :ends GROUP BY f.installer_id""",
        """SELECT v.installer_id, count(*), sum(CASE WHEN NOT EXISTS (
    SELECT 1 FROM standard_steps st WHERE st.version_id = os.version_id AND st.is_required
      AND (st.phase <> 'at_completion' OR v.outcome = 'resolved')
      AND NOT EXISTS (SELECT 1 FROM step_ticks t WHERE t.work_order_id = v.work_order_id AND t.code = st.code
                      AND t.ticked_at <= v.left_at)) THEN 1 ELSE 0 END)
FROM visits v JOIN order_standards os ON os.work_order_id = v.work_order_id JOIN work_orders o ON o.id = v.work_order_id
WHERE v.left_at >= :begins AND v.left_at < :ends GROUP BY v.installer_id""",
        """SELECT r.installer_id, count(*), sum(CASE WHEN r.first_reply_at <= r.reply_due_at THEN 1 ELSE 0 END),
  sum(extract(epoch FROM r.first_reply_at - r.raised_at))
FROM support_requests r JOIN work_orders o ON o.id = r.work_order_id
WHERE r.raised_at >= :begins AND r.raised_at < :ends GROUP BY r.installer_id""",
    ]

    def run_every_base_reference(period: Period) -> float:
        """`full_reference` and the other bases' references, one after another in one transaction."""
        values = {"begins": period.begins, "ends": period.ends, "zone": str(tz)}
        started = time.perf_counter()
        for sql in (full_reference(), *other_references):
            db.session.execute(text(sql), values).all()
        db.session.commit()
        return time.perf_counter() - started

    def run_full_reference(period: Period, per_day: bool = False) -> float:
        started = time.perf_counter()
        db.session.execute(text(full_reference(per_day)),
                           {"begins": period.begins, "ends": period.ends, "zone": str(tz)}).all()
        db.session.commit()
        return time.perf_counter() - started

    def run_write_floor(first: date, last: date) -> tuple[float, int]:
        """Writing the snapshot rows of the days `first` to `last` and nothing else, in one
        statement: a plain INSERT … SELECT of a copy of them, a century later, into
        metric_snapshots (with its indexes and its unique key), rolled back. The least a first
        computation of those days pays on this schema (one row per metric, scope and period:
        PRODUCT.md §2) beyond reading, whatever computes the figures and however many statements
        it takes. Returns the seconds and the rows written."""
        later = "date(period_start, '+100 years')" if dialect == "sqlite" else "period_start + 36525"
        if dialect == "postgresql":  # a backfill's copy takes minutes, not the app's 30 s a statement
            db.session.execute(text("SET LOCAL statement_timeout = 0"))
        started = time.perf_counter()
        rows = db.session.execute(text(
            "INSERT INTO metric_snapshots (metric, scope_type, scope_id, period_type, period_start, numerator, "
            "denominator, value, computed_at, is_final) SELECT metric, scope_type, scope_id, period_type, "
            f"{later}, numerator, denominator, value, computed_at, is_final FROM metric_snapshots "
            "WHERE period_type = 'day' AND period_start BETWEEN :first AND :last"),
            {"first": first, "last": last}).rowcount
        seconds = time.perf_counter() - started
        db.session.rollback()
        return seconds, rows

    def run_reference(period: Period, per_day: bool = False) -> tuple[float, int]:
        hours = int(period.begins.astimezone(tz).utcoffset().total_seconds() // 3600)  # SQLite: a fixed offset
        started = time.perf_counter()
        rows = db.session.execute(text(reference(period, per_day)),
                                  {"begins": period.begins, "ends": period.ends, "zone": str(tz),
                                   "offset": f"{hours:+d} hours"}).all()
        db.session.commit()
        return time.perf_counter() - started, len(rows)

    def run_day(day: date, fresh: bool = False) -> float:
        """One day's compute_period and its commit: a recompute (what the 15-minute job does), or
        with `fresh` the first computation (the day's snapshots deleted beforehand, untimed)."""
        if fresh:
            db.session.execute(text("DELETE FROM metric_snapshots WHERE period_type = 'day' AND period_start = :d"),
                               {"d": day})
            db.session.commit()
        started = time.perf_counter()
        compute_period(PeriodType.DAY, day, utcnow(), tz)
        db.session.commit()
        return time.perf_counter() - started

    with app.app_context():
        dialect = db.engine.dialect.name
        last = db.session.scalar(text("SELECT max(completed_at) FROM work_orders"))
        if isinstance(last, str):  # SQLite
            from datetime import datetime
            last = datetime.fromisoformat(last)
        last_day = last.astimezone(tz).date() if last.tzinfo else last.date()
        day = last_day - timedelta(days=args.days_back)
        period = Period.of(PeriodType.DAY, day, tz)
        total = db.session.scalar(text("SELECT count(*) FROM work_orders"))
        in_day = db.session.scalar(text("SELECT count(*) FROM work_orders WHERE status = 'completed' AND "
                                        "completed_at >= :b AND completed_at < :e"),
                                   {"b": period.begins, "e": period.ends})
        print(f"{dialect}: {total:,} orders; the day {day}: {in_day:,} completed")

        # --- statements per period ---------------------------------------------------------
        statements: list[str] = []
        listener = lambda *a: statements.append(a[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        counts = {}
        for label, kind, start in [("day", PeriodType.DAY, day), ("day - 1", PeriodType.DAY, day - timedelta(days=1)),
                                   ("day - 300", PeriodType.DAY, day - timedelta(days=300)),
                                   ("week", PeriodType.WEEK, period_start(PeriodType.WEEK, day - timedelta(days=7))),
                                   ("month", PeriodType.MONTH, period_start(PeriodType.MONTH, day - timedelta(days=40)))]:
            statements.clear()
            started = time.perf_counter()
            rows = compute_period(kind, start, utcnow(), tz)
            db.session.commit()
            counts[label] = len(statements)
            print(f"  {label:<10} {start}: {len(statements)} statements, "
                  f"{rows:,} snapshot rows, {(time.perf_counter() - started) * 1000:.0f} ms")
        event.remove(db.engine, "before_cursor_execute", listener)

        # --- one day against the hand-written aggregate ------------------------------------
        engine_times, fresh_times, reference_times, full_times, write_times, every_times = [], [], [], [], [], []
        run_day(day), run_reference(period)  # warm
        for _ in range(args.rounds):
            engine_times.append(run_day(day))
            fresh_times.append(run_day(day, fresh=True))
            write_times.append(run_write_floor(day, day)[0])
            seconds, installers = run_reference(period)
            reference_times.append(seconds)
            if dialect == "postgresql":
                full_times.append(run_full_reference(period))
                every_times.append(run_every_base_reference(period))
        reference_median = statistics.median(reference_times)
        if full_times:
            full_median = statistics.median(full_times)
            print(f"day, hand-written, every order metric per installer: {ms(full_times)}; recomputed "
                  f"{statistics.median(engine_times) / full_median:.2f}x, first time "
                  f"{statistics.median(fresh_times) / full_median:.2f}x of it")
            every_median = statistics.median(every_times)
            print(f"day, hand-written, every base (orders, ratings, follow-ups, visits, support): {ms(every_times)}; "
                  f"recomputed {statistics.median(engine_times) / every_median:.2f}x of it")
            floor = full_median + statistics.median(write_times)
            print(f"day, writing its rows alone (plain INSERT): {ms(write_times)}; first time "
                  f"{statistics.median(fresh_times) / floor:.2f}x of the hand-written aggregate plus that write")
        print(f"day, compute_period, recomputed : {ms(engine_times)}")
        print(f"day, compute_period, first time : {ms(fresh_times)}")
        print(f"day, hand-written               : {ms(reference_times)} ({installers} installers)")
        print(f"day ratio (medians)             : recomputed {statistics.median(engine_times) / reference_median:.2f}x, "
              f"first time {statistics.median(fresh_times) / reference_median:.2f}x")

    # --- history: the same day on a tenth of the history -----------------------------------
    if small_app is not None:
        big, small = [], []
        with small_app.app_context():
            small_count = db.session.scalar(text("SELECT count(*) FROM work_orders"))
            small_in_day = db.session.scalar(text("SELECT count(*) FROM work_orders WHERE status = 'completed' AND "
                                                  "completed_at >= :b AND completed_at < :e"),
                                             {"b": period.begins, "e": period.ends})
            run_day(day)
        for _ in range(args.rounds):
            with app.app_context():
                big.append(run_day(day))
            with small_app.app_context():
                small.append(run_day(day))
        print(f"history: {total:,} orders: {ms(big)}; {small_count:,} orders ({small_in_day:,} that day): {ms(small)}")
        print(f"history ratio (medians, big / small): {statistics.median(big) / statistics.median(small):.2f}x")

    # --- the backfill ----------------------------------------------------------------------
    if args.backfill_days:
        with app.app_context():
            first = last_day - timedelta(days=args.backfill_days - 1)
            whole = Period(PeriodType.DAY, first, Period.of(PeriodType.DAY, first, tz).begins,
                           Period.of(PeriodType.DAY, last_day, tz).ends)
            before = rss_mb()
            peak = after_ten = before
            started = time.perf_counter()
            slowest = 0.0
            for n in range(args.backfill_days):
                slowest = max(slowest, run_day(first + timedelta(days=n)))
                if n == 9:
                    after_ten = rss_mb()
                peak = max(peak, rss_mb())
            backfill = time.perf_counter() - started
            after = rss_mb()
            reference_seconds, groups = run_reference(whole, per_day=True)
            print(f"backfill {args.backfill_days} days: {backfill:.1f} s (slowest day {slowest * 1000:.0f} ms); "
                  f"one statement over it all: {reference_seconds:.1f} s ({groups:,} installer-days); "
                  f"ratio {backfill / reference_seconds:.2f}x")
            full_seconds = None
            if dialect == "postgresql":
                full_seconds = run_full_reference(whole, per_day=True)
                print(f"  the hand-written every-order-metric aggregate over it all: {full_seconds:.1f} s, ratio "
                      f"{backfill / full_seconds:.2f}x")
            print(f"memory: RSS {before:.0f} MB before, {after_ten:.0f} MB after 10 days, peak {peak:.0f} MB, "
                  f"{after:.0f} MB after; growth {after - before:.0f} MB ({after - after_ten:.0f} MB after the 10th day)")
            if args.backfill_write_floor:
                seconds, rows = run_write_floor(first, last_day)
                print(f"  writing the backfill's {rows:,} snapshot rows alone, one INSERT … SELECT of a copy: "
                      f"{seconds:.1f} s, {seconds / reference_seconds:.2f}x the one statement over it all"
                      + (f", {seconds / full_seconds:.2f}x the every-order-metric one" if full_seconds else ""))


if __name__ == "__main__":
    main()
