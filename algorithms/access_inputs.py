"""The barrier-aware access network of the catchments, for algorithms that build on it.

``prepare_access`` reads the inputs and numbers of ``greenspacecatchments`` from a parameter
dictionary and runs its steps up to the network distances of every residential feature.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeature,
    QgsFields,
    QgsGeometry,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsProcessingFeedback,
    QgsWkbTypes,
)

from ..core.green.access import SEARCH_FACTOR, AccessNetwork, boundary_segments, build_access_network, standard_values
from ..core.green.barrier_sides import SideSplit, no_barriers, split_barrier_sides
from ..core.green.walk_graph import build_graph
from .common import metric_crs, to_float
from .green_geometry import (
    containment,
    merge_parcels,
    polygon_rings,
    polygonal,
    read_geometries,
    read_lines,
    read_points,
    representative_points,
)


@dataclass
class HomeLayer:
    """Residential features with a point on each and its population."""

    features: list[QgsFeature]
    geometries: list[QgsGeometry]
    points: np.ndarray
    population: np.ndarray
    fields: QgsFields
    wkb_type: int


@dataclass
class AccessInputs:
    """What the catchments know before drawing: graph sides, green spaces, distances, homes."""

    target: QgsCoordinateReferenceSystem
    split: SideSplit
    boundary: tuple[np.ndarray, np.ndarray, np.ndarray]
    contains: Callable[[np.ndarray], np.ndarray]
    net: AccessNetwork
    homes: HomeLayer
    distance: float
    max_connector: float
    crossing_snap: float


def transform_to(
    source: QgsProcessingFeatureSource, target: QgsCoordinateReferenceSystem, context: QgsProcessingContext
) -> QgsCoordinateTransform | None:
    """Transform from ``source``'s CRS to ``target`` (None when not needed or unknown)."""
    crs = source.sourceCrs()
    if not crs.isValid() or crs == target:
        return None
    return QgsCoordinateTransform(crs, target, context.transformContext())


def prepare_access(parameters: dict, context: QgsProcessingContext, feedback: QgsProcessingFeedback) -> AccessInputs:
    """Run the catchments' steps on ``parameters`` up to the distances of the residential features."""
    from .green_space_catchments import GreenSpaceCatchmentsAlgorithm

    steps = GreenSpaceCatchmentsAlgorithm()
    steps.initAlgorithm({})
    number = lambda name: steps.parameterAsDouble(parameters, name, context)  # noqa: E731
    distance, min_area = standard_values(
        steps.parameterAsEnum(parameters, "STANDARD", context), number("DISTANCE"), number("MIN_AREA_HA")
    )
    network = steps.source(parameters, "NETWORK", context)
    line, point, polygon = QgsWkbTypes.LineGeometry, QgsWkbTypes.PointGeometry, QgsWkbTypes.PolygonGeometry
    for name, allowed in (("NETWORK", (line,)), ("GREEN_SPACES", (polygon,)), ("BARRIERS", (line,)),
                          ("CROSSINGS", (point,)), ("ENTRANCES", (point,)), ("RESIDENTIAL", (point, polygon))):
        steps._check_type(steps.source(parameters, name, context, required=False), name, allowed)  # fmt: skip
    target = metric_crs(network.sourceCrs(), network.sourceExtent())
    lines = read_lines(network, transform_to(network, target, context), feedback)
    graph, keys = build_graph(lines)
    if not graph.n_edges:
        raise QgsProcessingException("The network layer NETWORK has no line of non-zero length.")
    barriers = steps.source(parameters, "BARRIERS", context, required=False)
    crossings = steps.source(parameters, "CROSSINGS", context, required=False)
    split = no_barriers(graph)
    if barriers is not None:
        barrier_lines = read_lines(barriers, transform_to(barriers, target, context), feedback)
        points = read_points(crossings, transform_to(crossings, target, context), feedback) if crossings else None
        split = split_barrier_sides(graph, keys, barrier_lines, points, number("CROSSING_SNAP"))
    greens_src = steps.source(parameters, "GREEN_SPACES", context)
    _, parcels = read_geometries(greens_src, transform_to(greens_src, target, context), feedback)
    parcels = [g for g in (polygonal(p) for p in parcels) if g is not None]
    spaces = [m.geometry for m in merge_parcels(parcels, number("MERGE_DISTANCE")) if m.area_ha >= min_area]
    boundary = boundary_segments([polygon_rings(g) for g in spaces])
    contains = containment(spaces)
    entrances_src = steps.source(parameters, "ENTRANCES", context, required=False)
    entrances = (
        read_points(entrances_src, transform_to(entrances_src, target, context), feedback) if entrances_src else None
    )
    net = build_access_network(split, boundary, contains, SEARCH_FACTOR * distance, entrances)
    homes_src = steps.source(parameters, "RESIDENTIAL", context)
    features, geometries = read_geometries(homes_src, transform_to(homes_src, target, context), feedback)
    pop_field = steps.parameterAsString(parameters, "POPULATION_FIELD", context)
    population = np.array(
        [(to_float(f[pop_field]) or 0.0) if pop_field else 1.0 for f in features], dtype=float
    ).reshape(-1)
    homes = HomeLayer(
        features, geometries, representative_points(geometries), population, homes_src.fields(), homes_src.wkbType()
    )
    return AccessInputs(
        target, split, boundary, contains, net, homes, distance, number("MAX_CONNECTOR"), number("CROSSING_SNAP")
    )
