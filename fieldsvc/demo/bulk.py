"""Writing the big tables fast: rows counted and formatted here, sent a day at a time by COPY on
PostgreSQL (fed by a writer thread, so the server works while Python makes the next day) or
executemany on SQLite; for the load, PostgreSQL's foreign keys and secondary indexes are dropped
and rebuilt in the same transaction."""
from __future__ import annotations

import queue
import re
import threading
from datetime import date, datetime, timedelta
from typing import Any

from ..db import UTC
from ..extensions import db


class BulkWriter:
    """Rows of the big tables, written a day at a time: COPY on PostgreSQL, executemany on SQLite.

    Rows are tuples in the column order of `COLUMNS`; timestamps are already strings in the
    backend's own format (`ts`), JSON already serialised, enums their `.value`."""

    COLUMNS: dict[str, tuple[str, ...]] = {
        "customers": ("id", "account_no", "name", "phone", "address", "district_id", "created_at"),
        "work_orders": ("id", "number", "external_ref", "job_type_id", "priority", "customer_id", "district_id",
                        "address", "team_id", "assignee_id", "status", "is_work_at_height", "notes",
                        "appointment_start", "appointment_end", "created_at", "updated_at", "due_by", "completed_at",
                        "completed_by_id", "cancelled_at", "cancel_reason", "evidence", "version", "visit_count"),
        "visits": ("id", "work_order_id", "seq", "installer_id", "arrived_at", "left_at", "outcome", "reason_code",
                   "appointment_start", "appointment_end", "lat", "lon"),
        "work_order_events": ("id", "work_order_id", "actor_id", "created_at", "action", "from_status", "to_status",
                              "note", "lat", "lon", "data"),
        "survey_invitations": ("id", "work_order_id", "token_hash", "created_at", "expires_at", "used_at",
                               "reminded_at", "expired_at"),
        "survey_responses": ("id", "invitation_id", "work_order_id", "installer_id", "score", "punctuality",
                             "professionalism", "result", "comment", "submitted_at"),
        "follow_ups": ("id", "response_id", "work_order_id", "installer_id", "status", "opened_at", "contact_due_at",
                       "contacted_at", "contacted_by_id", "contact_note", "closed_at", "closed_by_id", "close_note",
                       "outcome", "cause", "counts_against_installer", "revisit_order_id", "version"),
        "order_standards": ("work_order_id", "version_id"),
        "step_ticks": ("id", "work_order_id", "code", "visit_id", "ticked_at", "ticked_by_id", "dispatch_lag_seconds"),
        "support_requests": ("id", "work_order_id", "installer_id", "team_id", "raised_in", "category", "note",
                             "reading_dbm", "photo_id", "status", "raised_at", "reply_due_at", "taken_at", "taken_by_id",
                             "first_reply_at", "resolved_at", "resolved_by_id", "resolution", "thanked_at", "updated_at",
                             "version"),
        "support_replies": ("id", "request_id", "author_id", "created_at", "body"),
    }
    # Parents before children: SQLite checks foreign keys row by row.
    ORDER = ("customers", "work_orders", "visits", "work_order_events", "survey_invitations", "survey_responses",
             "follow_ups", "order_standards", "step_ticks", "support_requests", "support_replies")

    def __init__(self, first_day: date, last_day: date) -> None:
        self.connection = db.session.connection()
        self.postgres = self.connection.dialect.name == "postgresql"
        self.rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in self.ORDER}
        self.counts: dict[str, int] = {name: 0 for name in self.ORDER}
        # Timestamp strings from two lookups: the UTC day's "YYYY-MM-DD " and the second of the day.
        suffix = "+00" if self.postgres else ".000000"  # SQLite: SQLAlchemy's own storage format
        self._days_base = first_day.toordinal() - date(1970, 1, 1).toordinal() - 3
        span = (last_day - first_day).days + 12
        self._days = [(date(1970, 1, 1) + timedelta(days=self._days_base + i)).isoformat() + " " for i in range(span)]
        self._clock = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{suffix}" for s in range(86400)]
        self._suffix = suffix
        self._writer: _CopyWriter | None = None

    def ts(self, epoch: int) -> str:
        """`epoch` (UTC seconds) as the backend stores a UTCDateTime."""
        day, second = divmod(epoch, 86400)
        index = day - self._days_base
        if 0 <= index < len(self._days):
            return self._days[index] + self._clock[second]
        moment = datetime.fromtimestamp(epoch, UTC)
        return moment.strftime("%Y-%m-%d %H:%M:%S") + self._suffix

    def start(self) -> None:
        """On PostgreSQL, start the writer thread that feeds COPY while the next rows are made."""
        if self.postgres:
            self._writer = _CopyWriter(self.connection.connection.dbapi_connection)
            self._writer.start()

    def flush(self) -> None:
        """Send the rows gathered so far."""
        for name in self.ORDER:
            rows = self.rows[name]
            if not rows:
                continue
            self.counts[name] += len(rows)
            columns = self.COLUMNS[name]
            if self._writer is not None:  # PostgreSQL: COPY on the writer thread
                self._writer.put(name, columns, _copy_text(rows))
            else:
                placeholders = ", ".join("?" * len(columns))
                # Table and column names come from COLUMNS above, never from input.
                self.connection.exec_driver_sql(
                    f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({placeholders})", rows)  # nosec B608
            self.rows[name] = []

    def finish(self) -> None:
        """Send the last rows and wait until they are written."""
        self.flush()
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close()

    def abort(self) -> None:
        """Stop writing (rows still queued are dropped) and wait for the writer to let go."""
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.abort()


def _copy_text(rows: list[tuple[Any, ...]]) -> str:
    """Rows in COPY's text format. Our strings carry no tab, newline or backslash."""
    return "".join(["\t".join(["\\N" if v is None else str(v) for v in row]) + "\n" for row in rows])


class _CopyWriter(threading.Thread):
    """Runs COPY … FROM STDIN for the chunks it is handed, on the seeding transaction's connection.
    The main thread makes rows meanwhile (socket writes release the GIL); it never touches the
    connection until `close` has joined this thread."""

    def __init__(self, dbapi_connection: Any) -> None:
        super().__init__(name="demo-copy-writer", daemon=True)
        self.dbapi_connection = dbapi_connection
        self.chunks: queue.Queue[tuple[str, tuple[str, ...], str] | None] = queue.Queue(maxsize=8)
        self.error: BaseException | None = None

    def put(self, table: str, columns: tuple[str, ...], text: str) -> None:
        if self.error is not None:
            raise RuntimeError("writing demo rows failed") from self.error
        self.chunks.put((table, columns, text))

    def run(self) -> None:
        while (chunk := self.chunks.get()) is not None:
            if self.error is not None:
                continue  # drain, so the producer never blocks on a dead writer
            table, columns, text = chunk
            try:
                with self.dbapi_connection.cursor() as cursor:
                    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                        copy.write(text)
            except BaseException as error:  # handed to the main thread in put/close
                self.error = error

    def close(self) -> None:
        self.chunks.put(None)
        self.join()
        if self.error is not None:
            raise RuntimeError("writing demo rows failed") from self.error

    def abort(self) -> None:
        self.error = self.error or RuntimeError("aborted")
        self.chunks.put(None)
        self.join()


# The big tables' foreign keys and secondary indexes are dropped for the load and rebuilt after
# it, inside the same transaction: checking a foreign key row by row costs PostgreSQL three times
# the COPY itself, while re-adding it is one join. Their definitions are read from the catalog, so
# the schema comes back exactly as the migrations made it (and a failure rolls it all back).
BULK_TABLES = ("work_orders", "visits", "work_order_events", "survey_invitations", "survey_responses", "follow_ups",
               "order_standards", "step_ticks", "support_requests", "support_replies")


def pg_drop_bulk_constraints(connection: Any) -> list[str]:
    """Drop the bulk tables' foreign keys, unique constraints and secondary indexes; returns the
    statements that put them back."""
    tables = list(BULK_TABLES)
    constraints = connection.exec_driver_sql(
        "SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid) "
        "FROM pg_constraint c WHERE c.conrelid = ANY(%(tables)s::regclass[]) AND c.contype IN ('f', 'u') "
        "ORDER BY c.contype, c.conrelid::regclass::text, c.conname", {"tables": tables}).all()
    indexes = connection.exec_driver_sql(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = ANY(%(tables)s::regclass[]) AND NOT i.indisprimary "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) "
        "ORDER BY 1", {"tables": tables}).all()
    restore: list[str] = []
    for table, name, _kind, _definition in constraints:  # foreign keys ('f') sort first
        connection.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, definition in indexes:
        connection.exec_driver_sql(f'DROP INDEX {name}')
        restore.append(definition)
    unique = [(t, n, d) for t, n, k, d in constraints if k == "u"]
    foreign = [(t, n, d) for t, n, k, d in constraints if k == "f"]
    restore += [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d in unique + foreign]
    return restore


def sqlite_drop_bulk_indexes(connection: Any) -> list[str]:
    """SQLite: drop the bulk tables' secondary indexes (those the schema names; the unique
    constraints' own stay); returns the statements that put them back. Filling a table and then
    indexing it is quicker than keeping a dozen indexes up to date row by row."""
    tables = set(BULK_TABLES)
    rows = [(name, sql) for name, sql, table in connection.exec_driver_sql(
        "SELECT name, sql, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
        if table in tables]
    for name, _sql in rows:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    return [sql for _name, sql in rows]


def sqlite_restore_indexes(connection: Any, statements: list[str]) -> None:
    """Put back the indexes `sqlite_drop_bulk_indexes` dropped (those not there already)."""
    for sql in statements:
        connection.exec_driver_sql(re.sub(r"^CREATE (UNIQUE )?INDEX ", r"CREATE \1INDEX IF NOT EXISTS ", sql))


def pg_reset_sequences(connection: Any, tables: list[str]) -> None:
    for table in tables:
        # The demo's own table names, never input.
        connection.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # nosec B608
            f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)")



class Ids:
    """Primary keys counted here, so rows can be written in bulk without asking the database."""

    def __init__(self) -> None:
        self.last: dict[str, int] = {}

    def next(self, table: str) -> int:
        value = self.last.get(table, 0) + 1
        self.last[table] = value
        return value
