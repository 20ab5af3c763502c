"""Timestamps of sensor feeds to timezone-aware UTC datetimes.

Accepted: ISO 8601 with ``T`` or a space, with or without seconds, fractional seconds of any
length (The Things Network sends nanoseconds; digits beyond microseconds are dropped), zone
``Z``/``UTC``/``GMT``/``+hh:mm``/``+hhmm``/``+hh`` or none, a bare date; epoch numbers
(seconds, milliseconds, microseconds or nanoseconds, told apart by magnitude); ``datetime``
objects. A time outside the years 1 to 9999 in UTC (``9999-12-31T23:00-14:00``), an epoch of NaN or
infinity or one too large for a date is refused with FeedFormatError like any other bad time (the
parsers skip and count the value). Zone-less values are UTC (Sensor.Community archives, openSenseMap) unless
``assume_utc`` is False, when they are read as the computer's local time. A bare number is
an epoch time only where the format says times may be numbers (``epoch=True``); SensorThings
and CSV pass ``epoch=False`` unless the column is declared an epoch column, so a number that
slid into a time column is refused instead of becoming a moment in 1970.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from .errors import FeedFormatError

_ISO = re.compile(
    r"""^(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})
    (?:[T\ ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?)?
    \s*(?P<zone>[Zz]|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$""",
    re.VERBOSE,
)
_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def parse_time(value: Any, assume_utc: bool = True, epoch: bool = True) -> datetime:
    """``value`` as an aware UTC datetime; raises FeedFormatError when it is not a time."""
    if isinstance(value, datetime):
        return _to_utc(value, assume_utc)
    if isinstance(value, bool) or value is None:
        raise FeedFormatError(f"not a time: {value!r}")
    text = value if isinstance(value, (int, float)) else str(value).strip()
    if isinstance(text, (int, float)) or _NUMBER.match(text):
        if not epoch:
            raise FeedFormatError(f"a bare number is not a time here: {_short(value)} (expected ISO 8601 such as "
                                  "2024-01-21T16:31:55Z)")
        return _from_epoch(text, value)
    match = _ISO.match(text)
    if match is None:
        raise FeedFormatError(
            f"not a recognised time: {_short(value)} (expected ISO 8601 such as 2024-01-21T16:31:55Z, or epoch seconds)"
        )
    parts = match.groupdict()
    fraction = (parts["fraction"] or "")[:6].ljust(6, "0")
    try:
        moment = datetime(
            int(parts["year"]),
            int(parts["month"]),
            int(parts["day"]),
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
            int(fraction),
            tzinfo=_zone(parts["zone"]),
        )
    except ValueError as error:
        raise FeedFormatError(f"not a valid time: {_short(value)} ({error})") from None
    try:
        return _to_utc(moment, assume_utc)
    except (OverflowError, ValueError):  # e.g. 9999-12-31T23:00-14:00 is in the year 10000 in UTC
        raise FeedFormatError(f"time out of range: {_short(value)} lies outside the years 1 to 9999 in UTC") from None


def parse_interval(value: Any, assume_utc: bool = True, epoch: bool = True) -> tuple[datetime, datetime | None]:
    """``start/end`` as (start, end); a single instant as (instant, None)."""
    if isinstance(value, str) and "/" in value:
        start_text, end_text = value.split("/", 1)
        start = parse_time(start_text, assume_utc, epoch)
        end = parse_time(end_text, assume_utc, epoch)
        if end < start:
            raise FeedFormatError(f"time interval ends before it starts: {value!r}")
        return start, end
    return parse_time(value, assume_utc, epoch), None


def _zone(text: str | None) -> timezone | None:
    if not text:
        return None
    if text in ("Z", "z", "UTC", "GMT"):
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:4] or 0)
    return timezone(sign * timedelta(minutes=minutes))


def _to_utc(moment: datetime, assume_utc: bool) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc) if assume_utc else moment.astimezone()
    return moment.astimezone(timezone.utc)


def _from_epoch(number: Any, original: Any) -> datetime:
    """Epoch seconds, milliseconds, microseconds or nanoseconds (by magnitude) as UTC; NaN, infinity refused."""
    try:
        number = float(number)
    except OverflowError:  # an integer with hundreds of digits
        number = math.inf
    if not math.isfinite(number):
        raise FeedFormatError(f"epoch time out of range: {_short(original)}")
    size = abs(number)
    divisor = 1e9 if size >= 1e17 else 1e6 if size >= 1e14 else 1e3 if size >= 1e11 else 1.0
    seconds = number / divisor
    try:
        return _EPOCH + timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        raise FeedFormatError(f"epoch time out of range: {_short(original)}") from None


def _short(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters (a time of 5000 digits is named, not quoted whole)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"a number of about {int(value.bit_length() * 0.30103)} digits"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
