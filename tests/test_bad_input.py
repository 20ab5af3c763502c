"""Bad input as users bring it (issue 11): every algorithm in one process, one run after another.

Invalid polygons, values that overflow, fields without spread, duplicate geometries, layers
without or with a wrong CRS, cancelled runs and shapefile outputs: each gives a clear message
or a warning that names what was done, never a crash, a silent wrong number or a stray file.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from qgis.core import (
    NULL,
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsGeometry,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsRectangle,
    QgsVectorFileWriter,
    QgsVectorLayer,
)

from .test_aggregate_observations import WINDOW, observation_layer, station_layer
from .test_green_space_catchments import Recorder, grid_params
from .test_green_space_catchments import _layer as catchment_layer
from .test_local_hotspots import grid_wkts, memory_layer

SCORE, LOCAL, AGGREGATE, CATCHMENTS = (
    f"socialresilience:{name}" for name in ("hotspotscore", "localhotspots", "aggregateobservations",
                                            "greenspacecatchments")
)
X0, Y0 = 500000.0, 5500000.0


def bowtie(x: float, y: float, size: float = 100.0) -> str:
    """A self-intersecting square over the cell at (x, y): the invalid polygon users bring."""
    return f"POLYGON(({x} {y},{x + size} {y + size},{x + size} {y},{x} {y + size},{x} {y}))"


def grid_layer(values: list, side: int = 3, invalid: int | None = None, crs: str = "EPSG:25832"):
    wkts = grid_wkts(side)
    if invalid is not None:
        x, y = X0 + (invalid % side) * 100.0, Y0 + (invalid // side) * 100.0
        wkts[invalid] = bowtie(x, y)
    return memory_layer("Polygon", wkts, values, crs=crs)


def run(algorithm: str, params: dict, feedback: QgsProcessingFeedback | None = None) -> dict:
    import processing

    return processing.run(algorithm, params, feedback=feedback)


def warned(feedback: Recorder, *words: str) -> list[str]:
    """The warnings that contain every one of ``words``."""
    return [w for w in feedback.warnings if all(word in w for word in words)]


# -- invalid polygons, one algorithm after another ----------------------------------------------


def score_run(layer, feedback=None):
    return run(SCORE, {"INPUT": layer, "ENV_FIELDS": ["value"], "OUTPUT": "memory:"}, feedback)["OUTPUT"]


def local_run(layer, feedback=None, **extra):
    params = {"INPUT": layer, "FIELD": "value", "PERMUTATIONS": 0, "OUTPUT": "memory:", **extra}
    return run(LOCAL, params, feedback)


def aggregate_run(areas, feedback=None):
    params = {"STATIONS": station_layer(), "OBSERVATIONS": observation_layer(), "AREAS": areas,
              "OUTPUT_STATIONS": "memory:", "OUTPUT_AREAS": "memory:", **WINDOW}  # fmt: skip
    return run(AGGREGATE, params, feedback)["OUTPUT_AREAS"]


def test_invalid_polygons_then_normal_runs_in_one_process(provider):
    """The desktop case: an invalid polygon into each polygon algorithm, then normal runs."""
    values = [float((i * 7) % 11) for i in range(16)]
    feedback = Recorder()
    scored = score_run(grid_layer(values, 4, invalid=5), feedback)
    assert scored.featureCount() == 16
    assert all(f.geometry().isGeosValid() for f in scored.getFeatures())
    assert warned(feedback, "INPUT (units): 1 invalid geometry(ies) repaired (makeValid)")

    feedback = Recorder()
    local = local_run(grid_layer(values, 4, invalid=5), feedback)
    records = list(local["OUTPUT"].getFeatures())
    assert len(records) == 16
    assert all(r["gi_z"] != NULL for r in records)
    assert records[5]["n_neighbors"] == 8  # the repaired bow-tie (two triangles) still touches its 8 neighbours
    assert warned(feedback, "INPUT", "1 invalid geometry(ies) repaired")

    feedback = Recorder()
    areas = memory_layer("Polygon", [bowtie(X0 + 900, Y0 + 900, 400)], [1.0])
    aggregated = list(aggregate_run(areas, feedback).getFeatures())
    assert len(aggregated) == 1
    assert aggregated[0].geometry().isGeosValid()
    assert aggregated[0]["agg_method"] == "inside"  # station A (1000, 1000) lies in the lower triangle
    assert warned(feedback, "AREAS", "1 invalid geometry(ies) repaired")

    invalid_green = QgsGeometry.fromWkt(bowtie(400_000.0 - 100, 5_500_000.0 - 100, 200))
    catchments = run(CATCHMENTS, grid_params(GREEN_SPACES=catchment_layer("Polygon", [invalid_green])))
    assert catchments["OUTPUT_GREEN_SPACES"].featureCount() == 1

    # the normal runs after them succeed in the same process
    assert score_run(grid_layer(values, 4)).featureCount() == 16
    assert local_run(grid_layer(values, 4))["N_NO_DATA"] == 0
    assert len(list(aggregate_run(memory_layer("Polygon", grid_wkts(1), [1.0])).getFeatures())) == 1
    normal = run(CATCHMENTS, grid_params())["OUTPUT_GREEN_SPACES"]
    assert [f["area_ha"] for f in normal.getFeatures()] == [1.0]


def test_null_empty_and_unrepairable_geometries_are_counted(provider):
    layer = grid_layer([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], side=2)  # 4 cells, 2 more features below
    empty, collapsed = QgsFeature(layer.fields()), QgsFeature(layer.fields())
    empty.setAttributes([4, 5.0])
    collapsed.setAttributes([5, 6.0])
    collapsed.setGeometry(QgsGeometry.fromWkt(f"POLYGON(({X0} {Y0},{X0 + 10} {Y0},{X0} {Y0},{X0} {Y0}))"))
    layer.dataProvider().addFeatures([empty, collapsed])
    feedback = Recorder()
    scored = score_run(layer, feedback)
    assert scored.featureCount() == 6  # scores need no geometry: every unit is kept
    assert [f.hasGeometry() for f in scored.getFeatures()] == [True] * 4 + [False] * 2
    [message] = warned(feedback, "INPUT (units)")
    assert "1 feature(s) without geometry" in message
    assert "1 invalid geometry(ies) that could not be repaired" in message


def test_a_table_without_geometry_gets_no_geometry_warning(provider):
    table = QgsVectorLayer("None?field=uid:integer&field=value:double", "table", "memory")
    rows = []
    for i in range(5):
        row = QgsFeature(table.fields())
        row.setAttributes([i, float(i)])
        rows.append(row)
    table.dataProvider().addFeatures(rows)
    feedback = Recorder()
    assert score_run(table, feedback).featureCount() == 5
    assert not warned(feedback, "without geometry")


def test_duplicate_geometries_are_warned_with_their_count(provider):
    values = [float((i * 7) % 11) for i in range(9)]
    twice = memory_layer("Polygon", grid_wkts(3) * 2, values * 2)
    feedback = Recorder()
    local_run(twice, feedback)
    assert warned(feedback, "9 feature(s) with the same geometry as an earlier feature")
    feedback = Recorder()
    score_run(twice, feedback)
    assert warned(feedback, "9 feature(s) with the same geometry")


# -- values -------------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", [LOCAL, SCORE])
def test_overflowing_value_is_an_error_without_output(provider, tmp_path, algorithm):
    values = [float(i) for i in range(9)]
    values[4] = 1e300
    target = tmp_path / "out.gpkg"
    params = {"INPUT": grid_layer(values), "OUTPUT": str(target)}
    params.update({"FIELD": "value"} if algorithm == LOCAL else {"ENV_FIELDS": ["value"]})
    with pytest.raises(QgsProcessingException, match=r"1e\+300 \(feature 5\), too large to compute with"):
        run(algorithm, params)
    assert not target.exists()


def test_infinite_and_nan_values_are_left_out_with_a_warning(provider):
    values = [float((i * 7) % 11) for i in range(16)]
    values[3], values[9], values[12] = math.inf, -math.inf, math.nan
    feedback = Recorder()
    result = local_run(grid_layer(values, 4), feedback)
    assert warned(feedback, "3 feature(s) hold an infinite or not-a-number value in value")
    z = [f["gi_z"] for f in result["OUTPUT"].getFeatures()]
    assert [i for i, v in enumerate(z) if v == NULL] == [3, 9, 12]
    assert np.isfinite([v for v in z if v != NULL]).all()
    assert any(abs(v) > 0.1 for v in z if v != NULL)  # not the silent -0.0 of an overflow
    assert math.isfinite(result["GLOBAL_MORAN_I"])
    assert result["N_NO_DATA"] == 3

    feedback = Recorder()
    scored = score_run(grid_layer(values, 4), feedback)
    assert warned(feedback, "Field value: 2 infinite value(s) are treated as missing")
    assert [f["n_missing"] for f in scored.getFeatures()].count(1) == 3


def test_spread_within_floating_point_noise_is_all_values_equal(provider):
    values = [5.0] * 99 + [5.000000001]
    wkts = grid_wkts(10)
    with pytest.raises(QgsProcessingException, match="All values of value are equal"):
        local_run(memory_layer("Polygon", wkts, values))
    feedback = Recorder()
    layer = memory_layer("Polygon", wkts, values)
    scored = run(SCORE, {"INPUT": layer, "ENV_FIELDS": ["value"], "NORMALIZATION": 1, "OUTPUT": "memory:"},
                 feedback)["OUTPUT"]  # fmt: skip
    assert {f["value_n"] for f in scored.getFeatures()} == {0.0}  # z-score of equal values, not 9.9 for one
    assert warned(feedback, "only within floating-point noise")
    spread = [5.0] * 99 + [5.001]  # a real difference stays one
    assert local_run(memory_layer("Polygon", wkts, spread))["OUTPUT"].featureCount() == 100


def test_k_nearest_with_too_few_features_gives_the_real_error(provider):
    feedback = Recorder()
    with pytest.raises(QgsProcessingException, match=r"Only 2 feature\(s\) have a value in value; .* at least 3"):
        local_run(grid_layer([1.0, 2.0] + [None] * 7), feedback, WEIGHTS=2, K=8)
    assert not warned(feedback, "k =")


def test_observation_values_that_overflow_are_skipped_with_a_warning(provider):
    observations = observation_layer()
    bad = QgsFeature(observations.fields())
    bad.setAttributes(["A", "NO2", WINDOW["START"], 1e300])
    observations.dataProvider().addFeature(bad)
    feedback = Recorder()
    stations = run(AGGREGATE, {"STATIONS": station_layer(), "OBSERVATIONS": observations,
                               "OUTPUT_STATIONS": "memory:", **WINDOW}, feedback)["OUTPUT_STATIONS"]  # fmt: skip
    assert warned(feedback, "1 observations with an infinite, not-a-number or too large value")
    mean = {f["station_id"]: f["NO2_mean"] for f in stations.getFeatures()}["A"]
    assert math.isfinite(mean)
    assert mean < 100


# -- CRS ----------------------------------------------------------------------------------------


def test_metric_crs_says_what_to_set(qgis_app):
    from social_resilience.algorithms.common import metric_crs

    projected_extent = QgsRectangle(531000.0, 5681000.0, 532000.0, 5682000.0)
    with pytest.raises(QgsProcessingException, match=r"declared as EPSG:4326.*cannot be degrees.*EPSG:25832"):
        metric_crs(QgsCoordinateReferenceSystem("EPSG:4326"), projected_extent, "INPUT")
    with pytest.raises(QgsProcessingException, match="cannot be degrees"):
        metric_crs(QgsCoordinateReferenceSystem("EPSG:4258"), projected_extent, "INPUT")
    degrees = QgsRectangle(9.4, 51.28, 9.55, 51.35)
    with pytest.raises(QgsProcessingException, match="NETWORK has no CRS and its coordinates look like longitude"):
        metric_crs(QgsCoordinateReferenceSystem(), degrees, "NETWORK")
    feedback = Recorder()
    assert not metric_crs(QgsCoordinateReferenceSystem(), projected_extent, "NETWORK", feedback).isValid()
    assert feedback.warnings == [
        "NETWORK has no CRS: its coordinates are taken as metres. If they are not, set its CRS (Layer Properties > "
        "Source)."
    ]
    assert metric_crs(QgsCoordinateReferenceSystem("EPSG:4326"), degrees).authid() == "EPSG:25832"


def test_projected_coordinates_labelled_wgs84_are_refused_clearly(provider):
    layer = grid_layer([float(i) for i in range(9)], crs="EPSG:4326")  # UTM numbers, labelled degrees
    for weights in (2, 3):
        with pytest.raises(QgsProcessingException, match=r"INPUT is declared as EPSG:4326 .* cannot be degrees"):
            local_run(layer, WEIGHTS=weights)
    assert local_run(layer, WEIGHTS=0)["OUTPUT"].featureCount() == 9  # contiguity needs no CRS


def test_layer_without_crs(provider):
    values = [float((i * 7) % 11) for i in range(9)]
    feedback = Recorder()
    result = local_run(grid_layer(values, crs=""), feedback, WEIGHTS=3, DISTANCE=150)
    assert warned(feedback, "INPUT has no CRS: its coordinates are taken as metres")
    assert {f["n_neighbors"] for f in result["OUTPUT"].getFeatures()} == {3, 5, 8}  # queen-like at 150 m
    no_crs = memory_layer("Polygon", grid_wkts(1), [1.0], crs="")
    with pytest.raises(QgsProcessingException, match=r"AREAS has no CRS, but STATIONS \(EPSG:25832\) has one"):
        aggregate_run(no_crs)


def test_catchments_with_all_inputs_without_crs_work_in_metres(provider):
    """metric_crs takes coordinates that cannot be degrees as metres (helper of the catchments)."""
    with_crs = grid_params()
    without = {}
    for name in ("NETWORK", "GREEN_SPACES"):
        layer = with_crs[name]
        kind = "LineString" if name == "NETWORK" else "Polygon"
        copy = QgsVectorLayer(f"{kind}?crs=", name, "memory")
        copy.dataProvider().addFeatures(list(layer.getFeatures()))
        assert not copy.crs().isValid()
        without[name] = copy
    expected = run(CATCHMENTS, grid_params())["OUTPUT_GREEN_SPACES"]
    result = run(CATCHMENTS, {**grid_params(), **without})["OUTPUT_GREEN_SPACES"]
    assert [f["area_ha"] for f in result.getFeatures()] == [f["area_ha"] for f in expected.getFeatures()] == [1.0]


# -- cancelling and outputs ---------------------------------------------------------------------


class CancelAt(QgsProcessingFeedback):
    """Cancels at a progress value, or when a warning with ``word`` arrives (after the sink exists)."""

    def __init__(self, at: float = 101, word: str = "") -> None:
        super().__init__()
        self.word = word
        self.progressChanged.connect(lambda value: self.cancel() if value >= at else None)

    def pushWarning(self, warning: str) -> None:  # noqa: N802
        if self.word and self.word in warning:
            self.cancel()
        super().pushWarning(warning)


def test_cancelled_run_leaves_no_file(provider, tmp_path):
    values = [float((i * 7) % 11) for i in range(16)]
    target = tmp_path / "hot.gpkg"
    with pytest.raises(QgsProcessingException):
        local_run(grid_layer(values, 4), CancelAt(70), OUTPUT=str(target))
    assert list(tmp_path.iterdir()) == []
    shapefile = tmp_path / "score.shp"
    params = {"INPUT": lden_layer(), "ENV_FIELDS": ["noise_lden"], "OUTPUT": str(shapefile)}
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        run(SCORE, params, CancelAt(word="shapefile"))  # cancelled right after the sink made its files
    assert list(tmp_path.iterdir()) == []


def test_cancelled_run_keeps_an_existing_geopackage(provider, tmp_path):
    values = [float((i * 7) % 11) for i in range(16)]
    target = tmp_path / "project.gpkg"
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.layerName = "districts"
    layer = grid_layer(values, 4)
    QgsVectorFileWriter.writeAsVectorFormatV2(layer, str(target), layer.transformContext(), options)
    before = sorted(p.name for p in tmp_path.iterdir())
    destination = f"ogr:dbname='{target}' table=\"hotspots\" (geom)"
    with pytest.raises(QgsProcessingException):
        local_run(layer, CancelAt(70), OUTPUT=destination)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert QgsVectorLayer(f"{target}|layername=districts", "d", "ogr").featureCount() == 16


def lden_layer() -> QgsVectorLayer:
    """Districts with a 10-character indicator name, as noise maps name it."""
    layer = memory_layer("Polygon", grid_wkts(3), [float(i % 4) for i in range(9)])
    layer.startEditing()
    layer.renameAttribute(1, "noise_lden")
    layer.commitChanges()
    return layer


def test_shapefile_output_lists_the_cut_field_names(provider, tmp_path):
    feedback = Recorder()
    target = tmp_path / "score.shp"
    result = run(SCORE, {"INPUT": lden_layer(), "ENV_FIELDS": ["noise_lden"], "OUTPUT": str(target)}, feedback)
    [message] = warned(feedback, "shapefile")
    assert "noise_lden_n → noise_ld_1, noise_lden_cls → noise_ld_2" in message
    written = QgsVectorLayer(result["OUTPUT"], "out", "ogr").fields().names()
    assert {"noise_lden", "noise_ld_1", "noise_ld_2"} <= set(written)
    feedback = Recorder()
    run(SCORE, {"INPUT": lden_layer(), "ENV_FIELDS": ["noise_lden"], "OUTPUT": str(tmp_path / "s.gpkg")}, feedback)
    assert not warned(feedback, "shapefile")


# -- helpers and qgis_process -------------------------------------------------------------------


def test_repair_rule(qgis_app):
    from social_resilience.algorithms.safe_io import output_file, repaired

    fixed = repaired(QgsGeometry.fromWkt(bowtie(0, 0, 10)))
    assert fixed.isGeosValid()
    assert fixed.isMultipart()
    assert fixed.area() == pytest.approx(50.0)
    assert repaired(QgsGeometry.fromWkt("POLYGON((0 0,10 0,0 0,0 0))")) is None
    assert str(output_file("/data/out.gpkg|layername=x")) == "/data/out.gpkg"
    assert str(output_file("ogr:dbname='/data/a b.gpkg' table=\"t\" (geom)")) == "/data/a b.gpkg"
    assert output_file("memory:") is None
    assert output_file("postgres://host/db") is None


def test_invalid_polygon_through_qgis_process(qgis_process, provider, tmp_path):
    source = tmp_path / "districts.gpkg"
    layer = grid_layer([float((i * 7) % 11) for i in range(16)], 4, invalid=5)
    QgsVectorFileWriter.writeAsVectorFormatV2(
        layer, str(source), layer.transformContext(), QgsVectorFileWriter.SaveVectorOptions()
    )
    target = tmp_path / "score.gpkg"
    report = qgis_process.run_algorithm(SCORE, {"INPUT": str(source), "ENV_FIELDS": "value", "OUTPUT": str(target)})
    out = QgsVectorLayer(report["results"]["OUTPUT"], "out", "ogr")
    assert out.featureCount() == 16
    assert all(f.geometry().isGeosValid() for f in out.getFeatures())
    assert "1 invalid geometry(ies) repaired" in str(report)


def test_osm_areas_are_counted_and_a_cancelled_run_leaves_no_file(provider, tmp_path):
    from .conftest import shared_data

    osm = str(shared_data("osm", "kaiserslautern_cc.osm.gz"))
    names = ("OUTPUT_NETWORK", "OUTPUT_BARRIERS", "OUTPUT_CROSSINGS", "OUTPUT_GREEN_SPACES", "OUTPUT_BUILDINGS")
    feedback = Recorder()
    result = run("socialresilience:osmwalknetwork", {"INPUT": osm, **dict.fromkeys(names, "memory:")}, feedback)
    [message] = warned(feedback, "INPUT (multipolygons)")
    assert "invalid geometry(ies) repaired (makeValid)" in message
    assert all(f.geometry().isGeosValid() for f in result["OUTPUT_GREEN_SPACES"].getFeatures())
    files = {name: str(tmp_path / f"{name.lower()}.gpkg") for name in names}
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        run("socialresilience:osmwalknetwork", {"INPUT": osm, **files}, CancelAt(92))  # after the first output
    assert list(tmp_path.iterdir()) == []


def test_a_failed_run_keeps_no_feature_alive(provider):
    """A failed run must not keep its features (and through them its layers) until QGIS exits."""
    import gc

    from qgis.core import QgsFeature

    layer = grid_layer([float(i) for i in range(9)], crs="EPSG:4326")  # fails after reading the features
    gc.collect()
    before = sum(isinstance(o, QgsFeature) for o in gc.get_objects())
    with pytest.raises(QgsProcessingException, match="cannot be degrees"):
        local_run(layer, WEIGHTS=3)
    gc.collect()
    assert sum(isinstance(o, QgsFeature) for o in gc.get_objects()) == before


def test_an_unexpected_error_is_logged_with_its_traceback(provider, monkeypatch):
    from social_resilience.algorithms.hotspots import local_hotspots

    def broken(*_args, **_kwargs):
        raise ZeroDivisionError("a bug")

    class Errors(QgsProcessingFeedback):
        def __init__(self) -> None:
            super().__init__()
            self.errors: list[str] = []

        def reportError(self, error: str, fatal: bool = False) -> None:  # noqa: N802
            self.errors.append(error)

    monkeypatch.setattr(local_hotspots.stats, "local_hotspots", broken)
    feedback = Errors()
    with pytest.raises(QgsProcessingException, match="ZeroDivisionError: a bug"):
        local_run(grid_layer([float(i) for i in range(9)]), feedback, WEIGHTS=0)
    assert any("Traceback" in error and "broken" in error for error in feedback.errors)
