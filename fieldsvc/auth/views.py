"""Sign-in, sign-out, language choice; session timeouts."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import (
    current_user,
    login_required,
    login_user,
    logout_user,
    user_loaded_from_cookie,
)

from ..db import UTC, utcnow
from ..errors import is_api_request
from ..extensions import db, limiter, login_manager
from ..security import safe_next
from .forms import LoginForm
from .models import Role, User
from .services import authenticate, end_sessions, user_for_session

bp = Blueprint("auth", __name__)

HOME_ENDPOINTS = {
    Role.INSTALLER: "workorders.today",
    Role.SUPERVISOR: "board.board",
    Role.ADMIN: "admin.home",
}


def home_url(user: User) -> str:
    """Where `user` lands after signing in."""
    return url_for(HOME_ENDPOINTS[user.role])


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    # Every request's session and remember-me cookie come here: a stale session version loads nobody.
    return user_for_session(user_id)


login_manager.login_view = "auth.login"
login_manager.login_message = None  # the sign-in page says enough
login_manager.session_protection = "basic"  # "strong" signs phones out at every network change


@bp.before_app_request
def enforce_absolute_session_limit() -> Any:
    """Sign out a browser session older than SESSION_ABSOLUTE_LIFETIME, however active. The API
    authenticates by token alone, so its requests do not load the browser session's user."""
    started = session.get("signed_in_at")
    if started is None or is_api_request() or not current_user.is_authenticated:
        return None
    age = utcnow() - datetime.fromtimestamp(started, UTC)
    if age > current_app.config["SESSION_ABSOLUTE_LIFETIME"]:
        logout_user()
        session.clear()
        return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
    return None


@user_loaded_from_cookie.connect
def _start_session_from_cookie(_app: Any, user: User, **_extra: Any) -> None:
    session["signed_in_at"] = utcnow().timestamp()
    session.permanent = True


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _username_limit() -> str:
    return current_app.config["LOGIN_USERNAME_RATE_LIMIT"]


def _attempted_username() -> str:
    return "login:" + (request.form.get("username") or "").strip()[:64]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])  # per client address
@limiter.limit(_username_limit, methods=["POST"], key_func=_attempted_username)  # per account tried
def login() -> Any:
    """The sign-in page."""
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.username.data or "", form.password.data or "")
        if user is None:
            form.form_errors.append(_("Wrong employee number or password."))
        else:
            _fresh_session()  # nothing from before sign-in carries over
            login_user(user, remember=form.remember.data)
            session.permanent = True
            session["signed_in_at"] = utcnow().timestamp()
            db.session.commit()
            return redirect(safe_next(request.args.get("next")) or home_url(user))
    failed = request.method == "POST"
    return render_template("auth/login.html", form=form), 400 if failed else 200


def _fresh_session() -> None:
    """Empty the browser session but keep the language chosen."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Any:
    """Sign out on every device: the user's sessions and remember-me cookies end, copies included."""
    end_sessions(current_user._get_current_object())
    db.session.commit()
    _fresh_session()
    logout_user()  # after clearing the session: it leaves there the mark that deletes the remember-me cookie
    flash(_("You are signed out."), "info")
    response = redirect(url_for("auth.login"))
    # The installer's phone keeps their jobs for offline use (customers' names, phones, addresses,
    # and what waits to be sent), and its browser keeps Today and the job pages to revalidate them
    # (fieldsvc.caching): signing out leaves none of it on the device.
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


@bp.route("/language", methods=["POST"])
def set_language() -> Any:
    """Remember the chosen language for this browser session."""
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next")) or url_for("views.index"))
