"""Local calendar time steps (core/sensors/time_steps.py): days, weeks, months and years across clock changes."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from social_resilience.core.sensors.time_steps import DAY, MONTH, WEEK, YEAR, step_bounds

BERLIN = ZoneInfo("Europe/Berlin")


def utc(*args) -> float:
    return datetime(*args, tzinfo=timezone.utc).timestamp()


def local(bounds) -> list[str]:
    return [datetime.fromtimestamp(start, BERLIN).strftime("%Y-%m-%d %H:%M") for start, _ in bounds]


def test_days_are_local_and_last_23_or_25_hours_on_clock_changes():
    bounds = step_bounds(utc(2024, 3, 30, 12), utc(2024, 4, 1, 3), DAY, BERLIN)
    assert local(bounds) == ["2024-03-30 00:00", "2024-03-31 00:00", "2024-04-01 00:00"]
    assert [(end - start) / 3600 for start, end in bounds] == [24, 23, 24]
    autumn = step_bounds(utc(2024, 10, 27, 12), utc(2024, 10, 27, 13), DAY, BERLIN)
    assert [(end - start) / 3600 for start, end in autumn] == [25]


def test_weeks_start_on_monday_at_local_midnight():
    bounds = step_bounds(utc(2024, 6, 1), utc(2024, 6, 30, 22), WEEK, BERLIN)  # Saturday 1 June .. Monday 1 July, local
    assert local(bounds) == ["2024-05-27 00:00", "2024-06-03 00:00", "2024-06-10 00:00", "2024-06-17 00:00",
                             "2024-06-24 00:00"]
    assert bounds[0][0] == utc(2024, 5, 26, 22)


def test_months_and_years():
    months = step_bounds(utc(2024, 1, 15), utc(2024, 4, 2), MONTH, BERLIN)
    assert local(months) == ["2024-01-01 00:00", "2024-02-01 00:00", "2024-03-01 00:00", "2024-04-01 00:00"]
    december = step_bounds(utc(2024, 12, 5), utc(2025, 1, 3), MONTH, BERLIN)
    assert local(december) == ["2024-12-01 00:00", "2025-01-01 00:00"]
    years = step_bounds(utc(2023, 7, 1), utc(2025, 1, 1), YEAR, ZoneInfo("UTC"))
    assert [datetime.fromtimestamp(s, timezone.utc).year for s, _ in years] == [2023, 2024]  # the end is exclusive


def test_steps_follow_each_other_without_gaps():
    bounds = step_bounds(utc(2024, 1, 1), utc(2024, 12, 31), WEEK, BERLIN)
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    assert bounds[0][0] <= utc(2024, 1, 1) < bounds[0][1]
    assert bounds[-1][0] <= utc(2024, 12, 31) < bounds[-1][1]


def test_unknown_step_is_refused():
    with pytest.raises(ValueError, match="unknown time step"):
        step_bounds(0.0, 1.0, 7, BERLIN)
