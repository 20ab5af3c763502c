"""The 3-30-300 rule per home (Konijnendijk 2023): 3 trees near, 30 % canopy around, a park within 300 m.

Pure numpy/scipy. Trees near a home are counted within a distance of its outline (a point
home: of its point; a tree inside a home's polygon is at distance 0), the proxy for "three
trees visible from the home" of the Barcelona and Norwegian studies. The canopy share is the
share of canopy among the cells of a grid whose centres lie within a radius of the home's
point; cells without data do not count. The walk to a park comes from the catchments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .walk_graph import SegmentIndex, project_on_segments

#: The rule's numbers: trees near a home, canopy share around it.
MIN_TREES = 3
MIN_CANOPY = 0.30
#: Homes per batch of the canopy sums (rows x homes numbers at a time).
BATCH = 2048


def _segments(rings_per_home: Sequence[Sequence[np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every ring segment of every home: start, end and home index, ordered by home."""
    p0, p1, owner = [np.zeros((0, 2))], [np.zeros((0, 2))], [np.zeros(0, np.int64)]
    for home, rings in enumerate(rings_per_home):
        for ring in rings:
            ring = np.asarray(ring, dtype=float).reshape(-1, 2)
            if len(ring) >= 2:
                p0.append(ring[:-1])
                p1.append(ring[1:])
                owner.append(np.full(len(ring) - 1, home, np.int64))
    return np.concatenate(p0), np.concatenate(p1), np.concatenate(owner)


def _near_outlines(
    p0: np.ndarray, p1: np.ndarray, owner: np.ndarray, trees: np.ndarray, distance: float
) -> tuple[np.ndarray, np.ndarray]:
    """(home, tree) pairs of trees within ``distance`` of a home's outline."""
    if not len(p0):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    index = SegmentIndex(p0, p1, spacing=max(distance, 1.0))
    hits = index.tree.query_ball_point(trees, distance + index.spacing / 2 + 1e-9)
    counts = np.fromiter(map(len, hits), dtype=np.int64, count=len(hits))
    tree = np.repeat(np.arange(len(trees)), counts)
    segment = index.sample_seg[np.concatenate([np.asarray(h, dtype=np.int64) for h in hits])] if len(tree) else tree
    _, _, gap = project_on_segments(trees[tree], p0[segment], p1[segment])
    near = gap <= distance
    return owner[segment[near]], tree[near]


def _inside(
    p0: np.ndarray, p1: np.ndarray, owner: np.ndarray, n_homes: int, trees: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(home, tree) pairs of trees inside a home's polygon (even-odd rule over its rings)."""
    from scipy.spatial import cKDTree

    if not len(p0):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    lo = np.full((n_homes, 2), np.inf)
    hi = np.full((n_homes, 2), -np.inf)
    np.minimum.at(lo, owner, np.minimum(p0, p1))
    np.maximum.at(hi, owner, np.maximum(p0, p1))
    homes = np.flatnonzero(np.isfinite(lo[:, 0]))
    centre, radius = (lo[homes] + hi[homes]) / 2, np.hypot(*(hi[homes] - lo[homes]).T) / 2
    hits = cKDTree(trees).query_ball_point(centre, radius + 1e-9)
    counts = np.fromiter(map(len, hits), dtype=np.int64, count=len(hits))
    if not counts.sum():
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    pair_home = np.repeat(homes, counts)
    pair_tree = np.concatenate([np.asarray(h, dtype=np.int64) for h in hits])
    start = np.searchsorted(owner, np.arange(n_homes))  # the segments of a home follow one another
    size = np.bincount(owner, minlength=n_homes)[pair_home]
    pair = np.repeat(np.arange(len(pair_home)), size)
    segment = start[pair_home][pair] + np.arange(len(pair)) - np.repeat(np.cumsum(size) - size, size)
    x, y = trees[pair_tree[pair], 0], trees[pair_tree[pair], 1]
    a, b = p0[segment], p1[segment]
    spans = (a[:, 1] > y) != (b[:, 1] > y)
    with np.errstate(invalid="ignore", divide="ignore"):
        x_at = a[:, 0] + (y - a[:, 1]) * (b[:, 0] - a[:, 0]) / (b[:, 1] - a[:, 1])
    crossings = np.bincount(pair, weights=spans & (x < x_at), minlength=len(pair_home))
    inside = crossings % 2 == 1
    return pair_home[inside], pair_tree[inside]


def trees_near(
    rings_per_home: Sequence[Sequence[np.ndarray]], points: np.ndarray, trees: np.ndarray, distance: float
) -> np.ndarray:
    """Count the trees within ``distance`` of each home: of its polygon rings, or of its point when it has none."""
    from scipy.spatial import cKDTree

    n = len(rings_per_home)
    trees = np.asarray(trees, dtype=float).reshape(-1, 2)
    if not n or not len(trees):
        return np.zeros(n, dtype=np.int64)
    p0, p1, owner = _segments(rings_per_home)
    near_home, near_tree = _near_outlines(p0, p1, owner, trees, distance)
    in_home, in_tree = _inside(p0, p1, owner, n, trees)
    home, tree = np.concatenate([near_home, in_home]), np.concatenate([near_tree, in_tree])
    pairs = np.unique(home * np.int64(len(trees)) + tree)
    counts = np.bincount(pairs // len(trees), minlength=n)
    point_homes = np.setdiff1d(np.arange(n), owner)
    if len(point_homes):
        found = cKDTree(trees).query_ball_point(np.asarray(points, dtype=float)[point_homes], distance + 1e-9)
        counts[point_homes] = np.fromiter(map(len, found), dtype=np.int64, count=len(found))
    return counts


@dataclass
class CanopyGrid:
    """Canopy per grid cell (the value at the cell's centre) and which cells hold data; row 0 is the top."""

    canopy: np.ndarray  # rows x cols, bool
    valid: np.ndarray | None  # rows x cols, bool; None: every cell holds data
    left: float
    top: float
    cell: float


def grid_extent(points: np.ndarray, radius: float, cell: float) -> tuple[float, float, int, int]:
    """Left, top, columns and rows of a grid of ``cell`` m that holds every disc of ``radius`` around ``points``."""
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    lo, hi = points.min(axis=0) - radius - cell, points.max(axis=0) + radius + cell
    left, bottom = np.floor(lo / cell) * cell
    right, top = np.ceil(hi / cell) * cell
    return float(left), float(top), round(float(right - left) / cell), round(float(top - bottom) / cell)


def disc_shares(grid: CanopyGrid, points: np.ndarray, radius: float) -> np.ndarray:
    """Share of canopy among the data cells whose centre lies within ``radius`` of each point (NaN: no data)."""
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    rows, cols = grid.canopy.shape
    canopy = np.zeros((rows, cols + 1), dtype=np.int32)
    np.cumsum(grid.canopy if grid.valid is None else grid.canopy & grid.valid, axis=1, out=canopy[:, 1:])
    valid = None
    if grid.valid is not None:
        valid = np.zeros((rows, cols + 1), dtype=np.int32)
        np.cumsum(grid.valid, axis=1, out=valid[:, 1:])
    span = int(np.ceil(radius / grid.cell)) + 1
    offsets = np.arange(-span, span + 1)
    shares = np.full(len(points), np.nan)
    for start in range(0, len(points), BATCH):
        xy = points[start : start + BATCH]
        row = np.floor((grid.top - xy[:, 1]) / grid.cell).astype(np.int64)[:, None] + offsets
        dy = grid.top - (row + 0.5) * grid.cell - xy[:, 1:2]
        half = np.sqrt(np.maximum(radius**2 - dy**2, 0.0))
        inside = (np.abs(dy) <= radius) & (row >= 0) & (row < rows)
        c_lo = np.clip(np.ceil((xy[:, :1] - half - grid.left) / grid.cell - 0.5), 0, cols).astype(np.int64)
        c_hi = np.clip(np.floor((xy[:, :1] + half - grid.left) / grid.cell - 0.5) + 1, 0, cols).astype(np.int64)
        c_hi = np.maximum(c_hi, c_lo)
        r = np.clip(row, 0, rows - 1)
        hit = np.where(inside, canopy[r, c_hi] - canopy[r, c_lo], 0).sum(axis=1)
        cells = np.where(inside, (valid[r, c_hi] - valid[r, c_lo]) if valid is not None else c_hi - c_lo, 0).sum(axis=1)
        shares[start : start + BATCH] = np.divide(hit, cells, out=np.full(len(xy), np.nan), where=cells > 0)
    return shares


@dataclass
class RuleFlags:
    """Per home: whether it meets the 3, the 30 and the 300 and all three (1/0)."""

    rule_3: np.ndarray
    rule_30: np.ndarray
    rule_300: np.ndarray

    @property
    def rule_all(self) -> np.ndarray:  # noqa: D102
        return self.rule_3 & self.rule_30 & self.rule_300

    @property
    def met(self) -> np.ndarray:
        """Number of the three rules met per home."""
        return self.rule_3.astype(int) + self.rule_30.astype(int) + self.rule_300.astype(int)


def rule_flags(trees_n: np.ndarray, canopy_share: np.ndarray, park_dist: np.ndarray, park_distance: float) -> RuleFlags:
    """Check the three rules per home; an unknown canopy share or park distance does not meet its rule."""
    with np.errstate(invalid="ignore"):
        return RuleFlags(
            rule_3=np.asarray(trees_n) >= MIN_TREES,
            rule_30=np.nan_to_num(np.asarray(canopy_share, dtype=float), nan=-1.0) >= MIN_CANOPY,
            rule_300=np.nan_to_num(np.asarray(park_dist, dtype=float), nan=np.inf) <= park_distance,
        )
