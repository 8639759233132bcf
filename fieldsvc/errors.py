"""Domain exceptions, and the handlers that turn errors into HTML pages or problem+json."""
from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, g, json, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = 10  # what a 503 asks a client to wait before trying again


def number_text(value: float) -> str:
    """A limit as refusal messages print it: 100000, 0.1, −60 (with a true minus sign)."""
    return f"{value:g}".replace("-", "\N{MINUS SIGN}")


class DomainError(Exception):
    """A rule refused an action. `status` is the HTTP status the API answers with."""

    status = 422
    title = "Unprocessable request"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(DomainError):
    """Malformed input that a form or schema could not catch earlier (400, with `errors`)."""

    status = 400
    title = "Bad input"


class NotFound(DomainError):
    """The thing does not exist, or is not the caller's to see (404 either way: nothing leaks)."""

    status = 404
    title = "Not found"


class Forbidden(DomainError):
    """The caller's role may not do this."""

    status = 403
    title = "Forbidden"


class Conflict(DomainError):
    """A stale version, an illegal transition or a duplicate: refused, nothing changed."""

    status = 409
    title = "Conflict"


class RuleViolation(DomainError):
    """A business rule refused the request, with the reasons in `details`."""

    status = 422
    title = "Refused by a rule"


class DatabaseUnavailable(DomainError):
    """The database did not answer: down, refusing, too slow, or no free connection (503)."""

    status = 503
    title = "Service Unavailable"


def problem(status: int, title: str, detail: str | None = None, **extra: Any) -> Response:
    """An RFC 9457 problem document."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)


def is_api_request() -> bool:
    """An API path: authenticated by token alone, answered with problem+json on errors (pages
    answer with HTML)."""
    return request.path.startswith("/api/")


def _own_headers(error: HTTPException) -> list[tuple[str, str]]:
    """The headers an HTTP error brings besides its content type: `Allow` on a 405 (RFC 9110
    requires it), `Retry-After`, `WWW-Authenticate`…, kept when the error is answered our way."""
    return [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]


def _flatten(messages: Any) -> list[str]:
    """The message strings inside marshmallow's nested error dict (list items are keyed by index)."""
    if isinstance(messages, str):
        return [messages]
    values = messages.values() if isinstance(messages, dict) else messages
    return [text for value in values for text in _flatten(value)]


def describe_invalid(messages: dict[str, Any]) -> str:
    """What was wrong with a request's parameters or body, naming each field: "status (query):
    Must be one of: new, assigned, …"."""
    parts = []
    for location, fields in messages.items():
        if isinstance(fields, dict):
            parts += [f"{name} ({location}): {_sentences(problems)}" for name, problems in fields.items()]
        else:
            parts.append(f"{location}: {_sentences(fields)}")
    return str(_l("The request has errors: %(problems)s.", problems="; ".join(parts)))


def _sentences(messages: Any) -> str:
    return " ".join(_flatten(messages)).rstrip(".")


def register_error_handlers(app: Flask) -> None:
    """Answer every HTTP error and domain error as HTML or problem+json, by path."""

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        if is_api_request():
            extra: dict[str, Any] = {}
            messages = getattr(error, "data", {}).get("messages") if hasattr(error, "data") else None
            detail = error.description
            if messages:  # the arguments' schema refused them (webargs): say which and why
                extra["errors"] = messages
                detail = describe_invalid(messages)
            response = problem(error.code or 500, error.name, detail, **extra)
            response.headers.extend(_own_headers(error))
            if error.code == 401:
                response.headers["WWW-Authenticate"] = 'Bearer realm="fieldsvc"'
            return response
        return render_template("error.html", error=error), error.code or 500, _own_headers(error)

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError) -> Any:
        if is_api_request():
            return problem(error.status, error.title, error.message, **error.details)
        return render_template("error.html", error=error), error.status

    def database_unavailable(error: Exception) -> Any:
        app.logger.error("database unavailable on %s %s: %s: %s", request.method, request.path,
                         type(error).__name__, getattr(error, "orig", None) or error)
        unavailable = DatabaseUnavailable(_l("The database is not answering. Try again in a few seconds."))
        if is_api_request():
            response = problem(unavailable.status, unavailable.title, str(unavailable.message))
        else:
            # Flask-Login keeps the request's user in g._login_user and loads it for every template
            # (its context processor): with the database gone, the page shows no one instead.
            manager = getattr(current_app, "login_manager", None)
            if manager is not None:
                g._login_user = manager.anonymous_user()
            response = Response(render_template("error.html", error=unavailable), status=unavailable.status)
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(DBAPIError)
    def database_error(error: DBAPIError) -> Any:
        # Unavailable: the driver's OperationalError (refused, timed out, cancelled by the statement
        # timeout, dropped) or any error on a connection found broken. Anything else is a bug.
        if isinstance(error, OperationalError) or error.connection_invalidated:
            return database_unavailable(error)
        return unexpected(error)

    app.register_error_handler(DisconnectionError, database_unavailable)
    app.register_error_handler(PoolTimeout, database_unavailable)  # no free connection in time

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Any:
        if app.testing or app.debug:  # let tests and the debugger see the real error
            raise error
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if is_api_request():
            return problem(500, "Internal Server Error", "The server failed; the error was logged.")
        return render_template("error.html", error=None), 500
