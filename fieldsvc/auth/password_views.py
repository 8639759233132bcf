"""Password pages: every signed-in user's change of their own (/account/password), and the
one-time reset link an admin hands out (/reset/<token>, no account needed)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from ..db import utcnow
from ..errors import DomainError
from ..extensions import db, limiter
from ..forms import show_error
from .password_forms import ChangePasswordForm, NewPasswordForm
from .people import change_own_password, reset_link, use_reset_link

bp = Blueprint("password", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/account/password", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])  # the current password is a guess like a sign-in's
@login_required
def change() -> Any:
    """Change one's own password: the current one required; every other session ends, this one stays."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            change_own_password(user, form.current.data or "", form.new.data or "")
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            # The session version moved on: sign this browser in again under the new one (and renew
            # its remember-me cookie if it had one); the absolute session limit keeps counting.
            remember = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
            started = session.get("signed_in_at", utcnow().timestamp())
            login_user(user, remember=remember)
            session["signed_in_at"] = started
            flash(_("Your password is changed. Your other devices are signed out."), "success")
            return redirect(url_for("views.index"))
    failed = request.method == "POST"
    return render_template("auth/password.html", form=form), 400 if failed else 200


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_login_limit)  # per client address: links are not guessed, nor the database hammered, by the thousand
def reset(token: str) -> Any:
    """Set a new password with a one-time link from an admin; then sign in with it."""
    link = reset_link(token)
    if link is None:
        return render_template("auth/reset.html", form=None), 404
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            use_reset_link(token, form.new.data or "")
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            flash(_("Your password is set. Sign in with it."), "success")
            return redirect(url_for("auth.login"))
    failed = request.method == "POST"
    return render_template("auth/reset.html", form=form, username=link.user.username), 400 if failed else 200
