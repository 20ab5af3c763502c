"""``socialresilience:rule33030`` through processing.run and qgis_process.

A hand-made street with three homes (trees, canopy and park distances worked out by hand or with
shapely), canopy from polygons and from rasters (GDAL), the sample town, and a real OpenStreetMap
town (ODbL, © OpenStreetMap contributors) checked against an independent computation
(``tests/everyday_reference.py``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from osgeo import gdal, osr
from qgis.core import NULL, QgsFeature, QgsGeometry, QgsProcessingException, QgsVectorLayer
from shapely.geometry import Point, box
from social_resilience.algorithms.qt_compat import FieldType

from .test_facility_access import _saved, osm_layers
from .test_green_space_catchments import X0, Y0, Recorder, _layer, lines_layer, points_layer, square

ALG = "socialresilience:rule33030"
WOOD = (-300.0, -300.0, 0.0, 300.0)  # canopy: a wood west of the first home
HOMES = [(-10, 20, 10, 40), (440, 20, 460, 40), (-210, -40, -190, -20)]  # centres (0, 30), (450, 30), (-200, -30)
TREES = [(0, 50), (25, 30), (0, 56), (0, 30), (450, 45)]


def run(params: dict, feedback=None) -> dict:
    import processing

    return processing.run(ALG, params, feedback=feedback)


def street_params(**extra) -> dict:
    """A street along y = 0, a path into a 1 ha park, three homes, five trees, a wood."""
    homes = _layer("Polygon", [square(*h) for h in HOMES], fields=[("pop", FieldType.INT)],
                   values=[(10,), (20,), (30,)])  # fmt: skip
    params = {
        "NETWORK": lines_layer([[(-300, 0), (250, 0), (600, 0)], [(250, 0), (250, 60)]]),
        "GREEN_SPACES": _layer("Polygon", [square(200, 10, 300, 110)]),
        "RESIDENTIAL": homes, "POPULATION_FIELD": "pop", "TREES": points_layer(TREES),
        "CANOPY": _layer("Polygon", [square(*WOOD)]), "OUTPUT": "TEMPORARY_OUTPUT",
    }  # fmt: skip
    params.update(extra)
    return params


def rows(result: dict) -> list:
    return list(result["OUTPUT"].getFeatures())


def exact_share(centre: tuple[float, float], valid=None) -> float:
    """Share of the 250 m disc around ``centre`` under the wood (of its part inside ``valid``)."""
    disc = Point(*centre).buffer(250, 256)
    if valid is not None:
        disc = disc.intersection(valid)
    return disc.intersection(box(*WOOD)).area / disc.area


def test_three_homes_worked_out_by_hand(provider):
    result = run(street_params())
    first, second, third = rows(result)
    # trees within 15 m of the outline: (0, 50) 10 m, (25, 30) 15 m, (0, 30) inside; (0, 56) is 16 m away
    assert [f["trees_n"] for f in (first, second, third)] == [3, 1, 0]
    # to the park: connector 30 m, along the street, 10 m up the path to the park's edge
    assert first["park_dist_m"] == pytest.approx(30 + 250 + 10, abs=0.01)
    assert second["park_dist_m"] == pytest.approx(30 + 200 + 10, abs=0.01)
    assert third["park_dist_m"] == pytest.approx(30 + 450 + 10, abs=0.01)
    for feature, centre in zip((first, second, third), ((0, 30), (450, 30), (-200, -30))):
        assert feature["canopy_share"] == pytest.approx(exact_share(centre), abs=0.005)
    flags = [(f["rule_3"], f["rule_30"], f["rule_300"], f["rule_all"], f["rules_met"]) for f in (first, second, third)]
    assert flags == [(1, 1, 1, 1, 3), (0, 0, 1, 0, 1), (0, 1, 0, 0, 1)]
    assert (result["SHARE_3"], result["SHARE_30"], result["SHARE_300"], result["SHARE_ALL"]) == pytest.approx(
        (10 / 60, 40 / 60, 30 / 60, 10 / 60)
    )
    assert result["TOTAL_POPULATION"] == 60


def test_the_rules_numbers_are_parameters(provider):
    result = run(street_params(TREE_DISTANCE=16.5, PARK_DISTANCE=250, PARK_MIN_HA=1.5))
    first, second, _third = rows(result)
    assert first["trees_n"] == 4
    assert (first["park_dist_m"], first["rule_300"]) == (NULL, 0)  # the only park is too small now
    assert second["rule_300"] == 0
    result = run(street_params(PARK_DISTANCE=250))
    assert [f["rule_300"] for f in rows(result)] == [0, 1, 0]


def _raster(path, values: np.ndarray, left: float, top: float, cell: float, epsg: int, nodata=None) -> str:
    driver = gdal.GetDriverByName("GTiff")
    raster = driver.Create(str(path), values.shape[1], values.shape[0], 1, gdal.GDT_Float32)
    raster.SetGeoTransform((left, cell, 0.0, top, 0.0, -cell))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    raster.SetProjection(srs.ExportToWkt())
    band = raster.GetRasterBand(1)
    if nodata is not None:
        band.SetNoDataValue(nodata)
    band.WriteArray(values)
    raster.FlushCache()
    del raster
    return str(path)


def density_raster(path, epsg: int = 25832) -> str:
    """Tree cover density in %: 80 in the wood, 20 elsewhere; covers x -500..150, y -400..400 (1 m cells)."""
    x = -500 + np.arange(650) + 0.5
    y = 400 - np.arange(800) - 0.5
    xx, yy = np.meshgrid(x, y)
    wood = (xx >= WOOD[0]) & (xx <= WOOD[2]) & (yy >= WOOD[1]) & (yy <= WOOD[3])
    path = _raster(path, np.where(wood, 80.0, 20.0), X0 - 500, Y0 + 400, 1.0, 25832)
    if epsg != 25832:
        warped = str(path).replace(".tif", f"_{epsg}.tif")
        gdal.Warp(warped, path, dstSRS=f"EPSG:{epsg}", resampleAlg="near", xRes=1.0, yRes=1.0)
        return warped
    return path


def test_canopy_from_a_raster_with_a_threshold(provider, tmp_path):
    feedback = Recorder()
    result = run(street_params(CANOPY=density_raster(tmp_path / "density.tif"), CANOPY_THRESHOLD=30), feedback)
    first, second, third = rows(result)
    covered = box(-500, -400, 150, 400)  # outside the raster: no data, not counted
    assert first["canopy_share"] == pytest.approx(exact_share((0, 30), covered), abs=0.005)
    assert third["canopy_share"] == pytest.approx(exact_share((-200, -30), covered), abs=0.005)
    assert second["canopy_share"] == NULL  # its disc lies wholly east of the raster
    assert second["rule_30"] == 0
    assert any("no canopy data" in w for w in feedback.warnings)
    everywhere = run(street_params(CANOPY=density_raster(tmp_path / "density.tif"), CANOPY_THRESHOLD=10))
    assert [f["canopy_share"] for f in rows(everywhere)] == [1.0, NULL, 1.0]


def test_a_raster_in_another_crs_is_warped(provider, tmp_path):
    result = run(street_params(CANOPY=density_raster(tmp_path / "density.tif", epsg=3035), CANOPY_THRESHOLD=30))
    first = rows(result)[0]
    assert first["canopy_share"] == pytest.approx(exact_share((0, 30), box(-500, -400, 150, 400)), abs=0.02)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"CANOPY": "lines"}, "CANOPY must contain polygons or be a raster"),
        ({"TREES": "polygons"}, "TREES must contain points, but the layer has polygons"),
    ],
)
def test_bad_input_is_a_clear_error(provider, tmp_path, change, message):
    params = street_params()
    for name in ("NETWORK", "GREEN_SPACES", "RESIDENTIAL", "TREES", "CANOPY"):
        params[name] = _saved(params[name], tmp_path / f"{name}.gpkg")
    if change.get("CANOPY") == "lines":
        params["CANOPY"] = _saved(lines_layer([[(0, 0), (10, 10)]]), tmp_path / "lines.gpkg")
    if change.get("TREES") == "polygons":
        params["TREES"] = _saved(_layer("Polygon", [square(0, 0, 5, 5)]), tmp_path / "polygons.gpkg")
    with pytest.raises(QgsProcessingException, match=message):
        run(params)


def test_sample_town_flags_and_the_equity_of_the_rule(provider, sample_town):
    import processing

    layer = f"{sample_town}|layername="
    town = {
        "NETWORK": layer + "network", "GREEN_SPACES": layer + "green_spaces", "BARRIERS": layer + "barriers",
        "CROSSINGS": layer + "crossings", "ENTRANCES": layer + "entrances", "RESIDENTIAL": layer + "buildings",
        "POPULATION_FIELD": "population",
    }  # fmt: skip
    result = run({**town, "TREES": layer + "trees", "CANOPY": layer + "canopy", "OUTPUT": "TEMPORARY_OUTPUT"})
    homes = rows(result)
    population = np.array([f["population"] for f in homes], dtype=float)
    for flag, share in (("rule_3", "SHARE_3"), ("rule_30", "SHARE_30"), ("rule_300", "SHARE_300"),
                        ("rule_all", "SHARE_ALL")):  # fmt: skip
        values = np.array([f[flag] for f in homes], dtype=bool)
        assert result[share] == pytest.approx(population[values].sum() / population.sum())
        assert 0 < result[share] < 1, share  # the town has homes on both sides of every rule
    for f in homes:
        assert f["rule_3"] == int(f["trees_n"] >= 3)
        assert f["rule_30"] == int(f["canopy_share"] >= 0.3)
        assert f["rule_all"] == f["rule_3"] * f["rule_30"] * f["rule_300"]
        assert f["rules_met"] == f["rule_3"] + f["rule_30"] + f["rule_300"]
    catchments = processing.run("socialresilience:greenspacecatchments", {
        **town, "DISTANCE": 300, "MIN_AREA_HA": 1.0, "OUTPUT_CATCHMENTS": "TEMPORARY_OUTPUT",
        "OUTPUT_GREEN_SPACES": "TEMPORARY_OUTPUT", "OUTPUT_RESIDENTIAL": "TEMPORARY_OUTPUT",
    })  # fmt: skip
    net = [f["net_dist_m"] for f in catchments["OUTPUT_RESIDENTIAL"].getFeatures()]
    assert [f["park_dist_m"] for f in homes] == net  # the same walk as the catchments'
    assert catchments["SERVED_SHARE"] == pytest.approx(result["SHARE_300"])
    equity = processing.run("socialresilience:greenequity", {
        "RESIDENTIAL": result["OUTPUT"], "POPULATION_FIELD": "population", "AREAS": layer + "districts",
        "SERVED_FIELD": "rule_all", "DISTANCE_FIELD": "park_dist_m", "OUTPUT": "TEMPORARY_OUTPUT",
    })  # fmt: skip
    assert equity["SERVED_SHARE"] == pytest.approx(result["SHARE_ALL"])


def test_qgis_process_on_the_sample_town(provider, sample_town, qgis_process, tmp_path):
    layer = f"{sample_town}|layername="
    params = {
        "NETWORK": layer + "network", "GREEN_SPACES": layer + "green_spaces", "BARRIERS": layer + "barriers",
        "CROSSINGS": layer + "crossings", "RESIDENTIAL": layer + "buildings", "POPULATION_FIELD": "population",
        "TREES": layer + "trees", "CANOPY": layer + "canopy", "OUTPUT": str(tmp_path / "rule.gpkg"),
    }  # fmt: skip
    results = qgis_process.run_algorithm(ALG, params)["results"]
    assert 0 < results["SHARE_ALL"] <= min(results["SHARE_3"], results["SHARE_30"], results["SHARE_300"])
    written = QgsVectorLayer(str(tmp_path / "rule.gpkg"))
    assert written.featureCount() > 2000
    assert {"trees_n", "canopy_share", "park_dist_m", "rule_all"} <= set(written.fields().names())


@pytest.mark.shared_data
def test_real_town_equals_an_independent_computation(provider, tmp_path):
    """Hoyerswerda without barriers: trees, canopy and the walk to a park as networkx and shapely find them."""
    from shapely import wkt

    from .everyday_reference import Network, canopy_shares, park_sources, parks, trees_near

    osm = osm_layers(tmp_path, "network", "green_spaces", "buildings", "trees", "canopy")
    shapes = {name: [wkt.loads(f.geometry().asWkt()) for f in QgsVectorLayer(osm[name]).getFeatures()]
              for name in ("OUTPUT_GREEN_SPACES", "OUTPUT_TREES", "OUTPUT_CANOPY")}  # fmt: skip
    crowns = [tree.buffer(8.0, 16) for tree in shapes["OUTPUT_TREES"]]  # a richer canopy: every tree's crown too
    canopy = QgsVectorLayer(f"Polygon?crs={osm['CRS']}", "canopy", "memory")
    features = []
    for shape in [*shapes["OUTPUT_CANOPY"], *crowns]:
        feature = QgsFeature(canopy.fields())
        feature.setGeometry(QgsGeometry.fromWkt(shape.wkt))
        features.append(feature)
    assert canopy.dataProvider().addFeatures(features)[0]
    result = run({
        "NETWORK": osm["OUTPUT_NETWORK"], "GREEN_SPACES": osm["OUTPUT_GREEN_SPACES"],
        "RESIDENTIAL": osm["OUTPUT_BUILDINGS"], "TREES": osm["OUTPUT_TREES"], "CANOPY": canopy,
        "TREE_DISTANCE": 40.0, "CANOPY_RADIUS": 120.0, "OUTPUT": "TEMPORARY_OUTPUT",
    })  # fmt: skip
    homes = rows(result)
    shapes_of_homes = [wkt.loads(f.geometry().asWkt()) for f in homes]
    points = [home.representative_point() for home in shapes_of_homes]
    assert [f["trees_n"] for f in homes] == trees_near(shapes_of_homes, shapes["OUTPUT_TREES"], 40.0).tolist()
    expected = canopy_shares(points, [*shapes["OUTPUT_CANOPY"], *crowns], 120.0)
    got = np.array([f["canopy_share"] for f in homes], dtype=float)
    assert np.max(np.abs(got - expected)) < 0.01
    assert np.count_nonzero(expected > 0.05) > 20
    network = Network([[(p.x(), p.y()) for p in f.geometry().vertices()]
                       for f in QgsVectorLayer(osm["OUTPUT_NETWORK"]).getFeatures()])  # fmt: skip
    sources = park_sources(network, parks(shapes["OUTPUT_GREEN_SPACES"], 10.0, 1.0))
    nodes = network.from_sources(sources, 1500.0)
    walk = [network.spot(p.x, p.y, 200.0) for p in points]
    expected_walk = np.array([network.to_home(nodes, s, sources) if s else math.inf for s in walk])
    expected_walk[expected_walk > 1500.0] = math.inf
    got_walk = np.array([f["park_dist_m"] if f["park_dist_m"] else math.inf for f in homes], dtype=float)
    got_walk[got_walk > 1500.0] = math.inf  # ours reports homes whose way is within 1,500 m, plus their connector
    assert np.allclose(got_walk, expected_walk, atol=0.05)
    assert np.count_nonzero(np.isfinite(expected_walk)) > 100
    assert 0 < sum(f["rule_3"] for f in homes) < len(homes)


def test_report_section_of_the_rule_and_the_places(provider, sample_town, tmp_path):
    """rule33030, then facilityaccess on its homes: the report gives the shares of both."""
    import processing

    layer = f"{sample_town}|layername="
    town = {"NETWORK": layer + "network", "BARRIERS": layer + "barriers", "CROSSINGS": layer + "crossings",
            "POPULATION_FIELD": "population"}  # fmt: skip
    rule = run({**town, "GREEN_SPACES": layer + "green_spaces", "RESIDENTIAL": layer + "buildings",
                "TREES": layer + "trees", "CANOPY": layer + "canopy",
                "OUTPUT": str(tmp_path / "rule.gpkg")})  # fmt: skip
    places = processing.run("socialresilience:facilityaccess", {
        **town, "RESIDENTIAL": rule["OUTPUT"], "FACILITIES": layer + "places", "DISTANCES": "grocery=500;school=1000",
        "OUTPUT": str(tmp_path / "both.gpkg"),
    })  # fmt: skip
    report = processing.run("socialresilience:report", {
        "RESIDENTIAL": places["OUTPUT"], "POPULATION_FIELD": "population", "OUTPUT_HTML": str(tmp_path / "r.html"),
    })  # fmt: skip
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Everyday places and the 3-30-300 rule" in html
    percent = f"{100 * rule['SHARE_ALL']:.1f} % of residents meet the 3-30-300 rule"
    assert percent in html
    assert f"{100 * places['GROCERY_SHARE']:.1f} % of residents have a grocery within walking distance" in html
    assert f"{100 * places['ALL_SHARE']:.1f} % of residents have every one of these places" in html
    assert percent in report["KEY_FIGURES"]
    assert html.count("<img") == 2  # the map of the rule and the map of the places
