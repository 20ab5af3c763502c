"""Buildings of the sample town: detached houses, apartment perimeter blocks, non-residential buildings."""

from __future__ import annotations

import numpy as np

from .layout import TownBuilder, lot_count
from .model import LAYER_DESCRIPTIONS, Layer, Point, rect, rounded

#: Residents' floor space per person (m²) and usable share of gross floor area.
FLOOR_M2_PER_PERSON = 45.0
USABLE_SHARE = 0.75


BUILDING_FIELDS = (
    ("building_id", "int"),
    ("building", "str"),
    ("levels", "int"),
    ("population", "int"),
    ("pop_65plus", "int"),
    ("pop_children", "int"),
)


def buildings_layer(builder: TownBuilder) -> Layer:
    """Build per block: detached houses, apartment perimeter blocks or commercial buildings."""
    layer = Layer("buildings", "Polygon", list(BUILDING_FIELDS), LAYER_DESCRIPTIONS["buildings"])
    g = builder.grid
    rng = np.random.default_rng([builder.seed, 2])
    group_rng = np.random.default_rng([builder.seed, 6])  # own stream: the rest of the town stays as it was
    extent = (g.x_min, g.y_min, g.x_max, g.y_max)
    for bi in range(g.n):
        for bj in range(g.n):
            kind = builder.block_kind[(bi, bj)]
            if kind == "park":
                continue
            interior = g.interior(bi, bj)
            if kind.startswith("houses"):
                items = _houses(rng, interior, transpose=kind.endswith("ew"))
            elif kind == "apartments":
                items = _apartments(rng, interior)
            else:
                items = _commercial(rng, interior)
            for ring, building, levels, population in items:
                groups = _age_groups(group_rng, ring, building, population, extent)
                layer.add(ring, len(layer.rows) + 1, building, levels, population, *groups)
    return layer


def _age_groups(
    rng: np.random.Generator,
    ring: tuple[Point, ...],
    building: str,
    population: int,
    extent: tuple[float, float, float, float],
) -> tuple[int, int]:
    """Residents aged 65+ and children (under 18) of one building, drawn from its population.

    Detached houses hold more older residents and families than flats; the north-west of the
    town is older, the south-east younger, so the shares differ by district.
    """
    if population <= 0:
        return 0, 0
    x = (ring[0][0] - extent[0]) / max(extent[2] - extent[0], 1.0)
    y = (ring[0][1] - extent[1]) / max(extent[3] - extent[1], 1.0)
    older = float(np.clip((1.0 - x + y) / 2.0, 0.0, 1.0))  # 1 in the north-west, 0 in the south-east
    house = building == "house"
    share_65 = 0.12 + 0.08 * house + 0.14 * older
    share_children = 0.12 + 0.06 * house + 0.08 * (1.0 - older)
    n_65 = int(rng.binomial(population, share_65))
    n_children = int(rng.binomial(population - n_65, min(share_children / (1.0 - share_65), 1.0)))
    return n_65, n_children


def _houses(
    rng: np.random.Generator, interior: tuple[float, float, float, float], transpose: bool
) -> list[tuple[tuple[Point, ...], str, int, int]]:
    """Two rows of detached houses facing the streets (north/south, or east/west when transposed)."""
    x0, y0, x1, y1 = interior
    if transpose:
        x0, y0, x1, y1 = y0, x0, y1, x1
    lots = lot_count(x1 - x0)
    width = (x1 - x0) / lots
    items = []
    for k in range(lots):
        for south in (True, False):
            w = min(width - 6.0, float(rng.uniform(9.0, 14.0)))
            d = float(rng.uniform(9.0, 12.0))
            front = float(rng.uniform(3.0, 6.0))
            cx = x0 + width * (k + 0.5)
            ya = y0 + front if south else y1 - front - d
            bx0, by0, bx1, by1 = cx - w / 2, ya, cx + w / 2, ya + d
            if transpose:
                bx0, by0, bx1, by1 = by0, bx0, by1, bx1
            levels = int(rng.integers(1, 3))
            population = int(rng.integers(1, 3) + rng.integers(0, 3) * levels)
            items.append((rect(*rounded(np.array([bx0, by0, bx1, by1]))), "house", levels, population))
    return items


def _apartments(
    rng: np.random.Generator, interior: tuple[float, float, float, float]
) -> list[tuple[tuple[Point, ...], str, int, int]]:
    """Perimeter block: slabs along all four sides, split into houses of 20-35 m with 1 m gaps."""
    x0, y0, x1, y1 = interior
    depth = 12.0
    margin = 2.0
    slabs = [
        (x0 + margin, y0 + margin, x1 - margin, y0 + margin + depth, True),
        (x0 + margin, y1 - margin - depth, x1 - margin, y1 - margin, True),
        (x0 + margin, y0 + margin + depth + 4, x0 + margin + depth, y1 - margin - depth - 4, False),
        (x1 - margin - depth, y0 + margin + depth + 4, x1 - margin, y1 - margin - depth - 4, False),
    ]
    items = []
    levels = int(rng.integers(3, 7))
    for sx0, sy0, sx1, sy1, along_x in slabs:
        length = (sx1 - sx0) if along_x else (sy1 - sy0)
        if length < 15:
            continue
        count = max(1, int(length // float(rng.uniform(20.0, 35.0))))
        step = length / count
        for k in range(count):
            a, b = k * step + (0.5 if k else 0.0), (k + 1) * step - (0.5 if k < count - 1 else 0.0)
            box = (sx0 + a, sy0, sx0 + b, sy1) if along_x else (sx0, sy0 + a, sx1, sy0 + b)
            area = (box[2] - box[0]) * (box[3] - box[1])
            population = max(1, round(area * levels * USABLE_SHARE / FLOOR_M2_PER_PERSON))
            items.append((rect(*rounded(np.array(box))), "apartments", levels, int(population)))
    return items


def _commercial(
    rng: np.random.Generator, interior: tuple[float, float, float, float]
) -> list[tuple[tuple[Point, ...], str, int, int]]:
    """One or two large non-residential buildings (population 0)."""
    x0, y0, x1, y1 = interior
    kind = str(rng.choice(["retail", "commercial", "office", "school"]))
    xm = (x0 + x1) / 2
    boxes = [(x0 + 5, y0 + 5, xm - 4, y1 - 30), (xm + 4, y0 + 20, x1 - 5, y1 - 5)]
    count = int(rng.integers(1, 3))
    return [(rect(*rounded(np.array(b))), kind, int(rng.integers(1, 4)), 0) for b in boxes[:count]]
