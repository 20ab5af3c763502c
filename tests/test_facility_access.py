"""``socialresilience:facilityaccess`` through processing.run and qgis_process.

A hand-made street with an arterial as barrier (distances computed by hand), the sample town,
and a real OpenStreetMap town (ODbL, © OpenStreetMap contributors) checked against an independent
networkx computation (``tests/everyday_reference.py``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from qgis.core import NULL, QgsFeature, QgsProcessingException, QgsVectorFileWriter, QgsVectorLayer
from social_resilience.algorithms.qt_compat import FieldType

from .conftest import shared_data
from .test_green_space_catchments import Recorder, _layer, lines_layer, points_layer, square

ALG = "socialresilience:facilityaccess"
STREETS = [[(-500, 0), (-100, 0), (0, 0), (100, 0), (500, 0)], [(0, 0), (0, 100), (0, 200)], [(0, 0), (0, -200)]]
ARTERIAL = [STREETS[0]]


def run(params: dict, feedback=None) -> dict:
    import processing

    return processing.run(ALG, params, feedback=feedback)


def street_params(crossing: bool = True, barriers: bool = True, **extra) -> dict:
    """A west-east arterial (barrier), a street north and south of it; homes north and south."""
    homes = points_layer([(10, 150), (20, -190)], fields=[("pop", FieldType.INT)], values=[(10,), (30,)])
    places = points_layer(
        [(-80, 100), (10, -150), (5, 60)],
        fields=[("category", FieldType.STRING), ("capacity", FieldType.DOUBLE)],
        values=[("grocery", 100.0), ("Grocery", 50.0), ("bakery", 1.0)],
    )
    params = {
        "NETWORK": lines_layer(STREETS), "RESIDENTIAL": homes, "POPULATION_FIELD": "pop", "FACILITIES": places,
        "DISTANCES": "grocery=350", "OUTPUT": "TEMPORARY_OUTPUT",
    }  # fmt: skip
    if barriers:
        params["BARRIERS"] = lines_layer(ARTERIAL)
    if crossing:
        params["CROSSINGS"] = points_layer([(0, 0)])
    params.update(extra)
    return params


def osm_layers(folder, *names: str) -> dict:
    """``osmwalknetwork`` on Hoyerswerda: the named outputs as GeoPackages in ``folder``, the others temporary."""
    import processing

    outputs = ("network", "barriers", "crossings", "green_spaces", "buildings", "places", "trees", "canopy")
    return processing.run("socialresilience:osmwalknetwork", {
        "INPUT": str(shared_data("osm", "hoyerswerda.osm.pbf")),
        **{f"OUTPUT_{n.upper()}": str(folder / f"{n}.gpkg") if n in names else "TEMPORARY_OUTPUT" for n in outputs},
    })  # fmt: skip


def rows(result: dict) -> list[QgsFeature]:
    return list(result["OUTPUT"].getFeatures())


def test_a_shop_across_the_arterial_is_reached_only_over_a_crossing(provider):
    open_ = rows(run(street_params()))
    closed = rows(run(street_params(crossing=False)))
    plain = rows(run(street_params(barriers=False, crossing=False)))
    # the north home: 10 m to its street, 50 m along it, 80 m to the northern shop
    assert open_[0]["grocery_dist_m"] == pytest.approx(10 + 50 + 80, abs=0.01)
    assert open_[0]["grocery_n"] == 2  # the southern one over the crossing: 10 + 150 + 150 + 10 = 320 m
    assert closed[0]["grocery_n"] == 1  # the southern shop only around the arterial's end
    south = rows(run(street_params(crossing=False, DISTANCES="grocery=2000")))[0]
    assert south["grocery_n"] == 2
    # around the end: 10 + 150 + 500 east + 500 back on the south side + 150 + 10 = 1320
    only_south = points_layer([(10, -150)], fields=[("category", FieldType.STRING)], values=[("grocery",)])
    around = rows(run(street_params(crossing=False, FACILITIES=only_south, DISTANCES="grocery=2000")))[0]
    assert around["grocery_dist_m"] == pytest.approx(1320, abs=0.01)
    direct = rows(run(street_params(FACILITIES=only_south, DISTANCES="grocery=2000")))[0]
    assert direct["grocery_dist_m"] == pytest.approx(320, abs=0.01)
    assert [f["grocery_dist_m"] for f in plain] == [f["grocery_dist_m"] for f in open_]


def test_capacity_and_two_step_floating_catchment(provider):
    result = run(street_params(CAPACITY_FIELD="capacity"))
    north, south = rows(result)
    # the north home (10 residents) reaches both shops, the south home (30) only the southern one:
    # the northern shop is 20 + 190 + 100 + 80 = 390 m from it, beyond 350 m
    assert (north["grocery_n"], south["grocery_n"]) == (2, 1)
    assert (north["grocery_cap"], south["grocery_cap"]) == (150, 50)
    # shares: 100 / 10 per resident at the northern shop, 50 / 40 at the southern one
    assert north["grocery_per_1000"] == pytest.approx(1000 * (100 / 10 + 50 / 40))
    assert south["grocery_per_1000"] == pytest.approx(1000 * 50 / 40)
    assert result["GROCERY_SHARE"] == 1.0


def test_a_polygon_place_is_reached_at_its_edge(provider):
    school = _layer("Polygon", [square(-50, -300, 50, -250)], fields=[("category", FieldType.STRING)],
                    values=[("school",)])  # fmt: skip
    north = rows(run(street_params(FACILITIES=school, DISTANCES="school=1000")))[0]
    # 10 + 150 to the arterial, 200 south to the street's end, 50 across to the school's edge
    assert north["school_dist_m"] == pytest.approx(410, abs=0.01)
    assert north["school_n"] == 1


def test_categories_all_served_and_what_is_left_out(provider):
    feedback = Recorder()
    result = run(street_params(DISTANCES="grocery=350;bakery=110;doctor=500"), feedback)
    north, south = rows(result)
    assert (north["bakery_dist_m"], north["bakery_n"], south["bakery_n"]) == (10 + 90 + 5, 1, 0)
    assert (north["doctor_n"], north["doctor_dist_m"]) == (0, NULL)
    assert (north["categories_served"], north["all_served"], south["all_served"]) == (2, 0, 0)
    assert result["DOCTOR_SHARE"] == 0.0
    assert result["ALL_SHARE"] == 0.0
    assert result["BAKERY_SHARE"] == pytest.approx(10 / 40)
    assert any("doctor" in w for w in feedback.warnings)


def test_preset_local_supply_ignores_distances(provider):
    result = run(street_params(PRESET=0, DISTANCES="nonsense"))
    assert {"GROCERY_SHARE", "PHARMACY_SHARE", "DOCTOR_SHARE", "BUS_STOP_SHARE"} <= set(result)
    assert "BAKERY_SHARE" not in result
    names = result["OUTPUT"].fields().names()
    assert names[-10:] == ["grocery_dist_m", "grocery_n", "pharmacy_dist_m", "pharmacy_n", "doctor_dist_m",
                           "doctor_n", "bus_stop_dist_m", "bus_stop_n", "categories_served", "all_served"]  # fmt: skip


def _saved(layer: QgsVectorLayer, path) -> str:
    error, message = QgsVectorFileWriter.writeAsVectorFormat(layer, str(path), "utf-8", layer.crs(), "GPKG")[:2]
    assert error == QgsVectorFileWriter.NoError, message
    return str(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"DISTANCES": "grocery=abc"}, 'DISTANCES: "grocery=abc" is not category=metres'),
        ({"DISTANCES": "grocery=5;Grocery=6"}, "names a category twice"),
        ({"DISTANCES": " ; "}, "DISTANCES names no category"),
        ({"CATEGORY_FIELD": "kind"}, "CATEGORY_FIELD: kind is not a field of FACILITIES"),
        ({"CAPACITY_FIELD": "capacity", "negative": True}, "capacities must not be negative"),
        ({"FACILITIES": "lines"}, "FACILITIES must contain points or polygons, but the layer has lines"),
    ],
)
def test_bad_input_is_a_clear_error(provider, tmp_path, change, message):
    change = dict(change)
    capacity = -1.0 if change.pop("negative", False) else 1.0
    places = points_layer([(5, 60)], fields=[("category", FieldType.STRING), ("capacity", FieldType.DOUBLE)],
                          values=[("grocery", capacity)])  # fmt: skip
    if change.pop("FACILITIES", None) == "lines":
        places = lines_layer([[(0, 10), (0, 20)]])
    params = street_params()  # paths, not layers made here: a failed run keeps its parameters
    for name in ("NETWORK", "BARRIERS", "CROSSINGS", "RESIDENTIAL"):
        params[name] = _saved(params[name], tmp_path / f"{name}.gpkg")
    params.update(FACILITIES=_saved(places, tmp_path / "places.gpkg"), **change)
    with pytest.raises(QgsProcessingException, match=message.replace("(", r"\(")):
        run(params)


def test_sample_town_shares_fields_and_equity_by_district(provider, sample_town):
    import processing

    layer = f"{sample_town}|layername="
    result = run({
        "NETWORK": layer + "network", "BARRIERS": layer + "barriers", "CROSSINGS": layer + "crossings",
        "RESIDENTIAL": layer + "buildings", "POPULATION_FIELD": "population", "FACILITIES": layer + "places",
        "OUTPUT": "TEMPORARY_OUTPUT",
    })  # fmt: skip
    homes = rows(result)
    population = np.array([f["population"] for f in homes], dtype=float)
    assert result["TOTAL_POPULATION"] == population.sum()
    every = np.ones(len(homes), dtype=bool)
    for name, metres in (("grocery", 500), ("school", 1000), ("doctor", 1000), ("bus_stop", 300)):
        dist = np.array([f[f"{name}_dist_m"] if f[f"{name}_dist_m"] else np.inf for f in homes], dtype=float)
        count = np.array([f[f"{name}_n"] for f in homes])
        assert np.array_equal(count > 0, dist <= metres)
        served = dist <= metres
        every &= served
        assert result[f"{name.upper()}_SHARE"] == pytest.approx(population[served].sum() / population.sum())
        assert 0 < result[f"{name.upper()}_SHARE"] < 1 or name == "doctor"
    assert np.array_equal([f["all_served"] for f in homes], every.astype(int))
    assert result["ALL_SHARE"] == pytest.approx(population[every].sum() / population.sum())
    equity = processing.run("socialresilience:greenequity", {
        "RESIDENTIAL": result["OUTPUT"], "POPULATION_FIELD": "population", "AREAS": layer + "districts",
        "SERVED_FIELD": "all_served", "DISTANCE_FIELD": "grocery_dist_m", "OUTPUT": "TEMPORARY_OUTPUT",
    })  # fmt: skip
    assert equity["SERVED_SHARE"] == pytest.approx(result["ALL_SHARE"])
    areas = list(equity["OUTPUT"].getFeatures())
    assert all(a["barrier_gap"] == NULL and a["served_share_eucl"] == NULL for a in areas)
    assert any(a["dist_median_m"] for a in areas)
    assert 0 <= equity["GINI"] < 1


def test_qgis_process_on_the_sample_town(provider, sample_town, qgis_process, tmp_path):
    layer = f"{sample_town}|layername="
    params = {
        "NETWORK": layer + "network", "BARRIERS": layer + "barriers", "CROSSINGS": layer + "crossings",
        "RESIDENTIAL": layer + "buildings", "POPULATION_FIELD": "population", "FACILITIES": layer + "places",
        "PRESET": 1, "OUTPUT": str(tmp_path / "access.gpkg"),
    }  # fmt: skip
    results = qgis_process.run_algorithm(ALG, params)["results"]
    assert set(results) >= {"ALL_SHARE", "GROCERY_SHARE", "KINDERGARTEN_SHARE", "BUS_STOP_SHARE", "OUTPUT"}
    assert results["ALL_SHARE"] <= min(v for k, v in results.items() if k.endswith("_SHARE"))
    written = QgsVectorLayer(str(tmp_path / "access.gpkg"))
    assert written.featureCount() > 2000
    assert "kindergarten_dist_m" in written.fields().names()


@pytest.mark.shared_data
def test_real_town_equals_an_independent_computation(provider, tmp_path):
    """Hoyerswerda without barriers: every distance and count as networkx computes them."""
    from shapely import wkt

    from .everyday_reference import Network, place_access

    osm = osm_layers(tmp_path, "network", "buildings", "places")
    distances = {"grocery": 500.0, "school": 800.0, "kindergarten": 600.0, "bus_stop": 300.0, "doctor": 1000.0}
    result = run({
        "NETWORK": osm["OUTPUT_NETWORK"], "RESIDENTIAL": osm["OUTPUT_BUILDINGS"], "FACILITIES": osm["OUTPUT_PLACES"],
        "DISTANCES": ";".join(f"{k}={v}" for k, v in distances.items()), "OUTPUT": "TEMPORARY_OUTPUT",
    })  # fmt: skip
    homes = rows(result)
    network = Network([[(p.x(), p.y()) for p in f.geometry().vertices()]
                       for f in QgsVectorLayer(osm["OUTPUT_NETWORK"]).getFeatures()])  # fmt: skip
    home_points = [wkt.loads(f.geometry().asWkt()).representative_point() for f in homes]
    spots = [network.spot(p.x, p.y, 200.0) for p in home_points]
    places = list(QgsVectorLayer(osm["OUTPUT_PLACES"]).getFeatures())
    compared = 0
    for category, metres in distances.items():
        sites = [network.spot(f.geometry().asPoint().x(), f.geometry().asPoint().y(), 200.0)
                 for f in places if f["category"] == category]  # fmt: skip
        assert sites, category
        expected_dist, expected_n = place_access(network, spots, sites, metres)
        got = np.array([f[f"{category}_dist_m"] if f[f"{category}_dist_m"] else math.inf for f in homes], float)
        assert np.allclose(got, expected_dist, atol=0.05, equal_nan=False), category
        clear = np.abs(expected_dist - metres) > 0.05  # leave out homes right at the limit (rounding)
        got_n = np.array([f[f"{category}_n"] for f in homes])
        assert np.array_equal(got_n[clear], expected_n[clear]), category
        compared += int(np.count_nonzero(np.isfinite(expected_dist)))
    assert compared > 500
