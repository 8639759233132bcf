"""The registry of notice kinds: the function that words each kind of notice, per app.

A feature that sends notices registers each of its kinds with the function that words a notice
for one reader in the current language (`register(app, kind, describe)`, from its blueprint's
`record_once` or its own `init_app`). The inbox asks `describe` in the reader's language, and
`services.deliver` asks it in English for the stored message. The registry lives on the app
(`app.extensions`), so what an app knows depends on how the factory built it, not on which
modules happen to have been imported before."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

from .models import Notification

if TYPE_CHECKING:
    from ..auth.models import User

# (kind, data, reader) -> the notice worded for `reader` in the current language
Describe = Callable[[str, Mapping[str, Any], "User"], str]

_EXTENSION = "fieldsvc.notification_kinds"
_MAX_KIND = Notification.__table__.c.kind.type.length


def register(app: Flask, kind: str, describe: Describe) -> None:
    """Let `app` word notices of `kind` with `describe`; each kind belongs to one function."""
    if not kind or len(kind) > _MAX_KIND:
        raise ValueError(f"a notice kind has 1 to {_MAX_KIND} characters: {kind!r}")
    known: dict[str, Describe] = app.extensions.setdefault(_EXTENSION, {})
    if known.setdefault(kind, describe) != describe:
        raise ValueError(f"notice kind {kind!r} is registered already, to {known[kind]!r}")


def registered(app: Flask | None = None) -> frozenset[str]:
    """The kinds `app` (by default the current one) can word."""
    return frozenset((app or current_app).extensions.get(_EXTENSION, ()))


def describe(kind: str, data: Mapping[str, Any] | None, reader: User, fallback: str = "") -> str:
    """The notice worded for `reader` in the current language by its kind's function; `fallback`
    (the stored message) for a kind nobody registered, or a notice without data."""
    wording = current_app.extensions.get(_EXTENSION, {}).get(kind)
    if wording is None or not data:
        return fallback
    return wording(kind, data, reader)
