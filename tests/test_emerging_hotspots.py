"""socialresilience:emerginghotspots through processing.run, a background task and qgis_process.

References: the cube's Gi* against PySAL esda on the space-time weights built from libpysal's lattice,
the trend against pymannkendall; the sample town's two years against the changes built into them.
"""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from qgis.core import (
    NULL,
    QgsFeature,
    QgsField,
    QgsGeometry,
    QgsProcessingException,
    QgsVectorFileWriter,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QDate, QDateTime, Qt
from social_resilience.algorithms.qt_compat import FieldType

from .test_emerging_hotspots_core import esda_gi, spacetime_w

libpysal = pytest.importorskip("libpysal", reason="python3-libpysal is a test package")
mk = pytest.importorskip("pymannkendall", reason="pymannkendall is a test requirement")

ALG = "socialresilience:emerginghotspots"
SIDE, STEPS = 6, 12
MONDAY = datetime(2024, 1, 1, tzinfo=timezone.utc)


def run(params: dict, feedback=None) -> dict:
    import processing

    return processing.run(ALG, {"OUTPUT": "memory:", "OUTPUT_CUBE": "memory:", **params}, feedback=feedback)


def records(layer) -> list[dict]:
    names = layer.fields().names()
    return [dict(zip(names, f.attributes())) for f in layer.getFeatures()]


def number(value) -> float:
    return np.nan if value == NULL or value is None else float(value)


def cube_values(seed: int = 1) -> np.ndarray:
    """(STEPS, SIDE²): a rising corner, a steady high corner and gamma noise."""
    rng = np.random.default_rng(seed)
    values = rng.gamma(4.0, 2.0, size=(STEPS, SIDE * SIDE))
    rows, cols = np.divmod(np.arange(SIDE * SIDE), SIDE)
    values[:, (rows < 2) & (cols < 2)] += 12.0
    values += np.linspace(0, 14, STEPS)[:, None] * ((rows >= 4) & (cols >= 4))
    return values


def cube_file(path, values: np.ndarray, dates: bool = True, repeat_row: bool = False, days: bool = False) -> str:
    """A GeoPackage with one polygon per lattice cell and step: area, week (date-time, date or year), value."""
    layer = QgsVectorLayer("Polygon?crs=EPSG:25832", "cube", "memory")
    kind = (FieldType.DATE if days else FieldType.DATETIME) if dates else FieldType.INT
    layer.dataProvider().addAttributes([QgsField("area", FieldType.STRING), QgsField("week", kind),
                                        QgsField("value", FieldType.DOUBLE), QgsField("name", FieldType.STRING)])
    layer.updateFields()
    features = []
    for step, row in enumerate(values):
        moment = MONDAY + timedelta(weeks=step)
        when = QDateTime.fromSecsSinceEpoch(int(moment.timestamp()), Qt.TimeSpec.UTC) if dates else 2000 + step
        when = QDate(moment.year, moment.month, moment.day) if days else when
        for i, value in enumerate(row):
            r, c = divmod(i, SIDE)
            x, y = 500000 + 100 * c, 5500000 + 100 * r
            feature = QgsFeature(layer.fields())
            feature.setGeometry(QgsGeometry.fromWkt(
                f"POLYGON(({x} {y},{x + 100} {y},{x + 100} {y + 100},{x} {y + 100},{x} {y}))"))
            feature.setAttributes([f"A{i:02d}", when, NULL if np.isnan(value) else float(value), f"area {i}"])
            features.append(feature)
    if repeat_row:
        features.append(QgsFeature(features[5]))
    layer.dataProvider().addFeatures(features)
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    error = QgsVectorFileWriter.writeAsVectorFormatV2(layer, str(path), layer.transformContext(), options)
    assert error[0] == QgsVectorFileWriter.NoError, error
    return str(path)


@pytest.fixture(scope="module")
def cube_path(plugin, tmp_path_factory):
    plugin.initProcessing()
    return cube_file(tmp_path_factory.mktemp("cube") / "cube.gpkg", cube_values())


@pytest.fixture(scope="module")
def cube_run(cube_path):
    return run({"INPUT": cube_path, "ID_FIELD": "area", "TIME_FIELD": "week", "VALUE_FIELD": "value",
                "TIME_LAG": 1})


def test_cube_gi_star_equals_esda_on_the_space_time_weights(cube_run):
    cube = records(cube_run["OUTPUT_CUBE"])
    assert len(cube) == STEPS * SIDE * SIDE
    z = np.full((STEPS, SIDE * SIDE), np.nan)
    weeks = sorted({row["week"].toSecsSinceEpoch() for row in cube})
    for row in cube:
        z[weeks.index(row["week"].toSecsSinceEpoch()), int(row["area"][1:])] = row["gi_z"]
    w = libpysal.weights.lat2W(SIDE, SIDE, rook=False)
    reference = esda_gi(cube_values(), spacetime_w(w, STEPS, 1)).reshape(STEPS, -1)
    np.testing.assert_allclose(z, reference, rtol=1e-9, atol=1e-12)
    ends = {row["week"].toSecsSinceEpoch(): row["time_end"].toSecsSinceEpoch() for row in cube}
    assert all(ends[a] == b for a, b in zip(weeks, weeks[1:]))  # a step ends where the next begins


def test_areas_carry_the_trend_of_their_z_series_and_their_counts(cube_run):
    cube = records(cube_run["OUTPUT_CUBE"])
    areas = {row["area"]: row for row in records(cube_run["OUTPUT"])}
    assert len(areas) == SIDE * SIDE == cube_run["N_AREAS"]
    assert cube_run["N_STEPS"] == STEPS
    assert set(areas["A00"]) >= {"area", "name", "category", "category_code", "trend_tau", "trend_p", "n_hot",
                                 "n_cold", "last_z", "last_p"}
    assert "value" not in areas["A00"]
    assert "week" not in areas["A00"]
    for key, area in areas.items():
        rows = sorted((row for row in cube if row["area"] == key), key=lambda row: row["week"].toSecsSinceEpoch())
        series = np.array([row["gi_z"] for row in rows])
        reference = mk.original_test(series)
        assert area["trend_tau"] == pytest.approx(reference.Tau, abs=1e-12)
        assert area["trend_p"] == pytest.approx(reference.p, abs=1e-12)
        assert area["n_hot"] == sum(row["gi_p_fdr"] <= 0.05 and row["gi_z"] > 0 for row in rows)
        assert area["n_cold"] == sum(row["gi_p_fdr"] <= 0.05 and row["gi_z"] < 0 for row in rows)
        assert area["last_z"] == rows[-1]["gi_z"]
        assert area["last_p"] == rows[-1]["gi_p_fdr"]
        assert abs(area["category_code"]) <= 8
    rising = [areas[f"A{r * SIDE + c:02d}"] for r in (4, 5) for c in (4, 5)]
    assert all(area["category"].endswith("hot spot") and area["trend_tau"] > 0.5 for area in rising)
    steady = areas["A00"]
    assert steady["category"] in ("Persistent hot spot", "Diminishing hot spot")
    counts = {name: cube_run[name] for name in ("N_HOT", "N_COLD", "N_NO_PATTERN")}
    assert sum(counts.values()) == SIDE * SIDE
    assert counts["N_HOT"] == sum(area["category_code"] > 0 for area in areas.values())


def test_numbers_as_time_steps_and_gaps(plugin, tmp_path):
    values = cube_values(seed=3)
    values[4, 7] = np.nan
    path = cube_file(tmp_path / "years.gpkg", values, dates=False)
    result = run({"INPUT": path, "ID_FIELD": "area", "TIME_FIELD": "week", "VALUE_FIELD": "value", "TIME_LAG": 0})
    cube = records(result["OUTPUT_CUBE"])
    assert "time_end" not in cube[0]  # years as numbers: no end time, not temporal
    gap = [row for row in cube if row["area"] == "A07" and row["week"] == 2004]
    assert gap[0]["gi_z"] == NULL
    assert gap[0]["gi_bin"] == 0
    assert result["N_STEPS"] == STEPS


def test_dates_read_from_the_geopackage_stay_dates(plugin, tmp_path, cube_run):
    path = cube_file(tmp_path / "days.gpkg", cube_values(), days=True)
    result = run({"INPUT": path, "ID_FIELD": "area", "TIME_FIELD": "week", "VALUE_FIELD": "value", "TIME_LAG": 1})
    cube = records(result["OUTPUT_CUBE"])
    assert {row["week"] for row in cube} == {QDate(2024, 1, 1).addDays(7 * step) for step in range(STEPS)}
    first = [row for row in cube if row["week"] == QDate(2024, 1, 1)]
    assert {row["time_end"].toString("yyyy-MM-dd") for row in first} == {"2024-01-08"}
    same_as_date_times = {row["area"]: row["category"] for row in records(cube_run["OUTPUT"])}
    assert {row["area"]: row["category"] for row in records(result["OUTPUT"])} == same_as_date_times


def test_sample_town_two_years_show_what_the_town_did(sample_town):
    from social_resilience.core.sample_town.town import generate_town

    changes = generate_town(42, 2.0).facts["district_changes"]
    result = run({"INPUT": f"{sample_town}|layername=district_months", "ID_FIELD": "district_id",
                  "TIME_FIELD": "month", "VALUE_FIELD": "no2", "TIME_LAG": 1, "GLOBAL_WINDOW": 1})
    assert result["N_STEPS"] == 24
    assert result["N_AREAS"] == 64
    areas = {row["district_id"]: row for row in records(result["OUTPUT"])}
    cube = records(result["OUTPUT_CUBE"])
    kinds = {row["category"] for row in areas.values()}
    assert len(kinds) >= 10, kinds
    hub = changes["worsening"][0]
    hub_steps = sorted((row for row in cube if row["district_id"] == hub), key=lambda row: row["month"])
    assert hub_steps[-1]["gi_bin"] > 0
    assert not any(row["gi_bin"] > 0 for row in hub_steps[:12])
    z = np.array([row["gi_z"] for row in hub_steps])
    assert z[-2:].mean() > z[:12].mean() + 3
    assert areas[hub]["category_code"] > 0
    calmed = [areas[i] for i in changes["calmed"]]
    assert all(area["trend_tau"] < 0 for area in calmed)
    assert "Diminishing hot spot" in {area["category"] for area in calmed}
    assert "Historical hot spot" in {areas[i]["category"] for i in changes["low_emission"]}
    assert {areas[i]["category"] for i in changes["greener"]} == {"Intensifying cold spot"}


def test_observations_per_area_and_day_equal_aggregating_first(sample_town):
    import processing

    town = str(sample_town)
    common = {"PROPERTY": "no2", "TIME_LAG": 1, "GLOBAL_WINDOW": 1}
    direct = run({"OBSERVATIONS": f"{town}|layername=observations", "STATIONS": f"{town}|layername=stations",
                  "AREAS": f"{town}|layername=districts", "AREAS_ID_FIELD": "district_id", "TIME_STEP": 0, **common})
    aggregated = processing.run("socialresilience:aggregateobservations", {
        "OBSERVATIONS": f"{town}|layername=observations", "STATIONS": f"{town}|layername=stations",
        "AREAS": f"{town}|layername=districts", "PROPERTY": "no2", "TIME_STEP": 0,
        "OUTPUT_STATIONS": "memory:", "OUTPUT_AREAS": "memory:"})["OUTPUT_AREAS"]
    two_steps = run({"INPUT": aggregated, "ID_FIELD": "district_id", "TIME_FIELD": "step_start",
                     "VALUE_FIELD": "no2_mean", **common})
    assert direct["N_STEPS"] == two_steps["N_STEPS"] == 30  # June's 30 local days (1 July has too few hours)
    first = {row["district_id"]: row for row in records(direct["OUTPUT"])}
    second = {row["district_id"]: row for row in records(two_steps["OUTPUT"])}
    assert {k: v["category"] for k, v in first.items()} == {k: v["category"] for k, v in second.items()}
    assert all(first[k]["trend_tau"] == second[k]["trend_tau"] for k in first)
    assert "obs_mean" not in first[1]
    assert first[1]["population"] == second[1]["population"]
    assert len({row["category"] for row in first.values()}) >= 4


def test_observation_mode_in_a_background_task_as_the_dialog_runs_it(sample_town):
    from qgis.core import (
        QgsApplication,
        QgsProcessingAlgRunnerTask,
        QgsProcessingContext,
        QgsProcessingFeedback,
        QgsProject,
    )

    from .live_helpers import wait_until

    town = str(sample_town)
    algorithm = QgsApplication.processingRegistry().createAlgorithmById(ALG)
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    feedback = QgsProcessingFeedback()
    params = {"OBSERVATIONS": f"{town}|layername=observations", "STATIONS": f"{town}|layername=stations",
              "AREAS": f"{town}|layername=districts", "AREAS_ID_FIELD": "district_id", "PROPERTY": "no2",
              "TIME_STEP": 0, "OUTPUT": "memory:", "OUTPUT_CUBE": "memory:"}
    task = QgsProcessingAlgRunnerTask(algorithm, params, context, feedback)
    outcome = []
    task.executed.connect(lambda ok, results: outcome.append((ok, results)))
    QgsApplication.taskManager().addTask(task)
    assert wait_until(lambda: bool(outcome), 120)
    ok, results = outcome[0]
    assert ok, feedback.textLog()
    assert results["N_AREAS"] == 64
    assert results["N_STEPS"] == 30


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "Give INPUT"),
        ({"INPUT": "CUBE", "ID_FIELD": "area", "TIME_FIELD": "week"}, "INPUT needs VALUE_FIELD"),
        ({"INPUT": "CUBE", "ID_FIELD": "area", "TIME_FIELD": "week", "VALUE_FIELD": "name"}, "not numeric"),
        ({"INPUT": "TWICE", "ID_FIELD": "area", "TIME_FIELD": "week", "VALUE_FIELD": "value"},
         "Area 'A05' has more than one row"),
        ({"INPUT": "SHORT", "ID_FIELD": "area", "TIME_FIELD": "week", "VALUE_FIELD": "value"},
         "Only 2 time step(s)"),
        ({"OBSERVATIONS": "OBS", "STATIONS": "ST", "AREAS": "AR"}, "choose AREAS_ID_FIELD"),
        ({"OBSERVATIONS": "OBS"}, "give STATIONS and AREAS"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(cube_path, sample_town, tmp_path, params, message):
    files = {
        "CUBE": cube_path,
        "TWICE": cube_file(tmp_path / "twice.gpkg", cube_values(), repeat_row=True),
        "SHORT": cube_file(tmp_path / "short.gpkg", cube_values()[:2]),
        "OBS": f"{sample_town}|layername=observations",
        "ST": f"{sample_town}|layername=stations",
        "AR": f"{sample_town}|layername=districts",
    }
    resolved = {key: files.get(value, value) for key, value in params.items()}
    with pytest.raises(QgsProcessingException, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(resolved)


def test_loaded_outputs_are_styled_and_the_cube_is_temporal(cube_path):
    import processing
    from qgis.core import QgsProject

    before = set(QgsProject.instance().mapLayers())
    processing.runAndLoadResults(ALG, {"INPUT": cube_path, "ID_FIELD": "area", "TIME_FIELD": "week",
                                       "VALUE_FIELD": "value", "OUTPUT": "memory:", "OUTPUT_CUBE": "memory:"})
    loaded = [QgsProject.instance().mapLayer(i) for i in set(QgsProject.instance().mapLayers()) - before]
    try:
        by_field = {layer.renderer().classAttribute(): layer for layer in loaded}
        areas, cube = by_field["category_code"], by_field["gi_bin"]
        labels = {str(category.value()): category.label() for category in areas.renderer().categories()}
        assert labels["1"] == "New hot spot"
        assert labels["-8"] == "Historical cold spot"
        assert len(labels) == 18
        colours = _colours(areas, "category_code")
        assert colours[4] == "#851400"  # persistent hot spot: the dark red of ArcGIS's emerging hot spots
        properties = cube.temporalProperties()
        assert properties.isActive()
        assert properties.startExpression() == 'to_datetime("week")'
        assert properties.endExpression() == '"time_end"'
        assert not areas.temporalProperties().isActive()
    finally:
        QgsProject.instance().removeMapLayers([layer.id() for layer in loaded])


def _colours(layer, field: str) -> dict:
    """Fill colour the layer's renderer draws each value of ``field`` with."""
    from qgis.core import QgsRenderContext

    context = QgsRenderContext()
    renderer = layer.renderer().clone()
    renderer.startRender(context, layer.fields())
    try:
        return {f[field]: renderer.symbolForFeature(f, context).color().name() for f in layer.getFeatures()}
    finally:
        renderer.stopRender(context)


def test_qgis_process_run(qgis_process, cube_path, tmp_path):
    output, cube = tmp_path / "emerging.gpkg", tmp_path / "cube.gpkg"
    report = qgis_process.run_algorithm(ALG, {
        "INPUT": cube_path, "ID_FIELD": "area", "TIME_FIELD": "week", "VALUE_FIELD": "value",
        "TIME_LAG": 2, "PERMUTATIONS": 199, "SEED": 4, "FDR": "false", "WEIGHTS": 1, "OUTPUT": output,
        "OUTPUT_CUBE": cube,
    })
    results = report["results"]
    assert results["N_AREAS"] == SIDE * SIDE
    assert results["N_STEPS"] == STEPS
    layer = QgsVectorLayer(str(output), "areas", "ogr")
    assert layer.featureCount() == SIDE * SIDE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cells = QgsVectorLayer(str(cube), "cube", "ogr")
        p = [number(f["gi_p"]) for f in cells.getFeatures()]
    assert cells.featureCount() == STEPS * SIDE * SIDE
    assert min(p) >= 2 / 200 - 1e-12  # permutation p: at least twice 1 / (P + 1)


def test_report_shows_the_emerging_hot_spots_map(sample_town, tmp_path):
    import html

    import processing

    areas = tmp_path / "emerging.gpkg"
    run({"INPUT": f"{sample_town}|layername=district_months", "ID_FIELD": "district_id", "TIME_FIELD": "month",
         "VALUE_FIELD": "no2", "GLOBAL_WINDOW": 1, "OUTPUT": str(areas)})
    page = tmp_path / "report.html"
    processing.run("socialresilience:report", {"EMERGING": str(areas), "OUTPUT_HTML": str(page)})
    text = html.unescape(page.read_text(encoding="utf-8"))
    assert "Emerging hot spots: is it getting better or worse?" in text
    layer = QgsVectorLayer(str(areas), "areas", "ogr")
    counts: dict = {}
    for feature in layer.getFeatures():
        counts[feature["category"]] = counts.get(feature["category"], 0) + 1
    caption = text[text.index("areas per category:"):].split("<")[0]
    for label, count in counts.items():
        assert f"{label} {count}" in caption
    assert text.count("data:image/png;base64,") == 1  # the one map: only EMERGING was given
