"""Time-window statistics and daily indicators of sensor observations per station, and IDW.

Pure Python/numpy. Times are UTC seconds since the epoch (floats); values are floats.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Iterable
from datetime import date, datetime, timezone
from operator import itemgetter

import numpy as np

from ..sensors.daily import (
    DAILY_STATISTICS,
    DailyRule,
    calendar,
    daily_indicators,
    hours_above,
    in_calendar,
    time_zone,
    valid_hours,
    window_of,
)

#: Statistic keys in output order; field names are ``<prefix>_<key>``.
STATISTICS = ("mean", "median", "max", "p95", "hours_above", "count")
#: Window statistics and daily indicators, in output order.
ALL_STATISTICS = STATISTICS + DAILY_STATISTICS
#: Statistics that are NaN when a station covers too little of the window.
WINDOW_RULED = ("mean", "median", "max", "p95", "hours_above")
#: Percentile method -> numpy ``method``: linear (type 7) or nearest rank (type 1, inverted CDF).
PERCENTILE_METHODS = {"linear": "linear", "nearest_rank": "inverted_cdf"}


def parse_time(value: object) -> float | None:
    """UTC epoch seconds of a datetime, date or ISO 8601 text; naive times are taken as UTC.

    Returns None for empty or unreadable values.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            value = datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
        except ValueError:
            return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc).timestamp()
    return None


def field_prefix(property_name: str) -> str:
    """Field-name prefix from a property: lower case, runs of other characters as ``_`` (``PM2.5`` -> ``pm2_5``)."""
    prefix = re.sub(r"[^a-z0-9]+", "_", property_name.strip().lower()).strip("_")
    if not prefix:
        return "obs"
    return prefix if not prefix[0].isdigit() else f"p{prefix}"


def window_statistics(values: np.ndarray, percentile: str = "linear") -> dict[str, float]:
    """Mean, median, max, 95th percentile and count of one station's values in the window.

    ``percentile``: ``linear`` (interpolated, Hyndman-Fan type 7, numpy's default) or
    ``nearest_rank`` (the smallest value with at least 95 % of the values at or below it, the
    rank ``ceil(0.95 n)``, as regulations count). Empty input gives NaN and count 0.
    """
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return {"mean": math.nan, "median": math.nan, "max": math.nan, "p95": math.nan, "count": 0.0}
    return {
        "mean": float(values.mean()),
        "median": float(np.median(values)),
        "max": float(values.max()),
        "p95": float(np.percentile(values, 95, method=PERCENTILE_METHODS[percentile])),
        "count": float(values.size),
    }


def no_statistics() -> dict[str, float]:
    """ALL_STATISTICS of a station without values in the window: zero counts, NaN otherwise."""
    zero = {"count", "coverage", "days"}
    return {key: (0.0 if key in zero else math.nan) for key in ALL_STATISTICS}


def station_statistics(
    observations: Iterable[tuple[str, float, float]],
    start: float | None = None,
    end: float | None = None,
    threshold: float | None = None,
    rule: DailyRule | None = None,
    percentile: str = "linear",
) -> dict[str, dict[str, float]]:
    """All STATISTICS and DAILY_STATISTICS per station id from ``(station_id, time, value)``.

    The window is ``start <= time < end``; an open end is the first or last observation's local
    hour. Times outside ``daily.FIRST_TIME``-``LAST_TIME`` are left out; ValueError when the window spans
    more than ``daily.MAX_WINDOW_YEARS``. ``hours_above`` counts valid local hours (see
    :mod:`..sensors.daily`) whose mean is above ``threshold``. A station covering less than
    ``rule.min_coverage`` % of the window's hours gets NaN window statistics (its count, coverage and
    daily indicators stay).
    """
    rule = rule or DailyRule()
    rows = observations if isinstance(observations, list) else list(observations)
    if not rows:
        return {}
    keys = list(map(itemgetter(0), rows))
    ids: dict[str, int] = dict.fromkeys(keys)  # type: ignore[assignment]
    for number, key in enumerate(ids):
        ids[key] = number
    stations = np.fromiter(map(ids.__getitem__, keys), dtype=np.int64, count=len(rows))
    times = np.fromiter(map(itemgetter(1), rows), dtype=float, count=len(rows))
    values = np.fromiter(map(itemgetter(2), rows), dtype=float, count=len(rows))
    keep = in_calendar(times)  # the algorithm counts the others
    if start is not None:
        keep &= times >= start
    if end is not None:
        keep &= times < end
    stations, times, values = stations[keep], times[keep], values[keep]
    if not times.size:
        return {}
    zone = time_zone(rule.timezone)
    first, last = window_of(times, zone)
    cal = calendar(first if start is None else start, last if end is None else end, zone)
    hours = valid_hours(stations, times, values, zone, rule.min_coverage, len(ids))
    daily = daily_indicators(hours, cal, rule, len(ids))
    above = hours_above(hours, threshold, len(ids))
    order = np.argsort(stations, kind="stable")
    splits = np.flatnonzero(np.diff(stations[order])) + 1
    result = {}
    names = list(ids)
    for chunk in np.split(order, splits):
        index = int(stations[chunk[0]])
        stats = window_statistics(values[chunk], percentile)
        stats["hours_above"] = float(above[index])
        stats.update({key: float(daily[key][index]) for key in DAILY_STATISTICS})
        if stats["coverage"] < rule.min_coverage - 1e-9:
            stats.update(dict.fromkeys(WINDOW_RULED, math.nan))
        result[names[index]] = stats
    return result


def step_statistics(
    observations: list[tuple[str, float, float]],
    bounds: list[tuple[float, float]],
    threshold: float | None = None,
    rule: DailyRule | None = None,
    percentile: str = "linear",
) -> list[dict[str, dict[str, float]]]:
    """``station_statistics`` of each time step ``(start, end)`` of ``bounds`` (each its own window)."""
    rows = sorted(observations, key=itemgetter(1))
    times = [row[1] for row in rows]
    result = []
    for start, end in bounds:
        chunk = rows[bisect_left(times, start) : bisect_left(times, end)]
        result.append(station_statistics(chunk, start, end, threshold, rule, percentile))
    return result


def idw(target: tuple[float, float], points: np.ndarray, values: np.ndarray, k: int, power: float) -> tuple[float, int]:
    """Inverse-distance weighted value at ``target`` from the ``k`` nearest ``points`` (n x 2).

    NaN values are skipped. A point at distance 0 gives its value. Returns (value, stations used).
    """
    values = np.asarray(values, dtype=float)
    valid = ~np.isnan(values)
    if not valid.any():
        return math.nan, 0
    points = np.asarray(points, dtype=float)[valid]
    values = values[valid]
    distances = np.hypot(points[:, 0] - target[0], points[:, 1] - target[1])
    nearest = np.argsort(distances, kind="stable")[: max(int(k), 1)]
    distances, values = distances[nearest], values[nearest]
    if distances[0] == 0.0:
        return float(values[distances == 0.0].mean()), int(np.count_nonzero(distances == 0.0))
    weights = distances ** (-float(power))
    return float(np.sum(weights * values) / np.sum(weights)), int(nearest.size)
