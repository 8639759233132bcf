"""Browser sessions whose idle clock moves on once a minute (`IdleSessions`); response headers
that every page carries: a strict Content-Security-Policy (no inline script, no third-party origins: the app works without internet), no framing, no sniffing, a referrer
policy that keeps rating tokens and order numbers out of other sites' logs, no storing in any
cache, and HSTS over HTTPS; the one way a secret token is kept (its digest only); where a
"go back to" address may send a browser (this site only); and the input no handler should ever see: text with a NUL character, and ids in URLs beyond what an integer
column holds."""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Request, Response, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from .db import INTEGER_RANGE, utcnow
from .errors import InvalidInput

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
HSTS = "max-age=31536000; includeSubDomains"
NUL = "\x00"


def token_digest(token: str) -> str:
    """What is stored of a secret token (API tokens, rating links): its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def safe_next(target: str | None) -> str | None:
    """`target` when it is a path on this site, to go back to after signing in or sending a form;
    None for anything else: another site's address, or one a browser reads as such ("//host", and
    "/\\host", which browsers treat as "//host")."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


class IdConverter(IntegerConverter):
    """`<int:…>` in routes, up to the largest id an Integer column holds: a larger number is no
    page (404) instead of an "integer out of range" from the database."""

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None, max: int | None = INTEGER_RANGE[1],
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def _json_with_nul(value: Any) -> dict[str, Any]:
    """Where a NUL sits in a JSON document, as a tree of keys (list items by index) ending in
    True; empty when there is none. Iterative: a deeply nested body cannot exhaust the stack."""
    found: dict[str, Any] = {}
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                _mark(found, path)
        elif isinstance(item, dict):
            for key, child in item.items():
                if NUL in key:
                    _mark(found, (*path, key))
                else:
                    stack.append((child, (*path, key)))
        elif isinstance(item, list):
            stack.extend((child, (*path, index)) for index, child in enumerate(item))
    return found


def _mark(tree: dict[Any, Any], path: tuple[Any, ...]) -> None:
    for key in path[:-1]:
        tree = tree.setdefault(key, {})
    tree[path[-1] if path else "_schema"] = True  # "_schema": the body itself (as webargs says)


def _errors(tree: dict[Any, Any], message: Any) -> dict[Any, Any]:
    return {key: _errors(child, message) if isinstance(child, dict) else [message] for key, child in tree.items()}


def refuse_nul() -> None:
    """Refuse (400, changing nothing) a request whose path, query, headers, form or JSON body holds
    U+0000. PostgreSQL cannot store it in text and SQLite would keep it silently, so neither
    sees one; nobody types it, and a form or schema error could only say the same thing."""
    found: dict[str, Any] = {}
    if NUL in request.path:
        found["path"] = True
    names = {name: True for name, value in request.args.items(multi=True) if NUL in name or NUL in value}
    if names:
        found["query"] = names
    names = {name: True for name, value in request.headers.items() if NUL in value}
    if names:
        found["headers"] = names
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.is_json:
            try:
                document = request.get_json(silent=True)
            except RecursionError:  # json.loads gives up on deep nesting with this, not a ValueError
                raise InvalidInput(_l("The JSON body is nested too deeply.")) from None
            body = _json_with_nul(document)
            if body:
                found["json"] = body
        else:
            names = {name: True for name, value in request.form.items(multi=True) if NUL in name or NUL in value}
            if names:
                found["form"] = names
    if found:
        message = _l("Contains a NUL character (U+0000).")
        raise InvalidInput(_l("The request contains a NUL character (U+0000), which is not accepted; "
                              "remove it and send it again."), errors=_errors(found, message))


class SignedAt(SecureCookieSession):
    """A browser session and when its cookie was signed (None: no cookie came, or a bad one)."""

    signed_at: datetime | None = None


class IdleSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, whose signature's time is the idle clock: a cookie signed
    longer than PERMANENT_SESSION_LIFETIME ago is refused. Flask signs and sends the cookie again
    on every request to move that clock on; here only once it was signed SESSION_REFRESH_AFTER ago
    (a minute), so the idle timeout holds to within that, and nearly every page and every 304 of
    the phone's polling goes without the work of signing it and without its 330-byte Set-Cookie."""

    session_class = SignedAt

    def open_session(self, app: Flask, request: Request) -> SignedAt | None:
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie:
            return self.session_class()
        try:
            data, signed_at = serializer.loads(cookie, max_age=int(app.permanent_session_lifetime.total_seconds()),
                                               return_timestamp=True)
        except BadSignature:
            return self.session_class()
        session = self.session_class(data)
        session.signed_at = signed_at
        return session

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        if session.modified:
            return True
        if not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            return False
        signed_at = getattr(session, "signed_at", None)
        return signed_at is None or utcnow() - signed_at >= app.config["SESSION_REFRESH_AFTER"]


def init_app(app: Flask) -> None:
    """Trust the configured proxies, bound the ids in URLs, refuse text with NUL, and add the
    security headers to every response."""
    _trust_proxies(app)
    app.session_interface = IdleSessions()
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_nul)

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # Nearly every answer names customers, phones, addresses or installers, and a phone is
        # shared or lost: nothing is kept in a cache unless its view says otherwise (static files
        # revalidate, photos are `private`).
        response.headers.setdefault("Cache-Control", "no-store")
        # Secure cookies mean a site served over HTTPS only, even where the proxy in front does
        # not say so (FIELDSVC_TRUSTED_PROXIES unset); browsers ignore HSTS over plain HTTP.
        if request.is_secure or app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response


def _trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES proxies, take the client's address, the scheme and the host from
    their X-Forwarded-For/-Proto/-Host (the last `n` values: what the proxies appended or set),
    so that the sign-in throttle counts per client, HSTS sees HTTPS and rating links carry the
    public address. With none (the default) those headers are ignored: a client could forge them."""
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]
