"""Sending notices and reading them back: the sender interface (the in-app list and the log
today, SMS or e-mail later), `deliver` for the features that send, and the inbox's queries.

Services flush; the edge (view, CLI command, scheduler wrapper, test) commits."""
from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Protocol

from flask_babel import force_locale
from sqlalchemy import bindparam, func, select, update

from ..auth.models import User
from ..db import Bound
from ..extensions import db
from . import kinds
from .models import Notification

log = logging.getLogger(__name__)

PAGE_SIZE = 100  # notifications on the inbox page
_KEY_CHUNK = 500  # dedupe keys per IN (…) look-up


class Sender(Protocol):
    """Delivers notices to people; never the same `dedupe_key` twice."""

    def sent_keys(self, keys: Collection[str]) -> set[str]:
        """Which of `keys` were already sent (one look-up for many, before sending)."""

    def send(self, user: User, kind: str, message: str, data: dict[str, Any], link: str | None,
             dedupe_key: str) -> bool:
        """Deliver one notice unless its key was sent before; whether it was delivered."""


class InAppSender:
    """The default sender: a row in the user's notification list, and a line in the log."""

    def __init__(self) -> None:
        self._checked: set[str] = set()  # keys looked up already
        self._sent: set[str] = set()  # of those, the ones that exist

    def sent_keys(self, keys: Collection[str]) -> set[str]:
        """Which of `keys` already have a notification (remembered for later `send`s)."""
        wanted = [key for key in dict.fromkeys(keys) if key not in self._checked]
        for start in range(0, len(wanted), _KEY_CHUNK):
            chunk = wanted[start:start + _KEY_CHUNK]
            self._sent.update(db.session.scalars(select(Notification.dedupe_key)
                                                 .where(Notification.dedupe_key.in_(chunk))))
            self._checked.update(chunk)
        return self._sent.intersection(keys)

    def send(self, user: User, kind: str, message: str, data: dict[str, Any], link: str | None,
             dedupe_key: str) -> bool:
        """Add the notification and log it, unless `dedupe_key` was used before."""
        if dedupe_key in self.sent_keys([dedupe_key]):
            return False
        db.session.add(Notification(user_id=user.id, kind=kind, message=message, data=data, link=link,
                                    dedupe_key=dedupe_key))
        self._sent.add(dedupe_key)
        log.info("notice to %s [%s]: %s", user.username, dedupe_key, message)
        return True


@dataclass(frozen=True)
class Notice:
    """One notice to send: to whom, its kind and the data its wording needs, where it leads, and
    the key that makes it happen once."""

    recipient: User
    kind: str
    data: dict[str, Any]
    dedupe_key: str
    link: str | None = None


def deliver(notices: Sequence[Notice], sender: Sender | None = None) -> int:
    """Send each notice whose key was not sent before, its message worded in English by its
    kind's registered wording; returns how many were sent."""
    unknown = {notice.kind for notice in notices} - kinds.registered()
    if unknown:  # a notice nobody can word would show its kind's name forever
        raise LookupError(f"notice kinds not registered: {', '.join(sorted(unknown))}")
    sender = sender or InAppSender()
    done = sender.sent_keys([notice.dedupe_key for notice in notices])
    sent = 0
    with force_locale("en"):  # the stored message and the log are English; pages reword it
        for notice in notices:
            if notice.dedupe_key in done:
                continue
            message = kinds.describe(notice.kind, notice.data, notice.recipient)
            if sender.send(notice.recipient, notice.kind, message, notice.data, notice.link, notice.dedupe_key):
                sent += 1
    db.session.flush()
    return sent


def latest_notifications(user: User, limit: int = PAGE_SIZE) -> tuple[list[Notification], bool]:
    """The user's newest `limit` notifications, and whether older ones exist beyond them."""
    rows = list(db.session.scalars(
        select(Notification).where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit + 1)
    ))
    return rows[:limit], len(rows) > limit


@cache
def _inbox_stamp() -> tuple[Any, Any]:
    mine = Notification.user_id == bindparam("inbox_user")
    return (select(func.count()).where(mine, Notification.read_at.is_(None)).scalar_subquery(),
            select(func.max(Notification.id)).where(mine).scalar_subquery())


def inbox_stamp(user: User) -> list[Bound]:
    """What changes whenever the user's notices do (a new one, one read), as SQL for a page's
    validator (`fieldsvc.caching`): how many are unread, and the newest one's id (built once)."""
    params = {"inbox_user": user.id}
    return [Bound(expression, params) for expression in _inbox_stamp()]


def mark_read(user: User, now: datetime, up_to: int | None = None) -> int:
    """Mark the user's unread notifications read (only those up to id `up_to` when given, so one
    that arrived after the page was shown stays unread); returns how many."""
    statement = (update(Notification)
                 .where(Notification.user_id == user.id, Notification.read_at.is_(None))
                 .values(read_at=now))
    if up_to is not None:
        statement = statement.where(Notification.id <= up_to)
    return db.session.execute(statement, execution_options={"synchronize_session": False}).rowcount
