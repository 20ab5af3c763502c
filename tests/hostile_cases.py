"""The hostile cases of issue 23, each a function ``case(folder, server)`` that runs Processing and checks.

One table for two uses: ``tests/test_hostile_inputs.py`` runs each case as its own test, and
``tests/hostile_session.py`` runs all of them in a row in one long-lived QGIS process, then a normal
import. Every case passes paths (not layers made here) to a run that is expected to fail.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import processing
import pytest
from qgis.core import NULL, QgsProcessingException, QgsProcessingFeedback, QgsVectorLayer

from .hostile_helpers import city_geopackage, disk_full_after, layer_counts
from .sensor_http_server import STA_PREFIX, SensorHttpServer

IMPORT = "socialresilience:importsensorfeed"
AGGREGATE = "socialresilience:aggregateobservations"
REPORT = "socialresilience:report"
HOSTILE_CASES: list[Callable[[Path, SensorHttpServer], None]] = []
#: Secret values by the query parameter names of the issue (each must stay out of every message and key).
SECRETS = {"access_key": "AKIAEXAMPLE1", "api_token": "tok2-hush", "subscription-key": "sub3hush",
           "X-Amz-Signature": "sig4hush", "X-Amz-Credential": "cred5hush", "jwt": "jwt6hush", "code": "code7hush",
           "appid": "app8hush", "X-Api-Key": "key9hush"}


def case(function: Callable[[Path, SensorHttpServer], None]) -> Callable[[Path, SensorHttpServer], None]:
    """Register a hostile case."""
    HOSTILE_CASES.append(function)
    return function


class Recorder(QgsProcessingFeedback):
    """Keeps every text the run reports."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.warnings: list[str] = []

    def pushInfo(self, info: str) -> None:  # noqa: N802
        self.texts.append(info)
        super().pushInfo(info)

    def pushWarning(self, warning: str) -> None:  # noqa: N802
        self.texts.append(warning)
        self.warnings.append(warning)
        super().pushWarning(warning)

    def reportError(self, error: str, fatalError: bool = False) -> None:  # noqa: N802, N803
        self.texts.append(error)
        super().reportError(error, fatalError)

    def pushCommandInfo(self, info: str) -> None:  # noqa: N802
        self.texts.append(info)
        super().pushCommandInfo(info)

    def pushDebugInfo(self, info: str) -> None:  # noqa: N802
        self.texts.append(info)
        super().pushDebugInfo(info)


def run_import(params: dict, feedback: QgsProcessingFeedback | None = None) -> dict:
    return processing.run(IMPORT, {"OUTPUT_STATIONS": "memory:", "OUTPUT_OBSERVATIONS": "memory:", **params},
                          feedback=feedback)


def observations(result: dict) -> list[tuple]:
    """(stream_id, value or None, flag) of the observation output, sorted."""
    layer = result["OUTPUT_OBSERVATIONS"]
    rows = [(f["stream_id"], None if f["value"] == NULL else f["value"], f["flag"] or "") for f in layer.getFeatures()]
    return sorted(rows, key=lambda row: (row[0], row[1] is None, row[1] or 0.0, row[2]))


def skipped(feedback: Recorder, count: int) -> bool:
    """Tell whether a warning counts ``count`` skipped entries."""
    return any(f"{count} of " in w and "skipped" in w for w in feedback.warnings)


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def ttn_message(device: str, received_at: object, payload: object = None, **uplink: object) -> dict:
    return {"end_device_ids": {"device_id": device, "application_ids": {"application_id": "app"}},
            "received_at": received_at,
            "uplink_message": {"decoded_payload": payload or {"temperature": 21.5}, "f_cnt": 1, **uplink}}


def ndjson(*messages: object) -> str:
    return "\n".join(m if isinstance(m, str) else json.dumps(m) for m in messages) + "\n"


# -- one bad value among good ones -------------------------------------------------------------


@case
def huge_numbers_on_a_sensorthings_page(folder: Path, server: SensorHttpServer) -> None:
    """Results of 400 and 5000 digits: read as infinity (flagged invalid), the rest imported."""
    path = f"/huge/{folder.name}/v1.1/Datastreams(1)/Observations"
    page = ('{"value": [{"phenomenonTime": "2024-05-01T10:00:00Z", "result": 2.5}, '
            '{"phenomenonTime": "2024-05-01T11:00:00Z", "result": ' + "7" * 400 + "}, "
            '{"phenomenonTime": "2024-05-01T12:00:00Z", "result": ' + "9" * 5000 + "}, "
            '{"phenomenonTime": "2024-05-01T13:00:00Z", "result": -' + "8" * 5000 + "}]}")
    result = run_import({"SOURCE": server.add(path, page)})
    assert observations(result) == [("1", 2.5, ""), ("1", None, "invalid"), ("1", None, "invalid"),
                                    ("1", None, "invalid")]
    assert result["COMPLETE"] == 1


@case
def huge_numbers_in_lorawan_payloads(folder: Path, _server: SensorHttpServer) -> None:
    text = ndjson(ttn_message("a", "2024-05-01T10:00:00Z"),
                  '{"end_device_ids": {"device_id": "b"}, "received_at": "2024-05-01T10:00:00Z", "uplink_message": '
                  '{"decoded_payload": {"temperature": ' + "1" * 5000 + ', "humidity": ' + "2" * 400 + "}}}")
    result = run_import({"FORMAT": 3, "SOURCE": write(folder, "huge.ndjson", text)})
    assert observations(result) == [("a/temperature", 21.5, ""), ("b/humidity", None, "invalid"),
                                    ("b/temperature", None, "invalid")]


@case
def deep_json_in_a_ttn_line_and_a_sensorthings_page(folder: Path, server: SensorHttpServer) -> None:
    """JSON nested 5000 deep: the deep value is left out, everything else is read."""
    deep = "[" * 5000 + "]" * 5000
    text = ndjson(ttn_message("a", "2024-05-01T10:00:00Z"),
                  '{"end_device_ids": {"device_id": "b"}, "received_at": "2024-05-01T10:00:00Z", "uplink_message": '
                  '{"decoded_payload": {"temperature": 20.5, "junk": ' + deep + "}}}",
                  ttn_message("c", "2024-05-01T11:00:00Z"))
    result = run_import({"FORMAT": 3, "SOURCE": write(folder, "deep.ndjson", text)})
    assert observations(result) == [("a/temperature", 21.5, ""), ("b/temperature", 20.5, ""),
                                    ("c/temperature", 21.5, "")]
    path = f"/deep/{folder.name}/v1.1/Datastreams(1)/Observations"
    page = ('{"value": [{"phenomenonTime": "2024-05-01T10:00:00Z", "result": ' + deep + "}, "
            '{"phenomenonTime": "2024-05-01T11:00:00Z", "result": 3.5}]}')
    result = run_import({"SOURCE": server.add(path, page)})
    assert observations(result) == [("1", 3.5, ""), ("1", None, "")]  # a result that is no number


YEAR_EDGES = ("9999-12-31T23:00:00-14:00", "0001-01-01T00:30:00+14:00")


@case
def year_9999_and_year_1_with_offsets_in_every_format(folder: Path, _server: SensorHttpServer) -> None:
    """A time beyond the years 1 to 9999 in UTC is skipped and counted; the good ones are imported."""
    feeds = {
        3: ("ttn.ndjson", ndjson(*(ttn_message(f"d{i}", t) for i, t in enumerate(YEAR_EDGES)),
                                 ttn_message("ok", "2024-05-01T10:00:00Z"))),
        4: ("cs.ndjson", ndjson(*({"deviceInfo": {"devEui": f"e{i}"}, "time": t, "object": {"temperature": 1.5},
                                   "fCnt": 1} for i, t in enumerate((*YEAR_EDGES, "2024-05-01T10:00:00Z"))))),
        2: ("sc.json", json.dumps([{"timestamp": t, "location": {"id": i, "latitude": "51.3", "longitude": "9.5"},
                                    "sensor": {"id": 10 + i, "sensor_type": {"name": "SDS011"}},
                                    "sensordatavalues": [{"value_type": "P1", "value": "12.5"}]}
                                   for i, t in enumerate((*YEAR_EDGES, "2024-05-01 10:00:00"))])),
        1: ("osem.json", json.dumps([{"createdAt": t, "value": "3.5"}
                                     for t in (*YEAR_EDGES, "2024-05-01T10:00:00.000Z")])),
        5: ("edges.csv", "station_id,time,value\n" + "".join(f"s,{t},4.5\n" for t in YEAR_EDGES)
            + "s,2024-05-01T10:00:00Z,5.5\n"),
    }
    for fmt, (name, text) in feeds.items():
        feedback = Recorder()
        result = run_import({"FORMAT": fmt, "SOURCE": write(folder, name, text)}, feedback)
        assert result["N_OBSERVATIONS"] == 1, (fmt, feedback.warnings)
        assert any("out of range" in w for w in feedback.warnings), (fmt, feedback.warnings)


@case
def nan_and_huge_epochs_in_opensensemap_and_ttn(folder: Path, _server: SensorHttpServer) -> None:
    epochs = ("NaN", "1e300", "1" * 400, "-1e20", "Infinity")
    measurements = "[" + ", ".join(f'{{"createdAt": {e}, "value": "1.5"}}' for e in epochs) + \
        ', {"createdAt": "2024-05-01T10:00:00Z", "value": "2.5"}]'
    feedback = Recorder()
    result = run_import({"FORMAT": 1, "SOURCE": write(folder, "epochs.json", measurements)}, feedback)
    assert observations(result) == [("unknown/unknown", 2.5, "")]
    assert skipped(feedback, 5)
    lines = [f'{{"end_device_ids": {{"device_id": "d{i}"}}, "received_at": {e}, '
             f'"uplink_message": {{"decoded_payload": {{"t": 1}}}}}}' for i, e in enumerate(epochs)]
    text = ndjson(*lines, ttn_message("ok", 1714557600))
    feedback = Recorder()
    result = run_import({"FORMAT": 3, "SOURCE": write(folder, "epochs.ndjson", text)}, feedback)
    assert observations(result) == [("ok/temperature", 21.5, "")]
    assert skipped(feedback, 5)


@case
def ttn_v2_frequency_1e999(folder: Path, _server: SensorHttpServer) -> None:
    text = ('{"dev_id": "v2", "app_id": "a", "payload_fields": {"temperature": 19.5}, '
            '"metadata": {"time": "2024-05-01T10:00:00Z", "frequency": 1e999, "gateways": "none"}}\n'
            '{"dev_id": "v2b", "app_id": "a", "payload_fields": {"temperature": 18.5}, '
            '"metadata": {"time": "2024-05-01T10:00:00Z", "frequency": 868.1}}\n')
    feedback = Recorder()
    result = run_import({"FORMAT": 3, "SOURCE": write(folder, "v2.ndjson", text)}, feedback)
    assert observations(result) == [("v2/temperature", 19.5, ""), ("v2b/temperature", 18.5, "")]
    radio = {f["station_id"]: json.loads(f["properties"])["radio"] for f in result["OUTPUT_STATIONS"].getFeatures()}
    assert "frequency" not in radio["v2"]
    assert radio["v2b"]["frequency"] == 868100000
    assert any("frequency" in w for w in feedback.warnings)


@case
def wrong_typed_members_in_ttn_sensor_community_and_chirpstack(folder: Path, _server: SensorHttpServer) -> None:
    """``rx_metadata``, ``sensordatavalues``, ``rxInfo`` and others of the wrong type: the readings are kept."""
    ttn = ndjson(ttn_message("a", "2024-05-01T10:00:00Z", rx_metadata="gateway-1"),
                 ttn_message("b", "2024-05-01T10:00:00Z", rx_metadata=[1, {"gateway_ids": "x", "rssi": -80}],
                             settings=[], locations=[1], version_ids="v"),
                 {"end_device_ids": {"device_id": "c", "application_ids": "app"}, "received_at": "2024-05-01T10:00Z",
                  "uplink_message": {"decoded_payload": {"temperature": 3.5}}},
                 '"not a message"')
    feedback = Recorder()
    result = run_import({"FORMAT": 3, "SOURCE": write(folder, "types.ndjson", ttn)}, feedback)
    assert observations(result) == [("a/temperature", 21.5, ""), ("b/temperature", 21.5, ""),
                                    ("c/temperature", 3.5, "")]
    assert skipped(feedback, 1)  # the message that is a list
    community = [{"timestamp": "2024-05-01 10:00:00", "location": {"id": 1, "latitude": "51.3", "longitude": "9.5"},
                  "sensor": "SDS011", "sensordatavalues": [1, "P1", {"value_type": "P1", "value": "12.5"}]},
                 {"timestamp": "2024-05-01 10:00:00", "location": {"id": 2}, "sensor": {"id": 3, "sensor_type": 7},
                  "sensordatavalues": [{"value_type": "P2", "value": "7.5"}]},
                 {"sensordatavalues": "P1=3"}]
    result = run_import({"FORMAT": 2, "SOURCE": write(folder, "types.json", json.dumps(community))})
    assert [(s.split("/")[-1], v) for s, v, _f in observations(result)] == [("P1", 12.5), ("P2", 7.5)]
    chirpstack = ndjson({"deviceInfo": {"devEui": "01"}, "time": "2024-05-01T10:00:00Z", "object": {"co2": 400},
                         "rxInfo": "gateway", "txInfo": [], "fCnt": 1},
                        {"deviceInfo": {"devEui": "02"}, "object": {"co2": 500},
                         "rxInfo": [1, {"nsTime": "2024-05-01T11:00:00Z", "location": "here"}], "fCnt": 2})
    result = run_import({"FORMAT": 4, "SOURCE": write(folder, "types_cs.ndjson", chirpstack)})
    assert observations(result) == [("01/co2", 400.0, ""), ("02/co2", 500.0, "")]


# -- SOURCE that never ends ---------------------------------------------------------------------


@case
def devices_and_fifos_as_source(folder: Path, _server: SensorHttpServer) -> None:
    """/dev/zero and /dev/urandom end at MAX_RESPONSE_MB, a FIFO without a writer at TIMEOUT."""
    for device in ("/dev/zero", "/dev/urandom"):
        started = time.monotonic()
        feedback = Recorder()
        result = run_import({"FORMAT": 5, "SOURCE": device, "MAX_RESPONSE_MB": 2, "TIMEOUT": 20}, feedback)
        assert result["COMPLETE"] == 0
        assert result["N_OBSERVATIONS"] == 0
        assert any("size limit" in w and device in w for w in feedback.warnings), feedback.warnings
        assert time.monotonic() - started < 15
    fifo = folder / "feed.fifo"
    os.mkfifo(fifo)
    started = time.monotonic()
    feedback = Recorder()
    result = run_import({"FORMAT": 5, "SOURCE": str(fifo), "TIMEOUT": 1.5, "IMPORT_TIMEOUT": 30}, feedback)
    assert result["COMPLETE"] == 0
    assert any("timeout" in w for w in feedback.warnings), feedback.warnings
    assert 1.4 < time.monotonic() - started < 10
    started = time.monotonic()
    result = run_import({"FORMAT": 5, "SOURCE": str(fifo), "TIMEOUT": 30, "IMPORT_TIMEOUT": 1.5})
    assert result["COMPLETE"] == 0
    assert time.monotonic() - started < 10


@case
def fifo_with_a_writer_is_read(folder: Path, _server: SensorHttpServer) -> None:
    fifo = folder / "written.fifo"
    os.mkfifo(fifo)

    def writer() -> None:
        with open(fifo, "w", encoding="utf-8") as stream:
            stream.write("station_id,time,value\n")
            for index in range(1000):
                stream.write(f"s,2024-05-01T10:{index // 60 % 60:02d}:{index % 60:02d}Z,{index}\n")

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    result = run_import({"FORMAT": 5, "SOURCE": str(fifo), "TIMEOUT": 30})
    thread.join(10)
    assert result["N_OBSERVATIONS"] == 1000
    assert result["COMPLETE"] == 1


@case
def nan_limits_are_refused(folder: Path, _server: SensorHttpServer) -> None:
    source = write(folder, "ok.csv", "station_id,time,value\ns,2024-05-01T10:00:00Z,1\n")
    for name in ("TIMEOUT", "IMPORT_TIMEOUT", "MAX_RESPONSE_MB"):
        for value in (math.nan, "nan", "NaN"):  # Processing lets NaN through (qgis_process passes text)
            with pytest.raises(QgsProcessingException, match=f"{name} is nan, not a usable number"):
                run_import({"FORMAT": 5, "SOURCE": source, name: value})
        for value in (math.inf, "inf"):  # Processing refuses infinity itself
            with pytest.raises(QgsProcessingException, match=name):
                run_import({"FORMAT": 5, "SOURCE": source, name: value})


# -- secrets and archive keys -------------------------------------------------------------------


@case
def secret_query_parameters_stay_hidden(folder: Path, server: SensorHttpServer) -> None:
    """The issue's nine parameter names: never in messages, the source column or the archive key."""
    query = "&".join(f"{name}={value}" for name, value in SECRETS.items())
    url = server.add(f"/secret/{folder.name}/feed.csv", "station_id,time,value\ns,2024-05-01T10:00:00Z,1\n",
                     "text/csv") + "?station=s&" + query
    archive = folder / "secret_archive.gpkg"
    feedback = Recorder()
    result = run_import({"FORMAT": 5, "SOURCE": url, "ARCHIVE": str(archive)}, feedback)
    assert result["N_NEW"] == 1
    seen = feedback.texts + [f["source"] for f in result["OUTPUT_OBSERVATIONS"].getFeatures()]
    seen += [f["source"] for f in result["OUTPUT_STATIONS"].getFeatures()]
    with contextlib.closing(sqlite3.connect(archive)) as connection:
        seen += [row[0] for row in connection.execute("SELECT source FROM observations UNION SELECT source FROM "
                                                      "stations")]
    missing = url.replace(f"/secret/{folder.name}/", f"/missing/{folder.name}/")
    with pytest.raises(QgsProcessingException) as raised:
        run_import({"FORMAT": 5, "SOURCE": missing, "RETRIES": 0}, feedback)
    seen.append(str(raised.value))
    leaked = [value for value in SECRETS.values() if any(value in text for text in seen)]
    assert leaked == [], [t for t in seen if any(v in t for v in leaked)]
    assert "station=s" in seen[-1]


def _osem_window(box: str, first: int, last: int) -> str:
    start = datetime(2024, 5, 1, tzinfo=timezone.utc)
    return json.dumps([{"createdAt": (start + timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                        "value": str(i)} for i in range(first, last)])


@case
def overlapping_windows_and_reordered_queries_archive_once(folder: Path, server: SensorHttpServer) -> None:
    """openSenseMap and CSV: the archive key is the stream without its window and order."""
    archive = folder / "windows.gpkg"
    box = f"/osem{folder.name[-6:]}/boxes/B1/data/S1"
    windows = [("from-date=2024-05-01T00:00:00Z&to-date=2024-05-02T00:00:00Z", 0, 24),
               ("to-date=2024-05-02T00:00:00Z&from-date=2024-05-01T00:00:00Z", 0, 24),
               ("from-date=2024-05-01T12:00:00Z&to-date=2024-05-02T12:00:00Z", 12, 24)]
    new = [run_import({"FORMAT": 1, "SOURCE": server.add(f"{box}?{query}", _osem_window("B1", a, b)),
                       "ARCHIVE": str(archive)})["N_NEW"] for query, a, b in windows]
    assert new == [24, 0, 0]
    csv = "station_id,time,value\n" + "".join(f"c,2024-05-01T{h:02d}:00:00Z,{h}\n" for h in range(24))
    path = f"/csvwin/{folder.name}/feed.csv"
    new = [run_import({"FORMAT": 5, "SOURCE": server.add(path, csv, "text/csv") + "?" + query,
                       "ARCHIVE": str(archive)})["N_NEW"]
           for query in ("station=c&unit=ug", "unit=ug&station=c", "station=c&unit=ug&start=2024-05-01&limit=100")]
    assert new == [24, 0, 0]
    with contextlib.closing(sqlite3.connect(archive)) as connection:
        assert connection.execute("SELECT count(*), count(DISTINCT source) FROM observations").fetchone() == (48, 2)


@case
def archives_keyed_by_window_are_migrated(folder: Path, _server: SensorHttpServer) -> None:
    """An archive an earlier version wrote (72 rows, 24 distinct observations) holds 24 after the next run."""
    from social_resilience.core.sensors.archive import ArchiveWriter
    from social_resilience.core.sensors.model import Observation

    archive = folder / "old_keys.gpkg"
    base = "https://api.opensensemap.org/boxes/B1/data/S1"
    start = datetime(2024, 5, 1, tzinfo=timezone.utc)
    with ArchiveWriter(archive) as writer:
        for query in ("from-date=2024-05-01T00:00:00Z", "to-date=2024-05-02T00:00:00Z&from-date=2024-05-01T00:00:00Z",
                      "from-date=2024-05-01T00:00:00Z&to-date=2024-05-02T00:00:00Z"):
            writer.add_observations([Observation("B1", "B1/S1", "PM10", "µg/m³", start + timedelta(hours=h), h, "",
                                                 f"{base}?{query}") for h in range(24)])
    assert layer_counts(archive)["observations"] == 72
    csv = write(folder, "other.csv", "station_id,time,value\no,2024-05-01T10:00:00Z,1\n")
    assert run_import({"FORMAT": 5, "SOURCE": csv, "ARCHIVE": str(archive)})["N_NEW"] == 1
    with contextlib.closing(sqlite3.connect(archive)) as connection:
        rows = connection.execute("SELECT source, count(*) FROM observations GROUP BY source ORDER BY 2").fetchall()
    assert rows == [(csv, 1), (base, 24)]


# -- aggregation -----------------------------------------------------------------------------------


@case
def aggregation_of_times_in_the_year_1_and_9999(folder: Path, _server: SensorHttpServer) -> None:
    csv = write(folder, "edges_agg.csv", "station_id,lon,lat,time,value\n"
                "a,9.5,51.3,2024-06-01T10:00:00Z,20\na,9.5,51.3,2024-06-01T11:00:00Z,30\n"
                "a,9.5,51.3,0001-01-01T00:30:00Z,40\nb,9.6,51.3,9999-12-31T23:00:00Z,50\n"
                "b,9.6,51.3,2024-06-01T11:00:00Z,60\nb,9.6,51.3,9999-12-30T12:00:00Z,70\n")
    imported = run_import({"FORMAT": 5, "SOURCE": csv, "OUTPUT_STATIONS": str(folder / "agg_stations.gpkg"),
                           "OUTPUT_OBSERVATIONS": str(folder / "agg_observations.gpkg")})
    assert imported["N_OBSERVATIONS"] == 6  # the import accepts them
    feedback = Recorder()
    result = processing.run(AGGREGATE, {
        "STATIONS": imported["OUTPUT_STATIONS"], "OBSERVATIONS": imported["OUTPUT_OBSERVATIONS"],
        "MIN_COVERAGE": 0, "DAY_MAX_THRESHOLD": 25, "OUTPUT_STATIONS": "memory:"}, feedback=feedback)
    means = {f["station_id"]: f["obs_mean"] for f in result["OUTPUT_STATIONS"].getFeatures()}
    assert means == {"a": 25.0, "b": 60.0}
    assert any("3 observations with a time before 0001-01-03 or after 9999-12-28" in w for w in feedback.warnings)
    edges = write(folder, "edges_kept.csv", "station_id,lon,lat,time,value\n"
                  "a,9.5,51.3,0001-01-03T01:00:00Z,7\nb,9.6,51.3,9999-12-28T23:00:00Z,8\n")
    imported = run_import({"FORMAT": 5, "SOURCE": edges, "OUTPUT_STATIONS": str(folder / "e_st.gpkg"),
                           "OUTPUT_OBSERVATIONS": str(folder / "e_obs.gpkg")})
    windows = {"a": ("0001-01-03T00:00:00Z", "0001-01-04T00:00:00Z"),
               "b": ("9999-12-28T00:00:00Z", "9999-12-29T00:00:00Z")}
    for zone in ("America/New_York", "Pacific/Kiritimati"):
        for station, (start, end) in windows.items():
            windowed = processing.run(AGGREGATE, {
                "STATIONS": imported["OUTPUT_STATIONS"], "OBSERVATIONS": imported["OUTPUT_OBSERVATIONS"],
                "START": start, "END": end, "TIMEZONE": zone, "MIN_COVERAGE": 0, "DAY_MAX_THRESHOLD": 5,
                "OUTPUT_STATIONS": "memory:"})
            values = {f["station_id"]: f["obs_max"] for f in windowed["OUTPUT_STATIONS"].getFeatures()}
            assert values[station] == {"a": 7.0, "b": 8.0}[station], (zone, values)
    centuries = write(folder, "centuries.csv", "station_id,lon,lat,time,value\n"
                      "a,9.5,51.3,0001-06-01T00:00:00Z,1\na,9.5,51.3,2024-06-01T00:00:00Z,2\n")
    imported = run_import({"FORMAT": 5, "SOURCE": centuries, "OUTPUT_STATIONS": str(folder / "c_st.gpkg"),
                           "OUTPUT_OBSERVATIONS": str(folder / "c_obs.gpkg")})
    with pytest.raises(QgsProcessingException, match=r"longer than 200 years.*set START and END"):
        processing.run(AGGREGATE, {"STATIONS": imported["OUTPUT_STATIONS"],
                                   "OBSERVATIONS": imported["OUTPUT_OBSERVATIONS"], "OUTPUT_STATIONS": "memory:"})


# -- report outputs -------------------------------------------------------------------------------


@contextlib.contextmanager
def read_only_file(path: Path) -> Iterator[Path]:
    """An existing file this process may not write (immutable for root, mode 444 for others)."""
    path.write_text("kept", encoding="utf-8")
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True, capture_output=True)
    else:
        path.chmod(0o444)
    try:
        yield path
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=False, capture_output=True)
        path.chmod(0o644)


@case
def report_to_paths_it_cannot_write(folder: Path, _server: SensorHttpServer) -> None:
    """Unwritable OUTPUT_PDF / OUTPUT_HTML, a folder, a full device: clear messages, nothing reported as written."""
    city = folder / "report_input.gpkg"
    city_geopackage(city, layers=1)
    stations = f"{city}|layername=layer_0"
    html = folder / "report.html"
    with read_only_file(folder / "locked.pdf") as locked:
        bad_pdfs = {str(locked): "may not be written", "/dev/full": "No space left on device"}
        for pdf, message in bad_pdfs.items():
            with pytest.raises(QgsProcessingException, match=message):
                processing.run(REPORT, {"STATIONS": stations, "OUTPUT_HTML": str(html), "OUTPUT_PDF": pdf})
            assert not html.exists()  # the run failed: the HTML it would have made is not left behind
        assert locked.read_text(encoding="utf-8") == "kept"
    (folder / "a_folder").mkdir()
    with read_only_file(folder / "locked.html") as locked:
        bad_html = {str(folder / "a_folder"): "is a folder", str(locked): "may not be written",
                    "/dev/full": "No space left on device"}
        for target, message in bad_html.items():
            with pytest.raises(QgsProcessingException, match=message):
                processing.run(REPORT, {"STATIONS": stations, "OUTPUT_HTML": target})
    result = processing.run(REPORT, {"STATIONS": stations, "OUTPUT_HTML": str(html),
                                     "OUTPUT_PDF": str(folder / "report.pdf")})
    assert Path(result["OUTPUT_PDF"]).read_bytes().startswith(b"%PDF")
    assert "<html" in html.read_text(encoding="utf-8").lower()


# -- the user's GeoPackage ---------------------------------------------------------------------------


@case
def failed_archive_commit_keeps_the_users_geopackage(folder: Path, server: SensorHttpServer) -> None:
    """The archive's disk runs full at the commit: the run's two new layers go, the ten others stay."""
    from social_resilience.core.sensors.archive import ArchiveWriter, archive_counts
    from social_resilience.core.sensors.model import Observation

    city = folder / "city_commit.gpkg"
    kept = city_geopackage(city)
    archive = folder / "full_archive.gpkg"
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    with ArchiveWriter(archive) as writer:
        writer.add_observations([Observation("s", f"s/{i % 4}", "NO2", "", start + timedelta(minutes=i), 1.0, "{}",
                                             "https://other.example/feed") for i in range(40_000)])
    before = archive_counts(archive)
    url = server.url(STA_PREFIX)
    params = {"SOURCE": url, "ARCHIVE": str(archive),
              "OUTPUT_STATIONS": f"ogr:dbname='{city}' table=\"stations_june\" (geom)",
              "OUTPUT_OBSERVATIONS": f"ogr:dbname='{city}' table=\"obs_june\" (geom)"}
    with disk_full_after(2_500_000), pytest.raises(QgsProcessingException, match="Cannot write the archive"):
        processing.run(IMPORT, params)
    assert layer_counts(city) == kept
    assert archive_counts(archive) == before


def open_layer(path: str) -> QgsVectorLayer:
    return QgsVectorLayer(path, "check", "ogr")
