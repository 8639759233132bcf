"""The installer's phone pages and the job page's forms, end to end through the HTML views."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from fieldsvc.db import utcnow, zone
from fieldsvc.extensions import db
from fieldsvc.ratings.models import SurveyResponse
from fieldsvc.workorders.models import (
    OrderStatus,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderPhoto,
)
from tests import factories as f
from tests.conftest import csrf_token, sign_in


def form_fields(page: str, action: str) -> dict[str, str]:
    """The hidden fields of the job page's form for `action` (CSRF, version, idempotency key)."""
    start = page.index(f'name="action" value="{action}"')
    form_start = page.rindex("<form", 0, start)
    form_html = page[form_start:page.index("</form>", start)]
    fields = dict(re.findall(r'<input[^>]*?name="([^"]+)"[^>]*?value="([^"]*)"', form_html))
    fields.update({name: value for value, name in re.findall(r'<input[^>]*?value="([^"]*)"[^>]*?name="([^"]+)"', form_html)})
    return fields


def do(client: FlaskClient, number: str, action: str, **data):
    page = client.get(f"/orders/{number}").get_data(as_text=True)
    fields = form_fields(page, action)
    fields.update({f"{action}-{k}" if not k.startswith(action) else k: v for k, v in data.items()})
    return client.post(f"/orders/{number}/act", data=fields, content_type="multipart/form-data")


def jpeg(size=(2400, 1800), color="red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


def user(username: str):
    """The user with this username (call inside an app context)."""
    from fieldsvc.auth.models import User

    return db.session.scalar(select(User).where(User.username == username))


class Ref:
    """A committed order's number and id, usable outside any app context."""

    def __init__(self, number: str, id: int) -> None:
        self.number, self.id = number, id


@pytest.fixture
def order(app: Flask, web_crew: None) -> Ref:
    from fieldsvc.auth.models import User

    with app.app_context():
        installer = db.session.scalar(select(User).where(User.username == "w1"))
        made = f.make_work_order(OrderStatus.ASSIGNED, assignee=installer, job_type="install",
                                 customer=f.make_customer(name="王芳", phone="13900001111"))
        db.session.commit()
        return Ref(made.number, made.id)


def in_context(app: Flask, fn):
    with app.app_context():
        result = fn()
        db.session.commit()
        return result


def test_installer_takes_a_job_from_assigned_to_completed(client: FlaskClient, web_crew: None, order: Ref, app: Flask) -> None:
    sign_in(client, "w1")
    today = client.get("/today").get_data(as_text=True)
    assert order.number in today and "王芳" in today
    page = client.get(f"/orders/{order.number}").get_data(as_text=True)
    assert 'href="tel:13900001111"' in page and "uri.amap.com" in page
    assert do(client, order.number, "accept").status_code == 302
    tomorrow = (f.today() + timedelta(days=1)).isoformat()
    assert do(client, order.number, "book", day=tomorrow, slot="14-16").status_code == 302
    assert do(client, order.number, "depart").status_code == 302
    assert do(client, order.number, "arrive", lat="30.5", lon="114.3").status_code == 302
    refused = do(client, order.number, "complete", onu_serial="ZTEG1234ABCD")
    assert refused.status_code == 422
    assert "Required for this job type." in refused.get_data(as_text=True)
    done = do(client, order.number, "complete", onu_serial="ZTEG1234ABCD", rx_power_dbm="-19.5",
              material_item_0="蝶形光缆", material_qty_0="30", photos=(io.BytesIO(jpeg()), "onu.jpg"))
    assert done.status_code == 302
    assert "/rating-code?token=" in done.headers["Location"]
    code_page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "<svg" in code_page and "/r/" in code_page
    page = client.get(f"/orders/{order.number}").get_data(as_text=True)
    for text in ("Accept the job", "Book the appointment", "On my way", "I have arrived", "Complete the job",
                 "ZTEG1234ABCD", "-19.5", "蝶形光缆"):
        assert text in page
    with app.app_context():
        stored = db.session.get(WorkOrder, order.id)
        assert stored.status is OrderStatus.COMPLETED and stored.evidence["materials"] == [{"item": "蝶形光缆", "quantity": 30.0}]
        photo = db.session.scalar(select(WorkOrderPhoto))
        assert max(photo.width, photo.height) == 1600 and photo.content_type == "image/jpeg"
    assert "Done" in client.get("/done").get_data(as_text=True) and order.number in client.get("/done").get_data(as_text=True)


def test_a_resent_form_is_recorded_once(client: FlaskClient, web_crew: None, order: Ref, app: Flask) -> None:
    sign_in(client, "w1")
    fields = form_fields(client.get(f"/orders/{order.number}").get_data(as_text=True), "accept")
    assert client.post(f"/orders/{order.number}/act", data=fields).status_code == 302
    again = client.post(f"/orders/{order.number}/act", data=fields, follow_redirects=True)
    assert "This was already recorded." in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WorkOrderEvent).where(WorkOrderEvent.action == "accept")) == 1


def test_a_stale_page_gets_a_conflict_message_and_changes_nothing(client: FlaskClient, web_crew: None, order: Ref, app: Flask) -> None:
    """The message says who changed the order, what they did and when, and where it stands now, in
    the reader's language (all of it: the closing sentence too), not version numbers."""
    sign_in(client, "w1")
    fields = form_fields(client.get(f"/orders/{order.number}").get_data(as_text=True), "accept")
    chinese = app.test_client()
    chinese.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    sign_in(chinese, "w1")
    zh_fields = form_fields(chinese.get(f"/orders/{order.number}").get_data(as_text=True), "accept")
    with app.app_context():
        from fieldsvc.workorders import lifecycle

        fresh = db.session.get(WorkOrder, order.id)
        lifecycle.transition(fresh, user("s1"), "book", fresh.version, tz=None,
                             appointment_start=utcnow() + timedelta(hours=5), appointment_end=utcnow() + timedelta(hours=7))
        db.session.commit()
        names = user("s1").name_en, user("s1").name
        booked = db.session.scalar(select(WorkOrderEvent).where(WorkOrderEvent.action == "book"))
        at = booked.created_at.astimezone(zone()).strftime("%H:%M")
    response = client.post(f"/orders/{order.number}/act", data=fields)
    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert (f"has changed since you opened it: {names[0]}, “Book the appointment” at {at}. It is now assigned."
            " The page now shows the latest state.") in text
    assert "version" not in text.split('role="alert"')[1].split("</div>")[0]
    zh = chinese.post(f"/orders/{order.number}/act", data=zh_fields).get_data(as_text=True)
    alert = zh.split('role="alert"')[1].split("</div>")[0]
    assert names[1] in alert and at in alert and not re.search(r"[A-Za-z]{4,}", alert.replace(order.number, "")), alert
    with app.app_context():
        assert db.session.get(WorkOrder, order.id).status is OrderStatus.ASSIGNED


def test_another_installers_order_is_404(client: FlaskClient, web_crew: None, order: Ref) -> None:
    sign_in(client, "w3")
    assert client.get(f"/orders/{order.number}").status_code == 404
    response = client.post(f"/orders/{order.number}/act", data={"action": "accept"})
    assert response.status_code in (400, 404)  # the CSRF check may answer first; either way nothing changes
    assert "王芳" not in response.get_data(as_text=True)


def test_action_without_csrf_is_refused(client: FlaskClient, web_crew: None, order: Ref, app: Flask) -> None:
    sign_in(client, "w1")
    fields = form_fields(client.get(f"/orders/{order.number}").get_data(as_text=True), "accept")
    fields = {k: v for k, v in fields.items() if not k.endswith("csrf_token")}
    assert client.post(f"/orders/{order.number}/act", data=fields).status_code == 400
    with app.app_context():
        assert db.session.get(WorkOrder, order.id).status is OrderStatus.ASSIGNED


@pytest.mark.parametrize(
    ("payload", "name"),
    [(b"", "empty.jpg"), (b"GIF89a" + b"\x00" * 100, "fake.jpg"), (b"%PDF-1.4 not an image", "doc.png"),
     (b"\xff\xd8\xff" + b"\x00" * 200, "truncated.jpg")],
)
def test_bad_photos_are_refused_and_nothing_is_kept(client: FlaskClient, web_crew: None, order: Ref, app: Flask,
                                                    payload: bytes, name: str) -> None:
    with app.app_context():
        o = db.session.get(WorkOrder, order.id)
        o.status = OrderStatus.ON_SITE
        from fieldsvc.workorders.models import Visit

        db.session.add(Visit(work_order=o, seq=1, installer_id=user("w1").id, arrived_at=utcnow()))
        db.session.commit()
    sign_in(client, "w1")
    response = do(client, order.number, "complete", onu_serial="ZTEG1234ABCD", rx_power_dbm="-19",
                  photos=(io.BytesIO(payload), name))
    if payload:
        assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WorkOrderPhoto)) == 0
        assert db.session.get(WorkOrder, order.id).status is OrderStatus.ON_SITE or not payload


def test_photos_are_served_only_to_people_who_may_see_the_order(client: FlaskClient, web_crew: None, order: Ref, app: Flask, tmp_path) -> None:
    from fieldsvc.workorders import photos

    with app.app_context():
        (photo,) = photos.attach(db.session.get(WorkOrder, order.id), None, user("w1"),
                                 photos.prepare([("onu.jpg", io.BytesIO(jpeg((800, 600))))]))
        db.session.commit()
        photo_id = photo.id
    sign_in(client, "w1")
    with client.get(f"/photos/{photo_id}") as mine:
        assert mine.status_code == 200 and mine.mimetype == "image/jpeg"
        assert mine.headers["Cache-Control"].startswith("private") and mine.data[:3] == b"\xff\xd8\xff"
    client.post("/logout", data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', client.get("/today").get_data(as_text=True)).group(1)})
    sign_in(client, "w3")
    assert client.get(f"/photos/{photo_id}").status_code == 404
    other = FlaskClient(app, app.response_class)
    assert other.get(f"/photos/{photo_id}").status_code == 302


def test_upcoming_and_done_tabs(client: FlaskClient, web_crew: None, app: Flask) -> None:
    later = utcnow() + timedelta(days=2)
    with app.app_context():
        f.make_work_order(OrderStatus.ACCEPTED, assignee=user("w1"), number="WO-LATER",
                          appointment_start=later, appointment_end=later + timedelta(hours=2))
        f.make_work_order(OrderStatus.COMPLETED, assignee=user("w1"), number="WO-DONE", completed_at=utcnow())
        db.session.commit()
    sign_in(client, "w1")
    assert "WO-LATER" in client.get("/upcoming").get_data(as_text=True)
    assert "WO-LATER" not in client.get("/today").get_data(as_text=True)
    assert "WO-DONE" in client.get("/done").get_data(as_text=True)


def test_supervisor_sees_the_job_with_history_and_can_assign(client: FlaskClient, web_crew: None, app: Flask) -> None:
    with app.app_context():
        f.make_work_order(number="WO-NEW")
        db.session.commit()
    sign_in(client, "s1")
    page = client.get("/orders/WO-NEW").get_data(as_text=True)
    assert "Assign" in page and 'value="w1"' in page and 'value="w3"' not in page  # only their teams
    assert do(client, "WO-NEW", "assign", installer="w2").status_code == 422  # rookie: refused with reasons
    assert do(client, "WO-NEW", "assign", installer="w1").status_code == 302
    page = client.get("/orders/WO-NEW").get_data(as_text=True)
    assert "History" in page and "Assign" in page
    with app.app_context():
        assert db.session.scalar(select(WorkOrder).where(WorkOrder.number == "WO-NEW")).assignee.username == "w1"


@pytest.mark.parametrize("path", ["/today", "/upcoming", "/done"])
def test_installer_pages_are_for_installers(client: FlaskClient, web_crew: None, path: str) -> None:
    sign_in(client, "s1")
    assert client.get(path).status_code == 403


def test_customer_rates_once_through_the_link(client: FlaskClient, web_crew: None, app: Flask) -> None:
    from fieldsvc.workorders import lifecycle
    from fieldsvc.workorders.models import Visit

    with app.app_context():
        installer = user("w1")
        order = f.make_work_order(OrderStatus.ON_SITE, assignee=installer, job_type="repair")
        db.session.add(Visit(work_order=order, seq=1, installer=installer, arrived_at=utcnow()))
        db.session.commit()
        token = lifecycle.transition(order, installer, "complete", order.version, tz=None,
                                     evidence={"fault_cause": "onu"}).survey_token
        db.session.commit()
        installer_id = installer.id
    customer = app.test_client()
    customer.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    page = customer.get(f"/r/{token}")
    assert page.status_code == 200 and "满意" in page.get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    assert customer.post(f"/r/{token}", data={"csrf_token": csrf}).status_code == 400  # no score chosen
    sent = customer.post(f"/r/{token}", data={"csrf_token": csrf, "score": "5", "punctuality": "4",
                                              "comment": "师傅很专业"})
    assert sent.status_code == 200
    again = customer.post(f"/r/{token}", data={"csrf_token": csrf, "score": "1"})
    assert again.status_code == 200
    assert customer.get("/r/not-a-real-token").status_code == 404
    with app.app_context():
        (response,) = db.session.scalars(select(SurveyResponse)).all()
        assert (response.score, response.punctuality, response.comment, response.installer_id) == (5, 4, "师傅很专业", installer_id)


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_booking_in_year_1_or_9999_is_a_field_error_and_changes_nothing(client: FlaskClient, web_crew: None,
                                                                       order: Ref, app: Flask, day: str) -> None:
    sign_in(client, "w1")
    response = do(client, order.number, "book", day=day, slot="18-20")
    assert response.status_code == 400 and "Must be from 1900-01-01 to 2999-12-31." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(WorkOrder, order.id).appointment_start is None
        assert not db.session.scalars(select(WorkOrderEvent)).all()


def test_a_supervisors_job_page_offers_what_a_supervisor_may_do(client: FlaskClient, web_crew: None, order: Ref,
                                                                app: Flask) -> None:
    """No "Accept the job" / "On my way" / "I have arrived" for the supervisor of an installer's
    job: they book, reassign, unassign or cancel; and the steps are refused if posted anyway."""
    sign_in(client, "s1")
    page = client.get(f"/orders/{order.number}").get_data(as_text=True)
    for step in ("accept", "depart", "arrive", "complete", "leave_unresolved"):
        assert f'name="action" value="{step}"' not in page
    for mine in ("book", "cancel", "assign", "unassign"):
        assert f'name="action" value="{mine}"' in page
    fields = {k.replace("book-", "accept-"): v for k, v in form_fields(page, "book").items()}
    fields["action"] = "accept"
    assert client.post(f"/orders/{order.number}/act", data=fields).status_code == 403
    with app.app_context():
        assert db.session.get(WorkOrder, order.id).status is OrderStatus.ASSIGNED


def _completed(installer, **overrides) -> tuple[str, str]:
    """An order `installer` completed just now: (its number, its rating token)."""
    from fieldsvc.workorders import lifecycle
    from fieldsvc.workorders.models import Visit

    order = f.make_work_order(OrderStatus.ON_SITE, assignee=installer, job_type="repair", **overrides)
    db.session.add(Visit(work_order=order, seq=1, installer=installer, arrived_at=utcnow()))
    db.session.flush()
    token = lifecycle.transition(order, installer, "complete", order.version, tz=None,
                                 evidence={"fault_cause": "onu"}).survey_token
    db.session.commit()
    return order.number, token


def test_the_installer_shows_the_rating_code_again_with_a_fresh_link(client: FlaskClient, web_crew: None,
                                                                     app: Flask) -> None:
    """After leaving the QR page, the completed job offers the code again: a new link, the old one
    retired; only to the installer who completed it, with CSRF, while unrated and unexpired."""
    from fieldsvc.ratings.models import SurveyInvitation

    number, first = in_context(app, lambda: _completed(user("w1")))
    expired, _token = in_context(app, lambda: _completed(user("w1")))
    with app.app_context():
        invitation = db.session.scalar(select(SurveyInvitation).join(WorkOrder).where(WorkOrder.number == expired))
        invitation.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    url = f"/orders/{number}/rating-code/new"
    anonymous = client.post(url, data={"csrf_token": csrf_token(client)})
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    for who, status in (("s1", 403), ("admin", 403), ("w2", 404), ("w3", 404)):
        other = app.test_client()
        sign_in(other, who)
        token = re.search(r'name="csrf_token" value="([^"]+)"', other.get("/notifications").get_data(as_text=True)).group(1)
        assert other.post(url, data={"csrf_token": token}).status_code == status, who
        assert "Show the rating code again" not in other.get(f"/orders/{number}").get_data(as_text=True)
    sign_in(client, "w1")
    page = client.get(f"/orders/{number}").get_data(as_text=True)
    assert "Show the rating code again" in page
    assert client.post(url).status_code == 400  # no CSRF token
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    shown = client.post(url, data={"csrf_token": token})
    assert shown.status_code == 303 and "/rating-code?token=" in shown.headers["Location"]
    second = shown.headers["Location"].split("token=")[1]
    assert second != first
    qr = client.get(shown.headers["Location"])
    assert qr.status_code == 200 and "<svg" in qr.get_data(as_text=True)
    # Sized by its viewBox, so the stylesheet can centre and scale it (a fixed width drew it off-centre).
    svg = re.search(r"<svg[^>]*>", qr.get_data(as_text=True).split('class="qr"')[1]).group(0)
    assert "viewBox" in svg and "width=" not in svg, svg
    customer = app.test_client()
    assert customer.get(f"/r/{first}").status_code == 404  # retired
    assert client.get(f"/orders/{number}/rating-code?token={first}").status_code == 404
    rating = customer.get(f"/r/{second}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', rating).group(1)
    assert customer.post(f"/r/{second}", data={"csrf_token": csrf, "score": "5"}).status_code == 200
    # Rated: no offer, a post is refused and changes nothing; the rated link's QR page is gone.
    assert "Show the rating code again" not in client.get(f"/orders/{number}").get_data(as_text=True)
    refused = client.post(url, data={"csrf_token": token}, follow_redirects=True)
    assert "already been rated" in refused.get_data(as_text=True)
    assert client.get(f"/orders/{number}/rating-code?token={second}").status_code == 410
    # Expired: the same.
    assert "Show the rating code again" not in client.get(f"/orders/{expired}").get_data(as_text=True)
    refused = client.post(f"/orders/{expired}/rating-code/new", data={"csrf_token": token}, follow_redirects=True)
    assert "This rating link has expired" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 1


def test_leaving_a_job_unresolved_says_the_appointment_is_cleared_and_opens_book(client: FlaskClient, web_crew: None,
                                                                                app: Flask) -> None:
    from fieldsvc.workorders.models import Visit

    with app.app_context():
        installer = user("w1")
        start = utcnow() + timedelta(minutes=30)
        made = f.make_work_order(OrderStatus.ON_SITE, assignee=installer, appointment_start=start,
                                 appointment_end=start + timedelta(hours=2))
        db.session.add(Visit(work_order=made, seq=1, installer=installer, arrived_at=utcnow()))
        db.session.commit()
        number = made.number
    sign_in(client, "w1")
    page = client.get(f"/orders/{number}").get_data(as_text=True)
    assert "This clears the appointment" in page
    left = do(client, number, "leave_unresolved", reason="customer_absent")
    assert left.status_code == 302 and "open=book" in left.headers["Location"]
    after = client.get(left.headers["Location"]).get_data(as_text=True)
    assert "The appointment was cleared" in after
    assert re.search(r'<details id="action-book"\s+open>', after)
    assert "not booked" in after
    assert not re.search(r'<details id="action-book"\s+open>', client.get(f"/orders/{number}").get_data(as_text=True))


def test_the_customers_signature_has_its_own_place_not_among_the_photos(client: FlaskClient, web_crew: None,
                                                                        app: Flask) -> None:
    from fieldsvc.workorders.models import PhotoKind

    with app.app_context():
        installer = user("w1")
        made = f.make_work_order(OrderStatus.COMPLETED, assignee=installer, completed_at=utcnow())
        for n, kind in enumerate((PhotoKind.PHOTO, PhotoKind.SIGNATURE, PhotoKind.PHOTO)):
            db.session.add(WorkOrderPhoto(work_order=made, uploaded_by_id=installer.id, kind=kind,
                                          filename=f"f{n}.jpg", content_hash=f"{n:064d}", content_type="image/jpeg",
                                          width=320, height=140, size_bytes=100))
        db.session.commit()
        number = made.number
    sign_in(client, "w1")
    page = client.get(f"/orders/{number}").get_data(as_text=True)
    photos = page.split("<h2>Photos</h2>")[1].split("</section>")[0]
    signature = page.split("<h2>Customer signature</h2>")[1].split("</section>")[0]
    assert photos.count("<img") == 2 and "Customer signature" not in photos
    assert signature.count("<img") == 1 and 'alt="Customer signature"' in signature


def test_the_book_form_starts_from_the_current_appointment(client: FlaskClient, web_crew: None, app: Flask) -> None:
    from fieldsvc.workorders.slots import slot_times

    day = f.today() + timedelta(days=2)
    with app.app_context():
        start, end = slot_times(day, "14-16", zone())
        made = f.make_work_order(OrderStatus.ACCEPTED, assignee=user("w1"), appointment_start=start, appointment_end=end)
        bare = f.make_work_order(OrderStatus.ACCEPTED, assignee=user("w1"))
        db.session.commit()
        numbers = made.number, bare.number
    sign_in(client, "w1")
    page = client.get(f"/orders/{numbers[0]}").get_data(as_text=True)
    form = page[page.index('value="book"'):]
    form = form[:form.index("</form>")]
    assert re.search(rf'name="book-day"[^>]*value="{day.isoformat()}"|value="{day.isoformat()}"[^>]*name="book-day"', form)
    assert re.search(r'<option selected value="14-16">|<option value="14-16" selected>', form)
    assert f"Booked now: {day:%m-%d} 14:00–16:00" in form
    bare_page = client.get(f"/orders/{numbers[1]}").get_data(as_text=True)
    assert "Booked now" not in bare_page and "selected" not in bare_page.split('value="book"')[1].split("</form>")[0]
