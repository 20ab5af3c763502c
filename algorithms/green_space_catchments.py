"""Processing algorithm: barrier-aware green-space catchments and served population."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from qgis.core import (
    NULL,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeature,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsProcessingFeedback,
    QgsProcessingOutputNumber,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterNumber,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QVariant

from ..core.green.access import (
    SEARCH_FACTOR,
    attach_residential,
    boundary_segments,
    build_access_network,
    nearest_green,
    population_per_green,
    served_statistics,
    standard_values,
)
from ..core.green.barrier_sides import no_barriers, split_barrier_sides
from ..core.green.polygons import piece_probes, reachable_pieces
from ..core.green.walk_graph import build_graph
from .base import AlgorithmBase
from .common import metric_crs, to_float, to_qvariant, with_result_fields
from .green_geometry import (
    GreenSpace,
    catchment_polygon,
    containment,
    merge_parcels,
    polygon_rings,
    polygonal,
    read_geometries,
    read_lines,
    read_points,
    representative_points,
)
from .style_on_load import style_on_load

NEW_RESIDENTIAL_FIELDS = (
    ("net_dist_m", QVariant.Double),
    ("green_id", QVariant.Int),
    ("served", QVariant.Int),
    ("eucl_dist_m", QVariant.Double),
    ("served_eucl", QVariant.Int),
)


@dataclass
class GreenOutputs:
    """What is written per qualifying green space."""

    greens: list[GreenSpace]
    attributes: list[list]  # of each green space's largest parcel
    pop_per_green: np.ndarray
    catchments: list


class GreenSpaceCatchmentsAlgorithm(AlgorithmBase):
    """Catchments of green spaces on the walking network, crossing barriers only where allowed."""

    ALGORITHM_ID = "greenspacecatchments"
    DISPLAY_NAME = "Barrier-aware green-space catchments"
    GROUP_ID = "greenaccess"

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
    OUTPUT_CATCHMENTS = "OUTPUT_CATCHMENTS"
    OUTPUT_GREEN_SPACES = "OUTPUT_GREEN_SPACES"
    OUTPUT_RESIDENTIAL = "OUTPUT_RESIDENTIAL"

    def initAlgorithm(self, config: dict | None = None) -> None:  # noqa: N802, D102
        line, polygon, point = (
            QgsProcessing.TypeVectorLine,
            QgsProcessing.TypeVectorPolygon,
            QgsProcessing.TypeVectorPoint,
        )
        add = self.addParameter
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
        standards = [
            self.tr("Custom (DISTANCE, MIN_AREA_HA)"),
            self.tr("Kassel: 400 m to 2 ha"),
            self.tr("Berlin: 500 m to 0.5 ha"),
            self.tr("Natural England ANGSt: 300 m to 2 ha"),
            self.tr("WHO Europe: 300 m to 1 ha"),
        ]
        add(QgsProcessingParameterEnum(self.STANDARD, self.tr("Standard"), standards, defaultValue=0))
        add(self._number(self.DISTANCE, self.tr("Walking distance (m)"), 400.0, 1.0))
        add(self._number(self.MIN_AREA_HA, self.tr("Minimum green-space area (ha)"), 2.0, 0.0))
        add(self._number(self.MERGE_DISTANCE, self.tr("Merge green parcels closer than (m)"), 10.0, 0.0))
        for name, label, default, minimum in (
            (self.CATCHMENT_BUFFER, self.tr("Catchment polygon width around reachable ways (m)"), 30.0, 1.0),
            (self.MAX_CONNECTOR, self.tr("Maximum distance from a residential feature to the network (m)"), 200.0, 0.0),
            (self.CROSSING_SNAP, self.tr("Snap crossings to barrier nodes within (m)"), 5.0, 0.0),
        ):
            parameter = self._number(name, label, default, minimum)
            parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
            add(parameter)
        add(QgsProcessingParameterFeatureSink(self.OUTPUT_CATCHMENTS, self.tr("Catchments"), polygon))
        add(QgsProcessingParameterFeatureSink(self.OUTPUT_GREEN_SPACES, self.tr("Qualifying green spaces"), polygon))
        add(
            QgsProcessingParameterFeatureSink(
                self.OUTPUT_RESIDENTIAL,
                self.tr("Residential features with access"),
                optional=True,
                createByDefault=True,
            )
        )
        for name, label in (
            ("SERVED_POPULATION", self.tr("Served population")),
            ("TOTAL_POPULATION", self.tr("Total population")),
            ("SERVED_SHARE", self.tr("Served share (network)")),
            ("SERVED_SHARE_EUCLIDEAN", self.tr("Served share (straight line)")),
        ):
            self.addOutput(QgsProcessingOutputNumber(name, label))

    def _number(self, name: str, label: str, default: float, minimum: float) -> QgsProcessingParameterNumber:
        return QgsProcessingParameterNumber(
            name, label, QgsProcessingParameterNumber.Double, defaultValue=default, minValue=minimum
        )

    # -- helpers ------------------------------------------------------------------------------

    def _check_type(self, source: QgsProcessingFeatureSource | None, name: str, allowed: tuple[int, ...]) -> None:
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

    @staticmethod
    def _transform(
        source: QgsProcessingFeatureSource, target: QgsCoordinateReferenceSystem, context: QgsProcessingContext
    ) -> QgsCoordinateTransform | None:
        crs = source.sourceCrs()
        if not crs.isValid() or crs == target:
            return None
        return QgsCoordinateTransform(crs, target, context.transformContext())

    # -- main ---------------------------------------------------------------------------------

    def processAlgorithm(  # noqa: N802, D102
        self, parameters: dict, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict:
        network = self.source(parameters, self.NETWORK, context)
        greens_src = self.source(parameters, self.GREEN_SPACES, context)
        barriers_src = self.source(parameters, self.BARRIERS, context, required=False)
        crossings_src = self.source(parameters, self.CROSSINGS, context, required=False)
        entrances_src = self.source(parameters, self.ENTRANCES, context, required=False)
        residential_src = self.source(parameters, self.RESIDENTIAL, context, required=False)
        line, point, polygon = QgsWkbTypes.LineGeometry, QgsWkbTypes.PointGeometry, QgsWkbTypes.PolygonGeometry
        self._check_type(network, self.NETWORK, (line,))
        self._check_type(greens_src, self.GREEN_SPACES, (polygon,))
        self._check_type(barriers_src, self.BARRIERS, (line,))
        self._check_type(crossings_src, self.CROSSINGS, (point,))
        self._check_type(entrances_src, self.ENTRANCES, (point,))
        self._check_type(residential_src, self.RESIDENTIAL, (point, polygon))
        pop_field = self.parameterAsString(parameters, self.POPULATION_FIELD, context)
        if pop_field and residential_src is not None and residential_src.fields().lookupField(pop_field) < 0:
            raise QgsProcessingException(
                self.tr("The population field {} is not a field of RESIDENTIAL. Choose one of its fields.").format(
                    pop_field
                )
            )
        standard = self.parameterAsEnum(parameters, self.STANDARD, context)
        distance, min_area = standard_values(
            standard,
            self.parameterAsDouble(parameters, self.DISTANCE, context),
            self.parameterAsDouble(parameters, self.MIN_AREA_HA, context),
        )
        merge_distance = self.parameterAsDouble(parameters, self.MERGE_DISTANCE, context)
        width = self.parameterAsDouble(parameters, self.CATCHMENT_BUFFER, context)
        max_connector = self.parameterAsDouble(parameters, self.MAX_CONNECTOR, context)
        crossing_snap = self.parameterAsDouble(parameters, self.CROSSING_SNAP, context)
        feedback.pushInfo(self.tr("Walking distance {} m, minimum area {} ha").format(distance, min_area))

        # 1. network in a metric CRS
        target = metric_crs(network.sourceCrs(), network.sourceExtent())
        if target != network.sourceCrs():
            feedback.pushInfo(self.tr("Computing in {} (metres).").format(target.authid()))
        lines = read_lines(network, self._transform(network, target, context), feedback)
        if not lines:
            raise QgsProcessingException(
                self.tr("The network layer NETWORK has no lines. Choose a layer with walkable ways.")
            )
        graph, keys = build_graph(lines)
        if not graph.n_edges:
            raise QgsProcessingException(self.tr("The network layer NETWORK has no line of non-zero length."))
        feedback.pushInfo(self.tr("Network: {} nodes, {} edges").format(graph.n_nodes, graph.n_edges))
        self._step(feedback, 15)

        # 2. barrier sides
        if barriers_src is not None:
            barrier_lines = read_lines(barriers_src, self._transform(barriers_src, target, context), feedback)
            crossings = (
                read_points(crossings_src, self._transform(crossings_src, target, context), feedback)
                if crossings_src is not None
                else None
            )
            split = split_barrier_sides(graph, keys, barrier_lines, crossings, crossing_snap)
            feedback.pushInfo(
                self.tr("Barriers: {} network nodes split by side, {} crossings").format(
                    split.n_split, split.n_crossings
                )
            )
        else:
            split = no_barriers(graph)
        self._step(feedback, 25)

        # 3. green spaces: merge, filter
        parcel_features, parcel_geometries = read_geometries(
            greens_src, self._transform(greens_src, target, context), feedback
        )
        polygons = [(f, polygonal(g)) for f, g in zip(parcel_features, parcel_geometries)]
        parcel_attributes = [f.attributes() for f, g in polygons if g is not None]
        parcels = [g for _, g in polygons if g is not None]
        merged = merge_parcels(parcels, merge_distance)
        greens = sorted((m for m in merged if m.area_ha >= min_area), key=lambda m: -m.area_ha)
        feedback.pushInfo(
            self.tr("Green spaces: {} parcels, {} after merging, {} of at least {} ha").format(
                len(parcels), len(merged), len(greens), min_area
            )
        )
        if not greens:
            feedback.pushWarning(
                self.tr(
                    "No green space of at least {} ha: nobody is served. Lower MIN_AREA_HA, raise MERGE_DISTANCE "
                    "or check GREEN_SPACES."
                ).format(min_area)
            )
        self._step(feedback, 35)

        # 4. access points and ONE multi-source shortest-path run
        green_geometries = [g.geometry for g in greens]
        boundary = boundary_segments([polygon_rings(g) for g in green_geometries])
        contains = containment(green_geometries)
        entrances = (
            read_points(entrances_src, self._transform(entrances_src, target, context), feedback)
            if entrances_src is not None
            else None
        )
        net = build_access_network(split, boundary, contains, SEARCH_FACTOR * distance, entrances)
        feedback.pushInfo(self.tr("{} access points on the network").format(len(net.sources)))
        self._step(feedback, 55)

        # 5. residential features
        residential = self._residential(
            residential_src, pop_field, target, context, feedback, net, max_connector, distance, boundary, contains
        )
        self._step(feedback, 70)

        # 6. catchment polygons
        pieces = reachable_pieces(net.graph, net.dist, net.green, distance)
        catchments = []
        for g in range(len(greens)):
            self._step(feedback, 70 + 20 * g / max(len(greens), 1))
            mine = pieces.label == g
            if not np.any(mine):
                catchments.append(None)
                continue
            sub = pieces.subset(mine)
            polygon = catchment_polygon(sub.p0, sub.p1, piece_probes(sub), width, split.barrier_p0, split.barrier_p1)
            catchments.append((polygon, sub.total_length))

        # 7. write (everything computed: no half-written outputs)
        pop_per_green = np.zeros(len(greens))
        if residential is not None:
            pop_per_green = population_per_green(
                residential["green"], residential["population"], residential["served"], len(greens)
            )
        greens_out = GreenOutputs(greens, [parcel_attributes[g.largest] for g in greens], pop_per_green, catchments)
        outputs = self._write_greens(parameters, context, feedback, target, greens_src.fields(), greens_out, distance)
        if residential is not None:
            outputs.update(
                self._write_residential(parameters, context, feedback, target, residential_src, residential)
            )
            stats = served_statistics(residential["population"], residential["served"], residential["served_eucl"])
        else:
            stats = served_statistics(np.zeros(0), np.zeros(0), np.zeros(0))
        outputs.update(
            SERVED_POPULATION=float(stats.served),
            TOTAL_POPULATION=float(stats.total),
            SERVED_SHARE=to_qvariant(stats.share),
            SERVED_SHARE_EUCLIDEAN=to_qvariant(stats.share_eucl),
        )
        if residential is not None:
            feedback.pushInfo(
                self.tr("Served: {:.0f} of {:.0f} ({}); by straight line: {}").format(
                    stats.served, stats.total, _percent(stats.share), _percent(stats.share_eucl)
                )
            )
        feedback.setProgress(100)
        return outputs

    def _step(self, feedback: QgsProcessingFeedback, progress: float) -> None:
        if feedback.isCanceled():
            raise QgsProcessingException(self.tr("Cancelled."))
        feedback.setProgress(progress)

    def _residential(
        self,
        source: QgsProcessingFeatureSource | None,
        pop_field: str,
        target: QgsCoordinateReferenceSystem,
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
        net: Any,
        max_connector: float,
        distance: float,
        boundary: tuple,
        contains: Any,
    ) -> dict | None:
        if source is None:
            return None
        features, geometries = read_geometries(source, self._transform(source, target, context), feedback)
        self._step(feedback, 60)
        points = representative_points(geometries)
        if pop_field:
            values = [to_float(f[pop_field]) for f in features]
            bad = sum(v is None for v in values)
            if bad:
                feedback.pushWarning(
                    self.tr("{} residential features have no numeric {}; they count as 0 inhabitants.").format(
                        bad, pop_field
                    )
                )
            population = np.array([v if v is not None else 0.0 for v in values], dtype=float)
        else:
            population = np.ones(len(features))
        net_dist, green = attach_residential(net, points, max_connector)
        eucl, _ = nearest_green(points, boundary, contains)
        n_far = int(np.count_nonzero(~np.isfinite(net_dist) & (green < 0)))
        if n_far:
            feedback.pushInfo(self.tr("{} residential features reach no green space on the network.").format(n_far))
        return {
            "features": features,
            "geometries": geometries,
            "points": points,
            "population": population,
            "net_dist": net_dist,
            "green": green,
            "served": np.isfinite(net_dist) & (net_dist <= distance),
            "eucl": eucl,
            "served_eucl": np.isfinite(eucl) & (eucl <= distance),
        }

    def _write_greens(
        self,
        parameters: dict,
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
        target: QgsCoordinateReferenceSystem,
        input_fields: QgsFields,
        out: GreenOutputs,
        distance: float,
    ) -> dict:
        """Qualifying green spaces and their catchments, each with the fields of its largest parcel."""
        green_fields = with_result_fields(
            input_fields,
            [QgsField(name, kind) for name, kind in (
                ("green_id", QVariant.Int), ("area_ha", QVariant.Double), ("pop_served", QVariant.Double),
                ("n_parcels", QVariant.Int))],
            feedback,
        )  # fmt: skip
        catch_fields = with_result_fields(
            input_fields,
            [QgsField(name, kind) for name, kind in (
                ("green_id", QVariant.Int), ("area_ha", QVariant.Double), ("pop_served", QVariant.Double),
                ("distance_m", QVariant.Double), ("network_m", QVariant.Double))],
        )  # fmt: skip
        green_sink, green_dest = self.parameterAsSink(
            parameters, self.OUTPUT_GREEN_SPACES, context, green_fields, QgsWkbTypes.MultiPolygon, target
        )
        if green_sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, self.OUTPUT_GREEN_SPACES))
        catch_sink, catch_dest = self.parameterAsSink(
            parameters, self.OUTPUT_CATCHMENTS, context, catch_fields, QgsWkbTypes.MultiPolygon, target
        )
        if catch_sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, self.OUTPUT_CATCHMENTS))
        greens, pop_per_green, catchments = out.greens, out.pop_per_green, out.catchments
        for g, green in enumerate(greens):
            area = round(green.area_ha, 4)
            feature = QgsFeature(green_fields)
            geometry = green.geometry
            geometry.convertToMultiType()
            feature.setGeometry(geometry)
            feature.setAttributes([*out.attributes[g], g + 1, area, float(pop_per_green[g]), int(green.n_parcels)])
            green_sink.addFeature(feature, QgsFeatureSink.FastInsert)
            if catchments[g] is None or catchments[g][0].isEmpty():
                continue
            polygon, reach = catchments[g]
            polygon.convertToMultiType()
            feature = QgsFeature(catch_fields)
            feature.setGeometry(polygon)
            feature.setAttributes(
                [*out.attributes[g], g + 1, area, float(pop_per_green[g]), float(distance), round(reach, 1)]
            )
            catch_sink.addFeature(feature, QgsFeatureSink.FastInsert)
        style_on_load(context, catch_dest, "catchments.qml")
        return {self.OUTPUT_GREEN_SPACES: green_dest, self.OUTPUT_CATCHMENTS: catch_dest}

    def _write_residential(
        self,
        parameters: dict,
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
        target: QgsCoordinateReferenceSystem,
        source: QgsProcessingFeatureSource,
        res: dict,
    ) -> dict:
        results = [QgsField(name, kind) for name, kind in NEW_RESIDENTIAL_FIELDS]
        fields = with_result_fields(source.fields(), results, feedback)
        sink, dest = self.parameterAsSink(
            parameters, self.OUTPUT_RESIDENTIAL, context, fields, source.wkbType(), target
        )
        if sink is None:
            return {self.OUTPUT_RESIDENTIAL: None}
        net_dist, green, served = res["net_dist"], res["green"], res["served"]
        eucl, served_eucl = res["eucl"], res["served_eucl"]
        out = []
        for i, feature in enumerate(res["features"]):
            attributes = [
                *feature.attributes(),
                round(float(net_dist[i]), 2) if np.isfinite(net_dist[i]) else NULL,
                int(green[i]) + 1 if green[i] >= 0 else NULL,
                int(bool(served[i])),
                round(float(eucl[i]), 2) if np.isfinite(eucl[i]) else NULL,
                int(bool(served_eucl[i])),
            ]
            new = QgsFeature(fields)
            new.setGeometry(res["geometries"][i])
            new.setAttributes(attributes)
            out.append(new)
        sink.addFeatures(out, QgsFeatureSink.FastInsert)
        style_on_load(context, dest, "residential_served.qml")
        return {self.OUTPUT_RESIDENTIAL: dest}


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{100 * share:.1f} %"
