"""Spatial weights (core.hotspots.spatial_weights) against libpysal/esda references and hand-made geometries."""

from __future__ import annotations

import csv
from itertools import combinations

import numpy as np
import pytest
from osgeo import ogr
from social_resilience.core.hotspots import spatial_weights as sw

from .conftest import libpysal_example, shared_data


def read_rings(path, value_field: str | None = None):
    """RingSet (and values) of the first layer of ``path`` read with OGR."""
    dataset = ogr.Open(str(path))
    collector = sw.RingCollector()
    values = []
    for i, feature in enumerate(dataset.GetLayer(0)):
        collector.add_wkb(i, bytes(feature.GetGeometryRef().ExportToIsoWkb()))
        if value_field:
            values.append(feature.GetField(value_field))
    return collector.ringset(), np.array(values, dtype=float)


def rings_from_wkt(*wkts: str) -> sw.RingSet:
    collector = sw.RingCollector()
    for i, wkt in enumerate(wkts):
        collector.add_wkb(i, bytes(ogr.CreateGeometryFromWkt(wkt).ExportToIsoWkb()))
    return collector.ringset(len(wkts))


def neighbour_sets(matrix) -> list[set[int]]:
    matrix = matrix.tocsr()
    return [set(matrix.indices[matrix.indptr[i] : matrix.indptr[i + 1]].tolist()) for i in range(matrix.shape[0])]


def square(x0: float, y0: float, size: float = 1.0) -> str:
    x1, y1 = x0 + size, y0 + size
    return f"POLYGON (({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))"


@pytest.fixture(scope="module")
def columbus_rings():
    rings, _ = read_rings(shared_data("hotspots", "columbus.gpkg"))
    return rings


def test_columbus_queen_equals_reference_links(columbus_rings):
    reference = {}
    with open(shared_data("hotspots", "columbus_queen_neighbors.csv"), encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            reference[int(row["idx"])] = {int(v) for v in row["neighbors_idx"].split()}
    weights = sw.contiguity_weights(columbus_rings)
    assert weights.nnz == 236
    assert neighbour_sets(weights) == [reference[i] for i in range(49)]
    assert (weights != weights.T).nnz == 0


@pytest.mark.parametrize("rook", [False, True])
def test_columbus_equals_libpysal(columbus_rings, rook):
    libpysal = pytest.importorskip("libpysal")
    cls = libpysal.weights.Rook if rook else libpysal.weights.Queen
    reference = cls.from_shapefile(str(libpysal_example("columbus", "columbus.shp")))
    weights = sw.contiguity_weights(columbus_rings, rook=rook)
    assert abs(weights - reference.sparse).sum() == 0
    assert weights.nnz == (200 if rook else 236)


@pytest.mark.parametrize("kind", ["queen", "rook"])
def test_grid_island_cardinalities(kind):
    rings, _ = read_rings(shared_data("hotspots", "grid_island.gpkg"))
    with open(shared_data("hotspots", "expected_grid_island.csv"), encoding="utf-8") as handle:
        expected = [int(row[f"n_neighbors_{kind}"]) for row in csv.DictReader(handle)]
    weights = sw.contiguity_weights(rings, rook=kind == "rook")
    assert np.asarray(weights.sum(axis=1)).ravel().astype(int).tolist() == expected
    assert expected[100] == 0


def test_t_junction_splits_the_long_edge_for_rook():
    # A 2x2 square with two 1x1 squares on its right: (3, 1) lies on the long edge only.
    rings = rings_from_wkt(square(0, 0, 2), square(2, 0), square(2, 1))
    rook = neighbour_sets(sw.contiguity_weights(rings, rook=True))
    assert rook == [{1, 2}, {0, 2}, {0, 1}]
    exact = neighbour_sets(sw.contiguity_weights(rings, rook=True, tolerance=0))
    assert exact == [set(), {2}, {1}]


def test_vertex_on_edge_makes_queen_neighbours():
    # The small square touches the big one only with its corner (4, 1) on the big one's edge.
    rings = rings_from_wkt(square(0, 0, 4), "POLYGON ((4 1, 5 0.5, 6 1, 5 1.5, 4 1))")
    assert neighbour_sets(sw.contiguity_weights(rings)) == [{1}, {0}]
    assert neighbour_sets(sw.contiguity_weights(rings, tolerance=0)) == [set(), set()]


def test_tiny_sliver_is_snapped_but_real_gap_is_not():
    rings = rings_from_wkt(square(0, 0, 100), square(100.0000001, 0, 100), square(200.5, 0, 100))
    queen = neighbour_sets(sw.contiguity_weights(rings))
    assert queen == [{1}, {0}, set()]
    assert neighbour_sets(sw.contiguity_weights(rings, tolerance=0)) == [set(), set(), set()]
    assert neighbour_sets(sw.contiguity_weights(rings, tolerance=1.0)) == [{1}, {0, 2}, {1}]


def test_multipart_invalid_duplicate_and_empty_features():
    multipart = "MULTIPOLYGON (((0 0, 1 0, 1 1, 0 1, 0 0)), ((5 0, 6 0, 6 1, 5 1, 5 0)))"
    bowtie = "POLYGON ((6 0, 7 1, 7 0, 6 1, 6 0))"  # self-intersecting, shares (6 0) and (6 1)
    rings = rings_from_wkt(multipart, square(1, 0), bowtie, square(1, 0), "POLYGON EMPTY")
    queen = neighbour_sets(sw.contiguity_weights(rings))
    assert queen == [{1, 2, 3}, {0, 3}, {0}, {0, 1}, set()]
    assert rings.n == 5


def test_polygon_with_hole_touches_the_island_inside():
    donut = "POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0), (4 4, 6 4, 6 6, 4 6, 4 4))"
    rings = rings_from_wkt(donut, square(4, 4, 2))
    assert neighbour_sets(sw.contiguity_weights(rings, rook=True)) == [{1}, {0}]


def test_wkb_dimensions_byte_order_and_collections():
    wkts = [
        "POLYGON Z ((0 0 5, 1 0 5, 1 1 5, 0 0 5))",
        "POLYGON ZM ((0 0 5 1, 1 0 5 1, 1 1 5 1, 0 0 5 1))",
        "GEOMETRYCOLLECTION (POLYGON ((0 0, 1 0, 1 1, 0 0)), POINT (3 3))",
    ]
    for wkt in wkts:
        for order in (ogr.wkbNDR, ogr.wkbXDR):
            collector = sw.RingCollector()
            collector.add_wkb(0, bytes(ogr.CreateGeometryFromWkt(wkt).ExportToIsoWkb(order)))
            rings = collector.ringset()
            np.testing.assert_array_equal(rings.coords, [[0, 0], [1, 0], [1, 1], [0, 0]])
            assert rings.offsets.tolist() == [0, 4]


def test_knn_with_duplicates_excludes_self_and_keeps_k():
    points = np.array([[0, 0], [0, 0], [0, 0], [10, 0], [11, 0], [30, 0]], dtype=float)
    weights = sw.knn_weights(points, 2)
    sets = neighbour_sets(weights)
    assert all(len(s) == 2 and i not in s for i, s in enumerate(sets))
    assert sets[0] == {1, 2}
    assert sets[1] == {0, 2}
    assert sets[2] == {0, 1}
    assert sets[3] == {4, 0} or sets[3] == {4, 1} or sets[3] == {4, 2}
    assert sets[5] == {3, 4}


def test_knn_matches_brute_force_and_caps_k():
    rng = np.random.default_rng(3)
    points = rng.uniform(0, 1000, size=(60, 2))
    distance = np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(distance, np.inf)
    expected = [set(np.argsort(row)[:5].tolist()) for row in distance]
    assert neighbour_sets(sw.knn_weights(points, 5)) == expected
    assert np.asarray(sw.knn_weights(points[:4], 10).sum(axis=1)).ravel().tolist() == [3, 3, 3, 3]


def test_distance_band_matches_brute_force_with_isolated_and_missing_points():
    rng = np.random.default_rng(4)
    points = np.vstack([rng.uniform(0, 500, size=(40, 2)), [[5000, 5000]], [[np.nan, np.nan]]])
    sets = neighbour_sets(sw.distance_band_weights(points, 120.0))
    for i, j in combinations(range(41), 2):
        close = np.hypot(*(points[i] - points[j])) <= 120.0
        assert (j in sets[i]) == close
        assert (i in sets[j]) == close
    assert sets[40] == set()
    assert sets[41] == set()
    nearest = sw.nearest_neighbour_distances(points)
    assert np.isnan(nearest[41]) or np.isinf(nearest[41])
    assert nearest[40] > 4000


def test_queen_on_a_large_grid_is_fast_and_right():
    side = 60
    collector = sw.RingCollector()
    for row in range(side):
        for col in range(side):
            box = np.array([[col, row], [col + 1, row], [col + 1, row + 1], [col, row + 1], [col, row]], float) * 50
            collector.add_ring(row * side + col, box)
    rings = collector.ringset()
    counts = np.asarray(sw.contiguity_weights(rings).sum(axis=1)).ravel().reshape(side, side)
    assert counts[0, 0] == 3
    assert counts[0, 5] == 5
    assert counts[10, 10] == 8
    rook = np.asarray(sw.contiguity_weights(rings, rook=True).sum(axis=1)).ravel().reshape(side, side)
    assert rook[0, 0] == 2
    assert rook[0, 5] == 3
    assert rook[10, 10] == 4
