"""Form pieces shared by every area."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wtforms.fields.choices import SelectChoice


def choices(pairs: Iterable[tuple[str, Any]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices (tuples are deprecated since WTForms 3.3)."""
    return [SelectChoice(value, label) for value, label in pairs]
