"""The data seeded into the third-party SensorThings server: a year of hourly observations.

Pure Python, imported by ``seed.py`` (inside the server's venv) and by the tests, which compute
what they expect from these definitions, never from the plugin's code.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

YEAR_START = datetime(2025, 1, 1, tzinfo=timezone.utc)
HOURS = 365 * 24
_NAMESPACE = uuid.UUID("6f1d3c2a-29a9-4c5e-9d1e-5a7b0c2d3e4f")


def entity_id(kind: str, key: str) -> str:
    """The fixed UUID of an entity (so tests know every id before the server starts)."""
    return str(uuid.uuid5(_NAMESPACE, f"{kind}/{key}"))


@dataclass(frozen=True)
class SeedThing:
    key: str
    name: str
    lon: float
    lat: float


@dataclass(frozen=True)
class SeedProperty:
    key: str
    name: str
    unit_name: str
    symbol: str
    base: float
    amplitude: float


THINGS = (
    SeedThing("kassel-mitte", "Kassel Mitte", 9.4915, 51.3127),
    SeedThing("kassel-nord", "Kassel Nord", 9.5050, 51.3320),
    SeedThing("wuerzburg", "Würzburg Kaiserstraße", 9.9350, 49.7990),
)
PROPERTIES = (
    SeedProperty("no2", "NO2", "microgram per cubic metre", "µg/m³", 30.0, 22.0),
    SeedProperty("temperature", "Air temperature", "degree Celsius", "°C", 11.0, 9.0),
)


def thing_id(thing: SeedThing) -> str:
    return entity_id("Thing", thing.key)


def datastream_id(thing: SeedThing, prop: SeedProperty) -> str:
    return entity_id("Datastream", f"{thing.key}/{prop.key}")


def hour_time(hour: int) -> datetime:
    """phenomenonTime of observation ``hour`` (0 = 2025-01-01T00:00Z)."""
    return YEAR_START + timedelta(hours=hour)


def value(thing_index: int, prop: SeedProperty, hour: int) -> float:
    """The result of hour ``hour``: a daily cycle plus a slow seasonal one, 2 decimals."""
    daily = math.sin(2 * math.pi * (hour % 24) / 24 + thing_index)
    seasonal = math.sin(2 * math.pi * hour / HOURS)
    return round(prop.base + prop.amplitude * daily + 0.3 * prop.amplitude * seasonal, 2)


def hours_between(start: datetime, end: datetime) -> range:
    """Hours whose time t has start <= t <= end (the import's START/END rule for instants)."""
    first = max(0, math.ceil((start - YEAR_START).total_seconds() / 3600))
    last = min(HOURS - 1, math.floor((end - YEAR_START).total_seconds() / 3600))
    return range(first, last + 1)


@dataclass(frozen=True)
class SeedMulti:
    """A MultiDatastream (served only by our canned server: django-ogc-sensorthings 1.2.0 has none)."""

    key: str
    name: str
    thing_index: int
    components: tuple[SeedProperty, ...]


MULTI = SeedMulti("weather", "Würzburg weather", 2, (
    SeedProperty("humidity", "Relative humidity", "percent", "%", 60.0, 20.0),
    SeedProperty("pm10", "PM10", "microgram per cubic metre", "µg/m³", 30.0, 25.0),
))


def multi_id(multi: SeedMulti) -> str:
    return entity_id("MultiDatastream", multi.key)
