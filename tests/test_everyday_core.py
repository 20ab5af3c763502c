"""Pure tests of core.green.places and core.green.rule_33030 on layouts worked out by hand or with shapely."""

from __future__ import annotations

import math

import numpy as np
import pytest
from shapely.geometry import Point, Polygon, box
from social_resilience.core.green.barrier_sides import no_barriers, split_barrier_sides
from social_resilience.core.green.places import (
    PRESETS,
    Places,
    attach_homes,
    boundary_sites,
    category_access,
    category_key,
    facility_access,
    parse_distances,
    place_graph,
)
from social_resilience.core.green.rule_33030 import CanopyGrid, disc_shares, grid_extent, rule_flags, trees_near
from social_resilience.core.green.walk_graph import build_graph


def graph_of(lines):
    return build_graph([np.asarray(line, dtype=float) for line in lines])


def test_category_names_and_distances():
    assert category_key(" Bus-Stop! ") == "bus_stop"
    assert category_key("Lebensmittel Markt") == "lebensmittel_markt"
    assert parse_distances("grocery=500; School = 1000\nbus stop=300.5") == {
        "grocery": 500.0, "school": 1000.0, "bus_stop": 300.5}  # fmt: skip
    assert parse_distances(" ; ") == {}
    for bad, part in (("grocery", "grocery"), ("grocery=0", "grocery=0"), ("a=1;b=-5", "b=-5"), ("a=x", "a=x"),
                      ("=5", "=5"), ("a=1;A=2", "A=2"), ("a=inf", "a=inf")):  # fmt: skip
        with pytest.raises(ValueError, match=f"^{part}$"):
            parse_distances(bad)
    assert set(PRESETS[0]) == {"grocery", "pharmacy", "doctor", "bus_stop"}
    assert set(PRESETS[1].values()) == {1200.0}


def test_boundary_sites_are_at_most_the_spacing_apart():
    ring = np.array([[0, 0], [25, 0], [25, 10], [0, 10], [0, 0]], float)
    xy, owner = boundary_sites([[ring], [np.array([[50.0, 50.0]])]], spacing=10.0)
    assert set(owner.tolist()) == {0, 1}
    outline = xy[owner == 0]
    assert {tuple(p) for p in ring.tolist()} <= {tuple(p) for p in outline.tolist()}
    gaps = np.hypot(*np.diff(outline, axis=0).T)
    assert gaps.max() <= 10.0 + 1e-9
    assert xy[owner == 1].tolist() == [[50.0, 50.0]]


def test_nearest_and_count_along_a_street_by_hand():
    graph, _ = graph_of([[(0, 0), (1000, 0)]])
    places = place_graph(no_barriers(graph), np.array([[100, 10], [600, -5], [900, 20]]), np.arange(3), 3, 200.0)
    homes = attach_homes(places, np.array([[0, 5], [300, 5], [550, 5], [1000, 50], [500, 500]]), 200.0)
    access = category_access(places, homes, np.arange(3), 300.0)
    # home (0, 5): 5 + 100 + 10 to the first place; (300, 5): 5 + 200 + 10, the second is 5 + 300 + 5 = 310
    assert access.dist[:4].tolist() == pytest.approx([115, 215, 60, 170])
    assert access.count.tolist() == [1, 1, 1, 1, 0]
    assert math.isinf(access.dist[4])  # 500 m from the street: beyond MAX_CONNECTOR
    wide = category_access(places, homes, np.arange(3), 400.0)
    assert wide.count.tolist() == [1, 2, 2, 1, 0]  # (1000, 50) is 50 + 400 + 5 m from the second


def test_a_walk_ends_at_a_place_it_never_passes_through():
    """A school ground touches two separate streets: its edge is reached from both, nobody crosses it."""
    graph, _ = graph_of([[(0, 0), (100, 0)], [(200, 0), (300, 0)]])
    ground = np.array([[90, 5], [210, 5], [210, 50], [90, 50], [90, 5]], float)
    xy, owner = boundary_sites([[ground], [np.array([[290.0, 5.0]])]])
    places = place_graph(no_barriers(graph), xy, owner, 2, 50.0)
    homes = attach_homes(places, np.array([[10.0, 5.0]]), 50.0)
    school = category_access(places, homes, np.array([0]), 1000.0)
    shop = category_access(places, homes, np.array([1]), 1000.0)
    assert school.dist[0] == pytest.approx(5 + 80 + 5)
    assert math.isinf(shop.dist[0])


def test_barrier_sides_hold_for_places_and_homes():
    """A road along y = 0 is a barrier; north and south streets meet it at x = 0; no crossing there."""
    lines = [[(-500, 0), (0, 0), (500, 0)], [(0, 0), (0, 200)], [(0, 0), (0, -200)]]
    graph, keys = graph_of(lines)
    closed = split_barrier_sides(graph, keys, [np.array(lines[0], float)])
    opened = split_barrier_sides(graph, keys, [np.array(lines[0], float)], crossings=np.array([[0.0, 0.0]]))
    shop = (np.array([[10.0, -150.0]]), np.array([0]), np.array([0]))
    homes = np.array([[10.0, 150.0]])
    for split, expected in ((closed, 10 + 150 + 1000 + 150 + 10), (opened, 10 + 150 + 150 + 10)):
        result = facility_access(split, homes, np.ones(1), Places(shop[0], shop[1], shop[2]), [5000.0], 200.0)
        assert result.categories[0].dist[0] == pytest.approx(expected)


def test_two_step_floating_catchment_by_hand():
    graph, _ = graph_of([[(0, 0), (1000, 0)]])
    places = place_graph(no_barriers(graph), np.array([[0, 0], [1000, 0]]), np.arange(2), 2, 10.0)
    homes = attach_homes(places, np.array([[100, 0], [500, 0], [900, 0]]), 10.0)
    access = category_access(places, homes, np.arange(2), 500.0, np.array([10.0, 20.0, 30.0]), np.array([60.0, 10.0]))
    # place 0 reaches homes 0 and 1 (30 residents): 2 each; place 1 homes 1 and 2 (50): 0.2 each
    assert access.count.tolist() == [1, 2, 1]
    assert access.capacity.tolist() == [60.0, 70.0, 10.0]
    assert access.per_1000.tolist() == pytest.approx([2000.0, 2200.0, 200.0])


def test_trees_near_homes_equal_shapely_distances():
    rng = np.random.default_rng(3)
    shapes, rings, points = [], [], []
    for k in range(150):
        x, y = rng.uniform(0, 800, 2)
        w, h = rng.uniform(5, 80, 2)
        ring = np.array([[x, y], [x + w, y], [x + w, y + h], [x + w / 2, y + h / 3], [x, y + h], [x, y]])
        if k % 4 == 0:  # an address point
            shapes.append(Point(x, y))
            rings.append([])
        else:
            shapes.append(Polygon(ring))
            rings.append([ring])
        points.append((x, y))
    trees = rng.uniform(-20, 820, (2500, 2))
    expected = [sum(shape.distance(Point(t)) <= 15.0 for t in trees) for shape in shapes]
    got = trees_near(rings, np.array(points), trees, 15.0)
    assert got.tolist() == expected
    assert max(expected) >= 5


def test_canopy_share_of_a_disc_on_a_grid():
    points = np.array([[0.0, 0.0], [100.0, 0.0], [-300.0, 40.0]])
    cell = 0.5
    left, top, cols, rows = grid_extent(points, 100.0, cell)
    x = left + (np.arange(cols) + 0.5) * cell
    y = top - (np.arange(rows) + 0.5) * cell
    xx, yy = np.meshgrid(x, y)
    wood = box(-50, -1000, 1000, 30)
    canopy = (xx >= -50) & (yy <= 30)
    valid = xx <= 120  # no data east of x = 120
    shares = disc_shares(CanopyGrid(canopy, valid, left, top, cell), points, 100.0)
    for share, (px, py) in zip(shares, points):
        disc = Point(px, py).buffer(100.0, 256).intersection(box(-1e4, -1e4, 120, 1e4))
        assert share == pytest.approx(disc.intersection(wood).area / disc.area, abs=0.003)
    assert shares[2] == 0.0
    outside = disc_shares(CanopyGrid(canopy, valid, left, top, cell), np.array([[500.0, 0.0]]), 100.0)
    assert np.isnan(outside[0])  # the grid holds no data there


def test_rule_flags():
    flags = rule_flags(np.array([3, 2, 5]), np.array([0.3, 0.5, np.nan]), np.array([300.0, 10.0, np.inf]), 300.0)
    assert flags.rule_3.tolist() == [True, False, True]
    assert flags.rule_30.tolist() == [True, True, False]
    assert flags.rule_300.tolist() == [True, True, False]
    assert flags.rule_all.tolist() == [True, False, False]
    assert flags.met.tolist() == [3, 2, 1]
