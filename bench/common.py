"""What the benchmark scripts share: signing a demo user in through the real form."""
from __future__ import annotations

import re
from typing import Any

from fieldsvc.demo import DEMO_PASSWORD

CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(page: str) -> str:
    """The CSRF token of the sign-in page's form."""
    match = CSRF_RE.search(page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def signed_in(app: Any, username: str) -> Any:
    """A Flask test client signed in as the demo user `username`."""
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token})
    return client
