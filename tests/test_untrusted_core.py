"""The pure rules for untrusted feeds (core/sensors/fetch.py) and the parsing rules that go with them."""

from __future__ import annotations

import gzip
import json
import sqlite3
import zlib
from datetime import datetime, timedelta, timezone

import pytest
from social_resilience.core.sensors import csv_feed
from social_resilience.core.sensors.archive import ArchiveWriter, archive_counts
from social_resilience.core.sensors.errors import FeedError
from social_resilience.core.sensors.fetch import (
    MIB,
    FeedStopError,
    FeedTimeoutError,
    FetchLimits,
    FileFetcher,
    LimitedBody,
    LinkGuard,
    MemoryFetcher,
    RequestRules,
    is_transient,
    source_key,
)
from social_resilience.core.sensors.importer import ImportOptions, import_feed
from social_resilience.core.sensors.model import Observation, Station
from social_resilience.core.sensors.times import parse_time

UTC = timezone.utc


# -- source key ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/sta/v1.1",
    "HTTP://127.0.0.1:8080/sta/v1.1",
    "http://user:pw@127.0.0.1:8080/sta/v1.1",
    "http://***@127.0.0.1:8080/sta/v1.1",  # what older versions stored
    " http://reader@127.0.0.1:8080/sta/v1.1 ",
])
def test_source_key_drops_credentials_and_case(url):
    assert source_key(url) == "http://127.0.0.1:8080/sta/v1.1"


def test_source_key_drops_default_ports_and_redacts_secrets():
    assert source_key("https://Sensors.Example.ORG:443/v1.1/Things") == "https://sensors.example.org/v1.1/Things"
    assert source_key("http://Example.org:80/feed.csv") == "http://example.org/feed.csv"
    assert source_key("http://example.org:8080/feed.csv") == "http://example.org:8080/feed.csv"
    assert "s3cr3t" not in source_key("https://example.org/data?token=s3cr3t&box=1")
    assert source_key("/data/Feed.CSV") == "/data/Feed.CSV"  # a path keeps its case


# -- requests: credentials, redirects, local files ----------------------------------------------------


def test_credentials_only_to_the_origin_of_source():
    rules = RequestRules("https://sensors.example.org/v1.1")
    assert rules.sends_credentials("https://SENSORS.example.org:443/v1.1/Things?$top=1")
    assert not rules.sends_credentials("http://sensors.example.org/v1.1/Things")  # other scheme
    assert not rules.sends_credentials("https://sensors.example.org:8443/v1.1")  # other port
    assert not rules.sends_credentials("https://evil.example.org/v1.1")
    assert not rules.sends_credentials("file:///etc/passwd")


def test_redirect_rules():
    rules = RequestRules("http://a.test/x", FetchLimits(max_redirects=3))
    assert rules.redirect("http://a.test/x", "/y", ["http://a.test/x"]) == "http://a.test/y"
    with pytest.raises(FeedStopError, match="redirect loop") as loop:
        rules.redirect("http://a.test/y", "http://A.test:80/x", ["http://a.test/x", "http://a.test/y"])
    assert loop.value.cause == "redirect loop"
    with pytest.raises(FeedStopError, match="redirect refused"):
        rules.redirect("http://a.test/x", "file:///etc/shadow", ["http://a.test/x"])
    chain = [f"http://a.test/{i}" for i in range(4)]
    with pytest.raises(FeedStopError, match="too many redirects"):
        rules.redirect(chain[-1], "/next", chain)


def test_only_source_may_be_a_local_file(tmp_path):
    path = tmp_path / "feed.csv"
    path.write_text("time,value\n")
    rules = RequestRules(str(path))
    rules.check(str(path))
    with pytest.raises(FeedStopError, match="only SOURCE may be a local file"):
        rules.check("/etc/passwd")
    with pytest.raises(FeedStopError, match="not an http"):
        RequestRules("http://a.test/").check("ftp://a.test/feed")


def test_link_guard_refuses_local_files_and_repeats():
    guard = LinkGuard("http://a.test/v1.1/Things")
    guard.visit("http://a.test/v1.1/Things")
    guard.visit("http://a.test/v1.1/Things?$skip=100")
    with pytest.raises(FeedStopError, match="link loop"):
        guard.visit("HTTP://a.test:80/v1.1/Things?$skip=100#again")
    with pytest.raises(FeedStopError, match="link refused"):
        guard.visit("file:///etc/shadow")
    with pytest.raises(FeedStopError, match="link refused"):
        guard.visit("/etc/shadow")
    LinkGuard("/data/feed.csv").visit("/data/feed.csv")  # SOURCE itself may be a file


# -- size limit while reading --------------------------------------------------------------------


def _pieces(data: bytes, size: int = 65536) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def _feed_all(body: LimitedBody, pieces: list[bytes]) -> None:
    for piece in pieces:
        body.feed(piece)


@pytest.mark.parametrize("encoding", ["gzip", "deflate-zlib", "deflate-raw", "identity"])
def test_limited_body_decompresses_in_pieces(encoding):
    text = json.dumps({"value": list(range(50000))}).encode()
    if encoding == "gzip":
        packed = gzip.compress(text[:1000]) + gzip.compress(text[1000:])  # two members
    elif encoding == "deflate-zlib":
        packed = zlib.compress(text)
    elif encoding == "deflate-raw":
        packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        packed = packer.compress(text) + packer.flush()
    else:
        packed = text
    body = LimitedBody("http://a.test/x", FetchLimits(), encoding.split("-")[0])
    _feed_all(body, _pieces(packed, 1000))
    assert body.content() == text


def test_limited_body_stops_a_gzip_bomb_at_the_limit():
    member = gzip.compress(b" " * MIB)
    body = LimitedBody("http://a.test/bomb", FetchLimits(max_bytes=4 * MIB), "gzip")
    with pytest.raises(FeedStopError, match="size limit") as stop:
        _feed_all(body, _pieces(member * 64))
    assert stop.value.cause == "size"
    assert body.size <= 5 * MIB + 1  # decompressed no more than the limit plus one piece


def test_local_source_over_the_limit_is_refused(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"time,value\n" + b"2024-01-01T00:00:00Z,1\n" * 100_000)
    with pytest.raises(FeedStopError, match="size limit"):
        FileFetcher(max_bytes=MIB).get(str(path))


# -- deadlines -------------------------------------------------------------------------------------


def test_import_deadline_caps_the_request_deadline():
    now = [100.0]
    limits = FetchLimits(timeout_s=30, import_timeout_s=10, clock=lambda: now[0])
    assert limits.request_deadline() == 110.0
    now[0] = 105.0
    limits.check_import()
    now[0] = 110.0
    with pytest.raises(FeedStopError, match="IMPORT_TIMEOUT"):
        limits.check_import()
    assert not is_transient(limits.timeout_error("http://a.test/"))  # the import's deadline is final
    assert is_transient(FetchLimits(timeout_s=5).timeout_error("http://a.test/"))  # one request: retried
    assert isinstance(FetchLimits(timeout_s=5).timeout_error("http://a.test/"), FeedTimeoutError)


def test_importer_ends_on_the_import_deadline_between_pages():
    now = [0.0]
    pages = {f"http://a.test/v1.1/Datastreams(1)/Observations?p={i}": json.dumps({
        "value": [{"phenomenonTime": f"2024-01-01T00:{i:02d}:00Z", "result": i}],
        "@iot.nextLink": f"http://a.test/v1.1/Datastreams(1)/Observations?p={i + 1}"}).encode() for i in range(50)}

    class Clocked(MemoryFetcher):
        def get(self, url):
            now[0] += 1.0
            return super().get(url)

    limits = FetchLimits(import_timeout_s=5, clock=lambda: now[0])
    result = import_feed(ImportOptions(source="http://a.test/v1.1/Datastreams(1)/Observations?p=0", limits=limits),
                         Clocked(pages))
    assert not result.complete
    assert 4 <= len(result.observations) <= 6
    assert any("IMPORT_TIMEOUT" in w for w in result.warnings)


# -- SensorThings: links and times ------------------------------------------------------------------


def test_sensorthings_self_link_and_file_link_end_the_import_with_what_was_fetched():
    url = "http://a.test/v1.1/Datastreams(1)/Observations"
    page = {"value": [{"phenomenonTime": "2024-01-01T00:00:00Z", "result": 1}], "@iot.nextLink": url}
    fetcher = MemoryFetcher({url: json.dumps(page).encode()})
    result = import_feed(ImportOptions(source=url, retries=0), fetcher)
    assert (len(result.observations), result.complete, fetcher.requests) == (1, False, [url])
    assert any("link loop" in w for w in result.warnings)
    fetcher = MemoryFetcher({url: json.dumps({**page, "@iot.nextLink": "file:///etc/shadow"}).encode()})
    result = import_feed(ImportOptions(source=url, retries=0), fetcher)
    assert fetcher.requests == [url]
    assert not result.complete
    assert any("link refused" in w for w in result.warnings)


def test_sensorthings_bare_number_phenomenon_time_is_not_epoch():
    url = "http://a.test/v1.1/Datastreams(1)/Observations"
    page = {"value": [{"phenomenonTime": 21.5, "result": 1}, {"phenomenonTime": "1700000000", "result": 2},
                      {"phenomenonTime": "2024-01-01T00:00:00Z", "result": 3}]}
    result = import_feed(ImportOptions(source=url, retries=0), MemoryFetcher({url: json.dumps(page).encode()}))
    assert [o.value for o in result.observations] == [3]
    assert any("2 observations without a readable phenomenonTime" in w for w in result.warnings)


def test_parse_time_epoch_only_when_allowed():
    assert parse_time("1700000000") == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    with pytest.raises(FeedError, match="bare number"):
        parse_time("21.5", epoch=False)
    with pytest.raises(FeedError, match="bare number"):
        parse_time(1700000000, epoch=False)


# -- duplicates ---------------------------------------------------------------------------------------


def test_duplicates_first_wins_with_a_warning_also_out_of_order():
    url = "http://a.test/v1.1/Datastreams(1)/Observations"
    times = ["00:00:00", "00:01:00", "00:01:00", "00:02:00", "00:00:00", "00:03:00", "00:02:00.0004"]
    page = {"value": [{"phenomenonTime": f"2024-01-01T{t}Z", "result": i} for i, t in enumerate(times)]}
    result = import_feed(ImportOptions(source=url), MemoryFetcher({url: json.dumps(page).encode()}))
    assert [o.value for o in result.observations] == [0, 1, 3, 5]  # to the millisecond, like the archive key
    assert any(w.startswith("3 observations repeat the stream and time") for w in result.warnings)


# -- CSV ----------------------------------------------------------------------------------------------


def test_csv_ragged_rows_are_skipped_not_shifted():
    text = ("time,station_id,value\n2024-01-01T00:00:00Z,a,1.5\n2024-01-01T01:00:00Z,a\n"
            "a,2024-01-01T02:00:00Z,21.5,7\n2024-01-01T03:00:00Z,b,2.5\n")
    result = csv_feed.parse(text, "feed.csv")
    assert [(o.station_id, o.value) for o in result.observations] == [("a", 1.5), ("b", 2.5)]
    assert sum("cells where the header has 3; row skipped" in w for w in result.warnings) == 2
    assert all(o.time.year == 2024 for o in result.observations)


def test_csv_oversized_field_skips_its_row_without_a_traceback():
    long_field = '"' + "x" * (200 * 1024) + '"'
    text = f"time,station_id,value\n2024-01-01T00:00:00Z,a,1\n2024-01-01T01:00:00Z,{long_field},2\n" \
           "2024-01-01T02:00:00Z,a,3\n"
    result = csv_feed.parse(text, "feed.csv")
    assert [o.value for o in result.observations] == [1.0, 3.0]
    assert any("a field is longer than 131072 characters" in w and "row skipped" in w for w in result.warnings)


def test_csv_bare_number_is_epoch_only_in_an_epoch_column():
    iso = "time,station_id,value\n2024-01-01T00:00:00Z,a,1\n21.5,a,2\n2024-01-01T02:00:00Z,a,3\n"
    result = csv_feed.parse(iso, "feed.csv")
    assert [o.value for o in result.observations] == [1.0, 3.0]
    assert any("bare number" in w for w in result.warnings)
    numbers = "time,station_id,value\n1700000000,a,1\n1700003600,a,2\n"
    assert [o.time.year for o in csv_feed.parse(numbers, "feed.csv").observations] == [2023, 2023]
    named = "epoch,station_id,value\n1700000000,a,1\n2024-01-01T00:00:00Z,a,2\n"
    assert len(csv_feed.parse(named, "feed.csv").observations) == 2


# -- archive: one key per feed, migration, busy ----------------------------------------------------------


def _rows(source: str, minutes: range) -> tuple[list[Observation], list[Station]]:
    t0 = datetime(2024, 3, 1, tzinfo=UTC)
    observations = [Observation("s1", "d1", "pm10", "ug/m3", t0 + timedelta(minutes=m), float(m), "", source)
                    for m in minutes]
    return observations, [Station("s1", "Station 1", 9.5, 51.3, {}, None, source)]


def _write_raw_source(path, observations, stations, old_source: str) -> None:
    """Write rows, then set their source to ``old_source`` as an older version stored it."""
    with ArchiveWriter(path) as writer:
        writer.add_observations(observations)
        writer.upsert_stations(stations)
    connection = sqlite3.connect(path)
    with connection:
        connection.execute("UPDATE observations SET source = ? WHERE source = ?", (old_source, observations[0].source))
        connection.execute("UPDATE stations SET source = ? WHERE source = ?", (old_source, stations[0].source))
    connection.close()


def test_archive_of_an_older_version_is_migrated_without_losing_rows(tmp_path):
    path = tmp_path / "archive.gpkg"
    key = "http://127.0.0.1:8080/sta/v1.1"
    # an older version stored the same feed twice: once with credentials in SOURCE, once without
    _write_raw_source(path, *_rows("tmp-a", range(0, 60)), "http://***@127.0.0.1:8080/sta/v1.1")
    _write_raw_source(path, *_rows("tmp-b", range(30, 90)), "HTTP://127.0.0.1:8080/sta/v1.1")
    assert archive_counts(path) == (2, 120)
    with ArchiveWriter(path) as writer:  # the first run of this version migrates
        observations, stations = _rows(key, range(0, 90))
        writer.add_observations(observations)
        writer.upsert_stations(stations)
    assert writer.counts.new_observations == 0
    assert archive_counts(path) == (1, 90)  # 90 distinct observations, none lost, none twice
    connection = sqlite3.connect(path)
    assert connection.execute("SELECT DISTINCT source FROM observations").fetchall() == [(key,)]
    connection.close()


def test_busy_archive_says_locked_by_another_import(tmp_path, monkeypatch):
    path = tmp_path / "archive.gpkg"
    with ArchiveWriter(path) as writer:
        writer.add_observations(_rows("feed", range(3))[0])
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    monkeypatch.setattr(ArchiveWriter, "LOCK_WAIT_S", 0.2)
    try:
        with pytest.raises(FeedError, match="locked by another import, try again"):
            ArchiveWriter(path).open()
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert archive_counts(path) == (0, 3)


# -- no message quotes a local file's content ---------------------------------------------------------


@pytest.mark.parametrize(("fmt", "content"), [
    (5, "root:TOPSECRET:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"),  # no time column
    (5, "time,station_id,value\nTOPSECRET,a,1\n2024-01-01T00:00:00Z,a,2\n"),  # a row with an unreadable time
    (1, "<config><password>TOPSECRET</password></config>"),
    (0, "<html><title>TOPSECRET</title><body></body></html>"),
    (3, '{"end_device_ids": "TOPSECRET" '),
])
def test_messages_about_a_local_source_never_quote_its_content(tmp_path, fmt, content):
    path = tmp_path / "local.txt"
    path.write_text(content)
    try:
        result = import_feed(ImportOptions(format=fmt, source=str(path), retries=0), FileFetcher())
        messages = result.warnings
    except FeedError as error:
        messages = [str(error)]
    assert messages
    assert not any("TOPSECRET" in m for m in messages), messages
