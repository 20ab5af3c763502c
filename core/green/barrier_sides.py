"""Barrier sides: split network nodes on barrier lines into one copy per side.

A barrier line through a network node divides the directions around that node into
angular sectors (two for a barrier passing through, three at a T-junction of barriers).
The node gets one copy per sector; an ordinary edge attaches to the copy of the sector its
direction lies in; an edge running along the barrier is duplicated (one copy per side,
like a sidewalk left and right). At a crossing and at the end of a barrier there is one
sector only, so the sides join there. Ways that cross a barrier without a shared vertex
are grade-separated and unaffected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .walk_graph import SNAP, WalkGraph, line_segments, lookup_keys, unique_undirected, unpack_keys

TWO_PI = 2.0 * np.pi


@dataclass
class SideSplit:
    """Result of :func:`split_barrier_sides`.

    ``graph`` has one node per copy; ``copy_node`` maps copies to the original node;
    ``probe_angle`` is the direction of the bisector of a copy's sector (NaN for unsplit
    nodes): a point a little way along it lies on that copy's side.
    """

    graph: WalkGraph
    copy_node: np.ndarray
    probe_angle: np.ndarray
    n_split: int
    n_crossings: int
    barrier_p0: np.ndarray
    barrier_p1: np.ndarray


def _angles(dxy: np.ndarray) -> np.ndarray:
    a = np.arctan2(dxy[:, 1], dxy[:, 0])
    a = np.where(a < 0, a + TWO_PI, a)
    return np.where(a >= TWO_PI, a - TWO_PI, a)


def split_barrier_sides(
    graph: WalkGraph,
    node_keys: np.ndarray,
    barrier_lines: Sequence[np.ndarray],
    crossings: np.ndarray | None = None,
    crossing_snap: float = 5.0,
    snap: float = SNAP,
) -> SideSplit:
    """Split ``graph`` (from :func:`build_graph`, node keys ``node_keys``) at ``barrier_lines``.

    ``crossings`` are points; each joins the sides at the nearest network node on a barrier
    within ``crossing_snap`` metres.
    """
    from scipy.spatial import cKDTree

    bka, bkb = unique_undirected(*line_segments(barrier_lines, snap))
    n = graph.n_nodes
    # Barrier directions at network nodes (both directions of every barrier segment).
    from_key = np.concatenate([bka, bkb])
    to_key = np.concatenate([bkb, bka])
    at = lookup_keys(node_keys, from_key)
    on_net = at >= 0
    at, to_key = at[on_net], to_key[on_net]

    dir_angle = _angles(unpack_keys(to_key, snap) - graph.xy[at]) if len(at) else np.zeros(0)
    degree = np.bincount(at, minlength=n)

    joined = np.zeros(n, dtype=bool)
    n_crossings = 0
    crossings = np.zeros((0, 2)) if crossings is None else np.asarray(crossings, dtype=float).reshape(-1, 2)
    barrier_nodes = np.flatnonzero(degree > 0)
    if len(crossings) and len(barrier_nodes):
        dist, idx = cKDTree(graph.xy[barrier_nodes]).query(crossings, distance_upper_bound=crossing_snap)
        hit = np.isfinite(dist)
        joined[barrier_nodes[idx[hit]]] = True
        n_crossings = int(np.count_nonzero(np.unique(barrier_nodes[idx[hit]])))
    split = (degree >= 2) & ~joined
    n_copies = np.where(split, degree, 1)
    first_copy = np.cumsum(n_copies) - n_copies
    copy_node = np.repeat(np.arange(n), n_copies)

    # Sorted barrier directions of split nodes: sector i of a node starts at its i-th angle.
    keep = split[at]
    s_node, s_angle = at[keep], dir_angle[keep]
    order = np.lexsort([s_angle, s_node])
    s_node, s_angle = s_node[order], s_angle[order]
    s_key = s_node * 8.0 + s_angle
    s_start = np.searchsorted(s_node, np.arange(n))

    def sector(node: np.ndarray, angle: np.ndarray, ending: bool = False) -> np.ndarray:
        """Copy id of the sector of ``node`` starting (or ending) at direction ``angle``."""
        out = first_copy[node].copy()
        m = split[node]
        if np.any(m):
            nd, an = node[m], angle[m]
            pos = np.searchsorted(s_key, nd * 8.0 + an, side="right") - 1 - s_start[nd]
            pos = np.where(pos < 0, degree[nd] - 1, pos)
            if ending:
                pos = (pos - 1) % degree[nd]
            out[m] = first_copy[nd] + pos
        return out

    u, v = graph.u, graph.v
    d_uv = graph.xy[v] - graph.xy[u]
    a_uv = _angles(d_uv) if len(u) else np.zeros(0)
    a_vu = _angles(-d_uv) if len(u) else np.zeros(0)
    bu_id, bv_id = lookup_keys(node_keys, bka), lookup_keys(node_keys, bkb)
    both = (bu_id >= 0) & (bv_id >= 0)
    barrier_codes = np.minimum(bu_id, bv_id)[both] * n + np.maximum(bu_id, bv_id)[both]
    along = np.isin(np.minimum(u, v) * n + np.maximum(u, v), barrier_codes)
    plain = ~along
    cu_plain = sector(u[plain], a_uv[plain])
    cv_plain = sector(v[plain], a_vu[plain])
    bu, bv = u[along], v[along]
    left_u, left_v = sector(bu, a_uv[along]), sector(bv, a_vu[along], ending=True)
    right_u, right_v = sector(bu, a_uv[along], ending=True), sector(bv, a_vu[along])
    new_u = np.concatenate([cu_plain, left_u, right_u])
    new_v = np.concatenate([cv_plain, left_v, right_v])
    n_along = int(np.count_nonzero(along))
    length = np.concatenate([graph.length[plain], graph.length[along], graph.length[along]])
    side = np.concatenate([np.zeros(len(cu_plain), np.int8), np.ones(n_along, np.int8), -np.ones(n_along, np.int8)])

    probe = np.full(len(copy_node), np.nan)
    if len(s_node):
        nxt = np.arange(len(s_node)) + 1
        last = np.r_[s_node[1:] != s_node[:-1], True]
        nxt[last] = s_start[s_node[last]]
        end = s_angle[nxt]
        end = np.where(end <= s_angle, end + TWO_PI, end)
        local = np.arange(len(s_node)) - s_start[s_node]
        probe[first_copy[s_node] + local] = (s_angle + end) / 2

    barrier_xy0 = unpack_keys(bka, snap)
    barrier_xy1 = unpack_keys(bkb, snap)
    return SideSplit(
        graph=WalkGraph(graph.xy[copy_node], new_u, new_v, length, side),
        copy_node=copy_node,
        probe_angle=probe,
        n_split=int(np.count_nonzero(split)),
        n_crossings=n_crossings,
        barrier_p0=barrier_xy0,
        barrier_p1=barrier_xy1,
    )


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
