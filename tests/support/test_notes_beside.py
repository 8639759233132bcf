"""The standard-procedure notes beside a request for help: in the job page's "Ask for help", the
notes of each category, folded under it (the chosen one's only, with JavaScript: test_browser);
on the desk's request page, the notes of its category, rendered safely. Only active notes; a
constant number of statements however many notes there are."""
from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fieldsvc.auth.models import User
from fieldsvc.db import utcnow
from fieldsvc.extensions import db
from fieldsvc.support.knowledge import NoteData, create_note, notes_by_category
from fieldsvc.support.services import NewRequest, raise_request
from fieldsvc.workorders.models import WorkOrder
from tests.conftest import csrf_token, sign_in
from tests.workorders.test_query_counts import counting

from .conftest import World


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _note(title: str, categories: tuple[str, ...], *, body: str = "先**清洁**连接器。", active: bool = True,
          job_types: tuple[str, ...] = ()) -> int:
    note = create_note(_user("a1"), NoteData(title_zh=title, body_zh=body, categories=categories, job_types=job_types,
                                             is_active=active))
    return note.id


def _notes(app: Flask) -> dict[str, int]:
    with app.app_context():
        ids = {
            "signal": _note("光功率偏低排查", ("optical_signal",),
                            body="先**清洁**连接器。<script>alert(1)</script> [x](javascript:alert(1))"),
            "both": _note("分光器端口核查", ("optical_signal", "resource_port")),
            "port": _note("无空闲端口处理", ("resource_port",)),
            "retired": _note("旧版光功率流程", ("optical_signal",), active=False),
            "job_only": _note("修障要点", (), job_types=("repair",)),
        }
        db.session.commit()
    return ids


def _raise(app: Flask, number: str, category: str) -> int:
    with app.app_context():
        order = db.session.scalar(select(WorkOrder).where(WorkOrder.number == number))
        request = raise_request(order, order.assignee, NewRequest(category, "帮忙看看"), utcnow())
        db.session.commit()
        return request.id


def _ask_notes(page: str) -> dict[str, list[str]]:
    """The note links under each category of the page's "Ask for help"."""
    found = re.search(r'<div class="ask-notes" data-ask-notes>(.*?)</div>', page, re.S)
    if found is None:
        return {}
    return {code: re.findall(r'href="/notes/(\d+)"', group)
            for code, group in re.findall(r'<details data-category="(\w+)">(.*?)</details>', found.group(1), re.S)}


def test_the_desk_sees_the_notes_of_the_requests_category_only(app: Flask, client: FlaskClient, world: World) -> None:
    ids = _notes(app)
    signal = _raise(app, world.en_route, "optical_signal")
    port = _raise(app, world.other, "resource_port")
    sign_in(client, "a1")
    page = client.get(f"/support/requests/{signal}").get_data(as_text=True)
    assert "Procedures for Optical signal" in page
    assert "光功率偏低排查" in page and "分光器端口核查" in page
    assert "无空闲端口处理" not in page and "旧版光功率流程" not in page and "修障要点" not in page
    assert f'href="/notes/{ids["signal"]}"' in page and f'href="/notes/{ids["retired"]}"' not in page
    # The body rendered by the notes' own renderer: Markdown to HTML, typed HTML as text, no script link.
    assert "先<strong>清洁</strong>连接器。" in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page and 'href="javascript:' not in page
    other = client.get(f"/support/requests/{port}").get_data(as_text=True)
    assert "无空闲端口处理" in other and "分光器端口核查" in other
    assert "光功率偏低排查" not in other and "旧版光功率流程" not in other


def test_a_request_whose_category_has_no_notes_shows_none(app: Flask, client: FlaskClient, world: World) -> None:
    _notes(app)
    request_id = _raise(app, world.en_route, "customer_equipment")
    sign_in(client, "s1")
    page = client.get(f"/support/requests/{request_id}").get_data(as_text=True)
    assert "procedure-notes" not in page and "光功率偏低排查" not in page


def test_ask_for_help_lists_each_categorys_active_notes(app: Flask, client: FlaskClient, world: World) -> None:
    ids = _notes(app)
    sign_in(client, "w1")
    page = client.get(f"/orders/{world.en_route}").get_data(as_text=True)
    # By category in their own order, by title within one; the inactive note and the job type's are not here.
    assert _ask_notes(page) == {"resource_port": [str(ids["both"]), str(ids["port"])],
                                "optical_signal": [str(ids["signal"]), str(ids["both"])]}
    assert 'target="_blank" rel="noopener">光功率偏低排查</a>' in page
    assert "Optical signal (2)" in page
    # Refused for a missing note, the form page comes back with the notes beside the category.
    refused = client.post(f"/orders/{world.en_route}/support", data={
        "csrf_token": csrf_token(client, "/notifications"), "category": "optical_signal", "note": ""})
    assert refused.status_code == 400 and "optical_signal" in _ask_notes(refused.get_data(as_text=True))
    # No "Ask for help" on a job not yet on the way: no notes beside it either.
    assert _ask_notes(client.get(f"/orders/{world.assigned}").get_data(as_text=True)) == {}


def test_no_notes_no_list(app: Flask, client: FlaskClient, world: World) -> None:
    sign_in(client, "w1")
    page = client.get(f"/orders/{world.en_route}").get_data(as_text=True)
    assert 'id="support-ask"' in page and "data-ask-notes" not in page


def test_notes_by_category_is_one_statement(app: Flask, app_ctx: Flask, world: World) -> None:
    for i in range(6):
        _note(f"笔记{i}", ("optical_signal", "technical", "other")[: 1 + i % 3])
    db.session.commit()
    with counting(app) as statements:
        grouped = notes_by_category()
    assert len(statements) == 1
    assert {code: len(notes) for code, notes in grouped.items()} == {"optical_signal": 6, "technical": 4, "other": 2}


def test_the_job_page_costs_the_same_with_no_notes_or_many(app: Flask, client: FlaskClient, world: World) -> None:
    sign_in(client, "w1")
    path = f"/orders/{world.en_route}"

    def statements() -> int:
        with counting(app) as seen:
            assert "support-ask" in client.get(path).get_data(as_text=True)
        return len(seen)

    none = statements()
    with app.app_context():
        for i in range(8):  # beside help, and half of them also in the job type's own panel
            _note(f"笔记{i}", ("optical_signal", "technical", "resource_port", "other")[: 1 + i % 4],
                  job_types=("install", "relocation", "upgrade", "repair", "smart_home", "iptv", "removal")[: 7 * (i % 2)])
        db.session.commit()
    many = statements()
    assert many == none
    assert "procedure-notes-heading" in client.get(path).get_data(as_text=True)
    # Within what the job page cost before the notes: its requests are read once now, not twice
    # (the panel and its polled part), and the notes of "Ask for help" take that statement (12 before
    # conditional GET, one over the 11 that stood here); two more for the installer's page's validator.
    assert many <= 14
