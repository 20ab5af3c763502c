"""Green access equity core (pure numpy) and the report charts, against hand-computed values."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from social_resilience.core.charts import bar_chart_svg, lorenz_curve_svg
from social_resilience.core.green.equity import (
    area_equity,
    gini,
    grouped_weighted_median,
    locate_points,
    lorenz_points,
    priority_flags,
    weighted_median,
)

SVG = "{http://www.w3.org/2000/svg}"


# -- weighted median --------------------------------------------------------------------------


def test_weighted_median_by_hand():
    # sorted 100(1) 200(1) 300(1) 400(5): half of 8 is 4, first reached at 400
    assert weighted_median(np.array([300, 100, 400, 200.0]), np.array([1, 1, 5, 1.0])) == 400
    # 1(1) 3(1) 5(2): half of 4 is 2, reached exactly at 3 -> mean of 3 and the next value 5
    assert weighted_median(np.array([5, 1, 3.0]), np.array([2, 1, 1.0])) == 4
    # unit weights give numpy's median
    assert weighted_median(np.array([10, 20, 30, 40.0]), np.ones(4)) == 25
    # NaN values and zero weights are left out; nothing left -> None
    assert weighted_median(np.array([50, np.nan, 10.0]), np.array([1, 5, 0.0])) == 50
    assert weighted_median(np.array([np.nan, 10.0]), np.array([1, 0.0])) is None


def test_grouped_median_agrees_with_one_group_at_a_time():
    rng = np.random.default_rng(3)
    group = rng.integers(0, 20, 2000)
    values = np.round(rng.uniform(0, 900, 2000), -1)  # ties on purpose
    values[rng.random(2000) < 0.1] = np.nan
    weights = rng.integers(0, 6, 2000).astype(float)
    medians = grouped_weighted_median(group, values, weights, 22)
    for g in range(22):
        expected = weighted_median(values[group == g], weights[group == g])
        assert (np.isnan(medians[g]) and expected is None) or medians[g] == expected
    assert np.isnan(medians[20])
    assert np.isnan(medians[21])


# -- Gini and Lorenz curve --------------------------------------------------------------------


def test_gini_tiny_cases_by_hand():
    # two areas of equal population, one fully served, one not: 2·1·1·1 / (2·2²·0.5) = 0.5
    assert gini([1, 1], [0.0, 1.0]) == pytest.approx(0.5)
    # pops 100/200/300, shares .2/.5/.9: mean 0.65, Σ_i<j p_i p_j |s_i - s_j| = 6000 + 21000 + 24000,
    # Gini = 2 · 51000 / (2 · 600² · 0.65) = 102000 / 468000
    assert gini([100, 200, 300], [0.2, 0.5, 0.9]) == pytest.approx(102000 / 468000)
    assert gini([5, 7, 9], [0.4, 0.4, 0.4]) == pytest.approx(0.0)


def test_gini_leaves_out_areas_without_residents_or_share():
    assert gini([100, 200, 300, 0, 50], [0.2, 0.5, 0.9, 0.0, None]) == pytest.approx(102000 / 468000)
    assert gini([10, 20], [0.0, 0.0]) is None  # nobody served: no mean to divide by
    assert gini([0, 0], [0.3, 0.6]) is None
    assert gini([], []) is None


def test_gini_is_one_minus_twice_the_area_under_the_lorenz_curve():
    rng = np.random.default_rng(5)
    population = rng.integers(1, 500, 40).astype(float)
    share = rng.random(40)
    x, y = lorenz_points(population, share)
    area = float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2))
    assert gini(population, share) == pytest.approx(1 - 2 * area)
    assert (x[0], y[0], x[-1], y[-1]) == (0, 0, 1, 1)
    assert np.all(np.diff(y) >= 0)
    assert np.all(y <= x + 1e-12)


# -- priority rule ----------------------------------------------------------------------------


def test_priority_rule_percentile_rank_above_75_and_share_below_threshold():
    burden = np.array([10, 20, 30, 40, 50, 60, 70, 80, np.nan])
    share = np.array([0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.4, 0.5, 0.0])
    flags = priority_flags(burden, share, 0.5)
    # ranks over the 8 areas with a burden: 12.5 ... 100; 60 has rank 75 (not above 75),
    # 70 (87.5) is below 0.5 served, 80 (100) is exactly at 0.5 (not below); NaN burden -> NULL
    assert flags[:8].tolist() == [0, 0, 0, 0, 0, 0, 1, 0]
    assert math.isnan(flags[8])
    assert priority_flags(burden, share, 0.6)[:8].tolist() == [0, 0, 0, 0, 0, 0, 1, 1]


def test_priority_ties_and_areas_without_residents():
    # equal burdens all rank 100 (#(≤ x) = n); an area without residents (NaN share) is never priority
    flags = priority_flags(np.array([5.0, 5.0, 5.0, 5.0]), np.array([0.2, np.nan, 0.9, 0.0]), 0.5)
    assert flags.tolist() == [1, 0, 0, 1]


# -- areas ------------------------------------------------------------------------------------


def test_area_equity_by_hand():
    area = np.array([0, 0, 1, -1, 0])
    population = np.array([10.0, 30.0, 20.0, 50.0, 0.0])
    served = np.array([1, 0, 1, 1, 1], dtype=bool)
    served_eucl = np.array([1, 1, 1, 1, 1], dtype=bool)
    net_dist = np.array([100.0, 600.0, np.nan, 50.0, 10.0])
    groups = np.array([[2, 1], [3, 0], [0, 4], [9, 9], [0, 0]], dtype=float)
    result = area_equity(area, 3, population, served, served_eucl, net_dist, groups)
    assert result.pop.tolist() == [40, 20, 0]  # the feature in no area (-1) is left out
    assert result.pop_served.tolist() == [10, 20, 0]
    assert result.served_share[:2].tolist() == [0.25, 1.0]
    assert result.barrier_gap[:2].tolist() == [0.75, 0.0]
    assert result.dist_median_m[0] == 600  # 100 m (10 people), 600 m (30): half of 40 reached at 600
    assert math.isnan(result.dist_median_m[1])  # nobody there reaches a green space
    assert result.group_share[0].tolist() == [2 / 5, 1.0]
    assert math.isnan(result.group_share[1, 0])  # group without members in area 1
    assert result.group_share[1, 1] == 1.0
    for values in (result.served_share, result.served_share_eucl, result.barrier_gap, result.dist_median_m):
        assert math.isnan(values[2])  # area without residents: NULL, not 0


def _square(x0: float, y0: float, size: float) -> np.ndarray:
    return np.array([(x0, y0), (x0 + size, y0), (x0 + size, y0 + size), (x0, y0 + size), (x0, y0)])


def test_locate_points_holes_parts_shared_edges_and_outside():
    rings = [
        [_square(0, 0, 10), _square(4, 4, 2)[::-1]],  # square with a hole
        [_square(10, 0, 10)],  # shares the edge x = 10 with area 0
        [_square(100, 100, 5), _square(200, 200, 5)],  # two parts
        [],  # no usable polygon
        [_square(0, 0, 3)],  # overlaps area 0 (not its hole): area 0 wins
    ]
    points = np.array([(1, 1), (5, 5), (15, 5), (10, 5), (102, 102), (202, 203), (50, 50), (np.nan, np.nan)])
    assert locate_points(points, rings).tolist() == [0, -1, 1, 1, 2, 2, -1, -1]


def test_locate_points_matches_a_grid_of_many_areas():
    rng = np.random.default_rng(7)
    rings = [[_square(i * 10.0, j * 10.0, 10.0)] for j in range(30) for i in range(30)]
    points = rng.uniform(-5, 305, size=(20000, 2))
    inside = (points >= 0).all(axis=1) & (points < 300).all(axis=1)
    expected = np.where(inside, (points[:, 1] // 10) * 30 + points[:, 0] // 10, -1)
    assert np.array_equal(locate_points(points, rings), expected)


# -- charts -----------------------------------------------------------------------------------


def _texts(svg: str) -> list[str]:
    return [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]


def test_bar_chart_sorted_descending_with_no_data_last_and_escaped_labels():
    svg = bar_chart_svg(["Au", "Feld <Nord> & Co", "Hof", "Tal"], [0.3, 0.8, None, 0.55], "Served share")
    root = ET.fromstring(svg)  # well-formed standalone SVG
    assert root.tag == f"{SVG}svg"
    assert "href" not in svg
    texts = _texts(svg)
    labels = [t for t in texts if t in ("Au", "Feld <Nord> & Co", "Hof", "Tal")]
    assert labels == ["Feld <Nord> & Co", "Tal", "Au", "Hof"]
    assert "no data" in texts
    assert "80 %" in texts
    assert "55 %" in texts
    bars = [r for r in root.iter(f"{SVG}rect")][1:]  # after the background
    widths = [float(r.get("width")) for r in bars]
    assert len(bars) == 3
    assert widths == sorted(widths, reverse=True)
    assert widths[0] / widths[1] == pytest.approx(0.8 / 0.55, rel=0.01)


def test_bar_chart_plain_numbers_and_translation():
    svg = bar_chart_svg(["a", "b"], [120.0, None], "Median distance", percent=False,
                        translate=lambda text: {"no data": "keine Daten"}.get(text, text))  # fmt: skip
    texts = _texts(svg)
    assert "120" in texts
    assert "keine Daten" in texts
    assert not any("%" in t for t in texts)


def test_lorenz_curve_shows_gini_and_runs_from_corner_to_corner():
    svg = lorenz_curve_svg([100, 200, 300, 0], [0.2, 0.5, 0.9, None], "Lorenz curve")
    root = ET.fromstring(svg)
    assert f"Gini coefficient {102000 / 468000:.3f}" in _texts(svg)
    curve = next(root.iter(f"{SVG}polyline")).get("points").split()
    first, last = (tuple(map(float, p.split(","))) for p in (curve[0], curve[-1]))
    assert len(curve) == 4  # origin + three populated areas
    assert first[0] < last[0]
    assert first[1] > last[1]
    empty = lorenz_curve_svg([0], [None], "Lorenz curve")
    assert "no data" in _texts(empty)
    assert "Gini coefficient –" in _texts(empty)


def test_locate_points_in_a_detailed_area_uses_strips_with_the_same_result():
    from social_resilience.core.green.equity import _crossings, _inside

    angle = np.linspace(0, 2 * np.pi, 5001)
    radius = 100 + 20 * np.sin(7 * angle)  # a wavy outline of 5000 edges
    ring = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    ring[-1] = ring[0]
    hole = (ring * 0.3)[::-1]
    edges = np.vstack([np.hstack([r[:-1], r[1:]]) for r in (ring, hole)])
    rng = np.random.default_rng(11)
    points = rng.uniform(-130, 130, size=(4000, 2))
    strips = _inside(points[:, 0], points[:, 1], edges)  # 4000 x 10000 > threshold: strips
    brute = _crossings(points[:, 0], points[:, 1], edges) % 2 == 1
    assert np.array_equal(strips, brute)
    assert 0 < strips.sum() < len(points)
    assert np.array_equal(locate_points(points, [[ring, hole]]) == 0, brute)
