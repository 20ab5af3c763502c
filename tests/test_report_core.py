"""core/report: figures, ranking, numbers and the HTML page, without QGIS."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from social_resilience.core.report.content import (
    AreaRow,
    Figure,
    MethodFacts,
    ReportContent,
    access_summary,
    hotspot_summary,
    rank_areas,
)
from social_resilience.core.report.html import ReportHtml
from social_resilience.core.report.numbers import format_count, format_hectares, format_metres, format_percent
from social_resilience.core.report.words import ReportWords


def test_numbers_in_english_and_german():
    assert format_percent(0.2590097431996813, "en") == "25.9 %"
    assert format_percent(0.2590097431996813, "de") == "25,9 %"
    assert format_percent(None, "en") == "–"
    assert format_count(20458.0, "en") == "20,458"
    assert format_count(20458.0, "de") == "20.458"
    assert format_metres(1200, "de") == "1.200 m"
    assert format_hectares(2.0, "en") == "2 ha"
    assert format_hectares(0.5, "de") == "0,5 ha"


def test_access_summary_weights_by_population():
    summary = access_summary([10, 5, 3, 2], [True, False, False, True], [True, True, False, True])
    assert summary.total == 20
    assert summary.served == 12
    assert summary.served_eucl == 17
    assert summary.barrier_gap == 5  # served in a straight line, not on foot
    assert summary.share == pytest.approx(0.6)
    assert summary.share_eucl == pytest.approx(0.85)
    assert summary.not_served == 8


def test_access_summary_without_residents_has_no_share():
    summary = access_summary([0, 0], [True, False], [True, True])
    assert summary.share is None


def test_hotspot_summary_counts_bins_and_clusters():
    summary = hotspot_summary([3, 2, 0, -1, None, 1], ["High-High", "High-High", "Low-Low", None, "No data", ""])
    assert (summary.n_units, summary.n_hot, summary.n_cold) == (6, 3, 1)
    assert (summary.n_high_high, summary.n_low_low) == (2, 1)


def test_areas_ranked_priority_then_served_share_then_burden():
    rows = [
        AreaRow("A", served_share=0.9, score_pct=99, priority=0),
        AreaRow("B", served_share=0.2, score_pct=80, priority=1),
        AreaRow("C", served_share=None, score_pct=95, priority=0),
        AreaRow("D", served_share=0.1, score_pct=90, priority=1),
        AreaRow("E", served_share=0.9, score_pct=50, priority=0),
    ]
    assert [r.name for r in rank_areas(rows)] == ["D", "B", "A", "E", "C"]


def test_areas_without_equity_fields_ranked_by_score():
    rows = [AreaRow("low", score_pct=10), AreaRow("high", score_pct=95), AreaRow("none")]
    assert [r.name for r in rank_areas(rows)] == ["high", "low", "none"]


def _content() -> ReportContent:
    return ReportContent(
        title="Town <report>",
        access=access_summary([7151, 9727, 10731], [True, False, False], [True, True, False]),
        hotspots=hotspot_summary([3, 0, -2], ["High-High", "Not significant", "Low-Low"]),
        areas=rank_areas([AreaRow("Nord & Süd", pop=100, served_share=0.25, score_pct=80, gi_bin=3,
                                  lisa_cluster="High-High", priority=1), AreaRow("West", pop=50, served_share=0.5)]),
        n_priority=1,
        method=MethodFacts(distance_m=400, min_area_ha=2.0, population_field="population", counts_residents=True,
                           n_green_spaces=3,
                           green_area_ha=12.34, indicators=["no2_mean", "income"], local_statistics=True),
        maps=[Figure("Green access", src="data:image/png;base64,iVBORw0KGgo=")],
        charts=[Figure("Served share", svg='<svg xmlns="http://www.w3.org/2000/svg"></svg>')],
        sources=["Sample town: synthetic"],
    )


def test_key_figures_in_words():
    sentences = ReportWords("en").key_figures(_content())
    assert sentences[0] == ("25.9 % of residents live within 400 m on foot of a green space of at least 2 ha; "
                            "61.1 % would in a straight line.")
    assert sentences[1].startswith("20,458 residents are not served; for 9,727 of them")
    assert sentences[2].startswith("1 of 2 areas are priority areas")
    assert "1 of 3 areas are hot spots and 1 cold spots" in sentences[3]


def test_words_go_through_the_translate_callback_with_the_class_as_context():
    calls = []

    def translate(context, text):
        calls.append(context)
        return text.replace("residents", "Einwohner")

    sentences = ReportWords("de", translate).key_figures(_content())
    assert sentences[0].startswith("25,9 % of Einwohner live within 400 m")
    assert set(calls) == {"ReportWords"}


class _Parser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


def test_html_page_is_whole_escaped_and_has_one_row_per_area():
    page = ReportHtml("en").render(_content())
    parser = _Parser()
    parser.feed(page)
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="en">' in page
    assert "Town &lt;report&gt;" in page
    assert "Nord &amp; Süd" in page
    table = page[page.index('<table class="areas">'):page.index("</table>")]
    assert table.count("<tr") == 1 + 2  # heading and one row per area
    assert table.index("Nord &amp; Süd") < table.index("West")
    assert '<tr class="priority">' in table
    assert "hot, 99 %" in table
    assert parser.tags.count("img") == 1
    assert parser.tags.count("svg") == 1
    assert "12.3 ha" in page
    assert "NO₂: mean, income" in page  # the indicators in words, not field names
    assert re.search(r"<h2>Data sources and licences</h2>\s*<ul class=\"sources\">\s*<li>Sample town: synthetic", page)


def test_html_leaves_out_columns_and_sections_without_data():
    page = ReportHtml("en").render(ReportContent(title="t", areas=[AreaRow("A", score_pct=50)]))
    assert "Served on foot" not in page
    assert "Hotspot score (percentile)" in page
    assert "<h2>Maps</h2>" not in page
    assert "<h2>Key figures</h2>" not in page


def test_key_figures_count_homes_without_a_population_field():
    content = _content()
    content.method = MethodFacts(distance_m=500)
    sentences = ReportWords("en").key_figures(content)
    assert sentences[0] == ("25.9 % of homes lie within 500 m on foot of a qualifying green space; "
                            "61.1 % would in a straight line.")
    assert sentences[1].startswith("20,458 homes are not served")
