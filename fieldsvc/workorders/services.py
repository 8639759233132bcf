"""Creating work orders: deadlines, numbers, customers. Services flush; the edge commits."""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from ..auth.models import Role, User
from ..auth.scope import takes_orders_in
from ..db import utcnow
from ..errors import Conflict, Forbidden, InvalidInput, RuleViolation
from ..extensions import db
from ..workforce.models import Customer, District, JobType
from .lifecycle import beyond_horizon, clean_note
from .models import Priority, WorkOrder, WorkOrderEvent
from .standards import attach_current


def compute_due_by(job_type: JobType, created_at: datetime, appointment_end: datetime | None, tz: ZoneInfo) -> datetime:
    """The deadline fixed at creation (PRODUCT.md §4): created before the job type's cut-off hour →
    the end of that local day; later → within its deadline hours; a later booked window → its end."""
    local = created_at.astimezone(tz)
    if job_type.same_day_cutoff_hour is not None and local.hour < job_type.same_day_cutoff_hour:
        due = datetime.combine(local.date(), time(23, 59, 59), tzinfo=tz)
    else:
        due = local + timedelta(hours=job_type.deadline_hours)
    if appointment_end is not None and appointment_end > due:
        due = appointment_end
    return due.astimezone(created_at.tzinfo)


def order_number(order_id: int, created_at: datetime, tz: ZoneInfo) -> str:
    """WO + the local creation date + the id: readable on the phone, unique by the id."""
    return f"WO{created_at.astimezone(tz):%y%m%d}-{order_id:07d}"


def request_digest(payload: dict[str, Any]) -> str:
    """SHA-256 of a request body in canonical JSON (key order and spacing do not matter)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def _order_errors(priority: str, start: datetime | None, end: datetime | None,
                  notes: str | None, now: datetime) -> tuple[dict[str, list[Any]], str | None]:
    """What is wrong with an order's priority, appointment window (both ends, or neither, within
    the booking horizon) and notes; and the notes as stored."""
    errors: dict[str, list[Any]] = {}
    try:
        notes = clean_note(notes, "notes")
    except InvalidInput as error:
        errors.update(error.details["errors"])
    if priority not in {p.value for p in Priority}:
        errors["priority"] = [_l("One of: %(values)s.", values=", ".join(p.value for p in Priority))]
    if (start is None) != (end is None):
        errors["appointment_end"] = [_l("Give both ends of the window, or neither.")]
    elif start and end and end <= start:
        errors["appointment_end"] = [_l("Must be after the start.")]
    elif start and beyond_horizon(start, now):
        errors["appointment_start"] = [_l("At most a year ahead.")]
    return errors, notes


@dataclass
class NewOrder:
    """What a supervisor or an integration gives to create an order."""

    job_type: str
    account_no: str
    customer_name: str
    phone: str
    address: str
    district: str
    priority: str = Priority.NORMAL.value
    appointment_start: datetime | None = None
    appointment_end: datetime | None = None
    is_work_at_height: bool = False
    notes: str | None = None
    external_ref: str | None = None
    request_hash: str | None = None
    parent_order_id: int | None = None  # the order this one revisits


def create_work_order(actor: User, data: NewOrder, tz: ZoneInfo, now: datetime | None = None) -> tuple[WorkOrder, bool]:
    """Create an order (supervisor or admin; a supervisor only in the districts their teams serve).
    With an external_ref already used: the same request returns that order (created False); a
    different one is a conflict."""
    if actor.role is Role.INSTALLER:
        raise Forbidden(_l("Installers do not create work orders."))
    if data.external_ref:
        existing = db.session.scalar(select(WorkOrder).where(WorkOrder.external_ref == data.external_ref))
        if existing is not None:
            if data.request_hash and existing.request_hash == data.request_hash:
                return existing, False
            raise Conflict(_l("external_ref %(ref)s was already used for another order.", ref=data.external_ref),
                           number=existing.number)
    errors: dict[str, list[str]] = {}
    job_type = db.session.scalar(select(JobType).where(JobType.code == data.job_type, JobType.is_active.is_(True)))
    if job_type is None:
        errors["job_type"] = [_l("Unknown job type.")]
    district = db.session.scalar(select(District).where(District.code == data.district))
    if district is None:
        errors["district"] = [_l("Unknown district.")]
    now = now or utcnow()
    order_errors, notes = _order_errors(data.priority, data.appointment_start, data.appointment_end, data.notes, now)
    errors.update(order_errors)
    if errors or job_type is None or district is None:
        raise InvalidInput(_l("The order has errors."), errors=errors)
    if not takes_orders_in(actor, district.id):
        # The order would be written and then invisible to its author (visible_orders): refuse.
        raise RuleViolation(_l("Your teams do not serve this district: ask its supervisor or an admin to "
                               "take the order."), errors={"district": [_l("Not a district your teams serve.")]},
                            district=district.code)
    customer = _customer(data, district)
    order = WorkOrder(
        number=uuid.uuid4().hex[:24],  # replaced below, once the id is known
        external_ref=data.external_ref or None,
        request_hash=data.request_hash,
        job_type=job_type,
        priority=Priority(data.priority),
        customer=customer,
        district=district,
        address=data.address,
        is_work_at_height=data.is_work_at_height,
        notes=notes,
        appointment_start=data.appointment_start,
        appointment_end=data.appointment_end,
        created_at=now,
        updated_at=now,
        due_by=compute_due_by(job_type, now, data.appointment_end, tz),
        parent_order_id=data.parent_order_id,
    )
    db.session.add(order)
    db.session.flush()
    number = order_number(order.id, now, tz)
    # A bulk UPDATE leaves the version alone: a new order starts at version 1.
    db.session.execute(update(WorkOrder).where(WorkOrder.id == order.id).values(number=number),
                       execution_options={"synchronize_session": False})
    set_committed_value(order, "number", number)
    attach_current(order)
    db.session.add(WorkOrderEvent(work_order=order, actor=actor, created_at=now, action="create",
                                  to_status=order.status.value, note=notes,
                                  data={"external_ref": data.external_ref} if data.external_ref else None))
    db.session.flush()
    return order, True


def _customer(data: NewOrder, district: District) -> Customer:
    """The customer with this account number, its contact details brought up to date; or a new one."""
    customer = db.session.scalar(select(Customer).where(Customer.account_no == data.account_no))
    if customer is None:
        customer = Customer(account_no=data.account_no, name=data.customer_name, phone=data.phone,
                            address=data.address, district=district)
        db.session.add(customer)
    else:
        customer.name, customer.phone, customer.address, customer.district = (
            data.customer_name, data.phone, data.address, district)
    return customer


@dataclass
class OrderChanges:
    """What a supervisor may change on an open order (the customer's account stays as it is)."""

    priority: str
    notes: str | None
    is_work_at_height: bool
    appointment_start: datetime | None
    appointment_end: datetime | None


def update_work_order(order: WorkOrder, actor: User, version: int | None, changes: OrderChanges,
                      today: Any, now: datetime | None = None) -> list[str]:
    """Edit or reschedule an open order (supervisor or admin), checking the version; returns the
    fields changed. The deadline stays as fixed at creation. Turning on work at height for an
    assigned order is refused when its installer may not work at height."""
    from .dispatch import check_eligibility
    from .lifecycle import check_version, record_change
    from .models import OPEN_STATUSES

    if actor.role is Role.INSTALLER:
        raise Forbidden(_l("Installers do not edit work orders."))
    check_version(order, version)
    if order.status not in OPEN_STATUSES:
        raise Conflict(_l("Only open orders can be edited."), current_status=order.status.value)
    now = now or utcnow()
    errors, notes = _order_errors(changes.priority, changes.appointment_start, changes.appointment_end, changes.notes,
                                  now)
    if errors:
        raise InvalidInput(_l("The order has errors."), errors=errors)
    before = {"priority": order.priority.value, "notes": order.notes, "is_work_at_height": order.is_work_at_height,
              "appointment_start": order.appointment_start, "appointment_end": order.appointment_end}
    after = {"priority": changes.priority, "notes": notes,
             "is_work_at_height": changes.is_work_at_height, "appointment_start": changes.appointment_start,
             "appointment_end": changes.appointment_end}
    changed = [key for key in before if before[key] != after[key]]
    if not changed:
        return []
    if "is_work_at_height" in changed and changes.is_work_at_height and order.assignee is not None:
        order.is_work_at_height = True
        (verdict,) = check_eligibility(order, [order.assignee], today)
        if not verdict.ok:
            raise RuleViolation(_l("%(username)s may not work at height; reassign the order first.",
                                   username=order.assignee.username), unmet=verdict.unmet)
    order.priority = Priority(after["priority"])
    order.notes = after["notes"]
    order.is_work_at_height = after["is_work_at_height"]
    order.appointment_start, order.appointment_end = after["appointment_start"], after["appointment_end"]
    order.updated_at = now
    data = {key: [_plain(before[key]), _plain(after[key])] for key in changed}
    action = "book" if set(changed) <= {"appointment_start", "appointment_end"} else "edit"
    record_change(order, actor, action, order.status, now, data=data)
    return changed


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
