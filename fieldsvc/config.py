"""Configuration: defaults in code, overrides from FIELDSVC_* variables, then a test mapping."""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

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
    # Sessions: idle timeout (refreshed on every request) and an absolute cap from sign-in.
    PERMANENT_SESSION_LIFETIME = timedelta(hours=2)
    SESSION_ABSOLUTE_LIFETIME = timedelta(hours=14)
    SESSION_REFRESH_EACH_REQUEST = True
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
    # flask-smorest / OpenAPI
    API_TITLE = "fieldsvc API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    API_PAGE_SIZE = 100
    # Sign-in throttling. Each gunicorn worker counts on its own with "memory://"; point several
    # workers or hosts at one store (e.g. redis://127.0.0.1:6379) to count together.
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = "10 per minute; 50 per hour"
    LOGIN_USERNAME_RATE_LIMIT = "5 per minute; 20 per hour"
    # Opens the address in the phone's map app (Amap's public URI works on Android and iOS).
    MAP_SEARCH_URL = "https://uri.amap.com/search?keyword={query}"


# Environment variables read on top of the defaults, and the config key each sets.
_ENVIRONMENT = {
    "FIELDSVC_DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "FIELDSVC_SECRET_KEY": "SECRET_KEY",
    "FIELDSVC_TIMEZONE": "TIMEZONE",
    "FIELDSVC_RATELIMIT_STORAGE_URI": "RATELIMIT_STORAGE_URI",
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
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        options.setdefault("connect_args", {"timeout": 30})
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance)
    app.config.setdefault("UPLOAD_FOLDER", str(instance / "uploads"))


def _secret_key(instance: Path) -> str:
    """Read the instance's secret key, generating it once (mode 0600) on first use."""
    path = instance / "secret_key"
    instance.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass  # made before, or by another worker starting at the same moment
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()
