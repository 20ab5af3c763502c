"""Plugin shell: registers the Processing provider and, in the GUI, menu and toolbar entries."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import QCoreApplication, QTranslator
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QMenu, QToolButton

from .algorithms.base import ICON_DIR, user_language
from .algorithms.qt_compat import QAction

PLUGIN_DIR = Path(__file__).resolve().parent
MENU = "&Social Resilience Toolkit"


class SocialResiliencePlugin:
    """QGIS plugin object; ``iface`` is None under qgis_process."""

    def __init__(self, iface) -> None:
        self.iface = iface
        self.provider = None
        self.actions: list[QAction] = []
        self.toolbar = None
        self.menu = None
        self.live_dock = None
        self.translator = self._install_translator()

    @staticmethod
    def tr(text: str) -> str:
        """Translate in the context of the plugin shell."""
        return QCoreApplication.translate("SocialResiliencePlugin", text)

    def _install_translator(self) -> QTranslator | None:
        qm = PLUGIN_DIR / "i18n" / f"social_resilience_{user_language()}.qm"
        if not qm.is_file():
            return None
        translator = QTranslator()
        if not translator.load(str(qm)):
            return None
        QCoreApplication.installTranslator(translator)
        return translator

    def initProcessing(self) -> None:  # noqa: N802 (QGIS API)
        """Register the Processing provider (idempotent)."""
        if self.provider is not None:
            return
        from .algorithms.provider import SocialResilienceProvider

        self.provider = SocialResilienceProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)
        self.provider.refreshAlgorithms()  # now the shipped workflows find their steps

    def initGui(self) -> None:  # noqa: N802 (QGIS API)
        """Register the provider, one menu and toolbar entry per algorithm, and the live sensor dock."""
        self.initProcessing()
        main_window = self.iface.mainWindow()
        icon = QIcon(str(ICON_DIR / "icon.svg"))
        self.menu = menu = QMenu(main_window)
        for algorithm in self._algorithms_in_workflow_order():
            action = QAction(algorithm.icon(), algorithm.displayName() + "…", main_window)
            action.setObjectName(f"socialresilience_{algorithm.name()}")
            action.triggered.connect(partial(self.open_algorithm, algorithm.id()))
            self.iface.addPluginToMenu(MENU, action)
            menu.addAction(action)
            self.actions.append(action)
        from .ui.live_dock import create_live_dock

        self.live_dock = create_live_dock(self.iface)
        self.iface.addPluginToMenu(MENU, self.live_dock.toggleViewAction())
        menu.addSeparator()
        menu.addAction(self.live_dock.toggleViewAction())
        # One toolbar button with a menu: the tools share an icon, a row of equal buttons would not help.
        button = QToolButton(main_window)
        button.setIcon(icon)
        button.setToolTip(self.tr("Social Resilience Toolkit"))
        button.setMenu(menu)
        button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.toolbar = self.iface.addToolBar(self.tr("Social Resilience Toolkit"))
        self.toolbar.setObjectName("SocialResilienceToolkitToolbar")
        self.toolbar.addWidget(button)

    def _algorithms_in_workflow_order(self) -> list:
        """Return the provider's algorithms in the order of the registry table (the workflow order)."""
        from .algorithms.provider import algorithm_classes

        found = (self.provider.algorithm(cls.ALGORITHM_ID) for cls in algorithm_classes())
        return [algorithm for algorithm in found if algorithm is not None]

    @staticmethod
    def open_algorithm(algorithm_id: str, _checked: bool = False) -> None:
        """Open the Processing dialog of an algorithm."""
        import processing

        processing.execAlgorithmDialog(algorithm_id, {})

    def unload(self) -> None:
        """Stop the live dock (timers, tasks, MQTT), remove menu, toolbar, provider and translator."""
        if self.live_dock is not None:
            if self.iface is not None:
                self.iface.removePluginMenu(MENU, self.live_dock.toggleViewAction())
            self.live_dock.shutdown()
            self.live_dock = None
        for action in self.actions:
            if self.iface is not None:
                self.iface.removePluginMenu(MENU, action)
            action.deleteLater()
        self.actions.clear()
        if self.toolbar is not None:
            self.toolbar.deleteLater()
            self.menu.deleteLater()
            self.toolbar = self.menu = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        if self.translator is not None:
            QCoreApplication.removeTranslator(self.translator)
            self.translator = None
