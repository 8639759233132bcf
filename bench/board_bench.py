"""Dispatch-board benchmark: the board with 5,000 open orders in the 2-million-order database
(target p95 under 200 ms), and suggested installers for one order among 1,000 installers (p95 under
60 ms, issue #12 item 5). In-process (Flask's test client, one request at a time): this measures what one
page costs, not throughput (bench/lifecycle_load.py measures that).

    python bench/board_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/fieldsvc_bench

It CHANGES the database it is given (adds open orders, makes every team serve one district and
computes the week snapshots the suggestions read, for the last 14 whole weeks, when missing):
point it at a throwaway copy made by bench/seed_demo.py --keep.

With `--before REV`, `suggest()` is timed side by side with the code it had at the commit REV
(its modules `workorders/suggestions.py`, `workorders/dispatch.py` and `snapshots/services.py` read
from git and loaded beside the current ones, the rest of the app shared), interleaved call by call:
the current code, REV's, and REV's again with PostgreSQL planning every statement for its values
(`plan_cache_mode = force_custom_plan`), which tells a generic plan's cost from the code's; all
three must rank alike. Then the current call statement by statement: the time in each and the
Python before it (medians). `--suggest-only` skips the board's pages.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import types
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import signed_in  # noqa: E402  (after the path is set)


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def module_at(rev: str, path: str, name: str, renames: dict[str, str]) -> types.ModuleType:
    """The module `path` of the commit `rev`, loaded as `name` (a sibling of the module it was),
    its relative imports of the `renames` keys pointing at their values (the other modules of rev)."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{path}"], check=True, capture_output=True,
                            text=True).stdout
    for old, new in renames.items():
        source = source.replace(f"from {old} import", f"from {new} import")
    module = types.ModuleType(name)
    module.__package__ = name.rpartition(".")[0]
    module.__file__ = f"{rev}:{path}"
    sys.modules[name] = module
    exec(compile(source, module.__file__, "exec"), module.__dict__)  # noqa: S102  (our own history)
    return module


def suggest_at(rev: str) -> object:
    """`suggest` as it was at commit `rev`."""
    module_at(rev, "fieldsvc/snapshots/services.py", "fieldsvc.snapshots._bench_services", {})
    module_at(rev, "fieldsvc/workorders/dispatch.py", "fieldsvc.workorders._bench_dispatch", {})
    return module_at(rev, "fieldsvc/workorders/suggestions.py", "fieldsvc.workorders._bench_suggestions",
                     {"..snapshots.services": "..snapshots._bench_services",
                      ".dispatch": "._bench_dispatch"}).suggest


def statement_breakdown(db: object, order: object, user: object, tz: object, suggest: object, now: object,
                        calls: int) -> list[tuple[float, float, str]]:
    """(ms of Python since the previous statement, ms in the statement, its start) for each
    statement of a `suggest()` call, medians over `calls` calls; the last row is the Python after
    the last statement."""
    from sqlalchemy import event

    engine = db.engine  # type: ignore[attr-defined]
    marks: list[tuple[float, str]] = []

    def before(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        marks.append((time.perf_counter(), " ".join(statement.split())[:90]))

    def after(*_args: object) -> None:
        marks.append((time.perf_counter(), ""))
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    rows: dict[int, tuple[str, list[float], list[float]]] = {}
    try:
        for _ in range(calls):
            db.session.expire_all()  # type: ignore[attr-defined]
            user.role, order.status  # type: ignore[attr-defined]  # noqa: B018
            marks.clear()
            started = time.perf_counter()
            suggest(order, user, now(), tz, 8)  # type: ignore[operator]
            ended = time.perf_counter()
            previous = started
            for k in range(0, len(marks), 2):
                (began, statement), (finished, _) = marks[k], marks[k + 1]
                _label, python, sql = rows.setdefault(k // 2, (statement, [], []))
                python.append(began - previous)
                sql.append(finished - began)
                previous = finished
            rows.setdefault(len(marks) // 2, ("(Python after the last statement)", [], []))[1].append(ended - previous)
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    return [(statistics.median(python) * 1000, statistics.median(sql) * 1000 if sql else 0.0, label)
            for label, python, sql in rows.values()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/fieldsvc_bench")
    parser.add_argument("--open-orders", type=int, default=5000)
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--before", metavar="REV", help="time suggest() beside its code at this commit")
    parser.add_argument("--suggest-only", action="store_true", help="skip the board's pages")
    args = parser.parse_args()
    os.environ["FIELDSVC_DATABASE_URL"] = args.database_url
    os.environ.setdefault("FIELDSVC_SECRET_KEY", "bench")

    from sqlalchemy import event, func, insert, select

    from fieldsvc import create_app
    from fieldsvc.auth.models import Role, User
    from fieldsvc.db import utcnow, zone
    from fieldsvc.extensions import db
    from fieldsvc.metrics.engine import compute_period
    from fieldsvc.snapshots.models import MetricSnapshot, PeriodType
    from fieldsvc.snapshots.periods import period_start
    from fieldsvc.workforce.models import Customer, JobType, Team, team_districts
    from fieldsvc.workorders.models import OPEN_STATUSES, OrderStatus, WorkOrder
    from fieldsvc.workorders.queries import visible_orders
    from fieldsvc.workorders.suggestions import suggest

    variants = {"current": suggest}
    if args.before:
        suggest_before = suggest_at(args.before)
        variants[f"at {args.before}"] = suggest_before

        def custom_plans_before(*a: object) -> object:
            db.session.execute(select(func.set_config("plan_cache_mode", "force_custom_plan", True)))
            try:
                return suggest_before(*a)
            finally:
                db.session.execute(select(func.set_config("plan_cache_mode", "auto", True)))
        variants[f"at {args.before}, custom plans"] = custom_plans_before

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
        timings: dict[str, list[float]] = {name: [] for name in variants}
        results = {}
        load_before = os.getloadavg()
        for _ in range(args.iterations + 3):
            for name, variant in variants.items():
                db.session.expire_all()
                admin.role, target.status  # noqa: B018  (reloaded before the clock starts, as a request has them)
                started = time.perf_counter()
                results[name] = variant(target, admin, utcnow(), tz, 8)
                timings[name].append(time.perf_counter() - started)
        load_after = os.getloadavg()
        suggestion_times = timings["current"][3:]

        def outcome(result: object) -> tuple[object, ...]:
            return ([(s.installer.username, s.score, s.facts, s.reasons) for s in result.eligible],  # type: ignore[attr-defined]
                    [(v.installer.username, v.unmet) for v in result.ineligible])  # type: ignore[attr-defined]
        for name, result in results.items():
            assert outcome(result) == outcome(results["current"]), f"{name} ranks differently"
        result = results["current"]
        print(f"top 3 (username, score, jobs, ratings): "
              f"{[(s.installer.username, s.score, s.facts['jobs'], s.facts['ratings']) for s in result.eligible[:3]]}"
              f"{'; the same ranking, facts, reasons and verdicts from every variant' if len(results) > 1 else ''}")
        print(f"load average (1, 5, 15 min) before the suggest() loop {load_before}, after {load_after}")
        eligible, ineligible = len(result.eligible), len(result.ineligible)
        breakdown = statement_breakdown(db, target, admin, tz, suggest, utcnow, args.iterations)

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
    if args.suggest_only:
        scenarios = []
    supervisor_client = signed_in(app, supervisor_name)
    admin_client = signed_in(app, admin_name)
    print(f"supervisor {supervisor_name} sees {visible} open orders; suggestions pool: {pool} installers "
          f"({eligible} eligible, {ineligible} not)")
    print(f"{'scenario':<36}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}{'SQL':>6}")
    for name, path in scenarios:
        times, count = measure(supervisor_client, path)
        print(f"{name:<36}{percentile(times, 50) * 1000:>8.1f}{percentile(times, 95) * 1000:>8.1f}"
              f"{max(times) * 1000:>8.1f}{count:>6}")
    for name, values in timings.items():
        values = values[3:]
        print(f"{'suggest(), ' + name:<36}{percentile(values, 50) * 1000:>8.1f}"
              f"{percentile(values, 95) * 1000:>8.1f}{max(values) * 1000:>8.1f}")
        if name != "current":
            print(f"  current / {name}: p50 {percentile(suggestion_times, 50) / percentile(values, 50):.2f}, "
                  f"p95 {percentile(suggestion_times, 95) / percentile(values, 95):.2f}")
    print("one current suggest() call, medians: ms of Python before each statement, ms in it")
    for python, sql, statement in breakdown:
        print(f"{python:8.2f}{sql:8.2f}  {statement}")
    print(f"{sum(p for p, _s, _t in breakdown):8.1f}{sum(s for _p, s, _t in breakdown):8.1f}  in all")
    times, count = measure(admin_client, f"/orders/{target_number}")
    print(f"{'job page with suggestions (admin)':<36}{percentile(times, 50) * 1000:>8.1f}"
          f"{percentile(times, 95) * 1000:>8.1f}{max(times) * 1000:>8.1f}{count:>6}")
    engine.dispose()


if __name__ == "__main__":
    main()
