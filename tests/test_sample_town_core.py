"""The sample-town generator without QGIS: network topology, green spaces, buildings, sensors."""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np
import pytest
from shapely.geometry import LineString, Point, Polygon, box
from shapely.ops import unary_union
from social_resilience.core.sample_town.sensors import HOURS, PROPERTIES, SENTINEL, csv_rows, traffic_profile
from social_resilience.core.sample_town.town import generate_town, validate_size

ARTERIALS = {"primary", "secondary"}


@pytest.fixture(scope="module")
def town():
    return generate_town(42, 2.0)


def lines(town, highway=None):
    layer = town.layers["network"]
    return [
        (LineString(geometry), row)
        for geometry, row in zip(layer.geometries, layer.rows)
        if highway is None or row[1] in highway
    ]


def vertex_ways(town) -> dict[tuple[float, float], set[int]]:
    """Vertex -> way ids of the network lines that have it as a vertex."""
    result = defaultdict(set)
    for geometry, row in zip(town.layers["network"].geometries, town.layers["network"].rows):
        for point in geometry:
            result[point].add(row[0])
    return result


def test_same_seed_gives_the_same_town_and_another_seed_another():
    a, b, c = generate_town(5, 1.5), generate_town(5, 1.5), generate_town(6, 1.5)
    for name in a.layers:
        assert a.layers[name].rows == b.layers[name].rows
        assert a.layers[name].geometries == b.layers[name].geometries
    assert a.layers["buildings"].geometries != c.layers["buildings"].geometries
    assert a.layers["observations"].rows != c.layers["observations"].rows


def test_generation_is_fast():
    start = time.perf_counter()
    generate_town(42, 2.0)
    assert time.perf_counter() - start < 1.5


@pytest.mark.parametrize("size", [0.0, -1.0, 0.5, 20.5, float("nan")])
def test_unsupported_sizes_are_rejected(size):
    with pytest.raises(ValueError, match="between 1 and 20 km"):
        validate_size(size)


def test_network_is_connected_through_shared_vertices(town):
    """Ways connect only at exact shared vertices, and all of them form one connected network."""
    ways = vertex_ways(town)
    parent = {row[0]: row[0] for row in town.layers["network"].rows}

    def find(k):
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for ids in ways.values():
        first, *rest = ids
        for other in rest:
            parent[find(other)] = find(first)
    assert len({find(k) for k in parent}) == 1
    # every way end that lies on another way lies on one of its vertices (no T-junction mid-segment)
    all_lines = lines(town)
    for geometry, row in all_lines:
        for end in (geometry.coords[0], geometry.coords[-1]):
            touching = [r[0] for g, r in all_lines if r[0] != row[0] and g.distance(Point(end)) < 1e-6]
            assert set(touching) <= ways[tuple(end)], (row, end)


def test_arterials_are_barriers_with_identical_vertices(town):
    network = {
        row[0]: geometry for geometry, row in zip(town.layers["network"].geometries, town.layers["network"].rows)
    }
    barriers = town.layers["barriers"]
    assert sorted(set(barriers.column("highway"))) == ["primary", "secondary"]
    arterial_ways = {row[0] for row in town.layers["network"].rows if row[1] in ARTERIALS}
    assert set(barriers.column("way_id")) == arterial_ways
    for geometry, way_id in zip(barriers.geometries, barriers.column("way_id")):
        assert geometry == network[way_id]


def test_arterials_split_the_town_into_quarters(town):
    extent = box(530000, 5680000, 532000, 5682000)
    barrier = unary_union([LineString(g) for g in town.layers["barriers"].geometries])
    pieces = extent.difference(barrier.buffer(0.01))
    assert len(pieces.geoms) == 4
    assert min(p.area for p in pieces.geoms) > 0.15 * extent.area


def test_junctions_with_and_without_crossings(town):
    ways = vertex_ways(town)
    highway = {row[0]: row[1] for row in town.layers["network"].rows}
    arterial_vertices = {p for g in town.layers["barriers"].geometries for p in g}
    junctions = {p for p in arterial_vertices if any(highway[w] not in ARTERIALS for w in ways[p])}
    crossings = {g[0] for g in town.layers["crossings"].geometries}
    assert crossings <= arterial_vertices
    assert crossings <= junctions | {p for p in arterial_vertices if len(ways[p]) > 1}
    assert len(junctions - crossings) > 2 * len(crossings) > 0


def test_footbridge_and_underpass_cross_without_shared_vertex(town):
    arterial_vertices = {p for g in town.layers["barriers"].geometries for p in g}
    barrier = unary_union([LineString(g) for g in town.layers["barriers"].geometries])
    grade_separated = [
        (geometry, row) for geometry, row in lines(town, {"footway"}) if row[3] == "yes" or row[4] == "yes"
    ]
    assert {("bridge" if row[3] else "tunnel") for _g, row in grade_separated} == {"bridge", "tunnel"}
    for geometry, _row in grade_separated:
        assert geometry.crosses(barrier)
        assert not set(geometry.coords) & arterial_vertices


def green(town):
    layer = town.layers["green_spaces"]
    return [(Polygon(g), row) for g, row in zip(layer.geometries, layer.rows)]


def test_green_spaces_big_small_and_the_narrow_twin_pair(town):
    parks = green(town)
    areas = [p.area for p, _row in parks]
    assert sum(a >= 20000 for a in areas) >= 2
    assert sum(a < 20000 for a in areas) >= 3
    pairs = [(a, b) for i, (a, _) in enumerate(parks) for b, _ in parks[i + 1 :] if a.distance(b) < 10]
    assert len(pairs) == 1
    a, b = pairs[0]
    assert 5.0 <= a.distance(b) <= 8.0
    assert a.area < 20000
    assert b.area < 20000
    assert a.area + b.area >= 20000
    merged = unary_union([a.buffer(5, join_style=2), b.buffer(5, join_style=2)]).buffer(-5, join_style=2)
    assert merged.geom_type == "Polygon"
    assert merged.area >= 20000
    # only a footway runs through the gap
    gap = box(*a.union(b).bounds).difference(a.union(b).buffer(0.01))
    assert {row[1] for g, row in lines(town) if g.intersection(gap).length > 1} == {"footway"}


def test_entrances_are_where_paths_meet_green_edges(town):
    parks = {row[0]: p for p, row in green(town)}
    vertices = vertex_ways(town)
    layer = town.layers["entrances"]
    assert set(layer.column("park_id")) == set(parks)
    for geometry, park_id, way_id in zip(layer.geometries, layer.column("park_id"), layer.column("way_id")):
        point = geometry[0]
        assert parks[park_id].exterior.distance(Point(point)) < 1e-6
        assert way_id in vertices[point]


def test_buildings_are_clear_of_network_and_green(town):
    network = unary_union([g for g, _row in lines(town)])
    parks = unary_union([p for p, _row in green(town)])
    buildings = [Polygon(g) for g in town.layers["buildings"].geometries]
    assert all(b.is_valid and b.area > 50 for b in buildings)
    assert not any(b.intersects(network) or b.intersects(parks) for b in buildings)
    assert unary_union(buildings).area == pytest.approx(sum(b.area for b in buildings))


def test_population_is_plausible(town):
    population = np.array(town.layers["buildings"].column("population"))
    kinds = np.array(town.layers["buildings"].column("building"))
    assert (population[np.isin(kinds, ["house", "apartments"])] > 0).all()
    assert (population[~np.isin(kinds, ["house", "apartments"])] == 0).all()
    assert 2000 * 4 <= population.sum() <= 15000 * 4  # residents per km² of a German town, 4 km²
    districts = town.layers["districts"]
    assert sum(districts.column("population")) == population.sum()


def test_age_groups_are_plausible_and_differ_by_district(town):
    buildings = town.layers["buildings"]
    population = np.array(buildings.column("population"))
    older = np.array(buildings.column("pop_65plus"))
    children = np.array(buildings.column("pop_children"))
    assert (older >= 0).all() and (children >= 0).all() and (older + children <= population).all()  # noqa: PT018
    assert 0.12 <= older.sum() / population.sum() <= 0.30  # German towns: about 20 % aged 65+
    assert 0.10 <= children.sum() / population.sum() <= 0.25  # and about 16 % under 18
    centres = np.array([np.mean(np.array(ring[:-1]), axis=0) for ring in buildings.geometries])
    shares = []
    for ring in town.layers["districts"].geometries:
        (x0, y0), (x1, y1) = ring[0], ring[2]
        inside = (centres[:, 0] >= x0) & (centres[:, 0] < x1) & (centres[:, 1] >= y0) & (centres[:, 1] < y1)
        if population[inside].sum() >= 300:
            shares.append(older[inside].sum() / population[inside].sum())
    assert max(shares) - min(shares) > 0.08  # the north-west is older than the south-east
    again = generate_town(42, 2.0).layers["buildings"]
    assert again.column("pop_65plus") == buildings.column("pop_65plus")  # seeded


def test_homes_close_to_a_big_park_across_the_arterial_without_crossing(town):
    barrier = unary_union([LineString(g) for g in town.layers["barriers"].geometries])
    big = [p for p, _row in green(town) if p.area >= 20000]
    crossings = [Point(g[0]) for g in town.layers["crossings"].geometries]
    layer = town.layers["buildings"]
    cut_off = 0
    for geometry, population in zip(layer.geometries, layer.column("population")):
        home = Polygon(geometry).centroid
        park = min(big, key=home.distance)
        if population and home.distance(park) < 120:
            from shapely.ops import nearest_points

            link = LineString(nearest_points(home, park))
            if link.crosses(barrier) and min(home.distance(c) for c in crossings) > 300:
                cut_off += population
    assert cut_off >= 50


def test_districts_cover_the_town_with_indicators(town):
    layer = town.layers["districts"]
    shapes = [Polygon(g) for g in layer.geometries]
    assert unary_union(shapes).equals(box(530000, 5680000, 532000, 5682000))
    assert sum(s.area for s in shapes) == pytest.approx(4e6)
    assert len(set(layer.column("name"))) == len(shapes) == len(set(layer.column("district_id")))
    for name in ("no2", "pm25", "noise_lden", "heat_days"):
        assert None not in layer.column(name)
    unemployment = np.array([np.nan if v is None else v for v in layer.column("unemployment")], dtype=float)
    assert 0 < np.isnan(unemployment).sum() < len(shapes) / 4  # tiny populations suppressed
    income = np.array([np.nan if v is None else v for v in layer.column("income")], dtype=float)
    ok = ~np.isnan(income)
    assert np.corrcoef(income[ok], unemployment[ok])[0, 1] < -0.5  # deprivation hangs together
    no2 = np.array(layer.column("no2"))
    road = np.array(
        [min(abs(s.centroid.x - 531000), abs(s.centroid.y - 5681000)) for s in shapes]
    )  # roughly: arterials near the centre lines
    assert no2[road < 200].mean() > no2[road > 500].mean() + 5


def observation_table(town):
    rows = town.layers["observations"].rows
    return rows, {row[0] for row in rows}


def test_observation_counts_and_gaps(town):
    rows, stations = observation_table(town)
    full = len(stations) * len(PROPERTIES) * HOURS
    assert len(stations) == len(town.layers["stations"].rows) >= 6
    assert 0.95 * full < len(rows) < full
    per_stream = defaultdict(list)
    for row in rows:
        per_stream[row[1]].append(row[4])
    assert len(per_stream) == len(stations) * len(PROPERTIES)
    assert all(650 <= len(times) <= HOURS and times == sorted(set(times)) for times in per_stream.values())
    nulls = sum(row[6] is None for row in rows)
    assert 0.005 * len(rows) < nulls < 0.03 * len(rows)
    # whole hours dropped: a (station, hour) missing for every property
    hours = defaultdict(set)
    for row in rows:
        hours[row[0]].add(row[4])
    assert any(len(h) < HOURS - 20 for h in hours.values())  # the station that was offline for a day
    assert all(row[5] - row[4] == rows[0][5] - rows[0][4] for row in rows[:50])


def test_exactly_one_faulty_sensor_is_detectable(town):
    rows, _stations = observation_table(town)
    streams = defaultdict(list)
    for row in rows:
        streams[row[1]].append(row[6])
    faulty = []
    for stream, values in streams.items():
        longest, run = 1, 1
        for previous, value in zip(values, values[1:]):
            run = run + 1 if value is not None and value == previous else 1
            longest = max(longest, run)
        if longest >= 24 or SENTINEL in values:
            faulty.append(stream)
    assert faulty == [f"{town.facts['faulty_station']}/no2"]


def hourly_means(town, prop, station_filter=None):
    stations = town.layers["stations"]
    site = dict(zip(stations.column("station_id"), stations.column("site")))
    sums, counts = np.zeros(24), np.zeros(24)
    for row in town.layers["observations"].rows:
        if (
            row[2] == prop
            and row[6] is not None
            and row[6] != SENTINEL
            and (station_filter is None or station_filter(site[row[0]]))
        ):
            sums[row[4].hour] += row[6]
            counts[row[4].hour] += 1
    return sums / counts


def test_daily_cycles(town):
    no2 = hourly_means(town, "no2")
    assert no2[8] > no2[3] * 1.3
    assert no2[5] > no2[1]  # morning rush hour (07:00 CEST)
    temperature = hourly_means(town, "air_temperature")
    assert 11 <= int(np.argmax(temperature)) <= 15  # afternoon in local time
    assert int(np.argmin(temperature)) in range(1, 6)
    road = hourly_means(town, "noise_laeq", lambda s: s == "roadside")
    background = hourly_means(town, "noise_laeq", lambda s: s == "background")
    assert (road > background).all()
    assert road[8] > road[1] + 6
    no2_road = hourly_means(town, "no2", lambda s: s == "roadside")
    no2_background = hourly_means(town, "no2", lambda s: s == "background")
    assert no2_road.mean() > no2_background.mean() + 8


def test_traffic_profile_weekend_is_quieter():
    hours = np.arange(24, dtype=float)
    weekday, sunday = traffic_profile(hours, np.zeros(24)), traffic_profile(hours, np.full(24, 6))
    assert (sunday < weekday).all()
    assert weekday[7] > 2 * weekday[3]


def test_csv_rows():
    rows = [("ST01", "ST01/no2", "no2", "µg/m³", generate_town(1, 1.0).facts["start"], None, None, "x")]
    table = csv_rows(rows, {"ST01": ("Hauptstraße 1", 9.5, 51.3)})
    assert table[0] == ["station_id", "name", "lon", "lat", "property", "unit", "time", "value"]
    assert table[1] == ["ST01", "Hauptstraße 1", "9.5000000", "51.3000000", "no2", "µg/m³", "2024-06-01T00:00:00Z", ""]


@pytest.mark.parametrize("size", [1.0, 1.3, 4.0])
def test_other_sizes_keep_the_built_in_situations(size):
    town = generate_town(3, size)
    parks = green(town)
    assert sum(p.area >= 20000 for p, _ in parks) >= 2
    pairs = [(a, b) for i, (a, _) in enumerate(parks) for b, _ in parks[i + 1 :] if a.distance(b) < 10]
    assert len(pairs) == 1
    assert all(p.area < 20000 for p in pairs[0])
    assert sum(p.area for p in pairs[0]) >= 20000
    extent = box(530000, 5680000, 530000 + size * 1000, 5680000 + size * 1000)
    assert unary_union([Polygon(g) for g in town.layers["districts"].geometries]).equals(extent)
    test_network_is_connected_through_shared_vertices(town)
    test_footbridge_and_underpass_cross_without_shared_vertex(town)
    test_homes_close_to_a_big_park_across_the_arterial_without_crossing(town)
    test_entrances_are_where_paths_meet_green_edges(town)
    test_buildings_are_clear_of_network_and_green(town)


def test_bigger_towns_get_more_big_parks():
    def big(size):
        return sum(p.area >= 20000 for p, _row in green(generate_town(8, size)))

    assert big(2.0) == 2
    assert big(4.0) > 2 * big(2.0)
