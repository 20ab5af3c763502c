"""``socialresilience:createsampletown`` through Processing and qgis_process: layers, metadata, errors."""

from __future__ import annotations

import csv
import sqlite3
import time
from collections import defaultdict
from pathlib import Path

import pytest
from qgis.core import (
    NULL,
    QgsFeatureRequest,
    QgsPointXY,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsVectorLayer,
    QgsWkbTypes,
)

from .conftest import REPO

ALG = "socialresilience:createsampletown"
LAYERS = {
    "network": ["way_id", "highway", "name", "bridge", "tunnel", "layer"],
    "barriers": ["way_id", "highway", "name", "barrier_type"],
    "crossings": ["crossing_id", "highway", "crossing", "way_id"],
    "green_spaces": ["park_id", "name", "leisure", "area_m2"],
    "entrances": ["entrance_id", "park_id", "way_id"],
    "buildings": ["building_id", "building", "levels", "population", "pop_65plus", "pop_children"],
    "places": ["place_id", "category", "name", "kind"],
    "trees": ["tree_id", "kind"],
    "canopy": ["canopy_id", "kind"],
    "districts": [
        "district_id",
        "name",
        "population",
        "area_ha",
        "share_65plus",
        "unemployment",
        "child_poverty",
        "income",
        "green_m2_per_inh",
        "no2",
        "pm25",
        "noise_lden",
        "heat_days",
    ],
    "stations": ["station_id", "name", "site", "district_id", "road_dist_m", "properties", "last_time"],
    "observations": ["station_id", "stream_id", "property", "unit", "time", "time_end", "value", "source"],
    "district_months": ["district_id", "name", "month", "no2"],
}


def layer(path: Path | str, name: str) -> QgsVectorLayer:
    result = QgsVectorLayer(f"{path}|layername={name}", name, "ogr")
    assert result.isValid(), name
    return result


def run(params: dict, feedback: QgsProcessingFeedback | None = None) -> dict:
    import processing

    return processing.run(ALG, params, feedback=feedback)


def features(path, name):
    return list(layer(path, name).getFeatures())


def test_layers_present_valid_and_in_utm32(sample_town):
    for name, fields in LAYERS.items():
        vector = layer(sample_town, name)
        assert vector.fields().names()[1:] == fields  # fid first
        assert vector.featureCount() > 0, name
        if name == "observations":
            assert vector.wkbType() == QgsWkbTypes.NoGeometry
            continue
        assert vector.crs().authid() == "EPSG:25832"
        for feature in vector.getFeatures():
            assert feature.geometry().isGeosValid(), (name, feature.id())


def test_every_layer_says_it_is_synthetic(sample_town):
    for name in LAYERS:
        metadata = layer(sample_town, name).metadata()
        assert "synthetic" in metadata.title().lower(), name
        assert "synthetic" in metadata.abstract().lower(), name
        assert "synthetic" in metadata.keywords().get("synthetic", [])
    with sqlite3.connect(sample_town) as connection:
        descriptions = dict(connection.execute("SELECT table_name, description FROM gpkg_contents"))
    assert set(descriptions) == {*LAYERS, "layer_styles"}
    assert all(text.startswith("Synthetic data") for text in descriptions.values())


def test_layers_open_with_their_stored_style(sample_town):
    from qgis.core import QgsCategorizedSymbolRenderer

    layers = {name: layer(sample_town, name) for name in ("network", "districts", "stations")}  # keep them alive
    network = layers["network"].renderer()
    assert isinstance(network, QgsCategorizedSymbolRenderer)
    assert network.classAttribute() == "highway"
    assert {c.value() for c in network.categories()} >= {"primary", "secondary", "residential", "footway", "path"}
    assert layers["districts"].labelsEnabled()
    stations = layers["stations"].renderer()
    assert {c.value() for c in stations.categories()} == {"roadside", "background", "park"}


def geometries(path, name):
    return [f.geometry() for f in layer(path, name).getFeatures()]


def test_same_seed_identical_other_seed_different(provider, tmp_path):
    paths = {}
    for label, seed in (("a", 11), ("b", 11), ("c", 12)):
        paths[label] = tmp_path / f"{label}.gpkg"
        run({"SEED": seed, "SIZE_KM": 1.0, "OUTPUT": str(paths[label])})

    def dump(path, name):
        return [(f.geometry().asWkt(2), f.attributes()) for f in layer(path, name).getFeatures()]

    for name in LAYERS:
        assert dump(paths["a"], name) == dump(paths["b"], name), name
    assert dump(paths["a"], "buildings") != dump(paths["c"], "buildings")
    assert dump(paths["a"], "observations") != dump(paths["c"], "observations")


def test_two_km_town_is_fast(provider, tmp_path):
    start = time.process_time()  # CPU time: robust against other jobs on the machine
    run({"SEED": 42, "SIZE_KM": 2.0, "OUTPUT": str(tmp_path / "t.gpkg")})
    assert time.process_time() - start < 3.0


def test_population_and_districts(sample_town):
    buildings = features(sample_town, "buildings")
    population = sum(f["population"] for f in buildings)
    assert all(isinstance(f["population"], int) and f["population"] >= 0 for f in buildings)
    assert 8000 <= population <= 60000  # 2,000-15,000 residents per km² on 4 km²
    districts = features(sample_town, "districts")
    assert sum(f["population"] for f in districts) == population
    assert sum(f.geometry().area() for f in districts) == pytest.approx(4e6)
    suppressed = [f for f in districts if f["unemployment"] == NULL]
    assert suppressed
    assert all(f["population"] < 100 for f in suppressed)


def test_green_spaces_and_the_narrow_pair(sample_town):
    green = geometries(sample_town, "green_spaces")
    areas = [g.area() for g in green]
    assert sum(a >= 20000 for a in areas) >= 2
    assert sum(a < 20000 for a in areas) >= 3
    pairs = [(a, b) for i, a in enumerate(green) for b in green[i + 1 :] if a.distance(b) < 10]
    assert len(pairs) == 1
    a, b = pairs[0]
    assert 5.0 <= a.distance(b) <= 8.0
    assert a.area() < 20000
    assert b.area() < 20000
    merged = a.buffer(5, 1).combine(b.buffer(5, 1)).buffer(-5, 1)
    assert merged.area() >= 20000
    assert not merged.isMultipart()


def test_crossings_are_on_barriers_and_network_vertices(sample_town):
    barriers = geometries(sample_town, "barriers")
    vertices = {(v.x(), v.y()) for g in barriers for v in g.vertices()}
    network_vertices = defaultdict(int)
    for g in geometries(sample_town, "network"):
        for v in g.vertices():
            network_vertices[(v.x(), v.y())] += 1
    crossings = geometries(sample_town, "crossings")
    assert len(crossings) >= 5
    for crossing in crossings:
        point = crossing.asPoint()
        assert min(crossing.distance(b) for b in barriers) < 1e-9
        assert (point.x(), point.y()) in vertices
        assert network_vertices[(point.x(), point.y())] >= 3  # arterial ways plus at least one street


def test_entrances_lie_on_green_space_edges_and_path_vertices(sample_town):
    from qgis.core import QgsGeometry

    edges = {
        f["park_id"]: QgsGeometry(f.geometry().constGet().exteriorRing().clone())
        for f in features(sample_town, "green_spaces")
    }
    paths = {f["way_id"]: f.geometry() for f in features(sample_town, "network")}
    entrances = features(sample_town, "entrances")
    assert {f["park_id"] for f in entrances} == set(edges)
    for entrance in entrances:
        point = entrance.geometry().asPoint()
        assert entrance.geometry().distance(edges[entrance["park_id"]]) < 1e-9
        assert point in [QgsPointXY(v) for v in paths[entrance["way_id"]].vertices()]


def observation_rows(path):
    request = QgsFeatureRequest().setFlags(QgsFeatureRequest.NoGeometry)
    return list(layer(path, "observations").getFeatures(request))


def test_observations_counts_gaps_and_times(sample_town):
    rows = observation_rows(sample_town)
    stations = {f["station_id"] for f in features(sample_town, "stations")}
    assert {f["station_id"] for f in rows} == stations
    full = len(stations) * 4 * 720
    assert 0.95 * full < len(rows) < full
    streams = defaultdict(int)
    for f in rows:
        streams[(f["station_id"], f["property"], f["unit"])] += 1
    assert {(p, u) for _s, p, u in streams} == {
        ("no2", "µg/m³"),
        ("pm25", "µg/m³"),
        ("noise_laeq", "dB(A)"),
        ("air_temperature", "°C"),
    }
    assert all(650 <= n <= 720 for n in streams.values())
    assert sum(f["value"] == NULL for f in rows) > 0.005 * len(rows)
    times = [f["time"] for f in rows]
    assert min(times).toString("yyyy-MM-ddTHH:mm") == "2024-06-01T00:00"
    assert max(times).toString("yyyy-MM-ddTHH:mm") == "2024-06-30T23:00"
    with sqlite3.connect(sample_town) as connection:
        text = connection.execute("SELECT time, time_end FROM observations LIMIT 1").fetchone()
    assert text == ("2024-06-01T00:00:00.000Z", "2024-06-01T01:00:00.000Z")


def test_faulty_sensor_is_detectable_and_daily_cycle(sample_town):
    streams = defaultdict(list)
    hourly = defaultdict(list)
    for f in observation_rows(sample_town):
        value = None if f["value"] == NULL else f["value"]
        streams[f["stream_id"]].append(value)
        if f["property"] == "no2" and value is not None and value >= 0:
            hourly[f["time"].time().hour()].append(value)
    suspicious = []
    for stream, values in streams.items():
        runs = [1]
        for previous, value in zip(values, values[1:]):
            runs.append(runs[-1] + 1 if value is not None and value == previous else 1)
        if max(runs) >= 24 or any(v is not None and v < 0 and "temperature" not in stream for v in values):
            suspicious.append(stream)
    assert len(suspicious) == 1
    assert suspicious[0].endswith("/no2")
    mean = {hour: sum(v) / len(v) for hour, v in hourly.items()}
    assert mean[8] > mean[3]


@pytest.mark.parametrize(
    ("size", "message"), [(0, "between 1 and 20 km"), (-2, "between 1 and 20 km"), (50, "between 1 and 20 km")]
)
def test_bad_size_is_rejected_and_leaves_no_file(provider, tmp_path, size, message):
    out = tmp_path / "town.gpkg"
    with pytest.raises(QgsProcessingException, match=message):
        run({"SEED": 1, "SIZE_KM": size, "OUTPUT": str(out)})
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_is_rejected(provider, tmp_path):
    with pytest.raises(QgsProcessingException, match="does not exist"):
        run({"SEED": 1, "SIZE_KM": 1.0, "OUTPUT": str(tmp_path / "missing" / "town.gpkg")})


def test_existing_output_survives_a_cancelled_run_and_is_replaced_by_a_good_one(provider, tmp_path):
    out = tmp_path / "town.gpkg"
    run({"SEED": 1, "SIZE_KM": 1.0, "OUTPUT": str(out)})
    first = [f.attributes() for f in layer(out, "buildings").getFeatures()]
    before = out.read_bytes()
    feedback = QgsProcessingFeedback()
    feedback.progressChanged.connect(lambda progress: progress > 40 and feedback.cancel())
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        run({"SEED": 2, "SIZE_KM": 1.0, "OUTPUT": str(out)}, feedback)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["town.gpkg"]
    run({"SEED": 2, "SIZE_KM": 1.0, "OUTPUT": str(out)})
    second = [f.attributes() for f in layer(out, "buildings").getFeatures()]
    assert second != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["town.gpkg"]


def test_outputs_chain_into_other_algorithms(provider, tmp_path):
    import processing

    out = tmp_path / "town.gpkg"
    results = run({"SEED": 3, "SIZE_KM": 1.0, "OUTPUT": str(out)})
    assert results["OUTPUT"] == str(out)
    for output, name in zip(
        [
            "NETWORK",
            "BARRIERS",
            "CROSSINGS",
            "GREEN_SPACES",
            "ENTRANCES",
            "BUILDINGS",
            "PLACES",
            "TREES",
            "CANOPY",
            "DISTRICTS",
            "STATIONS",
            "OBSERVATIONS",
            "DISTRICT_MONTHS",
        ],
        LAYERS,
    ):
        assert results[output] == f"{out}|layername={name}"
    buffered = processing.run("native:buffer", {"INPUT": results["GREEN_SPACES"], "DISTANCE": 5, "OUTPUT": "memory:"})
    assert buffered["OUTPUT"].featureCount() == layer(out, "green_spaces").featureCount()
    table = processing.run(
        "native:extractbyattribute",
        {
            "INPUT": results["OBSERVATIONS"],
            "FIELD": "property",
            "OPERATOR": 0,
            "VALUE": "no2",
            "OUTPUT": "memory:",
        },
    )
    assert table["OUTPUT"].featureCount() > 0


def test_model_chains_the_town_into_a_buffer(provider, tmp_path):
    from qgis.core import (
        QgsProcessingModelAlgorithm,
        QgsProcessingModelChildAlgorithm,
        QgsProcessingModelChildParameterSource,
        QgsProcessingModelOutput,
    )

    model = QgsProcessingModelAlgorithm("town buffer", "test")
    town = QgsProcessingModelChildAlgorithm(ALG)
    town.setChildId("town")
    town.addParameterSources("SEED", [QgsProcessingModelChildParameterSource.fromStaticValue(4)])
    town.addParameterSources("SIZE_KM", [QgsProcessingModelChildParameterSource.fromStaticValue(1.0)])
    town.addParameterSources(
        "OUTPUT", [QgsProcessingModelChildParameterSource.fromStaticValue(str(tmp_path / "model_town.gpkg"))]
    )
    model.addChildAlgorithm(town)
    buffer = QgsProcessingModelChildAlgorithm("native:buffer")
    buffer.setChildId("buffer")
    buffer.addParameterSources(
        "INPUT", [QgsProcessingModelChildParameterSource.fromChildOutput("town", "GREEN_SPACES")]
    )
    buffer.addParameterSources("DISTANCE", [QgsProcessingModelChildParameterSource.fromStaticValue(10)])
    result_output = QgsProcessingModelOutput("buffered")
    result_output.setChildId("buffer")
    result_output.setChildOutputName("OUTPUT")
    buffer.setModelOutputs({"buffered": result_output})
    model.addChildAlgorithm(buffer)
    model.updateDestinationParameters()
    context = QgsProcessingContext()
    _results, ok = model.run({"buffer:buffered": str(tmp_path / "buffered.gpkg")}, context, QgsProcessingFeedback())
    assert ok
    assert (
        layer(tmp_path / "buffered.gpkg", "buffered").featureCount()
        == layer(tmp_path / "model_town.gpkg", "green_spaces").featureCount()
    )


def test_csv_output_for_the_sensor_importer(provider, tmp_path):
    out, table = tmp_path / "town.gpkg", tmp_path / "observations.csv"
    results = run({"SEED": 5, "SIZE_KM": 1.0, "OUTPUT": str(out), "OUTPUT_CSV": str(table)})
    assert results["OUTPUT_CSV"] == str(table)
    assert table.stat().st_mode & 0o777 == out.stat().st_mode & 0o777  # readable like any other output
    assert table.stat().st_mode & 0o044, "the CSV must not be private to its owner (mkstemp's 600)"
    with table.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == ["station_id", "name", "lon", "lat", "property", "unit", "time", "value"]
    assert len(rows) == layer(out, "observations").featureCount()
    assert all(row["time"].endswith("Z") and len(row["time"]) == 20 for row in rows)
    assert all(8.9 < float(row["lon"]) < 9.6 and 51.0 < float(row["lat"]) < 51.4 for row in rows)
    assert any(row["value"] == "" for row in rows)
    names = {f["station_id"]: f["name"] for f in features(out, "stations")}
    assert {row["station_id"]: row["name"] for row in rows} == names


def test_csv_reads_back_through_the_sensor_importer(provider, tmp_path):
    import processing

    out, table = tmp_path / "town.gpkg", tmp_path / "observations.csv"
    run({"SEED": 6, "SIZE_KM": 1.0, "OUTPUT": str(out), "OUTPUT_CSV": str(table)})
    imported = processing.run(
        "socialresilience:importsensorfeed",
        {"FORMAT": 5, "SOURCE": str(table), "OUTPUT_STATIONS": "memory:", "OUTPUT_OBSERVATIONS": "memory:"},
    )
    original = observation_rows(out)
    assert imported["N_STATIONS"] == layer(out, "stations").featureCount()
    assert imported["N_OBSERVATIONS"] == len(original)
    rows = list(imported["OUTPUT_OBSERVATIONS"].getFeatures())
    assert {f["stream_id"] for f in rows} == {f["stream_id"] for f in original}
    sentinels = sum(f["value"] == -999 for f in original)
    assert sentinels > 0  # the faulty sensor's sentinel values: the importer turns them into NULL
    assert sum(f["value"] == NULL for f in rows) == sum(f["value"] == NULL for f in original) + sentinels


def test_without_csv_no_csv_is_written(provider, tmp_path):
    results = run({"SEED": 5, "SIZE_KM": 1.0, "OUTPUT": str(tmp_path / "town.gpkg")})
    assert "OUTPUT_CSV" not in results or not results["OUTPUT_CSV"]
    assert [p.name for p in tmp_path.iterdir()] == ["town.gpkg"]


def test_qgis_process_run_and_chain(qgis_process, tmp_path):
    out = tmp_path / "town.gpkg"
    report = qgis_process.run_algorithm(
        ALG, {"SEED": 42, "SIZE_KM": 1.5, "OUTPUT": out, "OUTPUT_CSV": tmp_path / "obs.csv"}
    )
    results = report["results"]
    assert results["OUTPUT"] == str(out)
    assert (tmp_path / "obs.csv").is_file()
    assert results["DISTRICTS"] == f"{out}|layername=districts"
    assert layer(out, "districts").featureCount() == 36
    buffered = qgis_process.run_algorithm(
        "native:buffer", {"INPUT": results["GREEN_SPACES"], "DISTANCE": 5, "OUTPUT": tmp_path / "buffer.gpkg"}
    )
    assert Path(buffered["results"]["OUTPUT"]).is_file()
    assert layer(tmp_path / "buffer.gpkg", "buffer").featureCount() == layer(out, "green_spaces").featureCount()


def test_qgis_process_rejects_bad_size(qgis_process, tmp_path):
    result = qgis_process.run_algorithm_failing(ALG, {"SIZE_KM": 0, "OUTPUT": tmp_path / "town.gpkg"})
    assert result.returncode != 0
    assert "between 1 and 20 km" in result.stdout + result.stderr
    assert not (tmp_path / "town.gpkg").exists()


def test_missing_extension_is_added(provider, tmp_path):
    results = run({"SEED": 5, "SIZE_KM": 1.0, "OUTPUT": str(tmp_path / "town")})
    assert results["OUTPUT"] == str(tmp_path / "town.gpkg")
    assert results["NETWORK"] == f"{tmp_path / 'town.gpkg'}|layername=network"
    assert [p.name for p in tmp_path.iterdir()] == ["town.gpkg"]


def test_stations_mirror_the_importer_schema(sample_town):
    import json

    last = defaultdict(list)
    for f in observation_rows(sample_town):
        last[f["station_id"]].append(f["time"])
    for station in features(sample_town, "stations"):
        assert station["last_time"] == max(last[station["station_id"]])
        properties = json.loads(station["properties"])
        assert properties["site"] == station["site"]
        assert properties["observed_properties"] == ["no2", "pm25", "noise_laeq", "air_temperature"]
    with sqlite3.connect(sample_town) as connection:
        (text,) = connection.execute("SELECT last_time FROM stations LIMIT 1").fetchone()
    assert text.endswith("Z")


def _style_symbol_layer(style: str):
    from qgis.core import QgsVectorLayer

    template = QgsVectorLayer("Polygon?crs=EPSG:25832", "template", "memory")
    template.loadNamedStyle(str(REPO / "resources" / "styles" / style))
    return template.renderer().symbol().symbolLayer(0).clone()


def test_run_and_load_gives_styled_layers_named_in_words(provider, tmp_path):
    """The desktop loads the town with the plugin's styles, not random single symbols."""
    import processing
    from qgis.core import QgsProject

    before = set(QgsProject.instance().mapLayers())
    processing.runAndLoadResults(
        "socialresilience:createsampletown", {"SEED": 7, "SIZE_KM": 1.0, "OUTPUT": str(tmp_path / "town.gpkg")}
    )
    loaded = [QgsProject.instance().mapLayer(i) for i in set(QgsProject.instance().mapLayers()) - before]
    try:
        by_name = {layer.name(): layer for layer in loaded}
        assert set(by_name) == {
            f"Sample town: {name}"
            for name in ("Walking network", "Barriers (arterial roads)", "Crossings", "Green spaces",
                         "Green-space entrances", "Buildings", "Everyday places", "Trees", "Tree canopy", "Districts",
                         "Sensor stations", "Sensor observations", "NO2 per district and month, 2024-2025")
        }
        renderers = {name: layer.renderer().type() for name, layer in by_name.items() if layer.isSpatial()}
        assert renderers["Sample town: Walking network"] == "categorizedSymbol"
        assert renderers["Sample town: Sensor stations"] == "categorizedSymbol"
        assert renderers["Sample town: Buildings"] == "categorizedSymbol"
        assert renderers["Sample town: Everyday places"] == "categorizedSymbol"
        districts = by_name["Sample town: Districts"].renderer().symbol().symbolLayer(0)
        assert districts.properties() == _style_symbol_layer("sample_town_districts.qml").properties()
        assert by_name["Sample town: Districts"].labelsEnabled()
        tree_order = [node.name() for node in QgsProject.instance().layerTreeRoot().findLayers()
                      if node.layerId() in {layer.id() for layer in loaded}]
        assert tree_order == [  # points over lines over polygons, the districts at the bottom
            f"Sample town: {name}"
            for name in ("Sensor stations", "Sensor observations", "Everyday places", "Crossings",
                         "Green-space entrances", "Trees", "Walking network", "Barriers (arterial roads)", "Buildings",
                         "Tree canopy", "Green spaces", "Districts", "NO2 per district and month, 2024-2025")
        ]
    finally:
        QgsProject.instance().removeMapLayers([layer.id() for layer in loaded])


def _tiny_model_with_the_town():
    """A graphical model whose only child creates the sample town; its GeoPackage is the model's output."""
    from qgis.core import (
        QgsProcessingModelAlgorithm,
        QgsProcessingModelChildAlgorithm,
        QgsProcessingModelChildParameterSource,
        QgsProcessingModelOutput,
    )

    model = QgsProcessingModelAlgorithm("town model", "tests")
    child = QgsProcessingModelChildAlgorithm("socialresilience:createsampletown")
    child.setChildId("town")
    child.addParameterSources("SEED", [QgsProcessingModelChildParameterSource.fromStaticValue(3)])
    child.addParameterSources("SIZE_KM", [QgsProcessingModelChildParameterSource.fromStaticValue(1.0)])
    output = QgsProcessingModelOutput("town_file")
    output.setChildId("town")
    output.setChildOutputName("OUTPUT")
    child.setModelOutputs({"town_file": output})
    model.addChildAlgorithm(child)
    model.updateDestinationParameters()
    return model


def test_a_model_child_does_not_load_the_town_layers(provider, tmp_path):
    """Inside a graphical model only the model's outputs reach the project, not the nine town layers."""
    import processing
    from qgis.core import QgsProject

    model = _tiny_model_with_the_town()
    before = set(QgsProject.instance().mapLayers())
    result = processing.runAndLoadResults(model, {"town:town_file": str(tmp_path / "town.gpkg")})
    added = [QgsProject.instance().mapLayer(i) for i in set(QgsProject.instance().mapLayers()) - before]
    try:
        assert Path(result["town:town_file"]).is_file()
        assert [layer.name() for layer in added if layer.name().startswith("Sample town:")] == []
    finally:
        QgsProject.instance().removeMapLayers([layer.id() for layer in added])


def test_restack_keeps_other_layers_and_the_places(provider):
    """Only the town's layers move, within the places they hold; no layer leaves the project."""
    from qgis.core import QgsProject, QgsVectorLayer
    from social_resilience.algorithms.sample_town.town_on_load import restack

    project = QgsProject.instance()
    group = project.layerTreeRoot().addGroup("restack test")
    layers = [QgsVectorLayer("Point?crs=EPSG:25832", name, "memory") for name in ("districts", "mine", "stations")]
    try:
        for layer in layers:
            project.addMapLayer(layer, False)
            group.addLayer(layer)
        restack(group, {layers[0].id(): 8, layers[2].id(): 0})
        assert [node.name() for node in group.findLayers()] == ["stations", "mine", "districts"]
        assert all(project.mapLayer(layer.id()) is not None for layer in layers)
    finally:
        project.removeMapLayers([layer.id() for layer in layers])
        project.layerTreeRoot().removeChildNode(group)
