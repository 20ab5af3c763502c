"""``socialresilience:accessimprovements`` through processing.run and qgis_process.

Strip layout (as in test_improvements_core): a green strip covers the southern row of a grid of
ways every 100 m; a railway along y = 250 cuts the north off. A home 5 m east of (x, 330) is
285 m from green through a crossing at (x, 250) and 385 m through one at x +- 100, so crossings
serve their own column and both neighbours; alone: x=0: 25, 100: 65, 200: 60, 300: 80, 400: 40.
"""

from __future__ import annotations

import pytest
from qgis.core import (
    NULL,
    QgsFeature,
    QgsFeatureRequest,
    QgsGeometry,
    QgsPointXY,
    QgsProcessingException,
    QgsVectorLayer,
)
from social_resilience.algorithms.qt_compat import FieldType

from .test_green_space_catchments import X0, Y0, Recorder, _layer, lines_layer, points_layer, square, town_params

ALG = "socialresilience:accessimprovements"
CATCHMENTS = "socialresilience:greenspacecatchments"
XS = [0.0, 100.0, 200.0, 300.0, 400.0]
RAIL = [[(-100.0, 250.0)] + [(x, 250.0) for x in XS] + [(500.0, 250.0)]]
NORTH = {0.0: 15.0, 100.0: 10.0, 200.0: 40.0, 300.0: 10.0, 400.0: 30.0}
HOMES = [*((x + 5.0, 330.0) for x in NORTH), (105.0, 130.0), (2000.0, 2000.0)]
POPULATION = [*NORTH.values(), 100.0, 20.0]
OUT = {"OUTPUT": "TEMPORARY_OUTPUT", "OUTPUT_HOMES": "TEMPORARY_OUTPUT"}
CATCHMENT_OUT = {"OUTPUT_CATCHMENTS": "TEMPORARY_OUTPUT", "OUTPUT_GREEN_SPACES": "TEMPORARY_OUTPUT",
                 "OUTPUT_RESIDENTIAL": None}  # fmt: skip


def strip_network():
    rows = [[(x, y) for x in XS] for y in (0.0, 100.0, 200.0, 300.0, 400.0)]
    cols = [[(x, y) for y in (0.0, 100.0, 200.0, 250.0, 300.0, 400.0)] for x in XS]
    return lines_layer(rows + cols)


def strip_params(**extra) -> dict:
    params = {
        "NETWORK": strip_network(),
        "GREEN_SPACES": _layer("Polygon", [square(-50, -50, 450, 50)]),
        "BARRIERS": lines_layer(RAIL),
        "RESIDENTIAL": points_layer(HOMES, fields=[("pop", FieldType.DOUBLE)], values=[[p] for p in POPULATION]),
        "POPULATION_FIELD": "pop",
        **OUT,
    }
    params.update(extra)
    return params


def run(params: dict, feedback=None) -> dict:
    import processing

    return processing.run(ALG, params, feedback=feedback)


def local_x(feature) -> float:
    return round(feature.geometry().asPoint().x() - X0, 3)


def by_rank(layer) -> list:
    return sorted(layer.getFeatures(), key=lambda f: f["rank"])


def test_strip_ranks_the_crossings_known_by_hand(provider):
    result = run(strip_params(OUTPUT_CANDIDATES="TEMPORARY_OUTPUT"))
    ranked = by_rank(result["OUTPUT"])
    # rank 1: x=300 serves 80 alone; x=0 and x=100 then both add 25: the tie goes to x=100 (65 alone)
    assert [local_x(f) for f in ranked] == [300.0, 100.0]
    assert [f["rank"] for f in ranked] == [1, 2]
    assert [f["kind"] for f in ranked] == ["crossing", "crossing"]
    assert [f["gain_pop"] for f in ranked] == [80.0, 25.0]
    assert [f["gain_pop_alone"] for f in ranked] == [80.0, 65.0]
    assert [f["served_share_after"] for f in ranked] == pytest.approx([180 / 225, 205 / 225])
    assert result["SERVED_SHARE_BEFORE"] == pytest.approx(100 / 225)
    assert result["SERVED_SHARE_AFTER"] == pytest.approx(205 / 225)
    assert (result["N_CANDIDATES"], result["N_RANKED"]) == (5, 2)
    alone = {local_x(f): f["gain_pop_alone"] for f in result["OUTPUT_CANDIDATES"].getFeatures()}
    assert alone == {0.0: 25.0, 100.0: 65.0, 200.0: 60.0, 300.0: 80.0, 400.0: 40.0}
    homes = sorted(result["OUTPUT_HOMES"].getFeatures(), key=lambda f: (f["rank"], f["pop"]))
    assert [(f["rank"], f["pop"]) for f in homes] == [(1, 10.0), (1, 30.0), (1, 40.0), (2, 10.0), (2, 15.0)]
    assert {f["dist_before_m"] for f in homes} == {NULL}  # the north is cut off before
    assert sorted(f["dist_after_m"] for f in homes if f["rank"] == 1) == pytest.approx([285.0, 385.0, 385.0])


def test_every_gain_alone_equals_a_catchment_run_with_that_crossing(provider):
    import processing

    params = strip_params(OUTPUT_CANDIDATES="TEMPORARY_OUTPUT")
    result = run(params)
    base = {k: v for k, v in params.items() if k not in ("OUTPUT", "OUTPUT_HOMES", "OUTPUT_CANDIDATES")}
    before = processing.run(CATCHMENTS, {**base, **CATCHMENT_OUT})["SERVED_POPULATION"]
    assert result["SERVED_SHARE_BEFORE"] == pytest.approx(before / 225)
    candidates = list(result["OUTPUT_CANDIDATES"].getFeatures())
    assert len(candidates) == 5
    for feature in candidates:
        point = feature.geometry().asPoint()
        crossing = points_layer([(point.x() - X0, point.y() - Y0)])
        after = processing.run(CATCHMENTS, {**base, "CROSSINGS": crossing, **CATCHMENT_OUT})["SERVED_POPULATION"]
        assert after - before == feature["gain_pop_alone"], local_x(feature)


def test_proposed_sites_keep_their_fields_and_far_ones_are_reported(provider):
    proposals = points_layer(
        [(101.0, 251.0), (300.0, 252.0), (250.0, 330.0)],
        fields=[("name", FieldType.STRING)],
        values=[["Bahnhofsteg"], ["Unterführung"], ["nowhere"]],
    )
    feedback = Recorder()
    result = run(strip_params(CANDIDATES=proposals, COUNT=5), feedback)
    ranked = by_rank(result["OUTPUT"])
    named = [(f["name"], f["rank"], f["gain_pop"]) for f in ranked]
    assert named == [("Unterführung", 1, 80.0), ("Bahnhofsteg", 2, 25.0)]
    assert ranked[1].geometry().asPoint() == QgsPointXY(X0 + 101.0, Y0 + 251.0)  # the proposed point itself
    assert result["N_CANDIDATES"] == 2
    assert any("1 proposed sites lie on no barrier node" in w for w in feedback.warnings)


def test_count_limits_the_ranks(provider):
    result = run(strip_params(COUNT=1))
    assert [f["rank"] for f in result["OUTPUT"].getFeatures()] == [1]
    assert result["SERVED_SHARE_AFTER"] == pytest.approx(180 / 225)


def test_entrance_where_a_way_passes_the_park(provider):
    # One way 20 m north of a park, never touching it; a home on a side way 115 m from the park.
    network = lines_layer([[(0.0, 70.0), (200.0, 70.0), (400.0, 70.0)], [(200.0, 70.0), (200.0, 170.0)]])
    homes = points_layer([(205.0, 160.0)])
    params = strip_params(NETWORK=network, RESIDENTIAL=homes, POPULATION_FIELD=None, BARRIERS=None, KIND=1)
    result = run(params)
    ranked = by_rank(result["OUTPUT"])
    assert [(f["kind"], f["gain_pop"]) for f in ranked] == [("entrance", 1.0)]
    assert ranked[0].geometry().asPoint().y() == pytest.approx(Y0 + 50.0)  # on the park's edge
    assert result["SERVED_SHARE_BEFORE"] == 0.0
    assert result["SERVED_SHARE_AFTER"] == 1.0
    feedback = Recorder()
    crossings_only = run({**params, "KIND": 0}, feedback)  # no barriers: nothing to cross
    assert crossings_only["N_CANDIDATES"] == 0
    assert crossings_only["OUTPUT"].featureCount() == 0
    assert any("No candidate sites" in w and "BARRIERS" in w for w in feedback.warnings)


def test_without_residential_features_it_says_what_is_missing(provider):
    with pytest.raises(QgsProcessingException, match="RESIDENTIAL"):
        run(strip_params(RESIDENTIAL=None, POPULATION_FIELD=None))


def test_points_as_network_are_refused_with_a_clear_message(provider):
    with pytest.raises(QgsProcessingException, match="NETWORK must contain lines"):
        run(strip_params(NETWORK=points_layer([(0.0, 0.0), (100.0, 0.0)])))


def test_shapefile_output_and_homes_without_geometry(provider, tmp_path):
    homes = points_layer(HOMES, fields=[("pop", FieldType.DOUBLE)], values=[[p] for p in POPULATION])
    homes.dataProvider().addFeature(QgsFeature(homes.fields()))  # no geometry
    target = tmp_path / "sites.shp"
    feedback = Recorder()
    result = run(strip_params(RESIDENTIAL=homes, OUTPUT=str(target)), feedback)
    assert any("gain_pop_alone" in w for w in feedback.warnings)  # the cut field names are named
    written = QgsVectorLayer(str(target), "sites", "ogr")
    assert written.featureCount() == 2
    assert sorted(f["gain_pop"] for f in written.getFeatures()) == [25.0, 80.0]
    assert result["SERVED_SHARE_AFTER"] == pytest.approx(205 / 225)


def test_cancel_stops_with_a_message(provider):
    feedback = Recorder(cancel_at=61)
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        run(strip_params(), feedback)


# -- sample town ------------------------------------------------------------------------------


def with_point(source: QgsVectorLayer, x: float, y: float) -> QgsVectorLayer:
    """A copy of the point layer plus one point."""
    layer = source.materialize(QgsFeatureRequest())
    feature = QgsFeature(layer.fields())
    feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(x, y)))
    layer.dataProvider().addFeature(feature)
    return layer


@pytest.mark.slow
def test_sample_town_after_the_catchments_every_candidate_checked(provider, sample_town):
    import processing

    town = {k: v for k, v in town_params(sample_town).items() if not k.startswith("OUTPUT")}
    town.update({k: QgsVectorLayer(v, k, "ogr") for k, v in town.items() if "|layername=" in v})  # opened once
    catchments = processing.run(CATCHMENTS, {**town, **CATCHMENT_OUT})
    result = run({**town, "KIND": 2, "OUTPUT_CANDIDATES": "TEMPORARY_OUTPUT", **OUT})
    assert result["SERVED_SHARE_BEFORE"] == pytest.approx(catchments["SERVED_SHARE"])
    assert result["SERVED_SHARE_AFTER"] > result["SERVED_SHARE_BEFORE"]
    ranked = by_rank(result["OUTPUT"])
    assert len(ranked) == 10
    assert {f["kind"] for f in ranked} == {"crossing", "entrance"}
    gains = [f["gain_pop"] for f in ranked]
    assert ranked[0]["gain_pop"] == ranked[0]["gain_pop_alone"] == max(f["gain_pop_alone"] for f in ranked)
    assert all(g > 0 for g in gains)
    total = catchments["TOTAL_POPULATION"]
    assert ranked[-1]["served_share_after"] == pytest.approx(catchments["SERVED_SHARE"] + sum(gains) / total)
    new_homes = list(result["OUTPUT_HOMES"].getFeatures())
    assert sum(float(f["population"]) for f in new_homes) == pytest.approx(sum(gains))
    candidates = list(result["OUTPUT_CANDIDATES"].getFeatures())
    assert sum(f["kind"] == "crossing" for f in candidates) >= 10
    assert sum(f["kind"] == "entrance" for f in candidates) >= 10
    before = catchments["SERVED_POPULATION"]
    for feature in candidates:  # each built alone: a crossing added to CROSSINGS, an entrance to ENTRANCES
        point = feature.geometry().asPoint()
        layer = "CROSSINGS" if feature["kind"] == "crossing" else "ENTRANCES"
        opened = {layer: with_point(town[layer], point.x(), point.y())}
        after = processing.run(CATCHMENTS, {**town, **opened, **CATCHMENT_OUT})["SERVED_POPULATION"]
        assert after - before == pytest.approx(feature["gain_pop_alone"]), (feature["kind"], point.asWkt())


def test_qgis_process_on_the_sample_town(provider, sample_town, qgis_process, tmp_path):
    town = {k: v for k, v in town_params(sample_town).items() if not k.startswith("OUTPUT")}
    params = {**town, "KIND": 0, "COUNT": 3, "OUTPUT": str(tmp_path / "sites.gpkg")}
    report = qgis_process.run_algorithm(ALG, params)
    results = report["results"]
    expected = run({**town, "KIND": 0, "COUNT": 3, **OUT})
    assert results["SERVED_SHARE_AFTER"] == pytest.approx(expected["SERVED_SHARE_AFTER"])
    assert results["SERVED_SHARE_BEFORE"] == pytest.approx(expected["SERVED_SHARE_BEFORE"])
    written = QgsVectorLayer(results["OUTPUT"], "sites", "ogr")
    assert [f["gain_pop"] for f in by_rank(written)] == [f["gain_pop"] for f in by_rank(expected["OUTPUT"])]


@pytest.mark.slow
def test_benchmark_module_runs_on_the_sample_town(provider, sample_town):
    import importlib.util

    from .conftest import REPO

    spec = importlib.util.spec_from_file_location("bench_improvements", REPO / "benchmarks" / "bench_improvements.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    layers = {name: f"{sample_town}|layername={name}" for name in bench.catchments.LAYERS}
    row = bench.run_case("sample town", layers, sample=2)
    assert row["candidates"] > 10
    assert row["ranked"] >= 1
    assert row["naive_sampled"] >= 3  # 2 drawn at random plus up to 5 that gain somebody
    assert row["naive_mismatches"] == 0  # the naive catchment runs agree with our gains alone
    assert row["core_peer_mismatches"] == 0  # and so does the in-memory full Dijkstra per candidate
    assert row["ours_ranking_in_memory_s"] > 0
    assert row["ratio_alone"] > 1
    assert row["share_after_top10"] > row["share_before"]
