"""Pure tests of the green-access core: graph, barrier sides, one multi-source Dijkstra, pieces.

The synthetic grid: nodes every 100 m on x, y in 0..400, green square [-50, 50]^2 at the
origin, so without barriers a grid node (x, y) is x + y - 50 m from the green space.
"""

from __future__ import annotations

import numpy as np
import pytest
from social_resilience.core.green.access import (
    attach_residential,
    barrier_rejector,
    boundary_segments,
    build_access_network,
    cluster_labels,
    nearest_green,
    nearest_source,
    points_in_rings,
    population_per_green,
    served_statistics,
    split_edges,
    standard_values,
)
from social_resilience.core.green.barrier_sides import (
    AUTOMATIC,
    GEOMETRIC,
    TOPOLOGY,
    no_barriers,
    split_barrier_sides,
)
from social_resilience.core.green.polygons import piece_probes, reachable_pieces
from social_resilience.core.green.walk_graph import (
    SegmentIndex,
    WalkGraph,
    attach_points,
    build_graph,
    pack_keys,
    unpack_keys,
)

STEP = 100.0
GREEN = [[np.array([[-50, -50], [50, -50], [50, 50], [-50, 50], [-50, -50]], float)]]
BARRIER = [np.array([[-100, 200], [0, 200], [100, 200], [200, 200], [300, 200]], float)]


def grid_lines(n: int = 5) -> list[np.ndarray]:
    coords = np.arange(n) * STEP
    rows = [np.column_stack([coords, np.full(n, y)]) for y in coords]
    cols = [np.column_stack([np.full(n, x), coords]) for x in coords]
    return rows + cols


def contains(points: np.ndarray) -> np.ndarray:
    return points_in_rings(points, GREEN)


def network(lines, barriers=None, crossings=None):
    graph, keys = build_graph(lines)
    split = split_barrier_sides(graph, keys, barriers, crossings) if barriers else no_barriers(graph)
    return split, build_access_network(split, boundary_segments(GREEN), contains, limit=5000.0)


def test_keys_round_trip_and_snapping():
    xy = np.array([[612345.674, 5456789.126], [-12.0, 3.0]])
    assert np.allclose(unpack_keys(pack_keys(xy)), np.round(xy, 2))
    graph, _ = build_graph([np.array([[0, 0], [10, 0]]), np.array([[10.002, 0.001], [10, 10]])])
    assert graph.n_nodes == 3  # (10, 0) and (10.002, 0.001) are one node on the 1 cm grid
    assert sorted(graph.length) == [10.0, 10.0]
    with pytest.raises(ValueError, match="metric CRS"):
        pack_keys(np.array([[np.nan, 0.0]]))


def test_grid_distances_are_manhattan_minus_half_the_green():
    _, net = network(grid_lines())
    pts = np.array([[x, y] for x in np.arange(5) * STEP for y in np.arange(5) * STEP if x or y])
    dist, green = attach_residential(net, pts, max_connector=1.0)
    assert np.allclose(dist, pts.sum(axis=1) - 50.0)
    assert set(green) == {0}
    # three access points: the node at the origin and the two boundary crossings
    assert len(net.sources) == 3


def test_point_between_nodes_gets_connector_plus_path():
    _, net = network(grid_lines())
    dist, _ = attach_residential(net, np.array([[250.0, 330.0]]), max_connector=200.0)
    # nearest edge is y = 300 at 30 m; projection (250, 300) is 250 + 300 - 50 away
    assert dist[0] == pytest.approx(30.0 + 500.0)


def test_barrier_without_crossing_forces_detour_round_its_end():
    split, net = network(grid_lines(), BARRIER)
    assert split.n_split == 3  # (0,200), (100,200), (200,200); (300,200) is the barrier's end
    dist, _ = attach_residential(net, np.array([[0.0, 300.0], [400.0, 300.0]]), max_connector=1.0)
    # north of the barrier: round the end at (300, 200) = 450, then 300 m along + 100 m up
    assert dist[0] == pytest.approx(850.0)
    # beyond the barrier's end nothing changes
    assert dist[1] == pytest.approx(400 + 300 - 50.0)


def test_sidewalk_sides_of_a_walkable_barrier_road():
    _, net = network(grid_lines(), BARRIER)
    south, north = np.array([[50.0, 190.0]]), np.array([[50.0, 210.0]])
    d_south, _ = attach_residential(net, south, max_connector=50.0)
    d_north, _ = attach_residential(net, north, max_connector=50.0)
    # south: node (0, 200) south copy = 150, + 50 along the road + 10 connector
    assert d_south[0] == pytest.approx(210.0)
    # north: via the end (300, 200) = 450, west along the north sidewalk to x = 50: 250 more
    assert d_north[0] == pytest.approx(450 + 250 + 10.0)


def test_crossing_reconnects_the_sides():
    _, net = network(grid_lines(), BARRIER, crossings=np.array([[101.5, 198.0]]))
    dist, _ = attach_residential(net, np.array([[0.0, 300.0], [50.0, 210.0]]), max_connector=50.0)
    # crossing at (100, 200) = 250, then (100, 300) 350, then (0, 300) 450
    assert dist[0] == pytest.approx(450.0)
    # north sidewalk point: 250 at the crossing + 50 west + 10 connector
    assert dist[1] == pytest.approx(310.0)


def test_crossing_farther_than_snap_distance_is_ignored():
    split, net = network(grid_lines(), BARRIER, crossings=np.array([[150.0, 200.0]]))
    assert split.n_crossings == 0
    dist, _ = attach_residential(net, np.array([[0.0, 300.0]]), max_connector=1.0)
    assert dist[0] == pytest.approx(850.0)


def test_grade_separated_bridge_passes_the_barrier():
    bridge = np.array([[0, 100], [50, 150], [50, 250], [0, 300]], float)
    _, net = network([*grid_lines(), bridge], BARRIER)
    dist, _ = attach_residential(net, np.array([[0.0, 300.0]]), max_connector=1.0)
    # (0, 100) is 50 m away; the bridge crosses the barrier at (50, 200) without a shared vertex
    assert dist[0] == pytest.approx(50 + 2 * np.hypot(50, 50) + 100)


def test_barrier_junction_makes_three_sides():
    # a T of barriers at (200, 200): the row y = 200 and the column x = 200 north of it
    t_barrier = [*BARRIER, np.array([[200, 200], [200, 300], [200, 400], [200, 500]], float)]
    split, net = network(grid_lines(), t_barrier)
    at_t = np.flatnonzero(np.all(split.graph.xy == [200.0, 200.0], axis=1))
    assert len(at_t) == 3
    dist, _ = attach_residential(net, np.array([[100.0, 300.0], [300.0, 300.0]]), max_connector=1.0)
    # the north-west quadrant is closed to the south and east (the column's end (200, 500) lies
    # outside the network), so it is unreachable; the north-east is reached round (300, 200)
    assert np.isinf(dist[0])
    assert dist[1] == pytest.approx(300 + 200 - 50 + 100)


def test_connector_does_not_cross_a_barrier_line():
    lines = [np.array([[0, 0], [0, 100]], float), np.array([[100, 0], [100, 100]], float)]
    rail = [np.array([[60, -50], [60, 150]], float)]
    graph, keys = build_graph(lines)
    split = split_barrier_sides(graph, keys, rail)
    index = SegmentIndex(split.graph.xy[split.graph.u], split.graph.xy[split.graph.v])
    pts = np.array([[55.0, 50.0], [70.0, 50.0]])
    bindex = SegmentIndex(split.barrier_p0, split.barrier_p1)
    seg, _, conn = attach_points(pts, index, 100.0, reject=barrier_rejector(pts, split.graph, bindex))
    assert conn == pytest.approx([55.0, 30.0])
    x_of_seg = split.graph.xy[split.graph.u[seg], 0]
    assert list(x_of_seg) == [0.0, 100.0]
    seg, _, conn = attach_points(pts[:1], index, 50.0, reject=barrier_rejector(pts[:1], split.graph, bindex))
    assert seg[0] == -1  # the only network within 50 m lies across the railway
    assert np.isinf(conn[0])


def test_far_point_is_unattached():
    _, net = network(grid_lines())
    dist, green = attach_residential(net, np.array([[1000.0, 1000.0]]), max_connector=200.0)
    assert np.isinf(dist[0])
    assert green[0] == -1


def test_split_edges_and_parallel_edges_keep_the_minimum():
    graph = WalkGraph(np.array([[0, 0], [10, 0]], float), np.array([0, 0]), np.array([1, 1]), np.array([10.0, 7.0]))
    dist, origin = nearest_source(graph, np.array([0, 0]), limit=100.0)
    assert dist[1] == pytest.approx(7.0)  # not 17 (coo->csr sums duplicates)
    assert list(origin) == [0, 0]
    split, nodes = split_edges(graph, np.array([0, 0, 0]), np.array([0.25, 0.0, 0.25]))
    assert split.n_nodes == 3
    assert nodes[0] == nodes[2] == 2
    assert nodes[1] == 0
    assert sorted(split.length) == pytest.approx([2.5, 7.0, 7.5])


def test_limit_and_labels_of_two_sources():
    graph, _ = build_graph([np.array([[0, 0], [100, 0], [200, 0], [300, 0]], float)])
    dist, origin = nearest_source(graph, np.array([0, 3]), limit=120.0)
    assert list(dist) == [0.0, 100.0, 100.0, 0.0]
    assert list(origin) == [0, 0, 3, 3]
    dist, origin = nearest_source(graph, np.array([0]), limit=150.0)
    assert np.isinf(dist[2])
    assert origin[2] == -1


def test_reachable_pieces_cut_partial_edges():
    graph, _ = build_graph([np.array([[0, 0], [100, 0], [200, 0]], float)])
    dist, origin = nearest_source(graph, np.array([0]), limit=1000.0)
    pieces = reachable_pieces(graph, dist, np.where(origin >= 0, 0, -1), 150.0)
    covered = sum(np.hypot(*(pieces.p1 - pieces.p0).T))
    assert covered == pytest.approx(150.0)
    assert pieces.p1[:, 0].max() == pytest.approx(150.0)


def test_reachable_pieces_split_between_two_greens():
    graph, _ = build_graph([np.array([[0, 0], [100, 0]], float)])
    pieces = reachable_pieces(graph, np.array([0.0, 20.0]), np.array([0, 1]), 400.0)
    ends = {int(lab): (p0[0], p1[0]) for lab, p0, p1 in zip(pieces.label, pieces.p0, pieces.p1)}
    assert ends[0] == pytest.approx((0.0, 60.0))
    assert ends[1] == pytest.approx((60.0, 100.0))


def test_piece_probes_move_to_their_side():
    graph, _ = build_graph([np.array([[0, 0], [100, 0]], float)])
    graph.side[:] = 1
    pieces = reachable_pieces(graph, np.array([0.0, 100.0]), np.array([0, 0]), 400.0)
    probes = piece_probes(pieces, offset=1.0)
    assert np.allclose(probes[:, 1], 1.0)  # left of west->east is north


def test_nearest_green_and_clusters_and_statistics():
    dist, green = nearest_green(np.array([[0, 0], [80, 0], [80, 90]], float), boundary_segments(GREEN), contains)
    assert dist == pytest.approx([0.0, 30.0, 50.0])
    assert list(green) == [0, 0, 0]
    assert list(cluster_labels(4, np.array([0, 2]), np.array([1, 3]))) == [0, 0, 1, 1]
    stats = served_statistics(np.array([10, 20, 30.0]), np.array([1, 0, 1]), np.array([1, 1, 1]))
    assert (stats.total, stats.served, stats.share, stats.share_eucl) == (60.0, 40.0, 40 / 60, 1.0)
    assert served_statistics(np.zeros(0), np.zeros(0), np.zeros(0)).share is None
    per_green = population_per_green(np.array([0, 1, -1, 1]), np.array([1, 2, 3, 4.0]), np.array([1, 1, 0, 0]), 2)
    assert list(per_green) == [1.0, 2.0]


def test_standards():
    assert standard_values(0, 250.0, 1.5) == (250.0, 1.5)
    assert standard_values(2, 250.0, 1.5) == (500.0, 0.5)
    assert standard_values(4, 250.0, 1.5) == (300.0, 1.0)
    with pytest.raises(ValueError, match="Unknown standard"):
        standard_values(9, 1, 1)


# -- barriers from another source ---------------------------------------------------------------

RAIL_X = 250.0
TWO_VERTEX_RAIL = [np.array([[RAIL_X, -50], [RAIL_X, 450]], float)]


def test_topology_takes_a_crossing_without_shared_vertex_for_a_bridge_geometric_cuts_it():
    graph, keys = build_graph(grid_lines())
    plain = build_access_network(no_barriers(graph), boundary_segments(GREEN), contains, limit=5000.0)
    home = np.array([[400.0, 0.0]])
    free, _ = attach_residential(plain, home, 1.0)
    for mode, expected in ((TOPOLOGY, free[0]), (GEOMETRIC, np.inf), (AUTOMATIC, np.inf)):
        split = split_barrier_sides(graph, keys, TWO_VERTEX_RAIL, mode=mode)
        net = build_access_network(split, boundary_segments(GREEN), contains, limit=5000.0)
        dist, _ = attach_residential(net, home, 1.0)
        assert dist[0] == expected, mode  # the rail spans the whole grid: no way round
    split = split_barrier_sides(graph, keys, TWO_VERTEX_RAIL, mode=GEOMETRIC)
    assert (split.n_topology, split.n_geometric, split.n_cuts, split.n_split) == (0, 1, 5, 5)


def test_geometric_cut_reopened_by_a_crossing_and_passed_by_a_bridge():
    lines = grid_lines()
    graph, keys = build_graph(lines)
    home = np.array([[400.0, 0.0]])
    split = split_barrier_sides(graph, keys, TWO_VERTEX_RAIL, np.array([[RAIL_X + 3.0, 301.0]]), mode=GEOMETRIC)
    net = build_access_network(split, boundary_segments(GREEN), contains, limit=5000.0)
    # up to y = 300, west over the crossing to (250, 300), which is 500 m from the green
    assert attach_residential(net, home, 1.0)[0][0] == pytest.approx(300 + 150 + 500)
    grade = np.r_[np.zeros(len(lines), bool), True]  # a footbridge along y = 0 between (200, 0) and (300, 0)
    bridge = np.array([[200.0, 0.0], [250.0, 10.0], [300.0, 0.0]])
    graph, keys = build_graph([*lines, bridge], grade_separated=grade)
    net = build_access_network(
        split_barrier_sides(graph, keys, TWO_VERTEX_RAIL, mode=GEOMETRIC), boundary_segments(GREEN), contains, 5000.0
    )
    assert attach_residential(net, home, 1.0)[0][0] == pytest.approx(150 + 2 * np.hypot(50, 10) + 100)


def test_node_within_barrier_snap_is_split_without_a_barrier_vertex():
    graph, keys = build_graph(grid_lines())
    beside = [np.array([[-100, 202.0], [300.4, 202.0]], float)]  # 2 m north of the row y = 200
    near = split_barrier_sides(graph, keys, beside, barrier_snap=3.0)
    far = split_barrier_sides(graph, keys, beside, barrier_snap=1.0)
    assert near.n_split == 3  # (0, 200), (100, 200), (200, 200); (300, 200) is at the barrier's end
    assert near.n_cuts == 0  # the streets cross within BARRIER_SNAP of those nodes
    assert far.n_split == 3  # new nodes where the streets x = 0, 100, 200 cross it; x = 300 meets its end
    assert far.n_cuts == 3  # the cut of x = 300 at the barrier's end divides nothing
    net = build_access_network(near, boundary_segments(GREEN), contains, limit=5000.0)
    dist, _ = attach_residential(net, np.array([[0.0, 300.0], [50.0, 210.0], [50.0, 190.0]]), max_connector=20.0)
    assert dist == pytest.approx([850.0, 710.0, 210.0])  # as with the barrier on the centreline


def test_connector_searches_past_many_candidates_across_a_barrier():
    # 40 short ways just across a railway from the home; the only way on its side is 150 m away
    across = [np.array([[x, 10.0], [x, 30.0]]) for x in np.arange(-40.0, 40.0, 2.0)]
    mine = np.array([[-75.0, -150.0], [75.0, -150.0]])
    graph, _ = build_graph([*across, mine])
    rail = SegmentIndex(np.array([[-100.0, 5.0]]), np.array([[100.0, 5.0]]))
    index = SegmentIndex(graph.xy[graph.u], graph.xy[graph.v])
    home = np.array([[0.0, 0.0]])
    seg, _, conn = attach_points(home, index, 200.0, reject=barrier_rejector(home, graph, rail))
    assert conn[0] == pytest.approx(150.0)
    assert graph.xy[graph.u[seg[0]], 1] == -150.0


def test_entrance_walk_counts_in_the_distance():
    graph, _ = build_graph(grid_lines())
    inner = [[np.array([[120, 120], [180, 120], [180, 180], [120, 180], [120, 120]], float)]]
    net = build_access_network(
        no_barriers(graph), boundary_segments(inner), lambda p: points_in_rings(p, inner), 5000.0,
        entrances=np.array([[150.0, 130.0]]),
    )  # fmt: skip
    dist, green = attach_residential(net, np.array([[400.0, 100.0]]), max_connector=1.0)
    assert dist[0] == pytest.approx(250.0 + 30.0)
    assert green[0] == 0


def test_grade_flags_of_shared_edges():
    graph, _ = build_graph(
        [np.array([[0, 0], [10, 0]], float), np.array([[10, 0], [0, 0]], float), np.array([[0, 0], [0, 10]], float)],
        grade_separated=[True, False, True],
    )
    by_end = {tuple(graph.xy[v]): bool(g) for v, g in zip(graph.v, graph.grade)}
    assert by_end == {(10.0, 0.0): False, (0.0, 10.0): True}  # an at-grade copy keeps the edge at grade


# -- the last barrier cases (issue 24) -----------------------------------------------------------
# A barrier along y = 0 from x = -200 to x = 150; a road just north of it; a side path from the home
# at (0, -30) north across the barrier to the road and on to a green space north of it (100 m);
# the only other way from the home runs east and round the barrier's end (500 m).

NORTH_GREEN = [[np.array([[-50, 70], [50, 70], [50, 170], [-50, 170], [-50, 70]], float)]]
HOME_SOUTH = np.array([[0.0, -30.0]])


def _distance_south(lines, barriers, crossings=None, mode=AUTOMATIC, barrier_snap=1.0) -> float:
    graph, keys = build_graph([np.array(line, float) for line in lines])
    split = split_barrier_sides(
        graph, keys, [np.array(b, float) for b in barriers], crossings, mode=mode, barrier_snap=barrier_snap
    )
    net = build_access_network(
        split, boundary_segments(NORTH_GREEN), lambda p: points_in_rings(p, NORTH_GREEN), limit=5000.0
    )
    return float(attach_residential(net, HOME_SOUTH, max_connector=1.0)[0][0])


def _layout(road_y: float, side_path: list) -> list:
    road = [[-300, road_y], [0, road_y], [200, road_y], [300, road_y]]
    round_the_end = [[0, -30], [200, -30], [200, road_y]]
    return [side_path, road, [[0, road_y], [0, 100]], round_the_end]


@pytest.mark.parametrize("mode", [AUTOMATIC, GEOMETRIC])
def test_a_node_just_in_front_of_the_barrier_does_not_cut_the_path_off(mode):
    barrier = [[[-200, 0], [150, 0]]]
    with_node = _layout(0.8, [[0, -30], [0, -0.5], [0, 0.8]])
    without = _layout(0.8, [[0, -30], [0, 0.8]])
    junction = np.array([[0.0, 0.8]])
    assert _distance_south(without, barrier, junction, mode) == pytest.approx(100.0)
    assert _distance_south(with_node, barrier, junction, mode) == pytest.approx(100.0)  # was 500: cut at (0, -0.5)
    for layout in (with_node, without):  # no crossing: round the barrier's end
        assert _distance_south(layout, barrier, None, mode) == pytest.approx(500.0)


def test_small_gaps_between_barrier_features_are_closed():
    """A barrier 3 m beside the road, BARRIER_SNAP 5 m, no crossing: the way round the end is 500 m."""
    layout = _layout(3.0, [[0, -30], [0, 3]])
    one = [[[-200, 0], [150, 0]]]
    meeting = [[[-200, 0], [0, 0]], [[0, 0], [150, 0]]]
    gap = [[[-200, 0], [-0.35, 0]], [[0.35, 0], [150, 0]]]  # 0.7 m apart where the side path meets the road
    for barriers in (one, meeting, gap):
        assert _distance_south(layout, barriers, barrier_snap=5.0) == pytest.approx(500.0)  # gap: was 100
    wide = [[[-200, 0], [-3, 0]], [[3, 0], [150, 0]]]  # a 6 m gap is wider than BARRIER_SNAP: a way through
    assert _distance_south(layout, wide, barrier_snap=5.0) == pytest.approx(100.0)


def test_barrier_snap_wider_than_the_barriers_segments_splits_beside_them():
    """A barrier line with a vertex every 4 m, 3 m beside the road, BARRIER_SNAP 5 m: no way straight across."""
    layout = _layout(3.0, [[0, -30], [0, 3]])
    fine = [[[x, 0.0] for x in np.arange(-199.0, 151.0, 4.0)]]
    assert _distance_south(layout, fine, barrier_snap=5.0) == pytest.approx(500.0)  # was 100


def test_no_distance_beyond_the_search_limit():
    """``net_dist_m`` is empty beyond the limit (5 x DISTANCE), connector and the walk along the edge included."""
    graph, _ = build_graph(grid_lines())
    net = build_access_network(no_barriers(graph), boundary_segments(GREEN), contains, limit=300.0)
    homes = np.array([[290.0, 60.0], [290.0, 0.0]])  # via (300, 0) at 250: 60 m up the edge + 10 m across, 0
    dist, green = attach_residential(net, homes, max_connector=20.0)
    assert dist[1] == pytest.approx(240.0)
    assert dist[0] == np.inf  # 320 m > 300 m (was 320)
    assert green[0] == -1


def test_cuts_are_counted_where_they_divide_a_way():
    """The log's "ways cut" counts cuts that divide a way, not those of a way on a line drawn with other vertices."""
    graph, keys = build_graph(grid_lines())
    road = [np.array([[-100, 200], [0, 200], [100, 200], [160, 200.3], [220, 200], [300, 200], [400, 200]], float)]
    rail = [np.array([[250, 40], [350, 60]], float)]  # crosses the street x = 300 at y = 50
    split = split_barrier_sides(graph, keys, road + rail, mode=GEOMETRIC)
    assert split.n_cuts == 1  # was 2: the row y = 200 crosses the road line at a tiny angle at x = 220
    net = build_access_network(split, boundary_segments(GREEN), contains, limit=5000.0)
    dist, _ = attach_residential(net, np.array([[300.0, 55.0], [120.0, 210.0]]), max_connector=20.0)
    assert dist[0] == pytest.approx(300 + 100 - 50 + 45)  # from (300, 100): the way from (300, 0) is cut at y = 50
    # north of the road: round its end at (400, 200) (550 m), then west along its north side past x = 160
    assert dist[1] == pytest.approx(550 + 280 + 10)


def test_a_barrier_ending_on_another_one_is_no_barrier_end():
    """A railway (x = 100) that ends on a road's line (y = 200) where the road has no vertex: a T-junction.

    A path node 3 m up the railway (BARRIER_SNAP 5) lay "within BARRIER_SNAP of the railway's end" and was
    not divided, so walkers crossed the railway there.
    """
    path = np.array([[50, 203], [100, 203], [150, 203]], float)
    graph, keys = build_graph([*grid_lines(), path])
    road = [np.array([[-100, 200], [300, 200]], float)]
    railway = [np.array([[100, 200], [100, 450]], float)]
    split = split_barrier_sides(graph, keys, road + railway, barrier_snap=5.0)
    node = int(np.flatnonzero(np.all(graph.xy == [100.0, 203.0], axis=1))[0])
    assert np.count_nonzero(split.copy_node == node) == 2  # was 1: the railway did not divide it
