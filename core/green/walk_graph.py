"""Walking graph from line vertex arrays: snapped nodes, segment edges, nearest-edge projection.

Pure numpy/scipy. Lines are ``(n, 2)`` arrays of vertices in a metric CRS. Vertices closer
than the snapping tolerance (1 cm) are the same node; every pair of consecutive vertices of
a line is one edge, wherever on the line the vertex lies. Lines that cross without a shared
vertex do not connect (bridges, underpasses).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np

#: Snapping tolerance in metres: vertices on the same 1 cm grid point are one node.
SNAP = 0.01
_HALF = np.int64(1) << np.int64(31)
#: Largest coordinate (m) of a metric CRS; keeps packed keys inside int64.
MAX_COORD = 2.0e7


def pack_keys(xy: np.ndarray, snap: float = SNAP) -> np.ndarray:
    """One sortable int64 key per point of ``xy`` after snapping to a ``snap`` grid."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    if xy.size and (not np.all(np.isfinite(xy)) or np.abs(xy).max() >= MAX_COORD):
        raise ValueError("Coordinates must be finite metres below 20,000 km; is the layer in a metric CRS?")
    grid = np.round(xy / snap).astype(np.int64)
    return grid[:, 0] * (np.int64(1) << np.int64(32)) + (grid[:, 1] + _HALF)


def unpack_keys(keys: np.ndarray, snap: float = SNAP) -> np.ndarray:
    """Grid coordinates (metres) of packed keys."""
    keys = np.asarray(keys, dtype=np.int64)
    gx = keys >> np.int64(32)
    gy = keys - gx * (np.int64(1) << np.int64(32)) - _HALF
    return np.column_stack([gx, gy]).astype(float) * snap


@dataclass
class WalkGraph:
    """Undirected graph with straight edges.

    ``side`` is 0 for ordinary edges and +1/-1 for the left/right copy of an edge that runs
    along a barrier (left/right of the direction ``u -> v``). ``grade`` is True for edges of
    grade-separated ways (bridges, tunnels), which pass over or under a barrier line.
    """

    xy: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length: np.ndarray
    side: np.ndarray = field(default=None)  # type: ignore[assignment]
    grade: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.side is None:
            self.side = np.zeros(len(self.u), dtype=np.int8)
        if self.grade is None:
            self.grade = np.zeros(len(self.u), dtype=bool)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.xy)

    @property
    def n_edges(self) -> int:
        """Number of edges."""
        return len(self.u)


def line_segments(
    lines: Sequence[np.ndarray], snap: float = SNAP, with_line: bool = False
) -> tuple[np.ndarray, ...]:
    """Packed node keys of the two ends of every non-degenerate segment of ``lines``.

    With ``with_line`` also the index of the line each segment belongs to.
    """
    parts = [np.asarray(line, dtype=float).reshape(-1, 2) for line in lines]
    sizes = np.array([len(p) for p in parts], dtype=np.int64)
    if not np.any(sizes >= 2):
        empty = np.zeros(0, np.int64)
        return (empty, empty, empty) if with_line else (empty, empty)
    xy = np.concatenate([p for p in parts if len(p)])
    line_id = np.repeat(np.arange(len(parts)), sizes)
    keys = pack_keys(xy, snap)
    same_line = line_id[:-1] == line_id[1:]
    ka, kb, owner = keys[:-1][same_line], keys[1:][same_line], line_id[:-1][same_line]
    keep = ka != kb
    return (ka[keep], kb[keep], owner[keep]) if with_line else (ka[keep], kb[keep])


def unique_undirected(ka: np.ndarray, kb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Undirected pairs without duplicates (as ``min, max``)."""
    lo, hi = np.minimum(ka, kb), np.maximum(ka, kb)
    if not len(lo):
        return lo, hi
    pairs = np.unique(np.column_stack([lo, hi]), axis=0)
    return pairs[:, 0], pairs[:, 1]


def build_graph(
    lines: Sequence[np.ndarray], snap: float = SNAP, grade_separated: Sequence[bool] | np.ndarray | None = None
) -> tuple[WalkGraph, np.ndarray]:
    """Graph of ``lines`` and the sorted node keys (node ``i`` has key ``keys[i]``).

    ``grade_separated`` (one flag per line) marks bridges and tunnels; an edge shared by an
    at-grade line stays at grade.
    """
    ka, kb, owner = line_segments(lines, snap, with_line=True)
    lo, hi = np.minimum(ka, kb), np.maximum(ka, kb)
    keys = np.unique(np.concatenate([lo, hi]))
    pairs, inverse = np.unique(np.column_stack([lo, hi]).reshape(-1, 2), axis=0, return_inverse=True)
    grade = np.zeros(len(pairs), dtype=bool)
    if grade_separated is not None and len(owner):
        grade[:] = True
        np.logical_and.at(grade, inverse.reshape(-1), np.asarray(grade_separated, dtype=bool)[owner])
    u = np.searchsorted(keys, pairs[:, 0])
    v = np.searchsorted(keys, pairs[:, 1])
    xy = unpack_keys(keys, snap)
    length = np.hypot(*(xy[v] - xy[u]).T) if len(u) else np.zeros(0)
    return WalkGraph(xy, u, v, length, grade=grade), keys


def split_edges(graph: WalkGraph, edge: np.ndarray, t: np.ndarray, tol: float = 1e-9) -> tuple[WalkGraph, np.ndarray]:
    """Insert nodes on edges at fractions ``t``; return the new graph and the node of each point.

    Points at an edge end (``t`` within ``tol`` of 0 or 1) use the end node. Split edges
    are replaced by their pieces; every other edge keeps its index.
    """
    edge = np.asarray(edge, dtype=np.int64)
    t = np.asarray(t, dtype=float)
    node = np.where(t <= tol, graph.u[edge], graph.v[edge]) if len(edge) else np.zeros(0, np.int64)
    inner = (t > tol) & (t < 1 - tol)
    if not np.any(inner):
        return graph, node
    e_in, t_in = edge[inner], t[inner]
    uniq, inverse = np.unique(np.column_stack([e_in, t_in]), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    ue, ut = uniq[:, 0].astype(np.int64), uniq[:, 1]
    new_ids = graph.n_nodes + np.arange(len(ue))
    xy_new = graph.xy[graph.u[ue]] + ut[:, None] * (graph.xy[graph.v[ue]] - graph.xy[graph.u[ue]])
    first = np.r_[True, ue[1:] != ue[:-1]]
    last = np.r_[ue[1:] != ue[:-1], True]
    prev_node = np.where(first, graph.u[ue], np.r_[0, new_ids[:-1]])
    prev_t = np.where(first, 0.0, np.r_[0.0, ut[:-1]])
    piece_edge = np.concatenate([ue, ue[last]])
    piece_frac = np.concatenate([ut - prev_t, 1.0 - ut[last]])
    keep = np.ones(graph.n_edges, dtype=bool)
    keep[ue] = False
    split = WalkGraph(
        xy=np.vstack([graph.xy, xy_new]),
        u=np.concatenate([graph.u[keep], prev_node, new_ids[last]]),
        v=np.concatenate([graph.v[keep], new_ids, graph.v[ue[last]]]),
        length=np.concatenate([graph.length[keep], graph.length[piece_edge] * piece_frac]),
        side=np.concatenate([graph.side[keep], graph.side[piece_edge]]),
        grade=np.concatenate([graph.grade[keep], graph.grade[piece_edge]]),
    )
    node[inner] = new_ids[inverse]
    return split, node


def lookup_keys(keys: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Index of each ``query`` key in the sorted ``keys``, -1 where absent."""
    if not len(keys):
        return np.full(len(query), -1, dtype=np.int64)
    pos = np.clip(np.searchsorted(keys, query), 0, len(keys) - 1)
    return np.where(keys[pos] == query, pos, -1)


def project_on_segments(
    points: np.ndarray, p0: np.ndarray, p1: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fraction ``t`` (0..1), projected point and distance of each point on its segment."""
    d = p1 - p0
    len2 = np.einsum("...i,...i->...", d, d)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.einsum("...i,...i->...", points - p0, d) / len2
    t = np.clip(np.nan_to_num(t, nan=0.0), 0.0, 1.0)
    proj = p0 + t[..., None] * d
    dist = np.hypot(*np.moveaxis(points - proj, -1, 0))
    return t, proj, dist


def _crossing_fractions(
    a0: np.ndarray, a1: np.ndarray, b0: np.ndarray, b1: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairwise line-line intersection: (non-parallel mask, fraction along a, fraction along b)."""
    r = a1 - a0
    s = b1 - b0
    denom = r[:, 0] * s[:, 1] - r[:, 1] * s[:, 0]
    q = b0 - a0
    with np.errstate(invalid="ignore", divide="ignore"):
        ta = (q[:, 0] * s[:, 1] - q[:, 1] * s[:, 0]) / denom
        tb = (q[:, 0] * r[:, 1] - q[:, 1] * r[:, 0]) / denom
    return denom != 0, ta, tb


def segments_cross(
    a0: np.ndarray, a1: np.ndarray, b0: np.ndarray, b1: np.ndarray, end_tol: float = 1e-9, start: Any = 0.0
) -> np.ndarray:
    """Whether segment a crosses or touches segment b, ignoring a touch at ``a1`` (pairwise).

    ``start`` (fraction along a, scalar or per pair): touches before it do not count either.
    """
    proper, ta, tb = _crossing_fractions(a0, a1, b0, b1)
    with np.errstate(invalid="ignore"):
        ok = proper & (ta >= start) & (ta < 1 - end_tol) & (tb >= 0) & (tb <= 1)
    return np.nan_to_num(ok, nan=False).astype(bool)


def segment_intersection_params(
    a0: np.ndarray, a1: np.ndarray, b0: np.ndarray, b1: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise proper intersections: (mask, fraction along a)."""
    proper, ta, tb = _crossing_fractions(a0, a1, b0, b1)
    with np.errstate(invalid="ignore"):
        ok = proper & (ta >= 0) & (ta <= 1) & (tb >= 0) & (tb <= 1)
    return np.nan_to_num(ok, nan=False).astype(bool), np.nan_to_num(ta)


class SegmentIndex:
    """Nearest-segment and segment-pair search with a KD-tree of points sampled along segments.

    A segment is sampled at least every ``spacing`` metres, so the nearest sample to any point
    of a segment is within ``spacing / 2``: candidate searches are exact up to that bound.
    """

    def __init__(self, p0: np.ndarray, p1: np.ndarray, spacing: float = 5.0) -> None:
        from scipy.spatial import cKDTree

        self.p0 = np.asarray(p0, dtype=float).reshape(-1, 2)
        self.p1 = np.asarray(p1, dtype=float).reshape(-1, 2)
        self.spacing = float(spacing)
        length = np.hypot(*(self.p1 - self.p0).T) if len(self.p0) else np.zeros(0)
        counts = np.maximum(np.ceil(length / self.spacing).astype(np.int64), 1) + 1
        self.sample_seg = np.repeat(np.arange(len(self.p0)), counts)
        starts = np.cumsum(counts) - counts
        frac = (np.arange(counts.sum()) - np.repeat(starts, counts)) / np.repeat(counts - 1, counts)
        d = self.p1 - self.p0
        samples = self.p0[self.sample_seg] + frac[:, None] * d[self.sample_seg]
        self.tree = cKDTree(samples) if len(samples) else None

    def __len__(self) -> int:
        return len(self.p0)

    def candidates(self, points: np.ndarray, k: int, return_distance: bool = False) -> Any:
        """``(n, k)`` ids of segments near each point (repeats possible; -1 where none).

        With ``return_distance`` also the distance to each sample (inf where none): every
        segment within ``d - spacing / 2`` of a point, ``d`` its last sample distance, is among them.
        """
        points = np.asarray(points, dtype=float).reshape(-1, 2)
        seg = np.full((len(points), k), -1, dtype=np.int64)
        dist = np.full((len(points), k), np.inf)
        if self.tree is not None and len(points):
            k_eff = min(k, self.tree.n)
            d, idx = self.tree.query(points, k=k_eff)
            seg[:, :k_eff] = self.sample_seg[np.asarray(idx).reshape(len(points), k_eff)]
            dist[:, :k_eff] = np.asarray(d).reshape(len(points), k_eff)
        return (seg, dist) if return_distance else seg

    @property
    def n_samples(self) -> int:
        """Number of sample points."""
        return 0 if self.tree is None else int(self.tree.n)

    def pairs_near_segments(self, q0: np.ndarray, q1: np.ndarray, margin: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Candidate (query, segment) pairs: every indexed segment within ``margin`` of a query segment."""
        q0 = np.asarray(q0, dtype=float).reshape(-1, 2)
        q1 = np.asarray(q1, dtype=float).reshape(-1, 2)
        if self.tree is None or not len(q0):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        mid = (q0 + q1) / 2
        radius = np.hypot(*(q1 - q0).T) / 2 + self.spacing / 2 + margin + 1e-6
        hits = self.tree.query_ball_point(mid, radius, return_sorted=False)
        counts = np.fromiter(map(len, hits), dtype=np.int64, count=len(hits))
        total = int(counts.sum())
        if not total:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        qi = np.repeat(np.arange(len(q0)), counts)
        si = self.sample_seg[np.fromiter(chain.from_iterable(hits), dtype=np.int64, count=total)]
        code = np.unique(qi * np.int64(len(self.p0)) + si)  # one int64 per pair: much faster than axis=0
        return code // len(self.p0), code % len(self.p0)

    def crossed(self, q0: np.ndarray, q1: np.ndarray, start_tol: float = 0.0) -> np.ndarray:
        """Whether each query segment crosses an indexed segment (a touch at ``q1`` does not count).

        Nor does a touch within ``start_tol`` metres of ``q0`` (a point on the line itself).
        """
        q0 = np.asarray(q0, dtype=float).reshape(-1, 2)
        q1 = np.asarray(q1, dtype=float).reshape(-1, 2)
        out = np.zeros(len(q0), dtype=bool)
        qi, si = self.pairs_near_segments(q0, q1)
        if len(qi):
            with np.errstate(divide="ignore"):
                start = start_tol / np.hypot(*(q1[qi] - q0[qi]).T) if start_tol > 0 else 0.0
            hit = segments_cross(q0[qi], q1[qi], self.p0[si], self.p1[si], start=start)
            out[qi[hit]] = True
        return out


#: ``reject(point_ids, segment_ids, projected_xy) -> bool mask`` of candidate attachments to refuse.
Rejector = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def attach_points(
    points: np.ndarray,
    index: SegmentIndex,
    max_dist: float,
    k: int = 24,
    reject: Rejector | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Attach each point to its nearest acceptable segment within ``max_dist``.

    Returns segment id (-1 when none), fraction ``t`` along it and connector length.
    Candidates are tried nearest first; ``reject`` may refuse some (e.g. a connector that
    crosses a barrier, or the copy of a barrier edge on the other side). A point whose ``k``
    nearest candidates are all refused is tried again with four times as many, until every
    segment within ``max_dist`` has been tried.
    """
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    n = len(points)
    seg_out = np.full(n, -1, dtype=np.int64)
    t_out = np.zeros(n)
    d_out = np.full(n, np.inf)
    todo = np.arange(n) if len(index) else np.zeros(0, np.int64)
    while len(todo):
        seg, t, dist, exhausted = _try_candidates(points[todo], index, max_dist, k, reject, todo)
        took = seg >= 0
        seg_out[todo[took]], t_out[todo[took]], d_out[todo[took]] = seg[took], t[took], dist[took]
        if k >= index.n_samples:
            break
        todo = todo[~took & ~exhausted]
        k *= 4
    return seg_out, t_out, d_out


def _try_candidates(
    points: np.ndarray, index: SegmentIndex, max_dist: float, k: int, reject: Rejector | None, ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One round of :func:`attach_points` over the ``k`` nearest samples of each point.

    Returns segment, fraction, connector length (-1/0/inf where none was accepted) and
    whether every segment within ``max_dist`` was among the candidates.
    """
    n = len(points)
    cand, sample_dist = index.candidates(points, k, return_distance=True)
    exhausted = ~(sample_dist[:, -1] <= max_dist + index.spacing / 2)
    safe = np.maximum(cand, 0)
    t, proj, dist = project_on_segments(points[:, None, :], index.p0[safe], index.p1[safe])
    dist = np.where((cand >= 0) & (dist <= max_dist), dist, np.inf)
    order = np.argsort(dist, axis=1, kind="stable")
    rows = np.arange(n)[:, None]
    cand, t, dist, proj = cand[rows, order], t[rows, order], dist[rows, order], proj[rows, order]
    dist[:, 1:][cand[:, 1:] == cand[:, :-1]] = np.inf  # the same segment from another sample
    choice = np.full(n, -1, dtype=np.int64)
    # the nearest candidate first (it is taken almost always), then all others of the rest at once
    for cols in (slice(0, 1), slice(1, None)):
        rows, col = np.nonzero((choice < 0)[:, None] & np.isfinite(dist[:, cols]))
        col = col + cols.start
        if not len(rows):
            continue
        ok = np.ones(len(rows), dtype=bool)
        if reject is not None:
            ok = ~reject(ids[rows], cand[rows, col], proj[rows, col])
        rows, col = rows[ok], col[ok]
        if not len(rows):
            continue
        first = np.r_[True, rows[1:] != rows[:-1]]  # nonzero is row-major: nearest accepted first
        choice[rows[first]] = col[first]
    took = np.flatnonzero(choice >= 0)
    seg_out = np.full(n, -1, dtype=np.int64)
    t_out, d_out = np.zeros(n), np.full(n, np.inf)
    seg_out[took], t_out[took], d_out[took] = (a[took, choice[took]] for a in (cand, t, dist))
    return seg_out, t_out, d_out, exhausted
