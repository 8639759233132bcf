"""What a phone on a weak signal need not download twice.

Static files are fingerprinted: every `url_for("static", filename=…)` gets `?v=<content hash>`
(the hashes are computed once, when the app is built), and a request naming the current hash is
answered `Cache-Control: public, max-age=31536000, immutable`; an address without it (or with an
old one) still works and revalidates as before.

The installer's pages answer conditional GETs: a page computes a validator from what it shows
(a few cheap queries, `validator`), and an `If-None-Match` naming it is answered 304 without
rendering. Every validator also covers what every page shows or depends on: the signed-in user
and their session (its CSRF token: a page kept by one session is never valid for another), the
language, the address asked for, and the application's build (its version, templates, static
files and translations), so a deploy changes every validator."""
from __future__ import annotations

import hashlib
import hmac
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, render_template, request, session
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from .config import resource_dir
from .db import utcnow

STATIC_HASHES = "fieldsvc.static_hashes"
BUILD = "fieldsvc.build"
IMMUTABLE = "public, max-age=31536000, immutable"
# The settings the pages show or behave by (local times, map links, how often they poll): a
# restart with another value changes every validator, as a deploy does.
PAGE_SETTINGS = ("TIMEZONE", "MAP_SEARCH_URL", "TODAY_POLL_SECONDS", "SUPPORT_POLL_SECONDS")
REVALIDATE = "private, no-cache"


def file_hashes(folder: str | Path) -> dict[str, str]:
    """A short content hash (12 hex digits of SHA-256) of every file under `folder`, by its path
    relative to it with forward slashes (the `filename` of `url_for("static", …)`)."""
    root = Path(folder)
    hashes: dict[str, str] = {}
    if not root.is_dir():
        return hashes
    for directory, _dirs, files in os.walk(root):
        for name in files:
            path = Path(directory) / name
            hashes[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return hashes


def _build_id(app: Flask, static: dict[str, str]) -> str:
    """One digest of the application's version, templates, translations and static files."""
    digest = hashlib.sha256()
    try:
        digest.update(metadata.version("fieldsvc").encode())
    except metadata.PackageNotFoundError:  # pragma: no cover - a checkout without an install
        pass
    folders = [Path(app.template_folder or resource_dir("templates")), resource_dir("translations")]
    for folder in folders:
        for name, value in sorted(file_hashes(folder).items()):
            digest.update(f"{folder.name}/{name}={value}\n".encode())
    for name, value in sorted(static.items()):
        digest.update(f"static/{name}={value}\n".encode())
    return digest.hexdigest()[:16]


def static_hash(filename: str) -> str | None:
    """The current fingerprint of a static file (None for a file that was not there at start-up)."""
    return current_app.extensions[STATIC_HASHES].get(filename)


def fingerprint(app: Flask) -> None:
    """Hash the app's static files (and so its build) once: at start-up (`init_app`)."""
    static = file_hashes(app.static_folder) if app.static_folder else {}
    app.extensions[STATIC_HASHES] = static
    app.extensions[BUILD] = _build_id(app, static)


def init_app(app: Flask) -> None:
    """Fingerprint the static files once, add the fingerprint to their addresses, and let the
    browser keep a fingerprinted file for a year."""
    fingerprint(app)
    app.add_template_global(topbar, "topbar")

    @app.url_defaults
    def add_fingerprint(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "v" not in values:
            value = app.extensions[STATIC_HASHES].get(values.get("filename", ""))
            if value:
                values["v"] = value

    @app.after_request
    def cache_fingerprinted(response: Response) -> Response:
        if request.endpoint == "static" and response.status_code in (200, 304):
            filename = (request.view_args or {}).get("filename", "")
            sent = request.args.get("v")
            if sent and sent == app.extensions[STATIC_HASHES].get(filename):
                response.headers["Cache-Control"] = IMMUTABLE
        return response


# --- conditional GET of the pages -------------------------------------------------------------

def validator(parts: Iterable[Any]) -> str | None:
    """The ETag of this request's page from `parts` (what the page shows, as plain values), or
    None when the page must not be kept: a message is waiting to be shown once (a flash)."""
    if session.get("_flashes"):
        return None
    raw_token = session.get("csrf_token") or ""
    if not raw_token:
        generate_csrf()  # the page's forms will need one: made now, so that it is in the validator
        raw_token = session.get("csrf_token") or ""
    user = (current_user.get_id() if current_user.is_authenticated else "", getattr(current_user, "session_version", ""))
    # Keyed with the app's secret: the ETag reveals nothing of the session's token it covers.
    digest = hmac.new(str(current_app.secret_key).encode(), digestmod=hashlib.sha256)
    settings = tuple(current_app.config.get(name) for name in PAGE_SETTINGS)
    limit = current_app.config.get("WTF_CSRF_TIME_LIMIT")
    if limit:  # a kept page's signed CSRF token expires: render it afresh every half of its life
        settings += (int(utcnow().timestamp() // (limit / 2)),)
    digest.update(repr((current_app.extensions[BUILD], settings, raw_token, user, str(get_locale()),
                        request.full_path)).encode())
    for part in parts:
        digest.update(b"\x1f")
        digest.update(repr(part).encode())
    return '"' + digest.hexdigest()[:32] + '"'


def not_modified(etag: str | None) -> Response | None:
    """A 304 for a GET whose If-None-Match names `etag` (None: the page is to be rendered)."""
    if etag is None or request.method != "GET" or not request.if_none_match:
        return None
    if not request.if_none_match.contains_weak(etag.strip('"')):  # If-None-Match compares weakly (RFC 9110)
        return None
    response = current_app.response_class(status=304)
    return revalidate(response, etag)


def revalidate(response: Response, etag: str | None) -> Response:
    """Mark a page the browser may keep but must revalidate each time (`etag` None: keep nothing)."""
    if etag is not None:
        response.headers["ETag"] = etag
        response.headers["Cache-Control"] = REVALIDATE
    return response


# --- rendered fragments ---------------------------------------------------------------------------

class Fragments:
    """Rendered pieces of pages kept in this process (one set per application: `of`), each by a
    key that names everything it shows (its user, language, the values of its validator): a page
    whose panel has not changed since it was last rendered reuses that HTML instead of reading
    and rendering it again. The `size` most recently used are kept (the least recently used
    dropped first); the application's build is part of every key, so a template changed under a
    reloading server is not served stale."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._kept: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any, render: Callable[[], Any]) -> Any:
        """The fragment kept under `key`, else `render()`'s, kept under it."""
        key = (current_app.extensions.get(BUILD), key)
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
        fragment = render()
        with self._lock:
            self._kept[key] = fragment
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return fragment

    @classmethod
    def of(cls, name: str, size: int) -> Fragments:
        """This application's fragments called `name` (made on first use, keeping `size`)."""
        key = f"fieldsvc.fragments.{name}"
        kept = current_app.extensions.get(key)
        if kept is None:
            kept = current_app.extensions.setdefault(key, cls(size))
        return kept

    def __len__(self) -> int:
        return len(self._kept)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


# The top bar of every page (templates/_topbar.html) is the same for every user of a role, in a
# language, on a page: rendered once with these marks where the session's CSRF token and the
# page's address go, then completed for each request (both escaped, as the template would).
CSRF_MARK, NEXT_MARK = "@@fieldsvc-csrf@@", "@@fieldsvc-next@@"


def topbar() -> Markup:
    """The top bar for this request: the role's menu in the reader's language, with this page
    marked as the current one."""
    role = current_user.role.value if current_user.is_authenticated else None
    key = (role, str(get_locale()), request.endpoint, request.script_root)
    html = Fragments.of("topbar", 1000).get(
        key, lambda: render_template("_topbar.html", csrf_value=CSRF_MARK, next_value=NEXT_MARK))
    # The marks are in the kept text only: the CSRF token first, so that an address naming the
    # mark stays as it was sent.
    return Markup(html.replace(CSRF_MARK, escape(generate_csrf())).replace(NEXT_MARK, escape(request.full_path)))  # nosec B704


__all__ = ["IMMUTABLE", "REVALIDATE", "Fragments", "file_hashes", "fingerprint", "init_app", "not_modified", "revalidate",
           "static_hash", "topbar", "validator"]
