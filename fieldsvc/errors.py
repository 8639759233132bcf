"""Domain exceptions, and the handlers that turn errors into HTML pages or problem+json."""
from __future__ import annotations

from typing import Any

from flask import Flask, Response, json, render_template, request
from werkzeug.exceptions import HTTPException

PROBLEM_JSON = "application/problem+json"


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


def register_error_handlers(app: Flask) -> None:
    """Answer every HTTP error and domain error as HTML or problem+json, by path."""

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        if is_api_request():
            extra: dict[str, Any] = {}
            messages = getattr(error, "data", {}).get("messages") if hasattr(error, "data") else None
            if messages:
                extra["errors"] = messages
            response = problem(error.code or 500, error.name, error.description, **extra)
            if error.code == 401:
                response.headers["WWW-Authenticate"] = 'Bearer realm="fieldsvc"'
            return response
        return render_template("error.html", error=error), error.code or 500

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError) -> Any:
        if is_api_request():
            return problem(error.status, error.title, error.message, **error.details)
        return render_template("error.html", error=error), error.status

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Any:
        if app.testing or app.debug:  # let tests and the debugger see the real error
            raise error
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if is_api_request():
            return problem(500, "Internal Server Error", "The server failed; the error was logged.")
        return render_template("error.html", error=None), 500
