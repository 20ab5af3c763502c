"""Numbers from feed values and the ``raw`` text kept with each observation."""

from __future__ import annotations

import json
import math
import re
from typing import Any

_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


def as_number(value: Any, decimal_comma: bool = False) -> float | None:
    """``value`` as a float: numbers and numeric strings; None for booleans, text, null, empty.

    With ``decimal_comma`` a single comma is read as the decimal separator ("12,5" -> 12.5).
    NaN and infinity are returned as they are (the sentinel screen flags them); a number too large
    for a float (hundreds of digits) is infinity.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:  # hundreds of digits: beyond any float, flagged like infinity
            return math.inf if value > 0 else -math.inf
    if not isinstance(value, str):
        return None
    text = value.strip()
    if decimal_comma and text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    if _NUMBER.match(text):
        return float(text)
    if text.lower() in ("nan", "inf", "+inf", "-inf", "infinity", "-infinity"):
        return float(text)
    return None


def raw_json(value: Any, **extra: Any) -> str:
    """Return the ``raw`` text of an observation: compact JSON ``{"value": <as in the feed>, ...extra}``."""
    record = {"value": value}
    record.update({key: item for key, item in extra.items() if item not in (None, "", [], {})})
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str, allow_nan=True)


def raw_number_json(value: Any) -> str:
    """``raw_json(value)`` without extras, with a shortcut for the usual finite number or null."""
    kind = type(value)
    if kind is float and math.isfinite(value):
        return '{"value":' + float.__repr__(value) + "}"
    if kind is int:
        return '{"value":' + int.__repr__(value) + "}"
    if value is None:
        return '{"value":null}'
    return raw_json(value)


def finite(value: float | None) -> float | None:
    """``value`` when it is a finite number, else None."""
    return value if value is not None and math.isfinite(value) else None
