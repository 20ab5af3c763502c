"""Time-window statistics of sensor observations per station, and inverse-distance weighting.

Pure Python/numpy. Times are UTC seconds since the epoch (floats); values are floats.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import date, datetime, timezone

import numpy as np

#: Statistic keys in output order; field names are ``<prefix>_<key>``.
STATISTICS = ("mean", "median", "max", "p95", "hours_above", "count")


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


def window_statistics(times: np.ndarray, values: np.ndarray, threshold: float | None) -> dict[str, float]:
    """Statistics of one station's observations (already restricted to the window).

    ``p95`` is the linearly interpolated 95th percentile; ``hours_above`` counts distinct UTC
    clock hours whose mean value exceeds ``threshold`` (NaN without a threshold); ``count`` is the
    number of values. Empty input gives NaN statistics and count 0.
    """
    values = np.asarray(values, dtype=float)
    times = np.asarray(times, dtype=float)
    if values.size == 0:
        return {key: (0.0 if key == "count" else math.nan) for key in STATISTICS}
    hours_above = math.nan
    if threshold is not None:
        hours = np.floor(times / 3600.0)
        _, inverse = np.unique(hours, return_inverse=True)
        hourly_mean = np.bincount(inverse, weights=values) / np.bincount(inverse)
        hours_above = float(np.count_nonzero(hourly_mean > threshold))
    return {
        "mean": float(values.mean()),
        "median": float(np.median(values)),
        "max": float(values.max()),
        "p95": float(np.percentile(values, 95)),
        "hours_above": hours_above,
        "count": float(values.size),
    }


def station_statistics(
    observations: Iterable[tuple[str, float, float]],
    start: float | None = None,
    end: float | None = None,
    threshold: float | None = None,
) -> dict[str, dict[str, float]]:
    """Statistics per station id from ``(station_id, time, value)`` in ``start <= time < end``."""
    grouped: dict[str, tuple[list[float], list[float]]] = {}
    for station_id, time, value in observations:
        if (start is not None and time < start) or (end is not None and time >= end):
            continue
        times, values = grouped.setdefault(station_id, ([], []))
        times.append(time)
        values.append(value)
    return {
        station_id: window_statistics(np.array(times), np.array(values), threshold)
        for station_id, (times, values) in grouped.items()
    }


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
