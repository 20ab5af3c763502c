"""The shipped workflows: graphical models in resources/models, registered as algorithms of the provider."""

from __future__ import annotations

from qgis.core import Qgis, QgsMessageLog, QgsProcessingModelAlgorithm, QgsProcessingParameterEnum
from qgis.PyQt.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QUrl

from ..base import GROUPS, PLUGIN_DIR, help_path, load_help

MODEL_DIR = PLUGIN_DIR / "resources" / "models"

#: Model file -> English display name (translated in context "WorkflowAlgorithm").
WORKFLOWS = {
    "greenaccessworkflow.model3": QT_TRANSLATE_NOOP(
        "WorkflowAlgorithm", "Workflow: OpenStreetMap to green access report"
    ),
    "sensorhotspotworkflow.model3": QT_TRANSLATE_NOOP("WorkflowAlgorithm", "Workflow: sensor feed to hotspot report"),
}

#: Descriptions of the workflows' inputs and outputs as written in the .model3 files (scripts/build_workflows.py),
#: translated when a workflow is loaded.
TEXTS = (
    QT_TRANSLATE_NOOP("WorkflowAlgorithm", "Feed format"),
    QT_TRANSLATE_NOOP("WorkflowAlgorithm", "Feed (URL or file)"),
    QT_TRANSLATE_NOOP("WorkflowAlgorithm", "Observed property (e.g. no2)"),
    QT_TRANSLATE_NOOP("WorkflowAlgorithm", "Lowest valid value (smaller values, e.g. -999, are skipped)"),
    QT_TRANSLATE_NOOP("WorkflowAlgorithm", "Areas with social indicators"),
    QT_TRANSLATE_NOOP(
        "WorkflowAlgorithm", "Further environmental indicators of the areas (the feed's mean is always one)"
    ),
    QT_TRANSLATE_NOOP("WorkflowAlgorithm", "Social indicators"),
    QT_TRANSLATE_NOOP("WorkflowAlgorithm", "Indicators where higher is better"),
    QT_TRANSLATE_NOOP("WorkflowAlgorithm", "Score method"),
    QT_TRANSLATE_NOOP("WorkflowAlgorithm", "Report title"),
    QT_TRANSLATE_NOOP("WorkflowAlgorithm", "Hotspots"),
    QT_TRANSLATE_NOOP("WorkflowAlgorithm", "Report"),
    QT_TRANSLATE_NOOP("WorkflowAlgorithm", "Report (HTML)"),
    QT_TRANSLATE_NOOP("WorkflowAlgorithm", "Hotspots: areas with score, Gi* and Local Moran"),
    QT_TRANSLATE_NOOP("WorkflowAlgorithm", "OpenStreetMap file (.osm, .osm.gz, .osm.pbf)"),
    QT_TRANSLATE_NOOP("WorkflowAlgorithm", "Areas (districts)"),
    QT_TRANSLATE_NOOP("WorkflowAlgorithm", "Burden field of the areas (higher = more burdened)"),
    QT_TRANSLATE_NOOP("WorkflowAlgorithm", "Walking distance (m)"),
    QT_TRANSLATE_NOOP("WorkflowAlgorithm", "Minimum green-space area (ha)"),
    QT_TRANSLATE_NOOP("WorkflowAlgorithm", "Homes with green access"),
    QT_TRANSLATE_NOOP("WorkflowAlgorithm", "Green access by area"),
    QT_TRANSLATE_NOOP("WorkflowAlgorithm", "Additive"),
    QT_TRANSLATE_NOOP("WorkflowAlgorithm", "Multiple-burden count"),
    QT_TRANSLATE_NOOP("WorkflowAlgorithm", "CalEnviroScreen product"),
)


def _translate(text: str) -> str:
    return QCoreApplication.translate("WorkflowAlgorithm", text)


class WorkflowAlgorithm(QgsProcessingModelAlgorithm):
    """A .model3 workflow with the toolkit's name, group, help and translation.

    It runs like any model (headless with qgis_process, in other models); the file opens in the
    model designer (*Model Designer ▸ Open Model*).
    """

    def __init__(self, file_name: str) -> None:
        super().__init__()
        self.file_name = file_name
        if not self.fromFile(str(MODEL_DIR / file_name)):
            raise RuntimeError(f"Could not read the workflow {MODEL_DIR / file_name}")
        for parameter in self.parameterDefinitions():
            parameter.setDescription(_translate(parameter.description()))
            if isinstance(parameter, QgsProcessingParameterEnum):
                parameter.setOptions([_translate(option) for option in parameter.options()])

    def postProcessAlgorithm(self, context, feedback) -> dict:  # noqa: N802
        """Name the layers the run loads in the user's language (the model names them by its English outputs)."""
        for layer_id in context.layersToLoadOnCompletion():
            details = context.layerToLoadOnCompletionDetails(layer_id)
            details.name = _translate(details.name)
        return super().postProcessAlgorithm(context, feedback)

    def displayName(self) -> str:  # noqa: N802, D102
        return QCoreApplication.translate("WorkflowAlgorithm", WORKFLOWS[self.file_name])

    def group(self) -> str:  # noqa: D102
        return QCoreApplication.translate("AlgorithmBase", GROUPS["workflows"])

    def groupId(self) -> str:  # noqa: N802, D102
        return "workflows"

    def shortHelpString(self) -> str:  # noqa: N802, D102
        return load_help(self.name())

    def helpUrl(self) -> str:  # noqa: N802, D102
        path = help_path(self.name())
        return QUrl.fromLocalFile(str(path)).toString() if path is not None else ""

    def createInstance(self) -> WorkflowAlgorithm:  # noqa: N802, D102
        return WorkflowAlgorithm(self.file_name)


def workflow_algorithms() -> list[WorkflowAlgorithm]:
    """One algorithm per shipped workflow; a file that cannot be read is reported in the log and left out."""
    algorithms = []
    for name in WORKFLOWS:
        try:
            algorithms.append(WorkflowAlgorithm(name))
        except RuntimeError as error:
            QgsMessageLog.logMessage(str(error), "Social Resilience Toolkit", Qgis.Warning)
    return algorithms
