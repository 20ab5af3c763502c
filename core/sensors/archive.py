"""A GeoPackage archive of sensor feeds: ``stations`` (points, EPSG:4326) and ``observations``.

Written with the sqlite3 module (faster than OGR here, and OGR has no INSERT OR IGNORE).
Observations are keyed by (source, stream_id, time) and inserted with INSERT OR IGNORE,
stations are upserted by (source, station_id); everything of one run, schema creation
included, happens in ONE transaction, so a repeated run neither loses nor duplicates rows and
a failed or killed run leaves the archive as it was (SQLite rolls back the unfinished
transaction, rollback journal, no WAL).

The ``source`` of both keys is ``fetch.source_key`` (no credentials, lower-case scheme and host,
no default port). Archives written before are migrated when a run opens them, in the run's
transaction: their source values are rewritten, and where a key then exists twice (the same
feed imported with and without credentials) the row stored first is kept.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import FeedError
from .fetch import source_key
from .model import Observation, Station

GPKG_APPLICATION_ID = 0x47504B47  # "GPKG"
GPKG_USER_VERSION = 10200  # GeoPackage 1.2
STATIONS = "stations"
OBSERVATIONS = "observations"
STATION_COLUMNS = ("source", "station_id", "name", "properties", "first_time", "last_time")
OBSERVATION_COLUMNS = (
    "source", "station_id", "stream_id", "property", "unit", "time", "time_end", "value", "raw", "flag"
)
_WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],'
    'AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,'
    'AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]'
)
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES
  ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
  ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'),
  ('WGS 84 geodetic', 4326, 'EPSG', 4326, '{_WGS84_WKT}', 'longitude/latitude coordinates in decimal degrees');
CREATE TABLE IF NOT EXISTS gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE, description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL,
  z TINYINT NOT NULL, m TINYINT NOT NULL, CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
CREATE TABLE IF NOT EXISTS {STATIONS} (
  fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, geom POINT, source TEXT NOT NULL, station_id TEXT NOT NULL,
  name TEXT, properties TEXT, first_time DATETIME, last_time DATETIME);
CREATE UNIQUE INDEX IF NOT EXISTS {STATIONS}_key ON {STATIONS} (source, station_id);
CREATE TABLE IF NOT EXISTS {OBSERVATIONS} (
  fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, source TEXT NOT NULL, station_id TEXT, stream_id TEXT NOT NULL,
  property TEXT, unit TEXT, time DATETIME NOT NULL, time_end DATETIME, value DOUBLE, raw TEXT, flag TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS {OBSERVATIONS}_key ON {OBSERVATIONS} (source, stream_id, time);
INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, srs_id)
  VALUES ('{STATIONS}', 'features', '{STATIONS}', 'sensor stations', 4326),
         ('{OBSERVATIONS}', 'attributes', '{OBSERVATIONS}', 'sensor observations', NULL);
INSERT OR IGNORE INTO gpkg_geometry_columns VALUES ('{STATIONS}', 'geom', 'POINT', 4326, 0, 0);
"""
_INSERT_OBSERVATION = (
    f"INSERT OR IGNORE INTO {OBSERVATIONS} ({', '.join(OBSERVATION_COLUMNS)}) VALUES ({', '.join('?' * 10)})"
)
_UPSERT_STATION = f"""
INSERT INTO {STATIONS} (geom, {', '.join(STATION_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (source, station_id) DO UPDATE SET
  geom = coalesce(excluded.geom, geom), name = excluded.name, properties = excluded.properties,
  first_time = CASE WHEN first_time IS NULL OR excluded.first_time < first_time THEN excluded.first_time
                    ELSE first_time END,
  last_time = CASE WHEN last_time IS NULL OR excluded.last_time > last_time THEN excluded.last_time
                   ELSE last_time END
"""


@dataclass
class ArchiveCounts:
    """New rows of one committed run."""

    new_observations: int = 0
    new_stations: int = 0


def gpkg_point(lon: float | None, lat: float | None) -> bytes | None:
    """GeoPackage geometry blob (header ``GP``, little endian, EPSG:4326, no envelope) of a point."""
    if lon is None or lat is None:
        return None
    return b"GP\x00\x01" + struct.pack("<iBIdd", 4326, 1, 1, lon, lat)


def gpkg_time(moment: datetime | None) -> str | None:
    """GeoPackage DATETIME text ``YYYY-MM-DDTHH:MM:SS.SSSZ`` (UTC)."""
    if moment is None:
        return None
    if moment.utcoffset():
        moment = moment.astimezone(timezone.utc)
    return moment.isoformat(timespec="milliseconds")[:23] + "Z"


class ArchiveWriter:
    """One run's writes to an archive, in one transaction: use as a context manager.

    ``with ArchiveWriter(path) as writer: writer.add_observations(...); writer.upsert_stations(...)``
    commits on a normal exit and rolls back on an exception; ``counts`` then holds the new rows.
    A new archive that was never committed is removed again.
    """

    #: Seconds to wait for another run's transaction before giving up.
    LOCK_WAIT_S = 30.0

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.counts = ArchiveCounts()
        self._created = not self.path.exists()
        self._connection: sqlite3.Connection | None = None

    def __enter__(self) -> ArchiveWriter:
        self.open()
        return self

    def __exit__(self, error_type: Any, error: Any, traceback: Any) -> None:
        if error_type is None:
            self.commit()
        else:
            self.rollback()

    def open(self) -> None:
        """Open (or create) the archive and begin the transaction."""
        if self.path.exists() and self.path.is_dir():
            raise FeedError(f"the archive {self.path} is a folder; choose a .gpkg file")
        try:
            connection = sqlite3.connect(str(self.path), isolation_level=None, timeout=self.LOCK_WAIT_S)
            connection.execute("PRAGMA journal_mode=DELETE")
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                raise FeedError(f"the archive {self.path} is locked by another import, try again later") from None
            raise FeedError(f"cannot open the archive {self.path}: {error}; choose a GeoPackage file") from None
        except sqlite3.DatabaseError as error:
            raise FeedError(f"cannot open the archive {self.path}: {error}; choose a GeoPackage file") from None
        self._connection = connection
        try:
            self._prepare(connection)
        except (sqlite3.DatabaseError, FeedError) as error:
            self.rollback()
            if isinstance(error, FeedError):
                raise
            raise FeedError(f"{self.path} is not a usable GeoPackage ({error}); choose another archive file") from None

    def _prepare(self, connection: sqlite3.Connection) -> None:
        application_id = connection.execute("PRAGMA application_id").fetchone()[0]
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and application_id not in (GPKG_APPLICATION_ID, 0x47503130):  # GPKG or GP10
            raise FeedError(f"{self.path} is an SQLite database but not a GeoPackage; choose a .gpkg file")
        for table, columns in ((STATIONS, STATION_COLUMNS), (OBSERVATIONS, OBSERVATION_COLUMNS)):
            if table in tables:
                present = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
                missing = [c for c in columns if c not in present]
                if missing:
                    raise FeedError(
                        f"the table '{table}' in {self.path} is not a sensor archive table (no {', '.join(missing)});"
                        " choose another archive file"
                    )
        if not tables:
            connection.execute(f"PRAGMA application_id = {GPKG_APPLICATION_ID}")
            connection.execute(f"PRAGMA user_version = {GPKG_USER_VERSION}")
        self._schema(connection)
        migrate_sources(connection)

    @staticmethod
    def _schema(connection: sqlite3.Connection) -> None:
        for statement in _SCHEMA.split(";\n"):
            if statement.strip():
                connection.execute(statement)

    @property
    def connection(self) -> sqlite3.Connection:
        """The open connection (inside the transaction)."""
        if self._connection is None:
            raise FeedError("the archive is not open")
        return self._connection

    def add_observations(self, observations: Iterable[Observation]) -> None:
        """INSERT OR IGNORE the observations (existing keys stay as they are)."""
        connection = self.connection
        before = connection.total_changes
        connection.executemany(
            _INSERT_OBSERVATION,
            (
                (o.source, o.station_id, o.stream_id, o.property, o.unit, gpkg_time(o.time), gpkg_time(o.time_end),
                 o.value, o.raw, o.flag)
                for o in observations
            ),
        )
        self.counts.new_observations += connection.total_changes - before

    def upsert_stations(self, stations: Iterable[Station], first_times: dict[str, datetime] | None = None) -> None:
        """Insert new stations, update known ones (position, name, properties, time range)."""
        connection = self.connection
        stations = list(stations)
        before = connection.execute(f"SELECT count(*) FROM {STATIONS}").fetchone()[0]
        first_times = first_times or {}
        connection.executemany(
            _UPSERT_STATION,
            (
                (gpkg_point(s.lon, s.lat), s.source, s.station_id, s.name,
                 json.dumps(s.properties, ensure_ascii=False, separators=(",", ":"), default=str),
                 gpkg_time(first_times.get(s.station_id)), gpkg_time(s.last_time))
                for s in stations
            ),
        )
        after = connection.execute(f"SELECT count(*) FROM {STATIONS}").fetchone()[0]
        self.counts.new_stations += after - before
        self._update_extent(connection)

    def _update_extent(self, connection: sqlite3.Connection) -> None:
        xs, ys = [], []
        for (blob,) in connection.execute(f"SELECT geom FROM {STATIONS} WHERE geom IS NOT NULL"):
            if len(blob) >= 29 and blob[:2] == b"GP" and blob[3] == 1:
                x, y = struct.unpack_from("<dd", blob, 13)
                xs.append(x)
                ys.append(y)
        extent = (min(xs), min(ys), max(xs), max(ys)) if xs else (None, None, None, None)
        connection.execute(
            "UPDATE gpkg_contents SET min_x = ?, min_y = ?, max_x = ?, max_y = ?, "
            "last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name = ?",
            (*extent, STATIONS),
        )

    def commit(self) -> ArchiveCounts:
        """Commit the run and close the archive."""
        connection = self.connection
        connection.execute(
            "UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name = ?",
            (OBSERVATIONS,),
        )
        connection.execute("COMMIT")
        connection.close()
        self._connection = None
        return self.counts

    def rollback(self) -> None:
        """Undo the run; a new archive file is removed again."""
        if self._connection is not None:
            with contextlib.suppress(sqlite3.Error):
                self._connection.execute("ROLLBACK")
            self._connection.close()
            self._connection = None
        self.counts = ArchiveCounts()
        if self._created and self.path.exists():
            self.path.unlink()


def migrate_sources(connection: sqlite3.Connection) -> int:
    """Rewrite older source values to ``source_key``; rows whose key then exists twice keep the first.

    Returns the number of rows rewritten or merged.
    """
    changed = 0
    for table in (STATIONS, OBSERVATIONS):
        for (old,) in connection.execute(f"SELECT DISTINCT source FROM {table}").fetchall():
            new = source_key(old)
            if new == old:
                continue
            before = connection.total_changes
            connection.execute(f"UPDATE OR IGNORE {table} SET source = ? WHERE source = ?", (new, old))
            connection.execute(f"DELETE FROM {table} WHERE source = ?", (old,))  # already held under ``new``
            changed += connection.total_changes - before
    return changed


def archive_counts(path: str | Path) -> tuple[int, int]:
    """(stations, observations) rows in an archive."""
    connection = sqlite3.connect(str(path))  # read-write: a killed run's journal is rolled back
    try:
        stations = connection.execute(f"SELECT count(*) FROM {STATIONS}").fetchone()[0]
        observations = connection.execute(f"SELECT count(*) FROM {OBSERVATIONS}").fetchone()[0]
    finally:
        connection.close()
    return stations, observations
