"""Shared base of every algorithm: identity, groups, help, translation, icon."""

from __future__ import annotations

import re
from pathlib import Path

from qgis.core import QgsApplication, QgsProcessingAlgorithm, QgsProcessingException
from qgis.PyQt.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QLocale, QUrl
from qgis.PyQt.QtGui import QIcon

PLUGIN_DIR = Path(__file__).resolve().parent.parent
HELP_DIR = PLUGIN_DIR / "resources" / "help"
ICON_DIR = PLUGIN_DIR / "resources" / "icons"

#: Group id -> English group name (translated in context "AlgorithmBase").
GROUPS = {
    "sampledata": QT_TRANSLATE_NOOP("AlgorithmBase", "Sample data"),
    "greenaccess": QT_TRANSLATE_NOOP("AlgorithmBase", "Green access"),
    "hotspots": QT_TRANSLATE_NOOP("AlgorithmBase", "Hotspots"),
    "sensors": QT_TRANSLATE_NOOP("AlgorithmBase", "Sensors"),
}


def user_language() -> str:
    """Two-letter language of the QGIS user interface (``en`` when unknown)."""
    from qgis.core import QgsSettings

    locale = QgsSettings().value("locale/userLocale", "") or QLocale().name()
    return str(locale)[:2] or "en"


def help_path(algorithm_id: str, language: str | None = None) -> Path | None:
    """Help file of an algorithm in the user's language, English as fallback."""
    for lang in (language or user_language(), "en"):
        path = HELP_DIR / lang / f"{algorithm_id}.html"
        if path.is_file():
            return path
    return None


def load_help(algorithm_id: str, language: str | None = None) -> str:
    """Help text of an algorithm as one line of HTML.

    The files are wrapped for reading in the repository; QGIS's help panel turns every line
    break of ``shortHelpString`` into a paragraph, so the lines are joined here.
    """
    path = help_path(algorithm_id, language)
    if path is None:
        return ""
    return re.sub(r"\s*\n\s*", " ", path.read_text(encoding="utf-8")).strip()


class AlgorithmBase(QgsProcessingAlgorithm):
    """Base of all algorithms of the toolkit.

    A subclass sets ``ALGORITHM_ID``, ``DISPLAY_NAME`` and ``GROUP_ID`` and implements
    ``initAlgorithm`` and ``processAlgorithm``; help text comes from
    ``resources/help/<lang>/<ALGORITHM_ID>.html``.
    """

    ALGORITHM_ID = ""
    DISPLAY_NAME = ""
    GROUP_ID = ""
    ICON = "icon.svg"

    def tr(self, text: str) -> str:  # noqa: D102
        return QCoreApplication.translate(type(self).__name__, text)

    def name(self) -> str:  # noqa: D102
        return self.ALGORITHM_ID

    def displayName(self) -> str:  # noqa: N802, D102
        return self.tr(self.DISPLAY_NAME)

    def group(self) -> str:  # noqa: D102
        return QCoreApplication.translate("AlgorithmBase", GROUPS[self.GROUP_ID])

    def groupId(self) -> str:  # noqa: N802, D102
        return self.GROUP_ID

    def shortHelpString(self) -> str:  # noqa: N802, D102
        return load_help(self.ALGORITHM_ID)

    def helpUrl(self) -> str:  # noqa: N802, D102
        path = help_path(self.ALGORITHM_ID)
        return QUrl.fromLocalFile(str(path)).toString() if path is not None else ""

    def icon(self) -> QIcon:  # noqa: D102
        path = ICON_DIR / self.ICON
        return QIcon(str(path)) if path.is_file() else QgsApplication.getThemeIcon("processingAlgorithm.svg")

    def createInstance(self) -> AlgorithmBase:  # noqa: N802, D102
        return type(self)()

    def source(self, parameters: dict, name: str, context, required: bool = True):
        """Feature source of parameter ``name``; a clear error when a required one is missing."""
        source = self.parameterAsSource(parameters, name, context)
        if source is None and required:
            raise QgsProcessingException(self.invalidSourceError(parameters, name))
        return source
