"""What the PyQt6 check runs, written once for both Qt versions.

``pyqt6_check.py`` runs these under PyQt6 with the QGIS stand-in; ``tests/test_pyqt6_check.py`` runs
the same under the real QGIS (Qt5) and compares. Imports happen inside the functions: the plugin
is importable as ``social_resilience`` in both.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

#: Colours the chart draws with (``ui/series_chart.py``): line, warn and alert lines.
CHART_COLOURS = ("LINE_COLOR", "WARN_COLOR", "ALERT_COLOR")


def algorithm_parameters() -> dict[str, list[str]]:
    """Every algorithm's parameter names as its ``initAlgorithm`` declares them."""
    from social_resilience.algorithms.provider import algorithm_classes

    declared = {}
    for cls in algorithm_classes():
        algorithm = cls()
        algorithm.initAlgorithm({})
        declared[algorithm.name()] = [p.name() for p in algorithm.parameterDefinitions()]
    return declared


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def time_helpers() -> dict[str, Any]:
    """The time helpers of ``algorithms/common.py`` on instants around daylight-saving changes."""
    from qgis.core import NULL
    from qgis.PyQt.QtCore import QDate, QDateTime, Qt, QTime, QTimeZone
    from social_resilience.algorithms.common import epoch_seconds, utc_datetime, utc_qdatetime

    results: dict[str, Any] = {}
    moments = [
        datetime(2024, 3, 31, 0, 59, 59, 123000, tzinfo=timezone.utc),
        datetime(2024, 10, 27, 1, 30),  # no zone: read as UTC
        datetime(2024, 6, 1, 2, 0, tzinfo=timezone(timedelta(hours=2))),
    ]
    for moment in moments:
        value = utc_qdatetime(moment)
        results[f"utc_qdatetime({moment.isoformat()})"] = [
            value.toString(Qt.DateFormat.ISODateWithMs), value.timeSpec() == Qt.TimeSpec.UTC,
            value.toMSecsSinceEpoch(), _iso(utc_datetime(value)),
        ]
    inputs = {
        "no zone": QDateTime(QDate(2024, 6, 1), QTime(2, 0, 0)),
        "+02:00": QDateTime(QDate(2024, 6, 1), QTime(2, 0, 0), QTimeZone(7200)),
        "UTC": QDateTime(QDate(2024, 6, 1), QTime(2, 0, 0, 250), QTimeZone.utc()),
        "invalid": QDateTime(),
    }
    for name, value in inputs.items():
        results[f"utc_datetime({name})"] = _iso(utc_datetime(value))
        results[f"epoch_seconds({name})"] = epoch_seconds(value)
    others = {"QDate": QDate(2024, 6, 1), "text": "2024-06-01T02:00:00+02:00", "None": None, "NULL": NULL}
    for name, value in others.items():
        results[f"epoch_seconds({name})"] = epoch_seconds(value)
    results["utc_qdatetime(None) is NULL"] = utc_qdatetime(None) == NULL
    return results


def chart_image(width: int = 480, height: int = 240) -> Any:
    """The live dock's chart of one station (24 hourly values, warn and alert lines) as a QImage."""
    from qgis.PyQt.QtGui import QImage
    from social_resilience.core.live.feed_config import Thresholds
    from social_resilience.ui.series_chart import SeriesChart

    start = datetime(2024, 6, 1, tzinfo=timezone.utc)
    points = [(start + timedelta(hours=hour), 10.0 + 2.5 * hour) for hour in range(24)]
    chart = SeriesChart()
    chart.resize(width, height)
    chart.set_series(points, Thresholds(warn=40.0, alert=55.0), "NO₂ at a very long station name", "µg/m³")
    image = QImage(chart.size(), QImage.Format.Format_ARGB32)
    image.fill(0xFFFFFFFF)
    chart.render(image)
    return image


def colour_pixels(image: Any) -> dict[str, int]:
    """Pixels of each chart colour (within a small tolerance, for antialiasing)."""
    from social_resilience.ui import series_chart

    wanted = {name: getattr(series_chart, name) for name in CHART_COLOURS}
    counts = dict.fromkeys(wanted, 0)
    for y in range(image.height()):
        for x in range(image.width()):
            pixel = image.pixelColor(x, y)
            for name, colour in wanted.items():
                if max(abs(pixel.red() - colour.red()), abs(pixel.green() - colour.green()),
                       abs(pixel.blue() - colour.blue())) <= 16:
                    counts[name] += 1
    return counts


def report_content() -> Any:
    """A report with a map (a PNG drawn with QPainter) and the two SVG charts of the real report."""
    from qgis.PyQt.QtCore import QRectF
    from qgis.PyQt.QtGui import QColor, QImage, QPainter
    from social_resilience.algorithms.report.report_maps import png_data_uri
    from social_resilience.core.charts import bar_chart_svg, lorenz_curve_svg
    from social_resilience.core.report.content import (
        AreaRow,
        Figure,
        MethodFacts,
        ReportContent,
        access_summary,
        rank_areas,
    )

    image = QImage(600, 400, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.fillRect(QRectF(50, 50, 300, 200), QColor("#1a9641"))
    painter.end()
    names, shares, population = ["Nord", "Süd", "West", "Ost"], [0.8, 0.25, None, 0.5], [900.0, 1200.0, 300.0, 700.0]
    return ReportContent(
        title="Qt6 check",
        access=access_summary([7151, 9727, 10731], [True, False, False], [True, True, False]),
        areas=rank_areas([AreaRow(name, pop=pop, served_share=share) for name, pop, share in
                          zip(names, population, shares)]),
        method=MethodFacts(distance_m=400, min_area_ha=2.0, counts_residents=True),
        maps=[Figure("Green access", src=png_data_uri(image))],
        charts=[Figure("Served share", svg=bar_chart_svg(names, shares, "Served share")),
                Figure("Lorenz curve", svg=lorenz_curve_svg(population, shares, "Lorenz curve"))],
        sources=["Synthetic"],
    )


def write_report_pdf(path: str) -> None:
    """Write :func:`report_content` with the plugin's PDF writer (QTextDocument + QPrinter)."""
    from qgis.PyQt.QtCore import QCoreApplication
    from social_resilience.algorithms.report.report_pdf import write_pdf

    write_pdf(report_content(), "en", QCoreApplication.translate, path)
