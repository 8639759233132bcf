"""The 双评议 placard: printed for the right people, its QR code holding the installer's stable
page; that page finds, by the last 4 phone digits, only that installer's visits waiting for a
rating, shows nothing else, and rates through the one submit path."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import segno
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fieldsvc.auth.models import User
from fieldsvc.db import utcnow
from fieldsvc.errors import Forbidden, NotFound
from fieldsvc.extensions import db
from fieldsvc.ratings import lookup
from fieldsvc.ratings.models import Placard, SurveyInvitation, SurveyResponse
from fieldsvc.ratings.placards import placard_by_code, qr_svg, rotate_placard
from fieldsvc.ratings.services import invitation_for, submit_rating
from tests import factories as f
from tests.conftest import csrf_token, sign_in
from tests.ratings.conftest import World, complete

CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def page_csrf(page: str) -> str:
    match = CSRF.search(page)
    assert match
    return match.group(1)


def placard_codes() -> dict[int, str]:
    return {installer: code for installer, code in db.session.execute(select(Placard.installer_id, Placard.code))}


def test_the_sheet_prints_the_team_with_each_qr_holding_the_installers_stable_page(
        app: Flask, client: FlaskClient, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    with app.app_context():
        rookie = f.make_user(username="w101", team=db.session.get(User, world.installer).team, name="王新人")
        db.session.commit()
        rookie_id = rookie.id
    encoded: list[str] = []
    make = segno.make
    monkeypatch.setattr(segno, "make", lambda data, **kw: encoded.append(data) or make(data, **kw))
    sign_in(client, "s100")
    printed = client.post("/placards/print", data={"team": "PA01", "csrf_token": csrf_token(client, "/placards")})
    assert printed.status_code == 303 and printed.headers["Location"] == "/placards/print?team=PA01"
    sheet = client.get(printed.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        codes = placard_codes()
    assert set(codes) == {world.installer, world.other, rookie_id}  # the rookie got a code; team B's kept its own
    links = [f"http://localhost/p/{codes[world.installer]}", f"http://localhost/p/{codes[rookie_id]}"]
    assert sorted(encoded) == sorted(links)  # what the two QR codes hold: each installer's page
    for link in links:
        assert qr_svg(link) in sheet and link in sheet
    assert "张师傅" in sheet and "w100" in sheet and "王新人" in sheet and "李师傅" not in sheet
    assert sheet.count('class="placard"') == 2 and "css/placard.css" in sheet
    # Printed again: the same code. The QR's page shows the installer by name only.
    client.post("/placards/print", data={"team": "PA01", "csrf_token": csrf_token(client, "/placards")})
    with app.app_context():
        assert placard_codes() == codes
    page = client.get(links[0].removeprefix("http://localhost"))
    assert page.status_code == 200 and "Master Zhang" in page.get_data(as_text=True)
    assert "w100" not in page.get_data(as_text=True)


def test_who_prints_whose_placard_and_a_new_code_retires_the_old_page(app: Flask, client: FlaskClient,
                                                                      world: World) -> None:
    sign_in(client, "s200")  # supervisor of team B
    token = csrf_token(client, "/placards")
    assert client.post("/placards/print", data={"team": "PA01", "csrf_token": token}).status_code == 404
    assert client.get("/placards/print?installer=w100").status_code == 404
    assert client.post("/placards/w100/new-code", data={"csrf_token": token}).status_code == 404
    client.post("/logout", data={"csrf_token": token})
    sign_in(client, "w100")
    token = csrf_token(client, "/placards")
    assert client.get("/placards/print?installer=w200").status_code == 404  # an installer: their own card only
    assert client.get("/placards/print").status_code == 200
    assert client.post("/placards/w100/new-code", data={"csrf_token": token}).status_code == 403
    client.post("/logout", data={"csrf_token": token})
    sign_in(client, "s100")
    token = csrf_token(client, "/placards")
    assert client.post("/placards/w100/new-code", data={"csrf_token": token}).status_code == 302
    with app.app_context():
        new = db.session.scalar(select(Placard.code).where(Placard.installer_id == world.installer))
        assert new != world.code and placard_by_code(world.code) is None
        with pytest.raises(Forbidden):  # the service holds the rule too
            rotate_placard(db.session.get(User, world.installer), db.session.get(User, world.other))
    assert client.get(f"/p/{world.code}").status_code == 404
    assert client.get(f"/p/{new}").status_code == 200


@pytest.fixture
def visits(app: Flask, world: World) -> dict[str, object]:
    """Installer A's visits and others, planted with markers: two open ones for a phone ending 1234
    (one stored with spaces and a dash), one for 5678, one already rated (2222), one whose link
    expired (3333); installer B's open one for 1234."""
    with app.app_context():
        a, b = db.session.get(User, world.installer), db.session.get(User, world.other)

        def customer(name: str, phone: str):
            return f.make_customer(name=f"Qz{name}Name", phone=phone, address=f"Qz{name}Addr路1号")

        mine, mine_token = complete(a, customer("Mine", "13912341234"))
        mine2, _ = complete(a, customer("Mine2", "139 0000-1234"), job_type="install")
        other_digits, _ = complete(a, customer("Digits", "13900005678"))
        rated, rated_token = complete(a, customer("Rated", "13955552222"))
        submit_rating(invitation_for(rated_token), 5)
        old, _ = complete(a, customer("Old", "13966663333"))
        old.completed_at = utcnow() - timedelta(days=9)
        db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.work_order_id == old.id)).expires_at = \
            utcnow() - timedelta(days=2)
        theirs, _ = complete(b, customer("Theirs", "13977771234"))
        db.session.commit()
        return {"mine": mine.id, "mine2": mine2.id, "mine_token": mine_token,
                "numbers": [o.number for o in (mine, mine2, other_digits, rated, old, theirs)]}


MARKERS = ("QzMineName", "QzMine2Name", "QzDigitsName", "QzRatedName", "QzOldName", "QzTheirsName",
           "Addr", "1391234", "12341234", "0000-1234", "13900005678", "1395555", "1396666", "1397777")


def test_the_lookup_finds_only_that_installers_open_recent_visits(app: Flask, world: World, visits: dict) -> None:
    with app.app_context():
        placard = placard_by_code(world.code)
        found = lookup.find_visits(placard, "1234")
        chosen = {lookup.picked_invitation(placard, v.pick).work_order_id for v in found}
        assert chosen == {visits["mine"], visits["mine2"]}
        assert [v.job_type.code for v in found] == ["install", "repair"]  # newest first
        named = [lookup.picked_invitation(placard, v.pick).id for v in found]
        # Full-width digits find the same visits (their picks name the same invitations; a pick also
        # carries the second it was issued, which moves on with the suite's ticking clock).
        assert [lookup.picked_invitation(placard, v.pick).id for v in lookup.find_visits(placard, "１２３４")] == named
        for nothing in ("0000", "2222", "3333", "234", "12345"):  # no such visit, rated, expired, not 4 digits
            assert lookup.find_visits(placard, nothing) == []
        assert lookup.find_visits(placard_by_code(world.other_code), "5678") == []
        # A pick is good on its own placard only, unaltered, for half an hour.
        pick = found[0].pick
        invitation_id, issued, signature = pick.split(".")
        for bad in (f"{int(invitation_id) + 1}.{issued}.{signature}", f"{invitation_id}.{int(issued) + 1}.{signature}"):
            with pytest.raises(NotFound):
                lookup.picked_invitation(placard, bad)
        with pytest.raises(NotFound):
            lookup.picked_invitation(placard_by_code(world.other_code), pick)
        with pytest.raises(NotFound):
            lookup.picked_invitation(placard, pick, utcnow() + timedelta(seconds=lookup.PICK_SECONDS + 5))
        db.session.get(User, world.other).is_active = False  # a deactivated installer's page is gone
        assert placard_by_code(world.other_code) is None and placard_by_code(world.code) is not None


def test_the_public_page_reveals_nothing_else_and_rates_the_picked_visit(app: Flask, world: World,
                                                                        visits: dict) -> None:
    customer = app.test_client()
    customer.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = customer.get(f"/p/{world.code}").get_data(as_text=True)
    assert "Master Zhang" in page and "w100" not in page and "<script" not in page
    token = page_csrf(page)

    def lookup_page(digits: str) -> str:
        answer = customer.post(f"/p/{world.code}", data={"digits": digits, "csrf_token": token})
        assert answer.status_code == 200
        return answer.get_data(as_text=True)

    found = lookup_page("1234")
    for secret in (*MARKERS, *visits["numbers"], visits["mine_token"]):
        assert secret not in found
    picks = re.findall(r'name="pick" value="([^"]+)"', found)
    assert len(picks) == 2 and "Fault repair" in found and "New install" in found
    # Wrong digits, the digits of a visit already rated, of one whose link expired: one and the
    # same answer, but for the digits echoed in the box.
    answers = {lookup_page(d).replace(f'value="{d}"', "") for d in ("0000", "2222", "3333")}
    assert len(answers) == 1 and "We found no visit" in answers.pop()
    assert customer.post(f"/p/{world.code}", data={"digits": "12a", "csrf_token": token}).status_code == 400

    form = customer.post(f"/p/{world.code}/rate", data={"pick": picks[1], "step": "choose", "csrf_token": token})
    assert form.status_code == 200
    text = form.get_data(as_text=True)
    assert 'name="score"' in text and "Fault repair" in text and "Master Zhang" in text
    assert not any(secret in text for secret in MARKERS)
    assert customer.post(f"/p/{world.code}/rate", data={"pick": picks[1], "csrf_token": token}).status_code == 400
    sent = customer.post(f"/p/{world.code}/rate", data={"pick": picks[1], "score": "2", "comment": "来晚了",
                                                         "csrf_token": token})
    assert sent.status_code == 200 and "Thank you!" in sent.get_data(as_text=True)
    again = customer.post(f"/p/{world.code}/rate", data={"pick": picks[1], "score": "5", "csrf_token": token})
    assert again.status_code == 404  # rated: the pick is spent
    with app.app_context():
        (response,) = db.session.scalars(select(SurveyResponse).where(SurveyResponse.work_order_id == visits["mine"]))
        assert (response.score, response.comment, response.installer_id) == (2, "来晚了", world.installer)
    assert customer.post(f"/p/{world.code}/rate", data={"pick": "1.2.3", "step": "choose",
                                                        "csrf_token": token}).status_code == 404
    assert customer.get("/p/nosuchcode2345").status_code == 404
