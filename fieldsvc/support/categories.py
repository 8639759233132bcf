"""What an installer asks for help with at the door: stable codes (stored, and used by the API)
with their labels. The requests, the desk and the standard-procedure notes all use this list."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

SUPPORT_CATEGORIES = {
    "resource_port": _l("Resource / port"),
    "provisioning": _l("Provisioning / configuration"),
    "optical_signal": _l("Optical signal"),
    "outside_plant": _l("Outside-plant fault"),
    "customer_equipment": _l("Customer equipment"),
    "technical": _l("Technical difficulty"),
    "other": _l("Other"),
}
