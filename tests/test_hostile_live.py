"""The live dock under issue 23's hostile cases: full archive disks, bad Things and times, bad feed lists, secrets."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from qgis.core import Qgis, QgsApplication, QgsAuthMethodConfig, QgsProject
from qgis.PyQt.QtWidgets import QMessageBox
from social_resilience.core.live.feed_config import FeedConfig, Thresholds
from social_resilience.core.live.feed_state import FeedState
from social_resilience.core.sensors.archive import ArchiveWriter, archive_counts
from social_resilience.core.sensors.model import Observation

from .hostile_helpers import disk_full_after
from .live_helpers import LiveStaServer, wait_until
from .test_live_dock import Broker, mosquitto, uplink, values  # noqa: F401 (the broker fixture)

SECRET_TOKEN = "Zq7vLx2NpR8sKd4Tw9Yc"
SECRET_PASSWORD = "pw-hush-3141"


@pytest.fixture
def dock(qgis_iface, qgis_parent):
    from social_resilience.ui.live_dock import LiveSensorDock

    qgis_iface.messageBar().clear_messages()
    widget = LiveSensorDock(qgis_iface, qgis_parent)
    yield widget
    widget.shutdown()
    QgsProject.instance().removeAllMapLayers()
    QgsProject.instance().removeEntry("SocialResilience", "/live_feeds")


@pytest.fixture
def sta_server():
    server = LiveStaServer({1: 12.0, 2: 30.0, 3: 55.0})
    server.start()
    yield server
    server.stop()


def full_archive(path: Path) -> int:
    """An archive of another feed, large enough that a limit below its size makes every write fail; its size."""
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    with ArchiveWriter(path) as writer:
        writer.add_observations([Observation("x", f"x/{i % 4}", "NO2", "", start + timedelta(minutes=i), 1.0, "{}",
                                             "https://other.example/feed") for i in range(40_000)])
    return path.stat().st_size


def bar_texts(iface) -> list[str]:
    return [str(message) for message in iface.messageBar().get_messages(Qgis.Warning)]


# -- a failed archive write is reported, the layer keeps updating -----------------------------------------


def test_http_feed_keeps_updating_when_the_archive_disk_is_full(dock, sta_server, tmp_path, qgis_iface):
    archive = tmp_path / "live.gpkg"
    size = full_archive(archive)
    before = archive_counts(archive)
    config = FeedConfig(name="NO2", format=0, url=sta_server.url, property="NO2", refresh_s=60,
                        archive_path=str(archive))
    with disk_full_after(size // 2):
        runner = dock.add_feed(config)
        assert wait_until(lambda: runner.task is None and runner.state != FeedState.IDLE and runner.last_outcome
                          is not None, 15), runner.detail
        assert runner.state == FeedState.OK, runner.detail
        assert values(runner.live_layer.layer) == {"1": 12.0, "2": 30.0, "3": 55.0}
        assert "not written" in runner.archive_problem
        assert any("not written" in text for text in bar_texts(qgis_iface))
        sta_server.set_values({1: 14.0})
        runner.refresh()
        assert wait_until(lambda: values(runner.live_layer.layer)["1"] == 14.0, 15)
        assert runner.state == FeedState.OK
    assert archive_counts(archive) == before  # each failed write was rolled back
    sta_server.set_values({2: 31.0})
    runner.refresh()
    assert wait_until(lambda: values(runner.live_layer.layer)["2"] == 31.0 and runner.archive_problem == "", 15)
    assert archive_counts(archive)[1] == before[1] + 3  # room again: the newest value of each station


@pytest.mark.slow
def test_mqtt_feed_keeps_receiving_when_the_archive_disk_is_full(dock, mosquitto, tmp_path, qgis_iface):  # noqa: F811
    archive = tmp_path / "mqtt.gpkg"
    size = full_archive(archive)
    before = archive_counts(archive)
    config = FeedConfig(name="TTN", format=3, transport="mqtt", mqtt_host="127.0.0.1", mqtt_port=mosquitto.port,
                        property="TempC_SHT", thresholds=Thresholds(30.0, 35.0), refresh_s=600,
                        archive_path=str(archive))
    runner = dock.add_feed(config)
    assert wait_until(lambda: runner.state == FeedState.CONNECTED, 10), runner.detail
    layer = runner.live_layer.layer
    now = datetime.now(timezone.utc)
    topic = "v3/srt@ttn/devices/kassel-1/up"
    with disk_full_after(size // 2):
        for step in range(4):  # every message: the write fails, the value arrives
            mosquitto.publish(topic, uplink("kassel-1", 20.0 + step, now + timedelta(seconds=step)))
            assert wait_until(lambda s=step: values(layer).get("kassel-1") == 20.0 + s, 5), runner.detail
        assert wait_until(lambda: "not written" in runner.archive_problem, 5)
        assert runner.mqtt.thread.is_alive()
        assert runner.state == FeedState.CONNECTED
        assert any("not written" in text for text in bar_texts(qgis_iface))
    mosquitto.publish(topic, uplink("kassel-1", 30.5, now + timedelta(seconds=10)))
    assert wait_until(lambda: values(layer).get("kassel-1") == 30.5, 5)

    def archived_values() -> list[float]:
        with contextlib.closing(sqlite3.connect(archive)) as connection:
            return [row[0] for row in connection.execute("SELECT value FROM observations WHERE station_id = ?",
                                                         ("kassel-1",))]

    assert wait_until(lambda: 30.5 in archived_values() and runner.archive_problem == "", 5)  # room again
    archived = archived_values()
    with contextlib.closing(sqlite3.connect(archive)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert set(archived) <= {23.0, 30.5}  # the last one written while the disk was full may come after it
    assert archive_counts(archive) == (before[0] + 1, before[1] + len(archived))


# -- one bad Thing or time -----------------------------------------------------------------------------------


def test_one_bad_thing_and_one_bad_time_are_skipped(dock, sta_server):
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def thing(number, time, **changes):
        item = {"@iot.id": number, "name": f"Station {number}",
                "Locations": [{"location": {"type": "Point", "coordinates": [9.4 + number / 100, 51.3]}}],
                "Datastreams": [{"@iot.id": 100 + number, "ObservedProperty": {"name": "NO2"},
                                 "unitOfMeasurement": {"symbol": "µg/m³"},
                                 "Observations": [{"phenomenonTime": time, "result": 10.0 + number}]}]}
        item.update(changes)
        return item

    wrong_types = [{"@iot.id": 7, "name": "NO2", "ObservedProperty": "NO2", "unitOfMeasurement": [1],
                    "Observations": [{"phenomenonTime": now, "result": 13.0}]}]
    things = [thing(1, now), thing(2, "9999-12-31T23:00:00-14:00"), thing(3, now, Datastreams=wrong_types),
              thing(4, now, Locations="here", Datastreams={"bad": 1}), "not a thing", thing(5, now)]
    sta_server.routes["/bad/v1.1/Things"] = json.dumps({"value": things}).encode()
    url = f"http://127.0.0.1:{sta_server.port}/bad/v1.1/Things"
    runner = dock.add_feed(FeedConfig(name="mixed", format=0, url=url, property="NO2", refresh_s=60))
    assert wait_until(lambda: runner.state in (FeedState.OK, FeedState.ERROR), 10), runner.detail
    assert runner.state == FeedState.OK, runner.detail
    assert values(runner.live_layer.layer) == {"1": 11.0, "3": 13.0, "5": 15.0}
    assert "out of range" in runner.detail
    assert "skipped" in runner.detail


# -- feed lists with hostile numbers ----------------------------------------------------------------------


def feed_list(version: str, refresh: str) -> str:
    return ('{"version": ' + version + ', "feeds": [{"name": "A", "format": 1, "url": "http://127.0.0.1:9/a", '
            '"refresh_s": ' + refresh + '}, {"name": "B", "format": 1, "url": "http://127.0.0.1:9/b", '
            '"mqtt_port": 1e400}, {"name": "C", "format": 5, "url": "http://127.0.0.1:9/c.csv"}]}')


def test_feed_list_with_version_1e400_and_refresh_1_loads_the_good_feeds(dock, tmp_path, qgis_iface):
    path = tmp_path / "feeds.json"
    path.write_text(feed_list("1e400", "1"), encoding="utf-8")
    assert dock.import_feeds(str(path)) == 2  # B's port 1e400 is not a number: left out, named
    configs = {runner.config.name: runner.config for runner in dock.runners.values()}
    assert sorted(configs) == ["A", "C"]
    assert configs["A"].refresh_s == 5  # 1 s is below the minimum
    assert dock.runners[configs["A"].feed_id].timer.interval() == 5000
    warnings = " ".join(bar_texts(qgis_iface))
    assert "Feed 2 left out: mqtt_port must be a whole number" in warnings
    assert "1 s is below the minimum" in warnings


def test_project_entry_with_version_1e400_loads_its_feeds(dock, tmp_path, qgis_iface):
    project = QgsProject.instance()
    project.writeEntry("SocialResilience", "/live_feeds", feed_list("1e400", "1"))
    path = tmp_path / "hostile.qgs"
    assert project.write(str(path))
    project.clear()
    assert dock.runners == {}
    assert project.read(str(path))  # the dock's slot reads the entry
    assert wait_until(lambda: len(dock.runners) == 2, 5)
    assert sorted(runner.config.name for runner in dock.runners.values()) == ["A", "C"]
    assert any("version 1e400" in text or "version inf" in text for text in bar_texts(qgis_iface))


# -- secrets of feed URLs ---------------------------------------------------------------------------------------


@pytest.fixture
def auth_manager():
    manager = QgsApplication.authManager()
    assert manager.masterPasswordIsSet() or manager.setMasterPassword("test-master-password", True)
    before = set(manager.configIds())
    yield manager
    for config_id in set(manager.configIds()) - before:
        manager.removeAuthenticationConfig(config_id)


def secret_feed(server: LiveStaServer) -> FeedConfig:
    box = {"_id": "b1", "name": "Box", "currentLocation": {"coordinates": [9.5, 51.3]},
           "sensors": [{"_id": "s1", "title": "PM10", "unit": "µg/m³",
                        "lastMeasurement": {"value": "12.5", "createdAt": datetime.now(timezone.utc).isoformat()}}]}
    server.routes["/boxes/b1"] = json.dumps(box).encode()
    url = f"http://reader:{SECRET_PASSWORD}@127.0.0.1:{server.port}/boxes/b1?format=json&api_token={SECRET_TOKEN}"
    return FeedConfig(name="senseBox", format=1, url=url, property="PM10")


def saved_texts(tmp_path: Path, dock) -> str:
    path = tmp_path / "secret.qgs"
    assert QgsProject.instance().write(str(path))
    dock.export_feeds(str(tmp_path / "feeds.json"))
    return path.read_text(encoding="utf-8") + (tmp_path / "feeds.json").read_text(encoding="utf-8")


def test_secret_moved_into_an_auth_configuration(dock, sta_server, tmp_path, auth_manager, monkeypatch):
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *args: asked.append(args[2]) or QMessageBox.StandardButton.Yes)
    runner = dock.add_feed(secret_feed(sta_server))
    assert "user and password, api_token" in asked[0]
    assert SECRET_TOKEN not in asked[0]
    assert SECRET_TOKEN not in runner.config.url
    assert SECRET_PASSWORD not in runner.config.url
    assert wait_until(lambda: runner.state == FeedState.OK, 10), runner.detail
    assert values(runner.live_layer.layer) == {"b1": 12.5}
    assert f"api_token={SECRET_TOKEN}" in sta_server.requests[-1]  # filled in from the configuration
    stored = QgsAuthMethodConfig()
    assert auth_manager.loadAuthenticationConfig(runner.config.authcfg, stored, True)
    assert stored.config("username") == "reader"
    assert stored.config("password") == SECRET_PASSWORD
    text = saved_texts(tmp_path, dock)
    assert SECRET_TOKEN not in text
    assert SECRET_PASSWORD not in text
    assert runner.config.authcfg in text
    QgsProject.instance().read(str(tmp_path / "secret.qgs"))  # the saved project works without the secret in it
    assert wait_until(lambda: len(dock.runners) == 1 and next(iter(dock.runners.values())).state == FeedState.OK, 10)


def test_declined_secret_is_used_but_never_saved(dock, sta_server, tmp_path, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *args: QMessageBox.StandardButton.No)
    runner = dock.add_feed(secret_feed(sta_server))
    assert wait_until(lambda: runner.state == FeedState.OK, 10), runner.detail
    assert values(runner.live_layer.layer) == {"b1": 12.5}
    text = saved_texts(tmp_path, dock)
    assert SECRET_TOKEN not in text
    assert SECRET_PASSWORD not in text
    assert "api_token=***" in text
    assert SECRET_TOKEN not in dock.feedTable.item(0, 0).toolTip()
    QgsProject.instance().read(str(tmp_path / "secret.qgs"))
    assert wait_until(lambda: len(dock.runners) == 1 and next(iter(dock.runners.values())).state == FeedState.ERROR, 10)
    assert "api_token of the URL is not stored" in next(iter(dock.runners.values())).detail


# -- a feed of many stations ---------------------------------------------------------------------------------


def many_stations(count: int, step: int) -> bytes:
    moment = (datetime.now(timezone.utc) + timedelta(seconds=step)).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = [f"s{i},Station {i},{5 + (i % 100) * 0.01:.2f},{47 + (i // 100) * 0.01:.2f},NO2,{moment},{(i + step) % 60}"
            for i in range(count)]
    return ("station_id,name,lon,lat,property,time,value\n" + "\n".join(rows) + "\n").encode()


def test_many_stations_never_hold_the_main_thread_long(dock, sta_server):
    """50,000 stations: merged and written in slices between which QGIS's event loop runs (bench: 100,000)."""
    from qgis.PyQt.QtCore import QTimer

    sta_server.routes["/many.csv"] = many_stations(50_000, 0)
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    url = f"http://127.0.0.1:{sta_server.port}/many.csv"
    runner = dock.add_feed(FeedConfig(name="many", format=5, url=url, property="NO2", refresh_s=3600))
    dock.feedTable.selectRow(0)
    assert wait_until(lambda: runner.state == FeedState.OK and not runner.busy, 120), runner.detail
    sta_server.routes["/many.csv"] = many_stations(50_000, 1)
    runner.refresh()
    assert wait_until(lambda: not runner.busy, 120)
    timer.stop()
    assert runner.state == FeedState.OK, runner.detail
    layer = runner.live_layer.layer
    assert layer.featureCount() == 50_000
    assert values(layer)["s7"] == 8.0
    assert dock.station_model.rowCount() == 50_000
    assert [r.name for r in dock.station_model.rows[:3]] == ["Station 0", "Station 1", "Station 2"]
    longest = max(later - earlier for earlier, later in zip(ticks, ticks[1:]))
    assert longest < 0.4, f"the main thread was held {longest * 1000:.0f} ms"
