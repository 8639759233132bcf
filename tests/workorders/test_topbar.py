"""The top bar is rendered once per role, language and page (`caching.topbar`), and completed for
each request: every session's own CSRF token in its forms, the page's own address (escaped) in the
language form, the current page marked."""
from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fieldsvc.caching import Fragments
from tests.conftest import sign_in

pytestmark = pytest.mark.usefixtures("web_crew")

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _bar(page: str) -> str:
    return page[page.index('<header class="topbar">'):page.index("</header>")]


def test_each_session_gets_its_own_token_and_the_language_form_works(app: Flask) -> None:
    bars = {}
    for username in ("w1", "w2"):
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        sign_in(client, username)
        client.post("/language", data={"lang": "en", "csrf_token": TOKEN.search(client.get("/today").get_data(as_text=True)).group(1)})
        bar = _bar(client.get("/today").get_data(as_text=True))
        tokens = set(TOKEN.findall(bar))
        assert len(tokens) == 1 and "@@" not in bar  # the language and sign-out forms, completed
        switched = client.post("/language", data={"lang": "zh_CN", "csrf_token": tokens.pop(), "next": "/today"})
        assert switched.status_code == 302 and "今天" in client.get("/today").get_data(as_text=True)
        bars[username] = bar
    assert bars["w1"] != bars["w2"]  # the same role, language and page: only the tokens differ
    assert TOKEN.sub("", bars["w1"]) == TOKEN.sub("", bars["w2"])
    with app.app_context():
        assert 1 <= len(Fragments.of("topbar", 1000)) <= 3


def test_the_address_is_escaped_and_the_current_page_marked(app: Flask, client: FlaskClient) -> None:
    sign_in(client, "w1")
    bar = _bar(client.get('/today?x="><script>alert(1)</script>').get_data(as_text=True))
    assert "<script>alert" not in bar
    assert 'name="next" value="/today?x=&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in bar
    assert re.search(r'href="/today" class="navlink" aria-current="page"', bar)
    other = _bar(client.get("/me/certifications").get_data(as_text=True))
    assert 'href="/today" class="navlink" aria-current' not in other and 'aria-current="page"' in other
