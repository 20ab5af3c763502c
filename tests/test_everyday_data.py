"""Everyday places, trees and canopy: from OpenStreetMap (``osmwalknetwork``) and in the sample town.

OpenStreetMap extracts: ODbL 1.0, © OpenStreetMap contributors. The OSM file is also read here
directly with GDAL's OSM driver and its tags parsed with a regular expression of the test's own.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np
import pytest
from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsProject, QgsVectorLayer
from shapely.geometry import LineString, Point, Polygon
from social_resilience.core.sample_town.town import generate_town

from .conftest import shared_data
from .everyday_reference import near, strtree

PAIR = re.compile(r'"([^"]+)"=>"([^"]*)"')
NEW_OUTPUTS = ("OUTPUT_PLACES", "OUTPUT_TREES", "OUTPUT_CANOPY")
OLD_OUTPUTS = ("OUTPUT_NETWORK", "OUTPUT_BARRIERS", "OUTPUT_CROSSINGS", "OUTPUT_GREEN_SPACES", "OUTPUT_BUILDINGS")


def raw(osm, layer: str, columns: tuple[str, ...]) -> list[tuple[str, dict, object]]:
    """Features of one layer of the OSM driver: (id, tags from other_tags and ``columns``, geometry)."""
    vector = QgsVectorLayer(f"{osm}|layername={layer}", layer, "ogr")
    found = []
    for feature in vector.getFeatures():
        tags = dict(PAIR.findall(feature["other_tags"] or ""))
        tags.update({name: feature[name] for name in columns if feature[name]})
        identifier = feature["osm_id"] or (feature["osm_way_id"] if layer == "multipolygons" else None)
        found.append((identifier, tags, feature.geometry()))
    return found


@pytest.fixture(scope="module")
def hoyerswerda(plugin, tmp_path_factory):
    import processing

    plugin.initProcessing()
    folder = tmp_path_factory.mktemp("hoyerswerda")
    osm = shared_data("osm", "hoyerswerda.osm.pbf")
    names = (*OLD_OUTPUTS, *NEW_OUTPUTS)
    result = processing.run("socialresilience:osmwalknetwork",
                            {"INPUT": str(osm), **{n: str(folder / f"{n.lower()}.gpkg") for n in names}})  # fmt: skip
    return osm, result, {n: list(QgsVectorLayer(result[n]).getFeatures()) for n in NEW_OUTPUTS}


@pytest.mark.shared_data
def test_places_are_the_tagged_nodes_and_areas(hoyerswerda):
    osm, result, layers = hoyerswerda
    nodes = raw(osm, "points", ("highway",))
    areas = raw(osm, "multipolygons", ("shop", "amenity"))
    expected = Counter()
    for _id, tags, _geometry in nodes + areas:
        if tags.get("shop") in ("supermarket", "convenience"):
            expected["grocery"] += 1
        for value, category in (("school", "school"), ("kindergarten", "kindergarten"), ("doctors", "doctor")):
            expected[category] += tags.get("amenity") == value
    for _id, tags, _geometry in nodes:
        waiting = tags.get("highway") == "bus_stop" or tags.get("railway") == "tram_stop"
        expected["bus_stop"] += waiting or (tags.get("public_transport") == "platform" and "train" not in tags)
    places = Counter(f["category"] for f in layers["OUTPUT_PLACES"])
    for category in ("grocery", "school", "kindergarten", "doctor", "bus_stop"):
        assert places[category] == expected[category], category
    assert places["bus_stop"] > 10
    assert result["N_PLACES"] == len(layers["OUTPUT_PLACES"])
    assert {f["osm_type"] for f in layers["OUTPUT_PLACES"]} >= {"node", "way"}


@pytest.mark.shared_data
def test_trees_and_canopy_follow_the_tags(hoyerswerda):
    osm, result, layers = hoyerswerda
    to_utm = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"),
                                    QgsCoordinateReferenceSystem(result["CRS"]), QgsProject.instance())  # fmt: skip
    single = [i for i, tags, _g in raw(osm, "points", ()) if tags.get("natural") == "tree"]
    trees = Counter((f["kind"], f["osm_id"]) for f in layers["OUTPUT_TREES"])
    assert sum(n for (kind, _id), n in trees.items() if kind == "natural=tree") == len(single)
    rows = [(i, g) for i, tags, g in raw(osm, "lines", ()) if tags.get("natural") == "tree_row"]
    assert rows
    bands = {f["osm_id"]: f.geometry().area() for f in layers["OUTPUT_CANOPY"] if f["kind"] == "natural=tree_row"}
    for osm_id, geometry in rows:
        geometry.transform(to_utm)
        length = geometry.length()
        assert trees[("natural=tree_row", osm_id)] == len(np.arange(0.0, length, 10.0)) + 1  # every 10 m, both ends
        assert bands[osm_id] == pytest.approx(8.0 * length + math.pi * 16.0, rel=0.05)  # 4 m to each side
    forests = [i for i, tags, _g in raw(osm, "multipolygons", ("landuse", "natural"))
               if tags.get("landuse") == "forest" or tags.get("natural") == "wood"]  # fmt: skip
    woods = [f for f in layers["OUTPUT_CANOPY"] if f["kind"] != "natural=tree_row"]
    assert len(woods) == len(forests) == result["N_CANOPY"] - len(rows)


@pytest.mark.shared_data
def test_the_new_outputs_are_optional(provider, tmp_path):
    import processing

    result = processing.run("socialresilience:osmwalknetwork", {
        "INPUT": str(shared_data("osm", "hoyerswerda.osm.pbf")),
        **{name: str(tmp_path / f"{name}.gpkg") for name in OLD_OUTPUTS},
    })  # fmt: skip
    assert all(result[name] is None for name in NEW_OUTPUTS)
    assert result["N_PLACES"] > 0
    assert not any((tmp_path / f"{name}.gpkg").exists() for name in NEW_OUTPUTS)


@pytest.fixture(scope="module")
def town():
    return generate_town(42, 2.0)


def test_sample_town_places(town):
    places = town.layers["places"]
    categories = Counter(places.column("category"))
    assert set(categories) == {"grocery", "school", "doctor", "pharmacy", "kindergarten", "bus_stop"}
    buildings = town.layers["buildings"]
    assert categories["grocery"] == buildings.column("building").count("retail")
    population = sum(buildings.column("population"))
    assert categories["doctor"] == round(population / 1500)
    barriers = [LineString(g) for g in town.layers["barriers"].geometries]
    stops = [Point(g[0]) for g, c in zip(places.geometries, places.column("category")) if c == "bus_stop"]
    assert all(min(b.distance(s) for b in barriers) == pytest.approx(8.0, abs=0.01) for s in stops)
    homes = [Polygon(g) for g, p in zip(buildings.geometries, buildings.column("population")) if p > 0]
    inside = [g for g, c in zip(places.geometries, places.column("category")) if c in ("doctor", "pharmacy")]
    assert all(any(h.contains(Point(g[0])) for h in homes) for g in inside)


def test_sample_town_trees_clear_of_buildings_leafy_south_west(town):
    buildings = [Polygon(g) for g in town.layers["buildings"].geometries]
    trees = np.array([g[0] for g in town.layers["trees"].geometries])
    index = strtree(buildings)
    assert not any(buildings[i].contains(Point(t)) for t in trees for i in near(index, buildings, Point(t)))
    x0, y0 = town.facts["origin"]
    half = town.facts["size_m"] / 2
    south_west = np.count_nonzero((trees[:, 0] < x0 + half) & (trees[:, 1] < y0 + half))
    north_east = np.count_nonzero((trees[:, 0] >= x0 + half) & (trees[:, 1] >= y0 + half))
    assert south_west > 2 * north_east
    crowns = town.layers["canopy"]
    kinds = Counter(crowns.column("kind"))
    assert kinds["crown"] == len(trees)
    assert kinds["wood"] >= 2
    for ring, tree in zip(crowns.geometries[:200], trees[:200]):
        assert Polygon(ring).is_valid
        assert Polygon(ring).contains(Point(tree))
