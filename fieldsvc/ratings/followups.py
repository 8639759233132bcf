"""Follow-ups (回访) of dissatisfied ratings: a 1–2 star rating opens exactly one, in the rating's
own transaction, for the supervisors of the order's team; they record the contact with the
customer, then close it with an outcome (a revisit booked creates the revisit order, linked) and
may reclassify the rating's cause. One not contacted by its `contact_due_at` (the
`followup_contact_hours` rule when it opened) is overdue.

Who sees a follow-up: whoever may see its order (`workorders.queries.visible_orders`), so the
customer's data reaches nobody who could not already read it; only supervisors and admins act
on it. Every step appends to the order's event trail (and so moves the order's version). Services
flush; the edge commits."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from ..auth.models import Role, User
from ..auth.scope import supervisors_by_team, teams_serving
from ..db import local_day_range, utcnow, zone
from ..errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation
from ..extensions import db
from ..notifications import kinds
from ..notifications.services import Notice, deliver
from ..rules.services import setting
from ..workforce.models import District, JobType, Team
from ..workorders.lifecycle import clean_note
from ..workorders.models import WorkOrder, WorkOrderEvent
from ..workorders.queries import visible_orders
from ..workorders.services import NewOrder, create_work_order
from .models import FollowUp, FollowUpCause, FollowUpOutcome, FollowUpStatus, SurveyResponse

# A rating of this many stars or fewer opens a follow-up: 2 and 1 are 不满意 (PRODUCT.md §4).
FOLLOW_UP_MAX_SCORE = 2
FOLLOWUP_OPENED = "followup_opened"  # the notice kind
# The event trail's actions (workorders.labels names them).
OPEN_ACTION, CONTACT_ACTION, CLOSE_ACTION = "followup_open", "followup_contact", "followup_close"
PAGE_SIZE = 50
BOARD_QUEUE_SIZE = 5
EXPORT_LIMIT = 10_000
# A revisit is booked as this job type unless the supervisor picks another; and pressing.
REVISIT_JOB_TYPE, REVISIT_PRIORITY = "repair", "high"


class Cause(NamedTuple):
    label: Any
    counts_against_installer: bool


# The one list of causes, and whether each counts against the installer (DOMAIN.md §1.7: a
# dissatisfied rating asks for a reason; the branch's "not the installer's fault" reasons).
CAUSES: dict[FollowUpCause, Cause] = {
    FollowUpCause.INSTALLER_CONDUCT: Cause(_l("Installer's conduct"), True),
    FollowUpCause.PUNCTUALITY: Cause(_l("Punctuality"), True),
    FollowUpCause.WORKMANSHIP: Cause(_l("Quality of the work"), True),
    FollowUpCause.NETWORK_QUALITY: Cause(_l("Network quality"), False),
    FollowUpCause.PRICE_BILLING: Cause(_l("Price or billing"), False),
    FollowUpCause.PRODUCT: Cause(_l("Product or equipment"), False),
    FollowUpCause.OTHER: Cause(_l("Other"), True),
}
OUTCOMES: dict[FollowUpOutcome, Any] = {
    FollowUpOutcome.RESOLVED: _l("Resolved"),
    FollowUpOutcome.EXPLAINED: _l("Explained to the customer"),
    FollowUpOutcome.REVISIT_BOOKED: _l("Revisit booked"),
    FollowUpOutcome.CUSTOMER_UNREACHABLE: _l("Customer unreachable"),
    FollowUpOutcome.NOT_INSTALLER_FAULT: _l("Not the installer's fault"),
}
STATUSES: dict[FollowUpStatus, Any] = {
    FollowUpStatus.OPEN: _l("open"),
    FollowUpStatus.CONTACTED: _l("contacted"),
    FollowUpStatus.CLOSED: _l("closed"),
}
# The list's state filter: a status, overdue (open past its deadline), or all not closed.
STATES = ("pending", "overdue", "open", "contacted", "closed")


def cause_label(cause: FollowUpCause | str | None) -> str:
    return str(CAUSES[FollowUpCause(cause)].label) if cause else "—"


def outcome_label(outcome: FollowUpOutcome | str | None) -> str:
    return str(OUTCOMES[FollowUpOutcome(outcome)]) if outcome else "—"


def status_label(status: FollowUpStatus | str) -> str:
    return str(STATUSES[FollowUpStatus(status)])


def is_overdue(followup: FollowUp, now: datetime | None = None) -> bool:
    """Whether nobody has contacted the customer and the contact deadline has passed."""
    return followup.status is FollowUpStatus.OPEN and (now or utcnow()) > followup.contact_due_at


def overdue_condition(now: datetime) -> Any:
    """`is_overdue` as SQL."""
    return and_(FollowUp.status == FollowUpStatus.OPEN, FollowUp.contact_due_at < now)


# --- opening ------------------------------------------------------------------------------------

def open_followup(response: SurveyResponse, order: WorkOrder, now: datetime) -> FollowUp | None:
    """Open the follow-up of a dissatisfied rating (none for 3 stars or more), in the rating's
    transaction, and tell the order's supervisors. The unique rating id makes it one per rating
    whatever happens concurrently (the rating itself is claimed once, `submit_rating`)."""
    if response.score > FOLLOW_UP_MAX_SCORE:
        return None
    tz = zone()
    hours = int(setting("followup_contact_hours", now.astimezone(tz).date()))
    followup = FollowUp(response_id=response.id, work_order_id=order.id, installer_id=response.installer_id,
                        opened_at=now, contact_due_at=now + timedelta(hours=hours))
    db.session.add(followup)
    db.session.flush()
    _event(order, None, OPEN_ACTION, now, data={"followup": followup.id, "score": response.score})
    installer = db.session.get(User, response.installer_id) if response.installer_id else None
    data = {"number": order.number, "score": response.score, "followup": followup.id,
            "installer": installer.username if installer else None,
            "due": followup.contact_due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")}
    link = _urls().build("followups.detail", {"followup_id": followup.id})
    deliver([Notice(reader, FOLLOWUP_OPENED, data, f"{FOLLOWUP_OPENED}:{followup.id}:{reader.id}", link)
             for reader in _supervisors_of(order)])
    return followup


def _supervisors_of(order: WorkOrder) -> list[User]:
    """The active supervisors of the order's team (an order no team holds: of the teams serving its
    district), as the overdue notices reach them."""
    by_team = supervisors_by_team()
    if order.team_id is not None:
        teams = {order.team_id}
    else:
        teams = set(db.session.scalars(teams_serving(order.district_id)))
    return list({s.id: s for team in sorted(teams) for s in by_team.get(team, [])}.values())


def register_notice_kinds(app: Flask) -> None:
    kinds.register(app, FOLLOWUP_OPENED, describe)


def describe(kind: str, data: Mapping[str, Any], reader: User) -> str:
    """The notice of a follow-up opened, for a supervisor, in the current language."""
    if data.get("installer"):
        return _("A %(score)d-star rating of order %(number)s (%(installer)s) needs a follow-up: contact the "
                 "customer by %(due)s.", score=data["score"], number=data["number"], installer=data["installer"],
                 due=data["due"])
    return _("A %(score)d-star rating of order %(number)s needs a follow-up: contact the customer by %(due)s.",
             score=data["score"], number=data["number"], due=data["due"])


def _urls() -> Any:
    """The URL map bound outside a request (a rating may be recorded by a CLI or a test)."""
    from flask import current_app

    return current_app.url_map.bind("localhost")


def _event(order: WorkOrder, actor: User | None, action: str, now: datetime, *, note: str | None = None,
           data: dict[str, Any] | None = None) -> None:
    """A step of the follow-up on the order's trail. Like every event it is a change of the order:
    its version and `updated_at` move with it (one event per version, and an integration syncing
    with `updated_since` finds the new step), the status stays."""
    order.updated_at = now
    db.session.add(WorkOrderEvent(work_order_id=order.id, actor_id=actor.id if actor else None, created_at=now,
                                  action=action, from_status=order.status.value, to_status=order.status.value,
                                  note=note, data=data))


# --- reading ------------------------------------------------------------------------------------

def visible_followups(user: User) -> Select[tuple[FollowUp]]:
    """A SELECT of the follow-ups `user` may see: those of the orders they may see (the one rule
    of `visible_orders`, joined rather than repeated)."""
    query = select(FollowUp).join(WorkOrder, WorkOrder.id == FollowUp.work_order_id)
    condition = visible_orders(user).whereclause
    return query if condition is None else query.where(condition)


def with_details(query: Select[tuple[FollowUp]]) -> Select[tuple[FollowUp]]:
    """`query` with what a follow-up's row shows loaded in the same statement (no N+1)."""
    return query.options(
        joinedload(FollowUp.work_order).joinedload(WorkOrder.job_type),
        joinedload(FollowUp.work_order).joinedload(WorkOrder.team),
        joinedload(FollowUp.work_order).joinedload(WorkOrder.district),
        joinedload(FollowUp.response), joinedload(FollowUp.installer), joinedload(FollowUp.contacted_by),
        joinedload(FollowUp.closed_by), joinedload(FollowUp.revisit_order),
    )


def load_followup(user: User, followup_id: int) -> FollowUp:
    """The follow-up with what its page shows (the order's customer too), if `user` may see it."""
    followup = db.session.scalar(with_details(visible_followups(user).where(FollowUp.id == followup_id))
                                 .options(joinedload(FollowUp.work_order).joinedload(WorkOrder.customer)))
    if followup is None:
        raise NotFound(_l("No follow-up %(id)s that you may see.", id=followup_id))
    return followup


def followups_of_order(user: User, order: WorkOrder) -> list[FollowUp]:
    """The follow-ups of a rated order, and the one that booked it as a revisit, if `user` may see
    them (the job page), oldest first."""
    query = visible_followups(user).where(
        (FollowUp.work_order_id == order.id) | (FollowUp.revisit_order_id == order.id))
    return list(db.session.scalars(with_details(query).order_by(FollowUp.id)).unique())


def order_followups_stamp(user: User, order_id: int, now: datetime) -> list[Any]:
    """What changes whenever `followups_of_order` would look different at `now`, as SQL for the
    job page's validator: how many, their versions, how many are overdue at `now`."""
    mine = visible_followups(user).where((FollowUp.work_order_id == order_id) | (FollowUp.revisit_order_id == order_id))
    return [mine.with_only_columns(func.count()).scalar_subquery(),
            mine.with_only_columns(func.coalesce(func.sum(FollowUp.version), 0)).scalar_subquery(),
            mine.where(overdue_condition(now)).with_only_columns(func.count()).scalar_subquery()]


@dataclass
class FollowUpFilters:
    """What the list is narrowed to; empty values do not filter."""

    state: str = ""
    team: str = ""
    installer: str = ""
    outcome: str = ""
    opened_from: date | None = None
    opened_to: date | None = None

    def query_args(self, **changes: Any) -> dict[str, Any]:
        args = {"state": self.state, "team": self.team, "installer": self.installer, "outcome": self.outcome,
                "opened_from": self.opened_from.isoformat() if self.opened_from else "",
                "opened_to": self.opened_to.isoformat() if self.opened_to else ""}
        args.update(changes)
        # The state stays even when empty ("all"): without it the list shows what is not closed.
        return {key: value for key, value in args.items() if value not in ("", None) or key == "state"}


def filtered(user: User, filters: FollowUpFilters, now: datetime, tz: ZoneInfo) -> Select[tuple[FollowUp]]:
    """The follow-ups `user` may see, narrowed by `filters` (unknown codes find nothing)."""
    query = visible_followups(user)
    if filters.state == "pending":
        query = query.where(FollowUp.status != FollowUpStatus.CLOSED)
    elif filters.state == "overdue":
        query = query.where(overdue_condition(now))
    elif filters.state in {s.value for s in FollowUpStatus}:
        query = query.where(FollowUp.status == FollowUpStatus(filters.state))
    if filters.team:
        query = query.where(WorkOrder.team_id == select(Team.id).where(Team.code == filters.team).scalar_subquery())
    if filters.installer:
        query = query.where(FollowUp.installer_id == select(User.id).where(User.username == filters.installer)
                            .scalar_subquery())
    if filters.outcome:
        known = {o.value for o in FollowUpOutcome}
        query = query.where(FollowUp.outcome == FollowUpOutcome(filters.outcome) if filters.outcome in known
                            else FollowUp.id.is_(None))
    if filters.opened_from:
        query = query.where(FollowUp.opened_at >= local_day_range(filters.opened_from, tz)[0])
    if filters.opened_to:
        query = query.where(FollowUp.opened_at < local_day_range(filters.opened_to, tz)[1])
    return query


def followup_page(user: User, filters: FollowUpFilters, now: datetime, tz: ZoneInfo, page: int = 1,
                  size: int = PAGE_SIZE) -> tuple[list[FollowUp], int]:
    """One page of the list, newest first, and how many match (two queries)."""
    query = filtered(user, filters, now, tz)
    total = db.session.scalar(query.with_only_columns(func.count()).order_by(None)) or 0
    rows = db.session.scalars(with_details(query).order_by(FollowUp.opened_at.desc(), FollowUp.id.desc())
                              .offset((max(page, 1) - 1) * size).limit(size)).unique()
    return list(rows), int(total)


@dataclass
class BoardQueue:
    """The board's follow-up queue: how many wait (and are overdue), and the most pressing few."""

    waiting: int
    overdue: int
    first: list[FollowUp]


def board_queue(user: User, now: datetime, size: int = BOARD_QUEUE_SIZE) -> BoardQueue:
    """The follow-ups not closed that `user` may see: counts in one query, the overdue and the
    soonest due first in another."""
    waiting = visible_followups(user).where(FollowUp.status != FollowUpStatus.CLOSED)
    total, overdue = db.session.execute(waiting.with_only_columns(
        func.count(), func.coalesce(func.sum(case((overdue_condition(now), 1), else_=0)), 0))).one()
    first = db.session.scalars(with_details(waiting).order_by(
        case((FollowUp.status == FollowUpStatus.OPEN, 0), else_=1), FollowUp.contact_due_at, FollowUp.id)
        .limit(size)).unique()
    return BoardQueue(int(total), int(overdue), list(first))


# --- acting -------------------------------------------------------------------------------------

def _may_act(actor: User, followup: FollowUp, version: int | None) -> None:
    if actor.role is Role.INSTALLER:
        raise Forbidden(_l("Only supervisors and admins follow up ratings."))
    if version is None:
        raise InvalidInput(_l("Send the version you saw."), errors={"version": [_l("Required.")]})
    if version != followup.version:
        raise Conflict(_l("Follow-up %(id)s has changed since you opened it: it is now %(status)s.",
                          id=followup.id, status=status_label(followup.status)),
                       current_version=followup.version, current_status=followup.status.value)
    if followup.status is FollowUpStatus.CLOSED:
        raise Conflict(_l("Follow-up %(id)s is closed already.", id=followup.id),
                       current_version=followup.version, current_status=followup.status.value)


def _note(note: str | None) -> str:
    text = clean_note(note)
    if text is None:
        raise InvalidInput(_l("Write a note: what the customer said, what was agreed."),
                           errors={"note": [_l("Required.")]})
    return text


def _flush(followup_id: int) -> None:
    """Write now: a concurrent change (the version moved on underneath us) is a conflict here."""
    try:
        db.session.flush()
    except StaleDataError as error:
        raise Conflict(_l("Follow-up %(id)s was changed by someone else at the same moment.", id=followup_id)) from error


def record_contact(followup: FollowUp, actor: User, version: int | None, note: str | None,
                   now: datetime | None = None) -> FollowUp:
    """Record that `actor` reached the customer (open → contacted), with a note."""
    _may_act(actor, followup, version)
    if followup.status is not FollowUpStatus.OPEN:
        raise Conflict(_l("The customer of follow-up %(id)s was contacted already.", id=followup.id),
                       current_version=followup.version, current_status=followup.status.value)
    text = _note(note)
    now = now or utcnow()
    followup_id = followup.id
    followup.status, followup.contacted_at, followup.contacted_by_id = FollowUpStatus.CONTACTED, now, actor.id
    followup.contact_note = text
    late = now > followup.contact_due_at
    _event(followup.work_order, actor, CONTACT_ACTION, now, note=text, data={"followup": followup_id, "late": late})
    _flush(followup_id)
    return followup


@dataclass
class Closing:
    """What a supervisor gives to close a follow-up."""

    outcome: str
    note: str | None
    cause: str | None = None
    revisit_job_type: str | None = None


def close_followup(followup: FollowUp, actor: User, version: int | None, closing: Closing, tz: ZoneInfo,
                   now: datetime | None = None) -> FollowUp:
    """Close the follow-up with an outcome (contacted → closed; open → closed only when the
    customer could not be reached), perhaps reclassifying the rating's cause. "Revisit booked"
    creates the revisit order, linked to the rated one, in the same transaction."""
    _may_act(actor, followup, version)
    errors: dict[str, list[Any]] = {}
    outcome = FollowUpOutcome(closing.outcome) if closing.outcome in {o.value for o in FollowUpOutcome} else None
    if outcome is None:
        errors["outcome"] = [_l("Choose an outcome.")]
    cause = FollowUpCause(closing.cause) if closing.cause in {c.value for c in FollowUpCause} else None
    if closing.cause and cause is None:
        errors["cause"] = [_l("Unknown cause.")]
    if outcome is FollowUpOutcome.NOT_INSTALLER_FAULT and cause is not None and CAUSES[cause].counts_against_installer:
        errors["cause"] = [_l("This cause is the installer's: choose another cause or another outcome.")]
    try:
        text = _note(closing.note)
    except InvalidInput as error:
        errors.update(error.details["errors"])
    if errors or outcome is None:
        raise InvalidInput(_l("The follow-up could not be closed."), errors=errors)
    if followup.status is FollowUpStatus.OPEN and outcome is not FollowUpOutcome.CUSTOMER_UNREACHABLE:
        raise RuleViolation(_l("Record the contact with the customer first: only “customer unreachable” closes a "
                               "follow-up nobody has contacted."), errors={"outcome": [_l("Record the contact first.")]})
    now = now or utcnow()
    order, followup_id = followup.work_order, followup.id
    revisit = None
    if outcome is FollowUpOutcome.REVISIT_BOOKED:
        revisit = _book_revisit(order, actor, closing.revisit_job_type or REVISIT_JOB_TYPE, text, tz, now)
    if outcome is FollowUpOutcome.NOT_INSTALLER_FAULT:
        counts = False
    else:
        counts = CAUSES[cause].counts_against_installer if cause is not None else True
    followup.status, followup.closed_at, followup.closed_by_id = FollowUpStatus.CLOSED, now, actor.id
    followup.outcome, followup.cause, followup.counts_against_installer = outcome, cause, counts
    followup.close_note = text
    followup.revisit_order_id = revisit.id if revisit is not None else None
    data = {"followup": followup_id, "outcome": outcome.value, "cause": cause.value if cause else None,
            "counts_against_installer": counts}
    if revisit is not None:
        data["revisit"] = revisit.number
    _event(order, actor, CLOSE_ACTION, now, note=text, data=data)
    _flush(followup_id)
    return followup


def _book_revisit(order: WorkOrder, actor: User, job_type: str, note: str, tz: ZoneInfo, now: datetime) -> WorkOrder:
    """The revisit: a new order for the same customer and address, pressing, linked to `order`,
    unassigned (the board's "unassigned" queue dispatches it)."""
    customer = order.customer
    district = db.session.get(District, order.district_id)
    kind = db.session.scalar(select(JobType).where(JobType.code == job_type, JobType.is_active.is_(True)))
    if kind is None:
        raise InvalidInput(_l("Unknown job type."), errors={"revisit_job_type": [_l("Unknown job type.")]})
    revisit, _created = create_work_order(actor, NewOrder(
        job_type=job_type, account_no=customer.account_no, customer_name=customer.name, phone=customer.phone,
        address=order.address, district=district.code, priority=REVISIT_PRIORITY,
        notes=_("Revisit after a dissatisfied rating of %(number)s: %(note)s", number=order.number, note=note)[:2000],
        parent_order_id=order.id), tz, now)
    return revisit


# --- export -------------------------------------------------------------------------------------

EXPORT_HEADER = ("id", "order", "opened_at", "score", "installer", "team", "district", "status", "overdue",
                 "contact_due_at", "contacted_at", "contacted_by", "contact_note", "closed_at", "closed_by",
                 "outcome", "cause", "counts_against_installer", "revisit_order", "close_note")


def export_rows(rows: list[FollowUp], now: datetime, tz: ZoneInfo) -> list[list[Any]]:
    """The follow-ups as rows of EXPORT_HEADER (no customer data: the order number leads to it)."""
    def at(value: datetime | None) -> Any:
        return value.astimezone(tz).replace(tzinfo=None) if value else None

    return [[f.id, f.work_order.number, at(f.opened_at), f.response.score,
             f.installer.username if f.installer else None, f.work_order.team.code if f.work_order.team else None,
             f.work_order.district.code, f.status.value, is_overdue(f, now), at(f.contact_due_at),
             at(f.contacted_at), f.contacted_by.username if f.contacted_by else None, f.contact_note,
             at(f.closed_at), f.closed_by.username if f.closed_by else None,
             f.outcome.value if f.outcome else None, f.cause.value if f.cause else None,
             f.counts_against_installer, f.revisit_order.number if f.revisit_order else None, f.close_note]
            for f in rows]


def export_list(user: User, filters: FollowUpFilters, now: datetime, tz: ZoneInfo) -> list[FollowUp]:
    """Every follow-up the list shows under `filters` (at most EXPORT_LIMIT), newest first."""
    query = with_details(filtered(user, filters, now, tz)).order_by(FollowUp.opened_at.desc(), FollowUp.id.desc())
    return list(db.session.scalars(query.limit(EXPORT_LIMIT)).unique())
