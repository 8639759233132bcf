"""API-token pages: every signed-in user manages their own at /account/tokens; an admin manages
anyone's at /admin/people/<username>/tokens. One blueprint for both, since they are the same page
over a different owner (the account page sits here rather than in auth.views so that the back office's
token pages stay one module). A new token is shown once, on the answer to the POST that created
it: it is never put in the session (a signed cookie is readable) nor stored in plain."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..auth.models import Role, User
from ..auth.permissions import role_required
from ..auth.services import issue_token, list_tokens, revoke_token
from ..errors import DomainError
from ..extensions import db
from ..forms import show_error
from .organisation_forms import ConfirmForm, TokenForm

bp = Blueprint("tokens", __name__)


def _me() -> User:
    """The signed-in user as a model object (a proxy cannot be put into a relationship)."""
    return current_user._get_current_object()  # type: ignore[attr-defined,no-any-return]


def _owner(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        abort(404)
    return user


def _page(owner: User, *, admin: bool) -> Any:
    """The token list of `owner` with the form for a new one; on a valid POST, the token made."""
    form = TokenForm()
    new_token, status = None, 200
    if form.validate_on_submit():
        try:
            _api_token, new_token = issue_token(_me(), owner, form.name.data)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
            status = error.status
        else:
            form = TokenForm(formdata=None)
    elif form.errors:
        status = 400
    return render_template("admin/tokens.html", owner=owner, tokens=list_tokens(owner), form=form,
                           new_token=new_token, admin=admin), status


def _revoke(owner: User, token_id: int) -> None:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        api_token = revoke_token(token_id, owner, actor=_me())
    except DomainError as error:
        abort(error.status)
    db.session.commit()
    flash(_("The token %(prefix)s… is revoked: it no longer works.", prefix=api_token.prefix), "success")


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def mine() -> Any:
    """The signed-in user's own API tokens: list, create (shown once), revoke."""
    return _page(_me(), admin=False)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_mine(token_id: int) -> Any:
    """Revoke one of the signed-in user's tokens (someone else's: 404)."""
    _revoke(_me(), token_id)
    return redirect(url_for("tokens.mine"))


@bp.route("/admin/people/<username>/tokens", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def person(username: str) -> Any:
    """An admin's view of anyone's API tokens: list, create for them (shown once), revoke."""
    return _page(_owner(username), admin=True)


@bp.route("/admin/people/<username>/tokens/<int:token_id>/revoke", methods=["POST"])
@role_required(Role.ADMIN)
def revoke_person(username: str, token_id: int) -> Any:
    """Revoke one of that person's tokens."""
    _revoke(_owner(username), token_id)
    return redirect(url_for("tokens.person", username=username))
