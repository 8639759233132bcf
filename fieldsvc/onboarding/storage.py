"""An uploaded file kept between its preview and the admin's confirm: its parsed rows (initial
passwords already hashed, see services.seal_passwords) as JSON under the instance folder, named by
a random id, with the uploader, the time and the file's SHA-256. Kept for a day at most.
Several web hosts need the instance folder shared (or sticky sessions) for a confirm to find it."""
from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app

from ..db import utcnow

KEEP_FOR = timedelta(days=1)
_ID = re.compile(r"[A-Za-z0-9_-]{24}")


@dataclass(frozen=True)
class StoredUpload:
    """A kept upload: who sent it, when, the file's name and SHA-256, its rows and their lines."""

    upload_id: str
    actor_id: int | None
    created_at: datetime
    filename: str
    sha256: str
    rows: list[dict[str, str]]
    lines: list[int]


def _folder() -> Path:
    return Path(current_app.instance_path) / "onboarding"


def save(rows: list[dict[str, str]], lines: list[int], *, filename: str, sha256: str, actor_id: int | None) -> str:
    """Keep an upload; returns its id. Uploads older than KEEP_FOR go first."""
    folder = _folder()
    folder.mkdir(parents=True, exist_ok=True)
    now = utcnow()
    for path in folder.glob("*.json"):
        stored = _read(path)
        if stored is None or now - stored.created_at > KEEP_FOR:
            path.unlink(missing_ok=True)
    upload_id = secrets.token_urlsafe(18)
    record = {"actor_id": actor_id, "created_at": now.isoformat(), "filename": filename, "sha256": sha256,
              "rows": rows, "lines": lines}
    path = folder / f"{upload_id}.json"
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    path.chmod(0o600)  # it holds people's phone numbers
    return upload_id


def _read(path: Path) -> StoredUpload | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return StoredUpload(path.stem, record["actor_id"], datetime.fromisoformat(record["created_at"]),
                            record["filename"], record["sha256"], record["rows"], record["lines"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load(upload_id: str, actor_id: int | None) -> StoredUpload | None:
    """The upload `actor_id` sent under this id, unless it is gone, too old or someone else's."""
    if not _ID.fullmatch(upload_id):
        return None
    stored = _read(_folder() / f"{upload_id}.json")
    if stored is None or stored.actor_id != actor_id or utcnow() - stored.created_at > KEEP_FOR:
        return None
    return stored


def discard(upload_id: str) -> None:
    """Forget an upload (after it was imported)."""
    if _ID.fullmatch(upload_id):
        (_folder() / f"{upload_id}.json").unlink(missing_ok=True)
