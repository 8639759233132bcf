"""Installer pages (Today, Upcoming, Done, the job page and its actions) and the supervisor's
board. Views are thin: a form, one service call, then a redirect or a page."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from ..auth.models import Role, User
from ..auth.permissions import role_required
from ..auth.scope import managed_installers, teams_serving
from ..caching import Fragments, not_modified, revalidate, validator
from ..db import local_day_range, local_today, utcnow, zone
from ..errors import Conflict, InvalidInput, RuleViolation
from ..extensions import current_locale, db
from ..forms import body_limit, choices, show_error
from ..rules.services import setting
from ..templating import colon
from . import lifecycle, photos, standards
from .dispatch import describe_each, describe_unmet
from .evidence import (
    EVIDENCE_FIELDS,
    FAULT_CAUSE_LABELS,
    MATERIAL_ITEM_LENGTH,
    MAX_MATERIAL_QUANTITY,
)
from .forms import FORMS, MATERIAL_ROWS, ActionForm, CompleteForm, StepForm
from .freshness import JobValidator, TodayValidator, card_row, evaluate, job_parts, order_head, today_parts
from .idempotency import once
from .labels import action_label, priority_label, status_label
from .models import OPEN_STATUSES, OrderStatus, UnresolvedReason, WorkOrder, WorkOrderPhoto
from .overdue import register_notice_kinds
from .photos import Upload, signature_bytes, upload_folder
from .queries import (
    installer_day,
    installer_done,
    installer_upcoming,
    order_page,
    visible_orders,
)
from .services import request_digest
from .slots import slot_starting, slot_times
from .suggestions import suggest

bp = Blueprint("workorders", __name__)
bp.record_once(lambda state: register_notice_kinds(state.app))


def map_url(order: Any) -> str:
    """A link that opens the customer's address in a map app."""
    return current_app.config["MAP_SEARCH_URL"].format(query=quote(order.address))


# The work-order words and links every page may show (the board's and certifications' pages too).
for _helper in (status_label, action_label, priority_label, map_url, describe_unmet):
    bp.add_app_template_global(_helper)


@bp.app_template_global()
def outbox_limits() -> dict[str, Any]:
    """What the installer's phone keeps of photos waiting to be sent, the size it resizes them to,
    and the names of the steps it may keep."""
    return {"max_queued_bytes": photos.MAX_QUEUED_MEGABYTES * 1024 * 1024, "photo_side": photos.MAX_SIDE,
            "step_labels": {a: action_label(a) for a in lifecycle.ACTIONS if a not in lifecycle.SUPERVISOR_ONLY}}


# Where the installer's name goes in the kept outbox (`outbox_block`): a JSON string of it.
_OUTBOX_USER = "@@fieldsvc-outbox-user@@"


@bp.app_template_global()
def outbox_block() -> Markup:
    """The outbox of the installer's phone (templates/_outbox.html: its place on the page, the
    words its scripts show, the limits, the scripts), for the signed-in installer. Rendered once
    per language and script root, since only the name differs between installers (filled in as
    the template would write it: JSON, safe inside a script element)."""
    html = Fragments.of("outbox", 16).get((current_locale(), request.script_root),
                                          lambda: render_template("_outbox.html", outbox_user=_OUTBOX_USER))
    return Markup(html.replace(f'"{_OUTBOX_USER}"', htmlsafe_json_dumps(current_user.username)))  # nosec B704


def order_cards(orders: list[WorkOrder], now: datetime, next_order: WorkOrder | None = None,
                rows: list[tuple[Any, ...]] | None = None) -> list[Markup]:
    """Each order's card of an installer's list (templates/workorders/_order_row.html), kept by
    what it shows (`freshness.card_row`: its columns and overdue mark at `now`; `rows` when the
    caller has them already), whether it is the next job, the language, the zone and the script
    root: a list rendered again after one of its orders changed renders that card alone. The
    template's context is made once per list."""
    kept = Fragments.of("order_cards", 5000)
    common = (current_locale(), request.script_root, current_app.config.get("TIMEZONE"))
    template, context = None, None
    cards = []
    for order, row in zip(orders, rows or [card_row(o, now) for o in orders], strict=True):
        key = (*common, row, order is next_order)

        def render(order: WorkOrder = order) -> Markup:
            nonlocal template, context
            if template is None:
                template = current_app.jinja_env.get_template("workorders/_order_row.html")
                context = {"next_order": next_order, "now": now}
                current_app.update_template_context(context)
            # The template escapes what it writes: its output is markup (bandit B704 waived).
            return Markup(template.render(context, order=order))  # nosec B704

        cards.append(kept.get(key, render))
    return cards


# Panels other areas add to Today (the installer's own figures, from fieldsvc.metrics, which sits
# above work orders): each a callable taking the installer and returning HTML, registered on the app
# with its validator (what it shows, for Today's ETag: `freshness`); without one Today is never 304.
TODAY_PANELS = "fieldsvc.today_panels"


def register_today_panel(app: Any, panel: Any, validator: TodayValidator | None = None) -> None:
    """Show `panel(installer, seen)` (HTML) on every installer's Today page of `app`; `validator(installer,
    now)` lists what it shows (values and SQL expressions, `freshness.evaluate`), and `seen` is that
    list as read for this request's ETag (None without a validator, or when the page is not kept):
    what a panel may key a rendered copy of itself by (`caching.Fragments`)."""
    app.extensions.setdefault(TODAY_PANELS, []).append((panel, validator))


# Panels other areas add to the job page, above its history (the follow-up of a bad rating, from
# fieldsvc.ratings): each a callable taking the order and the reader and returning HTML ("" for none),
# with its validator as for Today's panels; and validators of what other areas show on the job page
# through their template globals (the rating section).
JOB_PANELS = "fieldsvc.job_panels"
JOB_VALIDATORS = "fieldsvc.job_validators"


def register_job_panel(app: Any, panel: Any, validator: JobValidator | None = None) -> None:
    """Show `panel(order, reader)` (HTML) on every job page of `app`; `validator(head, reader, now)`
    lists what it shows (`freshness.OrderHead`: the order's few columns)."""
    app.extensions.setdefault(JOB_PANELS, []).append((panel, validator))


def register_job_validator(app: Any, validator: JobValidator) -> None:
    """Add `validator(head, reader, now)` to the job page's ETag, for what an area shows there
    outside a panel (the rating section of templates/ratings/_job_rating.html)."""
    app.extensions.setdefault(JOB_VALIDATORS, []).append(validator)


def _validated(parts: list[Any], panel_parts: list[Any]) -> tuple[str | None, list[Any]]:
    """The page's ETag from its parts and its panels' (None: a panel gave no validator, or a
    message waits to be shown once: the page is rendered and not kept), and each panel's parts
    as read for it (None where there is no ETag)."""
    if any(part is None for part in panel_parts):
        return None, [None] * len(panel_parts)
    values = evaluate([*parts, *(item for part in panel_parts for item in (len(part), *part))])
    etag = validator(values)
    seen, at = [], len(parts)
    for part in panel_parts:
        seen.append(values[at + 1:at + 1 + len(part)] if etag else None)
        at += 1 + len(part)
    return etag, seen


def _poll_seconds() -> int:
    return int(current_app.config.get("TODAY_POLL_SECONDS") or 30)


# The pages an installer's phone keeps for use without a connection (its service worker, static/js/sw.js,
# stores the answers that carry this header; every other answer stays no-store, in no cache).
OFFLINE_HEADER = "X-Fieldsvc-Offline"
# A request replayed from the phone's outbox (static/js/outbox.js) says so with this header, and
# is answered in JSON: what was recorded (the order's version after it), or why it was refused.
OUTBOX_HEADER = "X-Fieldsvc-Outbox"


def _offline_copy(answer: Any, home: bool = False) -> Any:
    """`answer` (a page) marked as one the installer's phone may keep for offline use: an
    installer's own page answered 200 (a supervisor's pages are not kept). The `home` page is
    kept as the site's root too (what the home-screen icon opens)."""
    response = make_response(answer)
    if response.status_code == 200 and current_user.role is Role.INSTALLER:
        response.headers[OFFLINE_HEADER] = "home" if home else "1"
    return response


def from_outbox() -> bool:
    """Whether this request is a replay from the phone's outbox (answered in JSON)."""
    return request.headers.get(OUTBOX_HEADER) == "1"


def _outbox_refusal(status: int, message: str, details: list[str] | None = None) -> Any:
    return jsonify(ok=False, message=message, details=details or []), status


@bp.route("/today")
@role_required(Role.INSTALLER)
def today() -> Any:
    """The installer's jobs for today in appointment order, the next one highlighted. Answered 304
    while nothing it shows has changed (the page polls itself with its ETag)."""
    tz = zone()
    day = local_today(tz)
    orders = installer_day(current_user, day, tz)
    now = utcnow()
    panels = current_app.extensions.get(TODAY_PANELS, ())
    rows = [card_row(o, now) for o in orders]  # what each card shows: the validator's and the cards' keys
    etag, seen = _validated(today_parts(current_user, day, now, rows),
                            [check(current_user, now) if check else None for _panel, check in panels])
    unchanged = not_modified(etag)
    if unchanged is not None:
        return unchanged
    open_orders = [o for o in orders if o.completed_at is None and o.cancelled_at is None]
    # The job in hand comes first: on site, then on the way, then the earliest booked.
    in_hand = [o for o in open_orders if o.status in (OrderStatus.ON_SITE, OrderStatus.EN_ROUTE)]
    next_order = min(in_hand, key=lambda o: o.status is not OrderStatus.ON_SITE) if in_hand else (
        open_orders[0] if open_orders else None)
    return revalidate(_offline_copy(render_template(
        "workorders/today.html",
        orders=orders,
        cards=order_cards(orders, now, next_order, rows),
        done_count=len(orders) - len(open_orders),
        overdue_count=sum(1 for o in open_orders if o.due_by < now),
        now=now,
        tab="today",
        panels=[panel(current_user, values) for (panel, _check), values in zip(panels, seen, strict=True)],
        fetched_at=now,
        etag=etag or "",
        poll_seconds=_poll_seconds(),
    ), home=True), etag)


@bp.route("/upcoming")
@role_required(Role.INSTALLER)
def upcoming() -> Any:
    """Open jobs booked after today."""
    tz = zone()
    orders = installer_upcoming(current_user, local_day_range(local_today(tz), tz)[1])
    now = utcnow()
    return _offline_copy(render_template("workorders/list.html", orders=orders, cards=order_cards(orders, now), tab="upcoming",
                                         title=_("Upcoming jobs"), empty=_("Nothing booked after today."),
                                         fetched_at=now))


@bp.route("/done")
@role_required(Role.INSTALLER)
def done() -> Any:
    """Jobs finished (or cancelled) in the last 7 days, newest first."""
    now = utcnow()
    orders = installer_done(current_user, now - timedelta(days=7))
    return render_template("workorders/list.html", orders=orders, cards=order_cards(orders, now), tab="done",
                           title=_("Done in the last 7 days"), empty=_("Nothing finished in the last 7 days."))


def _forms(order: Any, actions: list[str]) -> dict[str, ActionForm]:
    forms = {}
    for action in actions:
        form = FORMS[action](prefix=action, formdata=None)
        _choices(form, order, action)
        if action == "book" and order.appointment_start:  # rebooking starts from the current window
            form.day.data = order.appointment_start.astimezone(zone()).date()  # type: ignore[attr-defined]
            form.slot.data = slot_starting(order.appointment_start, zone())  # type: ignore[attr-defined]
        forms[action] = form.fill(order.version)
    return forms


def _choices(form: ActionForm, order: Any, action: str) -> None:
    if action == "leave_unresolved":
        locale = current_locale()
        reasons = db.session.scalars(select(UnresolvedReason).where(UnresolvedReason.is_active.is_(True))
                                     .order_by(UnresolvedReason.sort_order))
        form.reason.choices = choices([("", "—"), *((r.code, r.name(locale)) for r in reasons)])  # type: ignore[attr-defined]
    elif action == "assign":
        form.installer.choices = choices([("", "—"), *(  # type: ignore[attr-defined]
            (u.username, f"{u.display_name(current_locale())} ({u.username})") for u in _assignable(order))])


def _assignable(order: Any) -> list[User]:
    """Active installers of teams serving the order's district (a supervisor's own teams only)."""
    query = managed_installers(current_user).where(User.team_id.in_(teams_serving(order.district_id)))
    return list(db.session.scalars(query.order_by(None).order_by(User.username)))


def _job_page(number: str, forms: dict[str, ActionForm] | None = None, status: int = 200, error: str | None = None,
              details: list[str] | None = None, now: datetime | None = None) -> Any:
    order = order_page(current_user, number)
    if order is None:
        abort(404)
    actions = lifecycle.allowed_actions(order, current_user)
    later = _later_actions(order, actions)
    all_forms = _forms(order, actions + later)
    if forms:
        for action, form in forms.items():
            _choices(form, order, action)
            all_forms[action] = form.fill(order.version) if status == 409 else form
    now = now or utcnow()  # the instant of the page's validator, when it has one
    suggestions, ineligible_reasons = None, []
    if "assign" in actions:
        tz = zone()
        suggestions = suggest(order, current_user, now, tz, int(setting("installer_daily_capacity", now.astimezone(tz).date())))
        ineligible_reasons = describe_each([v.unmet for v in suggestions.ineligible])
    return render_template(
        "workorders/job.html", order=order, actions=actions, forms=all_forms, now=now, error=error,
        suggestions=suggestions, ineligible_reasons=ineligible_reasons, error_details=details or [],
        evidence_labels=EVIDENCE_FIELDS, fault_causes=FAULT_CAUSE_LABELS, material_rows=MATERIAL_ROWS,
        material_item_length=MATERIAL_ITEM_LENGTH, material_quantity_max=MAX_MATERIAL_QUANTITY, photo_limits=photos,
        open_action=next(iter(forms)) if forms else (request.args.get("open") if request.args.get("open") in actions
                                                    else None),
        due_in=order.due_by - now,
        reason_names={r.code: r.name(current_locale()) for r in db.session.scalars(select(UnresolvedReason))},
        panels=[panel(order, current_user) for panel, _check in current_app.extensions.get(JOB_PANELS, ())],
        checklist=_checklist(order), step_form=StepForm(formdata=None),
        later_actions=later, offline_steps=_offline_steps(order, later + actions), fetched_at=now,
        page_actions=sorted(actions + later, key=_lifecycle_order),
    ), status


def _later_actions(order: Any, actions: list[str]) -> list[str]:
    """The assigned installer's steps not allowed yet, whose forms the page keeps hidden: with the
    phone offline, the steps queued there move the job on (accepted, then on the way…), and the
    page shows the forms of the status they lead to. The server decides again when they arrive."""
    if (current_user.role is not Role.INSTALLER or order.assignee_id != current_user.id
            or order.status not in OPEN_STATUSES):
        return []
    return [a for a in lifecycle.ACTIONS if a not in lifecycle.SUPERVISOR_ONLY and a not in actions]


def _lifecycle_order(action: str) -> int:
    """Where an action's button stands on the page: the lifecycle's order, dispatching last."""
    return lifecycle.ACTIONS.index(action) if action in lifecycle.ACTIONS else len(lifecycle.ACTIONS)


def _offline_steps(order: Any, actions: list[str]) -> dict[str, Any]:
    """For the page's script: the order and its status, the statuses each of the installer's steps
    starts from and leads to, and the statuses' names, to show where the queued steps take the job."""
    if current_user.role is not Role.INSTALLER:  # the outbox is the installer's (their phone, offline)
        return {"steps": {}}
    steps = {a: {"from": sorted(s.value for s in lifecycle.TRANSITIONS[a][0]),
                 "to": target.value if (target := lifecycle.TRANSITIONS[a][1]) else None}
             for a in actions if a in lifecycle.TRANSITIONS}
    return {"number": order.number, "status": order.status.value, "steps": steps,
            "labels": {s.value: status_label(s) for s in OrderStatus}}


def _checklist(order: Any) -> dict[str, Any]:
    """The order's service-standard steps grouped by phase, its ticks, whether the reader may tick,
    and the booking call's timeliness against the rule (shown where the standard has that step)."""
    rows = standards.steps_with_ticks(order)
    steps = [step for step, _tick in rows]
    done = {step.code: tick for step, tick in rows if tick is not None}
    call = done.get(standards.BOOKED_CALL)
    within = int(setting("booking_within_minutes", call.ticked_at.astimezone(zone()).date())) if call else None
    return {
        "phases": [(standards.PHASE_LABELS[phase], [s for s in steps if s.phase is phase]) for phase in standards.Phase
                   if any(s.phase is phase for s in steps)],
        "ticks": done, "booked_call": standards.BOOKED_CALL, "call": call, "within_minutes": within,
        "call_on_time": standards.on_time(call.dispatch_lag_seconds, within) if call and within else None,
        "may_tick": (current_user.role is Role.INSTALLER and order.assignee_id == current_user.id
                     and order.status in OPEN_STATUSES),
    }


@bp.route("/orders/<number>/steps/<code>", methods=["POST"])
@role_required(Role.INSTALLER)
def tick_step(number: str, code: str) -> Any:
    """Tick or untick one step of the order's service standard (own open orders only)."""
    order = lifecycle.load_for_action(current_user, number)
    form = StepForm()
    if not form.validate() or form.done.data not in ("0", "1"):
        if from_outbox():
            return _outbox_refusal(400, _("Please correct the form."), _form_messages(form))
        abort(400)
    try:
        standards.tick(order, current_user, code, done=form.done.data == "1")
    except (InvalidInput, Conflict) as error:
        if from_outbox():
            return _outbox_refusal(error.status, str(error.message))
        return _job_page(number, status=error.status, error=error.message)
    db.session.commit()
    if from_outbox():
        return jsonify(ok=True, version=order.version)
    return redirect(url_for("workorders.detail", number=number, _anchor="checklist"))


@bp.route("/orders/<number>")
@role_required(Role.INSTALLER, Role.SUPERVISOR, Role.ADMIN)
def detail(number: str) -> Any:
    """The job page: customer, window, deadline, the next allowed actions, visits, evidence, history.
    Its installer's copy is answered 304 while nothing it shows has changed (a supervisor's shows
    suggestions, which depend on every installer's day: always rendered, never kept)."""
    etag, now = None, utcnow()
    if current_user.role is Role.INSTALLER:
        head = order_head(current_user, number)
        if head is not None:
            checks = [check for _panel, check in current_app.extensions.get(JOB_PANELS, ())]
            checks += current_app.extensions.get(JOB_VALIDATORS, [])
            etag, _seen = _validated(job_parts(head, current_user, now),
                                     [check(head, current_user, now) if check else None for check in checks])
            unchanged = not_modified(etag)
            if unchanged is not None:
                return unchanged
    return revalidate(_offline_copy(_job_page(number, now=now)), etag)


@bp.route("/orders/<number>/act", methods=["POST"])
@body_limit(photos.MAX_REQUEST_BYTES)  # the completion's photos; the other actions send a few fields
@role_required(Role.INSTALLER, Role.SUPERVISOR, Role.ADMIN)
def act(number: str) -> Any:
    """Carry out one action from the job page (every action goes through the lifecycle service).
    Completing brings its photos: checked and re-encoded in memory first, kept only if the
    completion is (a refusal keeps no photo, and the page says what is missing)."""
    action = request.form.get("action", "")
    if action not in FORMS:
        abort(400)
    order = lifecycle.load_for_action(current_user, number)
    form = FORMS[action](prefix=action)
    _choices(form, order, action)
    if not form.validate():
        if from_outbox():
            return _outbox_refusal(400, _("Please correct the form."), _form_messages(form))
        return _job_page(number, {action: form}, 400, _("Please correct the form."))
    kwargs = _transition_arguments(action, form)
    digest = request_digest({"html": number, "action": action, **{k: str(v) for k, v in kwargs.items()}})
    if isinstance(form, CompleteForm):
        try:
            kwargs["photos"] = _uploads(form)
        except InvalidInput as error:
            show_error(form, error, _UPLOAD_FIELDS, summary=False)
            if from_outbox():
                return _outbox_refusal(400, str(error.message), _form_messages(form))
            return _job_page(number, {action: form}, 400, error.message, form.form_errors)

    def perform() -> tuple[int, dict[str, Any]]:
        if action in ("assign", "unassign"):
            lifecycle.assign(order, current_user, kwargs.get("installer"), form.version.data,
                             today=local_today(zone()), note=kwargs.get("note"))
            return 200, {"number": number, "version": order.version}
        outcome = lifecycle.transition(order, current_user, action, form.version.data, tz=zone(), **kwargs)
        body: dict[str, Any] = {"number": number}
        if outcome.survey_token:
            body["survey_token"] = outcome.survey_token
        # The version this step produced: the outbox sends the next step queued on the order with
        # it, so a replay of the first (already recorded) still chains, and anyone else's change
        # in between is a conflict.
        body["version"] = order.version
        return 200, body

    try:
        _status, body, replayed = once(current_user, form.idempotency_key.data, digest, perform)
    except Conflict as error:
        if from_outbox():
            return _outbox_refusal(409, str(error.message))
        # (outside the f-string, so that pybabel finds the sentence to translate)
        latest = _("The page now shows the latest state.")
        return _job_page(number, {action: form}, 409, f"{error.message} {latest}")
    except (InvalidInput, RuleViolation) as error:
        # The page says what was refused above the forms; the details go on the form sent.
        show_error(form, error, _UPLOAD_FIELDS, missing=_("Required for this job type."), unmet=describe_unmet,
                   summary=False)
        if from_outbox():
            return _outbox_refusal(error.status, str(error.message), _form_messages(form))
        return _job_page(number, {action: form}, error.status, error.message, form.form_errors)
    if from_outbox():
        return _outbox_answer(number, action, body, replayed)
    if replayed:
        flash(_("This was already recorded."), "info")
    elif action == "leave_unresolved":
        # The revisit needs a new window (the lifecycle clears the old one): say so, and open "Book".
        flash(_("Saved. The appointment was cleared: agree a new time with the customer and book the revisit."),
              "success")
        return redirect(url_for("workorders.detail", number=number, open="book", _anchor="action-book"))
    else:
        flash(_("Saved."), "success")
    if body.get("survey_token"):
        return redirect(url_for("ratings.rating_code", number=number, token=body["survey_token"]))
    return redirect(url_for("workorders.detail", number=number))


def _outbox_answer(number: str, action: str, body: dict[str, Any], replayed: bool) -> Any:
    """A replayed step recorded (now, or before its answer was lost): the version it produced and
    where the phone goes next (the rating code after a completion, as the page's answer does)."""
    version = body.get("version")
    if version is None:  # recorded before versions were kept with the answer
        version = lifecycle.load_for_action(current_user, number).version
    following = url_for("workorders.detail", number=number)
    if body.get("survey_token"):
        following = url_for("ratings.rating_code", number=number, token=body["survey_token"])
    elif action == "leave_unresolved":
        following = url_for("workorders.detail", number=number, open="book", _anchor="action-book")
    return jsonify(ok=True, version=version, replayed=replayed, next=following)


def _form_messages(form: Any) -> list[str]:
    """A form's errors as sentences: "Label: message" for a field's, the form-level ones as they are."""
    messages = [str(m) for m in getattr(form, "form_errors", [])]
    for field in form:
        for message in field.errors if isinstance(field.errors, list) else []:
            label = field.label.text if field.label and field.label.text else field.short_name
            messages.append(f"{colon(label)}{message}")
    return messages


def _transition_arguments(action: str, form: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"note": form.note.data}
    if action == "assign":
        kwargs["installer"] = form.installer.data
    if action == "unassign":
        kwargs["installer"] = None
    if action in ("assign", "unassign"):
        return kwargs
    kwargs.update(lat=form.lat.data, lon=form.lon.data)
    if action == "book":
        kwargs["appointment_start"], kwargs["appointment_end"] = slot_times(form.day.data, form.slot.data, zone())
    elif action in ("leave_unresolved", "cancel"):
        kwargs["reason"] = form.reason.data
    elif action == "complete":
        kwargs["evidence"] = form.evidence()
    return kwargs


# The uploads and the drawn signature are shown together, on the photos field.
_UPLOAD_FIELDS = {"photo": "photos", "signature": "photos"}


def _uploads(form: CompleteForm) -> list[Upload]:
    """The photos and the drawn signature sent with a completion, checked and re-encoded."""
    sent = [(upload.filename or "", upload.stream) for upload in form.photos.data or []
            if isinstance(upload, FileStorage) and upload.filename]
    signature = signature_bytes(form.signature_data.data) if form.signature_data.data else None
    return photos.prepare(sent, signature)


@bp.route("/photos/<int:photo_id>")
@role_required(Role.INSTALLER, Role.SUPERVISOR, Role.ADMIN)
def photo(photo_id: int) -> Any:
    """A stored photo, only for people who may see its order."""
    row = db.session.scalar(
        select(WorkOrderPhoto).where(
            WorkOrderPhoto.id == photo_id,
            WorkOrderPhoto.work_order_id.in_(visible_orders(current_user).with_only_columns(WorkOrder.id)),
        )
    )
    if row is None:
        abort(404)
    response = send_file(upload_folder() / row.filename, mimetype=row.content_type, max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
