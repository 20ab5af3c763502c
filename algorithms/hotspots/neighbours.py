"""Neighbours of area features for the hotspot algorithms: queen, rook, k nearest or distance band.

One place for the neighbour parameters (``WEIGHTS``, ``K``, ``DISTANCE``, ``KNN_TIES``,
``SNAP_TOLERANCE``) and for turning features into binary weights (``core.hotspots.spatial_weights``):
contiguity from the polygon rings, k nearest and distance band from centroids in a metric CRS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from qgis.core import (
    QgsCoordinateTransform,
    QgsFeature,
    QgsGeometry,
    QgsProcessingException,
    QgsUnitTypes,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QCoreApplication
from scipy import sparse

from ...core.hotspots import spatial_weights as sw
from ..base import Param, param
from ..common import metric_crs

QUEEN, ROOK, KNN, BAND = 0, 1, 2, 3
WEIGHTS, K, DISTANCE, KNN_TIES, SNAP_TOLERANCE = "WEIGHTS", "K", "DISTANCE", "KNN_TIES", "SNAP_TOLERANCE"


def tr(text: str) -> str:
    """Translate a message of the neighbour helpers."""
    return QCoreApplication.translate("neighbours", text)


def neighbour_parameters() -> list[Param]:
    """WEIGHTS, K and DISTANCE."""
    return [
        param("enum", WEIGHTS, tr("Neighbours"), defaultValue=QUEEN, options=[
            tr("Queen contiguity (shared corner or edge)"),
            tr("Rook contiguity (shared edge)"),
            tr("K nearest (centroids)"),
            tr("Distance band (centroids)"),
        ]),
        param("int", K, tr("Number of nearest neighbours (k)"), defaultValue=8, minValue=1),
        param("double", DISTANCE, tr(
            "Distance band in metres, in layer units without CRS (0 = smallest that gives every unit a neighbour)"
        ), defaultValue=0.0, minValue=0.0),
    ]


def knn_ties_parameter() -> Param:
    """KNN_TIES (advanced)."""
    return param("enum", KNN_TIES, tr("k nearest: neighbours tied at the k-th distance"), advanced=True,
                 defaultValue=0, options=[tr("Exactly k: the first in layer order"),
                                          tr("All tied neighbours (k or more, as GeoDa)")])


def snap_tolerance_parameter() -> Param:
    """SNAP_TOLERANCE (advanced)."""
    return param("double", SNAP_TOLERANCE, tr(
        "Snapping tolerance for contiguity in layer units (0 = automatic: extent diagonal × 1e-6)"
    ), advanced=True, defaultValue=0.0, minValue=0.0)


@dataclass
class NeighbourWeights:
    """Binary n × n weights and how many features had ties at the k-th nearest distance."""

    matrix: sparse.csr_matrix
    knn_ties: int = 0


def check_geometry(algorithm, parameters: dict[str, Any], context, source) -> int:
    """Return WEIGHTS; contiguity needs polygons (a clear error otherwise)."""
    method = algorithm.parameterAsEnum(parameters, WEIGHTS, context)
    is_polygon = QgsWkbTypes.geometryType(source.wkbType()) == QgsWkbTypes.PolygonGeometry
    if method in (QUEEN, ROOK) and not is_polygon:
        raise QgsProcessingException(
            tr("Queen and rook contiguity need polygons. Use k nearest or distance band for points.")
        )
    return method


def distance_unit(crs) -> str:
    """Return the distance unit: metres for geographic layers (measured in a UTM zone), else the CRS's."""
    if not crs.isValid():
        return tr("layer units")
    if crs.isGeographic():
        return "m"
    return QgsUnitTypes.toAbbreviatedString(crs.mapUnits())


def neighbour_weights(
    algorithm, parameters: dict[str, Any], context, source, features: list[QgsFeature], use: np.ndarray, feedback
) -> NeighbourWeights:
    """Binary weights among ``features`` (those where ``use`` is False get no neighbours)."""
    feedback.setProgressText(tr("Finding neighbours…"))
    method = check_geometry(algorithm, parameters, context, source)
    n = len(features)
    if method in (QUEEN, ROOK):
        rings = sw.RingCollector()
        for i, feature in enumerate(features):
            if use[i]:
                geometry = feature.geometry()
                if QgsWkbTypes.isCurvedType(geometry.wkbType()):
                    geometry = QgsGeometry(geometry.constGet().segmentize())
                rings.add_wkb(i, bytes(geometry.asWkb()))
        tolerance = algorithm.parameterAsDouble(parameters, SNAP_TOLERANCE, context) or None
        return NeighbourWeights(sw.contiguity_weights(rings.ringset(n), rook=method == ROOK, tolerance=tolerance))
    target = metric_crs(source.sourceCrs(), source.sourceExtent(), algorithm.INPUT, feedback)
    transform = None
    if target.isValid() and target != source.sourceCrs():
        transform = QgsCoordinateTransform(source.sourceCrs(), target, context.transformContext())
        feedback.pushInfo(tr("Distances are measured in {}.").format(target.authid()))
    points = np.full((n, 2), np.nan)
    for i, feature in enumerate(features):
        if use[i]:
            points[i] = _centre(feature.geometry(), transform)
    if method == KNN:
        return _knn(algorithm, parameters, context, points, feedback)
    distance = algorithm.parameterAsDouble(parameters, DISTANCE, context)
    if distance <= 0:
        nearest = sw.nearest_neighbour_distances(points)
        distance = float(np.max(nearest[np.isfinite(nearest)], initial=0.0))
        feedback.pushInfo(
            tr("Distance band: {:.6g} {} (every feature has a neighbour).").format(
                distance, distance_unit(source.sourceCrs())
            )
        )
    return NeighbourWeights(sw.distance_band_weights(points, distance))


def _centre(geometry: QgsGeometry, transform: QgsCoordinateTransform | None) -> tuple[float, float]:
    centre = geometry.centroid()
    point = centre.asPoint() if not centre.isEmpty() else geometry.boundingBox().center()
    if transform is not None:
        point = transform.transform(point)
    return point.x(), point.y()


def _knn(algorithm, parameters: dict[str, Any], context, points: np.ndarray, feedback) -> NeighbourWeights:
    """k-nearest weights with the tie rule of KNN_TIES; warns with the number of tied features."""
    valid = int(np.isfinite(points).all(axis=1).sum())
    k = algorithm.parameterAsInt(parameters, K, context)
    if k > valid - 1:
        feedback.pushWarning(
            tr("k = {} is more than the other features with a value; using k = {}.").format(k, valid - 1)
        )
    include = algorithm.parameterAsEnum(parameters, KNN_TIES, context) == 1
    knn = sw.knn_neighbours(points, k, include_ties=include)
    ties = int(knn.tied.sum())
    if ties:
        rule = (
            tr("all tied neighbours are kept, so these features have more than k")
            if include
            else tr("the places went to the tied neighbours first in layer order")
        )
        feedback.pushWarning(
            tr("{} of {} features have several neighbours at the k-th nearest distance: {} (KNN_TIES).")
            .format(ties, valid, rule)
        )
    return NeighbourWeights(knn.matrix, ties)
