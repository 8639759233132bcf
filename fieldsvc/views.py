"""The site's root, liveness, and the registration of every blueprint."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, jsonify, redirect, url_for
from flask_login import current_user
from sqlalchemy import text

from .extensions import db

bp = Blueprint("views", __name__)


@bp.route("/")
def index() -> Any:
    """Signed in: the user's home. Otherwise: the sign-in page."""
    from .auth.views import home_url

    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    return redirect(url_for("auth.login"))


@bp.route("/healthz")
def healthz() -> Any:
    """Liveness: 200 when the database answers, 503 when it doesn't."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as error:  # any database failure means "not healthy"
        db.session.rollback()
        return jsonify(status="error", database="unreachable", detail=type(error).__name__), 503
    return jsonify(status="ok", database="ok")


def register_blueprints(app: Flask) -> None:
    """Attach every area's blueprint."""
    from .admin.views import bp as admin_bp
    from .api import register_api
    from .auth.views import bp as auth_bp
    from .certifications.views import bp as certifications_bp
    from .notifications.views import bp as notifications_bp
    from .ratings.views import bp as ratings_bp
    from .workorders.board_views import bp as board_bp
    from .workorders.views import bp as workorders_bp

    app.register_blueprint(bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(workorders_bp)
    app.register_blueprint(board_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(ratings_bp)
    app.register_blueprint(certifications_bp)
    app.register_blueprint(notifications_bp)
    register_api(app)
