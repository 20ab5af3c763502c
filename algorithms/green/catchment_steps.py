"""The catchments' shared steps: parameters, reading the inputs, the sided network, residents.

``greenspacecatchments``, ``accessimprovements``, ``facilityaccess`` and ``rule33030`` run these
steps for themselves (the same checks, messages and numbers), so no algorithm imports another.
An algorithm declares the parameters it uses (``add_parameters``); a step reads only those the
algorithm declares (no ``GREEN_SPACES``: no green spaces are read).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from qgis.core import (
    NULL,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeature,
    QgsGeometry,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsProcessingFeedback,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterNumber,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QCoreApplication

from ...core.green.access import (
    SEARCH_FACTOR,
    AccessNetwork,
    attach_residential,
    boundary_segments,
    build_access_network,
    nearest_green,
    standard_values,
)
from ...core.green.barrier_sides import BARRIER_SNAP, SideSplit, no_barriers, split_barrier_sides
from ...core.green.walk_graph import build_graph
from ..common import check_crs_known, local_area, local_number, metric_crs, to_float
from .green_geometry import (
    GreenSpace,
    containment,
    merge_parcels,
    polygon_rings,
    polygonal,
    read_layer,
    read_line_features,
    read_network,
    read_points,
    representative_points,
)

#: Populations above this per feature are implausible for one building or address (warning).
PLAUSIBLE_POPULATION = 10_000.0


@dataclass
class Sources:
    """The input layers (optional ones None) and the metric CRS everything is computed in."""

    network: QgsProcessingFeatureSource
    greens: QgsProcessingFeatureSource | None
    barriers: QgsProcessingFeatureSource | None
    crossings: QgsProcessingFeatureSource | None
    entrances: QgsProcessingFeatureSource | None
    residential: QgsProcessingFeatureSource | None
    target: QgsCoordinateReferenceSystem


@dataclass
class Settings:
    """The numbers and choices of one run."""

    distance: float
    min_area: float
    merge_distance: float
    width: float
    max_connector: float
    crossing_snap: float
    barrier_mode: int
    barrier_snap: float
    pop_field: str


@dataclass
class Greens:
    """Qualifying green spaces with the fields of their largest parcel, boundaries and containment test."""

    spaces: list[GreenSpace]
    attributes: list[list]
    boundary: tuple[np.ndarray, np.ndarray, np.ndarray]
    contains: Callable[[np.ndarray], np.ndarray]


@dataclass
class ResidentialFeatures:
    """Residential features with a usable geometry in the run's CRS, their point on surface and population."""

    features: list[QgsFeature]
    geometries: list[QgsGeometry]
    points: np.ndarray
    population: np.ndarray


@dataclass
class Residents:
    """Residential features with their point, population and distances (inf / -1 where none)."""

    features: list[QgsFeature]
    geometries: list[QgsGeometry]
    points: np.ndarray
    population: np.ndarray
    net_dist: np.ndarray
    green: np.ndarray
    eucl: np.ndarray
    distance: float

    @property
    def served(self) -> np.ndarray:
        """Within the walking distance on the network."""
        return np.isfinite(self.net_dist) & (self.net_dist <= self.distance)

    @property
    def served_eucl(self) -> np.ndarray:
        """Within the walking distance in a straight line."""
        return np.isfinite(self.eucl) & (self.eucl <= self.distance)


@dataclass
class AccessRun:
    """What the catchments know before drawing: inputs, settings, sides, green spaces, distances."""

    sources: Sources
    settings: Settings
    split: SideSplit
    greens: Greens
    net: AccessNetwork
    residents: Residents | None


class CatchmentSteps:
    """The catchments' steps, run for ``algorithm`` (its parameter values, cancel and outputs)."""

    NETWORK = "NETWORK"
    GREEN_SPACES = "GREEN_SPACES"
    BARRIERS = "BARRIERS"
    CROSSINGS = "CROSSINGS"
    ENTRANCES = "ENTRANCES"
    RESIDENTIAL = "RESIDENTIAL"
    POPULATION_FIELD = "POPULATION_FIELD"
    STANDARD = "STANDARD"
    DISTANCE = "DISTANCE"
    MIN_AREA_HA = "MIN_AREA_HA"
    MERGE_DISTANCE = "MERGE_DISTANCE"
    CATCHMENT_BUFFER = "CATCHMENT_BUFFER"
    MAX_CONNECTOR = "MAX_CONNECTOR"
    CROSSING_SNAP = "CROSSING_SNAP"
    BARRIER_MODE = "BARRIER_MODE"
    BARRIER_SNAP = "BARRIER_SNAP"

    def __init__(self, algorithm: QgsProcessingAlgorithm) -> None:
        self.algorithm = algorithm

    def tr(self, text: str) -> str:
        """Translate ``text`` (context ``CatchmentSteps``, whichever algorithm runs the steps)."""
        return QCoreApplication.translate("CatchmentSteps", text)

    # -- parameters ---------------------------------------------------------------------------

    def add_parameters(self, leave_out: tuple[str, ...] = (), required: tuple[str, ...] = ()) -> None:
        """Add the catchments' inputs and numbers to the algorithm in their order, but those in ``leave_out``.

        The optional parameters named in ``required`` become mandatory.
        """
        self.add_inputs(leave_out, required)
        self.add_numbers(leave_out)

    def add_inputs(self, leave_out: tuple[str, ...] = (), required: tuple[str, ...] = ()) -> None:
        """Add the catchments' input layers and fields (see ``add_parameters``)."""
        self._add(self._inputs(), leave_out, required)

    def add_numbers(self, leave_out: tuple[str, ...] = ()) -> None:
        """Add the catchments' numbers and choices (see ``add_parameters``)."""
        self._add(self._numbers(), leave_out, ())

    def _add(
        self, parameters: list[QgsProcessingParameterDefinition], leave_out: tuple[str, ...], required: tuple[str, ...]
    ) -> None:
        for parameter in parameters:
            if parameter.name() in leave_out:
                continue
            if parameter.name() in required:
                parameter.setFlags(parameter.flags() & ~QgsProcessingParameterDefinition.FlagOptional)
            self.algorithm.addParameter(parameter)

    def _inputs(self) -> list[QgsProcessingParameterDefinition]:
        line, polygon, point = (
            QgsProcessing.TypeVectorLine,
            QgsProcessing.TypeVectorPolygon,
            QgsProcessing.TypeVectorPoint,
        )
        out: list[QgsProcessingParameterDefinition] = []
        add = out.append
        add(QgsProcessingParameterFeatureSource(self.NETWORK, self.tr("Walking network (lines)"), [line]))
        add(QgsProcessingParameterFeatureSource(self.GREEN_SPACES, self.tr("Green spaces (polygons)"), [polygon]))
        add(QgsProcessingParameterFeatureSource(self.BARRIERS, self.tr("Barriers (lines)"), [line], optional=True))
        add(QgsProcessingParameterFeatureSource(self.CROSSINGS, self.tr("Crossings (points)"), [point], optional=True))
        add(QgsProcessingParameterFeatureSource(self.ENTRANCES, self.tr("Entrances (points)"), [point], optional=True))
        add(
            QgsProcessingParameterFeatureSource(
                self.RESIDENTIAL, self.tr("Residential features (points or polygons)"), [point, polygon], optional=True
            )
        )
        add(
            QgsProcessingParameterField(
                self.POPULATION_FIELD,
                self.tr("Population field"),
                parentLayerParameterName=self.RESIDENTIAL,
                optional=True,
            )
        )
        return out

    def _numbers(self) -> list[QgsProcessingParameterDefinition]:
        out: list[QgsProcessingParameterDefinition] = []
        add = out.append
        standards = [
            self.tr("Custom: the walking distance and minimum area below"),
            self.tr("Kassel: 400 m to 2 ha"),
            self.tr("Berlin: 500 m to 0.5 ha"),
            self.tr("Natural England ANGSt: 300 m to 2 ha"),
            self.tr("WHO Europe: 300 m to 1 ha"),
        ]
        add(QgsProcessingParameterEnum(
            self.STANDARD, self.tr("Standard (other than Custom: replaces the walking distance and minimum area)"),
            standards, defaultValue=0))
        add(self._number(self.DISTANCE, self.tr("Walking distance (m)"), 400.0, 1.0))
        add(self._number(self.MIN_AREA_HA, self.tr("Minimum green-space area (ha)"), 2.0, 0.0))
        add(self._number(self.MERGE_DISTANCE, self.tr("Merge green parcels closer than (m)"), 10.0, 0.0))
        modes = [
            self.tr("Automatic (per barrier: topology when it shares a vertex with the network, else geometric)"),
            self.tr("Topology (OpenStreetMap: ways crossing without a shared vertex are bridges or underpasses)"),
            self.tr("Geometric (barriers from another source: ways are cut where they cross a barrier)"),
        ]
        mode = QgsProcessingParameterEnum(self.BARRIER_MODE, self.tr("Barrier mode"), modes, defaultValue=0)
        mode.setHelp(
            self.tr(
                "Keep automatic for OpenStreetMap layers and for barriers from another source (ATKIS/ALKIS, drawn "
                "or simplified lines); choose topology or geometric only to force one reading for every barrier. "
                "When barrier lines lie a few metres beside the road centrelines, set BARRIER_SNAP to that offset."
            )
        )
        add(mode)
        for name, label, default, minimum in (
            (self.CATCHMENT_BUFFER, self.tr("Catchment polygon width around reachable ways (m)"), 30.0, 1.0),
            (self.MAX_CONNECTOR, self.tr("Maximum distance from a residential feature to the network (m)"), 200.0, 0.0),
            (self.CROSSING_SNAP, self.tr("Snap crossings to barrier nodes within (m)"), 5.0, 0.0),
            (self.BARRIER_SNAP, self.tr("Network nodes within this distance of a barrier lie on it (m)"),
             BARRIER_SNAP, 0.0),
        ):  # fmt: skip
            advanced = self._number(name, label, default, minimum)
            advanced.setFlags(advanced.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
            add(advanced)
        return out

    def _number(self, name: str, label: str, default: float, minimum: float) -> QgsProcessingParameterNumber:
        return QgsProcessingParameterNumber(
            name, label, QgsProcessingParameterNumber.Double, defaultValue=default, minValue=minimum
        )

    # -- helpers ------------------------------------------------------------------------------

    def check_type(self, source: QgsProcessingFeatureSource | None, name: str, allowed: tuple[int, ...]) -> None:
        """Raise a clear error when ``source`` (parameter ``name``) holds another geometry type than ``allowed``."""
        if source is None:
            return
        kind = QgsWkbTypes.geometryType(source.wkbType())
        if kind in allowed:
            return
        nouns = {
            QgsWkbTypes.PointGeometry: self.tr("points"),
            QgsWkbTypes.LineGeometry: self.tr("lines"),
            QgsWkbTypes.PolygonGeometry: self.tr("polygons"),
        }
        wanted = self.tr("points or polygons") if len(allowed) > 1 else nouns[allowed[0]]
        got = nouns.get(kind, self.tr("no geometry"))
        raise QgsProcessingException(
            self.tr("{} must contain {}, but the layer has {}. Choose a layer of the right geometry type.").format(
                name, wanted, got
            )
        )

    def transform(
        self, source: QgsProcessingFeatureSource, target: QgsCoordinateReferenceSystem, context: QgsProcessingContext
    ) -> QgsCoordinateTransform | None:
        """Transform from ``source`` to the run's metric CRS (None when none is needed)."""
        crs = source.sourceCrs()
        if not crs.isValid() or crs == target:
            return None
        return QgsCoordinateTransform(crs, target, context.transformContext())

    def step(self, feedback: QgsProcessingFeedback, progress: float) -> None:
        """Stop when the user cancelled (removing the algorithm's outputs), else report ``progress``."""
        self.algorithm.check_cancelled(feedback)
        feedback.setProgress(progress)

    # -- the steps ----------------------------------------------------------------------------

    def _log_numbers(self, parameters: dict, context, settings: Settings, feedback: QgsProcessingFeedback) -> None:
        """Say the walking distance and minimum area of the run; a standard says which field values it replaced."""
        used = self.tr("Walking distance {} m, minimum area {}").format(
            local_number(settings.distance), local_area(settings.min_area))
        standard = self.algorithm.parameterAsEnum(parameters, self.STANDARD, context)
        fields = (self.algorithm.parameterAsDouble(parameters, self.DISTANCE, context),
                  self.algorithm.parameterAsDouble(parameters, self.MIN_AREA_HA, context))
        if standard and fields != (settings.distance, settings.min_area):
            name = self.algorithm.parameterDefinition(self.STANDARD).options()[standard].split(":")[0]
            feedback.pushWarning(self.tr(
                "{used} from the standard {name}, instead of the fields' {distance} m and {area} (choose the "
                "standard Custom to use the fields).").format(
                used=used, name=name, distance=local_number(fields[0]), area=local_area(fields[1])))
        else:
            feedback.pushInfo(used)

    def distances_to_green(
        self, parameters: dict, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> AccessRun:
        """Read the inputs and compute the walking distance of every node and residential feature (to 70 %)."""
        sources = self.read_sources(parameters, context, feedback)
        settings = self.read_settings(parameters, context, sources)
        self._log_numbers(parameters, context, settings, feedback)
        split = self.build_network(sources, settings, context, feedback)
        self.step(feedback, 25)
        greens = self._prepare_green(sources, settings, context, feedback)
        self.step(feedback, 35)
        entrances = self._points(sources.entrances, sources.target, context, feedback)
        net = build_access_network(
            split, greens.boundary, greens.contains, SEARCH_FACTOR * settings.distance, entrances
        )
        feedback.pushInfo(self.tr("{} access points on the network").format(len(net.sources)))
        self.step(feedback, 55)
        residents = self._attach_residents(sources, settings, net, greens, context, feedback)
        self.step(feedback, 70)
        return AccessRun(sources, settings, split, greens, net, residents)

    def read_sources(
        self, parameters: dict, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> Sources:
        """Read the input layers, check their geometry types and choose the metric CRS of the run."""
        network = self.algorithm.source(parameters, self.NETWORK, context)
        declared = self.algorithm.parameterDefinition(self.GREEN_SPACES) is not None
        optional = {
            name: self.algorithm.source(parameters, name, context, required=False)
            for name in (self.BARRIERS, self.CROSSINGS, self.ENTRANCES, self.RESIDENTIAL)
        }
        sources = Sources(
            network=network,
            greens=self.algorithm.source(parameters, self.GREEN_SPACES, context) if declared else None,
            barriers=optional[self.BARRIERS],
            crossings=optional[self.CROSSINGS],
            entrances=optional[self.ENTRANCES],
            residential=optional[self.RESIDENTIAL],
            target=metric_crs(network.sourceCrs(), network.sourceExtent()),
        )
        given = {self.NETWORK: network, self.GREEN_SPACES: sources.greens, **optional}
        check_crs_known({name: source.sourceCrs() for name, source in given.items() if source is not None})
        line, point, polygon = QgsWkbTypes.LineGeometry, QgsWkbTypes.PointGeometry, QgsWkbTypes.PolygonGeometry
        self.check_type(sources.network, self.NETWORK, (line,))
        self.check_type(sources.greens, self.GREEN_SPACES, (polygon,))
        self.check_type(sources.barriers, self.BARRIERS, (line,))
        self.check_type(sources.crossings, self.CROSSINGS, (point,))
        self.check_type(sources.entrances, self.ENTRANCES, (point,))
        self.check_type(sources.residential, self.RESIDENTIAL, (point, polygon))
        if sources.target != sources.network.sourceCrs():
            feedback.pushInfo(self.tr("Computing in {} (metres).").format(sources.target.authid()))
        return sources

    def read_settings(self, parameters: dict, context: QgsProcessingContext, sources: Sources) -> Settings:
        """Read the numbers of the run (the standard's distance and area where one is chosen)."""
        pop_field = self.algorithm.parameterAsString(parameters, self.POPULATION_FIELD, context)
        if pop_field and sources.residential is not None and sources.residential.fields().lookupField(pop_field) < 0:
            raise QgsProcessingException(
                self.tr("The population field {} is not a field of RESIDENTIAL. Choose one of its fields.").format(
                    pop_field
                )
            )
        distance, min_area = standard_values(
            self.algorithm.parameterAsEnum(parameters, self.STANDARD, context),
            self.algorithm.parameterAsDouble(parameters, self.DISTANCE, context),
            self.algorithm.parameterAsDouble(parameters, self.MIN_AREA_HA, context),
        )
        number = lambda name: self.algorithm.parameterAsDouble(parameters, name, context)  # noqa: E731
        return Settings(
            distance=distance,
            min_area=min_area,
            merge_distance=number(self.MERGE_DISTANCE),
            width=number(self.CATCHMENT_BUFFER),
            max_connector=number(self.MAX_CONNECTOR),
            crossing_snap=number(self.CROSSING_SNAP),
            barrier_mode=self.algorithm.parameterAsEnum(parameters, self.BARRIER_MODE, context),
            barrier_snap=number(self.BARRIER_SNAP),
            pop_field=pop_field,
        )

    def _points(
        self,
        source: QgsProcessingFeatureSource | None,
        target: QgsCoordinateReferenceSystem,
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
    ) -> np.ndarray | None:
        if source is None:
            return None
        return read_points(source, self.transform(source, target, context), feedback)

    def build_network(
        self, sources: Sources, settings: Settings, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> SideSplit:
        """Build the walking graph and split its nodes on barriers into one copy per side."""
        network = sources.network
        lines, grade = read_network(network, self.transform(network, sources.target, context), feedback)
        if not lines:
            raise QgsProcessingException(
                self.tr("The network layer NETWORK has no lines. Choose a layer with walkable ways.")
            )
        graph, keys = build_graph(lines, grade_separated=grade)
        if not graph.n_edges:
            raise QgsProcessingException(self.tr("The network layer NETWORK has no line of non-zero length."))
        feedback.pushInfo(self.tr("Network: {} nodes, {} edges").format(graph.n_nodes, graph.n_edges))
        self.step(feedback, 15)
        if sources.barriers is None:
            return no_barriers(graph)
        transform = self.transform(sources.barriers, sources.target, context)
        barrier_lines, line_feature, _ = read_line_features(sources.barriers, transform, feedback)
        crossings = self._points(sources.crossings, sources.target, context, feedback)
        split = split_barrier_sides(
            graph, keys, barrier_lines, crossings, settings.crossing_snap,
            mode=settings.barrier_mode, barrier_snap=settings.barrier_snap, line_feature=line_feature,
        )  # fmt: skip
        self._report_barriers(split, feedback)
        return split

    def _report_barriers(self, split: SideSplit, feedback: QgsProcessingFeedback) -> None:
        feedback.pushInfo(
            self.tr(
                "Barriers: {} features by topology, {} geometric ({} ways cut where they cross one); "
                "{} network nodes split by side, {} crossings"
            ).format(split.n_topology, split.n_geometric, split.n_cuts, split.n_split, split.n_crossings)
        )
        if split.n_untouched:
            feedback.pushWarning(
                self.tr(
                    "{} barrier features touch the network nowhere (no network node within BARRIER_SNAP, no way "
                    "cut) and have no effect, as a railway that only passes bridges and tunnels. If they should cut "
                    "ways, check their CRS and position, or raise BARRIER_SNAP when they lie beside the ways."
                ).format(split.n_untouched)
            )

    def _prepare_green(
        self, sources: Sources, settings: Settings, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> Greens:
        """Merge green parcels and keep those of the minimum size, largest first."""
        layer = read_layer(sources.greens, self.transform(sources.greens, sources.target, context), feedback)
        polygons = [(f, polygonal(g)) for f, g in zip(layer.features, layer.geometries)]
        parcel_attributes = [f.attributes() for f, g in polygons if g is not None]
        parcels = [g for _, g in polygons if g is not None]
        merged = merge_parcels(parcels, settings.merge_distance)
        spaces = sorted((m for m in merged if m.area_ha >= settings.min_area), key=lambda m: -m.area_ha)
        feedback.pushInfo(
            self.tr("Green spaces: {} parcels, {} after merging, {} of at least {}").format(
                local_number(len(parcels)), local_number(len(merged)), local_number(len(spaces)),
                local_area(settings.min_area)
            )
        )
        if not spaces:
            feedback.pushWarning(
                self.tr(
                    "No green space of at least {}: nobody is served. Lower {}, raise MERGE_DISTANCE or check "
                    "GREEN_SPACES."
                ).format(local_area(settings.min_area), self.MIN_AREA_HA)
            )
        geometries = [g.geometry for g in spaces]
        return Greens(
            spaces=spaces,
            attributes=[parcel_attributes[g.largest] for g in spaces],
            boundary=boundary_segments([polygon_rings(g) for g in geometries]),
            contains=containment(geometries),
        )

    def _attach_residents(
        self,
        sources: Sources,
        settings: Settings,
        net: AccessNetwork,
        greens: Greens,
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
    ) -> Residents | None:
        """Compute network and straight-line distance of every residential feature to the nearest green space."""
        homes = self.read_residents(sources, settings, context, feedback)
        if homes is None:
            return None
        self.step(feedback, 60)
        points = homes.points
        net_dist, green = attach_residential(net, points, settings.max_connector)
        eucl, _ = nearest_green(points, greens.boundary, greens.contains)
        n_far = int(np.count_nonzero(~np.isfinite(net_dist) & (green < 0)))
        if n_far:
            feedback.pushInfo(self.tr("{} residential features reach no green space on the network.").format(n_far))
        return Residents(
            homes.features, homes.geometries, points, homes.population, net_dist, green, eucl, settings.distance
        )

    def read_residents(
        self, sources: Sources, settings: Settings, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> ResidentialFeatures | None:
        """Read the residential features with a point on their surface and their population (checked)."""
        source = sources.residential
        if source is None:
            return None
        layer = read_layer(source, self.transform(source, sources.target, context), feedback, warn=False)
        points = representative_points(layer.geometries)
        usable = np.all(np.isfinite(points), axis=1)
        layer.drop(usable.tolist())
        layer.warn(source, feedback)
        population = self._population(layer.features, settings.pop_field, feedback)
        return ResidentialFeatures(layer.features, layer.geometries, points[usable], population)

    def _population(self, features: list[QgsFeature], pop_field: str, feedback: QgsProcessingFeedback) -> np.ndarray:
        """Return inhabitants per feature (1 without a field); raise for negative or non-finite values."""
        if not pop_field:
            return np.ones(len(features))
        values = []
        for feature in features:
            raw = feature[pop_field]
            value = to_float(raw)
            if (value is None and _non_finite(raw)) or (value is not None and value < 0):
                raise QgsProcessingException(
                    self.tr(
                        "Residential feature {} has the population {} in {}: populations must be finite and not "
                        "negative. Correct the value or choose another POPULATION_FIELD."
                    ).format(feature.id(), raw, pop_field)
                )
            values.append(value)
        missing = sum(v is None for v in values)
        if missing:
            feedback.pushWarning(
                self.tr("{} residential features have no numeric {}; they count as 0 inhabitants.").format(
                    missing, pop_field
                )
            )
        population = np.array([v if v is not None else 0.0 for v in values], dtype=float)
        large = np.flatnonzero(population > PLAUSIBLE_POPULATION)
        if len(large):
            feedback.pushWarning(
                self.tr("{} residential features have more than {:,.0f} inhabitants each (e.g. feature {}: {:,.0f}); "
                        "check POPULATION_FIELD.").format(
                    len(large), PLAUSIBLE_POPULATION, features[large[0]].id(), population[large[0]]
                )
            )  # fmt: skip
        return population


def _non_finite(value: Any) -> bool:
    """Whether an attribute value is a number that is NaN or infinite (text "inf" included)."""
    if value is None or value == NULL:
        return False
    try:
        number = float(str(value).strip().replace(",", ".")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        return False
    return not math.isfinite(number)
