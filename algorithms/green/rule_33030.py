"""Processing algorithm: the 3-30-300 rule per home (three trees near, 30 % canopy around, a park within 300 m)."""

from __future__ import annotations

import numpy as np
from qgis.core import (
    NULL,
    QgsFeature,
    QgsFeatureSink,
    QgsField,
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsProcessingFeedback,
    QgsProcessingOutputNumber,
    QgsRasterLayer,
    QgsVectorLayer,
    QgsWkbTypes,
)

from ...core.green.access import served_statistics
from ...core.green.rule_33030 import CanopyGrid, RuleFlags, disc_shares, rule_flags, trees_near
from ..base import AlgorithmBase, param
from ..common import to_qvariant, with_result_fields
from ..qt_compat import FieldType
from ..style_on_load import style_on_load
from .canopy_grid import CanopyError, grid_cell, polygon_grid, raster_grid
from .catchment_steps import AccessRun, CatchmentSteps
from .green_geometry import read_layer, read_points, vertex_arrays

RESULT_FIELDS = (
    ("trees_n", FieldType.INT), ("canopy_share", FieldType.DOUBLE), ("park_dist_m", FieldType.DOUBLE),
    ("rule_3", FieldType.INT), ("rule_30", FieldType.INT), ("rule_300", FieldType.INT), ("rule_all", FieldType.INT),
    ("rules_met", FieldType.INT),
)  # fmt: skip


class ParkSteps(CatchmentSteps):
    """The catchments' steps with the park size and walking distance of the 3-30-300 rule."""

    DISTANCE = "PARK_DISTANCE"
    MIN_AREA_HA = "PARK_MIN_HA"


class Rule33030Algorithm(AlgorithmBase):
    """Per home: trees near it, canopy share around it, walk to a park; the share of residents meeting each rule."""

    ALGORITHM_ID = "rule33030"
    DISPLAY_NAME = "3-30-300 rule per home"
    GROUP_ID = "greenaccess"

    TREES = "TREES"
    CANOPY = "CANOPY"
    TREE_DISTANCE = "TREE_DISTANCE"
    CANOPY_RADIUS = "CANOPY_RADIUS"
    PARK_MIN_HA = "PARK_MIN_HA"
    PARK_DISTANCE = "PARK_DISTANCE"
    CANOPY_CELL = "CANOPY_CELL"
    CANOPY_THRESHOLD = "CANOPY_THRESHOLD"
    OUTPUT = "OUTPUT"

    def initAlgorithm(self, config: dict | None = None) -> None:  # noqa: N802, D102
        steps = ParkSteps(self)
        steps.add_inputs(required=(steps.RESIDENTIAL,))
        point, polygon = QgsProcessing.TypeVectorPoint, QgsProcessing.TypeVectorPolygon
        self.add_parameters(
            param("source", self.TREES, self.tr("Trees (points)"), types=[point]),
            param("layer", self.CANOPY, self.tr("Tree canopy (polygons or a raster)"),
                  types=[polygon, QgsProcessing.TypeRaster]),
            param("double", self.TREE_DISTANCE, self.tr("Trees count within this distance of a home (m)"),
                  defaultValue=15.0, minValue=0.0),
            param("double", self.CANOPY_RADIUS, self.tr("Canopy share within this radius of a home (m)"),
                  defaultValue=250.0, minValue=1.0),
            param("double", self.PARK_MIN_HA, self.tr("Minimum park size (ha)"), defaultValue=1.0, minValue=0.0),
            param("double", self.PARK_DISTANCE, self.tr("Walking distance to a park (m)"), defaultValue=300.0,
                  minValue=1.0),
        )  # fmt: skip
        steps.add_numbers(leave_out=(steps.STANDARD, steps.DISTANCE, steps.MIN_AREA_HA, steps.CATCHMENT_BUFFER))
        self.add_parameters(
            param("double", self.CANOPY_CELL, self.tr("Cell size of the canopy grid (m)"), advanced=True,
                  defaultValue=2.0, minValue=0.1),
            param("double", self.CANOPY_THRESHOLD, self.tr("Raster canopy: cells with at least this value are canopy"),
                  advanced=True, defaultValue=1.0),
            param("sink", self.OUTPUT, self.tr("Homes with the 3-30-300 rule")),
        )  # fmt: skip
        for name, label in (
            ("SHARE_3", self.tr("Share of residents with 3 trees near their home")),
            ("SHARE_30", self.tr("Share of residents with 30 % canopy around their home")),
            ("SHARE_300", self.tr("Share of residents within the walking distance of a park")),
            ("SHARE_ALL", self.tr("Share of residents meeting all three")),
            ("TOTAL_POPULATION", self.tr("Total population")),
        ):
            self.addOutput(QgsProcessingOutputNumber(name, label))

    def processAlgorithm(  # noqa: N802, D102
        self, parameters: dict, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict:
        number = lambda name: self.parameterAsDouble(parameters, name, context)  # noqa: E731
        steps = ParkSteps(self)
        canopy_layer = self._canopy_layer(parameters, context)
        trees_source = self.source(parameters, self.TREES, context)
        steps.check_type(trees_source, self.TREES, (QgsWkbTypes.PointGeometry,))
        run = steps.distances_to_green(parameters, context, feedback)
        homes = run.residents
        trees = read_points(trees_source, steps.transform(trees_source, run.sources.target, context), feedback)
        feedback.pushInfo(self.tr("{} trees").format(len(trees)))
        rings = [vertex_arrays(g) if g.type() == QgsWkbTypes.PolygonGeometry else [] for g in homes.geometries]
        trees_n = trees_near(rings, homes.points, trees, number(self.TREE_DISTANCE))
        steps.step(feedback, 75)
        grid = self._canopy_grid(canopy_layer, steps, run, parameters, context, feedback)
        steps.step(feedback, 85)
        canopy_share = disc_shares(grid, homes.points, number(self.CANOPY_RADIUS)) if len(homes.points) else np.zeros(0)
        unknown = int(np.count_nonzero(np.isnan(canopy_share)))
        if unknown:
            feedback.pushWarning(
                self.tr("{} homes have no canopy data within CANOPY_RADIUS: canopy_share is empty and they do not meet "
                        "the 30.").format(unknown)
            )  # fmt: skip
        flags = rule_flags(trees_n, canopy_share, homes.net_dist, run.settings.distance)
        steps.step(feedback, 90)
        outputs = self._write(parameters, context, feedback, run, (trees_n, canopy_share), flags)
        outputs.update(self._results(homes.population, flags, feedback))
        feedback.setProgress(100)
        return outputs

    # -- canopy -------------------------------------------------------------------------------

    def _canopy_layer(self, parameters: dict, context: QgsProcessingContext) -> QgsVectorLayer | QgsRasterLayer:
        layer = self.parameterAsLayer(parameters, self.CANOPY, context)
        if layer is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, self.CANOPY))
        if isinstance(layer, QgsVectorLayer) and layer.geometryType() != QgsWkbTypes.PolygonGeometry:
            raise QgsProcessingException(
                self.tr("CANOPY must contain polygons or be a raster. Choose the canopy areas (woods, tree "
                        "crowns) or a canopy raster.")
            )  # fmt: skip
        if not isinstance(layer, (QgsVectorLayer, QgsRasterLayer)):
            raise QgsProcessingException(self.tr("CANOPY must be a polygon layer or a raster."))
        return layer

    def _canopy_grid(
        self,
        layer: QgsVectorLayer | QgsRasterLayer,
        steps: ParkSteps,
        run: AccessRun,
        parameters: dict,
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
    ) -> CanopyGrid:
        """Put the canopy on a grid around the homes: polygons burnt in, a raster warped."""
        points, target = run.residents.points, run.sources.target
        radius = self.parameterAsDouble(parameters, self.CANOPY_RADIUS, context)
        wanted = self.parameterAsDouble(parameters, self.CANOPY_CELL, context)
        cell = grid_cell(points, radius, wanted) if len(points) else wanted
        if cell > wanted:
            feedback.pushWarning(self.tr("The canopy grid uses {} m cells instead of CANOPY_CELL {} m to fit into "
                                         "memory.").format(cell, wanted))  # fmt: skip
        if not len(points):
            return CanopyGrid(np.zeros((1, 1), bool), None, 0.0, 0.0, cell)
        if isinstance(layer, QgsRasterLayer):
            threshold = self.parameterAsDouble(parameters, self.CANOPY_THRESHOLD, context)
            try:
                return raster_grid(layer, target, points, radius, cell, threshold)
            except CanopyError as error:
                raise QgsProcessingException(str(error)) from None
        source = QgsProcessingFeatureSource(layer, context)
        polygons = read_layer(source, steps.transform(source, target, context), feedback, attributes=[])
        feedback.pushInfo(self.tr("{} canopy polygons").format(len(polygons.geometries)))
        return polygon_grid(polygons.geometries, points, radius, cell)

    # -- writing ------------------------------------------------------------------------------

    def _write(
        self,
        parameters: dict,
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
        run: AccessRun,
        measures: tuple[np.ndarray, np.ndarray],
        flags: RuleFlags,
    ) -> dict:
        """Write the residential features with the rule's fields."""
        homes, source = run.residents, run.sources.residential
        trees_n, canopy_share = measures
        fields = with_result_fields(source.fields(), [QgsField(n, k) for n, k in RESULT_FIELDS], feedback)
        wkb_type = source.wkbType()
        if any(g.isMultipart() for g in homes.geometries):  # repaired polygons may fall apart into several
            wkb_type = QgsWkbTypes.multiType(wkb_type)
        sink, dest = self.create_sink(parameters, self.OUTPUT, context, fields, wkb_type, run.sources.target, feedback)
        columns = [
            trees_n.tolist(),
            [round(float(v), 4) if np.isfinite(v) else NULL for v in canopy_share],
            [round(float(v), 2) if np.isfinite(v) else NULL for v in homes.net_dist],
            *(np.asarray(flag, dtype=int).tolist() for flag in (flags.rule_3, flags.rule_30, flags.rule_300)),
            flags.rule_all.astype(int).tolist(),
            flags.met.tolist(),
        ]
        features = []
        for i, feature in enumerate(homes.features):
            out = QgsFeature(fields)
            out.setGeometry(homes.geometries[i])
            out.setAttributes([*feature.attributes(), *(column[i] for column in columns)])
            features.append(out)
        if not sink.addFeatures(features, QgsFeatureSink.FastInsert):
            raise QgsProcessingException(self.writeFeatureError(sink, parameters, self.OUTPUT))
        style_on_load(context, dest, "rule_33030.qml")
        return {self.OUTPUT: dest}

    def _results(self, population: np.ndarray, flags: RuleFlags, feedback: QgsProcessingFeedback) -> dict:
        """Return the population-weighted share of residents meeting each rule and all three."""
        none = np.zeros(len(population), dtype=bool)
        results: dict = {}
        for name, flag in (("SHARE_3", flags.rule_3), ("SHARE_30", flags.rule_30), ("SHARE_300", flags.rule_300),
                           ("SHARE_ALL", flags.rule_all)):  # fmt: skip
            stats = served_statistics(population, flag, none)
            results[name] = to_qvariant(stats.share)
        results["TOTAL_POPULATION"] = float(np.sum(population))
        feedback.pushInfo(
            self.tr("3 trees: {}, 30 % canopy: {}, park within reach: {}; all three: {}").format(
                *(_percent(results[name]) for name in ("SHARE_3", "SHARE_30", "SHARE_300", "SHARE_ALL"))
            )
        )
        return results


def _percent(share) -> str:
    return "–" if share is None or share == NULL else f"{100 * share:.1f} %"
