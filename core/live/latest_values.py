"""From a parsed feed to the latest value per station, judged ok/warn/alert/stale/error."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from ..sensors.model import FeedResult, Observation
from .feed_config import Thresholds, pollutant_key

STATUSES = ("ok", "warn", "alert", "stale", "error")
#: Property names (lower case, letters and digits only) that stand for a pollutant in any feed.
GENERIC_NAMES = frozenset(
    {"pm25", "pm10", "no2", "noise", "lärm", "laerm", "feinstaubpm25", "feinstaubpm10", "stickstoffdioxid",
     "temperature", "temperatur", "lufttemperatur"}
)


def format_value(value: float | None, decimal: str = ".") -> str:
    """Format a reading for the station table and the map: "9", "9.5", "0.04", "1234" ("" when missing).

    Two significant decimals below 10, one below 1000, none above; trailing zeros dropped;
    ``decimal``: the decimal sign of the user's language (German "9,5").
    """
    if value is None or not math.isfinite(value):
        return ""
    magnitude = abs(value)
    decimals = 0 if magnitude >= 1000 else 1 if magnitude >= 10 else 2 if magnitude >= 0.1 else 4
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text.replace(".", decimal)


@dataclass(slots=True)
class LatestValue:
    """The most recent reading of one station for the feed's property."""

    station_id: str
    name: str
    lon: float | None
    lat: float | None
    value: float | None
    unit: str
    time: datetime | None
    property: str
    stream_id: str = ""
    status: str = "ok"
    detail: str = ""


def choose_property(result: FeedResult) -> str:
    """Return the property measured with a number at most stations (ties: alphabetical); "" if none."""
    stations_per_property: dict[str, set[str]] = {}
    for obs in result.observations:
        if obs.value is not None and obs.property:
            stations_per_property.setdefault(obs.property, set()).add(obs.station_id)
    if not stations_per_property:
        return ""
    counts = Counter({prop: len(ids) for prop, ids in stations_per_property.items()})
    return min(counts, key=lambda prop: (-counts[prop], prop))


def matching_observations(observations: list[Observation], wanted: str) -> list[Observation]:
    """Return the observations of property ``wanted``.

    Exact name (or stream id, case-insensitive) first; a generic pollutant name such as ``PM2.5``,
    ``NO2`` or ``noise`` also matches the feed's own names for it (``P2``, ``SDS_P2``, ``LAeq``).
    """
    target = wanted.strip().lower()
    exact = [o for o in observations if o.property.lower() == target or o.stream_id.lower() == target]
    if exact:
        return exact
    key = pollutant_key(wanted)
    if key is None or re.sub(r"[^a-z0-9äöü]", "", target) not in GENERIC_NAMES:
        return []
    return [o for o in observations if pollutant_key(o.property) == key]


def latest_readings(result: FeedResult, wanted_property: str = "") -> dict[str, LatestValue]:
    """Latest observation of ``wanted_property`` (auto-chosen when empty) per station.

    Stations come from ``result.stations`` (position, name); a station with an observation but
    no station record gets no position. Status is left "ok": see :func:`judge`.
    """
    prop = wanted_property.strip() or choose_property(result)
    stations = {s.station_id: s for s in result.stations}
    latest: dict[str, Observation] = {}
    for obs in matching_observations(result.observations, prop) if prop else []:
        current = latest.get(obs.station_id)
        if current is None or _later(obs.time_end or obs.time, current.time_end or current.time):
            latest[obs.station_id] = obs
    readings = {}
    for station_id, obs in latest.items():
        station = stations.get(station_id)
        readings[station_id] = LatestValue(
            station_id=station_id,
            name=(station.name if station and station.name else station_id),
            lon=station.lon if station else None,
            lat=station.lat if station else None,
            value=obs.value,
            unit=obs.unit,
            time=obs.time_end or obs.time,
            property=obs.property,
            stream_id=obs.stream_id,
            detail=obs.flag,
        )
    return readings


def _later(a: datetime | None, b: datetime | None) -> bool:
    if a is None:
        return False
    return b is None or a >= b


def _older(a: datetime | None, b: datetime | None) -> bool:
    return a is not None and b is not None and a < b


def merge_readings(old: dict[str, LatestValue], fresh: dict[str, LatestValue]) -> dict[str, LatestValue]:
    """Fresh readings over old ones; an older fresh reading (late message) never replaces a newer one.

    Stations missing from ``fresh`` keep their last value (they turn stale with time).
    """
    merged = dict(old)
    for station_id, reading in fresh.items():
        previous = old.get(station_id)
        if previous is None:
            merged[station_id] = reading
        else:
            merged[station_id] = kept = replace(previous)
            update_reading(kept, reading_row(reading))
    return merged


#: The fields of a LatestValue in order: ``reading_row`` gives them as a plain tuple, ``LatestValue(*row)`` back.
ROW_FIELDS = ("station_id", "name", "lon", "lat", "value", "unit", "time", "property", "stream_id", "status", "detail")


def reading_row(reading: LatestValue) -> tuple:
    """Return the fields of ``reading`` as a plain tuple (the garbage collector stops tracking such tuples)."""
    return (reading.station_id, reading.name, reading.lon, reading.lat, reading.value, reading.unit, reading.time,
            reading.property, reading.stream_id, reading.status, reading.detail)


def reading_columns(readings: Iterable[LatestValue]) -> list[list]:
    """Return the readings as one list per field of ``ROW_FIELDS``; ``zip(*columns)`` gives the rows back.

    Eleven objects for Python's garbage collector, not one per reading.
    """
    rows = [reading_row(reading) for reading in readings]
    return [list(column) for column in zip(*rows)] if rows else [[] for _ in ROW_FIELDS]


def update_reading(previous: LatestValue, row: tuple) -> bool:
    """Merge a fresh reading (``row``: ``reading_row``) into ``previous`` in place; True when a field changed.

    A fresh reading without a position keeps the known one; an older fresh reading (a late message)
    only moves and renames the station.
    """
    _station, name, lon, lat = row[:4]
    if _older(row[6], previous.time):
        if lon is None or lat is None or (previous.lon, previous.lat, previous.name) == (lon, lat, name):
            return False
        previous.lon, previous.lat, previous.name = lon, lat, name
        return True
    if lon is None or lat is None:
        row = (*row[:2], previous.lon, previous.lat, *row[4:])
    if reading_row(previous) == row:
        return False
    (previous.station_id, previous.name, previous.lon, previous.lat, previous.value, previous.unit, previous.time,
     previous.property, previous.stream_id, previous.status, previous.detail) = row
    return True


_DIGITS = re.compile(r"\d+")


def sort_text(name: str) -> str:
    """Return a text that sorts names naturally ("Station 3" before "Station 22"): lower case, numbers padded."""
    return _DIGITS.sub(lambda match: match.group().rjust(20, "0"), name.lower())


def judge(reading: LatestValue, thresholds: Thresholds, now: datetime, stale_after_s: float) -> tuple[str, str]:
    """Status and explanation of a reading at time ``now`` (timezone-aware UTC)."""
    if reading.value is None:
        return "error", reading.detail or "no numeric value in the latest observation"
    if reading.time is not None:
        age = (now - reading.time).total_seconds()
        if age > stale_after_s:
            return "stale", f"last value {_age_text(age)} old (stale after {_age_text(stale_after_s)})"
    status = thresholds.classify(reading.value)
    if status == "alert":
        return status, f"at or above the alert threshold {thresholds.alert:g}"
    if status == "warn":
        return status, f"at or above the warn threshold {thresholds.warn:g}"
    return status, ""


def judge_all(
    readings: dict[str, LatestValue], thresholds: Thresholds, stale_after_s: float, now: datetime | None = None
) -> dict[str, LatestValue]:
    """Return the readings with their status set for ``now`` (default: the current time)."""
    now = now or datetime.now(timezone.utc)
    return {station_id: judged(reading, thresholds, now, stale_after_s) for station_id, reading in readings.items()}


def judged(reading: LatestValue, thresholds: Thresholds, now: datetime, stale_after_s: float) -> LatestValue:
    """Return a copy of ``reading`` with its status and explanation for ``now``."""
    status, detail = judge(reading, thresholds, now, stale_after_s)
    return replace(reading, status=status, detail=detail)


def judge_in_place(reading: LatestValue, thresholds: Thresholds, now: datetime, stale_after_s: float) -> bool:
    """Set the status and explanation of ``reading`` for ``now``; True when they changed."""
    status, detail = judge(reading, thresholds, now, stale_after_s)
    if status == reading.status and detail == reading.detail:
        return False
    reading.status, reading.detail = status, detail
    return True


def _age_text(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"
