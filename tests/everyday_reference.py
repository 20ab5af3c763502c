"""An independent reference for facilityaccess and rule33030: networkx and shapely, no code of the plugin.

Plain walking distances without barriers, computed the simple way: the network as a graph of its
line vertices (snapped to 1 cm), a home or a place joined to the nearest segment by a straight
connector, one Dijkstra per question. Parks as the catchments define them: parcels closer than the
merge distance are one park; a park is reached at a network node inside or on it, or where a
segment crosses its boundary. Trees near a home by shapely distances, canopy as the exact area of
the disc around a home under the canopy polygons. Used by the tests and by the benchmark.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import networkx as nx
import numpy as np
from shapely.geometry import LineString, Point
from shapely.ops import unary_union
from shapely.strtree import STRtree


def strtree(geometries: list) -> STRtree:
    """A spatial index of ``geometries`` (shapely 1.8 warns that 2.0 changes it: ``near`` reads both)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return STRtree(geometries)


def near(tree: STRtree, geometries: list, query) -> list[int]:
    """Indices of the geometries whose boxes meet ``query`` (shapely 1.8 returns geometries, 2.x indices)."""
    found = tree.query(query)
    if len(found) and isinstance(found[0], (int, np.integer)):
        return [int(i) for i in found]
    index = {id(g): i for i, g in enumerate(geometries)}
    return [index[id(g)] for g in found]


def _key(x: float, y: float) -> tuple[int, int]:
    return round(x * 100), round(y * 100)


@dataclass
class Spot:
    """A point joined to the network: segment ends, distance along the segment from ``a``, connector."""

    a: tuple[int, int]
    b: tuple[int, int]
    along: float
    length: float
    connector: float


class Network:
    """The walking network as a networkx graph; points join it at the nearest segment."""

    def __init__(self, lines: list[list[tuple[float, float]]]) -> None:
        self.graph = nx.Graph()
        self.xy: dict[tuple[int, int], tuple[float, float]] = {}
        for line in lines:
            keys = [_key(x, y) for x, y in line]
            for key in keys:
                self.xy[key] = (key[0] / 100, key[1] / 100)
            for a, b in zip(keys[:-1], keys[1:]):
                if a == b:
                    continue
                length = math.dist(self.xy[a], self.xy[b])
                if not self.graph.has_edge(a, b) or self.graph[a][b]["weight"] > length:
                    self.graph.add_edge(a, b, weight=length)
        self.edges = list(self.graph.edges())
        self.lines = [LineString([self.xy[a], self.xy[b]]) for a, b in self.edges]
        self.tree = strtree(self.lines)

    def spot(self, x: float, y: float, max_connector: float) -> Spot | None:
        """The nearest point of the network within ``max_connector`` m, or None."""
        point = Point(x, y)
        best = None
        for i in near(self.tree, self.lines, point.buffer(max_connector)):
            distance = self.lines[i].distance(point)
            if distance <= max_connector and (best is None or distance < best[0]):
                best = (distance, i)
        if best is None:
            return None
        distance, i = best
        (a, b), line = self.edges[i], self.lines[i]
        return Spot(a, b, line.project(point), line.length, distance)

    def from_sources(self, sources: list[Spot], limit: float) -> dict:
        """Walking distance of every node within ``limit`` from the nearest of ``sources``."""
        graph = self.graph
        try:
            for spot in sources:
                for node, offset in ((spot.a, spot.along), (spot.b, spot.length - spot.along)):
                    weight = spot.connector + offset
                    if not graph.has_edge("source", node) or graph["source"][node]["weight"] > weight:
                        graph.add_edge("source", node, weight=weight)
            return nx.single_source_dijkstra_path_length(graph, "source", cutoff=limit, weight="weight")
        finally:
            if graph.has_node("source"):
                graph.remove_node("source")

    @staticmethod
    def to_home(nodes: dict, home: Spot, sources: list[Spot]) -> float:
        """Walking distance of a home from node distances, or directly along its own segment."""
        best = min(nodes.get(home.a, math.inf) + home.along, nodes.get(home.b, math.inf) + home.length - home.along)
        for spot in sources:
            same = (spot.a, spot.b) == (home.a, home.b)
            flipped = (spot.a, spot.b) == (home.b, home.a)
            if same or flipped:
                along = spot.along if same else spot.length - spot.along
                best = min(best, abs(home.along - along) + spot.connector)
        return best + home.connector


def place_access(
    network: Network, homes: list[Spot | None], places: list[Spot | None], distance: float, factor: float = 5.0
) -> tuple[np.ndarray, np.ndarray]:
    """Per home: distance to the nearest place (inf beyond ``factor`` x distance) and places within ``distance``."""
    joined = [p for p in places if p is not None]
    nodes = network.from_sources(joined, factor * distance) if joined else {}
    dist = np.array([network.to_home(nodes, h, joined) if h else math.inf for h in homes])
    dist[dist > factor * distance] = math.inf
    count = np.zeros(len(homes), dtype=int)
    for place in joined:
        reach = network.from_sources([place], distance)
        count += np.array([h is not None and network.to_home(reach, h, [place]) <= distance + 1e-6 for h in homes])
    return dist, count


def parks(polygons: list, merge_distance: float, min_ha: float) -> list:
    """Parcels closer than ``merge_distance`` merged; those of at least ``min_ha``."""
    groups = nx.Graph()
    groups.add_nodes_from(range(len(polygons)))
    tree = strtree(polygons)
    for i, polygon in enumerate(polygons):
        for j in near(tree, polygons, polygon.buffer(merge_distance)):
            other = polygons[j]
            if j > i and (polygon.intersects(other) or polygon.distance(other) < merge_distance):
                groups.add_edge(i, j)
    merged = [unary_union([polygons[i] for i in members]) for members in nx.connected_components(groups)]
    return [park for park in merged if park.area / 10_000 >= min_ha]


def park_sources(network: Network, qualifying: list) -> list[Spot]:
    """Network nodes in or on a park (0.1 m) and every point where a segment crosses a park's boundary."""
    spots = []
    union = unary_union(qualifying)
    boundary = union.boundary
    for (a, b), line in zip(network.edges, network.lines):
        for end, key in ((0.0, a), (line.length, b)):
            if union.distance(Point(network.xy[key])) <= 0.1:
                spots.append(Spot(a, b, end, line.length, 0.0))
        crossing = line.intersection(boundary)
        for point in getattr(crossing, "geoms", [crossing]):
            if not point.is_empty and point.geom_type == "Point":
                spots.append(Spot(a, b, line.project(point), line.length, 0.0))
    return spots


def trees_near(homes: list, trees: list, distance: float) -> np.ndarray:
    """Trees within ``distance`` of each home geometry (0 inside a polygon)."""
    tree = strtree(trees)
    close = [near(tree, trees, home.buffer(distance)) for home in homes]
    return np.array([sum(home.distance(trees[i]) <= distance for i in found) for home, found in zip(homes, close)])


def canopy_shares(points: list, canopy: list, radius: float) -> np.ndarray:
    """Exact share of the disc of ``radius`` around each point under the canopy polygons."""
    union = unary_union(canopy)
    shares = []
    for point in points:
        disc = point.buffer(radius, 64)
        shares.append(disc.intersection(union).area / disc.area)
    return np.array(shares)
