"""The common model every feed parser produces: stations and observations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Station:
    """A sensor station (SensorThings Thing, LoRaWAN device, senseBox, ...)."""

    station_id: str
    name: str = ""
    lon: float | None = None
    lat: float | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    last_time: datetime | None = None
    source: str = ""


@dataclass(slots=True)
class Observation:
    """One observed value; ``time`` and ``time_end`` are timezone-aware UTC datetimes."""

    station_id: str
    stream_id: str
    property: str
    unit: str
    time: datetime
    value: float | None
    raw: str = ""
    source: str = ""
    time_end: datetime | None = None
    flag: str = ""


@dataclass
class FeedResult:
    """What a parser or importer returns."""

    stations: list[Station] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    complete: bool = True
    warnings: list[str] = field(default_factory=list)
