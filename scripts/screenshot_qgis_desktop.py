#!/usr/bin/env python3
"""Serve synthetic NO₂ stations and write a project holding an OSM backdrop and the live feed.

Run by ``scripts/screenshot_qgis_desktop.sh``: ``/usr/bin/python3 scripts/screenshot_qgis_desktop.py WORKDIR``
writes ``WORKDIR/live.qgz``, then ``WORKDIR/ready``, and serves (values change every 10 s)
until terminated. The backdrop is the Kaiserslautern city-centre OpenStreetMap extract from
tests/data (ODbL, © OpenStreetMap contributors), used when present.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OSM = REPO / "tests" / "data" / "osm" / "kaiserslautern_cc.osm.gz"
WORKDIR = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
(WORKDIR / "pkg").mkdir(exist_ok=True)
(WORKDIR / "pkg" / "social_resilience").symlink_to(REPO, target_is_directory=True)
sys.path.insert(0, str(WORKDIR / "pkg"))

from qgis.core import (  # noqa: E402
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsProject,
    QgsVectorLayer,
)
from qgis.PyQt.QtGui import QColor  # noqa: E402
from social_resilience.core.live.feed_config import FeedConfig  # noqa: E402
from social_resilience.tests.live_helpers import LiveStaServer  # noqa: E402

EXTENT = [7.7585, 49.4395, 7.7765, 49.4485]  # Kaiserslautern city centre (west, south, east, north)
#: Another area for the stations ("west,south,east,north" in longitude/latitude; no backdrop then).
OWN_EXTENT = os.environ.get("SRT_FEED_EXTENT", "")
if OWN_EXTENT:
    EXTENT[:] = [float(v) for v in OWN_EXTENT.split(",")]


class TownServer(LiveStaServer):
    """Stations spread over :data:`EXTENT`."""

    def position(self, thing: int) -> tuple[float, float]:
        west, south, east, north = EXTENT
        u = (0.3 + thing * 0.7548777) % 1.0  # R2 low-discrepancy sequence: evenly spread points
        v = (0.6 + thing * 0.5698403) % 1.0
        return west + (0.08 + 0.84 * u) * (east - west), south + (0.1 + 0.8 * v) * (north - south)


def write_project(path: Path, url: str) -> None:
    """Save a project with the OSM lines (when present) and one SensorThings feed at ``url``."""
    app = QgsApplication([], False)
    app.initQgis()
    from social_resilience.ui import feed_store

    project = QgsProject.instance()
    project.setCrs(QgsCoordinateReferenceSystem("EPSG:25832"))
    if OSM.is_file() and not OWN_EXTENT:
        osm = QgsVectorLayer(f"/vsigzip/{OSM}|layername=lines", "OpenStreetMap lines", "ogr")
        if osm.isValid():
            symbol = osm.renderer().symbol()
            symbol.setColor(QColor("#b0b0b0"))
            symbol.setWidth(0.35)
            project.addMapLayer(osm)
            box = osm.extent()
            EXTENT[:] = [box.xMinimum(), box.yMinimum(), box.xMaximum(), box.yMaximum()]
    project.writeEntry("CopyrightLabel", "/Enabled", True)  # QGIS copyright decoration on the map
    credit = "Map data © OpenStreetMap contributors (ODbL) · NO₂ values synthetic"
    project.writeEntry("CopyrightLabel", "/Label", credit)
    feed = FeedConfig(name="NO₂ Kaiserslautern", format=0, url=url, property="NO2", refresh_s=10)
    feed_store.save_to_project([feed], project)
    if not project.write(str(path)):
        raise SystemExit(f"cannot write {path}: {project.error()}")
    project.clear()
    app.exitQgis()


def main(workdir: Path) -> None:
    """Write the project, then serve until SIGTERM."""
    now = datetime.now(timezone.utc)
    values = {i: round(8 + 52 * (0.5 + 0.5 * math.sin(i * 1.7)), 1) for i in range(1, 25) if i != 5}
    values[7] = None  # a broken sensor
    server = TownServer({}, page_size=10)
    write_project(workdir / "live.qgz", server.url)
    for minutes in range(120, 0, -10):  # history of station 5 for the chart
        server.set_values({5: round(22 + 14 * math.sin(minutes / 25), 1)}, now - timedelta(minutes=minutes))
    server.set_values({**values, 5: 41.5}, now)
    for thing in (3, 11):  # silent for two hours: stale
        server.history[thing] = [(now - timedelta(hours=2), values.pop(thing))]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.start()
    (workdir / "ready").write_text(server.url, encoding="utf-8")
    try:
        for step in range(1, 360):  # values drift every 10 s, at most one hour
            time.sleep(10)
            server.set_values({i: round(v * (1 + 0.05 * math.sin(step + i)), 1) for i, v in values.items() if v})
    finally:
        server.stop()


if __name__ == "__main__":
    main(WORKDIR)
