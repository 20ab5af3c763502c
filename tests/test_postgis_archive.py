"""importsensorfeed into a PostgreSQL/PostGIS archive on a real server (tests/postgis_server.py).

What a city's data platform needs: the GeoPackage archive's tables in a schema, created on first
use, one transaction per batch, nothing duplicated by repeated or concurrent imports, and a clear
message (with nothing half-written) when the server is down, the password is wrong, the schema is
missing, the role is read-only or the connection drops in the middle of an import.
"""

from __future__ import annotations

import contextlib
import csv
import json
import sqlite3
import struct
import subprocess
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import processing
import pytest
from qgis.core import QgsApplication, QgsProcessingException
from social_resilience.core import postgres
from social_resilience.core.sensors import postgis_archive

from .postgis_server import ROLES, wait_until
from .recording_feedback import RecordingFeedback

ALG = "socialresilience:importsensorfeed"
ARCHIVE_COLUMNS = ("source", "station_id", "stream_id", "property", "unit", "time", "time_end", "value", "raw",
                   "flag")


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
    assert count(pg, schema) == 22848
    assert count(pg, schema, "stations") == 8
    second = import_into("city", schema, town / "feed.csv")
    assert second["N_NEW"] == 0
    assert second["N_OBSERVATIONS"] == 22848
    assert count(pg, schema) == 22848
    # the key, the spatial index and the geometry type of the GeoPackage archive
    indexes = dict(pg.query("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s", (schema,)))
    assert "UNIQUE" in indexes["observations_key"]
    assert "(source, stream_id, \"time\")" in indexes["observations_key"]
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


# -- failure cases: a clear message, nothing half-written, the next run continues -------------------


def outputs(tmp_path: Path) -> dict:
    return {"OUTPUT_STATIONS": str(tmp_path / "stations.gpkg"), "OUTPUT_OBSERVATIONS": str(tmp_path / "obs.gpkg")}


def failing_import(connection: str, schema: str, source: Path, tmp_path: Path, **extra) -> str:
    """Run an import that must fail; return its message after checking that it wrote no output file."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    with pytest.raises(QgsProcessingException) as caught:
        import_into(connection, schema, source, **outputs(tmp_path), **extra)
    assert not list(tmp_path.glob("*.gpkg")), "a failed import left an output file"
    return str(caught.value)


def test_server_down_is_a_clear_message(pg, town, tmp_path):
    message = failing_import("city_down", "sensors", town / "feed.csv", tmp_path)
    assert "Cannot use the archive: cannot reach the database of connection 'city_down'" in message
    assert "check that the server runs and that the connection's host and port are right" in message


def test_wrong_password_is_a_clear_message_without_the_password(pg, town, tmp_path):
    feedback = RecordingFeedback()
    with pytest.raises(QgsProcessingException) as caught:
        import_into("city_wrong_password", "sensors", town / "feed.csv", feedback, **outputs(tmp_path))
    message = str(caught.value)
    assert "the database of connection 'city_wrong_password' refused the login" in message
    assert 'password authentication failed for user "officer"' in message
    assert "check the user name and password of the connection's authentication configuration" in message
    assert "not-the-password" not in message + feedback.text()
    assert not list(tmp_path.glob("*.gpkg"))


def test_missing_schema_is_created_when_the_role_may(pg, town):
    schema = "new_" + datetime.now().strftime("%H%M%S%f")
    assert not pg.query("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
    assert import_into("city", schema, town / "feed.csv")["N_NEW"] == 22848
    assert pg.query("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = %s", (schema,)) == [("officer",)]


def test_missing_schema_is_refused_when_the_role_may_not_create_it(pg, town, tmp_path):
    schema = "missing_" + datetime.now().strftime("%H%M%S%f")
    message = failing_import("city_clerk", schema, town / "feed.csv", tmp_path)
    assert f"the archive tables do not exist yet in schema '{schema}' of connection 'city_clerk'" in message
    assert f'CREATE SCHEMA IF NOT EXISTS "{schema}" AUTHORIZATION "clerk"' in message
    assert not pg.query("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
    # once the administrator made it, the clerk's import creates the tables there
    pg.query(f'CREATE SCHEMA IF NOT EXISTS "{schema}" AUTHORIZATION "clerk"')
    assert import_into("city_clerk", schema, town / "feed.csv")["N_NEW"] == 22848


def test_read_only_role_is_refused_before_anything_is_fetched(pg, town, tmp_path):
    schema = pg.new_schema("ro")
    import_into("city", schema, big_feed(tmp_path / "first.csv", stations=2, hours=100))
    pg.query(f"GRANT USAGE ON SCHEMA {schema} TO reader; GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO reader")
    message = failing_import("city_reader", schema, town / "feed.csv", tmp_path)
    assert f"the role 'reader' may not write the archive in schema '{schema}' of connection 'city_reader'" in message
    assert f'GRANT SELECT, INSERT, UPDATE ON "{schema}".stations, "{schema}".observations TO "reader"' in message
    assert count(pg, schema) == 200


def test_read_only_database_is_refused(pg, town, tmp_path):
    """A role whose transactions are read-only (as on a standby server): refused, nothing written."""
    from .postgis_fixtures import _auth_config, save_connection

    role = "standby_" + datetime.now().strftime("%H%M%S%f")
    schema = pg.new_schema("standby", owner="officer")
    pg.query(f"CREATE ROLE {role} LOGIN PASSWORD 'standby-secret'; GRANT officer TO {role}; "
             f"ALTER ROLE {role} SET default_transaction_read_only = on")
    save_connection("city_standby", pg.server.port, _auth_config(role, "standby-secret"))
    message = failing_import("city_standby", schema, town / "feed.csv", tmp_path)
    assert "accepts no writes (cannot execute CREATE" in message
    assert "a read-only role or a standby server" in message
    assert "nothing was written" in message
    assert pg.query("SELECT count(*) FROM pg_tables WHERE schemaname = %s", (schema,)) == [(0,)]


class Blocker:
    """Holds one key of an import's third batch in an open transaction, so that batch waits on it.

    ``hold`` inserts the key without committing; the import's INSERT ... ON CONFLICT of that batch
    then waits for this transaction (``waiting`` tells when). ``release`` rolls it back.
    """

    def __init__(self, pg, schema: str, source: Path, station: str, hour: int) -> None:
        self.pg = pg
        self.connection = pg.server.admin(autocommit=False)
        moment = datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(hours=hour)
        with self.connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {schema}.observations (source, stream_id, time) VALUES (%s, %s, %s)",
                           (str(source), f"{station}/no2", moment))

    def waiting_import(self) -> int | None:
        """The backend of an import that waits on the held key, if any."""
        rows = self.pg.query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND wait_event_type = 'Lock'",
            (postgis_archive.APPLICATION_NAME,))
        return rows[0][0] if rows else None

    def release(self) -> None:
        with contextlib.suppress(Exception):
            self.connection.rollback()
        self.connection.close()


def prepared_archive(pg, tmp_path: Path) -> tuple[str, Path]:
    """An empty archive schema (tables created) and a feed of 60,000 rows: three batches of 20,000."""
    schema = pg.new_schema("cut")
    feed = big_feed(tmp_path / "feed.csv", stations=10, hours=6000)
    postgis_archive.PostgisArchiveWriter(
        postgres.PostgisTarget(pg.server.dsn(), schema, "city")).open()  # creates the tables
    return schema, feed


def test_dropped_connection_mid_import_keeps_the_committed_batches_and_the_next_run_continues(pg, tmp_path):
    assert postgis_archive.BATCH_ROWS == 20_000
    schema, feed = prepared_archive(pg, tmp_path)
    blocker = Blocker(pg, schema, feed, "S07", 3000)  # row 45,000: in the third batch
    terminated = []

    def drop_the_connection() -> None:
        try:
            if wait_until(lambda: blocker.waiting_import() is not None, 120):
                pid = blocker.waiting_import()
                terminated.append(pg.query("SELECT pg_terminate_backend(%s)", (pid,))[0][0])
        finally:
            blocker.release()

    dropper = threading.Thread(target=drop_the_connection, daemon=True)
    dropper.start()
    try:
        message = failing_import("city", schema, feed, tmp_path / "out")
    finally:
        dropper.join(150)
    assert terminated == [True]
    assert f"the connection to the archive in schema '{schema}' of connection 'city' was lost" in message
    assert "40000 new observations of the batches committed before are in the archive" in message
    assert "Run the import again to add the rest" in message
    assert count(pg, schema) == 40000  # two whole batches, nothing of the third
    again = import_into("city", schema, feed)
    assert again["N_NEW"] == 20000
    assert count(pg, schema) == 60000
    assert pg.query(f"SELECT count(DISTINCT (source, stream_id, time)) FROM {schema}.observations") == [(60000,)]


def qgis_process_import(runner, schema: str, feed: Path, folder: Path, **extra) -> list[str]:
    """The command line of a scheduled import (connection ``city`` = a pg service: no credential in it)."""
    folder.mkdir(parents=True, exist_ok=True)
    arguments = {"FORMAT": 5, "SOURCE": feed, "ARCHIVE_CONNECTION": "city", "ARCHIVE_SCHEMA": schema,
                 "OUTPUT_STATIONS": folder / "stations.gpkg", "OUTPUT_OBSERVATIONS": folder / "obs.gpkg", **extra}
    from .qgis_process_runner import QGIS_PROCESS

    return [QGIS_PROCESS, "--json", "run", ALG, *(f"--{k}={v}" for k, v in arguments.items())]


def test_killed_import_leaves_the_committed_batches_and_the_next_run_continues(pg, pg_qgis_process, tmp_path):
    schema, feed = prepared_archive(pg, tmp_path)
    blocker = Blocker(pg, schema, feed, "S07", 3000)
    process = subprocess.Popen(qgis_process_import(pg_qgis_process, schema, feed, tmp_path / "a"),
                               env=pg_qgis_process.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(lambda: blocker.waiting_import() is not None or process.poll() is not None, 180)
        assert process.poll() is None, process.communicate(timeout=30)
        process.kill()  # as a scheduler or an operator kills a job: no chance to clean up
        process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        blocker.release()
    assert wait_until(lambda: blocker.waiting_import() is None, 60)
    assert count(pg, schema) == 40000
    report = pg_qgis_process.run_algorithm(ALG, {
        "FORMAT": 5, "SOURCE": feed, "ARCHIVE_CONNECTION": "city", "ARCHIVE_SCHEMA": schema,
        "OUTPUT_STATIONS": tmp_path / "b_stations.gpkg", "OUTPUT_OBSERVATIONS": tmp_path / "b_obs.gpkg"})
    assert report["results"]["N_NEW"] == 20000
    assert count(pg, schema) == 60000


def test_two_imports_of_overlapping_windows_at_once_duplicate_nothing(pg, pg_qgis_process, tmp_path):
    schema = pg.new_schema("twice")
    feed = big_feed(tmp_path / "feed.csv", stations=10, hours=6000)
    windows = {"a": ("2024-01-01T00:00:00Z", "2024-07-15T00:00:00Z"), "b": ("2024-03-01T00:00:00Z", None)}
    processes = {}
    for name, (start, end) in windows.items():
        extra = {"START": start} | ({"END": end} if end else {})
        processes[name] = subprocess.Popen(
            qgis_process_import(pg_qgis_process, schema, feed, tmp_path / name, **extra),
            env=pg_qgis_process.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reports = {}
    for name, process in processes.items():
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        reports[name] = json.loads(out[out.index("{"):])["results"]
        assert ROLES["officer"] not in out + err
    total = count(pg, schema)
    assert total == 60000
    assert pg.query(f"SELECT count(DISTINCT (source, stream_id, time)) FROM {schema}.observations") == [(60000,)]
    assert reports["a"]["N_NEW"] + reports["b"]["N_NEW"] == 60000
    assert reports["a"]["N_OBSERVATIONS"] + reports["b"]["N_OBSERVATIONS"] > 60000  # the windows overlap
    assert count(pg, schema, "stations") == 10


# -- reading the archive back ---------------------------------------------------------------------


def test_reader_sends_only_the_property_and_window(pg, town):
    """``read_observations`` (the reader the aggregation uses) on an archive: NO2 of ten days, nothing else."""
    schema = pg.new_schema("read")
    import_into("city", schema, town / "feed.csv")
    start, end = datetime(2024, 6, 10, tzinfo=timezone.utc), datetime(2024, 6, 20, tzinfo=timezone.utc)
    expected = {}  # (station, UTC seconds) -> value, as the feed has them
    with (town / "feed.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            moment = datetime.fromisoformat(row["time"].replace("Z", "+00:00"))
            if row["property"] == "no2" and start <= moment < end:
                expected.setdefault((row["station_id"], moment.timestamp()), float(row["value"] or "nan"))
    query = postgis_archive.ObservationQuery(
        schema, "observations", {"station": "station_id", "time": "time", "value": "value", "property": "property",
                                 "flag": "flag"}, ("no2",), start.timestamp(), end.timestamp())
    connection = postgres.connect(postgres.PostgisTarget(pg.server.dsn(), schema, "city"))
    try:
        batches = list(postgis_archive.read_observations(connection, query, batch_rows=500))
    finally:
        connection.close()
    rows = [row for batch in batches for row in batch]
    assert len(rows) == len(expected) > 8 * 24 * 9  # 8 stations, ten days of hours (a few missing in the feed)
    assert {(station, time) for station, time, _value, _flag in rows} == set(expected)
    for station, time, value, _flag in rows:  # an empty value or the -999 no-data code is stored as NULL
        assert value == expected[station, time] or (value is None and not expected[station, time] > -999)
    assert max(len(batch) for batch in batches) == 500
    assert count(pg, schema) > 10 * len(rows)


def test_reader_of_a_text_time_column_sends_the_text_and_leaves_the_window_to_the_caller(pg):
    schema = pg.new_schema("text_time")
    pg.query(f"CREATE TABLE {schema}.obs (sid text, t text, v float8, p text); "
             f"INSERT INTO {schema}.obs VALUES ('a', '2024-06-01T00:00:00Z', 1, 'no2'), "
             "('a', '2024-07-01T00:00:00Z', 2, 'no2'), ('a', '2024-06-01T00:00:00Z', 3, 'pm25'); "
             f"ALTER TABLE {schema}.obs OWNER TO officer")
    query = postgis_archive.ObservationQuery(schema, "obs", {"station": "sid", "time": "t", "value": "v",
                                                             "property": "p"}, ("no2",), 0.0, 1.0)
    connection = postgres.connect(postgres.PostgisTarget(pg.server.dsn(), schema, "city"))
    try:
        rows = [row for batch in postgis_archive.read_observations(connection, query) for row in batch]
    finally:
        connection.close()
    assert sorted(rows) == [("a", "2024-06-01T00:00:00Z", 1.0, None), ("a", "2024-07-01T00:00:00Z", 2.0, None)]


def test_scheduled_job_with_an_auth_configuration_needs_the_master_password_file(pg, town, pg_qgis_process_authcfg):
    """qgis_process with a connection whose credentials are in the QGIS auth database (encrypted)."""
    runner = pg_qgis_process_authcfg
    schema = pg.new_schema("job")
    arguments = ["--json", "run", ALG, "--FORMAT=5", f"--SOURCE={town / 'feed.csv'}", "--ARCHIVE_CONNECTION=city",
                 f"--ARCHIVE_SCHEMA={schema}", "--OUTPUT_STATIONS=TEMPORARY_OUTPUT",
                 "--OUTPUT_OBSERVATIONS=TEMPORARY_OUTPUT"]
    without = runner.run(*arguments, check=False)
    assert without.returncode != 0
    assert "The authentication configuration of connection 'city' could not be read" in without.stdout + without.stderr
    assert pg.query("SELECT count(*) FROM pg_tables WHERE schemaname = %s", (schema,)) == [(0,)]
    runner.env["QGIS_AUTH_PASSWORD_FILE"] = str(runner.master_password_file)
    try:
        result = runner.run(*arguments)
    finally:
        del runner.env["QGIS_AUTH_PASSWORD_FILE"]
    assert json.loads(result.stdout[result.stdout.index("{"):])["results"]["N_NEW"] == 22848
    assert ROLES["officer"] not in result.stdout + result.stderr + without.stdout + without.stderr


def test_texts_with_tabs_line_breaks_backslashes_and_empty_values_come_back_as_written(pg):
    from social_resilience.core.sensors.model import Observation

    schema = pg.new_schema("chars")
    t0 = datetime(2024, 6, 1, tzinfo=timezone.utc)
    observations = [
        Observation("s\t1", "s1/no2", "no2", "µg/m³", t0, 1.5, raw='{"a": "x\\ny"}\r\n', source="feed", flag=""),
        Observation("s2", "s2\\x", "", "", t0, None, raw="", source="feed", flag="stuck\tday",
                    time_end=t0 + timedelta(hours=1)),
        Observation("s3", "s3", "p", "u", t0, float("inf"), raw="\\N", source="feed"),
        Observation("s4", "s4", "p", "u", t0 + timedelta(milliseconds=1), -0.0, raw="plain", source="feed"),
        Observation("s5", "s5", "p", "u", t0, 2.0, raw="C:\\data\\x", source="feed", flag="ok"),
    ]
    writer = postgis_archive.PostgisArchiveWriter(postgres.PostgisTarget(pg.server.dsn(), schema, "city"), batch_rows=2)
    writer.open()
    writer.add_observations(observations)
    counts = writer.commit()
    assert counts.new_observations == 5
    got = pg.query(f"SELECT station_id, stream_id, property, unit, time, time_end, value, raw, flag FROM {schema}."
                   "observations ORDER BY fid")
    assert got == [(o.station_id, o.stream_id, o.property, o.unit, o.time, o.time_end, o.value, o.raw, o.flag)
                   for o in observations]
