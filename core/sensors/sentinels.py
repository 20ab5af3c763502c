"""Values that mean "no measurement" rather than a reading.

Decision: an observation whose value is a sentinel is kept, with ``value=None`` and
``flag="sentinel"``; ``raw`` keeps the original value. So a missing probe shows up as a gap,
not as a 327 °C heat wave, and nothing is silently dropped.

- Everywhere: -999 and -9999 (common "no data" codes).
- LoRaWAN payloads only (TTN, ChirpStack): the 16-bit limits that decoders emit for an absent
  or failed probe, e.g. Dragino ``TempC_DS: 327.67`` when no DS18B20 is connected:
  327.67 and -327.68 (0x7FFF/0x8000 at 0.01), 655.35 (0xFFFF at 0.01), 3276.7 and -3276.8
  (0x7FFF/0x8000 at 0.1). They are not applied to other feeds, where they could be real readings.

Non-finite numbers (NaN, infinity) get ``value=None`` and ``flag="invalid"``.
"""

from __future__ import annotations

import math

GENERIC_SENTINELS: tuple[float, ...] = (-999.0, -9999.0)
LORAWAN_SENTINELS: tuple[float, ...] = (327.67, -327.68, 655.35, 3276.7, -3276.8)

SENTINEL = "sentinel"
INVALID = "invalid"


def is_sentinel(value: float, lorawan: bool = False) -> bool:
    """Tell whether ``value`` is a known "no measurement" code."""
    candidates = GENERIC_SENTINELS + LORAWAN_SENTINELS if lorawan else GENERIC_SENTINELS
    return any(math.isclose(value, code, rel_tol=0.0, abs_tol=1e-9) for code in candidates)


def screen(value: float | None, lorawan: bool = False) -> tuple[float | None, str]:
    """``(value, "")`` for a reading, ``(None, flag)`` for a sentinel or a non-finite number."""
    if value is None:
        return None, ""
    if not math.isfinite(value):
        return None, INVALID
    if is_sentinel(value, lorawan):
        return None, SENTINEL
    return value, ""
