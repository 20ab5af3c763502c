"""The shipped workflows: .model3 files that open in the model designer and run headless."""

from __future__ import annotations

import re

import pytest
from qgis.core import QgsApplication, QgsProcessingModelAlgorithm, QgsVectorLayer

from .conftest import REPO

MODELS = REPO / "resources" / "models"


@pytest.mark.parametrize("name", ["sensorhotspotworkflow"])
def test_model_file_opens_like_in_the_model_designer(provider, name):
    model = QgsProcessingModelAlgorithm()
    assert model.fromFile(str(MODELS / f"{name}.model3"))
    assert model.name() == name
    children = model.childAlgorithms()
    assert children
    assert all(child.algorithm() is not None for child in children.values())
    assert "report" in children
    assert children["report"].algorithmId() == "socialresilience:report"
    registered = QgsApplication.processingRegistry().algorithmById(f"socialresilience:{name}")
    assert registered is not None
    assert "report:OUTPUT_HTML" in [o.name() for o in registered.outputDefinitions()]


@pytest.fixture(scope="module")
def sensor_feed(plugin, tmp_path_factory):
    """The sample town (seed 42) with its observations as CSV."""
    import processing

    folder = tmp_path_factory.mktemp("feed")
    processing.run("socialresilience:createsampletown", {
        "SEED": 42, "SIZE_KM": 2.0, "OUTPUT": str(folder / "town.gpkg"), "OUTPUT_CSV": str(folder / "feed.csv")})
    return folder


def test_sensor_workflow_through_qgis_process(sensor_feed, qgis_process, tmp_path):
    html = tmp_path / "report.html"
    hotspots = tmp_path / "hotspots.gpkg"
    report = qgis_process.run_algorithm("socialresilience:sensorhotspotworkflow", {
        "FORMAT": 5, "SOURCE": sensor_feed / "feed.csv", "PROPERTY": "no2", "MIN_VALID": 0,
        "AREAS": f"{sensor_feed / 'town.gpkg'}|layername=districts", "ENV_FIELDS": "sensor_mean;heat_days",
        "SOCIAL_FIELDS": "share_65plus;unemployment;child_poverty;income", "INVERT_FIELDS": "income",
        "METHOD": 2, "TITLE": "Sensor hotspots", "report:OUTPUT_HTML": html, "hotspots:OUTPUT": hotspots,
    })
    assert report["results"]["report:OUTPUT_HTML"] == str(html)
    layer = QgsVectorLayer(str(hotspots), "hotspots", "ogr")
    assert layer.featureCount() == 64
    assert layer.renderer().classAttribute() == "gi_bin"  # the style stored in the GeoPackage by qgis_process
    assert layer.fields().lookupField("sensor_mean_n") >= 0  # the feed's NO2 entered the score
    n_hot = sum(1 for f in layer.getFeatures() if f["gi_bin"] and f["gi_bin"] > 0)
    page = html.read_text(encoding="utf-8")
    assert "<h1>Sensor hotspots</h1>" in page
    assert f"{n_hot} of 64 areas are hot spots" in page
    assert len(re.findall(r'<img src="data:image/png;base64,', page)) == 3  # Gi*, Local Moran, score
    assert "8 sensor stations." in page
