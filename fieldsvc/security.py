"""Response headers that every page carries: a strict Content-Security-Policy (no inline script,
no third-party origins: the app works without internet), no framing, no sniffing, a referrer
policy that keeps rating tokens and order numbers out of other sites' logs, no storing in any
cache, and HSTS over HTTPS; and the one way a secret token is kept (its digest only)."""
from __future__ import annotations

import hashlib

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
HSTS = "max-age=31536000; includeSubDomains"


def token_digest(token: str) -> str:
    """What is stored of a secret token (API tokens, rating links): its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def init_app(app: Flask) -> None:
    """Trust the configured proxies and add the security headers to every response."""
    _trust_proxies(app)

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
