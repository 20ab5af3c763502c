"""Calendar time steps in local time: days, weeks (Monday to Sunday), months, years (pure Python).

A step starts at local midnight of its first day (a day lasts 23 or 25 hours when the clocks
change), as the daily indicators count local days (:mod:`.daily`). Times are UTC epoch seconds.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

DAY, WEEK, MONTH, YEAR = 0, 1, 2, 3
#: Step code -> English name.
STEP_NAMES = {DAY: "day", WEEK: "week", MONTH: "month", YEAR: "year"}


def _first_day(day: date, step: int) -> date:
    """First local day of the step that holds ``day``."""
    if step == WEEK:
        return day - timedelta(days=day.weekday())
    if step == MONTH:
        return day.replace(day=1)
    if step == YEAR:
        return day.replace(month=1, day=1)
    return day


def _next_day(day: date, step: int) -> date:
    """First local day of the step after the one starting on ``day``."""
    if step == WEEK:
        return day + timedelta(days=7)
    if step == MONTH:
        return date(day.year + day.month // 12, day.month % 12 + 1, 1)
    if step == YEAR:
        return date(day.year + 1, 1, 1)
    return day + timedelta(days=1)


def _midnight(day: date, zone: ZoneInfo) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()


def step_bounds(first: float, last: float, step: int, zone: ZoneInfo) -> list[tuple[float, float]]:
    """``(start, end)`` of the consecutive local steps from the one holding ``first`` to the one holding ``last``.

    ``last`` is taken as an exclusive end when it falls on a step boundary after ``first``.
    """
    if step not in STEP_NAMES:
        raise ValueError(f"unknown time step {step}")
    day = _first_day(datetime.fromtimestamp(first, zone).date(), step)
    bounds: list[tuple[float, float]] = []
    start = _midnight(day, zone)
    while True:
        day = _next_day(day, step)
        end = _midnight(day, zone)
        bounds.append((start, end))
        if end > last or (end == last and last > first):
            return bounds
        start = end
