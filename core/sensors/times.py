"""Timestamps of sensor feeds to timezone-aware UTC datetimes.

Accepted: ISO 8601 with ``T`` or a space, with or without seconds, fractional seconds of any
length (The Things Network sends nanoseconds; digits beyond microseconds are dropped), zone
``Z``/``UTC``/``GMT``/``+hh:mm``/``+hhmm``/``+hh`` or none, a bare date; epoch numbers
(seconds, milliseconds, microseconds or nanoseconds, told apart by magnitude); ``datetime``
objects. Zone-less values are UTC (Sensor.Community archives, openSenseMap) unless
``assume_utc`` is False, when they are read as the computer's local time. A bare number is
an epoch time only where the format says times may be numbers (``epoch=True``); SensorThings
and CSV pass ``epoch=False`` unless the column is declared an epoch column, so a number that
slid into a time column is refused instead of becoming a moment in 1970.
"""

from __future__ import annotations

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
            raise FeedFormatError(f"a bare number is not a time here: {value!r} (expected ISO 8601 such as "
                                  "2024-01-21T16:31:55Z)")
        return _from_epoch(float(text), value)
    match = _ISO.match(text)
    if match is None:
        raise FeedFormatError(
            f"not a recognised time: {value!r} (expected ISO 8601 such as 2024-01-21T16:31:55Z, or epoch seconds)"
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
        raise FeedFormatError(f"not a valid time: {value!r} ({error})") from None
    return _to_utc(moment, assume_utc)


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


def _from_epoch(number: float, original: Any) -> datetime:
    size = abs(number)
    divisor = 1e9 if size >= 1e17 else 1e6 if size >= 1e14 else 1e3 if size >= 1e11 else 1.0
    seconds = number / divisor
    try:
        return _EPOCH + timedelta(seconds=seconds)
    except OverflowError:
        raise FeedFormatError(f"epoch time out of range: {original!r}") from None
