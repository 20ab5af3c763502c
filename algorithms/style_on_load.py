"""Apply a .qml style to an output layer when Processing loads it into the project."""

from __future__ import annotations

from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsGraduatedSymbolRenderer,
    QgsProcessingContext,
    QgsProcessingLayerPostProcessorInterface,
    QgsRuleBasedRenderer,
    QgsSymbol,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt import sip
from qgis.PyQt.QtCore import QCoreApplication

from .base import PLUGIN_DIR

STYLE_DIR = PLUGIN_DIR / "resources" / "styles"


def translate_legend(layer: QgsVectorLayer) -> None:
    """Legend labels of the layer's renderer in the user's language (context ``styles``)."""
    renderer = layer.renderer()

    def tr(label: str) -> str:
        return QCoreApplication.translate("styles", label)

    if isinstance(renderer, QgsCategorizedSymbolRenderer):
        for index, category in enumerate(renderer.categories()):
            renderer.updateCategoryLabel(index, tr(category.label()))
    elif isinstance(renderer, QgsGraduatedSymbolRenderer):
        for index, class_range in enumerate(renderer.ranges()):
            renderer.updateRangeLabel(index, tr(class_range.label()))
    elif isinstance(renderer, QgsRuleBasedRenderer):
        for rule in renderer.rootRule().descendants():
            rule.setLabel(tr(rule.label()))


class StyleOnLoad(QgsProcessingLayerPostProcessorInterface):
    """Loads ``resources/styles/<name>`` into a vector layer (of one geometry type, if given).

    A categorized style made for another geometry type (e.g. buildings as polygons, the layer
    as points) keeps its categories and colours with symbols of the layer's type.
    """

    def __init__(self, style_name: str, geometry_type: int | None = None) -> None:
        super().__init__()
        self.path = str(STYLE_DIR / style_name)
        self.geometry_type = geometry_type

    def postProcessLayer(self, layer, context, feedback) -> None:  # noqa: N802, D102
        if not isinstance(layer, QgsVectorLayer):
            return
        if self.geometry_type is not None and layer.geometryType() != self.geometry_type:
            return
        message, ok = layer.loadNamedStyle(self.path)
        if not ok and not self._adapt_categories(layer) and feedback is not None:
            feedback.reportError(message)
        translate_legend(layer)
        layer.triggerRepaint()

    def _adapt_categories(self, layer: QgsVectorLayer) -> bool:
        """Apply the style's categories with symbols of the layer's geometry type."""
        template = QgsVectorLayer("Polygon?crs=EPSG:4326", "style", "memory")
        template.loadNamedStyle(self.path)
        renderer = template.renderer().clone()
        if not isinstance(renderer, QgsCategorizedSymbolRenderer):
            return False
        for i, category in enumerate(renderer.categories()):
            symbol = QgsSymbol.defaultSymbol(layer.geometryType())
            if symbol is not None:
                symbol.setColor(category.symbol().color())
                renderer.updateCategorySymbol(i, symbol)
        layer.setRenderer(renderer)
        return True


# Processing deletes the algorithm copy before it loads the layers, and QGIS deletes a
# post-processor with the context that used it, so each use gets its own post-processor, kept
# alive here until QGIS has deleted it.
_KEEP: list[StyleOnLoad] = []


def style_on_load(
    context: QgsProcessingContext, dest_id: str, style_name: str, polygons_only: bool = False
) -> None:
    """Style output ``dest_id`` with ``style_name`` if the run loads it into the project."""
    if not context.willLoadLayerOnCompletion(dest_id):
        return
    _KEEP[:] = [kept for kept in _KEEP if not sip.isdeleted(kept)]
    post_processor = StyleOnLoad(style_name, QgsWkbTypes.PolygonGeometry if polygons_only else None)
    _KEEP.append(post_processor)
    context.layerToLoadOnCompletionDetails(dest_id).setPostProcessor(post_processor)
