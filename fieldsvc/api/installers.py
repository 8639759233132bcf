"""GET /api/v1/installers: who installs, in which team and districts."""
from __future__ import annotations

from typing import Any

from flask import abort
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..auth.models import Role, User
from ..extensions import db
from ..workforce.models import District, Team
from . import api_blueprint
from .schemas import (
    InstallerPageSchema,
    InstallerQuerySchema,
    decode_cursor,
    encode_cursor,
)

blp = api_blueprint("installers", __name__, "Installers, their teams and districts")


@blp.route("/installers")
@blp.arguments(InstallerQuerySchema, location="query")
@blp.response(200, InstallerPageSchema)
def list_installers(args: dict[str, Any]) -> dict[str, Any]:
    """Installers by username, filtered by team, district and active flag; cursor-paginated."""
    query = (
        select(User)
        .where(User.role == Role.INSTALLER)
        .options(selectinload(User.team).selectinload(Team.districts))
        .order_by(User.username)
    )
    if args["team"]:
        query = query.join(Team, User.team_id == Team.id).where(Team.code == args["team"])
    if args["district"]:
        query = query.where(User.team.has(Team.districts.any(District.code == args["district"])))
    if args["active"] is not None:
        query = query.where(User.is_active.is_(args["active"]))
    if args["cursor"]:
        try:
            (after,) = decode_cursor(args["cursor"])
        except ValueError:
            abort(400, description="malformed cursor")
        query = query.where(User.username > str(after))  # a string or a (bounded) integer
    limit = args["limit"]
    users = list(db.session.scalars(query.limit(limit + 1)))
    next_cursor = encode_cursor([users[limit - 1].username]) if len(users) > limit else None
    return {"items": users[:limit], "next_cursor": next_cursor}
