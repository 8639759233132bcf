"""GET /api/v1/follow-ups: the follow-ups (回访) of dissatisfied ratings, read through the same
services as the pages. A follow-up is visible to whoever may see its order; its customer's data is
not in it (the order's own endpoint has it, for those who may read the order)."""
from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import abort

from ..db import INTEGER_RANGE, utcnow, zone
from ..ratings.followups import STATES, FollowUpFilters, filtered, is_overdue, load_followup, with_details
from ..ratings.models import FollowUp, FollowUpCause, FollowUpOutcome, FollowUpStatus
from . import api_blueprint, current_api_user
from .schemas import ACCEPTED_YEARS, LocalDateTime, PageQuerySchema, accepted_day, newest_first_page

blp = api_blueprint("follow-ups", __name__, "Follow-ups (回访) of dissatisfied ratings")


def _values(enum_class: type[Any]) -> list[str]:
    return [member.value for member in enum_class]


class FollowUpQuerySchema(PageQuerySchema):
    state = ma.fields.String(load_default=None, validate=ma.validate.OneOf(STATES), metadata={
        "description": "pending: not closed; overdue: not contacted by its deadline; or a status"})
    team = ma.fields.String(load_default=None, metadata={"description": "the order's team code"})
    installer = ma.fields.String(load_default=None, metadata={"description": "the rated installer's username"})
    outcome = ma.fields.String(load_default=None, validate=ma.validate.OneOf(_values(FollowUpOutcome)))
    opened_from = ma.fields.Date(load_default=None, validate=accepted_day, metadata={
        "description": "opened on this local day or later", "pattern": ACCEPTED_YEARS})
    opened_to = ma.fields.Date(load_default=None, validate=accepted_day, metadata={
        "description": "opened on this local day or earlier", "pattern": ACCEPTED_YEARS})


def _username(user: Any) -> str | None:
    return user.username if user is not None else None


class FollowUpSchema(ma.Schema):
    id = ma.fields.Integer()
    order = ma.fields.Function(lambda f: f.work_order.number, metadata={"description": "the rated work order"})
    status = ma.fields.Enum(FollowUpStatus, by_value=True)
    version = ma.fields.Integer()
    score = ma.fields.Function(lambda f: f.response.score, metadata={"description": "the rating's stars (1 or 2)"})
    comment = ma.fields.Function(lambda f: f.response.comment, allow_none=True,
                                 metadata={"description": "the customer's comment with the rating"})
    installer = ma.fields.Function(lambda f: _username(f.installer), allow_none=True)
    team = ma.fields.Function(lambda f: f.work_order.team.code if f.work_order.team else None, allow_none=True)
    district = ma.fields.Function(lambda f: f.work_order.district.code)
    opened_at = LocalDateTime()
    contact_due_at = LocalDateTime(metadata={"description": "overdue when nobody contacted the customer by then"})
    overdue = ma.fields.Function(lambda f: is_overdue(f, utcnow()), metadata={"type": "boolean"})
    contacted_at = LocalDateTime(allow_none=True)
    contacted_by = ma.fields.Function(lambda f: _username(f.contacted_by), allow_none=True)
    contact_note = ma.fields.String(allow_none=True)
    closed_at = LocalDateTime(allow_none=True)
    closed_by = ma.fields.Function(lambda f: _username(f.closed_by), allow_none=True)
    outcome = ma.fields.Enum(FollowUpOutcome, by_value=True, allow_none=True)
    cause = ma.fields.Enum(FollowUpCause, by_value=True, allow_none=True, metadata={
        "description": "the rating's cause as the follow-up found it (the rating itself stays as given)"})
    counts_against_installer = ma.fields.Boolean(allow_none=True)
    revisit_order = ma.fields.Function(lambda f: f.revisit_order.number if f.revisit_order else None,
                                       allow_none=True, metadata={"description": "the revisit booked (its number)"})
    close_note = ma.fields.String(allow_none=True)


class FollowUpPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(FollowUpSchema))
    next_cursor = ma.fields.String(allow_none=True)


@blp.route("/follow-ups")
@blp.arguments(FollowUpQuerySchema, location="query")
@blp.response(200, FollowUpPageSchema)
def list_followups(args: dict[str, Any]) -> dict[str, Any]:
    """The follow-ups of the orders the caller may see, newest first, cursor-paginated."""
    filters = FollowUpFilters(state=args["state"] or "", team=args["team"] or "", installer=args["installer"] or "",
                              outcome=args["outcome"] or "", opened_from=args["opened_from"],
                              opened_to=args["opened_to"])
    query = with_details(filtered(current_api_user(), filters, utcnow(), zone()))
    return newest_first_page(query, FollowUp.id, args["cursor"], args["limit"])


@blp.route("/follow-ups/<int:followup_id>")
@blp.response(200, FollowUpSchema)
@blp.problems(404)
def get_followup(followup_id: int) -> FollowUp:
    """One follow-up with its steps (404 when it does not exist or its order is not the caller's)."""
    if followup_id > INTEGER_RANGE[1]:
        abort(404, description=f"No follow-up {followup_id} that you may see.")
    return load_followup(current_api_user(), followup_id)
