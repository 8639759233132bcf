"""Offline on a real phone-sized browser (Chromium at 390×844, its service worker on the test
server's 127.0.0.1 origin, which browsers treat as secure): the installer opens three jobs, loses
the connection, takes them through their steps (one with its checklist and signature, one with a
photo), reloads the page offline (the outbox survives), and comes back online: the server records
each step exactly once and in order; the order a supervisor cancelled meanwhile is refused and
says why. Runs where Debian's chromium and playwright are installed."""
from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select

from fieldsvc.auth.models import Role, User
from fieldsvc.db import zone
from fieldsvc.extensions import db
from fieldsvc.workforce.models import JobType
from fieldsvc.workorders import lifecycle, standards
from fieldsvc.workorders.models import OrderStatus, Visit, WorkOrder, WorkOrderEvent
from fieldsvc.workorders.standards import StepTick
from tests import factories as f
from tests.workorders.test_browser import draw_signature, no_horizontal_scroll, phone, sign_in_as  # noqa: F401

pytestmark = [pytest.mark.real_clock]

STEPS = [standards.StepInput("shoe_covers", "进门穿戴鞋套", "Put on shoe covers at the door", standards.Phase.ON_SITE),
         standards.StepInput("cleaned_up", "清理施工现场", "Clean up the work area", standards.Phase.AT_COMPLETION)]


def photo() -> dict:
    out = io.BytesIO()
    Image.new("RGB", (3000, 2000), "teal").save(out, "JPEG")  # a phone's photo: resized before it is queued
    return {"name": "meter.jpg", "mimeType": "image/jpeg", "buffer": out.getvalue()}


def waiting(page, n: int) -> None:
    page.wait_for_function(f"() => /Waiting to send: {n}(?!\\d)/.test(document.querySelector('#outbox .outbox-count').textContent)")


def book(page, queued: int) -> None:
    page.click("summary:has-text('Book the appointment')")
    page.fill("input[name='book-day']", (date.today() + timedelta(days=1)).isoformat())
    page.select_option("select[name='book-slot']", "14-16")
    page.click("details[open] button[type=submit]")
    waiting(page, queued)


def step(page, label: str, queued: int) -> None:
    page.click(f"section.actions button:visible:has-text('{label}')")
    waiting(page, queued)


def test_three_jobs_taken_offline_reach_the_server_once_and_in_order(app: Flask, server: str, phone) -> None:  # noqa: F811
    with app.app_context():
        team = f.make_team()
        installer = f.certify_fully(f.make_user(Role.INSTALLER, username="w1", team=team))
        f.make_user(Role.SUPERVISOR, username="s1", team=team)
        admin = f.make_user(Role.ADMIN, username="admin")
        install = db.session.scalar(select(JobType).where(JobType.code == "install"))
        version = standards.put_version(install, STEPS, admin, seen=0)
        first = f.make_work_order(OrderStatus.ASSIGNED, assignee=installer, job_type="install", number="WO-FIRST")
        db.session.add(standards.OrderStandard(work_order_id=first.id, version_id=version.id))
        second = f.make_work_order(OrderStatus.ON_SITE, assignee=installer, job_type="repair", number="WO-SECOND")
        second.job_type.photos_required = 1
        db.session.add(Visit(work_order=second, seq=1, installer=installer, arrived_at=second.created_at))
        f.make_work_order(OrderStatus.ASSIGNED, assignee=installer, job_type="repair", number="WO-THIRD")
        db.session.commit()
    page = phone
    context = page.context
    problems: list[str] = []
    # (the refused replays' 409 answers are logged as failed loads: expected here)
    page.on("console", lambda message: problems.append(message.text)
            if message.type == "error" and "409" not in message.text else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                         "console.error('CSP refused ' + e.violatedDirective))")
    sign_in_as(page, server, "w1")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    for number in ("WO-FIRST", "WO-SECOND", "WO-THIRD"):
        page.goto(f"{server}/orders/{number}")  # opened once: kept on the phone
    page.goto(f"{server}/upcoming")
    page.goto(f"{server}/today")

    context.set_offline(True)
    for path, heading in (("/", "Today's jobs"), ("/upcoming", "Upcoming jobs")):  # the home-screen icon opens "/"
        page.goto(f"{server}{path}")
        assert page.evaluate("document.documentElement.dataset.copy") == "saved", path
        assert page.inner_text("h1") == heading and page.is_visible("#offline-note")
        if path == "/":
            assert page.locator("a[href='/orders/WO-FIRST']").count() == 1
    page.goto(f"{server}/orders/WO-FIRST")
    assert page.evaluate("document.documentElement.dataset.copy") == "saved"
    assert page.is_visible("#offline-note")  # "this page is as it was at …"
    step(page, "Accept the job", 1)
    assert page.inner_text("[data-order-status]") == "accepted"
    book(page, 2)
    step(page, "On my way", 3)
    step(page, "I have arrived", 4)
    page.click("button:has-text('Put on shoe covers at the door')")
    waiting(page, 5)
    page.click("button:has-text('Clean up the work area')")
    waiting(page, 6)
    page.click("summary:has-text('Complete the job')")
    page.fill("input[name='complete-onu_serial']", "ZTEG1234ABCD")
    page.fill("input[name='complete-rx_power_dbm']", "-19.5")
    draw_signature(page)
    page.click("details[open] button[type=submit]")
    waiting(page, 7)
    assert page.inner_text("[data-order-status]") == "completed"
    no_horizontal_scroll(page)

    page.goto(f"{server}/orders/WO-SECOND")
    page.click("summary:has-text('Complete the job')")
    page.select_option("select[name='complete-fault_cause']", "onu")
    page.locator("input[name='complete-photos']").set_input_files([photo()])
    page.fill("textarea[name='complete-note']", "换了光猫")
    page.click("details[open] button[type=submit]")
    waiting(page, 8)

    page.goto(f"{server}/orders/WO-THIRD")
    step(page, "Accept the job", 9)
    book(page, 10)
    step(page, "On my way", 11)

    page.reload()  # still offline: the saved copy, and the outbox is still there
    waiting(page, 11)
    assert page.inner_text("[data-order-status]") == "en route"
    with app.app_context():  # meanwhile the supervisor cancels the third order
        order = db.session.scalar(select(WorkOrder).where(WorkOrder.number == "WO-THIRD"))
        lifecycle.transition(order, db.session.scalar(select(User).where(User.username == "s1")), "cancel",
                             order.version, tz=zone(), reason="客户撤单")
        db.session.commit()

    context.set_offline(False)
    # Sent, and the page reloaded from the server (the order as it is now), listing what was refused.
    page.wait_for_selector("[data-order-status]:has-text('cancelled')", timeout=30_000)
    page.wait_for_function("() => document.querySelectorAll('#outbox .outbox-problems > li').length === 3")
    assert "Waiting" not in page.inner_text("#outbox .outbox-count")
    problems_text = page.inner_text("#outbox")
    assert "Not recorded" in problems_text and "WO-THIRD" in problems_text
    assert "has changed since you opened it" in problems_text and "Cancel the order" in problems_text
    # The two steps after the refused one wait for it, and say so; each has a way out.
    assert problems_text.count("an earlier step of this job was not recorded") == 2
    assert page.locator("#outbox a:has-text('Open the job as it is now')").count() == 3
    no_horizontal_scroll(page)

    with app.app_context():
        def trail(number: str) -> list[str]:
            order = db.session.scalar(select(WorkOrder).where(WorkOrder.number == number))
            return [e.action for e in db.session.scalars(select(WorkOrderEvent).where(
                WorkOrderEvent.work_order_id == order.id).order_by(WorkOrderEvent.id))]

        assert trail("WO-FIRST") == ["accept", "book", "depart", "arrive", "complete"]
        assert trail("WO-SECOND") == ["complete"]
        assert trail("WO-THIRD") == ["cancel"]
        done = db.session.scalar(select(WorkOrder).where(WorkOrder.number == "WO-FIRST"))
        assert done.status is OrderStatus.COMPLETED and done.evidence["signature"] is True
        assert done.evidence["onu_serial"] == "ZTEG1234ABCD"
        ticks = db.session.scalars(select(StepTick.code).where(StepTick.work_order_id == done.id)).all()
        assert sorted(ticks) == ["booked_call", "cleaned_up", "shoe_covers"]
        repaired = db.session.scalar(select(WorkOrder).where(WorkOrder.number == "WO-SECOND"))
        assert repaired.status is OrderStatus.COMPLETED and repaired.evidence["photos"] == 1
        resized = repaired.photos[0]
        assert max(resized.width, resized.height) <= 1600
        note = db.session.scalar(select(WorkOrderEvent.note).where(WorkOrderEvent.work_order_id == repaired.id))
        assert note == "换了光猫"

    # Discarding the refused step lets the two after it go: refused in turn (the order is cancelled).
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#outbox li:has-text('Accept the job') button:has-text('Discard')")
    page.wait_for_function("() => document.querySelectorAll('#outbox .outbox-problems > li').length === 2")
    assert not problems, problems


def open_own_job(app: Flask, server: str, page, number: str) -> None:
    """An installer w1 with one assigned repair `number`, signed in on the phone once its service
    worker controls the page, on the job's page."""
    with app.app_context():
        installer = f.certify_fully(f.make_user(Role.INSTALLER, username="w1", team=f.make_team()))
        f.make_work_order(OrderStatus.ASSIGNED, assignee=installer, job_type="repair", number=number)
        db.session.commit()
    sign_in_as(page, server, "w1")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.goto(f"{server}/orders/{number}")


def test_a_step_sent_on_a_weak_signal_is_kept_and_sent_later(app: Flask, server: str, phone) -> None:  # noqa: F811
    """The phone believes it is online, so the form posts as usual, but the request never arrives:
    the service worker keeps the step in the outbox and opens the job page, which says it waits;
    with the signal back it is sent, once."""
    page = phone
    open_own_job(app, server, page, "WO-WEAK")
    lost = lambda route: route.abort("internetdisconnected")  # noqa: E731
    page.context.route("**/orders/WO-WEAK/act", lost)
    with page.expect_navigation():
        page.click("button:has-text('Accept the job')")
    waiting(page, 1)
    assert page.url.endswith("/orders/WO-WEAK")
    page.context.unroute("**/orders/WO-WEAK/act", lost)
    # The signal is back: the page's next try (on "online" here; every half minute anyway) sends it.
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    page.wait_for_selector("ol.history li:has-text('Accept the job')")  # recorded, and the page reloaded
    assert page.is_hidden("#outbox")
    with app.app_context():
        order = db.session.scalar(select(WorkOrder).where(WorkOrder.number == "WO-WEAK"))
        events = db.session.scalars(select(WorkOrderEvent.action).where(WorkOrderEvent.work_order_id == order.id)).all()
        assert events == ["accept"] and order.status is OrderStatus.ACCEPTED
    assert page.inner_text("[data-order-status]") == "accepted"


KEPT = """async () => ({caches: await caches.keys(),
  databases: (await indexedDB.databases()).map(d => d.name)})"""


def test_signing_out_leaves_nothing_of_theirs_on_the_phone(app: Flask, server: str, phone) -> None:  # noqa: F811
    """A step waiting to be sent asks first; then the saved pages and the outbox are gone."""
    page = phone
    open_own_job(app, server, page, "WO-KEPT")
    page.context.set_offline(True)
    step(page, "Accept the job", 1)
    kept = page.evaluate(KEPT)
    assert "fieldsvc-pages" in kept["caches"] and "fieldsvc-offline" in kept["databases"]
    # (signing out needs the connection; the outbox is kept from sending meanwhile)
    page.context.route("**/session/token", lambda route: route.abort("internetdisconnected"))
    page.context.set_offline(False)
    asked: list[str] = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.click("header .more > summary")
    with page.expect_navigation():
        page.click("header button:has-text('Sign out')")
    assert page.url.endswith("/login") and asked == ["Not sent yet: 1. Signing out discards them. Sign out anyway?"]
    assert page.evaluate(KEPT) == {"caches": [], "databases": []}
    with app.app_context():
        assert not db.session.scalars(select(WorkOrderEvent)).all()  # discarded, as agreed


def test_a_step_kept_past_the_end_of_the_session_is_sent_after_signing_in_again(app: Flask, server: str,
                                                                                 phone) -> None:  # noqa: F811
    """Hours later the session (and the saved page's CSRF token with it) has ended: the steps wait
    and the page asks to sign in; signed in again, the same user's steps go with a fresh token."""
    page = phone
    open_own_job(app, server, page, "WO-LATER")
    page.context.set_offline(True)
    step(page, "Accept the job", 1)
    page.context.clear_cookies()  # the session ran out meanwhile
    page.context.set_offline(False)
    page.wait_for_selector("#outbox a:has-text('Sign in')")
    assert "Sign in again to send what waits on this phone." in page.inner_text("#outbox")
    with page.expect_navigation():
        page.click("#outbox a:has-text('Sign in')")
    page.fill("#username", "w1")
    page.fill("#password", f.PASSWORD)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    page.wait_for_selector("ol.history li:has-text('Accept the job')")  # recorded, and the page reloaded
    assert page.is_hidden("#outbox")
    assert page.url.endswith("/orders/WO-LATER")
    with app.app_context():
        order = db.session.scalar(select(WorkOrder).where(WorkOrder.number == "WO-LATER"))
        assert db.session.scalars(select(WorkOrderEvent.action).where(
            WorkOrderEvent.work_order_id == order.id)).all() == ["accept"]


def test_photos_beyond_what_the_phone_may_keep_are_refused_there(app: Flask, server: str, phone,  # noqa: F811
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from fieldsvc.workorders import photos

    monkeypatch.setattr(photos, "MAX_QUEUED_MEGABYTES", 0)  # any photo is too much
    with app.app_context():
        installer = f.certify_fully(f.make_user(Role.INSTALLER, username="w1", team=f.make_team()))
        order = f.make_work_order(OrderStatus.ON_SITE, assignee=installer, job_type="repair", number="WO-FULL")
        db.session.add(Visit(work_order=order, seq=1, installer=installer, arrived_at=order.created_at))
        db.session.commit()
    page = phone
    sign_in_as(page, server, "w1")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.goto(f"{server}/orders/WO-FULL")
    page.context.set_offline(True)
    page.click("summary:has-text('Complete the job')")
    page.select_option("select[name='complete-fault_cause']", "onu")
    page.locator("input[name='complete-photos']").set_input_files([photo()])
    # Dismissed as it opens: an alert left open can hold the click (it waits for the page to settle).
    page.once("dialog", lambda dialog: dialog.dismiss())
    with page.expect_event("dialog") as shown:
        page.click("details[open] button[type=submit]")
    assert shown.value.message == "Not enough room on this phone for these photos: send what waits first."
    assert page.evaluate("() => window.FieldsvcOutbox.all().then(items => items.length)") == 0
    assert page.is_hidden("#outbox .outbox-count:has-text('Waiting')")
