"""Style the sample town's layers on load and stack them points over lines over polygons."""

from __future__ import annotations

from qgis.core import (
    QgsLayerTreeGroup,
    QgsLayerTreeLayer,
    QgsLayerTreeNode,
    QgsMapLayer,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsVectorLayer,
)
from qgis.PyQt import sip

from ..style_on_load import StyleOnLoad

#: Output names from the top of the layer tree to the bottom (QGIS 3.22 has no sort key for loaded layers).
STACK_ORDER = (
    "STATIONS", "OBSERVATIONS", "PLACES", "CROSSINGS", "ENTRANCES", "TREES", "NETWORK", "BARRIERS", "BUILDINGS",
    "CANOPY", "GREEN_SPACES", "DISTRICTS", "DISTRICT_MONTHS",
)


class TownLayerOnLoad(StyleOnLoad):
    """Styles one town layer (when it has a style) and restacks the run's town layers loaded so far.

    All post-processors of one run share ``ranks`` (layer id -> place in :data:`STACK_ORDER`), so
    whichever order Processing loads the layers in, they end up stacked by rank where they were put.
    """

    def __init__(self, output_name: str, style_name: str | None, ranks: dict[str, int]) -> None:
        super().__init__(style_name or "")
        self.rank = STACK_ORDER.index(output_name)
        self.ranks = ranks

    def postProcessLayer(  # noqa: N802, D102
        self, layer: QgsMapLayer, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> None:
        if self.style_name and isinstance(layer, QgsVectorLayer):
            super().postProcessLayer(layer, context, feedback)
        self.ranks[layer.id()] = self.rank
        project = context.project()
        node = project.layerTreeRoot().findLayer(layer.id()) if project is not None else None
        if node is not None and node.parent() is not None:
            restack(node.parent(), self.ranks)


def restack(group: QgsLayerTreeGroup, ranks: dict[str, int]) -> None:
    """Reorder the layers of ``group`` named in ``ranks`` by rank, in the places they already hold.

    The copies go in before the old nodes go out: a layer left without a node in the tree would be
    removed from the project.
    """
    current = [child for child in group.children() if isinstance(child, QgsLayerTreeLayer) and child.layerId() in ranks]
    wanted = sorted(current, key=lambda child: ranks[child.layerId()])
    if [c.layerId() for c in wanted] == [c.layerId() for c in current]:
        return
    for old, new in zip(current, wanted):
        group.insertChildNode(_index(group, old), new.clone())
    for old in current:
        group.removeChildNode(old)


def _index(group: QgsLayerTreeGroup, node: QgsLayerTreeNode) -> int:
    """Position of ``node`` among the children of ``group``."""
    address = sip.unwrapinstance(node)
    return next(i for i, child in enumerate(group.children()) if sip.unwrapinstance(child) == address)
