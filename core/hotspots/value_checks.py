"""Checks of indicator values before any statistic: overflow, non-finite values, no spread."""

from __future__ import annotations

import numpy as np

#: Largest magnitude computed with: sums of squares of a million such values stay finite.
LARGEST = 1e100
#: Spread relative to the largest magnitude below which values count as equal (floating-point noise).
RELATIVE_NOISE = 1e-9
#: Spread below which values count as equal whatever their size (its square would underflow).
ABSOLUTE_NOISE = 1e-100


def first_too_large(values: np.ndarray) -> int | None:
    """Index of the first finite value whose magnitude exceeds ``LARGEST``, None when there is none."""
    values = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        found = np.flatnonzero(np.isfinite(values) & (np.abs(values) > LARGEST))
    return int(found[0]) if found.size else None


def no_spread(values: np.ndarray) -> bool:
    """Whether the finite values all equal within floating-point noise (also True for fewer than two)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size < 2:
        return True
    spread = float(values.max() - values.min())
    return spread <= max(RELATIVE_NOISE * float(np.abs(values).max()), ABSOLUTE_NOISE)


def only_noise(values: np.ndarray) -> bool:
    """Whether the values differ, but only within floating-point noise."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    return bool(finite.size > 1 and finite.min() != finite.max() and no_spread(finite))
