"""Run inside QGIS (``qgis.bin --code``): the sample town, styled, and one algorithm dialog; then quit.

Driven by ``scripts/screenshot_qgis_desktop_town.sh``. Environment: ``SRT_SHOT_DIR`` (where the
PNGs go) and ``SRT_SHOT_NAMES`` (``town=FILE`` and optionally ``dialog=FILE``, separated by ``;``).
Creates the town with *Create sample town* as a user does (loaded with its styles, named in the
QGIS language), expands the legend, grabs the main window; then opens the catchment tool's dialog
(help panel beside the parameters) and grabs it. QGIS exits in any case; the caller checks the files.
"""

import os
import tempfile
from pathlib import Path

import processing
from qgis.core import QgsApplication, QgsProject
from qgis.PyQt.QtCore import Qt, QTimer
from qgis.PyQt.QtWidgets import QDockWidget
from qgis.utils import iface, plugins

SHOT_DIR = Path(os.environ["SRT_SHOT_DIR"])
NAMES = dict(item.split("=", 1) for item in os.environ["SRT_SHOT_NAMES"].split(";") if item)
DIALOG_ALGORITHM = "socialresilience:greenspacecatchments"


def _finish(message: str) -> None:
    print(message, flush=True)
    QgsProject.instance().setDirty(False)  # no "save changes?" question
    iface.actionExit().trigger()


def _save(widget, name: str) -> None:
    target = SHOT_DIR / name
    print(("wrote " if widget.grab().save(str(target)) else "could not write ") + str(target), flush=True)


def _create_town() -> None:
    """Run Create sample town the way the toolbox does, so its layers load styled and named."""
    folder = tempfile.mkdtemp(prefix="srt_town_")
    processing.runAndLoadResults("socialresilience:createsampletown", {
        "SEED": 42, "SIZE_KM": 2, "OUTPUT": os.path.join(folder, "sample_town.gpkg"),
    })
    iface.layerTreeView().expandAll()  # the legend: categories with their (translated) labels
    iface.mapCanvas().zoomToFullExtent()
    iface.mapCanvas().refresh()
    QTimer.singleShot(3000, _grab_town)


def _grab_town() -> None:
    if iface.mapCanvas().isDrawing():
        QTimer.singleShot(250, _grab_town)
        return
    _save(iface.mainWindow(), NAMES["town"])
    if "dialog" in NAMES:
        _open_dialog()
    else:
        _finish("done")


def _open_dialog() -> None:
    dialog = processing.createAlgorithmDialog(DIALOG_ALGORITHM, {})
    dialog.resize(1100, 720)
    dialog.show()
    QTimer.singleShot(2000, lambda: _grab_dialog(dialog))


def _grab_dialog(dialog) -> None:
    _save(dialog, NAMES["dialog"])
    dialog.close()
    _finish("done")


window = iface.mainWindow()
window.setGeometry(0, 0, 1280, 800)
for panel in ("Browser", "ProcessingToolbox"):
    widget = window.findChild(QDockWidget, panel)
    if widget is not None:
        widget.hide()
live_dock = getattr(plugins.get("social_resilience"), "live_dock", None)
if live_dock is not None:
    live_dock.hide()  # the map and the legend are the subject here
layers_panel = window.findChild(QDockWidget, "Layers")
if layers_panel is not None:
    window.resizeDocks([layers_panel], [360], Qt.Orientation.Horizontal)  # whole layer names
QgsApplication.processEvents()
QTimer.singleShot(1000, _create_town)
