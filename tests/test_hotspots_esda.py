"""Weights and hotspot statistics against libpysal and PySAL esda on the libpysal example data sets.

The data sets ship offline with Debian's python3-libpysal (sids2, stl, georgia, baltim, mexico);
the references are computed here from the installed esda (a test requirement), nothing is stored.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from osgeo import ogr
from social_resilience.core.hotspots import local_statistics as ls
from social_resilience.core.hotspots import spatial_weights as sw

from .test_spatial_weights import neighbour_sets

esda = pytest.importorskip("esda", reason="esda is a test requirement (requirements-test.txt)")
libpysal = pytest.importorskip("libpysal", reason="python3-libpysal ships the example data sets")

EXAMPLES = Path(libpysal.__file__).parent / "examples"
if not (EXAMPLES / "sids2" / "sids2.shp").is_file():  # Debian 13's python3-libpysal ships without them
    pytest.skip(f"this libpysal ships without its example data sets: {EXAMPLES}", allow_module_level=True)
#: data set -> (shapefile, continuous variable, polygons?)
DATASETS = {
    "sids2": ("sids2/sids2.shp", "SIDR79", True),
    "stl": ("stl/stl_hom.shp", "HR8893", True),
    "georgia": ("georgia/G_utm.shp", "PctBach", True),
    "baltim": ("baltim/baltim.shp", "PRICE", False),
    "mexico": ("mexico/mexicojoin.shp", "PCGDP1940", True),
}
KINDS = ("queen", "rook", "knn", "band")
CASES = [(name, kind) for name in DATASETS for kind in KINDS if DATASETS[name][2] or kind in ("knn", "band")]
K = 6
TOL = {"rtol": 1e-10, "atol": 1e-12}


def load(name: str) -> tuple[sw.RingSet, np.ndarray, np.ndarray]:
    """Rings (read with OGR), values and libpysal's centroids of a libpysal example."""
    path, variable, _ = DATASETS[name]
    dataset = ogr.Open(str(EXAMPLES / path))
    collector, values = sw.RingCollector(), []
    for i, feature in enumerate(dataset.GetLayer(0)):
        collector.add_wkb(i, bytes(feature.GetGeometryRef().ExportToIsoWkb()))
        values.append(feature.GetField(variable))
    points = libpysal.weights.util.get_points_array_from_shapefile(str(EXAMPLES / path))
    return collector.ringset(len(values)), np.array(values, dtype=float), np.asarray(points, dtype=float)


def our_weights(name: str, kind: str):
    rings, values, points = load(name)
    if kind in ("queen", "rook"):
        return sw.contiguity_weights(rings, rook=kind == "rook"), values
    if kind == "knn":
        return sw.knn_weights(points, K), values
    return sw.distance_band_weights(points, sw.nearest_neighbour_distances(points).max()), values


def esda_weights(matrix):
    """libpysal W of our binary matrix (the same neighbours for both sides)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return libpysal.weights.WSP(matrix.tocsr()).to_W(silence_warnings=True)


@pytest.mark.parametrize(("name", "kind"), CASES)
def test_weights_equal_libpysal(name, kind):
    _, _, points = load(name)
    path = str(EXAMPLES / DATASETS[name][0])
    ours, _ = our_weights(name, kind)
    if kind in ("queen", "rook"):
        reference = (libpysal.weights.Rook if kind == "rook" else libpysal.weights.Queen).from_shapefile(path)
        assert neighbour_sets(ours) == neighbour_sets(reference.sparse)
    elif kind == "knn":
        knn = sw.knn_neighbours(points, K)
        reference = neighbour_sets(libpysal.weights.KNN(points, k=K).sparse)
        mine = neighbour_sets(knn.matrix)
        # libpysal breaks ties arbitrarily: equal wherever no tie, our rule where one is.
        untied = np.flatnonzero(~knn.tied)
        assert [mine[i] for i in untied] == [reference[i] for i in untied]
        assert all(len(m) == K for m in mine)
    else:
        threshold = sw.nearest_neighbour_distances(points).max()
        assert threshold == pytest.approx(libpysal.weights.min_threshold_distance(points), rel=1e-12)
        assert min(len(s) for s in neighbour_sets(ours)) >= 1  # the pair at the threshold is kept
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            widened = libpysal.weights.DistanceBand(points, threshold * (1 + 1e-9), binary=True, silence_warnings=True)
        assert neighbour_sets(ours) == neighbour_sets(widened.sparse)


@pytest.mark.parametrize(("name", "kind"), CASES)
def test_statistics_equal_esda(name, kind):
    weights, y = our_weights(name, kind)
    gi = esda.G_Local(y, esda_weights(weights), transform="B", star=True, permutations=0)
    for transform, code in ((ls.ROW_STANDARDISED, "r"), (ls.BINARY, "b")):
        ours = ls.local_hotspots(y, weights, permutations=0, fdr=False, transform=transform)
        np.testing.assert_allclose(ours.gi_z, gi.Zs, **TOL)
        np.testing.assert_allclose(ours.gi_p, 2 * gi.p_norm, **TOL)
        lisa = esda.Moran_Local(y, esda_weights(weights), transformation=code, permutations=0)
        np.testing.assert_allclose(ours.lisa_i, lisa.Is, **TOL)
        np.testing.assert_array_equal(ours.lisa_q, lisa.q)
        n = len(y)
        score = (lisa.Is * n / (n - 1) - lisa.EIc) / np.sqrt(lisa.VIc)
        np.testing.assert_allclose(ours.lisa_p_norm, ls.two_sided_p(score), rtol=1e-9)
        moran = esda.Moran(y, esda_weights(weights), transformation=code, permutations=0)
        assert ours.moran_i == pytest.approx(moran.I, rel=1e-12)
        assert ours.moran_ei == pytest.approx(moran.EI, rel=1e-12)
        assert ours.moran_z == pytest.approx(moran.z_norm, rel=1e-10)
        assert ours.moran_p == pytest.approx(moran.p_norm, rel=1e-8)
        np.testing.assert_allclose(ours.gi_p_fdr, ls.benjamini_hochberg(2 * gi.p_norm), **TOL)


def esda_tie_rule(greater: np.ndarray, lower: np.ndarray, permutations: int, sign: np.ndarray) -> np.ndarray:
    """esda's folding: a tie counts only as 'at least as large' as the observed statistic."""
    larger = np.where(sign < 0, lower, greater)  # Local Moran's I falls as the neighbour sum rises when z < 0
    return (np.minimum(larger, permutations - larger) + 1.0) / (permutations + 1.0)


@pytest.mark.parametrize("name", list(DATASETS))
def test_permutation_p_agrees_with_esda_as_two_esda_seeds_do(name):
    weights, y = our_weights(name, "queen" if DATASETS[name][2] else "knn")
    w = esda_weights(weights)
    esda_p = [
        {
            "gi": esda.G_Local(y, w, transform="B", star=True, permutations=999, seed=seed).p_sim,
            "lisa": esda.Moran_Local(y, w, permutations=999, seed=seed).p_sim,
        }
        for seed in (1, 2)
    ]
    ours = ls.local_hotspots(y, weights, permutations=999, seed=3)
    greater, lower = ls.conditional_permutation_counts(y, weights, 999, seed=3)
    np.testing.assert_array_equal(ours.gi_p_sim, ls.folded_pseudo_p(greater, lower, 999))
    z = y - y.mean()
    for key, sign in (("gi", np.ones_like(z)), ("lisa", z)):
        mine = esda_tie_rule(greater, lower, 999, sign)
        first, second = esda_p[0][key], esda_p[1][key]
        between_esda = np.mean(np.abs(first - second))
        assert np.mean(np.abs(mine - first)) <= 1.5 * between_esda + 0.002
        assert np.mean(np.abs(mine - second)) <= 1.5 * between_esda + 0.002
        # Unit by unit within the sampling error of two independent 999-permutation estimates, where
        # drawing the observed neighbours again is rare (else esda's rounding decides the tie).
        sd = np.sqrt(first * (1 - first) * 2 / 999) + 0.002
        rare = np.array([math.comb(len(y) - 1, int(c)) > 1000 for c in np.diff(weights.indptr)])
        assert np.all((np.abs(mine - first) <= 5 * sd)[rare])
    np.random.seed(4)  # esda's Moran draws from numpy's global generator
    moran = esda.Moran(y, w, permutations=999)
    assert ours.moran_permutations == 999
    sd = np.sqrt(moran.p_sim * (1 - moran.p_sim) * 2 / 999) + 0.002
    assert abs(ours.moran_p_sim - moran.p_sim) <= 5 * sd


def test_tie_rule_gives_the_exact_p_where_esda_loses_the_tie():
    # mexico, queen: unit 1 has one neighbour, the largest of the 31 other values. Drawing it
    # again ties with the observed statistic: exact conditional p = 1/31.
    weights, y = our_weights("mexico", "queen")
    assert np.diff(weights.indptr)[1] == 1
    neighbour = weights.indices[weights.indptr[1]]
    others = np.delete(y, 1)
    assert y[neighbour] == others.max()
    ours = ls.local_hotspots(y, weights, permutations=20000, seed=5)
    assert ours.gi_p_sim[1] == pytest.approx(1 / 31, abs=0.005)
    assert ours.lisa_p_sim[1] == pytest.approx(1 / 31, abs=0.005)
    # esda counts a tie in one tail only, and its Local Moran loses this one to rounding.
    lisa = esda.Moran_Local(y, esda_weights(weights), permutations=20000, seed=5)
    assert lisa.p_sim[1] < 0.005


def test_knn_ties_on_a_regular_grid_follow_the_documented_rule():
    side = 30
    points = np.array([(x, y) for y in range(side) for x in range(side)], dtype=float) * 100 + 500000.0
    points += np.random.default_rng(1).normal(0, 1e-9, size=points.shape)  # centroid rounding noise
    first = sw.knn_neighbours(points, 6)
    interior = [(y * side + x) for y in range(1, side - 1) for x in range(1, side - 1)]
    assert first.tied[interior].all()  # 4 at 100 m, 4 at 141 m: two of four diagonals must go
    centre = 15 * side + 15
    expected = {centre - 1, centre + 1, centre - side, centre + side, centre - side - 1, centre - side + 1}
    assert neighbour_sets(first.matrix)[centre] == expected  # the tied ones first in layer order
    assert np.all(np.diff(first.matrix.indptr) == 6)
    shuffled = np.random.default_rng(2).permutation(len(points))
    again = sw.knn_neighbours(points[shuffled], 6)
    assert again.tied.sum() == first.tied.sum()
    everyone = sw.knn_neighbours(points, 6, include_ties=True)
    assert np.diff(everyone.matrix.indptr)[interior].tolist() == [8] * len(interior)
    assert neighbour_sets(everyone.matrix)[centre] == expected | {centre + side - 1, centre + side + 1}
    distance = np.sort(np.hypot(*(points[:, None] - points[None]).transpose(2, 0, 1)), axis=1)[:, 1:]
    brute = np.abs(distance[:, 6] - distance[:, 5]) <= 1e-9 * distance[:, 5]
    np.testing.assert_array_equal(first.tied, brute)
    assert brute.all()  # every cell: exact comparison saw only the few without rounding noise
    assert not sw.knn_neighbours(points, 4).tied[interior].any()  # 4 at 100 m, then 141 m


def test_distance_band_keeps_the_pair_exactly_at_the_threshold():
    # Distances that query_pairs(r) rounds away: 0.1 + 0.2 style coordinates.
    points = np.array([[0.1, 0.0], [0.3, 0.0], [0.3 + 0.2, 0.0], [10.0, 10.0], [10.0 + 0.1 + 0.2, 10.0]])
    threshold = sw.nearest_neighbour_distances(points).max()
    sets = neighbour_sets(sw.distance_band_weights(points, threshold))
    assert all(sets)
    assert sets[3] == {4}
    assert sets[1] == {0, 2}
