"""The declarative base, column types shared by every domain, UTC / local-period helpers, and the
transaction bookkeeping (reads end with COMMIT; files written with a transaction)."""
from __future__ import annotations

import contextlib
import enum
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ClauseElement,
    ColumnElement,
    DateTime,
    Enum,
    MetaData,
    String,
    cast,
    event,
    func,
    inspect,
    literal_column,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, declared_attr, mapped_column, registry
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.types import TypeDecorator

UTC = UTC

# What an Integer column (every id) holds on PostgreSQL, which casts each parameter compared with
# one to the column's type: an id, cursor or count beyond it is refused (or clamped) before it
# reaches the database, which would fail on it ("integer out of range").
INTEGER_RANGE = (-(2**31), 2**31 - 1)

# The days fieldsvc accepts from people and integrations (appointments, filters, certificates, sync
# stamps): wide enough for any real date and a far-future "since", refusing the typos and probes
# near datetime's own limits (years 1 and 9999), where moving a time between zones overflows.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)


@dataclass(frozen=True)
class Bound:
    """An SQL expression built once (with bound parameters) and the values of its parameters for
    one use: what a request runs on every call, without building the expression again."""

    expression: Any
    params: dict[str, Any] = field(default_factory=dict)


def stamp(*aggregates: Any) -> ColumnElement[str]:
    """Several aggregates of the same rows as one text ("3:2026-12-07 08:15:00+00:00:1234"), for a
    page's validator: in one scalar subquery they are read in one pass over the rows, where a
    subquery each reads them once each. A NULL (no rows) is an empty part."""
    text: ColumnElement[str] | None = None
    for aggregate in aggregates:
        part = func.coalesce(cast(aggregate, String), "")
        text = part if text is None else text + ":" + part
    if text is None:
        raise ValueError("stamp() needs an aggregate")
    return text


def within_days(value: date | datetime) -> bool:
    """Whether a date, or an aware instant (compared without converting it), lies within
    FIRST_DAY through LAST_DAY (UTC)."""
    if isinstance(value, datetime):
        return (datetime.combine(FIRST_DAY, time.min, tzinfo=UTC) <= value
                < datetime.combine(LAST_DAY, time.min, tzinfo=UTC) + timedelta(days=1))
    return FIRST_DAY <= value <= LAST_DAY


NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored as UTC; SQLite keeps it naive, PostgreSQL as timestamptz."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware one (fieldsvc.db.utcnow())")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def column_length(attribute: Any) -> int:
    """The length of a mapped String column (`column_length(Customer.address)`): the one limit that
    the model, and every form and schema taking that value, check against."""
    return attribute.property.columns[0].type.length


def enum_column(enum_class: type[enum.Enum], name: str) -> Enum:
    """A portable enumeration: VARCHAR plus a named CHECK constraint holding the values."""
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(member.value) for member in enum_class),
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


# A code of a list fixed in the source (an enumeration's value): safe to write into SQL as it is.
_CODE = re.compile(r"[a-z][a-z0-9_]*")


def among(column: Any, values: Any) -> ColumnElement[bool]:
    """`column IN (values)` for a list fixed in the code (the open statuses, say), with the values
    written into the statement as SQL literals rather than sent as parameters, and so compiled
    once with it. PostgreSQL then knows them when it plans: they bound a partial index whose
    predicate names them (ix_work_orders_open_assignee), and the plan it keeps for a statement
    psycopg has prepared is good for every execution. With the statuses as parameters it guessed
    the list matched far more rows and planned the installer's day list afresh on every
    execution (0.6 ms, for an execution of 0.05). Values a user chose stay parameters (`in_`)."""
    literals = []
    for value in values:
        code = value.value if isinstance(value, enum.Enum) else value
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            raise ValueError(f"not a code fixed in the source: {code!r}")
        literals.append(literal_column(f"'{code}'", column.type))
    return column.in_(literals)


class Base(DeclarativeBase):
    """The declarative base of every model, with a constraint naming convention for Alembic."""

    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


class BilingualName:
    """Reference data named in both languages: a stable code, a Chinese and an English name, and
    `name(locale)` for the reader's. A model sets `name_length` (and `name_en_length` when the
    English one is longer) to its columns' sizes; a model whose code is its key declares `code`."""

    name_length: ClassVar[int] = 64
    name_en_length: ClassVar[int | None] = None

    @declared_attr
    def code(cls) -> Mapped[str]:
        return mapped_column(String(32), unique=True)

    @declared_attr
    def name_zh(cls) -> Mapped[str]:
        return mapped_column(String(cls.name_length))

    @declared_attr
    def name_en(cls) -> Mapped[str]:
        return mapped_column(String(cls.name_en_length or cls.name_length))

    def name(self, locale: str) -> str:
        """The name in `locale` ("zh…" is Chinese, anything else English)."""
        return self.name_zh if locale.startswith("zh") else self.name_en  # type: ignore[attr-defined]


def watch_engine(engine: Engine) -> None:
    """Attach fieldsvc's listeners to one of the app's engines (not to every engine in the
    process): SQLite's pragmas on each new connection, and the write detection that lets a read
    end with COMMIT (`end_read_only_transaction`)."""
    if not event.contains(engine, "connect", _sqlite_pragmas):
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "before_cursor_execute", _note_writes)


def watch_sessions(sessions: Any) -> None:
    """Attach the transaction bookkeeping to the sessions of one session factory (a
    `sessionmaker` or `scoped_session`; SQLAlchemy scopes the listeners to its own Session class):
    the connection a transaction runs on, and the files written with it (`write_on_commit`)."""
    if not event.contains(sessions, "after_begin", _session_connects):
        event.listen(sessions, "after_begin", _session_connects)
        event.listen(sessions, "before_commit", _write_files)
        event.listen(sessions, "after_commit", _keep_files)
        event.listen(sessions, "after_transaction_end", _session_transaction_ends)


# session.info keys: files to write when the transaction commits, and those written for it so far.
_FILES_TO_WRITE = "fieldsvc.files_to_write"
_FILES_WRITTEN = "fieldsvc.files_written"


def write_on_commit(session: Any, path: Path, content: bytes) -> None:
    """Write `path` with the session's transaction: just before it commits, removed again when the
    commit then fails, and never when the transaction is rolled back or closed (a refusal, an
    error). A crash between the write and the commit can leave a file without its row, never a
    row without its file. `path` must be new (random names): an existing file is not replaced."""
    session.info.setdefault(_FILES_TO_WRITE, []).append((path, content))


def _write_files(session: Session) -> None:
    if session.in_nested_transaction() or not session.info.get(_FILES_TO_WRITE):
        return  # files belong to the outermost transaction
    written = session.info.setdefault(_FILES_WRITTEN, [])
    for path, content in session.info.pop(_FILES_TO_WRITE):
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("xb") as handle:
            written.append(path)
            handle.write(content)


def _keep_files(session: Session) -> None:
    session.info.pop(_FILES_WRITTEN, None)


def _note_writes(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    if statement.lstrip()[:6].upper() != "SELECT":  # conservative: anything else may write
        connection.info["writes"] = True


def _session_connects(session: Session, _transaction: Any, connection: Any) -> None:
    session.info["connection"] = connection
    connection.info["writes"] = False  # until a statement other than SELECT runs (_note_writes)


def _session_transaction_ends(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop("connection", None)
        session.info.pop(_FILES_TO_WRITE, None)
        for path in session.info.pop(_FILES_WRITTEN, ()):  # written, but the commit failed
            path.unlink(missing_ok=True)


def end_read_only_transaction(session: Any) -> None:
    """Commit the session's transaction when it only read (no statement but SELECT, nothing
    pending), else leave it to be rolled back. For PostgreSQL the two are the same, except that
    psycopg forgets every prepared statement at a ROLLBACK: ending reads with COMMIT keeps the
    hot queries prepared and planned once per connection rather than on every request."""
    transaction = session.get_transaction()
    if transaction is None or not transaction.is_active or session.new or session.dirty or session.deleted:
        return  # nothing begun, a failed transaction, or changes not flushed: roll back
    connection = session.info.get("connection")
    if connection is None or connection.info.get("writes", True):
        return  # no statement ran (nothing to end), or one may have written
    try:
        session.commit()
    except SQLAlchemyError:  # e.g. the connection broke: end it as before, by a rollback
        with contextlib.suppress(SQLAlchemyError):
            session.rollback()


def hold_transaction(connection: Any, *, immediate: bool = False) -> None:
    """Make sure the connection's statements from here on run in one transaction. Python's sqlite3
    opens a transaction by itself only before INSERT, UPDATE, DELETE and REPLACE: a statement that
    starts with WITH (an INSERT … SELECT or DELETE with common table expressions) would otherwise
    run, and commit, on its own. With `immediate`, SQLite's write lock is taken at once (BEGIN
    IMMEDIATE: one writer at a time, the others wait for it rather than fail at their first write).
    PostgreSQL is always in the session's transaction."""
    if connection.dialect.name == "sqlite" and not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def without_statement_timeout(connection: Any) -> None:
    """Lift the statement timeout (DB_STATEMENT_TIMEOUT, meant for requests) for the rest of the
    connection's transaction, on PostgreSQL: for maintenance work whose statements may run long,
    such as migrations and the demo's bulk load."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL statement_timeout = 0")


def without_jit(connection: Any) -> None:
    """Turn PostgreSQL's JIT compilation off for the rest of the connection's transaction: for
    large set-based statements run often (the metrics engine's), whose many expressions it spends
    seconds compiling to save milliseconds (2.5 s of a week's 3 s, measured)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL jit = off")


def execute_planned_for_parameters(connection: Any, statement: Any, parameters: Any = None) -> Any:
    """Execute `statement` with PostgreSQL planning it for its parameters' values this time (a
    custom plan), and return its result. psycopg prepares a statement at its fifth run on a
    connection, after which the server may keep one generic plan for any values: for a statement
    whose row counts the values decide, costed for a guess that fits none (an order's pool of
    installers is a dozen for a supervisor and a thousand for an admin; its generic plan sorted
    17,000 snapshot rows to group them, twice the time). Set with set_config(), a SELECT, so a
    request that only read still ends with COMMIT (end_read_only_transaction). The rows are fetched."""
    if connection.dialect.name != "postgresql":
        return connection.execute(statement, parameters)
    previous = connection.exec_driver_sql(
        "SELECT current_setting('plan_cache_mode'), set_config('plan_cache_mode', 'force_custom_plan', true)").scalar()
    result = connection.execute(statement, parameters).all()
    connection.exec_driver_sql("SELECT set_config('plan_cache_mode', %(mode)s, true)", {"mode": previous})
    return result


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL, a busy timeout and enforced foreign keys on every SQLite connection."""
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def zone(name: str | None = None) -> ZoneInfo:
    """The operator's time zone (the app's TIMEZONE unless `name` is given)."""
    if name is None:
        from flask import current_app

        name = current_app.config["TIMEZONE"]
    return ZoneInfo(name)  # ZoneInfo caches its instances: this is a dictionary lookup


def local_day_range(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC half-open range [start, end) of a local calendar day."""
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def local_today(tz: ZoneInfo) -> date:
    """Today's date in the operator's time zone."""
    return utcnow().astimezone(tz).date()


def flush_row(session: Session, obj: Any) -> None:
    """Flush `session`; when the only pending change is some of `obj`'s own columns, write it with
    the one versioned UPDATE the unit of work would send (the changed columns, the `onupdate`
    defaults, the version counter; StaleDataError when the version moved on underneath), without
    the unit of work's bookkeeping of every relationship of the row and of the rows loaded with it,
    which costs more than the statement. Anything else (a new or deleted row, another changed row,
    a changed relationship or collection, a value that is an SQL expression, listeners of the
    flush) is flushed the ordinary way."""
    state = inspect(obj)
    values = None if session.new or session.deleted else _row_changes(session, state)
    if values is None:
        session.flush()
        return
    if not values:
        return  # nothing pending
    mapper, version_column = state.mapper, state.mapper.version_id_col
    version = mapper._get_committed_state_attr_by_column(state, state.dict, version_column)  # noqa: SLF001
    values[version_column.key] = mapper.version_id_generator(version)
    (key_column,) = mapper.primary_key
    result = session.connection().execute(  # not the session's execute, which would flush `obj` first
        update(mapper.local_table).where(key_column == state.identity[0], version_column == version).values(values))
    if result.rowcount != 1:
        raise StaleDataError(f"UPDATE statement on table '{mapper.local_table.name}' expected to update 1 row(s); "
                             f"{result.rowcount} were matched.")
    for column_key, value in values.items():
        set_committed_value(obj, mapper.get_property_by_column(mapper.local_table.c[column_key]).key, value)
    state._commit_all(state.dict, session.identity_map)  # noqa: SLF001  (how the unit of work ends a row's flush)


def _row_changes(session: Session, state: Any) -> dict[str, Any] | None:
    """The columns `flush_row` writes for `state` (by column key, with the `onupdate` defaults),
    {} when nothing is pending, None when the unit of work has to do it."""
    mapper = state.mapper
    if (mapper.version_id_col is None or not callable(mapper.version_id_generator) or len(mapper.primary_key) != 1
            or mapper.local_table is not mapper.persist_selectable or mapper.dispatch.before_update
            or mapper.dispatch.after_update or session.dispatch.before_flush or session.dispatch.after_flush):
        return None
    dirty = session.dirty
    if not dirty:
        return {}
    if len(dirty) != 1 or state.obj() not in dirty:
        return None
    values: dict[str, Any] = {}
    for key, before in state.committed_state.items():
        if key not in mapper.column_attrs:
            return None  # a relationship or collection changed
        value = state.dict.get(key)
        if hasattr(value, "__clause_element__") or isinstance(value, ClauseElement):
            return None  # only the database knows what it makes of an expression
        if state.manager[key].impl.is_equal(value, before) is not True:  # a value set again is not written
            (column,) = mapper.column_attrs[key].columns
            values[column.key] = value
    if not values:
        return None  # no net change: whatever the unit of work makes of it
    for column in mapper.local_table.columns:
        if column.onupdate is None or column.key in values or column is mapper.version_id_col:
            continue
        if not (column.onupdate.is_callable or column.onupdate.is_scalar):
            return None  # an SQL default: only the database knows what it wrote
        values[column.key] = column.onupdate.arg(None) if column.onupdate.is_callable else column.onupdate.arg
    return values
