"""The work-order endpoints of /api/v1."""
from __future__ import annotations

from typing import Any

from flask import abort
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..workorders.models import Visit, WorkOrder
from ..workorders.queries import visible_orders
from . import api_blueprint, current_api_user
from .schemas import WorkOrderSchema

blp = api_blueprint("work-orders", __name__, "Work orders")


@blp.route("/work-orders/<number>")
@blp.response(200, WorkOrderSchema)
def get_work_order(number: str) -> WorkOrder:
    """One work order with its visits (404 when it does not exist or is not the caller's)."""
    query = (
        visible_orders(current_api_user())
        .where(WorkOrder.number == number)
        .options(
            selectinload(WorkOrder.job_type),
            selectinload(WorkOrder.customer),
            selectinload(WorkOrder.district),
            selectinload(WorkOrder.assignee),
            selectinload(WorkOrder.team),
            selectinload(WorkOrder.visits).selectinload(Visit.reason),
        )
    )
    order = db.session.scalar(query)
    if order is None:
        abort(404, description=f"No work order {number} that you may see.")
    return order
