"""Quality control core: stuck sensor, spike, sentinel, duplicates and the EPA humidity correction."""

from __future__ import annotations

import math

import numpy as np
import pytest
from social_resilience.core.sensors.quality import (
    corrected_values,
    default_limits,
    epa_pm25,
    property_kind,
    quality_flags,
)

H = 3600.0


def run_flags(values, times=None, streams=None, limits=("temperature",), stuck_hours=6.0):
    values = np.asarray(values, dtype=float)
    times = np.arange(values.size) * H if times is None else np.asarray(times, dtype=float)
    streams = np.zeros(values.size, dtype=np.int64) if streams is None else np.asarray(streams)
    limit = default_limits(limits[0])
    full = np.full(values.size, math.nan)
    low, high, spike = (full.copy() if x is None else np.full(values.size, x) for x in limit.__dict__.values())
    return quality_flags(streams, times, values, low, high, spike, stuck_hours=stuck_hours).tolist()


def test_stuck_sensor_run_of_six_hours_and_longer():
    varying = [20.0 + 0.3 * k for k in range(5)]
    series = varying + [18.2] * 7 + varying + [18.2] * 6 + varying
    flags = run_flags(series)
    assert flags[5:12] == ["stuck"] * 7  # 7 values: 6 hours from first to last
    assert flags[17:23] == [""] * 6  # 6 values: 5 hours, not stuck
    assert flags.count("stuck") == 7
    assert run_flags(series, stuck_hours=0).count("stuck") == 0


def test_spike_and_its_neighbours():
    series = [20.0, 20.5, 21.0, 29.0, 21.5, 22.0, 22.5, 23.0, 26.0, 29.0]  # one spike, then a steep rise
    flags = run_flags(series)
    assert flags == ["", "", "", "spike", "", "", "", "", "", ""]
    # 29 - (21 + 21.5)/2 - 0.25 = 7.5 > 5; the rise 23 -> 26 -> 29 scores 0
    far = np.array([0, 1, 2, 10, 11, 12, 13, 14, 15, 16]) * H  # the spike's next neighbour 8 h later
    assert run_flags(series, times=far)[3] == ""


def test_sentinel_and_impossible_values_are_out_of_range():
    series = [12.0, -999.0, 13.0, 14.0, -9999.0, 15.0, 61.0, 16.0]
    flags = run_flags(series)
    assert flags == ["", "range", "", "", "range", "", "range", ""]
    # the sentinel is not a neighbour: 13 between 12 and 14 is no spike
    pm = run_flags([5.0, -999.0, 6.0, 1200.0, 7.0], limits=("PM2.5",))
    assert pm == ["", "range", "", "range", ""]
    unknown = run_flags([1.0, -999.0, 1e9], limits=("radon",))
    assert unknown == ["", "range", ""]  # unknown property: only the sentinels


def test_duplicates_keep_the_first_and_streams_are_separate():
    times = [0, H, H, 2 * H, 0, H]
    streams = [0, 0, 0, 0, 1, 1]
    flags = run_flags([1.0, 2.0, 2.5, 3.0, 1.0, 2.0], times=times, streams=streams)
    assert flags == ["", "", "duplicate", "", "", ""]


def test_missing_values_pass_and_are_skipped_as_neighbours():
    flags = run_flags([20.0, math.nan, 21.0, 30.0, 21.5])
    assert flags == ["", "", "", "spike", ""]


def test_property_kinds():
    assert [property_kind(n) for n in ("PM2.5", "P2", "pm25", "humidity", "relative_humidity", "RH", "NO2")] == [
        "pm25",
        "pm25",
        "pm25",
        "humidity",
        "humidity",
        "humidity",
        "no2",
    ]
    assert property_kind("air_temperature") == "temperature"
    assert property_kind("radon") is None


def test_epa_correction_formula_and_humid_hours():
    # Barkjohn et al. 2021: 0.524 PM - 0.0862 RH + 5.75
    assert epa_pm25(np.array([20.0]), np.array([40.0]))[0] == pytest.approx(0.524 * 20 - 0.0862 * 40 + 5.75)
    humid, dry = epa_pm25(np.array([40.0, 40.0]), np.array([95.0, 30.0]))
    assert dry - humid == pytest.approx(0.0862 * 65)
    assert epa_pm25(np.array([400.0]), np.array([50.0]))[0] == pytest.approx(0.46 * 400 + 3.93e-4 * 160000 + 2.97)
    assert epa_pm25(np.array([1.0]), np.array([99.0]))[0] == 0.0  # never negative


def test_corrected_values_use_the_same_station_and_hour():
    # rows: station 0 PM at 10:05 and 11:10, RH 10:00 (90) and 10:30 (80) and 11:00 -999 (flagged);
    # station 1 PM at 10:05 without RH of its own
    stations = np.array([0, 0, 0, 0, 0, 1])
    times = np.array([10 * H + 300, 11 * H + 600, 10 * H, 10 * H + 1800, 11 * H, 10 * H + 300])
    values = np.array([30.0, 30.0, 90.0, 80.0, -999.0, 30.0])
    flags = np.array(["", "", "", "", "range", ""], dtype=object)
    pm = np.array([True, True, False, False, False, True])
    corrected = corrected_values(stations, times, values, flags, pm, ~pm)
    assert corrected[0] == pytest.approx(0.524 * 30 - 0.0862 * 85 + 5.75)  # humid hour: mean RH 85
    assert math.isnan(corrected[1])  # 11:00 has only the flagged -999 humidity
    assert math.isnan(corrected[5])  # station 1 has no humidity
    assert flags.tolist() == ["", "no_humidity", "", "", "range", "no_humidity"]
    assert corrected[2] == 90.0  # other properties keep their value
    assert math.isnan(corrected[4])  # flagged: no corrected value
    plain = corrected_values(stations, times, values, np.array([""] * 6, dtype=object))
    assert plain.tolist() == values.tolist()
