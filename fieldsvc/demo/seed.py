"""`seed_demo`: the order of the work (reference ids, organisation, certificates and training, then
customers and orders) and what every part shares: the random generator, the clock, the ids."""
from __future__ import annotations

import math
import time as wallclock
from collections.abc import Callable
from datetime import date, datetime
from random import Random
from typing import Any

from sqlalchemy import Table, insert, select

from ..certifications.models import CertificationType
from ..db import UTC, utcnow, zone
from ..extensions import db
from ..reference import ensure_reference_data
from ..workforce.models import District
from ..workorders.standards import attach_to_open_orders
from .bulk import Ids
from .notes import write_notes
from .orders import Orders
from .organisation import DemoInstaller, DemoTeam, build_organisation, demo_password_hash, write_people
from .reference import DISTRICT_INFO
from .service import put_standards
from .training import certificates_and_training, write_training


def seed_demo(installers: int = 120, days: int = 90, seed: int = 2026, echo: Callable[[str], Any] = print,
              now: datetime | None = None) -> dict[str, int]:
    """Fill an empty database with `days` days of realistic demo data up to the instant `now` (by
    default the current time); commits; returns the rows written per table."""
    started = wallclock.monotonic()
    now = now or utcnow()
    if now.tzinfo is None:
        raise ValueError("naive datetime given; use an aware one (fieldsvc.db.utcnow())")
    rng = Random(seed)  # nosec B311
    generator = Seeder(installers=installers, days=days, rng=rng, now=now, tz=zone(), echo=echo,
                       service_rng=Random(f"service:{seed}"))  # nosec B311
    counts = generator.run()
    echo(f"demo data ready in {wallclock.monotonic() - started:.0f} s")
    return counts


class Seeder:
    """What the parts of the demo share, and the order they run in."""

    def __init__(self, *, installers: int, days: int, rng: Random, now: datetime, tz: Any,
                 echo: Callable[[str], Any], service_rng: Random | None = None) -> None:
        self.n_installers = installers
        self.rng = rng
        # The service standard's ticks and the support requests (service.py) draw from their own
        # generator, so the orders are drawn as they would be without them.
        self.service_rng = service_rng or Random(f"service:{rng.random()}")  # nosec B311
        self.tz = tz
        self.echo = echo
        self.now = now.astimezone(tz)  # the demo's clock: nothing happens after it
        self.today = self.now.date()
        # Local day arithmetic on epoch seconds with the zone's offset at `now` (exact for zones
        # without daylight saving, such as the default Asia/Shanghai).
        offset = self.now.utcoffset()
        self.offset = int(offset.total_seconds()) if offset else 0
        self.vnow = math.floor(self.now.timestamp())  # `now` in whole seconds, never after it
        self.today_n = self.day_number(self.today)
        self.first_n = self.today_n - days + 1
        self.counts: dict[str, int] = {}
        self.ids = Ids()
        self.teams: list[DemoTeam] = []
        self.installers: list[DemoInstaller] = []
        self.admin_id = 1
        self.password_hash = ""  # nosec B105
        # Rows of the organisation, written once the certificates have settled hire dates.
        self.user_rows: list[dict[str, Any]] = []
        self.team_district_rows: list[dict[str, Any]] = []
        self.supervisor_rows: list[dict[str, Any]] = []

    def run(self) -> dict[str, int]:
        """Seed everything, committing as it goes; returns the rows written per table."""
        ensure_reference_data()
        db.session.commit()
        self.reference()
        self.password_hash = demo_password_hash()
        build_organisation(self)
        training, certificate_rows = certificates_and_training(self)
        write_people(self)
        write_training(self, training, certificate_rows)
        write_notes(self)
        put_standards(self)  # in force before the orders that carry it
        db.session.commit()
        self.echo(f"  {len(self.teams)} teams, {len(self.installers)} installers, "
                  f"{self.counts['certifications']} certificates, {self.counts['training_records']} training records")
        Orders(self).run()
        # Open jobs created before the standard came in (none unless it is very recent) get it now.
        self.counts["order_standards"] += attach_to_open_orders()
        db.session.commit()
        return self.counts

    def day_date(self, n: int) -> date:
        """The date of local day number `n` (days since 1970-01-01)."""
        return date.fromordinal(n + date(1970, 1, 1).toordinal())

    def day_number(self, day: date) -> int:
        """The local day number of `day`."""
        return day.toordinal() - date(1970, 1, 1).toordinal()

    def local_datetime(self, n: int, seconds: float) -> datetime:
        """Local day number `n` plus `seconds`, as an aware UTC datetime."""
        return datetime.fromtimestamp(n * 86400 - self.offset + int(seconds), UTC)

    def reference(self) -> None:
        """The ids of the reference data the demo refers to (districts, certificate types)."""
        rows = db.session.execute(select(District.code, District.id, District.is_central, District.name_zh,
                                         District.name_en)).all()
        self.district_ids = {code: id_ for code, id_, *_rest in rows}
        self.district_central = {code: central for code, _id, central, *_rest in rows}
        self.district_names = {code: (zh, en) for code, _id, _central, zh, en in rows}
        self.district_codes = [code for code in DISTRICT_INFO if code in self.district_ids]
        self.cert_types = {ct.code: ct for ct in db.session.scalars(select(CertificationType))}

    def insert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """Insert `rows` (dictionaries) into `table`, 5,000 at a time."""
        for start in range(0, len(rows), 5000):
            db.session.execute(insert(table), rows[start:start + 5000])
