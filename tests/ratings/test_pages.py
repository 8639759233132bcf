"""Where ratings show: counts by 5 / 4–3 / 2–1 with the praise beside them, per installer and per
team, on a hand-built set; the job page's rating and its reminder switch; the customer's switch on
the rating page; the team view's cost does not grow with its installers (no N+1)."""
from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fieldsvc.auth.models import Role
from fieldsvc.extensions import db
from fieldsvc.ratings.models import ReminderOptOut
from fieldsvc.ratings.summaries import installer_counts, team_counts
from fieldsvc.workforce.models import Team
from tests import factories as f
from tests.conftest import CSRF_RE, sign_in
from tests.ratings.conftest import completed, praise, rate, ten_am
from tests.workorders.test_query_counts import counting


def csrf(page: str) -> str:
    found = CSRF_RE.search(page)
    assert found
    return found.group(1) or found.group(2)


def browser(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert sign_in(client, username).status_code == 302
    return client


@pytest.fixture
def rated(app: Flask) -> SimpleNamespace:
    """Team A: a1 rated 5 5 4 3 2 1 1 (and a 1 from before the window), a2 rated 5; b1 of team B
    rated 1. Praise: a1 twice, a2 once, b1 once; a1 once before the window."""
    now = ten_am()
    with app.app_context():
        team_a, team_b = f.make_team("TA01"), f.make_team("TB01", districts=("jiangan",))
        boss = f.make_user(Role.SUPERVISOR, "sa001", team_a)
        f.make_user(Role.SUPERVISOR, "sb001", team_b)
        a1, a2 = f.make_user(Role.INSTALLER, "wa001", team_a), f.make_user(Role.INSTALLER, "wa002", team_a)
        b1 = f.make_user(Role.INSTALLER, "wb001", team_b)
        for score in (5, 5, 4, 3, 2, 1):
            rate(a1, score, now - timedelta(days=1))
        last = rate(a1, 1, now - timedelta(hours=1), comment="师傅迟到了QzComment", punctuality=1, result=4)
        rate(a1, 1, now - timedelta(days=40))
        rate(a2, 5, now - timedelta(days=2))
        rate(b1, 1, now - timedelta(days=2))
        day = now.date()
        praise(a1, boss, day), praise(a1, boss, day - timedelta(days=3)), praise(a1, boss, day - timedelta(days=60))
        praise(a2, boss, day)
        praise(b1, boss, day)
        db.session.commit()
        return SimpleNamespace(now=now, a1=a1.id, a2=a2.id, b1=b1.id, team_a=team_a.id, last=last.number)


def test_counts_by_band_per_installer_and_team(app: Flask, rated: SimpleNamespace) -> None:
    since = rated.now - timedelta(days=30)
    with app.app_context():
        a1 = installer_counts(rated.a1, since, since.date())
        assert (a1.satisfied, a1.fair, a1.dissatisfied, a1.ratings, a1.praise) == (2, 2, 3, 7, 2)
        team = team_counts(rated.team_a, since, since.date())
        assert set(team) == {rated.a1, rated.a2}
        assert (team[rated.a2].satisfied, team[rated.a2].ratings, team[rated.a2].praise) == (1, 1, 1)
        assert sum(c.dissatisfied for c in team.values()) == 3 and sum(c.praise for c in team.values()) == 3


def test_the_installer_and_team_pages_show_them(app: Flask, rated: SimpleNamespace) -> None:
    client = browser(app, "wa001")
    mine = client.get("/me/ratings").get_data(as_text=True)
    assert "师傅迟到了QzComment" in mine and "Punctuality: 1/5 · Result: 4/5" in mine
    assert re.search(r"2–1 stars \(dissatisfied\)</dt><dd><strong[^>]*>3<", mine)
    assert re.search(r"Praise on record</dt><dd>2<", mine)
    assert re.search(r"Praise on record</dt><dd>3<", client.get("/me/ratings?days=90").get_data(as_text=True))

    client = browser(app, "sa001")
    team = client.get("/ratings/team").get_data(as_text=True)
    assert "wa001" in team and "wa002" in team and "wb001" not in team
    footer = re.search(r"<tfoot>(.*?)</tfoot>", team, re.S).group(1)
    assert re.findall(r"<td>(\d+)</td>", footer) == ["3", "2", "3", "8", "3"]
    assert client.get("/ratings/team?team=TB01").status_code == 404
    assert client.get("/ratings/installers/wb001").status_code == 404


def test_the_team_view_costs_the_same_for_2_or_8_installers(app: Flask, client: FlaskClient,
                                                            rated: SimpleNamespace) -> None:
    sign_in(client, "sa001")
    with counting(app) as before:
        assert client.get("/ratings/team").status_code == 200
    with app.app_context():
        team = db.session.get(Team, rated.team_a)
        for n in range(6):
            person = f.make_user(Role.INSTALLER, f"wa1{n:02d}", team)
            rate(person, 4, rated.now - timedelta(hours=n + 2))
        db.session.commit()
    with counting(app) as after:
        page = client.get("/ratings/team")
    assert page.status_code == 200 and "wa105" in page.get_data(as_text=True)
    assert len(after) == len(before)


def test_the_job_page_shows_the_rating_and_switches_reminders(app: Flask, client: FlaskClient,
                                                              rated: SimpleNamespace) -> None:
    sign_in(client, "sa001")
    page = client.get(f"/orders/{rated.last}").get_data(as_text=True)
    assert "Customer rating" in page and "★" in page and "师傅迟到了QzComment" in page and "Dissatisfied" in page
    csrf_value = csrf(page)
    off = client.post(f"/orders/{rated.last}/reminders", data={"csrf_token": csrf_value, "reminders": "off"})
    assert off.status_code == 303
    page = client.get(f"/orders/{rated.last}").get_data(as_text=True)
    assert "The customer gets no rating reminders." in page and "Turn rating reminders back on" in page
    with app.app_context():
        assert db.session.query(ReminderOptOut).count() == 1
    assert client.post(f"/orders/{rated.last}/reminders", data={"csrf_token": csrf_value, "reminders": "on"}).status_code == 303
    with app.app_context():
        assert db.session.query(ReminderOptOut).count() == 0


def test_the_customer_turns_reminders_off_from_the_rating_page(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        installer = f.make_user(Role.INSTALLER, "wa001", f.make_team("TA01"))
        customer = f.make_customer(name="王芳QzName", phone="13905559999")
        _order, token = completed(installer, ten_am() - timedelta(hours=1), customer=customer)
        db.session.commit()
    page = client.get(f"/r/{token}").get_data(as_text=True)
    assert "No more reminders" in page and "QzName" not in page and "13905559999" not in page
    answer = client.post(f"/r/{token}/reminders", data={"csrf_token": csrf(page), "reminders": "off"})
    assert answer.status_code == 303 and answer.headers["Location"].endswith(f"/r/{token}")
    page = client.get(f"/r/{token}").get_data(as_text=True)
    assert "We will not send you reminders to rate any more." in page and "Send me reminders again" in page
    with app.app_context():
        (row,) = db.session.query(ReminderOptOut).all()
        assert row.set_by_id is None
    assert client.post("/r/not-a-token/reminders", data={"csrf_token": "x", "reminders": "off"}).status_code in (400, 404)
