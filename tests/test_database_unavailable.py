"""When the database does not answer (the issue's finding 12): connect and statement timeouts from
the configuration, 503 with Retry-After (problem+json on the API, a page without the user's menu
otherwise) instead of 500, and a /healthz that says 503 within its own short timeout instead of
hanging. A frozen server is a listener that accepts and never answers; a stopped one a closed
port: both local to the test, never the shared PostgreSQL server."""
from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from fieldsvc import create_app
from fieldsvc.auth.models import Role, User
from fieldsvc.auth.services import create_token
from fieldsvc.db import without_statement_timeout
from fieldsvc.extensions import db
from tests import factories as f

PROBLEM = "application/problem+json"


@pytest.fixture
def frozen_port() -> Iterator[int]:
    """A port where the kernel completes every TCP handshake and nothing ever answers: what a
    PostgreSQL server stopped with SIGSTOP looks like to a client."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)  # never accepted: connections wait in the backlog, unanswered
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


@pytest.fixture
def closed_port() -> int:
    """A port nobody listens on: a stopped server (connection refused)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def unreachable_app(port: int, tmp_path: Path, **overrides) -> Flask:
    """An app whose PostgreSQL is at 127.0.0.1:`port`, waiting at most 2 s to connect."""
    return create_app({"TESTING": True, "SECRET_KEY": "test-secret-key", "SERVER_NAME": "localhost",
                       "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://postgres@127.0.0.1:{port}/fieldsvc",
                       "DB_CONNECT_TIMEOUT": 2, "SESSION_COOKIE_SECURE": False, "RATELIMIT_ENABLED": False,
                       "UPLOAD_FOLDER": str(tmp_path / "uploads"), **overrides})


def elapsed(since: float) -> float:
    # A duration on the monotonic clock (the suite's clock moves only the wall clock and datetimes).
    return time.perf_counter() - since


# --- configuration ------------------------------------------------------------------------------

def test_postgresql_gets_connect_and_statement_timeouts_by_default(tmp_path: Path) -> None:
    app = unreachable_app(5432, tmp_path, DB_CONNECT_TIMEOUT=5.0)
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["connect_args"] == {"connect_timeout": 5, "options": "-c statement_timeout=30000"}
    assert options["pool_timeout"] == 5.0 and options["pool_pre_ping"] is True
    assert app.config["HEALTHZ_CONNECT_ARGS"] == {"connect_timeout": 2, "options": "-c statement_timeout=2000"}


def test_timeouts_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIELDSVC_DB_CONNECT_TIMEOUT", "3.5")
    monkeypatch.setenv("FIELDSVC_DB_STATEMENT_TIMEOUT", "0")  # no limit
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://h/db"})
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {"connect_timeout": 4}
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_timeout"] == 3.5
    monkeypatch.setenv("FIELDSVC_DB_STATEMENT_TIMEOUT", "soon")
    with pytest.raises(RuntimeError, match="FIELDSVC_DB_STATEMENT_TIMEOUT must be a number of seconds"):
        create_app({"TESTING": True, "SECRET_KEY": "x"})


def test_the_operators_own_settings_win(tmp_path: Path) -> None:
    app = create_app({"TESTING": True, "SECRET_KEY": "x",
                      "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://h/db?connect_timeout=9&options=-csearch_path%3Dfs",
                      "SQLALCHEMY_ENGINE_OPTIONS": {"pool_timeout": 1, "connect_args": {"sslmode": "require"}}})
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_timeout"] == 1
    assert options["connect_args"] == {"sslmode": "require", "options": "-csearch_path=fs -c statement_timeout=30000"}
    given = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://h/db",
                        "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": "-c statement_timeout=5min"}}})
    assert given.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["options"] == "-c statement_timeout=5min"
    # /healthz keeps the operator's connection settings and puts its own short timeouts last (they win).
    assert given.config["HEALTHZ_CONNECT_ARGS"]["options"] == "-c statement_timeout=5min -c statement_timeout=2000"


def test_sqlite_keeps_its_busy_timeout(tmp_path: Path) -> None:
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'a.db'}"})
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {"timeout": 30}
    assert "pool_timeout" not in app.config["SQLALCHEMY_ENGINE_OPTIONS"]


# --- the statement timeout, on the test database when it is PostgreSQL ---------------------------

@pytest.fixture
def postgresql(app: Flask) -> Flask:
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the statement timeout is PostgreSQL's (set FIELDSVC_TEST_DATABASE_URL)")
    return app


def test_postgresql_cancels_a_statement_beyond_the_timeout(postgresql: Flask, database_url: str) -> None:
    with postgresql.app_context():
        assert db.session.scalar(text("SHOW statement_timeout")) == "30s"
        db.session.rollback()
    slow = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": database_url,
                       "DB_STATEMENT_TIMEOUT": 0.2})

    @slow.route("/api/v1/slow")
    def _slow() -> str:
        db.session.execute(text("SELECT pg_sleep(1)"))
        return "done"

    try:
        with slow.app_context():
            with pytest.raises(OperationalError, match="statement timeout"):
                db.session.execute(text("SELECT pg_sleep(1)"))
            db.session.rollback()
            without_statement_timeout(db.session.connection())  # maintenance work: no limit
            assert db.session.scalar(text("SELECT 1 FROM pg_sleep(0.4)")) == 1
            db.session.rollback()
        response = slow.test_client().get("/api/v1/slow")
        assert response.status_code == 503 and response.mimetype == PROBLEM
    finally:
        with slow.app_context():
            db.session.remove()
            db.engine.dispose()


# --- 503 instead of 500 -------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["frozen_port", "closed_port"])
def test_the_api_answers_503_with_retry_after(where: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    app = unreachable_app(request.getfixturevalue(where), tmp_path)
    started = time.perf_counter()
    response = app.test_client().get("/api/v1/work-orders", headers={"Authorization": "Bearer fsv_whatever",
                                                                      "Accept-Language": "en"})
    assert response.status_code == 503 and response.mimetype == PROBLEM  # was 500
    assert response.headers["Retry-After"] == "10"
    body = response.get_json(force=True)
    assert body["title"] == "Service Unavailable" and "database is not answering" in body["detail"]
    assert elapsed(started) < 10  # the connect timeout (2 s), not an endless wait


def test_a_page_answers_503_without_asking_the_database_again(closed_port: int, tmp_path: Path) -> None:
    app = unreachable_app(closed_port, tmp_path)
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    with client.session_transaction() as browser:  # a signed-in browser: its user is loaded from the database
        browser["_user_id"], browser["_fresh"], browser["signed_in_at"] = "1:0", True, time.time()
    response = client.get("/board")
    page = response.get_data(as_text=True)
    assert response.status_code == 503 and response.mimetype == "text/html"
    assert response.headers["Retry-After"] == "10"
    assert "Temporarily unavailable" in page and "The database is not answering." in page
    assert "Sign out" not in page  # the menu needs the user, who is in the database


def test_a_pool_with_no_free_connection_in_time_is_503(app: Flask, database_url: str) -> None:
    # `app` only empties the tables afterwards; this one has a pool of a single connection.
    small = create_app({"TESTING": True, "SECRET_KEY": "x", "SERVER_NAME": "localhost",
                        "SQLALCHEMY_DATABASE_URI": database_url,
                        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 1, "max_overflow": 0, "pool_timeout": 0.2}})
    with small.app_context():
        token = create_token(f.make_user(Role.ADMIN, username="admin"))
        db.session.commit()
        engine = db.engine
    client, headers = small.test_client(), {"Authorization": f"Bearer {token}"}
    held = engine.connect()  # the only connection, busy elsewhere
    try:
        response = client.get("/api/v1/installers", headers=headers)
    finally:
        held.close()
    assert response.status_code == 503 and response.headers["Retry-After"] == "10"
    assert client.get("/api/v1/installers", headers=headers).status_code == 200
    engine.dispose()


# --- /healthz -----------------------------------------------------------------------------------

def test_healthz_says_ok_when_the_database_answers(app: Flask) -> None:
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize("where", ["frozen_port", "closed_port"])
def test_healthz_says_503_quickly_when_the_database_does_not_answer(where: str, request: pytest.FixtureRequest,
                                                                    tmp_path: Path) -> None:
    # The app itself would wait longer (DB_CONNECT_TIMEOUT 30 s): /healthz has its own 2 s.
    app = unreachable_app(request.getfixturevalue(where), tmp_path, DB_CONNECT_TIMEOUT=30)
    started = time.perf_counter()
    response = app.test_client().get("/healthz")
    assert response.status_code == 503  # it hung for 16-22 s and never said so
    assert response.get_json()["status"] == "error" and response.get_json()["database"] == "unreachable"
    assert elapsed(started) < 6


def test_healthz_asks_through_a_connection_of_its_own(app: Flask) -> None:
    client = app.test_client()
    client.get("/healthz")
    probe = app.extensions["fieldsvc.healthz"]
    with app.app_context():
        assert probe is not db.engine and probe.url == db.engine.url
        assert probe.pool.__class__.__name__ == "NullPool"
        assert db.session.scalars(select(User)).all() == []
