"""The shipped workflows: .model3 files that open in the model designer and run headless."""

from __future__ import annotations

import re

import pytest
from qgis.core import QgsApplication, QgsProcessingModelAlgorithm, QgsVectorLayer

from .conftest import REPO

MODELS = REPO / "resources" / "models"


@pytest.mark.parametrize("name", ["greenaccessworkflow", "sensorhotspotworkflow"])
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
    assert "report:Report" in [o.name() for o in registered.outputDefinitions()]


@pytest.mark.parametrize(("name", "inputs", "outputs"), [
    ("greenaccessworkflow", ["OSM_FILE", "AREAS", "BURDEN_FIELD", "DISTANCE", "MIN_AREA_HA", "TITLE"],
     {"catchments:Homes with green access", "equity:Green access by area", "report:Report"}),
    ("sensorhotspotworkflow", ["FORMAT", "SOURCE", "PROPERTY", "MIN_VALID", "AREAS", "ENV_FIELDS", "SOCIAL_FIELDS",
                               "INVERT_FIELDS", "METHOD", "TITLE"], {"hotspots:Hotspots", "report:Report"}),
])
def test_model_is_valid_in_the_designer_with_its_inputs_in_order(provider, name, inputs, outputs):
    """Valid as the model designer checks it (no child red, no "... is mandatory"), inputs in workflow order."""
    from qgis.core import QgsProcessingParameterField

    model = QgsProcessingModelAlgorithm()
    assert model.fromFile(str(MODELS / f"{name}.model3"))
    valid, errors = model.validate()
    assert (valid, errors) == (True, [])
    for child in model.childAlgorithms().values():
        child_valid, child_errors = model.validateChildAlgorithm(child.childId())
        assert (child_valid, child_errors) == (True, []), child.childId()
    parameters = model.parameterDefinitions()
    assert [p.name() for p in parameters if not p.isDestination()] == inputs
    assert {p.name() for p in parameters if p.isDestination()} == outputs  # named by what they hold
    registered = QgsApplication.processingRegistry().algorithmById(f"socialresilience:{name}")
    assert [p.name() for p in registered.parameterDefinitions() if not p.isDestination()] == inputs
    fields = [p.name() for p in parameters if isinstance(p, QgsProcessingParameterField)]
    assert fields == [n for n in inputs if n.endswith("_FIELDS") or n == "BURDEN_FIELD"]  # chosen from the layer


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
        "AREAS": f"{sensor_feed / 'town.gpkg'}|layername=districts", "ENV_FIELDS": "heat_days",
        "SOCIAL_FIELDS": "share_65plus;unemployment;child_poverty;income", "INVERT_FIELDS": "income",
        "METHOD": 2, "TITLE": "Sensor hotspots", "report:Report": html, "hotspots:Hotspots": hotspots,
    })
    assert report["results"]["report:Report"] == str(html)
    layer = QgsVectorLayer(str(hotspots), "hotspots", "ogr")
    assert layer.featureCount() == 64
    assert layer.renderer().classAttribute() == "gi_bin"  # the style stored in the GeoPackage by qgis_process
    assert layer.fields().lookupField("sensor_mean_n") >= 0  # the feed's NO2 entered the score
    assert layer.fields().lookupField("heat_days_n") >= 0  # and the areas' field chosen in ENV_FIELDS
    n_hot = sum(1 for f in layer.getFeatures() if f["gi_bin"] and f["gi_bin"] > 0)
    page = html.read_text(encoding="utf-8")
    assert "<h1>Sensor hotspots</h1>" in page
    assert f"{n_hot} of 64 areas are hot spots" in page
    assert len(re.findall(r'<img src="data:image/png;base64,', page)) == 3  # Gi*, Local Moran, score
    assert "8 sensor stations." in page


def test_sensor_workflow_loads_its_output_named_by_what_it_holds(sensor_feed, tmp_path):
    """Run as the toolbox runs it (outputs loaded): the areas load as "Hotspots", not as "OUTPUT"."""
    import processing
    from qgis.core import QgsProject

    before = set(QgsProject.instance().mapLayers())
    processing.runAndLoadResults("socialresilience:sensorhotspotworkflow", {
        "FORMAT": 5, "SOURCE": str(sensor_feed / "feed.csv"), "PROPERTY": "no2", "MIN_VALID": 0,
        "AREAS": f"{sensor_feed / 'town.gpkg'}|layername=districts", "ENV_FIELDS": ["heat_days"],
        "SOCIAL_FIELDS": ["share_65plus", "unemployment"], "METHOD": 0,
        "report:Report": str(tmp_path / "report.html"), "hotspots:Hotspots": "TEMPORARY_OUTPUT"})
    added = [layer for layer_id, layer in QgsProject.instance().mapLayers().items() if layer_id not in before]
    try:
        assert [layer.name() for layer in added] == ["Hotspots"]
        assert added[0].featureCount() == 64
        assert added[0].renderer().classAttribute() == "gi_bin"  # styled on load
    finally:
        QgsProject.instance().removeMapLayers([layer.id() for layer in added])


def test_model_files_are_what_the_build_script_writes(tmp_path):
    """resources/models is generated by scripts/build_workflows.py: the files cannot drift from it."""
    import os
    import subprocess

    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp_path)}
    subprocess.run(["/usr/bin/python3", str(REPO / "scripts" / "build_workflows.py"), "--output", str(tmp_path)],
                   check=True, capture_output=True, env=environment, timeout=300)
    for committed in MODELS.glob("*.model3"):
        assert model_shape(tmp_path / committed.name) == model_shape(committed), \
            f"{committed.name} is stale: run scripts/build_workflows.py"


def model_shape(path) -> tuple:
    """What a model does, independent of how a QGIS version writes the XML (3.40 adds options)."""
    model = QgsProcessingModelAlgorithm()
    assert model.fromFile(str(path)), path

    def sources(child) -> list:
        return sorted(
            (name, [(s.source(), s.parameterName(), s.outputChildId(), s.outputName(), str(s.staticValue()))
                    for s in values])
            for name, values in child.parameterSources().items()
        )

    children = {
        child_id: (child.algorithmId(), sources(child), sorted(child.modelOutputs()))
        for child_id, child in model.childAlgorithms().items()
    }
    # Inputs only: the outputs are in the children's modelOutputs; QGIS 3.40 names their parameters
    # "child:output" on load, 3.22 by the output's own name.
    parameters = sorted(
        (p.name(), p.type(), str(p.defaultValue())) for p in model.parameterDefinitions() if not p.isDestination()
    )
    return model.name(), model.group(), parameters, children


def _grid_over(osm_file, path, cell: float = 500.0) -> str:
    """Square areas of ``cell`` metres over the extent of an OSM file, in its UTM zone."""
    import processing
    from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsProject
    from social_resilience.algorithms.common import metric_crs

    lines = QgsVectorLayer(f"{osm_file}|layername=lines", "lines", "ogr")
    wgs84 = QgsCoordinateReferenceSystem("EPSG:4326")
    utm = metric_crs(wgs84, lines.extent())
    extent = QgsCoordinateTransform(wgs84, utm, QgsProject.instance()).transformBoundingBox(lines.extent())
    processing.run("native:creategrid", {
        "TYPE": 2, "EXTENT": f"{extent.xMinimum()},{extent.xMaximum()},{extent.yMinimum()},{extent.yMaximum()} "
                            f"[{utm.authid()}]",
        "HSPACING": cell, "VSPACING": cell, "CRS": utm, "OUTPUT": str(path)})
    return str(path)


def test_green_workflow_through_qgis_process(provider, qgis_process, tmp_path):
    from .conftest import shared_data

    osm = shared_data("osm", "hoyerswerda.osm.pbf")
    areas = _grid_over(osm, tmp_path / "areas.gpkg")
    html, homes = tmp_path / "report.html", tmp_path / "homes.gpkg"
    report = qgis_process.run_algorithm("socialresilience:greenaccessworkflow", {
        "OSM_FILE": osm, "AREAS": areas, "DISTANCE": 400, "MIN_AREA_HA": 2, "TITLE": "Hoyerswerda",
        "report:Report": html, "catchments:Homes with green access": homes,
        "equity:Green access by area": tmp_path / "equity.gpkg",
    })
    assert report["results"]["report:Report"] == str(html)
    buildings = [f["served"] for f in QgsVectorLayer(str(homes), "homes", "ogr").getFeatures()]
    share = sum(1 for served in buildings if served == 1) / len(buildings)
    assert 0 < share < 1
    page = html.read_text(encoding="utf-8")
    assert f"{100 * share:.1f} % of homes lie within 400 m on foot of a green space of at least 2 ha" in page
    n_areas = QgsVectorLayer(areas, "areas", "ogr").featureCount()
    table = page[page.index('<table class="areas">'):page.index("</table>")]
    assert table.count("<tr") == 1 + n_areas
    assert "© OpenStreetMap contributors" in page
    assert len(re.findall(r"<svg ", page)) == 2
    assert len(re.findall(r'<img src="data:image/png;base64,', page)) == 2  # green access, equity per area
