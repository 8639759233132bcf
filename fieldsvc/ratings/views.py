"""The customer's public rating page (no account), opened from the QR code or link; and the page
that shows that QR code on the installer's phone after completing."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user

from ..auth.models import Role
from ..auth.permissions import role_required
from ..errors import Conflict, NotFound
from ..extensions import db
from ..workorders.queries import order_page
from .forms import RatingForm, as_int
from .services import invitation_for, is_expired, submit_rating

bp = Blueprint("ratings", __name__)


@bp.route("/r/<token>", methods=["GET", "POST"])
def survey(token: str) -> Any:
    """Show the rating form, or thank the customer once it is sent."""
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
    link = url_for("ratings.survey", token=token, _external=True)
    return render_template("ratings/rating_code.html", order=order, link=link, qr_svg=_qr_svg(link))


def _qr_svg(link: str) -> str:
    """The link as an inline SVG QR code (no image request: one page, fast on a weak signal)."""
    import segno

    return segno.make(link, error="m").svg_inline(scale=6, border=2)
