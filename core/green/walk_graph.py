"""Walking graph from line vertex arrays: snapped nodes, segment edges, nearest-edge projection.

Pure numpy/scipy. Lines are ``(n, 2)`` arrays of vertices in a metric CRS. Vertices closer
than the snapping tolerance (1 cm) are the same node; every pair of consecutive vertices of
a line is one edge. Lines that cross without a shared vertex do not connect (bridges,
underpasses).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

#: Snapping tolerance in metres: vertices on the same 1 cm grid point are one node.
SNAP = 0.01
_HALF = np.int64(1) << np.int64(31)
_MAX_COORD = 2.0e7  # metres; keeps packed keys inside int64


def pack_keys(xy: np.ndarray, snap: float = SNAP) -> np.ndarray:
    """One sortable int64 key per point of ``xy`` after snapping to a ``snap`` grid."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    if xy.size and (not np.all(np.isfinite(xy)) or np.abs(xy).max() >= _MAX_COORD):
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
    along a barrier (left/right of the direction ``u -> v``).
    """

    xy: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length: np.ndarray
    side: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.side is None:
            self.side = np.zeros(len(self.u), dtype=np.int8)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.xy)

    @property
    def n_edges(self) -> int:
        """Number of edges."""
        return len(self.u)


def line_segments(lines: Sequence[np.ndarray], snap: float = SNAP) -> tuple[np.ndarray, np.ndarray]:
    """Packed node keys of the two ends of every non-degenerate segment of ``lines``."""
    parts = [np.asarray(line, dtype=float).reshape(-1, 2) for line in lines]
    parts = [p for p in parts if len(p) >= 2]
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    xy = np.concatenate(parts)
    line_id = np.repeat(np.arange(len(parts)), [len(p) for p in parts])
    keys = pack_keys(xy, snap)
    same_line = line_id[:-1] == line_id[1:]
    ka, kb = keys[:-1][same_line], keys[1:][same_line]
    keep = ka != kb
    return ka[keep], kb[keep]


def unique_undirected(ka: np.ndarray, kb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Undirected pairs without duplicates (as ``min, max``)."""
    lo, hi = np.minimum(ka, kb), np.maximum(ka, kb)
    if not len(lo):
        return lo, hi
    pairs = np.unique(np.column_stack([lo, hi]), axis=0)
    return pairs[:, 0], pairs[:, 1]


def build_graph(lines: Sequence[np.ndarray], snap: float = SNAP) -> tuple[WalkGraph, np.ndarray]:
    """Graph of ``lines`` and the sorted node keys (node ``i`` has key ``keys[i]``)."""
    ka, kb = unique_undirected(*line_segments(lines, snap))
    keys = np.unique(np.concatenate([ka, kb]))
    u = np.searchsorted(keys, ka)
    v = np.searchsorted(keys, kb)
    xy = unpack_keys(keys, snap)
    length = np.hypot(*(xy[v] - xy[u]).T) if len(u) else np.zeros(0)
    return WalkGraph(xy, u, v, length), keys


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


def segments_cross(a0: np.ndarray, a1: np.ndarray, b0: np.ndarray, b1: np.ndarray, end_tol: float = 1e-9) -> np.ndarray:
    """Whether segment a crosses or touches segment b, ignoring a touch at ``a1`` (pairwise)."""
    proper, ta, tb = _crossing_fractions(a0, a1, b0, b1)
    with np.errstate(invalid="ignore"):
        ok = proper & (ta >= 0) & (ta < 1 - end_tol) & (tb >= 0) & (tb <= 1)
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

    def candidates(self, points: np.ndarray, k: int) -> np.ndarray:
        """``(n, k)`` ids of segments near each point (repeats possible; -1 where none)."""
        points = np.asarray(points, dtype=float).reshape(-1, 2)
        if self.tree is None or not len(points):
            return np.full((len(points), k), -1, dtype=np.int64)
        k_eff = min(k, self.tree.n)
        _, idx = self.tree.query(points, k=k_eff)
        idx = np.asarray(idx).reshape(len(points), k_eff)
        seg = self.sample_seg[idx]
        if k_eff < k:
            seg = np.hstack([seg, np.full((len(points), k - k_eff), -1, dtype=np.int64)])
        return seg

    def pairs_near_segments(self, q0: np.ndarray, q1: np.ndarray, margin: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Candidate (query, segment) pairs: every indexed segment within ``margin`` of a query segment."""
        q0 = np.asarray(q0, dtype=float).reshape(-1, 2)
        q1 = np.asarray(q1, dtype=float).reshape(-1, 2)
        if self.tree is None or not len(q0):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        mid = (q0 + q1) / 2
        radius = np.hypot(*(q1 - q0).T) / 2 + self.spacing / 2 + margin + 1e-6
        hits = self.tree.query_ball_point(mid, radius)
        counts = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
        if not counts.sum():
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        qi = np.repeat(np.arange(len(q0)), counts)
        si = self.sample_seg[np.concatenate([np.asarray(h, dtype=np.int64) for h in hits if h])]
        pairs = np.unique(np.column_stack([qi, si]), axis=0)
        return pairs[:, 0], pairs[:, 1]

    def crossed(self, q0: np.ndarray, q1: np.ndarray) -> np.ndarray:
        """Whether each query segment crosses an indexed segment (a touch at ``q1`` does not count)."""
        q0 = np.asarray(q0, dtype=float).reshape(-1, 2)
        q1 = np.asarray(q1, dtype=float).reshape(-1, 2)
        out = np.zeros(len(q0), dtype=bool)
        qi, si = self.pairs_near_segments(q0, q1)
        if len(qi):
            hit = segments_cross(q0[qi], q1[qi], self.p0[si], self.p1[si])
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
    crosses a barrier, or the copy of a barrier edge on the other side).
    """
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    n = len(points)
    seg_out = np.full(n, -1, dtype=np.int64)
    t_out = np.zeros(n)
    d_out = np.full(n, np.inf)
    if not n or not len(index):
        return seg_out, t_out, d_out
    cand = index.candidates(points, k)
    safe = np.maximum(cand, 0)
    t, proj, dist = project_on_segments(points[:, None, :], index.p0[safe], index.p1[safe])
    dist = np.where((cand >= 0) & (dist <= max_dist), dist, np.inf)
    order = np.argsort(dist, axis=1, kind="stable")
    rows = np.arange(n)[:, None]
    cand, t, dist, proj = cand[rows, order], t[rows, order], dist[rows, order], proj[rows, order]
    open_ = np.ones(n, dtype=bool)
    for col in range(cand.shape[1]):
        ids = np.flatnonzero(open_ & np.isfinite(dist[:, col]))
        if not len(ids):
            break
        ok = np.ones(len(ids), dtype=bool)
        if reject is not None:
            ok = ~reject(ids, cand[ids, col], proj[ids, col])
        took = ids[ok]
        seg_out[took] = cand[took, col]
        t_out[took] = t[took, col]
        d_out[took] = dist[took, col]
        open_[took] = False
    return seg_out, t_out, d_out
