"""The sign-in throttle's shared counters (database://): fixed windows in the application's database."""
from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import time_machine
from flask import Flask
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import func, select

from fieldsvc import create_app
from fieldsvc.db import utcnow
from fieldsvc.extensions import db
from fieldsvc.throttle import DatabaseStorage, RateLimitCounter, warn_if_counted_per_process


@pytest.fixture
def storage(app_ctx: Flask) -> DatabaseStorage:
    store = storage_from_string("database://")
    assert isinstance(store, DatabaseStorage)
    return store


def counters() -> int:
    return db.session.scalar(select(func.count()).select_from(RateLimitCounter))


def test_hits_count_within_a_window_and_start_again_after_it(storage: DatabaseStorage,
                                                             clock: time_machine.Coordinates) -> None:
    start = utcnow()
    assert [storage.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert storage.get("k") == 3 and storage.get("other") == 0
    assert abs(storage.get_expiry("k") - (start + timedelta(seconds=60)).timestamp()) < 5
    clock.shift(timedelta(seconds=59))
    assert storage.incr("k", 60, amount=2) == 5  # the window does not move on with each hit
    clock.shift(timedelta(seconds=2))
    assert storage.get("k") == 0
    assert storage.incr("k", 60) == 1  # a new window


def test_a_new_window_forgets_the_ended_ones(storage: DatabaseStorage, clock: time_machine.Coordinates) -> None:
    for key in ("a", "b", "c"):
        storage.incr(key, 60)
    clock.shift(timedelta(minutes=2))
    storage.incr("d", 60)
    assert counters() == 1


def test_clear_reset_and_long_keys(storage: DatabaseStorage) -> None:
    long_key = "LIMITER/login:" + "字" * 300 + "/auth.login/5/1/minute"
    assert storage.incr(long_key, 60) == 1 and storage.incr(long_key, 60) == 2 and storage.get(long_key) == 2
    storage.incr("x", 60)
    storage.clear("x")
    assert storage.get("x") == 0 and storage.check()
    assert storage.reset() == 1 and counters() == 0


def test_a_limit_over_the_store(storage: DatabaseStorage) -> None:
    limiter = FixedWindowRateLimiter(storage)
    five = parse("5/minute")
    assert [limiter.hit(five, "login:w1") for _ in range(6)] == [True] * 5 + [False]
    assert limiter.get_window_stats(five, "login:w1").remaining == 0
    assert limiter.hit(five, "login:w2")


def test_counting_in_memory_under_a_server_is_logged_loudly(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    per_process = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x",
                              "RATELIMIT_STORAGE_URI": "memory://", "RATELIMIT_ENABLED": False})
    per_process.config["RATELIMIT_ENABLED"] = True
    with caplog.at_level(logging.WARNING):
        warn_if_counted_per_process(app)  # database:// (the default)
        assert caplog.records == []
        warn_if_counted_per_process(per_process)
    assert "each worker process apart" in caplog.text and caplog.records[0].levelno == logging.WARNING
