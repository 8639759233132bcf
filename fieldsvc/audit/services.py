"""Recording an admin change in the same transaction as the change, and searching the log.

Every back-office service calls `record` beside its write (never after the commit), so a change
that is rolled back leaves no entry and a recorded change cannot be lost:

    before = audit.fields(user, ("name", "phone", "team_id"))
    user.name = form.name.data
    audit.record(actor, "user.edit", "user", user.username, before, audit.fields(user, before))
"""
from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Select, func, select

from ..db import Bound, local_day_range, zone
from ..extensions import db
from .models import AuditEntry


def plain(value: Any) -> Any:
    """A value as JSON can hold it: enums by value, dates and instants in ISO 8601, sets sorted."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return sorted(plain(v) for v in value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def fields(obj: Any, names: Iterable[str]) -> dict[str, Any]:
    """The named attributes of `obj`, JSON-ready (pass the result's keys to read the same after)."""
    return {name: plain(getattr(obj, name)) for name in names}


def record(actor: Any, action: str, object_type: str, object_key: str,
           before: Mapping[str, Any] | None = None, after: Mapping[str, Any] | None = None) -> AuditEntry | None:
    """Add an entry for a change to the session (the caller's transaction commits it with the change).

    Only the fields whose value differs are kept; an edit that changed nothing records nothing and
    returns None. `before=None` is a creation, `after=None` a removal; `actor` is a User or None
    (the command line)."""
    old = {k: plain(v) for k, v in (before or {}).items()}
    new = {k: plain(v) for k, v in (after or {}).items()}
    if before is not None and after is not None:
        changed = {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
        if not changed:
            return None
        old = {k: v for k, v in old.items() if k in changed}
        new = {k: v for k, v in new.items() if k in changed}
    entry = AuditEntry(actor_id=getattr(actor, "id", None), action=action, object_type=object_type,
                       object_key=str(object_key), before=old if before is not None else None,
                       after=new if after is not None else None)
    db.session.add(entry)
    return entry


@dataclass(frozen=True)
class AuditQuery:
    """A search of the log: any of actor (a user id), object type, object key (exact), local dates."""

    actor_id: int | None = None
    object_type: str | None = None
    object_key: str | None = None
    action: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def statement(self) -> Select[tuple[AuditEntry]]:
        query = select(AuditEntry)
        if self.actor_id is not None:
            query = query.where(AuditEntry.actor_id == self.actor_id)
        if self.object_type:
            query = query.where(AuditEntry.object_type == self.object_type)
        if self.object_key:
            query = query.where(AuditEntry.object_key == self.object_key)
        if self.action:
            query = query.where(AuditEntry.action == self.action)
        if self.date_from:
            query = query.where(AuditEntry.at >= local_day_range(self.date_from, zone())[0])
        if self.date_to:
            query = query.where(AuditEntry.at < local_day_range(self.date_to, zone())[1])
        return query


@cache
def generation() -> Bound:
    """The newest entry's id as SQL (built once): it moves with every recorded back-office change
    (job types, districts, people, rules, standards, notes…), so a page's validator
    (`fieldsvc.caching`) that includes it covers the reference data the page shows."""
    return Bound(select(func.max(AuditEntry.id)).scalar_subquery())


def search(query: AuditQuery, *, page: int = 1, per_page: int = 50) -> tuple[list[AuditEntry], int]:
    """One page of matching entries, newest first, and how many match in all."""
    total = db.session.scalar(select(func.count()).select_from(query.statement().subquery())) or 0
    rows = db.session.scalars(
        query.statement().order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(per_page).offset((max(page, 1) - 1) * per_page)
    ).all()
    return list(rows), total


def history(object_type: str, object_key: str, touching: Iterable[str] | None = None) -> list[AuditEntry]:
    """The entries of one object, newest first; with `touching`, only those that changed one of
    those fields (checked here, not in SQL: JSON paths differ between SQLite and PostgreSQL, and
    one object's entries are few — its admin edits)."""
    rows = db.session.scalars(
        select(AuditEntry).where(AuditEntry.object_type == object_type, AuditEntry.object_key == object_key)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    ).all()
    if touching is None:
        return list(rows)
    wanted = set(touching)
    return [e for e in rows if wanted & ((e.before or {}).keys() | (e.after or {}).keys())]


def changes(entry: AuditEntry) -> list[tuple[str, Any, Any]]:
    """(field, before, after) of an entry, in field order; a side that is absent is None."""
    before, after = entry.before or {}, entry.after or {}
    names = list(before) + [name for name in after if name not in before]
    return [(name, before.get(name), after.get(name)) for name in names]


def object_types() -> list[str]:
    """The object types the log holds (for the search's choice), from its (object_type, …) index."""
    return list(db.session.scalars(select(AuditEntry.object_type).distinct().order_by(AuditEntry.object_type)))
