"""The customer's public rating page (no account): opened from the QR code or link."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from ..errors import Conflict, NotFound
from ..extensions import db
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
