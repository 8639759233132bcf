"""The /api/v1 REST API: bearer-token auth, problem+json errors, a generated OpenAPI document."""
from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any, TypeVar

from flask import Flask, abort, g, request
from flask_smorest import Api, Blueprint
from flask_smorest.utils import prepare_response
from webargs.flaskparser import FlaskParser
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict

from ..auth.models import User
from ..auth.services import user_for_token
from ..errors import PROBLEM_JSON, RETRY_AFTER_SECONDS
from ..extensions import csrf, db
from .schemas import ProblemSchema

# What any operation may answer: each one authenticates (401) and reads the database (503, the
# handler of fieldsvc.errors); one that takes a body may be sent one over MAX_CONTENT_LENGTH (413).
EVERY_OPERATION = (401, 503)
WITH_A_BODY = (413,)
# Headers the error handlers set on these answers (RFC 6750 and RFC 9110).
_PROBLEM_HEADERS = {
    401: {"WWW-Authenticate": {"description": "Bearer realm=\"fieldsvc\"", "required": True, "schema": {"type": "string"}}},
    503: {"Retry-After": {"description": "seconds to wait before trying again", "required": True,
                          "schema": {"type": "integer", "example": RETRY_AFTER_SECONDS}}},
}


# A body that may come as JSON or, when it brings a file, as multipart/form-data with the same
# fields and the file (`BadInputParser.load_json_or_multipart`). The operation documents both
# with `json_or_multipart_body`.
JSON_OR_MULTIPART = "json_or_multipart"
MULTIPART = "multipart/form-data"


class BadInputParser(FlaskParser):
    """Malformed parameters and bodies are 400 Bad Input; 422 is kept for rules refusing."""

    DEFAULT_VALIDATION_STATUS = 400
    __location_map__ = {**FlaskParser.__location_map__, JSON_OR_MULTIPART: "load_json_or_multipart"}

    def load_json_or_multipart(self, req: Any, schema: Any) -> Any:
        """A multipart body's fields and files together; any other body as JSON."""
        if req.mimetype == MULTIPART:
            return MultiDictProxy(CombinedMultiDict([req.form, req.files]), schema)
        return self.load_json(req, schema)


class ProblemApi(Api):
    """flask-smorest's Api, leaving error answers to fieldsvc.errors (problem+json). Its document
    lists, per operation, exactly the error statuses the operation can answer (`ApiBlueprint`),
    with no catch-all `default` answer that would let any status pass as documented."""

    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self) -> None:
        pass

    def _register_responses(self) -> None:
        """One response component per error status (NOT_FOUND, CONFLICT…), as problem+json."""
        for status in HTTPStatus:
            if status < 400:
                continue
            response: dict[str, Any] = {"description": status.phrase, "schema": self.ERROR_SCHEMA}
            if status in _PROBLEM_HEADERS:
                response["headers"] = _PROBLEM_HEADERS[status]
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)


_View = TypeVar("_View", bound=Callable[..., Any])


class ApiBlueprint(Blueprint):
    """A blueprint of the API: token-authenticated, CSRF-exempt (no cookies), 400 on bad input,
    and every error status an operation can answer in the document: 400 wherever it takes
    arguments (flask-smorest's own), `EVERY_OPERATION` and `WITH_A_BODY` by itself, the rest
    named on the view with `problems`."""

    ARGUMENTS_PARSER = BadInputParser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {**Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
                                             JSON_OR_MULTIPART: "application/json"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(self._prepare_problems_doc)

    def arguments(self, schema: Any, *args: Any, **kwargs: Any) -> Callable[[_View], _View]:
        """flask-smorest's `arguments`, with a schema class made an instance once: webargs would
        make one on every request (a tenth of a transition's time); loading keeps no state."""
        return super().arguments(schema() if isinstance(schema, type) else schema, *args, **kwargs)

    def problems(self, *statuses: int) -> Callable[[_View], _View]:
        """Document the error statuses this view can answer beyond those every operation can."""
        def decorator(view: _View) -> _View:
            for status in statuses:
                view = self.alt_response(status, response=HTTPStatus(status).name)(view)
            return view
        return decorator

    def json_or_multipart_body(self, json: Any, multipart: Any) -> Callable[[_View], _View]:
        """Document the two bodies of an operation whose arguments are read from JSON_OR_MULTIPART
        with the `multipart` schema: as JSON, the `json` schema's fields; as multipart/form-data,
        those and the files."""
        return self.doc(requestBody={"content": {"application/json": {"schema": json},
                                                 MULTIPART: {"schema": multipart}}})

    @staticmethod
    def _prepare_problems_doc(doc: dict[str, Any], doc_info: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        responses = doc.setdefault("responses", {})
        for status in EVERY_OPERATION + (WITH_A_BODY if "requestBody" in doc else ()):
            responses.setdefault(status, HTTPStatus(status).name)
        return doc


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


def api_blueprint(name: str, import_name: str, description: str) -> ApiBlueprint:
    """A blueprint of the API (`ApiBlueprint`), its requests authenticated by token."""
    blueprint = ApiBlueprint(name, import_name, description=description)
    blueprint.before_request(_authenticate)
    csrf.exempt(blueprint)
    return blueprint


def register_api(app: Flask) -> None:
    """Build this app's Api (one per app) and register the endpoints under /api/v1."""
    from . import certifications, followups, installers, metrics, support, work_orders

    api = ProblemApi(
        app,
        spec_kwargs={
            "info": {"description": "Work orders, installers, certifications, quality figures, follow-ups and on-site support requests of fieldsvc."},
            "security": [{"bearerAuth": []}],
        },
    )
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    for blueprint in (installers.blp, certifications.blp, work_orders.blp, metrics.blp, followups.blp, support.blp):
        api.register_blueprint(blueprint, url_prefix="/api/v1")
