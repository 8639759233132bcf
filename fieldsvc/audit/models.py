"""One row per admin change: the actor, the instant, the object and its fields before and after."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, utcnow


class AuditEntry(Base):
    """An admin change. `before`/`after` hold only the fields that changed (None: created / deleted).

    The work-order event trail stays where it is (`work_order_events`); this is the back office's."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_object", "object_type", "object_key", "at"),
        Index("ix_audit_log_actor_at", "actor_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # None: the command line or the scheduler (no signed-in person).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(48))  # e.g. "user.deactivate", see ACTIONS
    object_type: Mapped[str] = mapped_column(String(32))  # e.g. "user", "team", "setting"
    object_key: Mapped[str] = mapped_column(String(64))  # a stable key: username, team code, rule key…
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
