"""Green access: parcel clusters, access points, one multi-source Dijkstra, served statistics.

Pure numpy/scipy. Distances in metres.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .barrier_sides import SideSplit, probe_points, side_of
from .walk_graph import (
    SNAP,
    Rejector,
    SegmentIndex,
    WalkGraph,
    attach_points,
    project_on_segments,
    segment_intersection_params,
    split_edges,
)

#: (distance m, minimum area ha) of the ``STANDARD`` enum: 0 custom (the given values),
#: 1 Kassel, 2 Berlin, 3 Natural England ANGSt, 4 WHO Europe.
STANDARDS: list[tuple[float | None, float | None]] = [
    (None, None),
    (400.0, 2.0),
    (500.0, 0.5),
    (300.0, 2.0),
    (300.0, 1.0),
]

#: Shortest paths are computed up to this multiple of the catchment distance.
SEARCH_FACTOR = 5.0
#: Zero-length edges get this weight (scipy drops explicit zeros).
MIN_WEIGHT = 1e-6


def standard_values(standard: int, distance: float, min_area_ha: float) -> tuple[float, float]:
    """Return the distance and minimum area for enum ``standard`` (custom keeps the given ones)."""
    if not 0 <= standard < len(STANDARDS):
        raise ValueError(f"Unknown standard {standard}; use 0 to {len(STANDARDS) - 1}.")
    dist, area = STANDARDS[standard]
    return (distance if dist is None else dist), (min_area_ha if area is None else area)


def cluster_labels(n: int, pairs_a: np.ndarray, pairs_b: np.ndarray) -> np.ndarray:
    """Connected-component label (0..k-1) of ``n`` items linked by the given pairs."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if n == 0:
        return np.zeros(0, dtype=np.int64)
    ones = np.ones(len(pairs_a))
    matrix = coo_matrix((ones, (np.asarray(pairs_a), np.asarray(pairs_b))), shape=(n, n)).tocsr()
    _, labels = connected_components(matrix, directed=False)
    return labels.astype(np.int64)


def adjacency(graph: WalkGraph):  # -> scipy.sparse.csr_matrix
    """Symmetric CSR matrix of ``graph``, keeping the shortest of parallel edges."""
    from scipy.sparse import csr_matrix

    n = graph.n_nodes
    a = np.minimum(graph.u, graph.v)
    b = np.maximum(graph.u, graph.v)
    w = np.maximum(graph.length, MIN_WEIGHT)
    loop = a == b
    a, b, w = a[~loop], b[~loop], w[~loop]
    if len(a):
        order = np.lexsort([w, b, a])
        a, b, w = a[order], b[order], w[order]
        first = np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])]
        a, b, w = a[first], b[first], w[first]
    rows = np.concatenate([a, b])
    cols = np.concatenate([b, a])
    return csr_matrix((np.concatenate([w, w]), (rows, cols)), shape=(n, n))


def nearest_source(graph: WalkGraph, sources: np.ndarray, limit: float) -> tuple[np.ndarray, np.ndarray]:
    """One multi-source Dijkstra: distance to and node id of the nearest source per node.

    Nodes farther than ``limit`` get ``inf`` and -1.
    """
    from scipy.sparse.csgraph import dijkstra

    n = graph.n_nodes
    sources = np.unique(np.asarray(sources, dtype=np.int64))
    if not len(sources) or n == 0:
        return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    dist, _, origin = dijkstra(
        adjacency(graph), directed=True, indices=sources, min_only=True, limit=limit, return_predecessors=True
    )
    origin = np.where(np.isfinite(dist), np.asarray(origin, dtype=np.int64), -1)
    return np.asarray(dist, dtype=float), origin


def point_distances(
    graph: WalkGraph,
    dist: np.ndarray,
    label: np.ndarray,
    edge: np.ndarray,
    t: np.ndarray,
    connector: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Distance (connector + network) and label of the nearest source for points on edges.

    ``edge`` -1 (not attached) or an unreachable edge gives ``inf`` and -1.
    """
    n = len(edge)
    out = np.full(n, np.inf)
    lab = np.full(n, -1, dtype=np.int64)
    ok = edge >= 0
    if not np.any(ok):
        return out, lab
    e = edge[ok]
    length = graph.length[e]
    via_u = dist[graph.u[e]] + t[ok] * length
    via_v = dist[graph.v[e]] + (1.0 - t[ok]) * length
    use_u = via_u <= via_v
    best = np.where(use_u, via_u, via_v) + connector[ok]
    out[ok] = best
    lab[ok] = np.where(use_u, label[graph.u[e]], label[graph.v[e]])
    lab[~np.isfinite(out)] = -1
    return out, lab


@dataclass
class ServedStats:
    """Population totals."""

    total: float
    served: float
    served_eucl: float

    @property
    def share(self) -> float | None:
        """Served share of the population (None without population)."""
        return self.served / self.total if self.total > 0 else None

    @property
    def share_eucl(self) -> float | None:
        """Served share by straight-line distance (None without population)."""
        return self.served_eucl / self.total if self.total > 0 else None


def served_statistics(population: np.ndarray, served: np.ndarray, served_eucl: np.ndarray) -> ServedStats:
    """Total, served and straight-line-served population."""
    population = np.asarray(population, dtype=float)
    return ServedStats(
        total=float(population.sum()),
        served=float(population[np.asarray(served, bool)].sum()),
        served_eucl=float(population[np.asarray(served_eucl, bool)].sum()),
    )


def population_per_green(
    green_of_point: np.ndarray, population: np.ndarray, served: np.ndarray, n_green: int
) -> np.ndarray:
    """Sum the served population per green space (index 0..n_green-1)."""
    m = np.asarray(served, bool) & (green_of_point >= 0)
    return np.bincount(green_of_point[m], weights=np.asarray(population, float)[m], minlength=n_green)


def boundary_segments(rings_per_green: list[list[np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boundary segments (p0, p1, green index) of polygons given as lists of closed rings."""
    p0, p1, label = [np.zeros((0, 2))], [np.zeros((0, 2))], [np.zeros(0, np.int64)]
    for g, rings in enumerate(rings_per_green):
        for ring in rings:
            ring = np.asarray(ring, dtype=float).reshape(-1, 2)
            if len(ring) < 2:
                continue
            p0.append(ring[:-1])
            p1.append(ring[1:])
            label.append(np.full(len(ring) - 1, g, dtype=np.int64))
    return np.concatenate(p0), np.concatenate(p1), np.concatenate(label)


def points_in_rings(points: np.ndarray, rings_per_green: list[list[np.ndarray]]) -> np.ndarray:
    """Index of the polygon containing each point (even-odd rule; -1 outside). Small inputs only."""
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    out = np.full(len(points), -1, dtype=np.int64)
    for g, rings in enumerate(rings_per_green):
        inside = np.zeros(len(points), dtype=bool)
        for ring in rings:
            ring = np.asarray(ring, dtype=float).reshape(-1, 2)
            a, b = ring[:-1], ring[1:]
            px, py = points[:, :1], points[:, 1:]
            spans = (a[:, 1] > py) != (b[:, 1] > py)
            with np.errstate(invalid="ignore", divide="ignore"):
                x_at = a[:, 0] + (py - a[:, 1]) * (b[:, 0] - a[:, 0]) / (b[:, 1] - a[:, 1])
            inside ^= (np.count_nonzero(spans & (px < x_at), axis=1) % 2).astype(bool)
        out[(out < 0) & inside] = g
    return out


#: ``contains(points) -> green index per point`` (-1 outside every green space).
ContainFn = Callable[[np.ndarray], np.ndarray]


@dataclass
class AccessNetwork:
    """The walking graph with access nodes and the result of the multi-source Dijkstra."""

    graph: WalkGraph
    dist: np.ndarray
    green: np.ndarray
    sources: np.ndarray
    barrier_index: SegmentIndex | None
    along_offset: float = 0.0
    limit: float = np.inf


def edge_boundary_hits(
    graph: WalkGraph, bp0: np.ndarray, bp1: np.ndarray, blabel: np.ndarray, side_offset: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where edges cross green-space boundaries: (edge, fraction, green index).

    Copies of edges along a barrier are moved ``side_offset`` m to their side first, so
    only the copy on the green space's side gets an access point.
    """
    if not len(bp0) or not graph.n_edges:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
    a0, a1 = graph.xy[graph.u].copy(), graph.xy[graph.v].copy()
    d = a1 - a0
    norm = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-12)
    shift = np.column_stack([-d[:, 1], d[:, 0]]) / norm[:, None] * (_edge_side(graph.side)[:, None] * side_offset)
    a0 += shift
    a1 += shift
    lo = np.minimum(bp0, bp1).min(axis=0)
    hi = np.maximum(bp0, bp1).max(axis=0)
    near = np.flatnonzero(
        (np.maximum(a0[:, 0], a1[:, 0]) >= lo[0])
        & (np.minimum(a0[:, 0], a1[:, 0]) <= hi[0])
        & (np.maximum(a0[:, 1], a1[:, 1]) >= lo[1])
        & (np.minimum(a0[:, 1], a1[:, 1]) <= hi[1])
    )
    index = SegmentIndex(bp0, bp1, spacing=10.0)
    qi, si = index.pairs_near_segments(a0[near], a1[near])
    if not len(qi):
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
    hit, t = segment_intersection_params(a0[near[qi]], a1[near[qi]], bp0[si], bp1[si])
    return near[qi[hit]], t[hit], blabel[si[hit]]


def _edge_side(side: np.ndarray) -> np.ndarray:
    """+1/-1 for the copies of an edge along a barrier (left/right of its direction), 0 elsewhere."""
    return np.where(np.abs(side) == 1, side, 0)


def nearest_green(
    points: np.ndarray, boundary: tuple[np.ndarray, np.ndarray, np.ndarray], contains: ContainFn
) -> tuple[np.ndarray, np.ndarray]:
    """Straight-line distance to and index of the nearest green space (0 inside)."""
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    bp0, bp1, blabel = boundary
    dist = np.full(len(points), np.inf)
    green = np.full(len(points), -1, dtype=np.int64)
    if not len(points) or not len(bp0):
        return dist, green
    index = SegmentIndex(bp0, bp1, spacing=5.0)
    seg = index.candidates(points, 8)
    safe = np.maximum(seg, 0)
    _, _, d = project_on_segments(points[:, None, :], bp0[safe], bp1[safe])
    d = np.where(seg >= 0, d, np.inf)
    best = np.argmin(d, axis=1)
    dist = d[np.arange(len(points)), best]
    green = blabel[safe[np.arange(len(points)), best]]
    inside = contains(points)
    dist[inside >= 0] = 0.0
    green[inside >= 0] = inside[inside >= 0]
    return dist, green


def barrier_rejector(
    points: np.ndarray, graph: WalkGraph, barrier_index: SegmentIndex | None, along_offset: float = 0.0
) -> Rejector:
    """Refuse attachments across a barrier: connectors crossing one, or a barrier edge's far-side copy.

    A copy of an edge along a barrier stands for the walk on its side, up to ``along_offset`` m
    from the edge (a barrier a few metres beside the road centreline): the connector is tested
    up to a point that far to the copy's side.
    """

    def reject(ids: np.ndarray, seg: np.ndarray, proj: np.ndarray) -> np.ndarray:
        bad = np.abs(graph.side[seg]) == 2  # across a barrier's band: which copy is on the point's side is unknown
        along = graph.side[seg] != 0
        target = np.array(proj, dtype=float, copy=True)
        if np.any(along):
            p0, p1 = graph.xy[graph.u[seg[along]]], graph.xy[graph.v[seg[along]]]
            side = graph.side[seg[along]]
            bad[along] |= side_of(points[ids[along]], p0, p1) * side < 0
            d = p1 - p0
            left = np.column_stack([-d[:, 1], d[:, 0]]) / np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-12)[:, None]
            target[along] += left * (side * (along_offset + 0.01))[:, None]
        if barrier_index is not None:
            bad |= barrier_index.crossed(points[ids], target, start_tol=SNAP)  # a point on a barrier may leave it
        return bad

    return reject


def entrance_access(
    graph: WalkGraph,
    entrances: np.ndarray,
    boundary: tuple[np.ndarray, np.ndarray, np.ndarray],
    contains: ContainFn,
    barrier_index: SegmentIndex | None,
    entrance_snap: float = 50.0,
    along_offset: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Entrances within ``entrance_snap`` m of a green space, snapped to the network on their side.

    Returns (edge, fraction, green index, entrance xy, walk from the entrance to the network).
    """
    entrances = np.asarray(entrances, dtype=float).reshape(-1, 2)
    d_green, g_green = nearest_green(entrances, boundary, contains)
    pts, green = entrances[d_green <= entrance_snap], g_green[d_green <= entrance_snap]
    index = SegmentIndex(graph.xy[graph.u], graph.xy[graph.v])
    reject = barrier_rejector(pts, graph, barrier_index, along_offset)
    seg, t, walk = attach_points(pts, index, entrance_snap, reject=reject)
    got = seg >= 0
    return seg[got], t[got], green[got], pts[got], walk[got]


def with_entrance_walks(
    graph: WalkGraph, at_node: np.ndarray, xy: np.ndarray, walk: np.ndarray
) -> tuple[WalkGraph, np.ndarray]:
    """Add each entrance as a node joined to its network point by an edge of its walk length.

    Returns the graph and the entrance nodes (dead ends: no way passes through them).
    """
    nodes = graph.n_nodes + np.arange(len(xy))
    extended = WalkGraph(
        xy=np.vstack([graph.xy, xy]),
        u=np.concatenate([graph.u, nodes]),
        v=np.concatenate([graph.v, at_node]),
        length=np.concatenate([graph.length, walk]),
        side=np.concatenate([graph.side, np.zeros(len(xy), np.int8)]),
        grade=np.concatenate([graph.grade, np.zeros(len(xy), bool)]),
    )
    return extended, nodes


def build_access_network(
    split: SideSplit,
    boundary: tuple[np.ndarray, np.ndarray, np.ndarray],
    contains: ContainFn,
    limit: float,
    entrances: np.ndarray | None = None,
    entrance_snap: float = 50.0,
) -> AccessNetwork:
    """Access nodes of every green space and ONE multi-source Dijkstra from all of them.

    Access points: node copies inside or on a green space (tested at a probe point on the
    copy's own side), points where edges cross a green-space boundary, and entrances within
    ``entrance_snap`` m of a green space, joined to the nearest network point on their side by
    an edge as long as the walk there (so the walk counts in every distance).
    """
    graph = split.graph
    barrier_index = SegmentIndex(split.barrier_p0, split.barrier_p1) if len(split.barrier_p0) else None
    node_green = contains(probe_points(split)) if graph.n_nodes else np.zeros(0, np.int64)
    src_nodes = np.flatnonzero(node_green >= 0)
    src_green = node_green[src_nodes]
    e_edge, e_t, e_green = edge_boundary_hits(graph, *boundary)
    n_hits = len(e_edge)
    ent_xy, ent_walk, ent_green = np.zeros((0, 2)), np.zeros(0), np.zeros(0, np.int64)
    if entrances is not None and len(entrances) and graph.n_edges:
        seg, t, ent_green, ent_xy, ent_walk = entrance_access(
            graph, entrances, boundary, contains, barrier_index, entrance_snap, split.barrier_snap
        )
        e_edge, e_t = np.concatenate([e_edge, seg]), np.concatenate([e_t, t])
    final, hit_nodes = split_edges(graph, e_edge, e_t)
    final, entrance_nodes = with_entrance_walks(final, hit_nodes[n_hits:], ent_xy, ent_walk)
    sources = np.concatenate([src_nodes, hit_nodes[:n_hits], entrance_nodes]).astype(np.int64)
    green_of_node = np.full(final.n_nodes, -1, dtype=np.int64)
    green_of_node[sources] = np.concatenate([src_green, e_green, ent_green])
    dist, origin = nearest_source(final, sources, limit)
    green = np.where(origin >= 0, green_of_node[np.maximum(origin, 0)], -1)
    return AccessNetwork(final, dist, green, np.unique(sources), barrier_index, split.barrier_snap, limit)


def attach_residential(net: AccessNetwork, points: np.ndarray, max_connector: float) -> tuple[np.ndarray, np.ndarray]:
    """Network distance to and index of the nearest green space for each point (inf/-1 when none or beyond the limit).

    A point reaches the network on its own side of every barrier, by a straight connector of
    at most ``max_connector`` m to the nearest network point.
    """
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    graph = net.graph
    if not len(points) or not graph.n_edges:
        return np.full(len(points), np.inf), np.full(len(points), -1, dtype=np.int64)
    seg, t, conn = attach_on_side(graph, net.barrier_index, points, max_connector, net.along_offset)
    dist, green = point_distances(graph, net.dist, net.green, seg, t, conn)
    beyond = dist > net.limit  # the search stops at the limit: farther homes have no distance, as documented
    dist[beyond], green[beyond] = np.inf, -1
    return dist, green


def attach_on_side(
    graph: WalkGraph,
    barrier_index: SegmentIndex | None,
    points: np.ndarray,
    max_dist: float,
    along_offset: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest network point within ``max_dist`` on each point's own side: edge (-1 none), fraction, connector."""
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    index = SegmentIndex(graph.xy[graph.u], graph.xy[graph.v])
    reject = barrier_rejector(points, graph, barrier_index, along_offset)
    return attach_points(points, index, max_dist, reject=reject)
