"""How a request's database transaction ends: reads end with COMMIT (so PostgreSQL keeps the
prepared statements, which psycopg drops at every ROLLBACK), anything that wrote or failed is
rolled back unless the code committed it, as before."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from sqlalchemy import event, func, select, text, update

from fieldsvc.auth.models import Role, User
from fieldsvc.extensions import db
from tests import factories as f
from tests.conftest import sign_in


@contextmanager
def transaction_ends(app: Flask) -> Iterator[list[str]]:
    """Record "commit" or "rollback" each time a connection's transaction ends."""
    with app.app_context():
        engine = db.engine
    ends: list[str] = []

    def commit(_conn) -> None:
        ends.append("commit")

    def rollback(_conn) -> None:
        ends.append("rollback")

    event.listen(engine, "commit", commit)
    event.listen(engine, "rollback", rollback)
    try:
        yield ends
    finally:
        event.remove(engine, "commit", commit)
        event.remove(engine, "rollback", rollback)


@pytest.fixture
def installer(app: Flask) -> int:
    with app.app_context():
        user = f.make_user(Role.INSTALLER, username="w1", team=f.make_team())
        db.session.commit()
        return user.id


def phone(app: Flask, user_id: int) -> str | None:
    with app.app_context():
        return db.session.scalar(select(User.phone).where(User.id == user_id))


def test_a_context_that_only_read_ends_with_a_commit(app: Flask, installer: int) -> None:
    with transaction_ends(app) as ends:
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(User)) == 1
    assert ends == ["commit"]


def test_a_page_that_only_read_ends_with_a_commit(app: Flask, client, installer: int) -> None:
    sign_in(client, "w1")
    with transaction_ends(app) as ends:
        assert client.get("/today").status_code == 200
    assert ends == ["commit"]


def test_a_core_write_that_was_not_committed_is_rolled_back(app: Flask, installer: int) -> None:
    with transaction_ends(app) as ends:
        with app.app_context():
            db.session.execute(update(User).where(User.id == installer).values(phone="13900000000"))
    assert ends == ["rollback"]
    assert phone(app, installer) != "13900000000"


def test_a_flushed_change_that_was_not_committed_is_rolled_back(app: Flask, installer: int) -> None:
    with app.app_context():
        user = db.session.get(User, installer)
        user.phone = "13900000001"
        db.session.flush()
    assert phone(app, installer) != "13900000001"


def test_a_pending_change_is_not_committed_by_the_end_of_a_read(app: Flask, installer: int) -> None:
    with app.app_context():
        user = db.session.get(User, installer)  # a read...
        user.phone = "13900000002"  # ...then a change nobody flushed or committed
    assert phone(app, installer) != "13900000002"


def test_a_context_ended_by_an_error_is_rolled_back(app: Flask, installer: int) -> None:
    with transaction_ends(app) as ends, pytest.raises(RuntimeError):
        with app.app_context():
            db.session.scalar(select(User.id))
            raise RuntimeError("the view failed")
    assert ends == ["rollback"]


def test_committed_work_is_untouched(app: Flask, installer: int) -> None:
    with transaction_ends(app) as ends:
        with app.app_context():
            db.session.get(User, installer).phone = "13900000003"
            db.session.commit()
    assert ends == ["commit"]
    assert phone(app, installer) == "13900000003"


def test_postgresql_keeps_prepared_statements_across_requests(app: Flask, installer: int) -> None:
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    query = select(User.username).where(User.id == installer)
    for _ in range(7):  # psycopg prepares a statement from its fifth run on a connection
        with app.app_context():
            db.session.scalar(query)
    with app.app_context():
        prepared = db.session.execute(text("SELECT statement FROM pg_prepared_statements")).scalars().all()
    assert any("FROM users" in statement for statement in prepared), prepared


def test_a_transaction_that_ran_no_statement_takes_no_connection_to_end(app: Flask, installer: int) -> None:
    with transaction_ends(app) as ends:
        with app.app_context():
            db.session.begin()  # begun, but nothing asked of the database
    assert ends == []


def test_fieldsvc_listens_to_its_own_engine_and_sessions_only(app_ctx) -> None:
    """The write detection and SQLite pragmas are attached to the app's engine and session
    factory, not to every engine and Session in the process (a bench or a migration's engine)."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session, sessionmaker

    from fieldsvc.db import _note_writes, _session_connects, _sqlite_pragmas

    assert event.contains(db.engine, "connect", _sqlite_pragmas)
    assert event.contains(db.engine, "before_cursor_execute", _note_writes)
    other = create_engine("sqlite://")
    assert not event.contains(other, "connect", _sqlite_pragmas)
    assert not event.contains(other, "before_cursor_execute", _note_writes)
    assert not event.contains(Session, "after_begin", _session_connects)
    with sessionmaker(other)() as session:  # a plain session is left as SQLAlchemy made it
        session.execute(text("SELECT 1"))
        assert "connection" not in session.info
    other.dispose()


# Files written with a transaction (`write_on_commit`): photos are kept only with their rows.

def test_a_file_is_written_when_the_transaction_commits(app: Flask, installer: int, tmp_path) -> None:
    from fieldsvc.db import write_on_commit

    path = tmp_path / "files" / "a.jpg"
    with app.app_context():
        db.session.get(User, installer).phone = "13900000004"
        write_on_commit(db.session, path, b"photo")
        db.session.flush()
        assert not path.exists()  # not before the commit
        db.session.commit()
    assert path.read_bytes() == b"photo" and phone(app, installer) == "13900000004"


def test_a_file_is_never_written_for_a_rollback_or_an_unfinished_transaction(app: Flask, installer: int,
                                                                            tmp_path) -> None:
    from fieldsvc.db import write_on_commit

    folder = tmp_path / "files"
    with app.app_context():
        db.session.get(User, installer).phone = "13900000005"
        write_on_commit(db.session, folder / "a.jpg", b"photo")
        db.session.rollback()
        db.session.get(User, installer).phone = "13900000006"
        db.session.commit()  # a later commit does not bring the rolled-back file back
    with app.app_context():  # a request that failed: its session is closed without a commit
        db.session.get(User, installer).phone = "13900000007"
        write_on_commit(db.session, folder / "b.jpg", b"photo")
        db.session.flush()
    assert not folder.exists()
    assert phone(app, installer) == "13900000006"


def test_a_file_written_for_a_commit_that_then_fails_is_removed(app: Flask, installer: int, tmp_path) -> None:
    from sqlalchemy.exc import IntegrityError

    from fieldsvc.db import write_on_commit

    path = tmp_path / "a.jpg"
    seen_at_rollback: list[bool] = []
    with app.app_context():
        taken = db.session.get(User, installer).username
        write_on_commit(db.session, path, b"photo")
        db.session.add(User(username=taken, name="重名", name_en="Twin", role=Role.INSTALLER, password_hash="x"))

        def look(_session) -> None:
            seen_at_rollback.append(path.exists())

        event.listen(db.session, "after_rollback", look)
        try:
            with pytest.raises(IntegrityError):
                db.session.commit()  # the file is written, then the flush inside the commit fails
            db.session.rollback()
        finally:
            event.remove(db.session, "after_rollback", look)
    assert seen_at_rollback[:1] == [True] and not path.exists()
