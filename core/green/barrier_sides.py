"""Barrier sides: split network nodes on barrier lines into one copy per side.

A barrier line through a network node divides the directions around that node into
angular sectors (two for a barrier passing through, three at a T-junction of barriers).
The node gets one copy per sector; an ordinary edge attaches to the copy of the sector its
direction lies in; an edge running along the barrier is duplicated (one copy per side,
like a sidewalk left and right). At a crossing and at the end of a barrier there is one
sector only, so the sides join there.

A node is on a barrier when it lies within ``barrier_snap`` of a barrier line, whether or
not the barrier has a vertex there. How a way that crosses a barrier line elsewhere is
treated depends on the barrier's mode: topology (OpenStreetMap: a crossing without a shared
vertex is a bridge or underpass, so it passes) or geometric (barriers from another source:
the way is cut at the intersection by a new node on the barrier, unless it is a bridge or
tunnel). The automatic mode takes topology for a barrier that shares a vertex with the
network, else geometric.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .walk_graph import SNAP, SegmentIndex, WalkGraph, lookup_keys, pack_keys, project_on_segments, split_edges
from .walk_graph import segment_intersection_params as _intersections

TWO_PI = 2.0 * np.pi
#: ``BARRIER_MODE`` values.
AUTOMATIC, TOPOLOGY, GEOMETRIC = 0, 1, 2
#: Default distance (m) within which a network node counts as lying on a barrier line.
BARRIER_SNAP = 1.0
#: Barrier directions at a node closer than this (radians) are one direction.
ANGLE_TOL = 0.1
#: Barrier segments up to this much (m) farther from a node than the nearest one also split it.
NEAREST_TOL = 0.1
#: Distances this close to ``BARRIER_SNAP`` count as within it (float noise at 10^6 m coordinates: a
#: barrier offset by exactly ``BARRIER_SNAP`` from the road must not be on it at one node and off at the next).
FLOAT_TOL = 1e-6


def _reach(barrier_snap: float) -> float:
    """Distance (m) within which a point lies on a barrier line."""
    return max(barrier_snap, SNAP) + FLOAT_TOL


@dataclass
class SideSplit:
    """Result of :func:`split_barrier_sides`.

    ``graph`` has one node per copy; ``copy_node`` maps copies to the node of the network
    after cutting (the first nodes are those of the input graph, in order); ``probe_angle``
    is the direction of the bisector of a copy's sector (NaN for unsplit nodes): a point a
    little way along it lies on that copy's side. The counts are for the log.
    """

    graph: WalkGraph
    copy_node: np.ndarray
    probe_angle: np.ndarray
    n_split: int
    n_crossings: int
    barrier_p0: np.ndarray
    barrier_p1: np.ndarray
    n_topology: int = 0
    n_geometric: int = 0
    n_cuts: int = 0
    n_untouched: int = 0
    barrier_snap: float = 0.0


@dataclass
class BarrierSegments:
    """Barrier lines as segments, with the barrier feature and mode of each segment."""

    p0: np.ndarray
    p1: np.ndarray
    feature: np.ndarray
    geometric: np.ndarray
    #: Whether a segment's start (end) is an end of the barrier: no other segment meets it there.
    start_free: np.ndarray = field(default=None)  # type: ignore[assignment]
    end_free: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.start_free is None:
            self.start_free, self.end_free = free_ends(self.p0, self.p1)

    @classmethod
    def from_lines(
        cls, lines: Sequence[np.ndarray], line_feature: np.ndarray, geometric_feature: np.ndarray
    ) -> BarrierSegments:
        """Segments of ``lines``; ``line_feature`` is the feature of each line."""
        parts = [np.asarray(line, dtype=float).reshape(-1, 2) for line in lines]
        p0 = [p[:-1] for p in parts if len(p) >= 2]
        p1 = [p[1:] for p in parts if len(p) >= 2]
        owner = [np.full(len(p) - 1, f) for p, f in zip(parts, line_feature) if len(p) >= 2]
        if not p0:
            return cls(np.zeros((0, 2)), np.zeros((0, 2)), np.zeros(0, np.int64), np.zeros(0, bool))
        p0c, p1c, fc = np.concatenate(p0), np.concatenate(p1), np.concatenate(owner).astype(np.int64)
        keep = np.hypot(*(p1c - p0c).T) > 0
        return cls(p0c[keep], p1c[keep], fc[keep], np.asarray(geometric_feature, bool)[fc[keep]])


def free_ends(p0: np.ndarray, p1: np.ndarray, snap: float = SNAP) -> tuple[np.ndarray, np.ndarray]:
    """Per segment: whether its start and its end are ends of the barrier.

    An end is no end of the barrier where another segment starts or ends there, or passes within
    ``snap`` of it (a line that ends on another one without a shared vertex, as a closed gap).
    """
    if not len(p0):
        return np.zeros(0, bool), np.zeros(0, bool)
    ends = np.vstack([p0, p1])
    keys = pack_keys(ends, snap)
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    free = counts[inverse.reshape(-1)] == 1
    own = np.tile(np.arange(len(p0)), 2)
    candidates = np.flatnonzero(free)
    qi, si = SegmentIndex(p0, p1).pairs_near_segments(ends[candidates], ends[candidates], margin=snap)
    other = si != own[candidates[qi]]
    qi, si = qi[other], si[other]
    touching = project_on_segments(ends[candidates[qi]], p0[si], p1[si])[2] <= snap
    free[candidates[qi[touching]]] = False
    return free[: len(p0)], free[len(p0) :]


def close_gaps(
    lines: Sequence[np.ndarray], line_feature: np.ndarray, gap: float
) -> tuple[list[np.ndarray], np.ndarray]:
    """Short lines that close the gaps of at most ``gap`` m between barrier lines.

    Each end of a line that meets no other line is joined to the nearest point of another line
    within ``gap`` (a barrier drawn in pieces, or lines offset beside the roads per way, leave
    small gaps that no pedestrian could use). Returns the new lines and the feature of each
    (that of the line whose end it closes).
    """
    parts = [np.asarray(line, dtype=float).reshape(-1, 2) for line in lines]
    idx = [i for i, p in enumerate(parts) if len(p) >= 2]
    if len(idx) < 2 or gap <= SNAP:
        return [], np.zeros(0, np.int64)
    owner = np.concatenate([np.full(len(parts[i]) - 1, i) for i in idx])
    p0 = np.concatenate([parts[i][:-1] for i in idx])
    p1 = np.concatenate([parts[i][1:] for i in idx])
    ends = np.array([parts[i][k] for i in idx for k in (0, -1)])
    end_line = np.repeat(idx, 2)
    start_free, end_free = free_ends(p0, p1)
    free_keys = set(pack_keys(np.vstack([p0[start_free], p1[end_free]])).tolist())
    is_free = np.array([k in free_keys for k in pack_keys(ends).tolist()], dtype=bool)
    ends, end_line = ends[is_free], end_line[is_free]
    qi, si = SegmentIndex(p0, p1).pairs_near_segments(ends, ends, margin=gap)
    other = owner[si] != end_line[qi]
    qi, si = qi[other], si[other]
    _, foot, dist = project_on_segments(ends[qi], p0[si], p1[si])
    order = np.lexsort([dist, qi])
    first = order[np.r_[True, qi[order][1:] != qi[order][:-1]]] if len(order) else order
    first = first[(dist[first] > SNAP) & (dist[first] <= gap + FLOAT_TOL)]
    new_lines = [np.array([ends[qi[k]], foot[k]]) for k in first]
    return new_lines, np.asarray(line_feature, np.int64)[end_line[qi[first]]]


def _angles(dxy: np.ndarray) -> np.ndarray:
    a = np.arctan2(dxy[:, 1], dxy[:, 0])
    a = np.where(a < 0, a + TWO_PI, a)
    return np.where(a >= TWO_PI, a - TWO_PI, a)


def geometric_features(
    node_keys: np.ndarray,
    lines: Sequence[np.ndarray],
    line_feature: np.ndarray,
    mode: int,
    snap: float = SNAP,
) -> np.ndarray:
    """Per barrier feature: True where it is treated geometrically under ``mode``.

    Automatic: geometric unless the feature shares at least one vertex with the network.
    """
    n_features = int(line_feature.max()) + 1 if len(line_feature) else 0
    if mode != AUTOMATIC:
        return np.full(n_features, mode == GEOMETRIC)
    shares = np.zeros(n_features, dtype=bool)
    for line, feature in zip(lines, line_feature):
        xy = np.asarray(line, dtype=float).reshape(-1, 2)
        if len(xy) and not shares[feature]:
            shares[feature] = bool(np.any(lookup_keys(node_keys, pack_keys(xy, snap)) >= 0))
    return ~shares


def cut_at_barriers(graph: WalkGraph, barriers: BarrierSegments, barrier_snap: float) -> tuple[WalkGraph, np.ndarray]:
    """Insert a node where an at-grade edge crosses a geometric barrier segment.

    Intersections within ``barrier_snap`` of an edge's end are left out: that end lies on the
    barrier and is split there. Returns the new graph and the barrier feature of each cut.
    """
    geo = np.flatnonzero(barriers.geometric)
    edges = np.flatnonzero(~graph.grade)
    if not len(geo) or not len(edges):
        return graph, np.zeros(0, np.int64)
    a0, a1 = graph.xy[graph.u[edges]], graph.xy[graph.v[edges]]
    index = SegmentIndex(barriers.p0[geo], barriers.p1[geo])
    qi, si = index.pairs_near_segments(a0, a1)
    hit, t = _intersections(a0[qi], a1[qi], index.p0[si], index.p1[si])
    length = graph.length[edges[qi]]
    tol = _reach(barrier_snap)
    t = np.where(hit, t, 0.0)
    keep = hit & (t * length > tol) & ((1.0 - t) * length > tol)
    cut, _ = split_edges(graph, edges[qi[keep]], t[keep])
    return cut, barriers.feature[geo[si[keep]]]


def barrier_directions(
    graph: WalkGraph, barriers: BarrierSegments, barrier_snap: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Barrier directions at the nodes on a barrier: (node, angle, barrier feature) per direction.

    A node within ``barrier_snap`` of a segment's end takes the segment's direction away from
    that end; elsewhere on the segment both directions. A node whose every edge is a bridge or
    tunnel is on a barrier only at a vertex it shares with it (a road bridge that is itself a
    barrier). Only the barrier segments nearest to the node count (all of them where barriers
    meet at the node; one where two barrier lines pass within ``barrier_snap``, as the two
    carriageways of a road). Nearly equal directions at a node count once.
    """
    at_grade = np.zeros(graph.n_nodes, dtype=bool)
    at_grade[graph.u[~graph.grade]] = True
    at_grade[graph.v[~graph.grade]] = True
    empty = np.zeros(0, np.int64)
    if not len(barriers.p0) or not graph.n_nodes:
        return empty, np.zeros(0), empty
    index = SegmentIndex(barriers.p0, barriers.p1)
    xy = graph.xy
    qi, si = index.pairs_near_segments(xy, xy, margin=barrier_snap)
    t, _, dist = project_on_segments(xy[qi], barriers.p0[si], barriers.p1[si])
    tol = np.where(at_grade[qi], _reach(barrier_snap), SNAP)
    length = np.hypot(*(barriers.p1[si] - barriers.p0[si]).T)
    to_start, to_end = t * length, (1.0 - t) * length
    at_vertex = np.minimum(to_start, to_end) <= SNAP
    near = (dist <= tol) & (at_grade[qi] | at_vertex)
    nearest = np.full(graph.n_nodes, np.inf)
    np.minimum.at(nearest, qi[near], dist[near])
    near &= dist <= nearest[qi] + NEAREST_TOL  # only the nearest barrier line counts
    qi, si, to_start, to_end, tol = qi[near], si[near], to_start[near], to_end[near], tol[near]
    start_tol = np.where(barriers.start_free[si], tol, SNAP)  # within BARRIER_SNAP of a barrier's end: at it
    end_tol = np.where(barriers.end_free[si], tol, SNAP)  # elsewhere the line goes on past the vertex
    at_start = (to_start <= start_tol) & ((to_start <= to_end) | (to_end > end_tol))
    at_end = (to_end <= end_tol) & ~at_start
    forward = _angles(barriers.p1[si] - barriers.p0[si])
    backward = np.where(forward >= np.pi, forward - np.pi, forward + np.pi)
    use_fwd, use_bwd = ~at_end, ~at_start
    node = np.concatenate([qi[use_fwd], qi[use_bwd]])
    angle = np.concatenate([forward[use_fwd], backward[use_bwd]])
    feature = np.concatenate([barriers.feature[si[use_fwd]], barriers.feature[si[use_bwd]]])
    return _distinct_directions(node, angle, feature)


def _distinct_directions(
    node: np.ndarray, angle: np.ndarray, feature: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sort by (node, angle) and drop directions within ``ANGLE_TOL`` of the previous one at a node."""
    if not len(node):
        return node, angle, feature
    order = np.lexsort([angle, node])
    node, angle, feature = node[order], angle[order], feature[order]
    same_node = np.r_[False, node[1:] == node[:-1]]
    keep = ~(same_node & (np.r_[np.inf, np.diff(angle)] < ANGLE_TOL))
    node, angle, feature = node[keep], angle[keep], feature[keep]
    last = np.r_[node[1:] != node[:-1], True]
    first_angle = angle[np.searchsorted(node, node)]
    wraps = last & (node == np.r_[-1, node[:-1]]) & (first_angle + TWO_PI - angle < ANGLE_TOL)
    return node[~wraps], angle[~wraps], feature[~wraps]


def joined_nodes(
    xy: np.ndarray, barrier_nodes: np.ndarray, crossings: np.ndarray | None, crossing_snap: float
) -> np.ndarray:
    """Barrier nodes where a crossing joins the sides: the nearest one within ``crossing_snap`` of each crossing."""
    from scipy.spatial import cKDTree

    crossings = np.zeros((0, 2)) if crossings is None else np.asarray(crossings, dtype=float).reshape(-1, 2)
    if not len(crossings) or not len(barrier_nodes):
        return np.zeros(0, np.int64)
    dist, idx = cKDTree(xy[barrier_nodes]).query(crossings, distance_upper_bound=crossing_snap)
    return np.unique(barrier_nodes[idx[np.isfinite(dist)]])


def _nearest_barrier(
    barriers: BarrierSegments, points: np.ndarray, radius: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest barrier segment within ``radius`` of each point: (segment or -1, distance, foot point)."""
    seg = np.full(len(points), -1, dtype=np.int64)
    dist = np.full(len(points), np.inf)
    foot = np.array(points, dtype=float, copy=True)
    if not len(points) or not len(barriers.p0):
        return seg, dist, foot
    qi, si = SegmentIndex(barriers.p0, barriers.p1).pairs_near_segments(points, points, margin=radius)
    _, proj, d = project_on_segments(points[qi], barriers.p0[si], barriers.p1[si])
    order = np.lexsort([d, qi])
    first = order[np.r_[True, qi[order][1:] != qi[order][:-1]]] if len(order) else order
    hit = first[d[first] <= radius]
    seg[qi[hit]], dist[qi[hit]], foot[qi[hit]] = si[hit], d[hit], proj[hit]
    return seg, dist, foot


def _line_of_edges(
    barriers: BarrierSegments, a: np.ndarray, b: np.ndarray, tol: float
) -> tuple[np.ndarray, np.ndarray]:
    """Barrier segment nearest to the middle of each edge a-b, and whether both ends lie on that line.

    An end lies on it when it is within ``tol`` (+ ``NEAREST_TOL``) of that segment or its nearest
    segment meets that one (the next segment of the line); not when the edge leads from one
    barrier line to another.
    """
    seg, _, _ = _nearest_barrier(barriers, (a + b) / 2, tol)
    ok = seg >= 0
    keys0, keys1 = pack_keys(barriers.p0), pack_keys(barriers.p1)
    for end in (a, b):
        near = project_on_segments(end[ok], barriers.p0[seg[ok]], barriers.p1[seg[ok]])[2] <= tol + NEAREST_TOL
        own, _, _ = _nearest_barrier(barriers, end[ok], tol)
        s, o = seg[ok], np.maximum(own, 0)
        meets = (own >= 0) & ((o == s) | (keys0[o] == keys0[s]) | (keys0[o] == keys1[s])
                              | (keys1[o] == keys0[s]) | (keys1[o] == keys1[s]))  # fmt: skip
        ok[ok] = near | meets
    return seg, ok


def along_barrier(
    graph: WalkGraph, on_barrier: np.ndarray, barriers: BarrierSegments, barrier_snap: float, max_angle: float = 0.5
) -> np.ndarray:
    """Edges along a barrier: between two barrier nodes, the middle within ``barrier_snap`` of a barrier line.

    The line must run nearly parallel (within ``max_angle`` radians): a short way across a
    road between two nodes near its centreline crosses it, it does not run along it.
    """
    along = np.zeros(graph.n_edges, dtype=bool)
    cand = np.flatnonzero(on_barrier[graph.u] & on_barrier[graph.v])
    if not len(cand) or not len(barriers.p0):
        return along
    a, b = graph.xy[graph.u[cand]], graph.xy[graph.v[cand]]
    seg, ok = _line_of_edges(barriers, a, b, _reach(barrier_snap))
    d_edge, d_bar = (b - a)[ok], (barriers.p1 - barriers.p0)[seg[ok]]
    cross = np.abs(d_edge[:, 0] * d_bar[:, 1] - d_edge[:, 1] * d_bar[:, 0])
    norms = np.hypot(*d_edge.T) * np.hypot(*d_bar.T)
    along[cand[ok][cross <= np.sin(max_angle) * norms]] = True
    return along


def across_band(
    graph: WalkGraph, on_barrier: np.ndarray, barriers: BarrierSegments, barrier_snap: float, along: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Edges across a barrier's band: both ends and the middle within ``barrier_snap`` of one barrier line.

    Both ends lie on the line (within ``BARRIER_SNAP``), so such an edge, though it points across
    the barrier, runs on the line: it is walkable on each side, as an edge along it. A node just
    in front of a barrier then does not cut a way off that crosses at a crossing beyond it.
    Returns the mask and the direction of the barrier line at each such edge (pointing from
    ``u`` towards ``v`` where they differ along the line).
    """
    cand = np.flatnonzero(on_barrier[graph.u] & on_barrier[graph.v] & ~along)
    direction = np.zeros(graph.n_edges)
    mask = np.zeros(graph.n_edges, dtype=bool)
    if not len(cand) or not len(barriers.p0):
        return mask, direction
    a, b = graph.xy[graph.u[cand]], graph.xy[graph.v[cand]]
    seg, ok = _line_of_edges(barriers, a, b, _reach(barrier_snap))
    d_bar = (barriers.p1 - barriers.p0)[seg[ok]]
    flip = np.einsum("ij,ij->i", d_bar, (b - a)[ok]) < 0
    d_bar[flip] *= -1.0
    mask[cand[ok]] = True
    direction[cand[ok]] = _angles(d_bar) if np.any(ok) else 0.0
    return mask, direction


def attachment_angles(
    graph: WalkGraph, on_barrier: np.ndarray, barriers: BarrierSegments, barrier_snap: float, along: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Direction by which each edge is sorted into a sector at its ``u`` and at its ``v`` end.

    Normally the edge's own direction. A node beside the barrier line (within ``barrier_snap``
    but not on it) keeps an edge that does not cross the line on its own side: such an edge
    takes the direction from the line to the node. Edges ``along`` the barrier keep their own.
    """
    d_uv = graph.xy[graph.v] - graph.xy[graph.u]
    a_u = _angles(d_uv) if graph.n_edges else np.zeros(0)
    a_v = _angles(-d_uv) if graph.n_edges else np.zeros(0)
    nodes = np.flatnonzero(on_barrier)
    _, dist, foot = _nearest_barrier(barriers, graph.xy[nodes], _reach(barrier_snap))
    beside = np.full(graph.n_nodes, np.nan)
    off = dist > SNAP
    beside[nodes[off]] = _angles(graph.xy[nodes[off]] - foot[off]) if np.any(off) else 0.0
    ends_beside = np.isfinite(beside[graph.u]) | np.isfinite(beside[graph.v])
    edges = np.flatnonzero(ends_beside & ~along & ~_crosses_barrier(graph, ends_beside & ~along, barriers))
    for end, angle in ((graph.u, a_u), (graph.v, a_v)):
        own = edges[np.isfinite(beside[end[edges]])]
        angle[own] = beside[end[own]]
    return a_u, a_v


def _crosses_barrier(graph: WalkGraph, mask: np.ndarray, barriers: BarrierSegments) -> np.ndarray:
    """Whether each edge in ``mask`` crosses a barrier segment away from its ends (False elsewhere)."""
    out = np.zeros(graph.n_edges, dtype=bool)
    edges = np.flatnonzero(mask)
    if not len(edges) or not len(barriers.p0):
        return out
    a0, a1 = graph.xy[graph.u[edges]], graph.xy[graph.v[edges]]
    qi, si = SegmentIndex(barriers.p0, barriers.p1).pairs_near_segments(a0, a1)
    hit, t = _intersections(a0[qi], a1[qi], barriers.p0[si], barriers.p1[si])
    length = graph.length[edges[qi]]
    t = np.where(hit, t, 0.0)
    inner = hit & (t * length > SNAP) & ((1.0 - t) * length > SNAP)
    out[edges[qi[inner]]] = True
    return out


@dataclass
class _Sectors:
    """Sorted barrier directions of the split nodes and the first copy of every node."""

    node: np.ndarray
    angle: np.ndarray
    start: np.ndarray
    degree: np.ndarray
    split: np.ndarray
    first_copy: np.ndarray

    @classmethod
    def build(cls, n: int, node: np.ndarray, angle: np.ndarray, joined: np.ndarray) -> _Sectors:
        degree = np.bincount(node, minlength=n)
        split = degree >= 2
        split[joined] = False
        n_copies = np.where(split, degree, 1)
        keep = split[node]
        s_node, s_angle = node[keep], angle[keep]  # sorted by (node, angle) already
        first_copy = np.cumsum(n_copies) - n_copies
        return cls(s_node, s_angle, np.searchsorted(s_node, np.arange(n)), degree, split, first_copy)

    def position(self, node: np.ndarray, angle: np.ndarray, nearest: bool = False) -> np.ndarray:
        """Index of the sector of split ``node`` that ``angle`` lies in (or of the nearest direction)."""
        deg = self.degree[node]
        pos = np.searchsorted(self.node * 8.0 + self.angle, node * 8.0 + angle, side="right") - 1 - self.start[node]
        pos = np.where(pos < 0, deg - 1, pos)
        if nearest:
            nxt = (pos + 1) % deg
            gap_here = np.abs(np.angle(np.exp(1j * (angle - self.angle[self.start[node] + pos]))))
            gap_next = np.abs(np.angle(np.exp(1j * (angle - self.angle[self.start[node] + nxt]))))
            pos = np.where(gap_next < gap_here, nxt, pos)
        return pos

    def copy(self, node: np.ndarray, angle: np.ndarray, shift: int = 0, nearest: bool = False) -> np.ndarray:
        """Copy of ``node`` for an edge leaving at ``angle``; ``shift`` -1 takes the sector before."""
        out = self.first_copy[node].copy()
        m = self.split[node]
        if np.any(m):
            nd = node[m]
            pos = (self.position(nd, angle[m], nearest) + shift) % self.degree[nd]
            out[m] = self.first_copy[nd] + pos
        return out

    def probe_angles(self, n_copies: int) -> np.ndarray:
        """Bisector of each copy's sector (NaN for unsplit nodes)."""
        probe = np.full(n_copies, np.nan)
        if len(self.node):
            nxt = np.arange(len(self.node)) + 1
            last = np.r_[self.node[1:] != self.node[:-1], True]
            nxt[last] = self.start[self.node[last]]
            end = self.angle[nxt]
            end = np.where(end <= self.angle, end + TWO_PI, end)
            local = np.arange(len(self.node)) - self.start[self.node]
            probe[self.first_copy[self.node] + local] = (self.angle + end) / 2
        return probe


def _sided_graph(
    graph: WalkGraph, sectors: _Sectors, along: np.ndarray, angles: tuple[np.ndarray, np.ndarray], across: np.ndarray
) -> tuple[WalkGraph, np.ndarray]:
    """Edges re-attached to node copies; edges along a barrier once per side. Returns graph, copy_node.

    Copies of edges ``across`` a barrier's band (see :func:`across_band`) get side +2/-2: their own
    direction says nothing about the barrier's sides.
    """
    n_copies = np.where(sectors.split, sectors.degree, 1)
    copy_node = np.repeat(np.arange(graph.n_nodes), n_copies)
    u, v = graph.u, graph.v
    a_uv, a_vu = angles
    plain = ~along
    sign = np.where(across[along], 2, 1).astype(np.int8)
    bu, bv, au, av = u[along], v[along], a_uv[along], a_vu[along]
    left_u, right_u = sectors.copy(bu, au, 0, True), sectors.copy(bu, au, -1, True)
    left_v, right_v = sectors.copy(bv, av, -1, True), sectors.copy(bv, av, 0, True)
    sided = WalkGraph(
        graph.xy[copy_node],
        np.concatenate([sectors.copy(u[plain], a_uv[plain]), left_u, right_u]),
        np.concatenate([sectors.copy(v[plain], a_vu[plain]), left_v, right_v]),
        np.concatenate([graph.length[plain], graph.length[along], graph.length[along]]),
        np.concatenate([np.zeros(int(plain.sum()), np.int8), sign, -sign]),
        np.concatenate([graph.grade[plain], graph.grade[along], graph.grade[along]]),
    )
    return sided, copy_node


def split_barrier_sides(
    graph: WalkGraph,
    node_keys: np.ndarray,
    barrier_lines: Sequence[np.ndarray],
    crossings: np.ndarray | None = None,
    crossing_snap: float = 5.0,
    snap: float = SNAP,
    mode: int = AUTOMATIC,
    barrier_snap: float = BARRIER_SNAP,
    line_feature: np.ndarray | None = None,
) -> SideSplit:
    """Split ``graph`` (from :func:`build_graph`, node keys ``node_keys``) at ``barrier_lines``.

    ``mode`` is ``AUTOMATIC``, ``TOPOLOGY`` or ``GEOMETRIC`` (see the module); ``line_feature``
    gives the barrier feature of each line (default: each line is a feature). ``crossings``
    are points; each joins the sides at the nearest network node on a barrier within
    ``crossing_snap`` metres.
    """
    feature_of = np.arange(len(barrier_lines)) if line_feature is None else np.asarray(line_feature, np.int64)
    geometric = geometric_features(node_keys, barrier_lines, feature_of, mode, snap)
    gap_lines, gap_feature = close_gaps(barrier_lines, feature_of, barrier_snap)
    barriers = BarrierSegments.from_lines(
        [*barrier_lines, *gap_lines], np.concatenate([feature_of, gap_feature]).astype(np.int64), geometric
    )
    cut, cut_feature = cut_at_barriers(graph, barriers, barrier_snap)
    node, angle, dir_feature = barrier_directions(cut, barriers, barrier_snap)
    on_barrier = np.zeros(cut.n_nodes, dtype=bool)
    on_barrier[node] = True
    along = along_barrier(cut, on_barrier, barriers, barrier_snap)
    across, direction = across_band(cut, on_barrier, barriers, barrier_snap, along)
    joined = joined_nodes(cut.xy, np.flatnonzero(on_barrier), crossings, crossing_snap)
    sectors = _Sectors.build(cut.n_nodes, node, angle, joined)
    a_uv, a_vu = attachment_angles(cut, on_barrier, barriers, barrier_snap, along | across)
    a_uv[across], a_vu[across] = direction[across], np.mod(direction[across] + np.pi, TWO_PI)
    sided, copy_node = _sided_graph(cut, sectors, along | across, (a_uv, a_vu), across)
    touched = np.zeros(len(geometric), dtype=bool)
    touched[np.concatenate([cut_feature, dir_feature]).astype(np.int64)] = True
    return SideSplit(
        graph=sided,
        copy_node=copy_node,
        probe_angle=sectors.probe_angles(len(copy_node)),
        n_split=int(np.count_nonzero(sectors.split)),
        n_crossings=len(joined),
        barrier_p0=barriers.p0,
        barrier_p1=barriers.p1,
        n_topology=int(np.count_nonzero(~geometric)),
        n_geometric=int(np.count_nonzero(geometric)),
        n_cuts=_dividing_cuts(cut, graph.n_nodes, sectors.split, barriers),
        n_untouched=int(np.count_nonzero(~touched)),
        barrier_snap=barrier_snap,
    )


def _dividing_cuts(cut: WalkGraph, first_new: int, split: np.ndarray, barriers: BarrierSegments) -> int:
    """Cut nodes that divide a way: split into sides (no crossing there) by a line that really crosses it.

    A way that lies on a barrier line drawn with other vertices (a road and its own barrier,
    overlapping ways) crosses that line again and again at a tiny angle: such cuts, and those
    opened by a crossing, divide nothing.
    """
    nodes = np.arange(first_new, cut.n_nodes)[split[first_new:]]
    if not len(nodes):
        return 0
    edge = np.full(cut.n_nodes, -1, dtype=np.int64)
    edge[cut.u] = np.arange(cut.n_edges)
    edge[cut.v] = np.arange(cut.n_edges)
    seg, _, _ = _nearest_barrier(barriers, cut.xy[nodes], SNAP)
    ok = (seg >= 0) & (edge[nodes] >= 0)
    way = cut.xy[cut.v[edge[nodes[ok]]]] - cut.xy[cut.u[edge[nodes[ok]]]]
    line = (barriers.p1 - barriers.p0)[seg[ok]]
    cross = np.abs(way[:, 0] * line[:, 1] - way[:, 1] * line[:, 0])
    return int(np.count_nonzero(cross > np.sin(ANGLE_TOL) * np.hypot(*way.T) * np.hypot(*line.T)))


def no_barriers(graph: WalkGraph) -> SideSplit:
    """Return the trivial split of a graph without barriers."""
    n = graph.n_nodes
    return SideSplit(graph, np.arange(n), np.full(n, np.nan), 0, 0, np.zeros((0, 2)), np.zeros((0, 2)))


def probe_points(split: SideSplit, offset: float = 0.5) -> np.ndarray:
    """Return a point per copy on its own side (the node itself for unsplit nodes)."""
    xy = split.graph.xy.copy()
    m = np.isfinite(split.probe_angle)
    xy[m, 0] += offset * np.cos(split.probe_angle[m])
    xy[m, 1] += offset * np.sin(split.probe_angle[m])
    return xy


def side_of(points: np.ndarray, p0: np.ndarray, p1: np.ndarray) -> np.ndarray:
    """+1 where a point is left of the directed segment p0->p1, -1 right, 0 on the line."""
    d = p1 - p0
    w = points - p0
    return np.sign(d[..., 0] * w[..., 1] - d[..., 1] * w[..., 0]).astype(np.int8)
