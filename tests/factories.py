"""Small factory functions with keyword defaults; each flushes and returns the model object."""
from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from fieldsvc.auth.models import Role, User
from fieldsvc.auth.services import hash_password, place_in_team
from fieldsvc.config import Config
from fieldsvc.db import local_today, utcnow, zone
from fieldsvc.extensions import db
from fieldsvc.notifications.models import Notification
from fieldsvc.reference import ensure_reference_data
from fieldsvc.workforce.models import Customer, District, JobType, Team
from fieldsvc.workorders.models import OrderStatus, WorkOrder

PASSWORD = "correct-horse-9"
_counter = itertools.count(1)
_password_hash: str | None = None


def today() -> date:
    """Today in the operator's time zone by the suite's clock, as the app reckons it (not the
    machine's `date.today()`, which is a day behind Wuhan from 00:00 to 08:00)."""
    return local_today(zone(Config.TIMEZONE))


def _hash() -> str:
    global _password_hash
    if _password_hash is None:
        _password_hash = hash_password(PASSWORD)
    return _password_hash


def reference() -> None:
    """The districts, job types, certification types and reasons of PRODUCT.md §5."""
    ensure_reference_data()


def district(code: str = "hongshan") -> District:
    reference()
    return db.session.scalar(select(District).where(District.code == code))


def make_team(code: str | None = None, districts: tuple[str, ...] = ("hongshan",), **overrides: Any) -> Team:
    n = next(_counter)
    team = Team(code=code or f"T{n:03d}", name_zh=f"测试装维{n}班", name_en=f"Test crew {n}", **overrides)
    team.districts = [district(c) for c in districts]
    team.home_district_id = team.districts[0].id if team.districts else None
    db.session.add(team)
    db.session.flush()
    return team


def make_user(role: Role = Role.INSTALLER, username: str | None = None, team: Team | None = None, **overrides: Any) -> User:
    n = next(_counter)
    user = User(
        username=username or f"u{n:05d}",
        name=overrides.pop("name", f"测试{n}"),
        name_en=overrides.pop("name_en", f"Tester {n}"),
        role=role,
        password_hash=overrides.pop("password_hash", _hash()),
        **overrides,
    )
    if team is not None:
        place_in_team(user, team)
    db.session.add(user)
    db.session.flush()
    return user


def make_customer(district_code: str = "hongshan", **overrides: Any) -> Customer:
    n = next(_counter)
    customer = Customer(
        account_no=overrides.pop("account_no", f"027{n:08d}"),
        name=overrides.pop("name", f"客户{n}"),
        phone=overrides.pop("phone", f"139{n:08d}"),
        address=overrides.pop("address", f"珞喻路{n}号"),
        district=district(district_code),
        **overrides,
    )
    db.session.add(customer)
    db.session.flush()
    return customer


def make_work_order(
    status: OrderStatus = OrderStatus.NEW,
    job_type: str = "repair",
    customer: Customer | None = None,
    assignee: User | None = None,
    created_at: datetime | None = None,
    **overrides: Any,
) -> WorkOrder:
    reference()
    n = next(_counter)
    customer = customer or make_customer()
    created_at = created_at or utcnow()
    order = WorkOrder(
        number=overrides.pop("number", f"WO{n:010d}"),
        job_type=db.session.scalar(select(JobType).where(JobType.code == job_type)),
        customer=customer,
        district_id=customer.district_id,
        address=customer.address,
        status=status,
        assignee=assignee,
        team_id=assignee.team_id if assignee is not None else overrides.pop("team_id", None),
        created_at=created_at,
        due_by=overrides.pop("due_by", created_at + timedelta(hours=24)),
        **overrides,
    )
    db.session.add(order)
    db.session.flush()
    return order


def make_certification(user: User, type_code: str, issued_on: Any = None, level: int | None = None,
                       **overrides: Any) -> Any:
    """A certificate of `type_code` for `user`, dated from its type unless overridden."""
    from fieldsvc.certifications.models import Certification, CertificationType
    from fieldsvc.certifications.services import certificate_dates

    reference()
    cert_type = db.session.scalar(select(CertificationType).where(CertificationType.code == type_code))
    issued_on = issued_on or (today() - timedelta(days=30))
    expires_on, next_review_on = certificate_dates(cert_type, issued_on)
    certification = Certification(
        user=user, certification_type=cert_type, issued_on=issued_on, level=level,
        expires_on=overrides.pop("expires_on", expires_on),
        next_review_on=overrides.pop("next_review_on", next_review_on), **overrides,
    )
    db.session.add(certification)
    db.session.flush()
    return certification


def certify_fully(user: User) -> User:
    """Every certificate any demo job type requires, valid now."""
    make_certification(user, "service_star", level=3)
    make_certification(user, "skill_level", level=2)
    make_certification(user, "ftth")
    make_certification(user, "work_at_height")
    return user


def make_notification(user: User, kind: str = "note", message: str | None = None, **overrides: Any) -> Notification:
    """A notification already in `user`'s list (unread, no data: shown as its stored message)."""
    n = next(_counter)
    notification = Notification(user_id=user.id, kind=kind, message=message or f"Note {n}.",
                                dedupe_key=overrides.pop("dedupe_key", f"test:{n}"), **overrides)
    db.session.add(notification)
    db.session.flush()
    return notification


def figures_of(start: date, period_type: Any = None, now: datetime | None = None) -> dict[tuple[str, str, str], tuple]:
    """Compute one period's snapshots with the metric engine (final: `now` defaults to two months
    on) and read them back: (metric, scope type, scope id) → (numerator, denominator, value)."""
    from fieldsvc.metrics.engine import compute_period
    from fieldsvc.snapshots.models import MetricSnapshot, PeriodType

    period_type = period_type or PeriodType.DAY
    compute_period(period_type, start, now or utcnow() + timedelta(days=60), zone(Config.TIMEZONE))
    rows = db.session.execute(select(
        MetricSnapshot.metric, MetricSnapshot.scope_type, MetricSnapshot.scope_id, MetricSnapshot.numerator,
        MetricSnapshot.denominator, MetricSnapshot.value,
    ).where(MetricSnapshot.period_type == period_type, MetricSnapshot.period_start == start))
    return {(metric, scope.value, key): (n, d, v) for metric, scope, key, n, d, v in rows}
