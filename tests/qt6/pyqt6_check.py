"""The plugin under real PyQt6 (as in QGIS 4), with a stand-in for QGIS's own classes.

    .venv-qt6/bin/python tests/qt6/pyqt6_check.py OUTPUT_FOLDER

Run by ``tests/test_pyqt6_check.py`` in ``.venv-qt6``, a venv with PyQt6 from PyPI and without
Debian's PyQt5 (``scripts/bootstrap.sh``). ``qgis.PyQt`` is PyQt6 itself; ``qgis.core`` and
``qgis.gui`` come from ``stand_in/`` and give QGIS classes only. Each step's outcome (or the
traceback that stopped it) goes to ``OUTPUT_FOLDER/results.json``; the test judges them.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PLUGIN = "social_resilience"
#: The plugin's own code (tests, scripts and benchmarks run only on the developer's QGIS).
CODE = ("algorithms", "core", "ui")


def put_plugin_on_path() -> None:
    """The stand-in first, then the plugin as ``social_resilience`` (whatever the checkout is called)."""
    parent = Path(tempfile.mkdtemp(prefix="srt_qt6_"))
    (parent / PLUGIN).symlink_to(REPO, target_is_directory=True)
    sys.path[:0] = [str(HERE / "stand_in"), str(parent), str(REPO)]


def step(results: dict, name: str, run: Callable[[], Any]) -> None:
    """Run one step; keep its outcome, or the traceback that stopped it."""
    try:
        results[name] = {"ok": True, **(run() or {})}
    except BaseException:  # a Qt6 break is any exception; the next steps still run
        results[name] = {"ok": False, "error": traceback.format_exc()}


def environment() -> dict:
    import PyQt6.QtCore
    from qgis.PyQt import QtCore

    try:
        import PyQt5  # noqa: F401
        pyqt5 = True
    except ImportError:
        pyqt5 = False
    from social_resilience.algorithms.qt_compat import FieldType

    kind = type(FieldType.INT)
    return {
        "pyqt": PyQt6.QtCore.PYQT_VERSION_STR,
        "qt": PyQt6.QtCore.qVersion(),
        "qgis_pyqt_is_pyqt6": QtCore.Qt is PyQt6.QtCore.Qt and QtCore.QDateTime is PyQt6.QtCore.QDateTime,
        "pyqt5_importable": pyqt5,
        "field_type": f"{kind.__module__}.{kind.__qualname__}",
    }


def plugin_modules() -> list[str]:
    """Every module of the plugin, as ``social_resilience.x.y``."""
    files = [REPO / "__init__.py", REPO / "plugin.py"]
    for folder in CODE:
        files += sorted((REPO / folder).rglob("*.py"))
    names = []
    for file in files:
        parts = list(file.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join([PLUGIN, *parts]))
    return names


def import_modules() -> dict:
    failed = {}
    modules = plugin_modules()
    for name in modules:
        try:
            importlib.import_module(name)
        except BaseException:
            failed[name] = traceback.format_exc()
    if failed:
        raise RuntimeError("".join(f"\n--- {name}\n{text}" for name, text in failed.items()))
    return {"modules": modules}


class FakeIface:
    """What the plugin uses of QGIS's ``iface`` (a QGIS class), on a real QMainWindow."""

    def __init__(self) -> None:
        from qgis.PyQt.QtWidgets import QMainWindow

        self.window = QMainWindow()
        self.menu_entries: list = []

    def mainWindow(self):  # noqa: N802
        return self.window

    def addPluginToMenu(self, name: str, action) -> None:  # noqa: N802
        self.menu_entries.append((name, action))

    def removePluginMenu(self, name: str, action) -> None:  # noqa: N802
        self.menu_entries.remove((name, action))

    def addToolBar(self, title: str):  # noqa: N802
        return self.window.addToolBar(title)

    def addDockWidget(self, area, dock) -> None:  # noqa: N802
        self.window.addDockWidget(area, dock)

    def removeDockWidget(self, dock) -> None:  # noqa: N802
        self.window.removeDockWidget(dock)


def plugin_gui(output: Path) -> dict:
    """``classFactory`` → ``initGui`` (menu, toolbar, live dock) → ``unload``, as QGIS does."""
    import social_resilience
    from qgis.PyQt.QtWidgets import QApplication, QSpacerItem

    iface = FakeIface()
    plugin = social_resilience.classFactory(iface)
    plugin.initGui()
    dock = plugin.live_dock
    iface.window.resize(1000, 700)
    iface.window.show()
    dock.resize(700, 600)
    QApplication.processEvents()
    dock.grab().save(str(output / "live_dock.png"))
    layout = dock.buttonLayout
    spacers = [layout.itemAt(i).spacerItem() for i in range(layout.count())]
    spacer = next(item for item in spacers if isinstance(item, QSpacerItem))
    result = {
        "actions": [f"{type(a).__module__}.{type(a).__name__}" for a in plugin.actions],
        "menu_entries": len(iface.menu_entries),
        "algorithms": sorted(a.name() for a in plugin.provider.algorithms()),
        "spacer_width": spacer.geometry().width(),
        "gap_before_import": dock.importButton.geometry().left() - dock.pauseButton.geometry().right(),
        "button_row_width": dock.buttonLayout.geometry().width(),
    }
    plugin.unload()
    QApplication.processEvents()
    result["menu_entries_after_unload"] = len(iface.menu_entries)
    return result


def ui_files() -> dict:
    """Each .ui file loaded with PyQt6's uic and set up on its base widget; its spacers."""
    from qgis.PyQt import uic
    from qgis.PyQt.QtWidgets import QLayout, QSizePolicy

    found = {}
    for path in sorted((REPO / "ui").glob("*.ui")):
        form_class, base_class = uic.loadUiType(str(path))
        widget, form = base_class(), form_class()
        form.setupUi(widget)
        spacers = []  # in the form's own layouts (a QDialogButtonBox has a stretch of its own)
        for layout in (value for value in vars(form).values() if isinstance(value, QLayout)):
            for index in range(layout.count()):
                spacer = layout.itemAt(index).spacerItem()
                if spacer is not None:
                    policy = spacer.sizePolicy()
                    spacers.append({
                        "hint": [spacer.sizeHint().width(), spacer.sizeHint().height()],
                        "expanding": policy.horizontalPolicy() == QSizePolicy.Policy.Expanding
                        or policy.verticalPolicy() == QSizePolicy.Policy.Expanding,
                    })
        found[path.name] = {"base": base_class.__name__, "spacers": spacers}
    return {"files": found}


def chart(output: Path) -> dict:
    from scenarios import chart_image, colour_pixels

    image = chart_image()
    image.save(str(output / "chart.png"))
    return {"pixels": colour_pixels(image), "size": [image.width(), image.height()]}


def report_pdf(output: Path) -> dict:
    from scenarios import write_report_pdf

    path = output / "report.pdf"
    write_report_pdf(str(path))
    return {"path": str(path)}


def time_helpers() -> dict:
    from scenarios import time_helpers as run

    return {"values": run()}


def algorithms() -> dict:
    from scenarios import algorithm_parameters

    return {"parameters": algorithm_parameters()}


def main(output: Path) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    output.mkdir(parents=True, exist_ok=True)
    put_plugin_on_path()
    sys.path.insert(0, str(HERE))
    from qgis.PyQt.QtWidgets import QApplication

    app = QApplication([])  # noqa: F841 (kept for the whole run)
    results: dict = {}
    step(results, "environment", environment)
    step(results, "imports", import_modules)
    step(results, "algorithms", algorithms)
    step(results, "ui_files", ui_files)
    step(results, "plugin_gui", lambda: plugin_gui(output))
    step(results, "chart", lambda: chart(output))
    step(results, "report_pdf", lambda: report_pdf(output))
    step(results, "time_helpers", time_helpers)
    (output / "results.json").write_text(json.dumps(results, indent=1, default=repr), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
