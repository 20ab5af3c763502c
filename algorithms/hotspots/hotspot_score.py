"""Socio-ecological hotspot score: environmental burdens and social indicators per area unit."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from qgis.core import (
    NULL,
    QgsFeature,
    QgsFeatureRequest,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsProcessingFeedback,
    QgsProcessingParameterField,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QCoreApplication

from ...core.hotspots import composite_index as ci
from ...core.hotspots import value_checks
from ..base import AlgorithmBase, param
from ..common import to_number, to_qvariant, with_result_fields
from ..qt_compat import NUMERIC_TYPES, FieldType
from ..style_on_load import style_on_load


class HotspotScoreAlgorithm(AlgorithmBase):
    """Composite index of environmental and social indicators per unit (additive, count, product)."""

    ALGORITHM_ID = "hotspotscore"
    DISPLAY_NAME = "Socio-ecological hotspot score"
    GROUP_ID = "hotspots"

    INPUT = "INPUT"
    ENV_FIELDS = "ENV_FIELDS"
    SOCIAL_FIELDS = "SOCIAL_FIELDS"
    INVERT_FIELDS = "INVERT_FIELDS"
    WEIGHTS = "WEIGHTS"
    METHOD = "METHOD"
    NORMALIZATION = "NORMALIZATION"
    HIGH_SHARE = "HIGH_SHARE"
    PERCENTILE_RULE = "PERCENTILE_RULE"
    MAX_VALUES = "MAX_VALUES"
    MC_RUNS = "MC_RUNS"
    MC_SPREAD = "MC_SPREAD"
    SEED = "SEED"
    REFERENCE = "REFERENCE"
    OUTPUT = "OUTPUT"

    def initAlgorithm(self, configuration: dict | None = None) -> None:  # noqa: N802, D102
        indicators = {"parentLayerParameterName": self.INPUT, "allowMultiple": True, "optional": True}
        numeric = {"type": QgsProcessingParameterField.Numeric, **indicators}
        self.add_parameters(
            param("source", self.INPUT, self.tr("Area units"), types=[QgsProcessing.TypeVector]),
            param("field", self.ENV_FIELDS,
                  self.tr("Environmental indicators (noise, NO₂, heat, lack of green, …)"), **numeric),
            param("field", self.SOCIAL_FIELDS, self.tr("Social and health indicators"), **numeric),
            param("field", self.INVERT_FIELDS,
                  self.tr("Indicators where higher is better (income, green space per inhabitant, …)"), **indicators),
            param("string", self.WEIGHTS, self.tr("Weights (field=weight;…, default 1)"), optional=True,
                  defaultValue=""),
            param("enum", self.METHOD, self.tr("Method"), options=self._method_labels(), defaultValue=0),
            param("enum", self.NORMALIZATION, self.tr("Normalisation"), defaultValue=0, options=[
                self.tr("Percentile rank"),
                self.tr("z-score"),
                self.tr("Min-max"),
                self.tr("None (values are already comparable scores)"),
            ]),
            param("double", self.HIGH_SHARE, self.tr("Share of units in the high class"), defaultValue=0.25,
                  minValue=0.01, maxValue=0.5),
            param("source", self.REFERENCE,
                  self.tr("Reference units for percentiles and maxima (e.g. the whole state; optional)"),
                  types=[QgsProcessing.TypeVector], optional=True),
            param("enum", self.PERCENTILE_RULE, self.tr("Percentile rank counts"), advanced=True, defaultValue=0,
                  options=[self.tr("Values ≤ x (the maximum gets 100)"), self.tr("Values < x (the minimum gets 0)")]),
            param("string", self.MAX_VALUES, self.tr(
                "Maxima for the product's 0-10 rescaling (env=…;social=…, default: maximum of REFERENCE or INPUT)"
            ), advanced=True, optional=True, defaultValue=""),
            param("int", self.MC_RUNS, self.tr("Monte-Carlo runs over the weights (0 = off)"), advanced=True,
                  defaultValue=0, minValue=0, maxValue=100000),
            param("double", self.MC_SPREAD, self.tr("Monte-Carlo weight spread (±share)"), advanced=True,
                  defaultValue=0.5, minValue=0.0, maxValue=0.95),
            param("int", self.SEED, self.tr("Random seed"), advanced=True, defaultValue=1, minValue=0),
            param("sink", self.OUTPUT, self.tr("Hotspot score")),
        )

    def _method_labels(self) -> list[str]:
        """Labels of METHOD in enum order (``composite_index.ADDITIVE``, ``COUNT``, ``PRODUCT``)."""
        return [
            self.tr("Additive (weighted mean of normalised indicators)"),
            self.tr("Multiple-burden count (Berlin)"),
            self.tr("CalEnviroScreen product (environment × social)"),
        ]

    def processAlgorithm(  # noqa: N802, D102
        self, parameters: dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict[str, Any]:
        source = self.source(parameters, self.INPUT, context)
        env_fields = self.parameterAsFields(parameters, self.ENV_FIELDS, context)
        social_fields = self.parameterAsFields(parameters, self.SOCIAL_FIELDS, context)
        invert = set(self.parameterAsFields(parameters, self.INVERT_FIELDS, context))
        method = self.parameterAsEnum(parameters, self.METHOD, context)
        names = self._check_fields(source.fields(), env_fields, social_fields, invert, method)
        spec = ci.IndexSpec(
            names=names,
            is_env=[name in env_fields for name in names],
            inverted=[name in invert for name in names],
            weights=[1.0] * len(names),
            method=method,
            normalisation=self.parameterAsEnum(parameters, self.NORMALIZATION, context),
            high_share=self.parameterAsDouble(parameters, self.HIGH_SHARE, context),
            rule=self.parameterAsEnum(parameters, self.PERCENTILE_RULE, context),
        )
        self._read_options(parameters, context, spec, invert)

        features, values, wkb_type = self._read_values(source, names, feedback)
        self._check_values(values, names, features, feedback)
        reference = self._read_reference(parameters, context, names, feedback)
        feedback.setProgressText(self.tr("Computing the index…"))
        runs = self.parameterAsInt(parameters, self.MC_RUNS, context)

        def progress(fraction: float) -> bool:
            feedback.setProgress(30 + 50 * fraction)
            return feedback.isCanceled()

        try:
            result = ci.compute_index(
                values,
                spec,
                mc_runs=runs,
                mc_spread=self.parameterAsDouble(parameters, self.MC_SPREAD, context),
                seed=self.parameterAsInt(parameters, self.SEED, context),
                progress=progress,
                reference=reference,
            )
        except ci.IndexSpecError as error:
            raise QgsProcessingException(translate(error.message)) from None
        self.check_cancelled(feedback)
        for warning in result.warnings:
            feedback.pushWarning(translate(warning))
        self._warn_unscored(result, feedback)

        dest_id = self._write(parameters, context, source, features, wkb_type, names, result, feedback)
        style_on_load(context, dest_id, "hotspot_score.qml", polygons_only=True)
        return {self.OUTPUT: dest_id}

    def _write(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        source: QgsProcessingFeatureSource,
        features: list[QgsFeature],
        wkb_type: QgsWkbTypes.Type,
        names: list[str],
        result: ci.IndexResult,
        feedback: QgsProcessingFeedback,
    ) -> str:
        """Create the sink (only now: nothing half-written on errors), write the scored units, return its id."""
        fields = self._output_fields(source.fields(), names, feedback)
        sink, dest_id = self.create_sink(
            parameters, self.OUTPUT, context, fields, wkb_type, source.sourceCrs(), feedback
        )
        for i, feature in enumerate(features):
            if i % 1000 == 0:
                self.check_cancelled(feedback)
            attributes = feature.attributes()
            attributes += [
                to_qvariant(result.score[i]),
                to_qvariant(result.score_pct[i]),
                _int(result.rank[i]),
                _int(result.n_high[i]),
                to_qvariant(result.env_score[i]),
                to_qvariant(result.soc_score[i]),
                _int(result.n_missing[i]),
                to_qvariant(result.top_share[i]),
            ]
            for j in range(len(names)):
                attributes += [to_qvariant(result.normalised[i, j]), int(result.cls[i, j]) or NULL]
            out = QgsFeature(fields)
            out.setGeometry(feature.geometry())
            out.setAttributes(attributes)
            sink.addFeature(out, QgsFeatureSink.FastInsert)
            feedback.setProgress(80 + 20 * i / max(len(features), 1))
        return dest_id

    def _warn_unscored(self, result: ci.IndexResult, feedback: QgsProcessingFeedback) -> None:
        """Say how many units got no score (their values are missing): the map shows them as "No data"."""
        unscored = int(np.isnan(result.score).sum())
        if unscored:
            feedback.pushWarning(
                self.tr(
                    "{} of {} units have no score because values are missing (see n_missing); "
                    "the map shows them as \"No data\". Fill the gaps or remove the indicator to score them."
                ).format(unscored, len(result.score))
            )

    def _check_fields(
        self, fields: QgsFields, env_fields: list[str], social_fields: list[str], invert: set[str], method: int
    ) -> list[str]:
        """Return the indicator names (environment first); raise on overlap, missing or stray fields."""
        names = list(env_fields) + list(social_fields)
        if not names:
            raise QgsProcessingException(self.tr("Choose at least one indicator in ENV_FIELDS or SOCIAL_FIELDS."))
        if method == ci.PRODUCT and not (env_fields and social_fields):
            raise QgsProcessingException(
                self.tr("The CalEnviroScreen product needs at least one field in ENV_FIELDS and one in SOCIAL_FIELDS.")
            )
        both = sorted(set(env_fields) & set(social_fields))
        if both or len(set(names)) != len(names):
            raise QgsProcessingException(
                self.tr("Each indicator may be chosen once; listed twice: {}.").format(
                    ", ".join(both or sorted({n for n in names if names.count(n) > 1}))
                )
            )
        missing = [name for name in names if fields.lookupField(name) < 0]
        if missing:
            raise QgsProcessingException(self.tr("INPUT has no field {}.").format(", ".join(missing)))
        stray = sorted(invert - set(names))
        if stray:
            raise QgsProcessingException(
                self.tr(
                    "INVERT_FIELDS lists {}, which is not an indicator; add it to ENV_FIELDS or SOCIAL_FIELDS."
                ).format(", ".join(stray))
            )
        return names

    def _read_options(
        self, parameters: dict[str, Any], context: QgsProcessingContext, spec: ci.IndexSpec, invert: set[str]
    ) -> None:
        """Fill weights and product maxima of ``spec`` from WEIGHTS and MAX_VALUES."""
        try:
            weights = ci.parse_assignments(
                self.parameterAsString(parameters, self.WEIGHTS, context), spec.names, "WEIGHTS"
            )
            maxima = ci.parse_assignments(
                self.parameterAsString(parameters, self.MAX_VALUES, context), ["env", "social"], "MAX_VALUES"
            )
        except ci.IndexSpecError as error:
            raise QgsProcessingException(translate(error.message)) from None
        spec.weights = [weights.get(name, 1.0) for name in spec.names]
        if sum(spec.weights) <= 0:
            raise QgsProcessingException(self.tr("WEIGHTS: at least one indicator needs a weight above 0."))
        if spec.method == ci.PRODUCT:
            for is_env in (True, False):
                if sum(w for w, env in zip(spec.weights, spec.is_env) if env == is_env) <= 0:
                    raise QgsProcessingException(
                        self.tr(
                            "WEIGHTS: the CalEnviroScreen product needs a weight above 0 in both the "
                            "environmental and the social indicators."
                        )
                    )
        if any(value <= 0 for value in maxima.values()):
            raise QgsProcessingException(self.tr("MAX_VALUES: the maxima must be above 0."))
        spec.env_max = maxima.get("env")
        spec.soc_max = maxima.get("social")
        if spec.normalisation == ci.NONE and invert:
            raise QgsProcessingException(
                self.tr(
                    "With normalisation 'None' the values must already be oriented (higher = worse): "
                    "empty INVERT_FIELDS or choose another normalisation."
                )
            )

    def _read_values(
        self, source: QgsProcessingFeatureSource, names: list[str], feedback: QgsProcessingFeedback
    ) -> tuple[list[QgsFeature], np.ndarray, QgsWkbTypes.Type]:
        """Features, their indicator matrix (NaN = missing; text converted) and the output geometry type."""
        fields = source.fields()
        indices = [fields.lookupField(name) for name in names]
        for name, index in zip(names, indices):
            kind = fields.at(index).type()
            if kind not in NUMERIC_TYPES and kind != FieldType.STRING:
                raise QgsProcessingException(
                    self.tr("Field {} is of type {}, not a number; choose numeric indicator fields.").format(
                        name, fields.at(index).typeName()
                    )
                )
        features: list[QgsFeature] = []
        rows: list[list[float]] = []
        read, report = self.read_features(source, self.INPUT, feedback, duplicates=True)
        total = max(len(read), 1)
        for feature in read:
            attributes = feature.attributes()
            row = []
            for name, index in zip(names, indices):
                number = _number(attributes[index])
                if number is None:
                    raise QgsProcessingException(
                        self.tr("Field {} holds '{}' (feature {}), which is not a number; fix or empty it.").format(
                            name, attributes[index], feature.id()
                        )
                    )
                row.append(number)
            features.append(feature)
            rows.append(row)
            feedback.setProgress(20 + 10 * len(features) / total)
        if not features:
            raise QgsProcessingException(self.tr("INPUT has no features."))
        values = np.array(rows, dtype=float)
        for name, index in zip(names, indices):
            if fields.at(index).type() == FieldType.STRING:
                feedback.pushWarning(self.tr("Text field {} was converted to numbers.").format(name))
        return features, values, report.output_type(source.wkbType())

    def _check_values(
        self, values: np.ndarray, names: list[str], features: list[QgsFeature], feedback: QgsProcessingFeedback
    ) -> None:
        """Refuse overflowing values; infinite values become missing and noise-only spread equal (warned)."""
        for j, name in enumerate(names):
            column = values[:, j]
            too_large = value_checks.first_too_large(column)
            if too_large is not None:
                raise QgsProcessingException(
                    self.tr(
                        "Field {} holds {:g} (feature {}), too large to compute with (limit ±{:g}). "
                        "Fix or empty that value."
                    ).format(name, column[too_large], features[too_large].id(), value_checks.LARGEST)
                )
            infinite = np.isinf(column)
            if infinite.any():
                column[infinite] = np.nan
                feedback.pushWarning(
                    self.tr("Field {}: {} infinite value(s) are treated as missing.").format(name, int(infinite.sum()))
                )
            if np.all(np.isnan(column)):
                raise QgsProcessingException(
                    self.tr(
                        "Field {} has no values (all NULL): check the join or remove it from the indicators."
                    ).format(name)
                )
            if value_checks.only_noise(column):
                column[~np.isnan(column)] = column[~np.isnan(column)][0]
                feedback.pushWarning(
                    self.tr("Field {}: the values differ only within floating-point noise; they are treated as "
                            "equal.").format(name)
                )

    def _read_reference(
        self, parameters: dict[str, Any], context: QgsProcessingContext, names: list[str], feedback
    ) -> np.ndarray | None:
        """Return the indicator matrix of REFERENCE (NaN = missing), None when no reference is given."""
        if not parameters.get(self.REFERENCE):
            return None
        source = self.parameterAsSource(parameters, self.REFERENCE, context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, self.REFERENCE))
        fields = source.fields()
        missing = [name for name in names if fields.lookupField(name) < 0]
        if missing:
            raise QgsProcessingException(
                self.tr("REFERENCE has no field {}: it needs the indicator fields of INPUT, with the same names.")
                .format(", ".join(missing))
            )
        indices = [fields.lookupField(name) for name in names]
        request = QgsFeatureRequest().setFlags(QgsFeatureRequest.NoGeometry).setSubsetOfAttributes(indices)
        rows = []
        for feature in source.getFeatures(request):
            self.check_cancelled(feedback)
            row = [_number(feature.attributes()[index]) for index in indices]
            if None in row:
                name = names[row.index(None)]
                raise QgsProcessingException(
                    self.tr("REFERENCE: field {} holds '{}' (feature {}), which is not a number; fix or empty it.")
                    .format(name, feature.attributes()[fields.lookupField(name)], feature.id())
                )
            rows.append(row)
        if not rows:
            raise QgsProcessingException(self.tr("REFERENCE has no features."))
        feedback.pushInfo(self.tr("Percentiles and maxima are taken from {} reference units.").format(len(rows)))
        return np.array(rows, dtype=float)

    def _output_fields(
        self, fields: QgsFields, names: list[str], feedback: QgsProcessingFeedback
    ) -> QgsFields:
        """Input fields plus the result fields."""
        new = [
            QgsField("score", FieldType.DOUBLE),
            QgsField("score_pct", FieldType.DOUBLE),
            QgsField("rank", FieldType.INT),
            QgsField("n_high", FieldType.INT),
            QgsField("env_score", FieldType.DOUBLE),
            QgsField("soc_score", FieldType.DOUBLE),
            QgsField("n_missing", FieldType.INT),
            QgsField("top_share", FieldType.DOUBLE),
        ]
        for name in names:
            new += [QgsField(f"{name}_n", FieldType.DOUBLE), QgsField(f"{name}_cls", FieldType.INT)]
        return with_result_fields(fields, new, feedback)


def translate(message: ci.Message) -> str:
    """Return a message of the index core in the user's language."""
    return QCoreApplication.translate(ci.CONTEXT, message.template).format(**message.values)


def _number(value: Any) -> float | None:
    """Return a float (infinity kept), NaN for NULL/empty, None for a value that is not a number."""
    return to_number(value, blank=math.nan)


def _int(value: float) -> Any:
    """Whole number for an attribute, NULL for NaN."""
    return NULL if math.isnan(value) else int(value)
