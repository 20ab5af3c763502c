"""Run inside QGIS (``qgis.bin --code``): every dialog and map of the toolkit as a GIS officer sees it.

Driven by ``scripts/screenshot_qgis_tour.sh``, once per language. Environment: ``SRT_SHOT_DIR`` (PNGs,
the report and ``tour.log`` go there), ``SRT_FEED_URL`` (a local SensorThings server with stations in
the sample town). The algorithms run from their dialogs (the Run button: a worker thread), their
outputs load into the project as the toolbox loads them. QGIS exits in any case; the caller checks
the files.
"""

import os
import threading
import time
import traceback
from pathlib import Path

import processing
from processing.core.ProcessingConfig import ProcessingConfig
from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsLayerTreeLayer,
    QgsPointXY,
    QgsProject,
)
from qgis.PyQt.QtCore import Qt, QTimer
from qgis.PyQt.QtWidgets import QDockWidget
from qgis.utils import iface, plugins

SHOT_DIR = Path(os.environ["SRT_SHOT_DIR"])
WORK = SHOT_DIR / "data"
WORK.mkdir(parents=True, exist_ok=True)
LOG = open(SHOT_DIR / "tour.log", "a", encoding="utf-8")  # noqa: SIM115 (open for the whole session)


def log(text: str) -> None:
    print(text, flush=True)
    LOG.write(text + "\n")
    LOG.flush()


def save(widget, name: str) -> None:
    """Grab ``widget`` (a window: its whole frame content) into ``<name>.png``."""
    target = SHOT_DIR / f"{name}.png"
    log(("wrote " if widget.grab().save(str(target)) else "could not write ") + str(target))


def town(layer: str) -> str:
    return f"{WORK / 'town.gpkg'}|layername={layer}"


def out(name: str) -> str:
    return str(WORK / f"{name}.gpkg")


# -- a small scheduler: the tour is a generator that yields milliseconds to wait or a condition -------------


def drive(steps, deadline_s: float = 900) -> None:
    start = time.monotonic()

    def advance(value=None) -> None:
        try:
            wait = next(steps) if value is None else value
        except StopIteration:
            finish("done")
            return
        except Exception:  # a failed step ends the tour with its traceback
            finish("tour failed:\n" + traceback.format_exc())
            return
        if time.monotonic() - start > deadline_s:
            finish("tour timed out")
        elif callable(wait):
            QTimer.singleShot(200, lambda: advance(None) if wait() else advance(wait))
        else:
            QTimer.singleShot(int(wait), advance)

    advance()


def finish(message: str) -> None:
    log(message)
    dock = getattr(plugins.get("social_resilience"), "live_dock", None)
    for runner in dock.runners.values() if dock is not None else ():
        runner.stop()
    QgsProject.instance().setDirty(False)
    QTimer.singleShot(500, iface.actionExit().trigger)


def canvas_idle() -> bool:
    return not iface.mapCanvas().isDrawing()


# -- dialogs ------------------------------------------------------------------------------------------------


def open_dialog(algorithm_id: str, parameters: dict):
    dialog = processing.createAlgorithmDialog(algorithm_id, parameters)
    dialog.resize(1100, 760)
    dialog.show()
    return dialog


def run_dialog(dialog, name: str, results: dict):
    """Press Run (the algorithm runs in a worker thread) and wait until the dialog shows the finished log."""
    done = {}
    dialog.algorithmFinished.connect(lambda ok, result: done.update(ok=ok, result=result))
    dialog.runAlgorithm()
    yield lambda: dialog.feedback is None  # the dialog drops its feedback when the run has ended, however
    yield 800
    save(dialog, f"dialog_{name}_log")
    results[name] = done.get("result", {})
    log(f"{name}: ok={done.get('ok')} results={sorted(results[name])}")
    dialog.close()
    yield 300


def show_dialog(algorithm_id: str, parameters: dict, name: str):
    dialog = open_dialog(algorithm_id, parameters)
    yield 1500
    save(dialog, f"dialog_{name}")
    return dialog


# -- the tour -----------------------------------------------------------------------------------------------


def set_up_window() -> None:
    window = iface.mainWindow()
    window.setGeometry(0, 0, 1280, 800)
    for panel in ("Browser", "ProcessingToolbox"):
        widget = window.findChild(QDockWidget, panel)
        if widget is not None:
            widget.hide()
    layers_panel = window.findChild(QDockWidget, "Layers")
    if layers_panel is not None:
        window.resizeDocks([layers_panel], [330], Qt.Orientation.Horizontal)
    ProcessingConfig.setSettingValue(ProcessingConfig.KEEP_DIALOG_OPEN, True)


def only_layers(names: list[str]) -> None:
    """Show the layers whose names are given (the group of the report's layout stays as it is)."""
    root = QgsProject.instance().layerTreeRoot()
    for node in root.findLayers():
        node.setItemVisibilityChecked(node.layer() is not None and node.layer().name() in names)
    iface.layerTreeView().collapseAllNodes()
    for node in root.findLayers():
        if node.itemVisibilityChecked():
            node.setExpanded(True)


def map_shot(names: list[str], shot: str):
    only_layers(names)
    iface.mapCanvas().setExtent(QgsProject.instance().mapLayersByName(names[-1])[0].extent())
    iface.mapCanvas().refresh()
    yield 1500
    yield canvas_idle
    save(iface.mainWindow(), shot)


def chain(results: dict):
    """The sample town, then the green-access and hotspot chain, each from its dialog."""
    processing.runAndLoadResults("socialresilience:createsampletown", {
        "SEED": 42, "SIZE_KM": 2, "OUTPUT": str(WORK / "town.gpkg"), "OUTPUT_CSV": str(WORK / "feed.csv")})
    iface.mapCanvas().zoomToFullExtent()
    yield 2000
    dialog = yield from show_dialog("socialresilience:createsampletown", {}, "createsampletown")
    dialog.close()
    green = {"NETWORK": town("network"), "GREEN_SPACES": town("green_spaces"), "BARRIERS": town("barriers"),
             "CROSSINGS": town("crossings"), "ENTRANCES": town("entrances"), "RESIDENTIAL": town("buildings"),
             "POPULATION_FIELD": "population"}
    dialog = yield from show_dialog("socialresilience:greenspacecatchments", {
        **green, "STANDARD": 2, "DISTANCE": 400, "MIN_AREA_HA": 2}, "greenspacecatchments_berlin")
    yield from run_dialog(dialog, "greenspacecatchments_berlin", results)  # the log names the replaced numbers
    for layer in QgsProject.instance().mapLayers().values():  # Berlin's results were for the log only
        if layer.providerType() == "memory":
            QgsProject.instance().removeMapLayer(layer.id())
    dialog = yield from show_dialog("socialresilience:greenspacecatchments", {
        **green, "DISTANCE": 400, "MIN_AREA_HA": 2, "OUTPUT_CATCHMENTS": out("catchments"),
        "OUTPUT_GREEN_SPACES": out("green"), "OUTPUT_RESIDENTIAL": out("homes")}, "greenspacecatchments")
    yield from run_dialog(dialog, "greenspacecatchments", results)
    names = [layer.name() for layer in QgsProject.instance().mapLayers().values()]
    log(f"layers: {names}")
    score = {"INPUT": town("districts"), "ENV_FIELDS": ["no2", "noise_lden", "heat_days", "green_m2_per_inh"],
             "SOCIAL_FIELDS": ["share_65plus", "unemployment", "child_poverty", "income"],
             "INVERT_FIELDS": ["green_m2_per_inh", "income"], "METHOD": 2, "OUTPUT": out("score")}
    dialog = yield from show_dialog("socialresilience:hotspotscore", score, "hotspotscore")
    yield from run_dialog(dialog, "hotspotscore", results)
    dialog = yield from show_dialog("socialresilience:localhotspots", {
        "INPUT": out("score"), "PERMUTATIONS": 999, "OUTPUT": out("hotspots")}, "localhotspots")
    yield from run_dialog(dialog, "localhotspots", results)
    dialog = yield from show_dialog("socialresilience:greenequity", {
        "RESIDENTIAL": out("homes"), "POPULATION_FIELD": "population", "GROUP_FIELDS": ["pop_65plus", "pop_children"],
        "AREAS": out("hotspots"), "BURDEN_FIELD": "score_pct", "OUTPUT": out("equity")}, "greenequity")
    yield from run_dialog(dialog, "greenequity", results)
    dialog = yield from show_dialog("socialresilience:accessimprovements", {
        **green, "KIND": 2, "COUNT": 10}, "accessimprovements")
    yield from run_dialog(dialog, "accessimprovements", results)


def named_by_file(*files: str) -> list[str]:
    """Names (in the QGIS language) of the project layers read from these files of the tour."""
    found = []
    for layer in QgsProject.instance().mapLayers().values():
        path = layer.source().split("|")[0]
        if any(path.endswith(name) for name in files) and layer.name() not in found:
            found.append(layer.name())
    return found


def maps(results: dict):
    yield from map_shot(named_by_file("green.gpkg", "catchments.gpkg", "homes.gpkg")[::-1], "map_catchments")
    improvement = [layer.name() for layer in QgsProject.instance().mapLayers().values()
                   if (layer.providerType() == "memory" and layer.fields().lookupField("gain_pop") >= 0)
                   or layer.fields().lookupField("dist_after_m") >= 0]
    yield from map_shot(sorted(improvement), "map_improvements")
    yield from map_shot(named_by_file("equity.gpkg"), "map_equity")
    yield from map_shot(named_by_file("hotspots.gpkg"), "map_hotspots")


def live_feed():
    """A live SensorThings feed (EPSG:4326 layer) in the dock, then its dialog."""
    from social_resilience.core.live.feed_config import FeedConfig, Thresholds
    from social_resilience.ui.feed_dialog import FeedDialog

    dock = plugins["social_resilience"].live_dock
    log(f"live dock visible at start-up: {dock.isVisible()}")
    config = FeedConfig(name="NO₂", format=0, url=os.environ["SRT_FEED_URL"], property="NO2", refresh_s=10,
                        thresholds=Thresholds(25.0, 40.0))
    dock.add_feed(config)
    dock.show()
    runner = next(iter(dock.runners.values()))
    yield lambda: runner.state == "ok" and runner.readings
    dock.feedTable.selectRow(0)
    dock.stationView.selectRow(0)
    iface.setActiveLayer(runner.live_layer.layer)
    only_layers([runner.live_layer.layer.name(), *named_by_file("equity.gpkg")])
    iface.mapCanvas().refresh()
    yield 3000
    yield canvas_idle
    save(iface.mainWindow(), "live_dock")
    dialog = FeedDialog(config, dock)
    dialog.show()
    yield 1200
    save(dialog, "feed_dialog")
    dialog.close()


def report(results: dict):
    parameters = {
        "AREAS": out("equity"), "RESIDENTIAL": out("homes"), "CATCHMENTS": out("catchments"),
        "GREEN_SPACES": out("green"), "HOTSPOTS": out("hotspots"), "STATIONS": town("stations"),
        "TITLE": os.environ.get("SRT_REPORT_TITLE", "Sample town"), "OUTPUT_HTML": str(SHOT_DIR / "report.html"),
        "OUTPUT_PDF": str(SHOT_DIR / "report_dialog.pdf")}
    dialog = yield from show_dialog("socialresilience:report", parameters, "report")
    yield from run_dialog(dialog, "report", results)
    layouts = QgsProject.instance().layoutManager().layouts()
    log(f"layouts: {[layout.name() for layout in layouts]}")
    if layouts:
        designer = iface.openLayoutDesigner(layouts[-1])
        window = designer.window()
        window.setGeometry(0, 0, 1280, 800)
        yield 1500
        page = layouts[-1].pageCollection().page(1)  # the served share per area
        view = designer.view()
        view.fitInView(page.sceneBoundingRect().adjusted(-8, -8, 8, 8), Qt.AspectRatioMode.KeepAspectRatio)
        view.emitZoomLevelChanged()
        yield 3000
        save(window, "layout_designer")
        window.close()
        yield 500
    processing.run("socialresilience:report", {**parameters, "OUTPUT_HTML": str(SHOT_DIR / "console.html"),
                                               "OUTPUT_PDF": str(SHOT_DIR / "report_console.pdf"),
                                               "ADD_LAYOUT": False})


def after_report():
    """30 s after the report, when QGIS has ended the idle worker thread: the 4326 live layer still draws."""
    yield 35000
    found = {}

    def transform() -> None:
        to_map = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"),
                                        QgsCoordinateReferenceSystem("EPSG:25832"), QgsProject.instance())
        found["xy"] = to_map.transform(QgsPointXY(9.44, 51.28)).toString(1)

    worker = threading.Thread(target=transform)
    worker.start()
    worker.join(30)
    log(f"4326 -> 25832 in a new thread after the report: {found.get('xy')}")
    dock = plugins["social_resilience"].live_dock
    live = next(iter(dock.runners.values())).live_layer.layer
    only_layers([live.name(), *named_by_file("equity.gpkg")])
    to_map = QgsCoordinateTransform(live.crs(), iface.mapCanvas().mapSettings().destinationCrs(), QgsProject.instance())
    extent = to_map.transformBoundingBox(live.extent())
    extent.scale(1.3)
    iface.mapCanvas().setExtent(extent)
    iface.mapCanvas().refresh()
    yield 2000
    yield canvas_idle
    save(iface.mainWindow(), "live_after_report")


def workflows():
    dialog = yield from show_dialog("socialresilience:sensorhotspotworkflow", {
        "SOURCE": str(WORK / "feed.csv"), "PROPERTY": "no2", "AREAS": town("districts")}, "sensorhotspotworkflow")
    dialog.close()
    dialog = yield from show_dialog("socialresilience:greenaccessworkflow", {"AREAS": town("districts")},
                                    "greenaccessworkflow")
    dialog.close()
    for other in ("importsensorfeed", "sensorqualitycontrol", "aggregateobservations", "osmwalknetwork"):
        dialog = yield from show_dialog(f"socialresilience:{other}", {}, other)
        dialog.close()
    from processing.modeler.ModelerDialog import ModelerDialog

    for name in ("sensorhotspotworkflow", "greenaccessworkflow"):
        model = QgsApplication.processingRegistry().algorithmById(f"socialresilience:{name}")
        designer = ModelerDialog.create(model)
        designer.setGeometry(0, 0, 1280, 800)
        designer.show()
        yield 1000
        designer.view().fitInView(designer.view().scene().itemsBoundingRect(), Qt.AspectRatioMode.KeepAspectRatio)
        yield 1500
        valid, errors = designer.model().validate()
        log(f"model {name}: valid={valid} errors={errors}")
        save(designer, f"model_designer_{name}")
        designer.setDirty(False) if hasattr(designer, "setDirty") else None
        designer.close()
        yield 500


def tour():
    set_up_window()
    yield 2000
    save(iface.mainWindow(), "startup")
    results: dict = {}
    yield from chain(results)
    yield from maps(results)
    yield from live_feed()
    yield from report(results)
    yield from after_report()
    yield from workflows()


QTimer.singleShot(1500, lambda: drive(tour()))
QgsLayerTreeLayer  # noqa: B018 (imported for readers: the legend nodes the tour expands)
