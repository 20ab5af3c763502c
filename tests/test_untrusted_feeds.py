"""Hostile servers on 127.0.0.1 against the one fetch path: the Processing import (every format) and the live dock.

Each case ends within a bound asserted here; a rule that stops a request ends the import with
COMPLETE 0 and a message naming the cause; credentials of AUTHCFG never reach another origin;
a server never makes the importer open a local file (and no message quotes one).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import time

import processing
import pytest
from qgis.core import QgsApplication, QgsAuthMethodConfig, QgsProcessingException, QgsProcessingFeedback

from .conftest import PLUGIN_PARENT, shared_data
from .sensor_http_server import SensorHttpServer, gzip_bomb
from .test_sensor_parsers import CHIRPSTACK_UPLINK

ALG = "socialresilience:importsensorfeed"
SECRET = "TOP-SECRET-LOCAL-CONTENT"
STA_PAGE = {"value": [{"phenomenonTime": f"2024-01-01T00:0{i}:00Z", "result": 20.0 + i} for i in range(3)]}
STA_PATH = "/sta/v1.1/Datastreams(7)/Observations"
LIVE_PATH = "/live/v1.1/Things"
LIVE_PAGE = {"value": [{
    "@iot.id": 1, "name": "Station 1",
    "Locations": [{"location": {"type": "Point", "coordinates": [9.5, 51.3]}}],
    "Datastreams": [{"@iot.id": 11, "name": "NO2", "ObservedProperty": {"name": "NO2"},
                     "unitOfMeasurement": {"symbol": "ug/m3"},
                     "Observations": [{"phenomenonTime": "2024-01-01T00:00:00Z", "result": 12.0}]}],
}]}
#: Seconds within which each hostile case must have ended (TIMEOUT is 1 s in these tests).
BOUND_S = 20.0


def document(fmt: int) -> tuple[str, bytes, str]:
    """(URL path, body, content type) of a small valid feed in FORMAT ``fmt``."""
    if fmt == 0:
        return STA_PATH, json.dumps(STA_PAGE).encode(), "application/json"
    if fmt == 4:
        return "/feeds/chirpstack.json", json.dumps(CHIRPSTACK_UPLINK).encode(), "application/json"
    parts = {
        1: ("sensors", "opensensemap", "osem_box_single_apidoc.json"),
        2: ("sensors", "sensor_community", "sc_archive_2018-07-07_sds011_sensor_15092_abdn.csv"),
        3: ("sensors", "ttn", "ttn_v3_uplinks_dragino_koestler.ndjson"),
        5: ("sensors", "opensensemap", "osem_sensor_data_apidoc.csv"),
    }[fmt]
    path = shared_data(*parts)
    return f"/feeds/{path.name}", path.read_bytes(), "text/csv" if path.suffix == ".csv" else "application/json"


def timed_run(params: dict) -> tuple[dict, float, str]:
    """Results, seconds and the text log of one import into memory layers."""
    feedback = QgsProcessingFeedback()
    started = time.monotonic()
    result = processing.run(ALG, {"OUTPUT_STATIONS": "memory:", "OUTPUT_OBSERVATIONS": "memory:", "TIMEOUT": 1,
                                  "RETRIES": 1, **params}, feedback=feedback)
    return result, time.monotonic() - started, feedback.textLog()


@pytest.fixture
def servers():
    with SensorHttpServer(lifetime=180) as home, SensorHttpServer(lifetime=180) as other:
        yield home, other


@pytest.fixture
def basic_auth():
    """The id of a Basic authentication configuration (user reader, password s3cr3t-pw)."""
    manager = QgsApplication.authManager()
    if not manager.masterPasswordIsSet() and not manager.setMasterPassword("test-master-password", True):
        pytest.skip("the QGIS authentication database of this profile has another master password")
    config = QgsAuthMethodConfig("Basic")
    config.setName("hostile feed test")
    config.setConfig("username", "reader")
    config.setConfig("password", "s3cr3t-pw")
    assert manager.storeAuthenticationConfig(config)[0]
    yield config.id()
    manager.removeAuthenticationConfig(config.id())


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "secret.json"
    path.write_text(json.dumps({"value": [{"phenomenonTime": "2024-01-01T00:00:00Z", "result": SECRET}]}))
    return path


# -- every format: redirects and answers -------------------------------------------------------------


@pytest.mark.parametrize("fmt", range(6))
def test_redirect_to_another_port_is_followed_without_credentials(provider, servers, basic_auth, fmt):
    home, other = servers
    path, body, content_type = document(fmt)
    other.add(path, body, content_type)
    source = home.redirect(path, other.url(path))
    result, seconds, _log = timed_run({"FORMAT": fmt, "SOURCE": source, "AUTHCFG": basic_auth})
    assert home.headers_of(path)[0]["Authorization"].startswith("Basic ")  # the origin of SOURCE gets them
    assert other.requested(path)
    assert all("Authorization" not in h for h in other.headers)
    assert result["COMPLETE"] == 1
    assert result["N_OBSERVATIONS"] > 0
    assert seconds < BOUND_S


def test_other_origin_asking_for_a_login_is_explained(provider, servers, basic_auth):
    home, other = servers
    path, body, content_type = document(3)
    other.add(path, body, content_type)
    other.require_basic_auth("/feeds", "reader:s3cr3t-pw")
    source = home.redirect(path, other.url(path))
    with pytest.raises(QgsProcessingException, match="AUTHCFG is sent only to the origin of SOURCE"):
        timed_run({"FORMAT": 3, "SOURCE": source, "AUTHCFG": basic_auth, "RETRIES": 0})
    assert all("Authorization" not in h for h in other.headers)


def _redirect_loop(server: SensorHttpServer, path: str, _body: bytes, _secret) -> tuple[str, dict]:
    server.redirect(path, server.url("/loop/b"))
    server.redirect("/loop/b", server.url(path))
    return server.url(path), {}


def _redirect_to_file(server: SensorHttpServer, path: str, _body: bytes, secret) -> tuple[str, dict]:
    return server.redirect(path, secret.as_uri()), {}


def _one_byte_per_second(server: SensorHttpServer, path: str, body: bytes, _secret) -> tuple[str, dict]:
    url = server.add(path, body[:200])
    server.inject(path, "drip", "drip")
    return url, {}


def _gzip_bomb(server: SensorHttpServer, path: str, _body: bytes, _secret) -> tuple[str, dict]:
    return server.add(path, gzip_bomb(1024), headers={"Content-Encoding": "gzip"}), {"MAX_RESPONSE_MB": 16}


def _oversized(server: SensorHttpServer, path: str, body: bytes, _secret) -> tuple[str, dict]:
    return server.add(path, body + b" " * (12 * 1024 * 1024)), {"MAX_RESPONSE_MB": 8}


HOSTILE = {
    "redirect loop": (_redirect_loop, "redirect loop"),
    "redirect to a local file": (_redirect_to_file, "redirect refused"),
    "one byte per second": (_one_byte_per_second, "timeout"),
    "gzip bomb": (_gzip_bomb, "size limit"),
    "oversized answer": (_oversized, "size limit"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
@pytest.mark.parametrize("fmt", range(6))
def test_hostile_answer_ends_the_import_with_complete_0(provider, servers, secret_file, fmt, case):
    home, _other = servers
    path, body, _content_type = document(fmt)
    make, cause = HOSTILE[case]
    source, params = make(home, path, body, secret_file)
    result, seconds, log = timed_run({"FORMAT": fmt, "SOURCE": source, **params})
    assert result["COMPLETE"] == 0
    assert result["N_OBSERVATIONS"] == 0
    assert cause in log
    assert SECRET not in log
    assert seconds < BOUND_S
    assert len(home.requests) <= 25  # no endless requests (a loop is stopped, not retried)


def test_gzip_bomb_is_not_held_in_memory(servers, tmp_path):
    """A 1 MB answer that unpacks to 1 GiB, fetched in a fresh process: its peak RSS stays far below 1 GiB."""
    home, _other = servers
    url = home.add("/bomb.json", gzip_bomb(1024), headers={"Content-Encoding": "gzip"})
    script = textwrap.dedent(f"""
        import json, resource, sys, time
        sys.path.insert(0, {str(PLUGIN_PARENT)!r})
        from qgis.core import QgsApplication
        app = QgsApplication([], False); app.initQgis()
        from social_resilience.algorithms.sensors.qgis_fetcher import QgisFetcher
        from social_resilience.core.sensors.fetch import FeedStopError, FetchLimits, MIB
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.monotonic()
        try:
            QgisFetcher({url!r}, "", FetchLimits(timeout_s=30, max_bytes=64 * MIB)).get({url!r})
            cause = "none"
        except FeedStopError as error:
            cause = error.cause
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({{"cause": cause, "before": before, "peak": peak, "seconds": time.monotonic() - started}}))
    """)
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            env={"QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    figures = json.loads(output.stdout.strip().splitlines()[-1])
    assert figures["cause"] == "size"
    assert figures["peak"] - figures["before"] < 200  # MB: the 64 MB limit plus pieces, not 1024 MB
    assert figures["seconds"] < BOUND_S


# -- SensorThings: links from the server --------------------------------------------------------------


def _sta_pages(home: SensorHttpServer, next_link: str) -> str:
    return home.add(STA_PATH, json.dumps({**STA_PAGE, "@iot.nextLink": next_link}))


def test_next_link_to_another_port_is_followed_without_credentials(provider, servers, basic_auth):
    home, other = servers
    second = {"value": [{"phenomenonTime": "2024-01-02T00:00:00Z", "result": 1.0}]}
    other.add("/page2", json.dumps(second))
    source = _sta_pages(home, other.url("/page2"))
    result, seconds, _log = timed_run({"FORMAT": 0, "SOURCE": source, "AUTHCFG": basic_auth})
    assert home.headers[0]["Authorization"].startswith("Basic ")
    assert other.requested("/page2")
    assert all("Authorization" not in h for h in other.headers)
    assert result["COMPLETE"] == 1
    assert result["N_OBSERVATIONS"] == 4
    assert seconds < BOUND_S


def test_file_next_link_is_refused_and_not_read(provider, servers, secret_file):
    home, _other = servers
    source = _sta_pages(home, secret_file.as_uri())
    result, seconds, log = timed_run({"FORMAT": 0, "SOURCE": source})
    assert result["COMPLETE"] == 0
    assert result["N_OBSERVATIONS"] == 3
    assert "link refused" in log
    assert SECRET not in log
    values = [f["raw"] for f in result["OUTPUT_OBSERVATIONS"].getFeatures()]
    assert SECRET not in json.dumps(values)
    assert seconds < BOUND_S


def test_self_referencing_next_link_ends_the_import(provider, servers):
    home, _other = servers
    source = _sta_pages(home, home.url(STA_PATH))
    result, seconds, log = timed_run({"FORMAT": 0, "SOURCE": source})
    assert result["COMPLETE"] == 0
    assert result["N_OBSERVATIONS"] == 3
    assert "link loop" in log
    assert len(home.requested(STA_PATH)) == 1
    assert seconds < BOUND_S


def test_next_link_loop_over_two_pages_ends(provider, servers):
    home, _other = servers
    source = _sta_pages(home, home.url("/sta/v1.1/Datastreams(7)/Observations?$skip=3"))
    home.add("/sta/v1.1/Datastreams(7)/Observations?$skip=3", json.dumps(
        {"value": [{"phenomenonTime": "2024-01-03T00:00:00Z", "result": 2.0}], "@iot.nextLink": source}))
    result, seconds, log = timed_run({"FORMAT": 0, "SOURCE": source})
    assert result["COMPLETE"] == 0
    assert result["N_OBSERVATIONS"] == 4
    assert "link loop" in log
    assert seconds < BOUND_S


def test_import_deadline_ends_an_endless_chain_of_new_links(provider, servers):
    home, _other = servers
    for index in range(400):
        home.add(f"/chain/{index}", json.dumps({**STA_PAGE, "@iot.nextLink": home.url(f"/chain/{index + 1}")}))
        home.inject(f"/chain/{index}", "timeout:0.3")
    result, seconds, log = timed_run({"FORMAT": 0, "SOURCE": home.url("/chain/0"), "IMPORT_TIMEOUT": 2})
    assert result["COMPLETE"] == 0
    assert "IMPORT_TIMEOUT" in log
    assert seconds < 2 + BOUND_S / 4
    assert len(home.requests) < 20


# -- the live dock's fetch --------------------------------------------------------------------------


@pytest.fixture
def live_limits(monkeypatch):
    from social_resilience.ui import fetch_task

    monkeypatch.setattr(fetch_task, "REQUEST_TIMEOUT_S", 1.0)
    monkeypatch.setattr(fetch_task, "REFRESH_TIMEOUT_S", 10.0)
    monkeypatch.setattr(fetch_task, "MAX_RESPONSE_BYTES", 8 * 1024 * 1024)
    return fetch_task


def _live_fetch(fetch_task, url: str, fmt: int = 0, authcfg: str = ""):
    from social_resilience.core.live.feed_config import FeedConfig

    config = FeedConfig(name="hostile", format=fmt, url=url, authcfg=authcfg)
    started = time.monotonic()
    try:
        result, _threads = fetch_task.fetch_feed(config)
        outcome: object = result
    except fetch_task.FeedError as error:
        outcome = error
    return outcome, time.monotonic() - started


def test_live_redirect_and_next_link_to_another_port_get_no_credentials(servers, basic_auth, live_limits):
    home, other = servers
    other.add("/live2/v1.1/Things", json.dumps(LIVE_PAGE))
    home.add(LIVE_PATH, json.dumps({**LIVE_PAGE, "@iot.nextLink": other.url("/live2/v1.1/Things?$skip=1")}))
    result, seconds = _live_fetch(live_limits, home.url("/live/v1.1"), authcfg=basic_auth)
    assert not isinstance(result, Exception), result
    assert len(result.observations) == 2
    home.redirect("/moved/v1.1/Things", other.url("/live2/v1.1/Things"))
    result, _seconds = _live_fetch(live_limits, home.url("/moved/v1.1"), authcfg=basic_auth)
    assert len(result.observations) == 1
    assert all(h["Authorization"].startswith("Basic ") for h in home.headers)
    assert len(other.requests) == 2
    assert all("Authorization" not in h for h in other.headers)
    assert seconds < BOUND_S


@pytest.mark.parametrize("case", ["file link", "self link", "redirect loop", "one byte per second", "gzip bomb",
                                  "oversized answer"])
def test_live_fetch_ends_on_hostile_answers(servers, secret_file, live_limits, case):
    home, _other = servers
    url = home.url(LIVE_PATH)
    if case == "file link":
        home.add(LIVE_PATH, json.dumps({**LIVE_PAGE, "@iot.nextLink": secret_file.as_uri()}))
    elif case == "self link":
        home.add(LIVE_PATH, json.dumps({**LIVE_PAGE, "@iot.nextLink": url}))
    elif case == "redirect loop":
        _redirect_loop(home, LIVE_PATH, b"", None)
    else:
        maker = {"one byte per second": _one_byte_per_second, "gzip bomb": _gzip_bomb,
                 "oversized answer": _oversized}[case]
        maker(home, LIVE_PATH, json.dumps(LIVE_PAGE).encode(), None)
    error, seconds = _live_fetch(live_limits, url)
    cause = {"file link": "link refused", "self link": "link loop", "redirect loop": "redirect loop",
             "one byte per second": "timeout", "gzip bomb": "size limit", "oversized answer": "size limit"}[case]
    assert isinstance(error, live_limits.FeedStopError), error
    assert cause in str(error)
    assert SECRET not in str(error)
    assert seconds < BOUND_S


def test_live_task_in_a_worker_thread_ends_on_a_slow_server(servers, live_limits):
    from social_resilience.core.live.feed_config import FeedConfig

    from .live_helpers import wait_until

    home, _other = servers
    _one_byte_per_second(home, LIVE_PATH, json.dumps(LIVE_PAGE).encode(), None)
    task = live_limits.FetchTask(FeedConfig(name="slow", format=0, url=home.url("/live/v1.1")))
    outcomes = []
    task.fetched.connect(outcomes.append)
    started = time.monotonic()
    QgsApplication.taskManager().addTask(task)
    assert wait_until(lambda: bool(outcomes), BOUND_S)
    assert "timeout" in outcomes[0].error
    assert outcomes[0].fetch_thread != 0
    assert time.monotonic() - started < BOUND_S


# -- the archive: one feed whatever the credentials, migration, busy ------------------------------------


@pytest.fixture
def sta_server():
    from .sensor_http_server import StaFeed

    with SensorHttpServer(lifetime=180, sta=StaFeed(things=2, streams=2, observations=30)) as server:
        yield server


def test_same_feed_with_and_without_credentials_in_the_url_is_one_feed(provider, sta_server, tmp_path):
    from .sensor_http_server import STA_PREFIX

    archive = str(tmp_path / "archive.gpkg")
    with_credentials = f"http://reader:pw@127.0.0.1:{sta_server.port}{STA_PREFIX}"
    first, _seconds, _log = timed_run({"SOURCE": with_credentials, "ARCHIVE": archive})
    second, _seconds, _log = timed_run({"SOURCE": f"HTTP://127.0.0.1:{sta_server.port}{STA_PREFIX}",
                                        "ARCHIVE": archive})
    assert first["N_NEW"] == first["N_OBSERVATIONS"] == 2 * 2 * 30
    assert second["N_NEW"] == 0
    assert second["N_OBSERVATIONS"] == first["N_OBSERVATIONS"]
    connection = sqlite3.connect(archive)
    sources = connection.execute("SELECT DISTINCT source FROM observations").fetchall()
    stations = connection.execute("SELECT count(*) FROM stations").fetchone()[0]
    connection.close()
    assert sources == [(f"http://127.0.0.1:{sta_server.port}{STA_PREFIX}",)]
    assert stations == 2
    assert {f["source"] for f in second["OUTPUT_OBSERVATIONS"].getFeatures()} == {sources[0][0]}


def test_archive_of_the_previous_version_is_migrated_on_first_use(provider, sta_server, tmp_path):
    from .sensor_http_server import STA_PREFIX

    archive = str(tmp_path / "archive.gpkg")
    source = f"http://reader:pw@127.0.0.1:{sta_server.port}{STA_PREFIX}"
    first, _seconds, _log = timed_run({"SOURCE": source, "ARCHIVE": archive})
    connection = sqlite3.connect(archive)
    with connection:  # as the previous version stored it: redact_url() of SOURCE
        for table in ("observations", "stations"):
            connection.execute(f"UPDATE {table} SET source = ?", (f"http://***@127.0.0.1:{sta_server.port}{STA_PREFIX}",))
        connection.execute("DELETE FROM observations WHERE time > '2024-01-01T00:20'")  # rows the old run lacked
    kept = connection.execute("SELECT count(*) FROM observations").fetchone()[0]
    connection.close()
    second, _seconds, _log = timed_run({"SOURCE": source, "ARCHIVE": archive})
    assert second["N_NEW"] == first["N_OBSERVATIONS"] - kept > 0
    connection = sqlite3.connect(archive)
    assert connection.execute("SELECT count(*), count(DISTINCT source) FROM observations").fetchone() == (
        first["N_OBSERVATIONS"], 1)
    connection.close()


def test_busy_archive_says_locked_by_another_import(provider, sta_server, tmp_path, monkeypatch):
    from social_resilience.core.sensors.archive import ArchiveWriter

    from .sensor_http_server import STA_PREFIX

    archive = tmp_path / "archive.gpkg"
    timed_run({"SOURCE": sta_server.url(STA_PREFIX), "ARCHIVE": str(archive)})
    monkeypatch.setattr(ArchiveWriter, "LOCK_WAIT_S", 0.2)
    other = sqlite3.connect(archive, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(QgsProcessingException, match="locked by another import, try again"):
            timed_run({"SOURCE": sta_server.url(STA_PREFIX), "ARCHIVE": str(archive)})
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_archive_read_by_another_program_at_commit_is_locked_and_unchanged(provider, sta_server, tmp_path,
                                                                           monkeypatch):
    from social_resilience.core.sensors.archive import ArchiveWriter, archive_counts

    from .sensor_http_server import STA_PREFIX

    archive = tmp_path / "archive.gpkg"
    timed_run({"SOURCE": sta_server.url(STA_PREFIX), "ARCHIVE": str(archive), "MAX_OBSERVATIONS": 10})
    before = archive_counts(archive)
    monkeypatch.setattr(ArchiveWriter, "LOCK_WAIT_S", 0.2)
    reader = sqlite3.connect(archive, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM observations").fetchone()  # holds a shared lock, as a reading program does
    try:
        with pytest.raises(QgsProcessingException, match="locked by another import or program, try again"):
            timed_run({"SOURCE": sta_server.url(STA_PREFIX), "ARCHIVE": str(archive)})
    finally:
        reader.execute("ROLLBACK")
        reader.close()
    assert archive_counts(archive) == before


def test_feeds_are_never_answered_from_the_network_cache(servers):
    from social_resilience.algorithms.sensors.qgis_fetcher import QgisFetcher

    home, _other = servers
    cacheable = {"Cache-Control": "public, max-age=3600", "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"}
    url = home.add("/cached.json", b'{"value": 1}', headers=cacheable)
    fetcher = QgisFetcher(url)
    assert fetcher.get(url) == b'{"value": 1}'
    home.add("/cached.json", b'{"value": 2}', headers=cacheable)
    assert fetcher.get(url) == b'{"value": 2}'
    assert len(home.requested("/cached.json")) == 2


# -- the next page sent ahead (issue 20) --------------------------------------------------------------


def test_next_page_is_sent_ahead_and_read_once_through_get(servers):
    from social_resilience.algorithms.sensors.qgis_fetcher import QgisFetcher
    from social_resilience.core.sensors.fetch import FetchLimits
    from social_resilience.core.sensors.importer import ImportOptions, stream_feed

    home, _other = servers
    calls = []

    class Recording(QgisFetcher):
        def get(self, url):
            calls.append(("get", url))
            return super().get(url)

        def prefetch(self, url):
            calls.append(("prefetch", url))
            super().prefetch(url)

    paths = [f"{STA_PATH}?$skip={3 * index}" for index in range(3)]
    urls = [home.url(path) for path in paths]
    for index, path in enumerate(paths):
        page = {"value": [{"phenomenonTime": f"2024-01-0{index + 1}T00:0{i}:00Z", "result": float(i)}
                          for i in range(3)]}
        if index < 2:
            page["@iot.nextLink"] = urls[index + 1]
        home.add(path, json.dumps(page))
    home.inject(f"{STA_PATH}?$skip=3", "timeout:0.3")  # answered while the first page is used
    batches = []
    summary = stream_feed(ImportOptions(source=urls[0]), Recording(urls[0], "", FetchLimits(timeout_s=5)),
                          batches.append)
    assert summary.complete
    assert summary.n_observations == sum(len(batch) for batch in batches) == 9
    assert calls.index(("prefetch", urls[1])) < calls.index(("get", urls[1]))
    assert calls.index(("prefetch", urls[2])) < calls.index(("get", urls[2]))
    assert [len(home.requested(f"$skip={3 * i}")) for i in range(3)] == [1, 1, 1]  # each page fetched once


@pytest.mark.parametrize(("make", "params", "cause"), [
    (lambda s, p: s.add(p, gzip_bomb(1024), headers={"Content-Encoding": "gzip"}), {"MAX_RESPONSE_MB": 16},
     "size limit"),
    (lambda s, p: (s.add(p, json.dumps(STA_PAGE)), s.inject(p, "timeout:8"))[0], {}, "timeout"),
])
def test_page_sent_ahead_keeps_the_size_limit_and_the_deadline(provider, servers, make, params, cause):
    home, _other = servers
    make(home, "/ahead/2")
    source = _sta_pages(home, home.url("/ahead/2"))
    result, seconds, log = timed_run({"FORMAT": 0, "SOURCE": source, "RETRIES": 0, **params})
    assert result["COMPLETE"] == 0
    assert result["N_OBSERVATIONS"] == 3
    assert cause in log
    assert len(home.requested("/ahead/2")) == 1
    assert seconds < BOUND_S
