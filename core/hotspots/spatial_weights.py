"""Binary spatial weights as sparse matrices: queen, rook, k nearest, distance band.

Pure numpy + scipy. Contiguity is derived from polygon vertices (``RingSet``): vertices closer
than a tolerance are one node, a vertex lying on another polygon's edge splits that edge
(so T-junctions and tiny slivers still connect), queen neighbours share a node and rook
neighbours share an edge between two nodes. Validity of the polygons does not matter.
Every weights function returns a binary ``scipy.sparse.csr_matrix`` (n × n, empty diagonal).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from ..wkb import vertex_arrays

#: Default snapping tolerance relative to the diagonal of the data's extent.
RELATIVE_TOLERANCE = 1e-6


@dataclass
class RingSet:
    """Vertex rings of n features.

    ``coords`` concatenated; ring ``r`` is ``coords[offsets[r]:offsets[r + 1]]`` and belongs
    to feature ``ring_feature[r]``.
    """

    n: int
    coords: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    offsets: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    ring_feature: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))


class RingCollector:
    """Collects rings feature by feature (arrays or WKB) into a ``RingSet``."""

    def __init__(self) -> None:
        self._rings: list[np.ndarray] = []
        self._features: list[int] = []
        self.n = 0

    def add_ring(self, feature: int, coords: np.ndarray) -> None:
        """Add one ring (or line) of ``feature``: an (m, 2) array of x, y."""
        coords = np.asarray(coords, dtype=float)[:, :2]
        if len(coords):
            self._rings.append(coords)
            self._features.append(feature)
        self.n = max(self.n, feature + 1)

    def add_wkb(self, feature: int, wkb: bytes) -> None:
        """Add the rings of a (multi)polygon, (multi)line or collection given as ISO/OGC WKB."""
        self.n = max(self.n, feature + 1)
        for ring in vertex_arrays(wkb):
            self.add_ring(feature, ring)

    def ringset(self, n: int | None = None) -> RingSet:
        """All rings collected so far; ``n`` features (default: highest feature index + 1)."""
        n = max(self.n, n or 0)
        if not self._rings:
            return RingSet(n)
        lengths = np.array([len(r) for r in self._rings], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        return RingSet(n, np.concatenate(self._rings), offsets, np.array(self._features, dtype=np.int64))


def default_tolerance(coords: np.ndarray) -> float:
    """Snapping tolerance: ``RELATIVE_TOLERANCE`` times the diagonal of the extent of ``coords``."""
    if len(coords) == 0:
        return 0.0
    span = np.nanmax(coords, axis=0) - np.nanmin(coords, axis=0)
    return float(np.hypot(*span) * RELATIVE_TOLERANCE)


def _binary(rows: np.ndarray, cols: np.ndarray, n: int) -> sparse.csr_matrix:
    """Binary n × n matrix with ones at (rows, cols), duplicates and the diagonal removed."""
    keep = rows != cols
    matrix = sparse.csr_matrix((np.ones(int(keep.sum())), (rows[keep], cols[keep])), shape=(n, n))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def _cooccurrence(owner: np.ndarray, key: np.ndarray, n: int) -> sparse.csr_matrix:
    """Features sharing a key: binary incidence (feature × key) times its transpose."""
    keys, inverse = np.unique(key, return_inverse=True)
    incidence = sparse.csr_matrix((np.ones(len(owner)), (owner, inverse)), shape=(n, len(keys)))
    product = (incidence @ incidence.T).tocoo()
    return _binary(product.row, product.col, n)


def _nodes(coords: np.ndarray, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """Node id of every vertex (vertices within ``tolerance`` merged) and node coordinates."""
    if tolerance > 0:
        grid = np.floor(coords / tolerance).astype(np.int64)
        _, first, inverse = np.unique(grid, axis=0, return_index=True, return_inverse=True)
    else:
        _, first, inverse = np.unique(coords, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    points = coords[first]
    if tolerance > 0 and len(points) > 1:
        pairs = cKDTree(points).query_pairs(tolerance, output_type="ndarray")
        if len(pairs):
            graph = sparse.csr_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(points),) * 2)
            _, label = connected_components(graph, directed=False)
            _, first_label, relabel = np.unique(label, return_index=True, return_inverse=True)
            inverse = relabel.ravel()[inverse]
            points = points[first_label]
    return inverse, points


def _vertices_on_edges(
    a: np.ndarray, b: np.ndarray, start: np.ndarray, end: np.ndarray, points: np.ndarray, tolerance: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(segment, node, t) for every node lying within ``tolerance`` inside segment a→b (0 < t < 1)."""
    empty = np.empty(0, dtype=np.int64)
    if tolerance <= 0 or len(a) == 0:
        return empty, empty, np.empty(0)
    half = 0.5 * np.hypot(*(b - a).T)
    mid = 0.5 * (a + b)
    node_tree = cKDTree(points)
    found_seg, found_node = [], []
    # Segments grouped by length (powers of two) so that each radius query stays tight.
    level = np.floor(np.log2(np.maximum(half, tolerance))).astype(np.int64)
    for value in np.unique(level):
        members = np.flatnonzero(level == value)
        radius = float(half[members].max()) + tolerance
        pairs = cKDTree(mid[members]).sparse_distance_matrix(node_tree, radius, output_type="ndarray")
        found_seg.append(members[pairs["i"]])
        found_node.append(pairs["j"].astype(np.int64))
    seg = np.concatenate(found_seg)
    node = np.concatenate(found_node)
    keep = (node != start[seg]) & (node != end[seg])
    seg, node = seg[keep], node[keep]
    direction = b[seg] - a[seg]
    length2 = np.einsum("ij,ij->i", direction, direction)
    t = np.einsum("ij,ij->i", points[node] - a[seg], direction) / np.where(length2 > 0, length2, 1.0)
    foot = a[seg] + t[:, None] * direction
    distance = np.hypot(*(points[node] - foot).T)
    keep = (t > 0) & (t < 1) & (distance <= tolerance) & (length2 > 0)
    return seg[keep], node[keep], t[keep]


def contiguity_weights(rings: RingSet, rook: bool = False, tolerance: float | None = None) -> sparse.csr_matrix:
    """Queen (shared node) or rook (shared edge) contiguity of the features in ``rings``.

    ``tolerance`` (coordinate units): vertices closer than it are one node and a vertex
    within it of another edge splits that edge. None: ``default_tolerance``; 0: exact
    vertex matches only. Multipart features, holes and invalid polygons are all fine.
    """
    n = rings.n
    if len(rings.coords) == 0:
        return sparse.csr_matrix((n, n))
    if tolerance is None:
        tolerance = default_tolerance(rings.coords)
    node, points = _nodes(rings.coords, tolerance)
    ring_lengths = np.diff(rings.offsets)
    vertex_feature = np.repeat(rings.ring_feature, ring_lengths)
    # Segments join consecutive vertices of a ring; drop those collapsed by the snapping.
    is_last = np.zeros(len(node), dtype=bool)
    is_last[rings.offsets[1:] - 1] = True
    first = np.flatnonzero(~is_last)
    seg_start, seg_end = node[first], node[first + 1]
    valid = seg_start != seg_end
    first, seg_start, seg_end = first[valid], seg_start[valid], seg_end[valid]
    seg_feature = vertex_feature[first]
    on_seg, on_node, on_t = _vertices_on_edges(
        points[seg_start], points[seg_end], seg_start, seg_end, points, tolerance
    )
    if not rook:
        owner = np.concatenate([vertex_feature, seg_feature[on_seg]])
        key = np.concatenate([node, on_node])
        return _cooccurrence(owner, key, n)
    # Rook: split each segment at the nodes lying on it, then features sharing a piece.
    count = len(seg_start)
    seg_id = np.concatenate([np.arange(count), np.arange(count), on_seg])
    position = np.concatenate([np.zeros(count), np.ones(count), on_t])
    piece_node = np.concatenate([seg_start, seg_end, on_node])
    order = np.lexsort((position, seg_id))
    seg_id, piece_node = seg_id[order], piece_node[order]
    same = (seg_id[1:] == seg_id[:-1]) & (piece_node[1:] != piece_node[:-1])
    low = np.minimum(piece_node[:-1], piece_node[1:])[same]
    high = np.maximum(piece_node[:-1], piece_node[1:])[same]
    owner = seg_feature[seg_id[:-1][same]]
    return _cooccurrence(owner, low * (len(points) + 1) + high, n)


#: Distances that differ by at most this share are equal (kNN ties, the distance band's edge):
#: centroids carry rounding noise far below it, real differences lie far above it.
TIE_TOLERANCE = 1e-9


def _finite(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points as floats and the indices of the finite ones."""
    points = np.asarray(points, dtype=float)
    return points, np.flatnonzero(np.isfinite(points).all(axis=1))


def _distances(points: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Euclidean distances between ``points[rows]`` and ``points[cols]`` (exactly symmetric)."""
    difference = points[cols] - points[rows]
    return np.hypot(difference[..., 0], difference[..., 1])


@dataclass
class KnnWeights:
    """k-nearest-neighbour weights and which units had ties at the k-th distance."""

    matrix: sparse.csr_matrix
    tied: np.ndarray  # bool per unit: more than k others within the k-th distance


def knn_neighbours(points: np.ndarray, k: int, include_ties: bool = False) -> KnnWeights:
    """Each point's ``k`` nearest other points, with a deterministic tie rule (not symmetric).

    Distances equal within ``TIE_TOLERANCE`` are ties. When more than ``k`` points lie within
    the k-th distance, the nearer ones are kept and the remaining places go to the tied points
    that come first in the input order; with ``include_ties`` all tied points are kept (as
    GeoDa), so such a unit gets more than ``k`` neighbours. Duplicate points are at distance 0
    and count as neighbours; ``k`` is capped at n - 1; rows of NaN points stay empty.
    """
    points, ok = _finite(points)
    n, m = len(points), len(ok)
    k = min(int(k), m - 1)
    if k < 1:
        return KnnWeights(sparse.csr_matrix((n, n)), np.zeros(n, dtype=bool))
    tree = cKDTree(points[ok])
    rows_out, cols_out, tied = [], [], np.zeros(n, dtype=bool)
    todo, width = np.arange(m), min(2 * k + 1, m)
    while len(todo):
        _, found = tree.query(points[ok[todo]], k=width)
        found = found.reshape(len(todo), width)
        distance = _distances(points, ok[todo][:, None], ok[found])
        distance[found == todo[:, None]] = np.inf  # the point itself, not its duplicates
        order = np.lexsort((found, distance), axis=1)
        distance = np.take_along_axis(distance, order, axis=1)
        found = np.take_along_axis(found, order, axis=1)
        kth = distance[:, k - 1 : k]
        at_kth = np.abs(distance - kth) <= TIE_TOLERANCE * kth
        within = (distance <= kth) | at_kth
        # All candidates within the k-th distance: the tie may go on beyond them.
        open_rows = within[:, -1] & (width < m)
        done = ~open_rows
        key = np.where(at_kth, kth, distance)  # tied distances equal: input order decides
        order = np.lexsort((found, key), axis=1)
        found = np.take_along_axis(found, order, axis=1)[done]
        within = np.take_along_axis(within, order, axis=1)[done]
        keep = within if include_ties else np.arange(width) < k
        keep = keep & np.isfinite(np.take_along_axis(distance, order, axis=1)[done])
        rows_out.append(np.repeat(ok[todo[done]], keep.sum(axis=1)))
        cols_out.append(ok[found[keep]])
        tied[ok[todo[done]]] = within.sum(axis=1) > k
        todo, width = todo[open_rows], min(2 * width, m)
    return KnnWeights(_binary(np.concatenate(rows_out), np.concatenate(cols_out), n), tied)


def knn_weights(points: np.ndarray, k: int, include_ties: bool = False) -> sparse.csr_matrix:
    """Return the matrix of ``knn_neighbours``."""
    return knn_neighbours(points, k, include_ties).matrix


def distance_band_weights(points: np.ndarray, threshold: float) -> sparse.csr_matrix:
    """Points within ``threshold`` of each other (inclusive; duplicates are neighbours).

    A pair counts when its distance exceeds ``threshold`` by at most ``TIE_TOLERANCE`` of it,
    so the pair that defines an automatic threshold is never lost to rounding.
    """
    points, ok = _finite(points)
    n = len(points)
    if len(ok) < 2 or threshold < 0:
        return sparse.csr_matrix((n, n))
    limit = float(threshold) * (1.0 + TIE_TOLERANCE)
    pairs = cKDTree(points[ok]).query_pairs(limit * (1.0 + 1e-6), output_type="ndarray")
    pairs = pairs[_distances(points, ok[pairs[:, 0]], ok[pairs[:, 1]]) <= limit]
    rows = ok[np.concatenate([pairs[:, 0], pairs[:, 1]])]
    cols = ok[np.concatenate([pairs[:, 1], pairs[:, 0]])]
    return _binary(rows, cols, n)


def nearest_neighbour_distances(points: np.ndarray) -> np.ndarray:
    """Distance from each finite point to its nearest other point (inf when alone).

    Measured as ``distance_band_weights`` measures, so the largest of them as the band
    gives every point a neighbour.
    """
    points, ok = _finite(points)
    result = np.full(len(points), np.inf)
    if len(ok) > 1:
        _, found = cKDTree(points[ok]).query(points[ok], k=2)
        own = found[:, 0] == np.arange(len(ok))
        other = np.where(own, found[:, 1], found[:, 0])  # duplicates: the other copy
        result[ok] = _distances(points, ok, ok[other])
    return result
