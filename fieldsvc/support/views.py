"""On-site support pages: the installer's "Ask for help" on the job page (a panel, polled for
replies; beside the category, the procedure notes linked to it), the desk's live queue (polled),
one request with the notes of its category and the desk's take / reply / resolve forms, and the
installer's "solved, thanks". Views are thin: a form, one service call, then a redirect."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from werkzeug.datastructures import FileStorage

from ..auth.models import Role, User
from ..auth.permissions import DISPATCHERS, role_required
from ..db import utcnow
from ..errors import Conflict, DomainError
from ..extensions import db
from ..forms import body_limit, show_error
from ..workorders import lifecycle, photos
from ..workorders.board_views import register_board_panel
from ..workorders.models import WorkOrder
from ..workorders.queries import visible_orders
from ..workorders.views import register_job_panel
from . import services
from .forms import AskForm, ReplyForm, ResolveForm, StepForm
from .knowledge import notes_by_category, notes_for
from .models import UNRESOLVED, SupportRequest, SupportStatus
from .services import (
    RAISE_STATES,
    NewRequest,
    desk_queue,
    is_overdue,
    load_request,
    raise_request,
    recently_closed,
    requests_of_order,
)

bp = Blueprint("support", __name__)

for _name in ("category_label", "resolution_label", "status_label"):
    bp.add_app_template_global(getattr(services, _name), f"support_{_name}")
bp.add_app_template_global(is_overdue, "support_is_overdue")


# --- the installer's side ----------------------------------------------------------------------

def _may_ask(order: Any, user: User, rows: list[SupportRequest]) -> bool:
    return (user.role is Role.INSTALLER and order.assignee_id == user.id and order.status in RAISE_STATES
            and not any(r.status in UNRESOLVED for r in rows))


def _live(order: Any, user: User, rows: list[SupportRequest] | None = None) -> str:
    """The part of the job panel that the page polls: the requests (`rows` when already read),
    their replies and buttons."""
    rows = requests_of_order(user, order) if rows is None else rows
    return render_template("support/_order_requests.html", order=order, rows=rows, now=utcnow(),
                           settled=not any(r.status in UNRESOLVED for r in rows), thanks=_thanks_forms(rows, user))


def _thanks_forms(rows: list[SupportRequest], user: User) -> dict[int, StepForm]:
    forms = {}
    for row in rows:
        if row.installer_id == user.id and row.status in (SupportStatus.ANSWERED, SupportStatus.RESOLVED):
            form = StepForm(formdata=None)
            form.version.data = row.version
            forms[row.id] = form
    return forms


def job_panel(order: Any, user: User) -> Markup:
    """The order's support on its job page: "Ask for help" for its installer on the way or on
    site, and every request with its replies (polled while one waits); nothing when neither."""
    rows = requests_of_order(user, order)
    may_ask = _may_ask(order, user, rows)
    if not rows and not may_ask:
        return Markup("")
    # An autoescaped template's output, already safe: marked so the job page does not escape it twice.
    return Markup(render_template("support/_job_panel.html", order=order, live=Markup(_live(order, user, rows)),  # nosec B704
                                  ask=AskForm(formdata=None) if may_ask else None, photo_limits=photos,
                                  category_notes=notes_by_category() if may_ask else {}))


@bp.route("/orders/<number>/support/live")
@role_required(Role.INSTALLER, *DISPATCHERS)
def order_live(number: str) -> Any:
    """The job panel's polled fragment (HTML): the order's requests and replies as they are now."""
    # Polled every few seconds by every phone waiting for help: the order alone, not the job page's query.
    order = db.session.scalar(visible_orders(current_user).where(WorkOrder.number == number))
    if order is None:
        abort(404)
    return _fragment(_live(order, current_user))


def _fragment(html: str) -> Any:
    """A polled fragment's answer: never cached (the page asks again in a few seconds)."""
    response = make_response(html)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/orders/<number>/support", methods=["POST"])
@body_limit(photos.MAX_BYTES + 1024 * 1024)  # one photo and the fields
@role_required(Role.INSTALLER, *DISPATCHERS)
def ask(number: str) -> Any:
    """Ask for help on the job: its own installer, on the way or on site."""
    order = lifecycle.load_for_action(current_user, number)
    form = AskForm()
    if not form.validate_on_submit():
        return _ask_page(order, form, 400)
    try:
        sent = form.photo.data
        photo_file = (sent.filename, sent.stream) if isinstance(sent, FileStorage) and sent.filename else None
        raise_request(order, current_user, NewRequest(form.category.data, form.note.data, form.reading_dbm.data,
                                                      photo_file=photo_file), utcnow())
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        show_error(form, error, {"photos": "photo"})
        return _ask_page(order, form, error.status)
    flash(_("Your request for help was sent to the support desk."), "success")
    return redirect(url_for("workorders.detail", number=number, _anchor="support"))


def _ask_page(order: Any, form: AskForm, status: int) -> Any:
    return render_template("support/ask.html", order=order, form=form, photo_limits=photos,
                           category_notes=notes_by_category()), status


@bp.route("/support/requests/<int:request_id>/thanks", methods=["POST"])
@role_required(Role.INSTALLER)
def thanks(request_id: int) -> Any:
    """The installer's "solved, thanks" on their own answered request."""
    form = StepForm()
    row = _load(request_id)
    if not form.validate_on_submit():
        abort(400)
    try:
        services.thank(row, current_user, form.version.data, utcnow())
        db.session.commit()
    except DomainError:
        db.session.rollback()
        raise  # the error page, with its status (a stale or closed request: 409) and a way back
    flash(_("Thank you: the desk sees it was solved."), "success")
    return redirect(url_for("workorders.detail", number=row.work_order.number, _anchor="support"))


def _load(request_id: int) -> SupportRequest:
    try:
        return load_request(current_user, request_id)
    except DomainError:
        abort(404)


# --- the desk ----------------------------------------------------------------------------------

@bp.route("/support")
@role_required(*DISPATCHERS)
def queue() -> Any:
    """The desk's queue: what waits, the longest waiting first, refreshed every few seconds."""
    now = utcnow()
    return render_template("support/queue.html", live=Markup(_queue_html(now)),  # nosec B704
                           closed=recently_closed(current_user, now), now=now)


def _queue_html(now: Any) -> str:
    return render_template("support/_queue.html", rows=desk_queue(current_user), now=now)


@bp.route("/support/queue")
@role_required(*DISPATCHERS)
def queue_live() -> Any:
    """The queue's polled fragment (HTML)."""
    return _fragment(_queue_html(utcnow()))


def _detail(request_id: int, *, reply: ReplyForm | None = None, resolve: ResolveForm | None = None,
            status: int = 200, error: str | None = None) -> Any:
    row = _load(request_id)
    # A fresh form carries the version shown now; one sent back with its errors keeps its own, so a
    # change meanwhile is still found when it is sent again.
    take = StepForm(formdata=None)
    take.version.data = row.version
    if reply is None or status == 409:
        reply = ReplyForm(formdata=None)
        reply.version.data = row.version
    if resolve is None or status == 409:
        resolve = ResolveForm(formdata=None)
        resolve.version.data = row.version
    return render_template("support/detail.html", row=row, take=take, reply=reply, resolve=resolve, now=utcnow(),
                           error=error, notes=notes_for(category=row.category)), status


@bp.route("/support/requests/<int:request_id>")
@role_required(*DISPATCHERS)
def detail(request_id: int) -> Any:
    """One request: the job, what the installer said, the replies, and the desk's forms."""
    return _detail(request_id)


def _act(request_id: int, form: Any, perform: Any, done: str, which: str | None) -> Any:
    row = _load(request_id)
    if not form.validate_on_submit():
        forms = {which: form} if which else {}
        return _detail(request_id, status=400, error=_("Please correct the form."), **forms)
    try:
        perform(row)
        db.session.commit()
    except Conflict as error:
        db.session.rollback()
        latest = _("The page now shows the latest state.")  # outside the f-string, for pybabel
        return _detail(request_id, status=409, error=f"{error.message} {latest}")
    except DomainError as error:
        db.session.rollback()
        show_error(form, error, summary=False)
        forms = {which: form} if which else {}
        return _detail(request_id, status=error.status, error=str(error.message), **forms)
    flash(done, "success")
    return redirect(url_for("support.detail", request_id=request_id))


@bp.route("/support/requests/<int:request_id>/take", methods=["POST"])
@role_required(*DISPATCHERS)
def take(request_id: int) -> Any:
    """Take the request: the rest of the desk sees who has it."""
    form = StepForm()
    return _act(request_id, form, lambda r: services.take(r, current_user, form.version.data, utcnow()),
                _("You have taken the request."), None)


@bp.route("/support/requests/<int:request_id>/reply", methods=["POST"])
@role_required(*DISPATCHERS)
def reply(request_id: int) -> Any:
    """Reply to the installer (they see it on the job page within seconds)."""
    form = ReplyForm()
    return _act(request_id, form, lambda r: services.reply(r, current_user, form.body.data, form.version.data, utcnow()),
                _("Reply sent."), "reply")


@bp.route("/support/requests/<int:request_id>/resolve", methods=["POST"])
@role_required(*DISPATCHERS)
def resolve(request_id: int) -> Any:
    """Close the request with how it ended."""
    form = ResolveForm()
    return _act(request_id, form, lambda r: services.resolve(r, current_user, form.resolution.data, form.note.data,
                                                             form.version.data, utcnow()),
                _("Request resolved."), "resolve")


def board_panel(user: User) -> Markup:
    """The board's line on the support desk: how many wait and how many are overdue (none: nothing)."""
    waiting, overdue = services.desk_counts(user, utcnow())
    if not waiting:
        return Markup("")
    # An autoescaped template's output, already safe: marked so the board does not escape it twice.
    return Markup(render_template("support/_board.html", waiting=waiting, overdue=overdue))  # nosec B704


def job_panel_validator(head: Any, user: User, now: Any) -> list[Any]:
    """What `job_panel` shows: the requests (the order's state, which decides "Ask for help", is
    in the job page's own validator)."""
    return services.order_requests_stamp(user, head.id, now)


@bp.record_once
def _plug_in(state: Any) -> None:
    services.register_notice_kinds(state.app)
    register_job_panel(state.app, job_panel, job_panel_validator)
    register_board_panel(state.app, board_panel)
