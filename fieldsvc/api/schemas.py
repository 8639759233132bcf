"""Marshmallow schemas of the API's bodies; they also document it in the OpenAPI file."""
from __future__ import annotations

import base64
import json
from datetime import date, datetime
from typing import Any

import marshmallow as ma
from flask import abort, current_app
from flask_babel import gettext as _

from ..db import FIRST_DAY, INTEGER_RANGE, LAST_DAY, column_length, within_days, zone
from ..extensions import db
from ..metrics.definitions import BY_JOB_TYPE, CODE_PATTERN
from ..snapshots.models import PeriodType, ScopeType
from ..workforce.models import Customer
from ..workorders.evidence import (
    FAULT_CAUSES,
    MATERIAL_ITEM_LENGTH,
    MAX_MATERIAL_QUANTITY,
    MAX_MATERIALS,
    ONU_SERIAL_LENGTH,
    RX_POWER_PLAUSIBLE_DBM,
    SPEED_MBPS,
)
from ..workorders.lifecycle import (
    ACTIONS,
    LATITUDE,
    LONGITUDE,
    MAX_CANCEL_REASON,
    MAX_NOTE,
)
from ..workorders.models import OrderStatus, Priority, VisitOutcome, WorkOrder


class LocalDateTime(ma.fields.DateTime):
    """ISO 8601 with the operator's UTC offset on output; any offset accepted on input."""

    def _serialize(self, value: datetime | None, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        # Whole seconds, like every time the API shows: truncated, so `updated_since` with a time
        # read here never misses the change it came from.
        return value.astimezone(zone()).isoformat(timespec="seconds")


def encode_cursor(values: list[Any]) -> str:
    """An opaque pagination cursor for the last row's sort key."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    """The sort key inside a cursor; ValueError when it was not made by `encode_cursor` (its
    values are strings without NUL and integers a column can hold, as `encode_cursor` writes them)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise ValueError("malformed cursor") from error
    if not isinstance(values, list) or not all(_cursor_value(value) for value in values):
        raise ValueError("malformed cursor")
    return values


def newest_first_page(query: Any, id_column: Any, cursor: str | None, limit: int) -> dict[str, Any]:
    """One page of `query` by `id_column` descending, after the row `cursor` names (a cursor this
    made, else 400), as the list endpoints answer it: the items and the next page's cursor."""
    if cursor:
        try:
            (after,) = decode_cursor(cursor)
        except ValueError:
            abort(400, description="The cursor is malformed: pass next_cursor as it came.")
        if not isinstance(after, int):
            abort(400, description="The cursor is malformed: pass next_cursor as it came.")
        query = query.where(id_column < after)
    rows = list(db.session.scalars(query.order_by(id_column.desc()).limit(limit + 1)).unique())
    next_cursor = encode_cursor([rows[limit - 1].id]) if len(rows) > limit else None
    return {"items": rows[:limit], "next_cursor": next_cursor}


def _cursor_value(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" not in value
    return type(value) is int and INTEGER_RANGE[0] <= value <= INTEGER_RANGE[1]


# The orders of the work-order list: most recent change first (a person looking), or oldest first
# (an integration syncing with `updated_since`).
LIST_ORDERS = ("newest", "oldest")


def encode_change_cursor(updated_at: datetime, order_id: int, order: str) -> str:
    """The cursor after an order with this change time and id, in the list's `order`."""
    return encode_cursor([updated_at.isoformat(), order_id, order])


def decode_change_cursor(cursor: str) -> tuple[datetime, int, str]:
    """The (updated_at, id) of the last order on the page before, and the list's order; ValueError
    when the cursor is not one `encode_change_cursor` made (a cursor of two values, from before the
    list had an order, continues an oldest-first list)."""
    values = decode_cursor(cursor)
    if len(values) == 2:
        values.append("oldest")
    if len(values) != 3 or not isinstance(values[0], str) or not isinstance(values[1], int) \
            or values[2] not in LIST_ORDERS:
        raise ValueError("malformed cursor")
    stamp = datetime.fromisoformat(values[0])
    if stamp.tzinfo is None or not within_days(stamp):
        raise ValueError("malformed cursor")
    return stamp, values[1], values[2]


# The accepted days as the document can say them (OpenAPI 3.0 has no minimum for a date): the
# year, 1900 to 2999, as written; an instant is taken when it lies within them in UTC.
ACCEPTED_YEARS = "^(19|2[0-9])[0-9]{2}-"


def accepted_day(value: date | datetime) -> None:
    """A validator: a date or an aware instant within the days fieldsvc accepts."""
    if not within_days(value):
        raise ma.ValidationError(_("Must be from %(first)s to %(last)s.", first=FIRST_DAY.isoformat(),
                                   last=LAST_DAY.isoformat()))


class UnmetSchema(ma.Schema):
    """One requirement an installer does not meet (assignment refused, 422)."""

    certification_type = ma.fields.String(metadata={"description": "certification type code"})
    district = ma.fields.String(metadata={"description": "district code"})
    installer = ma.fields.String(metadata={"description": "username"})
    reason = ma.fields.String(required=True, metadata={
        "description": "missing, expired, review_due, revoked, level; not_served; unknown, not_your_team"})


class ProblemSchema(ma.Schema):
    """An RFC 9457 problem document, as fieldsvc.errors answers every error of the API
    (application/problem+json), with the members a refusal may add."""

    type = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String()
    errors = ma.fields.Dict(metadata={"description": "400: the messages per field (per location for parameters)"})
    missing = ma.fields.List(ma.fields.String(), metadata={"description": "422: required evidence not given"})
    unmet = ma.fields.List(ma.fields.Nested(UnmetSchema), metadata={"description": "422: why the installer may not take the order"})
    district = ma.fields.String(metadata={"description": "422: the district the caller's teams do not serve"})
    number = ma.fields.String(metadata={"description": "409: the order the external_ref was used for"})
    current_version = ma.fields.Integer(metadata={"description": "409: the order's version now"})
    current_status = ma.fields.String(metadata={"description": "409: the order's status now"})
    assignee = ma.fields.String(allow_none=True, metadata={"description": "409: the order's installer now"})


class PageQuerySchema(ma.Schema):
    cursor = ma.fields.String(load_default=None, metadata={"description": "next_cursor of the page before"})
    limit = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=1, max=500))

    @ma.post_load
    def default_limit(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        data["limit"] = data["limit"] or current_app.config["API_PAGE_SIZE"]
        return data


class InstallerQuerySchema(PageQuerySchema):
    team = ma.fields.String(load_default=None, metadata={"description": "team code"})
    district = ma.fields.String(load_default=None, metadata={"description": "district code"})
    active = ma.fields.Boolean(load_default=None)


class InstallerSchema(ma.Schema):
    username = ma.fields.String()
    name = ma.fields.String()
    name_en = ma.fields.String(allow_none=True)
    team = ma.fields.Function(lambda user: user.team.code if user.team else None)
    districts = ma.fields.Function(lambda user: [d.code for d in user.team.districts] if user.team else [])
    active = ma.fields.Boolean(attribute="is_active")


class InstallerPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(InstallerSchema))
    next_cursor = ma.fields.String(allow_none=True)


class CustomerSchema(ma.Schema):
    account_no = ma.fields.String()
    name = ma.fields.String()
    phone = ma.fields.String()
    address = ma.fields.String()


class VisitSchema(ma.Schema):
    seq = ma.fields.Integer()
    arrived_at = LocalDateTime()
    left_at = LocalDateTime(allow_none=True)
    outcome = ma.fields.Enum(VisitOutcome, by_value=True, allow_none=True)
    reason = ma.fields.String(attribute="reason_code", allow_none=True)


class WorkOrderSchema(ma.Schema):
    number = ma.fields.String()
    external_ref = ma.fields.String(allow_none=True)
    status = ma.fields.Enum(OrderStatus, by_value=True)
    version = ma.fields.Integer()
    job_type = ma.fields.Function(lambda order: order.job_type.code)
    priority = ma.fields.Enum(Priority, by_value=True)
    assignee = ma.fields.Function(lambda order: order.assignee.username if order.assignee else None)
    team = ma.fields.Function(lambda order: order.team.code if order.team else None)
    customer = ma.fields.Nested(CustomerSchema)
    district = ma.fields.Function(lambda order: order.district.code)
    address = ma.fields.String()
    work_at_height = ma.fields.Boolean(attribute="is_work_at_height")
    notes = ma.fields.String(allow_none=True)
    appointment_start = LocalDateTime(allow_none=True)
    appointment_end = LocalDateTime(allow_none=True)
    created_at = LocalDateTime()
    updated_at = LocalDateTime(metadata={"description": "the last change (what updated_since compares)"})
    due_by = LocalDateTime()
    completed_at = LocalDateTime(allow_none=True)
    evidence = ma.fields.Dict(allow_none=True)
    visits = ma.fields.List(ma.fields.Nested(VisitSchema))
    parent_order = ma.fields.Function(
        lambda order: order.parent_order.number if order.parent_order_id else None, allow_none=True,
        metadata={"description": "the order this one revisits (e.g. booked by a follow-up), its number"})


class AwareDateTime(ma.fields.AwareDateTime):
    """ISO 8601 input that must carry a UTC offset, within the days fieldsvc accepts
    (`db.FIRST_DAY` to `db.LAST_DAY`); shown in the operator's zone on output."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**{**kwargs, "metadata": {"pattern": ACCEPTED_YEARS, **kwargs.get("metadata", {})}})

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        instant = super()._deserialize(value, attr, data, **kwargs)
        accepted_day(instant)
        return instant

    def _serialize(self, value: datetime | None, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else value.astimezone(zone()).isoformat()


def _values(enum_class: type[Any]) -> list[str]:
    return [member.value for member in enum_class]


class WorkOrderListQuerySchema(PageQuerySchema):
    status = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(_values(OrderStatus))), load_default=None,
                            metadata={"description": "repeat for several"})
    assignee = ma.fields.String(load_default=None, metadata={"description": "installer username"})
    team = ma.fields.String(load_default=None, metadata={"description": "team code"})
    district = ma.fields.String(load_default=None, metadata={"description": "district code"})
    job_type = ma.fields.String(load_default=None)
    updated_since = AwareDateTime(load_default=None, metadata={"description": "ISO 8601 with offset"})
    order = ma.fields.String(load_default=None, validate=ma.validate.OneOf(LIST_ORDERS), metadata={
        "description": "newest: most recent change first (the default); oldest: oldest change first "
                       "(the default with updated_since, for syncing)"})


class WorkOrderPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(WorkOrderSchema))
    next_cursor = ma.fields.String(allow_none=True)


class NewCustomerSchema(ma.Schema):
    account_no = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=column_length(Customer.account_no)))
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=column_length(Customer.name)))
    phone = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^\+?[0-9][0-9 -]{4,30}$"))
    address = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=column_length(Customer.address)))
    district = ma.fields.String(required=True, metadata={"description": "district code"})


class NewWorkOrderSchema(ma.Schema):
    external_ref = ma.fields.String(load_default=None,
                                    validate=ma.validate.Length(min=1, max=column_length(WorkOrder.external_ref)))
    job_type = ma.fields.String(required=True)
    priority = ma.fields.String(load_default=Priority.NORMAL.value, validate=ma.validate.OneOf(_values(Priority)))
    customer = ma.fields.Nested(NewCustomerSchema, required=True)
    appointment_start = AwareDateTime(load_default=None)
    appointment_end = AwareDateTime(load_default=None)
    work_at_height = ma.fields.Boolean(load_default=False)
    notes = ma.fields.String(load_default=None, validate=ma.validate.Length(max=MAX_NOTE))


class AssignmentSchema(ma.Schema):
    installer = ma.fields.String(required=True, allow_none=True, metadata={"description": "username, or null to unassign"})
    version = ma.fields.Integer(required=True, strict=True)


# The evidence object as the lifecycle checks it (documentation only: fieldsvc.workorders.evidence
# validates, so the API and the job page refuse the same values with the same messages).
_EVIDENCE_PROPERTIES = {
    "onu_serial": {"type": "string", "minLength": ONU_SERIAL_LENGTH[0], "maxLength": ONU_SERIAL_LENGTH[1],
                   "pattern": "^[A-Za-z0-9]+$"},
    "rx_power_dbm": {"type": "number", "minimum": RX_POWER_PLAUSIBLE_DBM[0], "maximum": RX_POWER_PLAUSIBLE_DBM[1]},
    "fault_cause": {"type": "string", "enum": list(FAULT_CAUSES)},
    "speed_mbps": {"type": "number", "minimum": SPEED_MBPS[0], "maximum": SPEED_MBPS[1]},
    "materials": {"type": "array", "maxItems": MAX_MATERIALS, "items": {
        "type": "object", "required": ["item", "quantity"], "properties": {
            "item": {"type": "string", "minLength": 1, "maxLength": MATERIAL_ITEM_LENGTH},
            "quantity": {"type": "number", "minimum": 0, "exclusiveMinimum": True,  # OpenAPI 3.0
                         "maximum": MAX_MATERIAL_QUANTITY}}}},
}


class TransitionSchema(ma.Schema):
    action = ma.fields.String(required=True, validate=ma.validate.OneOf(ACTIONS))
    version = ma.fields.Integer(required=True, strict=True)
    reason = ma.fields.String(load_default=None, validate=ma.validate.Length(max=MAX_CANCEL_REASON),
                              metadata={"description": "cancel: why; leave_unresolved: the reason code"})
    note = ma.fields.String(load_default=None, validate=ma.validate.Length(max=MAX_NOTE))
    appointment_start = AwareDateTime(load_default=None)
    appointment_end = AwareDateTime(load_default=None)
    # The lifecycle checks the position (documented here, refused there with its own message).
    lat = ma.fields.Float(load_default=None, allow_nan=False, metadata={"minimum": LATITUDE[0], "maximum": LATITUDE[1]})
    lon = ma.fields.Float(load_default=None, allow_nan=False, metadata={"minimum": LONGITUDE[0], "maximum": LONGITUDE[1]})
    evidence = ma.fields.Dict(load_default=None, metadata={
        "description": "complete: the completion evidence (checked by the lifecycle, which answers 400 "
                       "with `errors` for a malformed or unknown field and 422 with `missing` for a "
                       "required one; photos and the signature are counted from the uploads)",
        "properties": _EVIDENCE_PROPERTIES})


class TransitionResultSchema(WorkOrderSchema):
    survey_url = ma.fields.String(metadata={"description": "only in the answer to complete"})


class EventSchema(ma.Schema):
    id = ma.fields.Integer()
    created_at = LocalDateTime()
    actor = ma.fields.Function(lambda event: event.actor.username if event.actor else None)
    action = ma.fields.String()
    from_status = ma.fields.String(allow_none=True)
    to_status = ma.fields.String(allow_none=True)
    note = ma.fields.String(allow_none=True)
    lat = ma.fields.Float(allow_none=True)
    lon = ma.fields.Float(allow_none=True)
    data = ma.fields.Dict(allow_none=True)


# --- metrics ------------------------------------------------------------------------------------

_metric_code = ma.validate.Regexp(CODE_PATTERN, error="not a metric code (see the pattern)")
METRIC_CODE_DOC = {"description": "a metric of PRODUCT.md §4, or `<metric>.<job type>` for the figures kept per job type ("
                   + ", ".join(item.code for item in BY_JOB_TYPE) + "), e.g. `timeliness_rate.install`"}

class MetricQuerySchema(ma.Schema):
    metric = ma.fields.String(load_default=None, validate=_metric_code, metadata=METRIC_CODE_DOC)
    scope = ma.fields.String(load_default=None, validate=ma.validate.OneOf(_values(ScopeType)))
    scope_id = ma.fields.String(load_default=None, validate=ma.validate.Length(min=1, max=32), metadata={
        "description": "username, team code, district code, or all"})
    period = ma.fields.String(load_default=PeriodType.DAY.value, validate=ma.validate.OneOf(_values(PeriodType)))
    first = ma.fields.Date(data_key="from", load_default=None, validate=accepted_day, metadata={
        "description": "the first period start included (default: 30 days before `to`)", "pattern": ACCEPTED_YEARS})
    last = ma.fields.Date(data_key="to", load_default=None, validate=accepted_day, metadata={
        "description": "the last period start included (default: today)", "pattern": ACCEPTED_YEARS})


class MetricKeySchema(ma.Schema):
    """Which figure: its metric, scope and period."""

    metric = ma.fields.String()
    scope = ma.fields.String()
    scope_id = ma.fields.String()
    period = ma.fields.String()
    period_start = ma.fields.String(metadata={"format": "date"})


class MetricSnapshotSchema(MetricKeySchema):
    numerator = ma.fields.Float(allow_none=True)
    denominator = ma.fields.Integer()
    value = ma.fields.Float(allow_none=True, metadata={"description": "null when the denominator is 0"})
    final = ma.fields.Boolean(metadata={"description": "false while the figure can still change"})


# The drill-down's pages of order numbers (short strings: a page of a thousand is ~20 kB).
DRILL_PAGE_SIZE, DRILL_PAGE_MAX = 1_000, 10_000


class MetricOrdersQuerySchema(ma.Schema):
    metric = ma.fields.String(required=True, validate=_metric_code, metadata=METRIC_CODE_DOC)
    scope = ma.fields.String(required=True, validate=ma.validate.OneOf(_values(ScopeType)))
    scope_id = ma.fields.String(load_default=None, validate=ma.validate.Length(min=1, max=32), metadata={
        "description": "the username, team code or district code (none for scope=company)"})
    period = ma.fields.String(required=True, validate=ma.validate.OneOf(_values(PeriodType)))
    period_start = ma.fields.Date(required=True, validate=accepted_day, metadata={
        "pattern": ACCEPTED_YEARS, "description": "the period's first day: a Monday for a week, the 1st for a month"})
    part = ma.fields.String(load_default="denominator", validate=ma.validate.OneOf(("numerator", "denominator")))
    cursor = ma.fields.String(load_default=None, metadata={"description": "next_cursor of the page before"})
    limit = ma.fields.Integer(load_default=DRILL_PAGE_SIZE, validate=ma.validate.Range(min=1, max=DRILL_PAGE_MAX),
                              metadata={"description": "order numbers on one page"})


class MetricOrdersSchema(MetricKeySchema):
    part = ma.fields.String()
    orders = ma.fields.List(ma.fields.String(), metadata={
        "description": "the numbers of the orders the figure counted, in number order: one page"})
    total = ma.fields.Integer(metadata={"description": "the orders it counted that the caller may see, on every page"})
    not_shown = ma.fields.Integer(metadata={"description": "orders it counted that are not the caller's to see"})
    next_cursor = ma.fields.String(allow_none=True, metadata={"description": "the next page's cursor; null on the last"})
