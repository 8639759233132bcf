"""A notice kind of the tests' own, registered on the test app like a feature registers its kinds."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from flask import Flask
from flask_babel import gettext

from fieldsvc.auth.models import User
from fieldsvc.notifications import kinds

NOTE = "test_note"


def word_note(kind: str, data: Mapping[str, Any], reader: User) -> str:
    """"Notifications" in the current language, the note's number, and whose it is: "mine" to its
    owner, the owner's username to anyone else."""
    owner = "mine" if data["owner"] == reader.username else data["owner"]
    return f"{gettext('Notifications')} {data['n']} ({owner})"


@pytest.fixture
def note_kind(app: Flask) -> str:
    """The test app words `test_note` notices with `word_note`."""
    kinds.register(app, NOTE, word_note)
    return NOTE
