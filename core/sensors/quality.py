"""Quality control of sensor observations and the US EPA humidity correction of PM2.5 (pure numpy).

Every observation gets at most one flag, tested in this order on the values of its stream (one
station and property, sorted by time):

- ``duplicate``: a second observation of the stream at the same time (the first one is kept);
- ``range``: a "no measurement" code (-999, -9999) or a value outside the plausible range;
- ``stuck``: part of a run of identical values that lasts ``stuck_hours`` or longer (from the
  first to the last value of the run): a frozen sensor or a repeated last value;
- ``spike``: a value that leaves both neighbours and comes back (the QARTOD spike test):
  ``|v - (prev + next)/2| - |next - prev|/2 > threshold``, neighbours within ``max_gap_hours``.

A missing value (NaN) is neither flagged nor used as a neighbour.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from ..live.feed_config import pollutant_key
from .sentinels import GENERIC_SENTINELS

DUPLICATE, RANGE, STUCK, SPIKE = "duplicate", "range", "stuck", "spike"
#: PM2.5 that needed the humidity correction but had no humidity in its hour.
NO_HUMIDITY = "no_humidity"
FLAGS = (DUPLICATE, RANGE, STUCK, SPIKE, NO_HUMIDITY)


@dataclass(frozen=True)
class Limits:
    """Plausible range and spike threshold of one property (None: not tested)."""

    low: float | None = None
    high: float | None = None
    spike: float | None = None


#: Defaults for hourly data: physically possible ranges (sensor limits: SDS011 and PMS5003 read up
#: to 999.9 / 1000 µg/m³) and jumps that real series do not make from one hour to the next.
DEFAULT_LIMITS = {
    "temperature": Limits(-60.0, 60.0, 5.0),
    "humidity": Limits(0.0, 100.0, 30.0),
    "pm25": Limits(0.0, 1000.0, 100.0),
    "pm10": Limits(0.0, 1000.0, 150.0),
    "no2": Limits(0.0, 2000.0, 150.0),
    "noise": Limits(20.0, 140.0, 20.0),
}
_HUMIDITY = re.compile(r"humid|feuchte|^rh$|relative_humidity")


def property_kind(name: str) -> str | None:
    """``temperature``, ``humidity``, ``pm25``, ``pm10``, ``no2``, ``noise`` or None for a property name."""
    text = name.strip().lower()
    if _HUMIDITY.search(text):
        return "humidity"
    return pollutant_key(text)


def default_limits(name: str) -> Limits:
    """Default limits of a property (no limits for an unknown one)."""
    return DEFAULT_LIMITS.get(property_kind(name) or "", Limits())


def quality_flags(
    streams: np.ndarray,
    times: np.ndarray,
    values: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    spike: np.ndarray,
    stuck_hours: float = 6.0,
    max_gap_hours: float = 3.0,
) -> np.ndarray:
    """Flag per observation (``""`` when it passes); ``low``, ``high``, ``spike`` per row, NaN = none.

    ``streams`` are integer stream codes; ``stuck_hours`` 0 switches the stuck test off.
    """
    n = values.size
    order = np.lexsort((np.arange(n), times, streams))
    s, t, v = streams[order], times[order].astype(float), values[order].astype(float)
    flags = np.full(n, "", dtype=object)
    duplicate = np.r_[False, (s[1:] == s[:-1]) & (t[1:] == t[:-1])] if n else np.zeros(0, dtype=bool)
    present = ~duplicate & ~np.isnan(v)
    codes = np.isin(v, GENERIC_SENTINELS)
    with np.errstate(invalid="ignore"):
        outside = present & (codes | (v < low[order]) | (v > high[order]))
    candidates = np.flatnonzero(present & ~outside)
    stuck = _stuck(s[candidates], t[candidates], v[candidates], stuck_hours)
    kept = candidates[~stuck]
    spikes = _spikes(s[kept], t[kept], v[kept], spike[order][kept], max_gap_hours * 3600.0)
    sorted_flags = np.full(n, "", dtype=object)
    sorted_flags[duplicate] = DUPLICATE
    sorted_flags[outside] = RANGE
    sorted_flags[candidates[stuck]] = STUCK
    sorted_flags[kept[spikes]] = SPIKE
    flags[order] = sorted_flags
    return flags


def _stuck(streams: np.ndarray, times: np.ndarray, values: np.ndarray, hours: float) -> np.ndarray:
    """Mask of values in runs of identical values of one stream lasting ``hours`` or longer."""
    if not values.size or hours <= 0:
        return np.zeros(values.size, dtype=bool)
    change = np.r_[True, (streams[1:] != streams[:-1]) | (values[1:] != values[:-1])]
    starts = np.flatnonzero(change)
    ends = np.r_[starts[1:], values.size] - 1
    long_run = times[ends] - times[starts] >= hours * 3600.0 - 1e-6
    return long_run[np.cumsum(change) - 1]


def _spikes(streams: np.ndarray, times: np.ndarray, values: np.ndarray, limit: np.ndarray, gap: float) -> np.ndarray:
    """Mask of values that spike against both neighbours of their stream by more than ``limit``."""
    result = np.zeros(values.size, dtype=bool)
    if values.size < 3:
        return result
    mid = slice(1, -1)
    neighbours = (
        (streams[:-2] == streams[mid])
        & (streams[2:] == streams[mid])
        & (times[mid] - times[:-2] <= gap)
        & (times[2:] - times[mid] <= gap)
    )
    previous, following = values[:-2], values[2:]
    score = np.abs(values[mid] - (previous + following) / 2.0) - np.abs(following - previous) / 2.0
    with np.errstate(invalid="ignore"):
        result[mid] = neighbours & (score > limit[mid])
    return result


def epa_pm25(pm25: np.ndarray, humidity: np.ndarray) -> np.ndarray:
    """US EPA correction of PurpleAir (Plantower PMS5003) PM2.5, CF=1, in µg/m³, from relative humidity in %.

    Barkjohn, Gantt and Clements (2021), AMT 14, 4617-4637, US-wide correction:
    ``0.524 * PM - 0.0862 * RH + 5.75`` for PM <= 343 µg/m³; above, the EPA Fire and Smoke Map
    extension ``0.46 * PM + 3.93e-4 * PM^2 + 2.97``. Negative results are set to 0.
    """
    pm25 = np.asarray(pm25, dtype=float)
    humidity = np.asarray(humidity, dtype=float)
    low = 0.524 * pm25 - 0.0862 * humidity + 5.75
    high = 0.46 * pm25 + 3.93e-4 * pm25**2 + 2.97
    return np.maximum(np.where(pm25 <= 343.0, low, high), 0.0)


def hourly_lookup(
    stations: np.ndarray, times: np.ndarray, values: np.ndarray, query_stations: np.ndarray, query_times: np.ndarray
) -> np.ndarray:
    """Mean of ``values`` of the same station in the same UTC hour as each query (NaN when none)."""
    keys = _hour_keys(stations, times)
    valid = ~np.isnan(values)
    unique, inverse = np.unique(keys[valid], return_inverse=True)
    means = np.bincount(inverse, weights=values[valid]) / np.maximum(np.bincount(inverse), 1)
    wanted = _hour_keys(query_stations, query_times)
    result = np.full(wanted.size, math.nan)
    if unique.size:
        position = np.clip(np.searchsorted(unique, wanted), 0, unique.size - 1)
        hit = unique[position] == wanted
        result[hit] = means[position[hit]]
    return result


def corrected_values(
    stations: np.ndarray,
    times: np.ndarray,
    values: np.ndarray,
    flags: np.ndarray,
    pm25_rows: np.ndarray | None = None,
    humidity_rows: np.ndarray | None = None,
) -> np.ndarray:
    """Values for ``value_corrected``: NaN where flagged, PM2.5 rows EPA-corrected (when given).

    A PM2.5 row takes the mean unflagged humidity of its station in the same UTC hour; a PM2.5
    row without one is flagged ``no_humidity`` in ``flags`` (changed in place).
    """
    values = np.asarray(values, dtype=float)
    result = np.where(flags == "", values, math.nan)
    if pm25_rows is None or humidity_rows is None:
        return result
    source = humidity_rows & (flags == "") & ~np.isnan(values)
    pm = np.flatnonzero(pm25_rows & (flags == "") & ~np.isnan(values))
    humidity = hourly_lookup(stations[source], times[source], values[source], stations[pm], times[pm])
    result[pm] = epa_pm25(values[pm], humidity)
    flags[pm[np.isnan(humidity)]] = NO_HUMIDITY
    return result


def _hour_keys(stations: np.ndarray, times: np.ndarray) -> np.ndarray:
    hours = np.floor(np.asarray(times, dtype=float) / 3600.0).astype(np.int64)
    return np.asarray(stations, dtype=np.int64) * 100_000_000 + hours
