"""Where to act: rank new barrier crossings and park entrances by the people they bring to green.

Pure numpy/scipy. The barrier-aware walking graph and the distances of its nodes from the
nearest green space come from :func:`access.build_access_network`; a candidate is a group of
graph nodes with a starting distance:

- a crossing joins the side copies of a barrier node: afterwards every copy is as far from
  green as the nearest copy was (``offset`` NaN: the minimum over its nodes);
- an entrance makes one network point a green access point ``offset`` metres from the park
  (the walk from the entrance to the way).

Opening a candidate changes a distance only through the candidate, so its gain depends only
on residents within ``DISTANCE - offset`` of it: one Dijkstra search from the candidate,
bounded by that limit, per candidate (not a catchment run per candidate). Greedy ranking
opens the best candidate, updates the distances it improves, and searches again only from
the candidates that this can change (their starting distance fell, or the opened crossing lies
within their search radius); for every other candidate the gain is its earlier set of newly
served residents minus those served meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .access import AccessNetwork, adjacency, attach_on_side, point_distances
from .barrier_sides import SideSplit
from .walk_graph import SegmentIndex, WalkGraph, project_on_segments, segment_intersection_params, split_edges

CROSSING = 0
ENTRANCE = 1
#: Value of the ``kind`` output field per candidate kind.
KIND_NAMES = {CROSSING: "crossing", ENTRANCE: "entrance"}

#: Entrances join the network within this distance (m), as in the catchments; default entrance
#: sites are where a way comes this close to a qualifying green space.
ENTRANCE_REACH = 50.0
#: ``progress(fraction)``; may raise to cancel.
Progress = Callable[[float], None]


@dataclass
class Candidates:
    """Candidate sites: kind, nodes (CSR ``ptr``/``nodes``), starting distance, network position."""

    kind: np.ndarray
    ptr: np.ndarray
    nodes: np.ndarray
    offset: np.ndarray
    xy: np.ndarray

    def __len__(self) -> int:
        return len(self.kind)

    def nodes_of(self, i: int) -> np.ndarray:
        """Graph nodes of candidate ``i``."""
        return self.nodes[self.ptr[i] : self.ptr[i + 1]]

    @staticmethod
    def concat(parts: list[Candidates]) -> Candidates:
        """All candidates of ``parts`` in order."""
        sizes = np.concatenate([np.diff(p.ptr) for p in parts])
        return Candidates(
            np.concatenate([p.kind for p in parts]),
            np.r_[0, np.cumsum(sizes)].astype(np.int64),
            np.concatenate([p.nodes for p in parts]).astype(np.int64),
            np.concatenate([p.offset for p in parts]),
            np.concatenate([p.xy for p in parts]).reshape(-1, 2),
        )


def no_candidates() -> Candidates:
    """Return an empty candidate set."""
    return Candidates(np.zeros(0, np.int8), np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros((0, 2)))


# -- candidate sites ---------------------------------------------------------------------------


def barrier_nodes(split: SideSplit) -> np.ndarray:
    """Original network nodes split into sides by a barrier (the barrier nodes not yet opened)."""
    counts = np.bincount(split.copy_node, minlength=int(split.copy_node.max()) + 1 if len(split.copy_node) else 0)
    return np.flatnonzero(counts >= 2)


def crossing_candidates(split: SideSplit, originals: np.ndarray | None = None) -> Candidates:
    """One crossing candidate per barrier node (all of them, or the given original nodes)."""
    if originals is None:
        originals = barrier_nodes(split)
    originals = np.asarray(originals, dtype=np.int64)
    order = np.argsort(split.copy_node, kind="stable")
    starts = np.searchsorted(split.copy_node[order], originals)
    ends = np.searchsorted(split.copy_node[order], originals, side="right")
    groups = [order[a:b] for a, b in zip(starts.tolist(), ends.tolist())]
    sizes = np.array([len(g) for g in groups], dtype=np.int64)
    nodes = np.concatenate(groups).astype(np.int64) if groups else np.zeros(0, np.int64)
    xy = split.graph.xy[order[starts]] if len(originals) else np.zeros((0, 2))
    return Candidates(
        np.full(len(originals), CROSSING, np.int8),
        np.r_[0, np.cumsum(sizes)].astype(np.int64),
        nodes,
        np.full(len(originals), np.nan),
        xy,
    )


def snap_to_barrier_nodes(split: SideSplit, points: np.ndarray, snap: float) -> np.ndarray:
    """Original barrier node (not yet opened) nearest to each point within ``snap`` m, else -1."""
    from scipy.spatial import cKDTree

    points = np.asarray(points, dtype=float).reshape(-1, 2)
    originals = barrier_nodes(split)
    out = np.full(len(points), -1, dtype=np.int64)
    if not len(points) or not len(originals):
        return out
    first = np.searchsorted(split.copy_node, originals)
    dist, idx = cKDTree(split.graph.xy[first]).query(points, distance_upper_bound=snap)
    hit = np.isfinite(dist)
    out[hit] = originals[idx[hit]]
    return out


def entrance_candidates(node: np.ndarray, offset: np.ndarray, xy: np.ndarray) -> Candidates:
    """Entrance candidates at graph nodes ``node``, ``offset`` m from the park."""
    node = np.asarray(node, dtype=np.int64)
    return Candidates(
        np.full(len(node), ENTRANCE, np.int8),
        np.arange(len(node) + 1, dtype=np.int64),
        node,
        np.asarray(offset, dtype=float),
        np.asarray(xy, dtype=float).reshape(-1, 2),
    )


def _segment_gaps(a0: np.ndarray, a1: np.ndarray, b0: np.ndarray, b1: np.ndarray) -> tuple[np.ndarray, ...]:
    """Pairwise shortest distance between segments a and b, and the nearest points on each."""
    options = []
    for p, q0, q1, p_on_a in ((a0, b0, b1, True), (a1, b0, b1, True), (b0, a0, a1, False), (b1, a0, a1, False)):
        _, proj, dist = project_on_segments(p, q0, q1)
        options.append((dist, p if p_on_a else proj, proj if p_on_a else p))
    dist = np.stack([o[0] for o in options])
    best = np.argmin(dist, axis=0)
    cols = np.arange(len(a0))
    on_a = np.stack([o[1] for o in options])[best, cols]
    on_b = np.stack([o[2] for o in options])[best, cols]
    gap = dist[best, cols]
    crossing, t = segment_intersection_params(a0, a1, b0, b1)
    hit = a0[crossing] + t[crossing, None] * (a1[crossing] - a0[crossing])
    gap[crossing] = 0.0
    on_a[crossing] = hit
    on_b[crossing] = hit
    return gap, on_a, on_b


def entrance_sites(
    p0: np.ndarray,
    p1: np.ndarray,
    boundary: tuple[np.ndarray, np.ndarray, np.ndarray],
    contains: Callable[[np.ndarray], np.ndarray],
    max_gap: float = ENTRANCE_REACH,
    touch: float = 0.1,
) -> tuple[np.ndarray, np.ndarray]:
    """Where a way comes within ``max_gap`` m of a green space without reaching it.

    Ways are the straight stretches ``p0 -> p1`` (the edges of the walking graph). One site per
    (stretch, green space): the point of the green space's boundary nearest to the stretch.
    A stretch reaches a green space when it comes within ``touch`` m of its boundary or lies
    inside it. Returns the sites (on the boundary, duplicates within 0.5 m dropped) and their
    green-space index.
    """
    bp0, bp1, blabel = boundary
    a0 = np.asarray(p0, dtype=float).reshape(-1, 2)
    a1 = np.asarray(p1, dtype=float).reshape(-1, 2)
    if not len(a0) or not len(bp0):
        return np.zeros((0, 2)), np.zeros(0, np.int64)
    seg_way = np.arange(len(a0))
    qi, si = SegmentIndex(bp0, bp1, spacing=10.0).pairs_near_segments(a0, a1, margin=max_gap)
    if not len(qi):
        return np.zeros((0, 2)), np.zeros(0, np.int64)
    gap, on_way, on_green = _segment_gaps(a0[qi], a1[qi], bp0[si], bp1[si])
    pair = seg_way[qi] * (int(blabel.max()) + 1) + blabel[si]
    order = np.lexsort([gap, pair])
    first = np.r_[True, pair[order][1:] != pair[order][:-1]]
    best = order[first]
    keep = best[(gap[best] > touch) & (gap[best] <= max_gap)]
    green = blabel[si[keep]]
    keep, green = keep[contains(on_way[keep]) != green], green[contains(on_way[keep]) != green]
    sites = on_green[keep]
    _, unique = np.unique(np.round(sites / 0.5).astype(np.int64), axis=0, return_index=True)
    unique = np.sort(unique)
    return sites[unique], green[unique]


def add_entrance_nodes(
    graph: WalkGraph, dist: np.ndarray, edge: np.ndarray, t: np.ndarray
) -> tuple[WalkGraph, np.ndarray, np.ndarray]:
    """Split ``graph`` at points on edges; return the graph, its node distances and each point's node.

    A new node on edge ``u -> v`` is as far from green as the nearer end plus the way along the edge.
    """
    edge = np.asarray(edge, dtype=np.int64)
    t = np.asarray(t, dtype=float)
    via = np.minimum(dist[graph.u[edge]] + t * graph.length[edge], dist[graph.v[edge]] + (1.0 - t) * graph.length[edge])
    split, nodes = split_edges(graph, edge, t)
    new_dist = np.full(split.n_nodes, np.inf)
    new_dist[: graph.n_nodes] = dist
    new_dist[nodes] = np.minimum(new_dist[nodes], via)
    return split, new_dist, nodes


# -- ranking -----------------------------------------------------------------------------------


@dataclass
class Homes:
    """Residential points on the graph: edge (-1 unattached), fraction, connector, population, position."""

    edge: np.ndarray
    t: np.ndarray
    connector: np.ndarray
    population: np.ndarray
    xy: np.ndarray


@dataclass
class Ranking:
    """Greedy ranking: candidate per rank, its gain given the ranks before, homes it newly serves."""

    gain_alone: np.ndarray
    order: list[int] = field(default_factory=list)
    gain: list[float] = field(default_factory=list)
    served_after: list[float] = field(default_factory=list)
    homes: list[np.ndarray] = field(default_factory=list)
    home_dist: list[np.ndarray] = field(default_factory=list)
    served_before: float = 0.0
    total: float = 0.0
    home_dist_before: np.ndarray = field(default_factory=lambda: np.zeros(0))
    searches: int = 0

    def share(self, served: float) -> float | None:
        """Return the served share of the population (None without population)."""
        return served / self.total if self.total > 0 else None

    @property
    def served_final(self) -> float:
        """Served population with every ranked candidate built."""
        return self.served_after[-1] if self.served_after else self.served_before


@dataclass
class _Gain:
    """Result of one candidate search: newly served homes, their distance, starting distance."""

    homes: np.ndarray
    dist: np.ndarray
    start: float
    reach: np.ndarray | None = None


_NONE = _Gain(np.zeros(0, np.int64), np.zeros(0), np.inf)


class ImprovementSearch:
    """Bounded searches from candidates on the current graph; opening a candidate updates it."""

    def __init__(self, graph: WalkGraph, dist: np.ndarray, homes: Homes, candidates: Candidates, distance: float):
        from scipy.spatial import cKDTree

        self.graph, self.homes, self.cand, self.distance = graph, homes, candidates, float(distance)
        self.dist = np.asarray(dist, dtype=float).copy()
        self.rep = np.arange(graph.n_nodes)
        self.matrix = adjacency(graph)
        no_label = np.zeros(graph.n_nodes, dtype=np.int64)
        self.home_dist, _ = point_distances(graph, self.dist, no_label, homes.edge, homes.t, homes.connector)
        self.served = self.home_dist <= self.distance
        self.open = np.flatnonzero((homes.edge >= 0) & ~self.served & (homes.population > 0))
        self.tree = cKDTree(homes.xy[self.open]) if len(self.open) else None
        self.searches = 0
        self._index_homes()

    def _index_homes(self) -> None:
        """Node -> unserved homes on its edges (by the current node representatives)."""
        homes = self.open[~self.served[self.open]]
        edge = self.homes.edge[homes]
        ends = np.concatenate([self.rep[self.graph.u[edge]], self.rep[self.graph.v[edge]]])
        owner = np.concatenate([homes, homes])
        order = np.argsort(ends, kind="stable")
        self.home_of = owner[order]
        self.home_ptr = np.searchsorted(ends[order], np.arange(self.graph.n_nodes + 1))

    def start(self, i: int) -> float:
        """Return the starting distance of candidate ``i`` on the current graph."""
        nodes = self.rep[self.cand.nodes_of(i)]
        offset = self.cand.offset[i]
        return float(self.dist[nodes].min()) if np.isnan(offset) else float(offset)

    def starts(self) -> np.ndarray:
        """Return the starting distance of every candidate on the current graph."""
        if not len(self.cand):
            return np.zeros(0)
        nearest = np.minimum.reduceat(self.dist[self.rep[self.cand.nodes]], self.cand.ptr[:-1])
        return np.where(np.isnan(self.cand.offset), nearest, self.cand.offset)

    def _could_gain(self, i: int, start: float) -> bool:
        nodes = self.rep[self.cand.nodes_of(i)]
        if not np.isfinite(start) or start >= self.distance or self.tree is None:
            return False
        if np.all(self.dist[nodes] <= start):
            return False  # opening it shortens no path
        reach = self.distance - start + 1e-6  # a home exactly that far in a straight line still counts
        nearest, _ = self.tree.query(self.cand.xy[i], distance_upper_bound=reach)
        return bool(np.isfinite(nearest))

    def evaluate(self, i: int, keep_reach: bool = False) -> _Gain:
        """Homes newly served when candidate ``i`` is opened on the current graph."""
        from scipy.sparse.csgraph import dijkstra

        start = self.start(i)
        if not self._could_gain(i, start):
            return _Gain(_NONE.homes, _NONE.dist, start)
        self.searches += 1
        nodes = np.unique(self.rep[self.cand.nodes_of(i)])
        reach = np.asarray(
            dijkstra(self.matrix, directed=True, indices=nodes, min_only=True, limit=self.distance - start),
            dtype=float,
        )
        reached = np.flatnonzero(np.isfinite(reach))
        lo, hi = self.home_ptr[reached], self.home_ptr[reached + 1]
        counts = hi - lo
        idx = np.repeat(lo - np.r_[0, np.cumsum(counts)[:-1]], counts) + np.arange(counts.sum())
        homes = np.unique(self.home_of[idx])
        homes = homes[~self.served[homes]]
        g, e = self.graph, self.homes.edge[homes]
        via_u = reach[self.rep[g.u[e]]] + self.homes.t[homes] * g.length[e]
        via_v = reach[self.rep[g.v[e]]] + (1.0 - self.homes.t[homes]) * g.length[e]
        new = start + np.minimum(via_u, via_v) + self.homes.connector[homes]
        ok = new <= self.distance
        return _Gain(homes[ok], new[ok], start, reach if keep_reach else None)

    def open_candidate(self, i: int) -> _Gain:
        """Build candidate ``i``: update distances, join its nodes, mark its homes served."""
        gain = self.evaluate(i, keep_reach=True)
        if gain.reach is not None:
            self.dist = np.minimum(self.dist, gain.start + gain.reach)
        if self.cand.kind[i] == CROSSING:
            nodes = np.unique(self.rep[self.cand.nodes_of(i)])
            self.rep[np.isin(self.rep, nodes)] = nodes[0]
            self.dist[nodes] = self.dist[nodes].min()
            g = self.graph
            self.matrix = adjacency(WalkGraph(g.xy, self.rep[g.u], self.rep[g.v], g.length))
        self.served[gain.homes] = True
        self.home_dist[gain.homes] = gain.dist
        self._index_homes()
        return gain

    def population(self, homes: np.ndarray) -> float:
        """Return the population of the given homes that is not served yet."""
        homes = homes[~self.served[homes]]
        return float(self.homes.population[homes].sum())


def rank_improvements(
    graph: WalkGraph,
    dist: np.ndarray,
    homes: Homes,
    candidates: Candidates,
    distance: float,
    count: int,
    progress: Progress | None = None,
) -> Ranking:
    """Gain of every candidate alone, then the greedy ranking of up to ``count`` of them.

    Rank 1 serves the most people on its own; rank r brings the most given ranks 1..r-1.
    Candidates that gain nobody are not ranked.
    """
    search = ImprovementSearch(graph, dist, homes, candidates, distance)
    n = len(candidates)
    found: list[_Gain] = []
    for i in range(n):
        if progress is not None and i % 64 == 0:
            progress(0.9 * i / max(n, 1))
        found.append(search.evaluate(i))
    pop = homes.population
    gains = np.array([float(pop[f.homes].sum()) for f in found])
    ranking = Ranking(gain_alone=gains.copy(), total=float(pop.sum()))
    ranking.served_before = float(pop[search.served].sum())
    ranking.home_dist_before = search.home_dist.copy()
    served = ranking.served_before
    taken = np.zeros(n, dtype=bool)
    for _ in range(max(int(count), 0)):
        if progress is not None:
            progress(0.9 + 0.1 * len(ranking.order) / max(int(count), 1))
        best = _best(gains, ranking.gain_alone, taken)
        if best < 0:
            break
        gain = search.open_candidate(best)
        taken[best] = True
        served += float(pop[gain.homes].sum())
        ranking.order.append(best)
        ranking.gain.append(float(pop[gain.homes].sum()))
        ranking.served_after.append(served)
        ranking.homes.append(gain.homes)
        ranking.home_dist.append(gain.dist)
        _refresh(search, found, gains, taken, best)
    ranking.searches = search.searches
    return ranking


def _best(gains: np.ndarray, gain_alone: np.ndarray, taken: np.ndarray) -> int:
    """Untaken candidate with the largest positive gain, else -1 (ties: larger gain alone, then first)."""
    open_ = np.flatnonzero(~taken & (gains > 0))
    if not len(open_):
        return -1
    order = np.lexsort([open_, -gain_alone[open_], -gains[open_]])
    return int(open_[order[0]])


def _refresh(search: ImprovementSearch, found: list[_Gain], gains: np.ndarray, taken: np.ndarray, built: int) -> None:
    """Gains after candidate ``built`` was opened: search again only where that can change them.

    A candidate's set of newly served homes stays valid unless its starting distance fell or
    the opened crossing lies within its search radius; otherwise only the homes served
    meanwhile drop out.
    """
    cand = search.cand
    starts = search.starts()
    old = np.array([f.start for f in found])
    stale = starts < old
    if cand.kind[built] == CROSSING:
        stale |= np.hypot(*(cand.xy - cand.xy[built]).T) <= search.distance - starts
    for j in np.flatnonzero(~taken):
        if stale[j]:
            found[j] = search.evaluate(int(j))
        gains[j] = search.population(found[j].homes)


# -- the whole plan ----------------------------------------------------------------------------


@dataclass
class Plan:
    """Candidates (``site`` = index of the site or proposal each came from), ranking, homes on the graph."""

    candidates: Candidates
    site: np.ndarray
    ranking: Ranking
    homes: Homes


def plan_improvements(
    net: AccessNetwork,
    crossings: Candidates,
    entrance_points: np.ndarray,
    homes_xy: np.ndarray,
    population: np.ndarray,
    settings: tuple[float, float, float, int],
    progress: Progress | None = None,
) -> Plan:
    """Rank crossings and entrances on the access network ``net``.

    ``crossings`` come from :func:`crossing_candidates` on the split that ``net`` was built
    from; ``entrance_points`` are proposed entrances (each joins the network like an entrance
    of the catchments: the nearest way on its side within ``entrance_snap`` m, its walk there
    counting). ``settings`` = (distance, max_connector, entrance_snap, count). Candidates are
    numbered crossings first; ``Plan.site`` gives the crossing or entrance index they came from.
    """
    distance, max_connector, entrance_snap, count = settings
    entrance_points = np.asarray(entrance_points, dtype=float).reshape(-1, 2)
    graph, dist = net.graph, net.dist
    entrances, entrance_site = no_candidates(), np.zeros(0, np.int64)
    if len(entrance_points) and graph.n_edges:
        seg, t, conn = attach_on_side(graph, net.barrier_index, entrance_points, entrance_snap, net.along_offset)
        got = np.flatnonzero(seg >= 0)
        graph, dist, nodes = add_entrance_nodes(graph, dist, seg[got], t[got])
        key = np.column_stack([nodes, np.round(conn[got], 1) * 10]).astype(np.int64)
        _, first = np.unique(key, axis=0, return_index=True)
        first = np.sort(first)
        entrance_site = got[first]
        entrances = entrance_candidates(nodes[first], conn[got][first], graph.xy[nodes[first]])
    candidates = Candidates.concat([crossings, entrances])
    site = np.concatenate([np.arange(len(crossings)), entrance_site]).astype(np.int64)
    homes_xy = np.asarray(homes_xy, dtype=float).reshape(-1, 2)
    if len(homes_xy) and graph.n_edges:
        edge, t, conn = attach_on_side(graph, net.barrier_index, homes_xy, max_connector, net.along_offset)
    else:
        edge, t, conn = np.full(len(homes_xy), -1, np.int64), np.zeros(len(homes_xy)), np.full(len(homes_xy), np.inf)
    homes = Homes(edge, t, conn, np.asarray(population, dtype=float), homes_xy)
    ranking = rank_improvements(graph, dist, homes, candidates, distance, count, progress)
    return Plan(candidates, site, ranking, homes)
