"""Everyday places, trees and canopy of the sample town.

Drawn from their own random streams after the rest of the town, so a seed gives the same
network, buildings and districts as before they existed. Schools and groceries are the town's
school and retail buildings; doctors, pharmacies and kindergartens sit in homes; bus stops line
the arterials on both sides. Street trees are dense in the leafy south-west and sparse in the
north-east; the big parks hold trees and a wood. The canopy is every tree's crown plus the woods.
"""

from __future__ import annotations

import math

import numpy as np

from .layout import TownBuilder
from .model import LAYER_DESCRIPTIONS, SETBACK_M, Layer, Point, rect

#: Residents per doctor's practice, pharmacy and kindergarten (German averages, rounded).
RESIDENTS_PER = {"doctor": 1500, "pharmacy": 4000, "kindergarten": 2500}
#: Street trees stand this far from the street centre line (m), about this far apart.
TREE_OFFSET_M = 6.0
TREE_SPACING_M = 12.0
#: Crown radius (m) of street, park and garden trees.
CROWN_M = {"street": 5.0, "park": 6.0, "garden": 6.0, "courtyard": 6.0}
#: A bus stop every this many junctions along the arterials.
STOP_EVERY = 3


def _centre(ring: tuple[Point, ...]) -> Point:
    xs, ys = zip(*ring[:-1])
    return round(sum(xs) / len(xs), 2), round(sum(ys) / len(ys), 2)


def places_layer(builder: TownBuilder, buildings: Layer) -> Layer:
    """Groceries (retail buildings), schools (one per school block), doctors, pharmacies, kindergartens, bus stops."""
    layer = Layer(
        "places",
        "Point",
        [("place_id", "int"), ("category", "str"), ("name", "str"), ("kind", "str")],
        LAYER_DESCRIPTIONS["places"],
    )
    rng = np.random.default_rng([builder.seed, 7])
    kinds, rings = buildings.column("building"), buildings.geometries
    population = np.array(buildings.column("population"), dtype=float)
    schools: set[tuple[int, int]] = set()
    for ring, kind in zip(rings, kinds):
        if kind == "retail":
            number = len(layer.rows) + 1
            layer.add((_centre(ring),), number, "grocery", f"Markt {number}", "shop=supermarket")
        block = _block(builder, _centre(ring))
        if kind == "school" and block not in schools:
            schools.add(block)
            layer.add((_centre(ring),), len(layer.rows) + 1, "school", f"Schule {len(schools)}", "amenity=school")
    homes = np.flatnonzero(population > 0)
    weight = population[homes] / population[homes].sum()
    tags = {"doctor": "amenity=doctors", "pharmacy": "amenity=pharmacy", "kindergarten": "amenity=kindergarten"}
    for category, per in RESIDENTS_PER.items():
        count = min(max(1, round(population.sum() / per)), len(homes))
        for index in rng.choice(homes, size=count, replace=False, p=weight):
            layer.add((_centre(rings[int(index)]),), len(layer.rows) + 1, category, "", tags[category])
    for point, name in _bus_stops(builder, rng):
        layer.add((point,), len(layer.rows) + 1, "bus_stop", name, "highway=bus_stop")
    return layer


def _block(builder: TownBuilder, point: Point) -> tuple[int, int]:
    g = builder.grid
    return int(np.searchsorted(g.X, point[0]) - 1), int(np.searchsorted(g.Y, point[1]) - 1)


def _bus_stops(builder: TownBuilder, rng: np.random.Generator) -> list[tuple[Point, str]]:
    """Place a stop on each side of the arterials every few junctions, half a block past the junction."""
    g = builder.grid
    stops = []
    for k in range(1, g.n, STOP_EVERY):
        x, y = (g.X[k] + g.X[k + 1]) / 2, (g.Y[k] + g.Y[k + 1]) / 2
        jitter = float(rng.uniform(-15.0, 15.0))
        for side in (-8.0, 8.0):
            stops.append(((round(x + jitter, 2), round(g.Y[g.ja] + side, 2)), f"{builder.street_name_h[g.ja]} {k}"))
            stops.append(((round(g.X[g.ia] + side, 2), round(y + jitter, 2)), f"{builder.street_name_v[g.ia]} {k}"))
    return stops


def leafiness(builder: TownBuilder, x: float, y: float) -> float:
    """Chance of a street tree at a spot: high in the south-west, low in the north-east of the town."""
    g = builder.grid
    east = (x - g.x_min) / max(g.x_max - g.x_min, 1.0)
    north = (y - g.y_min) / max(g.y_max - g.y_min, 1.0)
    return float(np.clip(1.2 - (east + north), 0.05, 1.0))


def trees_layer(builder: TownBuilder) -> Layer:
    """Street trees on both sides of the streets (not along the arterials), park trees, garden trees behind houses."""
    layer = Layer("trees", "Point", [("tree_id", "int"), ("kind", "str")], LAYER_DESCRIPTIONS["trees"])
    rng = np.random.default_rng([builder.seed, 8])
    g = builder.grid
    for i in range(g.n + 1):
        for j in range(g.n):
            if builder.v_class[i][j] in ("residential", "living_street"):
                _street_trees(layer, builder, rng, (g.X[i], g.Y[j]), (g.X[i], g.Y[j + 1]))
            if builder.h_class[i][j] in ("residential", "living_street"):
                _street_trees(layer, builder, rng, (g.X[j], g.Y[i]), (g.X[j + 1], g.Y[i]))
    for park in builder.parks:
        _scatter(layer, rng, park.rect, (park.rect[2] - park.rect[0]) * (park.rect[3] - park.rect[1]) / 150.0, "park")
    for (bi, bj), kind in sorted(builder.block_kind.items()):
        x0, y0, x1, y1 = g.interior(bi, bj)
        leafy = leafiness(builder, (x0 + x1) / 2, (y0 + y1) / 2)
        if kind.startswith("houses"):  # back gardens between the two rows of houses
            garden = (x0 + 3, y0 + 20, x1 - 3, y1 - 20) if kind == "houses_ns" else (x0 + 20, y0 + 3, x1 - 20, y1 - 3)
            _scatter(layer, rng, garden, 130.0 * leafy, "garden")
        elif kind == "apartments":  # the courtyard inside the perimeter block
            _scatter(layer, rng, (x0 + 20, y0 + 20, x1 - 20, y1 - 20), 40.0 * leafy, "courtyard")
    return layer


def _scatter(layer: Layer, rng: np.random.Generator, box: tuple[float, ...], mean: float, kind: str) -> None:
    """About ``mean`` trees at random in ``box`` (left, bottom, right, top)."""
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return
    count = int(rng.poisson(mean))
    for x, y in zip(rng.uniform(x0, x1, count).tolist(), rng.uniform(y0, y1, count).tolist()):
        layer.add(((round(x, 2), round(y, 2)),), len(layer.rows) + 1, kind)


def _street_trees(layer: Layer, builder: TownBuilder, rng: np.random.Generator, a: Point, b: Point) -> None:
    """Trees along the street a -> b on both sides, clear of the junctions."""
    length = math.hypot(b[0] - a[0], b[1] - a[1])
    ux, uy = (b[0] - a[0]) / length, (b[1] - a[1]) / length
    spots = np.arange(SETBACK_M, length - SETBACK_M + 1e-9, TREE_SPACING_M)
    for side in (-TREE_OFFSET_M, TREE_OFFSET_M):
        keep = rng.random(len(spots))
        for s, draw in zip(spots.tolist(), keep.tolist()):
            x, y = a[0] + s * ux - side * uy, a[1] + s * uy + side * ux
            if draw < leafiness(builder, x, y):
                layer.add(((round(x, 2), round(y, 2)),), len(layer.rows) + 1, "street")


def canopy_layer(builder: TownBuilder, trees: Layer) -> Layer:
    """Tree crowns (octagons of the radius of their kind) and a wood in every big park."""
    layer = Layer("canopy", "Polygon", [("canopy_id", "int"), ("kind", "str")], LAYER_DESCRIPTIONS["canopy"])
    angles = np.linspace(0.0, 2 * math.pi, 9)
    for geometry, (_id, kind) in zip(trees.geometries, trees.rows):
        (x, y), radius = geometry[0], CROWN_M[kind]
        ring = tuple((round(x + radius * math.cos(t), 2), round(y + radius * math.sin(t), 2)) for t in angles[:-1])
        layer.add((*ring, ring[0]), len(layer.rows) + 1, "crown")
    for park in builder.parks:
        if len(park.blocks) < 4:
            continue
        x0, y0, x1, y1 = park.rect
        layer.add(rect(x0, y0, x0 + (x1 - x0) * 0.6, y1), len(layer.rows) + 1, "wood")
    return layer
