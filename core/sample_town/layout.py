"""Layout of the sample town: street grid, parks, special paths, network ways, crossings, green spaces.

The grid of roughly 125 m blocks is split into four quarters by a ``primary`` (west-east) and a
``secondary`` (south-north) arterial. Ways share exact vertices where they connect; runs of
one class along a grid line become one way, split where the line meets an arterial.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from .model import (
    BLOCK_M,
    EDGE_M,
    LAYER_DESCRIPTIONS,
    ORIGIN,
    PARK_NAMES,
    SETBACK_M,
    STREET_NAMES,
    Layer,
    Point,
    rect,
    rounded,
)

NETWORK_FIELDS = [
    ("way_id", "int"),
    ("highway", "str"),
    ("name", "str"),
    ("bridge", "str"),
    ("tunnel", "str"),
    ("layer", "int"),
]


def lot_count(width: float) -> int:
    """Return the number of house lots along a block side of ``width`` metres (about 20 m each)."""
    return max(2, int(width // 20.0))


class Grid:
    """Street grid: line positions, arterial lines, block ranges."""

    def __init__(self, rng: np.random.Generator, size_m: float) -> None:
        inner = size_m - 2 * EDGE_M
        self.n = max(8, 4 * round(inner / (4 * BLOCK_M)))
        self.q = self.n // 2
        self.h = self.q // 2
        self.ia = self.ja = self.q
        # The twin parcels' blocks get fixed sizes so that each is < 2 ha and both together > 2 ha.
        self.twin_cols = (self.h - 1, self.h)
        self.twin_row = self.ja + self.h
        widths = rng.uniform(0.88, 1.12, self.n)
        heights = rng.uniform(0.88, 1.12, self.n)
        fixed_w = {self.twin_cols[0]: 130.0, self.twin_cols[1]: 130.0}
        fixed_h = {self.twin_row: 125.0}
        self.X = self._positions(widths, fixed_w, inner, ORIGIN[0] + EDGE_M)
        self.Y = self._positions(heights, fixed_h, inner, ORIGIN[1] + EDGE_M)
        self.x_min, self.y_min = ORIGIN
        self.x_max, self.y_max = ORIGIN[0] + size_m, ORIGIN[1] + size_m

    @staticmethod
    def _positions(weights: np.ndarray, fixed: dict[int, float], total: float, start: float) -> list[float]:
        free = [i for i in range(len(weights)) if i not in fixed]
        spacing = np.array(weights, dtype=float)
        spacing[free] *= (total - sum(fixed.values())) / spacing[free].sum()
        for i, value in fixed.items():
            spacing[i] = value
        return rounded(start + np.concatenate([[0.0], np.cumsum(spacing)]))

    def interior(self, bi: int, bj: int) -> tuple[float, float, float, float]:
        """Block interior (street centre lines minus the setback)."""
        s = SETBACK_M
        return self.X[bi] + s, self.Y[bj] + s, self.X[bi + 1] - s, self.Y[bj + 1] - s


@dataclass
class Park:
    """A green space: its rectangle, its blocks and its entrances (point, index of the path way)."""

    name: str
    rect: tuple[float, float, float, float]
    blocks: list[tuple[int, int]]
    entrances: list[tuple[Point, int]] = field(default_factory=list)  # (point, way index)


class TownBuilder:
    """Builds all layers of a town; one instance per generation."""

    def __init__(self, seed: int, size_km: float) -> None:
        self.seed = seed
        self.size_m = size_km * 1000.0
        self.rng = np.random.default_rng([seed, 1])
        self.grid = Grid(np.random.default_rng([seed, 0]), self.size_m)
        g = self.grid
        # edge classes: vertical edge (i, j) runs from (X[i], Y[j]) to (X[i], Y[j+1]); horizontal likewise
        self.v_class = [["residential"] * g.n for _ in range(g.n + 1)]
        self.h_class = [["residential"] * g.n for _ in range(g.n + 1)]
        self.v_extra: dict[int, set[float]] = {}
        self.h_extra: dict[int, set[float]] = {}
        self.ways: list[tuple[list[Point], str, str, Optional[str], Optional[str], int]] = []
        self.parks: list[Park] = []
        self.block_kind: dict[tuple[int, int], str] = {}
        self.service_lanes: list[tuple[int, int, float]] = []
        self.facts: dict[str, Any] = {"origin": ORIGIN, "size_m": self.size_m, "blocks": g.n}

    # ----------------------------------------------------------------- layout
    def plan(self) -> None:
        """Decide arterials, parks, special paths and block kinds."""
        g = self.grid
        for j in range(g.n):
            self.v_class[g.ia][j] = "secondary"
        for i in range(g.n):
            self.h_class[g.ja][i] = "primary"
        self._living_streets()
        h = g.h
        names = [str(name) for name in self.rng.permutation(PARK_NAMES)]
        self._add_park(names.pop(), range(h - 2, h), range(h - 2, h))  # south-west, big
        ne = self._add_park(names.pop(), range(g.ia + h, g.ia + h + 2), range(g.ja, g.ja + 2))  # touches primary
        self.facts["park_across_primary"] = ne.name
        self._add_twin_parcels()
        self._reserve_crossing_paths()
        self._more_big_parks()
        self._small_parks()
        self._block_kinds()

    def _living_streets(self) -> None:
        g = self.grid
        for j in range(1, g.n):
            if j == g.ja:
                continue
            for half in (range(0, g.ia), range(g.ia, g.n)):
                if self.rng.random() < 0.15:
                    for i in half:
                        self.h_class[j][i] = "living_street"

    def _add_park(self, name: str, cols: range, rows: range) -> Park:
        g = self.grid
        s = SETBACK_M
        bounds = (g.X[cols.start] + s, g.Y[rows.start] + s, g.X[cols.stop] - s, g.Y[rows.stop] - s)
        park = Park(name, bounds, [(i, j) for i in cols for j in rows])
        for i in range(cols.start + 1, cols.stop):
            for j in rows:
                self.v_class[i][j] = f"park{len(self.parks)}"
        for j in range(rows.start + 1, rows.stop):
            for i in cols:
                self.h_class[j][i] = f"park{len(self.parks)}"
        self.parks.append(park)
        for block in park.blocks:
            self.block_kind[block] = "park"
        return park

    def _add_twin_parcels(self) -> None:
        """Two parcels separated by a narrow footway: small alone, > 2 ha merged."""
        g = self.grid
        (c0, c1), row = g.twin_cols, g.twin_row
        gap = round(float(self.rng.uniform(5.5, 7.5)), 1)
        s = SETBACK_M
        xm = g.X[c1]
        west = Park("Auenwiese West", (g.X[c0] + s, g.Y[row] + s, xm - gap / 2, g.Y[row + 1] - s), [(c0, row)])
        east = Park("Auenwiese Ost", (xm + gap / 2, g.Y[row] + s, g.X[c1 + 1] - s, g.Y[row + 1] - s), [(c1, row)])
        self.v_class[c1][row] = "footway"
        for park in (west, east):
            self.parks.append(park)
            self.block_kind[park.blocks[0]] = "park"
        self.facts["twin_parcels"] = (west.name, east.name)
        self.facts["twin_gap_m"] = gap

    def _reserve_crossing_paths(self) -> None:
        """Footbridge over the secondary and underpass below the primary (no shared vertex)."""
        g = self.grid
        row = g.ja + 1
        y_mid = round((g.Y[row] + g.Y[row + 1]) / 2, 2)
        self.footbridge = (y_mid, g.ia - 1, g.ia + 1)
        for i in (g.ia - 1, g.ia + 1):
            self.v_extra.setdefault(i, set()).add(y_mid)
        self.block_kind[(g.ia - 1, row)] = "houses_ns"
        self.block_kind[(g.ia, row)] = "houses_ns"
        col = 1
        x_mid = round((g.X[col] + g.X[col + 1]) / 2, 2)
        self.underpass = (x_mid, g.ja - 1, g.ja + 1)
        for j in (g.ja - 1, g.ja + 1):
            self.h_extra.setdefault(j, set()).add(x_mid)
        self.block_kind[(col, g.ja - 1)] = "houses_ew"
        self.block_kind[(col, g.ja)] = "houses_ew"

    def _more_big_parks(self) -> None:
        """In towns larger than 2 km, about one more 2x2-block park per 2 km², away from the north-east park."""
        g = self.grid
        wanted = max(0, round(2 * (g.n / 16) ** 2) - 2)
        if not wanted:
            return
        ne_cols = range(g.ia + g.h - 4, g.ia + g.h + 6)
        candidates = [
            (bi, bj)
            for bi in range(g.n - 1)
            for bj in range(g.n - 1)
            if bi + 1 != g.ia and bj + 1 != g.ja and not (bi in ne_cols and g.ja - 5 <= bj < g.ja + 2)
        ]
        names = ["Grünzug", "Volkspark", "Stadtwald", "Wiesenpark", "Bürgergarten"]
        for index in self.rng.permutation(len(candidates)):
            if wanted == 0:
                break
            bi, bj = candidates[int(index)]
            blocks = [(bi + a, bj + b) for a in (-1, 0, 1, 2) for b in (-1, 0, 1, 2)]
            if any(block in self.block_kind for block in blocks):
                continue  # keep a ring of built blocks around every park
            name = f"{names[wanted % len(names)]} {wanted}"
            self._add_park(name, range(bi, bi + 2), range(bj, bj + 2))
            wanted -= 1

    def _small_parks(self) -> None:
        g = self.grid
        count = max(2, round(g.n * g.n / 64))
        free = [(i, j) for i in range(g.n) for j in range(g.n) if (i, j) not in self.block_kind]
        picks = self.rng.choice(len(free), size=count, replace=False)
        names = ["Spielplatz", "Quartiersgrün", "Anger", "Pocket Park", "Stadtgarten"]
        for k, index in enumerate(sorted(int(p) for p in picks)):
            bi, bj = free[index]
            park = Park(f"{names[k % len(names)]} {k + 1}", self.grid.interior(bi, bj), [(bi, bj)])
            self.parks.append(park)
            self.block_kind[(bi, bj)] = "park"

    def _block_kinds(self) -> None:
        g = self.grid
        for bi in range(g.n):
            for bj in range(g.n):
                if (bi, bj) in self.block_kind:
                    continue
                to_arterial = min(abs(bi + 0.5 - g.ia), abs(bj + 0.5 - g.ja))
                if to_arterial < 1:
                    p = (0.55, 0.2, 0.25)
                elif to_arterial < 3:
                    p = (0.4, 0.1, 0.5)
                else:
                    p = (0.2, 0.05, 0.75)
                kind = str(self.rng.choice(["apartments", "commercial", "houses"], p=p))
                if kind == "houses":
                    kind = "houses_ns" if self.rng.random() < 0.5 else "houses_ew"
                self.block_kind[(bi, bj)] = kind

    # ---------------------------------------------------------------- network
    def build_network(self) -> None:
        """Assemble ways: streets per grid line, park paths, special paths, service lanes."""
        g = self.grid
        self.street_name_v = [f"{STREET_NAMES[i % len(STREET_NAMES)]}straße" for i in range(g.n + 1)]
        self.street_name_h = [f"{STREET_NAMES[(i + 13) % len(STREET_NAMES)]}weg" for i in range(g.n + 1)]
        self.street_name_v[g.ia] = "Bahnhofstraße"
        self.street_name_h[g.ja] = "Hauptstraße"
        self._plan_service_lanes()
        self.arterial_way_ids: list[int] = []
        for i in range(g.n + 1):
            self._line_ways(i, vertical=True)
        for j in range(g.n + 1):
            self._line_ways(j, vertical=False)
        self._small_park_paths()
        self._special_paths()

    def _plan_service_lanes(self) -> None:
        g = self.grid
        for (bi, bj), kind in sorted(self.block_kind.items()):
            if kind != "houses_ns" or bj == 0 or self.h_class[bj][bi] not in ("residential", "living_street"):
                continue
            if (bi, bj) in ((g.ia - 1, g.ja + 1), (g.ia, g.ja + 1)) or self.rng.random() > 0.25:
                continue
            lots = lot_count(g.X[bi + 1] - g.X[bi] - 2 * SETBACK_M)
            width = (g.X[bi + 1] - g.X[bi] - 2 * SETBACK_M) / lots
            x = round(g.X[bi] + SETBACK_M + width * int(self.rng.integers(1, lots)), 2)
            self.h_extra.setdefault(bj, set()).add(x)
            self.service_lanes.append((bi, bj, x))

    def _line_ways(self, index: int, vertical: bool) -> None:
        """Ways along one grid line: runs of one class, split where the line meets an arterial."""
        g = self.grid
        classes = self.v_class[index] if vertical else self.h_class[index]
        along = g.Y if vertical else g.X
        across = g.X[index] if vertical else g.Y[index]
        split_at = g.ja if vertical else g.ia
        extras = sorted((self.v_extra if vertical else self.h_extra).get(index, ()))
        arterial = {"secondary", "primary"}
        runs: list[tuple[int, int, str]] = []
        start = 0
        for k in range(1, g.n + 1):
            if k == g.n or classes[k] != classes[start] or k == split_at:
                runs.append((start, k, classes[start]))
                start = k
        for a, b, cls in runs:
            positions = set(along[a : b + 1]) | {e for e in extras if along[a] < e < along[b]}
            if cls in arterial:
                if a == 0:
                    positions.add(g.y_min if vertical else g.x_min)
                if b == g.n:
                    positions.add(g.y_max if vertical else g.x_max)
            park = None
            if cls.startswith("park"):
                park = self.parks[int(cls[4:])]
                positions |= {along[a] + SETBACK_M, along[b] - SETBACK_M}
            ordered = sorted(positions)
            coords = [(across, p) if vertical else (p, across) for p in ordered]
            name = (self.street_name_v if vertical else self.street_name_h)[index]
            if park is not None:
                way = self._add_way(coords, "path", f"Weg im {park.name}")
                for p in (along[a] + SETBACK_M, along[b] - SETBACK_M):
                    park.entrances.append(((across, p) if vertical else (p, across), way))
            elif cls == "footway":
                self._add_way(coords, "footway", "Auenweg")
            else:
                way = self._add_way(coords, cls, name)
                if cls in arterial:
                    self.arterial_way_ids.append(way)

    def _add_way(
        self,
        coords: list[Point],
        highway: str,
        name: str,
        bridge: Optional[str] = None,
        tunnel: Optional[str] = None,
        layer: int = 0,
    ) -> int:
        self.ways.append((coords, highway, name, bridge, tunnel, layer))
        return len(self.ways) - 1

    def _small_park_paths(self) -> None:
        """Diagonal path through each one-block park, from street corner to street corner."""
        g = self.grid
        for park in self.parks:
            if len(park.blocks) != 1:
                continue
            bi, bj = park.blocks[0]
            x0, y0, x1, y1 = park.rect
            if park.name.startswith("Auenwiese") or self.rng.random() < 0.5:
                corners = [(g.X[bi], g.Y[bj]), (x0, y0), (x1, y1), (g.X[bi + 1], g.Y[bj + 1])]
            else:
                corners = [(g.X[bi], g.Y[bj + 1]), (x0, y1), (x1, y0), (g.X[bi + 1], g.Y[bj])]
            way = self._add_way(corners, "path", f"Weg im {park.name}")
            park.entrances += [(corners[1], way), (corners[2], way)]

    def _special_paths(self) -> None:
        g = self.grid
        y_mid, i0, i1 = self.footbridge
        xa = g.X[g.ia]
        coords = [(g.X[i0], y_mid), (xa - 15.0, y_mid), (xa + 15.0, y_mid), (g.X[i1], y_mid)]
        self.facts["footbridge_way"] = self._add_way(coords, "footway", "Fußgängerbrücke", bridge="yes", layer=1)
        x_mid, j0, j1 = self.underpass
        ya = g.Y[g.ja]
        coords = [(x_mid, g.Y[j0]), (x_mid, ya - 15.0), (x_mid, ya + 15.0), (x_mid, g.Y[j1])]
        self.facts["underpass_way"] = self._add_way(coords, "footway", "Unterführung", tunnel="yes", layer=-1)
        for _bi, bj, x in self.service_lanes:
            y = g.Y[bj]
            self._add_way([(x, y), (x, y + 30.0)], "service", "")

    # ------------------------------------------------------------- layers
    def network_layers(self) -> tuple[Layer, Layer, Layer]:
        """Network, barriers (arterial ways, identical vertices) and crossings."""
        network = Layer("network", "LineString", NETWORK_FIELDS, LAYER_DESCRIPTIONS["network"])
        for way_id, (coords, highway, name, bridge, tunnel, layer) in enumerate(self.ways, start=1):
            network.add(tuple(coords), way_id, highway, name, bridge, tunnel, layer)
        barriers = Layer(
            "barriers",
            "LineString",
            [("way_id", "int"), ("highway", "str"), ("name", "str"), ("barrier_type", "str")],
            LAYER_DESCRIPTIONS["barriers"],
        )
        for index in self.arterial_way_ids:
            coords, highway, name, *_ = self.ways[index]
            barriers.add(tuple(coords), index + 1, highway, name, "major_road")
        crossings = Layer(
            "crossings",
            "Point",
            [("crossing_id", "int"), ("highway", "str"), ("crossing", "str"), ("way_id", "int")],
            LAYER_DESCRIPTIONS["crossings"],
        )
        for point, kind, way_id in self._crossing_points():
            crossings.add((point,), len(crossings.rows) + 1, "crossing", kind, way_id)
        return network, barriers, crossings

    def _crossing_points(self) -> list[tuple[Point, str, int]]:
        """Centre junction plus every third junction on the arms; none on the east arm near the big park."""
        g = self.grid
        offset = int(self.rng.integers(1, 3))
        arms = {
            "west": [(g.X[g.ia - k], g.Y[g.ja]) for k in range(1, g.q + 1)],
            "south": [(g.X[g.ia], g.Y[g.ja - k]) for k in range(1, g.q + 1)],
            "north": [(g.X[g.ia], g.Y[g.ja + k]) for k in range(1, g.q + 1)],
            # east of the north-east park only, so that the park stays out of reach from the south
            "east": [(g.X[g.ia + k], g.Y[g.ja]) for k in range(g.h + 5, g.q + 1)],
        }
        points = [((g.X[g.ia], g.Y[g.ja]), "traffic_signals")]
        for arm in arms.values():
            for k, point in enumerate(arm, start=1):
                if k % 3 == offset % 3:
                    points.append((point, "traffic_signals" if self.rng.random() < 0.5 else "marked"))
        result = []
        for point, kind in points:
            way = next(i for i in self.arterial_way_ids if point in self.ways[i][0])
            result.append((point, kind, way + 1))
        self.facts["crossing_points"] = [p for p, _k, _w in result]
        return result

    def green_layers(self) -> tuple[Layer, Layer]:
        """Green-space polygons and their entrances."""
        green = Layer(
            "green_spaces",
            "Polygon",
            [("park_id", "int"), ("name", "str"), ("leisure", "str"), ("area_m2", "real")],
            LAYER_DESCRIPTIONS["green_spaces"],
        )
        entrances = Layer(
            "entrances",
            "Point",
            [("entrance_id", "int"), ("park_id", "int"), ("way_id", "int")],
            LAYER_DESCRIPTIONS["entrances"],
        )
        for park_id, park in enumerate(self.parks, start=1):
            x0, y0, x1, y1 = park.rect
            green.add(rect(x0, y0, x1, y1), park_id, park.name, "park", round((x1 - x0) * (y1 - y0), 1))
            for point, way in park.entrances:
                entrances.add((point,), len(entrances.rows) + 1, park_id, way + 1)
        return green, entrances
