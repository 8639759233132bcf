"""Idempotency keys: a retried request (phones retry) gets the first answer and changes nothing."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..auth.models import User
from ..db import column_length
from ..errors import Conflict, DomainError, InvalidInput
from ..extensions import db
from .models import IdempotencyRecord

MAX_KEY = column_length(IdempotencyRecord.key)


def _recorded(user: User, key: str, digest: str) -> IdempotencyRecord | None:
    record = db.session.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.user_id == user.id, IdempotencyRecord.key == key)
    )
    if record is not None and record.request_hash != digest:
        raise Conflict(_l("This Idempotency-Key was already used for a different request."))
    return record


def once(user: User, key: str | None, digest: str, perform: Callable[[], tuple[int, dict[str, Any]]]) -> tuple[int, dict[str, Any], bool]:
    """Run `perform` (which returns status and body) and commit, unless `key` was seen before: then
    return the first answer. Returns (status, body, replayed). Refusals are not recorded: they
    changed nothing, so a retry is refused the same way."""
    if key is not None and (not key.strip() or len(key) > MAX_KEY):
        raise InvalidInput(_l("An Idempotency-Key has 1 to %(n)d characters.", n=MAX_KEY),
                           errors={"Idempotency-Key": [_l("Invalid.")]})
    if key:
        record = _recorded(user, key, digest)
        if record is not None:
            return record.status_code, record.body, True
    try:
        status, body = perform()
        if key:
            db.session.add(IdempotencyRecord(user_id=user.id, key=key, request_hash=digest,
                                             status_code=status, body=body))
        db.session.commit()
    except (DomainError, IntegrityError):
        db.session.rollback()
        if key:
            # A twin request with the same key may have won the race: answer as it did.
            record = _recorded(user, key, digest)
            if record is not None:
                return record.status_code, record.body, True
        raise
    return status, body, False
