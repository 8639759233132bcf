"""The service standard (规范制度, issue #15 item 3): per job type, a versioned checklist of steps
(both languages, required or optional, the phase it belongs to); each order keeps the version in
force when it was created, so an edit applies to later orders only; the installer ticks steps on
the job page and `complete` is refused while a required one is unticked.

Ticks are keyed by the step's code, not its row: the built-in `booked_call` ("called the customer
to book") is ticked by the `book` action on every order, whether or not its job type has a
standard yet, so the booking-timeliness figure (预约及时率) covers every order. Services flush;
the edge commits."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    ForeignKey,
    Index,
    Select,
    String,
    UniqueConstraint,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..audit.services import record
from ..auth.models import Role, User
from ..db import Base, among, enum_column, utcnow
from ..errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation
from ..extensions import current_locale, db
from ..workforce.models import JobType
from .models import OPEN_STATUSES, Visit, WorkOrder, WorkOrderEvent

# The step the `book` action ticks by itself (with the booking's time); never ticked by hand.
BOOKED_CALL = "booked_call"
MAX_STEPS = 30
STEP_TEXT_LENGTH = 200


class Phase(enum.Enum):
    BEFORE_ARRIVAL = "before_arrival"
    ON_SITE = "on_site"
    AT_COMPLETION = "at_completion"


PHASE_LABELS = {
    Phase.BEFORE_ARRIVAL: _l("Before arrival"),
    Phase.ON_SITE: _l("On site"),
    Phase.AT_COMPLETION: _l("At completion"),
}


class StandardVersion(Base):
    """One version of a job type's checklist; the latest is the one new orders get."""

    __tablename__ = "standard_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_type_id: Mapped[int] = mapped_column(ForeignKey("job_types.id"))
    number: Mapped[int]
    valid_from: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(String(255))

    steps: Mapped[list[StandardStep]] = relationship(back_populates="version", order_by="StandardStep.sort_order")
    created_by: Mapped[User | None] = relationship()

    __table_args__ = (UniqueConstraint("job_type_id", "number"),)


class StandardStep(Base):
    """One step of a checklist version."""

    __tablename__ = "standard_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("standard_versions.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32))
    text_zh: Mapped[str] = mapped_column(String(STEP_TEXT_LENGTH))
    text_en: Mapped[str] = mapped_column(String(STEP_TEXT_LENGTH))
    phase: Mapped[Phase] = mapped_column(enum_column(Phase, "standard_phase"))
    is_required: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)

    version: Mapped[StandardVersion] = relationship(back_populates="steps")

    __table_args__ = (UniqueConstraint("version_id", "code"),)

    def text(self, locale: str) -> str:
        """The step in the reader's language."""
        return self.text_zh if locale.startswith("zh") else self.text_en


class OrderStandard(Base):
    """Which checklist version applies to an order (fixed when the order is created)."""

    __tablename__ = "order_standards"

    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("standard_versions.id"), index=True)


class StepTick(Base):
    """A step of the standard done on an order: when, by whom, during which visit. One per order and
    step code (ticking twice keeps the first)."""

    __tablename__ = "step_ticks"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    ticked_at: Mapped[datetime]
    ticked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # `booked_call` only: seconds from the dispatch (the latest assignment before it; 0 when booked
    # before any), fixed when it is ticked, so the timeliness figure is one indexed count.
    dispatch_lag_seconds: Mapped[int | None]

    ticked_by: Mapped[User | None] = relationship()

    __table_args__ = (UniqueConstraint("work_order_id", "code"), Index("ix_step_ticks_code_ticked_at", "code", "ticked_at"))


# --- versions --------------------------------------------------------------------------------

@dataclass(frozen=True)
class StepInput:
    """One step as an admin enters it."""

    code: str
    text_zh: str
    text_en: str
    phase: Phase
    is_required: bool = True


def current_version(job_type_id: int) -> StandardVersion | None:
    """The latest checklist version of a job type (None: it has no standard)."""
    return db.session.scalar(select(StandardVersion).where(StandardVersion.job_type_id == job_type_id)
                             .order_by(StandardVersion.number.desc()).limit(1))


def versions(job_type_id: int) -> list[StandardVersion]:
    """Every version of a job type's checklist, the latest first (its history)."""
    return list(db.session.scalars(select(StandardVersion).where(StandardVersion.job_type_id == job_type_id)
                                   .order_by(StandardVersion.number.desc())))


def _check_steps(steps: list[StepInput]) -> None:
    errors = []
    if len(steps) > MAX_STEPS:
        errors.append(_l("At most %(n)d steps.", n=MAX_STEPS))
    codes = [s.code for s in steps]
    if len(set(codes)) != len(codes):
        errors.append(_l("Each step needs its own code."))
    for s in steps:
        if not s.code or not s.code.replace("_", "").isalnum() or not s.code.isascii() or len(s.code) > 32:
            errors.append(_l("A code is letters, digits and _ (at most 32): %(code)s", code=s.code))
        if not s.text_zh.strip() or not s.text_en.strip():
            errors.append(_l("Every step needs its text in both languages: %(code)s", code=s.code))
        if len(s.text_zh) > STEP_TEXT_LENGTH or len(s.text_en) > STEP_TEXT_LENGTH:
            errors.append(_l("A step's text has at most %(n)d characters.", n=STEP_TEXT_LENGTH))
    if errors:
        raise InvalidInput(str(errors[0]), errors={"steps": errors})


def put_version(job_type: JobType, steps: list[StepInput], actor: Any, *, seen: int | None,
                note: str | None = None, now: datetime | None = None) -> StandardVersion:
    """A new checklist version of `job_type` (orders created from now on get it), audited as
    "standard.edit" in the same transaction. `seen` is the version number the admin's form showed
    (0: none): a version added by someone else since is refused (409), not overwritten."""
    _check_steps(steps)
    latest = current_version(job_type.id)
    if seen is not None and seen != (latest.number if latest else 0):
        raise Conflict(str(_l("Someone else changed this standard meanwhile; the page now shows the latest.")))
    version = StandardVersion(job_type_id=job_type.id, number=(latest.number if latest else 0) + 1,
                              valid_from=now or utcnow(), created_by_id=getattr(actor, "id", None),
                              note=(note or "").strip()[:255] or None)
    version.steps = [StandardStep(code=s.code, text_zh=s.text_zh.strip(), text_en=s.text_en.strip(), phase=s.phase,
                                  is_required=s.is_required, sort_order=i) for i, s in enumerate(steps)]
    db.session.add(version)
    db.session.flush()
    record(actor, "standard.edit", "job_type", job_type.code, _plain(latest), _plain(version))
    return version


def _plain(version: StandardVersion | None) -> dict[str, Any] | None:
    if version is None:
        return None
    return {"version": version.number, "steps": [
        {"code": s.code, "text_zh": s.text_zh, "text_en": s.text_en, "phase": s.phase.value,
         "required": s.is_required} for s in version.steps]}


def attach_current(order: WorkOrder) -> None:
    """Fix the checklist version in force now on a new order (none when its job type has no standard)."""
    version_id = db.session.scalar(select(StandardVersion.id).where(StandardVersion.job_type_id == order.job_type_id)
                                   .order_by(StandardVersion.number.desc()).limit(1))
    if version_id is not None:
        db.session.add(OrderStandard(work_order_id=order.id, version_id=version_id))


def attach_to_open_orders() -> int:
    """Give every open order without a checklist its job type's current version, in one statement
    (the demo, whose orders are bulk-written, and a branch adopting the standard); the count."""
    latest = (select(StandardVersion.job_type_id, func.max(StandardVersion.id).label("version_id"))
              .group_by(StandardVersion.job_type_id).subquery())
    pick = (select(WorkOrder.id, latest.c.version_id).join(latest, latest.c.job_type_id == WorkOrder.job_type_id)
            .where(among(WorkOrder.status, OPEN_STATUSES),
                   ~select(OrderStandard.work_order_id).where(OrderStandard.work_order_id == WorkOrder.id).exists()))
    result = db.session.execute(insert(OrderStandard).from_select(["work_order_id", "version_id"], pick))
    db.session.flush()
    return result.rowcount or 0


# --- ticks -----------------------------------------------------------------------------------

def order_steps(order: WorkOrder) -> list[StandardStep]:
    """The steps of the order's checklist version, in order (empty: no standard applies)."""
    return list(db.session.scalars(
        select(StandardStep).join(OrderStandard, OrderStandard.version_id == StandardStep.version_id)
        .where(OrderStandard.work_order_id == order.id).order_by(StandardStep.sort_order)))


def steps_with_ticks(order: WorkOrder) -> list[tuple[StandardStep, StepTick | None]]:
    """The order's checklist steps in order, each with its tick (None: not done), in one query
    (the job page's budget of statements is tight)."""
    return [(step, done) for step, done in db.session.execute(
        select(StandardStep, StepTick).join(OrderStandard, OrderStandard.version_id == StandardStep.version_id)
        .outerjoin(StepTick, and_(StepTick.work_order_id == order.id, StepTick.code == StandardStep.code))
        .where(OrderStandard.work_order_id == order.id).order_by(StandardStep.sort_order))]


def ticks(order: WorkOrder) -> dict[str, StepTick]:
    """The order's ticks by step code."""
    return {t.code: t for t in db.session.scalars(select(StepTick).where(StepTick.work_order_id == order.id))}


def missing_steps(order: WorkOrder) -> list[StandardStep]:
    """The required steps of the order's checklist not ticked yet."""
    done = set(db.session.scalars(select(StepTick.code).where(StepTick.work_order_id == order.id)))
    return [s for s in order_steps(order) if s.is_required and s.code not in done]


def _open_visit_id(order: WorkOrder) -> int | None:
    return db.session.scalar(select(Visit.id).where(Visit.work_order_id == order.id, Visit.left_at.is_(None)))


def tick(order: WorkOrder, actor: User, code: str, *, done: bool = True, now: datetime | None = None) -> bool:
    """Tick (or, with done=False, untick) a step of the order's checklist: the assigned installer
    only, while the order is open. Idempotent: True when something changed."""
    if actor.role is not Role.INSTALLER or order.assignee_id != actor.id:
        raise Forbidden(_l("Only the installer of this job ticks its steps."))
    if order.status not in OPEN_STATUSES:
        raise Conflict(_l("The steps of a finished order cannot change."), current_status=order.status.value)
    if code not in {s.code for s in order_steps(order)}:
        raise NotFound(_l("No step %(code)s in this job's standard.", code=code))
    if code == BOOKED_CALL:
        # Booking records the call; a job whose window was agreed when it was created (or one
        # reached without booking) has its call ticked here, timed like a booking from the tap.
        if not done:
            raise InvalidInput(str(_l("A call to the customer, once recorded, stays recorded.")),
                               errors={"code": [_l("Not allowed.")]})
        if db.session.scalar(select(StepTick.id).where(StepTick.work_order_id == order.id, StepTick.code == code)):
            return False
        record_booking_call(order, actor, now or utcnow())
        db.session.flush()
        return True
    existing = db.session.scalar(select(StepTick.id).where(StepTick.work_order_id == order.id, StepTick.code == code))
    if done and existing is None:
        db.session.add(StepTick(work_order_id=order.id, code=code, visit_id=_open_visit_id(order),
                                ticked_at=now or utcnow(), ticked_by_id=actor.id))
    elif not done and existing is not None:
        db.session.execute(delete(StepTick).where(StepTick.id == existing))
    else:
        return False
    db.session.flush()
    return True


@cache
def _booking_call_statements() -> tuple[Select[Any], Select[Any]]:
    """Built once (every `book` runs the first): whether the order's booking call is ticked, and
    when it was last dispatched."""
    order = bindparam("order")
    return (select(StepTick.id).where(StepTick.work_order_id == order, StepTick.code == BOOKED_CALL),
            select(func.max(WorkOrderEvent.created_at)).where(
                WorkOrderEvent.work_order_id == order, WorkOrderEvent.action == "assign",
                WorkOrderEvent.created_at <= bindparam("now")))


def record_booking_call(order: WorkOrder, actor: User, now: datetime) -> None:
    """The `book` action's tick of `booked_call`, with how long after the dispatch it came (the
    first booking counts: a rebooking keeps it)."""
    ticked, last_dispatch = _booking_call_statements()
    connection = db.session.connection()  # not the session's execute: the order must not be flushed yet
    if connection.execute(ticked, {"order": order.id}).first():
        return
    dispatched = connection.execute(last_dispatch, {"order": order.id, "now": now}).scalar()
    lag = 0 if dispatched is None else max(0, int((now - dispatched).total_seconds()))
    db.session.add(StepTick(work_order_id=order.id, code=BOOKED_CALL, visit_id=None, ticked_at=now,
                            ticked_by_id=actor.id, dispatch_lag_seconds=lag))


def refuse_missing(order: WorkOrder) -> None:
    """Refuse (422, with `missing`) completing an order whose required steps are not all ticked."""
    missing = missing_steps(order)
    if missing:
        locale = current_locale()
        raise RuleViolation(_l("To complete this job, tick the required steps: %(steps)s.",
                               steps="; ".join(s.text(locale) for s in missing)),
                            missing=[f"step:{s.code}" for s in missing], missing_steps=[s.code for s in missing])


def on_time(lag_seconds: int | None, within_minutes: int) -> bool:
    """Whether a booking call `lag_seconds` after dispatch meets the rule (inclusive: 30:00 is on time)."""
    return lag_seconds is not None and lag_seconds <= within_minutes * 60
