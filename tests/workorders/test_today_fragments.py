"""Today's "My figures" panel is rendered once and kept (`caching.Fragments`) while its
validator's values stay the same: a recomputed figure, another installer, another team or another
language each get a panel of their own, and never another one's."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fieldsvc.auth.models import User
from fieldsvc.caching import Fragments
from fieldsvc.db import local_today, utcnow, zone
from fieldsvc.extensions import db
from fieldsvc.metrics.services import current_periods
from fieldsvc.metrics.views import TODAY_FRAGMENTS, TODAY_KEPT
from fieldsvc.snapshots.models import MetricSnapshot, ScopeType
from tests.conftest import csrf_token, sign_in
from tests.workorders.test_query_counts import counting

pytestmark = pytest.mark.usefixtures("web_crew")


def _snapshot(app: Flask, username: str, count: int) -> None:
    """Today's completed-orders figure of `username`, stored (or recomputed) as `count`."""
    with app.app_context():
        kind, start = current_periods(local_today(zone()))[0]
        row = db.session.scalar(select(MetricSnapshot).where(MetricSnapshot.scope_id == username))
        if row is None:
            row = MetricSnapshot(metric="completed_orders", scope_type=ScopeType.INSTALLER, scope_id=username,
                                 period_type=kind, period_start=start, numerator=None, is_final=False)
            db.session.add(row)
            row.computed_at = utcnow()
        else:  # the scheduler's next run: the figure changed, and so did its computed_at
            row.computed_at = row.computed_at + timedelta(minutes=15)
        row.denominator, row.value = count, count
        db.session.commit()


def _figures(client: FlaskClient) -> str:
    """The panel as the page shows it."""
    page = client.get("/today").get_data(as_text=True)
    return page[page.index('<section class="my-figures">'):page.index("</section>", page.index("my-figures"))]


def _kept(app: Flask) -> Fragments:
    with app.app_context():
        return Fragments.of(TODAY_FRAGMENTS, TODAY_KEPT)


def test_the_panel_is_read_and_rendered_once_while_its_figures_stay(app: Flask, client: FlaskClient) -> None:
    sign_in(client, "w1")
    _snapshot(app, "w1", 3)
    with counting(app) as first:
        first_panel = _figures(client)
    with counting(app) as again:
        assert _figures(client) == first_panel
    assert len(_kept(app)) == 1
    assert len(again) == len(first) - 1  # the snapshots are not read again
    assert not any(s.startswith("SELECT metric_snapshots.id") for s in again)
    assert any(s.startswith("SELECT metric_snapshots.id") for s in first)


def test_a_recomputed_figure_is_shown_at_once(app: Flask, client: FlaskClient) -> None:
    sign_in(client, "w1")
    _snapshot(app, "w1", 3)
    assert 'class="drill">3</a>' in _figures(client)
    _snapshot(app, "w1", 4)
    panel = _figures(client)
    assert 'class="drill">4</a>' in panel and 'class="drill">3</a>' not in panel


def test_each_installer_gets_their_own_panel(app: Flask, client: FlaskClient) -> None:
    _snapshot(app, "w1", 3)
    sign_in(client, "w1")
    assert 'class="drill">3</a>' in _figures(client)
    other = app.test_client()
    sign_in(other, "w2")  # the same team and language, no figures of their own: nothing of w1's
    other.post("/language", data={"lang": "en", "csrf_token": csrf_token(other, "/today"), "next": "/today"})
    panel = _figures(other)
    assert 'class="drill">3</a>' not in panel and "w1" not in panel


def test_another_language_renders_the_panel_in_it(app: Flask, client: FlaskClient) -> None:
    sign_in(client, "w1")
    _snapshot(app, "w1", 3)
    assert "My figures" in _figures(client)
    client.post("/language", data={"lang": "zh_CN", "csrf_token": csrf_token(client, "/today"), "next": "/today"})
    panel = _figures(client)
    assert "My figures" not in panel and "我的指标" in panel


def test_the_least_recently_used_are_dropped_first(app: Flask) -> None:
    kept = Fragments(2)
    with app.app_context():
        assert kept.get("a", lambda: "A") == "A" and kept.get("b", lambda: "B") == "B"
        assert kept.get("a", lambda: "not rendered again") == "A"  # a is now the most recent
        assert kept.get("c", lambda: "C") == "C" and len(kept) == 2
        assert kept.get("b", lambda: "B again") == "B again"  # b had gone
        assert kept.get("a", lambda: "A again") == "A again"  # and then a, when b came back


def test_the_panel_of_a_user_is_not_kept_across_an_unkept_page(app: Flask, client: FlaskClient) -> None:
    """With a message waiting (the page has no ETag), the panel is rendered and not kept."""
    sign_in(client, "w1")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "w1"))
        assert user is not None
    with client.session_transaction() as session:
        session["_flashes"] = [("message", "Saved.")]
    _figures(client)
    assert len(_kept(app)) == 0
