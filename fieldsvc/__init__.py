"""fieldsvc: the installer field-service tracker."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .config import resource_dir

__all__ = ["create_app", "resource_dir"]


def create_app(overrides: Mapping[str, Any] | None = None):
    """Build the Flask application: config, extensions, blueprints, CLI, error handlers."""
    from flask import Flask

    from . import (
        caching,
        config,
        errors,
        extensions,
        forms,
        models,  # noqa: F401  (every domain's tables on the metadata before anything looks)
        security,
        templating,
        views,
    )

    app = Flask(
        __name__,
        template_folder=str(resource_dir("templates")),
        static_folder=str(resource_dir("static")),
        instance_relative_config=True,
    )
    app.request_class = forms.Request  # body limits per view (`forms.body_limit`)
    config.load(app, overrides)
    extensions.init_app(app)
    templating.init_app(app)
    caching.init_app(app)
    security.init_app(app)
    views.register_blueprints(app)
    errors.register_error_handlers(app)
    from .cli import register_commands

    register_commands(app)
    return app
