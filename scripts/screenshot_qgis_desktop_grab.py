"""Run inside QGIS (``qgis.bin --code``): wait for the live feed, show the dock, save a screenshot, quit.

The target file comes from ``SRT_SHOT_OUTPUT``; QGIS exits in any case (the caller checks the file).
"""

import os
import time

from qgis.core import QgsApplication, QgsCoordinateTransform, QgsProject
from qgis.PyQt.QtCore import Qt, QTimer
from qgis.PyQt.QtWidgets import QDockWidget
from qgis.utils import iface, plugins


def _finish(message: str) -> None:
    print(message, flush=True)
    dock = _dock()
    for runner in dock.runners.values() if dock is not None else ():
        runner.stop()  # no running task: QGIS would ask whether to cancel it
    QgsProject.instance().setDirty(False)  # no "save changes?" question
    iface.actionExit().trigger()


def _dock():
    plugin = plugins.get("social_resilience")
    return getattr(plugin, "live_dock", None)


def _stage(deadline: float) -> None:
    """Poll until the feed has values, then arrange the window and grab it after a pause."""
    dock = _dock()
    runner = next(iter(dock.runners.values()), None) if dock is not None else None
    if runner is None or runner.state != "ok" or not runner.readings:
        if time.monotonic() > deadline:
            _finish(f"live feed not ready: {runner.detail if runner else 'no dock or feed'}")
        else:
            QTimer.singleShot(250, lambda: _stage(deadline))
        return
    window = iface.mainWindow()
    dock.show()
    dock.raise_()
    window.resizeDocks([dock], [450], Qt.Orientation.Horizontal)
    dock.feedTable.selectRow(0)
    dock.stationView.selectRow(dock.station_model.row_of("5"))
    layer = runner.live_layer.layer
    iface.setActiveLayer(layer)
    iface.layerTreeView().expandAll()  # legend: what the status colours mean
    layers_panel = window.findChild(QDockWidget, "Layers")
    if layers_panel is not None:
        window.resizeDocks([layers_panel], [270], Qt.Orientation.Horizontal)
    canvas = iface.mapCanvas()
    to_map = QgsCoordinateTransform(layer.crs(), canvas.mapSettings().destinationCrs(), QgsProject.instance())
    extent = to_map.transformBoundingBox(layer.extent())
    extent.scale(1.15)
    canvas.setExtent(extent)
    canvas.refresh()
    QTimer.singleShot(4000, _grab)


def _grab() -> None:
    runner = next(iter(_dock().runners.values()))
    if iface.mapCanvas().isDrawing() or runner.state != "ok":  # no progress bar in the status bar
        QTimer.singleShot(250, _grab)
        return
    target = os.environ["SRT_SHOT_OUTPUT"]
    ok = iface.mainWindow().grab().save(target)
    _finish(f"wrote {target}" if ok else f"could not write {target}")


window = iface.mainWindow()
window.setGeometry(0, 0, 1280, 800)
browser = window.findChild(QDockWidget, "Browser")
if browser is not None:
    browser.hide()
QgsApplication.processEvents()
QTimer.singleShot(500, lambda: _stage(time.monotonic() + 60))
