"""Collects stations, observations and warnings while a parser walks a feed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .model import FeedResult, Observation, Station
from .sentinels import INVALID, screen
from .values import finite, raw_json

MAX_WARNINGS = 50


class FeedBuilder:
    """Builds a FeedResult: one Station per id, observations in feed order, unique warnings."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._stations: dict[str, Station] = {}
        self._observations: list[Observation] = []
        self._warnings: list[str] = []
        self._dropped_warnings = 0
        self._placed_at: dict[str, datetime] = {}

    def station(self, station_id: str, name: str = "", **properties: Any) -> Station:
        """Return the station ``station_id``, created on first use; ``properties`` are merged in."""
        station = self._stations.get(station_id)
        if station is None:
            station = Station(station_id=station_id, name=name or station_id, source=self.source)
            self._stations[station_id] = station
        elif name and station.name == station_id:
            station.name = name
        station.properties.update({key: value for key, value in properties.items() if value not in (None, "")})
        return station

    def place(self, station: Station, lon: Any, lat: Any, moment: datetime | None = None) -> bool:
        """Set the station position when lon/lat are valid WGS 84 numbers; True when set.

        A later message (by ``moment``) moves the station; an older one does not. (0, 0) is taken
        as "no position" (the placeholder of GPS modules without a fix and of empty registries).
        """
        lon_value, lat_value = finite(_float(lon)), finite(_float(lat))
        if lon_value is None or lat_value is None or not (-180 <= lon_value <= 180 and -90 <= lat_value <= 90):
            return False
        if lon_value == 0 and lat_value == 0:
            return False
        placed_at = self._placed_at.get(station.station_id)
        if station.lon is not None and placed_at is not None and moment is not None and moment < placed_at:
            return True
        station.lon, station.lat = lon_value, lat_value
        if moment is not None:
            self._placed_at[station.station_id] = moment
        return True

    def seen(self, station: Station, moment: datetime | None) -> None:
        """Advance the station's ``last_time`` to ``moment``."""
        if moment is not None and (station.last_time is None or moment > station.last_time):
            station.last_time = moment

    def observe(
        self,
        station: Station,
        stream_id: str,
        prop: str,
        unit: str,
        moment: datetime,
        value: float | None,
        original: Any,
        lorawan: bool = False,
        time_end: datetime | None = None,
        **extra: Any,
    ) -> Observation:
        """Add one observation; sentinels, non-finite and non-numeric values become None with a flag."""
        clean, flag = screen(value, lorawan)
        if value is None and original not in (None, ""):
            flag = INVALID
        observation = Observation(
            station_id=station.station_id,
            stream_id=stream_id,
            property=prop,
            unit=unit,
            time=moment,
            value=clean,
            raw=raw_json(original, **extra),
            source=self.source,
            time_end=time_end,
            flag=flag,
        )
        self._observations.append(observation)
        self.seen(station, time_end or moment)
        return observation

    def warn(self, message: str) -> None:
        """Add a warning once; after MAX_WARNINGS only count the rest."""
        if message in self._warnings:
            return
        if len(self._warnings) < MAX_WARNINGS:
            self._warnings.append(message)
        else:
            self._dropped_warnings += 1

    def result(self, noun: str = "station") -> FeedResult:
        """Return the FeedResult; stations without a position get a warning "<noun> <id> has no position"."""
        for station in self._stations.values():
            if station.lon is None:
                self.warn(f"{noun} {station.station_id} has no position")
        observations = self._without_duplicates()
        warnings = list(self._warnings)
        if self._dropped_warnings:
            warnings.append(f"... and {self._dropped_warnings} more warnings")
        return FeedResult(stations=list(self._stations.values()), observations=observations, warnings=warnings)

    def _without_duplicates(self) -> list[Observation]:
        """Observations with one value per (stream_id, time): a later duplicate replaces an earlier one."""
        latest: dict[tuple[str, datetime], int] = {}
        for index, observation in enumerate(self._observations):
            latest[(observation.stream_id, observation.time)] = index
        if len(latest) == len(self._observations):
            return self._observations
        duplicates = len(self._observations) - len(latest)
        self.warn(
            f"{duplicates} observations repeat a stream and time already in the feed "
            "(a message delivered twice?): the later value is kept"
        )
        keep = set(latest.values())
        return [observation for index, observation in enumerate(self._observations) if index in keep]


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
