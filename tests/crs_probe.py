"""Run an algorithm as the algorithm dialog does, then check that EPSG:4326 layers still draw (a fresh process).

``/usr/bin/python3 tests/report_crs_probe.py PLUGIN_PARENT ALGORITHM_ID PARAMETERS_JSON`` prints one JSON
line. A fresh process matters: QGIS caches a coordinate reference system where it is first made, and a
pytest session has made EPSG:4326 on the main thread long before. The desktop has not always: when the
algorithm's worker thread made it first, the cache kept that thread's PROJ object, and once the thread
pool ended the idle thread (after 30 s; ``waitForDone`` here), a 4326 -> 25832 transform made on another
thread returned its input unchanged, so 4326 layers stopped drawing on a 25832 map.
"""

from __future__ import annotations

import json
import sys
import threading
import time

from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeature,
    QgsGeometry,
    QgsMapRendererParallelJob,
    QgsMapSettings,
    QgsPointXY,
    QgsProcessingAlgRunnerTask,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProject,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize, QThreadPool
from qgis.PyQt.QtGui import QColor

POINT = QgsPointXY(9.5, 51.3)  # Kassel, longitude/latitude


def transform_here() -> tuple[float, float]:
    """Transform POINT from EPSG:4326 to EPSG:25832 in the calling thread."""
    transform = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"),
                                       QgsCoordinateReferenceSystem("EPSG:25832"), QgsProject.instance())
    result = transform.transform(POINT)
    return result.x(), result.y()


def transform_in_a_thread() -> tuple[float, float]:
    """Transform POINT in a new thread, as the map canvas renders."""
    found = {}
    worker = threading.Thread(target=lambda: found.update(xy=transform_here()))
    worker.start()
    worker.join(60)
    return found["xy"]


def drawn_pixels(layer: QgsVectorLayer) -> int:
    """Render ``layer`` on an EPSG:25832 map in worker threads (as the canvas does): the pixels not white."""
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:25832"))
    settings.setTransformContext(QgsProject.instance().transformContext())
    x, y = transform_here()
    settings.setExtent(QgsRectangle(x - 500, y - 500, x + 500, y + 500))
    settings.setOutputSize(QSize(100, 100))
    settings.setBackgroundColor(QColor("white"))
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    white = QColor("white").rgb()
    return sum(1 for i in range(100) for j in range(100) if image.pixel(i, j) != white)


def run_in_task(algorithm_id: str, parameters: dict) -> bool:
    """Run the algorithm in a QgsProcessingAlgRunnerTask (a worker thread), as the algorithm dialog does."""
    algorithm = QgsApplication.processingRegistry().createAlgorithmById(algorithm_id)
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    feedback = QgsProcessingFeedback()
    done = {}
    task = QgsProcessingAlgRunnerTask(algorithm, parameters, context, feedback)
    task.executed.connect(lambda ok, _results: done.update(ok=ok))
    QgsApplication.taskManager().addTask(task)
    deadline = time.monotonic() + 120
    while "ok" not in done and time.monotonic() < deadline:
        QgsApplication.processEvents()
        time.sleep(0.01)
    return bool(done.get("ok"))


def main(plugin_parent: str, algorithm_id: str, parameters: str) -> None:
    """The run, then a 4326 layer made on the main thread, the worker threads ended, then the checks."""
    sys.path.insert(0, plugin_parent)
    sys.path.append("/usr/share/qgis/python/plugins")
    app = QgsApplication([], False)
    app.initQgis()
    from processing.core.Processing import Processing

    Processing.initialize()
    import social_resilience

    plugin = social_resilience.classFactory(None)
    plugin.initProcessing()
    ok = run_in_task(algorithm_id, json.loads(parameters))
    layer = QgsVectorLayer("Point?crs=EPSG:4326", "live", "memory")  # as the live dock makes its layer
    feature = QgsFeature()
    feature.setGeometry(QgsGeometry.fromPointXY(POINT))
    layer.dataProvider().addFeatures([feature])
    layer.updateExtents()
    before = {"main": transform_here(), "thread": transform_in_a_thread(), "pixels": drawn_pixels(layer)}
    QThreadPool.globalInstance().waitForDone(30_000)  # the idle pool threads end, as after 30 s in QGIS
    after = {"main": transform_here(), "thread": transform_in_a_thread(), "pixels": drawn_pixels(layer)}
    print(json.dumps({"run_ok": ok, "before": before, "after": after}), flush=True)
    del layer
    plugin.unload()
    app.exitQgis()


if __name__ == "__main__":
    main(*sys.argv[1:4])
