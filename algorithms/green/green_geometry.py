"""QGIS-side geometry helpers of the green-space catchments: reading, merging, polygons."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from qgis.core import (
    NULL,
    QgsCoordinateTransform,
    QgsCsException,
    QgsFeature,
    QgsFeatureRequest,
    QgsGeometry,
    QgsPointXY,
    QgsProcessingFeatureSource,
    QgsProcessingFeedback,
    QgsSpatialIndex,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QCoreApplication

from ...core.green.walk_graph import MAX_COORD, pack_keys
from ...core.wkb import vertex_arrays as wkb_vertex_arrays

SKIP_INVALID = QgsProcessingFeatureSource.FlagSkipGeometryValidityChecks
#: Fields of a network layer that mark bridges and tunnels (as ``osmwalknetwork`` writes them).
GRADE_FIELDS = ("bridge", "tunnel")


def vertex_arrays(geometry: QgsGeometry) -> list[np.ndarray]:
    """Vertex arrays of the lines (or polygon rings) of ``geometry``; curves are segmentized."""
    if geometry.isNull():
        return []
    if QgsWkbTypes.isCurvedType(geometry.wkbType()):
        geometry = QgsGeometry(geometry.constGet().segmentize())
    return wkb_vertex_arrays(bytes(geometry.asWkb()))


@dataclass
class LayerGeometries:
    """Features of a layer with usable geometries in the target CRS, and what was done to the rest."""

    features: list[QgsFeature] = field(default_factory=list)
    geometries: list[QgsGeometry] = field(default_factory=list)
    repaired: int = 0
    left_out: int = 0

    def warn(self, source: QgsProcessingFeatureSource, feedback: QgsProcessingFeedback) -> None:
        """One warning for the layer when geometries were repaired or left out."""
        if not (self.repaired or self.left_out):
            return
        message = QCoreApplication.translate(
            "green_geometry",
            "{}: {} invalid geometries repaired (makeValid), {} features with a null, empty or unusable "
            "geometry left out.",
        )
        feedback.pushWarning(message.format(source.sourceName(), self.repaired, self.left_out))

    def drop(self, keep: list[bool]) -> None:
        """Leave out the features where ``keep`` is False (counted as left out)."""
        self.left_out += keep.count(False)
        self.features = [f for f, k in zip(self.features, keep) if k]
        self.geometries = [g for g, k in zip(self.geometries, keep) if k]


def _finite(geometry: QgsGeometry) -> bool:
    box = geometry.boundingBox()
    return all(math.isfinite(v) for v in (box.xMinimum(), box.yMinimum(), box.xMaximum(), box.yMaximum()))


def usable_geometry(geometry: QgsGeometry, kind: int) -> tuple[QgsGeometry | None, bool]:
    """``geometry`` as a valid geometry of type ``kind`` (repaired when invalid) or None; and whether repaired."""
    if geometry.isNull() or geometry.isEmpty():
        return None, False
    if kind == QgsWkbTypes.PointGeometry:
        return (geometry if geometry.type() == kind and _finite(geometry) else None), False
    if geometry.isGeosValid():  # GEOS finds non-finite coordinates invalid
        usable = geometry.type() == kind and (kind != QgsWkbTypes.PolygonGeometry or geometry.area() > 0)
        return (geometry if usable else None), False
    fixed = geometry.makeValid() if _finite(geometry) else QgsGeometry()
    if not fixed.isNull() and fixed.type() != kind:
        parts = [part for part in fixed.asGeometryCollection() if part.type() == kind]
        fixed = QgsGeometry.collectGeometry(parts) if parts else QgsGeometry()
    if fixed.isNull() or fixed.isEmpty() or not _finite(fixed):
        return None, True
    if kind == QgsWkbTypes.PolygonGeometry and fixed.area() <= 0:
        return None, True
    return fixed, True


def read_layer(
    source: QgsProcessingFeatureSource,
    transform: QgsCoordinateTransform | None,
    feedback: QgsProcessingFeedback,
    attributes: list[str] | None = None,
    warn: bool = True,
) -> LayerGeometries:
    """Features and valid geometries in the target CRS: invalid ones repaired, unusable ones left out."""
    request = QgsFeatureRequest()
    if attributes is not None:
        request.setSubsetOfAttributes(attributes, source.fields())
    kind = QgsWkbTypes.geometryType(source.wkbType())
    out = LayerGeometries()
    for feature in source.getFeatures(request, SKIP_INVALID):
        if feedback.isCanceled():
            break
        geometry = feature.geometry()
        if transform is not None and not geometry.isNull():
            try:
                geometry.transform(transform)
            except QgsCsException:
                geometry = QgsGeometry()
        geometry, repaired = usable_geometry(geometry, kind)
        if geometry is None:
            out.left_out += 1
            continue
        out.repaired += repaired
        out.features.append(feature)
        out.geometries.append(geometry)
    if warn:
        out.warn(source, feedback)
    return out


def read_geometries(
    source: QgsProcessingFeatureSource,
    transform: QgsCoordinateTransform | None,
    feedback: QgsProcessingFeedback,
    attributes: list[str] | None = None,
) -> tuple[list[QgsFeature], list[QgsGeometry]]:
    """Features and their geometries in the target CRS (see :func:`read_layer`)."""
    layer = read_layer(source, transform, feedback, attributes)
    return layer.features, layer.geometries


def read_line_features(
    source: QgsProcessingFeatureSource,
    transform: QgsCoordinateTransform | None,
    feedback: QgsProcessingFeedback,
    attributes: list[str] | None = None,
) -> tuple[list[np.ndarray], np.ndarray, list[QgsFeature]]:
    """Vertex arrays of every line part, the index of the feature of each, and the features."""
    features, geometries = read_geometries(source, transform, feedback, attributes=attributes or [])
    lines: list[np.ndarray] = []
    owner: list[int] = []
    n_far = 0
    for i, geometry in enumerate(geometries):
        for part in vertex_arrays(geometry):
            runs, far = _usable_runs(part)
            n_far += far
            lines.extend(runs)
            owner.extend([i] * len(runs))
    if n_far:
        message = QCoreApplication.translate(
            "green_geometry",
            "{}: {} vertices with coordinates beyond 20,000 km (or not finite) left out, with the segments that "
            "touch them. Check the geometries and the layer's CRS.",
        )
        feedback.pushWarning(message.format(source.sourceName(), n_far))
    return lines, np.array(owner, dtype=np.int64), features


def _usable_runs(xy: np.ndarray) -> tuple[list[np.ndarray], int]:
    """Split a line at vertices farther than any metric CRS reaches; return the runs and those vertices' number."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    with np.errstate(invalid="ignore"):
        good = np.all(np.abs(xy) < MAX_COORD, axis=1)  # NaN compares False
    if good.all():
        return [xy], 0
    runs = np.split(np.arange(len(xy)), np.flatnonzero(~good))
    return [xy[r[1:] if not good[r[0]] else r] for r in runs if np.count_nonzero(good[r]) >= 2], int((~good).sum())


def read_lines(
    source: QgsProcessingFeatureSource, transform: QgsCoordinateTransform | None, feedback: QgsProcessingFeedback
) -> list[np.ndarray]:
    """Vertex arrays of every line part of ``source`` in the target CRS."""
    return read_line_features(source, transform, feedback)[0]


def grade_separated(value: object) -> bool:
    """Whether a ``bridge``/``tunnel`` attribute marks a grade-separated way (not empty, not "no")."""
    if value is None or value == NULL:
        return False
    text = str(value).strip().lower()
    return text not in ("", "no", "null")


def read_network(
    source: QgsProcessingFeatureSource, transform: QgsCoordinateTransform | None, feedback: QgsProcessingFeedback
) -> tuple[list[np.ndarray], np.ndarray]:
    """Vertex arrays of the network lines and per line whether it is a bridge or tunnel."""
    names = [n for n in GRADE_FIELDS if source.fields().lookupField(n) >= 0]
    lines, owner, features = read_line_features(source, transform, feedback, names)
    flags = np.array([any(grade_separated(f[n]) for n in names) for f in features], dtype=bool)
    return lines, flags[owner] if len(owner) else np.zeros(0, dtype=bool)


def read_points(
    source: QgsProcessingFeatureSource, transform: QgsCoordinateTransform | None, feedback: QgsProcessingFeedback
) -> np.ndarray:
    """Coordinates of every point (all parts of multipoints) of ``source`` in the target CRS."""
    _, geometries = read_geometries(source, transform, feedback, attributes=[])
    xy = [(p.x(), p.y()) for g in geometries for p in g.vertices()]
    return np.array(xy, dtype=float).reshape(-1, 2)


def representative_points(geometries: list[QgsGeometry]) -> np.ndarray:
    """Return a point on each geometry: the point itself, or a point on the surface (NaN when none)."""
    xy = np.full((len(geometries), 2), np.nan)
    for i, geometry in enumerate(geometries):
        if geometry.isNull() or geometry.isEmpty():
            continue
        if geometry.type() == QgsWkbTypes.PointGeometry and not geometry.isMultipart():
            point = geometry.asPoint()
        else:
            surface = geometry.pointOnSurface()
            if surface.isNull() or surface.isEmpty():
                surface = geometry.centroid()
            if surface.isNull() or surface.isEmpty():
                continue
            point = surface.asPoint()
        xy[i] = point.x(), point.y()
    return xy


def polygonal(geometry: QgsGeometry) -> QgsGeometry | None:
    """Return the polygon parts of ``geometry``, repaired when invalid; None when nothing is left."""
    if not geometry.isGeosValid():
        geometry = geometry.makeValid()
    if geometry.type() != QgsWkbTypes.PolygonGeometry:
        parts = [p for p in geometry.asGeometryCollection() if p.type() == QgsWkbTypes.PolygonGeometry]
        geometry = QgsGeometry.collectGeometry(parts) if parts else QgsGeometry()
    return None if geometry.isNull() or geometry.isEmpty() or geometry.area() <= 0 else geometry


@dataclass
class GreenSpace:
    """A merged green space: geometry, area (ha), number of parcels, index of its largest parcel."""

    geometry: QgsGeometry
    area_ha: float
    n_parcels: int
    largest: int


def merge_parcels(parcels: list[QgsGeometry], merge_distance: float) -> list[GreenSpace]:
    """Union of parcels that touch, overlap or are closer than ``merge_distance`` m.

    The merged area is the area of the union of the parcels (gaps between them do not count).
    """
    from ...core.green.access import cluster_labels

    index = QgsSpatialIndex()
    for i, geometry in enumerate(parcels):
        index.addFeature(i, geometry.boundingBox())
    pa, pb = [], []
    for i, geometry in enumerate(parcels):
        box = geometry.boundingBox()
        box.grow(max(merge_distance, 0.0) + 1e-6)
        engine = None
        for j in index.intersects(box):
            if j <= i:
                continue
            if engine is None:
                engine = QgsGeometry.createGeometryEngine(geometry.constGet())
                engine.prepareGeometry()
            other = parcels[j].constGet()
            if engine.intersects(other) or (merge_distance > 0 and engine.distance(other) < merge_distance):
                pa.append(i)
                pb.append(j)
    labels = cluster_labels(len(parcels), np.array(pa, dtype=np.int64), np.array(pb, dtype=np.int64))
    merged = []
    for label in range(int(labels.max()) + 1 if len(labels) else 0):
        indices = np.flatnonzero(labels == label)
        members = [parcels[i] for i in indices]
        union = members[0] if len(members) == 1 else QgsGeometry.unaryUnion(members)
        largest = int(indices[int(np.argmax([member.area() for member in members]))])
        merged.append(GreenSpace(union, union.area() / 10_000.0, len(members), largest))
    return merged


def polygon_rings(geometry: QgsGeometry) -> list[np.ndarray]:
    """Every ring (exterior and holes) of a polygon geometry as a closed vertex array."""
    return vertex_arrays(geometry)


def containment(greens: list[QgsGeometry], tolerance: float = 0.1) -> Callable[[np.ndarray], np.ndarray]:
    """``contains(points)``: index of the green space each point lies in or on (-1 outside).

    Points within ``tolerance`` m of a green space count as on it (network nodes on a park's
    boundary are snapped to the 1 cm grid and may lie a hair outside).
    """
    greens = [g.buffer(tolerance, 2) if tolerance > 0 else g for g in greens]

    def contains(points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, dtype=float).reshape(-1, 2)
        out = np.full(len(points), -1, dtype=np.int64)
        keys = pack_keys(points) if len(points) else np.zeros(0, np.int64)
        for g, geometry in enumerate(greens):
            box = geometry.boundingBox()
            cand = np.flatnonzero(
                (out < 0)
                & (points[:, 0] >= box.xMinimum())
                & (points[:, 0] <= box.xMaximum())
                & (points[:, 1] >= box.yMinimum())
                & (points[:, 1] <= box.yMaximum())
            )
            if not len(cand):
                continue
            multi = QgsGeometry.fromMultiPointXY([QgsPointXY(x, y) for x, y in points[cand]])
            inside = geometry.intersection(multi)
            if inside.isNull() or inside.isEmpty():
                continue
            hit_keys = pack_keys(np.array([(p.x(), p.y()) for p in inside.vertices()], dtype=float))
            out[cand[np.isin(keys[cand], hit_keys)]] = g
        return out

    return contains


def _multiline(p0: np.ndarray, p1: np.ndarray) -> QgsGeometry:
    return QgsGeometry.fromMultiPolylineXY(
        [[QgsPointXY(ax, ay), QgsPointXY(bx, by)] for (ax, ay), (bx, by) in zip(p0.tolist(), p1.tolist())]
    )


def catchment_polygon(
    p0: np.ndarray,
    p1: np.ndarray,
    probes: np.ndarray,
    width: float,
    barrier_p0: np.ndarray,
    barrier_p1: np.ndarray,
    strip: float = 0.25,
) -> QgsGeometry:
    """Buffer of the reachable pieces, cut along barriers, keeping only reachable sides.

    The buffer is split by a thin strip along the barrier lines; a part that holds none of
    the ``probes`` (points on the reachable pieces, on their own side of a barrier) lies on
    the far side of a barrier and is dropped.
    """
    lines = _multiline(p0, p1).mergeLines()
    polygon = QgsGeometry.unaryUnion([part.buffer(width, 4) for part in lines.asGeometryCollection()])
    if not len(barrier_p0) or polygon.isEmpty():
        return polygon
    box = polygon.boundingBox()
    bx0 = np.minimum(barrier_p0[:, 0], barrier_p1[:, 0])
    bx1 = np.maximum(barrier_p0[:, 0], barrier_p1[:, 0])
    by0 = np.minimum(barrier_p0[:, 1], barrier_p1[:, 1])
    by1 = np.maximum(barrier_p0[:, 1], barrier_p1[:, 1])
    near = (bx1 >= box.xMinimum()) & (bx0 <= box.xMaximum()) & (by1 >= box.yMinimum()) & (by0 <= box.yMaximum())
    if not np.any(near):
        return polygon
    band = _multiline(barrier_p0[near], barrier_p1[near]).buffer(strip, 2)
    if not polygon.intersects(band):
        return polygon
    cut = polygon.difference(band)
    probe_geometry = QgsGeometry.fromMultiPointXY([QgsPointXY(x, y) for x, y in probes.tolist()])
    engine = QgsGeometry.createGeometryEngine(probe_geometry.constGet())
    engine.prepareGeometry()
    kept = [part for part in cut.asGeometryCollection() if engine.intersects(part.constGet())]
    return QgsGeometry.collectGeometry(kept) if kept else QgsGeometry()


