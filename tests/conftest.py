"""Fixtures: one clock for every test, an app on a test database (SQLite, or PostgreSQL when
FIELDSVC_TEST_DATABASE_URL is set), the schema made once per run, every table emptied after each
test."""
from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import time_machine
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

import fieldsvc.models  # noqa: F401  (every table on Base.metadata)
from fieldsvc import create_app
from fieldsvc.auth import services as auth_services
from fieldsvc.db import Base
from fieldsvc.extensions import db
from fieldsvc.workorders.models import APPEND_ONLY_DDL
from tests import factories

# The instant every test starts at, unless FIELDSVC_TEST_NOW (ISO 8601 with an offset) moves it:
# a Monday morning in Wuhan. `.ci/run` runs the suite again at the awkward instants too.
DEFAULT_TEST_NOW = "2026-03-16T10:30:00+08:00"


def suite_now() -> datetime:
    """The instant the suite's clock starts each test at."""
    value = datetime.fromisoformat(os.environ.get("FIELDSVC_TEST_NOW") or DEFAULT_TEST_NOW)
    if value.tzinfo is None:
        raise pytest.UsageError("FIELDSVC_TEST_NOW needs an offset, e.g. 2026-12-31T23:55:00+08:00")
    return value


@pytest.fixture(autouse=True)
def clock(request: pytest.FixtureRequest) -> Iterator[time_machine.Coordinates]:
    """The one clock of the suite: every test starts at `suite_now()` and time runs on from there,
    so nothing depends on the day or the hour the suite happens to run. `clock.move_to(instant)`
    moves it within a test; a test marked `real_clock` keeps the machine's time."""
    if request.node.get_closest_marker("real_clock"):
        yield None  # type: ignore[misc]
        return
    with time_machine.travel(suite_now(), tick=True) as traveller:
        yield traveller


# Argon2id at the production cost (64 MiB, 3 passes) takes 0.13 s a hash or a check, and the suite
# signs in some thousand times: a cheap profile for every test but those marked `full_cost_passwords`
# (tests/auth checks the production profile itself).
QUICK_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
QUICK_PASSWORD_HASH = QUICK_HASHER.hash("correct-horse-9")  # tests/factories.py's PASSWORD
_QUICK_DUMMY_HASH = QUICK_HASHER.hash("not a real password")


@pytest.fixture(autouse=True)
def quick_passwords(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The cheap Argon2 profile for this test (unless marked `full_cost_passwords`); returns the
    hash of the factories' password under it."""
    if request.node.get_closest_marker("full_cost_passwords"):
        return auth_services.hash_password("correct-horse-9")
    monkeypatch.setattr(auth_services, "_hasher", QUICK_HASHER)
    monkeypatch.setattr(auth_services, "_DUMMY_HASH", _QUICK_DUMMY_HASH)
    monkeypatch.setattr(factories, "_password_hash", QUICK_PASSWORD_HASH)
    return QUICK_PASSWORD_HASH


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The test database, with the schema created from the models once for the whole run."""
    url = os.environ.get("FIELDSVC_TEST_DATABASE_URL")
    if not url:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    engine = create_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    if engine.dialect.name == "postgresql":
        # A test database's commits need not survive a power cut: not waiting for each one's WAL
        # flush takes about a third off the PostgreSQL run (measured on tests/auth, 67 vs 93 s).
        # The database's setting, so the servers and scheduler processes the tests start share it.
        with engine.begin() as connection:
            name = connection.exec_driver_sql("SELECT current_database()").scalar_one()
            connection.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    engine.dispose()
    yield url
    engine = create_engine(url)
    Base.metadata.drop_all(engine)
    engine.dispose()


def _empty_all_tables(url: str) -> None:
    engine = create_engine(url)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Only the tables a test wrote to (it has rows, or its id sequence moved): TRUNCATE of
            # all of them costs ~0.1 s a test, for files of tables the test never touched.
            filled = " UNION ALL ".join(f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM {t})" for t in tables)
            touched = set(connection.exec_driver_sql(filled).scalars())
            moved = set(connection.exec_driver_sql(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() "
                "AND last_value IS NOT NULL").scalars())
            touched |= {t for t in tables if f"{t}_id_seq" in moved}
            if touched:
                connection.execute(text(f"TRUNCATE {', '.join(t for t in tables if t in touched)} "
                                        "RESTART IDENTITY CASCADE"))
        else:
            # SQLite fires DELETE triggers, and the event trail refuses deletes: lift that briefly.
            connection.exec_driver_sql("DROP TRIGGER IF EXISTS work_order_events_no_update")
            connection.exec_driver_sql("DROP TRIGGER IF EXISTS work_order_events_no_delete")
            for table in tables:
                connection.exec_driver_sql(f"DELETE FROM {table}")
            for statement in APPEND_ONLY_DDL["sqlite"]:
                connection.exec_driver_sql(statement)
    engine.dispose()


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """A fresh app on the test database; its rows are gone after the test."""
    application = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "test-secret-key",
            "SERVER_NAME": "localhost",
            "SESSION_COOKIE_SECURE": False,
            "REMEMBER_COOKIE_SECURE": False,
            "UPLOAD_FOLDER": str(tmp_path / "uploads"),
            "RATELIMIT_ENABLED": False,  # tests sign in many times; tests/auth turns it on
        }
    )
    application.instance_path = str(tmp_path / "instance")
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    _empty_all_tables(database_url)


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    """The app served on a free port of 127.0.0.1, for the browser tests."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join()


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[Flask]:
    """The app with an application context pushed (for calling services directly)."""
    with app.app_context():
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A browser that prefers English (so assertions read the source strings)."""
    test_client = app.test_client()
    test_client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return test_client


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token from a page's form."""
    page = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def sign_in(client: FlaskClient, username: str, password: str = "correct-horse-9", **extra: str):
    """Post the sign-in form with its CSRF token; returns the response."""
    token = csrf_token(client)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token, **extra})
