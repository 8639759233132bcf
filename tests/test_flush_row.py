"""`db.flush_row`: one changed row written with the versioned UPDATE the unit of work would send,
and everything else through the ordinary flush."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from fieldsvc.db import flush_row, utcnow
from fieldsvc.extensions import db
from fieldsvc.workorders.models import Visit, WorkOrder
from tests import factories as f
from tests.workorders.test_query_counts import counting


def words(statements: list[str]) -> list[str]:
    """The first word of each statement (`counting` records them whole)."""
    return [statement.split()[0].upper() for statement in statements]


def loaded(number: str) -> WorkOrder:
    db.session.expunge_all()
    return db.session.scalar(select(WorkOrder).where(WorkOrder.number == number))


def test_one_changed_row_is_one_versioned_update_and_nothing_is_left_to_flush(app_ctx: Flask, monkeypatch) -> None:
    number = f.make_work_order(notes="before").number
    db.session.commit()
    order = loaded(number)
    monkeypatch.setattr(Session, "_flush", lambda *_a: pytest.fail("the unit of work ran"))
    version, updated_at = order.version, order.updated_at
    order.notes = "after"
    with counting(app_ctx) as seen:
        flush_row(db.session(), order)
        assert words(seen) == ["UPDATE"]
        written = order.updated_at
        assert order.version == version + 1 and written > updated_at  # the counter and `onupdate`
        assert not db.session.dirty
        db.session.commit()
        assert words(seen) == ["UPDATE"]  # the commit had nothing left to write
    again = loaded(number)
    assert (again.notes, again.version, again.updated_at) == ("after", version + 1, written)


def test_a_row_changed_underneath_is_stale(app_ctx: Flask) -> None:
    number = f.make_work_order().number
    db.session.commit()
    order = loaded(number)
    with db.engine.connect() as other:
        other.execute(text("UPDATE work_orders SET notes = 'theirs', version = version + 1 WHERE number = :n"),
                      {"n": number})
        other.commit()
    order.notes = "mine"
    with pytest.raises(StaleDataError):
        flush_row(db.session(), order)
    db.session.rollback()
    assert db.session.scalar(select(WorkOrder.notes).where(WorkOrder.number == number)) == "theirs"


def test_anything_else_pending_is_flushed_the_ordinary_way(app_ctx: Flask) -> None:
    installer = f.make_user(username="w1")
    first, second = f.make_work_order(assignee=installer), f.make_work_order()
    numbers, installer_id = (first.number, second.number), installer.id
    db.session.commit()
    first, second = loaded(numbers[0]), db.session.scalar(select(WorkOrder).where(WorkOrder.number == numbers[1]))
    start = utcnow() + timedelta(hours=1)

    first.notes, second.notes = "one", "two"  # two changed rows
    flush_row(db.session(), first)
    first.visit_count += 1  # a new row with it
    db.session.add(Visit(work_order=first, seq=1, installer_id=installer_id, arrived_at=start))
    flush_row(db.session(), first)
    second.assignee = installer  # a changed relationship
    flush_row(db.session(), second)
    assert not db.session.dirty and not db.session.new
    db.session.commit()

    first, second = loaded(numbers[0]), db.session.scalar(select(WorkOrder).where(WorkOrder.number == numbers[1]))
    assert (first.notes, first.visit_count, len(first.visits)) == ("one", 1, 1)
    assert (second.notes, second.assignee_id) == ("two", installer_id)
    assert (first.version, second.version) == (3, 3)


def test_nothing_changed_writes_nothing(app_ctx: Flask) -> None:
    number = f.make_work_order().number
    db.session.commit()
    order = loaded(number)
    with counting(app_ctx) as seen:
        flush_row(db.session(), order)
    assert words(seen) == []


def test_an_expression_or_a_value_set_again_is_left_to_the_unit_of_work(app_ctx: Flask) -> None:
    number = f.make_work_order(notes="same").number
    db.session.commit()
    order = loaded(number)
    order.visit_count = WorkOrder.visit_count + 1  # only the database knows its value
    flush_row(db.session(), order)
    assert (order.visit_count, order.version) == (1, 2)  # written and read back
    order.notes = "same"  # no net change: nothing written, as by the unit of work
    with counting(app_ctx) as seen:
        flush_row(db.session(), order)
    assert words(seen) == [] and order.version == 2
