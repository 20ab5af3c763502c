"""Processing algorithm ``socialresilience:importsensorfeed``: a sensor feed as stations + observations."""

from __future__ import annotations

import contextlib
import json
import math
import os
import sqlite3
from typing import Any

from qgis.core import (
    NULL,
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsPointXY,
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingLayerPostProcessorInterface,
    QgsProcessingOutputNumber,
    QgsVectorLayer,
    QgsVectorLayerTemporalProperties,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QCoreApplication

from ...core.sensors.archive import ROW_COLUMNS, ArchiveWriter, observation_rows
from ...core.sensors.archive_store import ArchiveStore
from ...core.sensors.background import BackgroundWriter
from ...core.sensors.csv_feed import CsvMapping
from ...core.sensors.errors import FeedError
from ...core.sensors.fetch import DEFAULT_MAX_MB, MIB, FetchLimits, redact_url
from ...core.sensors.formats import FEED_FORMATS, FORMAT_NAMES, SENSORTHINGS
from ...core.sensors.importer import ImportOptions, ImportSummary, parse_properties, stream_feed
from ...core.sensors.model import Observation
from ...core.sensors.postgis_archive import PostgisArchiveError, PostgisArchiveWriter
from ..base import AlgorithmBase, Param, param
from ..common import check_writable, utc_datetime, utc_qdatetime
from ..postgis_connection import archive_target
from ..qt_compat import FieldType
from ..safe_io import CheckedSink, raise_if_cancelled
from ..style_on_load import set_post_processor
from .qgis_fetcher import QgisFetcher

WGS84 = "EPSG:4326"
#: CSV mapping parameter -> CsvMapping attribute.
CSV_FIELDS = {
    "CSV_TIME_FIELD": "time",
    "CSV_TIME_END_FIELD": "time_end",
    "CSV_VALUE_FIELD": "value",
    "CSV_STATION_FIELD": "station",
    "CSV_NAME_FIELD": "name",
    "CSV_LON_FIELD": "lon",
    "CSV_LAT_FIELD": "lat",
    "CSV_PROPERTY_FIELD": "property",
    "CSV_UNIT_FIELD": "unit",
    "CSV_STREAM_FIELD": "stream",
    "CSV_DELIMITER": "delimiter",
}


def station_fields() -> QgsFields:
    """Fields of OUTPUT_STATIONS."""
    fields = QgsFields()
    for name, kind in (("station_id", FieldType.STRING), ("name", FieldType.STRING), ("properties", FieldType.STRING),
                       ("last_time", FieldType.DATETIME), ("first_time", FieldType.DATETIME),
                       ("n_observations", FieldType.INT), ("source", FieldType.STRING)):
        fields.append(QgsField(name, kind))
    return fields


def observation_fields() -> QgsFields:
    """Fields of OUTPUT_OBSERVATIONS."""
    fields = QgsFields()
    for name, kind in (("station_id", FieldType.STRING), ("stream_id", FieldType.STRING),
                       ("property", FieldType.STRING),
                       ("unit", FieldType.STRING), ("time", FieldType.DATETIME), ("time_end", FieldType.DATETIME),
                       ("value", FieldType.DOUBLE), ("raw", FieldType.STRING), ("source", FieldType.STRING),
                       ("flag", FieldType.STRING)):
        fields.append(QgsField(name, kind))
    return fields


class TemporalPostProcessor(QgsProcessingLayerPostProcessorInterface):
    """Makes an output layer temporal (start/end expressions), so the temporal controller animates it."""

    def __init__(self, start_expression: str, end_expression: str) -> None:
        super().__init__()
        self.start_expression = start_expression
        self.end_expression = end_expression

    def postProcessLayer(self, layer: Any, context: QgsProcessingContext, feedback: QgsProcessingFeedback) -> None:  # noqa: N802, D102
        if not isinstance(layer, QgsVectorLayer):
            return
        properties = layer.temporalProperties()
        properties.setMode(QgsVectorLayerTemporalProperties.ModeFeatureDateTimeStartAndEndFromExpressions)
        properties.setStartExpression(self.start_expression)
        properties.setEndExpression(self.end_expression)
        properties.setIsActive(True)


class ImportSensorFeedAlgorithm(AlgorithmBase):
    """Import a sensor feed (SensorThings, openSenseMap, Sensor.Community, TTN, ChirpStack, CSV)."""

    ALGORITHM_ID = "importsensorfeed"
    DISPLAY_NAME = "Import sensor feed"
    GROUP_ID = "sensors"

    FORMAT = "FORMAT"
    SOURCE = "SOURCE"
    START = "START"
    END = "END"
    PROPERTY = "PROPERTY"
    EXTENT = "EXTENT"
    MAX_OBSERVATIONS = "MAX_OBSERVATIONS"
    AUTHCFG = "AUTHCFG"
    TIMEOUT = "TIMEOUT"
    IMPORT_TIMEOUT = "IMPORT_TIMEOUT"
    MAX_RESPONSE_MB = "MAX_RESPONSE_MB"
    RETRIES = "RETRIES"
    PAGE_SIZE = "PAGE_SIZE"
    ARCHIVE = "ARCHIVE"
    ARCHIVE_CONNECTION = "ARCHIVE_CONNECTION"
    ARCHIVE_SCHEMA = "ARCHIVE_SCHEMA"
    OUTPUT_STATIONS = "OUTPUT_STATIONS"
    OUTPUT_OBSERVATIONS = "OUTPUT_OBSERVATIONS"
    N_STATIONS = "N_STATIONS"
    N_OBSERVATIONS = "N_OBSERVATIONS"
    COMPLETE = "COMPLETE"
    N_NEW = "N_NEW"

    def initAlgorithm(self, config: dict | None = None) -> None:  # noqa: N802, D102
        formats = [QCoreApplication.translate("feed_formats", fmt.name) for fmt in FEED_FORMATS]
        csv_labels = {
            "CSV_TIME_FIELD": self.tr("CSV: time column (default: automatic)"),
            "CSV_TIME_END_FIELD": self.tr("CSV: end time column"),
            "CSV_VALUE_FIELD": self.tr("CSV: value column"),
            "CSV_STATION_FIELD": self.tr("CSV: station id column"),
            "CSV_NAME_FIELD": self.tr("CSV: station name column"),
            "CSV_LON_FIELD": self.tr("CSV: longitude column"),
            "CSV_LAT_FIELD": self.tr("CSV: latitude column"),
            "CSV_PROPERTY_FIELD": self.tr("CSV: property column"),
            "CSV_UNIT_FIELD": self.tr("CSV: unit column"),
            "CSV_STREAM_FIELD": self.tr("CSV: stream id column"),
            "CSV_DELIMITER": self.tr("CSV: delimiter"),
        }
        self.add_parameters(
            param("enum", self.FORMAT, self.tr("Feed format"), options=formats, defaultValue=SENSORTHINGS),
            param("string", self.SOURCE, self.tr("Source (URL or file)")),
            param("datetime", self.START, self.tr("Start (UTC)"), optional=True),
            param("datetime", self.END, self.tr("End (UTC)"), optional=True),
            param("string", self.PROPERTY, self.tr("Observed properties (comma-separated)"), optional=True),
            param("extent", self.EXTENT, self.tr("Extent"), optional=True),
            param("int", self.MAX_OBSERVATIONS, self.tr("Maximum number of observations (0 = no limit)"),
                  defaultValue=0, minValue=0),
            param("authcfg", self.AUTHCFG, self.tr("Authentication"), optional=True),
            param("double", self.TIMEOUT, self.tr("Timeout per request (s)"), advanced=True,
                  defaultValue=30.0, minValue=0.1),
            param("double", self.IMPORT_TIMEOUT, self.tr("Timeout of the whole import (s, 0 = none)"), advanced=True,
                  defaultValue=3600.0, minValue=0.0),
            param("double", self.MAX_RESPONSE_MB, self.tr("Size limit per answer (MB, unpacked)"), advanced=True,
                  defaultValue=float(DEFAULT_MAX_MB), minValue=0.001),
            param("int", self.RETRIES, self.tr("Retries per request"), advanced=True,
                  defaultValue=3, minValue=0, maxValue=10),
            param("int", self.PAGE_SIZE, self.tr("SensorThings page size ($top)"), advanced=True,
                  defaultValue=1000, minValue=1, maxValue=100000),
            *(param("string", name, label, advanced=True, optional=True) for name, label in csv_labels.items()),
            param("file_out", self.ARCHIVE, self.tr("Archive GeoPackage (created if missing, rows are added)"),
                  fileFilter=self.tr("GeoPackage (*.gpkg *.GPKG)"), optional=True, createByDefault=False),
            *self._archive_parameters(),
            param("sink", self.OUTPUT_STATIONS, self.tr("Stations"), type=QgsProcessing.TypeVectorPoint),
            param("sink", self.OUTPUT_OBSERVATIONS, self.tr("Observations"), type=QgsProcessing.TypeVector),
        )
        self.addOutput(QgsProcessingOutputNumber(self.N_STATIONS, self.tr("Number of stations")))
        self.addOutput(QgsProcessingOutputNumber(self.N_OBSERVATIONS, self.tr("Number of observations")))
        self.addOutput(QgsProcessingOutputNumber(self.COMPLETE, self.tr("Complete (1) or cut short (0)")))
        self.addOutput(QgsProcessingOutputNumber(self.N_NEW, self.tr("New observations in the archive")))

    def _archive_parameters(self) -> list[Param]:
        """ARCHIVE_CONNECTION and ARCHIVE_SCHEMA: the archive in a PostgreSQL/PostGIS database instead of ARCHIVE."""
        return [
            param("connection", self.ARCHIVE_CONNECTION,
                  self.tr("Archive in PostgreSQL/PostGIS (a QGIS PostgreSQL connection; instead of a GeoPackage)"),
                  provider="postgres", optional=True),
            param("string", self.ARCHIVE_SCHEMA, self.tr("Schema of the PostgreSQL archive (created if missing)"),
                  defaultValue="sensors"),
        ]

    # -- parameters ---------------------------------------------------------------------------
    def _options(self, parameters: dict, context: QgsProcessingContext) -> ImportOptions:
        source = self.parameterAsString(parameters, self.SOURCE, context).strip()
        if not source:
            raise QgsProcessingException(self.tr("SOURCE is empty. Enter the URL or file of the feed."))
        scheme = source.split(":", 1)[0].lower() if "://" in source else ""
        if scheme not in ("", "file", "http", "https"):
            raise QgsProcessingException(
                self.tr("SOURCE must be an http(s) URL or a file, not '{}://'.").format(scheme)
            )
        start = utc_datetime(self.parameterAsDateTime(parameters, self.START, context))
        end = utc_datetime(self.parameterAsDateTime(parameters, self.END, context))
        if start and end and end < start:
            raise QgsProcessingException(self.tr("END is before START. Swap them or leave one empty."))
        extent = None
        if parameters.get(self.EXTENT) not in (None, ""):
            rectangle = self.parameterAsExtent(parameters, self.EXTENT, context, QgsCoordinateReferenceSystem(WGS84))
            if not rectangle.isNull() and not rectangle.isEmpty():
                extent = (rectangle.xMinimum(), rectangle.yMinimum(), rectangle.xMaximum(), rectangle.yMaximum())
        mapping = CsvMapping(**{
            attribute: (self.parameterAsString(parameters, name, context) or "").strip() or None
            for name, attribute in CSV_FIELDS.items()
        })
        return ImportOptions(
            format=self.parameterAsEnum(parameters, self.FORMAT, context),
            source=source,
            start=start,
            end=end,
            properties=parse_properties(self.parameterAsString(parameters, self.PROPERTY, context)),
            extent=extent,
            max_observations=self.parameterAsInt(parameters, self.MAX_OBSERVATIONS, context),
            page_size=self.parameterAsInt(parameters, self.PAGE_SIZE, context),
            retries=self.parameterAsInt(parameters, self.RETRIES, context),
            csv_mapping=mapping,
            limits=self._limits(parameters, context),
        )

    def _limits(self, parameters: dict, context: QgsProcessingContext) -> FetchLimits:
        """TIMEOUT, IMPORT_TIMEOUT and MAX_RESPONSE_MB; NaN or infinity (which would switch a limit off) refused."""
        values = {name: self.parameterAsDouble(parameters, name, context)
                  for name in (self.TIMEOUT, self.IMPORT_TIMEOUT, self.MAX_RESPONSE_MB)}
        for name, value in values.items():
            if not math.isfinite(value):
                raise QgsProcessingException(
                    self.tr("{} is {}, not a usable number: enter seconds for TIMEOUT and IMPORT_TIMEOUT (0 = no "
                            "deadline for the whole import) and megabytes for MAX_RESPONSE_MB.").format(name, value))
        return FetchLimits(timeout_s=values[self.TIMEOUT], import_timeout_s=values[self.IMPORT_TIMEOUT],
                           max_bytes=int(values[self.MAX_RESPONSE_MB] * MIB))

    # -- run ------------------------------------------------------------------------------------
    def processAlgorithm(  # noqa: N802, D102
        self, parameters: dict, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict[str, Any]:
        options = self._options(parameters, context)
        archive_path = self.parameterAsFileOutput(parameters, self.ARCHIVE, context) if parameters.get(
            self.ARCHIVE) else ""
        fetcher = QgisFetcher(
            options.source, self.parameterAsString(parameters, self.AUTHCFG, context), options.limits, feedback
        )
        writer, archive_label = self._open_archive(parameters, context, archive_path, feedback)
        output = _ObservationOutput(self, parameters, context, archive_path)
        # the archive is written in a worker thread while the next page is fetched and parsed
        archive_queue = BackgroundWriter(lambda item: writer.add_observations(*item)) if writer else None

        def collect(batch: list[Observation]) -> None:
            rows = observation_rows(batch)
            if archive_queue is not None:
                archive_queue.put((batch, rows))
            output.add(batch, rows)

        def undo() -> None:
            """Roll back what is not committed; the guard then removes the outputs this run created."""
            output.abandon()
            if writer is not None:
                archive_queue.abandon()
                writer.rollback()

        where = redact_url(options.source)
        feedback.pushInfo(self.tr("Reading {} from {}").format(FORMAT_NAMES[options.format], where))
        try:
            summary = stream_feed(
                options, fetcher, collect, lambda f: feedback.setProgress(100 * f), feedback.isCanceled
            )
            raise_if_cancelled(feedback)
            for warning in summary.warnings:
                feedback.pushWarning(warning)
            feedback.pushInfo(self.tr("{} answers, {} kB received").format(
                summary.requests, f"{summary.bytes_received / 1000:.1f}"))
            if writer is not None:  # before the outputs are closed: a failing archive leaves no output
                archive_queue.close()
                writer.upsert_stations(summary.stations, summary.first_times)
            self._observations_id = output.finish()  # first: the stations may go into the same GeoPackage
            self._write_stations(parameters, context, summary, feedback)
            n_new = 0
            if writer is not None:
                n_new = writer.commit().new_observations
                feedback.pushInfo(self.tr("{} new observations in the archive {}").format(n_new, archive_label))
        except PostgisArchiveError as error:
            undo()
            raise QgsProcessingException(self.tr("Cannot use the PostgreSQL archive: {}").format(error)) from None
        except FeedError as error:
            undo()
            raise_if_cancelled(feedback)
            raise QgsProcessingException(self.tr("Cannot import the feed: {}").format(error)) from None
        except sqlite3.Error as error:
            undo()
            raise self._archive_error(archive_path, error) from None
        except BaseException:
            undo()
            raise
        if not summary.stations and not output.count:
            feedback.pushWarning(self.tr("The feed contained no stations or observations (after the filters)."))
        results = {
            self.OUTPUT_STATIONS: self._stations_id,
            self.OUTPUT_OBSERVATIONS: self._observations_id,
            self.N_STATIONS: len(summary.stations),
            self.N_OBSERVATIONS: output.count,
            self.COMPLETE: 1 if summary.complete else 0,
            self.N_NEW: n_new,
        }
        if archive_path:
            results[self.ARCHIVE] = archive_path
        return results

    def _open_archive(self, parameters: dict, context: QgsProcessingContext, archive_path: str,
                      feedback: QgsProcessingFeedback) -> tuple[ArchiveStore | None, str]:
        """Open the GeoPackage ARCHIVE or the PostgreSQL ARCHIVE_CONNECTION (or none); return it and its name."""
        connection = self.parameterAsConnectionName(parameters, self.ARCHIVE_CONNECTION, context)
        if connection and archive_path:
            raise QgsProcessingException(
                self.tr("Choose one archive: ARCHIVE (a GeoPackage) or ARCHIVE_CONNECTION (PostgreSQL), not both."))
        if not archive_path and not connection:
            return None, ""
        if archive_path:
            check_writable(archive_path)
        try:
            if connection:
                schema = self.parameterAsString(parameters, self.ARCHIVE_SCHEMA, context)
                writer = PostgisArchiveWriter(archive_target(connection, schema or "sensors"))
            else:
                writer = ArchiveWriter(archive_path)
            writer.open()
        except FeedError as error:
            raise QgsProcessingException(self.tr("Cannot use the archive: {}").format(error)) from None
        if connection:
            for created in writer.created:
                feedback.pushInfo(self.tr("Created {} for the archive.").format(created))
        return writer, archive_path or writer.where

    def _archive_error(self, archive_path: str, error: sqlite3.Error) -> QgsProcessingException:
        """Return the message for a failed archive write (the archive is rolled back)."""
        if "locked" in str(error) or "busy" in str(error):
            return QgsProcessingException(
                self.tr("The archive {} is locked by another import or program, try again; it is unchanged.")
                .format(archive_path)
            )
        return QgsProcessingException(
            self.tr("Cannot write the archive {}: {}. It is unchanged; check the disk space and that no other "
                    "program is writing to it.").format(archive_path, error)
        )

    def _write_stations(self, parameters: dict, context: QgsProcessingContext, summary: ImportSummary,
                        feedback: QgsProcessingFeedback) -> None:
        sink, self._stations_id = self.create_sink(
            parameters, self.OUTPUT_STATIONS, context, station_fields(), QgsWkbTypes.Point,
            QgsCoordinateReferenceSystem(WGS84), feedback,
        )
        for station in summary.stations:
            feature = QgsFeature(station_fields())
            if station.lon is not None and station.lat is not None:
                feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(station.lon, station.lat)))
            feature.setAttributes([
                station.station_id, station.name,
                json.dumps(station.properties, ensure_ascii=False, separators=(",", ":"), default=str),
                utc_qdatetime(station.last_time), utc_qdatetime(summary.first_times.get(station.station_id)),
                summary.counts.get(station.station_id, 0), station.source,
            ])
            sink.addFeature(feature, QgsFeatureSink.FastInsert)
        self._temporal(context, self._stations_id, '"first_time"', '"last_time"')

    def observation_sink(self, parameters: dict, context: QgsProcessingContext) -> tuple[CheckedSink, str]:
        """Open OUTPUT_OBSERVATIONS (made temporal when it is loaded)."""
        sink, destination = self.create_sink(
            parameters, self.OUTPUT_OBSERVATIONS, context, observation_fields(), QgsWkbTypes.NoGeometry,
            QgsCoordinateReferenceSystem(),
        )
        self._temporal(context, destination, '"time"', 'coalesce("time_end", "time")')
        return sink, destination

    def _temporal(self, context: QgsProcessingContext, layer_id: str, start: str, end: str) -> None:
        if context.willLoadLayerOnCompletion(layer_id):  # QGIS deletes a post-processor with its context
            set_post_processor(context, layer_id, TemporalPostProcessor(start, end))


class _ObservationOutput:
    """OUTPUT_OBSERVATIONS written batch by batch while the feed streams in (never all in memory).

    The sink is opened with the first batch (a feed that fails at once leaves no output) through
    ``create_sink``, whose guard removes what the run created when the import fails later (a new
    file, or the one layer added to an existing GeoPackage). A new GeoPackage layer is created empty
    by the Processing sink (so its schema is QGIS's own) and then filled with sqlite3 in one
    transaction (``GpkgRows``), much faster than one QgsFeature per row; other formats go through the sink.
    """

    def __init__(self, algorithm: ImportSensorFeedAlgorithm, parameters: dict, context: QgsProcessingContext,
                 archive_path: str = "") -> None:
        self.algorithm, self.parameters, self.context = algorithm, parameters, context
        self.archive_path = archive_path
        self.sink: CheckedSink | None = None
        self.rows: GpkgRows | None = None  #: the GeoPackage path
        self.queue: BackgroundWriter | None = None  #: writes ``rows`` in a worker thread
        self.destination = ""
        self.count = 0
        self.fields = observation_fields()

    def open(self) -> None:
        """Create the output layer; switch to sqlite3 rows for a GeoPackage layer."""
        self.sink, self.destination = self.algorithm.observation_sink(self.parameters, self.context)
        path = self.destination.partition("|")[0]
        if not path.lower().endswith(".gpkg") or os.path.abspath(path) == os.path.abspath(self.archive_path or "-"):
            return
        self.sink.close()  # closes the empty layer: OGR creates its table only now
        self.sink = None
        table = gpkg_table(self.destination)
        self.rows = GpkgRows.open(path, table, list(ROW_COLUMNS)) if table else None
        if self.rows is not None:
            self.queue = BackgroundWriter(self.rows.add)
        else:  # not the table we expected: through a sink after all
            self.sink, self.destination = self.algorithm.observation_sink(self.parameters, self.context)

    def add(self, observations: list[Observation], rows: list[tuple]) -> None:
        """Write one batch (``rows``: its ``observation_rows``)."""
        if self.sink is None and self.rows is None:
            self.open()
        self.count += len(observations)
        if self.queue is not None:
            self.queue.put(rows)
            return
        feature, sink, fast = QgsFeature(self.fields), self.sink, QgsFeatureSink.FastInsert
        for o in observations:
            feature.setAttributes([
                o.station_id, o.stream_id, o.property, o.unit, utc_qdatetime(o.time),
                NULL if o.time_end is None else utc_qdatetime(o.time_end),
                NULL if o.value is None else float(o.value), o.raw, o.source, o.flag,
            ])
            sink.addFeature(feature, fast)

    def finish(self) -> str:
        """Close the output (an empty layer when there were no observations); return the destination."""
        if self.sink is None and self.rows is None:
            self.open()
        if self.rows is not None:
            self.queue.close()
            self.rows.commit()
            self.rows = self.queue = None
        if self.sink is not None:
            self.sink.close()  # flushes and closes a file output
            self.sink = None
        return self.destination

    def abandon(self) -> None:
        """Roll back rows not yet committed and close the output (the import failed; the guard removes it)."""
        if self.rows is not None:
            self.queue.abandon()
            self.rows.rollback()
            self.rows = self.queue = None
        if self.sink is not None:
            self.sink.close()
            self.sink = None


def gpkg_table(destination: str) -> str:
    """Return the table of a GeoPackage layer ``destination`` (``layername=`` or its only table), else ""."""
    path, _bar, options = destination.partition("|")
    for option in options.split("|"):
        if option.startswith("layername="):
            return option[len("layername="):]
    if not os.path.isfile(path):
        return ""
    try:
        with contextlib.closing(sqlite3.connect(path)) as connection:
            tables = [row[0] for row in connection.execute("SELECT table_name FROM gpkg_contents")]
    except sqlite3.Error:
        return ""
    return tables[0] if len(tables) == 1 else ""


class GpkgRows:
    """Observation rows appended to an empty GeoPackage attribute table with sqlite3, in one transaction."""

    def __init__(self, connection: sqlite3.Connection, table: str, columns: list[str]) -> None:
        self.connection, self.table = connection, table
        names = ", ".join('"{}"'.format(c.replace('"', '""')) for c in columns)
        self.insert = 'INSERT INTO "{}" ({}) VALUES ({})'.format(
            table.replace('"', '""'), names, ", ".join("?" * len(columns)))
        # OGR's per-row feature count trigger costs a third of the insert time: off while filling
        self.triggers = connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND lower(tbl_name) = lower(?) "
            "AND name LIKE 'trigger_insert_feature_count_%'", (table,)).fetchall()
        for name, _sql in self.triggers:
            connection.execute('DROP TRIGGER "{}"'.format(name.replace('"', '""')))

    @classmethod
    def open(cls, path: str, table: str, columns: list[str]) -> GpkgRows | None:
        """Begin the transaction; None when ``table`` is not the empty table with ``columns`` (then unchanged)."""
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)  # see BackgroundWriter
        quoted = table.replace('"', '""')
        try:
            present = [row[1] for row in connection.execute(f'PRAGMA table_info("{quoted}")')]
            if [c for c in present if c != "fid"] == columns:
                connection.execute("BEGIN IMMEDIATE")
                if not connection.execute(f'SELECT count(*) FROM "{quoted}"').fetchone()[0]:
                    return cls(connection, table, columns)
                connection.execute("ROLLBACK")
        except sqlite3.Error:
            with contextlib.suppress(sqlite3.Error):
                connection.execute("ROLLBACK")
        connection.close()
        return None

    def add(self, rows: list[tuple]) -> None:
        """Insert one batch of ``observation_rows`` (times as GeoPackage DATETIME text, NULL for missing)."""
        self.connection.executemany(self.insert, rows)

    def commit(self) -> None:
        """Store the feature count OGR keeps for the table, commit and close."""
        connection = self.connection
        for _name, sql in self.triggers:
            connection.execute(sql)
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "gpkg_ogr_contents" in tables:
            quoted = self.table.replace('"', '""')
            connection.execute(
                f'UPDATE gpkg_ogr_contents SET feature_count = (SELECT count(*) FROM "{quoted}") '
                "WHERE lower(table_name) = lower(?)", (self.table,))
        connection.execute("COMMIT")
        connection.close()

    def rollback(self) -> None:
        """Undo the rows and close."""
        with contextlib.suppress(sqlite3.Error):
            self.connection.execute("ROLLBACK")
        self.connection.close()
