"""The supervisor's side: the dispatch board, bulk assignment, the workload view, and creating
and editing orders. Views are thin: a form, one service call, then a redirect or a page."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Select, select

from ..auth.models import User
from ..auth.permissions import DISPATCHERS, role_required
from ..auth.scope import order_districts
from ..auth.services import PersonName
from ..db import local_today, utcnow, zone
from ..errors import Conflict, DomainError, InvalidInput, RuleViolation
from ..extensions import current_locale, db
from ..forms import choices, show_error
from ..rules.services import setting
from ..workforce.models import Customer, District, JobType
from . import lifecycle
from .board import (
    PAGE_SIZE,
    QUEUES,
    BoardFilters,
    board_page,
    queue_counts,
    team_installers,
    workloads,
)
from .dispatch import describe_unmet
from .forms import BoardFilterForm, BulkAssignForm, OrderForm
from .labels import priority_label, status_label
from .models import OrderStatus, Priority
from .queries import order_page
from .services import NewOrder, OrderChanges, create_work_order, update_work_order
from .slots import slot_starting, slot_times

bp = Blueprint("board", __name__)

# Queues other areas add to the board, above the orders' (the follow-ups of bad ratings, from
# fieldsvc.ratings): each a callable taking the supervisor and returning HTML.
BOARD_PANELS = "fieldsvc.board_panels"


def register_board_panel(app: Any, panel: Any) -> None:
    """Show `panel(user)` (HTML) on every dispatch board of `app`."""
    app.extensions.setdefault(BOARD_PANELS, []).append(panel)


def _reference_choices(form: Any, blank: bool, districts: Select[tuple[District]] | None = None) -> None:
    """Fill the district (every one, or those of `districts`), job type, priority and status
    choices in the user's language."""
    locale = current_locale()
    first = [("", "—")] if blank else []
    if getattr(form, "district", None) is not None:
        rows = db.session.scalars(districts if districts is not None else select(District).order_by(District.id))
        form.district.choices = choices([*first, *((d.code, d.name(locale)) for d in rows)])
    if getattr(form, "job_type", None) is not None:
        types = db.session.scalars(select(JobType).where(JobType.is_active.is_(True)).order_by(JobType.id))
        form.job_type.choices = choices([*first, *((t.code, t.name(locale)) for t in types)])
    if getattr(form, "priority", None) is not None:
        form.priority.choices = choices([*([("", "—")] if blank else []), *((p.value, priority_label(p)) for p in Priority)])
    if getattr(form, "status", None) is not None:
        form.status.choices = choices([("", "—"), *((s.value, status_label(s)) for s in OrderStatus)])


def _filters(form: BoardFilterForm) -> BoardFilters:
    queue = request.args.get("queue", "open")
    try:
        page = max(int(request.args.get("page", 1)), 1)
    except ValueError:
        page = 1
    valid = form.validate()
    return BoardFilters(
        queue=queue if queue in QUEUES else "open",
        district=form.district.data or "" if valid else "",
        job_type=form.job_type.data or "" if valid else "",
        priority=form.priority.data or "" if valid else "",
        status=form.status.data or "" if valid else "",
        day=form.day.data if valid else None,
        q=(form.q.data or "") if valid else "",
        page=page,
    )


@bp.route("/board")
@role_required(*DISPATCHERS)
def board() -> Any:
    """Queues of the supervisor's open orders with filters, search, pages and bulk assignment."""
    form = BoardFilterForm(request.args)
    _reference_choices(form, blank=True)
    filters = _filters(form)
    tz, now = zone(), utcnow()
    today = local_today(tz)
    counts = queue_counts(current_user, filters, now, tz, today)
    pages = max((counts[filters.queue] + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    filters.page = min(filters.page, pages)  # past the end (?page=99999999999999999999): the last page
    orders = board_page(current_user, filters, now, tz, today, english_names=not current_locale().startswith("zh"))
    assign_form = BulkAssignForm()
    assign_form.installer.choices = _installer_choices()
    # htmx (a filter, a queue tab, a page link) gets just the part it swaps in; a browser without
    # JavaScript gets the whole page.
    template = "board/_fragment.html" if request.headers.get("HX-Request") else "board/board.html"
    panels = [] if request.headers.get("HX-Request") else [
        panel(current_user) for panel in current_app.extensions.get(BOARD_PANELS, ())]
    response = make_response(render_template(template, form=form, filters=filters, counts=counts, orders=orders,
                                             queues=QUEUES, now=now, pages=pages, assign_form=assign_form,
                                             panels=panels))
    response.headers["Vary"] = "HX-Request"
    return response


def _installer_choices() -> list[Any]:
    locale = current_locale()
    return choices([("", "—"), *((u.username, f"{u.display_name(locale)} ({u.username})")
                                 for u in team_installers(current_user))])


@bp.route("/board/assign", methods=["POST"])
@role_required(*DISPATCHERS)
def bulk_assign() -> Any:
    """Assign the ticked orders to one installer; each order succeeds or is refused on its own."""
    form = BulkAssignForm()
    form.installer.choices = _installer_choices()
    picked = request.form.getlist("orders")
    if not form.validate() or not picked:
        flash(_("Tick at least one order and choose an installer."), "error")
        return redirect(url_for("board.board", **request.args))
    today = local_today(zone())
    chosen = db.session.scalar(select(User).where(User.username == form.installer.data))
    name = str(PersonName(chosen)) if chosen is not None else form.installer.data
    results = []
    for item in picked[:200]:
        number, _sep, version = item.partition(":")
        try:
            order = lifecycle.load_for_action(current_user, number)
            lifecycle.assign(order, current_user, form.installer.data, int(version) if version.isdigit() else None,
                             today=today)
            db.session.commit()
            results.append((number, True, _("assigned to %(name)s", name=name), []))
        except DomainError as error:
            db.session.rollback()
            results.append((number, False, str(error.message), describe_unmet(error.details.get("unmet", []))))
    return render_template("board/bulk_results.html", results=results)


@bp.route("/board/workload")
@role_required(*DISPATCHERS)
def workload() -> Any:
    """Each installer's day: assigned, done, open, what they do now, what comes next."""
    tz = zone()
    today = local_today(tz)
    capacity = int(setting("installer_daily_capacity", today))
    rows = workloads(current_user, today, tz, capacity)
    return render_template("board/workload.html", rows=rows, capacity=capacity, now=utcnow())


def _window(form: OrderForm) -> tuple[datetime | None, datetime | None]:
    if not form.day.data or not form.slot.data:
        return None, None
    return slot_times(form.day.data, form.slot.data, zone())


# The service's names for what the order form calls otherwise.
_ORDER_FIELDS = {"appointment_end": "slot", "appointment_start": "day"}


@bp.route("/orders/new", methods=["GET", "POST"])
@role_required(*DISPATCHERS)
def new_order() -> Any:
    """Take an order on the phone: find the customer by phone or account number, or enter them."""
    form = OrderForm()
    # Only the districts the order may be taken in: a supervisor's teams' (create_work_order's rule).
    districts = order_districts(current_user)
    _reference_choices(form, blank=False, districts=districts)
    form.job_type.choices = choices([("", "—"), *((c.value, c.label) for c in form.job_type.choices)])
    form.district.choices = choices([("", "—"), *((c.value, c.label) for c in form.district.choices)])
    if request.method == "GET":
        form.priority.data = Priority.NORMAL.value
        lookup = (request.args.get("find") or "").strip()
        if lookup:
            # Only customers in those districts: another team's customers are not the caller's to
            # look up (their name and address would show), and no order could be taken for them here.
            customer = db.session.scalar(select(Customer).where(
                (Customer.phone == lookup) | (Customer.account_no == lookup),
                Customer.district_id.in_(districts.with_only_columns(District.id).order_by(None)),
            ).order_by(Customer.id.desc()).limit(1))
            if customer is None:
                flash(_("No customer with that phone or account number: enter them below."), "info")
                form.phone.data = lookup
            else:
                form.account_no.data, form.customer_name.data = customer.account_no, customer.name
                form.phone.data, form.address.data = customer.phone, customer.address
                form.district.data = db.session.get(District, customer.district_id).code
    elif form.validate_on_submit():
        start, end = _window(form)
        data = NewOrder(job_type=form.job_type.data, account_no=form.account_no.data.strip(),
                        customer_name=form.customer_name.data.strip(), phone=form.phone.data.strip(),
                        address=form.address.data.strip(), district=form.district.data, priority=form.priority.data,
                        appointment_start=start, appointment_end=end, is_work_at_height=form.is_work_at_height.data,
                        notes=form.notes.data)
        try:
            order, _created = create_work_order(current_user, data, zone())
        except DomainError as error:
            db.session.rollback()
            show_error(form, error, _ORDER_FIELDS)
        else:
            db.session.commit()
            flash(_("Order %(number)s created.", number=order.number), "success")
            return redirect(url_for("workorders.detail", number=order.number))
    return render_template("board/order_form.html", form=form, order=None), 400 if form.errors or form.form_errors else 200


@bp.route("/orders/<number>/edit", methods=["GET", "POST"])
@role_required(*DISPATCHERS)
def edit_order(number: str) -> Any:
    """Edit or reschedule an open order; a stale page is refused with a conflict."""
    order = order_page(current_user, number)
    if order is None:
        abort(404)
    form = OrderForm(obj=None)
    for name in ("job_type", "account_no", "customer_name", "phone", "address", "district"):
        delattr(form, name)  # the job type and the customer's account stay as they are
    _reference_choices(form, blank=False)
    status = 200
    if request.method == "GET":
        form.priority.data, form.notes.data = order.priority.value, order.notes
        form.is_work_at_height.data, form.version.data = order.is_work_at_height, order.version
        if order.appointment_start:
            form.day.data = order.appointment_start.astimezone(zone()).date()
            form.slot.data = slot_starting(order.appointment_start, zone())
    elif form.validate_on_submit():
        start, end = _window(form)
        changes = OrderChanges(priority=form.priority.data, notes=form.notes.data,
                               is_work_at_height=form.is_work_at_height.data, appointment_start=start,
                               appointment_end=end)
        try:
            changed = update_work_order(order, current_user, form.version.data, changes, local_today(zone()))
            db.session.commit()
        except Conflict as error:
            db.session.rollback()
            reload = _("Reload the page to see the latest state.")  # outside the f-string, for pybabel
            form.form_errors.append(f"{error.message} {reload}")
            status = 409
        except (InvalidInput, RuleViolation) as error:
            db.session.rollback()
            show_error(form, error, _ORDER_FIELDS, unmet=describe_unmet)
            status = error.status
        else:
            flash(_("Saved.") if changed else _("Nothing changed."), "success")
            return redirect(url_for("workorders.detail", number=number))
    else:
        status = 400
    return render_template("board/order_form.html", form=form, order=order), status

