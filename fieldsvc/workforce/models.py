"""Districts, teams (and the districts they serve, and who supervises them), customers, and the
kinds of job the crews do."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, CheckConstraint, Column, ForeignKey, Index, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, BilingualName, utcnow

if TYPE_CHECKING:
    from ..auth.models import User
    from ..certifications.models import JobTypeRequirement

team_districts = Table(
    "team_districts",
    Base.metadata,
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("district_id", ForeignKey("districts.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_team_districts_district_id", "district_id"),
)

team_supervisors = Table(
    "team_supervisors",
    Base.metadata,
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_team_supervisors_user_id", "user_id"),
)


class District(BilingualName, Base):
    """An administrative area served (Wuhan has 13)."""

    name_length = 64
    __tablename__ = "districts"

    id: Mapped[int] = mapped_column(primary_key=True)
    is_central: Mapped[bool] = mapped_column(default=True)

    teams: Mapped[list[Team]] = relationship(secondary=team_districts, back_populates="districts")


class Team(BilingualName, Base):
    """A crew of about 8–15 installers serving one or more districts."""

    name_length = 128
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Where the crew is based (its service centre); it may serve neighbouring districts too.
    home_district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"))
    is_active: Mapped[bool] = mapped_column(default=True)

    districts: Mapped[list[District]] = relationship(
        secondary=team_districts, back_populates="teams", order_by="District.id"
    )
    supervisors: Mapped[list[User]] = relationship(
        secondary=team_supervisors, back_populates="supervised_teams"
    )
    members: Mapped[list[User]] = relationship(back_populates="team", foreign_keys="User.team_id")


class Customer(Base):
    """A broadband account and its service location."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_no: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    phone: Mapped[str] = mapped_column(String(32), index=True)
    address: Mapped[str] = mapped_column(String(255))
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    district: Mapped[District] = relationship()


class JobType(BilingualName, Base):
    """A kind of job crews do (install, repair…): its deadline rule, what completing it requires,
    and (certifications.models.JobTypeRequirement) the certificates it needs."""

    name_length = 64
    __tablename__ = "job_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Deadline: created before the cut-off hour (local) → end of that day; later → within N hours.
    same_day_cutoff_hour: Mapped[int | None] = mapped_column(default=16)
    deadline_hours: Mapped[int] = mapped_column(default=24)
    is_repair: Mapped[bool] = mapped_column(default=False)
    is_install: Mapped[bool] = mapped_column(default=False)
    required_evidence: Mapped[list[str]] = mapped_column(JSON, default=list)
    photos_required: Mapped[int] = mapped_column(default=0, server_default="0")
    is_active: Mapped[bool] = mapped_column(default=True)

    requirements: Mapped[list[JobTypeRequirement]] = relationship(
        back_populates="job_type", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint("deadline_hours > 0", name="deadline_hours_positive"),
        CheckConstraint("photos_required >= 0", name="photos_required_nonnegative"),
        CheckConstraint(
            "same_day_cutoff_hour IS NULL OR (same_day_cutoff_hour >= 0 AND same_day_cutoff_hour <= 23)",
            name="cutoff_hour_range",
        ),
    )
