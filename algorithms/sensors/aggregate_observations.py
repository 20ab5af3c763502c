"""Aggregate sensor observations per station and per area unit over a time window."""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timezone
from typing import Any

import numpy as np
from qgis.core import (
    NULL,
    QgsCoordinateTransform,
    QgsExpression,
    QgsFeature,
    QgsFeatureRequest,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsPoint,
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsProcessingFeedback,
    QgsWkbTypes,
)

from ...core.hotspots.observation_stats import (
    ALL_STATISTICS,
    PERCENTILE_METHODS,
    field_prefix,
    idw,
    no_statistics,
    station_statistics,
    step_statistics,
)
from ...core.hotspots.value_checks import LARGEST
from ...core.sensors.daily import PRESETS, DailyRule, time_zone
from ...core.sensors.sentinels import GENERIC_SENTINELS
from ...core.sensors.time_steps import step_bounds
from ..base import AlgorithmBase, Param, param
from ..common import (
    check_crs_known,
    check_degrees,
    epoch_seconds,
    metric_crs,
    to_qvariant,
    utc_qdatetime,
    with_result_fields,
)
from ..qt_compat import FieldType
from .observation_reading import (
    OBSERVATION_FIELDS,
    QC_FLAG_FIELD,
    RowCollector,
    matching_values,
    observation_fields,
    plain_geopackage,
    plain_postgis,
    read_features,
    read_geopackage,
    read_postgis,
    station_key,
)

#: Field parameter -> default field name.
DEFAULT_FIELDS = {"STATIONS_ID_FIELD": "station_id", **OBSERVATION_FIELDS}
#: PRESET index -> key of ``core.sensors.daily.PRESETS`` (0: the thresholds as given).
PRESET_KEYS = (None, "dwd_heat", "who2021_pm25", "who2021_no2", "eu_pm10")


class AggregateObservationsAlgorithm(AlgorithmBase):
    """Mean, median, max, 95th percentile and hours above a threshold per station and area."""

    ALGORITHM_ID = "aggregateobservations"
    DISPLAY_NAME = "Aggregate sensor observations"
    GROUP_ID = "hotspots"

    STATIONS = "STATIONS"
    STATIONS_ID_FIELD = "STATIONS_ID_FIELD"
    OBSERVATIONS = "OBSERVATIONS"
    STATION_ID_FIELD = "STATION_ID_FIELD"
    TIME_FIELD = "TIME_FIELD"
    VALUE_FIELD = "VALUE_FIELD"
    PROPERTY_FIELD = "PROPERTY_FIELD"
    PROPERTY = "PROPERTY"
    START = "START"
    END = "END"
    THRESHOLD = "THRESHOLD"
    MIN_VALID = "MIN_VALID"
    MAX_VALID = "MAX_VALID"
    PREFIX = "PREFIX"
    AREAS = "AREAS"
    K = "K"
    POWER = "POWER"
    OUTPUT_STATIONS = "OUTPUT_STATIONS"
    OUTPUT_AREAS = "OUTPUT_AREAS"
    TIMEZONE = "TIMEZONE"
    MIN_COVERAGE = "MIN_COVERAGE"
    PRESET = "PRESET"
    DAY_MAX_THRESHOLD = "DAY_MAX_THRESHOLD"
    DAY_MEAN_THRESHOLD = "DAY_MEAN_THRESHOLD"
    NIGHT_MIN_THRESHOLD = "NIGHT_MIN_THRESHOLD"
    PERCENTILE_METHOD = "PERCENTILE_METHOD"
    TIME_STEP = "TIME_STEP"

    def initAlgorithm(self, configuration: dict | None = None) -> None:  # noqa: N802, D102
        observed = {"parentLayerParameterName": self.OBSERVATIONS, "optional": True}
        self.add_parameters(
            param("source", self.STATIONS, self.tr("Stations"), types=[QgsProcessing.TypeVectorPoint]),
            param("field", self.STATIONS_ID_FIELD, self.tr("Station id field of the stations"),
                  defaultValue="station_id", parentLayerParameterName=self.STATIONS, optional=True),
            param("source", self.OBSERVATIONS, self.tr("Observations"), types=[QgsProcessing.TypeVector]),
            *(
                param("field", name, label, defaultValue=DEFAULT_FIELDS[name], **observed)
                for name, label in (
                    (self.STATION_ID_FIELD, self.tr("Station id field of the observations")),
                    (self.TIME_FIELD, self.tr("Time field (UTC)")),
                    (self.VALUE_FIELD, self.tr("Value field")),
                    (self.PROPERTY_FIELD, self.tr("Property field")),
                )
            ),
            param("string", self.PROPERTY, self.tr("Property (e.g. NO2)"), optional=True, defaultValue=""),
            param("datetime", self.START, self.tr("Start (UTC, inclusive)"), optional=True),
            param("datetime", self.END, self.tr("End (UTC, exclusive)"), optional=True),
            param("double", self.THRESHOLD, self.tr("Threshold for hours above"), optional=True),
            param("double", self.MIN_VALID, self.tr("Lowest valid value (smaller values, e.g. -999, are skipped)"),
                  advanced=True, optional=True),
            param("double", self.MAX_VALID, self.tr("Highest valid value (larger values are skipped)"),
                  advanced=True, optional=True),
            param("string", self.PREFIX, self.tr("Field name prefix (default: the property)"), optional=True,
                  defaultValue=""),
            param("source", self.AREAS, self.tr("Area units"), types=[QgsProcessing.TypeVectorPolygon],
                  optional=True),
            param("int", self.K, self.tr("Nearest stations for IDW"), defaultValue=3, minValue=1),
            param("double", self.POWER, self.tr("IDW power"), defaultValue=2.0, minValue=0.0, maxValue=10.0),
            *self._daily_parameters(),
            param("enum", self.TIME_STEP, self.tr("Time step: one row per station, area and step (empty: one window)"),
                  optional=True, options=[self.tr("Day"), self.tr("Week (Monday to Sunday)"), self.tr("Month"),
                                          self.tr("Year")]),
            param("sink", self.OUTPUT_STATIONS, self.tr("Station statistics")),
            param("sink", self.OUTPUT_AREAS, self.tr("Area statistics"), type=QgsProcessing.TypeVectorPolygon,
                  optional=True),
        )

    def processAlgorithm(  # noqa: N802, D102
        self, parameters: dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict[str, Any]:
        stations = self.source(parameters, self.STATIONS, context)
        observations = self.source(parameters, self.OBSERVATIONS, context)
        areas = self.source(parameters, self.AREAS, context, required=False)
        start, end = (self._time_parameter(parameters, name, context) for name in (self.START, self.END))
        if start is not None and end is not None and end <= start:
            raise QgsProcessingException(self.tr("END must be later than START."))
        rule = self._daily_rule(parameters, context, feedback)

        property_name, rows = self._read_observations(parameters, context, observations, feedback, (start, end))
        prefix = field_prefix(self.parameterAsString(parameters, self.PREFIX, context) or property_name or "obs")
        steps = self._station_statistics(parameters, context, rows, (start, end), rule, feedback)
        self.check_cancelled(feedback)
        known = self._read_stations(parameters, context, stations, feedback)
        self._check_coverage(known, _any_step(steps), property_name, feedback)
        feedback.setProgress(60)

        area_rows = None
        if areas is not None:
            area_rows, area_type = self._area_statistics(
                parameters, context, areas, known, [stats for _, stats in steps], feedback
            )
        stat_fields = [QgsField(f"{prefix}_{key}", FieldType.DOUBLE) for key in ALL_STATISTICS]
        step_fields = [] if steps[0][0] is None else [
            QgsField("step_start", FieldType.DATETIME), QgsField("step_end", FieldType.DATETIME)
        ]
        fields = with_result_fields(_own_ids(stations.fields(), step_fields), stat_fields + step_fields, feedback)
        sink, dest = self.create_sink(
            parameters, self.OUTPUT_STATIONS, context, fields, stations.wkbType(), stations.sourceCrs(), feedback
        )
        for bounds, stats in steps:
            for key, feature in known:
                self._add_feature(sink, fields, feature, stats.get(key) or no_statistics(), _step_values(bounds))
        results = {self.OUTPUT_STATIONS: dest}
        if area_rows is not None:
            extra = [QgsField("agg_method", FieldType.STRING, len=8), QgsField("n_stations", FieldType.INT)]
            own = _own_ids(areas.fields(), step_fields)
            fields = with_result_fields(own, stat_fields + extra + step_fields, feedback)
            sink, dest = self.create_sink(
                parameters, self.OUTPUT_AREAS, context, fields, area_type, areas.sourceCrs(), feedback, optional=True
            )
            if sink is not None:
                for (bounds, _), step_rows in zip(steps, area_rows):
                    for feature, values, how, used in step_rows:
                        self._add_feature(sink, fields, feature, values, [how, used, *_step_values(bounds)])
                results[self.OUTPUT_AREAS] = dest
        feedback.setProgress(100)
        return results

    def _check_coverage(
        self, known: list[tuple[str, QgsFeature]], stats: dict[str, dict[str, float]], property_name: str,
        feedback: QgsProcessingFeedback,
    ) -> None:
        """Warn about observations of unknown stations; raise when no station has observations."""
        unknown = sorted(set(stats) - {key for key, _ in known})
        if unknown:
            feedback.pushWarning(
                self.tr("{} station id(s) in OBSERVATIONS are not in STATIONS and were ignored: {}").format(
                    len(unknown), ", ".join(unknown[:10])
                )
            )
        with_data = [key for key, _ in known if key in stats and stats[key]["count"] > 0]
        if not with_data:
            raise QgsProcessingException(
                self.tr(
                    "No station has observations of '{}' in the window; check PROPERTY, START, END and the station ids."
                ).format(property_name or "*")
            )
        feedback.pushInfo(
            self.tr("{} of {} stations have observations in the window.").format(len(with_data), len(known))
        )

    @staticmethod
    def _add_feature(sink, fields, feature: QgsFeature, values: dict[str, float], extra: list | None = None) -> None:
        """Write ``feature`` with its statistics (and ``extra`` attributes) to ``sink``."""
        out = QgsFeature(fields)
        out.setGeometry(feature.geometry())
        out.setAttributes(feature.attributes() + [_stat(values, name) for name in ALL_STATISTICS] + (extra or []))
        sink.addFeature(out, QgsFeatureSink.FastInsert)

    def _daily_parameters(self) -> list[Param]:
        """TIMEZONE, MIN_COVERAGE, PRESET, the daily thresholds and PERCENTILE_METHOD."""
        presets = [
            self.tr("None (the thresholds as given)"),
            self.tr("DWD: hot days (max >= 30 °C) and tropical nights (min >= 20 °C)"),
            self.tr("WHO 2021: PM2.5 daily mean above 15 µg/m³"),
            self.tr("WHO 2021: NO2 daily mean above 25 µg/m³"),
            self.tr("EU limit value: PM10 daily mean above 50 µg/m³"),
        ]
        return [
            param("string", self.TIMEZONE, self.tr("Time zone of days and nights (IANA name)"),
                  defaultValue="Europe/Berlin"),
            param("double", self.MIN_COVERAGE, self.tr("Minimum coverage of an hour, day, night or the window (%)"),
                  defaultValue=75.0, minValue=0.0, maxValue=100.0),
            param("enum", self.PRESET, self.tr("Preset thresholds"), options=presets, defaultValue=0),
            param("double", self.DAY_MAX_THRESHOLD, self.tr("Days whose maximum is at or above (e.g. 30 °C: hot day)"),
                  optional=True),
            param("double", self.DAY_MEAN_THRESHOLD, self.tr("Days whose mean is above (e.g. 15 µg/m³ PM2.5)"),
                  optional=True),
            param("double", self.NIGHT_MIN_THRESHOLD,
                  self.tr("Nights whose minimum is at or above (e.g. 20 °C: tropical night)"), optional=True),
            param("enum", self.PERCENTILE_METHOD, self.tr("95th percentile method"), advanced=True, defaultValue=0,
                  options=[self.tr("Linear interpolation (type 7)"), self.tr("Nearest rank")]),
        ]

    def _daily_rule(
        self, parameters: dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> DailyRule:
        """Return the time zone, coverage rule and thresholds; a preset fills the thresholds left empty."""
        zone = self.parameterAsString(parameters, self.TIMEZONE, context).strip() or "Europe/Berlin"
        try:
            time_zone(zone)
        except ValueError:
            raise QgsProcessingException(
                self.tr(
                    "TIMEZONE '{}' is not a known time zone; use an IANA name such as Europe/Berlin or UTC."
                ).format(zone)
            ) from None
        names = (self.DAY_MAX_THRESHOLD, self.DAY_MEAN_THRESHOLD, self.NIGHT_MIN_THRESHOLD)
        thresholds = [self.optional_number(parameters, name, context) for name in names]
        preset = PRESET_KEYS[self.parameterAsEnum(parameters, self.PRESET, context)]
        if preset is not None:
            thresholds = [own if own is not None else value for own, value in zip(thresholds, PRESETS[preset])]
        used = ", ".join(f"{name} {value:g}" for name, value in zip(names, thresholds) if value is not None)
        coverage = self.parameterAsDouble(parameters, self.MIN_COVERAGE, context)
        feedback.pushInfo(
            self.tr("Days and nights in {}, at least {:g} % of the hours; thresholds: {}.").format(
                zone, coverage, used or self.tr("none")
            )
        )
        return DailyRule(zone, coverage, *thresholds)

    def _station_statistics(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        rows: list[tuple[str, float, float]],
        window: tuple[float | None, float | None],
        rule: DailyRule,
        feedback: QgsProcessingFeedback,
    ) -> list[tuple[tuple[float, float] | None, dict[str, dict[str, float]]]]:
        """Statistics per station of the window, or of each TIME_STEP: ``[(step bounds or None, stats)]``.

        Warns about stations with too little data.
        """
        threshold = self.optional_number(parameters, self.THRESHOLD, context)
        percentile = list(PERCENTILE_METHODS)[self.parameterAsEnum(parameters, self.PERCENTILE_METHOD, context)]
        feedback.setProgressText(self.tr("Computing statistics…"))
        bounds = self._step_bounds(parameters, context, rows, window, rule)
        try:
            if bounds is None:
                steps = [(None, station_statistics(rows, *window, threshold, rule, percentile))]
            else:
                steps = list(zip(bounds, step_statistics(rows, bounds, threshold, rule, percentile)))
        except ValueError as error:  # a window of centuries: a clock error in the data, or START/END mistyped
            raise QgsProcessingException(
                self.tr("Cannot build the daily calendar: {}. A time in the year 1 or 9999 is usually a sensor "
                        "clock error: set START and END to the period to aggregate.").format(error)
            ) from None
        short = sorted({
            key for _, stats in steps for key, values in stats.items() if values["coverage"] < rule.min_coverage - 1e-9
        })
        if short and bounds is None:
            feedback.pushWarning(
                self.tr(
                    "{} station(s) hold values in less than {:g} % of the window's hours; their window statistics "
                    "are NULL (MIN_COVERAGE): {}"
                ).format(len(short), rule.min_coverage, ", ".join(short[:10]))
            )
        elif short:
            feedback.pushWarning(
                self.tr(
                    "{} station(s) hold values in less than {:g} % of the hours of some time steps; their statistics "
                    "of those steps are NULL (MIN_COVERAGE): {}"
                ).format(len(short), rule.min_coverage, ", ".join(short[:10]))
            )
        return steps

    def _step_bounds(
        self, parameters: dict[str, Any], context: QgsProcessingContext, rows: list[tuple[str, float, float]],
        window: tuple[float | None, float | None], rule: DailyRule,
    ) -> list[tuple[float, float]] | None:
        """Local calendar steps of TIME_STEP over START-END (else over the observations); None without TIME_STEP."""
        if parameters.get(self.TIME_STEP) in (None, ""):
            return None
        times = [row[1] for row in rows]
        first = window[0] if window[0] is not None else min(times)
        last = window[1] if window[1] is not None else max(times) + 1e-3
        step = self.parameterAsEnum(parameters, self.TIME_STEP, context)
        return step_bounds(first, last, step, time_zone(rule.timezone))

    def _field_name(self, parameters: dict[str, Any], name: str, context: QgsProcessingContext) -> str:
        """Return the chosen field name; the default when not set."""
        chosen = self.parameterAsFields(parameters, name, context)
        return chosen[0] if chosen and chosen[0] else DEFAULT_FIELDS[name]

    def _time_parameter(self, parameters: dict[str, Any], name: str, context: QgsProcessingContext) -> float | None:
        """START or END as UTC epoch seconds (None when not set)."""
        if parameters.get(name) in (None, ""):
            return None
        value = self.parameterAsDateTime(parameters, name, context)
        seconds = epoch_seconds(value)
        if seconds is None:
            raise QgsProcessingException(
                self.tr("{} is not a valid date and time; use e.g. 2024-06-01T00:00:00Z.").format(name)
            )
        return seconds

    def _read_observations(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        source: QgsProcessingFeatureSource,
        feedback: QgsProcessingFeedback,
        window: tuple[float | None, float | None] = (None, None),
    ) -> tuple[str, list[tuple[str, float, float]]]:
        """Return the chosen property and its ``(station_id, time, value)`` rows (a PostGIS table: of ``window``)."""
        fields = source.fields()
        names, index = observation_fields(
            self, parameters, context, fields, self.tr("OBSERVATIONS has no field '{}' ({}); choose the right field.")
        )
        wanted = self._choose_property(parameters, context, source, index[self.PROPERTY_FIELD])
        index[QC_FLAG_FIELD] = fields.lookupField(QC_FLAG_FIELD)
        collector = RowCollector(self._value_screen(parameters, context), epoch_seconds, station_key)
        layer = self.parameterAsVectorLayer(parameters, self.OBSERVATIONS, context)
        columns = {
            "station": names[self.STATION_ID_FIELD],
            "time": names[self.TIME_FIELD],
            "value": names[self.VALUE_FIELD],
            "property": names[self.PROPERTY_FIELD] if index[self.PROPERTY_FIELD] >= 0 else "",
            "flag": QC_FLAG_FIELD if index[QC_FLAG_FIELD] >= 0 else "",
        }
        located = plain_geopackage(layer, parameters.get(self.OBSERVATIONS))
        table = plain_postgis(layer, parameters.get(self.OBSERVATIONS)) if located is None else None
        if located is not None:
            finished = read_geopackage(located, columns, wanted, collector, feedback, source.featureCount())
        elif table is not None:
            properties = matching_values(source, index[self.PROPERTY_FIELD], wanted)
            finished = read_postgis(table, columns, properties, window, collector, feedback)
        else:
            request = QgsFeatureRequest().setFlags(QgsFeatureRequest.NoGeometry)
            request.setSubsetOfAttributes([i for i in index.values() if i >= 0])
            if wanted and index[self.PROPERTY_FIELD] >= 0:
                column = QgsExpression.quotedColumnRef(names[self.PROPERTY_FIELD])
                request.setFilterExpression(f"lower(trim({column})) = {QgsExpression.quotedString(wanted.lower())}")
            keys = {"station": self.STATION_ID_FIELD, "time": self.TIME_FIELD, "value": self.VALUE_FIELD}
            positions = {short: index[long] for short, long in keys.items()} | {"flag": index[QC_FLAG_FIELD]}
            features = self.iter_features(source, self.OBSERVATIONS, feedback, request)
            finished = read_features(
                features, source.featureCount(), positions, layer, names[self.TIME_FIELD], collector, feedback
            )
        if not finished:
            self.check_cancelled(feedback)
        if collector.offset_times:
            feedback.pushInfo(
                self.tr("{} times with a UTC offset were read from the GeoPackage text.").format(collector.offset_times)
            )
        rows, skipped = collector.rows, collector.skipped
        self._report_skipped(skipped, feedback)
        if not rows:
            raise QgsProcessingException(
                self.tr("OBSERVATIONS has no usable observations of '{}' (with a value and a readable time).").format(
                    wanted or "*"
                )
            )
        return wanted, rows

    def _value_screen(self, parameters: dict[str, Any], context: QgsProcessingContext):
        """Return a function value -> skip reason (``""`` to keep): missing, outside MIN_VALID-MAX_VALID, sentinel.

        Without MIN_VALID the usual "no measurement" codes (-999, -9999) are skipped.
        """
        low = self.optional_number(parameters, self.MIN_VALID, context)
        high = self.optional_number(parameters, self.MAX_VALID, context)

        def screen(value: float | None) -> str:
            if value is None:
                return "value"
            if not abs(value) <= LARGEST:  # infinite, NaN or too large to compute with
                return "unusable"
            if (low is not None and value < low) or (high is not None and value > high):
                return "range"
            if low is None and value in GENERIC_SENTINELS:
                return "sentinel"
            return ""

        return screen

    def _report_skipped(self, skipped: Counter, feedback: QgsProcessingFeedback) -> None:
        """Say how many observations were skipped and why."""
        if skipped["value"]:
            feedback.pushInfo(self.tr("{} observations without a numeric value were skipped.").format(skipped["value"]))
        if skipped["range"]:
            feedback.pushInfo(self.tr("{} observations outside the valid range were skipped.").format(skipped["range"]))
        if skipped["sentinel"]:
            feedback.pushWarning(
                self.tr(
                    "{} observations with a no-data code (-999, -9999) were skipped; set MIN_VALID to keep or "
                    "bound them explicitly."
                ).format(skipped["sentinel"])
            )
        flagged = {key[3:]: count for key, count in skipped.items() if key.startswith("qc:")}
        if flagged:
            detail = ", ".join(f"{flag} {count}" for flag, count in sorted(flagged.items()))
            feedback.pushInfo(
                self.tr("{} observations flagged by quality control (qc_flag) were skipped: {}.").format(
                    sum(flagged.values()), detail
                )
            )
        if skipped["unusable"]:
            feedback.pushWarning(
                self.tr("{} observations with an infinite, not-a-number or too large value (beyond ±{:g}) were "
                        "skipped.").format(skipped["unusable"], LARGEST)
            )
        if skipped["time"]:
            feedback.pushWarning(
                self.tr("{} observations with an unreadable time were skipped.").format(skipped["time"])
            )
        if skipped["calendar"]:
            feedback.pushWarning(
                self.tr("{} observations with a time before 0001-01-03 or after 9999-12-28 (UTC), where local days "
                        "cannot be counted, were skipped.").format(skipped["calendar"])
            )

    def _choose_property(
        self, parameters: dict[str, Any], context: QgsProcessingContext, source: QgsProcessingFeatureSource, index: int
    ) -> str:
        """Return the property to aggregate: PROPERTY, else the only property in the table."""
        wanted = self.parameterAsString(parameters, self.PROPERTY, context).strip()
        if index < 0:
            return wanted
        present = sorted({str(v).strip() for v in source.uniqueValues(index) if v is not None and v != NULL} - {""})
        available = ", ".join(present) or "-"
        if wanted and wanted.lower() not in {name.lower() for name in present}:
            raise QgsProcessingException(
                self.tr("No observations of property '{}'. Properties in OBSERVATIONS: {}.").format(wanted, available)
            )
        if not wanted and len(present) > 1:
            raise QgsProcessingException(
                self.tr("OBSERVATIONS holds several properties ({}); choose one in PROPERTY.").format(available)
            )
        return wanted or (present[0] if present else "")

    def _read_stations(
        self, parameters: dict[str, Any], context: QgsProcessingContext, source, feedback: QgsProcessingFeedback
    ) -> list[tuple[str, QgsFeature]]:
        """``(station_id, feature)`` of every station; duplicate ids are an error."""
        name = self._field_name(parameters, self.STATIONS_ID_FIELD, context)
        index = source.fields().lookupField(name)
        if index < 0:
            raise QgsProcessingException(
                self.tr("STATIONS has no field '{}'; choose the station id field.").format(name)
            )
        result, seen = [], set()
        for feature in self.iter_features(source, self.STATIONS, feedback):
            key = station_key(feature.attributes()[index])
            if key in seen:
                raise QgsProcessingException(
                    self.tr("Station id '{}' appears more than once in STATIONS; station ids must be unique.").format(
                        key
                    )
                )
            seen.add(key)
            result.append((key, feature))
        return result

    def _area_statistics(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        areas: QgsProcessingFeatureSource,
        known: list[tuple[str, QgsFeature]],
        steps: list[dict[str, dict[str, float]]],
        feedback: QgsProcessingFeedback,
    ) -> tuple[list[list[tuple[QgsFeature, dict[str, float], Any, int]]], QgsWkbTypes.Type]:
        """Return per step and area the statistics, method and stations used, and the areas' output geometry type.

        In each step an area takes the mean of the stations with data (in that step) inside it, else IDW from the
        K nearest of them (metric CRS).
        """
        k = self.parameterAsInt(parameters, self.K, context)
        power = self.parameterAsDouble(parameters, self.POWER, context)
        stations = self.parameterAsSource(parameters, self.STATIONS, context)
        to_metric, station_to_metric = self._metric_transforms(areas, stations, context, feedback)
        xy, columns, with_data = _station_columns(known, steps, station_to_metric)
        rows: list[list[tuple[QgsFeature, dict[str, float], Any, int]]] = [[] for _ in steps]
        features, report = self.read_features(areas, self.AREAS, feedback, duplicates=True)
        total = max(len(features), 1)
        for n, feature in enumerate(features):
            self.check_cancelled(feedback)
            feedback.setProgress(60 + 35 * n / total)
            site = None
            if feature.hasGeometry() and len(xy):
                geometry = QgsGeometry(feature.geometry())
                if to_metric is not None:
                    geometry.transform(to_metric)
                engine = QgsGeometry.createGeometryEngine(geometry.constGet())
                engine.prepareGeometry()
                centre = geometry.centroid().asPoint()
                inside = [i for i, (x, y) in enumerate(xy) if engine.intersects(QgsPoint(x, y))]
                site = (inside, (centre.x(), centre.y()))
            for step, (step_columns, data) in enumerate(zip(columns, with_data)):
                rows[step].append((feature, *_area_values(site, step_columns, data, xy, k, power)))
        return rows, report.output_type(areas.wkbType())

    def _metric_transforms(
        self,
        areas: QgsProcessingFeatureSource,
        stations: QgsProcessingFeatureSource,
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
    ) -> tuple[QgsCoordinateTransform | None, QgsCoordinateTransform | None]:
        """Return the transforms of AREAS and STATIONS to a metric CRS (None: none needed); refuse CRS problems."""
        check_crs_known({self.STATIONS: stations.sourceCrs(), self.AREAS: areas.sourceCrs()})
        check_degrees(stations.sourceCrs(), stations.sourceExtent(), self.STATIONS)
        crs = metric_crs(areas.sourceCrs(), areas.sourceExtent(), self.AREAS, feedback)
        if not crs.isValid():
            return None, None
        return tuple(
            QgsCoordinateTransform(layer.sourceCrs(), crs, context.transformContext())
            if layer.sourceCrs() != crs else None
            for layer in (areas, stations)
        )


def _any_step(
    steps: list[tuple[tuple[float, float] | None, dict[str, dict[str, float]]]],
) -> dict[str, dict[str, float]]:
    """Per station the statistics of the step with the most observations (for the coverage check)."""
    merged: dict[str, dict[str, float]] = {}
    for _, stats in steps:
        for key, values in stats.items():
            if key not in merged or values["count"] > merged[key]["count"]:
                merged[key] = values
    return merged


def _own_ids(fields: QgsFields, step_fields: list[QgsField]) -> QgsFields:
    """With time steps, a GeoPackage ``fid`` field renamed ``fid_in``: each feature repeats once per step."""
    if not step_fields or fields.lookupField("fid") < 0:
        return fields
    renamed = QgsFields(fields)
    renamed.rename(fields.lookupField("fid"), "fid_in")
    return renamed


def _step_values(bounds: tuple[float, float] | None) -> list:
    """``step_start`` and ``step_end`` as UTC date-times (nothing without a time step)."""
    if bounds is None:
        return []
    return [utc_qdatetime(datetime.fromtimestamp(moment, timezone.utc)) for moment in bounds]


def _station_columns(
    known: list[tuple[str, QgsFeature]], steps: list[dict[str, dict[str, float]]], to_metric
) -> tuple[np.ndarray, list[dict[str, np.ndarray]], list[np.ndarray]]:
    """Metric points of the stations with data in any step; per step their statistics and which have data."""
    points, keys = [], []
    for key, feature in known:
        if not feature.hasGeometry() or not any(key in stats and stats[key]["count"] > 0 for stats in steps):
            continue
        geometry = QgsGeometry(feature.geometry())
        if to_metric is not None:
            geometry.transform(to_metric)
        point = geometry.centroid().asPoint()
        points.append((point.x(), point.y()))
        keys.append(key)
    columns, with_data = [], []
    for stats in steps:
        table = [stats.get(key) or no_statistics() for key in keys]
        columns.append({name: np.array([row[name] for row in table], dtype=float) for name in ALL_STATISTICS})
        with_data.append(np.array([row["count"] > 0 for row in table], dtype=bool))
    return np.array(points, dtype=float).reshape(-1, 2), columns, with_data


def _area_values(
    site: tuple[list[int], tuple[float, float]] | None, columns: dict[str, np.ndarray], data: np.ndarray,
    xy: np.ndarray, k: int, power: float,
) -> tuple[dict[str, float], Any, int]:
    """Statistics of one area in one step, the method (inside, idw) and the stations used."""
    if site is None or not data.any():
        return {}, NULL, 0
    inside = [i for i in site[0] if data[i]]
    if inside:
        return {name: _mean(columns[name][inside]) for name in ALL_STATISTICS}, "inside", len(inside)
    values, used = {}, 0
    for name in ALL_STATISTICS:
        values[name], count = idw(site[1], xy[data], columns[name][data], k, power)
        used = max(used, count)
    return values, "idw", used


def _mean(values: np.ndarray) -> float:
    """Mean of the non-NaN values, NaN when there are none."""
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else math.nan


def _stat(values: dict[str, float], name: str) -> Any:
    """Return a statistic as attribute value (NULL when missing or NaN)."""
    return to_qvariant(values.get(name, math.nan))


