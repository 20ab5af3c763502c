"""Collects stations, observations and warnings while a parser walks a feed.

No single bad value stops a feed: a parser reads each entity (message, record, box, line) inside
``FeedBuilder.entity``; a bad time, a member of the wrong type or any other value that cannot be
read skips that entity, counted with a warning, and the rest is read. Only when no entity could be
read is the feed refused (``FeedFormatError`` naming the first problem).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from .errors import FeedFormatError
from .model import FeedResult, Observation, Station
from .sentinels import INVALID, screen
from .values import finite, raw_json

MAX_WARNINGS = 50
#: Errors of a bad value inside one entity: the entity is skipped (wrong-typed members raise the others).
ENTITY_ERRORS = (FeedFormatError, AttributeError, TypeError, ValueError, KeyError, IndexError, OverflowError,
                 RecursionError)


class FeedBuilder:
    """Builds a FeedResult: one Station per id, observations in feed order, unique warnings."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._stations: dict[str, Station] = {}
        self._observations: list[Observation] = []
        self._warnings: list[str] = []
        self._dropped_warnings = 0
        self._placed_at: dict[str, datetime] = {}
        self.entities = self.skipped = 0
        self.first_problem = ""

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

    @contextlib.contextmanager
    def entity(self, label: str) -> Iterator[None]:
        """Read one entity (``label``: "message 3"): a bad value in it skips it, counted, with a warning.

        What the entity added (observations, new stations) is taken back.
        """
        observations, stations = len(self._observations), set(self._stations)
        self.entities += 1
        try:
            yield
        except ENTITY_ERRORS as error:
            del self._observations[observations:]
            for station_id in set(self._stations) - stations:
                del self._stations[station_id]
                self._placed_at.pop(station_id, None)
            self.skipped += 1
            problem = f"{label} skipped: {describe(error)}"
            self.first_problem = self.first_problem or problem
            self.warn(problem)

    def objects(self, value: Any, what: str) -> list[dict[str, Any]]:
        """Return the JSON objects of a list member; what is not an object is left out with a warning."""
        found = objects(value)
        if value is not None and (not isinstance(value, list) or len(found) < len(value)):
            self.warn(f"{what} is not a list of objects: {len(found)} of its items used")
        return found

    def warn(self, message: str) -> None:
        """Add a warning once; after MAX_WARNINGS only count the rest."""
        if message in self._warnings:
            return
        if len(self._warnings) < MAX_WARNINGS:
            self._warnings.append(message)
        else:
            self._dropped_warnings += 1

    def result(self, noun: str = "station") -> FeedResult:
        """Return the FeedResult; stations without a position get a warning "<noun> <id> has no position".

        FeedFormatError when every entity was skipped (nothing could be read).
        """
        if self.skipped and self.skipped == self.entities:
            raise FeedFormatError(f"nothing could be read: {self.first_problem}")
        if self.skipped:
            self.warn(f"{self.skipped} of {self.entities} entries skipped because of a bad value (see above)")
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


def describe(error: BaseException) -> str:
    """Name what was wrong in plain words (the message of a feed error; the kind of a wrong-typed member)."""
    if isinstance(error, FeedFormatError):
        return str(error)
    if isinstance(error, RecursionError):
        return "nested too deeply"
    text = str(error)
    text = text if len(text) <= 120 else text[:119] + "…"
    return f"a member has the wrong type or an impossible value ({type(error).__name__}: {text})"


def objects(value: Any) -> list[dict[str, Any]]:
    """Return the JSON objects of a list member (a wrong-typed member or item is left out)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def member(value: Any, key: str) -> dict[str, Any]:
    """Return ``value[key]`` when both are JSON objects, else {} (``.get`` chains never fail on a wrong type)."""
    found = value.get(key) if isinstance(value, dict) else None
    return found if isinstance(found, dict) else {}
