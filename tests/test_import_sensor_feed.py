"""socialresilience:importsensorfeed through processing.run and qgis_process, against a local HTTP server."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import datetime, timedelta, timezone

import processing
import pytest
from qgis.core import (
    NULL,
    QgsNetworkAccessManager,
    QgsProcessingException,
    QgsProject,
    QgsSettings,
    QgsVectorLayer,
    QgsVectorLayerTemporalProperties,
)
from social_resilience.core.sensors.formats import FORMAT_PARSERS

from .conftest import shared_data
from .sensor_http_server import STA_PREFIX, SensorHttpServer, StaFeed

ALG = "socialresilience:importsensorfeed"
HAMBURG = ("sensors", "sensorthings", "hamburg_things_expand_locations_datastreams_observations_bav4.json")
UTC = timezone.utc


def run(params: dict) -> dict:
    return processing.run(ALG, {"OUTPUT_STATIONS": "memory:", "OUTPUT_OBSERVATIONS": "memory:", **params})


def values(layer: QgsVectorLayer, field: str) -> list:
    return [None if f[field] == NULL else f[field] for f in layer.getFeatures()]


def utc(qdatetime) -> datetime:
    return datetime.fromisoformat(qdatetime.toUTC().toString("yyyy-MM-ddTHH:mm:ss.zzz") + "+00:00")


@contextlib.contextmanager
def user_proxy(port: int):
    """Set the QGIS proxy settings (as a user would) to 127.0.0.1:port, restore them afterwards."""
    settings = QgsSettings()
    values = {"proxy/proxyEnabled": True, "proxy/proxyType": "HttpProxy", "proxy/proxyHost": "127.0.0.1",
              "proxy/proxyPort": str(port)}
    saved = {key: settings.value(key) for key in values if settings.contains(key)}
    for key, value in values.items():
        settings.setValue(key, value)
    QgsNetworkAccessManager.instance().setupDefaultProxyAndCache()
    try:
        yield
    finally:
        for key in values:
            if key in saved:
                settings.setValue(key, saved[key])
            else:
                settings.remove(key)
        QgsNetworkAccessManager.instance().setupDefaultProxyAndCache()


@pytest.fixture
def server():
    with SensorHttpServer(lifetime=180) as instance:
        yield instance


@pytest.fixture
def feed_server():
    feed = StaFeed(things=3, streams=2, observations=1200, max_top=1000, null_every=100)
    with SensorHttpServer(lifetime=180, sta=feed) as instance:
        yield instance


# -- SensorThings -------------------------------------------------------------------------------


def test_generated_feed_with_503_timeout_truncated_and_html_is_complete(provider, feed_server):
    feed = feed_server.sta
    feed_server.inject(f"{STA_PREFIX}/Things", "503", "truncate")
    feed_server.inject(f"{STA_PREFIX}/Datastreams(1001)/Observations", "timeout:4", "html")
    feed_server.inject(f"{STA_PREFIX}/Datastreams(2000)/Observations", "reset")
    result = run({"SOURCE": feed_server.url(STA_PREFIX), "TIMEOUT": 2, "RETRIES": 3, "PAGE_SIZE": 1000})
    total = feed.things * feed.streams * feed.observations
    assert result["COMPLETE"] == 1
    assert result["N_OBSERVATIONS"] == total
    assert result["N_STATIONS"] == feed.things
    observations = result["OUTPUT_OBSERVATIONS"]
    assert observations.featureCount() == total
    assert values(observations, "value").count(None) == total // feed.null_every
    by_key = {(f["stream_id"], utc(f["time"])): f for f in observations.getFeatures()}
    assert len(by_key) == total  # nothing twice although pages were retried
    sample = by_key[("1001", feed.start + timedelta(seconds=feed.step_s * 1150))]
    assert sample["value"] == pytest.approx(feed.result(1, 1150))
    assert sample["property"] == "property_1"
    assert sample["unit"] == "°C"
    assert sample["station_id"] == "1"
    stations = {f["station_id"]: f for f in result["OUTPUT_STATIONS"].getFeatures()}
    point = stations["2"].geometry().asPoint()
    assert (point.x(), point.y()) == pytest.approx(feed.lon_lat(2))
    assert utc(stations["2"]["last_time"]) == feed.start + timedelta(seconds=feed.step_s * (feed.observations - 1))
    assert stations["2"]["n_observations"] == feed.streams * feed.observations
    # the failing page built by the importer was asked again with a smaller $top; server nextLinks unchanged
    retried = feed_server.requested("Datastreams(1001)/Observations")
    assert "$top=1000" in retried[0]
    assert any("$top=500" in url for url in retried)
    assert all("$skip=" not in url or "$top=" in url for url in retried)


def test_persistent_failure_of_a_later_page_gives_complete_0(provider, feed_server, tmp_path):
    feed = feed_server.sta
    feed_server.inject(f"{STA_PREFIX}/Datastreams(1)/Observations", "503", "503")  # both attempts
    archive = tmp_path / "archive.gpkg"
    result = run({"SOURCE": feed_server.url(STA_PREFIX), "RETRIES": 1, "ARCHIVE": str(archive)})
    expected = (feed.things * feed.streams - 1) * feed.observations
    assert result["COMPLETE"] == 0
    assert result["N_OBSERVATIONS"] == expected
    assert "1" not in set(values(result["OUTPUT_OBSERVATIONS"], "stream_id"))
    assert result["N_NEW"] == expected  # what was fetched is archived; a later run fills the gap
    again = run({"SOURCE": feed_server.url(STA_PREFIX), "ARCHIVE": str(archive)})
    assert again["COMPLETE"] == 1
    assert again["N_NEW"] == feed.observations


def test_persistent_failure_of_the_first_request_is_an_error_and_leaves_no_archive(provider, feed_server, tmp_path):
    feed_server.inject(STA_PREFIX, *["503"] * 10)
    archive = tmp_path / "archive.gpkg"
    with pytest.raises(QgsProcessingException, match="HTTP 503"):
        run({"SOURCE": feed_server.url(STA_PREFIX) + "?apikey=hush", "RETRIES": 1, "ARCHIVE": str(archive)})
    assert not archive.exists()


def test_filters_are_sent_to_the_server_and_applied(provider, feed_server):
    feed = feed_server.sta
    start = feed.start + timedelta(seconds=feed.step_s * 100)
    end = feed.start + timedelta(seconds=feed.step_s * 199)
    result = run({
        "SOURCE": feed_server.url(STA_PREFIX), "START": start.isoformat(), "END": end.isoformat(),
        "PROPERTY": "PROPERTY_1", "EXTENT": "8.995,9.015,50.99,51.0075 [EPSG:4326]",
    })
    assert result["N_STATIONS"] == 2  # things 0 and 1 lie in the extent
    assert result["N_OBSERVATIONS"] == 2 * 100
    observations = result["OUTPUT_OBSERVATIONS"]
    assert set(values(observations, "stream_id")) == {"1", "1001"}
    times = [utc(t) for t in values(observations, "time")]
    assert min(times) == start
    assert max(times) == end
    things_query = feed_server.requested("/Things?")[0]
    assert "st_within(Locations/location,%20geography'POLYGON((8.9950000%2050.9900000" in things_query
    assert "tolower(Datastreams/ObservedProperty/name)%20eq%20'property_1'" in things_query
    assert feed_server.requested("phenomenonTime%20ge%202024-01-01T01:40:00.000Z")


def test_max_observations_cuts_short(provider, feed_server):
    result = run({"SOURCE": feed_server.url(STA_PREFIX), "MAX_OBSERVATIONS": 1500})
    assert result["N_OBSERVATIONS"] == 1500
    assert result["COMPLETE"] == 0
    assert result["OUTPUT_OBSERVATIONS"].featureCount() == 1500


def test_archive_twice_same_rows_and_no_new(provider, feed_server, tmp_path):
    archive = tmp_path / "sub" / "archive.gpkg"
    archive.parent.mkdir()
    first = run({"SOURCE": feed_server.url(STA_PREFIX), "ARCHIVE": str(archive)})
    second = run({"SOURCE": feed_server.url(STA_PREFIX), "ARCHIVE": str(archive)})
    assert first["N_NEW"] == first["N_OBSERVATIONS"] == 3 * 2 * 1200
    assert second["N_NEW"] == 0
    assert second["ARCHIVE"] == str(archive)
    layer = QgsVectorLayer(f"{archive}|layername=observations", "o", "ogr")
    assert layer.isValid()
    assert layer.featureCount() == first["N_OBSERVATIONS"]
    stations = QgsVectorLayer(f"{archive}|layername=stations", "s", "ogr")
    assert stations.featureCount() == 3


def test_real_hamburg_response_follows_next_links_unchanged(provider, server):
    path = shared_data(*HAMBURG)
    document = json.loads(path.read_text(encoding="utf-8"))
    thing = {"@iot.id": 4711, "name": "second page", "Locations": [
        {"location": {"type": "Point", "coordinates": [10.0, 53.55]}}], "Datastreams": [
        {"@iot.id": 1, "name": "noise", "unitOfMeasurement": {"symbol": "dB"}, "Observations": [
            {"phenomenonTime": "2024-06-01T10:00:00Z/2024-06-01T11:00:00Z", "result": None},
            {"phenomenonTime": "2024-06-01T11:00:00Z", "result": 55.5}]}]}
    url = server.add("/hamburg/Things", path)
    server.add(document["@iot.nextLink"], json.dumps({"value": [thing]}))  # only the test server's URL map
    with user_proxy(server.port):  # the user's proxy setting: the test server
        result = run({"SOURCE": url, "TIMEOUT": 5, "RETRIES": 0})
    assert server.requested("http://next")  # the top-level nextLink, as written, through the proxy
    nested_hosts = {link.split("/")[2] for t in document["value"] for link in
                    [ds["Observations@iot.nextLink"] for ds in t["Datastreams"]]}
    assert server.requested(f"CONNECT {nested_hosts.pop()}:443")  # nested https nextLinks: tried as written
    assert result["COMPLETE"] == 0  # they cannot be reached from the test machine
    stations = {f["station_id"]: f for f in result["OUTPUT_STATIONS"].getFeatures()}
    assert set(stations) == {"228", "4711"}
    assert json.loads(stations["228"]["properties"])["footprint"]["type"] == "Polygon"
    observations = list(result["OUTPUT_OBSERVATIONS"].getFeatures())
    streams = document["value"][0]["Datastreams"]
    assert len(observations) == len(streams) + 2
    null = next(f for f in observations if f["station_id"] == "4711" and f["value"] == NULL)
    assert null["raw"] == '{"value":null}'
    assert utc(null["time_end"]) == datetime(2024, 6, 1, 11, tzinfo=UTC)
    hamburg = {f["stream_id"]: f["value"] for f in observations if f["station_id"] == "228"}
    assert hamburg == {str(ds["@iot.id"]): float(ds["Observations"][0]["result"]) for ds in streams}


def test_layers_are_temporal_when_loaded(provider, feed_server):
    project = QgsProject.instance()
    result = processing.runAndLoadResults(ALG, {
        "SOURCE": feed_server.url(STA_PREFIX), "MAX_OBSERVATIONS": 100,
        "OUTPUT_STATIONS": "TEMPORARY_OUTPUT", "OUTPUT_OBSERVATIONS": "TEMPORARY_OUTPUT",
    })
    try:
        observations = project.mapLayer(result["OUTPUT_OBSERVATIONS"])
        stations = project.mapLayer(result["OUTPUT_STATIONS"])
        properties = observations.temporalProperties()
        assert properties.isActive()
        assert properties.mode() == QgsVectorLayerTemporalProperties.ModeFeatureDateTimeStartAndEndFromExpressions
        assert properties.startExpression() == '"time"'
        assert properties.endExpression() == 'coalesce("time_end", "time")'
        assert stations.temporalProperties().isActive()
        assert stations.temporalProperties().endExpression() == '"last_time"'
    finally:
        project.removeAllMapLayers()


# -- other formats, real payloads served by the local server -----------------------------------


@pytest.mark.parametrize(
    ("fmt", "parts", "content_type"),
    [
        (3, ("sensors", "ttn", "ttn_v3_uplinks_dragino_koestler.ndjson"), "application/x-ndjson"),
        (1, ("sensors", "opensensemap", "osem_box_single_apidoc.json"), "application/json"),
        (2, ("sensors", "sensor_community", "sc_archive_2018-07-07_sds011_sensor_15092_abdn.csv"), "text/csv"),
        (5, ("sensors", "opensensemap", "osem_sensor_data_apidoc.csv"), "text/csv"),
    ],
)
def test_other_formats_from_the_server(provider, server, fmt, parts, content_type):
    path = shared_data(*parts)
    url = server.add(f"/feeds/{path.name}", path, content_type)
    result = run({"FORMAT": fmt, "SOURCE": url})
    expected = FORMAT_PARSERS[fmt](path.read_text(encoding="utf-8"), url)
    assert result["N_OBSERVATIONS"] == len(expected.observations) > 0
    assert result["N_STATIONS"] == len(expected.stations)
    assert result["COMPLETE"] == 1
    layer = result["OUTPUT_OBSERVATIONS"]
    got = sorted((f["stream_id"], utc(f["time"]), f["value"] if f["value"] != NULL else None)
                 for f in layer.getFeatures())
    want = sorted((o.stream_id, o.time.replace(microsecond=o.time.microsecond // 1000 * 1000), o.value)
                  for o in expected.observations)
    assert got == want


def test_ttn_sentinel_is_null_with_flag_and_file_source_works(provider):
    path = shared_data("sensors", "ttn", "ttn_v3_uplinks_dragino_koestler.ndjson")
    result = run({"FORMAT": 3, "SOURCE": str(path)})
    probe = [f for f in result["OUTPUT_OBSERVATIONS"].getFeatures() if f["property"] == "TempC_DS"]
    assert probe
    assert all(f["value"] == NULL and f["flag"] == "sentinel" for f in probe)
    assert all("327.67" in f["raw"] for f in probe)
    assert result["N_STATIONS"] == 5
    uri = run({"FORMAT": 3, "SOURCE": path.as_uri()})
    assert uri["N_OBSERVATIONS"] == result["N_OBSERVATIONS"]


def test_sample_town_observations_import_as_csv(provider, tmp_path):
    town = tmp_path / "town.gpkg"
    csv_path = tmp_path / "observations.csv"
    processing.run("socialresilience:createsampletown",
                   {"SEED": 7, "SIZE_KM": 1.0, "OUTPUT": str(town), "OUTPUT_CSV": str(csv_path)})
    source = QgsVectorLayer(f"{town}|layername=observations", "o", "ogr")
    stations = QgsVectorLayer(f"{town}|layername=stations", "s", "ogr")
    total = source.featureCount()
    missing = sum(1 for f in source.getFeatures() if f["value"] == NULL or f["value"] == -999)  # gaps, sentinels
    result = run({"FORMAT": 5, "SOURCE": str(csv_path), "ARCHIVE": str(tmp_path / "archive.gpkg")})
    assert result["COMPLETE"] == 1
    assert result["N_OBSERVATIONS"] == total > 0
    assert values(result["OUTPUT_OBSERVATIONS"], "value").count(None) == missing > 0
    assert result["N_STATIONS"] == stations.featureCount()
    assert result["N_NEW"] == total
    archived = sqlite3.connect(tmp_path / "archive.gpkg").execute("SELECT count(*) FROM observations").fetchone()[0]
    assert archived == total


# -- bad input ---------------------------------------------------------------------------------


def test_bad_input_is_a_clear_error(provider, server, tmp_path):
    ttn = shared_data("sensors", "ttn", "ttn_v3_uplink_gateway_location_bertrik_ttnhabbridge.json")
    server.add("/error.html", "<!DOCTYPE html><html><head><title>Maintenance</title></head></html>", "text/html")
    archive = tmp_path / "a.gpkg"
    cases = [
        ({"SOURCE": "  "}, "SOURCE is empty"),
        ({"SOURCE": "ftp://example.org/feed"}, "http"),
        ({"SOURCE": str(tmp_path / "missing.json")}, "file not found"),
        ({"SOURCE": server.url("/nothing?token=s3cr3t")}, "HTTP 404"),
        ({"SOURCE": "http://reader:s3cr3t@127.0.0.1:1/feed?apikey=s3cr3t", "RETRIES": 0}, "cannot fetch"),
        ({"SOURCE": server.url("/error.html"), "RETRIES": 0}, "HTML"),
        ({"SOURCE": str(ttn)}, "not a SensorThings response.*choose FORMAT 3"),
        ({"SOURCE": server.url(STA_PREFIX), "START": "2024-02-01T00:00:00Z", "END": "2024-01-01T00:00:00Z"}, "END"),
    ]
    for params, message in cases:
        with pytest.raises(QgsProcessingException, match=message) as caught:
            run({**params, "ARCHIVE": str(archive)})
        assert "s3cr3t" not in str(caught.value)
        assert not archive.exists()
    not_gpkg = tmp_path / "notes.gpkg"
    not_gpkg.write_text("my notes")
    with pytest.raises(QgsProcessingException, match="archive"):
        run({"FORMAT": 3, "SOURCE": str(ttn), "ARCHIVE": str(not_gpkg)})
    assert not_gpkg.read_text() == "my notes"


def test_through_qgis_process(qgis_process, feed_server, tmp_path):
    archive = tmp_path / "archive.gpkg"
    report = qgis_process.run_algorithm(ALG, {
        "FORMAT": 0, "SOURCE": feed_server.url(STA_PREFIX), "START": "2024-01-01T10:00:00Z",
        "ARCHIVE": str(archive), "OUTPUT_STATIONS": str(tmp_path / "stations.gpkg"),
        "OUTPUT_OBSERVATIONS": str(tmp_path / "observations.gpkg"),
    }, timeout=300)
    results = report["results"]
    expected = 3 * 2 * (1200 - 600)  # one observation per minute from 10:00
    assert int(results["N_OBSERVATIONS"]) == expected
    assert int(results["N_NEW"]) == expected
    assert int(results["COMPLETE"]) == 1
    assert int(results["N_STATIONS"]) == 3
    layer = QgsVectorLayer(results["OUTPUT_OBSERVATIONS"], "o", "ogr")
    assert layer.featureCount() == expected


def rows_of(layer: QgsVectorLayer) -> list[list]:
    fields = [f.name() for f in layer.fields() if f.name() != "fid"]
    return [[None if f[name] == NULL else utc(f[name]) if name.startswith("time") else f[name] for name in fields]
            for f in layer.getFeatures()]


def test_geopackage_output_written_in_bulk_equals_the_memory_layer(provider, feed_server, tmp_path):
    """A .gpkg output is filled with sqlite3, not feature by feature: same fields, types and values."""
    ttn = shared_data("sensors", "ttn", "ttn_v3_uplinks_dragino_koestler.ndjson")  # sentinels, flags
    feeds = [{"SOURCE": feed_server.url(STA_PREFIX)},  # nulls every 100
             {"SOURCE": feed_server.url(STA_PREFIX + "/Datastreams(1)/Observations?$top=500")},
             {"FORMAT": 3, "SOURCE": str(ttn)}]
    for index, feed in enumerate(feeds):
        gpkg = tmp_path / f"observations_{index}.gpkg"
        memory = run(feed)["OUTPUT_OBSERVATIONS"]
        result = run({**feed, "ARCHIVE": str(tmp_path / f"archive_{index}.gpkg"), "OUTPUT_OBSERVATIONS": str(gpkg)})
        layer = QgsVectorLayer(result["OUTPUT_OBSERVATIONS"], "o", "ogr")
        assert layer.isValid()
        assert [(f.name(), f.type()) for f in layer.fields() if f.name() != "fid"] == [
            (f.name(), f.type()) for f in memory.fields()]
        assert layer.featureCount() == memory.featureCount() == result["N_OBSERVATIONS"] > 0
        written, expected = rows_of(layer), rows_of(memory)
        assert [r[:4] + r[6:] for r in written] == [r[:4] + r[6:] for r in expected]
        with contextlib.closing(sqlite3.connect(gpkg)) as connection:  # the exact text; OGR's own count is right
            table = connection.execute("SELECT table_name FROM gpkg_contents").fetchone()[0]
            times = connection.execute(f'SELECT time, time_end FROM "{table}" ORDER BY fid').fetchall()
            assert connection.execute("SELECT feature_count FROM gpkg_ogr_contents").fetchone()[0] == len(expected)
            assert connection.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND "
                                      "name LIKE 'trigger_insert_feature_count_%'").fetchone()[0] == 1  # back
        assert times == [tuple(None if t is None else t.isoformat(timespec="milliseconds")[:23] + "Z" for t in r[4:6])
                         for r in expected]
        # OGR reads "...53.828Z" as 53.828 float seconds, QGIS may truncate that to .827: 1 ms at most
        assert all(abs(a - b) <= timedelta(milliseconds=1) for w, e in zip(written, expected)
                   for a, b in zip(w[4:6], e[4:6]) if a is not None or b is not None)
    assert any(row[9] == "sentinel" for row in rows_of(memory))


def test_stations_and_observations_into_one_geopackage(provider, feed_server, tmp_path):
    """Both outputs as tables of one GeoPackage (the observations are committed before the stations are written)."""
    gpkg = tmp_path / "outputs.gpkg"
    result = run({"SOURCE": feed_server.url(STA_PREFIX), "MAX_OBSERVATIONS": 5000,
                  "ARCHIVE": str(gpkg.with_name("a.gpkg")),
                  "OUTPUT_STATIONS": f"ogr:dbname='{gpkg}' table=\"stations\" (geom)",
                  "OUTPUT_OBSERVATIONS": f"ogr:dbname='{gpkg}' table=\"observations\""})
    stations = QgsVectorLayer(f"{gpkg}|layername=stations", "s", "ogr")
    observations = QgsVectorLayer(f"{gpkg}|layername=observations", "o", "ogr")
    assert stations.featureCount() == result["N_STATIONS"] == 3
    assert observations.featureCount() == result["N_OBSERVATIONS"] == 5000


def test_credentials_only_through_authcfg(provider, server):
    from qgis.core import QgsApplication, QgsAuthMethodConfig

    manager = QgsApplication.authManager()
    if not manager.masterPasswordIsSet() and not manager.setMasterPassword("test-master-password", True):
        pytest.skip("the QGIS authentication database of this profile has another master password")
    config = QgsAuthMethodConfig("Basic")
    config.setName("sensor feed test")
    config.setConfig("username", "reader")
    config.setConfig("password", "s3cr3t-pw")
    assert manager.storeAuthenticationConfig(config)[0]
    path = shared_data("sensors", "ttn", "ttn_v3_uplinks_sensecap_koestler.ndjson")
    url = server.add("/protected/uplinks.ndjson", path, "application/x-ndjson")
    server.require_basic_auth("/protected", "reader:s3cr3t-pw")
    try:
        with pytest.raises(QgsProcessingException, match=r"HTTP 401.*AUTHCFG"):
            run({"FORMAT": 3, "SOURCE": url, "RETRIES": 0})
        result = run({"FORMAT": 3, "SOURCE": url, "AUTHCFG": config.id()})
    finally:
        manager.removeAuthenticationConfig(config.id())
    assert result["N_OBSERVATIONS"] > 0
    assert result["COMPLETE"] == 1
    assert server.headers[-1]["Authorization"].startswith("Basic ")
