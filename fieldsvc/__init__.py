"""fieldsvc: the installer field-service tracker."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

_PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """The bundled copy of a top-level folder in a wheel, else the one beside the package."""
    bundled = _PACKAGE_DIR / name
    return bundled if bundled.is_dir() else _PACKAGE_DIR.parent / name


def create_app(overrides: Mapping[str, Any] | None = None):
    """Build the Flask application: config, extensions, blueprints, CLI, error handlers."""
    from flask import Flask

    from . import config, errors, extensions, security, templating, views

    app = Flask(
        __name__,
        template_folder=str(resource_dir("templates")),
        static_folder=str(resource_dir("static")),
        instance_relative_config=True,
    )
    config.load(app, overrides)
    extensions.init_app(app)
    templating.init_app(app)
    security.init_app(app)
    views.register_blueprints(app)
    errors.register_error_handlers(app)
    from .cli import register_commands

    register_commands(app)
    return app
