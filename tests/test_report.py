"""``socialresilience:report`` on the sample-town chain: content, German, a real browser, qgis_process."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess

import pytest
from qgis.core import QgsProcessingException, QgsSettings, QgsVectorLayer
from qgis.PyQt.QtCore import QCoreApplication, QTranslator
from qgis.PyQt.QtGui import QImage
from social_resilience.algorithms.qt_compat import FieldType

from .conftest import REPO

ALG = "socialresilience:report"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def chain(sample_town, tmp_path_factory) -> dict:
    """Catchments, hotspot score and local hotspots of the sample town, as GeoPackages and results."""
    import processing

    out = tmp_path_factory.mktemp("chain")
    town = f"{sample_town}|layername="
    catchments = processing.run("socialresilience:greenspacecatchments", {
        "NETWORK": town + "network", "GREEN_SPACES": town + "green_spaces", "BARRIERS": town + "barriers",
        "CROSSINGS": town + "crossings", "ENTRANCES": town + "entrances", "RESIDENTIAL": town + "buildings",
        "POPULATION_FIELD": "population", "DISTANCE": 400, "MIN_AREA_HA": 2, "MERGE_DISTANCE": 10,
        "OUTPUT_CATCHMENTS": str(out / "catchments.gpkg"), "OUTPUT_GREEN_SPACES": str(out / "green.gpkg"),
        "OUTPUT_RESIDENTIAL": str(out / "homes.gpkg"),
    })
    processing.run("socialresilience:hotspotscore", {
        "INPUT": town + "districts", "ENV_FIELDS": "no2;noise_lden;heat_days;green_m2_per_inh",
        "SOCIAL_FIELDS": "share_65plus;unemployment;child_poverty;income",
        "INVERT_FIELDS": "green_m2_per_inh;income", "METHOD": 2, "OUTPUT": str(out / "score.gpkg"),
    })
    hotspots = processing.run("socialresilience:localhotspots", {
        "INPUT": str(out / "score.gpkg"), "FIELD": "score", "WEIGHTS": 0, "PERMUTATIONS": 99, "SEED": 1,
        "OUTPUT": str(out / "hotspots.gpkg"),
    })
    equity = processing.run("socialresilience:greenequity", {
        "RESIDENTIAL": str(out / "homes.gpkg"), "POPULATION_FIELD": "population", "AREAS": str(out / "hotspots.gpkg"),
        "BURDEN_FIELD": "score_pct", "OUTPUT": str(out / "equity.gpkg"),
    })
    return {"out": out, "town": sample_town, "catchments": catchments, "hotspots": hotspots, "equity": equity}


def report_parameters(chain: dict, html) -> dict:
    out = chain["out"]
    return {
        "AREAS": str(out / "equity.gpkg"), "RESIDENTIAL": str(out / "homes.gpkg"), "POPULATION_FIELD": "population",
        "CATCHMENTS": str(out / "catchments.gpkg"), "GREEN_SPACES": str(out / "green.gpkg"),
        "HOTSPOTS": str(out / "hotspots.gpkg"), "STATIONS": f"{chain['town']}|layername=stations",
        "MIN_AREA_HA": 2, "TITLE": "Sample town", "DATA_SOURCES": "Sample town: synthetic data",
        "OUTPUT_HTML": str(html),
    }


def embedded_images(page: str) -> list[QImage]:
    return [QImage.fromData(base64.b64decode(data), "PNG")
            for data in re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)]


def test_report_of_the_sample_town_chain(chain, tmp_path):
    import processing
    from social_resilience.algorithms.common import to_float

    html = tmp_path / "report.html"
    pdf = tmp_path / "report.pdf"
    result = processing.run(ALG, {**report_parameters(chain, html), "OUTPUT_PDF": str(pdf)})
    catchments, hotspots = chain["catchments"], chain["hotspots"]
    assert result["SERVED_SHARE"] == pytest.approx(catchments["SERVED_SHARE"], abs=1e-12)
    assert result["SERVED_SHARE_EUCLIDEAN"] == pytest.approx(catchments["SERVED_SHARE_EUCLIDEAN"], abs=1e-12)
    assert result["NOT_SERVED"] == catchments["TOTAL_POPULATION"] - catchments["SERVED_POPULATION"]
    assert result["N_HOT"] == hotspots["N_HOT"]
    assert result["N_PRIORITY"] == chain["equity"]["N_PRIORITY"] > 0
    page = html.read_text(encoding="utf-8")
    share = f"{100 * catchments['SERVED_SHARE']:.1f} %"
    straight = f"{100 * catchments['SERVED_SHARE_EUCLIDEAN']:.1f} %"
    sentence = (f"{share} of residents live within 400 m on foot of a green space of at least 2 ha; "
                f"{straight} would in a straight line.")
    assert sentence in page
    assert sentence in result["KEY_FIGURES"]
    assert f"{hotspots['N_HOT']} of 64 areas are hot spots and {hotspots['N_COLD']} cold spots" in page
    assert f"{chain['equity']['N_PRIORITY']} of 64 areas are priority areas" in page
    assert f"(Gini coefficient): {chain['equity']['GINI']:.2f} " in page
    assert chain["equity"]["SERVED_SHARE"] == pytest.approx(catchments["SERVED_SHARE"], abs=1e-12)
    table = page[page.index('<table class="areas">'):page.index("</table>")]
    districts = QgsVectorLayer(f"{chain['town']}|layername=districts", "d", "ogr")
    assert table.count("<tr") == 1 + districts.featureCount()
    names = {f["name"] for f in districts.getFeatures()}
    rows = re.findall(r"<tr( class=\"priority\")?><td", table)
    n_priority = chain["equity"]["N_PRIORITY"]
    assert [bool(r) for r in rows] == [True] * n_priority + [False] * (64 - n_priority)  # priority areas first
    assert set(re.findall(r'<tr[^>]*><td class="num">\d+</td><td>([^<]+)</td>', table)) == names
    images = embedded_images(page)
    assert len(images) == 5  # green access, equity per area, Gi*, Local Moran, hotspot score
    assert all(not image.isNull() and image.width() > 1000 for image in images)
    charts = re.findall(r"<svg .*?</svg>", page, re.S)
    assert len(charts) == 2  # served share per area, Lorenz curve
    equity = QgsVectorLayer(str(chain["out"] / "equity.gpkg"), "equity", "ogr")
    with_share = sum(1 for f in equity.getFeatures() if to_float(f["served_share"]) is not None)
    assert charts[0].count("<rect") == 1 + with_share  # background and a bar per area with residents
    assert "Sample town: synthetic data" in page
    assert "NO₂, noise (Lden), hot days, green space per inhabitant" in page  # the indicators in words
    assert pdf.read_bytes().startswith(b"%PDF")
    assert pdf.stat().st_size > 50_000


def test_report_ranks_by_score_when_areas_have_no_equity_fields(chain, tmp_path):
    import processing

    html = tmp_path / "areas.html"
    processing.run(ALG, {"AREAS": str(chain["out"] / "score.gpkg"), "OUTPUT_HTML": str(html)})
    page = html.read_text(encoding="utf-8")
    scores = [float(v) for v in re.findall(r'<td class="num">(\d+)</td></tr>', page)]
    assert len(scores) == 52  # districts with a score; the others have no score cell
    assert scores == sorted(scores, reverse=True)
    assert len(embedded_images(page)) == 1
    assert "Served on foot" not in page


def test_report_needs_a_layer(provider, tmp_path):
    import processing

    with pytest.raises(QgsProcessingException, match="at least one of AREAS"):
        processing.run(ALG, {"OUTPUT_HTML": str(tmp_path / "r.html")})
    assert not (tmp_path / "r.html").exists()


def test_report_rejects_homes_without_served(chain, tmp_path):
    import processing

    with pytest.raises(QgsProcessingException, match="OUTPUT_RESIDENTIAL"):
        processing.run(ALG, {"RESIDENTIAL": f"{chain['town']}|layername=buildings",
                             "OUTPUT_HTML": str(tmp_path / "r.html")})
    assert not (tmp_path / "r.html").exists()


@pytest.fixture
def german(provider):
    """QGIS in German: the user locale and the plugin's translation."""
    subprocess.run(["/usr/bin/python3", str(REPO / "scripts" / "build_translations.py")], check=True,
                   capture_output=True)
    translator = QTranslator()
    assert translator.load(str(REPO / "i18n" / "social_resilience_de.qm"))
    settings = QgsSettings()
    before = settings.value("locale/userLocale", "")
    settings.setValue("locale/userLocale", "de_DE")
    QCoreApplication.installTranslator(translator)
    yield
    QCoreApplication.removeTranslator(translator)
    settings.setValue("locale/userLocale", before)


def test_report_in_german(chain, tmp_path, german):
    import processing

    html = tmp_path / "bericht.html"
    result = processing.run(ALG, report_parameters(chain, html))
    page = html.read_text(encoding="utf-8")
    share = f"{100 * chain['catchments']['SERVED_SHARE']:.1f} %".replace(".", ",")
    assert '<html lang="de">' in page
    assert f"{share} der Bewohnerinnen und Bewohner" in page
    assert "<h2>Kennzahlen</h2>" in page
    assert "Gebiete nach Priorität" in page
    assert share in result["KEY_FIGURES"]


def _browser(*args: str, profile) -> subprocess.CompletedProcess:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (Debian package chromium; scripts/test.sh installs it)")
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


PROBE = """<script>
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var loaded = images.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  var svgs = document.querySelectorAll("svg").length;
  var rows = document.querySelectorAll("table.areas tr").length;
  document.body.setAttribute("data-probe", images.length + "/" + loaded + "/" + svgs + "/" + rows +
    "/" + document.body.scrollHeight);
});
</script>"""


def test_report_opens_in_a_real_browser(chain, tmp_path):
    import processing

    html = tmp_path / "report.html"
    processing.run(ALG, report_parameters(chain, html))
    probe = tmp_path / "probe.html"
    probe.write_text(html.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    result = _browser("--virtual-time-budget=10000", "--dump-dom", probe.as_uri(), profile=tmp_path / "chromium")
    found = re.search(r'data-probe="(\d+)/(\d+)/(\d+)/(\d+)/(\d+)"', result.stdout)
    assert found, result.stderr[-2000:]
    images, loaded, svgs, rows, height = (int(v) for v in found.groups())
    assert images == 5
    assert loaded == images
    assert svgs == 2
    assert rows == 1 + 64
    assert height > 3000
    shot = tmp_path / "shot.png"
    _browser("--window-size=1200,1600", f"--screenshot={shot}", html.as_uri(), profile=tmp_path / "chromium")
    image = QImage(str(shot))
    assert image.width() == 1200
    colours = {image.pixel(x, y) for x in range(0, 1200, 7) for y in range(300, 1600, 7)}
    assert len(colours) > 50  # a rendered map, not a blank page


def test_report_through_qgis_process(chain, qgis_process, tmp_path):
    html = tmp_path / "report.html"
    report = qgis_process.run_algorithm(ALG, report_parameters(chain, html))
    results = report["results"]
    assert results["SERVED_SHARE"] == pytest.approx(chain["catchments"]["SERVED_SHARE"], abs=1e-12)
    assert results["N_HOT"] == chain["hotspots"]["N_HOT"]
    assert len(embedded_images(html.read_text(encoding="utf-8"))) == 5


def _areas_without_crs():
    from qgis.core import QgsFeature, QgsField, QgsGeometry

    layer = QgsVectorLayer("Polygon", "areas", "memory")
    layer.dataProvider().addAttributes([QgsField("name", FieldType.STRING), QgsField("score_pct", FieldType.DOUBLE),
                                        QgsField("gi_bin", FieldType.INT), QgsField("lisa_cluster", FieldType.STRING)])
    layer.updateFields()
    shapes = [
        ("square", "POLYGON((500000 5500000, 500100 5500000, 500100 5500100, 500000 5500100, 500000 5500000))", 40),
        ("bow tie", "POLYGON((500100 5500000, 500200 5500100, 500200 5500000, 500100 5500100, 500100 5500000))", 90),
        ("empty", "", 60),
    ]
    features = []
    for name, wkt, score in shapes:
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromWkt(wkt) if wkt else QgsGeometry())
        feature.setAttributes([name, score, 1 if score > 50 else 0, "High-High" if score > 50 else "Not significant"])
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def test_report_of_areas_without_crs_with_invalid_and_empty_geometries(provider, tmp_path):
    import processing
    from qgis.core import QgsCoordinateReferenceSystem

    html = tmp_path / "report.html"
    layer = _areas_without_crs()
    layer.setCrs(QgsCoordinateReferenceSystem())
    result = processing.run(ALG, {"AREAS": layer, "OUTPUT_HTML": str(html)})
    page = html.read_text(encoding="utf-8")
    table = page[page.index('<table class="areas">'):page.index("</table>")]
    assert re.findall(r'<tr[^>]*><td class="num">\d+</td><td>([^<]+)</td>', table) == ["bow tie", "empty", "square"]
    assert result["N_HOT"] == 2
    images = embedded_images(page)
    assert len(images) == 3  # Gi*, Local Moran, score
    assert all(not image.isNull() for image in images)


def test_report_refuses_metres_declared_as_degrees(provider, tmp_path):
    import processing
    from qgis.core import QgsCoordinateReferenceSystem

    layer = _areas_without_crs()
    layer.setCrs(QgsCoordinateReferenceSystem("EPSG:4326"))
    with pytest.raises(QgsProcessingException, match="cannot be degrees"):
        processing.run(ALG, {"AREAS": layer, "OUTPUT_HTML": str(tmp_path / "r.html")})
    assert not (tmp_path / "r.html").exists()


def test_geopackage_outputs_carry_their_style(chain):
    """Dragged into any QGIS, the result files show styled: the style is the GeoPackage's default."""
    from qgis.core import QgsCategorizedSymbolRenderer, QgsRuleBasedRenderer

    expected = {"hotspots.gpkg": ("gi_bin", QgsCategorizedSymbolRenderer),
                "score.gpkg": ("score_pct", QgsRuleBasedRenderer),
                "homes.gpkg": ("served", QgsCategorizedSymbolRenderer)}
    for name, (attribute, kind) in expected.items():
        layer = QgsVectorLayer(str(chain["out"] / name), name, "ogr")  # loads the default style, as QGIS does
        assert isinstance(layer.renderer(), kind), name
        assert attribute in layer.renderer().dump()
        count, _ids, names, _descriptions, _error = layer.listStylesInDatabase()
        assert count == 1, names


def test_pdf_figures_fit_on_a_page(provider):
    """A tall chart (many areas) is scaled to the page's height, a wide map to its width; both keep their shape."""
    from qgis.PyQt.QtPrintSupport import QPrinter
    from social_resilience.algorithms.report.report_maps import png_data_uri
    from social_resilience.algorithms.report.report_pdf import FIGURE_RESERVE, a4_printer, html_dpi, pdf_document
    from social_resilience.core.report.content import Figure, ReportContent

    wide = QImage(2000, 1000, QImage.Format.Format_ARGB32)
    wide.fill(0xFF3A7D44)
    tall = '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="2000"><rect width="400" height="2000"/></svg>'
    content = ReportContent("t", maps=[Figure("map", src=png_data_uri(wide))], charts=[Figure("chart", svg=tall)])
    printer = a4_printer()
    document = pdf_document(content, "en", lambda context, text: text, printer)
    sizes = [(int(w), int(h)) for w, h in re.findall(r'<img[^>]* width="(\d+)" height="(\d+)"', document.toHtml())]
    page = printer.pageRect(QPrinter.Unit.Point)
    to_html = html_dpi() / 72.0
    assert sizes[0] == (round(page.width() * to_html) - 20, round((page.width() * to_html - 20) / 2))  # page width
    chart_height = round((page.height() - FIGURE_RESERVE) * to_html)
    assert abs(sizes[1][1] - chart_height) <= 1  # the chart: the page height less the heading and caption
    assert sizes[1][0] == round(sizes[1][1] / 5)
    assert document.pageCount() == 3  # the title, the maps, the charts: each section begins a page


def test_report_checks_the_fields_it_reads(provider, tmp_path):
    """A served share of 170 %, priority -1 and gi_bin 99 were shown and counted without a word."""
    import processing
    from qgis.core import QgsFeature, QgsField, QgsGeometry, QgsProcessingFeedback

    layer = QgsVectorLayer("Polygon?crs=EPSG:25832", "areas", "memory")
    fields = [("name", FieldType.STRING), ("pop", FieldType.DOUBLE), ("pop_served", FieldType.DOUBLE),
              ("served_share", FieldType.DOUBLE), ("priority", FieldType.INT), ("gi_bin", FieldType.INT),
              ("lisa_cluster", FieldType.STRING)]  # fmt: skip
    layer.dataProvider().addAttributes([QgsField(n, t) for n, t in fields])
    layer.updateFields()
    rows = [("good", 100, 40, 0.4, 1, 2), ("too much", 100, 170, 1.7, 0, 99), ("minus", 50, 10, 0.2, -1, -1)]
    for i, (name, pop, served, share, priority, gi_bin) in enumerate(rows):
        feature = QgsFeature(layer.fields())
        x = 500000 + 100 * i
        feature.setGeometry(QgsGeometry.fromWkt(f"POLYGON(({x} 0, {x + 100} 0, {x + 100} 100, {x} 100, {x} 0))"))
        feature.setAttributes([name, pop, served, share, priority, gi_bin, "Not significant"])
        layer.dataProvider().addFeature(feature)

    class Warnings(QgsProcessingFeedback):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[str] = []

        def pushWarning(self, text: str) -> None:  # noqa: N802
            self.seen.append(text)

    feedback = Warnings()
    html = tmp_path / "checked.html"
    result = processing.run(ALG, {"AREAS": layer, "OUTPUT_HTML": str(html)}, feedback=feedback)
    assert result["N_PRIORITY"] == 1  # -1 is no priority area (was 2)
    assert result["N_HOT"] == 1  # gi_bin 99 is no hot spot (was 2)
    page = html.read_text(encoding="utf-8")
    assert "40.0&nbsp;%" in page  # the good area's share is shown
    assert "170.0&nbsp;%" not in page
    assert "170.0 %" not in page
    expected = ["AREAS: 1 features have a served_share outside 0 to 1 (e.g. 1.7)",
                "AREAS: 1 features have a priority outside 0 to 1 (e.g. -1)",
                "AREAS: 1 features have a gi_bin outside -3 to 3 (e.g. 99)"]  # fmt: skip
    for text in expected:
        assert any(w.startswith(text) for w in feedback.seen), text
    assert [f["served_share"] for f in layer.getFeatures()] == [0.4, 1.7, 0.2]  # the input is untouched
