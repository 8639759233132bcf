"""Dispatch-board benchmark: the board with 5,000 open orders in the 2-million-order database
(target p95 under 200 ms), and suggested installers for one order among 1,000 installers (target
under 100 ms). In-process (Flask's test client, one request at a time): this measures what one
page costs, not throughput (bench/lifecycle_load.py measures that).

    python bench/board_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/fieldsvc_bench

It CHANGES the database it is given (adds open orders, makes every team serve one district and
computes the week snapshots the suggestions read, for the last 14 whole weeks, when missing):
point it at a throwaway copy made by bench/seed_demo.py --keep.

`suggest()` is timed side by side with its path before it read the snapshots (issue #12 item 5):
the same function with on-site resolution (30 days of work_orders) and satisfaction (90 days of
survey_responses) aggregated live, as `live_figures` below keeps them, interleaved call by call.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import datetime, timedelta
from datetime import time as dtime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import signed_in  # noqa: E402  (after the path is set)


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/fieldsvc_bench")
    parser.add_argument("--open-orders", type=int, default=5000)
    parser.add_argument("--iterations", type=int, default=40)
    args = parser.parse_args()
    os.environ["FIELDSVC_DATABASE_URL"] = args.database_url
    os.environ.setdefault("FIELDSVC_SECRET_KEY", "bench")

    from sqlalchemy import case, event, func, insert, select

    from fieldsvc import create_app
    from fieldsvc.auth.models import Role, User
    from fieldsvc.db import utcnow, zone
    from fieldsvc.extensions import db
    from fieldsvc.metrics.engine import compute_period
    from fieldsvc.ratings.models import SATISFIED_MIN_SCORE, SurveyResponse
    from fieldsvc.snapshots.models import MetricSnapshot, PeriodType
    from fieldsvc.snapshots.periods import period_start
    from fieldsvc.workforce.models import Customer, JobType, Team, team_districts
    from fieldsvc.workorders import suggestions
    from fieldsvc.workorders.models import OPEN_STATUSES, OrderStatus, WorkOrder
    from fieldsvc.workorders.queries import visible_orders
    from fieldsvc.workorders.suggestions import suggest

    def live_figures(metric, usernames, today, weeks):
        """The two aggregates suggest() ran before the snapshots (30 and 90 days, live), keyed as now."""
        since = datetime.combine(today, dtime.min, tzinfo=zone())
        if metric == suggestions.RESOLUTION_METRIC:
            query = (select(User.username, func.sum(case((WorkOrder.visit_count == 1, 1), else_=0)), func.count())
                     .join(User, User.id == WorkOrder.completed_by_id)
                     .where(WorkOrder.completed_by_id.in_(select(User.id).where(User.username.in_(usernames))),
                            WorkOrder.completed_at >= since - timedelta(days=30), WorkOrder.visit_count >= 1))
        else:
            query = (select(User.username, func.sum(case((SurveyResponse.score >= SATISFIED_MIN_SCORE, 1), else_=0)),
                            func.count())
                     .join(User, User.id == SurveyResponse.installer_id)
                     .where(SurveyResponse.installer_id.in_(select(User.id).where(User.username.in_(usernames))),
                            SurveyResponse.submitted_at >= since - timedelta(days=90)))
        rows = db.session.execute(query.group_by(User.username)).all()
        return {name: (int(good or 0), int(total)) for name, good, total in rows}

    app = create_app({"SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False, "RATELIMIT_ENABLED": False})
    import gc

    gc.freeze()  # as fieldsvc.wsgi does in production
    with app.app_context():
        supervisor = db.session.scalar(select(User).where(User.role == Role.SUPERVISOR).order_by(User.id).limit(1))
        team = supervisor.supervised_teams[0]
        district_id = team.home_district_id
        visible = db.session.scalar(select(func.count()).select_from(
            visible_orders(supervisor).where(WorkOrder.status.in_(OPEN_STATUSES)).subquery()))
        missing = max(args.open_orders - visible, 0)
        customers = list(db.session.scalars(select(Customer.id).where(Customer.district_id == district_id).limit(2000)))
        repair = db.session.scalar(select(JobType).where(JobType.code == "repair"))
        start_id = db.session.scalar(select(func.max(WorkOrder.id))) + 1
        now = utcnow()
        rows = []
        for i in range(missing):
            created = now - timedelta(minutes=3 * i % 1440)
            rows.append({"id": start_id + i, "number": f"WOB-{start_id + i:08d}", "job_type_id": repair.id,
                         "priority": "normal", "customer_id": customers[i % len(customers)], "district_id": district_id,
                         "address": f"bench address {i}", "status": "new", "is_work_at_height": False,
                         "created_at": created, "updated_at": created, "version": 1,
                         "due_by": created + timedelta(hours=(i % 48) - 6)})
        for chunk in range(0, len(rows), 1000):
            db.session.execute(insert(WorkOrder.__table__), rows[chunk:chunk + 1000])
        serving = set(db.session.scalars(select(team_districts.c.team_id).where(team_districts.c.district_id == district_id)))
        extra = [{"team_id": t, "district_id": district_id} for t in db.session.scalars(select(Team.id)) if t not in serving]
        if extra:
            db.session.execute(insert(team_districts), extra)
        if db.engine.dialect.name == "postgresql":
            db.session.execute(func.setval(func.pg_get_serial_sequence("work_orders", "id"),
                                           select(func.max(WorkOrder.id)).scalar_subquery()).select())
        db.session.commit()
        visible = db.session.scalar(select(func.count()).select_from(
            visible_orders(supervisor).where(WorkOrder.status.in_(OPEN_STATUSES)).subquery()))
        target = db.session.scalar(select(WorkOrder).where(WorkOrder.district_id == district_id,
                                                           WorkOrder.status == OrderStatus.NEW).limit(1))
        admin = db.session.scalar(select(User).where(User.role == Role.ADMIN).limit(1))
        pool = db.session.scalar(select(func.count()).select_from(User).where(User.role == Role.INSTALLER))
        target_number, supervisor_name, admin_name = target.number, supervisor.username, admin.username
        phone = db.session.get(Customer, target.customer_id).phone
        engine = db.engine
        tz = zone()
        this_week = period_start(PeriodType.WEEK, utcnow().astimezone(tz).date())
        started = time.perf_counter()
        computed = 0
        for n in range(14, 0, -1):
            week = this_week - timedelta(weeks=n)
            if not db.session.scalar(select(func.count()).select_from(MetricSnapshot).where(
                    MetricSnapshot.period_type == PeriodType.WEEK, MetricSnapshot.period_start == week)):
                compute_period(PeriodType.WEEK, week, utcnow(), tz)
                db.session.commit()
                computed += 1
        print(f"week snapshots: computed {computed} missing weeks in {time.perf_counter() - started:.1f} s")
        timings, live_timings = [], []
        snapshot_weekly = suggestions._weekly
        for _ in range(args.iterations + 3):
            started = time.perf_counter()
            result = suggest(target, admin, utcnow(), tz, 8)
            timings.append(time.perf_counter() - started)
            db.session.expire_all()
            suggestions._weekly = live_figures
            try:
                started = time.perf_counter()
                live = suggest(target, admin, utcnow(), tz, 8)
                live_timings.append(time.perf_counter() - started)
            finally:
                suggestions._weekly = snapshot_weekly
            db.session.expire_all()
        suggestion_times, live_times = timings[3:], live_timings[3:]
        shown = [(s.installer.username, s.facts["jobs"], s.facts["ratings"]) for s in result.eligible[:3]]
        shown_live = [(s.installer.username, s.facts["jobs"], s.facts["ratings"]) for s in live.eligible[:3]]
        print(f"top 3 (username, jobs, ratings): snapshots {shown}; live {shown_live}")
        eligible, ineligible = len(result.eligible), len(result.ineligible)

    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    def measure(client, path: str) -> tuple[list[float], int]:
        times = []
        count = 0
        for i in range(args.iterations + 3):
            statements.clear()
            started = time.perf_counter()
            response = client.get(path)
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, (path, response.status_code)
            if i >= 3:
                times.append(elapsed)
                count = len(statements)
        return times, count

    pages = max(visible // 50, 1)
    scenarios = [
        ("board: all open, page 1", "/board"),
        (f"board: all open, page {pages}", f"/board?page={pages}"),
        ("board: unassigned", "/board?queue=unassigned"),
        ("board: at risk", "/board?queue=at_risk"),
        ("board: overdue", "/board?queue=overdue"),
        ("board: today by installer", "/board?queue=today"),
        ("board: search by phone", f"/board?q={phone}"),
        ("board: search in addresses", "/board?q=address%2099"),
        ("board: filtered by job type", "/board?job_type=repair&status=new"),
        ("workload view", "/board/workload"),
    ]
    supervisor_client = signed_in(app, supervisor_name)
    admin_client = signed_in(app, admin_name)
    print(f"supervisor {supervisor_name} sees {visible} open orders; suggestions pool: {pool} installers "
          f"({eligible} eligible, {ineligible} not)")
    print(f"{'scenario':<36}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}{'SQL':>6}")
    for name, path in scenarios:
        times, count = measure(supervisor_client, path)
        print(f"{name:<36}{percentile(times, 50) * 1000:>8.1f}{percentile(times, 95) * 1000:>8.1f}"
              f"{max(times) * 1000:>8.1f}{count:>6}")
    print(f"{'suggest() among all installers':<36}{percentile(suggestion_times, 50) * 1000:>8.1f}"
          f"{percentile(suggestion_times, 95) * 1000:>8.1f}{max(suggestion_times) * 1000:>8.1f}")
    print(f"{'  the same, figures live (before)':<36}{percentile(live_times, 50) * 1000:>8.1f}"
          f"{percentile(live_times, 95) * 1000:>8.1f}{max(live_times) * 1000:>8.1f}")
    print(f"  snapshots / live: p50 {percentile(suggestion_times, 50) / percentile(live_times, 50):.2f}, "
          f"p95 {percentile(suggestion_times, 95) / percentile(live_times, 95):.2f}")
    times, count = measure(admin_client, f"/orders/{target_number}")
    print(f"{'job page with suggestions (admin)':<36}{percentile(times, 50) * 1000:>8.1f}"
          f"{percentile(times, 95) * 1000:>8.1f}{max(times) * 1000:>8.1f}{count:>6}")
    engine.dispose()


if __name__ == "__main__":
    main()
