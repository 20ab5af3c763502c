"""The report's maps as a print layout of the project, made when the report runs in the QGIS desktop.

One A4 landscape page per theme with title, map, legend, scale bar and sources; the layers are
added to the project in a group of their own (switched off, so the map canvas stays as it was),
so that the user can restyle them and edit and export the layout in the Layout Manager.
"""

from __future__ import annotations

from qgis.core import (
    QgsApplication,
    QgsFeatureRequest,
    QgsLayoutItemLabel,
    QgsLayoutItemLegend,
    QgsLayoutItemMap,
    QgsLayoutItemPage,
    QgsLayoutItemScaleBar,
    QgsLayoutPoint,
    QgsLayoutSize,
    QgsLayoutUtils,
    QgsLegendRenderer,
    QgsPrintLayout,
    QgsProject,
    QgsUnitTypes,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QFont, QImage, QPainter

from .report_maps import MapLayer, Theme, ThemeLayer, full_extent, nice_length, styled

MM = QgsUnitTypes.LayoutMillimeters
#: Page width and height (A4 landscape) and the page margin, in millimetres.
PAGE_W, PAGE_H, MARGIN = 297.0, 210.0, 10.0
#: Width of the column right of the map that holds legend and scale bar.
SIDE_W = 75.0


def tr(text: str) -> str:
    """Translate a text of the report's print layout."""
    return QCoreApplication.translate("report_layout", text)


def in_desktop() -> bool:
    """Whether the report runs in the QGIS desktop (not qgis_process, not a script without a project window)."""
    application = QgsApplication.instance()
    return application is not None and application.platform() == "desktop"


def unique_name(taken: set[str], name: str) -> str:
    """``name``, or ``name (2)``, ``name (3)``… when it is taken."""
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name} ({number})"
    return candidate


def theme_layer(item: ThemeLayer, source: QgsVectorLayer) -> QgsVectorLayer:
    """Make a project layer for one theme: the input's data (a copy for a temporary layer) in the theme's style."""
    if source.providerType() == "memory":
        layer = source.materialize(QgsFeatureRequest())
    else:
        layer = QgsVectorLayer(source.source(), item.name, source.providerType())
    return styled(MapLayer(layer, item.style, item.name, item.label_field))


def add_report_layout(project: QgsProject, title: str, themes: list[Theme], inputs: dict[str, QgsVectorLayer],
                      crs, sources: list[str]) -> QgsPrintLayout:
    """Add the layers of every theme (one group) and a layout with one page per theme to ``project``."""
    manager = project.layoutManager()
    name = unique_name({layout.name() for layout in manager.layouts()}, tr("Report: {}").format(title))
    group = project.layerTreeRoot().insertGroup(0, name)
    group.setItemVisibilityChecked(False)
    layout = QgsPrintLayout(project)
    layout.setName(name)
    footer = " · ".join([*sources, tr("Made with the Social Resilience Toolkit for QGIS.")])
    for number, theme in enumerate(themes):
        layers = [theme_layer(item, inputs[item.key]) for item in theme.layers if item.key in inputs]
        for layer in layers:
            project.addMapLayer(layer, False)
            group.addLayer(layer)
        page = QgsLayoutItemPage(layout)
        page.setPageSize(QgsLayoutSize(PAGE_W, PAGE_H, MM))
        layout.pageCollection().addPage(page)
        _fill_page(layout, number, f"{title}: {theme.title}", layers, crs, theme.caption, footer)
    manager.addLayout(layout)
    return layout


def _place(item, number: int, x: float, y: float, width: float, height: float) -> None:
    item.attemptResize(QgsLayoutSize(width, height, MM))
    item.attemptMove(QgsLayoutPoint(x, y, MM), page=number)


def _label(layout: QgsPrintLayout, text: str, points: float, bold: bool = False) -> QgsLayoutItemLabel:
    label = QgsLayoutItemLabel(layout)
    label.setText(text)
    font = QFont("DejaVu Sans")
    font.setPointSizeF(points)
    font.setBold(bold)
    label.setFont(font)
    layout.addLayoutItem(label)
    return label


def _fill_page(layout, number: int, title: str, layers: list[QgsVectorLayer], crs, caption: str,
               footer: str) -> None:
    """Title, map (left), legend and scale bar (right), caption and sources (foot) on page ``number``."""
    _place(_label(layout, title, 16, bold=True), number, MARGIN, MARGIN, PAGE_W - 2 * MARGIN, 10)
    item = QgsLayoutItemMap(layout)
    item.setCrs(crs)
    item.setLayers(layers)
    item.setKeepLayerSet(True)
    item.setFrameEnabled(True)
    layout.addLayoutItem(item)
    legend = _legend(layout, item, layers)
    side_w = max(SIDE_W, legend_width(layout, legend))  # a long legend line makes the map narrower
    map_w, map_h = PAGE_W - 2 * MARGIN - side_w - 5, PAGE_H - 2 * MARGIN - 28
    _place(item, number, MARGIN, MARGIN + 13, map_w, map_h)
    item.zoomToExtent(full_extent(layers, crs, layout.project().transformContext()))
    side = MARGIN + map_w + 5
    legend.attemptMove(QgsLayoutPoint(side, MARGIN + 13, MM), page=number)
    _place(_scale_bar(layout, item), number, side, MARGIN + 13 + map_h - 18, min(side_w, SIDE_W), 15)
    text = f"{caption}\n{footer}" if caption else footer
    _place(_label(layout, text, 8), number, MARGIN, PAGE_H - MARGIN - 12, PAGE_W - 2 * MARGIN, 12)


def legend_width(layout: QgsPrintLayout, legend: QgsLayoutItemLegend) -> float:
    """Width of the legend in millimetres (the item knows its size only after it was first drawn)."""
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        context = QgsLayoutUtils.createRenderContextForLayout(layout, painter)
        return QgsLegendRenderer(legend.model(), legend.legendSettings()).minimumSize(context).width()
    finally:
        painter.end()


def _legend(layout: QgsPrintLayout, item: QgsLayoutItemMap, layers: list[QgsVectorLayer]) -> QgsLayoutItemLegend:
    """Make the legend of the map's layers, sized to its contents."""
    legend = QgsLayoutItemLegend(layout)
    legend.setTitle(tr("Legend"))
    legend.setLinkedMap(item)
    legend.setAutoUpdateModel(False)
    root = legend.model().rootGroup()
    root.removeAllChildren()
    for layer in layers:
        root.addLayer(layer)
    legend.setResizeToContents(True)
    layout.addLayoutItem(legend)
    legend.adjustBoxSize()
    return legend


def _scale_bar(layout: QgsPrintLayout, item: QgsLayoutItemMap) -> QgsLayoutItemScaleBar:
    """Make a single-box scale bar of two round segments, about a quarter of the map wide, in metres."""
    bar = QgsLayoutItemScaleBar(layout)
    bar.setStyle("Single Box")
    bar.setLinkedMap(item)
    bar.setUnits(QgsUnitTypes.DistanceMeters)
    bar.setUnitLabel("m")
    bar.setNumberOfSegments(2)
    bar.setNumberOfSegmentsLeft(0)
    metres = item.extent().width() * QgsUnitTypes.fromUnitToUnitFactor(item.crs().mapUnits(),
                                                                       QgsUnitTypes.DistanceMeters)
    bar.setUnitsPerSegment(nice_length(max(metres / 8, 1e-6)))
    layout.addLayoutItem(bar)
    return bar
