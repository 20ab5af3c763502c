"""A sensor archive in PostgreSQL/PostGIS: the GeoPackage archive's tables in a schema of a shared database.

Tables ``<schema>.stations`` (points in EPSG:4326 with a GiST index) and ``<schema>.observations``
have the columns and unique keys of the GeoPackage archive (``archive.py``): stations by
(source, station_id), observations by (source, stream_id, time), ``source`` being the normalised
``fetch.source_key``. They are created on first use; a missing schema is created too when the
role may (else a clear error names the statement a database administrator runs).

Observations go in with ``INSERT ... ON CONFLICT DO NOTHING`` on the key, ONE TRANSACTION PER BATCH
of ``BATCH_ROWS``: several imports at once, on several machines, neither duplicate nor lose a row,
and an import that dies (killed, connection lost) leaves the archive as it was after its last
committed batch. The next run continues: keys already stored are skipped. Rows of a batch are
inserted in key order, so two imports that overlap take their row locks in the same order
(no deadlock); a deadlock or serialisation failure all the same is retried.

The driver is psycopg2 (Debian: python3-psycopg2, which python3-qgis depends on), imported when a
connection is opened. The caller passes a libpq connection string (the QGIS side resolves the
user's connection and its credentials) and a label for messages; messages never hold the string.
"""

from __future__ import annotations

import contextlib
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .archive import OBSERVATIONS, ROW_COLUMNS, STATION_COLUMNS, STATIONS, ArchiveCounts, gpkg_time, observation_rows
from .errors import FeedError
from .model import Observation, Station

#: Observations per transaction.
BATCH_ROWS = 20_000
CONNECT_TIMEOUT_S = 15
APPLICATION_NAME = "social_resilience sensor archive"
#: Attempts of one batch that meets a deadlock or a serialisation failure.
ATTEMPTS = 4
_RETRY_CODES = {"40P01", "40001"}  # deadlock_detected, serialization_failure
_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_SPECIAL = re.compile(r"[\\\t\n\r]")
_IDENTIFIER = re.compile(r"^[^\x00]{1,63}$")


class PostgisArchiveError(FeedError):
    """The PostgreSQL archive could not be used; the message says why and what to do."""


@dataclass(frozen=True)
class PostgisTarget:
    """Where the archive lives: a libpq connection string (with credentials), a schema, a label for messages."""

    dsn: str
    schema: str = "sensors"
    label: str = ""

    def __bool__(self) -> bool:
        return bool(self.dsn)


def quote_identifier(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def connect(target: PostgisTarget, application_name: str = APPLICATION_NAME):
    """Open a psycopg2 connection (not autocommit); a clear PostgisArchiveError when that fails."""
    try:
        import psycopg2
    except ImportError:
        raise PostgisArchiveError(
            "the PostgreSQL archive needs the Python package psycopg2 (Debian: python3-psycopg2; it comes with "
            "QGIS on Windows and macOS)") from None
    try:
        return psycopg2.connect(target.dsn, connect_timeout=CONNECT_TIMEOUT_S, application_name=application_name,
                                client_encoding="UTF8")
    except psycopg2.Error as error:
        raise PostgisArchiveError(connection_message(error, target.label)) from None


def connection_message(error: Exception, label: str) -> str:
    """What a failed connection means, in words; never the connection string."""
    text = _first_line(error)
    lower = text.lower()
    where = f"the database of connection '{label}'" if label else "the archive database"
    if "password authentication failed" in lower or "no password supplied" in lower:
        return (f"{where} refused the login ({text}); check the user name and password of the connection's "
                "authentication configuration or pg service")
    if "could not connect" in lower or "connection refused" in lower or "timeout expired" in lower \
            or "could not translate host name" in lower:
        return (f"cannot reach {where} ({text}); check that the server runs and that the connection's host and "
                "port are right")
    return f"cannot connect to {where}: {text}"


def _first_line(error: Exception) -> str:
    text = str(getattr(error, "pgerror", None) or error).strip()
    text = text.split("\n")[0].strip()
    return re.sub(r"^(FATAL|ERROR):\s+", "", text) or type(error).__name__


def _error_code(error: Exception) -> str:
    return getattr(error, "pgcode", None) or ""


def _tables_sql(schema: str) -> list[str]:
    """CREATE statements of the archive (the GeoPackage archive's columns, keys, a spatial index)."""
    s = quote_identifier(schema)
    return [
        f"""CREATE TABLE IF NOT EXISTS {s}.{STATIONS} (
          fid bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, geom geometry(Point, 4326),
          source text NOT NULL, station_id text NOT NULL, name text, properties text,
          first_time timestamptz, last_time timestamptz,
          CONSTRAINT {STATIONS}_key UNIQUE (source, station_id))""",
        f"CREATE INDEX IF NOT EXISTS {STATIONS}_geom_idx ON {s}.{STATIONS} USING gist (geom)",
        f"""CREATE TABLE IF NOT EXISTS {s}.{OBSERVATIONS} (
          fid bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, source text NOT NULL, station_id text,
          stream_id text NOT NULL, property text, unit text, time timestamptz NOT NULL, time_end timestamptz,
          value double precision, raw text, flag text,
          CONSTRAINT {OBSERVATIONS}_key UNIQUE (source, stream_id, time))""",
        f"CREATE INDEX IF NOT EXISTS {OBSERVATIONS}_property_time_idx ON {s}.{OBSERVATIONS} (property, time)",
    ]


def copy_text(rows: Iterable[tuple]) -> str:
    """Rows as the text format of COPY: tab-separated, ``\\N`` for NULL, backslash escapes."""
    special, escape = _SPECIAL.search, _ESCAPE
    return "".join([
        "\t".join([
            "\\N" if v is None else ((v.translate(escape) if special(v) else v) if type(v) is str else repr(v))
            for v in row
        ]) + "\n"
        for row in rows
    ])


class PostgisArchiveWriter:
    """One run's writes to a PostgreSQL archive (``ArchiveStore``): a transaction per batch.

    ``open`` connects and creates schema and tables if needed; ``add_observations`` collects rows
    and writes each full batch in its own transaction; ``commit`` writes the rest and the stations;
    ``rollback`` drops the batch not yet committed. ``counts`` holds the committed new rows.
    """

    def __init__(self, target: PostgisTarget, batch_rows: int | None = None,
                 connector: Callable[[PostgisTarget], Any] = connect) -> None:
        if not _IDENTIFIER.match(target.schema or ""):
            raise PostgisArchiveError("ARCHIVE_SCHEMA is empty or longer than 63 characters; enter a schema name")
        self.target = target
        self.batch_rows = batch_rows or BATCH_ROWS
        self.counts = ArchiveCounts()
        self.created: list[str] = []  #: what ``open`` created (schema, tables), for the log
        self._connector = connector
        self._connection = None
        self._pending: list[tuple] = []
        self._schema = quote_identifier(target.schema)

    @property
    def where(self) -> str:
        """``schema`` of connection ``label``, for messages."""
        return f"schema '{self.target.schema}' of connection '{self.target.label}'"

    # -- opening ---------------------------------------------------------------------------------
    def open(self) -> None:
        """Connect, create what is missing (one transaction), check the role may write."""
        connection = self._connector(self.target)
        self._connection = connection
        try:
            with connection.cursor() as cursor:
                self._prepare(cursor)
            connection.commit()
            with connection.cursor() as cursor:
                cursor.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS srt_observation_batch (station_id text, stream_id text, "
                    "property text, unit text, time timestamptz, time_end timestamptz, value double precision, "
                    "raw text, source text, flag text) ON COMMIT DELETE ROWS")
            connection.commit()
        except Exception as error:
            self._close()
            raise self._error(error, "prepare") from None

    def _prepare(self, cursor) -> None:
        schema = self.target.schema
        cursor.execute("SELECT current_user, (SELECT oid FROM pg_namespace WHERE nspname = %s) IS NOT NULL",
                       (schema,))
        self._role, schema_exists = cursor.fetchone()
        cursor.execute("SELECT to_regtype('geometry') IS NOT NULL")
        if not cursor.fetchone()[0]:
            raise PostgisArchiveError(
                f"the database of connection '{self.target.label}' has no PostGIS; ask its administrator to run "
                "CREATE EXTENSION postgis")
        if schema_exists:
            cursor.execute("SELECT has_schema_privilege(%s, 'USAGE')", (schema,))
            if not cursor.fetchone()[0]:
                raise PostgisArchiveError(
                    f"the role '{self._role}' may not use {self.where}; ask the database administrator to run: "
                    f"GRANT USAGE ON SCHEMA {self._schema} TO {quote_identifier(self._role)}")
        present = self._columns(cursor) if schema_exists else {}
        if not schema_exists or set(present) != {STATIONS, OBSERVATIONS}:
            try:
                self._create(cursor, schema_exists)
            except Exception as error:
                if _error_code(error) == "42501":
                    raise PostgisArchiveError(self._create_refused(_first_line(error))) from None
                raise
            present = self._columns(cursor)
        for table, columns in ((STATIONS, STATION_COLUMNS), (OBSERVATIONS, ROW_COLUMNS)):
            missing = [c for c in columns if c not in present.get(table, set())]
            if missing:
                raise PostgisArchiveError(
                    f"the table {schema}.{table} of connection '{self.target.label}' is not a sensor archive table "
                    f"(no {', '.join(missing)}); choose another ARCHIVE_SCHEMA")
        self._check_privileges(cursor)

    def _columns(self, cursor) -> dict[str, set[str]]:
        cursor.execute(
            "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname IN (%s, %s) "
            "AND a.attnum > 0 AND NOT a.attisdropped", (self.target.schema, STATIONS, OBSERVATIONS))
        found: dict[str, set[str]] = {}
        for table, column in cursor.fetchall():
            found.setdefault(table, set()).add(column)
        return found

    def _create(self, cursor, schema_exists: bool) -> None:
        """Create the schema and tables, one creator at a time (imports may start together)."""
        key = zlib.crc32(f"social_resilience archive {self.target.schema}".encode())
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
        if not schema_exists:
            cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {self._schema}")
            self.created.append(f"schema {self.target.schema}")
        before = set(self._columns(cursor))
        for statement in _tables_sql(self.target.schema):
            cursor.execute(statement)
        self.created += [f"table {self.target.schema}.{t}" for t in (STATIONS, OBSERVATIONS) if t not in before]

    def _check_privileges(self, cursor) -> None:
        schema = self.target.schema
        names = {t: f"{quote_identifier(schema)}.{t}" for t in (STATIONS, OBSERVATIONS)}
        cursor.execute(
            "SELECT has_table_privilege(%(o)s, 'INSERT') AND has_table_privilege(%(o)s, 'SELECT') "
            "AND has_table_privilege(%(s)s, 'INSERT') AND has_table_privilege(%(s)s, 'UPDATE') "
            "AND has_table_privilege(%(s)s, 'SELECT')", {"o": names[OBSERVATIONS], "s": names[STATIONS]})
        if not cursor.fetchone()[0]:
            raise PostgisArchiveError(
                f"the role '{self._role}' may not write the archive in {self.where} (read-only); use a connection "
                "whose role may write, or ask the database administrator to run: GRANT SELECT, INSERT, UPDATE ON "
                f"{names[STATIONS]}, {names[OBSERVATIONS]} TO {quote_identifier(self._role)}")

    # -- writing ---------------------------------------------------------------------------------
    @property
    def connection(self):
        if self._connection is None:
            raise PostgisArchiveError("the archive is not open")
        return self._connection

    def add_observations(self, observations: Iterable[Observation], rows: list[tuple] | None = None) -> None:
        """Collect the observations; every full batch is written and committed."""
        self._pending.extend(observation_rows(observations) if rows is None else rows)
        while len(self._pending) >= self.batch_rows:
            batch, self._pending = self._pending[:self.batch_rows], self._pending[self.batch_rows:]
            self._write_batch(batch)

    def _write_batch(self, rows: list[tuple]) -> None:
        """COPY the batch into a temporary table, then INSERT ... ON CONFLICT DO NOTHING in key order; commit."""
        if not rows:
            return
        text = copy_text(rows)
        columns = ", ".join(ROW_COLUMNS)
        insert = (f"INSERT INTO {self._schema}.{OBSERVATIONS} ({columns}) SELECT {columns} FROM srt_observation_batch "
                  "ORDER BY source, stream_id, time ON CONFLICT (source, stream_id, time) DO NOTHING")
        connection = self.connection
        for attempt in range(ATTEMPTS):
            try:
                with connection.cursor() as cursor:
                    cursor.copy_expert(f"COPY srt_observation_batch ({columns}) FROM STDIN", _Reader(text))
                    cursor.execute(insert)
                    added = cursor.rowcount
                connection.commit()
            except Exception as error:
                self._abort()
                if _error_code(error) in _RETRY_CODES and attempt + 1 < ATTEMPTS:
                    continue
                raise self._error(error, "write") from None
            self.counts.new_observations += max(added, 0)
            return

    def upsert_stations(self, stations: Iterable[Station], first_times: dict[str, datetime] | None = None) -> None:
        """Write the pending observations, then insert new stations and update known ones (one transaction)."""
        self._flush()
        first_times = first_times or {}
        stations = list({(s.source, s.station_id): s for s in stations}.values())  # one row per key
        values = [
            (s.lon, s.lat, s.source, s.station_id, s.name,
             json.dumps(s.properties, ensure_ascii=False, separators=(",", ":"), default=str),
             gpkg_time(first_times.get(s.station_id)), gpkg_time(s.last_time))
            for s in stations
        ]
        if not values:
            return
        table = f"{self._schema}.{STATIONS}"
        statement = (
            f"INSERT INTO {table} AS old (geom, {', '.join(STATION_COLUMNS)}) "
            "SELECT ST_SetSRID(ST_MakePoint(lon, lat), 4326), source, station_id, name, properties, "
            "first_time::timestamptz, last_time::timestamptz FROM (VALUES %s) AS new "
            "(lon, lat, source, station_id, name, properties, first_time, last_time) ORDER BY source, station_id "
            "ON CONFLICT (source, station_id) DO UPDATE SET geom = coalesce(excluded.geom, old.geom), "
            "name = excluded.name, properties = excluded.properties, "
            "first_time = least(old.first_time, excluded.first_time), "
            "last_time = greatest(old.last_time, excluded.last_time) RETURNING (xmax = 0)")
        from psycopg2.extras import execute_values

        connection = self.connection
        for attempt in range(ATTEMPTS):
            try:
                with connection.cursor() as cursor:
                    template = "(%s::float8, %s::float8, %s, %s, %s, %s, %s, %s)"
                    inserted = execute_values(cursor, statement, values, template=template, page_size=len(values),
                                              fetch=True)
                connection.commit()
            except Exception as error:
                self._abort()
                if _error_code(error) in _RETRY_CODES and attempt + 1 < ATTEMPTS:
                    continue
                raise self._error(error, "write") from None
            self.counts.new_stations += sum(1 for (new,) in inserted if new)
            return

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        self._write_batch(batch)

    def commit(self) -> ArchiveCounts:
        """Write the last batch, close; return the new rows of the run."""
        self._flush()
        self._close()
        return self.counts

    def rollback(self) -> None:
        """Drop the rows not committed yet and close (committed batches stay)."""
        self._pending = []
        self._abort()
        self._close()

    def _abort(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.rollback()

    def _close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None

    # -- messages --------------------------------------------------------------------------------
    def _error(self, error: Exception, stage: str) -> PostgisArchiveError:
        """A clear message for a database error while preparing or writing."""
        if isinstance(error, PostgisArchiveError):
            return error
        code, text = _error_code(error), _first_line(error)
        kept = (f"; {self.counts.new_observations} new observations of the batches committed before are in the "
                "archive, the batch being written was undone. Run the import again to add the rest: observations "
                "already in the archive are skipped") if stage == "write" else "; nothing was written"
        if code == "42501":
            return PostgisArchiveError(f"the role may not write the archive in {self.where} ({text}){kept}")
        if code == "25006":
            return PostgisArchiveError(
                f"the database of connection '{self.target.label}' accepts no writes ({text}: a read-only role or a "
                f"standby server); use a connection to the primary server with a role that may write{kept}")
        if _connection_lost(error):
            return PostgisArchiveError(f"the connection to the archive in {self.where} was lost ({text}){kept}")
        return PostgisArchiveError(f"cannot write the archive in {self.where}: {text}{kept}")

    def _create_refused(self, text: str) -> str:
        schema = quote_identifier(self.target.schema)
        role = quote_identifier(getattr(self, "_role", "") or "the_role")
        return (f"the archive tables do not exist yet in {self.where} and the role may not create them ({text}). "
                f"Ask the database administrator to run: CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {role}; "
                "or choose a schema where the role may create tables; nothing was written")


def _connection_lost(error: Exception) -> bool:
    """Whether ``error`` means the connection is gone (server ended it, network down)."""
    try:
        import psycopg2
    except ImportError:  # pragma: no cover - connect() raised already
        return False
    if isinstance(error, psycopg2.InterfaceError):
        return True
    if isinstance(error, psycopg2.OperationalError):
        return _error_code(error) in ("", "57P01", "57P02", "57P03") or "terminat" in str(error).lower()
    return False


class _Reader:
    """A file-like object over a text for ``copy_expert`` (no copy into a StringIO)."""

    def __init__(self, text: str) -> None:
        self._data = text.encode("utf-8")
        self._position = 0

    def read(self, size: int = -1) -> bytes:
        start = self._position
        end = len(self._data) if size is None or size < 0 else min(len(self._data), start + size)
        self._position = end
        return self._data[start:end]

    def readline(self, size: int = -1) -> bytes:  # pragma: no cover - COPY reads in blocks
        return self.read(size)


# -- reading back ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObservationQuery:
    """Which observations of a PostgreSQL table to read: columns, properties and a window, pushed down as SQL.

    ``columns`` maps ``station``, ``time``, ``value`` and optional ``property`` and ``flag`` to
    column names; ``properties`` (exact values, empty = all); ``start`` inclusive and ``end``
    exclusive as UTC epoch seconds (None = open); ``where`` an extra SQL condition (a QGIS layer's
    subset string). A time column without a time zone holds UTC.
    """

    schema: str
    table: str
    columns: dict[str, str]
    properties: tuple[str, ...] = ()
    start: float | None = None
    end: float | None = None
    where: str = ""


def _time_type(cursor, query: ObservationQuery) -> str:
    """The type of the time column: ``timestamptz``, ``timestamp``, ``date`` or another (then not pushed)."""
    cursor.execute(
        "SELECT format_type(a.atttypid, NULL) FROM pg_attribute a WHERE a.attrelid = to_regclass(%s) "
        "AND a.attname = %s AND NOT a.attisdropped",
        (f"{quote_identifier(query.schema)}.{quote_identifier(query.table)}", query.columns["time"]))
    row = cursor.fetchone()
    kind = row[0] if row else ""
    return {"timestamp with time zone": "timestamptz", "timestamp without time zone": "timestamp",
            "date": "date"}.get(kind, kind)


def observation_sql(query: ObservationQuery, time_type: str) -> tuple[str, list[Any]]:
    """The SELECT of ``query``: (station, time, value, flag); time as epoch seconds when it is a time type."""
    q, columns = quote_identifier, query.columns
    time = q(columns["time"])
    moment = {"timestamptz": time, "timestamp": time, "date": f"{time}::timestamp"}.get(time_type)
    bound = "to_timestamp(%s)" if time_type == "timestamptz" else "(to_timestamp(%s) AT TIME ZONE 'UTC')"
    select_time = f"extract(epoch from {moment})::float8" if moment else f"{time}::text"
    flag = q(columns["flag"]) if columns.get("flag") else "NULL"
    sql = (f"SELECT {q(columns['station'])}, {select_time}, {q(columns['value'])}, {flag} "
           f"FROM {q(query.schema)}.{q(query.table)}")
    conditions, arguments = [], []
    if query.properties and columns.get("property"):
        conditions.append(f"{q(columns['property'])} = ANY(%s)")
        arguments.append(list(query.properties))
    for limit, operator in ((query.start, ">="), (query.end, "<")):
        if limit is not None and moment:
            conditions.append(f"{moment} {operator} {bound}")
            arguments.append(limit)
    if query.where.strip():
        conditions.append(f"({query.where})")
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    return sql, arguments


def read_observations(connection, query: ObservationQuery, batch_rows: int = 50_000) -> Iterator[list[tuple]]:
    """Yield batches of ``(station, time, value, flag)`` of ``query``, read by a server-side cursor.

    ``time`` is UTC epoch seconds (float) when the column is a time type, else its text. Only the
    rows of the properties and the window leave the server, ``batch_rows`` at a time.
    """
    with connection.cursor() as cursor:
        time_type = _time_type(cursor, query)
    sql, arguments = observation_sql(query, time_type)
    with connection.cursor(name="srt_read_observations") as cursor:
        cursor.itersize = batch_rows
        cursor.execute(sql, arguments)
        while True:
            batch = cursor.fetchmany(batch_rows)
            if not batch:
                return
            yield batch
