"""Quality control of sensor observation tables: flags per observation and PM2.5 humidity correction."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
from qgis.core import (
    NULL,
    QgsFeature,
    QgsFeatureRequest,
    QgsFeatureSink,
    QgsField,
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsProcessingFeedback,
    QgsProcessingOutputNumber,
)

from ...core.sensors.quality import Limits, corrected_values, default_limits, property_kind, quality_flags
from ..base import AlgorithmBase, param
from ..common import epoch_seconds, to_float, to_qvariant, with_result_fields
from ..qt_compat import FieldType
from .observation_reading import OBSERVATION_FIELDS, QC_FLAG_FIELD, observation_fields, station_key
from .observation_times import offset_times

#: Flag of an observation whose time cannot be read.
TIME_FLAG = "time"


class SensorQualityControlAlgorithm(AlgorithmBase):
    """Flag duplicates, impossible values, stuck sensors and spikes; correct low-cost PM2.5 for humidity."""

    ALGORITHM_ID = "sensorqualitycontrol"
    DISPLAY_NAME = "Sensor quality control"
    GROUP_ID = "sensors"

    INPUT = "INPUT"
    STATION_ID_FIELD = "STATION_ID_FIELD"
    TIME_FIELD = "TIME_FIELD"
    VALUE_FIELD = "VALUE_FIELD"
    PROPERTY_FIELD = "PROPERTY_FIELD"
    PROPERTY = "PROPERTY"
    MIN_VALID = "MIN_VALID"
    MAX_VALID = "MAX_VALID"
    SPIKE_THRESHOLD = "SPIKE_THRESHOLD"
    STUCK_HOURS = "STUCK_HOURS"
    HUMIDITY_CORRECTION = "HUMIDITY_CORRECTION"
    PM25_PROPERTY = "PM25_PROPERTY"
    HUMIDITY_PROPERTY = "HUMIDITY_PROPERTY"
    OUTPUT = "OUTPUT"
    N_FLAGGED = "N_FLAGGED"
    N_CORRECTED = "N_CORRECTED"

    def initAlgorithm(self, configuration: dict | None = None) -> None:  # noqa: N802, D102
        field_labels = (
            (self.STATION_ID_FIELD, self.tr("Station id field")),
            (self.TIME_FIELD, self.tr("Time field (UTC)")),
            (self.VALUE_FIELD, self.tr("Value field")),
            (self.PROPERTY_FIELD, self.tr("Property field")),
        )
        limit_labels = (
            (self.MIN_VALID, self.tr("Lowest plausible value (empty: the property's default)")),
            (self.MAX_VALID, self.tr("Highest plausible value (empty: the property's default)")),
            (self.SPIKE_THRESHOLD, self.tr("Spike threshold (empty: the property's default)")),
        )
        self.add_parameters(
            param("source", self.INPUT, self.tr("Observations"), types=[QgsProcessing.TypeVector]),
            *(param("field", name, label, defaultValue=OBSERVATION_FIELDS[name], parentLayerParameterName=self.INPUT,
                    optional=True) for name, label in field_labels),
            param("string", self.PROPERTY, self.tr("Property the limits below apply to (empty: all)"), optional=True),
            *(param("double", name, label, optional=True) for name, label in limit_labels),
            param("double", self.STUCK_HOURS, self.tr("Stuck: the same value for at least (hours; 0 = off)"),
                  defaultValue=6.0, minValue=0.0),
            param("bool", self.HUMIDITY_CORRECTION, self.tr("Correct PM2.5 for humidity (US EPA, PurpleAir)"),
                  defaultValue=False),
            param("string", self.PM25_PROPERTY, self.tr("PM2.5 property (empty: recognised by name)"), optional=True),
            param("string", self.HUMIDITY_PROPERTY, self.tr("Relative humidity property (empty: recognised by name)"),
                  optional=True),
            param("sink", self.OUTPUT, self.tr("Checked observations")),
        )
        self.addOutput(QgsProcessingOutputNumber(self.N_FLAGGED, self.tr("Number of flagged observations")))
        self.addOutput(QgsProcessingOutputNumber(self.N_CORRECTED, self.tr("Number of corrected PM2.5 values")))

    def processAlgorithm(  # noqa: N802, D102
        self, parameters: dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict[str, Any]:
        source = self.source(parameters, self.INPUT, context)
        index = self._field_indices(parameters, context, source)
        stations, properties, names, times, values = self._read(parameters, context, source, index, feedback)
        streams = stations * max(len(names), 1) + properties
        low, high, spike = self._limits(parameters, context, names, properties)
        readable = ~np.isnan(times)
        stuck = self.parameterAsDouble(parameters, self.STUCK_HOURS, context)
        flags = np.full(values.size, TIME_FLAG, dtype=object)
        flags[readable] = quality_flags(
            streams[readable], times[readable], values[readable], low[readable], high[readable], spike[readable], stuck
        )
        self.check_cancelled(feedback)
        pm25, humidity = self._correction_rows(parameters, context, names, properties)
        corrected = corrected_values(stations, times, values, flags, pm25, humidity)
        n_corrected = int(np.count_nonzero(pm25 & ~np.isnan(corrected))) if pm25 is not None else 0
        self._report(flags, n_corrected, feedback)
        feedback.setProgress(60)
        dest = self._write(parameters, context, source, flags, corrected, feedback)
        return {self.OUTPUT: dest, self.N_FLAGGED: int(np.count_nonzero(flags != "")), self.N_CORRECTED: n_corrected}

    def _field_indices(
        self, parameters: dict[str, Any], context: QgsProcessingContext, source: QgsProcessingFeatureSource
    ) -> dict[str, int]:
        """Index of the station, time, value and property fields (property -1 when not chosen)."""
        missing = self.tr("INPUT has no field '{}' ({}); choose the right field.")
        return observation_fields(self, parameters, context, source.fields(), missing)[1]

    def _read(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        source: QgsProcessingFeatureSource,
        index: dict[str, int],
        feedback: QgsProcessingFeedback,
    ) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray, np.ndarray]:
        """Station codes, property codes, property names, times (NaN unreadable), values (NaN missing)."""
        layer = self.parameterAsVectorLayer(parameters, self.INPUT, context)
        time_name = source.fields().at(index[self.TIME_FIELD]).name()
        raw_times = offset_times(layer, time_name) if layer is not None else {}
        request = QgsFeatureRequest().setFlags(QgsFeatureRequest.NoGeometry)
        request.setSubsetOfAttributes([i for i in index.values() if i >= 0])
        station_codes: dict[str, int] = {}
        property_codes: dict[str, int] = {}
        rows, fids = [], []
        total = max(source.featureCount(), 1)
        for n, feature in enumerate(source.getFeatures(request)):
            if n % 5000 == 0:
                self.check_cancelled(feedback)
                feedback.setProgress(30.0 * n / total)
            attributes = feature.attributes()
            station = station_key(attributes[index[self.STATION_ID_FIELD]]) or ""
            prop = attributes[index[self.PROPERTY_FIELD]] if index[self.PROPERTY_FIELD] >= 0 else None
            prop = "" if prop is None or prop == NULL else str(prop).strip()
            time = raw_times.get(feature.id()) if raw_times else None
            time = epoch_seconds(attributes[index[self.TIME_FIELD]]) if time is None else time
            value = to_float(attributes[index[self.VALUE_FIELD]])
            fids.append(feature.id())
            rows.append(
                (
                    station_codes.setdefault(station, len(station_codes)),
                    property_codes.setdefault(prop.lower(), len(property_codes)),
                    math.nan if time is None else time,
                    math.nan if value is None else value,
                )
            )
        if not rows:
            raise QgsProcessingException(self.tr("INPUT has no observations."))
        table = np.array(rows, dtype=float)
        codes = table[:, :2].astype(np.int64)
        self._fids = np.array(fids, dtype=np.int64)
        return codes[:, 0], codes[:, 1], list(property_codes), table[:, 2], table[:, 3]

    def _limits(
        self, parameters: dict[str, Any], context: QgsProcessingContext, names: list[str], properties: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per row the lowest and highest plausible value and the spike threshold (NaN: none)."""
        wanted = self.parameterAsString(parameters, self.PROPERTY, context).strip().lower()
        if wanted and wanted not in names:
            raise QgsProcessingException(
                self.tr("No observations of property '{}'. Properties in INPUT: {}.").format(
                    wanted, ", ".join(sorted(names))
                )
            )
        names_own = (self.MIN_VALID, self.MAX_VALID, self.SPIKE_THRESHOLD)
        own = [self.optional_number(parameters, name, context) for name in names_own]
        table = []
        for name in names:
            limits = default_limits(name)
            defaults = (limits.low, limits.high, limits.spike)
            if not wanted or name == wanted:
                limits = Limits(*(o if o is not None else d for o, d in zip(own, defaults)))
            if limits.low is not None and limits.high is not None and limits.low > limits.high:
                raise QgsProcessingException(
                    self.tr(
                        "MIN_VALID ({}) is above MAX_VALID ({}) for {}: every value would be flagged. "
                        "Swap them, or leave one empty for the property's default."
                    ).format(limits.low, limits.high, name)
                )
            table.append([math.nan if x is None else x for x in (limits.low, limits.high, limits.spike)])
        per_property = np.array(table, dtype=float).reshape(-1, 3)[properties]
        return per_property[:, 0], per_property[:, 1], per_property[:, 2]

    def _correction_rows(
        self, parameters: dict[str, Any], context: QgsProcessingContext, names: list[str], properties: np.ndarray
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Masks of the PM2.5 and the humidity rows, (None, None) without HUMIDITY_CORRECTION."""
        if not self.parameterAsBoolean(parameters, self.HUMIDITY_CORRECTION, context):
            return None, None
        masks = []
        for parameter, kind in ((self.PM25_PROPERTY, "pm25"), (self.HUMIDITY_PROPERTY, "humidity")):
            chosen = self.parameterAsString(parameters, parameter, context).strip().lower()
            codes = [i for i, name in enumerate(names) if (name == chosen if chosen else property_kind(name) == kind)]
            if not codes:
                raise QgsProcessingException(
                    self.tr(
                        "HUMIDITY_CORRECTION needs {} observations in INPUT; properties found: {}. Set {} or switch "
                        "the correction off."
                    ).format(kind, ", ".join(sorted(names)), parameter)
                )
            masks.append(np.isin(properties, codes))
        return masks[0], masks[1]

    def _report(self, flags: np.ndarray, n_corrected: int, feedback: QgsProcessingFeedback) -> None:
        """Log the number of observations per flag and of corrected values."""
        counts = Counter(flags[flags != ""].tolist())
        detail = ", ".join(f"{flag} {count}" for flag, count in sorted(counts.items())) or "-"
        feedback.pushInfo(
            self.tr("{} of {} observations flagged: {}.").format(sum(counts.values()), flags.size, detail)
        )
        if n_corrected:
            feedback.pushInfo(self.tr("{} PM2.5 values corrected for humidity.").format(n_corrected))

    def _write(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        source: QgsProcessingFeatureSource,
        flags: np.ndarray,
        corrected: np.ndarray,
        feedback: QgsProcessingFeedback,
    ) -> str:
        """Write the input rows with ``qc_flag`` and ``value_corrected``; return the output's id."""
        results = [QgsField(QC_FLAG_FIELD, FieldType.STRING, len=16), QgsField("value_corrected", FieldType.DOUBLE)]
        fields = with_result_fields(source.fields(), results, feedback)
        sink, dest = self.create_sink(
            parameters, self.OUTPUT, context, fields, source.wkbType(), source.sourceCrs(), feedback
        )
        total = max(flags.size, 1)
        position: dict[int, int] | None = None
        for n, feature in enumerate(source.getFeatures()):
            if n % 5000 == 0:
                self.check_cancelled(feedback)
                feedback.setProgress(60 + 40.0 * n / total)
            row = n
            if position is not None or n >= self._fids.size or self._fids[n] != feature.id():
                position = position or {int(fid): i for i, fid in enumerate(self._fids)}  # another order
                row = position[feature.id()]
            out = QgsFeature(fields)
            out.setGeometry(feature.geometry())
            out.setAttributes([*feature.attributes(), flags[row] or NULL, to_qvariant(float(corrected[row]))])
            sink.addFeature(out, QgsFeatureSink.FastInsert)
        return dest
