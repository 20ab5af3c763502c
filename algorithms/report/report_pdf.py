"""The report as PDF: the same HTML laid out by Qt's text engine (no web engine needed).

The document is laid out for the printer itself (its resolution, its page in device pixels), so
a point in the style is a point on paper, whichever thread writes it: the algorithm dialog runs
the report in a worker thread, the Python console and qgis_process on the main thread.
"""

from __future__ import annotations

import base64
import re
from dataclasses import replace

from qgis.PyQt.QtCore import QByteArray, QCoreApplication, QMarginsF, QSizeF, Qt, QUrl
from qgis.PyQt.QtGui import QGuiApplication, QImage, QPageLayout, QPageSize, QPainter, QTextDocument
from qgis.PyQt.QtPrintSupport import QPrinter
from qgis.PyQt.QtSvg import QSvgRenderer

from ...core.report.content import ReportContent
from ...core.report.html import PRINT_STYLE, ReportHtml

#: Points of a page kept free beside a figure: the section heading above it and its caption below.
FIGURE_RESERVE = 110
#: Margin of the A4 page in points.
MARGIN = 15


def _svg_image(svg: str) -> QImage:
    """Render an inline SVG chart to an image (Qt's text engine shows no SVG)."""
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    size = renderer.defaultSize()
    scale = 2.0
    image = QImage(int(size.width() * scale) or 800, int(size.height() * scale) or 400, QImage.Format.Format_ARGB32)
    image.fill(0xFFFFFFFF)
    painter = QPainter(image)
    try:
        renderer.render(painter)
    finally:
        painter.end()
    return image


def html_dpi() -> float:
    """Pixels per inch of an HTML ``<img width>`` in Qt's text layout (Qt's default DPI, usually 96)."""
    application = QCoreApplication.instance()
    if QCoreApplication.testAttribute(Qt.ApplicationAttribute.AA_Use96Dpi):
        return 96.0
    screen = QGuiApplication.primaryScreen() if isinstance(application, QGuiApplication) else None
    return float(round(screen.logicalDotsPerInchX())) if screen is not None else 96.0


def fitted_size(width: int, height: int, page: QSizeF) -> tuple[int, int]:
    """Width and height (HTML pixels) of an image of ``width`` x ``height`` pixels as large as fits on ``page``.

    ``page`` is in HTML pixels too. Both sizes are given to Qt: with the width alone, Qt's text
    layout keeps the width but takes the image's own pixel height when it lays out in a worker
    thread (the algorithm dialog's run), which stretched the maps about 2.4 times and spread the
    report over more pages.
    """
    reserve = FIGURE_RESERVE * html_dpi() / 72.0
    scale = min((page.width() - 20) / max(width, 1), (page.height() - reserve) / max(height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


def a4_printer(path: str = "") -> QPrinter:
    """Return a PDF printer for an A4 portrait page with :data:`MARGIN` points margins."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    if path:
        printer.setOutputFileName(path)
    margins = QMarginsF(MARGIN, MARGIN, MARGIN, MARGIN)
    printer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait, margins,
                                      QPageLayout.Unit.Point))
    return printer


def pdf_document(content: ReportContent, language: str, translate, printer: QPrinter) -> QTextDocument:
    """Lay out the report on the printer's pages: each figure as large as fits on one page."""
    document = QTextDocument()
    document.documentLayout().setPaintDevice(printer)
    document.setPageSize(QSizeF(printer.pageRect(QPrinter.Unit.DevicePixel).size()))
    font = document.defaultFont()
    font.setPointSizeF(10)
    document.setDefaultFont(font)
    page = QSizeF(printer.pageRect(QPrinter.Unit.Point).size()) * (html_dpi() / 72.0)
    sizes = {}
    printable = replace(content, maps=[], charts=[])
    for number, figure in enumerate(content.maps + content.charts):
        name = f"figure{number}.png"
        image = _svg_image(figure.svg) if figure.svg else QImage.fromData(_decode(figure.src))
        document.addResource(QTextDocument.ResourceType.ImageResource, QUrl(name), image)
        sizes[name] = fitted_size(image.width(), image.height(), page)
        target = printable.maps if number < len(content.maps) else printable.charts
        target.append(replace(figure, src=name, svg=""))
    text = ReportHtml(language, translate).render(printable, PRINT_STYLE, paged=True)
    sized = lambda m: '<img width="{}" height="{}" src="{}"'.format(*sizes[m.group(1)], m.group(1))  # noqa: E731
    text = re.sub(r'<img src="(figure\d+\.png)"', sized, text)
    document.setHtml(text)
    return document


def _decode(src: str) -> bytes:
    return base64.b64decode(src.split(",", 1)[1]) if src.startswith("data:") else b""


def write_pdf(content: ReportContent, language: str, translate, path: str) -> None:
    """Write the report as an A4 PDF to ``path``."""
    printer = a4_printer(path)
    pdf_document(content, language, translate, printer).print(printer)
