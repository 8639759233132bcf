"""The work-order state machine (PRODUCT.md §3): the one place that decides which transition is
allowed, who may make it, and what it records. The HTML views and the API both call `transition`
and `assign`. Services flush; the edge commits."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, wraps
from typing import Any, Concatenate, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from blinker import Namespace
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, bindparam, insert, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from ..auth.models import Role, User
from ..auth.scope import manages
from ..auth.services import PersonName
from ..db import column_length, flush_row, utcnow
from ..errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RuleViolation,
    number_text,
)
from ..extensions import db
from ..rules.services import setting
from ..templating import localtime
from .dispatch import check_eligibility
from .evidence import EVIDENCE_FIELDS, clean_evidence, missing_evidence
from .labels import action_label, status_label
from .models import (
    OPEN_STATUSES,
    OrderStatus,
    PhotoKind,
    UnresolvedReason,
    Visit,
    VisitOutcome,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderPhoto,
)
from .photos import Upload, attach, new_uploads
from .queries import orders_visible_to
from .standards import record_booking_call, refuse_missing

S = OrderStatus

# action → (statuses it may start from, status it leads to; None keeps the status)
TRANSITIONS: dict[str, tuple[frozenset[OrderStatus], OrderStatus | None]] = {
    "accept": (frozenset({S.ASSIGNED}), S.ACCEPTED),
    "book": (frozenset({S.NEW, S.ASSIGNED, S.ACCEPTED}), None),
    "depart": (frozenset({S.ACCEPTED}), S.EN_ROUTE),
    # Arriving straight from "accepted" is allowed: installers forget to tap "depart".
    "arrive": (frozenset({S.ACCEPTED, S.EN_ROUTE}), S.ON_SITE),
    "complete": (frozenset({S.ON_SITE}), S.COMPLETED),
    "leave_unresolved": (frozenset({S.ON_SITE}), S.ACCEPTED),
    "cancel": (frozenset(OPEN_STATUSES), S.CANCELLED),
}
ACTIONS = tuple(TRANSITIONS)
DISPATCH_ACTIONS = ("assign", "unassign")
SUPERVISOR_ONLY = frozenset({"cancel", "assign", "unassign"})
# The steps of the visit itself are the assigned installer's alone: a supervisor who taps "I have
# arrived" for them would open a visit nobody made and skew appointment adherence and resolution.
FIELD_STEPS = frozenset({"accept", "depart", "arrive", "complete", "leave_unresolved"})
ASSIGNABLE = frozenset({S.NEW, S.ASSIGNED, S.ACCEPTED})
UNASSIGNABLE = frozenset({S.ASSIGNED, S.ACCEPTED})
# The limits of what people type with an action; the forms and the API's schemas read them here.
MAX_NOTE = 2000  # an event's note, and an order's notes
MAX_CANCEL_REASON = column_length(WorkOrder.cancel_reason)
LATITUDE = (-90, 90)
LONGITUDE = (-180, 180)
# How far ahead a window may be booked (at creation, on editing, by `book`): a year is plenty
# for a visit, and a later year is a typo.
BOOKING_HORIZON = timedelta(days=366)
# The reason recorded on a visit still open when its order is cancelled.
CANCELLED_VISIT_REASON = "customer_cancel"


@dataclass
class Outcome:
    """What a transition did. `survey_token` is the customer's rating link, set once by `complete`
    (by the ratings package, listening to `order_completed`; only its digest is stored)."""

    order: WorkOrder
    survey_token: str | None = None


_signals = Namespace()
# Sent with the Outcome (and `now=`) once a completion is written, in the same transaction: the
# layers above work orders react here (ratings issues the customer's rating link) without the
# lifecycle importing them.
order_completed = _signals.signal("order-completed")


def allowed_actions(order: WorkOrder, user: User) -> list[str]:
    """The actions `user` may take on `order` now, in lifecycle order (for buttons and the API)."""
    actions = [a for a, (sources, _) in TRANSITIONS.items() if order.status in sources and _may(user, order, a)]
    if user.role is not Role.INSTALLER:
        if order.status in ASSIGNABLE:
            actions.append("assign")
        if order.status in UNASSIGNABLE:
            actions.append("unassign")
    return actions


def _may(user: User, order: WorkOrder, action: str) -> bool:
    if user.role is Role.INSTALLER:
        return action not in SUPERVISOR_ONLY and order.assignee_id == user.id
    return action not in FIELD_STEPS


@cache
def _action_statement(role: Role) -> Select[tuple[WorkOrder]]:
    """The order to act on (`:number`) as a user of `role` (`:me`) sees it, with what the rules and
    the answer read, in one query (an order has a few visits: joining them costs less than a second
    round trip). Built once per role. An installer's is their own order: its assignee is the user
    acting, already loaded (the many-to-one finds them in the session without a query)."""
    related = [WorkOrder.job_type, WorkOrder.customer, WorkOrder.district, WorkOrder.team, WorkOrder.visits]
    if role is not Role.INSTALLER:
        related.append(WorkOrder.assignee)
    return orders_visible_to(role, bindparam("me")).where(WorkOrder.number == bindparam("number")).options(
        *(joinedload(relationship) for relationship in related))


def load_for_action(user: User, number: str) -> WorkOrder:
    """The order `user` may act on, else NotFound (another installer's order looks absent)."""
    order = db.session.scalars(_action_statement(user.role), {"me": user.id, "number": number}).unique().first()
    if order is None:
        raise NotFound(_l("No work order %(number)s that you may see.", number=number))
    return order


def check_version(order: WorkOrder, version: int | None) -> None:
    """Refuse (409) a change made from a stale copy of the order."""
    if version is None:
        raise InvalidInput(_l("Send the version you saw."), errors={"version": [_l("Required.")]})
    if version != order.version:
        raise Conflict(
            _what_changed(order, version),
            current_version=order.version,
            current_status=order.status.value,
            assignee=order.assignee.username if order.assignee else None,
        )


def _what_changed(order: WorkOrder, version: int) -> Any:
    """The conflict's message: who changed the order last, what they did and when, and where it
    stands now (not version numbers, which mean nothing to the person at the screen)."""
    latest = db.session.scalar(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == order.id)
                               .order_by(WorkOrderEvent.id.desc()).limit(1).options(joinedload(WorkOrderEvent.actor)))
    if latest is None:  # a change no event records: say at least where it stands
        return _l("Work order %(number)s has changed since you opened it; it is now %(status)s.",
                  number=order.number, status=status_label(order.status))
    details = {"number": order.number, "status": status_label(order.status),
               "who": PersonName(latest.actor) if latest.actor else _l("system"),
               "what": action_label(latest.action), "time": localtime(latest.created_at, "HH:mm")}
    if order.version - version > 1:
        return _l("Work order %(number)s has changed %(n)d times since you opened it; the latest: %(who)s, "
                  "“%(what)s” at %(time)s. It is now %(status)s.", n=order.version - version, **details)
    return _l("Work order %(number)s has changed since you opened it: %(who)s, “%(what)s” at %(time)s. "
              "It is now %(status)s.", **details)


def _event(order: WorkOrder, actor: User, action: str, before: OrderStatus, now: datetime, *,
           note: str | None = None, lat: float | None = None, lon: float | None = None,
           data: dict[str, Any] | None = None) -> None:
    """Write the order (its versioned UPDATE finds a concurrent change) and then append its event
    with one INSERT: events are append-only rows nothing reads back in the same request, so they
    skip the unit of work, whose bookkeeping cost more than both statements."""
    _flush(order)
    # One row, on the session's connection: a list of parameters would make it an executemany
    # (psycopg pipelines those), and the session's execute adds the ORM's layer for a plain INSERT.
    db.session.connection().execute(_event_insert(), {
        "work_order_id": order.id, "actor_id": actor.id, "created_at": now, "action": action,
        "from_status": before.value, "to_status": order.status.value, "note": note, "lat": lat, "lon": lon,
        "data": data})


@cache
def _event_insert() -> Any:
    return insert(WorkOrderEvent.__table__)


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _stale_is_a_conflict(service: Callable[Concatenate[WorkOrder, _P], _R]) -> Callable[Concatenate[WorkOrder, _P], _R]:
    """Make a change made from a version that moved on underneath it (a concurrent change committed
    first) a conflict, wherever the write happens: the service's own flush, an autoflush before a
    query, or a receiver of `order_completed`."""
    @wraps(service)
    def guarded(order: WorkOrder, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        number = order.number  # read before any flush: a failed flush leaves the session unusable
        try:
            return service(order, *args, **kwargs)
        except StaleDataError as error:
            raise Conflict(_l("Work order %(number)s was changed by someone else at the same moment.",
                              number=number)) from error
    return guarded


def _flush(order: WorkOrder) -> None:
    """Write now, so a concurrent change (version moved on underneath us) is found here."""
    flush_row(db.session(), order)


def clean_note(note: str | None, field: str = "note") -> str | None:
    """A note without surrounding blanks (None when empty); longer than MAX_NOTE is bad input."""
    note = (note or "").strip() or None
    if note and len(note) > MAX_NOTE:
        raise InvalidInput(_l("A note has at most %(n)d characters.", n=MAX_NOTE), errors={field: [_l("Too long.")]})
    return note


def _position(lat: float | None, lon: float | None) -> tuple[float | None, float | None]:
    if lat is None and lon is None:
        return None, None
    if lat is None or lon is None or not (LATITUDE[0] <= lat <= LATITUDE[1] and LONGITUDE[0] <= lon <= LONGITUDE[1]):
        raise InvalidInput(_l("A position needs a latitude (%(lat_low)s to %(lat_high)s) and a longitude "
                              "(%(lon_low)s to %(lon_high)s).", lat_low=number_text(LATITUDE[0]),
                              lat_high=number_text(LATITUDE[1]), lon_low=number_text(LONGITUDE[0]),
                              lon_high=number_text(LONGITUDE[1])),
                           errors={"lat": [_l("Not a valid position.")]})
    return round(lat, 6), round(lon, 6)


def beyond_horizon(start: datetime, now: datetime) -> bool:
    """Whether a window starting at `start` is booked further ahead than BOOKING_HORIZON."""
    return start - now > BOOKING_HORIZON


def _window(start: datetime | None, end: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    errors = {}
    if start is None:
        errors["appointment_start"] = [_l("Required.")]
    if end is None:
        errors["appointment_end"] = [_l("Required.")]
    if start and end:
        if start.tzinfo is None or end.tzinfo is None:
            errors["appointment_start"] = [_l("Give a time zone offset.")]
        elif end <= start:
            errors["appointment_end"] = [_l("Must be after the start.")]
        elif end <= now:
            errors["appointment_end"] = [_l("Is already over.")]
        elif end - start > timedelta(hours=12):
            errors["appointment_end"] = [_l("A window is at most 12 hours.")]
        elif beyond_horizon(start, now):
            errors["appointment_start"] = [_l("At most a year ahead.")]
    if errors or start is None or end is None:
        raise InvalidInput(_l("The appointment window has errors."), errors=errors)
    return start, end


@_stale_is_a_conflict
def transition(
    order: WorkOrder,
    actor: User,
    action: str,
    version: int | None,
    *,
    tz: ZoneInfo,
    reason: str | None = None,
    note: str | None = None,
    appointment_start: datetime | None = None,
    appointment_end: datetime | None = None,
    lat: float | None = None,
    lon: float | None = None,
    evidence: dict[str, Any] | None = None,
    photos: Sequence[Upload] = (),
    now: datetime | None = None,
) -> Outcome:
    """Move `order` by `action` for `actor`, checking role, ownership, version and the rules.
    Refusals raise (and change nothing); success appends an event and flushes. `photos` (from
    `photos.prepare`) come with `complete` only: they count towards its evidence and are kept only
    with the completion (their files are written when it commits)."""
    if photos and action != "complete":
        raise ValueError("photos come with complete")
    if action not in TRANSITIONS:
        raise InvalidInput(_l("Unknown action %(action)s.", action=action),
                           errors={"action": [_l("One of: %(values)s.", values=", ".join(ACTIONS))]})
    if not _may(actor, order, action):
        raise Forbidden(_l("Your role may not do this: %(action)s.", action=action_label(action)))
    check_version(order, version)
    sources, target = TRANSITIONS[action]
    if order.status not in sources:
        raise Conflict(_l("Cannot do this to an order that is %(status)s: %(action)s.", action=action_label(action),
                          status=status_label(order.status)),
                       current_status=order.status.value, current_version=order.version)
    note = clean_note(note)
    lat, lon = _position(lat, lon)
    now = now or utcnow()
    before = order.status
    outcome = Outcome(order)
    data: dict[str, Any] | None = None

    if action == "book":
        start, end = _window(appointment_start, appointment_end, now)
        data = {"appointment_start": start.isoformat(), "appointment_end": end.isoformat()}
        if order.appointment_start:
            data["previous_start"] = order.appointment_start.isoformat()
        record_booking_call(order, actor, now)  # before the order changes: its queries must not flush it
        order.appointment_start, order.appointment_end = start, end
    elif action == "arrive":
        order.visit_count += 1
        db.session.add(Visit(work_order=order, seq=order.visit_count, installer_id=order.assignee_id or actor.id, arrived_at=now,
                             appointment_start=order.appointment_start, appointment_end=order.appointment_end,
                             lat=lat, lon=lon))
    elif action in ("complete", "leave_unresolved"):
        visit = _open_visit(order)
        visit.left_at = now
        if action == "complete":
            data = _complete(order, visit, actor, evidence, photos, now)
            visit.outcome = VisitOutcome.RESOLVED
            order.completed_at = now
            order.completed_by_id = visit.installer_id
        else:
            code = _reason_code(reason)
            visit.outcome, visit.reason_code = VisitOutcome.NOT_RESOLVED, code
            order.appointment_start = order.appointment_end = None  # the revisit needs a new booking
            data = {"reason": code}
    elif action == "cancel":
        text = (reason or "").strip()
        if not text or len(text) > MAX_CANCEL_REASON:
            raise InvalidInput(_l("Say why the order is cancelled (at most %(n)d characters).", n=MAX_CANCEL_REASON),
                               errors={"reason": [_l("Required.")]})
        visit = db.session.scalar(select(Visit).where(Visit.work_order_id == order.id, Visit.left_at.is_(None)))
        if visit is not None:
            visit.left_at, visit.outcome, visit.reason_code = now, VisitOutcome.NOT_RESOLVED, CANCELLED_VISIT_REASON
        order.cancelled_at, order.cancel_reason = now, text
        data = {"reason": text}

    if target is not None:
        order.status = target
    order.updated_at = now
    _event(order, actor, action, before, now, note=note, lat=lat, lon=lon, data=data)
    if action == "complete":  # after the flush: only a completion that holds is announced
        order_completed.send(outcome, now=now)
        db.session.flush()
    return outcome


@_stale_is_a_conflict
def record_change(order: WorkOrder, actor: User, action: str, before: OrderStatus, now: datetime, *,
                  data: dict[str, Any] | None = None) -> None:
    """Append the event for a change made outside `transition` (an edit) and flush it."""
    _event(order, actor, action, before, now, data=data)


def _open_visit(order: WorkOrder) -> Visit:
    visit = db.session.scalar(select(Visit).where(Visit.work_order_id == order.id, Visit.left_at.is_(None)))
    if visit is None:  # on_site always has one; the database would be inconsistent otherwise
        raise Conflict(_l("Work order %(number)s has no open visit.", number=order.number))
    return visit


def _reason_code(reason: str | None) -> str:
    active = db.session.scalar(select(UnresolvedReason.code).where(
        UnresolvedReason.code == (reason or ""), UnresolvedReason.is_active.is_(True)))
    if active is None:
        raise InvalidInput(_l("Choose why the job could not be finished."), errors={"reason": [_l("Choose a reason.")]})
    return active


def _complete(order: WorkOrder, visit: Visit, actor: User, evidence: dict[str, Any] | None,
              photos: Sequence[Upload], now: datetime) -> dict[str, Any]:
    """Check and store the evidence, counting the order's evidence photos with those sent now;
    refuse (422, with `missing`) what the job type requires but lacks, and the required steps of
    the order's service standard not ticked. The photos sent are attached only when nothing is
    refused. A photo sent with a request for help (kind `support`) is not evidence: it counts only
    when the same file comes again with the completion, and is then kept as the completion's."""
    refuse_missing(order)
    band = setting("rx_power_band_dbm", now.date())
    clean = clean_evidence(evidence, (float(band[0]), float(band[1])))
    held = list(db.session.scalars(select(WorkOrderPhoto).where(WorkOrderPhoto.work_order_id == order.id)))
    new = new_uploads([(photo.kind, photo.content_hash) for photo in held], photos)
    sent = {upload.content_hash for upload in photos if upload.kind is PhotoKind.PHOTO}
    pictures = {photo.content_hash for photo in held if photo.kind is PhotoKind.PHOTO} | sent
    signed = any(p.kind is PhotoKind.SIGNATURE for p in held) or any(u.kind is PhotoKind.SIGNATURE for u in photos)
    job_type = order.job_type
    missing = missing_evidence(job_type.required_evidence or [], clean, len(pictures), job_type.photos_required,
                               signed)
    if missing:
        names = {**EVIDENCE_FIELDS, "photos": _l("at least %(n)d photos", n=job_type.photos_required)}
        raise RuleViolation(_l("To complete this job, add: %(fields)s.",
                               fields=", ".join(str(names[m]) for m in missing)), missing=missing)
    attach(order, visit, actor, new)
    for photo in held:
        if photo.kind is PhotoKind.SUPPORT and photo.content_hash in sent:
            photo.kind = PhotoKind.PHOTO  # the support photo sent again as evidence (one row per file)
    clean["photos"] = len(pictures)
    clean["signature"] = signed
    order.evidence = clean
    return {"evidence": clean}


@_stale_is_a_conflict
def assign(order: WorkOrder, actor: User, installer_username: str | None, version: int | None, *,
           today: Any, note: str | None = None, now: datetime | None = None) -> WorkOrder:
    """Give the order to an eligible installer (or take it back with None). Supervisors assign
    within their own teams; refusals list every unmet requirement (422)."""
    if actor.role is Role.INSTALLER:
        raise Forbidden(_l("Installers do not assign orders."))
    check_version(order, version)
    note = clean_note(note)
    now = now or utcnow()
    before = order.status
    previous = order.assignee.username if order.assignee else None
    if installer_username is None:
        if order.status not in UNASSIGNABLE:
            raise Conflict(_l("Cannot unassign an order that is %(status)s.", status=status_label(order.status)),
                           current_status=order.status.value, current_version=order.version)
        order.assignee, order.team_id, order.status = None, None, S.NEW
        action, data = "unassign", {"previous": previous}
    else:
        if order.status not in ASSIGNABLE:
            raise Conflict(_l("Cannot assign an order that is %(status)s.", status=status_label(order.status)),
                           current_status=order.status.value, current_version=order.version)
        installer = db.session.scalar(select(User).where(User.username == installer_username))
        if installer is None:
            raise RuleViolation(_l("There is no installer %(username)s.", username=installer_username),
                                unmet=[{"installer": installer_username, "reason": "unknown"}])
        (verdict,) = check_eligibility(order, [installer], today)
        unmet = list(verdict.unmet)
        if not manages(actor, installer):
            unmet.insert(0, {"installer": installer.username, "reason": "not_your_team"})
        if unmet:
            raise RuleViolation(_l("%(name)s may not take %(number)s.", name=PersonName(installer), number=order.number),
                                unmet=unmet)
        if installer.id == order.assignee_id:
            raise Conflict(_l("%(number)s is already assigned to %(name)s.", number=order.number, name=PersonName(installer)),
                           current_version=order.version, assignee=installer.username)
        order.assignee, order.team_id, order.status = installer, installer.team_id, S.ASSIGNED
        action, data = "assign", {"assignee": installer.username, "previous": previous}
    order.updated_at = now
    _event(order, actor, action, before, now, note=note, data=data)
    return order
