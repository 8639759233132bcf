"""Exactly once: each (job, period) is claimed in `job_runs` before its work runs, and the work's
result is committed in the same transaction that marks the claim done.

1. Claim (its own short transaction, committed): a conditional INSERT of the (name, period_key)
   row, or — when the row exists — an UPDATE that takes it over only if it is not done and its
   lease has expired (a crashed process, a failed attempt waiting for its retry). Both are one
   statement with the condition inside, so two processes can never both win; each claim gets a
   fresh random token.
2. Work (a second transaction): the work writes, then one UPDATE marks the run succeeded *where
   the token is still ours*. If it matches no row, our lease was taken over meanwhile: the work
   is rolled back and the other process's result stands. Otherwise the work and the mark commit
   together, so a crash at any point leaves either both or neither.
3. A failure rolls the work back (the previous snapshots stay as they were) and records the error
   on the run, with a lease until its retry.

On SQLite both transactions start with BEGIN IMMEDIATE: the database's write lock is taken
before the first read, so a transaction never reads a snapshot it then cannot write from (which
SQLite refuses at once, without waiting out the busy timeout). PostgreSQL needs no more than its
row locks; `lock_period` serialises two computations of the same figures (the scheduler and a
backfill) with a transaction-scoped advisory lock.

This module is the edge for the scheduler and the backfill: it owns their commits."""
from __future__ import annotations

import enum
import logging
import secrets
import socket
import traceback
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, update
from sqlalchemy.dialects import postgresql, sqlite

from ..db import hold_transaction
from ..extensions import db
from ..metrics.models import JobRun, JobRunStatus

log = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(minutes=10)  # longer than any period's work takes
RETRY_AFTER = timedelta(minutes=5)  # a failed run is claimed again after this
ERROR_CHARS = 4000  # the tail of the traceback kept on the run


class Outcome(enum.Enum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"  # done already, or another process holds a live claim
    LOST = "lost"  # our lease was taken over while we worked: our result was rolled back


@dataclass(frozen=True)
class Claim:
    """A process's hold on one (job, period): the row and the token only it knows."""

    run_id: int
    name: str
    period_key: str
    token: str


def host_name() -> str:
    """Who holds a claim, as shown to admins: the host and the process id."""
    import os

    return f"{socket.gethostname()}:{os.getpid()}"[:128]


def begin_write() -> None:
    """Start the session's next transaction as a writer: BEGIN IMMEDIATE on SQLite (nothing to do
    on PostgreSQL). The session must have no write pending (commit or roll back first)."""
    hold_transaction(db.session.connection(), immediate=True)


def lock_period(*parts: str) -> None:
    """Hold a lock on one set of figures (e.g. "metrics", "day", "2026-03-01") until the
    transaction ends, so two computations of them run one after the other (PostgreSQL; SQLite's
    BEGIN IMMEDIATE already admits one writer at a time)."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        key = zlib.crc32(":".join(parts).encode()) - 2**31  # a stable signed 32-bit key
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({int(key)})")


def claim(name: str, period_key: str, now: datetime, *, lease: timedelta = DEFAULT_LEASE,
          redo: bool = False, host: str | None = None) -> Claim | None:
    """Claim (name, period_key) for this process and commit the claim; None when it is done
    already (unless `redo`) or another process holds a claim whose lease has not expired."""
    token = secrets.token_hex(16)
    host = host or host_name()
    table = JobRun.__table__
    db.session.rollback()  # the claim is a transaction of its own
    begin_write()
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    # RETURNING, not rowcount: psycopg does not count an INSERT … ON CONFLICT DO NOTHING.
    run_id = db.session.scalar(
        insert(table).values(name=name, period_key=period_key, started_at=now, status=JobRunStatus.RUNNING,
                             rows_written=0, host=host, claim_token=token, lease_expires_at=now + lease, attempts=1)
        .on_conflict_do_nothing(index_elements=["name", "period_key"])
        .returning(table.c.id)
    )
    if run_id is None:
        open_to_takeover = and_(table.c.status != JobRunStatus.SUCCEEDED, table.c.lease_expires_at <= now)
        if redo:  # a deliberate recomputation takes a finished run too, never a live claim
            open_to_takeover = or_(open_to_takeover, table.c.status == JobRunStatus.SUCCEEDED)
        run_id = db.session.scalar(
            update(table)
            .where(table.c.name == name, table.c.period_key == period_key, open_to_takeover)
            .values(status=JobRunStatus.RUNNING, started_at=now, finished_at=None, host=host,
                    claim_token=token, lease_expires_at=now + lease, attempts=table.c.attempts + 1)
            .returning(table.c.id)
        )
        if run_id is None:
            db.session.rollback()
            return None
    db.session.commit()
    return Claim(run_id, name, period_key, token)


def _finish(held: Claim, values: dict[str, object]) -> bool:
    """Mark our claim finished with `values`, if it is still ours; whether it was."""
    table = JobRun.__table__
    return db.session.scalar(
        update(table)
        .where(table.c.id == held.run_id, table.c.claim_token == held.token,
               table.c.status == JobRunStatus.RUNNING)
        .values(**values)
        .returning(table.c.id)
    ) is not None


def run_claimed(held: Claim, work: Callable[[], int], clock: Callable[[], datetime],
                retry_after: timedelta = RETRY_AFTER) -> Outcome:
    """Run `work` (which returns the rows it wrote) for a claim and commit its writes together
    with the run's success; roll them back if the claim was taken over, or if `work` raises (then
    the error is recorded on the run)."""
    try:
        begin_write()
        rows = work()
        if not _finish(held, {"status": JobRunStatus.SUCCEEDED, "finished_at": clock(),
                              "rows_written": rows, "error": None, "lease_expires_at": None}):
            db.session.rollback()
            log.warning("job %s %s: the claim was taken over meanwhile; this run's work is undone",
                        held.name, held.period_key)
            return Outcome.LOST
        db.session.commit()
        return Outcome.SUCCEEDED
    except Exception:  # any failure of the work: recorded on the run, retried after `retry_after`
        error = traceback.format_exc()[-ERROR_CHARS:]
        log.exception("job %s %s failed", held.name, held.period_key)
        db.session.rollback()
        now = clock()
        begin_write()
        _finish(held, {"status": JobRunStatus.FAILED, "finished_at": now, "error": error,
                       "lease_expires_at": now + retry_after})
        db.session.commit()
        return Outcome.FAILED


def run_once(name: str, period_key: str, work: Callable[[], int], clock: Callable[[], datetime], *,
             lease: timedelta = DEFAULT_LEASE, redo: bool = False) -> Outcome:
    """Claim (name, period_key) and run its work exactly once across every process sharing the
    database; SKIPPED when it is done or claimed elsewhere."""
    held = claim(name, period_key, clock(), lease=lease, redo=redo)
    if held is None:
        return Outcome.SKIPPED
    return run_claimed(held, work, clock)
