"""An independent implementation of the catchments' documented rule, to check ``greenspacecatchments``.

Written from the text of DESIGN.md (``greenspacecatchments``, ``BARRIER_MODE``, ``BARRIER_SNAP``)
and the algorithm's help, sharing no code with ``core/green``: plain Python over dicts and lists,
networkx for the shortest paths, QGIS only to read the layers and for the green-space polygons
(GEOS union, distance). Far slower than the plugin (a town of 20,000 ways takes about a minute).

The rule as read from the text, and how it is done here:
- The network: every pair of consecutive vertices is a way; vertices on the same 1 cm grid point
  are one node; ways that cross without a shared vertex do not connect.
- A barrier line through the plane: a pedestrian changes sides only at a crossing (the barrier
  node nearest to a CROSSINGS point, within CROSSING_SNAP), on a bridge or tunnel, or round the
  barrier's end. Barrier lines closer than BARRIER_SNAP to each other's ends are one line (gaps
  shorter than BARRIER_SNAP are closed).
- Mode: automatic = per barrier feature topology when one of its vertices is a network node,
  else geometric; geometric = an at-grade way crossing the line farther than BARRIER_SNAP from
  its ends gets a node on the line there; topology = such a way is a bridge or underpass.
- A network node within BARRIER_SNAP of a barrier line lies ON the line, at its foot point (a
  node whose every way is a bridge or tunnel only where it is a vertex of the barrier). The line
  divides the node into sides: seen from the foot point, the directions in which the barrier
  lines that pass there leave the circle of radius BARRIER_SNAP; within BARRIER_SNAP of a
  barrier's end the line leaves it once only, so there is one side. A way from the node belongs
  to the side its far end lies in, seen from the foot point. A way between two nodes on the
  same barrier runs along it (both lie on the line): it is walkable on each side.
- A home reaches the nearest network point by a straight connector (at most MAX_CONNECTOR) that
  crosses no barrier line, on its own side of a way along a barrier. Access points: network nodes
  in or on a qualifying green space (a node on a barrier: the side that lies in it), and where a
  way crosses the green space's boundary. Distance = connector + shortest path; empty beyond
  5 x DISTANCE.
Not read here: ENTRANCES, RESIDENTIAL population (every home counts once), curved geometries.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

CM = 0.01  # vertices on the same 1 cm grid point are one node
ANGLE_SAME = 0.1  # barrier directions closer than this (radians) are one
NEAREST_SAME = 0.1  # barrier lines this much farther than the nearest one also divide a node
ALONG_ANGLE = 0.5  # a way within this angle (radians) of the barrier line runs along it, else across it
EPS = 1e-6  # distances this close to BARRIER_SNAP count as within it (float noise)


@dataclass
class Settings:
    """The catchments' parameters that this check reads."""

    distance: float = 400.0
    min_area_ha: float = 2.0
    merge_distance: float = 10.0
    max_connector: float = 200.0
    crossing_snap: float = 5.0
    barrier_snap: float = 1.0
    mode: int = 0  # 0 automatic, 1 topology, 2 geometric


# -- small geometry ------------------------------------------------------------------------------


def grid_key(x: float, y: float) -> tuple[int, int]:
    """The 1 cm grid point of a vertex."""
    return round(x / CM), round(y / CM)


def foot(px: float, py: float, ax: float, ay: float, bx: float, by: float) -> tuple[float, float, float, float]:
    """Nearest point of segment a-b to p: (fraction, x, y, distance)."""
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
    fx, fy = ax + t * dx, ay + t * dy
    return t, fx, fy, math.hypot(px - fx, py - fy)


def crossing(a, b, c, d) -> tuple[float, float] | None:
    """Fractions (along a-b, along c-d) where two segments cross or touch, None if they do not."""
    rx, ry, sx, sy = b[0] - a[0], b[1] - a[1], d[0] - c[0], d[1] - c[1]
    den = rx * sy - ry * sx
    if den == 0:
        return None
    qx, qy = c[0] - a[0], c[1] - a[1]
    t, u = (qx * sy - qy * sx) / den, (qx * ry - qy * rx) / den
    return (t, u) if 0 <= t <= 1 and 0 <= u <= 1 else None


def angle_of(dx: float, dy: float) -> float:
    """Direction in [0, 2 pi)."""
    return math.atan2(dy, dx) % (2 * math.pi)


class Grid:
    """Segments (or points) in square cells: who is near a point or a box."""

    def __init__(self, cell: float) -> None:
        self.cell = cell
        self.cells: dict[tuple[int, int], list[int]] = defaultdict(list)

    def add(self, item: int, x0: float, y0: float, x1: float, y1: float) -> None:
        c = self.cell
        for i in range(math.floor(min(x0, x1) / c), math.floor(max(x0, x1) / c) + 1):
            for j in range(math.floor(min(y0, y1) / c), math.floor(max(y0, y1) / c) + 1):
                self.cells[i, j].append(item)

    def near(self, x0: float, y0: float, x1: float, y1: float, margin: float) -> set[int]:
        c, out = self.cell, set()
        for i in range(math.floor((min(x0, x1) - margin) / c), math.floor((max(x0, x1) + margin) / c) + 1):
            for j in range(math.floor((min(y0, y1) - margin) / c), math.floor((max(y0, y1) + margin) / c) + 1):
                out.update(self.cells.get((i, j), ()))
        return out


# -- barriers --------------------------------------------------------------------------------------


@dataclass
class Barriers:
    """Barrier segments: ends, feature, geometric or not; an index; segments by end point."""

    seg: list[tuple[tuple[float, float], tuple[float, float]]] = field(default_factory=list)
    feature: list[int] = field(default_factory=list)
    geometric: list[bool] = field(default_factory=list)
    grid: Grid = field(default_factory=lambda: Grid(25.0))
    at_point: dict[tuple[int, int], list[int]] = field(default_factory=lambda: defaultdict(list))

    def add(self, a, b, feature: int, geometric: bool) -> None:
        if grid_key(*a) == grid_key(*b):
            return
        k = len(self.seg)
        self.seg.append((a, b))
        self.feature.append(feature)
        self.geometric.append(geometric)
        self.grid.add(k, a[0], a[1], b[0], b[1])
        self.at_point[grid_key(*a)].append(k)
        self.at_point[grid_key(*b)].append(k)

    def free_end(self, k: int, point: tuple[float, float]) -> bool:
        """Whether ``point``, an end of segment ``k``, is an end of the barrier: no other segment there."""
        return len(self.at_point[grid_key(*point)]) == 1 and all(o == k for _, o, _, _ in self.nearest(*point, CM))

    def nearest(self, x: float, y: float, radius: float, only=None) -> list[tuple[float, int, float, float]]:
        """(distance, segment, foot x, foot y) of the segments within ``radius``, nearest first."""
        out = []
        for k in self.grid.near(x, y, x, y, radius):
            if only is not None and k not in only:
                continue
            (ax, ay), (bx, by) = self.seg[k]
            _, fx, fy, d = foot(x, y, ax, ay, bx, by)
            if d <= radius:
                out.append((d, k, fx, fy))
        return sorted(out)


def build_barriers(lines: list[tuple[list, int]], node_keys: set, settings: Settings) -> Barriers:
    """Barrier segments with their mode, gaps shorter than BARRIER_SNAP closed."""
    shares = defaultdict(bool)
    for coords, feature in lines:
        shares[feature] |= any(grid_key(*p) in node_keys for p in coords)
    geometric = {f: (settings.mode == 2 or (settings.mode == 0 and not s)) for f, s in shares.items()}
    lines = [list(coords) for coords, _ in lines], [f for _, f in lines]
    coords_of, feature_of = lines
    closing = close_gaps(coords_of, settings.barrier_snap)
    barriers = Barriers()
    for i, coords in enumerate(coords_of):
        for a, b in zip(coords[:-1], coords[1:]):
            barriers.add(a, b, feature_of[i], geometric[feature_of[i]])
    for i, a, b in closing:
        barriers.add(a, b, feature_of[i], geometric[feature_of[i]])
    return barriers


def close_gaps(coords_of: list[list], gap: float) -> list[tuple[int, tuple, tuple]]:
    """Lines (owner, end, foot) from each free line end to the nearest point of another line within ``gap``.

    The foot lies on the other line (it need not be a vertex of it): the joined end is then no
    end of the barrier (see :meth:`Barriers.free_end`).
    """
    plain = Barriers()
    owner = []
    for i, coords in enumerate(coords_of):
        for a, b in zip(coords[:-1], coords[1:]):
            if grid_key(*a) != grid_key(*b):
                plain.add(a, b, i, False)
                owner.append(i)
    closing = []
    for i, coords in enumerate(coords_of):
        for end in (coords[0], coords[-1]):
            others = [h for h in plain.nearest(end[0], end[1], gap + EPS) if owner[h[1]] != i]
            if not others or others[0][0] <= CM:
                continue  # nothing near, or it meets another line already
            _, _, fx, fy = others[0]
            closing.append((i, end, (fx, fy)))
    return closing


# -- the walking network -------------------------------------------------------------------------


@dataclass
class Network:
    """Nodes on the 1 cm grid and ways between them (at grade or not)."""

    xy: list[tuple[float, float]] = field(default_factory=list)
    ids: dict[tuple[int, int], int] = field(default_factory=dict)
    ways: dict[tuple[int, int], bool] = field(default_factory=dict)  # (a, b), a < b -> at grade

    def node(self, x: float, y: float) -> int:
        k = grid_key(x, y)
        if k not in self.ids:
            self.ids[k] = len(self.xy)
            self.xy.append((k[0] * CM, k[1] * CM))
        return self.ids[k]

    def add_way(self, a: int, b: int, at_grade: bool) -> None:
        if a != b:
            pair = (min(a, b), max(a, b))
            self.ways[pair] = self.ways.get(pair, False) or at_grade


def build_network(lines: list[tuple[list, bool]]) -> Network:
    """``lines``: (vertices, bridge or tunnel) per line part."""
    net = Network()
    for coords, grade_separated in lines:
        ids = [net.node(x, y) for x, y in coords]
        for a, b in zip(ids[:-1], ids[1:]):
            net.add_way(a, b, not grade_separated)
    return net


def cut_ways(net: Network, barriers: Barriers, settings: Settings) -> Network:
    """Geometric barriers: a node on the line where an at-grade way crosses it away from its ends."""
    tol = max(settings.barrier_snap, CM) + EPS
    out = Network(list(net.xy), dict(net.ids), {})
    for (a, b), at_grade in net.ways.items():
        pa, pb = net.xy[a], net.xy[b]
        length = math.hypot(pb[0] - pa[0], pb[1] - pa[1])
        cuts = []
        if at_grade:
            for k in barriers.grid.near(pa[0], pa[1], pb[0], pb[1], 0.0):
                hit = crossing(pa, pb, *barriers.seg[k]) if barriers.geometric[k] else None
                if hit and hit[0] * length > tol and (1 - hit[0]) * length > tol:
                    cuts.append(hit[0])
        chain = [a] + [out.node(pa[0] + t * (pb[0] - pa[0]), pa[1] + t * (pb[1] - pa[1])) for t in sorted(cuts)] + [b]
        for u, v in zip(chain[:-1], chain[1:]):
            out.add_way(u, v, at_grade)
    return out


@dataclass
class Sides:
    """Barrier nodes: foot point on the line, sorted directions of the line there, a tangent."""

    foot: dict[int, tuple[float, float]] = field(default_factory=dict)
    directions: dict[int, list[float]] = field(default_factory=dict)
    tangent: dict[int, float] = field(default_factory=dict)
    segment: dict[int, int] = field(default_factory=dict)


def directions_at(barriers: Barriers, near: list, radius: float) -> list[float]:
    """Directions in which the nearest barrier lines run on from their foot points (sorted, distinct).

    A line runs on in a direction unless it ends there within ``radius`` (BARRIER_SNAP) of the
    foot: a free end (touching no other barrier line), or a vertex where the next segment takes
    over (that segment, as near, gives its own direction).
    """
    found = []
    for _, k, fx, fy in near:
        (ax, ay), (bx, by) = barriers.seg[k]
        to_start, to_end = math.hypot(fx - ax, fy - ay), math.hypot(bx - fx, by - fy)
        start_free, end_free = barriers.free_end(k, (ax, ay)), barriers.free_end(k, (bx, by))
        runs_on_forward = to_end > (radius if end_free else CM)
        runs_on_backward = to_start > (radius if start_free else CM)
        if start_free and end_free and not (runs_on_forward or runs_on_backward):
            continue  # a short piece of barrier wholly within reach: no side to split
        if runs_on_forward and (runs_on_backward or to_end >= to_start or not start_free):
            found.append(angle_of(bx - ax, by - ay))
        if runs_on_backward and (runs_on_forward or to_start > to_end or not end_free):
            found.append(angle_of(ax - bx, ay - by))
    found.sort()
    # nearly equal directions are one: a run of directions, each within ANGLE_SAME of the one before
    distinct = [a for i, a in enumerate(found) if i == 0 or a - found[i - 1] >= ANGLE_SAME]
    if len(distinct) > 1 and found[0] + 2 * math.pi - found[-1] < ANGLE_SAME:
        distinct.pop()
    return distinct


def find_sides(net: Network, barriers: Barriers, crossings: list, settings: Settings) -> Sides:
    """Which nodes lie on a barrier, their foot points and the barrier's directions there."""
    at_grade = set()
    for (a, b), flat in net.ways.items():
        if flat:
            at_grade.update((a, b))
    sides = Sides()
    radius = max(settings.barrier_snap, CM) + EPS
    for n, (x, y) in enumerate(net.xy):
        if n in at_grade:
            near = barriers.nearest(x, y, radius)
        elif grid_key(x, y) in barriers.at_point:  # a bridge node: on the barrier only at its vertex
            near = barriers.nearest(x, y, CM)
        else:
            continue
        if not near:
            continue
        d0, k0, fx, fy = near[0]
        sides.foot[n] = (fx, fy)
        sides.segment[n] = k0
        (ax, ay), (bx, by) = barriers.seg[k0]
        sides.tangent[n] = angle_of(bx - ax, by - ay)
        sides.directions[n] = directions_at(barriers, [h for h in near if h[0] <= d0 + NEAREST_SAME], radius)
    for cx, cy in crossings:  # a crossing joins the sides of the nearest node on a barrier (one it divides)
        best = min(((math.hypot(x - cx, y - cy), n) for n in sides.foot for x, y in [net.xy[n]]
                    if sides.directions[n] and abs(x - cx) <= settings.crossing_snap
                    and abs(y - cy) <= settings.crossing_snap), default=None)  # fmt: skip
        if best is not None and best[0] <= settings.crossing_snap:
            sides.directions[best[1]] = []
    return sides


@dataclass
class Way:
    """A way of the sided graph: its nodes, ends, length and, along a barrier, the normal to its side."""

    u: int
    v: int
    a: tuple[float, float]
    b: tuple[float, float]
    length: float
    side: tuple[float, float] | None = None
    across: bool = False  # across a barrier's band: no side to test a green boundary on


class SidedGraph:
    """Node copies per side of a barrier node, and the ways between them."""

    def __init__(self, net: Network, sides: Sides) -> None:
        self.net, self.sides = net, sides
        self.base, total = [], 0
        for n in range(len(net.xy)):
            self.base.append(total)
            total += self.copies(n)
        self.n_nodes = total
        self.ways: list[Way] = []

    def copies(self, n: int) -> int:
        d = self.sides.directions.get(n, ())
        return len(d) if len(d) > 1 else 1

    def sector(self, n: int, angle: float) -> int:
        """Copy of node ``n`` whose side holds ``angle`` (as seen from its foot point)."""
        d = self.sides.directions.get(n, ())
        if len(d) < 2:
            return self.base[n]
        i = len(d) - 1
        for j, a in enumerate(d):
            if a <= angle:
                i = j
        return self.base[n] + i

    def beside(self, n: int, angle: float) -> tuple[int, int]:
        """Copies on the left and on the right of the barrier direction nearest to ``angle``."""
        d = self.sides.directions.get(n, ())
        if len(d) < 2:
            return self.base[n], self.base[n]
        j = min(range(len(d)), key=lambda i: abs(math.remainder(angle - d[i], 2 * math.pi)))
        return self.base[n] + j, self.base[n] + (j - 1) % len(d)

    def probe(self, copy_node: int, n: int, step: float = 0.5) -> tuple[float, float]:
        """A point ``step`` m from node ``n`` into the side of ``copy_node``."""
        d = self.sides.directions.get(n, ())
        if len(d) < 2:
            return self.net.xy[n]
        i = copy_node - self.base[n]
        end = d[(i + 1) % len(d)] + (2 * math.pi if i == len(d) - 1 else 0.0)
        mid = (d[i] + end) / 2
        x, y = self.net.xy[n]
        return x + step * math.cos(mid), y + step * math.sin(mid)


def along(net: Network, sides: Sides, barriers: Barriers, a: int, b: int, snap: float) -> bool:
    """A way between two nodes on the same barrier line whose middle lies on it too."""
    if a not in sides.foot or b not in sides.foot:
        return False
    (ax, ay), (bx, by) = net.xy[a], net.xy[b]
    middle = barriers.nearest((ax + bx) / 2, (ay + by) / 2, max(snap, CM) + EPS)
    if not middle:
        return False
    k = middle[0][1]
    line = {k, *(o for end in barriers.seg[k] for o in barriers.at_point[grid_key(*end)])}  # k and its neighbours
    for n, (x, y) in ((a, (ax, ay)), (b, (bx, by))):  # both ends lie on the line the middle lies on
        near = foot(x, y, *barriers.seg[k][0], *barriers.seg[k][1])[3] <= max(snap, CM) + EPS + NEAREST_SAME
        if not near and sides.segment[n] not in line:
            return False
    return True


def sided_graph(net: Network, sides: Sides, barriers: Barriers, settings: Settings) -> SidedGraph:
    """Ways attached to the copy of the side they lead into; ways along a barrier once per side."""
    g = SidedGraph(net, sides)
    for a, b in net.ways:
        pa, pb = net.xy[a], net.xy[b]
        length = math.hypot(pb[0] - pa[0], pb[1] - pa[1])
        if along(net, sides, barriers, a, b, settings.barrier_snap):
            reach = max(settings.barrier_snap, CM) + EPS
            _, k, _, _ = barriers.nearest((pa[0] + pb[0]) / 2, (pa[1] + pb[1]) / 2, reach)[0]
            (ax, ay), (bx, by) = barriers.seg[k]  # the line the way runs on, pointing from a towards b
            theta_a = angle_of(bx - ax, by - ay)
            if (bx - ax) * (pb[0] - pa[0]) + (by - ay) * (pb[1] - pa[1]) < 0:
                theta_a = (theta_a + math.pi) % (2 * math.pi)
            own = angle_of(pb[0] - pa[0], pb[1] - pa[1])
            across = abs(math.remainder(own - theta_a, 2 * math.pi)) >= ALONG_ANGLE
            if not across:
                theta_a = own  # a way that runs along the line: its own direction tells left from right
            theta_b = (theta_a + math.pi) % (2 * math.pi)
            left_a, right_a = g.beside(a, theta_a)
            left_b, right_b = g.beside(b, theta_b)
            normal = (-math.sin(theta_a), math.cos(theta_a))
            g.ways.append(Way(left_a, right_b, pa, pb, length, normal, across))
            g.ways.append(Way(right_a, left_b, pa, pb, length, (-normal[0], -normal[1]), across))
            continue
        ends = []
        stays = not crosses_barrier(barriers, pa, pb, both_ends=True)
        for n, other in ((a, pb), (b, pa)):
            x, y = net.xy[n]
            fx, fy = sides.foot.get(n, (x, y))
            if stays and math.hypot(x - fx, y - fy) > CM:  # a way that crosses no barrier stays on its node's side
                ends.append(g.sector(n, angle_of(x - fx, y - fy)))
            else:
                ends.append(g.sector(n, angle_of(other[0] - x, other[1] - y)))
        g.ways.append(Way(ends[0], ends[1], pa, pb, length))
    return g


# -- green spaces, access points, homes -----------------------------------------------------------


def qualifying_greens(parcels: list, settings: Settings) -> list:
    """Parcels closer than MERGE_DISTANCE merged (union), those of at least MIN_AREA_HA (QgsGeometry)."""
    from qgis.core import QgsGeometry

    parent = list(range(len(parcels)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    boxes = [p.boundingBox() for p in parcels]
    for i in range(len(parcels)):
        for j in range(i + 1, len(parcels)):
            bi, bj = boxes[i], boxes[j]
            m = settings.merge_distance
            if (bi.xMinimum() - m > bj.xMaximum() or bj.xMinimum() - m > bi.xMaximum()
                    or bi.yMinimum() - m > bj.yMaximum() or bj.yMinimum() - m > bi.yMaximum()):  # fmt: skip
                continue
            if parcels[i].intersects(parcels[j]) or parcels[i].distance(parcels[j]) < m:
                parent[root(i)] = root(j)
    groups = defaultdict(list)
    for i in range(len(parcels)):
        groups[root(i)].append(parcels[i])
    merged = [QgsGeometry.unaryUnion(g) if len(g) > 1 else g[0] for g in groups.values()]
    return [g for g in merged if g.area() >= settings.min_area_ha * 10_000]


class Greens:
    """Qualifying green spaces: containment within 10 cm and boundary segments."""

    def __init__(self, geometries: list) -> None:
        from qgis.core import QgsGeometry

        self.geometries = geometries
        self.engines = []
        self.boxes = []
        self.boundary = Grid(20.0)
        self.segments = []
        for g in geometries:
            engine = QgsGeometry.createGeometryEngine(g.constGet())
            engine.prepareGeometry()
            self.engines.append(engine)
            box = g.boundingBox()
            self.boxes.append((box.xMinimum(), box.yMinimum(), box.xMaximum(), box.yMaximum()))
            for part in g.asGeometryCollection():
                for ring in part.asPolygon():
                    for a, b in zip(ring[:-1], ring[1:]):
                        k = len(self.segments)
                        self.segments.append(((a.x(), a.y()), (b.x(), b.y())))
                        self.boundary.add(k, a.x(), a.y(), b.x(), b.y())

    def contains(self, x: float, y: float) -> bool:
        from qgis.core import QgsPoint

        for (x0, y0, x1, y1), engine in zip(self.boxes, self.engines):
            if x0 - 0.1 <= x <= x1 + 0.1 and y0 - 0.1 <= y <= y1 + 0.1 and engine.distance(QgsPoint(x, y)) <= 0.1:
                return True
        return False

    def crossings(self, a, b) -> list[float]:
        """Fractions along a-b where it crosses a green space's boundary."""
        out = []
        for k in self.boundary.near(a[0], a[1], b[0], b[1], 0.0):
            hit = crossing(a, b, *self.segments[k])
            if hit:
                out.append(hit[0])
        return out


def access_graph(g: SidedGraph, greens: Greens) -> tuple[list[Way], set[int], int]:
    """Ways split where they cross a green boundary; the access nodes; the number of nodes."""
    sources = set()
    for n, (x, y) in enumerate(g.net.xy):
        for i in range(g.copies(n)):
            px, py = g.probe(g.base[n] + i, n) if g.copies(n) > 1 else (x, y)
            if greens.contains(px, py):
                sources.add(g.base[n] + i)
    ways, n_nodes = [], g.n_nodes
    for w in g.ways:
        shift = (0.0, 0.0) if w.side is None or w.across else (0.5 * w.side[0], 0.5 * w.side[1])
        a = (w.a[0] + shift[0], w.a[1] + shift[1])
        b = (w.b[0] + shift[0], w.b[1] + shift[1])
        ts = sorted(set(t for t in greens.crossings(a, b) if 1e-9 < t < 1 - 1e-9))
        if not ts:
            ways.append(w)
            continue
        chain, points = [w.u], [w.a]
        for t in ts:
            chain.append(n_nodes)
            sources.add(n_nodes)
            points.append((w.a[0] + t * (w.b[0] - w.a[0]), w.a[1] + t * (w.b[1] - w.a[1])))
            n_nodes += 1
        chain.append(w.v)
        points.append(w.b)
        for i in range(len(chain) - 1):
            pa, pb = points[i], points[i + 1]
            ways.append(Way(chain[i], chain[i + 1], pa, pb, math.hypot(pb[0] - pa[0], pb[1] - pa[1]), w.side, w.across))
    return ways, sources, n_nodes


def crosses_barrier(barriers: Barriers, p, q, both_ends: bool = False) -> bool:
    """Whether p-q crosses a barrier line (not counting a touch at q or within 1 cm of p).

    ``both_ends``: nor within 1 cm of q.
    """
    length = math.hypot(q[0] - p[0], q[1] - p[1])
    if length == 0:
        return False
    for k in barriers.grid.near(p[0], p[1], q[0], q[1], 0.0):
        hit = crossing(p, q, *barriers.seg[k])
        if hit and hit[0] * length > CM and (hit[0] < 1 - 1e-9 if not both_ends else (1 - hit[0]) * length > CM):
            return True
    return False


def attach(home, ways: list[Way], index: Grid, barriers: Barriers, settings: Settings):
    """Nearest way reachable by a connector on the home's side: (way, fraction, connector) or None."""
    x, y = home
    candidates = []
    for k in index.near(x, y, x, y, settings.max_connector):
        w = ways[k]
        t, fx, fy, d = foot(x, y, w.a[0], w.a[1], w.b[0], w.b[1])
        if d <= settings.max_connector:
            candidates.append((d, k, t, (fx, fy)))
    for d, k, t, q in sorted(candidates):
        w = ways[k]
        target = q
        if w.across:
            continue  # a short way straight across a barrier's band: which copy is the home's side is unclear
        if w.side is not None:  # a way along a barrier: the home must be on this copy's side of the line
            near = barriers.nearest(q[0], q[1], max(settings.barrier_snap, CM) + 1.0)
            if near:
                _, _, bx, by = near[0]
                if (x - bx) * w.side[0] + (y - by) * w.side[1] <= 0:
                    continue
                target = (bx + CM * w.side[0], by + CM * w.side[1])
        if not crosses_barrier(barriers, home, target):
            return k, t, d
    return None


def walking_distances(ways: list[Way], sources: set[int], limit: float) -> dict[int, float]:
    """Shortest walk from the nearest access point to every node within ``limit`` (networkx)."""
    import networkx as nx

    graph = nx.Graph()
    for w in ways:
        if w.u == w.v:
            continue
        old = graph.get_edge_data(w.u, w.v)
        if old is None or old["weight"] > w.length:
            graph.add_edge(w.u, w.v, weight=w.length)
    graph.add_nodes_from(sources)
    return nx.multi_source_dijkstra_path_length(graph, sources, cutoff=limit)


def home_distances(homes: list, ways: list[Way], dist: dict, barriers: Barriers, settings: Settings) -> list:
    """Connector plus walk for every home (None: not attached, or farther than 5 x DISTANCE)."""
    index = Grid(50.0)
    for k, w in enumerate(ways):
        index.add(k, w.a[0], w.a[1], w.b[0], w.b[1])
    limit = 5 * settings.distance
    out = []
    for home in homes:
        hit = None if home is None else attach(home, ways, index, barriers, settings)
        if hit is None:
            out.append(None)
            continue
        k, t, connector = hit
        w = ways[k]
        best = min(dist.get(w.u, math.inf) + t * w.length, dist.get(w.v, math.inf) + (1 - t) * w.length)
        total = connector + best
        out.append(total if total <= limit else None)
    return out


# -- reading the layers (QGIS) and one run ---------------------------------------------------------


def _line_parts(geometry) -> list[list[tuple[float, float]]]:
    if geometry.isNull() or geometry.isEmpty():
        return []
    parts = geometry.asMultiPolyline() if geometry.isMultipart() else [geometry.asPolyline()]
    return [[(p.x(), p.y()) for p in part] for part in parts if len(part) >= 2]


def _features(path_or_layer, crs=None):
    """(feature, geometry in ``crs``) of a layer or a path."""
    from qgis.core import QgsCoordinateTransform, QgsProject, QgsVectorLayer

    layer = path_or_layer
    if not isinstance(layer, QgsVectorLayer):
        layer = QgsVectorLayer(str(path_or_layer), "l", "ogr")
    transform = None
    if crs is not None and layer.crs().isValid() and layer.crs() != crs:
        transform = QgsCoordinateTransform(layer.crs(), crs, QgsProject.instance())
    for f in layer.getFeatures():
        g = f.geometry()
        if transform is not None and not g.isNull():
            g.transform(transform)
        yield f, g


def _truthy(value) -> bool:
    from qgis.core import NULL

    return value is not None and value != NULL and str(value).strip().lower() not in ("", "no", "null")


def read_inputs(layers: dict, crs) -> dict:
    """Network lines with their grade flag, barrier lines with their feature, crossings, greens, homes."""
    from qgis.core import QgsWkbTypes

    network = []
    for f, g in _features(layers["network"], crs):
        names = f.fields().names()
        grade = any(_truthy(f[n]) for n in ("bridge", "tunnel") if n in names)
        network.extend((part, grade) for part in _line_parts(g))
    barrier_lines = []
    if layers.get("barriers") is not None:
        for i, (_, g) in enumerate(_features(layers["barriers"], crs)):
            barrier_lines.extend((part, i) for part in _line_parts(g))
    crossings = []
    if layers.get("crossings") is not None:
        crossings = [(p.x(), p.y()) for _, g in _features(layers["crossings"], crs) for p in g.vertices()]
    parcels = []
    for _, g in _features(layers["green_spaces"], crs):
        if not g.isGeosValid():
            g = g.makeValid()
        polygons = [p for p in g.asGeometryCollection() if p.type() == QgsWkbTypes.PolygonGeometry]
        parcels.extend(p for p in polygons if p.area() > 0)
    homes = []
    for _, g in _features(layers["buildings"], crs):
        if not g.isNull() and not g.isGeosValid():
            g = g.makeValid()
        point = None if g.isNull() or g.isEmpty() else g.pointOnSurface()
        homes.append(None if point is None or point.isEmpty() else (point.asPoint().x(), point.asPoint().y()))
    return {"network": network, "barriers": barrier_lines, "crossings": crossings, "parcels": parcels, "homes": homes}


def run(layers: dict, settings: Settings) -> list:
    """Walking distance of every home (in the buildings' feature order; None where none)."""
    from qgis.core import QgsVectorLayer

    network_layer = layers["network"]
    if not isinstance(network_layer, QgsVectorLayer):
        network_layer = QgsVectorLayer(str(network_layer), "network", "ogr")
    data = read_inputs(layers, network_layer.crs())
    net = build_network(data["network"])
    barriers = build_barriers(data["barriers"], set(net.ids), settings)
    net = cut_ways(net, barriers, settings)
    sides = find_sides(net, barriers, data["crossings"], settings)
    graph = sided_graph(net, sides, barriers, settings)
    greens = Greens(qualifying_greens(data["parcels"], settings))
    ways, sources, _ = access_graph(graph, greens)
    dist = walking_distances(ways, sources, 5 * settings.distance)
    return home_distances(data["homes"], ways, dist, barriers, settings)
