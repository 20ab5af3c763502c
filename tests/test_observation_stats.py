"""Observation statistics core: known answers for window statistics, times, prefixes and IDW."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest
from social_resilience.core.hotspots.observation_stats import (
    field_prefix,
    idw,
    parse_time,
    station_statistics,
    window_statistics,
)
from social_resilience.core.sensors.daily import DailyRule

T0 = datetime(2024, 6, 1, tzinfo=timezone.utc).timestamp()


def test_window_statistics_known_answers():
    values = np.arange(1.0, 21.0)  # 1..20
    stats = window_statistics(values)
    assert stats["mean"] == 10.5
    assert stats["median"] == 10.5
    assert stats["max"] == 20.0
    assert stats["p95"] == pytest.approx(19.05)  # linear: 19 + 0.05 * (20 - 19)
    assert stats["count"] == 20.0


def test_hours_above_uses_hourly_means_of_distinct_hours():
    # a half-hourly series: hour 0: 10 and 50 (mean 30 > 25); hour 1: 20, 30 (mean 25, not above);
    # hour 2: 40 once, half the hour: counted only with a coverage rule of at most 50 %
    times = [0, 1800, 3600, 5400, 7200 + 59 * 60]
    values = [10.0, 50.0, 20.0, 30.0, 40.0]
    rows = [("a", T0 + t, v) for t, v in zip(times, values)]
    stats = station_statistics(rows, T0, T0 + 3 * 3600, threshold=25.0, rule=DailyRule(min_coverage=60))["a"]
    assert stats["hours_above"] == 1.0  # hour 2 is half covered: below 60 %
    assert math.isnan(station_statistics(rows, T0, T0 + 3 * 3600, threshold=25.0)["a"]["hours_above"])  # 2/3 < 75 %
    loose = station_statistics(rows, T0, T0 + 3 * 3600, threshold=25.0, rule=DailyRule(min_coverage=50))["a"]
    assert loose["hours_above"] == 2.0
    assert stats["max"] == 50.0
    assert stats["count"] == 5.0
    hourly = [("b", T0 + 3600.0 * h, float(h + 1)) for h in range(20)]
    assert station_statistics(hourly, threshold=15.0)["b"]["hours_above"] == 5.0  # 16..20; 15 is not above


def test_no_threshold_and_empty_input():
    stats = station_statistics([("a", T0, 3.0)])["a"]
    assert math.isnan(stats["hours_above"])
    assert stats["mean"] == 3.0
    assert stats["p95"] == 3.0
    empty = window_statistics(np.array([]))
    assert empty["count"] == 0.0
    assert math.isnan(empty["mean"])
    assert station_statistics([]) == {}


def test_station_statistics_half_open_window():
    rows = [("a", T0 + 3600.0 * h, float(h)) for h in range(48)] + [("b", T0, 7.0), ("b", T0 + 86400.0, 9.0)]
    stats = station_statistics(rows, start=T0 + 86400.0, end=T0 + 2 * 86400.0)
    assert stats["a"]["count"] == 24.0
    assert stats["a"]["mean"] == pytest.approx(np.mean(range(24, 48)))
    assert stats["b"]["count"] == 1.0
    assert math.isnan(stats["b"]["max"])  # one hour of 24: below the coverage rule
    loose = DailyRule(min_coverage=0.0)
    assert station_statistics(rows, start=T0 + 86400.0, end=T0 + 2 * 86400.0, rule=loose)["b"]["max"] == 9.0
    stats = station_statistics(rows, end=T0 + 86400.0, rule=loose)
    assert stats["b"]["count"] == 1.0
    assert stats["b"]["max"] == 7.0
    assert set(station_statistics(rows)) == {"a", "b"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-06-01T00:00:00Z", T0),
        ("2024-06-01T02:00:00+02:00", T0),
        ("2024-06-01 00:00:00", T0),
        ("2024-06-01T01:30:00.500", T0 + 5400.5),
        (datetime(2024, 6, 1), T0),
        (datetime(2024, 6, 1, 2, tzinfo=timezone(timedelta(hours=2))), T0),
        (date(2024, 6, 1), T0),
        ("not a time", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_time(value, expected):
    assert parse_time(value) == expected


@pytest.mark.parametrize(
    ("name", "prefix"),
    [("NO2", "no2"), ("PM2.5", "pm2_5"), (" Air temperature (°C) ", "air_temperature_c"), ("2m", "p2m"), ("", "obs")],
)
def test_field_prefix(name, prefix):
    assert field_prefix(name) == prefix


def test_idw_known_answers():
    points = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 20.0], [100.0, 100.0]])
    values = np.array([1.0, 2.0, 4.0, 100.0])
    # target (0, 10): distances 10, sqrt(200), 10, ...; power 2 weights 1/100, 1/200, 1/100
    value, used = idw((0.0, 10.0), points, values, k=3, power=2.0)
    assert used == 3
    assert value == pytest.approx((1 / 100 * 1 + 1 / 200 * 2 + 1 / 100 * 4) / (1 / 100 + 1 / 200 + 1 / 100))
    assert idw((10.0, 0.0), points, values, k=3, power=2.0) == (2.0, 1)  # on a station
    assert idw((0.0, 10.0), points, values, k=3, power=0.0)[0] == pytest.approx(7.0 / 3.0)  # plain mean
    assert idw((0.0, 10.0), points, values, k=1, power=2.0) == (1.0, 1)  # ties: the first station


def test_idw_skips_missing_values():
    points = np.array([[0.0, 0.0], [1.0, 0.0]])
    assert idw((0.0, 0.1), points, np.array([np.nan, 5.0]), k=3, power=2.0) == (5.0, 1)
    value, used = idw((0.0, 0.0), points, np.array([np.nan, np.nan]), k=3, power=2.0)
    assert math.isnan(value)
    assert used == 0
