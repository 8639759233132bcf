"""Users with roles, and their API tokens."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, enum_column, utcnow
from ..workforce.models import team_supervisors

if TYPE_CHECKING:
    from ..workforce.models import Team


class Role(enum.Enum):
    INSTALLER = "installer"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class EmployerType(enum.Enum):
    STAFF = "staff"
    CONTRACTOR = "contractor"


class User(UserMixin, Base):
    """A person who signs in: installer, supervisor or admin. The username is the employee number."""

    __tablename__ = "users"
    __table_args__ = (Index("ix_users_team_id_role", "team_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    employer_type: Mapped[EmployerType] = mapped_column(
        enum_column(EmployerType, "employer_type"), default=EmployerType.STAFF
    )
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    is_active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # Carried by every browser session and remember-me cookie (see `get_id`); raising it ends them
    # all, copies included: sign-out, a new password and deactivation do.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    team: Mapped[Team | None] = relationship(back_populates="members", foreign_keys=[team_id])
    supervised_teams: Mapped[list[Team]] = relationship(
        secondary=team_supervisors, back_populates="supervisors"
    )
    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")

    def get_id(self) -> str:
        """What Flask-Login stores in the session and the remember-me cookie: the id and the
        session version, so a cookie from before the version last changed loads nobody."""
        return f"{self.id}:{self.session_version}"

    def display_name(self, locale: str) -> str:
        return self.name if locale.startswith("zh") or not self.name_en else self.name_en

    @property
    def is_installer(self) -> bool:
        return self.role is Role.INSTALLER

    @property
    def is_supervisor(self) -> bool:
        return self.role is Role.SUPERVISOR

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


class ApiToken(Base):
    """A bearer token for the REST API; only its SHA-256 digest is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    name: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")


class PasswordResetLink(Base):
    """A one-time link an admin makes for a user to set a new password: only the token's SHA-256
    digest is stored; it works once (`used_at`) and until `expires_at`."""

    __tablename__ = "password_reset_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Who made it (an admin; None: the command line).
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])
