"""Emerging hot spots: is an area's hot or cold spot new, growing, fading or gone? Space-time Gi* and trends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
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
    QgsProcessingOutputNumber,
    QgsProcessingParameterField,
    QgsProcessingUtils,
    QgsVectorLayer,
    QgsVectorLayerTemporalProperties,
)
from qgis.PyQt.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QDate, Qt

from ...core.hotspots import emerging, value_checks
from ...core.hotspots import local_statistics as stats
from .. import safe_io
from ..base import AlgorithmBase, Param, param
from ..common import epoch_seconds, to_number, utc_qdatetime, with_result_fields
from ..qt_compat import NUMERIC_TYPES, FieldType
from ..sensors.observation_reading import plain_geopackage, station_key
from ..sensors.observation_times import read_only
from ..style_on_load import StyleOnLoad, set_post_processor, style_on_load
from . import neighbours

#: Category code -> English label (translated in context "EmergingHotspotsAlgorithm").
CATEGORY_LABELS = {
    1: QT_TRANSLATE_NOOP("EmergingHotspotsAlgorithm", "New hot spot"),
    2: QT_TRANSLATE_NOOP("EmergingHotspotsAlgorithm", "Consecutive hot spot"),
    3: QT_TRANSLATE_NOOP("EmergingHotspotsAlgorithm", "Intensifying hot spot"),
    4: QT_TRANSLATE_NOOP("EmergingHotspotsAlgorithm", "Persistent hot spot"),
    5: QT_TRANSLATE_NOOP("EmergingHotspotsAlgorithm", "Diminishing hot spot"),
    6: QT_TRANSLATE_NOOP("EmergingHotspotsAlgorithm", "Sporadic hot spot"),
    7: QT_TRANSLATE_NOOP("EmergingHotspotsAlgorithm", "Oscillating hot spot"),
    8: QT_TRANSLATE_NOOP("EmergingHotspotsAlgorithm", "Historical hot spot"),
    -1: QT_TRANSLATE_NOOP("EmergingHotspotsAlgorithm", "New cold spot"),
    -2: QT_TRANSLATE_NOOP("EmergingHotspotsAlgorithm", "Consecutive cold spot"),
    -3: QT_TRANSLATE_NOOP("EmergingHotspotsAlgorithm", "Intensifying cold spot"),
    -4: QT_TRANSLATE_NOOP("EmergingHotspotsAlgorithm", "Persistent cold spot"),
    -5: QT_TRANSLATE_NOOP("EmergingHotspotsAlgorithm", "Diminishing cold spot"),
    -6: QT_TRANSLATE_NOOP("EmergingHotspotsAlgorithm", "Sporadic cold spot"),
    -7: QT_TRANSLATE_NOOP("EmergingHotspotsAlgorithm", "Oscillating cold spot"),
    -8: QT_TRANSLATE_NOOP("EmergingHotspotsAlgorithm", "Historical cold spot"),
    0: QT_TRANSLATE_NOOP("EmergingHotspotsAlgorithm", "No pattern detected"),
}
#: Fields added per area and per cell (name, type).
AREA_FIELDS = (
    ("category", FieldType.STRING), ("category_code", FieldType.INT), ("trend_tau", FieldType.DOUBLE),
    ("trend_p", FieldType.DOUBLE), ("n_hot", FieldType.INT), ("n_cold", FieldType.INT),
    ("last_z", FieldType.DOUBLE), ("last_p", FieldType.DOUBLE),
)
CUBE_FIELDS = (
    ("gi_z", FieldType.DOUBLE), ("gi_p", FieldType.DOUBLE), ("gi_p_fdr", FieldType.DOUBLE),
    ("gi_bin", FieldType.INT), ("n_neighbors", FieldType.INT),
)
#: STATISTIC of the observation mode -> key of the aggregation's statistics.
STATISTICS = ("mean", "median", "max", "p95")
#: Too few steps for a trend to be significant at 0.05 (Mann-Kendall) is below this; ArcGIS asks for 10.
FEW_STEPS = 10


def _value(number: float, integer: bool = False) -> Any:
    """Return a numpy number as an attribute: plain Python, NaN as NULL."""
    if number != number:
        return NULL
    return int(number) if integer else float(number)


@dataclass
class _Table:
    """The rows of the cube's source: feature ids and their places in the cube."""

    fids: np.ndarray
    layout: emerging.CubeLayout
    dated: bool  # times are dates or date-times (else numbers such as years)
    located: tuple[str, str] | None  # (file, table) of a whole GeoPackage table, read with sqlite3


def _attribute_reader(kind) -> Any:
    """Return a function GeoPackage column value -> attribute of a field of type ``kind`` (dates memoised)."""
    if kind not in (FieldType.DATETIME, FieldType.DATE):
        return lambda value: NULL if value is None else value
    seen: dict[Any, Any] = {}

    def read(value: Any) -> Any:
        if value not in seen:
            moment = epoch_seconds(value) if isinstance(value, str) else None
            if moment is None:
                seen[value] = NULL
            elif kind == FieldType.DATE:
                seen[value] = QDate.fromString(str(value)[:10], Qt.DateFormat.ISODate)
            else:
                seen[value] = utc_qdatetime(datetime.fromtimestamp(moment, timezone.utc))
        return seen[value]

    return read


def _cell_columns(gi: emerging.SpaceTimeGi) -> list[list]:
    """Return the cube's attributes per cell as plain Python lists (NaN as NULL), in the order of CUBE_FIELDS."""
    numbers = [[NULL if v != v else v for v in column.ravel().tolist()] for column in (gi.z, gi.p, gi.p_adjusted)]
    return [*numbers, gi.bins.ravel().tolist(), gi.n_neighbors.ravel().tolist()]


def _time_reader(dated: bool):
    """Return a function time value -> UTC epoch seconds (dates) or the number (NaN when unreadable); texts memoised."""
    seen: dict[str, float] = {}

    def read(value: Any) -> float:
        if isinstance(value, str):
            if value not in seen:
                seen[value] = read_one(value)
            return seen[value]
        return read_one(value)

    def read_one(value: Any) -> float:
        moment = epoch_seconds(value) if dated else to_number(value)
        return np.nan if moment is None else moment

    return read


def geopackage_rows(located: tuple[str, str], columns: list[str], feedback) -> Iterator[tuple]:
    """``(fid, *columns)`` of every row of a GeoPackage table, read with sqlite3 (read-only)."""
    path, table = located
    with closing(read_only(path)) as connection:
        keys = [row[1] for row in connection.execute(f"PRAGMA table_info({_quote(table)})") if row[5]]
        names = ", ".join(_quote(name) for name in [keys[0] if len(keys) == 1 else "rowid", *columns])
        cursor = connection.execute(f"SELECT {names} FROM {_quote(table)}")
        while True:
            batch = cursor.fetchmany(50000)
            if not batch:
                return
            if feedback.isCanceled():
                raise safe_io.cancelled_error()
            yield from batch


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class TemporalStyleOnLoad(StyleOnLoad):
    """Styles the cube and makes it temporal (start and end from expressions) when it is loaded."""

    def __init__(self, style_name: str, start: str, end: str) -> None:
        super().__init__(style_name)
        self.start, self.end = start, end

    def postProcessLayer(self, layer, context, feedback) -> None:  # noqa: N802, D102
        super().postProcessLayer(layer, context, feedback)
        if isinstance(layer, QgsVectorLayer):
            properties = layer.temporalProperties()
            properties.setMode(QgsVectorLayerTemporalProperties.ModeFeatureDateTimeStartAndEndFromExpressions)
            properties.setStartExpression(self.start)
            properties.setEndExpression(self.end)
            properties.setIsActive(True)


class EmergingHotspotsAlgorithm(AlgorithmBase):
    """Space-time Gi* per step, the Mann-Kendall trend of each area and its emerging hot-spot category."""

    ALGORITHM_ID = "emerginghotspots"
    DISPLAY_NAME = "Emerging hot spots (trends over time)"
    GROUP_ID = "hotspots"

    INPUT = "INPUT"
    ID_FIELD = "ID_FIELD"
    TIME_FIELD = "TIME_FIELD"
    VALUE_FIELD = "VALUE_FIELD"
    OBSERVATIONS = "OBSERVATIONS"
    STATIONS = "STATIONS"
    AREAS = "AREAS"
    AREAS_ID_FIELD = "AREAS_ID_FIELD"
    PROPERTY = "PROPERTY"
    STATISTIC = "STATISTIC"
    TIME_STEP = "TIME_STEP"
    TIMEZONE = "TIMEZONE"
    START = "START"
    END = "END"
    TIME_LAG = "TIME_LAG"
    GLOBAL_WINDOW = "GLOBAL_WINDOW"
    PERMUTATIONS = "PERMUTATIONS"
    ALPHA = "ALPHA"
    FDR = "FDR"
    SEED = "SEED"
    OUTPUT = "OUTPUT"
    OUTPUT_CUBE = "OUTPUT_CUBE"
    NUMBERS = ("N_AREAS", "N_STEPS", "N_HOT", "N_COLD", "N_NO_PATTERN")

    def initAlgorithm(self, configuration: dict | None = None) -> None:  # noqa: N802, D102
        of_input = {"parentLayerParameterName": self.INPUT, "optional": True}
        self.add_parameters(
            param("source", self.INPUT, self.tr("Values per area and time step (e.g. one row per district and week)"),
                  types=[QgsProcessing.TypeVectorPolygon, QgsProcessing.TypeVectorPoint], optional=True),
            param("field", self.ID_FIELD, self.tr("Area id field"), **of_input),
            param("field", self.TIME_FIELD, self.tr("Time field (the time step)"), **of_input),
            param("field", self.VALUE_FIELD, self.tr("Value field"), type=QgsProcessingParameterField.Numeric,
                  **of_input),
            *self._observation_parameters(),
            *neighbours.neighbour_parameters(),
            param("int", self.TIME_LAG, self.tr("Time lag: earlier time steps in the neighbourhood"), defaultValue=1,
                  minValue=0, maxValue=1000),
            param("enum", self.GLOBAL_WINDOW, self.tr("Compare each value with"), defaultValue=0, options=[
                self.tr("The entire cube (ArcGIS's default: a rise or fall of all areas counts)"),
                self.tr("Its own time step (a rise or fall shared by all areas is removed)"),
            ]),
            param("int", self.PERMUTATIONS, self.tr("Permutations (0 = analytic p-values)"), defaultValue=0,
                  minValue=0, maxValue=99999),
            param("double", self.ALPHA, self.tr("Significance level"), defaultValue=0.05, minValue=0.0001,
                  maxValue=0.5),
            param("bool", self.FDR, self.tr("Correct for multiple testing in each time step (Benjamini-Hochberg)"),
                  advanced=True, defaultValue=True),
            param("int", self.SEED, self.tr("Random seed"), advanced=True, defaultValue=1, minValue=0),
            neighbours.knn_ties_parameter(),
            neighbours.snap_tolerance_parameter(),
            param("sink", self.OUTPUT, self.tr("Emerging hot spots (one feature per area)")),
            param("sink", self.OUTPUT_CUBE, self.tr("Gi* per area and time step"), optional=True,
                  createByDefault=True),
        )
        descriptions = (
            self.tr("Number of areas"), self.tr("Number of time steps"),
            self.tr("Number of areas with a hot-spot category"), self.tr("Number of areas with a cold-spot category"),
            self.tr("Number of areas without a pattern"),
        )
        for name, description in zip(self.NUMBERS, descriptions):
            self.addOutput(QgsProcessingOutputNumber(name, description))

    def _observation_parameters(self) -> list[Param]:
        """OBSERVATIONS, STATIONS, AREAS, AREAS_ID_FIELD, PROPERTY, STATISTIC, TIME_STEP, TIMEZONE, START, END."""
        return [
            param("source", self.OBSERVATIONS, self.tr("Or: sensor observations (instead of INPUT)"),
                  types=[QgsProcessing.TypeVector], optional=True),
            param("source", self.STATIONS, self.tr("Stations of the observations"),
                  types=[QgsProcessing.TypeVectorPoint], optional=True),
            param("source", self.AREAS, self.tr("Areas to aggregate the observations to"),
                  types=[QgsProcessing.TypeVectorPolygon], optional=True),
            param("field", self.AREAS_ID_FIELD, self.tr("Area id field of the areas"),
                  parentLayerParameterName=self.AREAS, optional=True),
            param("string", self.PROPERTY, self.tr("Property (e.g. NO2)"), optional=True, defaultValue=""),
            param("enum", self.STATISTIC, self.tr("Value per area and time step"), defaultValue=0,
                  options=[self.tr("Mean"), self.tr("Median"), self.tr("Maximum"), self.tr("95th percentile")]),
            param("enum", self.TIME_STEP, self.tr("Time step"), defaultValue=1,
                  options=[self.tr("Day"), self.tr("Week (Monday to Sunday)"), self.tr("Month"), self.tr("Year")]),
            param("string", self.TIMEZONE, self.tr("Time zone of the days (IANA name)"), advanced=True,
                  defaultValue="Europe/Berlin"),
            param("datetime", self.START, self.tr("Start (UTC, inclusive)"), advanced=True, optional=True),
            param("datetime", self.END, self.tr("End (UTC, exclusive)"), advanced=True, optional=True),
        ]

    def processAlgorithm(  # noqa: N802, D102
        self, parameters: dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict[str, Any]:
        source, names = self._cube_source(parameters, context, feedback)
        layer = self.parameterAsVectorLayer(parameters, self.INPUT, context) if parameters.get(self.INPUT) else None
        table = self._read_table(source, names, feedback, plain_geopackage(layer, parameters.get(self.INPUT)))
        areas = self._area_features(source, table, feedback)
        use = np.array([feature.hasGeometry() for feature in areas])
        found = neighbours.neighbour_weights(self, parameters, context, source, areas, use, feedback)
        values = self._checked_values(table, use, feedback)
        feedback.setProgress(50)
        feedback.setProgressText(self.tr("Computing space-time Gi* and trends…"))
        options = self._options(parameters, context, len(table.layout.areas), feedback)
        try:
            result = emerging.emerging_hotspots(values, found.matrix, **options)
        except stats.StatisticsError as error:
            raise QgsProcessingException(
                self.tr("The values cannot be analysed: {} Check VALUE_FIELD and the time steps.").format(error)
            ) from error
        self._report(result, values, feedback)
        self.check_cancelled(feedback)
        feedback.setProgress(70)
        dest = self._write_areas(parameters, context, source, names, areas, result, feedback)
        results = {self.OUTPUT: dest}
        cube = self._write_cube(parameters, context, source, names, table, areas, result, feedback)
        if cube is not None:
            results[self.OUTPUT_CUBE] = cube
        codes = result.category
        results.update({
            "N_AREAS": len(codes), "N_STEPS": int(values.shape[0]), "N_HOT": int(np.sum(codes > 0)),
            "N_COLD": int(np.sum(codes < 0)), "N_NO_PATTERN": int(np.sum(codes == 0)),
        })
        feedback.setProgress(100)
        return results

    # -- the cube's source: INPUT, or the observations aggregated per area and step ------------------

    def _cube_source(self, parameters, context, feedback) -> tuple[Any, dict[str, str]]:
        """Return the table of values per area and step and its id, time and value field names."""
        source = self.source(parameters, self.INPUT, context, required=False)
        if source is not None:
            names = {key: self._field(parameters, key, context) for key in (self.ID_FIELD, self.TIME_FIELD,
                                                                             self.VALUE_FIELD)}
            missing = [key for key, name in names.items() if not name]
            if missing:
                raise QgsProcessingException(
                    self.tr("INPUT needs {}: choose the area id, time and value fields.").format(", ".join(missing))
                )
            self._check_fields(source.fields(), names)
            return source, names
        if parameters.get(self.OBSERVATIONS) in (None, ""):
            raise QgsProcessingException(
                self.tr("Give INPUT (values per area and time step, with ID_FIELD, TIME_FIELD and VALUE_FIELD), or "
                        "OBSERVATIONS with STATIONS and AREAS.")
            )
        return self._observation_cube(parameters, context, feedback)

    def _field(self, parameters, name: str, context) -> str:
        chosen = self.parameterAsFields(parameters, name, context)
        return chosen[0] if chosen and chosen[0] else ""

    def _check_fields(self, fields: QgsFields, names: dict[str, str]) -> None:
        for key, name in names.items():
            index = fields.lookupField(name)
            if index < 0:
                raise QgsProcessingException(self.tr("{} '{}' is not a field of the input.").format(key, name))
            if key == self.VALUE_FIELD and fields.at(index).type() not in NUMERIC_TYPES:
                raise QgsProcessingException(
                    self.tr("VALUE_FIELD '{}' is not numeric. Choose a numeric field.").format(name)
                )

    def _observation_cube(self, parameters, context, feedback) -> tuple[Any, dict[str, str]]:
        """Aggregate OBSERVATIONS per AREAS and TIME_STEP (``aggregateobservations``): the one reading step.

        The aggregation reads the observations (GeoPackage tables directly, other layers through QGIS),
        skips flagged and no-data values and counts local days in TIMEZONE.
        """
        import processing

        for name in (self.STATIONS, self.AREAS):
            if parameters.get(name) in (None, ""):
                raise QgsProcessingException(
                    self.tr("With OBSERVATIONS, give STATIONS and AREAS too (or use INPUT).")
                )
        area_id = self._field(parameters, self.AREAS_ID_FIELD, context)
        if not area_id:
            raise QgsProcessingException(
                self.tr("With OBSERVATIONS, choose AREAS_ID_FIELD: the field that identifies the areas.")
            )
        feedback.setProgressText(self.tr("Aggregating the observations per area and time step…"))
        forwarded = {name: parameters.get(name) for name in (self.OBSERVATIONS, self.STATIONS, self.AREAS,
                                                              self.PROPERTY, self.START, self.END, self.TIMEZONE)}
        run = processing.run(
            "socialresilience:aggregateobservations",
            {
                **{key: value for key, value in forwarded.items() if value not in (None, "")},
                "TIME_STEP": self.parameterAsEnum(parameters, self.TIME_STEP, context),
                "PREFIX": "obs",
                "OUTPUT_STATIONS": QgsProcessing.TEMPORARY_OUTPUT,
                "OUTPUT_AREAS": QgsProcessing.TEMPORARY_OUTPUT,
            },
            context=context, feedback=feedback, is_child_algorithm=True,
        )
        layer = QgsProcessingUtils.mapLayerFromString(run["OUTPUT_AREAS"], context)
        self._area_field_names = set(self.parameterAsSource(parameters, self.AREAS, context).fields().names())
        statistic = STATISTICS[self.parameterAsEnum(parameters, self.STATISTIC, context)]
        names = {self.ID_FIELD: area_id, self.TIME_FIELD: "step_start", self.VALUE_FIELD: f"obs_{statistic}"}
        return QgsProcessingFeatureSource(layer, context), names

    # -- reading ------------------------------------------------------------------------------------------

    def _read_table(self, source, names: dict[str, str], feedback, located: tuple[str, str] | None) -> _Table:
        """Pass 1, attributes only: area key, time and value of every row, placed in the cube.

        A whole GeoPackage table (``located``) is read with sqlite3: ten times faster than through QGIS,
        and its date-times with their own UTC offsets.
        """
        fields = source.fields()
        index = [fields.lookupField(names[key]) for key in (self.ID_FIELD, self.TIME_FIELD, self.VALUE_FIELD)]
        dated = fields.at(index[1]).type() not in NUMERIC_TYPES
        feedback.setProgressText(self.tr("Reading the values per area and time step…"))
        if located is not None:
            rows = geopackage_rows(located, [names[key] for key in (self.ID_FIELD, self.TIME_FIELD,
                                                                      self.VALUE_FIELD)], feedback)
        else:
            request = QgsFeatureRequest().setFlags(QgsFeatureRequest.NoGeometry).setSubsetOfAttributes(index)
            rows = ((feature.id(), *(feature.attributes()[i] for i in index))
                    for feature in self.iter_features(source, self.INPUT, feedback, request))
        read_time = _time_reader(dated)
        fids, keys, times, values = [], [], [], []
        known: dict[Any, str | None] = {}  # ids repeat once per step
        for fid, key, moment, value in rows:
            fids.append(fid)
            if type(key) in (int, str):
                if key not in known:
                    known[key] = station_key(key)
                keys.append(known[key])
            else:
                keys.append(station_key(key))
            times.append(read_time(moment))
            number = to_number(value)
            values.append(np.nan if number is None else number)
        layout = emerging.cube_layout(keys, np.array(times, dtype=float), np.array(values))
        if layout.duplicate is not None:
            row = layout.duplicate
            raise QgsProcessingException(
                self.tr("Area '{}' has more than one row with {} = {}: give one value per area and "
                        "time step (aggregate first, e.g. with Aggregate sensor observations and TIME_STEP).")
                .format(keys[row], fields.at(index[1]).name(), self._time_text(times[row], dated))
            )
        no_key = sum(key is None for key in keys)
        no_time = int(np.sum(~np.isfinite(np.array(times, dtype=float))))
        if no_key or no_time:
            feedback.pushWarning(
                self.tr("{} row(s) without an area id and {} without a readable time (ISO 8601 text, date, date "
                        "and time, or a number such as a year) were left out.").format(no_key, no_time)
            )
        if not layout.areas:
            raise QgsProcessingException(self.tr("No row has an area id and a readable time."))
        return _Table(np.array(fids, dtype=np.int64), layout, dated, located)

    @staticmethod
    def _time_text(moment: float, dated: bool) -> str:
        if not dated:
            return f"{moment:g}"
        return utc_qdatetime(datetime.fromtimestamp(moment, timezone.utc)).toString("yyyy-MM-ddTHH:mm:ssZ")

    def _area_features(self, source, table: _Table, feedback) -> list[QgsFeature]:
        """Pass 2: per area its latest row with geometry (repaired when invalid), in area order."""
        layout = table.layout
        n = len(layout.areas)
        latest = np.full(n, -1, dtype=np.int64)
        placed = np.flatnonzero(layout.cell >= 0)
        order = placed[np.argsort(layout.cell[placed] // n, kind="stable")]
        latest[layout.area[order]] = order  # the last write per area is its latest step
        request = QgsFeatureRequest().setFilterFids([int(table.fids[row]) for row in latest if row >= 0])
        features, self._report_read = self.read_features(source, self.INPUT, feedback, request)
        by_fid = {feature.id(): feature for feature in features}
        areas = [by_fid.get(int(table.fids[row])) if row >= 0 else None for row in latest]
        areas = [feature if feature is not None else QgsFeature(source.fields()) for feature in areas]
        missing = sum(not feature.hasGeometry() for feature in areas)
        if missing:
            feedback.pushWarning(
                self.tr("{} area(s) have no geometry in their latest row: they are left out of the analysis.")
                .format(missing)
            )
        return areas

    def _checked_values(self, table: _Table, use: np.ndarray, feedback) -> np.ndarray:
        """Return the cube's values: areas without geometry left out, empty steps dropped, at least 3 steps."""
        values = table.layout.values.copy()
        too_large = value_checks.first_too_large(values.ravel())
        if too_large is not None:
            raise QgsProcessingException(
                self.tr("VALUE_FIELD holds {:g}, too large to compute with (limit ±{:g}). Fix or empty that value.")
                .format(values.ravel()[too_large], value_checks.LARGEST)
            )
        values[~np.isfinite(values)] = np.nan
        values[:, ~use] = np.nan
        table.layout.values = values
        table.layout, dropped = table.layout.without_empty_steps()
        if dropped:
            feedback.pushInfo(self.tr("{} time step(s) without any value were left out.").format(dropped))
        steps = len(table.layout.steps)
        if steps < 3:
            raise QgsProcessingException(
                self.tr("Only {} time step(s) have values; a trend needs at least 3 (ArcGIS asks for 10).")
                .format(steps)
            )
        if steps < FEW_STEPS:
            feedback.pushWarning(
                self.tr("Only {} time steps: with fewer than {} the categories rest on few steps, and a trend needs "
                        "at least 5 steps to be significant at 0.05.").format(steps, FEW_STEPS)
            )
        return table.layout.values

    # -- computing -------------------------------------------------------------------------------------

    def _options(self, parameters, context, areas: int, feedback) -> dict[str, Any]:
        """Keyword arguments of ``emerging_hotspots``; warns when the permutations are too few."""
        options = {
            "lag": self.parameterAsInt(parameters, self.TIME_LAG, context),
            "permutations": self.parameterAsInt(parameters, self.PERMUTATIONS, context),
            "seed": self.parameterAsInt(parameters, self.SEED, context),
            "alpha": self.parameterAsDouble(parameters, self.ALPHA, context),
            "fdr": self.parameterAsBool(parameters, self.FDR, context),
            "per_step": self.parameterAsEnum(parameters, self.GLOBAL_WINDOW, context) == 1,
        }
        needed = stats.permutations_needed(areas, options["alpha"], tails=2)
        if options["fdr"] and 0 < options["permutations"] < needed:
            feedback.pushWarning(
                self.tr("{} permutations are too few for {} areas per time step with the correction: the smallest "
                        "p, 2/{}, passes only when several areas reach it, so results change with SEED. Use "
                        "PERMUTATIONS of at least {}, or 0 for analytic p-values.")
                .format(options["permutations"], areas, options["permutations"] + 1, needed)
            )
        return options

    def _report(self, result: emerging.EmergingResult, values: np.ndarray, feedback) -> None:
        """Say how many cells had no neighbour and how many areas fell into each category."""
        lonely = int(np.sum(np.isfinite(values) & np.isnan(result.gi.z)))
        if lonely:
            feedback.pushWarning(
                self.tr("{} area-step cell(s) have no neighbour with a value: their Gi* is NULL.").format(lonely)
            )
        codes, counts = np.unique(result.category, return_counts=True)
        found = ", ".join(f"{self._label(int(code))} {int(count)}" for code, count in zip(codes, counts))
        feedback.pushInfo(self.tr("Categories: {}.").format(found))

    def _label(self, code: int) -> str:
        return QCoreApplication.translate("EmergingHotspotsAlgorithm", CATEGORY_LABELS[code])

    # -- writing ---------------------------------------------------------------------------------------

    def _kept_fields(self, source, names: dict[str, str]) -> list[int]:
        """Return the source fields an area keeps: all but time and value (observations: the areas')."""
        fields = source.fields()
        own = getattr(self, "_area_field_names", None)
        dropped = {names[self.TIME_FIELD], names[self.VALUE_FIELD]}
        return [i for i, field in enumerate(fields)
                if field.name() not in dropped and (own is None or field.name() in own)]

    def _write_areas(self, parameters, context, source, names, areas: list[QgsFeature],
                     result: emerging.EmergingResult, feedback) -> str:
        """OUTPUT: one feature per area (its latest row's fields but time and value) with the category."""
        kept = self._kept_fields(source, names)
        base = QgsFields()
        for i in kept:
            base.append(source.fields().at(i))
        fields = with_result_fields(base, [QgsField(name, kind) for name, kind in AREA_FIELDS], feedback)
        wkb = self._report_read.output_type(source.wkbType())
        sink, dest = self.create_sink(parameters, self.OUTPUT, context, fields, wkb, source.sourceCrs(), feedback)
        trend, gi = result.trend, result.gi
        for i, feature in enumerate(areas):
            attributes = feature.attributes()
            out = QgsFeature(fields)
            if feature.hasGeometry():
                out.setGeometry(feature.geometry())
            code = int(result.category[i])
            out.setAttributes([attributes[k] if k < len(attributes) else NULL for k in kept] + [
                self._label(code), code, _value(trend.tau[i]), _value(trend.p[i]), int(result.n_hot[i]),
                int(result.n_cold[i]), _value(gi.z[-1, i]), _value(gi.p_adjusted[-1, i]),
            ])
            sink.addFeature(out, QgsFeatureSink.FastInsert)
        style_on_load(context, dest, "emerging_hotspots.qml")
        return dest

    def _write_cube(self, parameters, context, source, names, table: _Table, areas: list[QgsFeature],
                    result: emerging.EmergingResult, feedback) -> str | None:
        """OUTPUT_CUBE: every row of the source with the Gi* of its cell and its area's geometry."""
        extra = [QgsField(name, kind) for name, kind in CUBE_FIELDS]
        ends = self._step_ends(table) if table.dated else None
        if ends is not None:
            extra.append(QgsField("time_end", FieldType.DATETIME))
        fields = with_result_fields(source.fields(), extra, feedback)
        wkb = self._report_read.output_type(source.wkbType())
        sink, dest = self.create_sink(parameters, self.OUTPUT_CUBE, context, fields, wkb, source.sourceCrs(),
                                      feedback, optional=True)
        if sink is None:
            return None
        n = len(table.layout.areas)
        columns = _cell_columns(result.gi)
        row_of = {int(fid): row for row, fid in enumerate(table.fids)}
        cells, places = table.layout.cell.tolist(), table.layout.area.tolist()
        geometries = [feature.geometry() if feature.hasGeometry() else None for feature in areas]
        blank = [NULL] * len(extra)
        batch, total = [], max(len(table.fids), 1)
        for number, (fid, attributes) in enumerate(self._source_rows(source, table.located, feedback)):
            row = row_of.get(fid, -1)
            cell, area = (cells[row], places[row]) if row >= 0 else (-1, -1)
            out = QgsFeature(fields)
            if area >= 0 and geometries[area] is not None:
                out.setGeometry(geometries[area])
            found = blank
            if cell >= 0:
                found = [column[cell] for column in columns] + ([ends[cell // n]] if ends is not None else [])
            out.setAttributes(attributes + found)
            batch.append(out)
            if len(batch) == 5000:
                self.check_cancelled(feedback)
                sink.addFeatures(batch, QgsFeatureSink.FastInsert)
                batch = []
                feedback.setProgress(75 + 25.0 * number / total)
        sink.addFeatures(batch, QgsFeatureSink.FastInsert)
        self._style_cube(context, dest, names, ends is not None)
        return dest

    def _source_rows(self, source, located: tuple[str, str] | None, feedback) -> Iterator[tuple[int, list]]:
        """Pass 3: ``(feature id, attributes)`` of every row; a whole GeoPackage table read with sqlite3."""
        if located is None:
            request = QgsFeatureRequest().setFlags(QgsFeatureRequest.NoGeometry)
            for feature in self.iter_features(source, self.INPUT, feedback, request):
                yield feature.id(), feature.attributes()
            return
        fields = source.fields()
        convert = [_attribute_reader(fields.at(i).type()) for i in range(fields.count())]
        for fid, *values in geopackage_rows(located, fields.names(), feedback):
            yield fid, [read(value) for read, value in zip(convert, values)]

    @staticmethod
    def _step_ends(table: _Table) -> list:
        """End of each step: the next step's time; the last step lasts as long as the median step."""
        steps = table.layout.steps
        length = float(np.median(np.diff(steps))) if len(steps) > 1 else 86400.0
        ends = np.append(steps[1:], steps[-1] + length)
        return [utc_qdatetime(datetime.fromtimestamp(float(end), timezone.utc)) for end in ends]

    def _style_cube(self, context, dest: str, names: dict[str, str], dated: bool) -> None:
        """Gi* bins; temporal (from the time field to ``time_end``) when the times are dates."""
        style_on_load(context, dest, "gi_bins.qml")
        if dated and context.willLoadLayerOnCompletion(dest):
            start = f'to_datetime("{names[self.TIME_FIELD]}")'
            set_post_processor(context, dest, TemporalStyleOnLoad("gi_bins.qml", start, '"time_end"'))
