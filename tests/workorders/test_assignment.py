"""Assignment: eligibility (active installer, district served, usable certificates at the required
level, work at height) and the refusal listing every unmet requirement."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import case, select

from fieldsvc.auth.models import User
from fieldsvc.certifications.models import Certification, CertificationType
from fieldsvc.certifications.services import (
    certification_status,
    is_usable,
    meets_level,
    reaches_level,
    unusable_status,
)
from fieldsvc.config import Config
from fieldsvc.db import utcnow, zone
from fieldsvc.errors import Conflict, RuleViolation
from fieldsvc.extensions import db
from fieldsvc.workorders import lifecycle
from fieldsvc.workorders.dispatch import check_eligibility
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


def test_the_sql_rule_agrees_with_certification_status_and_meets_level(crew: Crew) -> None:
    """Dispatch decides eligibility in SQL (`unusable_status`, `reaches_level`); the certificate
    pages with `certification_status` and `meets_level`. Every status and level case, both ways."""
    holder = f.make_user(username="w9", team=crew.installer.team)
    day = timedelta(days=1)
    for code, level in (("service_star", 1), ("service_star", 3), ("service_star", None), ("skill_level", 2),
                        ("skill_level", 4), ("work_at_height", None)):
        f.make_certification(holder, code, level=level)  # valid
        f.make_certification(holder, code, level=level, expires_on=TODAY)  # expiring, its last day
        f.make_certification(holder, code, level=level, issued_on=TODAY - 400 * day, expires_on=TODAY - day)  # expired
        f.make_certification(holder, code, level=level, next_review_on=TODAY)  # review due today
        f.make_certification(holder, code, level=level, next_review_on=TODAY + day)  # review tomorrow: valid
        f.make_certification(holder, code, level=level, revoked_at=utcnow(), revoked_reason="x",
                             expires_on=TODAY - day)  # revoked and expired: revoked
    db.session.flush()
    certificates = db.session.scalars(select(Certification).where(Certification.user_id == holder.id)).all()
    sql_status = dict(db.session.execute(select(Certification.id, unusable_status(TODAY))
                                         .where(Certification.user_id == holder.id)).all())
    statuses = {c.id: certification_status(c, TODAY, c.certification_type.renewal_window_days) for c in certificates}
    assert {c.id: None if is_usable(statuses[c.id]) else statuses[c.id].value for c in certificates} == sql_status
    assert {s.value for s in statuses.values()} == {"valid", "expiring", "expired", "review_due", "revoked"}
    for cert_type in db.session.scalars(select(CertificationType)):
        for min_level in (None, 1, 3, 5):
            reached = dict(db.session.execute(
                select(Certification.id, case((reaches_level(cert_type, min_level), True), else_=False))
                .where(Certification.user_id == holder.id, Certification.certification_type_id == cert_type.id)).all())
            assert reached == {c.id: meets_level(cert_type, c.level, min_level) for c in certificates
                               if c.certification_type_id == cert_type.id}, (cert_type.code, min_level)


def test_the_pool_s_verdicts_are_each_installer_s_with_the_closest_miss(crew: Crew) -> None:
    """A smart-home order at height (service star 1+, skill level 3 or better, work at height):
    verdicts for a pool at once (a subquery of ids, as the suggestions ask) are those of each
    installer alone (as assignment asks), with every reason and the closest miss's date."""
    day = timedelta(days=1)
    team = crew.installer.team
    names = ("p1", "p2", "p3", "p4", "p5")
    p1, p2, p3, p4, p5 = (f.make_user(username=name, team=team) for name in names)
    f.make_certification(p1, "service_star", level=1)
    f.make_certification(p1, "skill_level", level=3)
    f.make_certification(p1, "work_at_height")
    # p2 holds nothing. p3: a level too low, a review due, a revoked star.
    f.make_certification(p3, "service_star", level=4, revoked_at=utcnow(), revoked_reason="x")
    f.make_certification(p3, "skill_level", level=4)
    f.make_certification(p3, "work_at_height", next_review_on=TODAY - 5 * day)
    # p4: two expired stars (the later date is told); a level too low beats an expired level 2;
    # an expired height certificate beats a revoked one.
    f.make_certification(p4, "service_star", level=2, issued_on=TODAY - 900 * day, expires_on=TODAY - 300 * day)
    f.make_certification(p4, "service_star", level=2, issued_on=TODAY - 500 * day, expires_on=TODAY - 10 * day)
    f.make_certification(p4, "skill_level", level=4)
    f.make_certification(p4, "skill_level", level=2, issued_on=TODAY - 2000 * day, expires_on=TODAY - 2 * day)
    f.make_certification(p4, "work_at_height", revoked_at=utcnow(), revoked_reason="x")
    f.make_certification(p4, "work_at_height", issued_on=TODAY - 3000 * day, expires_on=TODAY - 20 * day)
    # p5: a star without a level; a review due beats an expiry; a renewal beats everything.
    f.make_certification(p5, "service_star", level=None)
    f.make_certification(p5, "skill_level", level=1, next_review_on=TODAY - day)
    f.make_certification(p5, "skill_level", level=1, issued_on=TODAY - 2000 * day, expires_on=TODAY - 3 * day)
    f.make_certification(p5, "work_at_height", issued_on=TODAY - 3000 * day, expires_on=TODAY - 30 * day)
    f.make_certification(p5, "work_at_height", issued_on=TODAY - 10 * day)
    order = f.make_work_order(job_type="smart_home", is_work_at_height=True)
    db.session.commit()

    def iso(days_ago: int) -> str:
        return (TODAY - days_ago * day).isoformat()

    expected = {
        "p1": [],
        "p2": [{"certification_type": t, "reason": "missing"} for t in ("service_star", "skill_level", "work_at_height")],
        "p3": [{"certification_type": "service_star", "reason": "revoked"},
               {"certification_type": "skill_level", "reason": "level"},
               {"certification_type": "work_at_height", "reason": "review_due", "since": iso(5)}],
        "p4": [{"certification_type": "service_star", "reason": "expired", "since": iso(10)},
               {"certification_type": "skill_level", "reason": "level"},
               {"certification_type": "work_at_height", "reason": "expired", "since": iso(20)}],
        "p5": [{"certification_type": "service_star", "reason": "level"},
               {"certification_type": "skill_level", "reason": "review_due", "since": iso(1)}],
    }
    installers = [p1, p2, p3, p4, p5]
    pool = select(User.id).where(User.username.in_(names))
    together = {v.installer.username: v.unmet for v in check_eligibility(order, installers, TODAY, among=pool)}
    alone = {i.username: check_eligibility(order, [i], TODAY)[0].unmet for i in installers}
    assert together == alone == expected
    assert refused(order, crew.supervisor, "p4") == expected["p4"]  # and assignment says the same
