"""The one output path: ``AlgorithmBase.create_sink`` and its guard.

A failed or cancelled run removes only what it created (a new file, or the one layer it added to the
user's GeoPackage), never a file or layer that existed before; every ``addFeature(s)`` is checked; a
run like the algorithm dialog's leaves no layer id to load that does not exist.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import processing
import pytest
from qgis.core import (
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputLayerDefinition,
    QgsProcessingUtils,
    QgsProject,
    QgsVectorLayer,
)
from social_resilience.core.sensors.archive import ArchiveWriter, archive_counts
from social_resilience.core.sensors.model import Observation, Station

from .hostile_helpers import city_geopackage, disk_full_after, layer_counts
from .sensor_http_server import STA_PREFIX, SensorHttpServer, StaFeed

REPO = Path(__file__).resolve().parent.parent
IMPORT = "socialresilience:importsensorfeed"


def gpkg_destination(path: Path, table: str) -> str:
    """The destination the "Save to GeoPackage" choice of the output widget writes."""
    return f"ogr:dbname='{path}' table=\"{table}\" (geom)"


class Recorder(QgsProcessingFeedback):
    """Keeps warnings and errors; cancels once progress passes ``cancel_at``."""

    def __init__(self, cancel_at: float | None = None) -> None:
        super().__init__()
        self.warnings: list[str] = []
        self.errors: list[str] = []
        self.cancel_at = cancel_at
        self.progressChanged.connect(self._progress)

    def _progress(self, value: float) -> None:
        if self.cancel_at is not None and value >= self.cancel_at:
            self.cancel()

    def pushWarning(self, warning: str) -> None:  # noqa: N802
        self.warnings.append(warning)
        super().pushWarning(warning)

    def reportError(self, error: str, fatalError: bool = False) -> None:  # noqa: N802, N803
        self.errors.append(error)
        super().reportError(error, fatalError)


def filled_archive(path: Path, observations: int = 40_000) -> tuple[int, int]:
    """An archive holding ``observations`` rows of another feed (a few MB); its (stations, observations)."""
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    rows = [Observation("s1", f"s1/{i % 4}", "NO2", "µg/m³", start + timedelta(minutes=i), float(i % 50),
                        '{"value":1}', "https://other.example/feed") for i in range(observations)]
    with ArchiveWriter(path) as writer:
        writer.add_observations(rows)
        writer.upsert_stations([Station("s1", "one", 9.0, 51.0, source="https://other.example/feed")])
    return archive_counts(path)


@pytest.fixture
def feed_server():
    feed = StaFeed(things=2, streams=2, observations=1500, max_top=500)
    with SensorHttpServer(lifetime=180, sta=feed) as instance:
        yield instance


# -- one output path -------------------------------------------------------------------------------


def test_every_sink_goes_through_create_sink():
    """No algorithm opens a sink itself, and nothing asks parameterAsOutputLayer of a sink."""
    offenders = []
    for path in sorted((REPO / "algorithms").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if path.name != "base.py" and "parameterAsSink(" in text:
            offenders.append(f"{path.relative_to(REPO)}: parameterAsSink")
        if "parameterAsOutputLayer(" in text:
            offenders.append(f"{path.relative_to(REPO)}: parameterAsOutputLayer")
        for match in re.finditer(r"os\.remove\(|\.unlink\(", text):
            if path.name not in ("safe_io.py", "sample_town_writer.py", "create_sample_town.py"):
                offenders.append(f"{path.relative_to(REPO)}: own deletion code at {match.start()}")
    assert offenders == []


def _dialog_run(algorithm_id: str, parameters: dict, sinks: tuple[str, ...]) -> dict:
    """Run like the algorithm dialog: outputs that load into the project, then the dialog's result handling."""
    from processing.gui.Postprocessing import handleAlgorithmResults

    project = QgsProject.instance()
    for name in sinks:
        parameters[name] = QgsProcessingOutputLayerDefinition(QgsProcessing.TEMPORARY_OUTPUT, project)
    context = QgsProcessingContext()
    context.setProject(project)
    feedback = Recorder()
    queued: list[str] = []

    def finished(algorithm, context: QgsProcessingContext, feedback: Recorder) -> None:
        queued.extend(context.layersToLoadOnCompletion())
        missing = [key for key in queued if QgsProcessingUtils.mapLayerFromString(key, context) is None]
        assert missing == [], f"{algorithm_id} queued layers that do not exist: {missing}"
        handleAlgorithmResults(algorithm, context, feedback)

    results = processing.run(algorithm_id, parameters, onFinish=finished, context=context, feedback=feedback)
    assert len(queued) == len(sinks)
    assert not [e for e in feedback.errors if "not correctly generated" in e], feedback.errors
    return results


def test_dialog_run_queues_only_layers_that_exist(provider, sample_town, tmp_path):
    project = QgsProject.instance()
    before = set(project.mapLayers())
    try:
        score = _dialog_run("socialresilience:hotspotscore", {
            "INPUT": f"{sample_town}|layername=districts", "ENV_FIELDS": ["unemployment"],
            "SOCIAL_FIELDS": ["child_poverty"]}, ("OUTPUT",))
        csv = tmp_path / "obs.csv"
        csv.write_text("station_id,time,value,lon,lat\na,2024-05-01T10:00:00Z,3.5,9.5,51.3\n", encoding="utf-8")
        for _run in range(2):  # the second run: the first context deleted its post-processors
            feed = _dialog_run(IMPORT, {"FORMAT": 5, "SOURCE": str(csv)}, ("OUTPUT_STATIONS", "OUTPUT_OBSERVATIONS"))
        loaded = [project.mapLayer(i) for i in set(project.mapLayers()) - before]
        districts = QgsVectorLayer(f"{sample_town}|layername=districts").featureCount()
        assert sorted(layer.featureCount() for layer in loaded) == sorted([1, 1, 1, 1, districts])
        temporal = [layer for layer in loaded if layer.temporalProperties().isActive()]
        assert len(temporal) == 4  # both runs' layers got their post-processor
        assert feed["N_OBSERVATIONS"] == 1
        assert score["OUTPUT"] in {layer.id() for layer in loaded}
    finally:
        project.removeMapLayers(list(set(project.mapLayers()) - before))


# -- the user's GeoPackage -------------------------------------------------------------------------


def test_failed_archive_commit_removes_only_the_layers_the_import_added(provider, feed_server, tmp_path):
    """The archive's disk runs full at the end: the import fails, city.gpkg keeps its ten layers, loses its new two."""
    city = tmp_path / "city.gpkg"
    kept = city_geopackage(city)
    archive = tmp_path / "archive.gpkg"
    before = filled_archive(archive)
    archive_bytes = archive.read_bytes()
    params = {"SOURCE": feed_server.url(STA_PREFIX), "ARCHIVE": str(archive),
              "OUTPUT_STATIONS": gpkg_destination(city, "stations_june"),
              "OUTPUT_OBSERVATIONS": gpkg_destination(city, "obs_june")}
    assert archive.stat().st_size > 3_000_000 > city.stat().st_size + 1_500_000
    with disk_full_after(2_500_000), pytest.raises(QgsProcessingException, match="Cannot write the archive"):
        processing.run(IMPORT, params)
    assert layer_counts(city) == kept
    assert archive_counts(archive) == before
    assert archive.read_bytes() == archive_bytes
    done = processing.run(IMPORT, params)  # the same run with room on the disk
    assert done["N_OBSERVATIONS"] == 2 * 2 * 1500
    assert layer_counts(city) == {**kept, "stations_june": 2, "obs_june": 6000}


def test_cancelled_import_removes_only_its_layer(provider, feed_server, tmp_path):
    city = tmp_path / "city.gpkg"
    kept = city_geopackage(city)
    archive = tmp_path / "archive.gpkg"
    before = filled_archive(archive, 100)
    params = {"SOURCE": feed_server.url(STA_PREFIX), "ARCHIVE": str(archive), "PAGE_SIZE": 500,
              "OUTPUT_STATIONS": gpkg_destination(city, "stations_june"),
              "OUTPUT_OBSERVATIONS": gpkg_destination(city, "obs_june")}
    feedback = Recorder(cancel_at=40)
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        processing.run(IMPORT, params, feedback=feedback)
    assert layer_counts(city) == kept
    assert archive_counts(archive) == before
    assert feed_server.requested("/Observations")  # it was cancelled while observations were written


def test_hostile_time_on_a_later_page_keeps_the_geopackage_and_imports_the_rest(provider, tmp_path):
    """A page with 9999-12-31T23:00-14:00 after a good one: that observation is skipped and counted."""
    city = tmp_path / "city.gpkg"
    kept = city_geopackage(city)
    with SensorHttpServer(lifetime=120) as server:
        first = "/sta/v1.1/Datastreams(7)/Observations"
        second = first + "?$skip=2"
        server.add(first, _json({"value": [
            {"phenomenonTime": "2024-05-01T10:00:00Z", "result": 1.5},
            {"phenomenonTime": "2024-05-01T11:00:00Z", "result": 2.5}], "@iot.nextLink": server.url(second)}))
        server.add(second, _json({"value": [
            {"phenomenonTime": "2024-05-01T12:00:00Z", "result": 3.5},
            {"phenomenonTime": "9999-12-31T23:00:00-14:00", "result": 4.5},
            {"phenomenonTime": "0001-01-01T00:30:00+14:00", "result": 5.5},
            {"phenomenonTime": "2024-05-01T13:00:00Z", "result": 6.5}]}))
        feedback = Recorder()
        result = processing.run(IMPORT, {
            "SOURCE": server.url(first), "OUTPUT_STATIONS": gpkg_destination(city, "stations_june"),
            "OUTPUT_OBSERVATIONS": gpkg_destination(city, "obs_june")}, feedback=feedback)
    assert result["N_OBSERVATIONS"] == 4
    assert result["COMPLETE"] == 1
    counts = layer_counts(city)
    assert counts == {**kept, "stations_june": counts["stations_june"], "obs_june": 4}
    assert any("2 observations" in w and "skipped" in w for w in feedback.warnings), feedback.warnings


def _json(document: dict) -> str:
    import json

    return json.dumps(document)


def test_failed_write_of_one_output_removes_all_layers_the_run_added(provider, sample_town, tmp_path):
    """Catchments into the user's GeoPackage, homes into a shapefile on a disk that runs full."""
    city = tmp_path / "city.gpkg"
    kept = city_geopackage(city, layers=3)
    homes = tmp_path / "homes.shp"
    town = str(sample_town)
    params = {
        "NETWORK": f"{town}|layername=network", "GREEN_SPACES": f"{town}|layername=green_spaces",
        "BARRIERS": f"{town}|layername=barriers", "CROSSINGS": f"{town}|layername=crossings",
        "RESIDENTIAL": f"{town}|layername=buildings", "POPULATION_FIELD": "population",
        "DISTANCE": 400, "MIN_AREA_HA": 2,
        "OUTPUT_GREEN_SPACES": gpkg_destination(city, "green_2ha"),
        "OUTPUT_CATCHMENTS": gpkg_destination(city, "catchments"),
        "OUTPUT_RESIDENTIAL": str(homes),
    }
    with disk_full_after(200_000), pytest.raises(QgsProcessingException) as raised:
        processing.run("socialresilience:greenspacecatchments", params)
    message = str(raised.value)
    assert "OUTPUT_RESIDENTIAL" in message
    assert "homes" in message
    assert "disk space" in message
    assert layer_counts(city) == kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["city.gpkg"]


def test_existing_layer_of_the_same_name_is_never_dropped(provider, tmp_path):
    """A failed run into a layer name that existed before: QGIS replaced that layer, the guard does not drop it."""
    city = tmp_path / "city.gpkg"
    kept = city_geopackage(city, layers=3)
    archive = tmp_path / "archive.gpkg"
    before = filled_archive(archive)
    csv = tmp_path / "obs.csv"
    csv.write_text("station_id,time,value\na,2024-05-01T10:00:00Z,3.5\n", encoding="utf-8")
    with disk_full_after(2_500_000), pytest.raises(QgsProcessingException, match="Cannot write the archive"):
        processing.run(IMPORT, {"FORMAT": 5, "SOURCE": str(csv), "ARCHIVE": str(archive),
                                "OUTPUT_STATIONS": "memory:",
                                "OUTPUT_OBSERVATIONS": gpkg_destination(city, "layer_1")})
    assert set(layer_counts(city)) == set(kept)
    assert archive_counts(archive) == before
    with sqlite3.connect(city) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
