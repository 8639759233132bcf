"""The `fieldsvc` command group (a Flask CLI group over create_app)."""
from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, routes_command, shell_command, with_appcontext
from sqlalchemy import func, select

from .demo import DEMO_PASSWORD
from .extensions import db


def _make_app(*_args: object, **_kwargs: object):
    from . import create_app

    return create_app()


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--debug/--no-debug", default=False, help="Reloader and debugger (never in production).")
@with_appcontext
def run_command(host: str, port: int, debug: bool) -> None:
    """Run the development web server (no scheduler inside; see `fieldsvc scheduler`)."""
    _serve(host, port, debug)


def _serve(host: str, port: int, debug: bool = False) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    import os

    # The development server speaks plain HTTP: Secure cookies would never come back.
    if not os.environ.get("FIELDSVC_SECURE_COOKIES"):
        app.config["SESSION_COOKIE_SECURE"] = False
        app.config["REMEMBER_COOKIE_SECURE"] = False
    # Not app.run(): Flask ignores it inside a CLI command.
    from werkzeug.serving import run_simple

    app.debug = debug
    run_simple(host, port, app, use_reloader=debug, use_debugger=debug, threaded=True)


@click.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(["installer", "supervisor", "admin"]), required=True)
@click.option("--team", "team_code", help="Team code (an installer's team; a supervisor's team).")
@click.option("--name", help="Display name (defaults to the username).")
@click.option("--password", help="The password; prompted for when not given.")
@with_appcontext
def create_user_command(username: str, role: str, team_code: str | None, name: str | None, password: str | None) -> None:
    """Add a user."""
    from .audit.services import fields, record
    from .auth.models import Role
    from .auth.services import create_user
    from .errors import DomainError

    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(username, Role(role), password, name=name, team_code=team_code)
        db.session.flush()
        record(None, "user.create", "user", user.username, None,
               fields(user, ("username", "name", "role", "team_id")))
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"created {user.role.value} {user.username}")


@click.command("create-team")
@click.argument("code")
@click.option("--name-zh", required=True, help="Chinese name, e.g. 洪山光谷装维一班.")
@click.option("--name-en", required=True, help="English name, e.g. Hongshan Guanggu Crew 1.")
@click.option("--district", "districts", multiple=True, required=True,
              help="District code it serves (repeat; the first is its home district).")
@with_appcontext
def create_team_command(code: str, name_zh: str, name_en: str, districts: tuple[str, ...]) -> None:
    """Add a team and the districts it serves (run `fieldsvc seed-reference` first); audited
    "team.create" like the admin page, by the same service."""
    from .errors import DomainError
    from .workforce.services import TeamData, create_team

    data = TeamData(name_zh=name_zh, name_en=name_en, home_district=districts[0], districts=list(districts))
    try:
        create_team(None, code, data)
    except DomainError as error:
        problems = [f"{name}: {'; '.join(str(m) for m in messages)}"
                    for name, messages in (error.details.get("errors") or {}).items()]
        raise click.ClickException(" ".join([str(error.message), *problems])) from error
    db.session.commit()
    click.echo(f"created team {code} serving {', '.join(districts)}")


@click.command("create-token")
@click.argument("username")
@click.option("--name", help="What the token is for (shown to admins).")
@with_appcontext
def create_token_command(username: str, name: str | None) -> None:
    """Print a new API token for USERNAME as the last line (only its digest is stored)."""
    from .auth.models import User
    from .auth.services import issue_token
    from .errors import DomainError

    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or not user.is_active:
        raise click.ClickException(f"no active user {username}")
    try:
        _api_token, token = issue_token(None, user, name)  # audited, with no actor: the command line
    except DomainError as error:
        raise click.ClickException(str(error.message)) from error
    db.session.commit()
    click.echo(f"API token for {username} (shown once; store it now):")
    click.echo(token)


@click.command("seed-demo")
@click.option("--installers", default=120, show_default=True, type=click.IntRange(1, 5000))
@click.option("--days", default=90, show_default=True, type=click.IntRange(1, 1500))
@click.option("--seed", default=2026, show_default=True, type=int, help="Random seed (same seed, same data).")
@with_appcontext
def seed_demo_command(installers: int, days: int, seed: int) -> None:
    """Fill an empty database with realistic demo data."""
    from .demo import seed_demo

    if not _database_is_empty():
        raise click.ClickException("the database already has work orders or users; seed only an empty one")
    summary = seed_demo(installers=installers, days=days, seed=seed, echo=click.echo)
    click.echo("seeded: " + ", ".join(f"{count} {name}" for name, count in summary.items()))


def _database_is_empty() -> bool:
    from .auth.models import User

    return not db.session.scalar(select(func.count()).select_from(User))


@click.command("seed-reference")
@with_appcontext
def seed_reference_command() -> None:
    """Add the stable reference data of PRODUCT.md §5 that is missing (districts, job types,
    certification types, reasons, metric rules); what admins changed is left alone."""
    from .reference import ensure_reference_data

    ensure_reference_data()
    db.session.commit()
    click.echo("reference data is in place")


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Prepare the database and stop (no web server, no scheduler).")
@with_appcontext
def demo_command(host: str, port: int, no_serve: bool) -> None:
    """Migrate, seed demo data if the database is empty (and compute its figures), then start the
    scheduler beside the web server and print the sign-ins."""
    from flask_migrate import upgrade

    from .config import resource_dir
    from .demo import demo_sign_ins, seed_demo

    upgrade(directory=str(resource_dir("migrations")))
    if _database_is_empty():
        click.echo("seeding demo data (a fresh database)…")
        seed_demo(echo=click.echo)
        _backfill_demo_history()
    click.echo("")
    click.echo(f"fieldsvc demo at http://{host}:{port}/  — sign in as (password {DEMO_PASSWORD}):")
    for role, username, name in demo_sign_ins():
        click.echo(f"  {role:<10} {username:<10} {name}")
    if no_serve:
        return
    scheduler = _start_scheduler_process(host, port)
    click.echo(f"The scheduler runs beside the web server (process {scheduler.pid}): figures every 15 minutes.")
    try:
        _serve(host, port)
    finally:
        scheduler.terminate()
        scheduler.wait(timeout=30)


def _backfill_demo_history() -> None:
    """The demo history's figures, day by day, then its weeks and months (with progress bars)."""
    from datetime import timedelta

    from .db import local_today, zone
    from .models import WorkOrder
    from .snapshots.models import PeriodType

    first = db.session.scalar(select(func.min(WorkOrder.created_at)))
    db.session.rollback()
    if first is None:
        return
    tz = zone()
    start, end = first.astimezone(tz).date(), local_today(tz) - timedelta(days=1)
    click.echo("computing the demo history's quality figures…")
    for period_type in (PeriodType.DAY, PeriodType.WEEK, PeriodType.MONTH):
        _backfill(period_type, start, end)


def _start_scheduler_process(host: str, port: int):  # type: ignore[no-untyped-def]
    """`fieldsvc scheduler` as a second process on the same database (the demo's)."""
    import os
    import subprocess  # nosec B404: our own command, by the interpreter running us, no shell

    env = {**os.environ, "FIELDSVC_DATABASE_URL": current_app.config["SQLALCHEMY_DATABASE_URI"]}
    # The rating links in reminders point at the demo's own server (unless a public address is set).
    env.setdefault("FIELDSVC_PUBLIC_URL", f"http://{host}:{port}")
    env.pop("FIELDSVC_SCHEDULER_NOW", None)
    return subprocess.Popen([sys.executable, "-c", "from fieldsvc.cli import main; main()", "scheduler"],  # nosec B603
                            env=env)


@click.command("scheduler")
@click.option("--once", is_flag=True,
              help="Run every job's due periods (missed ones included) once, then exit.")
@click.option("--lease", "lease_seconds", default=600, show_default=True, type=click.IntRange(30),
              help="Seconds a claim on a period holds before another process may take it over.")
@with_appcontext
def scheduler_command(once: bool, lease_seconds: int) -> None:
    """Run the dedicated scheduler process (one per deployment; never inside web workers)."""
    import logging
    from datetime import timedelta

    from .db import zone
    from .scheduler.runner import clock_from_environment, run_due

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    clock = clock_from_environment()
    lease = timedelta(seconds=lease_seconds)
    if once:
        outcomes = run_due(clock, zone(), lease=lease)
        click.echo("scheduler pass: " + (", ".join(f"{n} {o.value}" for o, n in sorted(
            outcomes.items(), key=lambda item: item[0].value)) or "nothing due"))
        return
    from .scheduler.process import serve

    serve(current_app._get_current_object(), clock, lease)  # type: ignore[attr-defined]


@click.group("metrics")
def metrics_group() -> None:
    """Installation-quality metrics."""


@metrics_group.command("compute")
@click.option("--from", "date_from", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "date_to", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--period", type=click.Choice(["day", "week", "month"]), default="day", show_default=True)
@click.option("--redo", is_flag=True, help="Compute again the periods an earlier backfill did.")
@with_appcontext
def metrics_compute_command(date_from: object, date_to: object, period: str, redo: bool) -> None:
    """Compute metric snapshots for every period in a date range (resumable; safe beside the scheduler)."""
    from .snapshots.models import PeriodType

    first, last = date_from.date(), date_to.date()  # type: ignore[attr-defined]
    if last < first:
        raise click.BadParameter("--to is before --from")
    summary = _backfill(PeriodType(period), first, last, redo)
    click.echo(f"{period} snapshots {first.isoformat()} … {last.isoformat()}: {summary}")


def _backfill(period_type: object, first: object, last: object, redo: bool = False) -> str:
    """Run a backfill with a progress bar; a summary of the outcomes."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from .db import zone
    from .scheduler.backfill import backfill, period_count
    from .scheduler.runner import clock_from_environment

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task(f"{period_type.value} snapshots", total=period_count(period_type, first, last))  # type: ignore[attr-defined]
        outcomes = backfill(period_type, first, last, clock_from_environment(), zone(), redo=redo,  # type: ignore[arg-type]
                            progress=lambda start, _outcome: progress.advance(task))
    return ", ".join(f"{n} {o.value}" for o, n in sorted(outcomes.items(), key=lambda item: item[0].value)) or "nothing to do"


@click.group("certifications")
def certifications_group() -> None:
    """Certificates and their alerts."""


@certifications_group.command("alerts")
@click.option("--date", "on", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="The day to run for (default: today in the operator's time zone).")
@with_appcontext
def certification_alerts_command(on: object) -> None:
    """Notify installers and supervisors of certificates expiring, due for review or expired."""
    from .certifications.alerts import certificate_alerts
    from .db import local_today, zone

    day = on.date() if on is not None else local_today(zone())  # type: ignore[attr-defined]
    sent = certificate_alerts(day)
    db.session.commit()
    click.echo(f"certificate alerts for {day.isoformat()}: {sent} notices sent")


@click.group("ratings")
def ratings_group() -> None:
    """Customer ratings: reminders and expired links (the scheduler runs both every 15 minutes)."""


@ratings_group.command("remind")
@click.option("--limit", default=500, show_default=True, type=click.IntRange(1),
              help="At most this many reminders in this run.")
@with_appcontext
def ratings_remind_command(limit: int) -> None:
    """Text the one reminder of each rating link unused a day after completion (safe beside the scheduler)."""
    from .db import zone
    from .ratings.reminders import send_reminders
    from .scheduler.runner import clock_from_environment

    sent = send_reminders(clock_from_environment()(), zone(), limit=limit)
    db.session.commit()  # the texts go out once the claims are committed
    click.echo(f"rating reminders: {sent} sent")


@ratings_group.command("expire")
@with_appcontext
def ratings_expire_command() -> None:
    """Mark the rating links that ran out unused as expired."""
    from .ratings.reminders import mark_expired
    from .scheduler.runner import clock_from_environment

    marked = mark_expired(clock_from_environment()())
    db.session.commit()
    click.echo(f"rating links marked expired: {marked}")


@click.command("import-installers")
@click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
@click.option("--apply", "do_apply", is_flag=True, help="Write the file (default: only print its preview).")
@with_appcontext
def import_installers_command(path: str, do_apply: bool) -> None:
    """Preview an installers' spreadsheet (.xlsx or .csv); with --apply, import it in one transaction."""
    from pathlib import Path

    from .errors import DomainError
    from .onboarding.parse import parse
    from .onboarding.services import RowStatus, apply, preview

    try:
        parsed = parse(Path(path).read_bytes())
    except DomainError as error:
        raise click.ClickException(str(error.message)) from error
    result = preview(parsed.rows, parsed.lines)
    for row in result.ordered():
        if row.status is RowStatus.UNCHANGED:
            continue
        cells = [f"{column}: {message}" for column, message in row.errors.items()]
        cells += [f"{column}: {before or '-'} -> {after}" for column, (before, after) in row.changes.items()
                  if column not in row.errors]
        click.echo(f"line {row.line} {row.username or '-'} {row.status.value}: " + "; ".join(cells))
    summary = ", ".join(f"{result.count(s)} {s.value}" for s in RowStatus)
    if result.has_errors:
        db.session.rollback()
        raise click.ClickException(f"{summary}; nothing imported: correct the rows in error")
    if not do_apply:
        db.session.rollback()
        click.echo(f"{summary}; preview only (add --apply to import)")
        return
    apply(result, parsed.rows, None)
    db.session.commit()
    click.echo(f"{summary}; imported")


COMMANDS = (
    run_command,
    create_user_command,
    create_team_command,
    create_token_command,
    seed_demo_command,
    seed_reference_command,
    demo_command,
    scheduler_command,
    metrics_group,
    certifications_group,
    ratings_group,
    import_installers_command,
    routes_command,
    shell_command,
)


def register_commands(app) -> None:  # type: ignore[no-untyped-def]
    """Attach the fieldsvc commands to the app's CLI (`db` comes from Flask-Migrate)."""
    for command in COMMANDS:
        app.cli.add_command(command)


def main() -> None:
    """Entry point of the `fieldsvc` console script."""
    cli = FlaskGroup(create_app=_make_app, add_default_commands=False, load_dotenv=False, set_debug_flag=False,
                     help="fieldsvc: the installer field-service tracker.")
    sys.exit(cli.main())
