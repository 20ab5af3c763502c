"""The SensorThings import and live dock against two servers with the same seeded year of data.

``third-party``: django-ogc-sensorthings 1.2.0 from PyPI (Django ORM on SQLite, UUID ids, a root
only at ``…/v1.1/``, ``$top`` at most 100, no ``$orderby=phenomenonTime``, no nested ``$top``);
``canned``: our FROST-style replies of the same data (``DatasetFeed``). Every test here runs
against both; what the expected values are comes from ``tests/sta_thirdparty/dataset.py``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import processing
import pytest
from qgis.core import QgsProcessingException, QgsProject, QgsVectorLayer

from .live_helpers import free_port, wait_until
from .sensor_http_server import DatasetFeed, SensorHttpServer
from .sta_thirdparty import dataset

ALG = "socialresilience:importsensorfeed"
UTC = timezone.utc
WEEK = (datetime(2025, 3, 3, tzinfo=UTC), datetime(2025, 3, 10, tzinfo=UTC))
NO2 = dataset.PROPERTIES[0]


@dataclass
class Service:
    name: str
    root: str  #: with the trailing slash

    def stream_url(self, thing: dataset.SeedThing, prop: dataset.SeedProperty, observations: bool = True) -> str:
        path = f"{self.root}Datastreams('{dataset.datastream_id(thing, prop)}')"
        return path + "/Observations" if observations else path


@pytest.fixture(scope="module", params=["canned", "third-party"])
def service(request):
    if request.param == "third-party":
        server = request.getfixturevalue("thirdparty_sta")
        yield Service("third-party", server.root)
        return
    with SensorHttpServer(lifetime=900, dataset=DatasetFeed()) as server:
        yield Service("canned", server.url(DatasetFeed.prefix + "/"))


def run(params: dict, tmp_path) -> tuple[dict, list[tuple]]:
    """Run the import into a GeoPackage; the result and the observation rows (station, property, unit, time, value)."""
    out = tmp_path / "obs.gpkg"
    result = processing.run(ALG, {"FORMAT": 0, "OUTPUT_STATIONS": "memory:", "OUTPUT_OBSERVATIONS": str(out),
                                  **params})
    with sqlite3.connect(out) as db:
        table = db.execute("SELECT table_name FROM gpkg_contents").fetchone()[0]
        rows = db.execute(f'SELECT station_id, property, unit, time, value FROM "{table}"').fetchall()
    return result, rows


def expected(things: list[dataset.SeedThing], prop: dataset.SeedProperty, start: datetime, end: datetime) -> set:
    return {(dataset.thing_id(thing), prop.name, prop.symbol, dataset.hour_time(hour), dataset.value(index, prop, hour))
            for index, thing in enumerate(dataset.THINGS) if thing in things
            for hour in dataset.hours_between(start, end)}


def as_set(rows: list[tuple]) -> set:
    return {(s, p, u, datetime.fromisoformat(t.replace("Z", "+00:00")).astimezone(UTC), v) for s, p, u, t, v in rows}


@pytest.mark.parametrize("slash", [True, False])
def test_service_root_with_or_without_slash_one_week_of_no2(provider, service, tmp_path, slash):
    source = service.root if slash else service.root.rstrip("/")
    start, end = WEEK
    result, rows = run({"SOURCE": source, "START": start.isoformat(), "END": end.isoformat(), "PROPERTY": "NO2"},
                       tmp_path)
    assert result["COMPLETE"] == 1
    assert result["N_STATIONS"] == 3
    assert as_set(rows) == expected(list(dataset.THINGS), NO2, start, end)
    assert len(rows) == 3 * 169


def test_extent_max_observations_and_archive(provider, service, tmp_path):
    kassel = "9.40,9.60,51.25,51.40 [EPSG:4326]"
    start, end = WEEK
    params = {"SOURCE": service.root, "START": start.isoformat(), "END": end.isoformat(), "EXTENT": kassel,
              "ARCHIVE": str(tmp_path / "archive.gpkg")}
    result, rows = run(params, tmp_path)
    kassel_things = [t for t in dataset.THINGS if t.key.startswith("kassel")]
    want = expected(kassel_things, NO2, start, end) | expected(kassel_things, dataset.PROPERTIES[1], start, end)
    assert result["N_STATIONS"] == 2
    assert result["COMPLETE"] == 1
    assert as_set(rows) == want
    assert result["N_NEW"] == len(want) == 2 * 2 * 169
    again, _rows = run(params, tmp_path)
    assert again["N_NEW"] == 0
    limited, rows = run({**params, "MAX_OBSERVATIONS": 100, "ARCHIVE": ""}, tmp_path)
    assert limited["N_OBSERVATIONS"] == len(rows) == 100
    assert limited["COMPLETE"] == 0
    assert as_set(rows) <= want


def test_datastream_url_pushes_the_window_and_moves_one_week(provider, service, tmp_path):
    from social_resilience.algorithms.sensors.qgis_fetcher import QgisFetcher
    from social_resilience.core.sensors.importer import ImportOptions, stream_feed

    thing = dataset.THINGS[1]
    source = service.stream_url(thing, NO2)
    start, end = WEEK
    result, rows = run({"SOURCE": source, "START": start.isoformat(), "END": end.isoformat(), "PROPERTY": "no2"},
                       tmp_path)
    assert as_set(rows) == expected([thing], NO2, start, end)
    assert result["N_STATIONS"] == 1  # the Datastream's Thing, with its Location

    def moved(hours: float) -> tuple[int, int]:
        options = ImportOptions(source=source, start=start, end=start + timedelta(hours=hours))
        kept: list = []
        summary = stream_feed(options, QgisFetcher(source), kept.extend)
        return len(kept), summary.bytes_received

    one_n, overhead = moved(0.5)  # root, the Datastream's description, a page of one observation
    week_n, week_bytes = moved(7 * 24)
    month_n, month_bytes = moved(28 * 24)
    assert (one_n, week_n, month_n) == (1, 169, 28 * 24 + 1)
    # the window is filtered on the server: four weeks move four times the data of one
    assert 3.5 < (month_bytes - overhead) / (week_bytes - overhead) < 4.5


def test_datastream_url_of_another_property_imports_nothing(provider, service, tmp_path):
    source = service.stream_url(dataset.THINGS[0], dataset.PROPERTIES[1], observations=False)
    result, rows = run({"SOURCE": source, "START": WEEK[0].isoformat(), "PROPERTY": "NO2"}, tmp_path)
    assert rows == []
    assert result["N_OBSERVATIONS"] == 0


@pytest.fixture
def dock(qgis_iface, qgis_parent):
    from social_resilience.ui.live_dock import LiveSensorDock

    widget = LiveSensorDock(qgis_iface, qgis_parent)
    yield widget
    widget.shutdown()
    QgsProject.instance().removeAllMapLayers()
    QgsProject.instance().removeEntry("SocialResilience", "/live_feeds")


def test_live_dock_shows_the_newest_value_of_every_station(service, dock):
    from social_resilience.core.live.feed_config import FeedConfig

    config = FeedConfig(name=f"NO2 {service.name}", format=0, url=service.root.rstrip("/"), property="NO2",
                        stale_after=10_000_000)
    runner = dock.add_feed(config)
    assert wait_until(lambda: runner.state == "ok", 60), runner.detail
    last = dataset.HOURS - 1
    want = {dataset.thing_id(t): dataset.value(i, NO2, last) for i, t in enumerate(dataset.THINGS)}
    assert {k: r.value for k, r in runner.readings.items()} == want
    assert {r.unit for r in runner.readings.values()} == {"µg/m³"}
    assert {r.time for r in runner.readings.values()} == {dataset.hour_time(last)}
    statuses = {k: r.status for k, r in runner.readings.items()}
    thresholds = config.thresholds
    assert statuses == {k: thresholds.classify(v) for k, v in want.items()}
    layer: QgsVectorLayer = runner.live_layer.layer
    assert {f["station_id"]: f["value"] for f in layer.getFeatures()} == want
    reading = runner.readings[dataset.thing_id(dataset.THINGS[0])]
    from social_resilience.core.live.sensorthings_latest import recent_values
    from social_resilience.ui.fetch_task import get_text

    points = recent_values(get_text, config.url, reading.station_id, reading.stream_id, "NO2", "µg/m³", 24)
    assert sorted(points) == [(dataset.hour_time(h), dataset.value(0, NO2, h)) for h in range(last - 23, last + 1)]


# -- canned replies only: what django-ogc-sensorthings 1.2.0 cannot serve ---------------------------
# Its Django backend has no MultiDatastream model or adapter (the extension refuses to start with it)
# and no MQTT; these features are tested against our FROST-style replies of the same data.


def feed(url: str, **changes):
    from social_resilience.core.live.feed_config import FeedConfig

    return FeedConfig(**{"name": "feed", "format": 0, "url": url, "property": "NO2", "stale_after": 10_000_000,
                         **changes})


def test_multidatastream_components_are_properties_with_units_thresholds_and_charts(provider, dock, tmp_path):
    from social_resilience.core.live.sensorthings_latest import recent_values
    from social_resilience.ui.fetch_task import get_text

    multi, last = dataset.MULTI, dataset.HOURS - 1
    pm10 = multi.components[1]
    with SensorHttpServer(lifetime=300, dataset=DatasetFeed()) as server:
        root = server.url(DatasetFeed.prefix)
        runner = dock.add_feed(feed(root, property="PM10"))
        assert wait_until(lambda: runner.state == "ok", 30), runner.detail
        station = dataset.thing_id(dataset.THINGS[multi.thing_index])
        reading = runner.readings[station]
        assert list(runner.readings) == [station]
        assert (reading.property, reading.unit) == ("PM10", "µg/m³")
        assert reading.value == dataset.value(multi.thing_index, pm10, last)
        assert reading.stream_id == f"{dataset.multi_id(multi)}[1]"
        assert (runner.config.thresholds.warn, runner.config.thresholds.alert) == (45.0, 50.0)  # PM10 guideline
        assert reading.status == runner.config.thresholds.classify(reading.value)
        points = recent_values(get_text, root, station, reading.stream_id, "PM10", "µg/m³", 6)
        want = [(dataset.hour_time(h), dataset.value(multi.thing_index, pm10, h)) for h in range(last - 5, last + 1)]
        assert sorted(points) == want
        humidity = dock.add_feed(feed(root, name="humidity", property="Relative humidity"))
        assert wait_until(lambda: humidity.state == "ok", 30), humidity.detail
        assert humidity.readings[station].unit == "%"
        # and the import reads the components too
        _result, rows = run({"SOURCE": root, "PROPERTY": "PM10", "START": WEEK[0].isoformat(),
                             "END": WEEK[1].isoformat()}, tmp_path)
        hours = dataset.hours_between(*WEEK)
        assert as_set(rows) == {(station, "PM10", "µg/m³", dataset.hour_time(h),
                                 dataset.value(multi.thing_index, pm10, h)) for h in hours}
        # ... also from the MultiDatastream's own URL, the window asked of the server
        source = f"{root}/MultiDatastreams('{dataset.multi_id(multi)}')/Observations"
        _result, rows = run({"SOURCE": source, "START": WEEK[0].isoformat(), "END": WEEK[1].isoformat()}, tmp_path)
        assert as_set(rows) == {(station, p.name, p.symbol, dataset.hour_time(h),
                                 dataset.value(multi.thing_index, p, h)) for p in multi.components for h in hours}
        assert any("MultiDatastreams(" in r and "phenomenonTime%20ge" in r for r in server.requested("/Observations"))


@pytest.fixture
def broker(tmp_path):
    from .test_live_dock import Broker

    pytest.importorskip("paho.mqtt.client", reason="paho-mqtt is not installed (Debian package python3-paho-mqtt)")
    import shutil

    instance = Broker(shutil.which("mosquitto") or "/usr/sbin/mosquitto", free_port(), tmp_path)
    instance.start()
    yield instance
    instance.stop()


def test_mqtt_push_when_the_service_offers_it(dock, broker, tmp_path):
    import json

    from social_resilience.core.live.feed_state import FeedState
    from social_resilience.core.sensors.archive import archive_counts

    archive = tmp_path / "live.gpkg"
    with SensorHttpServer(lifetime=300, dataset=DatasetFeed(mqtt_endpoint=f"mqtt://127.0.0.1:{broker.port}")) as server:
        root = server.url(DatasetFeed.prefix)
        runner = dock.add_feed(feed(root, archive_path=str(archive)))
        assert wait_until(lambda: runner.state == FeedState.CONNECTED, 30), runner.detail
        assert runner.pushing
        polled = len(server.requested("/Things"))
        archived = archive_counts(str(archive))[1]
        thing = dataset.THINGS[1]
        station = dataset.thing_id(thing)
        moment = datetime.now(UTC).replace(microsecond=0)
        topic = f"v1.1/Datastreams('{dataset.datastream_id(thing, NO2)}')/Observations"
        broker.publish(topic, json.dumps({"phenomenonTime": moment.isoformat(), "result": 61.5}).encode())
        layer = runner.live_layer.layer
        assert wait_until(lambda: {f["station_id"]: f["value"] for f in layer.getFeatures()}[station] == 61.5, 10)
        assert runner.readings[station].status == "alert"
        assert runner.readings[station].time == moment
        runner._tick()  # the timer while pushing: no poll
        assert len(server.requested("/Things")) == polled
        assert wait_until(lambda: archive_counts(str(archive))[1] == archived + 1, 10)  # the pushed one
        broker.stop()  # the broker goes away: back to polling
        assert wait_until(lambda: runner.state == FeedState.OK and not runner.pushing, 30), runner.detail
        assert "polling" in runner.detail
        runner._tick()
        assert wait_until(lambda: len(server.requested("/Things")) > polled, 10)


def test_no_mqtt_offered_means_polling(service, dock):
    runner = dock.add_feed(feed(service.root))
    assert wait_until(lambda: runner.state == "ok", 60), runner.detail
    assert runner.mqtt is None
    assert not runner.pushing


def test_sensorthings_2_service_root_import_and_dock(provider, dock, tmp_path):
    feed_v2 = DatasetFeed(version="v2.0")
    with SensorHttpServer(lifetime=300, dataset=feed_v2) as server:
        root = server.url(feed_v2.prefix)
        start, end = WEEK
        result, rows = run({"SOURCE": root, "START": start.isoformat(), "END": end.isoformat(), "PROPERTY": "NO2"},
                           tmp_path)
        assert as_set(rows) == expected(list(dataset.THINGS), NO2, start, end)  # unit from the resultType
        assert result["COMPLETE"] == 1  # the refused record is not NO2: nothing missing
        everything, _rows = run({"SOURCE": root, "START": start.isoformat(), "END": end.isoformat()}, tmp_path)
        assert everything["N_OBSERVATIONS"] == 2 * 3 * 169
        assert everything["COMPLETE"] == 0  # the DataRecord Datastream was refused, by name
        multi_url = f"{root}/MultiDatastreams('{dataset.multi_id(dataset.MULTI)}')/Observations"
        with pytest.raises(QgsProcessingException, match=r"SensorThings 2\.0 has no MultiDatastreams"):
            run({"SOURCE": multi_url, "START": start.isoformat()}, tmp_path)
        runner = dock.add_feed(feed(root))
        assert wait_until(lambda: runner.state == "ok", 30), runner.detail
        last = dataset.HOURS - 1
        assert {k: (r.value, r.unit) for k, r in runner.readings.items()} == {
            dataset.thing_id(t): (dataset.value(i, NO2, last), "µg/m³") for i, t in enumerate(dataset.THINGS)}
        assert "DataRecord" in runner.detail  # the refused Datastream is named in the feed's status


def test_sensorthings_2_unsupported_datastream_is_named_in_the_import_warning():
    import json

    from social_resilience.core.sensors import sensorthings as sta
    from social_resilience.core.sensors.fetch import MemoryFetcher
    from social_resilience.core.sensors.importer import ImportOptions, import_feed

    root = "http://sta.test/v2.0"
    thing = {"@iot.id": 1, "name": "t", "Datastreams": [
        {"@iot.id": 5, "name": "weather record", "resultType": {"type": "DataRecord", "fields": []}}]}
    fetcher = MemoryFetcher({root: json.dumps({"value": [{"name": "Things"}]}).encode(),
                             sta.things_query(root): json.dumps({"value": [thing]}).encode()})
    result = import_feed(ImportOptions(source=root), fetcher)
    assert result.observations == []
    assert not result.complete
    assert any("'weather record'" in w and "DataRecord" in w and "not supported" in w for w in result.warnings)
