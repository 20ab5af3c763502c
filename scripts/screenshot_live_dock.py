#!/usr/bin/env python3
"""Screenshot of the live-sensor dock beside a map canvas, fed by a local SensorThings server.

Usage: ``xvfb-run -a /usr/bin/python3 scripts/screenshot_live_dock.py docs/live_dock.png``
The backdrop is the Kaiserslautern city-centre OpenStreetMap extract from ../shared/data (ODbL,
© OpenStreetMap contributors), drawn when present; the sensor values are synthetic.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OSM = REPO.parent / "shared" / "data" / "osm" / "kaiserslautern_cc.osm.gz"
_parent = Path(tempfile.mkdtemp(prefix="srt_shot_"))
(_parent / "social_resilience").symlink_to(REPO, target_is_directory=True)
sys.path.insert(0, str(_parent))

from qgis.core import QgsApplication, QgsProject, QgsRectangle, QgsVectorLayer  # noqa: E402
from qgis.gui import QgsMapCanvas  # noqa: E402
from qgis.PyQt.QtCore import QCoreApplication, Qt  # noqa: E402
from qgis.PyQt.QtGui import QColor  # noqa: E402
from qgis.PyQt.QtWidgets import QLabel, QMainWindow  # noqa: E402

APP = QgsApplication([], True)
APP.initQgis()

from social_resilience.core.live.feed_config import FeedConfig  # noqa: E402
from social_resilience.tests.live_helpers import LiveStaServer, wait_until  # noqa: E402
from social_resilience.ui.live_dock import LiveSensorDock  # noqa: E402

FALLBACK_EXTENT = (7.7585, 49.4395, 7.7765, 49.4485)  # Kaiserslautern city centre (lon/lat)


class TownServer(LiveStaServer):
    """Stations spread over ``extent`` (west, south, east, north)."""

    extent = FALLBACK_EXTENT

    def position(self, thing: int) -> tuple[float, float]:
        west, south, east, north = self.extent
        u = (thing * 0.618034) % 1.0
        v = (thing * 0.381966 + 0.5) % 1.0
        return west + (0.08 + 0.84 * u) * (east - west), south + (0.1 + 0.8 * v) * (north - south)


def backdrop() -> QgsVectorLayer | None:
    if not OSM.is_file():
        return None
    layer = QgsVectorLayer(f"/vsigzip/{OSM}|layername=lines", "OpenStreetMap lines", "ogr")
    if not layer.isValid():
        return None
    symbol = layer.renderer().symbol()
    symbol.setColor(QColor("#b8b8b8"))
    symbol.setWidth(0.35)
    return layer


def main(output: Path) -> int:
    now = datetime.now(timezone.utc)
    osm = backdrop()
    if osm is not None:
        box = osm.extent()
        TownServer.extent = (box.xMinimum(), box.yMinimum(), box.xMaximum(), box.yMaximum())
    values = {i: round(8 + 52 * (0.5 + 0.5 * math.sin(i * 1.7)), 1) for i in range(1, 25) if i != 5}
    values[7] = None  # a broken sensor
    server = TownServer({}, page_size=10)
    for minutes in range(120, 0, -10):
        server.set_values({5: round(22 + 14 * math.sin(minutes / 25), 1)}, now - timedelta(minutes=minutes))
    server.set_values({**values, 5: 41.5}, now)
    for thing in (3, 11):  # silent for two hours
        server.history[thing] = [(now - timedelta(hours=2), values[thing])]
    server.start()

    window = QMainWindow()
    window.setWindowTitle("Social Resilience Toolkit: live sensor layers")
    window.resize(1280, 760)
    canvas = QgsMapCanvas(window)
    canvas.setCanvasColor(QColor("#fbfbf8"))
    window.setCentralWidget(canvas)
    dock = LiveSensorDock(None, window)
    window.addDockWidget(Qt.RightDockWidgetArea, dock)
    note = QLabel("Map data © OpenStreetMap contributors (ODbL) · sensor values synthetic, served locally")
    window.statusBar().addWidget(note)
    window.show()

    runner = dock.add_feed(FeedConfig(name="NO₂ Kaiserslautern", format=0, url=server.url, property="NO2",
                                      refresh_s=60))
    if not wait_until(lambda: runner.state == "ok", 20):
        print(f"feed did not load: {runner.detail}", file=sys.stderr)
        return 1
    layers = [runner.live_layer.layer]
    if osm is not None:
        QgsProject.instance().addMapLayer(osm)
        layers.append(osm)
    canvas.setDestinationCrs(runner.live_layer.layer.crs())
    canvas.setLayers(layers)
    west, south, east, north = TownServer.extent
    canvas.setExtent(QgsRectangle(west, south, east, north))
    window.resizeDocks([dock], [470], Qt.Horizontal)
    dock.feedTable.selectRow(0)
    dock.stationView.selectRow(dock.station_model.row_of("5"))
    wait_until(lambda: "from the server" in dock.chart.title, 10)
    canvas.refresh()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and canvas.isDrawing():
        QCoreApplication.processEvents()
    wait_until(lambda: False, 1.0)
    output.parent.mkdir(parents=True, exist_ok=True)
    ok = window.grab().save(str(output))
    dock.shutdown()
    server.stop()
    print(f"wrote {output}" if ok else f"could not write {output}")
    return 0 if ok else 1


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/live_dock.png")
    code = main(target)
    APP.exitQgis()
    sys.exit(code)
