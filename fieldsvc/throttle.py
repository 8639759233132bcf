"""Where the sign-in throttle counts: `database://`, a `limits` storage over one table of the
application's own database, so that every worker and every host counts the same attempts
without another server to run. (Any other `limits` store works too, e.g. `redis://host:6379`
with the `redis` package; `memory://` counts in one process only.)"""
from __future__ import annotations

import contextlib
import hashlib
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from limits.storage import Storage
from sqlalchemy import String, case, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base, utcnow

KEY_LENGTH = 255


class RateLimitCounter(Base):
    """One fixed window of one limit for one client address or account: its hits so far."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    hits: Mapped[int]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class DatabaseStorage(Storage):
    """Fixed-window counters in `rate_limit_counters`, one upsert per hit. Each call runs in a
    short transaction of its own on the current app's engine, apart from the request's session;
    times are the app's clock (`utcnow`), as `limits` uses its own."""

    STORAGE_SCHEME = ["database"]

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add `amount` hits to the key's window, starting a new window of `expiry` seconds when
        there is none or it has run out; the hits in the window."""
        now = utcnow()
        table = RateLimitCounter.__table__
        engine = _engine()
        insert = _INSERTS[engine.dialect.name](table)
        insert = insert.values(key=_stored(key), hits=amount, expires_at=now + timedelta(seconds=expiry))
        ended = table.c.expires_at <= now  # the stored window has run out
        upsert = insert.on_conflict_do_update(index_elements=[table.c.key], set_={
            "hits": case((ended, insert.excluded.hits), else_=table.c.hits + insert.excluded.hits),
            "expires_at": case((ended, insert.excluded.expires_at), else_=table.c.expires_at),
        })
        with engine.begin() as connection:  # the upsert locks the row until the read (no RETURNING: SQLite < 3.35)
            connection.execute(upsert)
            hits = connection.scalar(select(table.c.hits).where(table.c.key == _stored(key)))
        if hits == amount:  # a new window: forget the windows that have ended (housekeeping)
            with contextlib.suppress(OperationalError), engine.begin() as connection:
                connection.execute(delete(table).where(table.c.expires_at <= now))
        return hits

    def get(self, key: str) -> int:
        """The hits in the key's current window (0 when it has none)."""
        with _engine().connect() as connection:
            hits = connection.scalar(select(RateLimitCounter.hits).where(*_current(key)))
        return hits or 0

    def get_expiry(self, key: str) -> float:
        """When the key's current window ends, as a POSIX timestamp (now when it has none)."""
        with _engine().connect() as connection:
            ends = connection.scalar(select(RateLimitCounter.expires_at).where(*_current(key)))
        return (ends or utcnow()).timestamp()

    def check(self) -> bool:
        """Whether the database answers."""
        try:
            with _engine().connect() as connection:
                connection.scalar(select(func.count()).select_from(RateLimitCounter))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        """Forget every counter; how many there were."""
        with _engine().begin() as connection:
            return connection.execute(delete(RateLimitCounter)).rowcount

    def clear(self, key: str) -> None:
        """Forget one key's counter."""
        with _engine().begin() as connection:
            connection.execute(delete(RateLimitCounter).where(RateLimitCounter.key == _stored(key)))


# INSERT … ON CONFLICT DO UPDATE in the two databases fieldsvc runs on.
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _engine() -> Engine:
    # The app's own engine and pool (Flask-SQLAlchemy's, without importing the extensions).
    return current_app.extensions["sqlalchemy"].engine


def _stored(key: str) -> str:
    """The key as stored: a key too long for the column (a long username) is stored as its digest."""
    if len(key) <= KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _current(key: str) -> tuple[Any, ...]:
    return RateLimitCounter.key == _stored(key), RateLimitCounter.expires_at > utcnow()


def warn_if_counted_per_process(app: Flask) -> None:
    """Log loudly when a server that may run several workers counts sign-in attempts in memory:
    each worker then allows the whole limit, and an account gets N times its attempts."""
    if app.config.get("RATELIMIT_ENABLED", True) and str(app.config["RATELIMIT_STORAGE_URI"]).startswith("memory"):
        app.logger.warning(
            "FIELDSVC_RATELIMIT_STORAGE_URI=%s counts sign-in attempts in each worker process apart: "
            "with several workers an account gets its limit once per worker. Use database:// (the "
            "default) or redis://… to count across workers and hosts.", app.config["RATELIMIT_STORAGE_URI"])
