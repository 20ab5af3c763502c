"""socialresilience:localhotspots through processing.run and qgis_process."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from qgis.core import (
    NULL,
    QgsCategorizedSymbolRenderer,
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsField,
    QgsGeometry,
    QgsProcessingException,
    QgsVectorLayer,
)
from social_resilience.algorithms.qt_compat import FieldType

from .conftest import libpysal_example, shared_data

ALG = "socialresilience:localhotspots"
RTOL = 1e-8


def run(params: dict) -> dict:
    import processing

    return processing.run(ALG, {"OUTPUT": "memory:", **params})


def rows(layer) -> list[dict]:
    names = layer.fields().names()
    return [dict(zip(names, f.attributes())) for f in layer.getFeatures()]


def column(records: list[dict], name: str) -> np.ndarray:
    return np.array([np.nan if r[name] == NULL else r[name] for r in records], dtype=float)


def reference(name: str) -> list[dict]:
    with open(shared_data("hotspots", name), encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def memory_layer(geometry: str, wkts: list[str], values: list, crs: str = "EPSG:25832", kind=FieldType.DOUBLE):
    layer = QgsVectorLayer(f"{geometry}?crs={crs}", "units", "memory")
    layer.dataProvider().addAttributes([QgsField("uid", FieldType.INT), QgsField("value", kind)])
    layer.updateFields()
    features = []
    for i, (wkt, value) in enumerate(zip(wkts, values)):
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromWkt(wkt))
        feature.setAttributes([i, NULL if value is None else value])
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def grid_wkts(side: int, size: float = 100.0, x0: float = 500000.0, y0: float = 5500000.0) -> list[str]:
    wkts = []
    for row in range(side):
        for col in range(side):
            x, y = x0 + col * size, y0 + row * size
            wkts.append(f"POLYGON(({x} {y},{x + size} {y},{x + size} {y + size},{x} {y + size},{x} {y}))")
    return wkts


@pytest.fixture(scope="module")
def columbus_path(plugin):
    plugin.initProcessing()
    return str(shared_data("hotspots", "columbus.gpkg"))


@pytest.mark.parametrize("variable", ["CRIME", "INC"])
def test_columbus_matches_esda(columbus_path, variable):
    result = run({"INPUT": columbus_path, "FIELD": variable, "WEIGHTS": 0, "PERMUTATIONS": 999, "SEED": 5})
    records = rows(result["OUTPUT"])
    ref = reference(f"expected_columbus_{variable}.csv")
    assert len(records) == 49
    assert [r["POLYID"] for r in records] == [int(r["POLYID"]) for r in ref]
    assert "HOVAL" in records[0]
    for mine, theirs in (("gi_z", "gistar_B_z"), ("gi_p", "gistar_B_p_norm_2s"), ("lisa_i", "lisa_I")):
        np.testing.assert_allclose(column(records, mine), [float(r[theirs]) for r in ref], rtol=RTOL)
    np.testing.assert_allclose(column(records, "gi_p_fdr"), [float(r["gistar_B_p_norm_2s_BH"]) for r in ref], rtol=RTOL)
    assert [r["lisa_q"] for r in records] == [int(r["lisa_q"]) for r in ref]
    assert [r["n_neighbors"] for r in records] == [int(r["n_neighbors"]) for r in ref]
    p_sim = column(records, "lisa_p")
    assert np.mean(np.abs(p_sim - np.array([float(r["lisa_p_sim"]) for r in ref]))) < 0.02
    # FDR on: bins from the BH-adjusted p, clusters from BH-adjusted pseudo p.
    adjusted = column(records, "gi_p_fdr")
    bins = np.array([r["gi_bin"] for r in records])
    assert np.all((np.abs(bins) == 3) == (adjusted <= 0.01))
    assert np.all((bins != 0) == (adjusted <= 0.10))
    labels = {1: "High-High", 2: "Low-High", 3: "Low-Low", 4: "High-Low"}
    lisa_fdr = column(records, "lisa_p_fdr")
    for record, q_adj in zip(records, lisa_fdr):
        expected = labels[record["lisa_q"]] if q_adj <= 0.05 else "Not significant"
        assert record["lisa_cluster"] == expected
    if variable == "CRIME":
        assert round(result["GLOBAL_MORAN_I"], 9) == 0.500188557
        assert result["GLOBAL_MORAN_EI"] == pytest.approx(-1 / 48)
        assert int(np.sum(np.abs(bins) >= 2)) == 9  # esda summary: 9 Gi* significant after BH at 0.05
        assert result["N_HOT"] + result["N_COLD"] == int(np.sum(bins != 0))
        assert result["N_HOT"] > 0
        assert result["N_COLD"] > 0


@pytest.mark.parametrize(("weights", "column_name"), [(0, "queen"), (1, "rook")])
def test_grid_island_no_neighbours(provider, weights, column_name):
    result = run(
        {"INPUT": str(shared_data("hotspots", "grid_island.gpkg")), "FIELD": "value", "WEIGHTS": weights,
         "PERMUTATIONS": 0}
    )
    records = sorted(rows(result["OUTPUT"]), key=lambda r: r["cell_id"])
    ref = reference("expected_grid_island.csv")
    island = records[100]
    assert island["cell_id"] == 100
    assert island["lisa_cluster"] == "No neighbours"
    assert island["n_neighbors"] == 0
    assert all(island[name] == NULL for name in ("gi_z", "gi_p", "gi_bin", "lisa_i", "lisa_q", "lisa_p"))
    np.testing.assert_allclose(
        column(records[:100], "gi_z"), [float(r[f"gistar_B_z_{column_name}"]) for r in ref[:100]], rtol=RTOL
    )
    np.testing.assert_allclose(
        column(records[:100], "lisa_i"), [float(r[f"lisa_I_{column_name}"]) for r in ref[:100]], rtol=RTOL
    )
    assert [r["lisa_q"] for r in records[:100]] == [int(r[f"lisa_q_{column_name}"]) for r in ref[:100]]
    assert result["N_NO_NEIGHBOURS"] == 1


def test_distance_band_and_knn_in_geographic_crs(provider):
    import processing

    grid = str(shared_data("hotspots", "grid_island.gpkg"))
    geographic = processing.run(
        "native:reprojectlayer", {"INPUT": grid, "TARGET_CRS": "EPSG:4326", "OUTPUT": "memory:"}
    )["OUTPUT"]
    assert geographic.crs().isGeographic()
    ref = reference("expected_grid_island.csv")
    # Cell centres are 100 m apart (141 m diagonally): 120 m gives rook, 150 m queen neighbours.
    for distance, kind in ((120.0, "rook"), (150.0, "queen")):
        result = run({"INPUT": geographic, "FIELD": "value", "WEIGHTS": 3, "DISTANCE": distance, "PERMUTATIONS": 0})
        records = sorted(rows(result["OUTPUT"]), key=lambda r: r["cell_id"])
        assert [r["n_neighbors"] for r in records] == [int(r[f"n_neighbors_{kind}"]) for r in ref]
        np.testing.assert_allclose(
            column(records[:100], "gi_z"), [float(r[f"gistar_B_z_{kind}"]) for r in ref[:100]], rtol=1e-6
        )
        assert records[100]["lisa_cluster"] == "No neighbours"
    assert result["OUTPUT"].crs().isGeographic()
    knn = run({"INPUT": geographic, "FIELD": "value", "WEIGHTS": 2, "K": 4, "PERMUTATIONS": 99})
    records = rows(knn["OUTPUT"])
    assert {r["n_neighbors"] for r in records} == {4}
    assert knn["N_NO_NEIGHBOURS"] == 0


def test_automatic_distance_band_gives_everyone_a_neighbour(provider):
    wkts = [*grid_wkts(5), "POLYGON((501000 5501000,501100 5501000,501100 5501100,501000 5501100,501000 5501000))"]
    values = [float(v) for v in range(25)] + [3.0]
    result = run({"INPUT": memory_layer("Polygon", wkts, values), "FIELD": "value", "WEIGHTS": 3, "DISTANCE": 0})
    records = rows(result["OUTPUT"])
    assert min(r["n_neighbors"] for r in records) >= 1
    assert result["N_NO_NEIGHBOURS"] == 0


def test_nulls_multipart_invalid_and_duplicates(provider):
    wkts = grid_wkts(4)
    values: list = [float((i * 7) % 11) for i in range(16)]
    values[5] = None
    wkts += [
        # multipart left and right of the bottom row: touches cells 0, 4 and 3, 7
        "MULTIPOLYGON(((499900 5500000,500000 5500000,500000 5500100,499900 5500100,499900 5500000)),"
        "((500400 5500000,500500 5500000,500500 5500100,500400 5500100,500400 5500000)))",
        # self-intersecting bow-tie on top of cell 15 (and the corner of cell 14)
        "POLYGON((500300 5500400,500400 5500500,500400 5500400,500300 5500500,500300 5500400))",
        wkts[10],  # duplicate of cell 10
    ]
    values += [4.0, 9.0, 2.0]
    layer = memory_layer("MultiPolygon", wkts, values)
    result = run({"INPUT": layer, "FIELD": "value", "WEIGHTS": 0, "PERMUTATIONS": 99})
    records = rows(result["OUTPUT"])
    assert len(records) == 19
    assert records[5]["lisa_cluster"] == "No data"
    assert records[5]["gi_z"] == NULL
    assert result["N_NO_DATA"] == 1
    assert records[16]["n_neighbors"] == 4
    assert records[17]["n_neighbors"] == 2
    # cell 10: 8 cells around it, minus cell 5 (no value), plus its duplicate
    assert records[18]["n_neighbors"] == records[10]["n_neighbors"] == 8
    assert records[0]["n_neighbors"] == 3  # cells 1 and 4 (5 has no value) and the multipart
    assert all(r["gi_z"] != NULL for i, r in enumerate(records) if i != 5)


@pytest.mark.parametrize(
    ("values", "kind", "message"),
    [
        ([None] * 9, FieldType.DOUBLE, "no numeric value"),
        ([5.0] * 9, FieldType.DOUBLE, "equal"),
        (["a"] * 9, FieldType.STRING, "not numeric"),
        ([1.0] + [None] * 8, FieldType.DOUBLE, "at least 3"),
    ],
)
def test_bad_fields_fail_clearly_without_output(provider, tmp_path, values, kind, message):
    import processing

    layer = memory_layer("Polygon", grid_wkts(3), values, kind=kind)
    target = tmp_path / "out.gpkg"
    with pytest.raises(QgsProcessingException, match=message):
        processing.run(ALG, {"INPUT": layer, "FIELD": "value", "OUTPUT": str(target)})
    assert not target.exists()


def test_single_feature_and_points_with_queen_fail(provider):
    import processing

    single = memory_layer("Polygon", grid_wkts(1), [3.0])
    with pytest.raises(QgsProcessingException, match="at least 3"):
        processing.run(ALG, {"INPUT": single, "FIELD": "value", "OUTPUT": "memory:"})
    points = memory_layer("Point", ["POINT(0 0)", "POINT(1 0)", "POINT(0 1)"], [1.0, 2.0, 3.0])
    with pytest.raises(QgsProcessingException, match="need polygons"):
        processing.run(ALG, {"INPUT": points, "FIELD": "value", "WEIGHTS": 0, "OUTPUT": "memory:"})
    result = run({"INPUT": points, "FIELD": "value", "WEIGHTS": 2, "K": 1, "PERMUTATIONS": 0})
    assert result["OUTPUT"].featureCount() == 3


def test_styles_have_the_familiar_colours(provider):
    from social_resilience.algorithms.hotspots.local_hotspots import STYLES
    from social_resilience.algorithms.style_on_load import StyleOnLoad

    expected = {
        0: {"3": "214,47,39", "-3": "69,117,181", "0": "255,255,191"},
        1: {"High-High": "227,26,28", "Low-Low": "31,120,180", "Low-High": "166,206,227", "High-Low": "251,154,153"},
    }
    layer = memory_layer("Polygon", grid_wkts(2), [1.0, 2.0, 3.0, 4.0])
    layer.dataProvider().addAttributes([QgsField("gi_bin", FieldType.INT), QgsField("lisa_cluster", FieldType.STRING)])
    layer.updateFields()
    for style, colours in expected.items():
        StyleOnLoad(STYLES[style]).postProcessLayer(layer, None, None)
        renderer = layer.renderer()
        assert isinstance(renderer, QgsCategorizedSymbolRenderer)
        assert renderer.classAttribute() == ("gi_bin" if style == 0 else "lisa_cluster")
        found = {str(c.value()): c.symbol().color() for c in renderer.categories()}
        for value, rgb in colours.items():
            colour = found[value]
            assert f"{colour.red()},{colour.green()},{colour.blue()}" == rgb


def test_loaded_output_gets_the_chosen_style(provider):
    import processing
    from qgis.core import QgsProject

    before = set(QgsProject.instance().mapLayers())
    processing.runAndLoadResults(
        ALG,
        {"INPUT": str(shared_data("hotspots", "grid_island.gpkg")), "FIELD": "value", "PERMUTATIONS": 0,
         "STYLE": 1, "OUTPUT": "TEMPORARY_OUTPUT"},
    )
    added = [QgsProject.instance().mapLayer(i) for i in set(QgsProject.instance().mapLayers()) - before]
    try:
        assert len(added) == 1
        renderer = added[0].renderer()
        assert isinstance(renderer, QgsCategorizedSymbolRenderer)
        assert renderer.classAttribute() == "lisa_cluster"
    finally:
        QgsProject.instance().removeMapLayers([layer.id() for layer in added])


def rook_moran_with_libpysal(variable: str) -> float:
    """Global Moran's I of Columbus with libpysal's rook weights, row-standardised."""
    libpysal = pytest.importorskip("libpysal")
    weights = libpysal.weights.Rook.from_shapefile(str(libpysal_example("columbus", "columbus.shp")))
    weights.transform = "r"
    y = np.array(libpysal.io.open(str(libpysal_example("columbus", "columbus.dbf"))).by_col(variable), dtype=float)
    z = y - y.mean()
    return float(len(y) / weights.s0 * (z @ (weights.sparse @ z)) / (z @ z))


def test_qgis_process_run(qgis_process, tmp_path):
    output = tmp_path / "hotspots.gpkg"
    report = qgis_process.run_algorithm(
        ALG,
        {
            "INPUT": shared_data("hotspots", "columbus.gpkg"),
            "FIELD": "CRIME",
            "WEIGHTS": 1,
            "PERMUTATIONS": 99,
            "FDR": "false",
            "BINS_FROM": 1,
            "CORRECTION": 1,
            "OUTPUT": output,
        },
    )
    results = report["results"]
    assert 0.0 < results["GLOBAL_MORAN_P_SIM"] <= 0.01  # 99 permutations: at best 0.01
    assert results["N_KNN_TIES"] == 0
    assert results["GLOBAL_MORAN_I"] == pytest.approx(rook_moran_with_libpysal("CRIME"), rel=1e-9)
    layer = QgsVectorLayer(str(output), "out", "ogr")
    assert layer.featureCount() == 49
    assert {"gi_z", "gi_bin", "lisa_cluster", "n_neighbors"} <= set(layer.fields().names())
    assert layer.crs() == QgsCoordinateReferenceSystem() or not layer.crs().isGeographic()


class LogFeedback:
    """A QgsProcessingFeedback that keeps the info and warning messages."""

    def __new__(cls):
        from qgis.core import QgsProcessingFeedback

        class _Feedback(QgsProcessingFeedback):
            def __init__(self) -> None:
                super().__init__()
                self.infos: list[str] = []
                self.warnings: list[str] = []

            def pushInfo(self, info: str) -> None:  # noqa: N802 (Qt name)
                self.infos.append(info)
                super().pushInfo(info)

            def pushWarning(self, warning: str) -> None:  # noqa: N802 (Qt name)
                self.warnings.append(warning)
                super().pushWarning(warning)

        return _Feedback()


def run_logged(params: dict):
    import processing

    feedback = LogFeedback()
    result = processing.run(ALG, {"OUTPUT": "memory:", **params}, feedback=feedback)
    return result, feedback


@pytest.mark.parametrize(
    ("path", "field", "crs", "unit"),
    [
        ("georgia/G_utm.shp", "PctBach", "", " layer units "),
        ("georgia/G_utm.shp", "PctBach", "EPSG:32617", " m "),
        ("baltim/baltim.shp", "PRICE", "", " layer units "),
        ("sids2/sids2.shp", "SIDR79", "EPSG:4267", " m "),
    ],
)
def test_automatic_distance_band_gives_everyone_a_neighbour_in_the_right_unit(provider, path, field, crs, unit):
    import processing

    source = QgsVectorLayer(str(libpysal_example(*path.split("/"))), "units", "ogr")
    assert source.isValid()
    assert not source.crs().isValid()  # the examples come without .prj
    if crs:
        source = processing.run(
            "native:assignprojection", {"INPUT": source, "CRS": crs, "OUTPUT": "memory:"}
        )["OUTPUT"]
    result, feedback = run_logged({"INPUT": source, "FIELD": field, "WEIGHTS": 3, "DISTANCE": 0, "PERMUTATIONS": 0})
    assert result["N_NO_NEIGHBOURS"] == 0  # georgia and baltim lost the pair at the threshold before
    assert min(r["n_neighbors"] for r in rows(result["OUTPUT"])) >= 1
    band = [m for m in feedback.infos if m.startswith("Distance band:")]
    assert len(band) == 1
    assert unit in band[0], band
    assert any("no CRS" in w for w in feedback.warnings) == (not crs)


def test_degrees_without_crs_are_refused_with_what_to_set(provider, tmp_path):
    # The path, not a layer object: a failed run keeps its parameters until the process ends, and an
    # OGR layer destroyed after QGIS has shut down crashes it (not a concern in the desktop).
    path = str(libpysal_example("sids2", "sids2.shp"))
    assert not QgsVectorLayer(path, "units", "ogr").crs().isValid()
    target = tmp_path / "out.gpkg"
    params = {"INPUT": path, "FIELD": "SIDR79", "WEIGHTS": 3, "DISTANCE": 0, "PERMUTATIONS": 0, "OUTPUT": str(target)}
    with pytest.raises(QgsProcessingException, match=r"look like longitude/latitude\. Set its CRS"):
        run(params)
    assert not target.exists()


def test_knn_ties_are_counted_warned_and_optionally_all_kept(provider):
    layer = memory_layer("Polygon", grid_wkts(10), [float((i * 37) % 17) for i in range(100)])
    result, feedback = run_logged({"INPUT": layer, "FIELD": "value", "WEIGHTS": 2, "K": 6, "PERMUTATIONS": 0})
    # Every cell has several neighbours at its 6th distance (141 m in the interior).
    assert result["N_KNN_TIES"] == 100
    assert any("100 of 100 features" in w and "KNN_TIES" in w for w in feedback.warnings)
    assert {r["n_neighbors"] for r in rows(result["OUTPUT"])} == {6}
    again = run({"INPUT": layer, "FIELD": "value", "WEIGHTS": 2, "K": 6, "PERMUTATIONS": 0})
    assert [r["gi_z"] for r in rows(again["OUTPUT"])] == [r["gi_z"] for r in rows(result["OUTPUT"])]
    everyone = run({"INPUT": layer, "FIELD": "value", "WEIGHTS": 2, "K": 6, "KNN_TIES": 1, "PERMUTATIONS": 0})
    counts = [r["n_neighbors"] for r in rows(everyone["OUTPUT"])]
    assert counts[5 * 10 + 5] == 8
    assert min(counts) >= 6
    untied = run({"INPUT": layer, "FIELD": "value", "WEIGHTS": 2, "K": 4, "PERMUTATIONS": 0})
    assert untied["N_KNN_TIES"] < 100


def test_bins_from_permutations_and_bonferroni(columbus_path):
    base = {"INPUT": columbus_path, "FIELD": "CRIME", "PERMUTATIONS": 9999, "SEED": 2}
    records = rows(run({**base, "BINS_FROM": 1})["OUTPUT"])
    two_sided = np.minimum(2 * column(records, "gi_p_sim"), 1.0)
    adjusted = column(records, "gi_p_fdr")
    from social_resilience.core.hotspots import local_statistics as ls

    np.testing.assert_allclose(adjusted, ls.benjamini_hochberg(two_sided), rtol=1e-12)
    bins = np.array([r["gi_bin"] for r in records])
    assert np.all((bins != 0) == (adjusted <= 0.10))
    assert np.all(np.sign(bins[bins != 0]) == np.sign(column(records, "gi_z")[bins != 0]))
    analytic = rows(run({**base, "BINS_FROM": 0})["OUTPUT"])
    # Permutation and normal p agree on the sign and roughly on the strength.
    assert np.mean(np.array([r["gi_bin"] for r in analytic]) == bins) > 0.85
    bonferroni = run({**base, "CORRECTION": 1})
    records_b = rows(bonferroni["OUTPUT"])
    np.testing.assert_allclose(column(records_b, "gi_p_fdr"), np.minimum(column(records_b, "gi_p") * 49, 1.0))
    np.testing.assert_allclose(column(records_b, "lisa_p_fdr"), np.minimum(column(records_b, "lisa_p") * 49, 1.0))
    assert bonferroni["N_LISA_SIGNIFICANT"] <= run(base)["N_LISA_SIGNIFICANT"]
    assert 0 < bonferroni["GLOBAL_MORAN_P_SIM"] <= 0.002


def test_too_few_permutations_for_the_correction_are_warned(provider):
    source = QgsVectorLayer(str(libpysal_example("georgia", "G_utm.shp")), "georgia", "ogr")
    assert source.isValid()
    params = {"INPUT": source, "FIELD": "PctBach", "WEIGHTS": 0}
    _, feedback = run_logged({**params, "PERMUTATIONS": 999})
    # 159 tests at 0.05: the smallest p must be <= 0.05 / 159, so 1 / (P + 1) needs P >= 3179.
    assert any("at least 3179" in w for w in feedback.warnings), feedback.warnings
    _, feedback = run_logged(params)  # the default 9,999 suffices
    assert not any("PERMUTATIONS" in w for w in feedback.warnings)
    _, feedback = run_logged({**params, "PERMUTATIONS": 999, "FDR": False})
    assert not any("PERMUTATIONS" in w for w in feedback.warnings)


def test_binary_transform_gives_esda_binary_moran(columbus_path):
    libpysal = pytest.importorskip("libpysal")
    result = run({"INPUT": columbus_path, "FIELD": "CRIME", "TRANSFORM": 1, "PERMUTATIONS": 0})
    weights = libpysal.weights.Queen.from_shapefile(str(libpysal_example("columbus", "columbus.shp")))
    y = np.array(libpysal.io.open(str(libpysal_example("columbus", "columbus.dbf"))).by_col("CRIME"), dtype=float)
    z = (y - y.mean()) / y.std()
    lag = weights.sparse @ z
    records = rows(result["OUTPUT"])
    np.testing.assert_allclose(column(records, "lisa_i"), 48 / 49 * z * lag, rtol=1e-10)
    np.testing.assert_allclose(column(records, "lisa_lag"), lag, rtol=1e-10)
    assert result["GLOBAL_MORAN_I"] == pytest.approx(49 / weights.s0 * (z @ lag) / (z @ z), rel=1e-10)
    row_standardised = run({"INPUT": columbus_path, "FIELD": "CRIME", "PERMUTATIONS": 0})
    assert [r["lisa_q"] for r in rows(row_standardised["OUTPUT"])] == [r["lisa_q"] for r in records]
