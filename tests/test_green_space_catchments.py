"""``socialresilience:greenspacecatchments`` through processing.run and qgis_process.

Synthetic grid (as in test_green_access_core): nodes every 100 m, green square of 1 ha at
the origin, so without barriers a node (x, y) is x + y - 50 m from the green space. Real
OpenStreetMap extracts (ODbL, © OpenStreetMap contributors) come from tests/data/osm
through ``socialresilience:osmwalknetwork``.
"""

from __future__ import annotations

import math
import re

import pytest
from qgis.core import (
    NULL,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeature,
    QgsFeatureRequest,
    QgsField,
    QgsGeometry,
    QgsPointXY,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsProcessingFeedback,
    QgsProject,
    QgsVectorLayer,
)
from social_resilience.algorithms.qt_compat import FieldType

from .conftest import shared_data

ALG = "socialresilience:greenspacecatchments"
X0, Y0 = 400_000.0, 5_500_000.0  # EPSG:25832, near Kaiserslautern
UTM = "EPSG:25832"
STEP = 100.0
OUTPUTS = {"OUTPUT_CATCHMENTS": "TEMPORARY_OUTPUT", "OUTPUT_GREEN_SPACES": "TEMPORARY_OUTPUT",
           "OUTPUT_RESIDENTIAL": "TEMPORARY_OUTPUT"}  # fmt: skip


# -- synthetic layers ------------------------------------------------------------------------


def _xy(x: float, y: float, crs: str = UTM) -> QgsPointXY:
    point = QgsPointXY(X0 + x, Y0 + y)
    if crs != UTM:
        transform = QgsCoordinateTransform(
            QgsCoordinateReferenceSystem(UTM), QgsCoordinateReferenceSystem(crs), QgsProject.instance()
        )
        point = transform.transform(point)
    return point


def _layer(kind: str, geometries: list[QgsGeometry], crs: str = UTM, fields=(), values=None) -> QgsVectorLayer:
    layer = QgsVectorLayer(f"{kind}?crs={crs}", kind.lower(), "memory")
    layer.dataProvider().addAttributes([QgsField(name, typ) for name, typ in fields])
    layer.updateFields()
    features = []
    for i, geometry in enumerate(geometries):
        feature = QgsFeature(layer.fields())
        feature.setGeometry(geometry)
        if values is not None:
            feature.setAttributes(list(values[i]))
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def lines_layer(lines, crs: str = UTM) -> QgsVectorLayer:
    return _layer("LineString", [QgsGeometry.fromPolylineXY([_xy(x, y, crs) for x, y in line]) for line in lines], crs)


def points_layer(points, crs: str = UTM, fields=(), values=None) -> QgsVectorLayer:
    return _layer("Point", [QgsGeometry.fromPointXY(_xy(x, y, crs)) for x, y in points], crs, fields, values)


def square(x0: float, y0: float, x1: float, y1: float, crs: str = UTM) -> QgsGeometry:
    ring = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    return QgsGeometry.fromPolygonXY([[_xy(x, y, crs) for x, y in ring]])


def grid_lines(n: int = 5):
    coords = [i * STEP for i in range(n)]
    return [[(x, y) for x in coords] for y in coords] + [[(x, y) for y in coords] for x in coords]


BARRIER = [[(-100, 200), (0, 200), (100, 200), (200, 200), (300, 200)]]


def grid_params(crs: str = UTM, **extra) -> dict:
    params = {
        "NETWORK": lines_layer(grid_lines(), crs),
        "GREEN_SPACES": _layer("Polygon", [square(-50, -50, 50, 50, crs)], crs),
        "MIN_AREA_HA": 0.5,
        **OUTPUTS,
    }
    params.update(extra)
    return params


def run(params: dict, feedback: QgsProcessingFeedback | None = None) -> dict:
    import processing

    return processing.run(ALG, params, feedback=feedback)


def residential_rows(result: dict) -> list[QgsFeature]:
    return list(result["OUTPUT_RESIDENTIAL"].getFeatures())


class Recorder(QgsProcessingFeedback):
    def __init__(self, cancel_at: float | None = None) -> None:
        super().__init__()
        self.warnings: list[str] = []
        self.infos: list[str] = []
        self.progress: list[float] = []
        self.cancel_at = cancel_at
        self.progressChanged.connect(self._progress)

    def _progress(self, value: float) -> None:
        self.progress.append(value)
        if self.cancel_at is not None and value >= self.cancel_at:
            self.cancel()

    def pushWarning(self, warning: str) -> None:  # noqa: N802
        self.warnings.append(warning)
        super().pushWarning(warning)

    def pushInfo(self, info: str) -> None:  # noqa: N802
        self.infos.append(info)
        super().pushInfo(info)


# -- synthetic grid ---------------------------------------------------------------------------


def test_grid_distances_population_and_numbers(provider):
    homes = [(100, 0), (200, 300), (400, 400), (250, 330), (3000, 3000)]
    population = [[10], [20], [30], [NULL], ["many"]]
    residential = points_layer(homes, fields=[("population", FieldType.STRING)], values=population)
    feedback = Recorder()
    result = run(grid_params(RESIDENTIAL=residential, POPULATION_FIELD="population"), feedback)
    rows = residential_rows(result)
    assert [f["population"] for f in rows] == ["10", "20", "30", NULL, "many"]  # input fields kept
    assert rows[0]["net_dist_m"] == pytest.approx(50.0)
    assert rows[1]["net_dist_m"] == pytest.approx(450.0)
    assert rows[2]["net_dist_m"] == pytest.approx(750.0)
    assert rows[3]["net_dist_m"] == pytest.approx(30.0 + 500.0)  # connector to y = 300, then the grid
    assert rows[4]["net_dist_m"] == NULL  # farther than MAX_CONNECTOR from the network
    assert [f["served"] for f in rows] == [1, 0, 0, 0, 0]
    assert [f["green_id"] for f in rows] == [1, 1, 1, 1, NULL]
    assert rows[0]["eucl_dist_m"] == pytest.approx(50.0)
    assert rows[1]["eucl_dist_m"] == pytest.approx(math.hypot(150, 250), abs=0.01)
    assert [f["served_eucl"] for f in rows] == [1, 1, 0, 1, 0]
    assert result["TOTAL_POPULATION"] == 60.0
    assert result["SERVED_POPULATION"] == 10.0
    assert result["SERVED_SHARE"] == pytest.approx(10 / 60)
    assert result["SERVED_SHARE_EUCLIDEAN"] == pytest.approx(30 / 60)
    assert any("2 residential features have no numeric population" in w for w in feedback.warnings)
    greens = list(result["OUTPUT_GREEN_SPACES"].getFeatures())
    assert [(g["green_id"], g["area_ha"], g["pop_served"]) for g in greens] == [(1, 1.0, 10.0)]
    catchments = list(result["OUTPUT_CATCHMENTS"].getFeatures())
    assert len(catchments) == 1
    assert result["OUTPUT_CATCHMENTS"].crs().authid() == UTM
    # the catchment covers the network within 400 m: (300, 100) is 350 m away, (300, 200) 450 m
    polygon = catchments[0].geometry()
    assert polygon.contains(QgsGeometry.fromPointXY(_xy(300, 100)))
    assert not polygon.intersects(QgsGeometry.fromPointXY(_xy(300, 200)))
    # (300, 150) on the vertical edge is exactly 400 m away: the partially reachable edge is cut there
    assert polygon.contains(QgsGeometry.fromPointXY(_xy(300, 140)))
    assert not polygon.intersects(QgsGeometry.fromPointXY(_xy(300, 190)))
    assert feedback.progress[-1] == 100


def test_counts_features_without_population_field(provider):
    result = run(grid_params(RESIDENTIAL=points_layer([(100, 0), (400, 400)])))
    assert (result["TOTAL_POPULATION"], result["SERVED_POPULATION"], result["SERVED_SHARE"]) == (2.0, 1.0, 0.5)


def test_features_without_geometry_are_reported(provider):
    homes = points_layer([(100, 0), (400, 400)])
    homes.dataProvider().addFeature(QgsFeature(homes.fields()))  # no geometry
    feedback = Recorder()
    result = run(grid_params(RESIDENTIAL=homes), feedback)
    assert result["TOTAL_POPULATION"] == 2.0
    assert any("0 invalid geometries repaired" in w and "1 features with a null" in w for w in feedback.warnings)


def test_barrier_cuts_off_and_crossing_reconnects(provider):
    homes = [(0, 300), (50, 210), (50, 190)]
    barrier = lines_layer(BARRIER)
    cut = residential_rows(run(grid_params(RESIDENTIAL=points_layer(homes), BARRIERS=barrier)))
    # round the barrier's end at (300, 200): 450, then 400 m; the sidewalk points get their own side
    assert [f["net_dist_m"] for f in cut] == pytest.approx([850.0, 710.0, 210.0])
    crossing = points_layer([(101.5, 198.0)])
    joined = residential_rows(run(grid_params(RESIDENTIAL=points_layer(homes), BARRIERS=barrier, CROSSINGS=crossing)))
    assert [f["net_dist_m"] for f in joined] == pytest.approx([450.0, 310.0, 210.0])
    plain = residential_rows(run(grid_params(RESIDENTIAL=points_layer(homes))))
    assert [f["net_dist_m"] for f in plain] == pytest.approx([250.0, 210.0, 210.0])


def test_catchment_does_not_spill_across_a_barrier(provider):
    north, south = QgsGeometry.fromPointXY(_xy(50, 215)), QgsGeometry.fromPointXY(_xy(50, 185))
    params = grid_params(DISTANCE=300.0, CATCHMENT_BUFFER=30.0)
    plain = next(run(params)["OUTPUT_CATCHMENTS"].getFeatures()).geometry()
    assert plain.contains(north)  # without the barrier the road's 30 m buffer covers both sides
    params = grid_params(DISTANCE=300.0, CATCHMENT_BUFFER=30.0, BARRIERS=lines_layer(BARRIER))
    cut = next(run(params)["OUTPUT_CATCHMENTS"].getFeatures()).geometry()
    assert cut.contains(south)
    assert not cut.intersects(north)
    assert not cut.intersects(QgsGeometry.fromPointXY(_xy(150, 225)))
    assert cut.area() < plain.area()


def test_bridge_without_shared_vertex_passes_the_barrier(provider):
    bridge = [(0, 100), (50, 150), (50, 250), (0, 300)]
    params = grid_params(RESIDENTIAL=points_layer([(0, 300)]), BARRIERS=lines_layer(BARRIER))
    params["NETWORK"] = lines_layer([*grid_lines(), bridge])
    rows = residential_rows(run(params))
    assert rows[0]["net_dist_m"] == pytest.approx(50 + 2 * math.hypot(50, 50) + 100, abs=0.02)


# -- barriers from another source (BARRIER_MODE) ----------------------------------------------

# One home inside every block, 20 m east of its western street and 35 m north of its southern
# one, so its nearest way is unique.
BLOCK_HOMES = [(x + 20.0, y + 35.0) for x in range(0, 400, 100) for y in range(0, 400, 100)]


class Messages(Recorder):
    def __init__(self) -> None:
        super().__init__()
        self.infos: list[str] = []

    def pushInfo(self, info: str) -> None:  # noqa: N802
        self.infos.append(info)
        super().pushInfo(info)


def distances(params: dict, feedback: QgsProcessingFeedback | None = None) -> list:
    rows = residential_rows(run({**params, "RESIDENTIAL": points_layer(BLOCK_HOMES)}, feedback))
    return [(f["net_dist_m"], f["served"]) for f in rows]


def approx_rows(rows: list) -> list:
    return [(pytest.approx(d, abs=0.01) if d != NULL else NULL, s) for d, s in rows]


@pytest.mark.parametrize(
    ("barrier", "extra", "chosen"),
    [
        ([(-100, 200), (300.4, 200)], {}, "0 features by topology, 1 geometric"),  # two vertices on the centreline
        ([(-100, 203), (300.4, 203)], {"BARRIER_SNAP": 5.0}, "0 features by topology, 1 geometric"),  # 3 m beside
        ([(-100, 200), (300, 200)], {}, "1 features by topology, 0 geometric"),  # ends on a network node
    ],
)
def test_barrier_from_another_source_equals_the_osm_topology(provider, barrier, extra, chosen):
    crossing = points_layer([(101.5, 198.0)])
    osm = distances(grid_params(BARRIERS=lines_layer(BARRIER), CROSSINGS=crossing, BARRIER_MODE=1))
    assert osm != distances(grid_params())  # the road really costs some homes distance
    for mode in (0, 1, 2):
        feedback = Messages()
        other = distances(grid_params(BARRIERS=lines_layer([barrier]), CROSSINGS=crossing, BARRIER_MODE=mode, **extra),
                          feedback)  # fmt: skip
        assert other == approx_rows(osm), mode
        if mode == 0:
            assert any(chosen in info for info in feedback.infos)


def rail_town(osm_style: bool, bridge: str | None = "yes", crossing: bool = True, **extra) -> dict:
    """Grid with a road barrier along y = 200 (OSM-style) and a railway along x = 250.

    A footbridge crosses the railway between (200, 100) and (300, 100), a level crossing at
    (250, 300). OSM-style: the railway, the rows and the road barrier share a vertex at x = 250;
    otherwise the railway is a two-vertex line from another source.
    """
    xs = [0, 100, 200, 250, 300, 400] if osm_style else [0, 100, 200, 300, 400]
    rows = [[(x, y) for x in xs] for y in range(0, 500, 100)]
    cols = [[(x, y) for y in range(0, 500, 100)] for x in range(0, 500, 100)]
    footbridge = [(200, 100), (240, 130), (260, 130), (300, 100)]
    fields = [("bridge", FieldType.STRING)]
    values = [[NULL]] * (len(rows) + len(cols)) + [[bridge if bridge else NULL]]
    network = _layer("LineString", [QgsGeometry.fromPolylineXY([_xy(x, y) for x, y in line])
                                    for line in [*rows, *cols, footbridge]], UTM, fields, values)  # fmt: skip
    road = [(-100, 200), (0, 200), (100, 200), (200, 200), (250, 200), (300, 200)]
    rail = [(250, -50), *[(250, y) for y in range(0, 500, 100)], (250, 450)] if osm_style else [(250, -50), (250, 450)]
    params = grid_params(NETWORK=network, BARRIERS=lines_layer([road if osm_style else BARRIER[0], rail]), **extra)
    if crossing:
        params["CROSSINGS"] = points_layer([(250, 300)])
    return params


def test_railway_with_footbridge_and_level_crossing_equals_the_osm_topology(provider):
    osm = distances(rail_town(True, BARRIER_MODE=1))
    feedback = Messages()
    automatic = distances(rail_town(False, BARRIER_MODE=0), feedback)
    assert automatic == approx_rows(osm)
    assert any("1 features by topology, 1 geometric" in info for info in feedback.infos)
    assert distances(rail_town(False, BARRIER_MODE=2)) == approx_rows(osm)
    east = [i for i, (x, _) in enumerate(BLOCK_HOMES) if x > 250]
    # topology alone takes the two-vertex railway for a bridge everywhere: too short
    topology = distances(rail_town(False, BARRIER_MODE=1))
    assert all(topology[i][0] < osm[i][0] - 1 for i in east if osm[i][0] != NULL)
    # without the bridge attribute the footbridge is cut; without the crossing, so is the street
    no_bridge = distances(rail_town(False, bridge=None, BARRIER_MODE=0))
    no_crossing = distances(rail_town(False, crossing=False, BARRIER_MODE=0))
    home = BLOCK_HOMES.index((320.0, 135.0))  # beside the footbridge's eastern end
    assert osm[home][0] == pytest.approx(50 + 100 + 100 + 2 * math.hypot(40, 30) + 20 + 35 + 20, abs=0.01)
    # without the bridge attribute the footbridge is cut too, and the road barrier along y = 200
    # keeps the west from the level crossing: the whole east is cut off
    assert all(no_bridge[i][0] == NULL for i in east)
    assert all(osm[i][0] != NULL for i in east)
    assert no_crossing[home][0] == pytest.approx(osm[home][0], abs=0.01)
    # north of the road and west of the railway: over the footbridge, round the road's end at
    # (300, 200) and back west over the level crossing, which nothing else replaces
    north_west = BLOCK_HOMES.index((220.0, 335.0))
    assert osm[north_west][0] == pytest.approx(425.0 - 20 - 35 + 100 + 100 + 100 + 20 + 35, abs=0.01)
    assert no_crossing[north_west][0] == NULL


def test_barrier_touching_nothing_is_reported(provider):
    feedback = Messages()
    far = lines_layer([[(1000, 1000), (1100, 1000)], BARRIER[0]])
    run(grid_params(BARRIERS=far, RESIDENTIAL=points_layer([(0, 300)])), feedback)
    assert any("1 barrier features touch the network nowhere" in w for w in feedback.warnings)


def test_geographic_and_mixed_crs_give_metres(provider):
    homes = [(100, 0), (200, 300), (250, 330)]
    metric = residential_rows(run(grid_params(RESIDENTIAL=points_layer(homes))))
    params = grid_params("EPSG:4326", RESIDENTIAL=points_layer(homes, "EPSG:3857"))
    params["GREEN_SPACES"] = _layer("Polygon", [square(-50, -50, 50, 50)], UTM)
    result = run(params)
    mixed = residential_rows(result)
    assert result["OUTPUT_RESIDENTIAL"].crs().authid() == UTM  # UTM zone 32 of the data
    for a, b in zip(metric, mixed):
        assert b["net_dist_m"] == pytest.approx(a["net_dist_m"], abs=0.1)
        assert b["eucl_dist_m"] == pytest.approx(a["eucl_dist_m"], abs=0.1)


def test_network_without_crs_among_layers_with_one_says_what_to_set(provider, tmp_path):
    """Was SERVED_SHARE 0 with "No green space of at least 2.0 ha" (the green spaces could not be matched)."""
    from qgis.core import QgsCoordinateReferenceSystem, QgsVectorFileWriter

    network = lines_layer(grid_lines())
    network.setCrs(QgsCoordinateReferenceSystem())
    path = str(tmp_path / "network_without_crs.shp")  # no .prj
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "ESRI Shapefile"
    QgsVectorFileWriter.writeAsVectorFormatV2(network, path, QgsProject.instance().transformContext(), options)
    assert not QgsVectorLayer(path, "n", "ogr").crs().isValid()
    target = tmp_path / "homes.gpkg"
    with pytest.raises(QgsProcessingException, match=r"NETWORK has no CRS, but GREEN_SPACES \(EPSG:25832\).*"
                                                      r"Set the CRS of NETWORK"):  # fmt: skip
        run(grid_params(NETWORK=path, RESIDENTIAL=points_layer([(100, 0)]), OUTPUT_RESIDENTIAL=str(target)))
    assert not target.exists()


def test_network_vertex_beyond_any_metric_crs_is_skipped_and_counted(provider):
    """A vertex at 1e300 aborted the run with a traceback; its line is cut there and the rest kept."""
    lines = [*grid_lines(), [(0, 400), (0, 450), (100, 450), (1e300, 0), (200, 450), (300, 450), (300, 400)]]
    feedback = Recorder()
    homes = points_layer([(100, 0), (200, 300), (50, 455)])
    rows = residential_rows(run(grid_params(NETWORK=lines_layer(lines), RESIDENTIAL=homes), feedback))
    assert [f["net_dist_m"] for f in rows] == pytest.approx([50.0, 450.0, 350.0 + 50.0 + 50.0 + 5.0])
    assert any("1 vertices with coordinates beyond 20,000 km (or not finite) left out" in w for w in feedback.warnings)


def test_standard_sets_distance_and_area(provider):
    homes = [(200, 300)]  # 450 m
    default = residential_rows(run(grid_params(RESIDENTIAL=points_layer(homes))))
    berlin = residential_rows(run(grid_params(RESIDENTIAL=points_layer(homes), STANDARD=2)))
    assert (default[0]["served"], berlin[0]["served"]) == (0, 1)
    # Kassel needs 2 ha: the 1 ha green square does not qualify
    kassel = run(grid_params(RESIDENTIAL=points_layer(homes), STANDARD=1))
    assert result_is_empty(kassel)


def test_a_standard_says_which_numbers_replaced_the_fields(provider):
    """The dialog shows the fields (400 m, 2 ha): a standard that uses other numbers says so in the log."""
    homes = points_layer([(200, 300)])
    custom, berlin, kassel = Recorder(), Recorder(), Recorder()
    run(grid_params(RESIDENTIAL=homes, DISTANCE=400, MIN_AREA_HA=2), custom)
    run(grid_params(RESIDENTIAL=homes, STANDARD=2, DISTANCE=400, MIN_AREA_HA=2), berlin)
    run(grid_params(RESIDENTIAL=homes, STANDARD=1, DISTANCE=400, MIN_AREA_HA=2), kassel)
    assert "Walking distance 400 m, minimum area 2 ha" in custom.infos
    assert not any("standard" in w for w in custom.warnings)
    assert ("Walking distance 500 m, minimum area 0.5 ha from the standard Berlin, instead of the fields' 400 m and "
            "2 ha (choose the standard Custom to use the fields).") in berlin.warnings
    assert "Walking distance 400 m, minimum area 2 ha" in kassel.infos  # Kassel's numbers are the fields'
    assert not any("standard" in w for w in kassel.warnings)


def result_is_empty(result: dict) -> bool:
    return result["OUTPUT_GREEN_SPACES"].featureCount() == 0 and result["OUTPUT_CATCHMENTS"].featureCount() == 0


def test_no_green_space_large_enough_warns_and_leaves_everyone_unserved(provider):
    feedback = Recorder()
    result = run(grid_params(RESIDENTIAL=points_layer([(100, 0), (0, 100)]), MIN_AREA_HA=5.0), feedback)
    assert any("No green space of at least 5 ha" in w for w in feedback.warnings)
    assert result_is_empty(result)
    rows = residential_rows(result)
    assert [(f["served"], f["net_dist_m"], f["served_eucl"]) for f in rows] == [(0, NULL, 0), (0, NULL, 0)]
    assert (result["SERVED_POPULATION"], result["TOTAL_POPULATION"], result["SERVED_SHARE"]) == (0.0, 2.0, 0.0)


def test_merge_distance_joins_parcels_before_the_size_filter(provider):
    parcels = [square(-50, -50, 50, 50), square(55, -50, 155, 50)]  # 1 ha each, 5 m apart
    greens = _layer("Polygon", parcels)
    apart = run(grid_params(GREEN_SPACES=greens, MIN_AREA_HA=1.5, MERGE_DISTANCE=4.0))
    merged = run(grid_params(GREEN_SPACES=greens, MIN_AREA_HA=1.5, MERGE_DISTANCE=6.0))
    assert result_is_empty(apart)
    rows = list(merged["OUTPUT_GREEN_SPACES"].getFeatures())
    assert [(f["area_ha"], f["n_parcels"]) for f in rows] == [(2.0, 2)]


def test_merged_green_space_keeps_the_fields_of_its_largest_parcel(provider):
    parcels = [square(-50, -50, 50, 50), square(55, -50, 175, 50)]  # 1.0 and 1.2 ha, 5 m apart
    fields = [("name", FieldType.STRING), ("green_id", FieldType.INT)]
    greens = _layer("Polygon", parcels, fields=fields, values=[["Small park", 7], ["Big park", 8]])
    result = run(grid_params(GREEN_SPACES=greens, MIN_AREA_HA=1.5, MERGE_DISTANCE=6.0))
    for output in ("OUTPUT_GREEN_SPACES", "OUTPUT_CATCHMENTS"):
        rows = list(result[output].getFeatures())
        names = [f.name() for f in result[output].fields()]
        assert names[:2] == ["name", "green_id_in"]  # the input's fields first; its green_id kept renamed
        assert [(f["name"], f["green_id_in"], f["green_id"]) for f in rows] == [("Big park", 8, 1)]


def test_entrance_gives_access_to_a_park_away_from_the_network(provider):
    inner = _layer("Polygon", [square(120, 120, 180, 180)])  # inside a block: no way touches it
    homes = points_layer([(400, 100)])
    without = residential_rows(run(grid_params(GREEN_SPACES=inner, MIN_AREA_HA=0.0, RESIDENTIAL=homes)))
    assert without[0]["net_dist_m"] == NULL
    entrance = points_layer([(150, 110)])
    params = grid_params(GREEN_SPACES=inner, MIN_AREA_HA=0.0, RESIDENTIAL=homes, ENTRANCES=entrance)
    with_entrance = residential_rows(run(params))
    # 250 m along the ways to (150, 100) plus the entrance's own 10 m walk to the network
    assert with_entrance[0]["net_dist_m"] == pytest.approx(260.0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"NETWORK": "empty_lines"}, "has no lines"),
        ({"NETWORK": "points"}, "NETWORK must contain lines"),
        ({"GREEN_SPACES": "points"}, "GREEN_SPACES must contain polygons"),
        ({"POPULATION_FIELD": "nope"}, "not a field of RESIDENTIAL"),
    ],
)
def test_bad_input_is_rejected_with_a_clear_message(provider, tmp_path, change, message):
    layers = {"empty_lines": lines_layer([]), "points": points_layer([(0, 0), (10, 10)])}
    out = tmp_path / "catchments.gpkg"
    params = grid_params(RESIDENTIAL=points_layer([(0, 0)]), OUTPUT_CATCHMENTS=str(out))
    params.update({k: layers.get(v, v) for k, v in change.items()})
    with pytest.raises(QgsProcessingException, match=message):
        run(params)
    assert not out.exists()  # nothing half-written


@pytest.mark.parametrize(
    ("value", "feature"),
    [(-3.0, 2), (float("nan"), 1), (float("inf"), 2), ("-inf", 1)],
)
def test_negative_or_non_finite_population_is_an_error_naming_the_feature(provider, tmp_path, value, feature):
    values = [[10.0], [20.0]]
    values[feature - 1] = [value]
    kind = FieldType.STRING if isinstance(value, str) else FieldType.DOUBLE
    homes = points_layer([(100, 0), (400, 400)], fields=[("pop", kind)], values=values)
    out = tmp_path / "residential.gpkg"
    params = grid_params(RESIDENTIAL=homes, POPULATION_FIELD="pop", OUTPUT_RESIDENTIAL=str(out))
    with pytest.raises(QgsProcessingException, match=f"Residential feature {feature} has the population"):
        run(params)
    assert not out.exists()


def test_implausibly_large_population_is_a_warning(provider):
    homes = points_layer([(100, 0), (400, 400)], fields=[("pop", FieldType.DOUBLE)], values=[[25_000.0], [3.0]])
    feedback = Recorder()
    result = run(grid_params(RESIDENTIAL=homes, POPULATION_FIELD="pop"), feedback)
    assert result["TOTAL_POPULATION"] == 25_003.0
    assert any("1 residential features have more than 10,000 inhabitants" in w for w in feedback.warnings)


def bow_tie(x0: float, y0: float, size: float = 60.0) -> QgsGeometry:
    """An invalid self-intersecting square (two triangles meeting in a point)."""
    ring = [(x0, y0), (x0 + size, y0 + size), (x0 + size, y0), (x0, y0 + size), (x0, y0)]
    return QgsGeometry.fromPolygonXY([[_xy(x, y) for x, y in ring]])


def test_invalid_and_empty_geometries_of_every_input_are_repaired_or_left_out(provider, tmp_path):
    """Users' layers: bow ties, features without geometry, NaN points; one warning per layer."""
    nan_point = QgsGeometry.fromPointXY(QgsPointXY(float("nan"), float("nan")))
    network = _layer("LineString", [QgsGeometry.fromPolylineXY([_xy(x, y) for x, y in line]) for line in grid_lines()]
                     + [QgsGeometry()])  # fmt: skip
    greens = _layer("Polygon", [bow_tie(-50, -50, 100), QgsGeometry()])  # repaired: two 0.25 ha triangles
    barriers = _layer("LineString", [QgsGeometry.fromPolylineXY([_xy(x, y) for x, y in BARRIER[0]]), QgsGeometry()])
    crossings = _layer("Point", [QgsGeometry.fromPointXY(_xy(101.5, 198.0)), nan_point])
    entrances = _layer("Point", [nan_point])
    homes = _layer("Polygon", [bow_tie(110, 10, 20), square(210, 10, 230, 30), QgsGeometry()])
    feedback = Recorder()
    out = tmp_path / "homes.shp"
    params = grid_params(NETWORK=network, GREEN_SPACES=greens, BARRIERS=barriers, CROSSINGS=crossings,
                         ENTRANCES=entrances, RESIDENTIAL=homes, OUTPUT_RESIDENTIAL=str(out))  # fmt: skip
    result = run(params, feedback)
    pattern = r"(\w+): (\d+) invalid geometries repaired .*, (\d+) features with"
    reports = [re.match(pattern, w) for w in feedback.warnings]
    counts = sorted((m.group(1), int(m.group(2)), int(m.group(3))) for m in reports if m)
    assert counts == sorted([("linestring", 0, 1), ("linestring", 0, 1), ("point", 0, 1), ("point", 0, 1),
                             ("polygon", 1, 1), ("polygon", 1, 1)])  # fmt: skip  # six layers, one warning each
    greens_out = list(result["OUTPUT_GREEN_SPACES"].getFeatures())
    assert [g["area_ha"] for g in greens_out] == [pytest.approx(0.5)]  # the union of the two triangles
    written = QgsVectorLayer(str(out), "homes", "ogr")
    assert written.featureCount() == 2  # the repaired bow tie (two triangles) and the square
    assert all(f.geometry().isGeosValid() for f in written.getFeatures())
    # the same as with the repaired geometries given as valid input
    valid_homes = _layer("MultiPolygon", [bow_tie(110, 10, 20).makeValid(), square(210, 10, 230, 30)])
    valid_greens = _layer("Polygon", [bow_tie(-50, -50, 100).makeValid()])
    repaired = grid_params(GREEN_SPACES=valid_greens, BARRIERS=barriers, CROSSINGS=crossings, RESIDENTIAL=valid_homes)
    expected = [f["net_dist_m"] for f in residential_rows(run(repaired))]
    assert all(isinstance(d, float) for d in expected)
    assert [f["net_dist_m"] for f in written.getFeatures()] == pytest.approx(expected)


def test_cancel_stops_the_run(provider):
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        run(grid_params(), Recorder(cancel_at=20))


def test_style_post_processor_fits_points_and_polygons(provider):
    from qgis.core import QgsCategorizedSymbolRenderer, QgsSymbol
    from social_resilience.algorithms.style_on_load import StyleOnLoad

    for kind, symbol_type in (("Point", QgsSymbol.Marker), ("Polygon", QgsSymbol.Fill)):
        layer = QgsVectorLayer(f"{kind}?crs={UTM}&field=served:integer", "r", "memory")
        StyleOnLoad("residential_served.qml").postProcessLayer(
            layer, QgsProcessingContext(), QgsProcessingFeedback()
        )
        renderer = layer.renderer()
        assert isinstance(renderer, QgsCategorizedSymbolRenderer)
        assert renderer.classAttribute() == "served"
        assert {c.symbol().type() for c in renderer.categories()} == {symbol_type}


# -- sample town ------------------------------------------------------------------------------


def town_params(town, **extra) -> dict:
    params = {name.upper(): f"{town}|layername={name}" for name in ("network", "barriers", "crossings", "entrances")}
    params.update(
        GREEN_SPACES=f"{town}|layername=green_spaces",
        RESIDENTIAL=f"{town}|layername=buildings",
        POPULATION_FIELD="population",
        **OUTPUTS,
    )
    params.update(extra)
    return params


def test_sample_town_end_to_end(provider, sample_town):
    feedback = Recorder()
    result = run(town_params(sample_town), feedback)
    assert not [w for w in feedback.warnings if "kept as" in w]  # the plugin's own data needs no renaming
    rows = residential_rows(result)
    population = sum(float(f["population"] or 0) for f in rows)
    served = sum(float(f["population"] or 0) for f in rows if f["served"] == 1)
    assert result["TOTAL_POPULATION"] == pytest.approx(population)
    assert result["SERVED_POPULATION"] == pytest.approx(served)
    assert 0 < result["SERVED_SHARE"] < 1
    greens = list(result["OUTPUT_GREEN_SPACES"].getFeatures())
    assert sum(g["pop_served"] for g in greens) == pytest.approx(served)
    assert all(g["area_ha"] >= 2.0 for g in greens)
    for f in rows:  # walking is never shorter than the straight line to the green space
        if f["net_dist_m"] != NULL:
            assert f["net_dist_m"] >= f["eucl_dist_m"] - 0.2
    without = run(town_params(sample_town, BARRIERS=None, CROSSINGS=None))
    assert without["SERVED_SHARE"] >= result["SERVED_SHARE"]


def test_qgis_process_runs_on_the_sample_town(provider, sample_town, qgis_process, tmp_path):
    params = {k: v for k, v in town_params(sample_town).items() if not k.startswith("OUTPUT")}
    params.update({name: str(tmp_path / f"{name.lower()}.gpkg") for name in OUTPUTS})
    params["STANDARD"] = 1
    report = qgis_process.run_algorithm(ALG, params)
    results = report["results"]
    expected = run(town_params(sample_town, STANDARD=1))
    assert results["SERVED_POPULATION"] == pytest.approx(expected["SERVED_POPULATION"])
    assert results["SERVED_SHARE"] == pytest.approx(expected["SERVED_SHARE"])
    written = QgsVectorLayer(results["OUTPUT_RESIDENTIAL"], "r", "ogr")
    assert written.featureCount() == expected["OUTPUT_RESIDENTIAL"].featureCount()
    assert "net_dist_m" in written.fields().names()


def test_qgis_process_rejects_point_green_spaces(provider, sample_town, qgis_process, tmp_path):
    params = {
        "NETWORK": f"{sample_town}|layername=network",
        "GREEN_SPACES": f"{sample_town}|layername=entrances",
        "OUTPUT_CATCHMENTS": str(tmp_path / "c.gpkg"),
        "OUTPUT_GREEN_SPACES": str(tmp_path / "g.gpkg"),
    }
    result = qgis_process.run_algorithm_failing(ALG, params)
    assert result.returncode != 0
    assert "GREEN_SPACES must contain polygons" in result.stdout + result.stderr
    assert not (tmp_path / "c.gpkg").exists()


# -- real OpenStreetMap extracts (ODbL, © OpenStreetMap contributors) ------------------------

OSM_LAYERS = ("network", "barriers", "crossings", "green_spaces", "buildings")
_OSM_CACHE: dict[str, dict[str, str]] = {}


@pytest.fixture(scope="module")
def osm(plugin, tmp_path_factory):
    """``osm(file)``: the osmwalknetwork layers of an extract, made once per module."""
    import processing

    def prepare(name: str) -> dict[str, str]:
        if name not in _OSM_CACHE:
            source = shared_data("osm", name)
            folder = tmp_path_factory.mktemp(name.split(".")[0])
            outputs = {f"OUTPUT_{layer.upper()}": str(folder / f"{layer}.gpkg") for layer in OSM_LAYERS}
            result = processing.run("socialresilience:osmwalknetwork", {"INPUT": str(source), **outputs})
            _OSM_CACHE[name] = {layer: result[f"OUTPUT_{layer.upper()}"] for layer in OSM_LAYERS}
        return _OSM_CACHE[name]

    return prepare


def osm_params(layers: dict[str, str], barriers: bool = True, **extra) -> dict:
    params = {"NETWORK": layers["network"], "GREEN_SPACES": layers["green_spaces"], **OUTPUTS}
    if barriers:
        params.update(BARRIERS=layers["barriers"], CROSSINGS=layers["crossings"])
    params.update(extra)
    return params


def berlin_homes(points) -> QgsVectorLayer:
    layer = QgsVectorLayer("Point?crs=EPSG:25833", "homes", "memory")
    layer.dataProvider().addFeatures([_point_feature(x, y) for x, y in points])
    return layer


def _point_feature(x: float, y: float) -> QgsFeature:
    feature = QgsFeature()
    feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(x, y)))
    return feature


# A footpath crosses the dual carriageway of the Straße des 17. Juni (foot=no, a barrier) at
# grade in the Tiergarten: its nodes on the northern and southern carriageway (EPSG:25833).
PATH_NORTH, PATH_SOUTH = (388657.4, 5819601.8), (388658.2, 5819588.8)
CENTRAL_STRIP_HOME = (388657.8, 5819595.3)  # on that path, between the carriageways
SIEGESSAEULE = (388040.0, 5819545.0)  # the column on the island inside the Großer Stern roundabout


@pytest.mark.shared_data
def test_berlin_strasse_des_17_juni_cuts_off_and_a_crossing_reconnects(osm):
    layers = osm("berlin-siegessaeule.osm.gz")
    barriers = QgsVectorLayer(layers["barriers"], "b", "ogr")
    home = QgsGeometry.fromPointXY(QgsPointXY(*CENTRAL_STRIP_HOME))
    near = {f["name"] for f in barriers.getFeatures() if f.geometry().distance(home) < 10}
    assert near == {"Straße des 17. Juni"}  # the home really sits between its carriageways

    def distance(**extra) -> float:
        rows = residential_rows(run(osm_params(layers, RESIDENTIAL=berlin_homes([CENTRAL_STRIP_HOME]), **extra)))
        return rows[0]["net_dist_m"]

    plain = distance(BARRIERS=None, CROSSINGS=None)
    cut_off = distance(CROSSINGS=None)
    reconnected = distance(CROSSINGS=berlin_homes([PATH_NORTH, PATH_SOUTH]))
    assert cut_off > plain + 500  # round the carriageway's end
    assert reconnected == pytest.approx(plain, abs=1.0)
    assert distance() <= cut_off  # the mapped crossings and signals of the extract


@pytest.mark.shared_data
def test_berlin_siegessaeule_is_reached_through_the_underpasses(osm):
    layers = osm("berlin-siegessaeule.osm.gz")
    home = berlin_homes([SIEGESSAEULE])
    plain = residential_rows(run(osm_params(layers, barriers=False, RESIDENTIAL=home)))[0]["net_dist_m"]
    barred = residential_rows(run(osm_params(layers, RESIDENTIAL=home)))[0]
    assert plain != NULL
    assert barred["net_dist_m"] == pytest.approx(plain)  # tunnels pass under the roundabout: no shared node
    geometric = residential_rows(run(osm_params(layers, RESIDENTIAL=home, BARRIER_MODE=2)))[0]
    assert geometric["net_dist_m"] == pytest.approx(plain)  # and by their tunnel attribute, as osmwalknetwork writes it
    no_tunnels = QgsVectorLayer(layers["network"], "n", "ogr")
    no_tunnels.setSubsetString("tunnel IS NULL")
    cut = residential_rows(run(osm_params(layers, NETWORK=no_tunnels, RESIDENTIAL=home)))[0]
    assert cut["net_dist_m"] == NULL  # the island has no other way in
    assert cut["eucl_dist_m"] == pytest.approx(barred["eucl_dist_m"])


@pytest.mark.shared_data
def test_network_distances_agree_with_native_service_area(osm):
    """Without barriers, nodes within DISTANCE are exactly those native:serviceareafromlayer reaches."""
    import numpy as np
    import processing
    from social_resilience.algorithms.green.green_geometry import (
        containment,
        merge_parcels,
        polygon_rings,
        polygonal,
        read_geometries,
        read_lines,
    )
    from social_resilience.core.green.access import boundary_segments, build_access_network
    from social_resilience.core.green.barrier_sides import no_barriers
    from social_resilience.core.green.walk_graph import build_graph, pack_keys

    layers = osm("hoyerswerda.osm.pbf")
    context, feedback = QgsProcessingContext(), QgsProcessingFeedback()

    network = QgsVectorLayer(layers["network"], "n", "ogr")
    greens_layer = QgsVectorLayer(layers["green_spaces"], "g", "ogr")
    graph, keys = build_graph(read_lines(QgsProcessingFeatureSource(network, context), None, feedback))
    _, parcels = read_geometries(QgsProcessingFeatureSource(greens_layer, context), None, feedback)
    greens = [m.geometry for m in merge_parcels([polygonal(p) for p in parcels], 10.0) if m.area_ha >= 2.0]
    boundary = boundary_segments([polygon_rings(g) for g in greens])
    net = build_access_network(no_barriers(graph), boundary, containment(greens), 2000.0)
    starts = net.graph.xy[net.sources]
    start_layer = QgsVectorLayer(f"Point?crs={network.crs().authid()}", "starts", "memory")
    start_layer.dataProvider().addFeatures([_point_feature(x, y) for x, y in starts])
    native = processing.run(
        "native:serviceareafromlayer",
        {"INPUT": network, "STRATEGY": 0, "START_POINTS": start_layer, "TRAVEL_COST2": 400.0,
         "TOLERANCE": 0.0, "INCLUDE_BOUNDS": False, "OUTPUT_LINES": "TEMPORARY_OUTPUT"},
    )["OUTPUT_LINES"]  # fmt: skip
    vertices = [(v.x(), v.y()) for f in native.getFeatures() for v in f.geometry().vertices()]
    covered = set(pack_keys(np.array(vertices)).tolist()) & set(keys.tolist())
    dist = net.dist[: graph.n_nodes]
    inside = set(keys[dist <= 400.0 - 0.5].tolist())
    outside = set(keys[dist > 400.0 + 0.5].tolist())
    assert len(inside) > 200
    assert inside <= covered
    assert not covered & outside


@pytest.mark.slow
@pytest.mark.shared_data
def test_kaiserslautern_whole_town(osm):
    layers = osm("kaiserslautern.osm.gz")
    buildings = QgsVectorLayer(layers["buildings"], "b", "ogr")
    result = run(osm_params(layers, RESIDENTIAL=layers["buildings"]))
    rows = residential_rows(result)
    assert len(rows) == buildings.featureCount() > 15_000
    assert result["TOTAL_POPULATION"] == len(rows)  # no population field: one per building
    assert 0 < result["SERVED_SHARE"] < result["SERVED_SHARE_EUCLIDEAN"] < 1
    for f in rows:
        if f["served"]:
            assert f["served_eucl"] == 1
        if f["net_dist_m"] != NULL:
            assert f["net_dist_m"] >= f["eucl_dist_m"] - 0.2
    greens = list(result["OUTPUT_GREEN_SPACES"].getFeatures())
    assert len(greens) >= 5
    assert sum(g["pop_served"] for g in greens) == result["SERVED_POPULATION"]
    assert result["OUTPUT_CATCHMENTS"].featureCount() == len(greens)
    plain = run(osm_params(layers, barriers=False, RESIDENTIAL=layers["buildings"]))
    assert plain["SERVED_SHARE"] > result["SERVED_SHARE"]  # major roads and railways cost access


def test_benchmark_module_runs_on_the_sample_town(provider, sample_town):
    import importlib.util

    from .conftest import REPO

    spec = importlib.util.spec_from_file_location("bench_catchments", REPO / "benchmarks" / "bench_catchments.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    layers = {name: f"{sample_town}|layername={name}" for name in bench.LAYERS}
    row = bench.run_case("sample town", layers, native=True)
    assert row["access_points"] > 0
    assert row["native_lines"] == row["access_points"]  # one service-area feature per start point
    assert row["ours_s"] > 0
    assert row["ratio"] > 0
    assert row["native_s"] > row["native_service_s"] > 0
    assert row["traced_peak_mb"] > 0
    assert "| ours_s |" in bench.report([row])


def served_ids(result: dict) -> set[str]:
    return {f["osm_id"] for f in residential_rows(result) if f["served"]}


@pytest.mark.slow
@pytest.mark.shared_data
def test_kaiserslautern_simplified_barriers_serve_the_same_set(osm):
    """Barriers from another source: the OSM barriers simplified by 5 m share few vertices with the network."""
    import processing

    layers = osm("kaiserslautern.osm.gz")
    simplified = processing.run(
        "native:simplifygeometries",
        {"INPUT": layers["barriers"], "METHOD": 0, "TOLERANCE": 5.0, "OUTPUT": "TEMPORARY_OUTPUT"},
    )["OUTPUT"]
    vertices = lambda layer: sum(f.geometry().constGet().nCoordinates() for f in layer.getFeatures())  # noqa: E731
    assert vertices(simplified) < 0.5 * vertices(QgsVectorLayer(layers["barriers"], "b", "ogr"))
    original = served_ids(run(osm_params(layers, RESIDENTIAL=layers["buildings"])))
    copied = served_ids(run(osm_params(layers, BARRIERS=simplified, BARRIER_SNAP=5.0, RESIDENTIAL=layers["buildings"])))
    unbarred = served_ids(run(osm_params(layers, barriers=False, RESIDENTIAL=layers["buildings"])))
    assert len(original) > 2000
    assert len(original ^ unbarred) > 0.03 * len(original)  # the barriers matter here
    assert len(original ^ copied) <= 0.01 * len(original)


def raw_osm_buildings() -> QgsVectorLayer:
    """The buildings of the Kaiserslautern extract as GDAL reads them (EPSG:4326, invalid ones included)."""
    path = shared_data("osm", "kaiserslautern.osm.gz")
    layer = QgsVectorLayer(f"/vsigzip/{path}|layername=multipolygons", "raw buildings", "ogr")
    assert layer.setSubsetString("building IS NOT NULL")
    return layer


@pytest.mark.slow
@pytest.mark.shared_data
def test_kaiserslautern_raw_osm_buildings_run_and_the_invalid_ones_are_counted(osm):
    layers = osm("kaiserslautern.osm.gz")
    raw = raw_osm_buildings().materialize(QgsFeatureRequest())
    invalid = sum(not f.geometry().isGeosValid() for f in raw.getFeatures())
    flat = sum(f.geometry().isGeosValid() and f.geometry().area() == 0 for f in raw.getFeatures())
    assert invalid > 0  # with GEOS 3.11 (Debian 12) OSM ways of two nodes also give "valid" polygons without area
    feedback = Recorder()
    result = run(osm_params(layers, RESIDENTIAL=raw), feedback)
    counts = [re.search(r"(\d+) invalid geometries repaired .*, (\d+) features with", w) for w in feedback.warnings]
    repaired, left_out = next(map(int, m.groups()) for m in counts if m)
    assert repaired > 0
    assert repaired + left_out == invalid + flat  # the invalid ones are repaired or, without area, left out
    rows = residential_rows(result)
    assert len(rows) == raw.featureCount() - left_out > 15_000
    assert all(f.geometry().isGeosValid() for f in rows)
    prepared = run(osm_params(layers, RESIDENTIAL=layers["buildings"]))
    assert result["SERVED_SHARE"] == pytest.approx(prepared["SERVED_SHARE"], abs=0.005)


@pytest.mark.shared_data
def test_ways_meeting_at_an_inner_vertex_are_connected(osm):
    """OSM way 113949656 (service) starts on the fifth vertex of Lauterstraße (way 153533459).

    The first home lies on that vertex, so exactly on the barrier line of Lauterstraße.
    """
    layers = osm("kaiserslautern.osm.gz")
    network = QgsVectorLayer(layers["network"], "n", "ogr")
    ways = {f["osm_id"]: f.geometry() for f in network.getFeatures() if f["osm_id"] in ("113949656", "153533459")}
    shared = ways["113949656"].vertexAt(0)
    assert ways["153533459"].vertexAt(4) == shared
    step = ways["113949656"].interpolate(20.0).asPoint()
    homes = QgsVectorLayer(f"Point?crs={network.crs().authid()}", "homes", "memory")
    homes.dataProvider().addFeatures([_point_feature(shared.x(), shared.y()), _point_feature(step.x(), step.y())])
    for barriers in (False, True):
        rows = residential_rows(run(osm_params(layers, barriers=barriers, RESIDENTIAL=homes)))
        at_vertex, on_service = (f["net_dist_m"] for f in rows)
        assert isinstance(at_vertex, float)
        assert isinstance(on_service, float)
        assert abs(on_service - at_vertex) <= 20.0 + 0.05  # 20 m apart on the service way


def _home_distance(result: dict, osm_id: str) -> float:
    (row,) = [f for f in residential_rows(result) if f["osm_id"] == osm_id]
    return row["net_dist_m"]


@pytest.mark.slow
@pytest.mark.shared_data
def test_kaiserslautern_simplified_barriers_path_node_in_front_of_maxstrasse(osm):
    """Building way 106623744: a path node 1.21 m before the simplified Maxstraße, the signal crossing beyond it.

    The node in front cut the path off (479.22 m by a detour); the independent check walks 397.9 m.
    """
    import processing

    layers = osm("kaiserslautern.osm.gz")
    simplified = processing.run(
        "native:simplifygeometries",
        {"INPUT": layers["barriers"], "METHOD": 0, "TOLERANCE": 5.0, "OUTPUT": "TEMPORARY_OUTPUT"},
    )["OUTPUT"]
    for mode in (0, 2):
        result = run(osm_params(layers, BARRIERS=simplified, BARRIER_SNAP=5.0, BARRIER_MODE=mode,
                                RESIDENTIAL=layers["buildings"]))  # fmt: skip
        assert _home_distance(result, "106623744") == pytest.approx(397.9, abs=0.05)


@pytest.mark.slow
@pytest.mark.shared_data
def test_lauf_barriers_offset_3_m_leave_no_gap_between_ways(osm):
    """Building way 45416304: the barriers offset 3 m per way leave gaps of less than BARRIER_SNAP at junctions.

    Walkers went through such a gap straight across the road (191.72 m); the independent check: 554.18 m.
    """
    import processing

    layers = osm("lauf-200115.osm.pbf")
    offset = processing.run(
        "native:offsetline",
        {"INPUT": layers["barriers"], "DISTANCE": 3.0, "SEGMENTS": 8, "JOIN_STYLE": 0, "MITER_LIMIT": 2,
         "OUTPUT": "TEMPORARY_OUTPUT"},
    )["OUTPUT"]  # fmt: skip
    result = run(osm_params(layers, BARRIERS=offset, BARRIER_SNAP=3.0, RESIDENTIAL=layers["buildings"]))
    assert _home_distance(result, "45416304") == pytest.approx(554.18, abs=0.05)


@pytest.mark.slow
@pytest.mark.shared_data
def test_agrees_with_an_independent_implementation_of_the_rule(osm):
    """Lauf, barriers offset 3 m (BARRIER_SNAP 3): per building served and distance as an independent check computes.

    ``benchmarks/independent_catchments.py`` implements the documented rule in plain Python and networkx,
    sharing no code with core/green; ``benchmarks/compare_catchments.py`` runs all towns and variants.
    """
    import importlib.util

    from .conftest import REPO

    spec = importlib.util.spec_from_file_location("compare_catchments", REPO / "benchmarks" / "compare_catchments.py")
    compare = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(compare)
    layers = osm("lauf-200115.osm.pbf")
    steps, snap = compare.VARIANTS["offset 3 m"]
    barriers = compare.barrier_variant(layers["barriers"], steps)
    ours, _ = compare.plugin_distances(layers, barriers, snap)
    theirs, _ = compare.independent_distances(layers, barriers, snap)
    result = compare.compare(ours, theirs)
    assert result["buildings"] > 6000
    assert sum(d is not None and d <= 400 for d in ours) > 2000  # a real test: many served, many not
    assert result["agreement"] >= 99.9, {k: len(v) for k, v in result["kinds"].items()}
    way = next(i for i, f in enumerate(QgsVectorLayer(layers["buildings"], "b", "ogr").getFeatures())
               if f["osm_id"] == "45416304")  # fmt: skip
    assert theirs[way] == pytest.approx(554.18, abs=0.05)  # the gap case of issue 24, by the check too
    assert ours[way] == pytest.approx(theirs[way], abs=0.05)
