"""Local hotspots: Getis-Ord Gi* and Local Moran's I (LISA) on queen, rook, k-nearest or distance-band weights."""

from __future__ import annotations

from typing import Any

import numpy as np
from qgis.core import (
    NULL,
    QgsFeature,
    QgsFeatureSink,
    QgsField,
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputNumber,
    QgsProcessingParameterField,
)

from ...core.hotspots import local_statistics as stats
from ...core.hotspots import value_checks
from ..base import AlgorithmBase, Param, param
from ..common import to_number, with_result_fields
from ..qt_compat import NUMERIC_TYPES, FieldType
from ..style_on_load import style_on_load
from . import neighbours

STYLES = {
    0: "gi_bins.qml",
    1: "lisa_clusters.qml",
}
#: Added fields: name (also the attribute of ``HotspotResult``) and type.
NEW_FIELDS = (
    ("n_neighbors", FieldType.INT),
    ("gi_z", FieldType.DOUBLE),
    ("gi_p", FieldType.DOUBLE),
    ("gi_p_fdr", FieldType.DOUBLE),
    ("gi_p_sim", FieldType.DOUBLE),
    ("gi_bin", FieldType.INT),
    ("lisa_i", FieldType.DOUBLE),
    ("lisa_z", FieldType.DOUBLE),
    ("lisa_lag", FieldType.DOUBLE),
    ("lisa_q", FieldType.INT),
    ("lisa_p", FieldType.DOUBLE),
    ("lisa_p_fdr", FieldType.DOUBLE),
    ("lisa_cluster", FieldType.STRING),
)


def _column(values: np.ndarray, integer: bool) -> list:
    """Numpy column as plain Python values, NaN as NULL."""
    cast = int if integer else float
    return [NULL if v != v else cast(v) for v in values.tolist()]


class LocalHotspotsAlgorithm(AlgorithmBase):
    """Gi* z-scores, hot/cold-spot bins, LISA clusters and global Moran's I of one field."""

    ALGORITHM_ID = "localhotspots"
    DISPLAY_NAME = "Local hotspots (Getis-Ord Gi*, Local Moran's I)"
    GROUP_ID = "hotspots"

    INPUT = "INPUT"
    FIELD = "FIELD"
    WEIGHTS = "WEIGHTS"
    K = "K"
    DISTANCE = "DISTANCE"
    PERMUTATIONS = "PERMUTATIONS"
    SEED = "SEED"
    ALPHA = "ALPHA"
    FDR = "FDR"
    CORRECTION = "CORRECTION"
    BINS_FROM = "BINS_FROM"
    TRANSFORM = "TRANSFORM"
    KNN_TIES = "KNN_TIES"
    SNAP_TOLERANCE = "SNAP_TOLERANCE"
    STYLE = "STYLE"
    OUTPUT = "OUTPUT"
    NUMBERS = (
        "GLOBAL_MORAN_I",
        "GLOBAL_MORAN_EI",
        "GLOBAL_MORAN_Z",
        "GLOBAL_MORAN_P",
        "GLOBAL_MORAN_P_SIM",
        "N_HOT",
        "N_COLD",
        "N_LISA_SIGNIFICANT",
        "N_NO_NEIGHBOURS",
        "N_NO_DATA",
        "N_KNN_TIES",
    )

    def initAlgorithm(self, configuration: dict | None = None) -> None:  # noqa: N802, D102
        self.add_parameters(
            param("source", self.INPUT, self.tr("Area units"),
                  types=[QgsProcessing.TypeVectorPolygon, QgsProcessing.TypeVectorPoint]),
            param("field", self.FIELD, self.tr("Value to test for hot and cold spots (numeric field)"),
                  parentLayerParameterName=self.INPUT, type=QgsProcessingParameterField.Numeric, defaultValue="score"),
            *neighbours.neighbour_parameters(),
            param("int", self.PERMUTATIONS, self.tr("Permutations (0 = analytic p-values only)"), defaultValue=9999,
                  minValue=0, maxValue=99999),
            param("int", self.SEED, self.tr("Random seed"), defaultValue=1, minValue=0),
            param("double", self.ALPHA, self.tr("Significance level for LISA clusters"), defaultValue=0.05,
                  minValue=0.0001, maxValue=0.5),
            param("bool", self.FDR, self.tr("Correct for multiple testing (Benjamini-Hochberg false discovery rate)"),
                  defaultValue=True),
            *self._statistics_parameters(),
            neighbours.snap_tolerance_parameter(),
            param("enum", self.STYLE, self.tr("Style of the output"), defaultValue=0,
                  options=[self.tr("Gi* hot and cold spots"), self.tr("LISA clusters")]),
            param("sink", self.OUTPUT, self.tr("Local hotspots")),
        )
        descriptions = (
            self.tr("Global Moran's I"),
            self.tr("Expected Moran's I under randomness"),
            self.tr("z-score of global Moran's I (normality)"),
            self.tr("p-value of global Moran's I (two-sided)"),
            self.tr("Pseudo p-value of global Moran's I from permutations"),
            self.tr("Number of hot spots (gi_bin > 0)"),
            self.tr("Number of cold spots (gi_bin < 0)"),
            self.tr("Number of significant LISA clusters and outliers"),
            self.tr("Number of features without neighbours"),
            self.tr("Number of features without a value"),
            self.tr("Number of features with tied k-th nearest neighbours"),
        )
        for name, description in zip(self.NUMBERS, descriptions):
            self.addOutput(QgsProcessingOutputNumber(name, description))

    def processAlgorithm(  # noqa: N802, D102
        self, parameters: dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict[str, Any]:
        source = self.source(parameters, self.INPUT, context)
        field_name = self.parameterAsString(parameters, self.FIELD, context)
        field_index = self._check_field(source.fields(), field_name)
        neighbours.check_geometry(self, parameters, context, source)
        features, report = self.read_features(source, self.INPUT, feedback, duplicates=True)
        feedback.setProgress(30)
        values = self._values(features, field_index, field_name, feedback)
        missing = int(np.isnan(values).sum())
        found = neighbours.neighbour_weights(self, parameters, context, source, features, np.isfinite(values), feedback)
        weights, knn_ties = found.matrix, found.knn_ties
        feedback.setProgress(55)
        feedback.setProgressText(self.tr("Computing Gi* and Local Moran's I…"))
        try:
            result = stats.local_hotspots(values, weights, **self._statistics_options(parameters, context))
        except stats.StatisticsError as error:
            raise QgsProcessingException(self._explain(error, field_name, len(values) - missing)) from error
        islands = int(np.sum(result.lisa_cluster == stats.NO_NEIGHBOURS))
        if islands == result.n_valid:
            raise QgsProcessingException(
                self.tr("No feature has a neighbour with these settings. Use a larger distance band or k nearest.")
            )
        if islands:
            feedback.pushWarning(
                self.tr("{} feature(s) have no neighbour: their statistics are NULL ('No neighbours').").format(islands)
            )
        self._report_significance(result, parameters, context, feedback)
        feedback.setProgress(70)
        dest_id = self._write(source, features, report.output_type(source.wkbType()), result, parameters, context,
                              feedback)
        return {
            self.OUTPUT: dest_id,
            "GLOBAL_MORAN_I": float(result.moran_i),
            "GLOBAL_MORAN_EI": float(result.moran_ei),
            "GLOBAL_MORAN_Z": float(result.moran_z),
            "GLOBAL_MORAN_P": float(result.moran_p),
            "GLOBAL_MORAN_P_SIM": float(result.moran_p_sim),
            "N_HOT": int(np.sum(np.nan_to_num(result.gi_bin) > 0)),
            "N_COLD": int(np.sum(np.nan_to_num(result.gi_bin) < 0)),
            "N_LISA_SIGNIFICANT": int(np.sum(result.lisa_cluster > 0)),
            "N_NO_NEIGHBOURS": islands,
            "N_NO_DATA": missing,
            "N_KNN_TIES": knn_ties,
        }

    def _statistics_parameters(self) -> list[Param]:
        """BINS_FROM, CORRECTION, TRANSFORM and KNN_TIES (all but BINS_FROM advanced)."""
        return [
            param("enum", self.BINS_FROM, self.tr("p-value of the Gi* bins"), defaultValue=0,
                  options=[self.tr("Analytic (normal distribution)"), self.tr("Permutations (pseudo p)")]),
            param("enum", self.CORRECTION, self.tr("Correction for multiple testing when FDR is on"), advanced=True,
                  defaultValue=0, options=[self.tr("Benjamini-Hochberg (false discovery rate)"),
                                           self.tr("Bonferroni (family-wise error)")]),
            param("enum", self.TRANSFORM, self.tr("Weights of Local and global Moran's I"), advanced=True,
                  defaultValue=0, options=[self.tr("Row-standardised (neighbours' mean)"),
                                           self.tr("Binary (neighbours' sum)")]),
            neighbours.knn_ties_parameter(),
        ]

    def _statistics_options(self, parameters, context) -> dict[str, Any]:
        """Keyword arguments of ``local_hotspots`` from the parameters."""
        return {
            "permutations": self.parameterAsInt(parameters, self.PERMUTATIONS, context),
            "seed": self.parameterAsInt(parameters, self.SEED, context),
            "alpha": self.parameterAsDouble(parameters, self.ALPHA, context),
            "fdr": self.parameterAsBool(parameters, self.FDR, context),
            "bins_from": self.parameterAsEnum(parameters, self.BINS_FROM, context),
            "correction": self.parameterAsEnum(parameters, self.CORRECTION, context),
            "transform": self.parameterAsEnum(parameters, self.TRANSFORM, context),
        }

    def _report_significance(self, result: stats.HotspotResult, parameters, context, feedback) -> None:
        """Warn when too few permutations make the corrected significance depend on the seed."""
        options = self._statistics_options(parameters, context)
        permutations = options["permutations"]
        if permutations > 0 and result.moran_permutations:
            feedback.pushInfo(
                self.tr("Global Moran's I: pseudo p {:.4g} from {} permutations of all values.").format(
                    result.moran_p_sim, result.moran_permutations
                )
            )
        if not options["fdr"] or permutations <= 0:
            return
        tested = int(np.sum(result.lisa_cluster >= 0))
        needed = stats.permutations_needed(tested, options["alpha"])
        if options["bins_from"] == stats.PERMUTATION:
            needed = max(needed, stats.permutations_needed(tested, stats.GI_BIN_LEVELS[-1][0], tails=2))
        if permutations < needed:
            feedback.pushWarning(
                self.tr(
                    "{} permutations are too few for {} tested features with the multiple-testing correction: "
                    "the smallest pseudo p, 1/{}, passes only when several features reach it, so the "
                    "significant features change with SEED. Use PERMUTATIONS of at least {}, or 0 for analytic "
                    "p-values."
                ).format(permutations, tested, permutations + 1, needed)
            )

    def _check_field(self, fields, name: str) -> int:
        index = fields.lookupField(name)
        if index < 0:
            raise QgsProcessingException(self.tr("The field {} does not exist in the input layer.").format(name))
        if fields.at(index).type() not in NUMERIC_TYPES:
            raise QgsProcessingException(
                self.tr("The field {} is not numeric. Choose a numeric field or convert it with the field calculator.")
                .format(name)
            )
        return index

    def _explain(self, error: stats.StatisticsError, field_name: str, valid: int) -> str:
        return self._too_few(valid, field_name) if valid < 3 else self._constant(field_name)

    def _too_few(self, valid: int, field_name: str) -> str:
        return self.tr("Only {} feature(s) have a value in {}; local statistics need at least 3.").format(
            valid, field_name
        )

    def _constant(self, field_name: str) -> str:
        return self.tr(
            "All values of {} are equal (or differ only within floating-point noise): a constant field has no "
            "hotspots. Choose another field."
        ).format(field_name)

    def _values(self, features: list[QgsFeature], field_index: int, field_name: str, feedback) -> np.ndarray:
        """Values of the field (NaN = no value or no geometry), checked before any statistic."""
        numbers = [to_number(f.attributes()[field_index]) if f.hasGeometry() else None for f in features]
        values = np.array([np.nan if v is None else v for v in numbers], dtype=float)
        too_large = value_checks.first_too_large(values)
        if too_large is not None:
            raise QgsProcessingException(
                self.tr(
                    "The field {} holds {:g} (feature {}), too large to compute with (limit ±{:g}). "
                    "Fix or empty that value."
                ).format(field_name, values[too_large], features[too_large].id(), value_checks.LARGEST)
            )
        non_finite = int(sum(v is not None and not np.isfinite(v) for v in numbers))
        values[~np.isfinite(values)] = np.nan
        valid = int(np.isfinite(values).sum())
        if valid == 0:
            raise QgsProcessingException(
                self.tr("The field {} has no numeric value in any feature. Choose a field with data.").format(
                    field_name
                )
            )
        if valid < 3:
            raise QgsProcessingException(self._too_few(valid, field_name))
        if value_checks.no_spread(values):
            raise QgsProcessingException(self._constant(field_name))
        if non_finite:
            feedback.pushWarning(
                self.tr("{} feature(s) hold an infinite or not-a-number value in {}: they are left out "
                        "('No data').").format(non_finite, field_name)
            )
        missing = len(values) - valid - non_finite
        if missing:
            feedback.pushWarning(
                self.tr("{} feature(s) have no value in {} (or no geometry): they are left out and labelled 'No data'.")
                .format(missing, field_name)
            )
        return values

    def _write(self, source, features: list, wkb_type, result: stats.HotspotResult, parameters, context,
               feedback) -> str:
        """Create the sink (only now: nothing half-written on errors), write the features, return its id."""
        results = [QgsField(name, kind) for name, kind in NEW_FIELDS]
        fields = with_result_fields(source.fields(), results, feedback)
        sink, dest_id = self.create_sink(
            parameters, self.OUTPUT, context, fields, wkb_type, source.sourceCrs(), feedback
        )
        labels = [stats.CLUSTER_LABELS[c] for c in result.lisa_cluster.tolist()]
        columns = [
            labels if name == "lisa_cluster" else _column(getattr(result, name), kind == FieldType.INT)
            for name, kind in NEW_FIELDS
        ]
        rows = list(zip(*columns))
        total = max(len(features), 1)
        batch = []
        for i, feature in enumerate(features):
            if i % 2000 == 0:
                self.check_cancelled(feedback)
            attributes = feature.attributes()
            out = QgsFeature(fields)
            out.setGeometry(feature.geometry())
            out.setAttributes(attributes + list(rows[i]))
            batch.append(out)
            if len(batch) == 2000:
                sink.addFeatures(batch, QgsFeatureSink.FastInsert)
                batch = []
                feedback.setProgress(70 + 30.0 * i / total)
        sink.addFeatures(batch, QgsFeatureSink.FastInsert)
        style = STYLES[self.parameterAsEnum(parameters, self.STYLE, context)]
        style_on_load(context, dest_id, style, polygons_only=True)
        return dest_id
