"""The work-order endpoints of /api/v1: list, create, read, assign, transitions, events."""
from __future__ import annotations

from typing import Any

from flask import abort, jsonify, request, url_for
from flask_babel import gettext as _
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from ..auth.models import User
from ..db import local_today, zone
from ..extensions import db
from ..workforce.models import District, JobType, Team
from ..workorders import lifecycle
from ..workorders.idempotency import once
from ..workorders.models import OrderStatus, Visit, WorkOrder, WorkOrderEvent
from ..workorders.queries import visible_orders
from ..workorders.services import NewOrder, create_work_order, request_digest
from . import api_blueprint, current_api_user
from .schemas import (
    AssignmentSchema,
    EventSchema,
    NewWorkOrderSchema,
    TransitionResultSchema,
    TransitionSchema,
    WorkOrderListQuerySchema,
    WorkOrderPageSchema,
    WorkOrderSchema,
    decode_change_cursor,
    encode_change_cursor,
)

blp = api_blueprint("work-orders", __name__, "Work orders: create, read, assign, move through the lifecycle")


def _detail_options() -> list[Any]:
    return [
        selectinload(WorkOrder.job_type),
        selectinload(WorkOrder.customer),
        selectinload(WorkOrder.district),
        selectinload(WorkOrder.assignee),
        selectinload(WorkOrder.team),
        selectinload(WorkOrder.visits).selectinload(Visit.reason),
        selectinload(WorkOrder.parent_order),  # a revisit's (only orders that have one ask)
    ]


def _load(number: str) -> WorkOrder:
    order = db.session.scalar(
        visible_orders(current_api_user()).where(WorkOrder.number == number).options(*_detail_options())
    )
    if order is None:
        abort(404, description=f"No work order {number} that you may see.")
    return order


_ORDER_SCHEMA = WorkOrderSchema()  # dumping keeps no state: one instance serves every request


def _dump(order: WorkOrder) -> dict[str, Any]:
    return _ORDER_SCHEMA.dump(order)


@blp.route("/work-orders")
@blp.arguments(WorkOrderListQuerySchema, location="query")
@blp.response(200, WorkOrderPageSchema)
def list_work_orders(args: dict[str, Any]) -> dict[str, Any]:
    """Orders the caller may see, cursor-paginated: most recent change first, or with `order=oldest`
    (the default when `updated_since` is given) oldest change first, for syncing."""
    query = visible_orders(current_api_user()).options(*_detail_options())
    if args["status"]:
        query = query.where(WorkOrder.status.in_([OrderStatus(s) for s in args["status"]]))
    if args["assignee"]:
        query = query.where(WorkOrder.assignee.has(User.username == args["assignee"]))
    if args["team"]:
        query = query.where(WorkOrder.team.has(Team.code == args["team"]))
    if args["district"]:
        query = query.where(WorkOrder.district.has(District.code == args["district"]))
    if args["job_type"]:
        query = query.where(WorkOrder.job_type.has(JobType.code == args["job_type"]))
    if args["updated_since"]:
        query = query.where(WorkOrder.updated_at >= args["updated_since"])
    order = args["order"] or ("oldest" if args["updated_since"] else "newest")
    newest_first = order == "newest"
    if args["cursor"]:
        try:
            after, last_id, cursor_order = decode_change_cursor(args["cursor"])
        except ValueError:
            abort(400, description=_("The cursor is malformed: pass next_cursor as it came."))
        if cursor_order != order:
            abort(400, description=_("This cursor continues a list in %(order)s order: ask with order=%(order)s.",
                                     order=cursor_order))
        if newest_first:
            query = query.where(or_(WorkOrder.updated_at < after,
                                    and_(WorkOrder.updated_at == after, WorkOrder.id < last_id)))
        else:
            query = query.where(or_(WorkOrder.updated_at > after,
                                    and_(WorkOrder.updated_at == after, WorkOrder.id > last_id)))
    sort = (WorkOrder.updated_at.desc(), WorkOrder.id.desc()) if newest_first else (WorkOrder.updated_at, WorkOrder.id)
    limit = args["limit"]
    orders = list(db.session.scalars(query.order_by(*sort).limit(limit + 1)))
    next_cursor = None
    if len(orders) > limit:
        last = orders[limit - 1]
        next_cursor = encode_change_cursor(last.updated_at, last.id, order)
    return {"items": orders[:limit], "next_cursor": next_cursor}


@blp.route("/work-orders", methods=["POST"])
@blp.arguments(NewWorkOrderSchema)
@blp.response(201, WorkOrderSchema)
@blp.alt_response(200, schema=WorkOrderSchema, description="The same external_ref and body again: the order made the first time")
@blp.problems(403, 409, 422)
def create(payload: dict[str, Any]) -> Any:
    """Create an order (supervisor or admin). Idempotent on external_ref; a different body for a
    used external_ref is 409."""
    customer = payload["customer"]
    data = NewOrder(
        job_type=payload["job_type"], account_no=customer["account_no"], customer_name=customer["name"],
        phone=customer["phone"], address=customer["address"], district=customer["district"],
        priority=payload["priority"], appointment_start=payload.get("appointment_start"),
        appointment_end=payload.get("appointment_end"), is_work_at_height=payload["work_at_height"],
        notes=payload.get("notes"), external_ref=payload.get("external_ref"),
        request_hash=request_digest(request.get_json(silent=True) or {}),
    )
    order, created = create_work_order(current_api_user(), data, zone())
    db.session.commit()
    headers = {"Location": url_for("work-orders.get_work_order", number=order.number)}
    return _load(order.number), 201 if created else 200, headers


@blp.route("/work-orders/<number>")
@blp.response(200, WorkOrderSchema)
@blp.problems(404)
def get_work_order(number: str) -> WorkOrder:
    """One work order with its visits (404 when it does not exist or is not the caller's)."""
    return _load(number)


@blp.route("/work-orders/<number>/events")
@blp.response(200, EventSchema(many=True))
@blp.problems(404)
def events(number: str) -> list[WorkOrderEvent]:
    """The order's append-only history, oldest first."""
    order = _load(number)
    return list(db.session.scalars(
        select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == order.id)
        .options(selectinload(WorkOrderEvent.actor)).order_by(WorkOrderEvent.id)
    ))


@blp.route("/work-orders/<number>/assignment", methods=["POST"])
@blp.arguments(AssignmentSchema)
@blp.response(200, WorkOrderSchema)
@blp.problems(403, 404, 409, 422)
def assignment(payload: dict[str, Any], number: str) -> Any:
    """Assign to an eligible installer, or unassign with `"installer": null` (supervisor or admin).
    422 lists `unmet` requirements; 409 on a stale version."""
    user = current_api_user()

    def perform() -> tuple[int, dict[str, Any]]:
        order = lifecycle.load_for_action(user, number)
        lifecycle.assign(order, user, payload["installer"], payload["version"], today=local_today(zone()))
        return 200, _dump(order)

    status, body, _ = once(user, request.headers.get("Idempotency-Key"),
                           request_digest({"assignment": number, **payload}), perform)
    return jsonify(body), status


@blp.route("/work-orders/<number>/transitions", methods=["POST"])
@blp.arguments(TransitionSchema)
@blp.response(200, TransitionResultSchema)
@blp.problems(403, 404, 409, 422)
def transitions(payload: dict[str, Any], number: str) -> Any:
    """Move the order one step. An `Idempotency-Key` header makes a retry return the first answer
    and change nothing. `complete` answers with `survey_url`, the customer's rating link."""
    user = current_api_user()

    def perform() -> tuple[int, dict[str, Any]]:
        order = lifecycle.load_for_action(user, number)
        outcome = lifecycle.transition(
            order, user, payload["action"], payload["version"], tz=zone(),
            reason=payload.get("reason"), note=payload.get("note"),
            appointment_start=payload.get("appointment_start"), appointment_end=payload.get("appointment_end"),
            lat=payload.get("lat"), lon=payload.get("lon"), evidence=payload.get("evidence"),
        )
        body = _dump(order)
        if outcome.survey_token:
            body["survey_url"] = survey_url(outcome.survey_token)
        return 200, body

    status, body, _ = once(user, request.headers.get("Idempotency-Key"),
                           request_digest({"transition": number, **payload}), perform)
    return jsonify(body), status


def survey_url(token: str) -> str:
    """The customer's rating link (absolute, for the QR code and SMS)."""
    return url_for("ratings.survey", token=token, _external=True)

