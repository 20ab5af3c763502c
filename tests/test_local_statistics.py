"""Gi*, Local Moran, global Moran, permutation inference and FDR (core.hotspots.local_statistics) against esda."""

from __future__ import annotations

import csv
import json
from itertools import combinations

import numpy as np
import pytest
from scipy import sparse
from social_resilience.core.hotspots import local_statistics as ls

from .conftest import shared_data
from .test_spatial_weights import read_rings

RTOL = 1e-8


def reference_weights() -> sparse.csr_matrix:
    """Columbus queen weights from the reference neighbour list (independent of our weights)."""
    rows, cols = [], []
    with open(shared_data("hotspots", "columbus_queen_neighbors.csv"), encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            for j in row["neighbors_idx"].split():
                rows.append(int(row["idx"]))
                cols.append(int(j))
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(49, 49))


def read_reference(name: str) -> dict[str, np.ndarray]:
    with open(shared_data("hotspots", name), encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    columns = {}
    for key in rows[0]:
        try:
            columns[key] = np.array([float(r[key]) for r in rows])
        except ValueError:
            columns[key] = np.array([r[key] for r in rows])
    return columns


@pytest.fixture(scope="module")
def columbus():
    _, crime = read_rings(shared_data("hotspots", "columbus.gpkg"), "CRIME")
    _, income = read_rings(shared_data("hotspots", "columbus.gpkg"), "INC")
    return {"CRIME": crime, "INC": income}, reference_weights()


@pytest.mark.parametrize("variable", ["CRIME", "INC"])
def test_columbus_gi_star_and_local_moran_equal_esda(columbus, variable):
    values, weights = columbus
    ref = read_reference(f"expected_columbus_{variable}.csv")
    np.testing.assert_array_equal(values[variable], ref["value"])
    result = ls.local_hotspots(values[variable], weights, permutations=0, fdr=False)
    np.testing.assert_allclose(result.gi_z, ref["gistar_B_z"], rtol=RTOL)
    np.testing.assert_allclose(result.gi_p, ref["gistar_B_p_norm_2s"], rtol=RTOL)
    np.testing.assert_allclose(result.gi_p_fdr, ref["gistar_B_p_norm_2s_BH"], rtol=RTOL)
    np.testing.assert_array_equal(result.gi_bin, ref["gistar_B_bin"])
    np.testing.assert_allclose(result.lisa_i, ref["lisa_I"], rtol=RTOL)
    np.testing.assert_allclose(result.lisa_z, ref["z_std"], rtol=RTOL)
    np.testing.assert_allclose(result.lisa_lag, ref["lag_z"], rtol=RTOL)
    np.testing.assert_array_equal(result.lisa_q, ref["lisa_q"])
    np.testing.assert_array_equal(result.n_neighbors, ref["n_neighbors"])
    # Analytic LISA p: conditional randomisation moments, as esda's EIc / VIc.
    n = 49
    score = (ref["lisa_I"] * n / (n - 1) - ref["lisa_EIc"]) / np.sqrt(ref["lisa_VIc"])
    np.testing.assert_allclose(result.lisa_p, ls.two_sided_p(score), rtol=1e-7)


@pytest.mark.parametrize("variable", ["CRIME", "INC"])
def test_global_moran_equals_esda(columbus, variable):
    values, weights = columbus
    with open(shared_data("hotspots", "expected_columbus_summary.json"), encoding="utf-8") as handle:
        summary = json.load(handle)[variable]
    result = ls.local_hotspots(values[variable], weights, permutations=0)
    assert result.moran_i == pytest.approx(summary["global_moran_I"], rel=RTOL)
    assert result.moran_ei == pytest.approx(summary["global_moran_EI"], rel=RTOL)
    assert result.moran_z == pytest.approx(summary["global_moran_z_norm"], rel=RTOL)
    assert result.moran_p == pytest.approx(summary["global_moran_p_norm_2s"], rel=1e-6)
    if variable == "CRIME":
        assert round(result.moran_i, 9) == 0.500188557
    assert int(np.sum(result.gi_p_fdr <= 0.05)) == summary["n_sig_gistar_B_BH_le_0.05"]
    assert int(np.sum(result.gi_p <= 0.05)) == summary["n_sig_gistar_B_p_norm_2s_le_0.05"]


def test_gi_star_is_shift_and_scale_invariant(columbus):
    values, weights = columbus
    base = ls.local_hotspots(values["CRIME"], weights, permutations=0)
    moved = ls.local_hotspots(values["CRIME"] * 0.01 - 1000.0, weights, permutations=0)
    assert np.mean(values["CRIME"] * 0.01 - 1000.0) < 0
    np.testing.assert_allclose(moved.gi_z, base.gi_z, rtol=1e-9)
    np.testing.assert_allclose(moved.lisa_i, base.lisa_i, rtol=1e-9)
    np.testing.assert_array_equal(moved.gi_bin, base.gi_bin)


@pytest.mark.parametrize("variable", ["CRIME", "INC"])
def test_permutation_p_values_agree_with_esda(columbus, variable):
    values, weights = columbus
    ref = read_reference(f"expected_columbus_{variable}.csv")
    result = ls.local_hotspots(values[variable], weights, permutations=9999, seed=7)
    for mine, theirs in ((result.gi_p_sim, ref["gistar_B_p_sim"]), (result.lisa_p_sim, ref["lisa_p_sim"])):
        # Sampling error of two independent estimates (999 and 9999 permutations).
        sd = np.sqrt(theirs * (1 - theirs) * (1 / 999 + 1 / 9999)) + 0.001
        assert np.all(np.abs(mine - theirs) <= 4 * sd), np.max(np.abs(mine - theirs) / sd)
        assert np.mean(np.abs(mine - theirs)) < 0.015
    np.testing.assert_array_equal(result.lisa_p, result.lisa_p_sim)


def test_permutations_are_reproducible_and_seeded(columbus):
    values, weights = columbus
    first = ls.local_hotspots(values["CRIME"], weights, permutations=999, seed=3)
    again = ls.local_hotspots(values["CRIME"], weights, permutations=999, seed=3)
    other = ls.local_hotspots(values["CRIME"], weights, permutations=999, seed=4)
    np.testing.assert_array_equal(first.lisa_p, again.lisa_p)
    assert not np.array_equal(first.lisa_p, other.lisa_p)
    assert set(np.unique(first.lisa_p * 1000).round(6)) <= set(np.arange(1, 1001, dtype=float))


def test_conditional_permutation_matches_exact_enumeration():
    # Unit 0 has two neighbours; its exact conditional null: every pair of the 5 others.
    x = np.array([3.0, 9.0, 1.5, 4.0, 7.0, 2.0])
    weights = sparse.csr_matrix(
        (np.ones(6), ([0, 0, 1, 2, 3, 3], [1, 2, 0, 0, 4, 5])), shape=(6, 6)
    )
    permutations = 40000
    greater, lower = ls.conditional_permutation_counts(x, weights, permutations, seed=11)
    for unit, neighbours in ((0, [1, 2]), (3, [4, 5]), (1, [0])):
        others = [v for j, v in enumerate(x) if j != unit]
        k = len(neighbours)
        sums = np.array([sum(c) for c in combinations(others, k)])
        observed = x[neighbours].sum()
        assert greater[unit] / permutations == pytest.approx(np.mean(sums >= observed), abs=0.012)
        assert lower[unit] / permutations == pytest.approx(np.mean(sums <= observed), abs=0.012)
    assert greater[4] == 0
    assert lower[4] == 0


@pytest.mark.parametrize(("k", "population"), [(3, 1000), (30, 40)])
def test_sampling_without_replacement_is_uniform(k, population):
    rng = np.random.default_rng(5)
    sample = ls._sample_without_replacement(rng, 4000, k, population)
    assert sample.shape == (4000, k)
    assert all(len(set(row)) == k for row in sample.tolist())
    counts = np.bincount(sample.ravel(), minlength=population)
    expected = 4000 * k / population
    assert np.all(np.abs(counts - expected) < 6 * np.sqrt(expected))
    # Every position is uniform too (the repair must not bias later columns).
    assert abs(sample[:, -1].mean() - (population - 1) / 2) < 0.05 * population


def test_benjamini_hochberg_by_hand():
    adjusted = ls.benjamini_hochberg(np.array([0.01, 0.04, 0.03, np.nan, 0.2]))
    np.testing.assert_allclose(adjusted[[0, 1, 2, 4]], [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.2])
    assert np.isnan(adjusted[3])


@pytest.mark.parametrize("kind", ["queen", "rook"])
def test_grid_island_gets_no_neighbours(kind):
    from social_resilience.core.hotspots import spatial_weights as sw

    rings, values = read_rings(shared_data("hotspots", "grid_island.gpkg"), "value")
    ref = read_reference("expected_grid_island.csv")
    weights = sw.contiguity_weights(rings, rook=kind == "rook")
    result = ls.local_hotspots(values, weights, permutations=999, seed=2)
    main = slice(0, 100)
    np.testing.assert_allclose(result.gi_z[main], ref[f"gistar_B_z_{kind}"][main], rtol=RTOL)
    np.testing.assert_allclose(result.gi_p[main], ref[f"gistar_B_p_norm_2s_{kind}"][main], rtol=RTOL)
    np.testing.assert_allclose(result.lisa_i[main], ref[f"lisa_I_{kind}"][main], rtol=RTOL)
    np.testing.assert_array_equal(result.lisa_q[main], ref[f"lisa_q_{kind}"][main])
    theirs = ref[f"lisa_p_sim_{kind}"][main]
    assert np.max(np.abs(result.lisa_p_sim[main] - theirs)) < 0.06
    assert np.mean(np.abs(result.lisa_p_sim[main] - theirs)) < 0.015
    for column in (result.gi_z, result.gi_p, result.lisa_i, result.lisa_p, result.lisa_q, result.gi_bin):
        assert np.isnan(column[100])
    assert result.lisa_cluster[100] == ls.NO_NEIGHBOURS
    assert result.n_neighbors[100] == 0
    assert result.n_islands == 1


def test_missing_values_are_left_out(columbus):
    values, weights = columbus
    x = values["CRIME"].copy()
    x[[3, 17]] = np.nan
    result = ls.local_hotspots(x, weights, permutations=0)
    keep = np.flatnonzero(np.isfinite(x))
    subset = ls.local_hotspots(x[keep], weights[keep][:, keep], permutations=0)
    np.testing.assert_allclose(result.gi_z[keep], subset.gi_z, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(result.lisa_i[keep], subset.lisa_i, rtol=1e-12, equal_nan=True)
    assert np.isnan(result.gi_z[3])
    assert result.lisa_cluster[17] == ls.NO_DATA
    assert result.n_valid == 47
    assert result.moran_i == pytest.approx(subset.moran_i)


def test_fdr_makes_clusters_rarer(columbus):
    values, weights = columbus
    plain = ls.local_hotspots(values["CRIME"], weights, permutations=999, seed=1, fdr=False)
    corrected = ls.local_hotspots(values["CRIME"], weights, permutations=999, seed=1, fdr=True)
    assert np.sum(corrected.lisa_cluster > 0) < np.sum(plain.lisa_cluster > 0)
    assert np.sum(np.abs(corrected.gi_bin) > 0) < np.sum(np.abs(plain.gi_bin) > 0)
    significant = plain.lisa_cluster > 0
    np.testing.assert_array_equal(plain.lisa_cluster[significant], plain.lisa_q[significant])
    assert np.all(plain.lisa_p[significant] <= 0.05)
    assert np.all(plain.lisa_p[~significant] > 0.05)


def test_bad_values_raise_clear_errors(columbus):
    _, weights = columbus
    with pytest.raises(ls.StatisticsError, match="equal"):
        ls.local_hotspots(np.full(49, 4.2), weights)
    with pytest.raises(ls.StatisticsError, match="at least 3"):
        ls.local_hotspots(np.r_[1.0, 2.0, np.full(47, np.nan)], weights)
    with pytest.raises(ls.StatisticsError, match="at least 3"):
        ls.local_hotspots(np.array([1.0]), sparse.csr_matrix((1, 1)))


def test_bonferroni_and_permutations_needed_by_hand():
    p = np.array([0.01, np.nan, 0.2, 0.5])
    np.testing.assert_allclose(ls.bonferroni(p), [0.03, np.nan, 0.6, 1.0])
    np.testing.assert_allclose(ls.adjust(p, ls.BONFERRONI), ls.bonferroni(p))
    np.testing.assert_allclose(ls.adjust(p, ls.BENJAMINI_HOCHBERG), ls.benjamini_hochberg(p))
    assert ls.permutations_needed(159, 0.05) == 3179  # 1 / 3180 <= 0.05 / 159
    assert 1 / (ls.permutations_needed(159, 0.05) + 1) <= 0.05 / 159 < 1 / ls.permutations_needed(159, 0.05)
    assert ls.permutations_needed(49, 0.10, tails=2) == 979
    assert [ls.global_permutations(9999, n) for n in (49, 10_000, 20_000, 100_000, 10**6)] == [999, 999, 499, 99, 99]
    assert ls.global_permutations(99, 49) == 99


def test_global_moran_pseudo_p_matches_its_permutation_distribution(columbus):
    values, weights = columbus
    result = ls.local_hotspots(values["CRIME"], weights, permutations=999, seed=1)
    assert result.moran_permutations == 999
    assert result.moran_p_sim == pytest.approx(0.001)  # I = 0.50, z = 5.6: no permutation reaches it
    # A field without pattern: the pseudo p is close to the normal-theory p.
    noise = np.random.default_rng(8).normal(size=49)
    plain = ls.local_hotspots(noise, weights, permutations=999, seed=2)
    assert abs(plain.moran_p_sim - min(plain.moran_p, 1) / 2) < 0.06
    assert ls.local_hotspots(noise, weights, permutations=0).moran_permutations == 0
