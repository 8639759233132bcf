"""The /api/v1 REST API: bearer-token auth, problem+json errors, a generated OpenAPI document."""
from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Flask, abort, g, request
from flask_smorest import Api, Blueprint
from webargs.flaskparser import FlaskParser

from ..auth.models import User
from ..auth.services import user_for_token
from ..extensions import csrf, db


class BadInputParser(FlaskParser):
    """Malformed parameters and bodies are 400 Bad Input; 422 is kept for rules refusing."""

    DEFAULT_VALIDATION_STATUS = 400


class ProblemSchema(ma.Schema):
    """An RFC 9457 problem document (documentation only)."""

    type = ma.fields.String()
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
    errors = ma.fields.Dict()


class ProblemApi(Api):
    """flask-smorest's Api, leaving error answers to fieldsvc.errors (problem+json)."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        pass


def current_api_user() -> User:
    """The user whose bearer token authenticated this request."""
    return g.api_user


def _authenticate() -> Any:
    """Every endpoint needs a valid bearer token of an active user (else 401)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(401, description="Send an API token: 'Authorization: Bearer TOKEN'.")
    user = user_for_token(token.strip())
    if user is None:
        abort(401, description="The API token is unknown, revoked, or its user is inactive.")
    g.api_user = user
    if db.session.dirty:  # the token's last-used time moved on (at most every few minutes)
        db.session.commit()
    return None


def api_blueprint(name: str, import_name: str, description: str) -> Blueprint:
    """A blueprint of the API: token-authenticated, CSRF-exempt (no cookies), 400 on bad input."""
    blueprint = Blueprint(name, import_name, description=description)
    blueprint.ARGUMENTS_PARSER = BadInputParser()
    blueprint.before_request(_authenticate)
    csrf.exempt(blueprint)
    return blueprint


def register_api(app: Flask) -> None:
    """Build this app's Api (one per app) and register the endpoints under /api/v1."""
    from . import certifications, installers, work_orders

    api = ProblemApi(
        app,
        spec_kwargs={
            "info": {"description": "Work orders, installers and certifications of fieldsvc."},
            "security": [{"bearerAuth": []}],
        },
    )
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    for blueprint in (installers.blp, certifications.blp, work_orders.blp):
        api.register_blueprint(blueprint, url_prefix="/api/v1")
