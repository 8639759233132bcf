"""The two pieces of date arithmetic the metrics need, written once for each database: the seconds
between two instants, and whether one instant lies within N days after another. (SQLite stores instants
as ISO text, PostgreSQL as timestamptz.)"""
from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, case
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Boolean


class seconds_between(FunctionElement[int]):  # noqa: N801 (reads as a SQL function)
    """Whole seconds from the first instant to the second (negative when the second is earlier).
    Whole, so that sums are exact and equal on both databases (SQLite's julianday is a float)."""

    type = BigInteger()
    inherit_cache = True


@compiles(seconds_between)
def _seconds_default(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(ROUND(EXTRACT(EPOCH FROM ({end} - {start}))) AS BIGINT)"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(ROUND((julianday({end}) - julianday({start})) * 86400.0) AS INTEGER)"


class within_days_after(FunctionElement[bool]):  # noqa: N801
    """within_days_after(later, earlier, days): later > earlier and later <= earlier + days."""

    type = Boolean()
    inherit_cache = True


@compiles(within_days_after)
def _within_default(element: within_days_after, compiler: Any, **kw: Any) -> str:
    later, earlier, days = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"({later} > {earlier} AND {later} <= {earlier} + {days} * INTERVAL '1 day')"


@compiles(within_days_after, "sqlite")
def _within_sqlite(element: within_days_after, compiler: Any, **kw: Any) -> str:
    # The lower bound compares the stored text directly, so SQLite can range-scan an index on it.
    later, earlier, days = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"({later} > {earlier} AND julianday({later}) <= julianday({earlier}) + {days})"


def flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """1 where the condition holds, else 0 (NULL included): a column SUM() counts."""
    return case((condition, 1), else_=0)
