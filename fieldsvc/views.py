"""The site's root, liveness, and the registration of every blueprint."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

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
    """Liveness: 200 when the database answers within HEALTHZ_TIMEOUT, 503 when it doesn't."""
    try:
        with _probe().connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:  # down, refusing, frozen, too slow
        return jsonify(status="error", database="unreachable", detail=type(error).__name__), 503
    return jsonify(status="ok", database="ok")


@bp.route("/sw.js")
def service_worker() -> Any:
    """The installer's offline service worker (static/js/sw.js), served from the root so that it
    may control every page; revalidated on each check, so a new version is found at once."""
    script = Path(current_app.static_folder or "static", "js", "sw.js").read_bytes()
    return _revalidated(Response(script, mimetype="text/javascript", headers={"Cache-Control": "no-cache"}))


def _revalidated(response: Response) -> Response:
    """`response` with an ETag of its body, and a 304 when the browser already holds it: the phone
    revalidates the worker and the manifest on every page (Flask-Compress keys the ETag by the
    encoding it chose and answers 304s for compressed bodies itself)."""
    response.add_etag()
    return response.make_conditional(request)


@bp.route("/manifest.webmanifest")
def manifest() -> Any:
    """The web app manifest: the phone's home-screen icon opens the installer's jobs."""
    icons = [{"src": url_for("static", filename=f"icons/icon-{size}.png"), "sizes": f"{size}x{size}",
              "type": "image/png", "purpose": "any"} for size in (192, 512)]
    icons.append({"src": url_for("static", filename="icons/icon-maskable-512.png"), "sizes": "512x512",
                  "type": "image/png", "purpose": "maskable"})
    response = jsonify(name=_("fieldsvc installer"), short_name=_("fieldsvc"), start_url=url_for("views.index"),
                       scope="/", display="standalone", orientation="portrait", background_color="#ffffff",
                       theme_color="#1e4f8a", icons=icons)
    response.mimetype = "application/manifest+json"
    response.headers["Cache-Control"] = "no-cache"
    return _revalidated(response)


@bp.route("/session/token")
@login_required
def session_token() -> Any:
    """A CSRF token for this browser session and who it belongs to: the phone's outbox asks for it
    before sending what it kept (the token in a page saved hours ago may belong to a session that
    has ended since), and sends only what the same user queued."""
    return jsonify(csrf_token=generate_csrf(), user=current_user.username)


def _probe() -> Engine:
    """The engine /healthz asks through: the app's database, a new connection each time (no pool)
    with HEALTHZ_TIMEOUT for connecting and for the query. A pooled connection to a frozen server
    would wait for it indefinitely: only connecting has a client-side timeout."""
    engine = current_app.extensions.get("fieldsvc.healthz")
    if engine is None:
        engine = current_app.extensions["fieldsvc.healthz"] = create_engine(
            db.engine.url, poolclass=NullPool, connect_args=current_app.config["HEALTHZ_CONNECT_ARGS"])
    return engine


def register_blueprints(app: Flask) -> None:
    """Attach every area's blueprint."""
    from .admin.audit import bp as audit_bp
    from .admin.onboarding import bp as onboarding_bp
    from .admin.organisation import bp as organisation_bp
    from .admin.people import bp as people_bp
    from .admin.rules import bp as rules_bp
    from .admin.standards import bp as standards_bp
    from .admin.tokens import bp as tokens_bp
    from .admin.views import bp as admin_bp
    from .api import register_api
    from .auth.password_views import bp as password_bp
    from .auth.views import bp as auth_bp
    from .certifications.views import bp as certifications_bp
    from .metrics.views import bp as metrics_bp
    from .notifications.views import bp as notifications_bp
    from .ratings.followup_views import bp as followups_bp
    from .ratings.pages import bp as rating_pages_bp
    from .ratings.placard_views import bp as placards_bp
    from .ratings.praise_views import bp as praise_bp
    from .ratings.reminder_views import bp as reminders_bp
    from .ratings.views import bp as ratings_bp
    from .support.knowledge_views import bp as knowledge_bp
    from .support.views import bp as support_bp
    from .workorders.board_views import bp as board_bp
    from .workorders.views import bp as workorders_bp

    app.register_blueprint(bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(password_bp)
    app.register_blueprint(workorders_bp)
    app.register_blueprint(board_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(people_bp)
    app.register_blueprint(rules_bp)
    app.register_blueprint(standards_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(organisation_bp)
    app.register_blueprint(tokens_bp)
    app.register_blueprint(onboarding_bp)
    app.register_blueprint(ratings_bp)
    app.register_blueprint(followups_bp)
    app.register_blueprint(support_bp)
    app.register_blueprint(reminders_bp)
    app.register_blueprint(rating_pages_bp)
    app.register_blueprint(praise_bp)
    app.register_blueprint(placards_bp)
    app.register_blueprint(certifications_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(metrics_bp)
    app.register_blueprint(knowledge_bp)
    register_api(app)
