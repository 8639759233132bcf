"""Benchmark `fieldsvc seed-demo`: wall time, peak memory and rows written.

Creates a throwaway database (PostgreSQL by default, or an SQLite file), runs `fieldsvc db upgrade`
and then `fieldsvc seed-demo --installers N --days D` in child processes, checks the schema with
`fieldsvc db check`, prints the figures and drops the database again.

    python bench/seed_demo.py                                  # PostgreSQL, 1000 installers, 730 days
    python bench/seed_demo.py --backend sqlite --installers 120 --days 90
    python bench/seed_demo.py --admin-url postgresql+psycopg://postgres@db.example:5432/postgres --keep
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

TABLES = ("users", "teams", "customers", "certifications", "training_records", "work_orders", "visits",
          "work_order_events", "survey_invitations", "survey_responses", "order_standards", "step_ticks",
          "support_requests", "support_replies")
FIELDSVC = [sys.executable, "-c", "from fieldsvc.cli import main; main()"]


def fieldsvc(url: str, *args: str) -> float:
    """Run one `fieldsvc` command on `url`; returns its wall time in seconds."""
    env = {**os.environ, "FIELDSVC_DATABASE_URL": url}
    started = time.perf_counter()
    result = subprocess.run([*FIELDSVC, *args], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"fieldsvc {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    for line in result.stdout.splitlines():
        if line.startswith(("seeded:", "  ")) or "ready" in line:
            print(f"    | {line}")
    return elapsed


def peak_rss_mb() -> float:
    """The largest resident set of any child waited for so far (Linux reports kilobytes)."""
    value = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return value / 1024 / (1024 if sys.platform == "darwin" else 1)


def children_cpu_s() -> float:
    """The CPU time (user + system) of every child waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--installers", type=int, default=1000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--admin-url", default=os.environ.get(
        "BENCH_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL database to connect to for CREATE/DROP DATABASE")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    options = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="fieldsvc-bench-"))
    name = f"fieldsvc_bench_{os.getpid()}"
    admin = None
    if options.backend == "postgresql":
        admin = create_engine(options.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(options.admin_url).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    print(f"database: {make_url(url).render_as_string(hide_password=True)}")
    try:
        upgrade = fieldsvc(url, "db", "upgrade")
        rss_after_upgrade = peak_rss_mb()
        print(f"db upgrade: {upgrade:.1f} s (peak RSS {rss_after_upgrade:.0f} MB)")
        print(f"seed-demo --installers {options.installers} --days {options.days} --seed {options.seed} …")
        cpu_before = children_cpu_s()
        seconds = fieldsvc(url, "seed-demo", "--installers", str(options.installers), "--days", str(options.days),
                           "--seed", str(options.seed))
        cpu = children_cpu_s() - cpu_before
        rss = peak_rss_mb()
        check = fieldsvc(url, "db", "check")
        engine = create_engine(url)
        with engine.connect() as connection:
            counts = {table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() for table in TABLES}
        engine.dispose()

        print()
        print(f"seed-demo wall time : {seconds:.1f} s ({seconds / 60:.1f} min)")
        print(f"seed-demo CPU time  : {cpu:.1f} s (its own process, not the database server's)")
        print(f"peak RSS (children) : {rss:.0f} MB" + (" (the migration child's; seeding stayed below it)"
                                                      if rss <= rss_after_upgrade else ""))
        print(f"db check afterwards : passed ({check:.1f} s)")
        print("rows                : " + ", ".join(f"{table} {count:,}" for table, count in counts.items()))
        total = sum(counts.values())
        print(f"                      {total:,} rows in these tables, {total / seconds:,.0f} rows/s")
    finally:
        if admin is not None and not options.keep:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            admin.dispose()
        if options.keep:
            print(f"kept: {make_url(url).render_as_string(hide_password=True)}")
        else:
            for path in sorted(workdir.iterdir()):
                path.unlink()
            workdir.rmdir()


if __name__ == "__main__":
    main()
