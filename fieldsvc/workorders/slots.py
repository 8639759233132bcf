"""The booking windows customers are offered (local time), and turning a booked one into times.
The API books any window the lifecycle accepts; the pages offer these."""
from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

SLOTS = (("09-11", time(9), time(11)), ("11-13", time(11), time(13)), ("14-16", time(14), time(16)),
         ("16-18", time(16), time(18)), ("18-20", time(18), time(20)))


def slot_labels() -> list[tuple[str, str]]:
    """(code, "14:00–16:00") of every slot, for a form's choices."""
    return [(code, f"{start:%H:%M}–{end:%H:%M}") for code, start, end in SLOTS]


def slot_times(day: date, code: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The aware start and end of slot `code` on the local `day` (KeyError for an unknown code)."""
    for slot, start, end in SLOTS:
        if slot == code:
            return datetime.combine(day, start, tzinfo=tz), datetime.combine(day, end, tzinfo=tz)
    raise KeyError(code)


def slot_starting(start: datetime, tz: ZoneInfo) -> str:
    """The code of the slot that starts when `start` does, locally; "" when none does."""
    local = start.astimezone(tz).time()
    return next((code for code, begins, _end in SLOTS if begins == local), "")
