"""On-site support requests (现场支撑) in /api/v1: a CRM or a network-operations system follows
them (list, one with its replies), and an installer's app raises one on its job, through the same
services as the pages. A request is visible to its installer, the supervisors of its team and
admins; the customer's data is not in it (the order's own endpoint has it)."""
from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, abort
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from ..db import INTEGER_RANGE, utcnow
from ..extensions import db
from ..forms import body_limit
from ..support.categories import SUPPORT_CATEGORIES
from ..support.models import SupportRequest, SupportResolution, SupportStatus
from ..support.services import (
    READING_RANGE,
    NewRequest,
    filtered,
    is_overdue,
    load_request,
    raise_request,
    with_details,
)
from ..workorders import lifecycle, photos
from . import JSON_OR_MULTIPART, api_blueprint, current_api_user
from .schemas import AwareDateTime, LocalDateTime, PageQuerySchema, newest_first_page

blp = api_blueprint("support-requests", __name__, "On-site support requests (现场支撑) raised from jobs")

STATES = ("pending", "overdue", *(s.value for s in SupportStatus))


def _username(user: Any) -> str | None:
    return user.username if user is not None else None


class SupportQuerySchema(PageQuerySchema):
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(STATES), metadata={
        "description": "pending: not resolved; overdue: no reply past the reply target; or a status"})
    order = ma.fields.String(load_default=None, metadata={"description": "a work order's number"})
    updated_since = AwareDateTime(load_default=None, metadata={"description": "changed at or after (ISO 8601 with offset)"})


class SupportReplySchema(ma.Schema):
    created_at = LocalDateTime()
    author = ma.fields.Function(lambda m: m.author.username)
    body = ma.fields.String()


class SupportRequestSchema(ma.Schema):
    id = ma.fields.Integer()
    order = ma.fields.Function(lambda r: r.work_order.number, metadata={"description": "the work order's number"})
    installer = ma.fields.Function(lambda r: r.installer.username)
    team = ma.fields.Function(lambda r: r.team.code if r.team else None, allow_none=True)
    category = ma.fields.String(metadata={"enum": list(SUPPORT_CATEGORIES)})
    note = ma.fields.String()
    reading_dbm = ma.fields.Float(allow_none=True)
    has_photo = ma.fields.Function(lambda r: r.photo_id is not None, metadata={"type": "boolean"})
    status = ma.fields.Enum(SupportStatus, by_value=True)
    version = ma.fields.Integer()
    raised_in = ma.fields.String(metadata={"description": "the order's status when raised"})
    raised_at = LocalDateTime()
    reply_due_at = LocalDateTime(metadata={"description": "overdue when the desk has not replied by then"})
    overdue = ma.fields.Function(lambda r: is_overdue(r, utcnow()), metadata={"type": "boolean"})
    taken_by = ma.fields.Function(lambda r: _username(r.taken_by), allow_none=True)
    taken_at = LocalDateTime(allow_none=True)
    first_reply_at = LocalDateTime(allow_none=True)
    resolved_at = LocalDateTime(allow_none=True)
    resolved_by = ma.fields.Function(lambda r: _username(r.resolved_by), allow_none=True)
    resolution = ma.fields.Enum(SupportResolution, by_value=True, allow_none=True)
    thanked_at = LocalDateTime(allow_none=True)
    updated_at = LocalDateTime()
    replies = ma.fields.List(ma.fields.Nested(SupportReplySchema))


class SupportPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SupportRequestSchema))
    next_cursor = ma.fields.String(allow_none=True)


class NewSupportRequestSchema(ma.Schema):
    category = ma.fields.String(required=True, validate=ma.validate.OneOf(list(SUPPORT_CATEGORIES)))
    note = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))
    reading_dbm = ma.fields.Float(load_default=None, allow_none=True,
                                  validate=ma.validate.Range(min=READING_RANGE[0], max=READING_RANGE[1]),
                                  metadata={"description": "optical receive power read at the door"})


def _a_file(value: Any) -> None:
    if not isinstance(value, FileStorage):
        raise ma.ValidationError(_("Send the photo as a file part of a multipart/form-data body."))


class NewSupportRequestWithPhotoSchema(NewSupportRequestSchema):
    """The same fields as a multipart/form-data body, with an optional photo: checked and kept as
    the job page's help form keeps one (JPEG or PNG, at most photos.MAX_MEGABYTES MB)."""

    photo = ma.fields.Raw(validate=_a_file, metadata={
        "type": "string", "format": "binary",
        "description": f"JPEG or PNG, at most {photos.MAX_MEGABYTES} MB and {photos.MAX_MEGAPIXELS} megapixels "
                       f"({photos.MAX_PNG_MEGAPIXELS} for a PNG); a bad image is 400 with `errors.photo`"})


@blp.route("/support-requests")
@blp.arguments(SupportQuerySchema, location="query")
@blp.response(200, SupportPageSchema)
def list_requests(args: dict[str, Any]) -> dict[str, Any]:
    """The support requests the caller may see, newest first, cursor-paginated."""
    query = with_details(filtered(current_api_user(), status=args["status"], order_number=args["order"],
                                  updated_since=args["updated_since"]))
    return newest_first_page(query, SupportRequest.id, args["cursor"], args["limit"])


@blp.route("/support-requests/<int:request_id>")
@blp.response(200, SupportRequestSchema)
@blp.problems(404)
def get_request(request_id: int) -> SupportRequest:
    """One support request with its replies (404 when it does not exist or is not the caller's)."""
    if request_id > INTEGER_RANGE[1]:
        abort(404, description=f"No support request {request_id} that you may see.")
    return load_request(current_api_user(), request_id)


@blp.route("/support-requests/<int:request_id>/photo")
@blp.response(200, {"type": "string", "format": "binary"}, content_type="image/jpeg",
              description="the photo sent with the request")
@blp.problems(404)
def get_photo(request_id: int) -> Response:
    """The photo sent with a support request, to whoever may see the request (404 when it does not
    exist, is not the caller's, or has no photo)."""
    if request_id > INTEGER_RANGE[1]:
        abort(404, description=f"No support request {request_id} that you may see.")
    photo = load_request(current_api_user(), request_id).photo
    if photo is None:
        abort(404, description=f"Support request {request_id} has no photo.")
    # Read whole (a kept photo is a few hundred kB): the answer holds no open file.
    data = photos.photo_path(photo, photos.upload_folder()).read_bytes()
    return Response(data, mimetype=photo.content_type, headers={"Cache-Control": "private, max-age=3600",
                                                                "X-Content-Type-Options": "nosniff"})


@blp.route("/work-orders/<number>/support-requests", methods=["POST"])
@body_limit(photos.MAX_BYTES + 1024 * 1024)  # one photo and the fields, as the job page's form
@blp.arguments(NewSupportRequestWithPhotoSchema, location=JSON_OR_MULTIPART,
               description="JSON, or multipart/form-data with the same fields and an optional `photo` file")
@blp.json_or_multipart_body(NewSupportRequestSchema, NewSupportRequestWithPhotoSchema)
@blp.response(201, SupportRequestSchema)
@blp.problems(403, 404, 409)
def create_request(payload: dict[str, Any], number: str) -> SupportRequest:
    """Ask for help on the job: its installer's token only (403 for other roles), while the order
    is en_route or on_site (409 otherwise, or when a request on it is still unresolved). A photo
    comes in a multipart/form-data body; it is checked only once the request may be raised."""
    user = current_api_user()
    order = lifecycle.load_for_action(user, number)
    sent = payload.get("photo")
    created = raise_request(order, user, NewRequest(payload["category"], payload["note"], payload["reading_dbm"],
                                                    photo_file=None if sent is None else (sent.filename or "photo", sent.stream)),
                            utcnow())
    db.session.commit()
    return load_request(user, created.id)
