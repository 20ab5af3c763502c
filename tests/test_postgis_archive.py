"""importsensorfeed into a PostgreSQL/PostGIS archive on a real server (tests/postgis_server.py).

What a city's data platform needs: the GeoPackage archive's tables in a schema, created on first
use, one transaction per batch, nothing duplicated by repeated or concurrent imports, and a clear
message (with nothing half-written) when the server is down, the password is wrong, the schema is
missing, the role is read-only or the connection drops in the middle of an import.
"""

from __future__ import annotations

import contextlib
import csv
import sqlite3
import struct
import subprocess
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import processing
import pytest
from qgis.core import QgsApplication, QgsProcessingException, QgsProcessingFeedback
from social_resilience.core.sensors import postgis_archive

from .postgis_server import ROLES, wait_until

ALG = "socialresilience:importsensorfeed"
ARCHIVE_COLUMNS = ("source", "station_id", "stream_id", "property", "unit", "time", "time_end", "value", "raw",
                   "flag")


class RecordingFeedback(QgsProcessingFeedback):
    """Feedback that keeps every message (to check that no credential is logged)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def pushInfo(self, info: str) -> None:  # noqa: N802
        self.lines.append(info)

    def pushWarning(self, warning: str) -> None:  # noqa: N802
        self.lines.append(warning)

    def reportError(self, error: str, fatalError: bool = False) -> None:  # noqa: N802, N803
        self.lines.append(error)

    def pushDebugInfo(self, info: str) -> None:  # noqa: N802
        self.lines.append(info)

    def pushCommandInfo(self, info: str) -> None:  # noqa: N802
        self.lines.append(info)

    def text(self) -> str:
        return "\n".join(self.lines)


@contextlib.contextmanager
def message_log():
    """Collect what goes to the QGIS message log meanwhile."""
    lines: list[str] = []

    def keep(message, *_args) -> None:
        lines.append(message)

    log = QgsApplication.messageLog()
    log.messageReceived.connect(keep)
    try:
        yield lines
    finally:
        log.messageReceived.disconnect(keep)


@pytest.fixture(scope="module")
def town(plugin, tmp_path_factory) -> Path:
    """The sample town (seed 42) with its observations as CSV (feed.csv: 22,848 rows)."""
    folder = tmp_path_factory.mktemp("pg_town")
    processing.run("socialresilience:createsampletown", {
        "SEED": 42, "SIZE_KM": 2.0, "OUTPUT": str(folder / "town.gpkg"), "OUTPUT_CSV": str(folder / "feed.csv")})
    return folder


def big_feed(path: Path, stations: int = 10, hours: int = 6000, start_hour: int = 0) -> Path:
    """A CSV feed of ``stations`` × ``hours`` hourly NO2 values (station by station, in time order)."""
    begin = datetime(2024, 1, 1, tzinfo=timezone.utc)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["station_id", "lon", "lat", "property", "unit", "time", "value"])
        for s in range(stations):
            for h in range(start_hour, start_hour + hours):
                moment = (begin + timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%SZ")
                writer.writerow([f"S{s:02d}", 9.4 + s / 100, 51.3, "no2", "µg/m³", moment, (s * 7 + h) % 97 / 2])
    return path


def import_into(pg_connection: str, schema: str, source: Path, feedback=None, **extra) -> dict:
    parameters = {"FORMAT": 5, "SOURCE": str(source), "ARCHIVE_CONNECTION": pg_connection, "ARCHIVE_SCHEMA": schema,
                  "OUTPUT_STATIONS": "memory:", "OUTPUT_OBSERVATIONS": "memory:", **extra}
    return processing.run(ALG, parameters, feedback=feedback)


def archive_rows(pg, schema: str) -> list[tuple]:
    """Observation rows of a PostgreSQL archive as GeoPackage text (times in UTC, millisecond text)."""
    columns = ", ".join(
        f"to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')" if c in ("time", "time_end") else c
        for c in ARCHIVE_COLUMNS)
    return sorted(pg.query(f"SELECT {columns} FROM {schema}.observations"), key=repr)


def count(pg, schema: str, table: str = "observations") -> int:
    return pg.query(f"SELECT count(*) FROM {schema}.{table}")[0][0]


# -- the archive ----------------------------------------------------------------------------------


def test_first_import_creates_the_archive_and_a_repeat_adds_nothing(pg, town, tmp_path):
    schema = f"sensors_{tmp_path.name[-6:].lower().replace('-', '_')}"
    feedback = RecordingFeedback()
    with message_log() as logged:
        first = import_into("city", schema, town / "feed.csv", feedback)
    assert first["N_NEW"] == first["N_OBSERVATIONS"] == 22848
    assert f"Created schema {schema} for the archive." in feedback.text()
    assert count(pg, schema) == 22848 and count(pg, schema, "stations") == 8
    second = import_into("city", schema, town / "feed.csv")
    assert second["N_NEW"] == 0 and second["N_OBSERVATIONS"] == 22848
    assert count(pg, schema) == 22848
    # the key, the spatial index and the geometry type of the GeoPackage archive
    indexes = dict(pg.query("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s", (schema,)))
    assert "UNIQUE" in indexes["observations_key"] and "(source, stream_id, \"time\")" in indexes["observations_key"]
    assert "USING gist (geom)" in indexes["stations_geom_idx"]
    assert pg.query("SELECT type, srid FROM geometry_columns WHERE f_table_schema = %s", (schema,)) == [("POINT", 4326)]
    # the credentials of the connection's auth configuration appear in no message and no log
    for text in (feedback.text(), "\n".join(logged)):
        assert ROLES["officer"] not in text


def test_postgis_archive_holds_what_the_geopackage_archive_holds(pg, town, tmp_path):
    schema = pg.new_schema("same")
    gpkg = tmp_path / "archive.gpkg"
    processing.run(ALG, {"FORMAT": 5, "SOURCE": str(town / "feed.csv"), "ARCHIVE": str(gpkg),
                         "OUTPUT_STATIONS": "memory:", "OUTPUT_OBSERVATIONS": "memory:"})
    import_into("city", schema, town / "feed.csv")
    with contextlib.closing(sqlite3.connect(gpkg)) as connection:
        expected = sorted(connection.execute(f"SELECT {', '.join(ARCHIVE_COLUMNS)} FROM observations"), key=repr)
        stations = [
            (*row[:-1], *struct.unpack_from("<dd", row[-1], 13))  # GeoPackage header, WKB point header, x, y
            for row in connection.execute(
                "SELECT source, station_id, name, properties, first_time, last_time, geom FROM stations "
                "ORDER BY source, station_id")
        ]
    assert archive_rows(pg, schema) == expected
    as_text = "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'"
    got = pg.query(
        f"SELECT source, station_id, name, properties, to_char(first_time AT TIME ZONE 'UTC', {as_text}), "
        f"to_char(last_time AT TIME ZONE 'UTC', {as_text}), ST_X(geom), ST_Y(geom) FROM {schema}.stations "
        "ORDER BY source, station_id")
    assert got == stations
