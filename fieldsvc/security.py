"""Response headers that every page carries: a strict Content-Security-Policy (no inline script,
no third-party origins: the app works without internet), no framing, no sniffing, and a referrer
policy that keeps rating tokens and order numbers out of other sites' logs; and the one way a
secret token is kept (its digest only)."""
from __future__ import annotations

import hashlib

from flask import Flask, Response

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def token_digest(token: str) -> str:
    """What is stored of a secret token (API tokens, rating links): its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def init_app(app: Flask) -> None:
    """Add the security headers to every response."""

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
