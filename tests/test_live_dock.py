"""The live-sensor dock driven through its widgets: HTTP feeds, outages, MQTT, threads, project, unload."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from qgis.core import Qgis, QgsApplication, QgsProject
from qgis.PyQt.QtCore import Qt, QThread, QTimer
from qgis.PyQt.QtGui import QColor, QFontMetricsF
from qgis.PyQt.QtTest import QTest
from qgis.PyQt.QtWidgets import QApplication
from social_resilience.algorithms.qt_compat import FieldType
from social_resilience.core.live.feed_config import FeedConfig, Thresholds
from social_resilience.core.live.feed_state import FeedState
from social_resilience.core.sensors.archive import archive_counts

from .conftest import shared_data
from .live_helpers import LiveStaServer, free_port, wait_until

LOG_TAG = "Social Resilience"


@pytest.fixture
def sta_server():
    server = LiveStaServer({1: 12.0, 2: 30.0, 3: 55.0})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def dock(qgis_iface, qgis_parent):
    from social_resilience.ui.live_dock import LiveSensorDock

    widget = LiveSensorDock(qgis_iface, qgis_parent)
    yield widget
    widget.shutdown()
    QgsProject.instance().removeAllMapLayers()
    QgsProject.instance().removeEntry("SocialResilience", "/live_feeds")


@pytest.fixture
def message_log():
    messages: list[tuple[str, str]] = []

    def record(message, tag, _level):
        messages.append((tag, message))

    QgsApplication.messageLog().messageReceived.connect(record)
    yield messages
    QgsApplication.messageLog().messageReceived.disconnect(record)


@pytest.fixture
def mosquitto(tmp_path):
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).is_file():
        pytest.skip("the mosquitto broker is not installed (Debian package mosquitto)")
    pytest.importorskip("paho.mqtt.client", reason="paho-mqtt is not installed (Debian package python3-paho-mqtt)")
    broker = Broker(binary, free_port(), tmp_path)
    broker.start()
    yield broker
    broker.stop()


class Broker:
    """A real mosquitto on 127.0.0.1 that the test can stop and start again on the same port."""

    def __init__(self, binary: str, port: int, folder: Path) -> None:
        self.binary, self.port = binary, port
        self.config = folder / "mosquitto.conf"
        self.config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(5)
            self.process = None

    def publish(self, topic: str, payload: bytes) -> None:
        import paho.mqtt.publish as publish

        publish.single(topic, payload, hostname="127.0.0.1", port=self.port)


def features(layer):
    return {f["station_id"]: f for f in layer.getFeatures()}


def values(layer):
    return {key: feature["value"] for key, feature in features(layer).items()}


def statuses(layer):
    return {key: feature["status"] for key, feature in features(layer).items()}


def feed_row_status(dock, feed_id):
    row = dock._row_of(feed_id)
    item = dock.feedTable.item(row, 3)
    return item.text(), item.toolTip()


def click(widget):
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton)


def when_dialog_open(handler, timeout_s=5.0):
    """Run ``handler(dialog)`` once the modal feed dialog is shown (it blocks the test otherwise)."""
    deadline = time.monotonic() + timeout_s

    def poll():
        dialog = QApplication.activeModalWidget()
        if dialog is not None and dialog.objectName() == "SocialResilienceFeedDialog":
            handler(dialog)
        elif time.monotonic() < deadline:
            QTimer.singleShot(20, poll)

    QTimer.singleShot(20, poll)


def sta_feed(server, **changes):
    settings = {"name": "NO2 Kassel", "format": 0, "url": server.url, "property": "NO2", "refresh_s": 60}
    return FeedConfig(**{**settings, **changes})


# -- HTTP -------------------------------------------------------------------------------------------


def test_feed_added_through_the_dialog_follows_the_server(dock, sta_server):
    seen = {}

    def fill(dialog):
        from qgis.PyQt.QtWidgets import QDialogButtonBox

        ok = dialog.buttonBox.button(QDialogButtonBox.StandardButton.Ok)
        click(ok)  # nothing entered: refused with a reason, the dialog stays open
        seen["refusal"] = dialog.messageLabel.text()
        seen["still_open"] = dialog.isVisible()
        QTest.keyClicks(dialog.nameEdit, "NO2 Kassel")
        dialog.formatCombo.setCurrentIndex(dialog.formatCombo.findData(0))
        QTest.keyClicks(dialog.urlEdit, sta_server.url)
        QTest.keyClicks(dialog.propertyEdit, "NO2")
        dialog.presetCombo.setCurrentIndex(dialog.presetCombo.findData("no2"))
        seen["limits"] = (dialog.warnEdit.text(), dialog.alertEdit.text())
        seen["refresh"] = dialog.refreshSpin.value()
        click(ok)

    when_dialog_open(fill)
    click(dock.addButton)
    assert "needs a name" in seen["refusal"]
    assert "needs a URL" in seen["refusal"]
    assert seen["still_open"]
    assert seen["limits"] == ("25", "40")
    assert seen["refresh"] == 60
    (runner,) = dock.runners.values()
    assert runner.config.thresholds == Thresholds(25.0, 40.0)
    assert wait_until(lambda: runner.state == "ok", 10), runner.detail
    layer = runner.live_layer.layer
    assert QgsProject.instance().mapLayer(layer.id()) is layer
    assert layer.crs().authid() == "EPSG:4326"
    assert [f.name() for f in layer.fields()] == [
        "station_id", "name", "value", "unit", "time", "status", "property", "value_text"
    ]
    assert values(layer) == {"1": 12.0, "2": 30.0, "3": 55.0}
    assert statuses(layer) == {"1": "ok", "2": "warn", "3": "alert"}
    row = features(layer)["2"]
    assert (row["unit"], row["property"], row["name"]) == ("µg/m³", "NO2", "Station 2")
    sent = sta_server.history[2][-1][0]
    assert row["time"].toMSecsSinceEpoch() == int(sent.timestamp() * 1000)  # QDateTime, UTC
    assert row.geometry().asPoint().x() == pytest.approx(sta_server.position(2)[0])
    assert len([r for r in sta_server.requests if "/Things" in r]) == 2  # two pages: the nextLink was followed
    assert dock.feedTable.item(0, 1).text() == "3"
    assert dock.station_model.rowCount() == 3
    dock.stationView.sortByColumn(1, Qt.SortOrder.DescendingOrder)
    assert [r.value for r in dock.station_model.rows] == [55.0, 30.0, 12.0]
    assert dock.station_model.index(0, 4).data(Qt.ItemDataRole.DisplayRole) == "alert"
    fids = {k: f.id() for k, f in features(layer).items()}

    sta_server.set_values({2: 45.0})
    click(dock.refreshButton)
    assert wait_until(lambda: values(layer)["2"] == 45.0, 10)
    assert runner.last_counts.changed == 1
    assert runner.last_counts.added == 0
    assert statuses(layer)["2"] == "alert"
    assert {k: f.id() for k, f in features(layer).items()} == fids  # updated in place
    assert runner.live_layer.layer is layer
    assert len(QgsProject.instance().mapLayers()) == 1

    sta_server.set_values({4: 5.0})
    click(dock.refreshButton)
    assert wait_until(lambda: "4" in values(layer), 10)
    assert runner.last_counts.added == 1
    assert runner.last_counts.changed == 0


def test_timer_refreshes_without_a_click(dock, sta_server):
    runner = dock.add_feed(sta_feed(sta_server, refresh_s=1))
    assert wait_until(lambda: runner.state == "ok", 10), runner.detail
    layer = runner.live_layer.layer
    for value in (20.0, 41.0):
        sta_server.set_values({1: value})
        assert wait_until(lambda value=value: values(layer)["1"] == value, 5)
    assert statuses(layer)["1"] == "alert"


def test_opensensemap_box_through_its_parser(dock, sta_server):
    box = json.loads(shared_data("sensors", "opensensemap", "osem_box_single_apidoc.json").read_text(encoding="utf-8"))
    path = f"/boxes/{box['_id']}"
    sta_server.routes[path] = json.dumps(box).encode()
    url = f"http://127.0.0.1:{sta_server.port}{path}"
    runner = dock.add_feed(FeedConfig(name="senseBox", format=1, url=url, property="Temperatur"))
    assert runner.config.refresh_s == 300
    assert wait_until(lambda: runner.state == "ok", 10), runner.detail
    layer = runner.live_layer.layer
    row = features(layer)[box["_id"]]
    assert (row["value"], row["unit"], row["name"]) == (0.21, "°C", "Oststr/Mauritzsteinpfad")
    assert row["status"] == "stale"  # lastMeasurement of 2016
    temperature = next(s for s in box["sensors"] if s["title"] == "Temperatur")
    temperature["lastMeasurement"] = {"value": "33.4", "createdAt": datetime.now(timezone.utc).isoformat()}
    sta_server.routes[path] = json.dumps(box).encode()
    click(dock.refreshButton)
    assert wait_until(lambda: values(layer)[box["_id"]] == 33.4, 10)
    assert statuses(layer)[box["_id"]] == "warn"  # heat: DWD 32 °C


def bar_warnings(iface):
    return list(iface.messageBar().get_messages(Qgis.Warning))


def test_server_down_and_back_keeps_values(dock, sta_server, message_log, qgis_iface):
    qgis_iface.messageBar().clear_messages()
    runner = dock.add_feed(sta_feed(sta_server))
    assert wait_until(lambda: runner.state == "ok", 10), runner.detail
    layer = runner.live_layer.layer
    before = values(layer)

    sta_server.stop()
    click(dock.refreshButton)
    assert wait_until(lambda: runner.state == "error", 10)
    text, tooltip = feed_row_status(dock, runner.feed_id)
    host = f"127.0.0.1:{sta_server.port}"
    assert text.startswith(f"error: cannot fetch {host}")
    assert "http://" not in text
    assert "keeping the values of" in tooltip
    cause = text.removeprefix("error: ").removesuffix("…")
    assert tooltip.startswith(cause)  # the cause first, the URL last
    status_item = dock.feedTable.item(dock._row_of(runner.feed_id), 3)
    assert status_item.data(Qt.ItemDataRole.DecorationRole) == QColor("#d7191c")  # red mark, visible when selected
    assert tooltip.rsplit(" — ", 1)[1].startswith(f"http://{host}")
    assert values(layer) == before
    assert any(tag == LOG_TAG and "NO2 Kassel" in message for tag, message in message_log)
    warnings = bar_warnings(qgis_iface)
    assert len(warnings) == 1, warnings
    title, body = warnings[0].split(":", 1)
    assert title == "Live feed NO2 Kassel"
    assert body.split(" — ")[0] == tooltip.split(" — ")[0]  # the readable cause first ...
    assert body.rsplit(" — ", 1)[1].startswith(f"http://{host}")  # ... the URL last

    click(dock.refreshButton)  # still down: the state stays "error", no second message
    assert wait_until(lambda: runner.state == "fetching", 5) or runner.state == "error"
    assert wait_until(lambda: runner.state == "error" and runner.task is None, 10)
    assert len(bar_warnings(qgis_iface)) == 1

    sta_server.set_values({1: 27.0})
    sta_server.start()
    click(dock.refreshButton)
    assert wait_until(lambda: runner.state == "ok", 10), runner.detail
    assert values(layer)["1"] == 27.0
    assert statuses(layer)["1"] == "warn"
    assert feed_row_status(dock, runner.feed_id)[0] == "ok"
    assert any(tag == LOG_TAG and "working again" in message for tag, message in message_log)
    assert len(bar_warnings(qgis_iface)) == 1

    sta_server.mode = "401"  # a new error after recovery is a new state change: one more message
    click(dock.refreshButton)
    assert wait_until(lambda: runner.state == "error", 10)
    warnings = bar_warnings(qgis_iface)
    assert len(warnings) == 2, warnings
    assert warnings[1].split(":", 1)[1].startswith("HTTP 401")


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("401", "HTTP 401"), ("malformed", "not valid JSON"), ("html", "HTML page")],
)
def test_bad_answers_show_in_the_row_and_keep_values(dock, sta_server, message_log, mode, expected):
    runner = dock.add_feed(sta_feed(sta_server))
    assert wait_until(lambda: runner.state == "ok", 10), runner.detail
    layer = runner.live_layer.layer
    sta_server.mode = mode
    sta_server.set_values({1: 99.0})
    click(dock.refreshButton)
    assert wait_until(lambda: runner.state == "error", 10)
    assert expected in feed_row_status(dock, runner.feed_id)[1]
    assert values(layer)["1"] == 12.0
    assert any(expected in message for _tag, message in message_log)
    sta_server.mode = "ok"
    click(dock.refreshButton)
    assert wait_until(lambda: values(layer)["1"] == 99.0, 10)


def test_fetch_and_parse_run_off_the_main_thread(dock, sta_server, monkeypatch):
    from social_resilience.ui import fetch_task

    seen = []
    real_parse = fetch_task.parse_latest_page

    def recording_parse(text, source):
        seen.append((threading.get_ident(), QThread.currentThread()))
        return real_parse(text, source)

    monkeypatch.setattr(fetch_task, "parse_latest_page", recording_parse)
    runner = dock.add_feed(sta_feed(sta_server))
    assert wait_until(lambda: runner.state == "ok", 10), runner.detail
    main_ident, main_thread = threading.get_ident(), QThread.currentThread()
    assert len(seen) == 2
    assert all(ident != main_ident and thread is not main_thread for ident, thread in seen)
    outcome = runner.last_outcome
    assert outcome.fetch_thread not in (0, main_ident)
    assert outcome.parse_thread not in (0, main_ident)


def test_refresh_does_not_block_the_gui_with_a_slow_server(dock, sta_server):
    runner = dock.add_feed(sta_feed(sta_server))
    assert wait_until(lambda: runner.state == "ok", 10)
    sta_server.delay_s = 1.0
    sta_server.set_values({1: 13.0})
    started = time.perf_counter()
    click(dock.refreshButton)
    assert time.perf_counter() - started < 0.2  # the click returns at once
    assert runner.state == "fetching"
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(10)
    assert wait_until(lambda: runner.state == "ok", 10)
    timer.stop()
    assert len(ticks) > 50  # the event loop kept running during the 1 s request
    assert max(b - a for a, b in zip(ticks, ticks[1:])) < 0.25


def test_chart_shows_recent_values_with_threshold_lines(dock, sta_server):
    now = datetime.now(timezone.utc)
    for minutes, value in ((30, 18.0), (20, 26.0), (10, 33.0)):
        sta_server.set_values({2: value}, now - timedelta(minutes=minutes))
    runner = dock.add_feed(sta_feed(sta_server))
    assert wait_until(lambda: runner.state == "ok", 10)
    dock.stationView.selectRow(dock.station_model.row_of("2"))
    assert wait_until(lambda: len(dock.chart.points) == 4, 10)  # Datastream history fetched in a task
    assert [v for _, v in dock.chart.points] == [18.0, 26.0, 33.0, 30.0]
    assert "from the server" in dock.chart.title
    assert (dock.chart.thresholds.warn, dock.chart.thresholds.alert) == (25.0, 40.0)
    assert dock.chart.value_ticks() == [15.0, 20.0, 25.0, 30.0, 35.0, 40.0]  # 18 to 40 on steps of 5
    image = dock.chart.grab().toImage()
    assert image.width() > 0
    assert image.height() > 0
    sta_server.set_values({2: 38.0})
    click(dock.refreshButton)
    assert wait_until(lambda: dock.chart.points[-1][1] == 38.0, 10)  # the live value joins the chart


def test_archive_is_written_and_feeds_the_chart(dock, sta_server, tmp_path):
    archive = tmp_path / "live.gpkg"
    runner = dock.add_feed(sta_feed(sta_server, archive_path=str(archive)))
    assert wait_until(lambda: runner.state == "ok", 10)
    assert archive_counts(archive) == (3, 3)
    sta_server.set_values({1: 14.0, 3: 56.0})
    click(dock.refreshButton)
    assert wait_until(lambda: values(runner.live_layer.layer)["1"] == 14.0, 10)
    assert archive_counts(archive) == (3, 5)
    click(dock.refreshButton)  # nothing new: nothing duplicated
    assert wait_until(lambda: runner.task is None and runner.state == "ok", 10)
    assert archive_counts(archive) == (3, 5)
    dock.stationView.selectRow(dock.station_model.row_of("3"))
    assert wait_until(lambda: "archive" in dock.chart.title, 10)
    assert [v for _, v in dock.chart.points] == [55.0, 56.0]


@pytest.mark.parametrize(
    ("low", "high", "ticks"),
    [
        (18.0, 40.0, [15, 20, 25, 30, 35, 40]),
        (0.3, 9.7, [0, 2, 4, 6, 8, 10]),
        (0.012, 0.047, [0.01, 0.02, 0.03, 0.04, 0.05]),
        (-3.0, 3.0, [-4, -2, 0, 2, 4]),
        (996.0, 1013.0, [995, 1000, 1005, 1010, 1015]),
        (0.0, 1.0, [0, 0.2, 0.4, 0.6, 0.8, 1]),
    ],
)
def test_chart_ticks_fall_on_nice_numbers(low, high, ticks):
    from social_resilience.ui.series_chart import nice_ticks

    assert nice_ticks(low, high) == pytest.approx(ticks)


def test_chart_title_fits_the_widget(qgis_parent):
    from social_resilience.ui.series_chart import SeriesChart

    chart = SeriesChart(qgis_parent)
    chart.resize(220, 160)
    now = datetime.now(timezone.utc)
    name = "Messstation Kassel-Wilhelmshöhe, Tannenkuppenstraße (Hintergrund)"
    chart.set_series([(now, 9.0)], Thresholds(25.0, 40.0), f"{name}: NO2", "µg/m³", "since the dock opened")
    metrics = QFontMetricsF(chart.chart_font())
    assert metrics.horizontalAdvance(chart.title) > chart.width()  # long enough to be cut
    assert metrics.horizontalAdvance(chart.shown_title()) <= chart.width() - 12
    assert chart.shown_title().startswith("Messstation")
    assert chart.shown_title().endswith("…")
    assert chart.toolTip() == chart.title
    chart.resize(2000, 160)
    assert chart.shown_title() == chart.title
    assert not chart.grab().toImage().isNull()


def test_table_and_map_show_the_same_value_text(dock, sta_server):
    sta_server.set_values({1: 9.0, 2: 30.25, 3: 0.456})
    runner = dock.add_feed(sta_feed(sta_server))
    assert wait_until(lambda: runner.state == "ok", 10), runner.detail
    layer = runner.live_layer.layer
    label_settings = layer.labeling().settings()
    assert label_settings.fieldName == "value_text"
    assert not label_settings.isExpression
    in_table = {
        reading.station_id: dock.station_model.index(row, 1).data(Qt.ItemDataRole.DisplayRole)
        for row, reading in enumerate(dock.station_model.rows)
    }
    on_map = {key: feature["value_text"] for key, feature in features(layer).items()}
    assert in_table == on_map == {"1": "9", "2": "30.2", "3": "0.46"}


# -- project, import and export -------------------------------------------------------------------------


def test_feeds_are_saved_in_the_project_and_adopted_on_read(dock, sta_server, tmp_path):
    runner = dock.add_feed(sta_feed(sta_server))
    assert wait_until(lambda: runner.state == "ok", 10)
    feed_id = runner.feed_id
    path = tmp_path / "live.qgs"
    assert QgsProject.instance().write(str(path))
    QgsProject.instance().clear()
    assert dock.runners == {}
    assert dock.feedTable.rowCount() == 0
    assert QgsProject.instance().read(str(path))
    assert wait_until(lambda: feed_id in dock.runners and dock.runners[feed_id].state == "ok", 10)
    (layer,) = QgsProject.instance().mapLayers().values()  # adopted, not duplicated
    assert dock.runners[feed_id].live_layer.layer is layer
    assert values(layer) == {"1": 12.0, "2": 30.0, "3": 55.0}
    assert dock.feedTable.item(0, 0).text() == "NO2 Kassel"


def test_export_and_import(dock, sta_server, tmp_path):
    runner = dock.add_feed(sta_feed(sta_server, authcfg="abc1234"))
    path = tmp_path / "feeds.json"
    dock.export_feeds(str(path))
    exported = json.loads(path.read_text(encoding="utf-8"))
    assert exported["feeds"][0]["url"] == sta_server.url
    assert exported["feeds"][0]["authcfg"] == "abc1234"
    assert dock.import_feeds(str(path)) == 1
    assert len(dock.runners) == 2
    imported = next(r for r in dock.runners.values() if r is not runner)
    assert imported.feed_id != runner.feed_id
    assert imported.config.url == sta_server.url
    assert wait_until(lambda: imported.state == "error", 10)  # the authcfg does not exist here
    assert "authentication configuration abc1234 could not be applied" in imported.detail, imported.detail
    assert len(QgsProject.instance().mapLayers()) == 2


def test_edit_and_remove_through_the_buttons(dock, sta_server, monkeypatch):
    from qgis.PyQt.QtWidgets import QDialogButtonBox, QMessageBox

    runner = dock.add_feed(sta_feed(sta_server))
    assert wait_until(lambda: runner.state == "ok", 10)
    layer = runner.live_layer.layer
    dock.feedTable.selectRow(0)

    def edit(dialog):
        assert dialog.nameEdit.text() == "NO2 Kassel"
        assert dialog.urlEdit.text() == sta_server.url
        dialog.nameEdit.setText("NO2 Kassel Mitte")
        dialog.alertEdit.setText("50")
        click(dialog.buttonBox.button(QDialogButtonBox.StandardButton.Ok))

    when_dialog_open(edit)
    click(dock.editButton)
    assert runner.config.name == "NO2 Kassel Mitte"
    assert runner.config.thresholds == Thresholds(25.0, 50.0)
    assert wait_until(lambda: runner.state == "ok", 10)
    assert statuses(layer)["3"] == "alert"
    assert statuses(layer)["2"] == "warn"
    sta_server.set_values({3: 45.0})
    click(dock.refreshButton)
    assert wait_until(lambda: statuses(layer)["3"] == "warn", 10)  # 45 < new alert threshold 50
    assert layer.name() == "NO2 Kassel Mitte (live)"
    assert runner.live_layer.layer is layer
    assert dock.feedTable.item(0, 0).text() == "NO2 Kassel Mitte"
    saved = QgsProject.instance().readEntry("SocialResilience", "/live_feeds")[0]
    assert json.loads(saved)["feeds"][0]["thresholds"] == {"warn": 25.0, "alert": 50.0}

    monkeypatch.setattr(QMessageBox, "question", lambda *_args: QMessageBox.StandardButton.Yes)
    click(dock.removeButton)
    assert dock.runners == {}
    assert dock.feedTable.rowCount() == 0
    assert QgsProject.instance().mapLayers() == {}
    assert not runner.timer.isActive()


def test_removing_the_layer_pauses_the_feed(dock, sta_server):
    runner = dock.add_feed(sta_feed(sta_server, refresh_s=1))
    assert wait_until(lambda: runner.state == "ok", 10)
    QgsProject.instance().removeMapLayer(runner.live_layer.layer.id())
    assert runner.state == "paused"
    assert not runner.timer.isActive()
    assert runner.live_layer is None
    dock.feedTable.selectRow(0)
    click(dock.pauseButton)  # paused -> resume: a new layer
    click(dock.pauseButton)
    assert wait_until(lambda: runner.live_layer is not None and runner.state == "ok", 10), runner.state
    assert len(features(runner.live_layer.layer)) == 3


# -- MQTT -------------------------------------------------------------------------------------------


def test_feed_dialog_switches_between_http_and_mqtt(qgis_parent):
    from social_resilience.ui.feed_dialog import FeedDialog

    dialog = FeedDialog(None, qgis_parent)
    dialog.show()
    assert not dialog.transportCombo.isEnabled()  # SensorThings: HTTP only
    dialog.formatCombo.setCurrentIndex(dialog.formatCombo.findData(3))
    assert dialog.transportCombo.isEnabled()
    assert dialog.refreshSpin.value() == 300
    dialog.transportCombo.setCurrentIndex(dialog.transportCombo.findData("mqtt"))
    assert dialog.mqttHostEdit.isVisible()
    assert not dialog.urlEdit.isVisible()
    assert dialog.mqttTopicEdit.text() == "v3/+/devices/+/up"
    assert dialog.refreshLabel.text() == "Expected every"
    dialog.nameEdit.setText("TTN")
    dialog.mqttHostEdit.setText("eu1.cloud.thethings.network")
    dialog.mqttPortSpin.setValue(8883)
    dialog.mqttTlsCheck.setChecked(True)
    config = dialog.config()
    assert (config.transport, config.format, config.mqtt_port, config.mqtt_tls) == ("mqtt", 3, 8883, True)
    assert config.problems() == []
    dialog.formatCombo.setCurrentIndex(dialog.formatCombo.findData(1))  # openSenseMap: back to HTTP
    assert dialog.transportCombo.currentData() == "http"
    assert not dialog.transportCombo.isEnabled()
    assert dialog.urlEdit.isVisible()
    dialog.close()
    dialog.deleteLater()



def uplink(device: str, value: float, moment: datetime, lon: float | None = None, lat: float | None = None) -> bytes:
    message = {
        "end_device_ids": {"device_id": device, "application_ids": {"application_id": "srt"}},
        "received_at": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "uplink_message": {"f_port": 2, "decoded_payload": {"TempC_SHT": value}, "received_at": moment.isoformat()},
    }
    if lon is not None:
        user = {"latitude": lat, "longitude": lon, "source": "SOURCE_REGISTRY"}
        message["uplink_message"]["locations"] = {"user": user}
    return json.dumps(message).encode()


def mqtt_feed(broker, **changes):
    settings = {
        "name": "TTN", "format": 3, "transport": "mqtt", "mqtt_host": "127.0.0.1", "mqtt_port": broker.port,
        "property": "TempC_SHT", "thresholds": Thresholds(30.0, 35.0), "refresh_s": 600,
    }
    return FeedConfig(**{**settings, **changes})


@pytest.mark.slow
def test_mqtt_uplinks_update_the_layer(dock, mosquitto):
    runner = dock.add_feed(mqtt_feed(mosquitto))
    assert wait_until(lambda: runner.state == "connected", 10), runner.detail
    layer = runner.live_layer.layer
    lines = shared_data("sensors", "ttn", "ttn_v3_uplinks_dragino_koestler.ndjson").read_text().splitlines()
    expected = {}
    for line in lines:
        device = json.loads(line)["end_device_ids"]["device_id"]
        mosquitto.publish(f"v3/piegn@ttn/devices/{device}/up", line.encode())
        temperature = json.loads(line)["uplink_message"]["decoded_payload"].get("TempC_SHT")
        if temperature is not None:
            expected[device] = temperature
            assert wait_until(lambda d=device, t=temperature: values(layer).get(d) == t, 5), device
    assert values(layer) == expected == {"lht52-temp-0": 28.77, "lsn50-temp-2": 22.1, "lht52-temp-1": 29.23}
    assert set(statuses(layer).values()) == {"stale"}  # captured in 2022

    now = datetime.now(timezone.utc)
    topic = "v3/srt@ttn/devices/kassel-1/up"
    mosquitto.publish(topic, uplink("kassel-1", 31.5, now, 9.49, 51.31))
    assert wait_until(lambda: values(layer).get("kassel-1") == 31.5, 5)
    feature = features(layer)["kassel-1"]
    assert feature["status"] == "warn"
    assert (feature.geometry().asPoint().x(), feature.geometry().asPoint().y()) == (9.49, 51.31)
    mosquitto.publish(topic, uplink("kassel-1", 36.0, now + timedelta(seconds=1)))
    assert wait_until(lambda: values(layer).get("kassel-1") == 36.0, 5)
    assert features(layer)["kassel-1"]["status"] == "alert"
    assert features(layer)["kassel-1"].geometry().asPoint().x() == 9.49  # position kept
    mosquitto.publish(topic, uplink("kassel-1", 20.0, now - timedelta(minutes=5)))  # late message
    mosquitto.publish("v3/srt@ttn/devices/kassel-1/join", b"{}")  # not an uplink: ignored
    mosquitto.publish(topic, b'{"end_device_ids": ')  # malformed: reported, subscription goes on
    assert wait_until(lambda: "lht52" not in runner.detail and "end_device_ids" not in runner.detail and
                      runner.detail != "" and runner.mqtt.messages_received >= 6, 5)
    assert wait_until(lambda: "kassel-1/up" in runner.detail, 5), runner.detail
    assert runner.state is FeedState.CONNECTED  # a bad message is reported, the connection's state stays
    assert values(layer)["kassel-1"] == 36.0
    mosquitto.publish(topic, uplink("kassel-1", 29.0, now + timedelta(seconds=2)))
    assert wait_until(lambda: values(layer).get("kassel-1") == 29.0, 5)
    assert features(layer)["kassel-1"]["status"] == "ok"


@pytest.mark.slow
def test_mqtt_reconnects_after_the_broker_restarts(dock, mosquitto, message_log, qgis_iface):
    qgis_iface.messageBar().clear_messages()
    runner = dock.add_feed(mqtt_feed(mosquitto))
    assert wait_until(lambda: runner.state == "connected", 10), runner.detail
    mosquitto.stop()
    assert wait_until(lambda: runner.state == "retrying", 10), runner.state
    assert "retrying in" in feed_row_status(dock, runner.feed_id)[1]
    QTest.qWait(1500)  # the client keeps retrying: still one message
    warnings = bar_warnings(qgis_iface)
    assert len(warnings) == 1, warnings
    assert warnings[0].split(":", 1)[1].startswith("MQTT 127.0.0.1")
    mosquitto.start()
    assert wait_until(lambda: runner.state == "connected", 15), runner.detail
    now = datetime.now(timezone.utc)
    mosquitto.publish("v3/srt@ttn/devices/kassel-2/up", uplink("kassel-2", 25.0, now, 9.5, 51.3))
    assert wait_until(lambda: values(runner.live_layer.layer).get("kassel-2") == 25.0, 5)
    assert any("MQTT 127.0.0.1" in message for _tag, message in message_log)
    assert len(bar_warnings(qgis_iface)) == 1


# -- unload ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_shutdown_stops_everything(qgis_iface, qgis_parent, sta_server, mosquitto):
    from social_resilience.ui.live_dock import create_live_dock

    before = set(threading.enumerate())
    dock = create_live_dock(qgis_iface)
    http = dock.add_feed(sta_feed(sta_server, refresh_s=1))
    mqtt = dock.add_feed(mqtt_feed(mosquitto))
    assert wait_until(lambda: http.state == "ok" and mqtt.state == "connected", 10)
    sta_server.delay_s = 5.0  # the next refresh hangs on the server
    asked = len(sta_server.requests)
    assert wait_until(lambda: len(sta_server.requests) > asked, 5)  # the timer's refresh is in flight
    click_time = time.monotonic()
    assert http.task is not None
    mqtt_thread = mqtt.mqtt.thread
    assert mqtt_thread.is_alive()

    dock.shutdown()
    assert time.monotonic() - click_time < 4.0  # the hanging request was cancelled, not awaited
    assert not mqtt_thread.is_alive()
    assert not http.timer.isActive()
    assert not mqtt.timer.isActive()
    assert dock.runners == {}
    assert wait_until(lambda: not dock.our_tasks(), 5)
    from social_resilience.ui.fetch_task import FetchTask, SeriesTask

    assert not [t for t in QgsApplication.taskManager().tasks() if isinstance(t, (FetchTask, SeriesTask))]
    leftover = [
        t for t in threading.enumerate()
        if t not in before and t.is_alive() and "process_request_thread" not in t.name
        and not t.name.startswith("live-sta-server")
    ]
    assert leftover == []
    sta_server.delay_s = 0
    QgsProject.instance().removeAllMapLayers()
    QgsProject.instance().removeEntry("SocialResilience", "/live_feeds")


def test_layer_of_an_older_project_gets_the_value_text_field(dock, sta_server):
    from qgis.core import QgsField, QgsVectorLayer
    from social_resilience.ui.live_layer import FEED_ID_PROPERTY, REQUIRED_FIELDS

    config = sta_feed(sta_server)
    old = QgsVectorLayer("Point?crs=EPSG:4326", "NO2 Kassel (saved)", "memory")
    kinds = {"value": FieldType.DOUBLE, "time": FieldType.DATETIME}
    old.dataProvider().addAttributes([QgsField(name, kinds.get(name, FieldType.STRING)) for name in REQUIRED_FIELDS])
    old.updateFields()
    old.setCustomProperty(FEED_ID_PROPERTY, config.feed_id)
    QgsProject.instance().addMapLayer(old)
    runner = dock.add_feed(config)
    assert runner.live_layer.layer is old  # adopted, not replaced
    assert wait_until(lambda: runner.state == "ok", 10), runner.detail
    assert {key: feature["value_text"] for key, feature in features(old).items()} == {"1": "12", "2": "30", "3": "55"}
