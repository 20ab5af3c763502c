"""Maps for the report: layers rendered by QGIS in the plugin's styles, with legend and scale bar."""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsCoordinateTransformContext,
    QgsLayerTree,
    QgsLayerTreeModel,
    QgsLegendRenderer,
    QgsLegendSettings,
    QgsLegendStyle,
    QgsMapRendererCustomPainterJob,
    QgsMapSettings,
    QgsPalLayerSettings,
    QgsRectangle,
    QgsRenderContext,
    QgsScaleBarRenderer,
    QgsScaleBarSettings,
    QgsSingleBoxScaleBarRenderer,
    QgsTextBufferSettings,
    QgsTextFormat,
    QgsUnitTypes,
    QgsVectorLayer,
    QgsVectorLayerSimpleLabeling,
)
from qgis.PyQt.QtCore import QBuffer, QByteArray, QCoreApplication, QIODevice, QSize, QSizeF
from qgis.PyQt.QtGui import QColor, QFont, QImage, QPainter

from ..common import metric_crs
from ..style_on_load import apply_style, translate_legend

DPI = 144
MAP_WIDTH_PX = 1100
MAX_HEIGHT_PX = 1100
MM = DPI / 25.4  # pixels per millimetre
#: Height of the strip below the map that holds the scale bar, in millimetres.
SCALE_STRIP_MM = 16


def tr(text: str) -> str:
    """Translate a text of the report maps."""
    return QCoreApplication.translate("report_maps", text)


@dataclass
class MapLayer:
    """A layer of a map, drawn in ``style`` (a file in resources/styles) under legend ``name``."""

    layer: QgsVectorLayer
    style: str
    name: str
    #: Field whose values label the features (the areas' names), or None.
    label_field: str | None = None


@dataclass
class ThemeLayer:
    """A layer of a theme: the report parameter that gives it, its style, legend name and label field."""

    key: str
    style: str
    name: str
    label_field: str | None = None


@dataclass
class Theme:
    """A map of the report: its title, its layers (top first) and a caption."""

    title: str
    layers: list[ThemeLayer]
    caption: str = ""


def styled(item: MapLayer) -> QgsVectorLayer:
    """Style the item's layer, with legend labels in the user's language (and the area names as labels)."""
    layer = item.layer
    layer.setName(item.name)
    apply_style(layer, item.style)
    translate_legend(layer)
    if item.label_field:
        layer.setLabeling(QgsVectorLayerSimpleLabeling(name_labels(item.label_field)))
        layer.setLabelsEnabled(True)
    return layer


def name_labels(field: str) -> QgsPalLayerSettings:
    """Small dark labels with a white halo, one per area, inside it: a map reader finds the table's names."""
    settings = QgsPalLayerSettings()
    settings.fieldName = field
    settings.placement = QgsPalLayerSettings.OverPoint
    settings.fitInPolygonOnly = True
    text = QgsTextFormat()
    text.setFont(QFont("DejaVu Sans"))
    text.setSize(7.5)
    text.setColor(QColor("#222222"))
    halo = QgsTextBufferSettings()
    halo.setEnabled(True)
    halo.setSize(0.7)
    halo.setColor(QColor(255, 255, 255, 230))
    text.setBuffer(halo)
    settings.setFormat(text)
    return settings


def map_crs(layers: list[QgsVectorLayer], feedback=None) -> QgsCoordinateReferenceSystem:
    """Choose the CRS of the map: the first projected layer CRS, else the UTM zone of the data.

    Without any CRS the layers are drawn in their own coordinates (taken as metres, with a warning);
    the rules and messages are those of ``metric_crs``.
    """
    for layer in layers:
        if layer.crs().isValid() and not layer.crs().isGeographic():
            return layer.crs()
    first = next((layer for layer in layers if layer.crs().isValid()), layers[0])
    return metric_crs(first.crs(), first.extent(), first.name(), feedback)


def prepare_crs(layers: list[QgsVectorLayer], transform_context, feedback=None) -> QgsCoordinateReferenceSystem | None:
    """Choose the map CRS and make the layers' transforms to it: call on the main thread, before the run.

    QGIS 3.22 caches a CRS and a transform with the PROJ objects of the thread that first made them;
    when a thread of the pool ends (30 s after the algorithm dialog's run), a cached CRS it made loses
    them, and every later 4326 -> 25832 transform on a new thread (the map canvas draws in such
    threads) returns its input unchanged: EPSG:4326 layers stop drawing. Made here first, on the main
    thread, the worker only takes them from the cache. ``None`` without layers.
    """
    if not layers:
        return None
    crs = map_crs(layers, feedback)
    for layer in layers:
        if layer.crs().isValid() and crs.isValid():
            QgsCoordinateTransform(layer.crs(), crs, transform_context)
    return crs


def full_extent(layers, crs, transform_context: QgsCoordinateTransformContext) -> QgsRectangle:
    """Union of the layers' extents in ``crs``, with a margin."""
    extent = QgsRectangle()
    extent.setMinimal()
    for layer in layers:
        box = layer.extent()
        if layer.crs().isValid() and layer.crs() != crs:
            box = QgsCoordinateTransform(layer.crs(), crs, transform_context).transformBoundingBox(box)
        if not box.isEmpty() or box.width() or box.height():
            extent.combineExtentWith(box)
    if extent.isEmpty():
        extent.grow(max(extent.width(), extent.height(), 100.0) * 0.05)
    extent.scale(1.05)
    return extent


def render_map(items: list[MapLayer], crs, transform_context) -> QImage:
    """Render ``items`` (top layer first) with a legend on the right and a scale bar."""
    layers = [styled(item) for item in items]
    extent = full_extent(layers, crs, transform_context)
    ratio = extent.height() / extent.width() if extent.width() > 0 else 1.0
    width = MAP_WIDTH_PX
    height = max(300, min(MAX_HEIGHT_PX, int(width * ratio)))
    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(crs)
    settings.setTransformContext(transform_context)
    settings.setOutputSize(QSize(width, height))
    settings.setOutputDpi(DPI)
    settings.setExtent(extent)
    settings.setBackgroundColor(QColor("white"))
    settings.setFlag(QgsMapSettings.Antialiasing, True)
    legend = _legend_renderer(layers)
    legend_size = _legend_size(legend)
    strip = int(SCALE_STRIP_MM * MM)  # the scale bar below the map, never over it
    image = QImage(width + int(legend_size.width() * MM) + 30,
                   max(height + strip, int(legend_size.height() * MM) + 20), QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(QColor("white"))
    painter = QPainter(image)
    try:
        QgsMapRendererCustomPainterJob(settings, painter).renderSynchronously()
        painter.setPen(QColor("#999999"))
        painter.drawRect(0, 0, width - 1, height - 1)
        _draw_legend(painter, legend, width + 15)
        _draw_scale_bar(painter, settings, height)
    finally:
        painter.end()
    return image


def _legend_renderer(layers: list[QgsVectorLayer]) -> QgsLegendRenderer:
    root = QgsLayerTree()
    for layer in layers:
        root.addLayer(layer)
    model = QgsLayerTreeModel(root)
    model.setParent(None)
    settings = QgsLegendSettings()
    settings.setTitle(tr("Legend"))
    sizes = {QgsLegendStyle.Title: 11, QgsLegendStyle.Group: 9, QgsLegendStyle.Subgroup: 9,
             QgsLegendStyle.SymbolLabel: 8}
    for kind, points in sizes.items():
        style = settings.style(kind)
        font = QFont(style.font())
        font.setPointSizeF(points)
        font.setBold(kind != QgsLegendStyle.SymbolLabel)
        style.setFont(font)
        settings.setStyle(kind, style)
    renderer = QgsLegendRenderer(model, settings)
    renderer._keep = (root, model)  # the renderer does not own them
    return renderer


def _legend_context(painter: QPainter) -> QgsRenderContext:
    """Render context for the legend renderer, which draws in millimetres: the painter is scaled."""
    painter.scale(MM, MM)
    context = QgsRenderContext.fromQPainter(painter)
    context.setFlag(QgsRenderContext.Antialiasing, True)
    return context


def _legend_size(legend: QgsLegendRenderer) -> QSizeF:
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        return legend.minimumSize(_legend_context(painter))
    finally:
        painter.end()


def _draw_legend(painter: QPainter, legend: QgsLegendRenderer, left: int) -> None:
    painter.save()
    painter.translate(left, 10)
    legend.drawLegend(_legend_context(painter))
    painter.restore()


def nice_length(target: float) -> float:
    """Return the largest 1, 2 or 5 × 10^k not above ``target`` (a round scale-bar segment)."""
    power = 10 ** math.floor(math.log10(target))
    return max(step * power for step in (1, 2, 5) if step * power <= target)


def _draw_scale_bar(painter: QPainter, settings: QgsMapSettings, height: int) -> None:
    metres_per_pixel = settings.mapUnitsPerPixel() * QgsUnitTypes.fromUnitToUnitFactor(
        settings.mapUnits(), QgsUnitTypes.DistanceMeters)
    segment = nice_length(settings.outputSize().width() * metres_per_pixel / 8)
    bar = QgsScaleBarSettings()
    bar.setUnits(QgsUnitTypes.DistanceMeters)
    bar.setUnitLabel("m")
    bar.setNumberOfSegments(2)
    bar.setNumberOfSegmentsLeft(0)
    bar.setUnitsPerSegment(segment)
    bar.setMapUnitsPerScaleBarUnit(1.0)
    bar.setHeight(2.5)
    scale = QgsScaleBarRenderer.ScaleBarContext()
    scale.segmentWidth = segment / metres_per_pixel / MM
    scale.scale = settings.scale()
    scale.size = QSizeF(2 * scale.segmentWidth + 20, 12)
    painter.save()
    painter.translate(2, height + 2 * MM)
    context = QgsRenderContext.fromQPainter(painter)
    context.setScaleFactor(MM)
    context.setFlag(QgsRenderContext.Antialiasing, True)
    QgsSingleBoxScaleBarRenderer().draw(context, bar, scale)
    painter.restore()


def png_data_uri(image: QImage) -> str:
    """``image`` as a PNG ``data:`` URI for an HTML page."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return "data:image/png;base64," + base64.b64encode(bytes(data)).decode("ascii")
