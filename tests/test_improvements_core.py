"""Pure tests of core.green.improvements on layouts where the best crossing is known by hand.

Strip layout: a green strip along y in [-50, 50] covers the southern row of a grid (ways every
100 m on x, y in 0..400, vertical ways with a vertex at y = 250 and 350). A railway along
y = 250 (not walkable, beyond both ends of the grid) cuts the north off: every way north of
it is unreachable. Opening the rail at (x, 250) (200 m from green) makes (x, 300) 250 m away
and (x +- 100, 300) 350 m away, so a home 5 m east of (x, 330) is 285 m from green through
the crossing at x, 385 m through one at x +- 100 and out of reach (> 400 m) otherwise.
"""

from __future__ import annotations

import numpy as np
import pytest
from social_resilience.core.green.access import (
    attach_residential,
    boundary_segments,
    build_access_network,
    points_in_rings,
)
from social_resilience.core.green.barrier_sides import split_barrier_sides
from social_resilience.core.green.improvements import (
    CROSSING,
    ENTRANCE,
    barrier_nodes,
    crossing_candidates,
    entrance_sites,
    plan_improvements,
    snap_to_barrier_nodes,
)
from social_resilience.core.green.walk_graph import build_graph

STRIP = [[np.array([[-50, -50], [450, -50], [450, 50], [-50, 50], [-50, -50]], float)]]
XS = [0.0, 100.0, 200.0, 300.0, 400.0]
RAIL = np.array([[-100, 250]] + [[x, 250] for x in XS] + [[500, 250]], float)
#: Homes 5 m east of (x, 330) and their populations: each crossing serves its own column and
#: both neighbours, so alone: x=0: 25, 100: 65, 200: 60, 300: 80, 400: 40.
NORTH = {0.0: 15.0, 100.0: 10.0, 200.0: 40.0, 300.0: 10.0, 400.0: 30.0}
SOUTH_HOME, FAR_HOME = ((105.0, 130.0), 100.0), ((2000.0, 2000.0), 20.0)
SETTINGS = (400.0, 200.0, 50.0, 10)


def stretches(lines):
    """Edges of the lines as (p0, p1) arrays."""
    p0 = np.concatenate([np.asarray(line, float)[:-1] for line in lines])
    p1 = np.concatenate([np.asarray(line, float)[1:] for line in lines])
    return p0, p1


def contains(points: np.ndarray) -> np.ndarray:
    return points_in_rings(points, STRIP)


def strip_lines(stops=(0, 100, 200, 250, 300, 400)) -> list[np.ndarray]:
    rows = [np.array([[x, y] for x in XS]) for y in (0.0, 100.0, 200.0, 300.0, 400.0)]
    cols = [np.array([[x, y] for y in stops], float) for x in XS]
    return rows + cols


def access(rails, crossings=None, lines=None):
    graph, keys = build_graph(strip_lines() if lines is None else lines)
    split = split_barrier_sides(graph, keys, rails, crossings)
    return split, build_access_network(split, boundary_segments(STRIP), contains, limit=5000.0)


def homes(north=NORTH):
    xy = [*((x + 5.0, 330.0) for x in north), SOUTH_HOME[0], FAR_HOME[0]]
    pop = [*north.values(), SOUTH_HOME[1], FAR_HOME[1]]
    return np.array(xy), np.array(pop)


def crossing_x(split, plan, rank: int) -> float:
    return float(plan.candidates.xy[plan.ranking.order[rank], 0])


def test_barrier_nodes_are_the_rail_nodes_not_yet_opened():
    split, _ = access([RAIL])
    xy = split.graph.xy[np.searchsorted(split.copy_node, barrier_nodes(split))]
    assert sorted(map(tuple, xy.tolist())) == [(x, 250.0) for x in XS]
    split, _ = access([RAIL], crossings=np.array([[100.0, 251.0]]))
    assert len(barrier_nodes(split)) == 4
    assert snap_to_barrier_nodes(split, np.array([[100.0, 252.0], [300.0, 253.0], [300.0, 280.0]]), 5.0)[0] == -1


def test_gain_alone_and_greedy_ranks_known_by_hand():
    split, net = access([RAIL])
    xy, pop = homes()
    plan = plan_improvements(net, crossing_candidates(split), np.zeros((0, 2)), xy, pop, SETTINGS)
    alone = {float(x): g for (x, _), g in zip(plan.candidates.xy.tolist(), plan.ranking.gain_alone)}
    assert alone == {0.0: 25.0, 100.0: 65.0, 200.0: 60.0, 300.0: 80.0, 400.0: 40.0}
    ranking = plan.ranking
    assert ranking.total == 225.0
    assert ranking.served_before == 100.0
    # rank 1: x=300 (80 alone); then x=0 and x=100 both add the 25 people of columns 0 and 100:
    # the tie goes to the larger gain alone (x=100). Afterwards everyone in reach is served.
    assert [crossing_x(split, plan, r) for r in range(len(ranking.order))] == [300.0, 100.0]
    assert ranking.gain == [80.0, 25.0]
    assert ranking.served_after == [180.0, 205.0]
    assert ranking.share(ranking.served_final) == pytest.approx(205 / 225)
    first_homes = sorted(xy[ranking.homes[0], 0].tolist())
    assert first_homes == [205.0, 305.0, 405.0]
    assert np.allclose(sorted(ranking.home_dist[0]), [285.0, 385.0, 385.0])
    assert (plan.candidates.kind == CROSSING).all()


def test_gain_alone_equals_the_catchments_with_that_crossing():
    split, net = access([RAIL])
    xy, pop = homes()
    before, _ = attach_residential(net, xy, 200.0)
    plan = plan_improvements(net, crossing_candidates(split), np.zeros((0, 2)), xy, pop, SETTINGS)
    for (x, y), gain in zip(plan.candidates.xy.tolist(), plan.ranking.gain_alone):
        _, opened = access([RAIL], crossings=np.array([[x, y]]))
        after, _ = attach_residential(opened, xy, 200.0)
        assert pop[(after <= 400) & ~(before <= 400)].sum() == gain


def test_second_rail_is_worth_something_only_after_the_first():
    # Rails at y = 150 and 250; between them only the north-south ways (no row), 300 m walks.
    rows = [np.array([[x, y] for x in XS]) for y in (0.0, 100.0, 300.0, 400.0)]
    cols = [np.array([[x, y] for y in (0, 100, 150, 250, 300, 400)], float) for x in XS]
    rails = [RAIL - [0, 100], RAIL]
    split, net = access(rails, lines=rows + cols)
    # (105, 190): 100 m to (100, 150), +40 +5 = 145 m through x=100 on the first rail only;
    # (105, 290): 200 m to (100, 250), +40 +5 = 245 m through x=100 on both rails.
    xy, pop = np.array([(105.0, 190.0), (105.0, 290.0)]), np.array([10.0, 7.0])
    plan = plan_improvements(net, crossing_candidates(split), np.zeros((0, 2)), xy, pop, (300.0, 200.0, 50.0, 10))
    cxy = plan.candidates.xy.tolist()
    alone = {tuple(c): g for c, g in zip(cxy, plan.ranking.gain_alone) if g}
    assert alone == {(100.0, 150.0): 10.0}
    assert [cxy[i] for i in plan.ranking.order] == [[100.0, 150.0], [100.0, 250.0]]
    assert plan.ranking.gain == [10.0, 7.0]


def test_entrance_sites_where_a_way_passes_the_park_without_reaching_it():
    park = [[np.array([[120, 120], [180, 120], [180, 180], [120, 180], [120, 120]], float)]]
    lines = [np.array([[0, 100], [300, 100]]), np.array([[0, 250], [300, 250]]), np.array([[150, 0], [150, 150]])]
    sites, green = entrance_sites(*stretches(lines), boundary_segments(park), lambda p: points_in_rings(p, park), 50.0)
    # y=100 passes 20 m south (site on the park's south edge); y=250 is 70 m away; x=150 enters the park.
    assert sites[:, 1].tolist() == [120.0]
    assert 120.0 <= sites[0, 0] <= 180.0
    assert green.tolist() == [0]


def test_entrance_candidate_brings_the_homes_behind_the_park():
    # Strip park with the west ways cut: a way at y=70 runs 20 m north of the park without touching it.
    lines = [np.array([[0, 70], [200, 70], [400, 70]]), np.array([[200, 70], [200, 170]])]
    graph, keys = build_graph(lines)
    split = split_barrier_sides(graph, keys, [], None)
    net = build_access_network(split, boundary_segments(STRIP), contains, limit=5000.0)
    sites, _ = entrance_sites(*stretches(lines), boundary_segments(STRIP), contains, 50.0)
    xy, pop = np.array([[205.0, 160.0]]), np.array([3.0])
    plan = plan_improvements(net, crossing_candidates(split), sites, xy, pop, SETTINGS)
    assert len(plan.candidates) >= 1
    assert (plan.candidates.kind == ENTRANCE).all()
    # the way never reaches the park: nobody is served before; an entrance 20 m away serves the home.
    assert plan.ranking.served_before == 0.0
    assert plan.ranking.gain == [3.0]
