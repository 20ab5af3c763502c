"""What the report says about its data: whom it counts, the social groups, the synthetic sample town."""

from __future__ import annotations

import pytest

from .test_report import ALG, chain, report_parameters  # noqa: F401 (the module fixture)


def test_report_counts_the_population_the_catchments_counted(chain, tmp_path):  # noqa: F811
    """Without POPULATION_FIELD the report finds the catchments' population field: its share is theirs."""
    import processing

    parameters = {**report_parameters(chain, tmp_path / "r.html"), "POPULATION_FIELD": None}
    result = processing.run(ALG, parameters)
    assert result["SERVED_SHARE"] == pytest.approx(chain["catchments"]["SERVED_SHARE"], abs=1e-12)
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "The shares count residents: the field population of the homes, as the catchments counted them." in page
    homes_only = {name: value for name, value in parameters.items() if name not in ("GREEN_SPACES", "CATCHMENTS")}
    homes_only["OUTPUT_HTML"] = str(tmp_path / "homes.html")
    counted = processing.run(ALG, homes_only)  # nothing tells what the catchments counted: homes, and it says so
    page = (tmp_path / "homes.html").read_text(encoding="utf-8")
    assert "The shares count homes, each as one (choose the population field of the report" in page
    assert counted["SERVED_SHARE"] != pytest.approx(chain["catchments"]["SERVED_SHARE"], abs=1e-6)


def test_report_gives_the_groups_shares_and_says_the_sample_town_is_synthetic(chain, tmp_path):  # noqa: F811
    import processing

    out = chain["out"]
    equity = processing.run("socialresilience:greenequity", {
        "RESIDENTIAL": str(out / "homes.gpkg"), "POPULATION_FIELD": "population", "AREAS": str(out / "hotspots.gpkg"),
        "GROUP_FIELDS": ["pop_65plus", "pop_children"], "BURDEN_FIELD": "score_pct",
        "OUTPUT": str(tmp_path / "groups.gpkg")})
    parameters = {**report_parameters(chain, tmp_path / "r.html"), "AREAS": str(tmp_path / "groups.gpkg"),
                  "DATA_SOURCES": "", "STATIONS": None}
    result = processing.run(ALG, parameters)
    old, young = (f"{100 * equity[name]:.1f} %" for name in ("POP_65PLUS_SHARE", "POP_CHILDREN_SHARE"))
    sentence = f"Served share by group: residents 65+ {old}, children under 18 {young}."
    assert sentence in result["KEY_FIGURES"]
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert sentence in page
    # made from the sample town (its fields; the layers here are results, without its metadata)
    assert '<p class="notice">Synthetic data: these figures describe the sample town' in page
    assert "<li>Synthetic data: the sample town of the Social Resilience Toolkit, not a real place" in page
