"""What every public rating page shares (the per-order link `/r/<token>`): the throttle per client
address, and the polite page a throttled customer sees. The limit is a setting (PUBLIC_RATE_LIMIT
in `config`), counted where the sign-in throttle counts (`fieldsvc.throttle`)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template
from werkzeug.exceptions import TooManyRequests

from ..extensions import limiter


def _public_limit() -> str:
    return current_app.config["PUBLIC_RATE_LIMIT"]


# Every public rating page, all methods, counted together per client address.
public_limit = limiter.shared_limit(_public_limit, scope="public-rating")


def polite_429(bp: Blueprint) -> None:
    """Answer a throttled request on `bp`'s pages with the customer's page, not the staff one
    (which offers to go back to a home page a customer has not got); the Retry-After stays."""

    @bp.errorhandler(429)
    def too_many(error: TooManyRequests) -> Any:
        headers = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]
        return render_template("ratings/too_many.html"), 429, headers
