"""``socialresilience:greenequity`` through processing.run (also chained) and qgis_process.

Hand-built case (EPSG:25832, metres): areas A, B, C side by side (100 m squares) and D, a
self-intersecting bowtie (repaired into two triangles); buildings as polygons, one of them a
bowtie, one outside all areas, one without geometry.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from qgis.core import (
    NULL,
    QgsFeature,
    QgsField,
    QgsGeometry,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsRuleBasedRenderer,
    QgsVectorLayer,
)
from social_resilience.algorithms.qt_compat import FieldType

ALG = "socialresilience:greenequity"
UTM = "EPSG:25832"
X0, Y0 = 400_000.0, 5_500_000.0


def _wkt_polygon(coords: list[tuple[float, float]]) -> str:
    return "POLYGON((" + ",".join(f"{X0 + x} {Y0 + y}" for x, y in coords) + "))"


def box(x0: float, y0: float, x1: float, y1: float) -> str:
    return _wkt_polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)])


BOWTIE_AREA = _wkt_polygon([(0, 200), (100, 300), (100, 200), (0, 300), (0, 200)])
BOWTIE_HOME = _wkt_polygon([(120, 20), (140, 40), (140, 20), (120, 40), (120, 20)])


def layer(kind: str, fields: list[tuple[str, Any]], rows: list[tuple], crs: str = UTM) -> QgsVectorLayer:
    """Memory layer; each row is (WKT or None, *values)."""
    result = QgsVectorLayer(f"{kind}?crs={crs}" if crs else kind, kind.lower(), "memory")
    result.dataProvider().addAttributes([QgsField(name, kind_) for name, kind_ in fields])
    result.updateFields()
    features = []
    for wkt, *values in rows:
        feature = QgsFeature(result.fields())
        if wkt is not None:
            feature.setGeometry(QgsGeometry.fromWkt(wkt))
        feature.setAttributes([NULL if v is None else v for v in values])
        features.append(feature)
    result.dataProvider().addFeatures(features)
    return result


def areas_layer(crs: str = UTM) -> QgsVectorLayer:
    fields = [("name", FieldType.STRING), ("burden", FieldType.DOUBLE), ("pop", FieldType.INT)]
    return layer("Polygon", fields, [
        (box(0, 0, 100, 100), "A", 90.0, 1),
        (box(100, 0, 200, 100), "B", 10.0, 2),
        (box(200, 0, 300, 100), "C", None, 3),  # no residents, no burden
        (BOWTIE_AREA, "D", 50.0, 4),
    ], crs)  # fmt: skip


RESIDENTIAL_FIELDS = [
    ("population", FieldType.INT), ("served", FieldType.INT), ("served_eucl", FieldType.INT),
    ("net_dist_m", FieldType.DOUBLE), ("pop_65plus", FieldType.INT), ("pop_children", FieldType.INT),
    ("pop_none", FieldType.INT), ("label", FieldType.STRING),
]  # fmt: skip


def residential_layer(crs: str = UTM) -> QgsVectorLayer:
    return layer("Polygon", RESIDENTIAL_FIELDS, [
        (box(10, 10, 20, 20), 10, 1, 1, 100.0, 2, 0, 0, "a1"),
        (box(50, 50, 60, 60), 30, 0, 1, 600.0, 3, 2, 0, "a2"),
        (box(150, 50, 160, 60), 20, 1, 1, None, 0, 4, 0, "b1"),
        (BOWTIE_HOME, 5, 0, 0, None, 0, 0, 0, "b2"),  # invalid polygon in B
        (box(500, 500, 510, 510), 50, 1, 1, 80.0, 9, 9, 0, "outside"),
        (None, 7, 1, 1, 10.0, 1, 1, 0, "no geometry"),
        (box(5, 245, 15, 255), 8, 1, 1, 250.0, 1, 2, 0, "d1"),  # left triangle of the bowtie D
    ], crs)  # fmt: skip


class Recorder(QgsProcessingFeedback):
    def __init__(self, cancel: bool = False) -> None:
        super().__init__()
        self.warnings: list[str] = []
        if cancel:
            self.cancel()

    def pushWarning(self, warning: str) -> None:  # noqa: N802
        self.warnings.append(warning)
        super().pushWarning(warning)


def without_crs(layer_: QgsVectorLayer) -> QgsVectorLayer:
    from qgis.core import QgsCoordinateReferenceSystem

    layer_.setCrs(QgsCoordinateReferenceSystem())
    return layer_


def run(params: dict, feedback: QgsProcessingFeedback | None = None) -> dict:
    import processing

    return processing.run(ALG, params, feedback=feedback)


def hand_params(**extra) -> dict:
    params = {
        "RESIDENTIAL": residential_layer(),
        "POPULATION_FIELD": "population",
        "GROUP_FIELDS": ["pop_65plus", "pop_children"],
        "AREAS": areas_layer(),
        "BURDEN_FIELD": "burden",
        "OUTPUT": "TEMPORARY_OUTPUT",
    }
    params.update(extra)
    return params


def by_name(result: dict) -> dict[str, QgsFeature]:
    output = result["OUTPUT"]
    output = output if isinstance(output, QgsVectorLayer) else QgsVectorLayer(output, "out", "ogr")
    return {f["name"]: f for f in output.getFeatures()}


def test_hand_computed_areas_groups_and_priority(provider):
    feedback = Recorder()
    result = run(hand_params(), feedback)
    rows = by_name(result)
    a, b, c, d = rows["A"], rows["B"], rows["C"], rows["D"]
    assert (a["pop"], a["pop_served"], a["served_share"], a["served_share_eucl"]) == (40, 10, 0.25, 1.0)
    assert a["barrier_gap"] == 0.75
    assert a["dist_median_m"] == 600  # 100 m for 10 people, 600 m for 30: half of 40 reached at 600
    assert (a["pop_65plus_share"], a["pop_children_share"]) == (0.4, 0.0)
    assert (b["pop"], b["pop_served"], b["served_share"]) == (25, 20, 0.8)  # the bowtie home counts in B
    assert b["dist_median_m"] == NULL  # nobody in B has a distance
    assert b["pop_65plus_share"] == NULL  # no member of the group lives in B
    assert b["pop_children_share"] == 1.0
    assert c["pop"] == 0
    for name in ("served_share", "served_share_eucl", "barrier_gap", "dist_median_m", "pop_65plus_share"):
        assert c[name] == NULL, name  # no residents: NULL, not 0
    assert (d["pop"], d["served_share"]) == (8, 1.0)  # inside the repaired bowtie area
    # burden ranks over A, B, D: B 33.3, D 66.7, A 100 (> 75, served 0.25 < 0.5); C has no burden
    assert (a["priority"], b["priority"], c["priority"], d["priority"]) == (1, 0, NULL, 0)
    assert a["pop_in"] == 1  # the areas' own field named "pop" is kept as pop_in
    assert result["SERVED_SHARE"] == pytest.approx(38 / 73)
    # Σ p p |Δs|: A-B 40·25·0.55 + A-D 40·8·0.75 + B-D 25·8·0.2 = 830, doubled, / (2 · 73² · 38/73)
    assert result["GINI"] == pytest.approx(1660 / (2 * 73 * 38))
    assert result["N_PRIORITY"] == 1
    assert result["N_OUTSIDE"] == 1
    assert result["POP_65PLUS_SHARE"] == pytest.approx(3 / 6)
    assert result["POP_CHILDREN_SHARE"] == pytest.approx(6 / 8)
    assert any("1 residential features (50 residents) lie in no area" in w for w in feedback.warnings)
    assert any("1 residential features have no geometry" in w for w in feedback.warnings)
    assert any("1 areas had an invalid geometry and were repaired" in w for w in feedback.warnings)
    assert any("1 areas have no burden value" in w for w in feedback.warnings)


def test_group_without_members_and_no_population_field(provider):
    feedback = Recorder()
    result = run(hand_params(GROUP_FIELDS=["pop_none"], POPULATION_FIELD=None, BURDEN_FIELD=None), feedback)
    assert result["POP_NONE_SHARE"] == NULL
    assert any("Group pop_none has no members" in w for w in feedback.warnings)
    rows = by_name(result)
    assert (rows["A"]["pop"], rows["B"]["pop"], rows["D"]["pop"]) == (2, 2, 1)  # one per feature
    assert rows["A"]["pop_none_share"] == NULL
    assert "priority" not in result["OUTPUT"].fields().names()
    assert result["N_PRIORITY"] == NULL
    assert result["SERVED_SHARE"] == pytest.approx(3 / 5)


def test_threshold_parameter_changes_the_priority(provider):
    # D (burden 50) is rank 66.7: never priority; with threshold 0.2, A (0.25 served) is no longer priority
    assert run(hand_params(SERVED_SHARE=0.2))["N_PRIORITY"] == 0
    assert run(hand_params(SERVED_SHARE=1.0))["N_PRIORITY"] == 1


def test_points_in_another_crs_and_layers_without_crs(provider):
    from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsProject

    source = residential_layer()
    transform = QgsCoordinateTransform(
        QgsCoordinateReferenceSystem(UTM), QgsCoordinateReferenceSystem("EPSG:4326"), QgsProject.instance()
    )
    rows = []
    for feature in source.getFeatures():
        geometry = feature.geometry()
        point = None
        if not geometry.isNull():
            geometry.transform(transform)
            point = geometry.centroid().asWkt(9) if geometry.isGeosValid() else geometry.pointOnSurface().asWkt(9)
        rows.append((point, *feature.attributes()))
    points = layer("Point", RESIDENTIAL_FIELDS, rows, "EPSG:4326")
    geographic = by_name(run(hand_params(RESIDENTIAL=points)))
    assert (geographic["A"]["pop"], geographic["B"]["pop"], geographic["D"]["pop"]) == (40, 25, 8)
    no_crs = by_name(run(hand_params(RESIDENTIAL=residential_layer(crs=""), AREAS=areas_layer(crs=""))))
    assert (no_crs["A"]["pop"], no_crs["B"]["pop"], no_crs["C"]["pop"]) == (40, 25, 0)


def test_nested_areas_count_each_home_in_every_area_that_contains_it(provider):
    """A whole-town polygon over the districts: it gets all their residents, the districts keep theirs."""
    areas = areas_layer()
    town = QgsFeature(areas.fields())
    town.setGeometry(QgsGeometry.fromWkt(box(0, 0, 300, 100)))
    town.setAttributes(["Town", 60.0, 5])
    areas.dataProvider().addFeature(town)
    feedback = Recorder()
    result = run(hand_params(AREAS=areas), feedback)
    rows = by_name(result)
    assert (rows["A"]["pop"], rows["B"]["pop"], rows["D"]["pop"]) == (40, 25, 8)  # as without the town
    t = rows["Town"]
    assert (t["pop"], t["pop_served"], t["served_share"]) == (65, 30, pytest.approx(30 / 65))  # was 0 and NULL
    assert t["pop_65plus_share"] == pytest.approx(2 / 5)
    assert result["SERVED_SHARE"] == pytest.approx(38 / 73)  # each resident once
    assert result["POP_65PLUS_SHARE"] == pytest.approx(3 / 6)
    assert result["N_OUTSIDE"] == 1
    warning = next(w for w in feedback.warnings if "lie in more than one area" in w)
    assert warning.startswith("4 residential features lie in more than one area")  # a1, a2, b1, b2
    assert "features 1 and 5; 2 and 5" in warning  # A and the town, B and the town


def test_shapefile_output(provider, tmp_path):
    target = tmp_path / "equity.shp"
    result = run(hand_params(OUTPUT=str(target)))
    written = QgsVectorLayer(str(target), "out", "ogr")
    assert written.isValid()
    assert written.featureCount() == 4
    populations = sorted(f["pop"] for f in written.getFeatures())
    assert populations == [0, 8, 25, 40]
    assert result["N_PRIORITY"] == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"RESIDENTIAL": "without_access"}, "RESIDENTIAL has no field served, served_eucl, net_dist_m"),
        ({"AREAS": "points"}, "AREAS must contain polygons"),
        ({"POPULATION_FIELD": "label"}, "POPULATION_FIELD: field label is of type"),
        ({"BURDEN_FIELD": "nope"}, "BURDEN_FIELD: nope is not a field of AREAS"),
        ({"AREAS": "empty_areas"}, "AREAS has no features"),
        ({"GROUP_FIELDS": ["pop_65plus", "served"]}, "GROUP_FIELDS: served, served_eucl and net_dist_m are access"),
        ({"AREAS": "no_crs_areas"}, r"AREAS has no CRS, but RESIDENTIAL \(EPSG:25832\) has one.*Set the CRS of AREAS"),
    ],
)
def test_bad_input_is_rejected_with_a_clear_message(provider, tmp_path, change, message):
    layers = {
        "without_access": layer("Point", [("population", FieldType.INT)], [(f"POINT({X0} {Y0})", 1)]),
        "points": layer("Point", [("burden", FieldType.DOUBLE)], [(f"POINT({X0} {Y0})", 1.0)]),
        "empty_areas": layer("Polygon", [("burden", FieldType.DOUBLE)], []),
        "no_crs_areas": without_crs(areas_layer()),  # was: every home "in no area"
    }
    target = tmp_path / "equity.gpkg"
    params = hand_params(OUTPUT=str(target))
    params.update({k: layers.get(v, v) if isinstance(v, str) else v for k, v in change.items()})
    with pytest.raises(QgsProcessingException, match=message):
        run(params)
    assert not target.exists()  # nothing half-written


def test_cancel_stops_the_run(provider, tmp_path):
    target = tmp_path / "equity.gpkg"
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        run(hand_params(OUTPUT=str(target)), Recorder(cancel=True))
    assert not target.exists()


def test_style_shows_classes_and_outlines_priority_areas(provider):
    from social_resilience.algorithms.style_on_load import StyleOnLoad

    output = run(hand_params())["OUTPUT"]
    StyleOnLoad("green_equity.qml").postProcessLayer(output, QgsProcessingContext(), QgsProcessingFeedback())
    renderer = output.renderer()
    assert isinstance(renderer, QgsRuleBasedRenderer)
    assert renderer.usingSymbolLevels()
    rules = renderer.rootRule().children()
    assert len(rules) == 6
    from qgis.core import QgsRenderContext

    context = QgsRenderContext()
    context.expressionContext().appendScope(output.createExpressionContextScope())
    renderer.startRender(context, output.fields())
    try:
        labels = {}
        for feature in output.getFeatures():
            context.expressionContext().setFeature(feature)
            labels[feature["name"]] = {r.label() for r in rules if r.isFilterOK(feature, context)}
    finally:
        renderer.stopRender(context)
    assert labels["A"] == {"25–50 % served", "priority area (high burden, low green access)"}  # 0.25
    assert labels["B"] == {"≥ 75 % served"}
    assert labels["C"] == {"no residents"}


# -- sample town: catchments -> hotspot score -> equity in one process --------------------------


def test_sample_town_chained_after_catchments_and_hotspot_score(provider, sample_town):
    import processing

    town = str(sample_town)
    catchments = processing.run("socialresilience:greenspacecatchments", {
        **{name.upper(): f"{town}|layername={name}" for name in ("network", "barriers", "crossings", "entrances")},
        "GREEN_SPACES": f"{town}|layername=green_spaces", "RESIDENTIAL": f"{town}|layername=buildings",
        "POPULATION_FIELD": "population", "OUTPUT_CATCHMENTS": "TEMPORARY_OUTPUT",
        "OUTPUT_GREEN_SPACES": "TEMPORARY_OUTPUT", "OUTPUT_RESIDENTIAL": "TEMPORARY_OUTPUT",
    })  # fmt: skip
    score = processing.run("socialresilience:hotspotscore", {
        "INPUT": f"{town}|layername=districts", "ENV_FIELDS": ["no2", "noise_lden", "heat_days"],
        "SOCIAL_FIELDS": ["unemployment", "child_poverty"], "OUTPUT": "TEMPORARY_OUTPUT",
    })  # fmt: skip
    result = run({
        "RESIDENTIAL": catchments["OUTPUT_RESIDENTIAL"], "POPULATION_FIELD": "population",
        "GROUP_FIELDS": ["pop_65plus", "pop_children"], "AREAS": score["OUTPUT"], "BURDEN_FIELD": "score_pct",
        "OUTPUT": "TEMPORARY_OUTPUT",
    })  # fmt: skip
    areas = list(result["OUTPUT"].getFeatures())
    assert len(areas) == 64
    for area in areas:  # the districts' population is summed from the same buildings
        assert area["pop"] == area["population"]
        if area["pop"]:
            assert 0 <= area["served_share"] <= area["served_share_eucl"] <= 1
    assert result["SERVED_SHARE"] == pytest.approx(catchments["SERVED_SHARE"])
    assert result["N_OUTSIDE"] == 0
    assert 0 < result["GINI"] < 1
    assert max(a["barrier_gap"] for a in areas if a["pop"]) > 0.1  # homes cut off by an arterial
    assert 0 < result["POP_65PLUS_SHARE"] < 1
    assert 0 < result["POP_CHILDREN_SHARE"] < 1
    shares = [a["pop_65plus"] for a in catchments["OUTPUT_RESIDENTIAL"].getFeatures()]
    assert sum(shares) > 0
    # the priority rule recomputed from the written fields
    burdens = [a["score_pct"] for a in areas if a["score_pct"] != NULL]
    expected = 0
    for area in areas:
        if area["score_pct"] == NULL:
            assert area["priority"] == NULL
            continue
        rank = 100 * sum(b <= area["score_pct"] for b in burdens) / len(burdens)
        flag = int(rank > 75 and area["served_share"] != NULL and area["served_share"] < 0.5)
        assert area["priority"] == flag
        expected += flag
    assert result["N_PRIORITY"] == expected


def test_qgis_process_on_the_sample_town(provider, sample_town, qgis_process, tmp_path):
    import processing

    town = str(sample_town)
    residential = tmp_path / "residential.gpkg"
    processing.run("socialresilience:greenspacecatchments", {
        **{name.upper(): f"{town}|layername={name}" for name in ("network", "barriers", "crossings", "entrances")},
        "GREEN_SPACES": f"{town}|layername=green_spaces", "RESIDENTIAL": f"{town}|layername=buildings",
        "POPULATION_FIELD": "population", "OUTPUT_CATCHMENTS": "TEMPORARY_OUTPUT",
        "OUTPUT_GREEN_SPACES": "TEMPORARY_OUTPUT", "OUTPUT_RESIDENTIAL": str(residential),
    })  # fmt: skip
    params = {"RESIDENTIAL": str(residential), "POPULATION_FIELD": "population", "AREAS": f"{town}|layername=districts",
              "BURDEN_FIELD": "unemployment", "SERVED_SHARE": 0.6}  # fmt: skip
    target = tmp_path / "equity.gpkg"
    args = [f"--{name}={value}" for name, value in params.items()]
    args += ["--GROUP_FIELDS=pop_65plus", "--GROUP_FIELDS=pop_children", f"--OUTPUT={target}"]
    import json

    completed = qgis_process.run("--json", "run", ALG, *args)
    results = json.loads(completed.stdout[completed.stdout.index("{"):])["results"]
    expected = run({**params, "GROUP_FIELDS": ["pop_65plus", "pop_children"], "OUTPUT": "TEMPORARY_OUTPUT"})
    for name in ("SERVED_SHARE", "GINI", "N_PRIORITY", "POP_65PLUS_SHARE", "POP_CHILDREN_SHARE"):
        assert results[name] == pytest.approx(expected[name]), name
    written = QgsVectorLayer(str(target), "out", "ogr")
    assert written.featureCount() == 64
    assert {"served_share", "barrier_gap", "pop_65plus_share", "priority"} <= set(written.fields().names())
    assert not math.isnan(results["SERVED_SHARE"])


def test_point_on_surface_falls_back_to_the_repaired_geometry():
    """QGIS 3.22 returns a null point on surface for some invalid polygons (docs/platform.md)."""
    from social_resilience.algorithms.green.green_equity import representative_point

    class NoPointOnSurface:  # an invalid polygon whose pointOnSurface() is null
        def isNull(self) -> bool:  # noqa: N802
            return False

        def isEmpty(self) -> bool:  # noqa: N802
            return False

        def pointOnSurface(self) -> QgsGeometry:  # noqa: N802
            return QgsGeometry()

        def makeValid(self) -> QgsGeometry:  # noqa: N802
            return QgsGeometry.fromWkt("POLYGON((0 0, 4 0, 4 2, 0 2, 0 0))")

    x, y = representative_point(NoPointOnSurface())
    assert 0 < x < 4
    assert 0 < y < 2
    assert all(math.isnan(v) for v in representative_point(QgsGeometry.fromWkt("POLYGON EMPTY")))


# -- file layers: read through GDAL's Arrow stream, same results as the feature iterator ---------


def _save(source: QgsVectorLayer, path, driver: str = "GPKG") -> str:
    from qgis.core import QgsCoordinateTransformContext, QgsVectorFileWriter

    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = driver
    error = QgsVectorFileWriter.writeAsVectorFormatV3(source, str(path), QgsCoordinateTransformContext(), options)
    assert error[0] == QgsVectorFileWriter.NoError, error
    return str(path)


def _point_copy() -> QgsVectorLayer:
    rows = []
    for feature in residential_layer().getFeatures():
        geometry = feature.geometry()
        point = None if geometry.isNull() else geometry.pointOnSurface().asWkt(6)
        rows.append((point, *feature.attributes()))
    return layer("Point", RESIDENTIAL_FIELDS, rows)


@pytest.mark.parametrize(("kind", "driver"), [("polygons", "GPKG"), ("points", "GPKG"), ("polygons", "ESRI Shapefile")])
def test_file_layers_give_the_results_of_the_feature_iterator(provider, tmp_path, kind, driver):
    memory = residential_layer() if kind == "polygons" else _point_copy()
    suffix = ".gpkg" if driver == "GPKG" else ".shp"
    path = _save(memory, tmp_path / f"residential{suffix}", driver)
    groups = ["pop_65plus"]  # a shapefile cuts pop_children to pop_childr (and served_eucl to served_euc)
    from_file = run(hand_params(RESIDENTIAL=path, GROUP_FIELDS=groups))
    from_memory = run(hand_params(RESIDENTIAL=memory, GROUP_FIELDS=groups))
    for name in ("SERVED_SHARE", "GINI", "N_PRIORITY", "N_OUTSIDE", "POP_65PLUS_SHARE"):
        assert from_file[name] == from_memory[name], name
    file_rows, memory_rows = by_name(from_file), by_name(from_memory)
    for area in "ABCD":
        assert file_rows[area].attributes() == memory_rows[area].attributes()


def test_arrow_columns_keep_nulls_and_points(provider, tmp_path):
    from social_resilience.algorithms.columns import read_columns
    from social_resilience.algorithms.green.green_equity import representative_point

    path = _save(_point_copy(), tmp_path / "points.gpkg")
    columns = read_columns(QgsVectorLayer(path, "r", "ogr"), ["net_dist_m", "population"], representative_point,
                           lambda: False)  # fmt: skip
    assert columns is not None  # GDAL >= 3.6: the fast path is taken
    xy, values = columns
    assert values["population"].tolist() == [10, 30, 20, 5, 50, 7, 8]
    distances = values["net_dist_m"]
    assert math.isnan(distances[2]) and math.isnan(distances[3]) and distances[0] == 100.0  # noqa: PT018
    assert math.isnan(xy[5, 0])  # the feature without geometry
    assert xy[0].tolist() == pytest.approx([X0 + 15, Y0 + 15])


def test_selected_features_only_reads_the_selection(provider, tmp_path):
    from qgis.core import QgsProcessingFeatureSourceDefinition, QgsProject

    path = _save(residential_layer(), tmp_path / "residential.gpkg")
    homes = QgsVectorLayer(path, "homes", "ogr")
    QgsProject.instance().addMapLayer(homes)
    try:
        homes.selectByExpression("\"label\" IN ('a1', 'b1')")
        source = QgsProcessingFeatureSourceDefinition(homes.id(), True)
        rows = by_name(run(hand_params(RESIDENTIAL=source)))
        assert (rows["A"]["pop"], rows["B"]["pop"], rows["D"]["pop"]) == (10, 20, 0)
        homes.setSubsetString("\"label\" = 'a2'")
        rows = by_name(run(hand_params(RESIDENTIAL=homes)))
        assert (rows["A"]["pop"], rows["B"]["pop"]) == (30, 0)
    finally:
        QgsProject.instance().removeMapLayer(homes.id())


def test_catchments_written_as_shapefile(provider, sample_town, tmp_path):
    """A shapefile cuts served_eucl to served_euc: the equity still finds it."""
    import processing

    town = str(sample_town)
    residential = tmp_path / "residential.shp"
    processing.run("socialresilience:greenspacecatchments", {
        **{name.upper(): f"{town}|layername={name}" for name in ("network", "barriers", "crossings", "entrances")},
        "GREEN_SPACES": f"{town}|layername=green_spaces", "RESIDENTIAL": f"{town}|layername=buildings",
        "POPULATION_FIELD": "population", "OUTPUT_CATCHMENTS": "TEMPORARY_OUTPUT",
        "OUTPUT_GREEN_SPACES": "TEMPORARY_OUTPUT", "OUTPUT_RESIDENTIAL": str(residential),
    })  # fmt: skip
    assert "served_euc" in QgsVectorLayer(str(residential), "r", "ogr").fields().names()
    result = run({"RESIDENTIAL": str(residential), "POPULATION_FIELD": "population",
                  "AREAS": f"{town}|layername=districts", "OUTPUT": "TEMPORARY_OUTPUT"})  # fmt: skip
    areas = list(result["OUTPUT"].getFeatures())
    assert all(a["pop"] == a["population"] for a in areas)
    assert any(a["served_share_eucl"] not in (None, NULL) and a["served_share_eucl"] > 0 for a in areas)
    assert 0 < result["SERVED_SHARE"] < 1
