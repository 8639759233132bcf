"""The customer's public pages (/r/<token>, /p/<code>): throttled per address with a polite 429, a
comment of at most 500 characters, no JavaScript needed, zh-CN and en with a switch, and only the
visit's own job type, day and engineer: never the customer, never another order."""
from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import func, select

from fieldsvc import create_app
from fieldsvc.auth.models import User
from fieldsvc.errors import InvalidInput
from fieldsvc.extensions import db
from fieldsvc.ratings.models import SurveyInvitation, SurveyResponse
from fieldsvc.ratings.services import invitation_for, submit_rating
from tests import factories as f
from tests.ratings.conftest import World, complete

CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


@pytest.fixture
def two_orders(app: Flask, world: World) -> dict[str, str]:
    """Installer A's repair for one customer and install for another; their rating tokens."""
    with app.app_context():
        installer = db.session.get(User, world.installer)
        _, mine = complete(installer, f.make_customer(name="QzFirstName", phone="13911110001", address="QzFirstAddr"))
        _, theirs = complete(installer, f.make_customer(name="QzSecondName", phone="13922220002",
                                                        address="QzSecondAddr"), job_type="install")
        db.session.commit()
    return {"mine": mine, "theirs": theirs}


def test_the_rating_page_shows_its_own_visit_only_in_both_languages_without_script(
        app: Flask, two_orders: dict[str, str]) -> None:
    customer = app.test_client()
    customer.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN,zh;q=0.9"
    chinese = customer.get(f"/r/{two_orders['mine']}").get_data(as_text=True)
    assert '<html lang="zh-CN"' in chinese and "评价本次上门服务" in chinese and "修障" in chinese and "张师傅" in chinese
    assert "新装" not in chinese  # the other order's job type
    for secret in ("QzFirst", "QzSecond", "13911110001", "13922220002", two_orders["theirs"], "<script"):
        assert secret not in chinese
    # The language switch: a plain form (no script), remembered for the session.
    assert 'action="/language"' in chinese and 'value="en"' in chinese
    token = CSRF.search(chinese).group(1)
    switched = customer.post("/language", data={"lang": "en", "next": f"/r/{two_orders['mine']}", "csrf_token": token})
    assert switched.status_code == 302 and switched.headers["Location"] == f"/r/{two_orders['mine']}"
    english = customer.get(f"/r/{two_orders['mine']}").get_data(as_text=True)
    assert '<html lang="en"' in english and "Rate your visit" in english and "Master Zhang" in english
    assert "Fault repair" in english and 'maxlength="500"' in english


def test_a_comment_longer_than_500_characters_is_a_form_error_and_nothing_is_saved(
        app: Flask, two_orders: dict[str, str]) -> None:
    customer = app.test_client()
    customer.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    url = f"/r/{two_orders['mine']}"
    token = CSRF.search(customer.get(url).get_data(as_text=True)).group(1)
    refused = customer.post(url, data={"score": "4", "comment": "好" * 501, "csrf_token": token})
    assert refused.status_code == 400 and "A comment has at most 500 characters." in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 0
        with pytest.raises(InvalidInput):  # the service refuses it too, whoever calls it
            submit_rating(invitation_for(two_orders["theirs"]), 4, comment="好" * 501)
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(SurveyInvitation)
                                 .where(SurveyInvitation.used_at.is_not(None))) == 0
    sent = customer.post(url, data={"score": "4", "comment": "好" * 500 + "  ", "csrf_token": token})
    assert sent.status_code == 200
    with app.app_context():
        assert len(db.session.scalar(select(SurveyResponse.comment))) == 500


@pytest.fixture
def throttled(app: Flask) -> Iterator[Flask]:
    """The app with the throttle on and small limits (the suite's app has it off)."""
    limited = create_app({**{k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "SECRET_KEY", "SERVER_NAME")},
                          "TESTING": True, "RATELIMIT_ENABLED": True, "WTF_CSRF_ENABLED": False,
                          "PUBLIC_RATE_LIMIT": "3 per minute", "PLACARD_LOOKUP_RATE_LIMIT": "2 per minute",
                          "PLACARD_PAGE_RATE_LIMIT": "4 per hour"})
    yield limited
    with limited.app_context():
        db.engine.dispose()


def test_public_pages_answer_429_politely_past_their_limits(throttled: Flask, world: World,
                                                            two_orders: dict[str, str]) -> None:
    client = throttled.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"

    def get(path: str, address: str) -> int:
        return client.get(path, environ_base={"REMOTE_ADDR": address}).status_code

    def lookup(code: str, address: str) -> int:
        return client.post(f"/p/{code}", data={"digits": "0000"}, environ_base={"REMOTE_ADDR": address}).status_code

    url = f"/r/{two_orders['mine']}"
    assert [get(url, "10.0.0.1") for _ in range(3)] == [200] * 3
    polite = client.get(url, environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert polite.status_code == 429 and "Please wait a moment" in polite.get_data(as_text=True)
    assert "Retry-After" in polite.headers and "Back to my home page" not in polite.get_data(as_text=True)
    assert get(f"/r/{two_orders['theirs']}", "10.0.0.1") == 429  # per address, not per link
    assert get(f"/p/{world.code}", "10.0.0.1") == 429  # one count for every public page of an address
    assert get(url, "10.0.0.2") == 200  # another address is not affected
    # The lookup: 2 a minute per address, 4 an hour per placard page whatever the address.
    assert [lookup(world.other_code, "10.0.1.1") for _ in range(3)] == [200, 200, 429]
    assert [lookup(world.code, "10.0.2.1") for _ in range(2)] == [200, 200]
    assert [lookup(world.code, "10.0.2.2") for _ in range(2)] == [200, 200]
    assert lookup(world.code, "10.0.2.3") == 429
    assert get(f"/p/{world.code}", "10.0.2.3") == 200  # the page itself still opens
