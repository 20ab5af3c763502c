"""Emerging hot spots: space-time Getis-Ord Gi*, the Mann-Kendall trend and the 17 categories.

Pure numpy + scipy. A cube holds ``T`` time steps of ``n`` areas as a (T, n) array (NaN = no
value); cell (t, i) is number ``t · n + i`` of the flattened cube.

- Space-time neighbourhood (ArcGIS, sfdep): cell (i, t) has as neighbours the cells (j, s) with
  j the area itself or one of its spatial neighbours and ``t - lag <= s <= t`` (earlier steps
  only), the cell itself excluded (Gi* adds it). ``lag`` 0 is the plain spatial neighbourhood.
- Gi* is the classical form of ``local_statistics`` on these binary weights with the mean and
  standard deviation of every cell of the cube that has a value (ArcGIS's global window "entire
  cube"); its p is analytic, or from conditional permutations of all cells. Cells without any
  neighbour get NaN. The p of each step is adjusted over that step's areas (Benjamini-Hochberg).
  With ``per_step`` the values of each step are first standardised (mean 0, population standard
  deviation 1 over the areas with a value in that step): a rise or fall shared by all areas (the
  weather, a town-wide trend) is removed and an area counts only against the others of its step.
- A step is a significant hot (cold) spot of an area when its adjusted p <= ``alpha`` and z > 0
  (< 0); a missing value is not significant.
- The trend of an area is the Mann-Kendall test of its z-series (steps with a z only): S, the
  variance with the tie correction, the continuity-corrected z, two-sided p and Kendall's
  tau = S / (m (m - 1) / 2), as pymannkendall's ``original_test``; NaN below 3 values.
- The categories follow ArcGIS's definitions, made exact as ``classify`` documents.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.special import ndtr

from . import local_statistics as stats

#: Category codes: + hot spot, - cold spot (the same number), 0 no pattern.
NO_PATTERN = 0
NEW, CONSECUTIVE, INTENSIFYING, PERSISTENT, DIMINISHING, SPORADIC, OSCILLATING, HISTORICAL = range(1, 9)
#: Category code -> English name of the pattern (codes 1..8).
PATTERNS = {
    NEW: "new",
    CONSECUTIVE: "consecutive",
    INTENSIFYING: "intensifying",
    PERSISTENT: "persistent",
    DIMINISHING: "diminishing",
    SPORADIC: "sporadic",
    OSCILLATING: "oscillating",
    HISTORICAL: "historical",
}
#: Share of the steps that makes a location mostly hot (cold): at least 90 percent (ArcGIS).
MOSTLY = 0.9


def category_label(code: int) -> str:
    """English label of a category code: ``"New hot spot"``, ``"Historical cold spot"``, ``"No pattern detected"``."""
    if code == NO_PATTERN:
        return "No pattern detected"
    kind = "hot spot" if code > 0 else "cold spot"
    return f"{PATTERNS[abs(code)].capitalize()} {kind}"


def spacetime_weights(spatial: sparse.spmatrix, steps: int, lag: int) -> sparse.csr_matrix:
    """Binary (steps · n)² weights of the space-time neighbourhood of binary spatial weights (n × n).

    Cell t·n + i neighbours t'·n + j for t - lag <= t' <= t and j = i or a spatial neighbour of i.
    """
    n = spatial.shape[0]
    own = sparse.csr_matrix(spatial, dtype=float)
    own.data[:] = 1.0
    own = (own + sparse.identity(n, format="csr")).tocsr()
    own.data[:] = 1.0
    lags = range(min(lag, steps - 1) + 1)
    blocks = [sparse.kron(sparse.eye(steps, k=-d, format="csr"), own, format="csr") for d in lags]
    weights = sum(blocks[1:], blocks[0]).tocsr()
    weights.setdiag(0.0)
    weights.eliminate_zeros()
    weights.data[:] = 1.0
    return weights


@dataclass
class SpaceTimeGi:
    """Gi* of every cell as (T, n) arrays; NaN where a cell has no value or no neighbour."""

    z: np.ndarray
    p: np.ndarray  # two-sided: analytic, or twice the folded pseudo p (capped at 1)
    p_adjusted: np.ndarray  # p adjusted per step (equal to p without the correction)
    bins: np.ndarray  # -3..3 from p_adjusted (99/95/90 %), 0 where NaN
    n_neighbors: np.ndarray  # neighbour cells with a value
    n_valid: int


def spacetime_gi_star(
    values: np.ndarray,
    spatial: sparse.spmatrix,
    lag: int = 1,
    permutations: int = 0,
    seed: int | None = None,
    fdr: bool = True,
    correction: int = stats.BENJAMINI_HOCHBERG,
    per_step: bool = False,
) -> SpaceTimeGi:
    """Gi* of a (T, n) cube over the space-time neighbourhood (see the module text).

    Raises ``local_statistics.StatisticsError`` when fewer than three cells have a value or all
    values are equal.
    """
    values = np.asarray(values, dtype=float)
    steps, n = values.shape
    if per_step:
        values = standardised_per_step(values)
    flat = values.ravel()
    valid, n_neighbors, w = stats.binary_valid(flat, spacetime_weights(spatial, steps, lag))
    x = flat[valid]
    has = np.diff(w.indptr) > 0

    def full(part: np.ndarray) -> np.ndarray:
        out = np.full(flat.size, np.nan)
        out[valid] = np.where(has, part, np.nan)
        return out.reshape(steps, n)

    z = full(stats.getis_ord_gi_star(x, w))
    if permutations > 0:
        greater, lower = stats.conditional_permutation_counts(x, w, permutations, seed)
        p = np.minimum(2.0 * full(stats.folded_pseudo_p(greater, lower, permutations)), 1.0)
    else:
        p = stats.two_sided_p(z)
    adjusted = np.vstack([stats.adjust(row, correction) for row in p]) if fdr else p.copy()
    bins = stats.gi_bins(np.nan_to_num(z.ravel()), adjusted.ravel()).reshape(steps, n)
    return SpaceTimeGi(z, p, adjusted, bins, n_neighbors.reshape(steps, n), len(valid))


def standardised_per_step(values: np.ndarray) -> np.ndarray:
    """Each row (step) of a (T, n) cube as (x - mean) / population sd of its values; 0 where a step is constant."""
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(values, axis=1, keepdims=True)
        spread = np.nanstd(values, axis=1, keepdims=True)
    centred = values - mean
    return np.where(spread > 0, centred / np.where(spread > 0, spread, 1.0), np.where(np.isfinite(values), 0.0, np.nan))


@dataclass
class Trend:
    """Mann-Kendall test of each row of a series (NaN where fewer than 3 values)."""

    s: np.ndarray
    var_s: np.ndarray
    z: np.ndarray
    p: np.ndarray
    tau: np.ndarray
    count: np.ndarray  # values used (finite)


def mann_kendall(series: np.ndarray) -> Trend:
    """Mann-Kendall trend of each row of ``series`` (rows × time), NaN values skipped.

    S = Σ_{j>k} sign(x_j - x_k); Var(S) = (m(m-1)(2m+5) - Σ t(t-1)(2t+5)) / 18 over groups of t
    equal values; z = (S - sign(S)) / √Var(S) (0 for S = 0); p = 2 (1 - Φ(|z|)); tau = S / (m(m-1)/2).
    """
    x = np.atleast_2d(np.asarray(series, dtype=float))
    rows, steps = x.shape
    finite = np.isfinite(x)
    m = finite.sum(axis=1).astype(float)
    s = np.zeros(rows)
    for d in range(1, steps):
        both = finite[:, :-d] & finite[:, d:]
        with np.errstate(invalid="ignore"):
            s += np.sign(np.where(both, x[:, d:] - x[:, :-d], 0.0)).sum(axis=1)
    ordered = np.sort(x, axis=1)  # NaN last
    ties = np.zeros(rows)
    for row in np.flatnonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1)):
        _, counts = np.unique(ordered[row][np.isfinite(ordered[row])], return_counts=True)
        ties[row] = float(np.sum(counts * (counts - 1.0) * (2.0 * counts + 5.0)))
    var_s = (m * (m - 1.0) * (2.0 * m + 5.0) - ties) / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(s == 0, 0.0, (s - np.sign(s)) / np.sqrt(var_s))
        tau = s / (m * (m - 1.0) / 2.0)
    p = 2.0 * ndtr(-np.abs(z))
    few = m < 3
    for array in (s, var_s, z, p, tau):
        array[few] = np.nan
    return Trend(s, var_s, z, p, tau, m.astype(np.int64))


def _final_run(marks: np.ndarray) -> np.ndarray:
    """Length of the run of True at the end of each row."""
    return np.cumprod(marks[:, ::-1], axis=1).sum(axis=1)


def _side_rules(this: np.ndarray, other: np.ndarray, rising: np.ndarray, falling: np.ndarray) -> dict[int, np.ndarray]:
    """Which rows match each pattern on one side (``this`` = significant steps of that side)."""
    steps = this.shape[1]
    mostly = math.ceil(MOSTLY * steps - 1e-9)
    count, opposite, last = this.sum(axis=1), other.sum(axis=1), this[:, -1]
    run = _final_run(this)
    high = count >= mostly
    return {
        NEW: last & (count == 1) & (opposite == 0),
        CONSECUTIVE: last & (run >= 2) & (run == count) & (opposite == 0) & ~high,
        INTENSIFYING: high & last & rising,
        PERSISTENT: high & last & ~rising & ~falling,
        DIMINISHING: high & last & falling,
        OSCILLATING: last & (opposite > 0) & ~high,
        HISTORICAL: high & ~last,
        SPORADIC: (count > 0) & (opposite == 0) & ~high,
    }


#: The order in which the patterns are tested; the first that holds (hot before cold) wins.
ORDER = (NEW, CONSECUTIVE, INTENSIFYING, PERSISTENT, DIMINISHING, OSCILLATING, HISTORICAL, SPORADIC)


def classify(hot: np.ndarray, cold: np.ndarray, tau: np.ndarray, trend_p: np.ndarray, alpha: float) -> np.ndarray:
    """Category code of each row of the (areas × T) significant ``hot`` and ``cold`` steps.

    With ``mostly`` = at least 90 % of the T steps and ``last`` the final step, on the hot side
    (cold mirrored, the trend's sign reversed): new = hot only in the last step, no other step
    significant; consecutive = one run of at least 2 hot steps ending in the last step, no
    significant step before it, not mostly hot; intensifying / persistent / diminishing = mostly
    hot including the last step, with a significant rising / no significant / a significant
    falling trend of z (trend p <= ``alpha``); oscillating = hot in the last step, cold in some
    step, not mostly hot; historical = mostly hot, not hot in the last step; sporadic = hot in
    some step (the last need not be), never cold, not mostly hot. Tested in ``ORDER``.
    """
    significant = np.isfinite(trend_p) & (trend_p <= alpha)
    up, down = significant & (tau > 0), significant & (tau < 0)
    sides = ((1, _side_rules(hot, cold, up, down)), (-1, _side_rules(cold, hot, down, up)))
    code = np.zeros(hot.shape[0], dtype=np.int64)
    open_ = np.ones(hot.shape[0], dtype=bool)
    for pattern in ORDER:
        for sign, rules in sides:
            match = rules[pattern] & open_
            code[match] = sign * pattern
            open_ &= ~match
    return code


@dataclass
class EmergingResult:
    """Per cell (T, n): ``gi``, significant hot and cold steps; per area (n): trend, counts and category."""

    gi: SpaceTimeGi
    trend: Trend
    hot: np.ndarray  # (T, n) bool
    cold: np.ndarray  # (T, n) bool
    category: np.ndarray
    n_hot: np.ndarray = field(init=False)  # significant hot steps per area
    n_cold: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.n_hot = self.hot.sum(axis=0)
        self.n_cold = self.cold.sum(axis=0)


def emerging_hotspots(
    values: np.ndarray,
    spatial: sparse.spmatrix,
    lag: int = 1,
    permutations: int = 0,
    seed: int | None = None,
    alpha: float = 0.05,
    fdr: bool = True,
    trend_alpha: float | None = None,
    per_step: bool = False,
) -> EmergingResult:
    """Space-time Gi*, trend and category of each area of a (T, n) cube on binary spatial weights.

    ``alpha``: significance of a step (on the adjusted p when ``fdr``) and, unless
    ``trend_alpha`` is given, of the trend; ``per_step``: each step standardised first.
    """
    gi = spacetime_gi_star(values, spatial, lag, permutations, seed, fdr, per_step=per_step)
    significant = np.isfinite(gi.p_adjusted) & (gi.p_adjusted <= alpha)
    hot = significant & (np.nan_to_num(gi.z) > 0)
    cold = significant & (np.nan_to_num(gi.z) < 0)
    trend = mann_kendall(gi.z.T)
    limit = alpha if trend_alpha is None else trend_alpha
    return EmergingResult(gi, trend, hot, cold, classify(hot.T, cold.T, trend.tau, trend.p, limit))


@dataclass
class CubeLayout:
    """Rows of a table (area, time, value) placed in a (T, n) cube."""

    areas: list  # area keys in the order they first appear
    steps: np.ndarray  # the distinct times, ascending
    values: np.ndarray  # (T, n), NaN where no row (or no number)
    cell: np.ndarray  # per row: t · n + i, -1 for rows without an area or a time
    area: np.ndarray  # per row: i, -1 for rows without an area
    duplicate: int | None  # first row whose (area, time) an earlier row already holds

    def without_empty_steps(self) -> tuple[CubeLayout, int]:
        """Return the layout without the steps in which no area has a value, and how many were dropped."""
        keep = np.isfinite(self.values).any(axis=1)
        if keep.all():
            return self, 0
        n = len(self.areas)
        step = np.where(self.cell >= 0, self.cell // max(n, 1), 0)
        renumbered = np.cumsum(keep) - 1
        cell = np.where((self.cell >= 0) & keep[step], renumbered[step] * n + self.cell % max(n, 1), -1)
        layout = CubeLayout(self.areas, self.steps[keep], self.values[keep], cell, self.area, self.duplicate)
        return layout, int((~keep).sum())


def cube_layout(areas: list, times: np.ndarray, values: np.ndarray) -> CubeLayout:
    """Place rows with ``areas`` keys (None: no area), ``times`` (NaN: none) and ``values`` in a cube."""
    times = np.asarray(times, dtype=float)
    values = np.asarray(values, dtype=float)
    index: dict = {}
    area_of = np.array([-1 if key is None else index.setdefault(key, len(index)) for key in areas], dtype=np.int64)
    usable = (area_of >= 0) & np.isfinite(times)
    steps, step_of = np.unique(times[usable], return_inverse=True)
    n = len(index)
    cell = np.full(len(times), -1, dtype=np.int64)
    cell[usable] = step_of.ravel() * n + area_of[usable]
    cube = np.full(len(steps) * n, np.nan)
    taken = cell[usable]
    _, first = np.unique(taken, return_index=True)
    duplicate = None
    if len(first) < len(taken):
        repeated = np.setdiff1d(np.arange(len(taken)), first)[0]
        duplicate = int(np.flatnonzero(usable)[repeated])
    cube[taken] = values[usable]
    return CubeLayout(list(index), steps, cube.reshape(len(steps), n), cell, area_of, duplicate)
