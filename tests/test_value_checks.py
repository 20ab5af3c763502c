"""core.hotspots.value_checks: overflow and spread within floating-point noise (pure Python)."""

from __future__ import annotations

import math

import numpy as np


def test_spread_within_noise_counts_as_no_spread():
    from social_resilience.core.hotspots.value_checks import no_spread, only_noise

    near = np.array([5.0] * 99 + [5.000000001])
    assert no_spread(near)
    assert only_noise(near)
    assert not no_spread(np.array([5.0] * 99 + [5.001]))
    assert no_spread(np.array([7.0, 7.0, math.nan]))
    assert not only_noise(np.array([7.0, 7.0, math.nan]))  # equal, not noise
    tiny = np.array([1e-20, 2e-20, 3e-20])  # small units are real differences
    assert not no_spread(tiny)
    assert no_spread(np.array([0.0, 1e-120]))  # a square of that spread underflows


def test_first_too_large():
    from social_resilience.core.hotspots.value_checks import LARGEST, first_too_large

    assert first_too_large(np.array([1.0, math.nan, math.inf, -1e300, 1e300])) == 3
    assert first_too_large(np.array([1.0, -LARGEST, math.inf, math.nan])) is None
