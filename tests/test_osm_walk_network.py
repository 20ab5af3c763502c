"""``socialresilience:osmwalknetwork`` on real OpenStreetMap extracts (ODbL, © OpenStreetMap contributors)."""

from __future__ import annotations

import gzip
import shutil
from collections import Counter
from pathlib import Path

import pytest
from qgis.core import NULL, QgsGeometry, QgsProcessingException, QgsVectorLayer
from social_resilience.core.green.osm_tags import parse_hstore

from .conftest import shared_data

ALG = "socialresilience:osmwalknetwork"
OUTPUTS = ("OUTPUT_NETWORK", "OUTPUT_BARRIERS", "OUTPUT_CROSSINGS", "OUTPUT_GREEN_SPACES", "OUTPUT_BUILDINGS")


def run_osm(folder: Path, osm_file: Path, **extra) -> dict:
    """Run the algorithm writing GeoPackages into ``folder``; return results and the layers read back."""
    import processing

    folder.mkdir(parents=True, exist_ok=True)
    params = {"INPUT": str(osm_file), **{name: str(folder / f"{name.lower()}.gpkg") for name in OUTPUTS}, **extra}
    results = processing.run(ALG, params)
    layers = {name: QgsVectorLayer(results[name], name, "ogr") for name in OUTPUTS}
    assert all(layer.isValid() for layer in layers.values())
    return {**results, **layers}


def vertex_keys(geometry: QgsGeometry) -> list[tuple[float, float]]:
    return [(v.x(), v.y()) for v in geometry.vertices()]


def raw_lines(osm_file: Path) -> list[tuple[str, dict[str, str], QgsGeometry]]:
    """The ``lines`` layer of the OSM file read directly: (osm_id, tags, geometry in WGS 84)."""
    source = f"/vsigzip/{osm_file}" if osm_file.suffix == ".gz" else str(osm_file)
    layer = QgsVectorLayer(f"{source}|layername=lines", "lines", "ogr")
    rows = []
    for feature in layer.getFeatures():
        tags = parse_hstore(feature["other_tags"] or None)
        for key in ("highway", "railway", "waterway"):
            if feature[key]:
                tags[key] = feature[key]
        rows.append((feature["osm_id"], tags, feature.geometry()))
    return rows


def _module_run(plugin, tmp_path_factory, *osm: str):
    plugin.initProcessing()  # the provider is registered (the ``provider`` fixture is per test)
    result = run_osm(tmp_path_factory.mktemp(osm[-1].split(".")[0]), shared_data(*osm))
    yield result
    for name in OUTPUTS:  # release the layers while Qt is still up (a late release crashes at exit)
        del result[name]


@pytest.fixture(scope="module")
def cc(plugin, tmp_path_factory):
    yield from _module_run(plugin, tmp_path_factory, "osm", "kaiserslautern_cc.osm.gz")


@pytest.fixture(scope="module")
def berlin(plugin, tmp_path_factory):
    yield from _module_run(plugin, tmp_path_factory, "osm", "berlin-siegessaeule.osm.gz")


@pytest.fixture(scope="module")
def hoyerswerda(plugin, tmp_path_factory):
    yield from _module_run(plugin, tmp_path_factory, "osm", "hoyerswerda.osm.pbf")


def test_outputs_are_in_the_utm_zone_of_the_data(cc, berlin, hoyerswerda):
    for result, epsg in ((cc, "EPSG:25832"), (berlin, "EPSG:25833"), (hoyerswerda, "EPSG:25833")):
        assert result["CRS"] == epsg
        assert {result[name].crs().authid() for name in OUTPUTS} == {epsg}


def test_kaiserslautern_cc_crossings_and_buildings_match_the_reference_counts(cc):
    # SOURCES.md: 29 signals + 15 crossing nodes, 1,907 buildings (a few are clipped to zero area).
    kinds = Counter(f["kind"] for f in cc["OUTPUT_CROSSINGS"].getFeatures())
    assert kinds == {"highway=traffic_signals": 29, "highway=crossing": 15}
    assert cc["N_CROSSINGS"] == 44 == cc["OUTPUT_CROSSINGS"].featureCount()
    buildings = cc["OUTPUT_BUILDINGS"]
    assert 1890 <= buildings.featureCount() == cc["N_BUILDINGS"] <= 1907
    assert all(f.geometry().isGeosValid() and f.geometry().area() > 0 for f in buildings.getFeatures())


def test_walk_vertices_match_the_reference_counts(cc, berlin, hoyerswerda):
    # SOURCES.md: 964 (Berlin), 2,676 (Hoyerswerda), 1,234 (Kaiserslautern centre) walk vertices.
    for result, expected, tolerance in ((berlin, 964, 0), (hoyerswerda, 2676, 0), (cc, 1234, 0.015)):
        vertices = {key for f in result["OUTPUT_NETWORK"].getFeatures() for key in vertex_keys(f.geometry())}
        assert abs(len(vertices) - expected) <= tolerance * expected, (len(vertices), expected)


def test_foot_no_ways_are_barriers_but_not_network(berlin):
    osm = shared_data("osm", "berlin-siegessaeule.osm.gz")
    foot_no = {osm_id: tags["highway"] for osm_id, tags, _g in raw_lines(osm) if tags.get("foot") == "no"}
    major = {osm_id for osm_id, highway in foot_no.items() if highway in ("primary", "secondary")}
    assert len(major) == 18  # Straße des 17. Juni and its neighbours (SOURCES.md)
    network_ids = {f["osm_id"] for f in berlin["OUTPUT_NETWORK"].getFeatures()}
    barrier_ids = {f["osm_id"] for f in berlin["OUTPUT_BARRIERS"].getFeatures()}
    assert not set(foot_no) & network_ids
    assert major <= barrier_ids


def test_network_keeps_osm_topology_one_feature_per_way(berlin):
    osm = shared_data("osm", "berlin-siegessaeule.osm.gz")
    raw = {osm_id: geometry for osm_id, _tags, geometry in raw_lines(osm)}
    network = list(berlin["OUTPUT_NETWORK"].getFeatures())
    ids = [f["osm_id"] for f in network]
    assert len(ids) == len(set(ids)) == berlin["N_NETWORK"]
    assert all(len(vertex_keys(f.geometry())) == len(vertex_keys(raw[f["osm_id"]])) for f in network)
    # Ways meet at shared vertices: nearly all vertices hang together in one connected network.
    import networkx as nx

    graph = nx.Graph()
    for feature in network:
        keys = vertex_keys(feature.geometry())
        graph.add_edges_from(zip(keys, keys[1:]))
    largest = max(nx.connected_components(graph), key=len)
    assert len(largest) > 0.9 * graph.number_of_nodes()
    # Exactly the OSM nodes shared by several ways are shared after reprojection, no more, no fewer.
    shared = Counter(key for f in network for key in set(vertex_keys(f.geometry())))
    shared_raw = Counter(key for f in network for key in set(vertex_keys(raw[f["osm_id"]])))
    assert sorted(shared.values()) == sorted(shared_raw.values())
    assert sum(1 for n in shared.values() if n >= 3) >= 20  # junctions of three or more ways


def test_tunnel_under_a_barrier_shares_no_vertex_with_it(berlin):
    # Pedestrian tunnel 186885713 to the Siegessäule passes under Großer Stern (primary 30806884).
    network = {f["osm_id"]: f for f in berlin["OUTPUT_NETWORK"].getFeatures()}
    barriers = {f["osm_id"]: f for f in berlin["OUTPUT_BARRIERS"].getFeatures()}
    tunnel, road = network["186885713"], barriers["30806884"]
    assert tunnel["tunnel"] == "yes"
    assert road["kind"] == "road"
    assert road["class"] == "primary"
    assert road["name"] == "Großer Stern"
    assert tunnel.geometry().intersects(road.geometry())
    assert not set(vertex_keys(tunnel.geometry())) & set(vertex_keys(road.geometry()))


def test_walkable_barriers_are_in_both_layers_with_identical_vertices(berlin):
    barriers = {f["osm_id"]: f for f in berlin["OUTPUT_BARRIERS"].getFeatures()}
    both = [f for f in berlin["OUTPUT_NETWORK"].getFeatures() if f["is_barrier"] == 1]
    assert len(both) >= 5
    for feature in both:
        assert vertex_keys(feature.geometry()) == vertex_keys(barriers[feature["osm_id"]].geometry())
    flags = Counter(f["is_barrier"] for f in berlin["OUTPUT_NETWORK"].getFeatures())
    assert set(flags) == {0, 1}


def test_a_bridge_on_a_barrier_road_is_not_a_barrier(hoyerswerda):
    network = {f["osm_id"]: f for f in hoyerswerda["OUTPUT_NETWORK"].getFeatures()}
    barriers = list(hoyerswerda["OUTPUT_BARRIERS"].getFeatures())
    bridge = network["25971409"]
    assert bridge["highway"] == "secondary"
    assert (bridge["bridge"], bridge["tunnel"], bridge["layer"]) == ("yes", NULL, 1)  # grade separation, as written
    assert bridge["is_barrier"] == 0
    assert "25971409" not in {f["osm_id"] for f in barriers}
    assert all(not f["bridge"] and not f["tunnel"] for f in barriers)
    kinds = Counter(f["kind"] for f in barriers)
    assert kinds["waterway"] >= 1
    assert kinds["road"] >= 10


def test_crossing_node_counts_match_the_reference(hoyerswerda, berlin):
    # SOURCES.md: Hoyerswerda 12 signals + 45 crossing nodes, Berlin 20 + 20.
    for result, signals, crossings in ((hoyerswerda, 12, 45), (berlin, 20, 20)):
        kinds = Counter(f["kind"] for f in result["OUTPUT_CROSSINGS"].getFeatures())
        assert kinds["highway=traffic_signals"] == signals
        assert kinds["highway=crossing"] == crossings


def test_crossing_ways_give_their_ends_and_where_they_cross_a_barrier(berlin):
    network = {f["osm_id"]: vertex_keys(f.geometry()) for f in berlin["OUTPUT_NETWORK"].getFeatures()}
    on_barrier = {key for f in berlin["OUTPUT_BARRIERS"].getFeatures() for key in vertex_keys(f.geometry())}
    way_kinds = ("footway=crossing", "cycleway=crossing", "path=crossing")
    points = [f for f in berlin["OUTPUT_CROSSINGS"].getFeatures() if f["kind"] in way_kinds]
    ends = crossing_at_barrier = 0
    for point in points:
        xy = (point.geometry().asPoint().x(), point.geometry().asPoint().y())
        line = network[point["osm_id"]]
        assert xy in line
        ends += xy in (line[0], line[-1])
        crossing_at_barrier += xy in on_barrier and xy not in (line[0], line[-1])
    assert ends >= 4
    assert crossing_at_barrier >= 1
    keys = [(p.geometry().asPoint().x(), p.geometry().asPoint().y()) for p in berlin["OUTPUT_CROSSINGS"].getFeatures()]
    assert len(keys) == len(set(keys))  # one point per place


def test_pbf_buildings_and_zentralpark(hoyerswerda):
    assert hoyerswerda["N_BUILDINGS"] == 340  # SOURCES.md
    parks = [f for f in hoyerswerda["OUTPUT_GREEN_SPACES"].getFeatures() if f["name"] == "Zentralpark"]
    assert len(parks) == 1
    assert parks[0]["kind"] == "park"
    assert parks[0]["area_ha"] == pytest.approx(2.2, abs=0.05)
    assert parks[0]["area_ha"] == pytest.approx(parks[0].geometry().area() / 10_000)


def test_berlin_green_spaces_merge_to_the_reference_areas(berlin):
    # SOURCES.md: merged green 11.6 and 5.9 ha in the Tiergarten extract.
    green = [f.geometry() for f in berlin["OUTPUT_GREEN_SPACES"].getFeatures()]
    merged = QgsGeometry.unaryUnion([g.buffer(5, 4) for g in green])
    areas = sorted((part.buffer(-5, 4).area() / 10_000 for part in merged.asGeometryCollection()), reverse=True)
    assert areas[0] == pytest.approx(11.6, rel=0.05)
    assert areas[1] == pytest.approx(5.9, rel=0.05)
    assert areas[2] < 2.0


def test_plain_osm_file_gives_the_same_result_as_gzip(cc, tmp_path):
    plain = tmp_path / "kaiserslautern_cc.osm"
    with gzip.open(shared_data("osm", "kaiserslautern_cc.osm.gz"), "rb") as src, plain.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    result = run_osm(tmp_path / "out", plain)
    for name in ("N_NETWORK", "N_BARRIERS", "N_CROSSINGS", "N_GREEN_SPACES", "N_BUILDINGS"):
        assert result[name] == cc[name], name


def test_options_target_crs_and_barrier_choice(cc, tmp_path):
    osm = shared_data("osm", "kaiserslautern_cc.osm.gz")
    result = run_osm(
        tmp_path,
        osm,
        TARGET_CRS="EPSG:3035",
        BARRIER_CLASSES="primary",
        RAILWAY_BARRIERS=False,
        WATERWAY_BARRIERS=False,
    )
    assert result["CRS"] == "EPSG:3035"
    assert result["OUTPUT_NETWORK"].crs().authid() == "EPSG:3035"
    classes = Counter((f["kind"], f["class"]) for f in result["OUTPUT_BARRIERS"].getFeatures())
    assert classes == {("road", "primary"): 26}
    default = Counter((f["kind"], f["class"]) for f in cc["OUTPUT_BARRIERS"].getFeatures())
    assert default[("road", "primary")] == 26
    assert default[("railway", "rail")] > 0
    assert default[("road", "secondary")] > 0
    assert result["N_NETWORK"] == cc["N_NETWORK"]


@pytest.mark.slow
def test_kaiserslautern_whole_city(provider, tmp_path):
    # SOURCES.md: 17,141 walk vertices, 175 signals + 177 crossing nodes, 15,128 buildings,
    # parks >= 2 ha of 15.7, 8.8 and 3.1 ha, 14 merged green areas >= 2 ha (allotments counted).
    result = run_osm(tmp_path, shared_data("osm", "kaiserslautern.osm.gz"), ALLOTMENTS=True)
    kinds = Counter(f["kind"] for f in result["OUTPUT_CROSSINGS"].getFeatures())
    assert kinds["highway=traffic_signals"] == 175
    assert kinds["highway=crossing"] == 177
    assert 15_100 <= result["N_BUILDINGS"] <= 15_128
    network = list(result["OUTPUT_NETWORK"].getFeatures())
    vertices = {key for f in network for key in vertex_keys(f.geometry())}
    assert len(vertices) == pytest.approx(17_141, rel=0.002)
    assert min(f.geometry().length() for f in network) > 0  # degenerate ways break routing tools
    green = list(result["OUTPUT_GREEN_SPACES"].getFeatures())
    parks = sorted((f["area_ha"] for f in green if f["kind"] == "park" and f["area_ha"] >= 2), reverse=True)
    assert parks == pytest.approx([15.7, 8.8, 3.1], abs=0.05)
    assert "allotments" in {f["kind"] for f in green}
    merged = QgsGeometry.unaryUnion([f.geometry() for f in green]).asGeometryCollection()
    assert sum(1 for part in merged if part.area() >= 20_000) == 14


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _failing_run(tmp_path: Path, osm_file: Path, **extra) -> str:
    import processing

    params = {"INPUT": str(osm_file), **{name: str(tmp_path / f"{name.lower()}.gpkg") for name in OUTPUTS}, **extra}
    with pytest.raises(QgsProcessingException) as error:
        processing.run(ALG, params)
    assert not list(tmp_path.glob("*.gpkg")), "no output may be written when the run fails"
    return str(error.value)


def test_missing_file_is_rejected(provider, tmp_path):
    message = _failing_run(tmp_path, tmp_path / "nowhere.osm.pbf")
    assert "does not exist" in message


def test_non_osm_files_are_rejected(provider, tmp_path):
    assert "INPUT" in _failing_run(tmp_path, _write(tmp_path / "notes.txt", "hello"))
    assert "not readable as OpenStreetMap" in _failing_run(tmp_path, _write(tmp_path / "fake.osm", "hello, world"))


def test_extract_without_walkable_ways_is_rejected(provider, tmp_path):
    only_a_building = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="test">
  <node id="1" lat="49.44" lon="7.76"/><node id="2" lat="49.44" lon="7.761"/>
  <node id="3" lat="49.441" lon="7.761"/>
  <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="1"/><tag k="building" v="yes"/></way>
  <way id="11"><nd ref="1"/><nd ref="2"/><tag k="highway" v="motorway"/></way>
</osm>
"""
    message = _failing_run(tmp_path, _write(tmp_path / "building.osm", only_a_building))
    assert "No walkable ways" in message


def test_geographic_target_crs_is_rejected(provider, tmp_path):
    message = _failing_run(tmp_path, shared_data("osm", "hoyerswerda.osm.pbf"), TARGET_CRS="EPSG:4326")
    assert "geographic" in message


def test_qgis_process_run(qgis_process, tmp_path, cc):
    osm = shared_data("osm", "kaiserslautern_cc.osm.gz")
    params = {"INPUT": str(osm), **{name: str(tmp_path / f"{name.lower()}.gpkg") for name in OUTPUTS}}
    report = qgis_process.run_algorithm(ALG, params)
    results = report["results"]
    for name in ("N_NETWORK", "N_BARRIERS", "N_CROSSINGS", "N_GREEN_SPACES", "N_BUILDINGS"):
        assert int(results[name]) == cc[name], name
    assert results["CRS"] == "EPSG:25832"
    network = QgsVectorLayer(str(tmp_path / "output_network.gpkg"), "n", "ogr")
    assert network.featureCount() == cc["N_NETWORK"]
