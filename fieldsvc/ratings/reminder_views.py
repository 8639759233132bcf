"""The rating on the job page (stars, dimensions, comment, the link's state and its reminder), and
turning rating reminders off or on: by a supervisor or admin on the job page, by the customer on
the rating page the reminder leads to."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.permissions import DISPATCHERS, role_required
from ..db import utcnow
from ..errors import NotFound
from ..extensions import db
from ..workorders.queries import order_page
from ..workorders.views import register_job_validator
from .forms import RemindersForm
from .models import SurveyInvitation
from .reminders import reminders_refused, set_reminders
from .services import invitation_for
from .summaries import rating_stamp, rating_story

bp = Blueprint("reminders", __name__)
bp.add_app_template_global(rating_story)
bp.record_once(lambda state: register_job_validator(state.app, rating_stamp))


@bp.app_template_global()
def customer_refused_reminders(invitation: SurveyInvitation) -> bool:
    """Whether the rating page's customer turned reminders off."""
    return reminders_refused(invitation.work_order.customer_id)


@bp.route("/orders/<number>/reminders", methods=["POST"])
@role_required(*DISPATCHERS)
def order_reminders(number: str) -> Any:
    """A supervisor or admin turns the order's customer's rating reminders off or on."""
    order = order_page(current_user, number)
    if order is None:
        abort(404)
    form = RemindersForm()
    if not form.validate_on_submit():
        abort(400)
    wanted = form.reminders.data == "on"
    set_reminders(order.customer_id, wanted, current_user, utcnow())
    db.session.commit()
    flash(_("Rating reminders are on for this customer.") if wanted else
          _("This customer gets no more rating reminders."), "success")
    return redirect(url_for("workorders.detail", number=number), 303)


@bp.route("/r/<token>/reminders", methods=["POST"])
def survey_reminders(token: str) -> Any:
    """The customer turns rating reminders off (or on again) from the rating page."""
    try:
        invitation = invitation_for(token)
    except NotFound:
        abort(404)
    form = RemindersForm()
    if not form.validate_on_submit():
        abort(400)
    wanted = form.reminders.data == "on"
    set_reminders(invitation.work_order.customer_id, wanted, None, utcnow())
    db.session.commit()
    flash(_("We will remind you to rate your visits.") if wanted else
          _("We will not send you reminders to rate any more."), "success")
    return redirect(url_for("ratings.survey", token=token), 303)
