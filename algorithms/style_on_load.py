"""Apply a .qml style to an output layer when Processing loads it into the project."""

from __future__ import annotations

from pathlib import Path

from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsFeatureRenderer,
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
from .qt_compat import save_style_to_database

STYLE_DIR = PLUGIN_DIR / "resources" / "styles"


def tr(text: str) -> str:
    """Translate a message of the style helpers."""
    return QCoreApplication.translate("style_on_load", text)


def translate_legend(layer: QgsVectorLayer) -> None:
    """Legend labels of the layer's renderer in the user's language (context ``styles``).

    The labels are changed on a copy that is then set, so the layer announces the change and a
    legend already shown (the layer is in the project when Processing post-processes it) follows.
    """
    if layer.renderer() is None:
        return
    renderer = layer.renderer().clone()

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
    else:
        return
    layer.setRenderer(renderer)


def apply_style(layer: QgsVectorLayer, style_name: str) -> str:
    """Load ``resources/styles/<style_name>`` into ``layer``; return an error message or "".

    A categorized style made for another geometry type (e.g. buildings as polygons, the layer
    as points) keeps its categories and colours with symbols of the layer's type; a classified
    style whose field the layer lacks falls back to the layer's default symbol.
    """
    path = str(STYLE_DIR / style_name)
    # True: the file itself; else a GeoPackage layer with a default style in its database loads that one
    message, ok = layer.loadNamedStyle(path, True)
    if not ok and not _adapt_categories(layer, path):
        return message
    attribute = getattr(layer.renderer(), "classAttribute", lambda: "")()
    if attribute and layer.fields().lookupField(attribute) < 0:
        layer.setRenderer(QgsFeatureRenderer.defaultRenderer(layer.geometryType()))
    return ""


def _adapt_categories(layer: QgsVectorLayer, path: str) -> bool:
    """Apply the style's categories with symbols of the layer's geometry type."""
    template = QgsVectorLayer("Polygon", "style", "memory")
    template.loadNamedStyle(path)
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


class StyleOnLoad(QgsProcessingLayerPostProcessorInterface):
    """Loads ``resources/styles/<name>`` into a vector layer (of one geometry type, if given)."""

    def __init__(self, style_name: str, geometry_type: int | None = None) -> None:
        super().__init__()
        self.style_name = style_name
        self.geometry_type = geometry_type

    def postProcessLayer(self, layer, context, feedback) -> None:  # noqa: N802, D102
        if not isinstance(layer, QgsVectorLayer):
            return
        if self.geometry_type is not None and layer.geometryType() != self.geometry_type:
            return
        message = apply_style(layer, self.style_name)
        if message and feedback is not None:
            feedback.reportError(message)
        translate_legend(layer)
        layer.triggerRepaint()


# Processing deletes the algorithm copy before it loads the layers, and QGIS deletes a
# post-processor with the context that used it, so each use gets its own post-processor, kept
# alive here until QGIS has deleted it.
_KEEP: list[QgsProcessingLayerPostProcessorInterface] = []
#: Outputs to style per run (key: address of the C++ processing context, the same whichever Python
#: wrapper a call gets), written after the sinks are closed.
_PENDING: dict[int, list[tuple[str, str, int | None]]] = {}


def style_on_load(
    context: QgsProcessingContext, dest_id: str, style_name: str, polygons_only: bool = False
) -> None:
    """Style output ``dest_id`` with ``style_name`` if the run loads it into the project.

    A GeoPackage output also gets the style as its default (``layer_styles``) once the algorithm
    has finished (:func:`store_default_styles`), so it shows styled in any QGIS.
    """
    geometry_type = QgsWkbTypes.PolygonGeometry if polygons_only else None
    _PENDING.setdefault(sip.unwrapinstance(context), []).append((dest_id, style_name, geometry_type))
    if context.willLoadLayerOnCompletion(dest_id):
        set_post_processor(context, dest_id, StyleOnLoad(style_name, geometry_type))


def set_post_processor(
    context: QgsProcessingContext, dest_id: str, post_processor: QgsProcessingLayerPostProcessorInterface
) -> None:
    """Give the layer ``dest_id`` loads as ``post_processor``, kept alive until QGIS deletes it."""
    _KEEP[:] = [kept for kept in _KEEP if not sip.isdeleted(kept)]
    _KEEP.append(post_processor)
    context.layerToLoadOnCompletionDetails(dest_id).setPostProcessor(post_processor)


def store_default_styles(context: QgsProcessingContext, feedback=None) -> None:
    """Save the styles of this run's GeoPackage outputs as their default style (``layer_styles``)."""
    for dest_id, style_name, geometry_type in _PENDING.pop(sip.unwrapinstance(context), []):
        path = dest_id.split("|")[0]
        if not path.lower().endswith(".gpkg"):
            continue
        layer = QgsVectorLayer(dest_id, "output", "ogr")
        if not layer.isValid() or (geometry_type is not None and layer.geometryType() != geometry_type):
            continue
        if layer.listStylesInDatabase()[0] > 0:  # the writer stored its own style (e.g. the sample town)
            continue
        error = apply_style(layer, style_name)
        if not error:
            translate_legend(layer)
            error = save_style_to_database(layer, Path(style_name).stem, "Social Resilience Toolkit")
        if error and feedback is not None:
            feedback.pushWarning(tr("The style could not be stored in {}: {}").format(path, error))
