"""Daily heat-stress and air-quality indicators of sensor series on local days (pure numpy).

A value counts for the local clock hour its time falls in. An hour is *valid* when its values
cover at least ``min_coverage`` % of it: the number of distinct times in the hour times the
station's sampling interval (the median spacing of its times, at most one hour), so one value
of an hourly series is a full hour and one value of a 10-minute series is a sixth. A day runs
from local midnight to local midnight (23 or 25 hours on daylight-saving changes), a night from
18:00 to 06:00 local and belongs to the day it starts on. A day, night or window counts only
when at least ``min_coverage`` % of its hours are valid; hours outside the window are missing.

Daily maximum and nightly minimum are taken over the single values of the valid hours, the
daily mean is the mean of the valid hourly means. Thresholds: maximum >= ``day_max`` (hot
day), mean > ``day_mean`` (exceedance of a daily limit), night minimum >= ``night_min``
(tropical night).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

HOUR = 3600
NIGHT_START, NIGHT_END = time(18), time(6)
#: UTC epoch seconds of the times whose local day and its neighbours exist in every time zone (Python's
#: dates run from the year 1 to 9999): 0001-01-03 to 9999-12-29 UTC. Times outside are skipped by the caller.
FIRST_TIME = datetime(1, 1, 3, tzinfo=timezone.utc).timestamp()
LAST_TIME = datetime(9999, 12, 29, tzinfo=timezone.utc).timestamp()
#: Longest window the daily calendar is built for (one entry per local day).
MAX_WINDOW_YEARS = 200
#: Indicator keys in output order; field names are ``<prefix>_<key>``.
DAILY_STATISTICS = ("coverage", "days", "days_max_above", "days_mean_above", "nights_above")

#: Presets: id -> (day_max, day_mean, night_min). DWD: hot day (Heißer Tag) maximum >= 30 °C,
#: tropical night (Tropennacht) minimum >= 20 °C; WHO 2021 air quality guidelines, 24-hour
#: means: PM2.5 15 µg/m³, NO2 25 µg/m³; EU limit value PM10 50 µg/m³ daily mean (35 days a year
#: allowed, Directive 2008/50/EC).
PRESETS: dict[str, tuple[float | None, float | None, float | None]] = {
    "dwd_heat": (30.0, None, 20.0),
    "who2021_pm25": (None, 15.0, None),
    "who2021_no2": (None, 25.0, None),
    "eu_pm10": (None, 50.0, None),
}


@dataclass(frozen=True)
class DailyRule:
    """Time zone, coverage rule and thresholds of the daily indicators (None: not counted)."""

    timezone: str = "Europe/Berlin"
    min_coverage: float = 75.0
    day_max: float | None = None
    day_mean: float | None = None
    night_min: float | None = None


def time_zone(name: str) -> ZoneInfo:
    """Return the IANA time zone ``name``; ValueError with a hint when unknown."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as Europe/Berlin or UTC") from None


def hour_starts(times: np.ndarray, zone: ZoneInfo) -> np.ndarray:
    """UTC epoch seconds (int64) at which the local clock hour of each time begins.

    Offsets are looked up once per distinct quarter hour (zone changes fall on quarter hours).
    """
    times = np.asarray(times, dtype=float)
    if times.size == 0:
        return np.zeros(0, dtype=np.int64)
    slots, inverse = np.unique(np.floor(times / 900.0).astype(np.int64), return_inverse=True)
    offsets = np.array(
        [datetime.fromtimestamp(int(s) * 900, zone).utcoffset().total_seconds() for s in slots], dtype=float
    )
    local = times + offsets[inverse]
    return np.rint(times - np.mod(local, HOUR)).astype(np.int64)


@dataclass
class Calendar:
    """Local days and nights of a window [start, end) in UTC epoch seconds."""

    start: float
    end: float
    day_bounds: np.ndarray  # n_days + 1 local midnights
    night_start: np.ndarray  # n_days
    night_end: np.ndarray  # n_days
    window_hours: int

    @property
    def day_hours(self) -> np.ndarray:
        """Hours of each local day (23, 24 or 25)."""
        return np.diff(self.day_bounds) / HOUR

    @property
    def night_hours(self) -> np.ndarray:
        """Hours of each night (11, 12 or 13)."""
        return (self.night_end - self.night_start) / HOUR


def _utc_seconds(day: date, clock: time, zone: ZoneInfo) -> int:
    return int(datetime.combine(day, clock, zone).timestamp())


def in_calendar(times: np.ndarray) -> np.ndarray:
    """Tell which times (UTC epoch seconds) lie within ``FIRST_TIME`` to ``LAST_TIME``."""
    return (times >= FIRST_TIME) & (times < LAST_TIME)


def calendar(start: float, end: float, zone: ZoneInfo) -> Calendar:
    """Return the local days that overlap [start, end), their nights and the window's hour count.

    The window is cut to ``FIRST_TIME``-``LAST_TIME``; ValueError when it spans more than ``MAX_WINDOW_YEARS``.
    """
    start, end = max(start, FIRST_TIME), min(end, LAST_TIME)
    if end - start > MAX_WINDOW_YEARS * 365.25 * 86400:
        first_day, last_day = (datetime.fromtimestamp(t, timezone.utc).date() for t in (start, end))
        raise ValueError(f"the window runs from {first_day} to {last_day}, longer than {MAX_WINDOW_YEARS} years")
    first = datetime.fromtimestamp(start, zone).date()
    last = datetime.fromtimestamp(end - 0.001, zone).date()  # the end is exclusive
    days = [first + timedelta(days=n) for n in range((last - first).days + 2)]
    bounds = np.array([_utc_seconds(day, time(0), zone) for day in days], dtype=np.int64)
    nights = np.array([_utc_seconds(day, NIGHT_START, zone) for day in days[:-1]], dtype=np.int64)
    mornings = np.array([_utc_seconds(day, NIGHT_END, zone) for day in days[1:]], dtype=np.int64)
    first_hour = int(hour_starts(np.array([start]), zone)[0])
    return Calendar(start, end, bounds, nights, mornings, math.ceil((end - first_hour) / HOUR))


def sampling_intervals(stations: np.ndarray, times: np.ndarray, n_stations: int) -> np.ndarray:
    """Per station the median spacing of its distinct times in seconds, at most (and by default) one hour.

    ``stations`` and ``times`` must be sorted by station, then time.
    """
    gaps = np.diff(times)
    same = (np.diff(stations) == 0) & (gaps > 0)
    owner, gaps = stations[1:][same], gaps[same]
    result = np.full(n_stations, float(HOUR))
    if gaps.size:
        order = np.lexsort((gaps, owner))
        owner, gaps = owner[order], gaps[order]
        first = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
        counts = np.diff(np.r_[first, owner.size])
        result[owner[first]] = gaps[first + (counts - 1) // 2]
    return np.minimum(result, float(HOUR))


@dataclass
class HourTable:
    """Valid local hours, sorted by station and time: station index, UTC start, mean, max, min."""

    station: np.ndarray
    start: np.ndarray
    mean: np.ndarray
    max: np.ndarray
    min: np.ndarray


def _runs(keys: np.ndarray) -> np.ndarray:
    """Start indices of the runs of equal values in a sorted array."""
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if keys.size else np.zeros(0, dtype=np.int64)


def valid_hours(
    stations: np.ndarray, times: np.ndarray, values: np.ndarray, zone: ZoneInfo, min_coverage: float, n_stations: int
) -> HourTable:
    """Group values by station and local hour; keep the hours that meet the coverage rule."""
    stations, times, values = (np.asarray(a) for a in (stations, times, values))
    if not stations.size:
        nothing = np.zeros(0)
        return HourTable(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), nothing, nothing, nothing)
    hours = hour_starts(times, zone)
    order = np.lexsort((times, hours, stations))
    s, h, t, v = stations[order], hours[order], times[order].astype(float), values[order].astype(float)
    interval = sampling_intervals(s, t, n_stations)
    new_station = s[1:] != s[:-1]
    starts = np.flatnonzero(np.r_[True, new_station | (h[1:] != h[:-1])])
    distinct = np.r_[True, new_station | (t[1:] != t[:-1])].astype(np.int64)
    n_times = np.add.reduceat(distinct, starts)
    counts = np.diff(np.r_[starts, s.size])
    owner = s[starts]
    valid = n_times * interval[owner] >= min_coverage / 100.0 * HOUR - 1e-6
    return HourTable(
        owner[valid],
        h[starts][valid],
        (np.add.reduceat(v, starts) / counts)[valid],
        np.maximum.reduceat(v, starts)[valid],
        np.minimum.reduceat(v, starts)[valid],
    )


@dataclass
class Periods:
    """Periods (days or nights) of stations that hold at least one valid hour.

    Per entry: station, period index, valid hours, sum of hourly means, maximum and minimum; sparse,
    so memory grows with the data, not with stations x days.
    """

    station: np.ndarray
    period: np.ndarray
    count: np.ndarray
    total: np.ndarray
    high: np.ndarray
    low: np.ndarray


def _per_period(hours: HourTable, bounds_start: np.ndarray, bounds_end: np.ndarray) -> Periods:
    """Group the valid hours into the periods [start, end) (days or nights) of each station."""
    n = max(bounds_start.size, 1)
    index = np.searchsorted(bounds_start, hours.start, side="right") - 1
    inside = (index >= 0) & (index < bounds_start.size)
    inside[inside] = hours.start[inside] < bounds_end[index[inside]]
    keys = hours.station[inside].astype(np.int64) * n + index[inside]  # sorted: hours are
    runs = _runs(keys)
    if not runs.size:
        empty = np.zeros(0, dtype=np.int64)
        return Periods(empty, empty, empty, np.zeros(0), np.zeros(0), np.zeros(0))
    return Periods(
        keys[runs] // n,
        keys[runs] % n,
        np.diff(np.r_[runs, keys.size]),
        np.add.reduceat(hours.mean[inside], runs),
        np.maximum.reduceat(hours.max[inside], runs),
        np.minimum.reduceat(hours.min[inside], runs),
    )


def _counted(station: np.ndarray, covered: np.ndarray, hits: np.ndarray | None, n_stations: int) -> np.ndarray:
    """Count per station the covered periods that are hits; NaN without a threshold or a covered period."""
    if hits is None:
        return np.full(n_stations, math.nan)
    result = np.bincount(station[covered & hits], minlength=n_stations).astype(float)
    result[np.bincount(station[covered], minlength=n_stations) == 0] = math.nan
    return result


def daily_indicators(hours: HourTable, cal: Calendar, rule: DailyRule, n_stations: int) -> dict[str, np.ndarray]:
    """Return the DAILY_STATISTICS per station (arrays of length ``n_stations``)."""
    share = rule.min_coverage / 100.0
    days = _per_period(hours, cal.day_bounds[:-1], cal.day_bounds[1:])
    day_covered = days.count >= share * cal.day_hours[days.period] - 1e-9
    nights = _per_period(hours, cal.night_start, cal.night_end)
    night_covered = nights.count >= share * cal.night_hours[nights.period] - 1e-9
    day_mean = days.total / days.count
    return {
        "coverage": 100.0 * np.bincount(hours.station, minlength=n_stations) / max(cal.window_hours, 1),
        "days": np.bincount(days.station[day_covered], minlength=n_stations).astype(float),
        "days_max_above": _counted(
            days.station, day_covered, None if rule.day_max is None else days.high >= rule.day_max, n_stations
        ),
        "days_mean_above": _counted(
            days.station, day_covered, None if rule.day_mean is None else day_mean > rule.day_mean, n_stations
        ),
        "nights_above": _counted(
            nights.station, night_covered, None if rule.night_min is None else nights.low >= rule.night_min, n_stations
        ),
    }


def hours_above(hours: HourTable, threshold: float | None, n_stations: int) -> np.ndarray:
    """Per station the number of valid hours whose mean is above ``threshold`` (NaN without one)."""
    if threshold is None:
        return np.full(n_stations, math.nan)
    return np.bincount(hours.station[hours.mean > threshold], minlength=n_stations).astype(float)


def window_of(times: np.ndarray, zone: ZoneInfo) -> tuple[float, float]:
    """Return a window from the first observation's local hour to the end of the last one's."""
    first, last = hour_starts(np.array([np.min(times), np.max(times)]), zone)
    return float(first), float(last + HOUR)
