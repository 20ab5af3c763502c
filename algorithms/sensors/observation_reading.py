"""Observation rows for the aggregation: one set of rules, three readers (QGIS features, GeoPackage, PostGIS).

QGIS 3.22 iterates about 40,000 GeoPackage features a second here and drops the UTC offset of
DateTime values (docs/platform.md). A plain GeoPackage table (no subset, no selection, no unsaved edits)
is therefore read with sqlite3 directly, ten times faster and with the times' own text. A table of
a PostgreSQL database (a PostGIS sensor archive) is read by the server: only the chosen properties
and the time window leave it (``core.sensors.postgis_archive.read_observations``). Every other
source goes through QGIS. All feed :class:`RowCollector`, so the rules are the same.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import closing
from typing import Any

from qgis.core import NULL, QgsFeature, QgsFields, QgsProcessingException, QgsProcessingFeedback, QgsVectorLayer
from qgis.PyQt.QtCore import QCoreApplication

from ...core.postgres import PostgresError, connect
from ...core.sensors.daily import FIRST_TIME, LAST_TIME
from ...core.sensors.postgis_archive import ObservationQuery, read_observations
from ..common import to_number
from ..postgis_connection import PostgisLayer, postgis_layer
from .observation_times import geopackage_table, offset_times, read_only

#: Field parameter of an observation table -> default field name.
OBSERVATION_FIELDS = {
    "STATION_ID_FIELD": "station_id",
    "TIME_FIELD": "time",
    "VALUE_FIELD": "value",
    "PROPERTY_FIELD": "property",
}
#: Observations with a non-empty value in this field (written by sensorqualitycontrol) are skipped.
QC_FLAG_FIELD = "qc_flag"


def tr(text: str) -> str:
    """Translate a message of this module."""
    return QCoreApplication.translate("observation_reading", text)


def station_key(value: Any) -> str | None:
    """Station id as text (``7`` and ``7.0`` and ``"7"`` match); None for NULL or empty."""
    if value is None or value == NULL:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def observation_fields(
    algorithm, parameters: dict[str, Any], context, fields: QgsFields, missing: str
) -> tuple[dict[str, str], dict[str, int]]:
    """Chosen name and index (-1: none) of each field of ``OBSERVATION_FIELDS`` in ``fields``.

    An empty PROPERTY_FIELD means none; a table without the default ``property`` field holds one
    property. Another field that is not in ``fields`` raises ``missing.format(name, parameter)``.
    """
    names: dict[str, str] = {}
    index: dict[str, int] = {}
    for key, default in OBSERVATION_FIELDS.items():
        chosen = algorithm.parameterAsFields(parameters, key, context)
        if chosen and chosen[0]:
            names[key] = chosen[0]
        else:
            names[key] = "" if key == "PROPERTY_FIELD" and key in parameters else default
        name = names[key]
        index[key] = fields.lookupField(name) if name else -1
        if index[key] < 0 and name and not (key == "PROPERTY_FIELD" and name == default):
            raise QgsProcessingException(missing.format(name, key))
    return names, index


class RowCollector:
    """Keeps ``(station_id, time, value)`` of usable observations and counts the others by reason.

    Reasons: ``value`` (no number), ``unusable``/``range``/``sentinel`` (from ``screen``), ``time`` (unreadable),
    ``calendar`` (a time at the edge of the years 1 to 9999, see ``daily.FIRST_TIME``), ``qc:<flag>`` (flagged
    by quality control).
    """

    def __init__(self, screen: Callable[[float | None], str], read_time: Callable[[Any], float | None], key) -> None:
        self.screen = screen
        self.read_time = read_time
        self.key = key
        self.rows: list[tuple[str, float, float]] = []
        self.skipped: Counter = Counter()
        self._keys: dict[Any, str | None] = {}
        self._times: dict[str, float | None] = {}  # texts repeat across stations
        self.offset_times = 0  # GeoPackage DateTime values whose offset was read from the text

    def add(self, station: Any, time: Any, value: Any, flag: Any = None, seconds: float | None = None) -> None:
        """Classify one observation; ``seconds`` overrides ``time`` when already known."""
        if type(value) is not float:  # fast path for real numbers; infinity and NaN are kept for the screen
            value = to_number(value)
        reason = self.screen(value)
        if flag is not None and flag != "" and flag != NULL:
            reason = f"qc:{flag}"
        if not reason:
            if seconds is None:
                seconds = self._time(time)
            reason = "time" if seconds is None else "" if FIRST_TIME <= seconds < LAST_TIME else "calendar"
        if reason:
            self.skipped[reason] += 1
            return
        if type(station) is str:
            key = self._keys.get(station)
            if key is None:
                key = self._keys[station] = self.key(station)
        else:
            key = self.key(station)
        if key is not None:
            self.rows.append((key, seconds, value))

    def _time(self, time: Any) -> float | None:
        """Seconds of a time value, texts remembered (up to 100,000 of them)."""
        if type(time) is not str:
            return self.read_time(time)
        seconds = self._times.get(time, math.inf)
        if seconds == math.inf:
            if len(self._times) > 100_000:
                self._times.clear()
            seconds = self._times[time] = self.read_time(time)
        return seconds


def plain_geopackage(layer: QgsVectorLayer | None, parameter_value: Any) -> tuple[str, str] | None:
    """(file, table) when the observations are a whole GeoPackage table as stored, else None."""
    if layer is None or not isinstance(parameter_value, (str, QgsVectorLayer)):
        return None  # a source definition may select features or limit them
    if layer.subsetString() or layer.isModified():
        return None
    return geopackage_table(layer)


def read_geopackage(
    located: tuple[str, str],
    columns: dict[str, str],
    wanted: str,
    collector: RowCollector,
    feedback: QgsProcessingFeedback,
    total: int,
) -> bool:
    """Feed the table's rows to ``collector``; ``columns`` maps station/time/value/property/flag to names.

    Returns False when cancelled.
    """
    path, table = located
    quote = _quote
    names = [columns["station"], columns["time"], columns["value"], columns.get("flag") or ""]
    select = ", ".join(quote(name) if name else "NULL" for name in names)
    query = f"SELECT {select} FROM {quote(table)}"
    arguments: tuple = ()
    if wanted and columns.get("property"):
        query += f" WHERE lower(trim({quote(columns['property'])})) = ?"
        arguments = (wanted.lower(),)
    with closing(read_only(path)) as connection:
        cursor = connection.execute(query, arguments)
        done = 0
        while True:
            batch = cursor.fetchmany(50000)
            if not batch:
                return True
            if feedback.isCanceled():
                return False
            for station, time, value, flag in batch:
                collector.add(station, time, value, flag)
            done += len(batch)
            feedback.setProgress(min(50.0, 50 * done / max(total, 1)))


def plain_postgis(layer: QgsVectorLayer | None, parameter_value: Any) -> PostgisLayer | None:
    """Return the PostgreSQL table of the observations (its subset kept), None for a selection or another source."""
    if not isinstance(parameter_value, (str, QgsVectorLayer)):
        return None  # a source definition may select features or limit them
    return postgis_layer(layer)


def matching_values(source, index: int, wanted: str) -> tuple[str, ...]:
    """Return the values of field ``index`` that are ``wanted`` once trimmed and lower-cased (empty: all)."""
    if not wanted or index < 0:
        return ()
    key = wanted.strip().lower()
    return tuple(sorted(str(v) for v in source.uniqueValues(index) if v != NULL and str(v).strip().lower() == key))


def read_postgis(
    located: PostgisLayer,
    columns: dict[str, str],
    properties: tuple[str, ...],
    window: tuple[float | None, float | None],
    collector: RowCollector,
    feedback: QgsProcessingFeedback,
) -> bool:
    """Feed the rows of ``properties`` in ``window`` (UTC epoch seconds) to ``collector``, read by the server.

    Returns False when cancelled. The reader behind it, ``core.sensors.postgis_archive.read_observations``,
    serves any algorithm that needs observations of a PostgreSQL table.
    """
    query = ObservationQuery(located.schema, located.table, columns, properties, *window, located.where)
    done = 0
    try:
        connection = connect(located.target, "social_resilience aggregation")
        try:
            for batch in read_observations(connection, query):
                if feedback.isCanceled():
                    return False
                for station, time, value, flag in batch:
                    collector.add(station, time, value, flag, time if type(time) is float else None)
                done += len(batch)
                feedback.setProgressText(tr("{} observations read").format(done))
        finally:
            connection.close()
    except PostgresError as error:
        raise QgsProcessingException(str(error)) from None
    except Exception as error:  # psycopg2.Error: the server refused the query
        cause = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise QgsProcessingException(tr("Cannot read the observations from {}.{} ({}): {}").format(
            located.schema, located.table, located.target.label, cause)) from None
    feedback.pushInfo(tr("{} observations read from the PostgreSQL table {}.{} (properties and window selected "
                         "by the server).").format(done, located.schema, located.table))
    return True


def read_features(
    features: Iterable[QgsFeature],
    total: int,
    index: dict[str, int],
    layer: QgsVectorLayer | None,
    time_field: str,
    collector: RowCollector,
    feedback: QgsProcessingFeedback,
) -> bool:
    """Feed ``features`` (``total`` of them) to ``collector`` (offset times from the GeoPackage text).

    Returns False when cancelled.
    """
    raw_times = offset_times(layer, time_field) if layer is not None else {}
    collector.offset_times = len(raw_times)
    station, time, value, flag = (index[k] for k in ("station", "time", "value", "flag"))
    total = max(total, 1)
    for n, feature in enumerate(features):
        if n % 5000 == 0:
            if feedback.isCanceled():
                return False
            feedback.setProgress(min(50.0, 50 * n / total))
        attributes = feature.attributes()
        seconds = raw_times.get(feature.id()) if raw_times else None
        collector.add(
            attributes[station], attributes[time], attributes[value], attributes[flag] if flag >= 0 else None, seconds
        )
    return True


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
