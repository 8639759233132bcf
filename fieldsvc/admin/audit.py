"""The audit log page (admins): who changed what in the back office, when, from what to what;
searched by actor, object, action and local dates, newest first, and exported as CSV."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..audit.models import AuditEntry
from ..audit.services import AuditQuery, changes, object_types, search
from ..auth.models import Role, User
from ..auth.permissions import role_required
from ..db import local_today, zone
from ..exports import csv_response
from ..extensions import db
from ..forms import choices
from .rule_forms import AuditFilterForm

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")

PAGE_SIZE = 50
NO_ONE = -1  # an actor id no user has: a username that does not exist matches nothing
# The object types the back office writes, named; a type another area adds shows by its code.
OBJECT_TYPE_LABELS = {
    "rule": _l("Rule"), "job_type": _l("Job type"), "certification_type": _l("Certification type"),
    "user": _l("User"), "team": _l("Team"), "district": _l("District"), "api_token": _l("API token"),
    "certification": _l("Certificate"), "note": _l("Procedure note"),
}
EXPORT_HEADER = (_l("When"), _l("Who"), _l("Action"), _l("Object type"), _l("Object"), _l("Field"), _l("Before"),
                 _l("After"))


def _filters() -> tuple[AuditFilterForm, AuditQuery | None]:
    """The search form from the query string, and the query it asks for (None when the form is
    invalid: a search that cannot be read shows nothing rather than everything)."""
    form = AuditFilterForm(request.args)
    known = sorted({*OBJECT_TYPE_LABELS, *object_types()})
    form.object_type.choices = choices([("", "—"), *((t, OBJECT_TYPE_LABELS.get(t, t)) for t in known)])
    if not form.validate():
        return form, None
    actor_id = None
    username = (form.actor.data or "").strip()
    if username:
        actor_id = db.session.scalar(select(User.id).where(User.username == username))
        if actor_id is None:
            form.actor.errors = [_("No one has this employee number.")]
            actor_id = NO_ONE
    return form, AuditQuery(actor_id=actor_id, object_type=form.object_type.data or None,
                            object_key=(form.object_key.data or "").strip() or None,
                            action=(form.action.data or "").strip() or None,
                            date_from=form.date_from.data, date_to=form.date_to.data)


def _actors(entries: list[AuditEntry]) -> dict[int, User]:
    """The users behind the entries, in one query (not one per row)."""
    ids = {e.actor_id for e in entries if e.actor_id is not None}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


def shown(value: Any) -> str:
    """A before/after value as text: JSON for lists and mappings, — for none (escaped by the template)."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _query_args() -> dict[str, str]:
    return {k: v for k, v in request.args.items() if k != "page" and v}


@bp.route("/")
@role_required(Role.ADMIN)
def index() -> Any:
    """The matching entries, newest first, 50 a page, each field before → after."""
    form, query = _filters()
    try:
        page = max(int(request.args.get("page", 1)), 1)
    except ValueError:
        page = 1
    entries, total = search(query, page=page, per_page=PAGE_SIZE) if query is not None else ([], 0)
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    return render_template("admin/audit.html", form=form, entries=entries, total=total, page=page, pages=pages,
                           actors=_actors(entries), changes=changes, shown=shown, args=_query_args(),
                           type_labels=OBJECT_TYPE_LABELS), 400 if query is None else 200


def _export_rows(entries: list[AuditEntry], actors: dict[int, User]) -> Iterator[list[Any]]:
    """One row per changed field (a creation or removal without fields: one row)."""
    tz = zone()
    for entry in entries:
        who = actors[entry.actor_id].username if entry.actor_id in actors else ""
        head = [entry.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"), who, entry.action, entry.object_type,
                entry.object_key]
        fields = changes(entry)
        for name, before, after in fields or [("", None, None)]:
            yield [*head, name, "" if before is None else shown(before), "" if after is None else shown(after)]


@bp.route("/export.csv")
@role_required(Role.ADMIN)
def export() -> Any:
    """The whole search (every page) as CSV, newest first."""
    _form, query = _filters()
    if query is None:
        abort(400)
    entries = list(db.session.scalars(query.statement().order_by(AuditEntry.at.desc(), AuditEntry.id.desc())))
    return csv_response(f"audit-{local_today(zone()).isoformat()}.csv", [str(h) for h in EXPORT_HEADER],
                        _export_rows(entries, _actors(entries)))
