"""A month of synthetic hourly sensor observations for the sample town (pure numpy).

June 2024, 720 hours (UTC). Daily cycles follow local time (CEST = UTC+2): NO2 and noise
peak in the morning and evening rush hours and are higher near the arterials, air
temperature peaks in the afternoon (a heat wave in the third week brings hot days and, where
the town keeps its heat at night, tropical nights; parks cool down), PM2.5 follows
regional episodes. Gaps: about 1 % of values are NULL, one stream has an 8-hour NULL
outage, single hours are dropped entirely and one station is offline for 30 hours. One
station's NO2 sensor is faulty: stuck at one value for four days and reporting the
sentinel -999 a few times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

START = datetime(2024, 6, 1, tzinfo=timezone.utc)
HOURS = 720
UTC_OFFSET_H = 2  # CEST
SENTINEL = -999.0
SOURCE = "synthetic sample town"

#: (property, unit) of every station's streams, in output order.
PROPERTIES = [
    ("no2", "µg/m³"),
    ("pm25", "µg/m³"),
    ("noise_laeq", "dB(A)"),
    ("air_temperature", "°C"),
]
OBSERVATION_FIELDS = [
    ("station_id", "str"),
    ("stream_id", "str"),
    ("property", "str"),
    ("unit", "str"),
    ("time", "datetime"),
    ("time_end", "datetime"),
    ("value", "real"),
    ("source", "str"),
]


@dataclass
class StationSite:
    """Where a station stands: ``road_m`` is its distance to the nearest arterial."""

    station_id: str
    name: str
    x: float
    y: float
    site: str
    road_m: float
    district_id: int = 0


def _gauss(hours: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-((hours - centre) ** 2) / (2 * width**2))


def traffic_profile(local_hour: np.ndarray, weekday: np.ndarray) -> np.ndarray:
    """Relative traffic intensity: night low, day plateau, rush-hour peaks, quieter weekends."""
    day = 1.0 / (1.0 + np.exp(-(local_hour - 6.0) * 2.0)) - 1.0 / (1.0 + np.exp(-(local_hour - 21.5) * 1.5))
    peaks = 0.6 * _gauss(local_hour, 7.5, 1.2) + 0.5 * _gauss(local_hour, 17.0, 1.5)
    weekend = np.where(weekday >= 5, 0.6, 1.0)
    return (0.12 + 0.55 * day + peaks * np.where(weekday >= 5, 0.3, 1.0)) * weekend


def _ar1(rng: np.random.Generator, n: int, phi: float, sigma: float) -> np.ndarray:
    values = np.zeros(n)
    noise = rng.normal(0.0, sigma, n)
    for t in range(1, n):
        values[t] = phi * values[t - 1] + noise[t]
    return values


def _series(rng: np.random.Generator, site: StationSite, weather: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Hourly values of the four properties at one site (no gaps)."""
    t = np.arange(HOURS)
    local = (t + UTC_OFFSET_H) % 24
    weekday = (START.weekday() + (t + UTC_OFFSET_H) // 24) % 7
    traffic = traffic_profile(local.astype(float), weekday)
    road = max(site.road_m, 5.0) if site.site == "roadside" else max(site.road_m, 5.0) + 30.0
    stagnation = np.exp(weather["stagnation"])
    no2 = (8.0 + traffic * (10.0 + 45.0 * np.exp(-road / 60.0))) * stagnation + rng.normal(0, 2.0, HOURS)
    night = _gauss(np.minimum(local, 24 - local).astype(float), 0.0, 4.0)
    pm25 = (7.0 + 2.5 * np.exp(-road / 100.0) * traffic + 1.5 * night) * np.exp(weather["episode"])
    pm25 = pm25 + rng.normal(0, 0.8, HOURS)
    background_db = np.where((local >= 6) & (local < 22), 47.0, 38.0)
    road_db = 73.0 - 15.0 * np.log10(road / 10.0)
    noise = 10 * np.log10(10 ** (background_db / 10) + traffic * 10 ** (road_db / 10)) + rng.normal(0, 1.0, HOURS)
    urban = 0.8 + 1.2 * night if site.site != "park" else -0.6 - 1.5 * night  # heat island at night
    temperature = (
        17.0 + weather["temperature"] + urban + 5.5 * np.cos(2 * np.pi * (local - 15.0) / 24.0)
    ) + rng.normal(0, 0.3, HOURS)
    return {
        "no2": np.round(np.maximum(no2, 0.5), 1),
        "pm25": np.round(np.maximum(pm25, 1.0), 1),
        "noise_laeq": np.round(noise, 1),
        "air_temperature": np.round(temperature, 1),
    }


def _weather(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Shared synoptic variation: stagnation (NO2), PM episodes, temperature anomaly with heat wave."""
    days = np.arange(HOURS) / 24.0
    heat_wave = 9.0 * _gauss(days, 20.0, 2.5)
    return {
        "stagnation": 0.25 * _ar1(rng, HOURS, 0.98, 0.05),
        "episode": 0.35 * _ar1(rng, HOURS, 0.985, 0.06),
        "temperature": _ar1(rng, HOURS, 0.99, 0.25) + heat_wave,
    }


def generate_observations(
    rng: np.random.Generator, sites: list[StationSite]
) -> tuple[list[tuple[Any, ...]], dict[str, Any]]:
    """Rows in the order of ``OBSERVATION_FIELDS`` (time-sorted per stream) and facts about the gaps."""
    weather = _weather(rng)
    n = len(sites)
    keep = rng.random((n, HOURS)) >= 0.004  # single hours lost in transmission
    offline = int(rng.integers(0, n))
    roadside = [k for k, s in enumerate(sites) if s.site == "roadside" and k != offline]
    faulty = int(rng.choice(roadside)) if roadside else (offline + 1) % n
    if offline == faulty:
        offline = (faulty + 1) % n
    start = int(rng.integers(24, HOURS - 60))
    keep[offline, start : start + 30] = False
    stuck_from = int(rng.integers(200, 400))
    outage_station, outage_property = int(rng.integers(0, n)), int(rng.integers(1, len(PROPERTIES)))
    outage_from = int(rng.integers(0, HOURS - 8))
    times = [START + timedelta(hours=int(h)) for h in range(HOURS + 1)]
    rows: list[tuple[Any, ...]] = []
    for k, site in enumerate(sites):
        values = _series(rng, site, weather)
        for p, (prop, unit) in enumerate(PROPERTIES):
            series: list[Any] = [float(v) for v in values[prop]]
            missing = rng.random(HOURS) < 0.01
            if (k, p) == (outage_station, outage_property):
                missing[outage_from : outage_from + 8] = True
            if k == faulty and prop == "no2":
                missing[stuck_from : stuck_from + 96] = False
                series[stuck_from : stuck_from + 96] = [series[stuck_from]] * 96
                outside = [h for h in range(HOURS) if not (stuck_from <= h < stuck_from + 96) and keep[k, h]]
                for h in rng.choice(outside, size=6, replace=False):
                    series[int(h)] = SENTINEL
                    missing[int(h)] = False
            stream = f"{site.station_id}/{prop}"  # as the CSV importer names streams
            for h in np.flatnonzero(keep[k]):
                value = None if missing[h] else series[h]
                rows.append((site.station_id, stream, prop, unit, times[h], times[h + 1], value, SOURCE))
    facts = {
        "properties": [p for p, _u in PROPERTIES],
        "start": START,
        "hours": HOURS,
        "faulty_station": sites[faulty].station_id,
        "faulty_property": "no2",
        "stuck_hours": (stuck_from, stuck_from + 96),
        "offline_station": sites[offline].station_id,
        "offline_hours": (start, start + 30),
    }
    return rows, facts


def csv_rows(rows: list[tuple[Any, ...]], stations: dict[str, tuple[str, float, float]]) -> list[list[str]]:
    """Observation rows as CSV cells ``station_id,name,lon,lat,property,unit,time,value``.

    ``stations`` maps a station id to (name, lon, lat); time is ISO 8601 UTC with ``Z``,
    a missing value is an empty cell.
    """
    result = [["station_id", "name", "lon", "lat", "property", "unit", "time", "value"]]
    for station_id, _stream, prop, unit, time, _end, value, _source in rows:
        name, lon, lat = stations[station_id]
        result.append(
            [
                station_id,
                name,
                f"{lon:.7f}",
                f"{lat:.7f}",
                prop,
                unit,
                time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "" if value is None else f"{value:g}",
            ]
        )
    return result
