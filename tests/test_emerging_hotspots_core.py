"""Emerging hot spots core: space-time Gi* against PySAL esda, the trend against pymannkendall, the 17 categories.

The space-time neighbourhood is built here a second time, cell by cell from libpysal's lattice
neighbours, and handed to esda; the category cubes are made by hand so that each category appears.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import sparse
from social_resilience.core.hotspots import emerging as em
from social_resilience.core.hotspots import local_statistics as ls

esda = pytest.importorskip("esda", reason="esda is a test requirement (requirements-test.txt)")
libpysal = pytest.importorskip("libpysal", reason="python3-libpysal is a test package")
mk = pytest.importorskip("pymannkendall", reason="pymannkendall is a test requirement (requirements-test.txt)")

SIDE = 7
CENTRE = 3 * SIDE + 3


def lattice(side: int = SIDE, rook: bool = False):
    """libpysal's queen (or rook) lattice: the W and its binary sparse matrix."""
    w = libpysal.weights.lat2W(side, side, rook=rook)
    return w, sparse.csr_matrix(w.sparse)


def spacetime_w(w, steps: int, lag: int):
    """The space-time neighbourhood cell by cell: (i, t) ~ (j, s) for j = i or a neighbour, t - lag <= s <= t."""
    n = w.n
    neighbours = {}
    for t in range(steps):
        for i in range(n):
            cells = []
            for s in range(max(0, t - lag), t + 1):
                cells += [s * n + j for j in [i, *w.neighbors[i]] if (s, j) != (t, i)]
            neighbours[t * n + i] = sorted(cells)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return libpysal.weights.W(neighbours, silence_warnings=True)


def esda_gi(values: np.ndarray, w_st) -> np.ndarray:
    """esda's Gi* z (star, binary weights, analytic) of the flattened cube."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = esda.G_Local(values.ravel(), w_st, transform="B", star=True, permutations=0)
    return np.asarray(g.Zs, dtype=float)


def random_cube(steps: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    trend = np.linspace(0.0, 2.0, steps)[:, None] * (np.arange(SIDE * SIDE) % SIDE >= 4)
    return rng.gamma(3.0, 2.0, size=(steps, SIDE * SIDE)) + trend


@pytest.mark.parametrize("lag", [0, 1, 2])
def test_spacetime_weights_are_the_neighbourhood(lag):
    w, spatial = lattice()
    ours = em.spacetime_weights(spatial, 6, lag)
    reference = spacetime_w(w, 6, lag)
    expected = sparse.csr_matrix(reference.sparse)
    expected.data[:] = 1.0
    assert (ours != expected).nnz == 0


@pytest.mark.parametrize(("lag", "rook"), [(0, False), (1, False), (2, True)])
def test_gi_star_of_each_step_equals_esda(lag, rook):
    w, spatial = lattice(rook=rook)
    values = random_cube(8)
    ours = em.spacetime_gi_star(values, spatial, lag=lag, fdr=False)
    reference = esda_gi(values, spacetime_w(w, 8, lag)).reshape(8, -1)
    for step in range(8):
        np.testing.assert_allclose(ours.z[step], reference[step], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.p, 2 * (1 - _normal_cdf(np.abs(reference))), rtol=1e-9, atol=1e-12)


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.vectorize(math.erf)(z / math.sqrt(2)))


def test_gi_star_per_step_window_is_esda_on_the_standardised_cube():
    w, spatial = lattice()
    values = random_cube(6, seed=4) + np.arange(6)[:, None] * 5.0  # a town-wide rise
    ours = em.spacetime_gi_star(values, spatial, lag=1, fdr=False, per_step=True)
    standardised = (values - values.mean(axis=1, keepdims=True)) / values.std(axis=1, keepdims=True)
    np.testing.assert_allclose(ours.z.ravel(), esda_gi(standardised, spacetime_w(w, 6, 1)), rtol=1e-9, atol=1e-12)
    entire = em.spacetime_gi_star(values, spatial, lag=1, fdr=False)
    assert np.nanmean(entire.z[-1]) > 2 > np.nanmean(ours.z[-1])  # the rise dominates only the entire cube


def test_cells_without_a_value_are_left_out_as_esda_on_the_rest():
    w, spatial = lattice()
    values = random_cube(5, seed=2)
    values[2, 10] = values[4, 30] = np.nan
    ours = em.spacetime_gi_star(values, spatial, lag=1, fdr=False)
    flat = values.ravel()
    keep = np.flatnonzero(np.isfinite(flat))
    full = spacetime_w(w, 5, 1)
    neighbours = {int(np.searchsorted(keep, c)): [int(np.searchsorted(keep, j)) for j in full.neighbors[c]
                                                 if np.isfinite(flat[j])] for c in keep}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sub = libpysal.weights.W(neighbours, silence_warnings=True)
    np.testing.assert_allclose(ours.z.ravel()[keep], esda_gi(flat[keep], sub), rtol=1e-10)
    assert np.isnan(ours.z[2, 10])
    assert np.isnan(ours.z[4, 30])


def test_fdr_is_applied_within_each_step():
    _, spatial = lattice()
    gi = em.spacetime_gi_star(random_cube(6, seed=3), spatial, lag=1)
    for step in range(6):
        p = gi.p[step]
        order = np.argsort(p)
        m = len(p)
        scaled = p[order] * m / np.arange(1, m + 1)
        expected = np.empty(m)
        expected[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1)
        np.testing.assert_allclose(gi.p_adjusted[step], expected, rtol=1e-12)
    assert np.all(gi.p_adjusted >= gi.p)


def test_permutation_p_agrees_with_the_analytic_p_on_normal_data():
    _, spatial = lattice()
    values = np.random.default_rng(8).normal(size=(6, SIDE * SIDE))
    values[:, :10] += 1.5
    analytic = em.spacetime_gi_star(values, spatial, lag=1, fdr=False)
    permuted = em.spacetime_gi_star(values, spatial, lag=1, permutations=999, seed=3, fdr=False)
    again = em.spacetime_gi_star(values, spatial, lag=1, permutations=999, seed=3, fdr=False)
    np.testing.assert_array_equal(permuted.p, again.p)
    assert np.all(permuted.p >= 2 / 1000 - 1e-12)
    agree = np.mean((analytic.p <= 0.05) == (permuted.p <= 0.05))
    assert agree > 0.95
    ranks = [np.argsort(np.argsort(p.ravel())) for p in (analytic.p, permuted.p)]
    assert np.corrcoef(*ranks)[0, 1] > 0.9


def test_mann_kendall_equals_pymannkendall_with_ties_and_gaps():
    rng = np.random.default_rng(5)
    series = np.round(rng.normal(size=(60, 14)) + np.linspace(0, 1.5, 14), 1)  # rounding makes ties
    series[3, [2, 7]] = np.nan
    series[8, :] = 1.0  # all tied
    ours = em.mann_kendall(series)
    for row in range(len(series)):
        x = series[row][np.isfinite(series[row])]
        ref = mk.original_test(x)
        assert ours.s[row] == ref.s
        assert ours.var_s[row] == pytest.approx(ref.var_s, rel=1e-12)
        assert ours.z[row] == pytest.approx(ref.z, abs=1e-12)
        assert ours.p[row] == pytest.approx(ref.p, abs=1e-12)
        assert ours.tau[row] == pytest.approx(ref.Tau, abs=1e-12)
    assert np.sum(np.isfinite(series[3])) == ours.count[3] == 12


def test_mann_kendall_needs_three_values():
    ours = em.mann_kendall(np.array([[1.0, 2.0, np.nan, np.nan], [1.0, 2.0, 3.0, np.nan]]))
    assert np.isnan(ours.tau[0])
    assert np.isnan(ours.p[0])
    assert ours.tau[1] == 1.0


# -- the 17 categories --------------------------------------------------------------------------------

HOT, COLD, NONE = 1, -1, 0
STEPS = 10


def pattern_cube(pattern: list[int], strength: list[float] | None = None, seed: int = 0) -> np.ndarray:
    """A 7 x 7 lattice over 10 steps: the centre and its 8 neighbours high (hot), low (cold) or usual."""
    rng = np.random.default_rng(seed)
    values = rng.normal(0.0, 0.3, size=(STEPS, SIDE * SIDE))
    _, spatial = lattice()
    cluster = [CENTRE, *spatial[CENTRE].indices]
    for step, kind in enumerate(pattern):
        level = 3.0 if strength is None else strength[step]
        values[step, cluster] += kind * level
    return values


CASES = {
    "New": ([NONE] * 9 + [HOT], None),
    "Consecutive": ([NONE] * 7 + [HOT] * 3, None),
    "Intensifying": ([HOT] * 10, list(np.linspace(3.0, 6.0, STEPS))),
    "Persistent": ([HOT] * 10, None),
    "Diminishing": ([HOT] * 10, list(np.linspace(6.0, 3.0, STEPS))),
    "Sporadic": ([NONE, NONE, HOT, NONE, NONE, HOT, NONE, HOT, NONE, NONE], None),
    "Oscillating": ([NONE, COLD, COLD, NONE, NONE, NONE, HOT, NONE, NONE, HOT], None),
    "Historical": ([HOT] * 9 + [NONE], None),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("side", [HOT, COLD])
def test_hand_made_cube_gives_the_category(name, side):
    pattern, strength = CASES[name]
    _, spatial = lattice()
    result = em.emerging_hotspots(pattern_cube([side * k for k in pattern], strength), spatial, lag=0)
    expected = f"{name} {'hot' if side == HOT else 'cold'} spot"
    assert em.category_label(int(result.category[CENTRE])) == expected
    significant = result.hot if side == HOT else result.cold
    assert list(significant[:, CENTRE].astype(int)) == [int(k != NONE and k == 1) for k in pattern]


def test_no_pattern_without_a_significant_step():
    _, spatial = lattice()
    result = em.emerging_hotspots(pattern_cube([NONE] * STEPS, seed=6), spatial, lag=0)
    assert result.category[CENTRE] == em.NO_PATTERN
    assert em.category_label(0) == "No pattern detected"


def marks(text: str) -> tuple[np.ndarray, np.ndarray]:
    """``+`` hot, ``-`` cold, ``.`` neither: one row of significant steps."""
    return np.array([[c == "+" for c in text]]), np.array([[c == "-" for c in text]])


@pytest.mark.parametrize(
    ("steps", "tau", "p", "code"),
    [
        ("+++++++++.", 0.0, 1.0, em.HISTORICAL),  # 90 % hot, the last not: historical
        ("++++++++..", 0.0, 1.0, em.SPORADIC),  # 80 %: only sporadic
        ("-++++++++-", 0.0, 1.0, -em.OSCILLATING),  # cold now, hot before: oscillating beats historical
        ("..+.....++", 0.0, 1.0, em.SPORADIC),  # a final run after an earlier hot step: not consecutive
        ("..-.....++", 0.0, 1.0, em.OSCILLATING),  # a final run after a cold step: oscillating
        ("-........+", 0.0, 1.0, em.OSCILLATING),  # hot only at the end but cold before: not new
        ("++++++++++", 0.5, 0.04, em.INTENSIFYING),
        ("++++++++++", 0.5, 0.06, em.PERSISTENT),  # the trend is not significant
        ("++++++++++", -0.5, 0.05, em.DIMINISHING),  # p <= alpha counts
        ("----------", -0.5, 0.01, -em.INTENSIFYING),  # colder and colder
        ("----------", 0.5, 0.01, -em.DIMINISHING),
        ("..+..+....", 0.0, 1.0, em.SPORADIC),  # the last step need not be hot (sfdep, ArcMap)
        ("..+..-....", 0.0, 1.0, em.NO_PATTERN),  # both, the last neither
        ("..........", 0.0, 1.0, em.NO_PATTERN),
    ],
)
def test_rules_in_their_order(steps, tau, p, code):
    hot, cold = marks(steps)
    assert em.classify(hot, cold, np.array([tau]), np.array([p]), 0.05)[0] == code


def test_ninety_percent_means_at_least_ninety_percent_of_the_steps():
    hot, cold = marks("+" * 46 + "." * 5 + "+")  # 47 of 52 = 90.4 %
    assert em.classify(hot, cold, np.array([0.0]), np.array([1.0]), 0.05)[0] == em.PERSISTENT
    hot, cold = marks("+" * 45 + "." * 6 + "+")  # 46 of 52 = 88.5 %
    assert em.classify(hot, cold, np.array([0.0]), np.array([1.0]), 0.05)[0] == em.SPORADIC


def test_cube_layout_places_rows_and_finds_duplicates():
    layout = em.cube_layout(["a", "b", "a", None, "b"], np.array([2.0, 1.0, 1.0, 1.0, np.nan]),
                            np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert layout.areas == ["a", "b"]
    np.testing.assert_array_equal(layout.steps, [1.0, 2.0])
    np.testing.assert_array_equal(layout.values, [[3.0, 2.0], [1.0, np.nan]])
    np.testing.assert_array_equal(layout.cell, [2, 1, 0, -1, -1])
    assert layout.duplicate is None
    twice = em.cube_layout(["a", "a"], np.array([1.0, 1.0]), np.array([1.0, 2.0]))
    assert twice.duplicate == 1


def test_empty_steps_are_dropped_and_rows_renumbered():
    layout = em.cube_layout(["a", "b", "a", "b", "a"], np.array([1.0, 1.0, 2.0, 2.0, 3.0]),
                            np.array([1.0, 2.0, np.nan, np.nan, 5.0]))
    trimmed, dropped = layout.without_empty_steps()
    assert dropped == 1
    np.testing.assert_array_equal(trimmed.steps, [1.0, 3.0])
    np.testing.assert_array_equal(trimmed.cell, [0, 1, -1, -1, 2])


def test_constant_cube_is_refused():
    _, spatial = lattice()
    with pytest.raises(ls.StatisticsError):
        em.spacetime_gi_star(np.ones((4, SIDE * SIDE)), spatial)
