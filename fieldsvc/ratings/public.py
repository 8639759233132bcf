"""What every public rating page shares (the per-order link `/r/<token>` and the placard's pages
`/p/<code>`): the throttle per client address, the placard lookup's tighter ones, and the polite
page a throttled customer sees. The limits are settings (PUBLIC_RATE_LIMIT and the PLACARD_*
ones in `config`), counted where the sign-in throttle counts (`fieldsvc.throttle`)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request
from werkzeug.exceptions import TooManyRequests

from ..extensions import limiter


def _public_limit() -> str:
    return current_app.config["PUBLIC_RATE_LIMIT"]


def _lookup_limit() -> str:
    return current_app.config["PLACARD_LOOKUP_RATE_LIMIT"]


def _placard_limit() -> str:
    return current_app.config["PLACARD_PAGE_RATE_LIMIT"]


def _placard_key() -> str:
    return "placard:" + str((request.view_args or {}).get("code", ""))[:32]


# Every public rating page, all methods, counted together per client address.
public_limit = limiter.shared_limit(_public_limit, scope="public-rating")
# The placard's lookup by phone digits (POST): per client address, and per placard page, whoever
# asks (many addresses guessing one installer's customers).
lookup_limit_per_address = limiter.limit(_lookup_limit, methods=["POST"])
lookup_limit_per_placard = limiter.limit(_placard_limit, methods=["POST"], key_func=_placard_key)


def polite_429(bp: Blueprint) -> None:
    """Answer a throttled request on `bp`'s pages with the customer's page, not the staff one
    (which offers to go back to a home page a customer has not got); the Retry-After stays."""

    @bp.errorhandler(429)
    def too_many(error: TooManyRequests) -> Any:
        headers = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]
        return render_template("ratings/too_many.html"), 429, headers
