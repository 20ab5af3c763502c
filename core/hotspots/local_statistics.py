"""Local hotspot statistics on binary spatial weights: Getis-Ord Gi*, Local Moran's I.

- Gi* is the classical Getis & Ord (1995) form used by ArcGIS: binary weights with the unit
  itself included; shift-invariant and identical for binary and row-standardised weights.
- Local Moran's I follows esda (row-standardised or binary weights, z = (x - mean) / population
  sd, I_i = (n - 1) / n · z_i · lag_i, quadrants 1 HH, 2 LH, 3 LL, 4 HL). Its analytic p-value
  uses the conditional-randomisation moments of Sokal et al. (1998), the permutation one the
  conditional permutation of the other values (pseudo p, folded as in esda).
- Pseudo p (local and global): (min(#random >= observed, #random <= observed) + 1) / (P + 1).
  A random value equal to the observed one counts in both tails (conservative and the same for
  high and low values); esda counts it in the upper tail only, so for a low value with ties
  our p is larger. Continuous data has no ties and gives the same p.
- Units without neighbours get NaN statistics; NaN values are excluded from everything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.special import ndtr

#: lisa_cluster codes.
NOT_SIGNIFICANT, HIGH_HIGH, LOW_HIGH, LOW_LOW, HIGH_LOW = 0, 1, 2, 3, 4
NO_NEIGHBOURS, NO_DATA = -1, -2
CLUSTER_LABELS = {
    HIGH_HIGH: "High-High",
    LOW_HIGH: "Low-High",
    LOW_LOW: "Low-Low",
    HIGH_LOW: "High-Low",
    NOT_SIGNIFICANT: "Not significant",
    NO_NEIGHBOURS: "No neighbours",
    NO_DATA: "No data",
}
#: Gi* bins: (two-sided p at most, bin magnitude), as ArcGIS (99 %, 95 %, 90 % confidence).
GI_BIN_LEVELS = ((0.01, 3), (0.05, 2), (0.10, 1))
#: Largest block of random indices drawn at once (permutations × neighbours).
_BLOCK = 4_000_000
#: Where the Gi* bins take their p from (``bins_from``).
ANALYTIC, PERMUTATION = 0, 1
#: Multiple-testing correction applied when ``fdr`` is on.
BENJAMINI_HOCHBERG, BONFERRONI = 0, 1
#: Weights of Local and global Moran's I (``transform``).
ROW_STANDARDISED, BINARY = 0, 1
#: Permutation counts for global Moran's I: the largest of them not above PERMUTATIONS whose
#: permuted values (count × units) stay within ``GLOBAL_BUDGET``, at least the last. One test
#: needs no more (smallest p 0.001), and each permutation costs a pass over all links.
GLOBAL_PERMUTATIONS = (999, 499, 199, 99)
GLOBAL_BUDGET = 10_000_000


class StatisticsError(ValueError):
    """The values cannot be analysed (too few, or no variation)."""


@dataclass
class HotspotResult:
    """Per-unit arrays (length n, NaN where undefined) and global Moran's I."""

    n_neighbors: np.ndarray
    gi_z: np.ndarray
    gi_p: np.ndarray
    gi_p_sim: np.ndarray
    gi_p_fdr: np.ndarray
    gi_bin: np.ndarray
    lisa_i: np.ndarray
    lisa_z: np.ndarray
    lisa_lag: np.ndarray
    lisa_q: np.ndarray
    lisa_p_norm: np.ndarray
    lisa_p_sim: np.ndarray
    lisa_p: np.ndarray
    lisa_p_fdr: np.ndarray
    lisa_cluster: np.ndarray
    moran_i: float
    moran_ei: float
    moran_z: float
    moran_p: float
    n_valid: int
    n_islands: int
    moran_p_sim: float = float("nan")
    moran_permutations: int = 0


def two_sided_p(z: np.ndarray) -> np.ndarray:
    """Two-sided standard normal p-value (NaN stays NaN)."""
    return 2.0 * ndtr(-np.abs(z))


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values over the finite entries of ``p`` (NaN kept)."""
    p = np.asarray(p, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    m = len(finite)
    if m == 0:
        return adjusted
    order = finite[np.argsort(p[finite], kind="stable")]
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return adjusted


def bonferroni(p: np.ndarray) -> np.ndarray:
    """Bonferroni adjusted p-values: p · m capped at 1, m = number of finite entries (NaN kept)."""
    p = np.asarray(p, dtype=float)
    return np.minimum(p * int(np.isfinite(p).sum()), 1.0)


def adjust(p: np.ndarray, correction: int) -> np.ndarray:
    """Return p adjusted for multiple testing by ``BENJAMINI_HOCHBERG`` or ``BONFERRONI``."""
    return bonferroni(p) if correction == BONFERRONI else benjamini_hochberg(p)


def permutations_needed(units: int, alpha: float, tails: int = 1) -> int:
    """Fewest permutations with which one unit alone can pass BH or Bonferroni at ``alpha``.

    The smallest pseudo p is tails / (P + 1); adjusted for ``units`` tests it must not exceed
    ``alpha``, so P + 1 >= tails · units / alpha.
    """
    return max(0, math.ceil(tails * units / alpha - 1e-9) - 1)


def gi_bins(z: np.ndarray, p: np.ndarray) -> np.ndarray:
    """ArcGIS-style bins -3..3: sign of z times 3/2/1 for p <= 0.01/0.05/0.10, else 0."""
    bins = np.zeros(len(z), dtype=np.int64)
    for limit, level in reversed(GI_BIN_LEVELS):
        bins[np.isfinite(p) & (p <= limit)] = level
    return bins * np.sign(np.nan_to_num(z)).astype(np.int64)


def getis_ord_gi_star(x: np.ndarray, weights: sparse.csr_matrix) -> np.ndarray:
    """Classical Gi* z-scores of ``x`` (all finite) for binary ``weights`` without diagonal."""
    n = len(x)
    k = np.asarray(weights.sum(axis=1)).ravel() + 1.0
    centred = x - x.mean()  # centred first: the same z, without cancellation for large means
    s = np.sqrt((centred * centred).mean())
    numerator = weights @ centred + centred
    spread = n * k - k * k
    with np.errstate(divide="ignore", invalid="ignore"):
        z = numerator / (s * np.sqrt(spread / (n - 1)))
    z[spread <= 0] = np.nan
    return z


def transformed(weights: sparse.csr_matrix, transform: int) -> sparse.csr_matrix:
    """Binary ``weights`` as they are (``BINARY``) or with rows summing to 1 (``ROW_STANDARDISED``)."""
    if transform == BINARY:
        return weights
    k = np.asarray(weights.sum(axis=1)).ravel()
    return (sparse.diags(np.where(k > 0, 1.0 / np.maximum(k, 1), 0.0)) @ weights).tocsr()


def local_moran(
    x: np.ndarray, weights: sparse.csr_matrix, transform: int = ROW_STANDARDISED
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(I, standardised value, lag of it, quadrant) with binary ``weights`` transformed as esda.

    The standardised value (x - mean) / sd and its lag are the axes of the Moran scatterplot.
    """
    n = len(x)
    z = (x - x.mean()) / x.std()
    lag = transformed(weights, transform) @ z
    lisa = (n - 1) / n * z * lag
    high, high_lag = z > 0, lag > 0
    quadrant = np.where(high, np.where(high_lag, HIGH_HIGH, HIGH_LOW), np.where(high_lag, LOW_HIGH, LOW_LOW))
    return lisa, z, lag, quadrant


def local_moran_conditional_p(
    z: np.ndarray, lisa: np.ndarray, k: np.ndarray, transform: int = ROW_STANDARDISED
) -> np.ndarray:
    """Two-sided normal p of Local Moran under conditional randomisation.

    Moments of Sokal et al. (1998), eqs. A7, A8 (esda ``EIc``/``VIc``), for units with ``k``
    neighbours: row sums ``wi`` and sums of squares ``wi2`` of the transformed weights.
    """
    n = len(z)
    m2 = (z * z).mean()
    with np.errstate(divide="ignore", invalid="ignore"):
        if transform == BINARY:
            wi = wi2 = k.astype(float)
        else:
            wi, wi2 = (k > 0).astype(float), np.where(k > 0, 1.0 / k, 0.0)
        expectation = -(z**2) * wi / ((n - 1) * m2)
        variance = (z / m2) ** 2 * n / (n - 2) * (wi2 - wi**2 / (n - 1)) * (m2 - z**2 / (n - 1))
        anselin = lisa * n / (n - 1)
        score = (anselin - expectation) / np.sqrt(variance)
    score[variance <= 0] = np.nan
    return two_sided_p(score)


def global_moran(
    x: np.ndarray, weights: sparse.csr_matrix, transform: int = ROW_STANDARDISED
) -> tuple[float, float, float, float]:
    """Global Moran's I of binary ``weights`` transformed: (I, E[I], z, two-sided p) under normality."""
    n = len(x)
    w = transformed(weights, transform)
    z = x - x.mean()
    s0 = float(w.sum())
    if s0 == 0:
        return float("nan"), -1.0 / (n - 1), float("nan"), float("nan")
    moran = n / s0 * float(z @ (w @ z)) / float(z @ z)
    s1 = 0.5 * float((w + w.T).power(2).sum())
    s2 = float(((np.asarray(w.sum(axis=1)).ravel() + np.asarray(w.sum(axis=0)).ravel()) ** 2).sum())
    expectation = -1.0 / (n - 1)
    variance = (n * n * s1 - n * s2 + 3 * s0 * s0) / ((n - 1) * (n + 1) * s0 * s0) - expectation**2
    score = (moran - expectation) / np.sqrt(variance) if variance > 0 else float("nan")
    return moran, expectation, float(score), float(two_sided_p(np.array([score]))[0])


def global_permutations(permutations: int, units: int) -> int:
    """Permutations global Moran's I uses for ``units`` units (see ``GLOBAL_PERMUTATIONS``)."""
    fitting = [p for p in GLOBAL_PERMUTATIONS if p * units <= GLOBAL_BUDGET] or [GLOBAL_PERMUTATIONS[-1]]
    return max(0, min(int(permutations), fitting[0]))


def global_moran_pseudo_p(
    x: np.ndarray, weights: sparse.csr_matrix, transform: int, permutations: int, seed: int | None
) -> tuple[float, int]:
    """(pseudo p, permutations used) of global Moran's I from random permutations of all values.

    Tie rule as the local pseudo p; the count is ``global_permutations``; the random stream is
    derived from ``seed`` apart from that of the local statistics.
    """
    permutations = global_permutations(permutations, len(x))
    w = transformed(weights, transform)
    if permutations <= 0 or w.nnz == 0:
        return float("nan"), 0
    z = x - x.mean()
    observed = float(z @ (w @ z))
    rng = np.random.default_rng(None if seed is None else [int(seed), 1])
    greater = lower = 0
    block = max(1, min(permutations, 4_000_000 // max(len(z), 1)))
    for start in range(0, permutations, block):
        shuffled = np.empty((min(block, permutations - start), len(z)))
        for row in shuffled:
            row[:] = rng.permutation(z)
        statistic = np.einsum("ij,ji->i", shuffled, w @ np.ascontiguousarray(shuffled.T))
        greater += int(np.sum(statistic >= observed))
        lower += int(np.sum(statistic <= observed))
    p = folded_pseudo_p(np.array([greater]), np.array([lower]), permutations)[0]
    return float(p), permutations


def _sample_without_replacement(rng: np.random.Generator, rows: int, k: int, population: int) -> np.ndarray:
    """(rows, k) indices in [0, population), distinct within each row, uniformly drawn."""
    if 4 * k > population:
        return np.argsort(rng.random((rows, population)), axis=1)[:, :k]
    sample = rng.integers(0, population, size=(rows, k))
    while True:
        order = np.argsort(sample, axis=1, kind="stable")
        ordered = np.take_along_axis(sample, order, axis=1)
        repeat = np.zeros_like(sample, dtype=bool)
        np.put_along_axis(repeat, order[:, 1:], ordered[:, 1:] == ordered[:, :-1], axis=1)
        count = int(repeat.sum())
        if count == 0:
            return sample
        # Later repeats are drawn again; relabelling symmetry keeps the draw uniform.
        sample[repeat] = rng.integers(0, population, size=count)


def conditional_permutation_counts(
    x: np.ndarray, weights: sparse.csr_matrix, permutations: int, seed: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Count random neighbour sums >= and <= the observed one for each unit.

    The k_i neighbours are drawn without replacement from the other n - 1 values.

    As in esda's ``crand`` the random index rows are shared by all units, so each cardinality
    needs one column of sums. The other values of unit i are ``x`` with position i replaced by
    the last value (a bijection), so a draw that hits i only needs a correction.
    """
    n = len(x)
    k = np.diff(weights.indptr)
    observed = weights @ x
    greater = np.zeros(n, dtype=np.int64)
    lower = np.zeros(n, dtype=np.int64)
    kmax = int(k.max()) if n else 0
    if kmax == 0 or permutations <= 0:
        return greater, lower
    rng = np.random.default_rng(seed)
    cards = np.unique(k[k > 0])
    units_of = {int(c): np.flatnonzero(k == c) for c in cards}
    block = max(1, min(permutations, _BLOCK // kmax))
    last = x[-1]
    for start in range(0, permutations, block):
        rows = min(block, permutations - start)
        draw = _sample_without_replacement(rng, rows, kmax, n - 1)
        sums = np.cumsum(x[draw], axis=1)
        for card in cards:
            units = units_of[int(card)]
            base = np.sort(sums[:, card - 1])
            target = observed[units]
            greater[units] += rows - np.searchsorted(base, target, side="left")
            lower[units] += np.searchsorted(base, target, side="right")
        # A draw that picked unit i itself (within i's first k_i) really picked the last value.
        hit_row, hit_col = np.nonzero(np.arange(kmax) < k[draw])
        hit_unit = draw[hit_row, hit_col]
        old = sums[hit_row, k[hit_unit] - 1]
        new = old - x[hit_unit] + last
        goal = observed[hit_unit]
        greater += np.bincount(hit_unit, (new >= goal).astype(float) - (old >= goal), minlength=n).astype(np.int64)
        lower += np.bincount(hit_unit, (new <= goal).astype(float) - (old <= goal), minlength=n).astype(np.int64)
    return greater, lower


def folded_pseudo_p(greater: np.ndarray, lower: np.ndarray, permutations: int) -> np.ndarray:
    """esda-style pseudo p: (min(#random >= observed, #random <= observed) + 1) / (P + 1)."""
    return (np.minimum(np.minimum(greater, lower), permutations) + 1.0) / (permutations + 1.0)


def binary_valid(values: np.ndarray, weights: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray, sparse.csr_matrix]:
    """Return the finite values' indices, neighbours with a value per unit, binary weights among them."""
    valid = np.flatnonzero(np.isfinite(values))
    if len(valid) < 3:
        raise StatisticsError(f"Only {len(valid)} unit(s) have a value; at least 3 are needed.")
    x = values[valid]
    if np.ptp(x) <= 1e-12 * max(1.0, float(np.abs(x).max())):
        raise StatisticsError("All values are equal: a constant field has no hotspots.")
    w = sparse.csr_matrix(weights, dtype=float)
    w = (w - sparse.diags(w.diagonal())).tocsr()
    w.eliminate_zeros()
    w.data[:] = 1.0
    n_neighbors = np.asarray(w[:, valid].sum(axis=1)).ravel().astype(np.int64)
    return valid, n_neighbors, w[valid][:, valid].tocsr()


def gi_bin_p(gi_p: np.ndarray, gi_p_sim: np.ndarray, bins_from: int) -> np.ndarray:
    """Return the two-sided p of the Gi* bins: analytic, or twice the folded pseudo p (capped at 1)."""
    return np.minimum(2.0 * gi_p_sim, 1.0) if bins_from == PERMUTATION else gi_p


def local_hotspots(
    values: np.ndarray,
    weights: sparse.csr_matrix,
    permutations: int = 999,
    seed: int | None = None,
    alpha: float = 0.05,
    fdr: bool = True,
    bins_from: int = ANALYTIC,
    correction: int = BENJAMINI_HOCHBERG,
    transform: int = ROW_STANDARDISED,
) -> HotspotResult:
    """Gi*, Local Moran's I and global Moran's I of ``values`` (NaN = no data).

    ``weights``: binary n × n (any diagonal is ignored). ``fdr`` applies ``correction`` to the
    p of the Gi* bins and the LISA clusters; ``bins_from`` chooses the p of the bins;
    ``transform`` the weights of Local and global Moran's I. Raises ``StatisticsError`` when
    fewer than three units have a value or all values are equal.
    """
    values = np.asarray(values, dtype=float)
    n = len(values)
    valid, n_neighbors, w = binary_valid(values, weights)
    x = values[valid]
    k = np.diff(w.indptr)
    has = k > 0

    def full(part: np.ndarray, fill: float = np.nan) -> np.ndarray:
        out = np.full(n, fill, dtype=float)
        out[valid] = np.where(has, part, fill)
        return out

    gi_z = full(getis_ord_gi_star(x, w))
    lisa, z, lag, quadrant = local_moran(x, w, transform)
    lisa_p_norm = local_moran_conditional_p(z, lisa, k, transform)
    gi_p_sim, lisa_p_sim = _pseudo_p(x, w, z, permutations, seed)
    gi_p_sim = full(gi_p_sim)
    gi_p = two_sided_p(gi_z)
    bin_p = gi_bin_p(gi_p, gi_p_sim, bins_from if permutations > 0 else ANALYTIC)
    gi_p_fdr = adjust(bin_p, correction)
    lisa_p = full(lisa_p_sim if permutations > 0 else lisa_p_norm)
    lisa_p_fdr = adjust(lisa_p, correction)
    q = full(quadrant.astype(float))
    cluster = lisa_clusters(q, lisa_p_fdr if fdr else lisa_p, alpha)
    cluster[~np.isfinite(values)] = NO_DATA
    return HotspotResult(
        n_neighbors=n_neighbors,
        gi_z=gi_z,
        gi_p=gi_p,
        gi_p_sim=gi_p_sim,
        gi_p_fdr=gi_p_fdr,
        gi_bin=np.where(np.isfinite(gi_z), gi_bins(gi_z, gi_p_fdr if fdr else bin_p), np.nan),
        lisa_i=full(lisa),
        lisa_z=full(z),
        lisa_lag=full(lag),
        lisa_q=q,
        lisa_p_norm=full(lisa_p_norm),
        lisa_p_sim=full(lisa_p_sim),
        lisa_p=lisa_p,
        lisa_p_fdr=lisa_p_fdr,
        lisa_cluster=cluster.astype(np.int64),
        n_valid=len(valid),
        n_islands=int((~has).sum()),
        **_global_moran_fields(x, w, transform, permutations, seed),
    )


def _pseudo_p(
    x: np.ndarray, w: sparse.csr_matrix, z: np.ndarray, permutations: int, seed: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Conditional-permutation pseudo p of Gi* and Local Moran's I (NaN without permutations)."""
    if permutations <= 0:
        nothing = np.full(len(x), np.nan)
        return nothing, nothing
    greater, lower = conditional_permutation_counts(x, w, permutations, seed)
    gi_p_sim = folded_pseudo_p(greater, lower, permutations)
    return gi_p_sim, np.where(z == 0, 1.0, gi_p_sim)


def _global_moran_fields(
    x: np.ndarray, w: sparse.csr_matrix, transform: int, permutations: int, seed: int | None
) -> dict[str, float | int]:
    """Return the ``moran_*`` fields of ``HotspotResult``: global Moran's I, its moments and pseudo p."""
    moran_i, moran_ei, moran_z, moran_p = global_moran(x, w, transform)
    moran_p_sim, moran_permutations = global_moran_pseudo_p(x, w, transform, permutations, seed)
    return {
        "moran_i": moran_i, "moran_ei": moran_ei, "moran_z": moran_z, "moran_p": moran_p,
        "moran_p_sim": moran_p_sim, "moran_permutations": moran_permutations,
    }


def lisa_clusters(quadrant: np.ndarray, p: np.ndarray, alpha: float) -> np.ndarray:
    """Quadrant where ``p`` <= ``alpha``, else ``NOT_SIGNIFICANT``; ``NO_NEIGHBOURS`` where NaN."""
    cluster = np.where(np.isfinite(p) & (p <= alpha), np.nan_to_num(quadrant), NOT_SIGNIFICANT)
    cluster[np.isnan(quadrant)] = NO_NEIGHBOURS
    return cluster
