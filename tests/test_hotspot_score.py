"""``socialresilience:hotspotscore`` through processing.run and qgis_process on reference data."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from qgis.core import (
    NULL,
    QgsFeature,
    QgsGeometry,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsRenderContext,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QDate

from .conftest import shared_data

ALG = "socialresilience:hotspotscore"
COLUMBUS = {
    "ENV_FIELDS": ["CRIME", "OPEN"],
    "SOCIAL_FIELDS": ["PLUMB", "INC", "HOVAL"],
    "INVERT_FIELDS": ["OPEN", "INC", "HOVAL"],
    "HIGH_SHARE": 1 / 3,
    "PERCENTILE_RULE": 1,
}


class WarningsFeedback(QgsProcessingFeedback):
    """Feedback that keeps the warnings."""

    def __init__(self) -> None:
        super().__init__()
        self.warnings: list[str] = []

    def pushWarning(self, warning: str) -> None:  # noqa: N802
        self.warnings.append(warning)


def run(params: dict, feedback: QgsProcessingFeedback | None = None) -> QgsVectorLayer:
    import processing

    result = processing.run(ALG, {"OUTPUT": "memory:", **params}, feedback=feedback)
    return result["OUTPUT"]


def by_key(layer: QgsVectorLayer, key: str) -> dict:
    return {feature[key]: feature for feature in layer.getFeatures()}


def reference(name: str) -> dict[int, dict[str, float]]:
    with open(shared_data("hotspots", name), newline="", encoding="utf-8") as handle:
        return {int(row["POLYID"]): {k: _number(v) for k, v in row.items()} for row in csv.DictReader(handle)}


def _number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def columbus_path() -> str:
    return str(shared_data("hotspots", "columbus.gpkg"))


def memory_layer(definition: str, rows: list[list]) -> QgsVectorLayer:
    layer = QgsVectorLayer(f"Polygon?crs=EPSG:25832&{definition}", "units", "memory")
    features = []
    for i, row in enumerate(rows):
        feature = QgsFeature(layer.fields())
        feature.setAttributes(row)
        feature.setGeometry(QgsGeometry.fromWkt(f"POLYGON(({i} 0, {i + 1} 0, {i + 1} 1, {i} 1, {i} 0))"))
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


@pytest.mark.parametrize(("normalization", "suffix"), [(0, "pctl"), (1, "z"), (2, "minmax")])
def test_columbus_normalisations_and_classes(provider, normalization, suffix):
    ref = reference("composite_columbus.csv")
    layer = run({"INPUT": columbus_path(), "NORMALIZATION": normalization, **COLUMBUS})
    out = by_key(layer, "POLYID")
    assert set(out) == set(ref)
    for polyid, row in ref.items():
        for name in ("CRIME", "OPEN", "PLUMB", "INC", "HOVAL"):
            assert out[polyid][f"{name}_n"] == pytest.approx(row[f"{name}_{suffix}"], rel=1e-8, abs=1e-8)
            assert out[polyid][f"{name}_cls"] == row[f"{name}_class3"]
    # the input fields are kept
    assert out[1]["CRIME"] == pytest.approx(15.72598)


def test_columbus_additive_minmax(provider):
    ref = reference("composite_columbus.csv")
    out = by_key(run({"INPUT": columbus_path(), "METHOD": 0, "NORMALIZATION": 2, **COLUMBUS}), "POLYID")
    for polyid, row in ref.items():
        assert out[polyid]["score"] == pytest.approx(row["additive_minmax_mean"], rel=1e-8)
        assert out[polyid]["n_missing"] == 0


def test_columbus_berlin_counts(provider):
    ref = reference("composite_columbus.csv")
    out = by_key(run({"INPUT": columbus_path(), "METHOD": 1, **COLUMBUS}), "POLYID")
    for polyid, row in ref.items():
        assert (out[polyid]["score"], out[polyid]["env_score"], out[polyid]["soc_score"]) == (
            row["n_all_high"],
            row["n_env_high"],
            row["n_soc_high"],
        )
        assert out[polyid]["n_high"] == row["n_all_high"]


def test_columbus_ces_like_product(provider):
    ref = reference("composite_columbus.csv")
    expected = reference("expected_columbus_ces_like_score.csv")
    out = by_key(run({"INPUT": columbus_path(), "METHOD": 2, **COLUMBUS}), "POLYID")
    for polyid, row in ref.items():
        assert out[polyid]["score"] == pytest.approx(row["ces_like_score"], rel=1e-8)
        assert out[polyid]["score"] == pytest.approx(expected[polyid]["value"], rel=1e-8)
        assert out[polyid]["env_score"] == pytest.approx(row["env_score_0_10"], rel=1e-8)
        assert out[polyid]["soc_score"] == pytest.approx(row["soc_score_0_10"], rel=1e-8)
        assert out[polyid]["score_pct"] == pytest.approx(row["ces_like_pctl"], rel=1e-8, abs=1e-8)
    worst = max(ref, key=lambda p: ref[p]["ces_like_score"])
    assert out[worst]["rank"] == 1
    assert sorted(f["rank"] for f in out.values()) == list(range(1, 50))


def test_default_percentile_rule_counts_values_at_or_below(provider):
    ref = reference("composite_columbus.csv")
    out = by_key(run({"INPUT": columbus_path(), "ENV_FIELDS": ["CRIME"], "SOCIAL_FIELDS": ["INC"]}), "POLYID")
    for polyid, row in ref.items():  # CRIME has no ties: ≤ x counts one more value than < x
        assert out[polyid]["CRIME_n"] == pytest.approx(row["CRIME_pctl"] + 100 / 49, rel=1e-8)
    assert max(f["CRIME_n"] for f in out.values()) == pytest.approx(100.0)
    high = [f for f in out.values() if f["CRIME_cls"] == 3]
    assert len(high) == 13
    assert min(f["CRIME_n"] for f in high) > 75


def test_calenviroscreen_published_scores(provider):
    folder = shared_data("hotspots", "calenviroscreen4_subset")
    with open(folder / "ces4_statewide_constants.csv", newline="", encoding="utf-8") as handle:
        maxima = {row[""]: row["value"] for row in csv.DictReader(handle)}
    uri = f"file://{folder / 'ces4_component_subset_30.csv'}?type=csv&detectTypes=yes&geomType=none"
    table = QgsVectorLayer(uri, "ces", "delimitedtext")
    assert table.isValid()
    assert table.featureCount() == 30
    layer = run(
        {
            "INPUT": table,
            "ENV_FIELDS": ["env_exposure", "env_effect"],
            "SOCIAL_FIELDS": ["sens_pop", "ses_factors"],
            "WEIGHTS": "env_effect=0.5",
            "METHOD": 2,
            "NORMALIZATION": 3,
            "MAX_VALUES": f"env={maxima['max_pollution_burden']};social={maxima['max_pop_char']}",
        }
    )
    rows = list(layer.getFeatures())
    assert len(rows) == 30
    for feature in rows:
        assert feature["score"] == pytest.approx(feature["Score"], abs=7e-4)
        assert feature["env_score"] == pytest.approx(feature["Pollution Burden MinMax"], abs=7e-4)
        assert feature["soc_score"] == pytest.approx(feature["Pop Char MinMax"], abs=7e-4)


def test_missing_values_are_counted_not_zero(provider):
    layer = memory_layer(
        "field=id:integer&field=noise:double&field=poverty:double",
        [[1, 50.0, 10.0], [2, NULL, 20.0], [3, 70.0, NULL], [4, 60.0, 40.0]],
    )
    out = by_key(run({"INPUT": layer, "ENV_FIELDS": ["noise"], "SOCIAL_FIELDS": ["poverty"], "NORMALIZATION": 2}), "id")
    assert [out[i]["n_missing"] for i in (1, 2, 3, 4)] == [0, 1, 1, 0]
    assert out[2]["noise_n"] == NULL
    assert out[2]["noise_cls"] == NULL
    assert out[2]["score"] == pytest.approx(1 / 3)  # poverty 20 of 10..40, noise skipped
    assert out[3]["score"] == pytest.approx(1.0)  # noise 70 is the maximum, poverty skipped
    assert out[1]["score"] == pytest.approx(0.0)


def test_text_field_with_numbers_is_converted(provider):
    layer = memory_layer(
        "field=id:integer&field=noise:string&field=poverty:double",
        [[1, "50,5", 1.0], [2, " 60 ", 2.0], [3, "", 3.0]],
    )
    feedback = WarningsFeedback()
    out = by_key(
        run({"INPUT": layer, "ENV_FIELDS": ["noise"], "SOCIAL_FIELDS": ["poverty"], "NORMALIZATION": 2}, feedback), "id"
    )
    assert [out[i]["noise_n"] for i in (1, 2)] == [0.0, 1.0]
    assert out[3]["noise_n"] == NULL
    assert out[3]["n_missing"] == 1
    assert any("noise" in warning and "converted" in warning for warning in feedback.warnings)


def test_text_field_with_words_is_rejected(provider, tmp_path):
    layer = memory_layer("field=noise:string&field=poverty:double", [["loud", 1.0], ["50", 2.0]])
    target = tmp_path / "out.gpkg"
    with pytest.raises(QgsProcessingException, match="noise"):
        run({"INPUT": layer, "ENV_FIELDS": ["noise"], "SOCIAL_FIELDS": ["poverty"], "OUTPUT": str(target)})
    assert not target.exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"WEIGHTS": "noise=2;greenery=1"}, "unknown name 'greenery'"),
        ({"WEIGHTS": "noise=heavy"}, "'heavy'"),
        ({"WEIGHTS": "noise=0;poverty=0"}, "weight above 0"),
        ({"INVERT_FIELDS": ["id"]}, "INVERT_FIELDS"),
        ({"SOCIAL_FIELDS": ["noise"]}, "once"),
        ({"METHOD": 2, "SOCIAL_FIELDS": []}, "SOCIAL_FIELDS"),
        ({"METHOD": 2, "WEIGHTS": "noise=0"}, "both the environmental and the social"),
        ({"NORMALIZATION": 3, "INVERT_FIELDS": ["poverty"]}, "INVERT_FIELDS"),
        ({"MAX_VALUES": "env=0"}, "above 0"),
        ({"MAX_VALUES": "noise=3"}, "unknown name 'noise'"),
    ],
)
def test_bad_input_is_rejected_without_output(provider, tmp_path, extra, message):
    layer = memory_layer("field=id:integer&field=noise:double&field=poverty:double", [[1, 1.0, 2.0], [2, 3.0, 4.0]])
    target = tmp_path / "out.gpkg"
    params = {"INPUT": layer, "ENV_FIELDS": ["noise"], "SOCIAL_FIELDS": ["poverty"], "OUTPUT": str(target), **extra}
    with pytest.raises(QgsProcessingException, match=message):
        run(params)
    assert not target.exists()


def test_all_null_field_is_rejected(provider):
    layer = memory_layer("field=noise:double&field=poverty:double", [[NULL, 1.0], [NULL, 2.0]])
    with pytest.raises(QgsProcessingException, match="noise has no values"):
        run({"INPUT": layer, "ENV_FIELDS": ["noise"], "SOCIAL_FIELDS": ["poverty"]})


def test_zero_variance_z_score_is_zero(provider):
    layer = memory_layer("field=id:integer&field=noise:double&field=poverty:double", [[1, 5.0, 1.0], [2, 5.0, 3.0]])
    out = by_key(run({"INPUT": layer, "ENV_FIELDS": ["noise"], "SOCIAL_FIELDS": ["poverty"], "NORMALIZATION": 1}), "id")
    assert out[1]["noise_n"] == 0.0
    assert out[2]["noise_n"] == 0.0
    assert (out[1]["poverty_n"], out[2]["poverty_n"]) == (-1.0, 1.0)
    assert (out[1]["score"], out[2]["score"]) == (-0.5, 0.5)


def test_single_feature(provider):
    layer = memory_layer("field=noise:double&field=poverty:double", [[5.0, 1.0]])
    for method in (0, 1, 2):
        (feature,) = run(
            {"INPUT": layer, "ENV_FIELDS": ["noise"], "SOCIAL_FIELDS": ["poverty"], "METHOD": method}
        ).getFeatures()
        assert feature["rank"] == 1
        assert feature["n_high"] == 2
    assert feature["score"] == 100.0


def test_input_field_named_like_a_result_is_kept_renamed(provider):
    layer = memory_layer(
        "field=score:string&field=noise:double&field=poverty:double", [["old", 1.0, 2.0], ["old", 3.0, 1.0]]
    )
    out = run({"INPUT": layer, "ENV_FIELDS": ["noise"], "SOCIAL_FIELDS": ["poverty"]})
    names = [field.name() for field in out.fields()]
    assert names.count("score") == 1
    assert names[:3] == ["score_in", "noise", "poverty"]  # every input field kept, in order
    assert [f["score_in"] for f in out.getFeatures()] == ["old", "old"]
    assert sorted(f["score"] for f in out.getFeatures()) == [75.0, 75.0]


def test_monte_carlo_top_share_and_cancel(provider):
    params = {"INPUT": columbus_path(), "METHOD": 2, "MC_RUNS": 200, "SEED": 3, **COLUMBUS}
    first = by_key(run(params), "POLYID")
    again = by_key(run(params), "POLYID")
    shares = {p: f["top_share"] for p, f in first.items()}
    assert shares == {p: f["top_share"] for p, f in again.items()}
    assert all(0.0 <= s <= 1.0 for s in shares.values())
    assert first[min(first, key=lambda p: first[p]["rank"])]["top_share"] > 0.9
    assert sum(shares.values()) == pytest.approx(16, abs=1)  # 16 of 49 units above 66.7 % in every run
    off = by_key(run({**params, "MC_RUNS": 0}), "POLYID")
    assert all(f["top_share"] == NULL for f in off.values())

    feedback = QgsProcessingFeedback()
    feedback.progressChanged.connect(lambda value: feedback.cancel() if value > 35 else None)
    from social_resilience.algorithms.hotspots.hotspot_score import HotspotScoreAlgorithm

    alg = HotspotScoreAlgorithm()
    alg.initAlgorithm()
    context = QgsProcessingContext()
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        alg.processAlgorithm({**params, "OUTPUT": "memory:"}, context, feedback)


def test_style_classes_score_pct_and_shows_no_data(provider):
    from social_resilience.algorithms.style_on_load import StyleOnLoad

    layer = run({"INPUT": columbus_path(), **COLUMBUS})
    StyleOnLoad("hotspot_score.qml").postProcessLayer(layer, QgsProcessingContext(), QgsProcessingFeedback())
    renderer = layer.renderer()
    assert renderer.type() == "RuleRenderer"
    rules = {rule.label(): rule.filterExpression() for rule in renderer.rootRule().children()}
    assert rules["No data"] == '"score_pct" IS NULL'
    assert next(iter(rules)) == "0–25 (lowest quarter)"
    assert all("score_pct" in expression for expression in rules.values())
    assert len(rules) == 6


def test_units_without_score_are_warned_and_drawn_as_no_data(provider):
    from social_resilience.algorithms.style_on_load import StyleOnLoad

    layer = memory_layer(
        "field=id:integer&field=noise:double&field=poverty:double",
        [[1, 50.0, 10.0], [2, 60.0, NULL], [3, 70.0, 30.0], [4, 55.0, 20.0]],
    )
    feedback = WarningsFeedback()
    out = run({"INPUT": layer, "ENV_FIELDS": ["noise"], "SOCIAL_FIELDS": ["poverty"], "METHOD": 2}, feedback)
    assert any(w.startswith("1 of 4 units have no score") for w in feedback.warnings), feedback.warnings
    StyleOnLoad("hotspot_score.qml").postProcessLayer(out, QgsProcessingContext(), QgsProcessingFeedback())
    unscored = next(f for f in out.getFeatures() if f["id"] == 2)
    assert unscored["score_pct"] == NULL
    context = QgsRenderContext()
    renderer = out.renderer()
    renderer.startRender(context, out.fields())
    try:
        legend = {item.ruleKey(): item.label() for item in renderer.legendSymbolItems()}
        labels = [legend[key] for key in renderer.legendKeysForFeature(unscored, context) if key in legend]
    finally:
        renderer.stopRender(context)
    assert labels == ["No data"]


def test_through_qgis_process(qgis_process, tmp_path):
    ref = reference("composite_columbus.csv")
    target = tmp_path / "score.gpkg"
    report = qgis_process.run_algorithm(
        ALG,
        {
            "INPUT": columbus_path(),
            "ENV_FIELDS": "CRIME",
            "SOCIAL_FIELDS": "PLUMB",
            **{k: v for k, v in COLUMBUS.items() if k not in ("ENV_FIELDS", "SOCIAL_FIELDS", "INVERT_FIELDS")},
            "METHOD": 1,
            "OUTPUT": str(target),
        },
    )
    layer = QgsVectorLayer(report["results"]["OUTPUT"], "out", "ogr")
    assert layer.isValid()
    assert layer.featureCount() == 49
    for feature in layer.getFeatures():
        row = ref[feature["POLYID"]]
        expected = (row["CRIME_class3"] == 3) + (row["PLUMB_class3"] == 3)
        assert feature["n_high"] == expected == feature["score"]
    assert np.isfinite([f["score_pct"] for f in layer.getFeatures()]).all()


def test_loaded_output_gets_the_style(provider):
    import processing
    from qgis.core import QgsProject

    result = processing.runAndLoadResults(ALG, {"INPUT": columbus_path(), **COLUMBUS, "OUTPUT": "memory:"})
    layer = QgsProject.instance().mapLayer(result["OUTPUT"])
    try:
        assert layer.renderer().type() == "RuleRenderer"
        assert "No data" in [rule.label() for rule in layer.renderer().rootRule().children()]
    finally:
        QgsProject.instance().removeMapLayer(layer)


def test_non_numeric_field_type_and_empty_input_are_rejected(provider):
    dated = memory_layer("field=when:date&field=poverty:double", [[QDate(2024, 6, 1), 1.0], [QDate(2024, 6, 2), 2.0]])
    with pytest.raises(QgsProcessingException, match="when is of type"):
        run({"INPUT": dated, "ENV_FIELDS": ["when"], "SOCIAL_FIELDS": ["poverty"]})
    empty = memory_layer("field=noise:double&field=poverty:double", [])
    with pytest.raises(QgsProcessingException, match="no features"):
        run({"INPUT": empty, "ENV_FIELDS": ["noise"], "SOCIAL_FIELDS": ["poverty"]})


CES = {
    "ENV_FIELDS": ["env_exposure", "env_effect"],
    "SOCIAL_FIELDS": ["sens_pop", "ses_factors"],
    "WEIGHTS": "env_effect=0.5",
    "METHOD": 2,
    "NORMALIZATION": 3,
}
CES_FIELDS = "field=env_exposure:double&field=env_effect:double&field=sens_pop:double&field=ses_factors:double"


def ces_subset() -> QgsVectorLayer:
    folder = shared_data("hotspots", "calenviroscreen4_subset")
    uri = f"file://{folder / 'ces4_component_subset_30.csv'}?type=csv&detectTypes=yes&geomType=none"
    table = QgsVectorLayer(uri, "ces", "delimitedtext")
    assert table.featureCount() == 30
    return table


def statewide_reference(table: QgsVectorLayer, tracts: int = 7932) -> QgsVectorLayer:
    """7,932 tracts whose CES scores follow the published statewide percentiles of the subset.

    The subset's (Percentile, Score) pairs fix the statewide ranks of 30 scores (percentile =
    100 · rank / 7932); the scores between them are interpolated. Each synthetic tract gets
    exposures = effects = PB and sensitive = SES = PC with PB, PC chosen so that its score is the
    target; two tracts carry the published statewide maxima of PB (81.901) and PC (96.401).
    """
    published = sorted((f["Percentile"], f["Score"]) for f in table.getFeatures())
    ranks = np.array([round(p * tracts / 100) for p, _ in published], dtype=float)
    scores = np.interp(np.arange(1, tracts + 1), ranks, [s for _, s in published])
    pb = 81.901 * np.sqrt(scores / 100)
    pc = 96.401 * np.sqrt(scores / 100)
    pb[0], pc[0] = 81.901, 96.401 * scores[0] / 100  # PB score 10, PC score = score / 10
    pb[1], pc[1] = 81.901 * scores[1] / 100, 96.401
    rows = [[float(b), float(b), float(c), float(c)] for b, c in zip(pb, pc)]
    layer = QgsVectorLayer(f"None?{CES_FIELDS}", "state", "memory")
    features = []
    for row in rows:
        feature = QgsFeature(layer.fields())
        feature.setAttributes(row)
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def test_calenviroscreen_percentiles_against_a_statewide_reference(provider):
    table = ces_subset()
    alone = list(run({"INPUT": table, **CES, "MAX_VALUES": "env=81.901;social=96.401"}).getFeatures())
    # Ranked among the 30 rows themselves, too few tracts reach the 75th percentile.
    assert sum(f["score_pct"] >= 75 for f in alone) == 8
    assert sum(f["DAC"] for f in alone) == 13
    state = statewide_reference(table)
    ranked = list(run({"INPUT": table, **CES, "REFERENCE": state}).getFeatures())
    for feature in ranked:
        # No MAX_VALUES: the maxima come from the reference.
        assert feature["env_score"] == pytest.approx(feature["Pollution Burden MinMax"], abs=7e-4)
        assert feature["soc_score"] == pytest.approx(feature["Pop Char MinMax"], abs=7e-4)
        assert feature["score"] == pytest.approx(feature["Score"], abs=7e-4)
        assert feature["score_pct"] == pytest.approx(feature["Percentile"], abs=0.03)
        assert (feature["score_pct"] >= 75) == bool(feature["DAC"])
    assert [f["rank"] for f in ranked] == [f["rank"] for f in alone]  # rank stays within INPUT


def test_reference_ranks_a_subset_as_part_of_the_whole(provider):
    import processing

    table = ces_subset()
    whole = {f["Census Tract"]: f for f in run({"INPUT": table, **CES, "NORMALIZATION": 0}).getFeatures()}
    part = processing.run(
        "native:extractbyexpression", {"INPUT": table, "EXPRESSION": '"County" = \'Fresno\'', "OUTPUT": "memory:"}
    )["OUTPUT"]
    assert 0 < part.featureCount() < 30
    scored = list(run({"INPUT": part, **CES, "NORMALIZATION": 0, "REFERENCE": table}).getFeatures())
    for feature in scored:
        expected = whole[feature["Census Tract"]]
        for name in ("score", "score_pct", "env_score", "soc_score", "env_exposure_n", "env_exposure_cls"):
            assert feature[name] == pytest.approx(expected[name], rel=1e-12), name
    alone = list(run({"INPUT": part, **CES, "NORMALIZATION": 0}).getFeatures())
    assert [f["score_pct"] for f in alone] != [f["score_pct"] for f in scored]


def test_reference_errors_are_clear(provider):
    table = ces_subset()
    wrong = memory_layer("field=env_exposure:double", [[1.0]])
    with pytest.raises(QgsProcessingException, match="REFERENCE has no field env_effect"):
        run({"INPUT": table, **CES, "REFERENCE": wrong})
    empty = QgsVectorLayer(f"None?{CES_FIELDS}", "empty", "memory")
    with pytest.raises(QgsProcessingException, match="REFERENCE has no features"):
        run({"INPUT": table, **CES, "REFERENCE": empty})
    blank = QgsVectorLayer(f"None?{CES_FIELDS}", "blank", "memory")
    feature = QgsFeature(blank.fields())
    feature.setAttributes([NULL, 1.0, 1.0, 1.0])
    blank.dataProvider().addFeatures([feature])
    with pytest.raises(QgsProcessingException, match="no values in the reference"):
        run({"INPUT": table, **CES, "REFERENCE": blank})


def test_reference_through_qgis_process(qgis_process, tmp_path):
    target = tmp_path / "score.gpkg"
    params = {"ENV_FIELDS": "CRIME", "SOCIAL_FIELDS": "INC", "INVERT_FIELDS": "INC", "METHOD": 2}
    report = qgis_process.run_algorithm(
        ALG, {"INPUT": columbus_path(), "REFERENCE": columbus_path(), **params, "OUTPUT": str(target)}
    )
    layer = QgsVectorLayer(report["results"]["OUTPUT"], "out", "ogr")
    assert layer.featureCount() == 49
    alone = by_key(run({"INPUT": columbus_path(), **params}), "POLYID")
    for feature in layer.getFeatures():  # the input as its own reference changes nothing
        assert feature["score_pct"] == pytest.approx(alone[feature["POLYID"]]["score_pct"], rel=1e-12)
        assert feature["score"] == pytest.approx(alone[feature["POLYID"]]["score"], rel=1e-12)
