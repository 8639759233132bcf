"""The machinery of the permission matrix (the table itself is tests/test_permission_matrix.py):
who asks (a browser session, an API token, both or neither), what one answer is expected to be,
the marker strings an answer may or may not carry, and a fingerprint of every table's rows with a
way back to the seeded rows after a request that was allowed to write."""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flask.testing import FlaskClient
from sqlalchemy import JSON, Connection, Engine, Insert, Row, Table, Update, bindparam, select, tuple_
from sqlalchemy.exc import IntegrityError
from werkzeug.test import TestResponse

from fieldsvc.db import Base
from fieldsvc.workorders.models import APPEND_ONLY_DDL

# The sign-in throttle's counters are left out of the fingerprint and the restore: the throttle is
# off in the tests, and were it on, a refused sign-in attempt must be counted (that is its point).
SKIPPED_TABLES = frozenset({"rate_limit_counters"})
# Columns that change on requests that are refused or read-only by design: an API token's
# last-used time moves (at most every few minutes) whenever the token authenticates a request,
# whether the endpoint then allows it or answers 403/404.
VOLATILE_COLUMNS = {"api_tokens": frozenset({"last_used_at"})}

SESSION_COOKIE = "session"


@dataclass(frozen=True)
class Expect:
    """What one actor's request should get."""

    status: int
    login: bool = False  # a redirect to the sign-in page: a page refused to someone not signed in
    location: str | None = None  # the path a redirect must lead to (None: any but the sign-in page)
    denied: bool | None = None  # a refusal (default: 401, 403, 404 or `login`): no marker, no write
    writes: bool | None = None  # allowed: True must change the data, False must not, None either

    @property
    def refused(self) -> bool:
        if self.denied is not None:
            return self.denied
        return self.login or self.status in (401, 403, 404)

    def __str__(self) -> str:
        if self.login:
            return "302 to sign in"
        text = f"{self.status}" + (f" to {self.location}" if self.location else "")
        if self.refused:
            text += " (refused)"
        return text


LOGIN = Expect(302, login=True, location="/login")


@dataclass
class Actor:
    """Someone sending requests: `user` names whose data they may see (None: nobody's)."""

    name: str
    user: str | None
    cookie: str | None = None  # the browser session cookie (signed in, stale, or anonymous)
    csrf: str | None = None  # the CSRF token of that session
    token: str | None = None  # an API bearer token


@dataclass(frozen=True)
class Marker:
    """A unique string planted in one person's or team's data, and whose it is to see."""

    text: str
    audience: frozenset[str]


@dataclass(frozen=True)
class Case:
    """One request of a rule × method: its body, and what every actor gets for it. The URL's
    parameters come from the seeded world (`params` names the world's attribute per parameter)."""

    expect: Mapping[str, Expect]
    params: Mapping[str, str] = field(default_factory=dict)
    query: Callable[[Any], dict[str, Any]] | None = None
    form: Callable[[Any, Actor], dict[str, Any]] | None = None
    json: Callable[[Any, Actor], Any] | None = None
    reveals: tuple[str, ...] = ()  # markers this answer shows everyone it allows, by design
    note: str = ""  # which variant this is, for failure messages


def send(client: FlaskClient, actor: Actor, method: str, path: str, *, query: dict[str, Any] | None = None,
         form: dict[str, Any] | None = None, json: Any = None) -> TestResponse:
    """One request as `actor`, with only what the actor holds: their cookie, CSRF token and token.
    The client keeps no cookies, so no request changes what the next one carries."""
    headers = {}
    if actor.cookie:
        headers["Cookie"] = f"{SESSION_COOKIE}={actor.cookie}"
    if actor.token:
        headers["Authorization"] = f"Bearer {actor.token}"
    if form is not None and actor.csrf:
        form = {"csrf_token": actor.csrf, **form}
    return client.open(path, method=method, headers=headers, query_string=query, data=form, json=json)


def redirect_path(response: TestResponse) -> str | None:
    location = response.headers.get("Location")
    return urlsplit(location).path if location else None


def mismatch(expect: Expect, response: TestResponse) -> str | None:
    """Why `response` is not what `expect` says (None when it is)."""
    got = f"{response.status_code}" + (f" to {response.headers['Location']}" if "Location" in response.headers else "")
    if response.status_code != expect.status:
        return f"expected {expect}, got {got}"
    if response.status_code in (301, 302, 303, 307, 308):
        path = redirect_path(response)
        wanted = expect.location
        if wanted is not None and path != wanted:
            return f"expected {expect}, got {got}"
        if wanted is None and path == "/login":
            return f"expected {expect}, got a redirect to sign in ({got})"
    return None


def answer_text(response: TestResponse) -> str:
    """The body (as text, whatever it is) and every header, to look for markers in."""
    body = response.get_data().decode("utf-8", errors="replace")
    headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
    return f"{headers}\n{body}"


def markers_in(text: str, markers: Mapping[str, Marker], excused: str) -> set[str]:
    """The markers in `text`, except those the request itself carried (`excused`: a searched
    phone number is echoed in the search box)."""
    return {name for name, marker in markers.items() if marker.text in text and marker.text not in excused}


# --- the data: a fingerprint of every table, and the way back to the seeded rows ---------------


class TableState:
    """The rows of every table (but SKIPPED_TABLES) as seeded: a fingerprint of each table, and a
    way back to the seeded rows."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.tables = [table for table in Base.metadata.sorted_tables if table.name not in SKIPPED_TABLES]
        with engine.connect() as connection:
            self.rows = {table.name: _rows_by_key(connection, table) for table in self.tables}
        quote = engine.dialect.identifier_preparer.quote
        # Plain SQL through the driver's cursor: the fingerprint is taken after every request, and
        # building SQLAlchemy statements each time would cost more than the reads.
        self.reads = [
            "SELECT {} FROM {} ORDER BY {}".format(
                ", ".join(quote(c.name) for c in table.columns
                          if c.name not in VOLATILE_COLUMNS.get(table.name, frozenset())),
                quote(table.name), ", ".join(quote(c.name) for c in table.primary_key.columns))
            for table in self.tables]
        self.seeded = self.fingerprint()

    def fingerprint(self) -> list[str]:
        """A SHA-256 of each table's rows in primary-key order (VOLATILE_COLUMNS left out)."""
        with self.engine.connect() as connection:
            cursor = connection.connection.cursor()
            if connection.dialect.name == "postgresql":
                # One round trip for all the tables (psycopg returns each statement's rows in turn).
                cursor.execute("; ".join(self.reads))
                results = [cursor.fetchall()]
                while cursor.nextset():
                    results.append(cursor.fetchall())
            else:
                results = []
                for statement in self.reads:
                    cursor.execute(statement)
                    results.append(cursor.fetchall())
            cursor.close()
        return [hashlib.sha256(repr(rows).encode()).hexdigest() for rows in results]

    def changed(self) -> list[Table]:
        """The tables whose rows are not as seeded."""
        return [table for table, now, then in zip(self.tables, self.fingerprint(), self.seeded, strict=True)
                if now != then]

    def restore(self, tables: list[Table] | None = None) -> None:
        """Put the rows of `tables` (by default those changed) back as seeded: remove the rows
        added, write back the rows changed, add back the rows removed. Should that trip over a
        foreign key (an order pointed at a customer a request added, say), every table is
        emptied and refilled instead."""
        tables = self.changed() if tables is None else tables
        if not tables:
            return
        try:
            with self.engine.begin() as connection, _events_unlocked(connection, tables):
                current = {table.name: _rows_by_key(connection, table) for table in tables}
                for table in tables:
                    seeded, now = self.rows[table.name], current[table.name]
                    changed = [row for key, row in seeded.items() if key in now and now[key] != row]
                    if changed:
                        connection.execute(_update(table), [_key_params(table, row) for row in changed])
                for table in reversed(tables):
                    added = [key for key in current[table.name] if key not in self.rows[table.name]]
                    if added:
                        connection.execute(table.delete().where(_key_in(table, added)))
                for table in tables:
                    missing = [row for key, row in self.rows[table.name].items() if key not in current[table.name]]
                    if missing:
                        connection.execute(_insert(table), [dict(row._mapping) for row in missing])
        except IntegrityError:
            self.refill()

    def refill(self) -> None:
        """Empty every table and insert the seeded rows again. PostgreSQL's TRUNCATE keeps the id
        sequences where they are (rows added later get new ids)."""
        with self.engine.begin() as connection, _events_unlocked(connection, self.tables):
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"TRUNCATE {', '.join(t.name for t in self.tables)}")
            else:
                for table in reversed(self.tables):
                    connection.execute(table.delete())
            for table in self.tables:
                if self.rows[table.name]:
                    connection.execute(_insert(table), [dict(row._mapping) for row in self.rows[table.name].values()])


def _key(table: Table, row: Row[Any]) -> tuple[Any, ...]:
    return tuple(row._mapping[column.name] for column in table.primary_key.columns)


def _rows_by_key(connection: Connection, table: Table) -> dict[tuple[Any, ...], Row[Any]]:
    return {_key(table, row): row for row in connection.execute(select(table))}


def _key_in(table: Table, keys: list[tuple[Any, ...]]) -> Any:
    return tuple_(*table.primary_key.columns).in_(keys)


def _column_type(column: Any) -> Any:
    # A JSON column read as None was SQL NULL (the ORM leaves an unset one out); the plain JSON
    # type would write it back as the JSON text 'null'.
    return JSON(none_as_null=True) if isinstance(column.type, JSON) else column.type


def _insert(table: Table) -> Insert:
    """An INSERT of whole rows as read."""
    return table.insert().values({column.name: bindparam(column.name, type_=_column_type(column))
                                  for column in table.columns})


def _update(table: Table) -> Update:
    """An UPDATE of whole rows as read, by primary key (bound as key_<column>)."""
    return table.update().where(*(column == bindparam(f"key_{column.name}") for column in table.primary_key.columns)) \
        .values({column.name: bindparam(column.name, type_=_column_type(column)) for column in table.columns})


def _key_params(table: Table, row: Row[Any]) -> dict[str, Any]:
    return {**row._mapping, **{f"key_{column.name}": row._mapping[column.name] for column in table.primary_key.columns}}


@contextmanager
def _events_unlocked(connection: Connection, tables: list[Table]) -> Iterator[None]:
    """The event trail refuses updates and deletes (a trigger): lift it within this transaction
    when its rows are to be put back (as tests/conftest.py does to empty it)."""
    if not any(table.name == "work_order_events" for table in tables):
        yield
        return
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("ALTER TABLE work_order_events DISABLE TRIGGER work_order_events_no_change")
        yield
        connection.exec_driver_sql("ALTER TABLE work_order_events ENABLE TRIGGER work_order_events_no_change")
    else:
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS work_order_events_no_update")
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS work_order_events_no_delete")
        yield
        for statement in APPEND_ONLY_DDL["sqlite"]:
            connection.exec_driver_sql(statement)
