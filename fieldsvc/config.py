"""Configuration: defaults in code, overrides from FIELDSVC_* variables, then a test mapping."""
from __future__ import annotations

import math
import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.engine import URL, make_url

_PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """The bundled copy of a top-level folder (templates, static, migrations, translations) in a
    wheel, else the one beside the package (a checkout, an editable install)."""
    bundled = _PACKAGE_DIR / name
    return bundled if bundled.is_dir() else _PACKAGE_DIR.parent / name


class Config:
    """Defaults. No secret has a default here: see `_secret_key`."""

    TIMEZONE = "Asia/Shanghai"
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True}
    # How long a request waits for the database, in seconds (0: no limit). Connecting, or for a
    # free connection of the pool: beyond it the answer is 503 (errors.py). A statement running
    # longer is cancelled by PostgreSQL itself; SQLite's busy timeout (db.py) bounds its locks.
    # Maintenance work lifts the statement timeout (db.without_statement_timeout).
    DB_CONNECT_TIMEOUT = 5.0
    DB_STATEMENT_TIMEOUT = 30.0
    # /healthz opens a connection of its own with this timeout, for connecting and for its query,
    # so it answers 503 quickly while the database is down, refusing or frozen.
    HEALTHZ_TIMEOUT = 2.0
    # Sessions: idle timeout and an absolute cap from sign-in. A request moves the idle clock on
    # (signs the cookie again) once the cookie was signed SESSION_REFRESH_AFTER ago
    # (`security.IdleSessions`): the timeout holds to within that.
    PERMANENT_SESSION_LIFETIME = timedelta(hours=2)
    SESSION_ABSOLUTE_LIFETIME = timedelta(hours=14)
    SESSION_REFRESH_EACH_REQUEST = True
    SESSION_REFRESH_AFTER = timedelta(minutes=1)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_DURATION = timedelta(days=14)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SECURE = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    BABEL_DEFAULT_LOCALE = "zh_CN"
    LANGUAGES = ("zh_CN", "en")
    # The largest request body; the completion form, which brings photos, has its own limit,
    # sized to the photo limits (`workorders.photos.MAX_REQUEST_BYTES`, through `forms.body_limit`).
    MAX_CONTENT_LENGTH = 1024 * 1024
    # Compressed answers (Flask-Compress: zstd, brotli or gzip, as the client accepts): the
    # stylesheets and scripts (most of a cold page's bytes) and the API's JSON. Not the HTML pages:
    # they carry the CSRF token and echo what was searched for, and compressing both in one answer
    # lets an observer of the encrypted lengths guess the token (BREACH). They are 3–15 kB anyway.
    COMPRESS_MIMETYPES = ["text/css", "text/javascript", "application/javascript", "application/json",
                          "application/problem+json", "image/svg+xml"]
    COMPRESS_ALGORITHM = ["br", "zstd", "gzip", "deflate"]  # brotli first: the smallest of the three here
    # flask-smorest / OpenAPI
    API_TITLE = "fieldsvc API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    API_PAGE_SIZE = 100
    # Sign-in throttling, counted in the application's database (fieldsvc.throttle) so that every
    # worker and host counts together; "memory://" counts in one process only.
    RATELIMIT_STORAGE_URI = "database://"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = "10 per minute; 50 per hour"
    LOGIN_USERNAME_RATE_LIMIT = "5 per minute; 20 per hour"
    # The customer's public rating pages (/r/<token>, /p/<code>), per client address (mobile networks
    # put many phones behind one address: generous for people, not for scripts).
    PUBLIC_RATE_LIMIT = "30 per minute; 200 per hour"
    # The placard's lookup by the last 4 phone digits (10,000 guesses): per client address, and per
    # placard page whatever the address (README "Placards").
    PLACARD_LOOKUP_RATE_LIMIT = "5 per minute; 20 per hour; 40 per day"
    PLACARD_PAGE_RATE_LIMIT = "20 per hour; 60 per day"
    # How many proxies in front set X-Forwarded-For/-Proto/-Host (0: none, the headers are ignored):
    # behind the TLS proxy the client's address, the scheme and the host are taken from them.
    TRUSTED_PROXIES = 0
    # Opens the address in the phone's map app (Amap's public URI works on Android and iOS).
    MAP_SEARCH_URL = "https://uri.amap.com/search?keyword={query}"
    # Text messages (rating reminders): "package.module:ClassName" of an SmsSender (see
    # fieldsvc/notifications/sms.py); the default only writes them to the log.
    SMS_SENDER = "fieldsvc.notifications.sms:LoggingSmsSender"
    # The address customers reach the app at (e.g. https://fieldsvc.example.com), for links made
    # outside a request: the rating link in a reminder sent by the scheduler.
    PUBLIC_URL: str | None = None
    # How often an installer's open Today page asks whether it changed (with its ETag: a 304 of
    # a few hundred bytes when nothing did), while the page is visible.
    TODAY_POLL_SECONDS = 30


# Environment variables read on top of the defaults, and the config key each sets.
_ENVIRONMENT = {
    "FIELDSVC_DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "FIELDSVC_SECRET_KEY": "SECRET_KEY",  # nosec B105
    "FIELDSVC_TIMEZONE": "TIMEZONE",
    "FIELDSVC_RATELIMIT_STORAGE_URI": "RATELIMIT_STORAGE_URI",
    "FIELDSVC_SMS_SENDER": "SMS_SENDER",
    "FIELDSVC_PUBLIC_URL": "PUBLIC_URL",
    "FIELDSVC_PUBLIC_RATE_LIMIT": "PUBLIC_RATE_LIMIT",
    "FIELDSVC_PLACARD_LOOKUP_RATE_LIMIT": "PLACARD_LOOKUP_RATE_LIMIT",
    "FIELDSVC_PLACARD_PAGE_RATE_LIMIT": "PLACARD_PAGE_RATE_LIMIT",
}
_COUNT_ENVIRONMENT = {
    "FIELDSVC_TRUSTED_PROXIES": "TRUSTED_PROXIES",
}
_SECONDS_ENVIRONMENT = {
    "FIELDSVC_DB_CONNECT_TIMEOUT": "DB_CONNECT_TIMEOUT",
    "FIELDSVC_DB_STATEMENT_TIMEOUT": "DB_STATEMENT_TIMEOUT",
}
_BOOLEAN_ENVIRONMENT = {
    "FIELDSVC_SECURE_COOKIES": ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"),
    "FIELDSVC_RATELIMIT_ENABLED": ("RATELIMIT_ENABLED",),
}


def load(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    """Fill app.config from Config, the environment and `overrides`, in that order."""
    app.config.from_object(Config)
    for variable, key in _ENVIRONMENT.items():
        if os.environ.get(variable):
            app.config[key] = os.environ[variable]
    for variable, key in _COUNT_ENVIRONMENT.items():
        if os.environ.get(variable):
            app.config[key] = _count(variable, os.environ[variable])
    for variable, key in _SECONDS_ENVIRONMENT.items():
        if os.environ.get(variable):
            app.config[key] = _seconds(variable, os.environ[variable])
    for variable, keys in _BOOLEAN_ENVIRONMENT.items():
        if os.environ.get(variable):
            value = os.environ[variable].strip().lower() not in {"0", "false", "no", "off"}
            for key in keys:
                app.config[key] = value
    if overrides:
        app.config.update(overrides)

    instance = Path(app.instance_path)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        instance.mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'fieldsvc.sqlite3'}"
    _database_timeouts(app)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance)
    app.config.setdefault("UPLOAD_FOLDER", str(instance / "uploads"))


def _count(variable: str, text: str) -> int:
    """A whole number from 0 up, or a start-up error that names the variable."""
    try:
        value = int(text.strip())
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError(f"{variable} must be a whole number from 0 up, not {text!r}")
    return value


def _seconds(variable: str, text: str) -> float:
    """A number of seconds from the environment; a clear error at start-up for anything else."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise RuntimeError(f"{variable} must be a number of seconds (0: no limit), not {text!r}")
    return value


def _database_timeouts(app: Flask) -> None:
    """Put the timeouts into the engine's options (those the app was given win), and keep the
    connect arguments of /healthz's own connection in HEALTHZ_CONNECT_ARGS."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    given = dict(options.get("connect_args") or {})
    if url.get_backend_name() == "sqlite":
        options["connect_args"] = {"timeout": 30, **given}
        app.config["HEALTHZ_CONNECT_ARGS"] = {**options["connect_args"], "timeout": app.config["HEALTHZ_TIMEOUT"]}
    elif url.get_backend_name() == "postgresql":
        connect, statement = app.config["DB_CONNECT_TIMEOUT"], app.config["DB_STATEMENT_TIMEOUT"]
        options["connect_args"] = _postgresql_connect_args(url, given, connect, statement)
        if connect:
            options.setdefault("pool_timeout", connect)
        healthz = app.config["HEALTHZ_TIMEOUT"]
        app.config["HEALTHZ_CONNECT_ARGS"] = _postgresql_connect_args(url, given, healthz, healthz, replace=True)
    else:
        app.config["HEALTHZ_CONNECT_ARGS"] = given
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _postgresql_connect_args(url: URL, given: Mapping[str, Any], connect: float, statement: float, *,
                            replace: bool = False) -> dict[str, Any]:
    """libpq's connect_timeout (whole seconds; libpq waits at least 2) and a statement_timeout in
    its `options`, added to the connect arguments `given` (which replace the URL's own, so the URL's
    options are kept in them) unless these already set them (`replace`: set them anyway). 0 adds
    nothing: no limit."""
    args = dict(given)
    if connect and (replace or ("connect_timeout" not in args and "connect_timeout" not in url.query)):
        args["connect_timeout"] = max(1, math.ceil(connect))
    options = args.get("options", url.query.get("options", ""))
    if statement and (replace or "statement_timeout" not in options):
        # The server applies the -c settings in order: a later statement_timeout wins.
        args["options"] = f"{options} -c statement_timeout={round(statement * 1000)}".strip()
    return args


def _secret_key(instance: Path) -> str:
    """Read the instance's secret key, generating it once (mode 0600) on first use."""
    path = instance / "secret_key"
    instance.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Written whole to a file of our own, then linked into place: another worker starting at
        # the same moment either links first (we read its key) or finds the key complete, never
        # an empty file half made.
        draft = instance / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # made by another worker meanwhile
        finally:
            draft.unlink()
    return path.read_text().strip()
