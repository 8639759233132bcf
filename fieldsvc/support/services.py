"""On-site support (现场支撑): an installer stuck at the door asks for help from the job; the
support desk takes the request, replies, and resolves it; the installer may mark it "solved,
thanks". Every step appends to the order's event trail.

Who is the desk: the supervisors of the order's team and the admins (decision: no new role and no
"senior technician" flag on users, which would need a user-model change and admin screens; a
supervisor already answers for the team's orders). A supervisor sees only the requests of the
teams they supervise, by the team the order had when the request was raised.

The support steps do not move the order's version (unlike the follow-ups' steps): the installer
keeps the job page open while the help comes, and a reply must not make their next action
(arrive, complete) a conflict. The request has its own version and `updated_at` instead, which
the API's `updated_since` reads. Services flush; the edge commits."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from ..auth.models import Role, User
from ..auth.scope import in_managed_team, supervisors_by_team
from ..db import among, utcnow, zone
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..extensions import db
from ..notifications import kinds
from ..notifications.services import Notice, deliver
from ..rules.services import setting
from ..workorders import photos
from ..workorders.labels import status_label as order_status_label
from ..workorders.lifecycle import clean_note
from ..workorders.models import OrderStatus, PhotoKind, Visit, WorkOrder, WorkOrderEvent
from .categories import SUPPORT_CATEGORIES
from .models import UNRESOLVED, SupportReply, SupportRequest, SupportResolution, SupportStatus

# The states of an order in which its installer may call for help: on the way or at the door.
RAISE_STATES = (OrderStatus.EN_ROUTE, OrderStatus.ON_SITE)
# The event trail's actions (workorders.labels names them).
RAISE_ACTION, TAKE_ACTION, REPLY_ACTION = "support_raise", "support_take", "support_reply"
RESOLVE_ACTION, THANK_ACTION = "support_resolve", "support_thank"
# Notice kinds: the desk of a new request, the installer of a reply.
RAISED_NOTICE, REPLIED_NOTICE = "support_raised", "support_replied"
# A plausible optical receive power (dBm): anything outside is a typing slip, not a reading.
READING_RANGE = (-50.0, 10.0)
QUEUE_SIZE = 100

RESOLUTIONS: dict[SupportResolution, Any] = {
    SupportResolution.SOLVED_REMOTELY: _l("Solved remotely"),
    SupportResolution.EXPERT_SENT: _l("Expert sent"),
    SupportResolution.ESCALATED_NOC: _l("Escalated to network operations"),
    SupportResolution.CANNOT_SOLVE: _l("Cannot solve"),
}
STATUSES: dict[SupportStatus, Any] = {
    SupportStatus.OPEN: _l("waiting"),
    SupportStatus.TAKEN: _l("taken"),
    SupportStatus.ANSWERED: _l("answered"),
    SupportStatus.RESOLVED: _l("resolved"),
    SupportStatus.THANKED: _l("solved, thanked"),
}


def category_label(code: str) -> str:
    return str(SUPPORT_CATEGORIES.get(code, code))


def resolution_label(resolution: SupportResolution | str | None) -> str:
    return str(RESOLUTIONS[SupportResolution(resolution)]) if resolution else "—"


def status_label(status: SupportStatus | str) -> str:
    return str(STATUSES[SupportStatus(status)])


def reply_due(raised_at: datetime) -> datetime:
    """When the desk should have replied to a request raised at `raised_at` (the rule then)."""
    minutes = int(setting("support_reply_minutes", raised_at.astimezone(zone()).date()))
    return raised_at + timedelta(minutes=minutes)


def is_overdue(request: SupportRequest, now: datetime | None = None) -> bool:
    """Unresolved, no reply yet, and past its reply target."""
    return (request.status in UNRESOLVED and request.first_reply_at is None
            and (now or utcnow()) > request.reply_due_at)


def overdue_condition(now: datetime) -> Any:
    """`is_overdue` as SQL."""
    return and_(among(SupportRequest.status, UNRESOLVED), SupportRequest.first_reply_at.is_(None),
                SupportRequest.reply_due_at < now)


def is_desk(user: User) -> bool:
    """Whether `user` works the support desk at all (supervisors and admins)."""
    return user.role in (Role.SUPERVISOR, Role.ADMIN)


# --- raising ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NewRequest:
    category: str
    note: str | None
    reading_dbm: float | None = None
    photo: photos.Upload | None = None  # a photo already checked (`photos.prepare`)
    # or one as sent, (file name, stream): read and checked only once the request may be raised
    photo_file: tuple[str, photos.Readable] | None = None


def check_may_raise(order: WorkOrder, installer: User) -> None:
    """Refuse a request for help on `order` by `installer` before anything is read from it (a photo
    is decoded only for a request that may be raised): its own installer only (403 for anyone
    else's role; the caller loads the order within the installer's scope, so another's order is not
    found), while on the way or on site (409 otherwise), one unresolved request at a time (409)."""
    if installer.role is not Role.INSTALLER or order.assignee_id != installer.id:
        raise Forbidden(_l("Only the installer of the job asks for help on it."))
    if order.status not in RAISE_STATES:
        raise Conflict(_l("Help is asked for on the way or on site; this job is %(status)s.",
                          status=order_status_label(order.status)), current_status=order.status.value)
    pending = db.session.scalar(select(SupportRequest.id).where(SupportRequest.work_order_id == order.id,
                                                                among(SupportRequest.status, UNRESOLVED)))
    if pending is not None:
        raise Conflict(_l("This job has a request for help waiting already."), request=pending)


def raise_request(order: WorkOrder, installer: User, new: NewRequest, now: datetime) -> SupportRequest:
    """Ask for help on `order` (refused as `check_may_raise` says, and for bad input, 400). A photo
    (`photo_file` is read only after those checks) is kept with the order's photos as a support photo: the desk sees it,
    and it does not count towards the completion's evidence."""
    check_may_raise(order, installer)
    if new.photo_file is not None:
        (upload,) = photos.prepare([new.photo_file])
        new = replace(new, photo=upload, photo_file=None)
    if new.category not in SUPPORT_CATEGORIES:
        raise InvalidInput(_l("Choose what you need help with."), errors={"category": [_l("Choose a category.")]})
    note = clean_note(new.note)
    if not note:
        raise InvalidInput(_l("Say in a few words what is wrong."), errors={"note": [_l("Required.")]})
    if new.reading_dbm is not None and not READING_RANGE[0] <= new.reading_dbm <= READING_RANGE[1]:
        raise InvalidInput(_l("A reading is from %(low)s to %(high)s dBm.", low=READING_RANGE[0], high=READING_RANGE[1]),
                           errors={"reading_dbm": [_l("Out of range.")]})
    request = SupportRequest(work_order_id=order.id, installer_id=installer.id, team_id=order.team_id,
                             raised_in=order.status.value, category=new.category, note=note,
                             reading_dbm=new.reading_dbm, raised_at=now, reply_due_at=reply_due(now), updated_at=now)
    if new.photo is not None:
        visit = db.session.scalar(select(Visit).where(Visit.work_order_id == order.id, Visit.left_at.is_(None)))
        request.photo = photos.attach_once(order, visit, installer, replace(new.photo, kind=PhotoKind.SUPPORT))
    db.session.add(request)
    db.session.flush()
    _event(order, installer, RAISE_ACTION, now, note=note, data={"support": request.id, "category": new.category})
    data = {"number": order.number, "request": request.id, "category": new.category, "installer": installer.username}
    link = _urls().build("support.detail", {"request_id": request.id})
    deliver([Notice(reader, RAISED_NOTICE, data, f"{RAISED_NOTICE}:{request.id}:{reader.id}", link)
             for reader in _desk_of(order)])
    db.session.flush()
    return request


def _desk_of(order: WorkOrder) -> list[User]:
    """The active supervisors of the order's team (admins see the queue without a notice each)."""
    return list(supervisors_by_team().get(order.team_id, [])) if order.team_id is not None else []


def _event(order: WorkOrder, actor: User, action: str, now: datetime, *, note: str | None = None,
           data: dict[str, Any] | None = None) -> None:
    """A support step on the order's trail; the order itself does not change (module docstring)."""
    db.session.add(WorkOrderEvent(work_order_id=order.id, actor_id=actor.id, created_at=now, action=action,
                                  from_status=order.status.value, to_status=order.status.value, note=note,
                                  data=data))


def _urls() -> Any:
    """The URL map bound outside a request (a service may be called from a CLI or a test)."""
    return current_app.url_map.bind("localhost")


# --- the desk's steps ---------------------------------------------------------------------------

def _check(request: SupportRequest, version: int | None) -> None:
    if version is None:
        raise InvalidInput(_l("Send the version you saw."), errors={"version": [_l("Required.")]})
    if version != request.version:
        raise Conflict(_l("Someone changed this request meanwhile: it is %(status)s now.",
                          status=status_label(request.status)), current_version=request.version,
                       current_status=request.status.value)


def _desk_only(request: SupportRequest, user: User) -> None:
    if not is_desk(user):
        raise Forbidden(_l("Only the support desk does this."))
    if request.status not in UNRESOLVED:
        raise Conflict(_l("This request is closed already."), current_status=request.status.value)


def _flush(request_id: int) -> None:
    """Write now: a concurrent step on the same request (its version moved) is a conflict here."""
    try:
        db.session.flush()
    except StaleDataError as error:
        raise Conflict(_l("Someone changed support request %(id)d at the same moment.", id=request_id)) from error


def take(request: SupportRequest, user: User, version: int | None, now: datetime) -> None:
    """Take a waiting request: the rest of the desk sees who has it."""
    _desk_only(request, user)
    _check(request, version)
    if request.taken_by_id is not None:
        raise Conflict(_l("%(name)s has taken this request already.", name=request.taken_by.username)
                       if request.taken_by else _l("This request is taken already."))
    request.status, request.taken_by_id, request.taken_at, request.updated_at = SupportStatus.TAKEN, user.id, now, now
    _event(request.work_order, user, TAKE_ACTION, now, data={"support": request.id})
    _flush(request.id)


def reply(request: SupportRequest, user: User, body: str | None, version: int | None, now: datetime) -> SupportReply:
    """Answer the installer (taking the request if nobody had); the first answer is the first reply."""
    _desk_only(request, user)
    _check(request, version)
    text = clean_note(body, "body")
    if not text:
        raise InvalidInput(_l("Write the reply."), errors={"body": [_l("Required.")]})
    message = _add_reply(request, user, text, now)
    request.status = SupportStatus.ANSWERED
    _event(request.work_order, user, REPLY_ACTION, now, note=text, data={"support": request.id})
    _flush(request.id)
    order = request.work_order
    data = {"number": order.number, "request": request.id, "by": user.username}
    link = _urls().build("workorders.detail", {"number": order.number}) + "#support"
    deliver([Notice(request.installer, REPLIED_NOTICE, data, f"{REPLIED_NOTICE}:{message.id}", link)])
    return message


def _add_reply(request: SupportRequest, user: User, text: str, now: datetime) -> SupportReply:
    message = SupportReply(request=request, author_id=user.id, created_at=now, body=text)
    db.session.add(message)
    if request.first_reply_at is None:
        request.first_reply_at = now
    if request.taken_by_id is None:
        request.taken_by_id, request.taken_at = user.id, now
    request.updated_at = now
    db.session.flush()
    return message


def resolve(request: SupportRequest, user: User, resolution: str | None, note: str | None, version: int | None,
            now: datetime) -> None:
    """Close the request with how it ended; a note goes to the installer as a last reply."""
    _desk_only(request, user)
    _check(request, version)
    try:
        outcome = SupportResolution(resolution or "")
    except ValueError:
        raise InvalidInput(_l("Choose how the request ended."), errors={"resolution": [_l("Choose one.")]}) from None
    text = clean_note(note)
    if text:
        _add_reply(request, user, text, now)
    request.status, request.resolution = SupportStatus.RESOLVED, outcome
    request.resolved_at, request.resolved_by_id, request.updated_at = now, user.id, now
    _event(request.work_order, user, RESOLVE_ACTION, now, note=text,
           data={"support": request.id, "resolution": outcome.value})
    _flush(request.id)


def thank(request: SupportRequest, installer: User, version: int | None, now: datetime) -> None:
    """The installer's "solved, thanks": once there is an answer; an answered request the desk has
    not closed yet is closed by it as solved remotely."""
    if installer.id != request.installer_id:
        raise Forbidden(_l("Only the installer who asked marks it solved."))
    _check(request, version)
    if request.status not in (SupportStatus.ANSWERED, SupportStatus.RESOLVED):
        raise Conflict(_l("There is no answer to thank for yet.") if request.status in UNRESOLVED
                       else _l("This request is closed already."), current_status=request.status.value)
    if request.status is SupportStatus.ANSWERED:
        request.resolution, request.resolved_at, request.resolved_by_id = (
            SupportResolution.SOLVED_REMOTELY, now, installer.id)
    request.status, request.thanked_at, request.updated_at = SupportStatus.THANKED, now, now
    _event(request.work_order, installer, THANK_ACTION, now, data={"support": request.id})
    _flush(request.id)


# --- reading ------------------------------------------------------------------------------------

def visible_requests(user: User) -> Select[tuple[SupportRequest]]:
    """A SELECT of the requests `user` may see: an installer those they raised, a supervisor those
    of their teams, an admin all."""
    query = select(SupportRequest)
    if user.role is Role.INSTALLER:
        return query.where(SupportRequest.installer_id == user.id)
    return query.where(in_managed_team(SupportRequest.team_id, user.role, user.id))


def with_details(query: Select[tuple[SupportRequest]]) -> Select[tuple[SupportRequest]]:
    """`query` with what a request's row and page show loaded alongside (no N+1)."""
    return query.options(
        joinedload(SupportRequest.work_order).joinedload(WorkOrder.job_type),
        joinedload(SupportRequest.work_order).joinedload(WorkOrder.district),
        joinedload(SupportRequest.installer), joinedload(SupportRequest.team), joinedload(SupportRequest.taken_by),
        joinedload(SupportRequest.resolved_by),
        selectinload(SupportRequest.replies).joinedload(SupportReply.author),
    )


def load_request(user: User, request_id: int) -> SupportRequest:
    """The request with its replies, if `user` may see it (else NotFound: nothing leaks)."""
    found = db.session.scalar(with_details(visible_requests(user).where(SupportRequest.id == request_id)))
    if found is None:
        raise NotFound(_l("No support request %(id)d that you may see.", id=request_id))
    return found


def desk_queue(user: User) -> list[SupportRequest]:
    """The unresolved requests `user`'s desk sees, the longest waiting first."""
    query = with_details(visible_requests(user).where(among(SupportRequest.status, UNRESOLVED)))
    return list(db.session.scalars(query.order_by(SupportRequest.raised_at, SupportRequest.id).limit(QUEUE_SIZE)))


def desk_counts(user: User, now: datetime) -> tuple[int, int]:
    """How many requests `user`'s desk has waiting, and how many of those are overdue (one query)."""
    waiting = visible_requests(user).where(among(SupportRequest.status, UNRESOLVED))
    total, overdue = db.session.execute(waiting.with_only_columns(
        func.count(), func.coalesce(func.sum(case((overdue_condition(now), 1), else_=0)), 0))).one()
    return int(total), int(overdue)


def recently_closed(user: User, now: datetime, hours: int = 12) -> list[SupportRequest]:
    """What the desk closed in the last `hours`, newest first (the queue page's second list)."""
    query = with_details(visible_requests(user).where(SupportRequest.status.notin_(UNRESOLVED),
                                                      SupportRequest.resolved_at >= now - timedelta(hours=hours)))
    return list(db.session.scalars(query.order_by(SupportRequest.resolved_at.desc()).limit(QUEUE_SIZE)))


def requests_of_order(user: User, order: WorkOrder) -> list[SupportRequest]:
    """The requests of `order` that `user` may see, oldest first, with their replies."""
    query = with_details(visible_requests(user).where(SupportRequest.work_order_id == order.id))
    return list(db.session.scalars(query.order_by(SupportRequest.id)))


def order_requests_stamp(user: User, order_id: int, now: datetime) -> list[Any]:
    """What changes whenever `requests_of_order` would look different at `now`, as SQL for the job
    page's validator: how many, their versions (every change, a reply too, moves one), the newest
    change, and how many are overdue at `now`."""
    mine = visible_requests(user).where(SupportRequest.work_order_id == order_id)
    return [mine.with_only_columns(func.count()).scalar_subquery(),
            mine.with_only_columns(func.coalesce(func.sum(SupportRequest.version), 0)).scalar_subquery(),
            mine.with_only_columns(func.max(SupportRequest.updated_at)).scalar_subquery(),
            mine.where(overdue_condition(now)).with_only_columns(func.count()).scalar_subquery()]


def filtered(user: User, *, status: str | None = None, order_number: str | None = None,
             updated_since: datetime | None = None) -> Select[tuple[SupportRequest]]:
    """The API's list: the visible requests, by status, order and change time."""
    query = visible_requests(user)
    if status == "overdue":
        query = query.where(overdue_condition(utcnow()))
    elif status == "pending":
        query = query.where(among(SupportRequest.status, UNRESOLVED))
    elif status:
        query = query.where(SupportRequest.status == SupportStatus(status))
    if order_number:
        query = query.where(SupportRequest.work_order_id.in_(select(WorkOrder.id).where(WorkOrder.number == order_number)))
    if updated_since is not None:
        query = query.where(SupportRequest.updated_at >= updated_since)
    return query


# --- notices ------------------------------------------------------------------------------------

def register_notice_kinds(app: Flask) -> None:
    kinds.register(app, RAISED_NOTICE, describe)
    kinds.register(app, REPLIED_NOTICE, describe)


def describe(kind: str, data: Mapping[str, Any], reader: User) -> str:
    """A support notice in the current language: to the desk, a new request; to the installer, a reply."""
    if kind == RAISED_NOTICE:
        return _("%(installer)s asks for help on order %(number)s: %(category)s.", installer=data["installer"],
                 number=data["number"], category=category_label(data["category"]))
    return _("The support desk (%(by)s) replied on order %(number)s.", by=data["by"], number=data["number"])
