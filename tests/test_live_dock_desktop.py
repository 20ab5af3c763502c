"""The live dock as a German GIS officer sees it: numbers, statuses, presets, chart; the dock and dialog sizes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from qgis.core import QgsProject
from qgis.PyQt.QtCore import QCoreApplication, Qt
from qgis.PyQt.QtGui import QColor, QImage
from social_resilience.core.live.feed_config import FeedConfig, Thresholds
from social_resilience.core.live.latest_values import LatestValue, format_value

from .live_helpers import LiveStaServer, wait_until
from .test_report import german  # noqa: F401 (the fixture: QGIS in German)

NOW = datetime.now(timezone.utc)


def reading(station: str, value: float | None, status: str) -> LatestValue:
    return LatestValue(station_id=station, name=f"Station {station}", lon=9.5, lat=51.3, value=value, unit="µg/m³",
                       time=NOW, property="NO2", status=status)


def test_values_statuses_and_presets_in_german(german):  # noqa: F811
    from social_resilience.ui.feed_dialog import FeedDialog
    from social_resilience.ui.live_dock import StationTableModel

    assert format_value(39.84, ",") == "39,8"
    model = StationTableModel()
    model.set_readings({r.station_id: r for r in (reading("1", 39.84, "alert"), reading("2", 1801.4, "warn"),
                                                  reading("3", 0.5, "ok"), reading("4", None, "stale"))})
    rows = [[model.data(model.index(row, column)) for column in (0, 1, 4)] for row in range(4)]
    assert rows == [["Station 1", "39,8", "Alarm"], ["Station 2", "1801", "Warnung"], ["Station 3", "0,5", "normal"],
                    ["Station 4", "", "veraltet"]]
    dialog = FeedDialog()
    try:
        items = [dialog.presetCombo.itemText(i) for i in range(dialog.presetCombo.count())]
        assert "Lärm: 53 / 65 dB(A)" in items
        assert "Hitze: 32 / 38 °C" in items
        assert "PM2,5: 15 / 25 µg/m³" in items
        tips = [dialog.presetCombo.itemData(i, Qt.ItemDataRole.ToolTipRole) for i in range(1, len(items))]
        assert all(("WHO" in tip) or ("DWD" in tip) for tip in tips), tips  # the guideline, in the tooltip
        width = dialog.presetCombo.fontMetrics().horizontalAdvance(max(items, key=len))
        assert width < 300  # whole in the field, not cut off
    finally:
        dialog.deleteLater()


def test_live_layer_labels_and_legend_in_german(german):  # noqa: F811
    from social_resilience.ui.live_layer import LiveLayer

    live = LiveLayer.create("NO₂", "feed-1")
    try:
        live.apply_style(Thresholds(25.5, 40.0), "µg/m³")
        live.apply({"1": reading("1", 39.84, "warn")})
        assert [f["value_text"] for f in live.layer.getFeatures()] == ["39,8"]  # the map label
        labels = [category.label() for category in live.layer.renderer().categories()]
        assert labels[:3] == ["normal (unter 25,5 µg/m³)", "Warnung (ab 25,5 µg/m³)", "Alarm (ab 40 µg/m³)"]
    finally:
        del live


def test_chart_threshold_labels_are_drawn_whole_in_german(german, qgis_parent):  # noqa: F811
    """The German "Warnung 25" is wider than the English "warn 25": it is drawn whole, not cut."""
    from social_resilience.ui.series_chart import SeriesChart

    chart = SeriesChart(qgis_parent)
    chart.resize(320, 160)
    points = [(NOW - timedelta(minutes=10 * k), 20.0 + k) for k in range(6, 0, -1)]
    chart.set_series(points, Thresholds(25.0, 40.0), "Station 1: NO2", "µg/m³", "vom Server")
    image = QImage(chart.size(), QImage.Format.Format_ARGB32)
    image.fill(0xFFFFFFFF)
    chart.render(image)

    def orange(x: int, y: int) -> bool:
        colour = QColor(image.pixel(x, y))
        return colour.red() > 180 and 90 < colour.green() < 190 and colour.blue() < 130

    right = image.width() - 10  # the plot's right edge
    line = max(y for y in range(image.height()) if sum(orange(x, y) for x in range(46, right)) > 60)  # warn 25
    label = [x for x in range(46, right) for y in range(line - 16, line - 1) if orange(x, y)]
    text = f"{QCoreApplication.translate('series_chart', 'warn')} 25"
    assert text == "Warnung 25"
    from qgis.PyQt.QtGui import QFontMetricsF

    drawn = right - min(label)
    assert drawn >= QFontMetricsF(chart.chart_font()).horizontalAdvance(text) - 3  # whole, not cut to 58 px
    chart.deleteLater()


def test_feed_dialog_is_as_tall_as_its_rows(qgis_parent):
    """The rows of the other connection are hidden: no empty gap where they were, no empty error line."""
    from social_resilience.ui.feed_dialog import FeedDialog

    dialog = FeedDialog(FeedConfig(name="NO₂", format=0, url="http://localhost/v1.1"), qgis_parent)
    try:
        dialog.show()
        assert wait_until(lambda: dialog.isVisible(), 5)
        assert not dialog.messageLabel.isVisible()
        assert dialog.height() <= dialog.sizeHint().height() + 2
        assert dialog.height() < 560  # the .ui's fixed 560 px left a gap of about 150 px under the rows
    finally:
        dialog.close()
        dialog.deleteLater()


@pytest.fixture
def main_window():
    from qgis.PyQt.QtWidgets import QLabel, QMainWindow

    window = QMainWindow()
    window.setCentralWidget(QLabel("map"))  # the map canvas in QGIS
    window.resize(1280, 800)
    yield window
    window.deleteLater()


class _Iface:
    """The two calls create_live_dock makes on QGIS's interface, on a real main window."""

    def __init__(self, window) -> None:
        self.window = window

    def mainWindow(self):  # noqa: N802
        return self.window

    def addDockWidget(self, area, dock) -> None:  # noqa: N802
        self.window.addDockWidget(area, dock)

    def removeDockWidget(self, dock) -> None:  # noqa: N802
        self.window.removeDockWidget(dock)


def test_dock_starts_closed_and_narrow_with_its_status_column_seen(main_window):
    from social_resilience.ui.live_dock import DOCK_WIDTH, create_live_dock

    project = QgsProject.instance()
    main_window.show()
    dock = create_live_dock(_Iface(main_window))
    try:
        assert not dock.isVisible()  # a project without live feeds: the map keeps the window
        server = LiveStaServer({1: 12.0, 2: 30.0, 3: 55.0})
        server.start()
        try:
            dock.add_feed(FeedConfig(name="NO₂ Kassel", format=0, url=server.url, property="NO2", refresh_s=60))
            main_window.resizeDocks([dock], [200], Qt.Orientation.Horizontal)  # a narrow dock (closed), opened
            dock.show()
            assert wait_until(lambda: dock.width() >= DOCK_WIDTH - 5, 5)
            runner = next(iter(dock.runners.values()))
            assert wait_until(lambda: runner.state == "ok" and dock.station_model.rowCount() == 3, 10)
            assert dock.width() <= main_window.width() // 3
            header = dock.stationView.horizontalHeader()
            last = header.sectionViewportPosition(4) + header.sectionSize(4)
            assert header.visualIndex(4) == 1  # the status column beside the station's name
            assert last <= dock.stationView.viewport().width()  # and on screen
            right = max(header.sectionViewportPosition(c) + header.sectionSize(c) for c in range(5))
            assert right <= dock.stationView.viewport().width()  # every column, no horizontal scrolling
            feeds = dock.feedTable.horizontalHeader()
            assert wait_until(lambda: feeds.sectionViewportPosition(3) + feeds.sectionSize(3)
                              <= dock.feedTable.viewport().width(), 3)  # the feed's status too
        finally:
            server.stop()
    finally:
        dock.shutdown()
        project.removeAllMapLayers()
        project.removeEntry("SocialResilience", "/live_feeds")
