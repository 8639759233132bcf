"""Assignment: eligibility (active installer, district served, usable certificates at the required
level, work at height) and the refusal listing every unmet requirement."""
from __future__ import annotations

from datetime import timedelta

import pytest

from fieldsvc.config import Config
from fieldsvc.db import utcnow, zone
from fieldsvc.errors import Conflict, RuleViolation
from fieldsvc.extensions import db
from fieldsvc.workorders import lifecycle
from fieldsvc.workorders.models import OrderStatus
from tests import factories as f
from tests.conftest import suite_now
from tests.workorders.conftest import Crew

TODAY = suite_now().astimezone(zone(Config.TIMEZONE)).date()  # the date every test starts on


def refused(order, actor, username) -> list[dict]:
    version = order.version
    with pytest.raises(RuleViolation) as raised:
        lifecycle.assign(order, actor, username, version, today=TODAY)
    db.session.rollback()
    db.session.refresh(order)
    assert order.version == version and order.assignee_id is None  # nothing changed
    return raised.value.details["unmet"]


def test_rookie_without_certificates_gets_the_full_list(crew: Crew) -> None:
    order = f.make_work_order(job_type="install")
    db.session.commit()
    assert refused(order, crew.supervisor, "w2") == [
        {"certification_type": "ftth", "reason": "missing"},
        {"certification_type": "service_star", "reason": "missing"},
    ]


def test_district_not_served_and_other_team(crew: Crew) -> None:
    order = f.make_work_order(customer=f.make_customer("jiangan"))
    db.session.commit()
    # supervisor s1 cannot see an unassigned jiangan order at all; the admin can, and is told why
    assert refused(order, crew.admin, "w1") == [{"district": "jiangan", "reason": "not_served"}]
    hongshan = f.make_work_order()
    db.session.commit()
    assert refused(hongshan, crew.supervisor, "w3") == [
        {"installer": "w3", "reason": "not_your_team"}, {"district": "hongshan", "reason": "not_served"}]


def test_inactive_unknown_and_non_installers(crew: Crew) -> None:
    order = f.make_work_order()
    db.session.commit()
    crew.rookie.is_active = False
    db.session.commit()
    assert {"installer": "w2", "reason": "inactive"} in refused(order, crew.supervisor, "w2")
    assert refused(order, crew.supervisor, "nobody") == [{"installer": "nobody", "reason": "unknown"}]
    assert {"installer": "s1", "reason": "not_installer"} in refused(order, crew.admin, "s1")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"expires_on": TODAY - timedelta(days=1)}, {"reason": "expired", "since": (TODAY - timedelta(days=1)).isoformat()}),
        ({"next_review_on": TODAY}, {"reason": "review_due", "since": TODAY.isoformat()}),
        ({"revoked_at": utcnow(), "revoked_reason": "violation"}, {"reason": "revoked"}),
    ],
)
def test_work_at_height_needs_a_usable_certificate(crew: Crew, overrides: dict, expected: dict) -> None:
    installer = f.make_user(username="w9", team=crew.installer.team)
    f.make_certification(installer, "service_star", level=2)
    f.make_certification(installer, "work_at_height", issued_on=TODAY - timedelta(days=400), **overrides)
    order = f.make_work_order(is_work_at_height=True)
    db.session.commit()
    unmet = refused(order, crew.supervisor, "w9")
    assert unmet == [{"certification_type": "work_at_height", **expected}]
    from fieldsvc.workorders.dispatch import describe_unmet

    text = describe_unmet(unmet)[0]
    assert text.startswith("Special operations: work at height: ") and expected.get("since", "") in text


def test_certificate_expiring_today_is_still_valid(crew: Crew) -> None:
    installer = f.make_user(username="w9", team=crew.installer.team)
    f.make_certification(installer, "service_star", level=2)
    f.make_certification(installer, "work_at_height", expires_on=TODAY)
    order = f.make_work_order(is_work_at_height=True)
    db.session.commit()
    lifecycle.assign(order, crew.supervisor, "w9", order.version, today=TODAY)
    assert order.assignee == installer


def test_a_renewal_beats_the_expired_row(crew: Crew) -> None:
    installer = f.make_user(username="w9", team=crew.installer.team)
    f.make_certification(installer, "service_star", level=2)
    f.make_certification(installer, "work_at_height", issued_on=TODAY - timedelta(days=3000))
    f.make_certification(installer, "work_at_height", issued_on=TODAY - timedelta(days=10))
    order = f.make_work_order(is_work_at_height=True)
    db.session.commit()
    lifecycle.assign(order, crew.supervisor, "w9", order.version, today=TODAY)
    assert order.status is OrderStatus.ASSIGNED


def test_minimum_levels_respect_descending_skill_levels(crew: Crew) -> None:
    """smart_home needs skill level 3 or better, where 1 is the top of the 5 → 1 ladder."""
    low = f.make_user(username="w8", team=crew.installer.team)
    f.make_certification(low, "service_star", level=1)
    f.make_certification(low, "skill_level", level=4)
    order = f.make_work_order(job_type="smart_home")
    db.session.commit()
    assert refused(order, crew.supervisor, "w8") == [{"certification_type": "skill_level", "reason": "level"}]
    lifecycle.assign(order, crew.supervisor, "w1", order.version, today=TODAY)  # w1 holds level 2
    assert order.assignee == crew.installer


def test_reassign_and_unassign(crew: Crew) -> None:
    second = f.certify_fully(f.make_user(username="w7", team=crew.installer.team))
    order = f.make_work_order()
    db.session.commit()
    lifecycle.assign(order, crew.supervisor, "w1", order.version, today=TODAY)
    lifecycle.transition(order, crew.installer, "accept", order.version, tz=None)  # type: ignore[arg-type]
    lifecycle.assign(order, crew.supervisor, "w7", order.version, today=TODAY)
    assert (order.status, order.assignee) == (OrderStatus.ASSIGNED, second)
    with pytest.raises(Conflict, match="already assigned"):
        lifecycle.assign(order, crew.supervisor, "w7", order.version, today=TODAY)
    lifecycle.assign(order, crew.supervisor, None, order.version, today=TODAY)
    assert (order.status, order.assignee, order.team_id) == (OrderStatus.NEW, None, None)
    assert [e.data for e in order.events if e.action in ("assign", "unassign")] == [
        {"assignee": "w1", "previous": None}, {"assignee": "w7", "previous": "w1"}, {"previous": "w7"}]
    with pytest.raises(Conflict):
        lifecycle.assign(order, crew.supervisor, None, order.version, today=TODAY)


def test_cannot_assign_once_work_has_started(crew: Crew) -> None:
    order = f.make_work_order(OrderStatus.EN_ROUTE, assignee=crew.installer)
    db.session.commit()
    with pytest.raises(Conflict):
        lifecycle.assign(order, crew.supervisor, "w2", order.version, today=TODAY)
