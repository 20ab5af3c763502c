"""Composite index core: reference reproduction (Columbus variants, CalEnviroScreen 4.0) and edge cases."""

from __future__ import annotations

import csv
import sqlite3
from contextlib import closing

import numpy as np
import pytest
from social_resilience.core.hotspots import composite_index as ci

from .conftest import shared_data

#: Columbus composite variants: environment CRIME, OPEN; social PLUMB, INC, HOVAL; OPEN, INC, HOVAL inverted.
NAMES = ["CRIME", "OPEN", "PLUMB", "INC", "HOVAL"]
IS_ENV = [True, True, False, False, False]
INVERTED = [False, True, False, True, True]


def read_csv(path) -> dict[str, np.ndarray]:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    columns = {}
    for key in rows[0]:
        try:
            columns[key] = np.array([float(row[key]) if row[key] != "" else np.nan for row in rows])
        except ValueError:
            columns[key] = np.array([row[key] for row in rows])
    return columns


def columbus() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Indicator matrix from columbus.gpkg (file order = POLYID order) and the composite reference."""
    with closing(sqlite3.connect(f"file:{shared_data('hotspots', 'columbus.gpkg')}?mode=ro", uri=True)) as db:
        rows = db.execute(f"SELECT POLYID, {', '.join(NAMES)} FROM columbus ORDER BY fid").fetchall()
    reference = read_csv(shared_data("hotspots", "composite_columbus.csv"))
    assert [row[0] for row in rows] == reference["POLYID"].astype(int).tolist()
    return np.array([row[1:] for row in rows], dtype=float), reference


def spec(**kwargs) -> ci.IndexSpec:
    options = {"high_share": 1 / 3, "rule": ci.STRICT}
    options.update(kwargs)
    return ci.IndexSpec(list(NAMES), list(IS_ENV), list(INVERTED), [1.0] * 5, **options)


def test_percentile_rank_rules_with_ties_and_missing():
    x = np.array([1.0, 2.0, 2.0, 3.0, np.nan])
    np.testing.assert_allclose(ci.percentile_rank(x, ci.WEAK), [25, 75, 75, 100, np.nan])
    np.testing.assert_allclose(ci.percentile_rank(x, ci.STRICT), [0, 25, 25, 75, np.nan])


def test_classes_follow_high_share():
    pct = np.array([10.0, 25.0, 25.1, 75.0, 75.1, np.nan])
    assert ci.classes(pct, 0.25).tolist() == [1, 1, 2, 2, 3, 0]


@pytest.mark.parametrize(
    ("normalisation", "suffix"), [(ci.PERCENTILE, "pctl"), (ci.ZSCORE, "z"), (ci.MINMAX, "minmax")]
)
def test_columbus_normalisations_and_terciles(normalisation, suffix):
    values, ref = columbus()
    result = ci.compute_index(values, spec(normalisation=normalisation))
    for j, name in enumerate(NAMES):
        np.testing.assert_allclose(result.normalised[:, j], ref[f"{name}_{suffix}"], rtol=1e-8, atol=1e-8)
        assert result.cls[:, j].tolist() == ref[f"{name}_class3"].astype(int).tolist()


def test_columbus_additive_minmax_mean():
    values, ref = columbus()
    result = ci.compute_index(values, spec(normalisation=ci.MINMAX, method=ci.ADDITIVE))
    np.testing.assert_allclose(result.score, ref["additive_minmax_mean"], rtol=1e-8)


def test_columbus_berlin_like_counts():
    values, ref = columbus()
    result = ci.compute_index(values, spec(method=ci.COUNT))
    assert result.score.tolist() == ref["n_all_high"].tolist()
    assert result.n_high.tolist() == ref["n_all_high"].tolist()
    assert result.env_score.tolist() == ref["n_env_high"].tolist()
    assert result.soc_score.tolist() == ref["n_soc_high"].tolist()


def test_columbus_ces_like_product():
    values, ref = columbus()
    result = ci.compute_index(values, spec(method=ci.PRODUCT))
    np.testing.assert_allclose(result.env_score, ref["env_score_0_10"], rtol=1e-8)
    np.testing.assert_allclose(result.soc_score, ref["soc_score_0_10"], rtol=1e-8)
    np.testing.assert_allclose(result.score, ref["ces_like_score"], rtol=1e-8)
    np.testing.assert_allclose(result.score_pct, ref["ces_like_pctl"], rtol=1e-8, atol=1e-8)
    expected = read_csv(shared_data("hotspots", "expected_columbus_ces_like_score.csv"))
    assert expected["POLYID"].astype(int).tolist() == ref["POLYID"].astype(int).tolist()
    np.testing.assert_allclose(result.score, expected["value"], rtol=1e-8)
    assert result.rank[np.argmax(ref["ces_like_score"])] == 1


def test_weak_rule_is_strict_rule_plus_ties():
    """The default rule (≤ x) equals the reference's rule (< x) plus the share of tied values."""
    values, ref = columbus()
    result = ci.compute_index(values, spec(rule=ci.WEAK))
    largest_tie = 0
    for j, name in enumerate(NAMES):
        strict = ref[f"{name}_pctl"]
        ties = np.array([np.sum(np.isclose(strict, v)) for v in strict])
        np.testing.assert_allclose(result.normalised[:, j], strict + 100.0 * ties / len(strict), rtol=1e-8)
        largest_tie = max(largest_tie, int(ties.max()))
    assert largest_tie == 10  # OPEN inverted: ten units share the lowest open space


def ces_subset():
    data = read_csv(shared_data("hotspots", "calenviroscreen4_subset", "ces4_component_subset_30.csv"))
    constants = read_csv(shared_data("hotspots", "calenviroscreen4_subset", "ces4_statewide_constants.csv"))
    maxima = dict(zip(constants[""], constants["value"]))
    names = ["env_exposure", "env_effect", "sens_pop", "ses_factors"]
    return data, maxima, names


def ces_spec(names, env_max=None, soc_max=None) -> ci.IndexSpec:
    return ci.IndexSpec(
        names,
        [True, True, False, False],
        [False] * 4,
        [1.0, 0.5, 1.0, 1.0],
        method=ci.PRODUCT,
        normalisation=ci.NONE,
        env_max=env_max,
        soc_max=soc_max,
    )


def test_calenviroscreen_published_scores_with_statewide_maxima():
    data, maxima, names = ces_subset()
    values = np.column_stack([data[name] for name in names])
    spec_ = ces_spec(names, maxima["max_pollution_burden"], maxima["max_pop_char"])
    result = ci.compute_index(values, spec_)
    np.testing.assert_allclose(result.env_score, data["Pollution Burden MinMax"], atol=7e-4)
    np.testing.assert_allclose(result.soc_score, data["Pop Char MinMax"], atol=7e-4)
    np.testing.assert_allclose(result.score, data["Score"], atol=7e-4)
    assert result.rank.tolist() == list(range(1, 31))  # the subset is sorted by published score


def test_calenviroscreen_subset_maximum_does_not_reproduce_statewide_scores():
    data, _, names = ces_subset()
    values = np.column_stack([data[name] for name in names])
    result = ci.compute_index(values, ces_spec(names))
    assert np.nanmax(result.env_score) == pytest.approx(10.0)
    assert np.max(np.abs(result.score - data["Score"])) > 1.0


def test_missing_values_are_skipped_and_counted():
    values = np.array([[1.0, 10.0], [2.0, np.nan], [3.0, 30.0], [np.nan, np.nan]])
    spec_ = ci.IndexSpec(["a", "b"], [True, False], [False, False], [1.0, 3.0], normalisation=ci.MINMAX)
    result = ci.compute_index(values, spec_)
    assert result.n_missing.tolist() == [0, 1, 0, 2]
    np.testing.assert_allclose(result.normalised[:, 1], [0.0, np.nan, 1.0, np.nan])
    # weighted mean over the available indicators: unit 1 only has a (0.5), unit 2 has a=1, b=1
    np.testing.assert_allclose(result.score, [0.0, 0.5, 1.0, np.nan])
    assert np.isnan(result.rank[3])
    assert result.rank[2] == 1
    assert result.cls[3].tolist() == [0, 0]


def test_weights_change_the_additive_score():
    values = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    spec_ = ci.IndexSpec(["a", "b"], [True, False], [False, False], [3.0, 1.0], normalisation=ci.MINMAX)
    result = ci.compute_index(values, spec_)
    np.testing.assert_allclose(result.score, [0.25, 0.75, 0.5])
    assert result.rank.tolist() == [3, 1, 2]


def test_zero_variance_gives_zero_with_warning():
    values = np.array([[5.0, 1.0], [5.0, 2.0], [5.0, 3.0]])
    for normalisation in (ci.ZSCORE, ci.MINMAX):
        spec_ = ci.IndexSpec(["flat", "b"], [True, False], [False, False], [1.0, 1.0], normalisation=normalisation)
        result = ci.compute_index(values, spec_)
        assert result.normalised[:, 0].tolist() == [0.0, 0.0, 0.0]
        assert any("flat" in str(warning) for warning in result.warnings)
        assert np.all(np.isfinite(result.score))


def test_all_missing_indicator_is_an_error():
    values = np.array([[np.nan, 1.0], [np.nan, 2.0]])
    spec_ = ci.IndexSpec(["empty", "b"], [True, False], [False, False], [1.0, 1.0])
    with pytest.raises(ci.IndexSpecError, match="empty"):
        ci.compute_index(values, spec_)


def test_single_unit():
    spec_ = ci.IndexSpec(["a", "b"], [True, False], [False, True], [1.0, 1.0], method=ci.PRODUCT)
    result = ci.compute_index(np.array([[3.0, 4.0]]), spec_)
    assert result.rank.tolist() == [1]
    assert result.score.tolist() == [100.0]
    assert result.cls.tolist() == [[3, 3]]


def test_rank_ties_share_the_better_rank():
    values = np.array([[1.0], [3.0], [3.0], [2.0]])
    result = ci.compute_index(values, ci.IndexSpec(["a"], [True], [False], [1.0], normalisation=ci.MINMAX))
    assert result.rank.tolist() == [4, 1, 1, 3]


@pytest.mark.parametrize(
    ("text", "message"),
    [("CRIME=2;FOO=1", "unknown name 'FOO'"), ("CRIME=two", "'two'"), ("CRIME", "name=number"), ("INC=-1", "≥ 0")],
)
def test_weight_parsing_errors(text, message):
    with pytest.raises(ci.IndexSpecError, match=message):
        ci.parse_assignments(text, NAMES, "WEIGHTS")


def test_weight_parsing():
    assert ci.parse_assignments(" CRIME = 2 ; INC=0,5 ", NAMES, "WEIGHTS") == {"CRIME": 2.0, "INC": 0.5}
    assert ci.parse_assignments("CRIME=2\nINC=0.5;", NAMES, "WEIGHTS") == {"CRIME": 2.0, "INC": 0.5}
    assert ci.parse_assignments("", NAMES, "WEIGHTS") == {}


def test_monte_carlo_without_spread_equals_the_high_class():
    values, _ = columbus()
    result = ci.compute_index(values, spec(high_share=0.25), mc_runs=20, mc_spread=0.0)
    expected = (result.score_pct > 75.0).astype(float)
    assert result.top_share.tolist() == expected.tolist()


def test_monte_carlo_is_seeded_and_bounded():
    values, _ = columbus()
    first = ci.compute_index(values, spec(method=ci.PRODUCT), mc_runs=200, mc_spread=0.5, seed=7)
    again = ci.compute_index(values, spec(method=ci.PRODUCT), mc_runs=200, mc_spread=0.5, seed=7)
    other = ci.compute_index(values, spec(method=ci.PRODUCT), mc_runs=200, mc_spread=0.5, seed=8)
    assert first.top_share.tolist() == again.top_share.tolist()
    assert first.top_share.tolist() != other.top_share.tolist()
    assert np.all((first.top_share >= 0) & (first.top_share <= 1))
    # the worst unit stays in the worst quarter under ±50 % weights; the best never gets there
    assert first.top_share[first.rank == 1].min() > 0.9
    assert first.top_share[first.rank == np.nanmax(first.rank)].max() == 0.0
    # every run puts (about, up to ties) the same number of units into the high class (worst third here)
    assert first.top_share.sum() == pytest.approx(np.sum(first.score_pct > 200.0 / 3.0), abs=1.0)


def test_monte_carlo_progress_can_cancel():
    values, _ = columbus()
    calls = []

    def progress(fraction):
        calls.append(fraction)
        return True

    ci.compute_index(values, spec(), mc_runs=500, progress=progress)
    assert calls == [0.1]


@pytest.mark.parametrize("normalisation", [ci.PERCENTILE, ci.ZSCORE, ci.MINMAX, ci.NONE])
@pytest.mark.parametrize("method", [ci.ADDITIVE, ci.COUNT, ci.PRODUCT])
def test_reference_scores_a_subset_as_part_of_the_whole(normalisation, method):
    values, _ = columbus()
    spec = ci.IndexSpec(NAMES, IS_ENV, INVERTED, [1.0, 2.0, 1.0, 0.5, 1.0], method, normalisation)
    if normalisation == ci.NONE:
        spec.inverted = [False] * len(NAMES)
    whole = ci.compute_index(values, spec, mc_runs=40, seed=3)
    itself = ci.compute_index(values, spec, mc_runs=40, seed=3, reference=values)
    for name in ("score", "score_pct", "env_score", "soc_score", "normalised", "cls", "top_share", "n_high"):
        np.testing.assert_allclose(getattr(itself, name), getattr(whole, name), rtol=1e-12, err_msg=name)
    part = np.arange(0, 49, 3)
    scored = ci.compute_index(values[part], spec, reference=values)
    for name in ("score", "score_pct", "env_score", "soc_score", "normalised", "cls", "n_high"):
        np.testing.assert_allclose(getattr(scored, name), getattr(whole, name)[part], rtol=1e-12, err_msg=name)
    # rank still counts within the input: 1 + the input units with a higher score
    np.testing.assert_array_equal(scored.rank, [1 + np.sum(scored.score > x) for x in scored.score])


def test_reference_with_missing_indicator_is_an_error():
    values, _ = columbus()
    spec = ci.IndexSpec(NAMES, IS_ENV, INVERTED, [1.0] * 5)
    reference = values.copy()
    reference[:, 2] = np.nan
    with pytest.raises(ci.IndexSpecError, match="no values in the reference"):
        ci.compute_index(values, spec, reference=reference)
