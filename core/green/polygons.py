"""Reachable network pieces of each green space's catchment (input for the catchment polygons).

Pure numpy. A point at position ``x`` on edge ``u -> v`` (length ``L``) is at network
distance ``min(d_u + x, d_v + L - x)``; the part within the catchment distance is kept, each
end labelled with the green space its end node is nearest to, so partially reachable edges
are cut at the remaining distance and edges reached from two green spaces are split where
the two distances meet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .walk_graph import WalkGraph


@dataclass
class Pieces:
    """Straight reachable pieces: label, end points, side (+1/-1 along a barrier, else 0)."""

    label: np.ndarray
    p0: np.ndarray
    p1: np.ndarray
    side: np.ndarray

    def __len__(self) -> int:
        return len(self.label)

    def subset(self, mask: np.ndarray) -> Pieces:
        """Return the pieces selected by a boolean mask."""
        return Pieces(self.label[mask], self.p0[mask], self.p1[mask], self.side[mask])

    @property
    def total_length(self) -> float:
        """Summed length of the pieces (m)."""
        return float(np.hypot(*(self.p1 - self.p0).T).sum()) if len(self) else 0.0


def reachable_pieces(graph: WalkGraph, dist: np.ndarray, label: np.ndarray, limit: float) -> Pieces:
    """Parts of the edges within ``limit`` of their nearest source, labelled by ``label`` of the node."""
    u, v, length = graph.u, graph.v, graph.length
    du, dv = dist[u], dist[v]
    with np.errstate(invalid="ignore"):
        meet = np.clip((dv + length - du) / 2.0, 0.0, length)
    meet = np.where(np.isinf(dv) & np.isfinite(du), length, meet)
    meet = np.where(np.isinf(du), 0.0, meet)
    from_u_end = np.minimum(meet, limit - du)
    from_v_start = np.maximum(meet, length - (limit - dv))
    use_u = (du <= limit) & (from_u_end > 0) & (label[u] >= 0)
    use_v = (dv <= limit) & (from_v_start < length) & (label[v] >= 0)
    edge = np.concatenate([np.flatnonzero(use_u), np.flatnonzero(use_v)])
    x0 = np.concatenate([np.zeros(np.count_nonzero(use_u)), from_v_start[use_v]])
    x1 = np.concatenate([from_u_end[use_u], length[use_v]])
    lab = np.concatenate([label[u[use_u]], label[v[use_v]]])
    a, b = graph.xy[u[edge]], graph.xy[v[edge]]
    with np.errstate(invalid="ignore", divide="ignore"):
        f0 = np.nan_to_num(x0 / length[edge])[:, None]
        f1 = np.nan_to_num(x1 / length[edge], nan=1.0)[:, None]
    return Pieces(lab, a + f0 * (b - a), a + f1 * (b - a), graph.side[edge].copy())


def piece_probes(pieces: Pieces, offset: float = 1.0, fractions: tuple[float, ...] = (0.1, 0.5, 0.9)) -> np.ndarray:
    """Return points on each piece (moved ``offset`` m to its side for pieces along a barrier).

    Shape ``(len(pieces) * len(fractions), 2)``, piece-major.
    """
    d = pieces.p1 - pieces.p0
    norm = np.hypot(d[:, 0], d[:, 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        left = np.nan_to_num(np.column_stack([-d[:, 1], d[:, 0]]) / norm[:, None])
    side = np.where(np.abs(pieces.side) == 1, pieces.side, 0)  # +-2: across a barrier's band, not shifted
    shift = left * (side[:, None] * offset)
    pts = [pieces.p0 + f * d + shift for f in fractions]
    return np.stack(pts, axis=1).reshape(-1, 2)
