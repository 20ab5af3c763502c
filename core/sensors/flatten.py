"""Readings from a decoded LoRaWAN payload (TTN ``decoded_payload``, ChirpStack ``object``).

Rules (shared by ttn.py and chirpstack.py):
- Numbers become readings; nested objects are flattened with dotted names (``bme.temp``) and
  list items get their index (``temps.0``). Numeric strings (``"-1.5"``) are read as numbers,
  because several decoders emit them; other strings and booleans are states, not measurements,
  and are skipped, as are nulls.
- Bookkeeping fields (``SKIPPED_FIELDS``: error codes, device clocks, counters) and identifiers
  (``id``, ``*_id`` such as ``SDS_ID``) are skipped.
- A SenseCAP-style ``messages`` list of ``{measurementId, measurementValue, type}`` gives one
  reading per entry, named by ``type`` (e.g. "Air Temperature"), unit from ``SENSECAP_UNITS``.
- A top-level ``latitude``/``longitude`` (or ``lat``/``lon``/``lng``) pair is the device
  position, not a reading.
- Units are not in the payload: ``unit_for`` infers them from well-known field names, else "".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .values import as_number, finite

SKIPPED_FIELDS = frozenset(
    {"err", "error", "valid", "payload", "systimestamp", "ext", "timestamp", "time", "port", "fport", "f_port", "fcnt"}
)
POSITION_KEYS = (("longitude", "latitude"), ("lon", "lat"), ("lng", "lat"))

# SenseCAP measurement ids (Seeed "SenseCAP measurement list") -> unit.
SENSECAP_UNITS = {
    "4097": "°C",  # Air Temperature
    "4098": "%",  # Air Humidity
    "4099": "lx",  # Light Intensity
    "4100": "ppm",  # CO2
    "4101": "Pa",  # Barometric Pressure
    "4102": "°C",  # Soil Temperature
    "4103": "%",  # Soil Moisture
    "4104": "°",  # Wind Direction
    "4105": "m/s",  # Wind Speed
    "4113": "mm/h",  # Rain Gauge
    "4190": "",  # UV Index (dimensionless)
}

_UNIT_PATTERNS = [
    (re.compile(r"^temp(erature)?_?f$"), "°F"),
    (re.compile(r"^(t|temp|tempc|temperature)(_|\d|$)|^temp"), "°C"),
    (re.compile(r"^(hum|humidity|rh)(_|\d|$)"), "%"),
    (re.compile(r"^(batv|bat_v|vbat|battery_?v|battery_voltage|voltage|vcc)(_|\d|$)|^adc.*v$"), "V"),
    (re.compile(r"^pm_?(1|2_?5|2\.5|4|10)(_0)?(_|$)"), "µg/m³"),
    (re.compile(r"^co2(_|$)"), "ppm"),
    (re.compile(r"^(lux|illuminance)(_|$)"), "lx"),
    (re.compile(r"^(laeq|noise|noise_laeq)(_|$)"), "dB(A)"),
]


@dataclass
class Reading:
    """One measured number from a decoded payload."""

    field: str
    property: str
    unit: str
    value: float | None
    original: Any


def unit_for(field: str) -> str:
    """Guess the unit from a field name (its last dotted part); "" when it is not well known."""
    name = field.rsplit(".", 1)[-1].lower()
    for pattern, unit in _UNIT_PATTERNS:
        if pattern.search(name):
            return unit
    return ""


def decoded_position(payload: Any) -> tuple[float, float] | None:
    """(lon, lat) from top-level position keys of a decoded payload, else None."""
    if not isinstance(payload, dict):
        return None
    lowered = {str(key).lower(): value for key, value in payload.items()}
    for lon_key, lat_key in POSITION_KEYS:
        lon, lat = finite(as_number(lowered.get(lon_key))), finite(as_number(lowered.get(lat_key)))
        if lon is not None and lat is not None and (lon, lat) != (0.0, 0.0):
            return lon, lat
    return None


def readings(payload: Any) -> list[Reading]:
    """All readings of a decoded payload (see the module rules)."""
    if not isinstance(payload, dict):
        return []
    skip_position = decoded_position(payload) is not None
    found: list[Reading] = []
    for key, value in payload.items():
        name = str(key)
        if skip_position and any(name.lower() in pair for pair in POSITION_KEYS):
            continue
        if name == "messages" and isinstance(value, list):
            found.extend(_sensecap(value))
            continue
        _walk(name, value, found)
    return found


def _walk(path: str, value: Any, found: list[Reading]) -> None:
    name = path.rsplit(".", 1)[-1].lower()
    if name in SKIPPED_FIELDS or name == "id" or name.endswith("_id"):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _walk(f"{path}.{key}", item, found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(f"{path}.{index}", item, found)
    else:
        number = as_number(value)
        if number is not None:
            found.append(Reading(path, path, unit_for(path), number, value))


def _sensecap(messages: list[Any]) -> list[Reading]:
    found: list[Reading] = []
    for entry in messages:
        if isinstance(entry, list):
            found.extend(_sensecap(entry))
            continue
        if not isinstance(entry, dict) or "measurementValue" not in entry:
            continue
        number = as_number(entry["measurementValue"])
        if number is None:
            continue
        measurement_id = str(entry.get("measurementId", ""))
        name = str(entry.get("type") or f"measurement {measurement_id}")
        found.append(Reading(name, name, SENSECAP_UNITS.get(measurement_id, ""), number, entry["measurementValue"]))
    return found
