"""Daily indicators on local days: hand-counted days and nights across the end of DST 2026."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from social_resilience.core.hotspots.observation_stats import station_statistics, window_statistics
from social_resilience.core.sensors.daily import (
    DailyRule,
    calendar,
    hour_starts,
    sampling_intervals,
    time_zone,
)

BERLIN = ZoneInfo("Europe/Berlin")
#: 23 Oct 2026 00:00 CEST to 27 Oct 2026 00:00 CET: 24 + 24 + 25 + 24 = 97 hours.
START = datetime(2026, 10, 22, 22, tzinfo=timezone.utc).timestamp()
END = datetime(2026, 10, 26, 23, tzinfo=timezone.utc).timestamp()

#: Local (day, hour) -> value; every other hour 21.0. Oct 23 reaches exactly 30 (a hot day: >=),
#: Oct 24 29.9; the night of Oct 23 has its minimum exactly at 20 (tropical: >=); Oct 25 would be hot
#: but misses 7 of its 25 hours; Oct 26 has a mean of exactly 21 (not above 21) and its night dip 19.5
#: belongs to the night of Oct 25.
SPECIAL = {(23, 15): 30.0, (24, 3): 20.0, (24, 15): 29.9, (25, 15): 35.0, (26, 4): 19.5, (26, 12): 22.5}
#: Missing local hours: Oct 24 19-22 (its 13-hour night keeps 9 < 75 %), Oct 25 8-14 (18 of 25 hours
#: = 72 %, below the rule though 18 of 24 would pass), Oct 26 6-11 (18 of 24 = exactly 75 %: counts).
MISSING = {(24, h) for h in range(19, 23)} | {(25, h) for h in range(8, 15)} | {(26, h) for h in range(6, 12)}


def dst_series() -> list[tuple[str, float, float]]:
    rows = []
    for t in np.arange(START, END, 3600.0):
        local = datetime.fromtimestamp(t, BERLIN)
        key = (local.day, local.hour)
        if key not in MISSING:
            rows.append(("S", float(t), SPECIAL.get(key, 21.0)))
    return rows


def test_calendar_has_a_25_hour_day_and_a_13_hour_night():
    cal = calendar(START, END, BERLIN)
    assert cal.day_hours.tolist() == [24, 24, 25, 24]
    assert cal.night_hours.tolist() == [12, 13, 12, 12]
    assert cal.window_hours == 97
    spring = calendar(datetime(2026, 3, 28, 23, tzinfo=timezone.utc).timestamp(), END, BERLIN)
    assert spring.day_hours[0] == 23  # 29 March 2026: clocks go forward
    assert spring.night_hours[0] == 12


def test_hand_counted_days_and_nights_across_the_end_of_dst():
    rule = DailyRule("Europe/Berlin", 75.0, day_max=30.0, day_mean=21.0, night_min=20.0)
    (stats,) = station_statistics(dst_series(), START, END, threshold=21.0, rule=rule).values()
    assert len(dst_series()) == 97 - 17
    assert stats["coverage"] == pytest.approx(100 * 80 / 97)
    assert stats["days"] == 3  # Oct 23, 24, 26; Oct 25 has 18 of 25 hours
    assert stats["days_max_above"] == 1  # Oct 23 at exactly 30; Oct 24 29.9; Oct 25 not counted
    assert stats["days_mean_above"] == 2  # Oct 23 (21.375), Oct 24 (21.395); Oct 26 exactly 21.0
    assert stats["nights_above"] == 1  # night of Oct 23 (min exactly 20); Oct 24 9 of 13 hours; Oct 25 19.5
    assert stats["hours_above"] == 4  # 30, 29.9, 35, 22.5 (all in valid hours) and no other
    assert stats["count"] == 80


def test_the_repeated_hour_belongs_to_the_night_of_the_24th():
    evening = [("S", datetime(2026, 10, 24, h - 2, tzinfo=timezone.utc).timestamp(), 25.0) for h in range(19, 23)]
    filled = [*dst_series(), *evening]  # the night of the 24th complete: 13 hours
    second_two = datetime(2026, 10, 25, 1, tzinfo=timezone.utc).timestamp()  # 02:00 CET, the repeated hour
    assert datetime.fromtimestamp(second_two, BERLIN).fold == 1
    rule = DailyRule(night_min=20.0)
    assert station_statistics(filled, START, END, rule=rule)["S"]["nights_above"] == 2  # 23rd and 24th
    without = [row for row in filled if row[1] != second_two]  # 12 of 13 hours: still counted
    assert station_statistics(without, START, END, rule=rule)["S"]["nights_above"] == 2
    dip = [*without, ("S", second_two, 19.0)]
    assert station_statistics(dip, START, END, rule=rule)["S"]["nights_above"] == 1


def test_gaps_below_and_above_the_coverage_rule():
    rows = dst_series()
    strict = station_statistics(rows, START, END, rule=DailyRule(min_coverage=90.0))["S"]
    assert strict["days"] == 1  # only Oct 23 is complete
    assert math.isnan(strict["mean"])  # 82 % of the window < 90 %: window statistics need coverage too
    assert strict["count"] == 80
    loose = station_statistics(rows, START, END, rule=DailyRule(min_coverage=0.0))["S"]
    assert loose["days"] == 4
    assert loose["mean"] == pytest.approx(np.mean([r[2] for r in rows]))


def test_sub_hourly_values_need_three_quarters_of_the_hour():
    t0 = datetime(2026, 7, 1, 10, tzinfo=timezone.utc).timestamp()
    rows = [("S", t0 + 600.0 * k, 10.0) for k in range(6)]  # 10:00 complete, below
    rows += [("S", t0 + 3600 + 600.0 * k, 50.0) for k in range(4)]  # 11:00: 40 of 60 minutes
    rows += [("S", t0 + 7200 + 600.0 * k, 50.0) for k in range(5)]  # 12:00: 50 of 60 minutes
    rows += [("S", t0 + 10800 + 600.0 * k, 50.0) for k in range(6)]  # 13:00 complete
    stats = station_statistics(rows, t0, t0 + 4 * 3600, threshold=20.0)["S"]
    assert stats["hours_above"] == 2  # 12:00 and 13:00; 11:00 has too few values
    assert stats["coverage"] == 75.0
    assert stats["mean"] == pytest.approx((60 + 15 * 50) / 21)
    stats = station_statistics(rows, t0, t0 + 4 * 3600, threshold=20.0, rule=DailyRule(min_coverage=60))["S"]
    assert stats["hours_above"] == 3
    stats = station_statistics(rows, t0, t0 + 5 * 3600, threshold=20.0)["S"]
    assert stats["coverage"] == 60.0
    assert math.isnan(stats["mean"])  # 3 of 5 hours: the window does not count
    assert math.isnan(stats["hours_above"])
    assert stats["count"] == 21


def test_sampling_interval_is_the_median_spacing_capped_at_an_hour():
    stations = np.array([0, 0, 0, 0, 1, 1, 2])
    times = np.array([0.0, 600.0, 1200.0, 5000.0, 0.0, 7200.0, 5.0])
    assert sampling_intervals(stations, times, 4).tolist() == [600.0, 3600.0, 3600.0, 3600.0]


def test_hour_starts_follow_local_clock_hours():
    india = time_zone("Asia/Kolkata")  # UTC+05:30: local hours begin at half past in UTC
    t = datetime(2026, 1, 1, 10, 40, tzinfo=timezone.utc).timestamp()
    assert hour_starts(np.array([t]), india)[0] == datetime(2026, 1, 1, 10, 30, tzinfo=timezone.utc).timestamp()
    assert hour_starts(np.array([t]), BERLIN)[0] == datetime(2026, 1, 1, 10, tzinfo=timezone.utc).timestamp()
    with pytest.raises(ValueError, match="IANA"):
        time_zone("Mars/Olympus")


def test_percentile_methods():
    values = np.arange(1.0, 21.0)
    assert window_statistics(values)["p95"] == pytest.approx(19.05)  # type 7: 19 + 0.05
    assert window_statistics(values, "nearest_rank")["p95"] == 19.0  # rank ceil(0.95 * 20) = 19
    assert window_statistics(np.arange(1.0, 101.0), "nearest_rank")["p95"] == 95.0
