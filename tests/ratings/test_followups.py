"""Follow-ups (回访) of dissatisfied ratings: one per 1–2 star rating, none for 3; the steps open →
contacted → closed with who, when and a note on the order's trail; overdue after the contact
window; a stale form refused; "revisit booked" creates exactly one linked order; who sees what."""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from fieldsvc.auth.models import User
from fieldsvc.auth.services import create_token
from fieldsvc.db import utcnow
from fieldsvc.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation
from fieldsvc.extensions import db
from fieldsvc.notifications.models import Notification
from fieldsvc.ratings import followups
from fieldsvc.ratings.followups import Closing, close_followup, load_followup, record_contact
from fieldsvc.ratings.models import FollowUp, FollowUpCause, FollowUpOutcome, FollowUpStatus, SurveyResponse
from fieldsvc.ratings.services import invitation_for, invite, submit_rating
from fieldsvc.rules.services import set_setting
from fieldsvc.workorders.models import OrderStatus, WorkOrder, WorkOrderEvent
from tests import factories as f
from tests.conftest import csrf_token, sign_in
from tests.workorders.conftest import Crew, build_crew

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def crew(app_ctx: Flask) -> Crew:
    """tests/workorders' crew (team HS01: w1, s1; JA01: w3, s2; the admin), for calling services."""
    return build_crew()


def rated_order(installer, score: int, **overrides) -> WorkOrder:
    """An order `installer` completed an hour ago, rated `score` stars through its link now."""
    done = utcnow() - timedelta(hours=1)
    order = f.make_work_order(OrderStatus.COMPLETED, assignee=installer, completed_by_id=installer.id,
                              completed_at=done, created_at=done - timedelta(hours=3), **overrides)
    token = invite(order, done)
    submit_rating(invitation_for(token), score, comment="装完就断网")
    db.session.commit()
    return order


def test_a_bad_rating_opens_exactly_one_followup_a_three_star_rating_none(crew: Crew) -> None:
    bad = rated_order(crew.installer, 2)
    rated_order(crew.installer, 3)
    (followup,) = db.session.scalars(select(FollowUp)).all()
    assert followup.work_order_id == bad.id and followup.status is FollowUpStatus.OPEN
    assert followup.installer_id == crew.installer.id
    assert followup.contact_due_at - followup.opened_at == timedelta(hours=24)
    (event,) = [e for e in bad.events if e.action == followups.OPEN_ACTION]
    assert event.actor_id is None and event.data == {"followup": followup.id, "score": 2}
    # The team's supervisor is told, not the other team's.
    notices = db.session.scalars(select(Notification).where(Notification.kind == followups.FOLLOWUP_OPENED)).all()
    assert [n.user_id for n in notices] == [crew.supervisor.id]
    assert bad.number in notices[0].message and notices[0].link == f"/followups/{followup.id}"
    # The rating is claimed once; the database refuses a second follow-up of the same rating too.
    with pytest.raises(Conflict):
        submit_rating(db.session.get(SurveyResponse, followup.response_id).invitation, 1)
    db.session.rollback()
    db.session.add(FollowUp(response_id=followup.response_id, work_order_id=bad.id, opened_at=utcnow(),
                            contact_due_at=utcnow()))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(FollowUp)) == 1


def test_not_contacted_within_the_window_is_overdue(crew: Crew, clock) -> None:
    # From today the branch gives 2 hours: a follow-up opened now must be contacted by then.
    set_setting("followup_contact_hours", 2, f.today(), actor_id=None)
    rated_order(crew.installer, 1)
    followup = db.session.scalar(select(FollowUp))
    assert followup.contact_due_at - followup.opened_at == timedelta(hours=2)
    assert not followups.is_overdue(followup)
    assert followups.board_queue(crew.supervisor, utcnow()).overdue == 0
    later = utcnow() + timedelta(hours=2, minutes=1)
    assert followups.is_overdue(followup, later)
    queue = followups.board_queue(crew.supervisor, later)
    assert (queue.waiting, queue.overdue, [q.id for q in queue.first]) == (1, 1, [followup.id])
    listed, total = followups.followup_page(crew.supervisor, followups.FollowUpFilters(state="overdue"), later, TZ)
    assert total == 1 and listed == [followup]
    record_contact(followup, crew.supervisor, followup.version, "客户说网络已恢复", now=later)
    assert not followups.is_overdue(followup, later + timedelta(days=1))
    assert followups.board_queue(crew.supervisor, later).overdue == 0


def test_the_steps_their_trail_and_their_refusals(crew: Crew) -> None:
    order = rated_order(crew.installer, 1)
    followup = load_followup(crew.supervisor, db.session.scalar(select(FollowUp.id)))
    # Other teams' supervisors do not see it; installers do not act on it.
    with pytest.raises(NotFound):
        load_followup(crew.other_supervisor, followup.id)
    with pytest.raises(Forbidden):
        record_contact(followup, crew.installer, followup.version, "note")
    with pytest.raises(InvalidInput):
        record_contact(followup, crew.supervisor, followup.version, "  ")
    with pytest.raises(RuleViolation):  # nobody contacted: only "customer unreachable" closes it
        close_followup(followup, crew.supervisor, followup.version, Closing("resolved", "已解决"), TZ)
    seen = followup.version
    record_contact(followup, crew.supervisor, seen, "客户反映师傅迟到")
    with pytest.raises(Conflict):  # a stale form
        close_followup(followup, crew.admin, seen, Closing("explained", "已解释"), TZ)
    with pytest.raises(InvalidInput) as refused:  # conduct is the installer's: not "not their fault"
        close_followup(followup, crew.supervisor, followup.version,
                       Closing("not_installer_fault", "非装维原因", cause="installer_conduct"), TZ)
    assert "cause" in refused.value.details["errors"]
    close_followup(followup, crew.supervisor, followup.version,
                   Closing("not_installer_fault", "光缆中断导致", cause="network_quality"), TZ)
    db.session.commit()
    assert (followup.status, followup.outcome, followup.cause, followup.counts_against_installer) == (
        FollowUpStatus.CLOSED, FollowUpOutcome.NOT_INSTALLER_FAULT, FollowUpCause.NETWORK_QUALITY, False)
    assert followup.contacted_by_id == followup.closed_by_id == crew.supervisor.id
    with pytest.raises(Conflict):
        close_followup(followup, crew.supervisor, followup.version, Closing("resolved", "again"), TZ)
    trail = db.session.scalars(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == order.id)
                               .order_by(WorkOrderEvent.id)).all()
    assert [(e.action, e.note) for e in trail if e.action.startswith("followup")] == [
        ("followup_open", None), ("followup_contact", "客户反映师傅迟到"), ("followup_close", "光缆中断导致")]
    assert trail[-1].data["outcome"] == "not_installer_fault" and trail[-1].data["cause"] == "network_quality"
    # Each step is a change of the order: a version per event (the factory's order starts at 1 with
    # no event of its own), its last change the last step.
    db.session.refresh(order)
    assert order.version == 1 + len(trail) and order.updated_at == trail[-1].created_at
    assert order.status is OrderStatus.COMPLETED
    # The rating stays as the customer gave it.
    assert db.session.get(SurveyResponse, followup.response_id).score == 1


def test_revisit_booked_creates_one_linked_order(crew: Crew) -> None:
    order = rated_order(crew.installer, 2)
    followup = load_followup(crew.supervisor, db.session.scalar(select(FollowUp.id)))
    record_contact(followup, crew.supervisor, followup.version, "客户同意再次上门")
    close_followup(followup, crew.supervisor, followup.version,
                   Closing("revisit_booked", "约明天上门复查", cause="workmanship"), TZ)
    db.session.commit()
    revisits = db.session.scalars(select(WorkOrder).where(WorkOrder.parent_order_id == order.id)).all()
    assert [r.id for r in revisits] == [followup.revisit_order_id]
    revisit = revisits[0]
    assert (revisit.status, revisit.customer_id, revisit.address, revisit.job_type.code, revisit.assignee_id) == (
        OrderStatus.NEW, order.customer_id, order.address, "repair", None)
    assert revisit.version == 1 and followup.counts_against_installer is True
    assert [e.action for e in revisit.events] == ["create"]
    assert [p.id for p in followups.followups_of_order(crew.supervisor, revisit)] == [followup.id]
    closing = [e for e in order.events if e.action == followups.CLOSE_ACTION][0]
    assert closing.data["revisit"] == revisit.number


# --- the pages and the API ---------------------------------------------------------------------

@pytest.fixture
def web(app: Flask) -> SimpleNamespace:
    """The crew, a 1-star rating of w1's (team HS01) and a 2-star one of w3's (JA01), committed from
    a context closed again (the browser clients sign in on their own)."""
    with app.app_context():
        people = build_crew()
        order = rated_order(people.installer, 1, customer=f.make_customer(name="王芳QzFollowName", phone="13912340000"))
        rated_order(people.other, 2, customer=f.make_customer("jiangan"))
        followup_id = db.session.scalar(select(FollowUp.id).where(FollowUp.work_order_id == order.id))
        tokens = {u.username: create_token(u) for u in (people.supervisor, people.other_supervisor, people.installer)}
        db.session.commit()
        return SimpleNamespace(number=order.number, id=followup_id, tokens=tokens)


def browser(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    sign_in(client, username)
    return client


def _post(client: FlaskClient, path: str, page: str, **form) -> object:
    return client.post(path, data={"csrf_token": csrf_token(client, page), **form})


def test_the_supervisor_contacts_and_closes_on_the_pages(app: Flask, web: SimpleNamespace) -> None:
    page = f"/followups/{web.id}"
    client = browser(app, "s1")
    board = client.get("/board").get_data(as_text=True)
    assert "Follow-ups (回访)" in board and page in board
    detail = client.get(page).get_data(as_text=True)
    assert "王芳QzFollowName" in detail and "tel:13912340000" in detail and "装完就断网" in detail
    assert _post(client, f"{page}/contact", page, version="1", note="").status_code == 400
    assert _post(client, f"{page}/contact", page, version="1", note="已致电客户").status_code == 302
    stale = _post(client, f"{page}/close", page, version="1", outcome="resolved", note="已解决")
    assert stale.status_code == 409 and "has changed" in stale.get_data(as_text=True)
    closed = _post(client, f"{page}/close", page, version="2", outcome="revisit_booked", cause="workmanship",
                   revisit_job_type="repair", note="约明天复查")
    assert closed.status_code == 302
    job = client.get(f"/orders/{web.number}").get_data(as_text=True)
    for text in ("Follow-up opened", "Customer contacted", "已致电客户", "Revisit booked", "约明天复查"):
        assert text in job
    with app.app_context():
        revisit = db.session.scalar(select(WorkOrder.number).where(WorkOrder.parent_order_id.is_not(None)))
    assert revisit in job
    assert f"/orders/{web.number}" in client.get(f"/orders/{revisit}").get_data(as_text=True)
    assert client.get("/followups/999999").status_code == 404
    # The installer sees the story on their job page, read-only; the follow-up pages are not theirs.
    installer = browser(app, "w1")
    mine = installer.get(f"/orders/{web.number}").get_data(as_text=True)
    assert "约明天复查" in mine and page not in mine
    assert installer.get(page).status_code == 403
    # Another team's supervisor: not found.
    assert browser(app, "s2").get(page).status_code == 404


def test_the_list_filters_and_exports_without_customer_data(app: Flask, web: SimpleNamespace) -> None:
    client = browser(app, "s1")
    listed = client.get("/followups").get_data(as_text=True)
    assert web.number in listed and "Follow-ups found: 1" in listed
    assert "No follow-ups match." in client.get("/followups?state=closed").get_data(as_text=True)
    assert "No follow-ups match." in client.get("/followups?state=&installer=w3").get_data(as_text=True)
    csv = client.get("/followups/export.csv?state=").get_data(as_text=True)
    lines = csv.strip().splitlines()
    assert lines[0].lstrip("\ufeff").startswith("id,order,opened_at,score,installer") and len(lines) == 2
    assert web.number in lines[1] and "QzFollowName" not in csv and "13912340000" not in csv
    xlsx = client.get("/followups/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert "Follow-ups found: 2" in browser(app, "admin").get("/followups").get_data(as_text=True)


def test_the_api_lists_and_reads_follow_ups(app: Flask, web: SimpleNamespace) -> None:
    client = app.test_client()

    def get(path: str, who: str):
        return client.get(path, headers={"Authorization": f"Bearer {web.tokens[who]}"})

    page = get("/api/v1/follow-ups?state=pending", "s1").get_json()
    (item,) = page["items"]
    assert (item["order"], item["score"], item["status"], item["installer"], item["overdue"]) == (
        web.number, 1, "open", "w1", False)
    assert "QzFollowName" not in str(page)
    assert get(f"/api/v1/follow-ups/{web.id}", "w1").get_json()["comment"] == "装完就断网"
    assert [i["installer"] for i in get("/api/v1/follow-ups", "s2").get_json()["items"]] == ["w3"]  # JA01's only
    missing = get(f"/api/v1/follow-ups/{web.id}", "s2")
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    assert get("/api/v1/follow-ups?state=closed", "s1").get_json()["items"] == []
    assert get("/api/v1/follow-ups?outcome=nonsense", "s1").status_code == 400
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/follow-ups", "/api/v1/follow-ups/{followup_id}"} <= set(paths)


def test_the_list_the_board_and_the_api_cost_the_same_for_1_or_5_follow_ups(app: Flask, web: SimpleNamespace) -> None:
    from tests.workorders.test_query_counts import statements_for

    client = browser(app, "s1")
    api = app.test_client()
    api.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {web.tokens['s1']}"
    paths = ("/followups?state=", "/board", "/api/v1/follow-ups")

    def costs() -> dict[str, int]:
        return {path: statements_for(app, api if path.startswith("/api") else client, path) for path in paths}

    costs()  # (the first use of a token records when it was used)
    before = costs()
    with app.app_context():
        installers = db.session.scalars(select(User).where(User.username.in_(("w1", "w2")))).all()
        for n in range(4):
            rated_order(installers[n % 2], 1 + n % 2)
    assert costs() == before
