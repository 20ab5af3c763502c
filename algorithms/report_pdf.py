"""The report as PDF: the same HTML laid out by Qt's text engine (no web engine needed)."""

from __future__ import annotations

import re

from qgis.PyQt.QtCore import QByteArray, QMarginsF, QSizeF, QUrl
from qgis.PyQt.QtGui import QImage, QPageLayout, QPageSize, QPainter, QTextDocument
from qgis.PyQt.QtPrintSupport import QPrinter
from qgis.PyQt.QtSvg import QSvgRenderer

from ..core.report.content import ReportContent
from ..core.report.html import ReportHtml


def _svg_image(svg: str) -> QImage:
    """Render an inline SVG chart to an image (Qt's text engine shows no SVG)."""
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    size = renderer.defaultSize()
    scale = 2.0
    image = QImage(int(size.width() * scale) or 800, int(size.height() * scale) or 400, QImage.Format_ARGB32)
    image.fill(0xFFFFFFFF)
    painter = QPainter(image)
    try:
        renderer.render(painter)
    finally:
        painter.end()
    return image


def pdf_document(content: ReportContent, language: str, translate, page: QSizeF) -> QTextDocument:
    """Lay out the report on pages of ``page`` (points): figures as images of the page's width."""
    document = QTextDocument()
    document.setPageSize(page)
    font = document.defaultFont()
    font.setPointSizeF(9)
    document.setDefaultFont(font)
    charts = []
    for number, figure in enumerate(content.maps + content.charts):
        name = f"figure{number}.png"
        image = _svg_image(figure.svg) if figure.svg else QImage.fromData(_decode(figure.src))
        document.addResource(QTextDocument.ImageResource, QUrl(name), image)
        charts.append((figure, name, image))
    printable = ReportContent(**{**content.__dict__, "maps": [], "charts": []})
    for figure, name, _image in charts:
        target = printable.maps if figure in content.maps else printable.charts
        target.append(type(figure)(figure.title, src=name, caption=figure.caption))
    text = ReportHtml(language, translate).render(printable)
    width = f'width="{int(page.width()) - 20}"'
    text = re.sub(r'<img src="(figure\d+\.png)"', lambda m: f'<img {width} src="{m.group(1)}"', text)
    document.setHtml(text)
    return document


def _decode(src: str) -> bytes:
    import base64

    return base64.b64decode(src.split(",", 1)[1]) if src.startswith("data:") else b""


def write_pdf(content: ReportContent, language: str, translate, path: str) -> None:
    """Write the report as an A4 PDF to ``path``."""
    printer = QPrinter(QPrinter.HighResolution)
    printer.setOutputFormat(QPrinter.PdfFormat)
    printer.setOutputFileName(path)
    printer.setPageLayout(QPageLayout(QPageSize(QPageSize.A4), QPageLayout.Portrait, QMarginsF(15, 15, 15, 15)))
    page = QSizeF(printer.pageRect(QPrinter.Point).size())
    pdf_document(content, language, translate, page).print_(printer)
