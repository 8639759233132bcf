"""The audit log page: search by actor, object, action and local dates, newest first, paginated,
values escaped, the search exported as CSV, the actors loaded in one query."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from fieldsvc.audit.services import record
from fieldsvc.auth.models import Role
from fieldsvc.extensions import db
from tests import factories as f
from tests.conftest import sign_in


@pytest.fixture
def log(app: Flask, clock: Any) -> None:
    """Two admins' changes today, one two days ago (a1's), and a supervisor to refuse."""
    with app.app_context():
        f.reference()
        a1 = f.make_user(Role.ADMIN, username="a1", name="甲", name_en="Alpha")
        a2 = f.make_user(Role.ADMIN, username="a2", name="乙", name_en="Beta")
        f.make_user(Role.SUPERVISOR, username="s1")
        db.session.commit()
        clock.shift(timedelta(days=-2))
        record(a1, "job_type.edit", "job_type", "repair", {"deadline_hours": 24}, {"deadline_hours": 36})
        db.session.commit()
        clock.shift(timedelta(days=2))
        record(a2, "certification_type.create", "certification_type", "ftth", None,
               {"name_en": "<script>alert(1)</script>", "validity_months": 36})
        record(a1, "rule.set", "rule", "survey_link_days", {"value": 7}, {"value": 10})
        db.session.commit()


def rows(page: str) -> int:
    return page.count("<code>rule.set</code>") + page.count("<code>job_type.edit</code>") + \
        page.count("<code>certification_type.create</code>")


def test_filters(client: FlaskClient, log: None) -> None:
    sign_in(client, "a1")
    everything = client.get("/admin/audit/").get_data(as_text=True)
    assert rows(everything) == 3
    # Newest first.
    assert everything.index("rule.set") < everything.index("certification_type.create") < everything.index("job_type.edit")
    assert rows(client.get("/admin/audit/?actor=a2").get_data(as_text=True)) == 1
    assert rows(client.get("/admin/audit/?object_type=job_type").get_data(as_text=True)) == 1
    assert rows(client.get("/admin/audit/?object_key=survey_link_days").get_data(as_text=True)) == 1
    assert rows(client.get("/admin/audit/?action=rule.set&actor=a1").get_data(as_text=True)) == 1
    today = f.today()
    assert rows(client.get(f"/admin/audit/?date_from={today.isoformat()}").get_data(as_text=True)) == 2
    two_days_ago = (today - timedelta(days=2)).isoformat()
    assert rows(client.get(f"/admin/audit/?date_from={two_days_ago}&date_to={two_days_ago}").get_data(as_text=True)) == 1
    nobody = client.get("/admin/audit/?actor=zz999")
    assert nobody.status_code == 200 and rows(nobody.get_data(as_text=True)) == 0
    assert "No one has this employee number." in nobody.get_data(as_text=True)
    assert client.get("/admin/audit/?object_type=spaceship").status_code == 400
    assert client.get("/admin/audit/?date_from=yesterday").status_code == 400


def test_before_and_after_are_shown_escaped(client: FlaskClient, log: None) -> None:
    sign_in(client, "a1")
    page = client.get("/admin/audit/?object_type=certification_type").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    page = client.get("/admin/audit/?object_key=repair").get_data(as_text=True)
    assert "24 → 36" in page and "Alpha" in page


def test_pages_of_fifty(client: FlaskClient, log: None, app: Flask) -> None:
    with app.app_context():
        for n in range(50):
            record(None, "team.edit", "team", f"T{n:02d}", {"name_zh": "一"}, {"name_zh": "二"})
        db.session.commit()
    sign_in(client, "a1")
    first = client.get("/admin/audit/").get_data(as_text=True)
    assert "Changes found: 53" in first and "Page 1 of 2" in first and first.count("<code>team.edit</code>") == 50
    second = client.get("/admin/audit/?page=2").get_data(as_text=True)
    assert rows(second) == 3


def test_csv_export_of_the_search(client: FlaskClient, log: None) -> None:
    sign_in(client, "a1")
    response = client.get("/admin/audit/export.csv?actor=a1")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert len(lines) == 3  # the header, then one row per changed field of a1's two entries
    assert lines[1].split(",")[1:6] == ["a1", "rule.set", "rule", "survey_link_days", "value"]
    assert lines[2].endswith("deadline_hours,24,36")


@pytest.fixture
def statements(app: Flask) -> Iterator[list[str]]:
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def test_actors_are_loaded_in_one_query(client: FlaskClient, log: None, app: Flask, statements: list[str]) -> None:
    sign_in(client, "a1")
    statements.clear()
    client.get("/admin/audit/?date_from=2000-01-01")
    few = len(statements)
    with app.app_context():
        for n in range(4):
            record(f.make_user(Role.ADMIN, username=f"x{n}"), "team.edit", "team", f"T{n}", {"a": 1}, {"a": 2})
        db.session.commit()
    statements.clear()
    client.get("/admin/audit/?date_from=2000-01-01")
    assert len(statements) == few
    assert sum("FROM users" in s for s in statements) <= 3  # the signed-in user, the actors (and the session check)


def test_supervisors_are_refused(client: FlaskClient, log: None) -> None:
    sign_in(client, "s1")
    assert client.get("/admin/audit/").status_code == 403
    assert client.get("/admin/audit/export.csv").status_code == 403
