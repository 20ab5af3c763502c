"""The report as the desktop runs it: the algorithm dialog's worker thread, PDF pages, EPSG:4326 layers after it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest
from qgis.core import (
    QgsApplication,
    QgsProcessingAlgRunnerTask,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProject,
)

from .conftest import REPO
from .test_report import ALG, chain, embedded_images, german, report_parameters  # noqa: F401 (fixtures)


def run_in_task(parameters: dict) -> dict:
    """Run the report in a QgsProcessingAlgRunnerTask, as the algorithm dialog does (a worker thread)."""
    algorithm = QgsApplication.processingRegistry().createAlgorithmById(ALG)
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    feedback = QgsProcessingFeedback()
    done: dict = {}
    task = QgsProcessingAlgRunnerTask(algorithm, parameters, context, feedback)
    task.executed.connect(lambda ok, results: done.update(ok=ok, results=results))
    QgsApplication.taskManager().addTask(task)
    deadline = time.monotonic() + 180
    while "ok" not in done and time.monotonic() < deadline:
        QgsApplication.processEvents()
        time.sleep(0.01)
    assert done.get("ok"), "the report task failed or did not finish in 180 s"
    return done["results"]


def pdf_pages(path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True, timeout=60).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def pdf_images(path) -> list[tuple[int, int, int, int, int]]:
    """(page, width, height, x-ppi, y-ppi) of every image, from ``pdfimages -list``."""
    listing = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True,
                             timeout=60).stdout
    rows = [line.split() for line in listing.splitlines()[2:] if line.strip()]
    return [(int(r[0]), int(r[3]), int(r[4]), int(r[12]), int(r[13])) for r in rows]


def test_pdf_from_the_dialogs_worker_thread_equals_the_console_run(chain, tmp_path):  # noqa: F811
    import processing

    console, task = tmp_path / "console.pdf", tmp_path / "task.pdf"
    processing.run(ALG, {**report_parameters(chain, tmp_path / "console.html"), "OUTPUT_PDF": str(console)})
    results = run_in_task({**report_parameters(chain, tmp_path / "task.html"), "OUTPUT_PDF": str(task)})
    assert results["OUTPUT_PDF"] == str(task)
    images = pdf_images(task)
    assert images == pdf_images(console)
    assert pdf_pages(task) == pdf_pages(console)
    assert len(images) == 7  # five maps, the bar chart and the Lorenz curve
    assert [page for page, *_ in images] == sorted({page for page, *_ in images})  # one figure per page
    for _page, _width, _height, x_ppi, y_ppi in images:
        assert abs(x_ppi - y_ppi) <= 1, images  # not stretched (the worker thread once gave 173 x 72)
        assert x_ppi >= 100  # sharp enough to print


def test_pdf_pages_keep_headings_with_their_text_and_words_whole(chain, tmp_path):  # noqa: F811
    """No heading at the foot of a page without what follows it; no table heading broken inside a word."""
    import pickle

    import processing
    from qgis.PyQt.QtGui import QTextBlock
    from social_resilience.algorithms.report import report_pdf

    kept = {}
    original = report_pdf.write_pdf

    def keep_and_write(content, *args) -> None:
        kept.update(content=pickle.dumps(content))
        original(content, *args)

    report_pdf.write_pdf = keep_and_write
    try:
        processing.run(ALG, {**report_parameters(chain, tmp_path / "r.html"), "OUTPUT_PDF": str(tmp_path / "r.pdf")})
    finally:
        report_pdf.write_pdf = original
    printer = report_pdf.a4_printer()
    document = report_pdf.pdf_document(pickle.loads(kept["content"]), "en", lambda c, t: t, printer)
    assert words_broken_in_tables(document) == []
    layout, page_height = document.documentLayout(), document.pageSize().height()
    block: QTextBlock = document.begin()
    headings = 0
    while block.isValid():
        if block.blockFormat().headingLevel() == 2:
            headings += 1
            following = block.next()
            page = int(layout.blockBoundingRect(block).top() // page_height)
            while following.isValid() and not following.text().strip() and following.blockFormat().headingLevel() != 2:
                following = following.next()
            assert following.isValid(), block.text()
            assert int(layout.blockBoundingRect(following).top() // page_height) == page, block.text()
        block = block.next()
    assert headings == 6  # key figures, maps, areas, charts, method, sources


def words_broken_in_tables(document) -> list[str]:
    """Texts of table cells that Qt's layout broke inside a word."""
    from qgis.PyQt.QtGui import QTextTable

    broken, frames = [], [document.rootFrame()]
    while frames:
        frame = frames.pop()
        frames.extend(frame.childFrames())
        if not isinstance(frame, QTextTable):
            continue
        for row in range(frame.rows()):
            for column in range(frame.columns()):
                cell = frame.cellAt(row, column)
                block = cell.firstCursorPosition().block()
                while block.isValid() and block.position() <= cell.lastCursorPosition().position():
                    text, lines = block.text(), block.layout()
                    for i in range(1, lines.lineCount()):
                        start = lines.lineAt(i).textStart()
                        if start > 0 and not (text[start - 1].isspace() or text[start - 1] in "-/\u2028"):
                            broken.append(text)
                    block = block.next()
    return broken


@pytest.mark.parametrize("algorithm", ["report", "greenspacecatchments"])
def test_geographic_layers_still_draw_after_a_run_in_the_dialogs_worker_thread(chain, tmp_path, algorithm):  # noqa: F811
    """A 4326 -> 25832 transform in a new thread and a 4326 layer on a 25832 map, after the worker thread ended.

    In a fresh process (``tests/crs_probe.py``): QGIS 3.22 caches a CRS with the PROJ objects of the
    thread that made it first; when the worker made EPSG:4326 first and the pool ended that thread,
    transforms on new threads returned their input and 4326 layers vanished from the map (seen after
    the report with 4326 stations, and after the catchments on layers in longitude/latitude).
    """
    import processing

    geographic = {}
    for layer in ("stations", "network", "green_spaces", "buildings"):
        geographic[layer] = str(tmp_path / f"{layer}_4326.gpkg")
        processing.run("native:reprojectlayer", {"INPUT": f"{chain['town']}|layername={layer}",
                                                 "TARGET_CRS": "EPSG:4326", "OUTPUT": geographic[layer]})
    parameters = {
        "report": {"STATIONS": geographic["stations"], "AREAS": str(chain["out"] / "equity.gpkg"), "TITLE": "Probe",
                   "OUTPUT_HTML": str(tmp_path / "probe.html"), "OUTPUT_PDF": str(tmp_path / "probe.pdf")},
        "greenspacecatchments": {"NETWORK": geographic["network"], "GREEN_SPACES": geographic["green_spaces"],
                                 "RESIDENTIAL": geographic["buildings"], "OUTPUT_CATCHMENTS": "memory:",
                                 "OUTPUT_GREEN_SPACES": "memory:", "OUTPUT_RESIDENTIAL": "memory:"},
    }[algorithm]
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp_path)}
    environment.pop("QGIS_CUSTOM_CONFIG_PATH", None)
    from .conftest import PLUGIN_PARENT

    done = subprocess.run(
        ["/usr/bin/python3", str(REPO / "tests" / "crs_probe.py"), str(PLUGIN_PARENT),
         f"socialresilience:{algorithm}", json.dumps(parameters)],
        capture_output=True, text=True, timeout=300, env=environment, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, done.stdout[-2000:] + done.stderr[-2000:]
    probe = json.loads(lines[-1])
    assert probe["run_ok"]
    expected = pytest.approx(probe["before"]["main"], abs=1e-3)
    assert 500_000 < probe["before"]["main"][0] < 600_000  # Kassel in UTM 32N, not the degrees
    for moment in ("before", "after"):
        assert probe[moment]["main"] == expected
        assert probe[moment]["thread"] == expected, moment
        assert probe[moment]["pixels"] > 0, moment  # the 4326 point is drawn on the 25832 map


def test_report_in_the_desktop_adds_its_maps_as_a_print_layout(chain, tmp_path, monkeypatch):  # noqa: F811
    """One page per map with title, map, legend, scale bar and sources; it exports and survives a project save."""
    import processing
    from qgis.core import (
        QgsLayoutExporter,
        QgsLayoutItemLabel,
        QgsLayoutItemLegend,
        QgsLayoutItemMap,
        QgsLayoutItemScaleBar,
        QgsProject,
    )
    from social_resilience.algorithms.report import report_layout

    monkeypatch.setattr(report_layout, "in_desktop", lambda: True)  # pytest-qgis runs as platform "external"
    project = QgsProject.instance()
    before = set(project.mapLayers())
    result = processing.run(ALG, report_parameters(chain, tmp_path / "r.html"))
    layout = project.layoutManager().layoutByName("Report: Sample town")
    added = [layer_id for layer_id in project.mapLayers() if layer_id not in before]
    try:
        assert layout is not None
        pages, styles = layout.pageCollection().pageCount(), []
        assert pages == len(embedded_images((tmp_path / "r.html").read_text(encoding="utf-8"))) == 5
        for page in range(pages):
            items = layout.pageCollection().itemsOnPage(page)
            kinds = [type(item) for item in items]
            assert kinds.count(QgsLayoutItemMap) == 1, page
            assert QgsLayoutItemLegend in kinds, page
            assert QgsLayoutItemScaleBar in kinds, page
            texts = [item.text() for item in items if isinstance(item, QgsLayoutItemLabel)]
            assert any(text.startswith("Sample town: ") for text in texts), texts
            assert any("Sample town: synthetic data" in text for text in texts), texts  # the sources
            maps = [item for item in items if isinstance(item, QgsLayoutItemMap)]
            legend = next(item for item in items if isinstance(item, QgsLayoutItemLegend))
            right = legend.positionWithUnits().x() + report_layout.legend_width(layout, legend)
            assert right <= report_layout.PAGE_W - report_layout.MARGIN + 0.5, page  # the legend stays on the page
            assert maps[0].layers()
            assert maps[0].keepLayerSet()
            styles.append(maps[0].layers()[-1].renderer().dump())
        assert len(set(styles)) == 5  # each map in its theme's style (not the GeoPackage's own default style)
        for page in range(1, pages):  # the area maps name their areas, as the table does
            area_map = next(i for i in layout.pageCollection().itemsOnPage(page) if isinstance(i, QgsLayoutItemMap))
            areas = area_map.layers()[-1]
            assert areas.labelsEnabled()
            assert areas.labeling().settings().fieldName == "name"
        assert "lisa_cluster" in styles[3]
        assert "score_pct" in styles[4]
        group = project.layerTreeRoot().findGroup("Report: Sample town")
        assert group is not None
        assert not group.itemVisibilityChecked()  # the canvas stays as it was
        assert sorted(layer.id() for layer in group.findLayers() for layer in [layer.layer()]) == sorted(added)
        assert result["N_HOT"] == chain["hotspots"]["N_HOT"]
        pdf = tmp_path / "layout.pdf"
        exporter = QgsLayoutExporter(layout)
        assert exporter.exportToPdf(str(pdf), QgsLayoutExporter.PdfExportSettings()) == QgsLayoutExporter.Success
        assert pdf_pages(pdf) == 5
        saved = tmp_path / "project.qgz"
        assert project.write(str(saved))
        reopened = QgsProject()
        assert reopened.read(str(saved))
        copy = reopened.layoutManager().layoutByName("Report: Sample town")
        first_map = next(item for item in copy.items() if isinstance(item, QgsLayoutItemMap))
        assert first_map.layers()
        assert all(layer.isValid() and layer.featureCount() > 0 for layer in first_map.layers())
    finally:
        if layout is not None:
            project.layoutManager().removeLayout(layout)
        group = project.layerTreeRoot().findGroup("Report: Sample town")
        if group is not None:
            project.layerTreeRoot().removeChildNode(group)
        project.removeMapLayers(added)


WIDTH_PROBE = """<script>
window.addEventListener("load", function () {
  var table = document.querySelector("table.areas");
  var cells = table.rows[0].cells;
  var last = cells[cells.length - 1].getBoundingClientRect();
  document.body.setAttribute("data-width", table.scrollWidth + "/" + table.parentNode.clientWidth + "/" +
    Math.round(last.right) + "/" + window.innerWidth);
});
</script>"""


def test_german_table_fits_a_1280_pixel_window(chain, tmp_path, german):  # noqa: F811 (fixtures)
    """The German report's table, priority column included, is seen whole in a 1280 px wide browser window."""
    import processing

    from .test_report import _browser

    html = tmp_path / "bericht.html"
    processing.run(ALG, report_parameters(chain, html))
    page = html.read_text(encoding="utf-8")
    assert "<th>Vorrang</th>" in page
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", WIDTH_PROBE + "</body>"), encoding="utf-8")
    result = _browser("--window-size=1280,900", "--virtual-time-budget=10000", "--dump-dom", probe.as_uri(),
                      profile=tmp_path / "chromium")
    found = re.search(r'data-width="(\d+)/(\d+)/(\d+)/(\d+)"', result.stdout)
    assert found, result.stderr[-2000:]
    table_width, room, last_right, window = (int(v) for v in found.groups())
    assert window == 1280
    assert table_width <= room  # no horizontal scrolling inside the report
    assert last_right <= window  # the priority column is on screen


def test_lorenz_curve_captions_stay_inside_the_chart(provider):
    """The German x-axis caption is longer than the axis: it is broken into lines and its ")" stays on the chart."""
    from html import unescape

    from qgis.PyQt.QtGui import QFont, QFontMetricsF
    from social_resilience.core.charts import X_CAPTION, lorenz_curve_svg

    words = {X_CAPTION: "Anteil der Einwohner (Gebiete von schlechtester zu bester Versorgung)"}
    svg = lorenz_curve_svg([100, 200, 300], [0.2, 0.5, 0.9], "Lorenzkurve", translate=lambda t: words.get(t, t),
                           decimal=",")
    assert re.search(r"Gini coefficient 0,\d{3}<", svg)  # the German decimal comma
    assert "Versorgung)</text>" in svg
    width = float(re.search(r'<svg [^>]*width="(\d+)"', svg).group(1))
    text_element = r'<text x="([\d.]+)" y="[\d.]+" font-size="(\d+)" text-anchor="(\w+)"([^>]*)>([^<]*)</text>'
    texts = re.findall(text_element, svg)
    assert len(texts) > 10
    for x, size, anchor, extra, text in texts:
        if "rotate" in extra:
            continue
        font = QFont("DejaVu Sans")
        font.setPixelSize(int(size))
        length = QFontMetricsF(font).horizontalAdvance(unescape(text))
        left = float(x) - {"start": 0.0, "middle": length / 2, "end": length}[anchor]
        assert left >= 0, text
        assert left + length <= width, text
