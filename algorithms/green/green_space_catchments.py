"""Processing algorithm: barrier-aware green-space catchments and served population."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from qgis.core import (
    NULL,
    QgsCoordinateReferenceSystem,
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
    QgsProcessingParameterFeatureSink,
    QgsWkbTypes,
)

from ...core.green.access import AccessNetwork, population_per_green, served_statistics
from ...core.green.barrier_sides import SideSplit
from ...core.green.polygons import piece_probes, reachable_pieces
from ..base import AlgorithmBase
from ..common import local_number, to_qvariant, with_result_fields
from ..qt_compat import FieldType
from ..style_on_load import style_on_load
from .catchment_steps import CatchmentSteps, Greens, Residents, Settings, Sources
from .green_geometry import GreenSpace, catchment_polygon

NEW_RESIDENTIAL_FIELDS = (
    ("net_dist_m", FieldType.DOUBLE),
    ("green_id", FieldType.INT),
    ("served", FieldType.INT),
    ("eucl_dist_m", FieldType.DOUBLE),
    ("served_eucl", FieldType.INT),
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

    OUTPUT_CATCHMENTS = "OUTPUT_CATCHMENTS"
    OUTPUT_GREEN_SPACES = "OUTPUT_GREEN_SPACES"
    OUTPUT_RESIDENTIAL = "OUTPUT_RESIDENTIAL"

    def initAlgorithm(self, config: dict | None = None) -> None:  # noqa: N802, D102
        CatchmentSteps(self).add_parameters()
        polygon = QgsProcessing.TypeVectorPolygon
        add = self.addParameter
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

    # -- main ---------------------------------------------------------------------------------

    def processAlgorithm(  # noqa: N802, D102
        self, parameters: dict, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict:
        run = CatchmentSteps(self).distances_to_green(parameters, context, feedback)
        catchments = self._catchments(run.net, run.split, run.greens, run.settings, feedback)
        return self._write(
            parameters, context, feedback, run.sources, run.settings, run.greens, run.residents, catchments
        )

    def _catchments(
        self, net: AccessNetwork, split: SideSplit, greens: Greens, settings: Settings, feedback: QgsProcessingFeedback
    ) -> list:
        """Return per green space (polygon, reachable network length), or None when nothing is reachable."""
        steps = CatchmentSteps(self)
        pieces = reachable_pieces(net.graph, net.dist, net.green, settings.distance)
        catchments = []
        n = len(greens.spaces)
        for g in range(n):
            steps.step(feedback, 70 + 20 * g / max(n, 1))
            mine = pieces.label == g
            if not np.any(mine):
                catchments.append(None)
                continue
            sub = pieces.subset(mine)
            polygon = catchment_polygon(
                sub.p0, sub.p1, piece_probes(sub, max(1.0, split.barrier_snap + 0.5)), settings.width,
                split.barrier_p0, split.barrier_p1,
            )
            catchments.append((polygon, sub.total_length))
        return catchments

    def _write(
        self,
        parameters: dict,
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
        sources: Sources,
        settings: Settings,
        greens: Greens,
        residents: Residents | None,
        catchments: list,
    ) -> dict:
        """Write all outputs and numbers (everything computed before: no half-written outputs)."""
        pop_per_green = np.zeros(len(greens.spaces))
        if residents is not None:
            pop_per_green = population_per_green(
                residents.green, residents.population, residents.served, len(greens.spaces)
            )
        greens_out = GreenOutputs(greens.spaces, greens.attributes, pop_per_green, catchments)
        outputs = self._write_greens(
            parameters, context, feedback, sources.target, sources.greens.fields(), greens_out, settings.distance
        )
        if residents is None:
            stats = served_statistics(np.zeros(0), np.zeros(0), np.zeros(0))
        else:
            outputs.update(
                self._write_residential(parameters, context, feedback, sources.target, sources.residential, residents)
            )
            stats = served_statistics(residents.population, residents.served, residents.served_eucl)
            feedback.pushInfo(
                self.tr("Served: {} of {} ({}); by straight line: {}").format(
                    local_number(stats.served), local_number(stats.total), _percent(stats.share),
                    _percent(stats.share_eucl)
                )
            )
        outputs.update(
            SERVED_POPULATION=float(stats.served),
            TOTAL_POPULATION=float(stats.total),
            SERVED_SHARE=to_qvariant(stats.share),
            SERVED_SHARE_EUCLIDEAN=to_qvariant(stats.share_eucl),
        )
        feedback.setProgress(100)
        return outputs

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
                ("green_id", FieldType.INT), ("area_ha", FieldType.DOUBLE), ("pop_served", FieldType.DOUBLE),
                ("n_parcels", FieldType.INT))],
            feedback,
        )  # fmt: skip
        catch_fields = with_result_fields(
            input_fields,
            [QgsField(name, kind) for name, kind in (
                ("green_id", FieldType.INT), ("area_ha", FieldType.DOUBLE), ("pop_served", FieldType.DOUBLE),
                ("distance_m", FieldType.DOUBLE), ("network_m", FieldType.DOUBLE))],
        )  # fmt: skip
        green_sink, green_dest = self.create_sink(
            parameters, self.OUTPUT_GREEN_SPACES, context, green_fields, QgsWkbTypes.MultiPolygon, target, feedback
        )
        catch_sink, catch_dest = self.create_sink(
            parameters, self.OUTPUT_CATCHMENTS, context, catch_fields, QgsWkbTypes.MultiPolygon, target, feedback
        )
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
        style_on_load(context, green_dest, "qualifying_green_spaces.qml")
        return {self.OUTPUT_GREEN_SPACES: green_dest, self.OUTPUT_CATCHMENTS: catch_dest}

    def _write_residential(
        self,
        parameters: dict,
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
        target: QgsCoordinateReferenceSystem,
        source: QgsProcessingFeatureSource,
        res: Residents,
    ) -> dict:
        results = [QgsField(name, kind) for name, kind in NEW_RESIDENTIAL_FIELDS]
        fields = with_result_fields(source.fields(), results, feedback)
        wkb_type = source.wkbType()
        if any(g.isMultipart() for g in res.geometries):  # repaired polygons may fall apart into several
            wkb_type = QgsWkbTypes.multiType(wkb_type)
        sink, dest = self.create_sink(
            parameters, self.OUTPUT_RESIDENTIAL, context, fields, wkb_type, target, feedback, optional=True
        )
        if sink is None:
            return {self.OUTPUT_RESIDENTIAL: None}
        served, served_eucl = res.served, res.served_eucl
        out = []
        for i, feature in enumerate(res.features):
            attributes = [
                *feature.attributes(),
                round(float(res.net_dist[i]), 2) if np.isfinite(res.net_dist[i]) else NULL,
                int(res.green[i]) + 1 if res.green[i] >= 0 else NULL,
                int(bool(served[i])),
                round(float(res.eucl[i]), 2) if np.isfinite(res.eucl[i]) else NULL,
                int(bool(served_eucl[i])),
            ]
            new = QgsFeature(fields)
            new.setGeometry(res.geometries[i])
            new.setAttributes(attributes)
            out.append(new)
        if not sink.addFeatures(out, QgsFeatureSink.FastInsert):
            raise QgsProcessingException(self.writeFeatureError(sink, parameters, self.OUTPUT_RESIDENTIAL))
        style_on_load(context, dest, "residential_served.qml")
        return {self.OUTPUT_RESIDENTIAL: dest}


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{local_number(100 * share, 1)} %"
