"""Job types, work orders, visits, the append-only event trail, idempotency records."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, BilingualName, enum_column, utcnow

if TYPE_CHECKING:
    from ..auth.models import User
    from ..workforce.models import Customer, District, JobType, Team


class OrderStatus(enum.Enum):
    NEW = "new"
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


OPEN_STATUSES = (
    OrderStatus.NEW,
    OrderStatus.ASSIGNED,
    OrderStatus.ACCEPTED,
    OrderStatus.EN_ROUTE,
    OrderStatus.ON_SITE,
)
# The same as an SQL condition, for partial indexes: a query names the statuses as literals to use them.
OPEN_PREDICATE = "status IN ({})".format(", ".join(f"'{status.value}'" for status in OPEN_STATUSES))


class Priority(enum.Enum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def is_pressing(self) -> bool:
        """High and urgent: the board and the job page flag such an order."""
        return self in (Priority.HIGH, Priority.URGENT)


class VisitOutcome(enum.Enum):
    RESOLVED = "resolved"
    NOT_RESOLVED = "not_resolved"


class UnresolvedReason(BilingualName, Base):
    """Why a visit ended without resolving the order (stable codes; admins may add more)."""

    name_length = 64
    name_en_length = 128
    __tablename__ = "unresolved_reasons"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    sort_order: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)


class WorkOrder(Base):
    """One job at one customer: its assignment, appointment, deadline, status and outcome."""

    __tablename__ = "work_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    external_ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    # SHA-256 of the integration's creating request, to tell a retry from a clash on external_ref.
    request_hash: Mapped[str | None] = mapped_column(String(64))
    job_type_id: Mapped[int] = mapped_column(ForeignKey("job_types.id"))
    priority: Mapped[Priority] = mapped_column(enum_column(Priority, "priority"), default=Priority.NORMAL)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"))
    address: Mapped[str] = mapped_column(String(255))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[OrderStatus] = mapped_column(enum_column(OrderStatus, "order_status"), default=OrderStatus.NEW)
    is_work_at_height: Mapped[bool] = mapped_column(default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    appointment_start: Mapped[datetime | None]
    appointment_end: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    due_by: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(255))
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Visits so far (set by `arrive`): an order completed with visit_count 1 was resolved on its
    # first visit, which the on-site resolution figures read without touching the visits table.
    visit_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # The order this one revisits (二次上门): e.g. the revisit a follow-up of a bad rating booked.
    parent_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"), index=True)
    version: Mapped[int] = mapped_column(default=1)

    job_type: Mapped[JobType] = relationship()
    customer: Mapped[Customer] = relationship()
    district: Mapped[District] = relationship()
    team: Mapped[Team | None] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])
    parent_order: Mapped[WorkOrder | None] = relationship(remote_side=[id], foreign_keys=[parent_order_id])
    visits: Mapped[list[Visit]] = relationship(back_populates="work_order", order_by="Visit.seq")
    events: Mapped[list[WorkOrderEvent]] = relationship(
        back_populates="work_order", order_by="WorkOrderEvent.id"
    )
    photos: Mapped[list[WorkOrderPhoto]] = relationship(
        back_populates="work_order", order_by="WorkOrderPhoto.id"
    )

    # Optimistic concurrency: every UPDATE carries "WHERE version = <the version read>".
    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        CheckConstraint(
            "appointment_end IS NULL OR appointment_start IS NULL OR appointment_end > appointment_start",
            name="appointment_window_order",
        ),
        Index("ix_work_orders_assignee_status_appt", "assignee_id", "status", "appointment_start"),
        # the installer's "done today" (Today page, workload) without scanning the branch's day
        Index("ix_work_orders_assignee_completed_at", "assignee_id", "completed_at"),
        Index("ix_work_orders_team_status", "team_id", "status"),
        Index("ix_work_orders_district_status", "district_id", "status"),
        Index("ix_work_orders_status_due_by", "status", "due_by"),
        Index("ix_work_orders_completed_at", "completed_at"),
        Index("ix_work_orders_created_at", "created_at"),
        Index("ix_work_orders_updated_at_id", "updated_at", "id"),
        Index("ix_work_orders_customer_created", "customer_id", "created_at"),
        Index("ix_work_orders_completed_by_completed_at", "completed_by_id", "completed_at",
              postgresql_include=["visit_count"]),
        # Today's load of every installer of a pool (dispatch suggestions): the open orders are a
        # few thousand of millions, read as one small index (or a probe an installer) rather than
        # five probes an installer, one per open status, of the (assignee, status, appointment) one.
        Index("ix_work_orders_open_assignee", "assignee_id", "appointment_start",
              postgresql_where=text(OPEN_PREDICATE), sqlite_where=text(OPEN_PREDICATE)),
    )


class Visit(Base):
    """One arrival on site: opened by `arrive`, closed by `complete` or `leave_unresolved`."""

    __tablename__ = "visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"))
    seq: Mapped[int]
    installer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    arrived_at: Mapped[datetime]
    left_at: Mapped[datetime | None]
    outcome: Mapped[VisitOutcome | None] = mapped_column(enum_column(VisitOutcome, "visit_outcome"))
    reason_code: Mapped[str | None] = mapped_column(ForeignKey("unresolved_reasons.code"))
    appointment_start: Mapped[datetime | None]
    appointment_end: Mapped[datetime | None]
    lat: Mapped[float | None]
    lon: Mapped[float | None]

    work_order: Mapped[WorkOrder] = relationship(back_populates="visits")
    installer: Mapped[User] = relationship()
    reason: Mapped[UnresolvedReason | None] = relationship()

    __table_args__ = (
        UniqueConstraint("work_order_id", "seq"),
        CheckConstraint("seq >= 1", name="seq_positive"),
        Index("ix_visits_installer_arrived", "installer_id", "arrived_at"),
        Index("ix_visits_left_at", "left_at"),  # the checklist figure: the visits left in a period
        CheckConstraint(
            "(outcome = 'not_resolved' AND reason_code IS NOT NULL) OR "
            "((outcome IS NULL OR outcome = 'resolved') AND reason_code IS NULL)",
            name="reason_iff_not_resolved",
        ),
    )


class WorkOrderEvent(Base):
    """One change of a work order: who, when, what (from → to), note, position. Append-only."""

    __tablename__ = "work_order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    work_order: Mapped[WorkOrder] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()

    __table_args__ = (Index("ix_work_order_events_work_order_id_id", "work_order_id", "id"),)


@event.listens_for(WorkOrderEvent, "before_update")
@event.listens_for(WorkOrderEvent, "before_delete")
def _events_are_append_only(_mapper: Any, _connection: Any, target: WorkOrderEvent) -> None:
    raise PermissionError(f"work-order event {target.id} is append-only")


# The database refuses too, whatever client writes: triggers created with the table (and by the
# initial migration, which runs the same statements).
APPEND_ONLY_DDL = {
    "sqlite": [
        "CREATE TRIGGER work_order_events_no_update BEFORE UPDATE ON work_order_events "
        "BEGIN SELECT RAISE(ABORT, 'work_order_events is append-only'); END",
        "CREATE TRIGGER work_order_events_no_delete BEFORE DELETE ON work_order_events "
        "BEGIN SELECT RAISE(ABORT, 'work_order_events is append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION work_order_events_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'work_order_events is append-only'; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER work_order_events_no_change BEFORE UPDATE OR DELETE ON work_order_events "
        "FOR EACH ROW EXECUTE FUNCTION work_order_events_append_only()",
    ],
}


@event.listens_for(WorkOrderEvent.__table__, "after_create")
def _create_append_only_triggers(_table: Any, connection: Any, **_kwargs: Any) -> None:
    for statement in APPEND_ONLY_DDL.get(connection.dialect.name, []):
        connection.exec_driver_sql(statement)


class PhotoKind(enum.Enum):
    """What a stored file is: a completion's photo (its evidence), the customer's signature, or a
    photo sent with a request for help (shown to the desk; not completion evidence)."""

    PHOTO = "photo"
    SIGNATURE = "signature"
    SUPPORT = "support"


class WorkOrderPhoto(Base):
    """A photo (or the customer's drawn signature) attached to a work order, stored under the
    instance folder with a random name; served only to people who may see the order."""

    __tablename__ = "work_order_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[PhotoKind] = mapped_column(enum_column(PhotoKind, "photo_kind"), default=PhotoKind.PHOTO)
    filename: Mapped[str] = mapped_column(String(64), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the upload: a retry adds nothing
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int]
    height: Mapped[int]
    size_bytes: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    work_order: Mapped[WorkOrder] = relationship(back_populates="photos")

    __table_args__ = (UniqueConstraint("work_order_id", "content_hash"),)


class IdempotencyRecord(Base):
    """The first answer to a request sent with an Idempotency-Key, replayed on a retry."""

    __tablename__ = "idempotency_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    __table_args__ = (UniqueConstraint("user_id", "key"),)
