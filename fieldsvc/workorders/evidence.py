"""Completion evidence: what each job type requires, and checking what an installer sends. The
limits here are the only copy: the job page's form, the API's description and the admin pages
read them from this module."""
from __future__ import annotations

import math
from typing import Any

from flask_babel import lazy_gettext as _l

from ..errors import InvalidInput, number_text
from ..rules.registry import RULES

# Evidence a job type may require (admins choose per job type); photos and signature are files.
EVIDENCE_FIELDS = {
    "onu_serial": _l("ONU serial number"),
    "rx_power_dbm": _l("Optical receive power (dBm)"),
    "fault_cause": _l("Fault cause"),
    "speed_mbps": _l("Measured speed (Mbps)"),
    "signature": _l("Customer signature"),
}

FAULT_CAUSE_LABELS = {
    "onu": _l("ONU / home gateway"),
    "drop_fibre": _l("Drop fibre"),
    "connector": _l("Connector"),
    "config": _l("Configuration"),
    "customer_device": _l("Customer's device"),
    "outside_plant": _l("Outside plant"),
    "other": _l("Other"),
}
FAULT_CAUSES = tuple(FAULT_CAUSE_LABELS)

ONU_SERIAL_LENGTH = (4, 32)  # letters and digits, fewest and most
# A reading outside this range is a typo or a broken meter: refused. Within it, a reading outside
# the accepted band (the metric setting `rx_power_band_dbm`, which admins move) is kept and flagged.
RX_POWER_PLAUSIBLE_DBM = (-60, 10)
RX_POWER_DECIMALS = 2
# The accepted band an admin may set lies within this range (the rules registry's bounds).
RX_BAND_SETTABLE_DBM = RULES["rx_power_band_dbm"].bounds
# From the slowest line a meter shows (0.1 Mbps: the precision kept) to the fastest plausible one.
SPEED_MBPS = (0.1, 100_000)
SPEED_DECIMALS = 1
MAX_MATERIALS = 30
MATERIAL_ITEM_LENGTH = 64
MAX_MATERIAL_QUANTITY = 10_000  # and above 0
PHOTOS_REQUIRED = (0, 10)  # how many photos a job type may require, fewest and most


def _number(value: Any, field: str, errors: dict[str, list[str]]) -> float | None:
    if isinstance(value, bool):
        errors[field] = [_l("Must be a number.")]
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        errors[field] = [_l("Must be a number.")]
        return None
    if not math.isfinite(number):
        errors[field] = [_l("Must be a finite number.")]
        return None
    return number


def clean_evidence(raw: dict[str, Any] | None, rx_band: tuple[float, float]) -> dict[str, Any]:
    """Validated evidence: known fields with the right types. Unknown or malformed fields are bad
    input (400); readings outside the accepted band are kept and flagged, not refused."""
    raw = raw or {}
    if not isinstance(raw, dict):
        raise InvalidInput(_l("The evidence must be an object."), errors={"evidence": [_l("Must be an object.")]})
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    for field, value in raw.items():
        if value is None or value == "" or value == []:
            continue
        if field == "onu_serial":
            text = str(value).strip().upper()
            low, high = ONU_SERIAL_LENGTH
            if not low <= len(text) <= high or not text.isalnum():
                errors[field] = [_l("%(low)d to %(high)d letters and digits.", low=low, high=high)]
            else:
                clean[field] = text
        elif field == "rx_power_dbm":
            number = _number(value, field, errors)
            if number is not None:
                low, high = RX_POWER_PLAUSIBLE_DBM
                if not low <= number <= high:
                    errors[field] = [_l("Not a plausible reading (%(low)s to %(high)s dBm).",
                                        low=number_text(low), high=number_text(high))]
                else:
                    clean[field] = round(number, RX_POWER_DECIMALS)
                    clean["rx_power_in_band"] = rx_band[0] <= number <= rx_band[1]
        elif field == "fault_cause":
            if value not in FAULT_CAUSES:
                errors[field] = [_l("One of: %(values)s.", values=", ".join(FAULT_CAUSES))]
            else:
                clean[field] = value
        elif field == "speed_mbps":
            number = _number(value, field, errors)
            if number is not None:
                low, high = SPEED_MBPS
                if not low <= number <= high:
                    errors[field] = [_l("Must be from %(low)s to %(high)s.", low=number_text(low), high=number_text(high))]
                else:
                    clean[field] = round(number, SPEED_DECIMALS)
        elif field == "materials":
            materials = _materials(value, errors)
            if materials:
                clean[field] = materials
        elif field in ("photos", "signature"):
            continue  # files: counted from the order's uploads, not taken from the body
        else:
            errors[field] = [_l("Unknown evidence field.")]
    if errors:
        raise InvalidInput(_l("The evidence has errors."), errors=errors)
    return clean


def _materials(value: Any, errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    if not isinstance(value, list) or len(value) > MAX_MATERIALS:
        errors["materials"] = [_l("A list of at most %(n)d {item, quantity} objects.", n=MAX_MATERIALS)]
        return []
    materials = []
    for entry in value:
        item = str(entry.get("item", "")).strip() if isinstance(entry, dict) else ""
        quantity = entry.get("quantity") if isinstance(entry, dict) else None
        if not item or len(item) > MATERIAL_ITEM_LENGTH or isinstance(quantity, bool) \
                or not isinstance(quantity, (int, float)) or not 0 < quantity <= MAX_MATERIAL_QUANTITY:
            errors["materials"] = [_l("Each material needs an item (at most %(n)d characters) and a quantity above 0.",
                                      n=MATERIAL_ITEM_LENGTH)]
            return []
        materials.append({"item": item, "quantity": quantity})
    return materials


def missing_evidence(required: list[str], evidence: dict[str, Any], photo_count: int, photos_required: int,
                     has_signature: bool) -> list[str]:
    """The required fields that the evidence (and the order's uploads) lack."""
    missing = [field for field in required if field != "signature" and field not in evidence]
    if "signature" in required and not has_signature:
        missing.append("signature")
    if photo_count < photos_required:
        missing.append("photos")
    return missing
