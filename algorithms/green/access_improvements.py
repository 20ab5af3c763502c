"""Processing algorithm: where a new crossing or park entrance brings the most people to green."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from qgis.core import (
    NULL,
    QgsCoordinateTransform,
    QgsFeature,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsPointXY,
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsProcessingFeedback,
    QgsProcessingOutputNumber,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterNumber,
    QgsWkbTypes,
)

from ...core.green.access import nearest_green
from ...core.green.improvements import (
    CROSSING,
    ENTRANCE_REACH,
    KIND_NAMES,
    Plan,
    crossing_candidates,
    entrance_sites,
    plan_improvements,
    snap_to_barrier_nodes,
)
from ..base import AlgorithmBase
from ..common import to_qvariant, with_result_fields
from ..qt_compat import FieldType
from ..style_on_load import style_on_load
from .catchment_steps import AccessRun, CatchmentSteps

CROSSINGS_KIND, ENTRANCES_KIND, BOTH_KIND = 0, 1, 2
#: Catchment parameters that do not apply here (no catchment polygons are drawn).
NOT_USED = ("CATCHMENT_BUFFER",)
RESULT_FIELDS = (
    ("rank", FieldType.INT),
    ("kind", FieldType.STRING),
    ("gain_pop", FieldType.DOUBLE),
    ("gain_pop_alone", FieldType.DOUBLE),
    ("served_share_after", FieldType.DOUBLE),
)
HOME_FIELDS = (("rank", FieldType.INT), ("dist_before_m", FieldType.DOUBLE), ("dist_after_m", FieldType.DOUBLE))


@dataclass
class Proposals:
    """Candidate points: crossings (barrier node, point) and entrances (point), with their features."""

    crossing_nodes: np.ndarray
    crossing_xy: np.ndarray
    crossing_feature: np.ndarray
    entrance_xy: np.ndarray
    entrance_feature: np.ndarray
    features: list[QgsFeature] | None


class AccessImprovementsAlgorithm(AlgorithmBase):
    """Rank candidate crossings and park entrances by the residents they bring within reach of green."""

    ALGORITHM_ID = "accessimprovements"
    DISPLAY_NAME = "Where to act: crossings and park entrances"
    GROUP_ID = "greenaccess"

    KIND = "KIND"
    CANDIDATES = "CANDIDATES"
    COUNT = "COUNT"
    OUTPUT = "OUTPUT"
    OUTPUT_HOMES = "OUTPUT_HOMES"
    OUTPUT_CANDIDATES = "OUTPUT_CANDIDATES"

    def initAlgorithm(self, config: dict | None = None) -> None:  # noqa: N802, D102
        # RESIDENTIAL is required: the sites are ranked by the residents they serve
        CatchmentSteps(self).add_parameters(leave_out=NOT_USED, required=("RESIDENTIAL",))
        kinds = [self.tr("New crossings"), self.tr("New park entrances"), self.tr("Both")]
        self.addParameter(QgsProcessingParameterEnum(self.KIND, self.tr("What to place"), kinds, defaultValue=0))
        self.addParameter(
            QgsProcessingParameterFeatureSource(
                self.CANDIDATES, self.tr("Proposed sites (points)"), [QgsProcessing.TypeVectorPoint], optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.COUNT, self.tr("Number of sites to rank"), QgsProcessingParameterNumber.Integer, 10, minValue=1
            )
        )
        point = QgsProcessing.TypeVectorPoint
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Ranked sites"), point))
        self.addParameter(
            QgsProcessingParameterFeatureSink(
                self.OUTPUT_HOMES, self.tr("Homes newly served"), optional=True, createByDefault=True
            )
        )
        self.addParameter(
            QgsProcessingParameterFeatureSink(
                self.OUTPUT_CANDIDATES,
                self.tr("Every candidate site with its gain alone"),
                point,
                optional=True,
                createByDefault=False,
            )
        )
        for name, label in (
            ("SERVED_SHARE_BEFORE", self.tr("Served share before")),
            ("SERVED_SHARE_AFTER", self.tr("Served share with the ranked sites built")),
            ("N_CANDIDATES", self.tr("Number of candidate sites evaluated")),
            ("N_RANKED", self.tr("Number of ranked sites")),
        ):
            self.addOutput(QgsProcessingOutputNumber(name, label))

    def processAlgorithm(  # noqa: N802, D102
        self, parameters: dict, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict:
        kind = self.parameterAsEnum(parameters, self.KIND, context)
        count = self.parameterAsInt(parameters, self.COUNT, context)
        steps = CatchmentSteps(self)  # the catchments' own steps, checks and messages
        inputs = steps.distances_to_green(parameters, context, feedback)
        if inputs.residents is None:
            raise QgsProcessingException(
                self.tr("RESIDENTIAL is needed: the sites are ranked by the residents they bring within reach.")
            )
        candidates_src = self.source(parameters, self.CANDIDATES, context, required=False)
        transform = steps.transform(candidates_src, inputs.sources.target, context) if candidates_src else None
        proposals = self._proposals(candidates_src, transform, kind, inputs, feedback)
        feedback.pushInfo(
            self.tr("Candidates: {} crossings, {} entrances").format(
                len(proposals.crossing_nodes), len(proposals.entrance_xy)
            )
        )
        self._step(feedback, 75)
        plan = plan_improvements(
            inputs.net,
            crossing_candidates(inputs.split, proposals.crossing_nodes),
            proposals.entrance_xy,
            inputs.residents.points,
            inputs.residents.population,
            (inputs.settings.distance, inputs.settings.max_connector, ENTRANCE_REACH, count),
            lambda fraction: self._step(feedback, 75 + 20 * fraction),
        )
        self._report(plan, feedback)
        outputs = self._write_sites(parameters, context, feedback, inputs, proposals, candidates_src, plan)
        outputs.update(self._write_homes(parameters, context, feedback, inputs, plan))
        ranking = plan.ranking
        outputs.update(
            SERVED_SHARE_BEFORE=to_qvariant(ranking.share(ranking.served_before)),
            SERVED_SHARE_AFTER=to_qvariant(ranking.share(ranking.served_final)),
            N_CANDIDATES=len(plan.candidates),
            N_RANKED=len(ranking.order),
        )
        feedback.setProgress(100)
        return outputs

    def _step(self, feedback: QgsProcessingFeedback, progress: float) -> None:
        self.check_cancelled(feedback)
        feedback.setProgress(progress)

    # -- candidates ---------------------------------------------------------------------------

    def _proposals(
        self,
        source: QgsProcessingFeatureSource | None,
        transform: QgsCoordinateTransform | None,
        kind: int,
        inputs: AccessRun,
        feedback: QgsProcessingFeedback,
    ) -> Proposals:
        """Candidate crossings and entrances: the proposed points, or every default site."""
        want_crossings, want_entrances = kind in (CROSSINGS_KIND, BOTH_KIND), kind in (ENTRANCES_KIND, BOTH_KIND)
        none = np.zeros(0, np.int64)
        if source is None:
            split = inputs.split
            crossings = crossing_candidates(split) if want_crossings else None
            nodes = np.unique(split.copy_node[crossings.nodes]) if crossings is not None else none
            sites = self._entrance_sites(inputs) if want_entrances else np.zeros((0, 2))
            xy = crossings.xy if crossings is not None else np.zeros((0, 2))
            return Proposals(nodes, xy, np.full(len(nodes), -1), sites, np.full(len(sites), -1), None)
        features, points = self._read_proposals(source, transform, feedback)
        node = snap_to_barrier_nodes(inputs.split, points, inputs.settings.crossing_snap) if want_crossings else none
        is_crossing = np.zeros(len(points), dtype=bool)
        if want_crossings:
            is_crossing = node >= 0
        _, first = np.unique(node[is_crossing], return_index=True) if is_crossing.any() else (none, none)
        crossing_ids = np.flatnonzero(is_crossing)[np.sort(first)]
        entrance_ids = none
        if want_entrances:
            gap, _ = nearest_green(points, inputs.greens.boundary, inputs.greens.contains)
            entrance_ids = np.flatnonzero(~is_crossing & (gap <= ENTRANCE_REACH))
        left_out = len(points) - int(is_crossing.sum()) - len(entrance_ids)
        if left_out:
            feedback.pushWarning(self._left_out_message(kind).format(left_out))
        return Proposals(
            node[crossing_ids] if len(crossing_ids) else none,
            points[crossing_ids],
            crossing_ids,
            points[entrance_ids],
            entrance_ids,
            features,
        )

    def _left_out_message(self, kind: int) -> str:
        if kind == CROSSINGS_KIND:
            return self.tr(
                "{} proposed sites lie on no barrier node without a crossing (within CROSSING_SNAP) and are left out."
            )
        if kind == ENTRANCES_KIND:
            return self.tr("{} proposed sites are more than 50 m from every qualifying green space and are left out.")
        return self.tr(
            "{} proposed sites are neither on a barrier node without a crossing nor within 50 m of a qualifying "
            "green space and are left out."
        )

    def _entrance_sites(self, inputs: AccessRun) -> np.ndarray:
        graph = inputs.split.graph
        sites, _ = entrance_sites(
            graph.xy[graph.u], graph.xy[graph.v], inputs.greens.boundary, inputs.greens.contains, ENTRANCE_REACH
        )
        return sites

    def _read_proposals(
        self,
        source: QgsProcessingFeatureSource,
        transform: QgsCoordinateTransform | None,
        feedback: QgsProcessingFeedback,
    ) -> tuple[list[QgsFeature], np.ndarray]:
        """Proposed features with a point (the first of a multipoint) in the target CRS."""
        features, points = [], []
        for feature in self.read_features(source, self.CANDIDATES, feedback)[0]:
            geometry = feature.geometry()
            if geometry.isNull() or geometry.isEmpty():
                continue
            if transform is not None:
                geometry.transform(transform)
            features.append(feature)
            points.append((geometry.vertexAt(0).x(), geometry.vertexAt(0).y()))
        return features, np.array(points, dtype=float).reshape(-1, 2)

    def _report(self, plan: Plan, feedback: QgsProcessingFeedback) -> None:
        ranking = plan.ranking
        feedback.pushInfo(
            self.tr("{} candidates searched ({} searches), {} gain residents on their own, {} ranked").format(
                len(plan.candidates),
                ranking.searches,
                int(np.count_nonzero(ranking.gain_alone > 0)),
                len(ranking.order),
            )
        )
        if not len(plan.candidates):
            feedback.pushWarning(
                self.tr(
                    "No candidate sites: crossings need BARRIERS with nodes that no crossing opens yet, entrances "
                    "need ways within 50 m of a qualifying green space; or give proposed sites in CANDIDATES."
                )
            )
        elif not ranking.order:
            feedback.pushWarning(self.tr("No candidate brings anybody within reach: nothing is ranked."))

    # -- writing ------------------------------------------------------------------------------

    def _site_geometry(self, plan: Plan, proposals: Proposals, i: int) -> tuple[QgsGeometry, int]:
        """Point of candidate ``i`` and the index of its proposed feature (-1 for a default site)."""
        site = int(plan.site[i])
        if plan.candidates.kind[i] == CROSSING:
            x, y = proposals.crossing_xy[site]
            feature = int(proposals.crossing_feature[site])
        else:
            x, y = proposals.entrance_xy[site]
            feature = int(proposals.entrance_feature[site])
        return QgsGeometry.fromPointXY(QgsPointXY(float(x), float(y))), feature

    def _write_sites(
        self,
        parameters: dict,
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
        inputs: AccessRun,
        proposals: Proposals,
        source: QgsProcessingFeatureSource | None,
        plan: Plan,
    ) -> dict:
        """Write the ranked sites (OUTPUT) and, when asked for, every candidate (OUTPUT_CANDIDATES)."""
        results = [QgsField(name, kind) for name, kind in RESULT_FIELDS]
        fields = with_result_fields(source.fields() if source is not None else QgsFields(), results, feedback)
        ranking = plan.ranking
        rank_of = {i: rank for rank, i in enumerate(ranking.order, start=1)}
        outputs = {}
        for name, which in ((self.OUTPUT, ranking.order), (self.OUTPUT_CANDIDATES, range(len(plan.candidates)))):
            optional = name == self.OUTPUT_CANDIDATES
            point = QgsWkbTypes.Point
            sink, dest = self.create_sink(
                parameters, name, context, fields, point, inputs.sources.target, feedback, optional
            )
            if sink is None:
                outputs[name] = None
                continue
            for i in which:
                feature = self._site_feature(fields, plan, proposals, i, rank_of.get(i))
                sink.addFeature(feature, QgsFeatureSink.FastInsert)
            style_on_load(context, dest, "access_improvements.qml")
            outputs[name] = dest
        return outputs

    def _site_feature(
        self, fields: QgsFields, plan: Plan, proposals: Proposals, i: int, rank: int | None
    ) -> QgsFeature:
        """Feature of candidate ``i`` (rank None: not ranked)."""
        ranking = plan.ranking
        geometry, feature_index = self._site_geometry(plan, proposals, i)
        own = proposals.features[feature_index].attributes() if feature_index >= 0 else []
        feature = QgsFeature(fields)
        feature.setGeometry(geometry)
        feature.setAttributes([
            *own,
            rank if rank is not None else NULL,
            KIND_NAMES[int(plan.candidates.kind[i])],
            float(ranking.gain[rank - 1]) if rank is not None else NULL,
            float(ranking.gain_alone[i]),
            to_qvariant(ranking.share(ranking.served_after[rank - 1])) if rank is not None else NULL,
        ])  # fmt: skip
        return feature

    def _write_homes(
        self,
        parameters: dict,
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
        inputs: AccessRun,
        plan: Plan,
    ) -> dict:
        homes, source = inputs.residents, inputs.sources.residential
        fields = with_result_fields(source.fields(), [QgsField(n, k) for n, k in HOME_FIELDS], feedback)
        wkb_type = source.wkbType()
        if any(g.isMultipart() for g in homes.geometries):  # repaired polygons may fall apart into several
            wkb_type = QgsWkbTypes.multiType(wkb_type)
        sink, dest = self.create_sink(
            parameters, self.OUTPUT_HOMES, context, fields, wkb_type, inputs.sources.target, feedback, optional=True
        )
        if sink is None:
            return {self.OUTPUT_HOMES: None}
        ranking = plan.ranking
        for rank, (ids, dist) in enumerate(zip(ranking.homes, ranking.home_dist), start=1):
            for home, after in zip(ids.tolist(), dist.tolist()):
                before = float(ranking.home_dist_before[home])
                feature = QgsFeature(fields)
                feature.setGeometry(homes.geometries[home])
                feature.setAttributes([
                    *homes.features[home].attributes(),
                    rank,
                    round(before, 2) if np.isfinite(before) else NULL,
                    round(float(after), 2),
                ])  # fmt: skip
                sink.addFeature(feature, QgsFeatureSink.FastInsert)
        style_on_load(context, dest, "access_improvements_homes.qml", polygons_only=True)
        return {self.OUTPUT_HOMES: dest}
