"""Everyday places within reach: walking distance and number of places per home and category.

Pure numpy/scipy, on the barrier-sided walking graph of the catchments. A place is reached at
its sites: a point place at its point, a place drawn as a polygon at points along its boundary
(:func:`boundary_sites`). Every site joins the network on its own side of every barrier like a
home (a straight connector of at most ``max_connector`` m to the nearest way), and every place
is one extra node joined to its sites by one-way edges as long as the connectors: a walk ends at
a place, it never passes through one. Per category ONE multi-source Dijkstra from its places
gives every home its distance to the nearest place; the places within a home's distance are
found by bounded searches from the places, many at once (:func:`category_access`).

Everything is a function of (sided network, homes, places), so it can run on a part of a town.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .access import MIN_WEIGHT, SEARCH_FACTOR, adjacency, attach_on_side
from .barrier_sides import SideSplit
from .walk_graph import SegmentIndex, WalkGraph, split_edges

#: ``PRESET`` values: walking distance (m) per category (``osmwalknetwork`` writes these categories).
LOCAL_SUPPLY, FIFTEEN_MINUTES, CUSTOM = 0, 1, 2
PRESETS: dict[int, dict[str, float]] = {
    LOCAL_SUPPLY: {"grocery": 500.0, "pharmacy": 1000.0, "doctor": 1000.0, "bus_stop": 300.0},
    FIFTEEN_MINUTES: {  # a quarter of an hour on foot at 4.8 km/h
        name: 1200.0 for name in ("grocery", "bakery", "school", "kindergarten", "doctor", "pharmacy", "bus_stop")
    },
}
#: Default of ``DISTANCES`` (custom): the four everyday places of health and planning guidance.
DEFAULT_DISTANCES = "grocery=500;school=1000;doctor=1000;bus_stop=300"
#: Boundary points of a place drawn as a polygon are at most this far apart (m).
SITE_SPACING = 10.0
#: Distances within this much (m) of the limit still count (sums of edge lengths carry rounding).
TOLERANCE = 1e-6
#: Dense rows of one bounded search batch: about this many numbers (32 MB).
BATCH_CELLS = 4_000_000


def category_key(value: object) -> str:
    """Category as a field-name prefix: lower case, every run of other characters than a-z, 0-9 one ``_``."""
    return re.sub(r"[^a-z0-9]+", "_", str(value).strip().lower()).strip("_")


def parse_distances(text: str) -> dict[str, float]:
    """Categories and walking distances of ``grocery=500;school=1000`` (``,`` also separates).

    Raises ValueError naming the part that is not ``category=metres`` with metres above 0, or a
    category given twice.
    """
    distances: dict[str, float] = {}
    for part in re.split(r"[;,\n]+", text or ""):
        if not part.strip():
            continue
        name, equals, value = part.partition("=")
        key = category_key(name)
        try:
            metres = float(value.strip())
        except ValueError:
            metres = math.nan
        if not equals or not key or not math.isfinite(metres) or metres <= 0:
            raise ValueError(part.strip())
        if key in distances:
            raise ValueError(part.strip())
        distances[key] = metres
    return distances


def boundary_sites(rings_per_place: Sequence[Sequence[np.ndarray]], spacing: float = SITE_SPACING):
    """Points along every ring of each place, at most ``spacing`` m apart: (xy, place index)."""
    xy, owner = [np.zeros((0, 2))], [np.zeros(0, np.int64)]
    for place, rings in enumerate(rings_per_place):
        for ring in rings:
            ring = np.asarray(ring, dtype=float).reshape(-1, 2)
            if len(ring) < 2:
                xy.append(ring)
                owner.append(np.full(len(ring), place, np.int64))
                continue
            p0, p1 = ring[:-1], ring[1:]
            steps = np.maximum(np.ceil(np.hypot(*(p1 - p0).T) / spacing).astype(np.int64), 1)
            segment = np.repeat(np.arange(len(p0)), steps)
            start = np.repeat(np.cumsum(steps) - steps, steps)
            fraction = (np.arange(steps.sum()) - start) / steps[segment]
            points = p0[segment] + fraction[:, None] * (p1 - p0)[segment]
            xy += [points, ring[-1:]]
            owner.append(np.full(len(points) + 1, place, np.int64))
    return np.concatenate(xy), np.concatenate(owner)


@dataclass
class PlaceGraph:
    """The walking graph split at the places' sites, and the search matrix with one node per place.

    ``matrix`` is square over the graph's nodes followed by the places (place ``i`` is node
    ``graph.n_nodes + i``); a place's row holds its one-way edges to its sites.
    """

    graph: WalkGraph
    matrix: object  # scipy.sparse.csr_matrix
    attached: np.ndarray  # per place: at least one site joined the network
    barrier_index: SegmentIndex | None
    along_offset: float

    @property
    def n_places(self) -> int:
        """Number of places."""
        return len(self.attached)

    def place_nodes(self, places: np.ndarray) -> np.ndarray:
        """Matrix nodes of the given places."""
        return self.graph.n_nodes + np.asarray(places, dtype=np.int64)


def place_graph(
    split: SideSplit, site_xy: np.ndarray, site_place: np.ndarray, n_places: int, max_connector: float
) -> PlaceGraph:
    """Join every site to the network on its side and add one node per place (see the module)."""
    from scipy.sparse import coo_matrix

    graph = split.graph
    barrier_index = SegmentIndex(split.barrier_p0, split.barrier_p1) if len(split.barrier_p0) else None
    site_xy = np.asarray(site_xy, dtype=float).reshape(-1, 2)
    site_place = np.asarray(site_place, dtype=np.int64)
    edge, t, walk = np.full(len(site_xy), -1), np.zeros(len(site_xy)), np.full(len(site_xy), np.inf)
    if len(site_xy) and graph.n_edges:
        edge, t, walk = attach_on_side(graph, barrier_index, site_xy, max_connector, split.barrier_snap)
    got = edge >= 0
    graph, site_node = split_edges(graph, edge[got], t[got])
    n = graph.n_nodes
    network = adjacency(graph).tocoo()
    rows = np.concatenate([network.row, n + site_place[got]])
    cols = np.concatenate([network.col, site_node])
    weights = np.concatenate([network.data, np.maximum(walk[got], MIN_WEIGHT)])
    order = np.lexsort([weights, cols, rows])  # the shortest of two connectors to one node counts
    rows, cols, weights = rows[order], cols[order], weights[order]
    first = np.r_[True, (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])]
    matrix = coo_matrix((weights[first], (rows[first], cols[first])), shape=(n + n_places,) * 2).tocsr()
    attached = np.zeros(n_places, dtype=bool)
    attached[site_place[got]] = True
    return PlaceGraph(graph, matrix, attached, barrier_index, split.barrier_snap)


@dataclass
class HomesOnGraph:
    """Homes joined to the place graph: edge (-1 none), fraction along it, connector length."""

    edge: np.ndarray
    t: np.ndarray
    connector: np.ndarray


def attach_homes(places: PlaceGraph, points: np.ndarray, max_connector: float) -> HomesOnGraph:
    """Join every home point to the nearest way on its own side within ``max_connector`` m."""
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    if not len(points) or not places.graph.n_edges:
        return HomesOnGraph(np.full(len(points), -1, np.int64), np.zeros(len(points)), np.full(len(points), np.inf))
    edge, t, connector = attach_on_side(places.graph, places.barrier_index, points, max_connector, places.along_offset)
    return HomesOnGraph(edge, t, connector)


@dataclass
class CategoryAccess:
    """Per home for one category; inf, 0 or NaN where no place of the category is in reach."""

    distance: float
    dist: np.ndarray  # walking distance to the nearest place (inf: none within SEARCH_FACTOR x distance)
    count: np.ndarray  # places within ``distance``
    capacity: np.ndarray | None = None  # summed capacity of the places within ``distance``
    per_1000: np.ndarray | None = None  # capacity per 1,000 residents in reach (two-step floating catchment)

    @property
    def served(self) -> np.ndarray:
        """Whether a place of the category lies within the distance."""
        return self.dist <= self.distance + TOLERANCE


def _home_distances(places: PlaceGraph, homes: HomesOnGraph, node_dist: np.ndarray, which: np.ndarray) -> np.ndarray:
    """Distances of the homes ``which`` from rows of node distances (rows x homes)."""
    g, e = places.graph, homes.edge[which]
    length, t = g.length[e], homes.t[which]
    via_u = node_dist[:, g.u[e]] + t * length
    via_v = node_dist[:, g.v[e]] + (1.0 - t) * length
    return np.minimum(via_u, via_v) + homes.connector[which]


def places_within(
    places: PlaceGraph, homes: HomesOnGraph, members: np.ndarray, candidates: np.ndarray, distance: float
) -> tuple[np.ndarray, np.ndarray]:
    """Every (place, home) pair within ``distance`` on foot, for places ``members`` and homes ``candidates``.

    Bounded searches from many places at once (dense rows over the graph, in batches).
    """
    from scipy.sparse.csgraph import dijkstra

    found_place, found_home = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    members = np.asarray(members, dtype=np.int64)
    if not len(members) or not len(candidates):
        return found_place[0], found_home[0]
    batch = max(1, BATCH_CELLS // places.matrix.shape[0])
    for start in range(0, len(members), batch):
        chunk = members[start : start + batch]
        rows = dijkstra(places.matrix, directed=True, indices=places.place_nodes(chunk), limit=distance + TOLERANCE)
        within = _home_distances(places, homes, np.atleast_2d(rows), candidates) <= distance + TOLERANCE
        row, col = np.nonzero(within)
        found_place.append(chunk[row])
        found_home.append(candidates[col])
    return np.concatenate(found_place), np.concatenate(found_home)


def category_access(
    places: PlaceGraph,
    homes: HomesOnGraph,
    members: np.ndarray,
    distance: float,
    population: np.ndarray | None = None,
    capacity: np.ndarray | None = None,
) -> CategoryAccess:
    """Distance to the nearest of the places ``members``, their number (and capacity) within ``distance``.

    ``capacity`` (per place, all places) adds the summed capacity in reach and the two-step
    floating catchment: each place's capacity is shared among the ``population`` within its
    distance, and a home gets the sum of the shares of the places within its distance, per 1,000.
    """
    from scipy.sparse.csgraph import dijkstra

    n_homes = len(homes.edge)
    members = np.asarray(members, dtype=np.int64)
    members = members[places.attached[members]]
    dist = np.full(n_homes, np.inf)
    on_graph = np.flatnonzero(homes.edge >= 0)
    if len(members) and len(on_graph):
        nearest = dijkstra(places.matrix, directed=True, indices=places.place_nodes(members), min_only=True,
                           limit=SEARCH_FACTOR * distance)  # fmt: skip
        dist[on_graph] = _home_distances(places, homes, nearest[None, :], on_graph)[0]
    candidates = np.flatnonzero(dist <= distance + TOLERANCE)
    pair_place, pair_home = places_within(places, homes, members, candidates, distance)
    access = CategoryAccess(distance, dist, np.bincount(pair_home, minlength=n_homes))
    if capacity is not None:
        capacity = np.asarray(capacity, dtype=float)
        access.capacity = np.bincount(pair_home, weights=capacity[pair_place], minlength=n_homes)
        weights = np.ones(n_homes) if population is None else np.asarray(population, dtype=float)
        reached = np.bincount(pair_place, weights=weights[pair_home], minlength=places.n_places)
        ratio = np.divide(capacity, reached, out=np.zeros(places.n_places), where=reached > 0)
        access.per_1000 = 1000.0 * np.bincount(pair_home, weights=ratio[pair_place], minlength=n_homes)
    return access



@dataclass
class Places:
    """The places of a run: sites (points joined to the network), category per place, capacity per place."""

    site_xy: np.ndarray
    site_place: np.ndarray
    category: np.ndarray  # index into the run's categories per place; -1: no distance given
    capacity: np.ndarray | None = None

    @property
    def n_places(self) -> int:
        """Number of places."""
        return len(self.category)


@dataclass
class FacilityAccess:
    """Access per category, which places joined the network, which homes did."""

    categories: list[CategoryAccess]
    place_attached: np.ndarray
    home_attached: np.ndarray


def facility_access(
    split: SideSplit,
    homes_xy: np.ndarray,
    population: np.ndarray,
    places: Places,
    distances: Sequence[float],
    max_connector: float,
    progress: Callable[[float], None] | None = None,
) -> FacilityAccess:
    """Access of every home to the places of each category (``distances[c]`` for category ``c``).

    The homes and the places join the sided network ``split`` on their own side of every barrier
    within ``max_connector`` m; ``progress`` gets fractions 0..1 (it may raise to cancel).
    """
    graph = place_graph(split, places.site_xy, places.site_place, places.n_places, max_connector)
    homes = attach_homes(graph, homes_xy, max_connector)
    categories = []
    for c, distance in enumerate(distances):
        if progress is not None:
            progress(c / max(len(distances), 1))
        members = np.flatnonzero(places.category == c)
        categories.append(category_access(graph, homes, members, float(distance), population, places.capacity))
    return FacilityAccess(categories, graph.attached, homes.edge >= 0)
