"""The report as PDF: the same HTML laid out by Qt's text engine (no web engine needed)."""

from __future__ import annotations

import base64
import re
from dataclasses import replace

from qgis.PyQt.QtCore import QByteArray, QMarginsF, QSizeF, QUrl
from qgis.PyQt.QtGui import QImage, QPageLayout, QPageSize, QPainter, QTextDocument
from qgis.PyQt.QtPrintSupport import QPrinter
from qgis.PyQt.QtSvg import QSvgRenderer

from ...core.report.content import ReportContent
from ...core.report.html import PRINT_STYLE, ReportHtml


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


def pdf_document(content: ReportContent, language: str, translate, page: QSizeF) -> QTextDocument:
    """Lay out the report on pages of ``page`` (points): each figure as large as fits on one page."""
    document = QTextDocument()
    document.setPageSize(page)
    font = document.defaultFont()
    font.setPointSizeF(9)
    document.setDefaultFont(font)
    widths = {}
    printable = replace(content, maps=[], charts=[])
    for number, figure in enumerate(content.maps + content.charts):
        name = f"figure{number}.png"
        image = _svg_image(figure.svg) if figure.svg else QImage.fromData(_decode(figure.src))
        document.addResource(QTextDocument.ResourceType.ImageResource, QUrl(name), image)
        fit_height = (page.height() - 80) * image.width() / max(image.height(), 1)
        widths[name] = int(min(page.width() - 20, fit_height))
        target = printable.maps if number < len(content.maps) else printable.charts
        target.append(replace(figure, src=name, svg=""))
    text = ReportHtml(language, translate).render(printable, PRINT_STYLE)
    sized = lambda m: f'<img width="{widths[m.group(1)]}" src="{m.group(1)}"'  # noqa: E731
    text = re.sub(r'<img src="(figure\d+\.png)"', sized, text)
    document.setHtml(text)
    return document


def _decode(src: str) -> bytes:
    return base64.b64decode(src.split(",", 1)[1]) if src.startswith("data:") else b""


def write_pdf(content: ReportContent, language: str, translate, path: str) -> None:
    """Write the report as an A4 PDF to ``path``."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(path)
    margins = QMarginsF(15, 15, 15, 15)
    printer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait, margins))
    page = QSizeF(printer.pageRect(QPrinter.Unit.Point).size())
    pdf_document(content, language, translate, page).print(printer)
