"""Green access equity by area: who is served, per area and social group (pure numpy).

Residential features arrive as arrays (population, served flags, network distance, group
populations) with the index of the area that holds each feature's point on surface (-1: none).
Missing values are NaN; an area without residents gets NaN shares (NULL), never 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..hotspots.composite_index import percentile_rank

#: Burden percentile rank above which an area counts as highly burdened (the worst quarter).
HIGH_BURDEN_RANK = 75.0
#: Default of SERVED_SHARE: an area is poorly served when less than half its residents are served.
DEFAULT_SERVED_THRESHOLD = 0.5


@dataclass
class AreaEquity:
    """Per-area results (arrays over the areas; NaN = NULL)."""

    pop: np.ndarray
    pop_served: np.ndarray
    served_share: np.ndarray
    served_share_eucl: np.ndarray
    barrier_gap: np.ndarray
    dist_median_m: np.ndarray
    group_share: np.ndarray  # areas x groups
    group_pop: np.ndarray  # areas x groups
    group_served: np.ndarray  # areas x groups


def share(part: np.ndarray | float, whole: np.ndarray | float) -> np.ndarray:
    """``part / whole`` elementwise, NaN where ``whole`` is 0."""
    part, whole = np.asarray(part, dtype=float), np.asarray(whole, dtype=float)
    out = np.full(np.broadcast(part, whole).shape, np.nan)
    np.divide(part, whole, out=out, where=whole > 0)
    return out


def area_equity(
    area: np.ndarray,
    n_areas: int,
    population: np.ndarray,
    served: np.ndarray,
    served_eucl: np.ndarray,
    net_dist: np.ndarray,
    groups: np.ndarray | None = None,
) -> AreaEquity:
    """Sum residents per area and compute shares, barrier gap and median distance.

    ``area``: index of each feature's area (-1 = in no area: left out). ``groups``: features x
    groups (population of each group per feature), or None.
    """
    inside = np.asarray(area) >= 0
    idx = np.asarray(area)[inside]
    pop = np.asarray(population, dtype=float)[inside]
    is_served = np.asarray(served, dtype=bool)[inside]
    is_served_eucl = np.asarray(served_eucl, dtype=bool)[inside]
    total = np.bincount(idx, pop, n_areas)
    pop_served = np.bincount(idx, pop * is_served, n_areas)
    served_share = share(pop_served, total)
    served_share_eucl = share(np.bincount(idx, pop * is_served_eucl, n_areas), total)
    dist = np.asarray(net_dist, dtype=float)[inside]
    median = grouped_weighted_median(idx, dist, pop, n_areas)
    members = np.zeros((len(idx), 0)) if groups is None else np.asarray(groups, dtype=float)[inside]
    group_pop = np.zeros((n_areas, members.shape[1]))
    group_served = np.zeros((n_areas, members.shape[1]))
    for g in range(members.shape[1]):
        group_pop[:, g] = np.bincount(idx, members[:, g], n_areas)
        group_served[:, g] = np.bincount(idx, members[:, g] * is_served, n_areas)
    return AreaEquity(
        pop=total,
        pop_served=pop_served,
        served_share=served_share,
        served_share_eucl=served_share_eucl,
        barrier_gap=served_share_eucl - served_share,
        dist_median_m=median,
        group_share=share(group_served, group_pop),
        group_pop=group_pop,
        group_served=group_served,
    )


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float | None:
    """Population-weighted median of ``values`` (NaN values and zero weights are left out).

    The smallest value at which the cumulative weight reaches half the total; when it reaches
    exactly half, the mean of that value and the next one (so unit weights give ``numpy.median``).
    None when no value has a weight.
    """
    result = grouped_weighted_median(np.zeros(len(values), dtype=np.int64), values, weights, 1)[0]
    return None if np.isnan(result) else float(result)


def grouped_weighted_median(group: np.ndarray, values: np.ndarray, weights: np.ndarray, n_groups: int) -> np.ndarray:
    """Weighted median of ``values`` per group (as :func:`weighted_median`), NaN for empty groups."""
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    keep = np.isfinite(values) & (weights > 0)
    group, values, weights = np.asarray(group)[keep], values[keep], weights[keep]
    order = np.lexsort((values, group))
    group, values, weights = group[order], values[order], weights[order]
    totals = np.bincount(group, weights, n_groups)
    out = np.full(n_groups, np.nan)
    if not len(values):
        return out
    cumulative = np.cumsum(weights)
    before = np.concatenate(([0.0], np.cumsum(totals)[:-1]))  # weight of the groups sorted before
    has = np.flatnonzero(totals > 0)
    target = before[has] + totals[has] / 2
    tolerance = 1e-9 * max(float(cumulative[-1]), 1.0)
    lower = np.searchsorted(cumulative, target - tolerance, side="left")
    upper = np.minimum(np.searchsorted(cumulative, target + tolerance, side="right"), len(values) - 1)
    exact = np.abs(cumulative[lower] - target) <= tolerance
    out[has] = np.where(exact, (values[lower] + values[upper]) / 2, values[lower])
    return out


def gini(population: Sequence[float | None], share: Sequence[float | None]) -> float | None:
    """Population-weighted Gini coefficient of the areas' served shares.

    Σᵢ Σⱼ pᵢ pⱼ |sᵢ − sⱼ| / (2 (Σ p)² s̄), s̄ the population-weighted mean, over the areas with
    pop > 0 and a share. 0: every area equally served; towards 1: the served live in few areas.
    None without such areas or when nobody is served (s̄ = 0).
    """
    p, s = _populated(population, share)
    total = p.sum()
    if total <= 0:
        return None
    mean = float((p * s).sum() / total)
    if mean <= 0:
        return None
    order = np.argsort(s, kind="stable")
    p, s = p[order], s[order]
    weight_before = np.cumsum(p) - p  # Σ_{j<i} p_j
    weighted_before = np.cumsum(p * s) - p * s  # Σ_{j<i} p_j s_j
    pairs = 2.0 * float((p * (s * weight_before - weighted_before)).sum())  # Σᵢ Σⱼ pᵢ pⱼ |sᵢ − sⱼ|
    return pairs / (2.0 * total**2 * mean)


def _populated(population: Sequence[float | None], share: Sequence[float | None]) -> tuple[np.ndarray, np.ndarray]:
    """Return population and share of the areas with pop > 0 and a share (None/NaN = missing)."""
    p = np.array([np.nan if v is None else v for v in population], dtype=float)
    s = np.array([np.nan if v is None else v for v in share], dtype=float)
    keep = np.isfinite(p) & np.isfinite(s) & (p > 0)
    return p[keep], s[keep]


def lorenz_points(population: Sequence[float | None], share: Sequence[float | None]) -> tuple[np.ndarray, np.ndarray]:
    """Lorenz curve of green access from (0, 0) to (1, 1), areas sorted by served share ascending.

    x: cumulative share of the residents, y: cumulative share of the served residents.
    """
    p, s = _populated(population, share)
    order = np.argsort(s, kind="stable")
    p, s = p[order], s[order]
    x = np.concatenate(([0.0], np.cumsum(p)))
    y = np.concatenate(([0.0], np.cumsum(p * s)))
    x = x / x[-1] if x[-1] > 0 else x
    y = y / y[-1] if y[-1] > 0 else y
    return x, y


def priority_flags(burden: np.ndarray, served_share: np.ndarray, threshold: float) -> np.ndarray:
    """1 where the burden's percentile rank is above 75 and the served share below ``threshold``.

    Percentile rank = 100 · #(areas with burden ≤ x) / #(areas with a burden). NaN (NULL) where
    the area has no burden value; 0 where it has no residents (no served share).
    """
    rank = percentile_rank(np.asarray(burden, dtype=float))
    served_share = np.asarray(served_share, dtype=float)
    flags = ((rank > HIGH_BURDEN_RANK) & np.isfinite(served_share) & (served_share < threshold)).astype(float)
    flags[np.isnan(rank)] = np.nan
    return flags


def _area_edges(rings: list[list[np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges of every area (x0, y0, x1, y1 rows), the offset of each area's edges, the bounding boxes."""
    edges, counts, boxes = [], [], np.full((len(rings), 4), np.nan)
    for a, area_rings in enumerate(rings):
        n = 0
        for ring in area_rings:
            ring = np.asarray(ring, dtype=float).reshape(-1, 2)
            if len(ring) < 3:
                continue
            closed = ring if np.array_equal(ring[0], ring[-1]) else np.vstack([ring, ring[:1]])
            edges.append(np.hstack([closed[:-1], closed[1:]]))
            n += len(closed) - 1
        counts.append(n)
        if n:
            xy = np.vstack([np.asarray(r, dtype=float).reshape(-1, 2) for r in area_rings])
            boxes[a] = xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max()
    all_edges = np.vstack(edges) if edges else np.zeros((0, 4))
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    return all_edges, offsets, boxes


def _crossings(px: np.ndarray, py: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Count the edges that a ray from each point to +x crosses (half-open in y)."""
    x0, y0, x1, y1 = edges.T
    dy = y1 - y0
    slope = np.divide(x1 - x0, dy, out=np.zeros_like(dy), where=dy != 0)
    crossings = np.zeros(len(px), dtype=np.int64)
    step = max(1, 2_000_000 // max(len(edges), 1))  # bounded memory: points x edges per chunk
    for start in range(0, len(px), step):
        qx, qy = px[start : start + step, None], py[start : start + step, None]
        spans = (y0 > qy) != (y1 > qy)
        crossings[start : start + step] = (spans & (qx < x0 + (qy - y0) * slope)).sum(axis=1)
    return crossings


def _inside(px: np.ndarray, py: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Even-odd rule for points against one area's edges (all rings).

    A detailed area with many points is cut into horizontal strips; each point is tested only
    against the edges whose y-range reaches into its strip (all edges a ray from it can cross).
    """
    if len(px) * len(edges) <= 4_000_000 or len(edges) < 64:
        return _crossings(px, py, edges) % 2 == 1
    low, high = np.minimum(edges[:, 1], edges[:, 3]), np.maximum(edges[:, 1], edges[:, 3])
    n_strips = min(1024, len(edges) // 8)
    bottom = float(low.min())
    height = (float(high.max()) - bottom) / n_strips or 1.0

    def strip(y: np.ndarray) -> np.ndarray:
        return np.clip((y - bottom) // height, 0, n_strips - 1).astype(np.int64)

    first, last, point_strip = strip(low), strip(high), strip(py)
    order = np.argsort(point_strip, kind="stable")
    bounds = np.searchsorted(point_strip[order], np.arange(n_strips + 1))
    inside = np.zeros(len(px), dtype=bool)
    for k in range(n_strips):
        members = order[bounds[k] : bounds[k + 1]]
        if len(members):
            near = edges[(first <= k) & (last >= k)]
            inside[members] = _crossings(px[members], py[members], near) % 2 == 1
    return inside


def locate_points(
    points: np.ndarray, rings: list[list[np.ndarray]], cancelled: Callable[[], bool] | None = None
) -> np.ndarray:
    """Index of the area that contains each point (-1: none; the first area where areas overlap)."""
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    out = np.full(len(points), -1, dtype=np.int64)
    point, area = locate_pairs(points, rings, cancelled)
    first = np.r_[True, point[1:] != point[:-1]] if len(point) else np.zeros(0, bool)
    out[point[first]] = area[first]
    return out


def locate_pairs(
    points: np.ndarray, rings: list[list[np.ndarray]], cancelled: Callable[[], bool] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Every (point, area) where the area contains the point, sorted by point, then area.

    A point in overlapping or nested areas (a town polygon over its districts) is in each of
    them. ``rings[a]`` holds the rings (exterior and holes, all parts) of area ``a``. Points are
    bucketed in a grid so that each area tests only the points in its bounding box; a point on
    the edge shared by two areas belongs to exactly one of them. ``cancelled()`` may stop the work.
    """
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    edges, offsets, boxes = _area_edges(rings)
    usable = np.flatnonzero(np.isfinite(boxes[:, 0]))
    valid = np.flatnonzero(np.isfinite(points).all(axis=1))
    found_point, found_area = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    if not len(usable) or not len(valid):
        return found_point[0], found_area[0]
    grid = _PointGrid(points[valid], boxes[usable])
    for n, a in enumerate(usable):
        if cancelled is not None and n % 256 == 0 and cancelled():
            break
        candidates = grid.in_box(boxes[a])
        if not len(candidates):
            continue
        hit = _inside(grid.x[candidates], grid.y[candidates], edges[offsets[a] : offsets[a + 1]])
        found_point.append(valid[candidates[hit]])
        found_area.append(np.full(int(hit.sum()), a, dtype=np.int64))
    point, area = np.concatenate(found_point), np.concatenate(found_area)
    order = np.lexsort((area, point))
    return point[order], area[order]


def overlapping_areas(point: np.ndarray, area: np.ndarray) -> tuple[int, list[tuple[int, int]]]:
    """Points in more than one area, and the pairs of areas that share points (most shared first)."""
    if not len(point):
        return 0, []
    several = np.r_[point[1:] == point[:-1], False] | np.r_[False, point[1:] == point[:-1]]
    n_points = len(np.unique(point[several]))
    pairs: dict[tuple[int, int], int] = {}
    members = area[several]
    starts = np.flatnonzero(np.r_[True, point[several][1:] != point[several][:-1]])
    for chunk in np.split(members, starts[1:]):
        for i in range(len(chunk)):
            for j in range(i + 1, len(chunk)):
                key = (int(chunk[i]), int(chunk[j]))
                pairs[key] = pairs.get(key, 0) + 1
    return n_points, sorted(pairs, key=lambda k: -pairs[k])


class _PointGrid:
    """Points sorted by the cell of a regular grid sized to the areas' bounding boxes."""

    def __init__(self, xy: np.ndarray, boxes: np.ndarray) -> None:
        self.x0, self.y0 = float(xy[:, 0].min()), float(xy[:, 1].min())
        width = max(float(xy[:, 0].max()) - self.x0, 1e-9)
        height = max(float(xy[:, 1].max()) - self.y0, 1e-9)
        typical = float(np.median(np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])))
        cell = max(typical, width / 2048, height / 2048, 1e-9)
        self.cell = cell
        self.nx, self.ny = int(width // cell) + 1, int(height // cell) + 1
        ix = ((xy[:, 0] - self.x0) // cell).astype(np.int64)
        iy = ((xy[:, 1] - self.y0) // cell).astype(np.int64)
        cells = iy * self.nx + ix
        self.order = np.argsort(cells, kind="stable")
        self.starts = np.searchsorted(cells[self.order], np.arange(self.nx * self.ny + 1))
        self.x, self.y = xy[:, 0], xy[:, 1]

    def in_box(self, box: np.ndarray) -> np.ndarray:
        """Return the indices of the points inside the closed box (xmin, ymin, xmax, ymax)."""
        ix0, iy0, ix1, iy1 = (
            int(np.clip((box[0] - self.x0) // self.cell, 0, self.nx - 1)),
            int(np.clip((box[1] - self.y0) // self.cell, 0, self.ny - 1)),
            int(np.clip((box[2] - self.x0) // self.cell, 0, self.nx - 1)),
            int(np.clip((box[3] - self.y0) // self.cell, 0, self.ny - 1)),
        )
        if box[2] < self.x0 or box[3] < self.y0:
            return np.zeros(0, dtype=np.int64)
        parts = [
            self.order[self.starts[iy * self.nx + ix0] : self.starts[iy * self.nx + ix1 + 1]]
            for iy in range(iy0, iy1 + 1)
        ]
        found = np.concatenate(parts) if len(parts) > 1 else parts[0]
        x, y = self.x[found], self.y[found]
        return found[(x >= box[0]) & (x <= box[2]) & (y >= box[1]) & (y <= box[3])]
