"""Districts, teams (and the districts they serve, and who supervises them), customers."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Column, ForeignKey, Index, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, utcnow

if TYPE_CHECKING:
    from ..auth.models import User

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


class District(Base):
    """An administrative area served (Wuhan has 13)."""

    __tablename__ = "districts"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(64))
    is_central: Mapped[bool] = mapped_column(default=True)

    teams: Mapped[list[Team]] = relationship(secondary=team_districts, back_populates="districts")

    def name(self, locale: str) -> str:
        return self.name_zh if locale.startswith("zh") else self.name_en


class Team(Base):
    """A crew of about 8–15 installers serving one or more districts."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(128))
    name_en: Mapped[str] = mapped_column(String(128))
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

    def name(self, locale: str) -> str:
        return self.name_zh if locale.startswith("zh") else self.name_en


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
