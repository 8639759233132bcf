"""Praise on record: compliments for an installer that came by letter, banner (锦旗), phone call or
otherwise, recorded by a supervisor of the installer's team or an admin, and counted beside the
ratings (`summaries`). Who sees which: an admin all; a supervisor their teams' (by the team it was
recorded in, or the installer's team now); an installer their own.

The optional photo goes through the orders' photo pipeline (`workorders.photos.prepare`: checked
from its header, decoded at a reduced scale, resized, no EXIF) and is written with the
transaction that records it (`db.write_on_commit`). Services flush; the edge commits."""
from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, or_, select, true
from sqlalchemy.orm import joinedload

from ..auth.models import Role, User
from ..auth.scope import in_managed_team, manages
from ..db import write_on_commit
from ..errors import Forbidden, InvalidInput
from ..extensions import db
from ..workorders import photos
from ..workorders.photos import Readable, Upload
from .models import Praise, PraiseChannel

PAGE_SIZE = 100  # praise listed on a page


def photo_upload(name: str, stream: Readable) -> Upload:
    """The photo sent with a praise, checked and re-encoded like an order's (InvalidInput if bad)."""
    (upload,) = photos.prepare([(name, stream)])
    return upload


def record_praise(installer: User, actor: User, received_on: date, channel: PraiseChannel, note: str,
                  today: date, photo: Upload | None = None) -> Praise:
    """Record a compliment for `installer`: by an admin, or a supervisor of the installer's team
    (Forbidden otherwise); not dated after `today`."""
    if installer.role is not Role.INSTALLER or not manages(actor, installer):
        raise Forbidden(_l("You may record praise only for installers of your teams."))
    if received_on > today:
        message = _l("The praise cannot have arrived after today.")
        raise InvalidInput(message, errors={"received_on": [message]})
    note = note.strip()
    if not note:
        message = _l("Say what the praise said.")
        raise InvalidInput(message, errors={"note": [message]})
    praise = Praise(installer_id=installer.id, team_id=installer.team_id, received_on=received_on, channel=channel,
                    note=note, recorded_by_id=actor.id)
    if photo is not None:
        praise.photo_filename = f"{secrets.token_hex(16)}.{photo.suffix}"
        write_on_commit(db.session, photos.upload_folder() / praise.photo_filename, photo.content)
    db.session.add(praise)
    db.session.flush()
    return praise


def visible_praise_clause(user: User) -> ColumnElement[bool]:
    """A condition on Praise: the ones `user` may see."""
    if user.role is Role.ADMIN:
        return true()
    if user.role is Role.SUPERVISOR:
        current = select(User.id).where(User.role == Role.INSTALLER, in_managed_team(User.team_id, user.role, user.id))
        return or_(in_managed_team(Praise.team_id, user.role, user.id), Praise.installer_id.in_(current))
    return Praise.installer_id == user.id


def praise_list(user: User, *, installer_ids: Sequence[int] | None = None, team_id: int | None = None,
                since: date | None = None, limit: int = PAGE_SIZE) -> Select[tuple[Praise]]:
    """A SELECT of the praise `user` may see, newest first, with the installer and recorder loaded."""
    query = (select(Praise).where(visible_praise_clause(user))
             .options(joinedload(Praise.installer), joinedload(Praise.recorded_by))
             .order_by(Praise.received_on.desc(), Praise.id.desc()).limit(limit))
    if installer_ids is not None:
        query = query.where(Praise.installer_id.in_(installer_ids))
    if team_id is not None:
        query = query.where(Praise.team_id == team_id)
    if since is not None:
        query = query.where(Praise.received_on >= since)
    return query


def praise_photo(user: User, praise_id: int) -> Path | None:
    """The stored photo of a praise `user` may see, else None."""
    filename = db.session.scalar(select(Praise.photo_filename)
                                 .where(Praise.id == praise_id, visible_praise_clause(user)))
    return photos.upload_folder() / filename if filename else None
