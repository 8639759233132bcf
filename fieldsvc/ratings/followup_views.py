"""The follow-up pages (supervisors: their teams'; admins: all): the list with filters and its
exports, one follow-up with its steps; and what the board and the job page show of them. Views
are thin: a form, one service call, then a redirect or a page."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from ..auth.models import Role, User
from ..auth.permissions import DISPATCHERS, role_required
from ..auth.scope import managed_teams
from ..db import local_today, utcnow, zone
from ..errors import Conflict, DomainError
from ..exports import csv_response, xlsx_response
from ..extensions import current_locale, db
from ..forms import choices, show_error
from ..workforce.models import JobType
from ..workorders.board_views import register_board_panel
from ..workorders.views import register_job_panel
from . import followups
from .followup_forms import CloseForm, ContactForm, FollowUpFilterForm, state_choices
from .followups import (
    EXPORT_HEADER,
    PAGE_SIZE,
    REVISIT_JOB_TYPE,
    Closing,
    FollowUpFilters,
    board_queue,
    close_followup,
    export_list,
    export_rows,
    followup_page,
    followups_of_order,
    is_overdue,
    load_followup,
    record_contact,
)

bp = Blueprint("followups", __name__)

for _name in ("cause_label", "outcome_label", "status_label"):
    bp.add_app_template_global(getattr(followups, _name), f"followup_{_name}")
bp.add_app_template_global(is_overdue, "followup_is_overdue")


def _filters() -> tuple[FollowUpFilterForm, FollowUpFilters]:
    form = FollowUpFilterForm(request.args)
    form.state.choices = state_choices()
    locale = current_locale()
    form.team.choices = choices([("", "—"), *((t.code, f"{t.code} {t.name(locale)}") for t in managed_teams(current_user))])
    if "state" not in request.args:
        form.state.data = "pending"  # the list opens on what waits
    if not form.validate():
        return form, FollowUpFilters(state="pending")
    state = form.state.data
    return form, FollowUpFilters(state=state or "", team=form.team.data or "", installer=(form.installer.data or "").strip(),
                                 outcome=form.outcome.data or "", opened_from=form.opened_from.data,
                                 opened_to=form.opened_to.data)


@bp.route("/followups")
@role_required(*DISPATCHERS)
def index() -> Any:
    """The follow-ups of the supervisor's teams, filtered, newest first, 50 a page."""
    form, filters = _filters()
    try:
        page = max(int(request.args.get("page", 1)), 1)
    except ValueError:
        page = 1
    now = utcnow()
    rows, total = followup_page(current_user, filters, now, zone(), page)
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    return render_template("followups/list.html", form=form, filters=filters, rows=rows, total=total, page=page,
                           pages=pages, now=now)


@bp.route("/followups/export.<fmt>")
@role_required(*DISPATCHERS)
def export(fmt: str) -> Any:
    """The filtered list as CSV (UTF-8 with a BOM) or Excel: every step, no customer data."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    _form, filters = _filters()
    now, tz = utcnow(), zone()
    rows = export_rows(export_list(current_user, filters, now, tz), now, tz)
    filename = f"followups-{local_today(tz).isoformat()}.{fmt}"
    if fmt == "csv":
        return csv_response(filename, EXPORT_HEADER, rows)
    return xlsx_response(filename, _("Follow-ups"), EXPORT_HEADER, rows)


def _job_type_choices(form: CloseForm) -> None:
    locale = current_locale()
    types = db.session.scalars(select(JobType).where(JobType.is_active.is_(True)).order_by(JobType.id))
    form.revisit_job_type.choices = choices((t.code, t.name(locale)) for t in types)
    if form.revisit_job_type.data is None:
        form.revisit_job_type.data = REVISIT_JOB_TYPE


def _page(followup_id: int, contact: ContactForm | None = None, close: CloseForm | None = None,
          status: int = 200, error: str | None = None) -> Any:
    try:
        followup = load_followup(current_user, followup_id)
    except DomainError:
        abort(404)
    # A fresh form carries the version shown now; one sent back with its errors keeps the version
    # it was made from, so a change meanwhile is still found when it is sent again.
    if contact is None or status == 409:
        contact = ContactForm(formdata=None)
        contact.version.data = followup.version
    if close is None or status == 409:
        close = CloseForm(formdata=None)
        close.version.data = followup.version
    _job_type_choices(close)
    return render_template("followups/detail.html", followup=followup, contact=contact, close=close, error=error,
                           now=utcnow()), status


@bp.route("/followups/<int:followup_id>")
@role_required(*DISPATCHERS)
def detail(followup_id: int) -> Any:
    """One follow-up: the rating, the customer to call, its steps, and the next step's form."""
    return _page(followup_id)


def _act(followup_id: int, form: Any, perform: Any, done: str, which: str) -> Any:
    try:
        followup = load_followup(current_user, followup_id)
    except DomainError:
        abort(404)
    if not form.validate_on_submit():
        return _page(followup_id, status=400, error=_("Please correct the form."), **{which: form})
    try:
        perform(followup)
        db.session.commit()
    except Conflict as error:
        db.session.rollback()
        latest = _("The page now shows the latest state.")  # outside the f-string, for pybabel
        return _page(followup_id, status=409, error=f"{error.message} {latest}")
    except DomainError as error:
        db.session.rollback()
        show_error(form, error, summary=False)
        return _page(followup_id, status=error.status, error=str(error.message), **{which: form})
    flash(done, "success")
    return redirect(url_for("followups.detail", followup_id=followup_id))


@bp.route("/followups/<int:followup_id>/contact", methods=["POST"])
@role_required(*DISPATCHERS)
def contact(followup_id: int) -> Any:
    """Record that the customer was reached, with what they said."""
    form = ContactForm()
    return _act(followup_id, form, lambda f: record_contact(f, current_user, form.version.data, form.note.data),
                _("Contact recorded."), "contact")


@bp.route("/followups/<int:followup_id>/close", methods=["POST"])
@role_required(*DISPATCHERS)
def close(followup_id: int) -> Any:
    """Close with an outcome (a revisit booked creates the revisit order), perhaps reclassifying."""
    form = CloseForm()
    _job_type_choices(form)

    def perform(followup: Any) -> None:
        close_followup(followup, current_user, form.version.data, Closing(
            outcome=form.outcome.data, note=form.note.data, cause=form.cause.data or None,
            revisit_job_type=form.revisit_job_type.data), zone())
    return _act(followup_id, form, perform, _("Follow-up closed."), "close")


# --- on the board and the job page -------------------------------------------------------------

def board_panel(user: User) -> Markup:
    """The board's follow-up queue: how many wait, how many are overdue, the most pressing few."""
    now = utcnow()
    # An autoescaped template's output, already safe: marked so the board does not escape it twice.
    return Markup(render_template("followups/_board_queue.html", queue=board_queue(user, now), now=now))  # nosec B704


def job_panel(order: Any, user: User) -> Markup:
    """The follow-ups of the order on its page (read-only for its installer), or nothing."""
    rows = followups_of_order(user, order)
    if not rows:
        return Markup("")
    return Markup(render_template("followups/_job_panel.html", order=order, rows=rows, now=utcnow(),  # nosec B704
                                  may_act=user.role is not Role.INSTALLER))


def job_panel_validator(head: Any, user: User, now: Any) -> list[Any]:
    """What `job_panel` shows: the order's follow-ups as `user` may see them at `now`."""
    return [user.role is not Role.INSTALLER, *followups.order_followups_stamp(user, head.id, now)]


@bp.record_once
def _plug_in(state: Any) -> None:
    followups.register_notice_kinds(state.app)
    register_board_panel(state.app, board_panel)
    register_job_panel(state.app, job_panel, job_panel_validator)

