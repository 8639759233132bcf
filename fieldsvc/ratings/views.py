"""The customer's public rating page (no account), opened from the QR code or link; and the page
that shows that QR code on the installer's phone after completing."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..auth.models import Role
from ..auth.permissions import role_required
from ..errors import Conflict, DomainError, InvalidInput, NotFound
from ..extensions import db
from ..forms import show_error
from ..workorders.queries import order_page
from .forms import RatingForm, as_int
from .public import polite_429, public_limit
from .services import invitation_for, is_expired, open_invitation, renew_link, submit_rating

bp = Blueprint("ratings", __name__)
polite_429(bp)


@bp.app_template_global()
def may_show_rating_code(order: Any) -> bool:
    """Whether the job page offers its reader "Show the rating code again": the installer who
    completed it, while the visit is unrated and the link unexpired."""
    return (current_user.is_authenticated and current_user.role is Role.INSTALLER
            and order.completed_by_id == current_user.id and open_invitation(order) is not None)


@bp.route("/r/<token>", methods=["GET", "POST"])
@public_limit
def survey(token: str) -> Any:
    """Show the rating form, or thank the customer once it is sent. Public: throttled per address,
    and it shows the visit's job type, date and engineer only, never the customer."""
    try:
        invitation = invitation_for(token)
    except NotFound:
        return render_template("ratings/survey.html", state="invalid"), 404
    if invitation.used_at is not None:
        return render_template("ratings/survey.html", state="done", invitation=invitation)
    if is_expired(invitation):
        return render_template("ratings/survey.html", state="expired", invitation=invitation), 410
    form = RatingForm()
    if form.validate_on_submit():
        try:
            submit_rating(invitation, int(form.score.data), punctuality=as_int(form.punctuality.data),
                          professionalism=as_int(form.professionalism.data), result=as_int(form.result.data),
                          comment=form.comment.data)
        except Conflict:
            db.session.rollback()
            return render_template("ratings/survey.html", state="done", invitation=invitation)
        except InvalidInput as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            return render_template("ratings/survey.html", state="thanks", invitation=invitation)
    status = 400 if form.errors else 200
    return render_template("ratings/survey.html", state="form", invitation=invitation, form=form), status


@bp.route("/orders/<number>/rating-code")
@role_required(Role.INSTALLER, Role.SUPERVISOR, Role.ADMIN)
def rating_code(number: str) -> Any:
    """After completing: the customer's rating QR code and link, shown on the installer's phone."""
    order = order_page(current_user, number)
    token = request.args.get("token", "")
    if order is None or order.completed_at is None or not token:
        abort(404)
    try:
        invitation = invitation_for(token)
    except NotFound:
        abort(404)
    if invitation.work_order_id != order.id:
        abort(404)
    if invitation.used_at is not None or is_expired(invitation):
        abort(410)  # rated or expired: a QR code that leads nowhere useful is not shown
    link = url_for("ratings.survey", token=token, _external=True)
    return render_template("ratings/rating_code.html", order=order, link=link, qr_svg=_qr_svg(link))


@bp.route("/orders/<number>/rating-code/new", methods=["POST"])
@role_required(Role.INSTALLER)
def new_rating_code(number: str) -> Any:
    """Show the rating QR code again: a fresh link for the installer who completed the order,
    the old one retired (only its digest was stored, so the old link cannot be shown again)."""
    order = order_page(current_user, number)
    if order is None or order.completed_at is None:
        abort(404)
    try:
        token = renew_link(order, current_user)
    except DomainError as error:
        db.session.rollback()
        if error.status == 403:
            abort(403)
        flash(str(error.message), "error")
        return redirect(url_for("workorders.detail", number=number))
    db.session.commit()
    return redirect(url_for("ratings.rating_code", number=number, token=token), 303)


def _qr_svg(link: str) -> str:
    """The link as an inline SVG QR code (no image request: one page, fast on a weak signal)."""
    import segno

    return segno.make(link, error="m").svg_inline(scale=6, border=2, omitsize=True)  # a viewBox: the CSS sizes it
