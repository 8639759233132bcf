"""Support requests (现场支撑) raised from a job at the customer's door, and the messages of each."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, enum_column, utcnow

if TYPE_CHECKING:
    from ..auth.models import User
    from ..workforce.models import Team
    from ..workorders.models import WorkOrder, WorkOrderPhoto


class SupportStatus(enum.Enum):
    """open (waiting) → taken (someone on the desk has it) → answered (a reply sent) → resolved
    (the desk closed it with a resolution) → thanked (the installer confirmed it helped). The
    installer's "solved, thanks" also closes an answered request directly."""

    OPEN = "open"
    TAKEN = "taken"
    ANSWERED = "answered"
    RESOLVED = "resolved"
    THANKED = "thanked"


UNRESOLVED = (SupportStatus.OPEN, SupportStatus.TAKEN, SupportStatus.ANSWERED)


class SupportResolution(enum.Enum):
    SOLVED_REMOTELY = "solved_remotely"
    EXPERT_SENT = "expert_sent"
    ESCALATED_NOC = "escalated_noc"
    CANNOT_SOLVE = "cannot_solve"


class SupportRequest(Base):
    """One call for help on a work order by its installer: what (category, note, optional photo
    and optical reading), who has it on the desk, when it was raised, first answered and resolved."""

    __tablename__ = "support_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    installer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The order's team when raised: the desk's scope and the figures' team, fixed then.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    # The order's status when raised (en_route / on_site), for the figures.
    raised_in: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text)
    reading_dbm: Mapped[float | None]  # an optical receive power read at the door, when given
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("work_order_photos.id", ondelete="SET NULL"))
    status: Mapped[SupportStatus] = mapped_column(enum_column(SupportStatus, "support_status"),
                                                  default=SupportStatus.OPEN)
    raised_at: Mapped[datetime]
    # Fixed when raised from the `support_reply_minutes` rule then in force, so a later change of
    # the rule does not make old requests overdue or on time after the fact.
    reply_due_at: Mapped[datetime]
    taken_at: Mapped[datetime | None]
    taken_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    first_reply_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolution: Mapped[SupportResolution | None] = mapped_column(enum_column(SupportResolution, "support_resolution"))
    thanked_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    work_order: Mapped[WorkOrder] = relationship()
    installer: Mapped[User] = relationship(foreign_keys=[installer_id])
    team: Mapped[Team | None] = relationship()
    taken_by: Mapped[User | None] = relationship(foreign_keys=[taken_by_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])
    photo: Mapped[WorkOrderPhoto | None] = relationship()
    replies: Mapped[list[SupportReply]] = relationship(back_populates="request", order_by="SupportReply.id")

    # Optimistic concurrency: two people on the desk taking the same request, one is refused (409).
    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        CheckConstraint("status NOT IN ('resolved', 'thanked') OR (resolved_at IS NOT NULL AND resolution IS NOT NULL)",
                        name="resolved_has_resolution"),
        CheckConstraint("status <> 'taken' OR taken_by_id IS NOT NULL", name="taken_has_taker"),
        # The desk's queue: the unresolved ones by waiting time; the figures: by raised time.
        Index("ix_support_requests_status_raised_at", "status", "raised_at"),
        Index("ix_support_requests_raised_at", "raised_at"),
        Index("ix_support_requests_updated_at", "updated_at"),
    )


class SupportReply(Base):
    """One message on a request: from the desk to the installer (the first one is the first reply)."""

    __tablename__ = "support_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("support_requests.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    body: Mapped[str] = mapped_column(Text)

    request: Mapped[SupportRequest] = relationship(back_populates="replies")
    author: Mapped[User] = relationship()
