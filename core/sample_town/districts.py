"""Districts of the sample town: 2x2-block units covering the town, with social and environmental indicators.

Deprivation is higher near the arterials and in the south-east quarter (no big park of its own),
so hotspot methods find something; social indicators are suppressed (NULL) below 100 residents.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .layout import TownBuilder
from .model import LAYER_DESCRIPTIONS, PLACE_SUFFIXES, STREET_NAMES, Layer, Point, rect

DISTRICT_FIELDS = [
    ("district_id", "int"),
    ("name", "str"),
    ("population", "int"),
    ("area_ha", "real"),
    ("share_65plus", "real"),
    ("unemployment", "real"),
    ("child_poverty", "real"),
    ("income", "real"),
    ("green_m2_per_inh", "real"),
    ("no2", "real"),
    ("pm25", "real"),
    ("noise_lden", "real"),
    ("heat_days", "real"),
]


def districts_layer(builder: TownBuilder, buildings: Layer, green: Layer) -> Layer:
    """2x2-block districts covering the town with social and environmental indicators."""
    g = builder.grid
    rng = np.random.default_rng([builder.seed, 3])
    xs = [g.x_min, *g.X[2:-2:2], g.x_max]
    ys = [g.y_min, *g.Y[2:-2:2], g.y_max]
    cells = [(a, b) for b in range(len(ys) - 1) for a in range(len(xs) - 1)]
    centroids = np.array([_centroid(r) for r in buildings.geometries]) if buildings.rows else np.zeros((0, 2))
    pops = np.array(buildings.column("population"), dtype=float)
    houses = np.array([b == "house" for b in buildings.column("building")], dtype=float)
    green_rects = [(r[0][0], r[0][1], r[2][0], r[2][1]) for r in green.geometries]
    bumps = rng.uniform([g.x_min, g.y_min], [g.x_max, g.y_max], size=(3, 2))
    names = _district_names(len(cells), rng)
    layer = Layer("districts", "Polygon", DISTRICT_FIELDS, LAYER_DESCRIPTIONS["districts"])
    xa, ya = g.X[g.ia], g.Y[g.ja]
    for k, (a, b) in enumerate(cells):
        x0, x1, y0, y1 = xs[a], xs[a + 1], ys[b], ys[b + 1]
        inside = (centroids[:, 0] >= x0) & (centroids[:, 0] < x1) & (centroids[:, 1] >= y0) & (centroids[:, 1] < y1)
        population = int(pops[inside].sum())
        area = (x1 - x0) * (y1 - y0)
        green_m2 = sum(_overlap((x0, y0, x1, y1), r) for r in green_rects)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        road = min(abs(cx - xa), abs(cy - ya))
        bump = float(np.exp(-(((bumps - (cx, cy)) ** 2).sum(axis=1)) / (2 * 400.0**2)).max())
        south_east = 1.0 if (cx > xa and cy < ya) else 0.0
        deprivation = float(np.clip(0.35 * np.exp(-road / 300) + 0.35 * south_east + 0.3 * bump, 0, 1))
        house_share = float(houses[inside].mean()) if inside.any() else 0.0
        built = min(1.0, population / max(area / 10000.0, 1e-9) / 150.0)
        social: tuple[Any, ...] = (None, None, None, None, None)
        if population >= 100:  # statistics of tiny populations are suppressed, as offices do
            social = (
                _clip(14 + 12 * house_share + rng.normal(0, 2.0), 5, 45),
                _clip(3 + 11 * deprivation + rng.normal(0, 1.0), 1, 30),
                _clip(4 + 32 * deprivation + rng.normal(0, 3.0), 0, 70),
                round(float(3400 - 1600 * deprivation + rng.normal(0, 150)), 0),
                round(green_m2 / population, 1),
            )
        env = (
            _clip(14 + 22 * np.exp(-road / 250) + 3 * deprivation + rng.normal(0, 1.5), 5, 60),
            _clip(9.5 + 2.5 * np.exp(-road / 300) + rng.normal(0, 0.5), 4, 30),
            _clip(50 + 18 * np.exp(-road / 200) + rng.normal(0, 1.5), 40, 85),
            _clip(6 + 8 * built - 10 * green_m2 / area + rng.normal(0, 1.0), 0, 40),
        )
        ring = rect(x0, y0, x1, y1)
        layer.add(ring, k + 1, names[k], population, round(area / 10000.0, 2), *social, *env)
    return layer


def _clip(value: float, low: float, high: float) -> float:
    return round(float(min(max(value, low), high)), 1)


def _centroid(ring: tuple[Point, ...]) -> Point:
    xs = [p[0] for p in ring[:-1]]
    ys = [p[1] for p in ring[:-1]]
    return sum(xs) / len(xs), sum(ys) / len(ys)


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _district_names(count: int, rng: np.random.Generator) -> list[str]:
    names = [f"{stem}{suffix}" for suffix in PLACE_SUFFIXES for stem in STREET_NAMES]
    order = rng.permutation(len(names))
    return [names[order[k % len(names)]] + (f" {k // len(names) + 1}" if k >= len(names) else "") for k in range(count)]
