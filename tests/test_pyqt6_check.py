"""The plugin under real PyQt6, as QGIS 4 runs it, compared with the same code under this QGIS (Qt5).

``tests/qt6/pyqt6_check.py`` runs in ``.venv-qt6`` (PyQt6 from PyPI, no Debian PyQt5; made by
``scripts/test.sh``) with a stand-in for QGIS's own classes that never provides a Qt class. It
imports every module of the plugin, runs every ``initAlgorithm``, loads the .ui files, runs
``initGui``/``unload`` with the live dock, paints the dock's chart, writes the report PDF and runs
the time helpers. Where the result can be compared, the same scenario (``tests/qt6/scenarios.py``)
runs here under the real QGIS.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from .conftest import REPO
from .qt6 import scenarios

QT6_PYTHON = REPO / ".venv-qt6" / "bin" / "python"
CHECK = REPO / "tests" / "qt6" / "pyqt6_check.py"


@pytest.fixture(scope="module")
def qt6(tmp_path_factory) -> dict:
    """The results of one run of the PyQt6 check."""
    assert QT6_PYTHON.exists(), f"{QT6_PYTHON} is missing: run `bash scripts/test.sh` once (it makes the venv)"
    output = tmp_path_factory.mktemp("qt6")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": "", "PYTHONNOUSERSITE": "1"}
    done = subprocess.run([str(QT6_PYTHON), str(CHECK), str(output)], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, f"the PyQt6 check did not finish:\n{done.stdout}\n{done.stderr}"
    results = json.loads((output / "results.json").read_text(encoding="utf-8"))
    results["output"] = output
    return results


def outcome(qt6: dict, step: str) -> dict:
    """One step's results; the traceback of the PyQt6 failure when it stopped."""
    result = qt6[step]
    assert result["ok"], f"under PyQt6 (QGIS 4), step {step!r} failed:\n{result['error']}"
    return result


def test_pyqt6_alone_behind_qgis_pyqt(qt6):
    environment = outcome(qt6, "environment")
    assert environment["qgis_pyqt_is_pyqt6"], "qgis.PyQt must be the real PyQt6 module"
    assert not environment["pyqt5_importable"], ".venv-qt6 must not see Debian's PyQt5"
    assert environment["pyqt"].startswith("6.")
    assert environment["field_type"] == "PyQt6.QtCore.QMetaType.Type", "FieldType must be QMetaType.Type on Qt6"


def test_every_module_imports_under_pyqt6(qt6):
    modules = outcome(qt6, "imports")["modules"]
    files = [REPO / "plugin.py"] + [f for folder in ("algorithms", "core", "ui") for f in (REPO / folder).rglob("*.py")]
    assert len(modules) == len(files) + 1  # and the package itself
    assert "social_resilience.ui.live_dock" in modules


def test_every_algorithm_declares_the_same_parameters_under_pyqt6(qt6, provider):
    assert outcome(qt6, "algorithms")["parameters"] == scenarios.algorithm_parameters()


def test_ui_files_load_under_pyqt6_and_spacers_have_a_size(qt6):
    files = outcome(qt6, "ui_files")["files"]
    assert sorted(files) == sorted(path.name for path in (REPO / "ui").glob("*.ui"))
    assert files["live_dock.ui"]["spacers"] == [{"hint": [40, 20], "expanding": True}]


def test_live_dock_spacer_expands_under_qt5(qgis_app):
    """Under Qt5 a spacer without sizeHint loads, but as a 7x1 item that does not expand."""
    from qgis.PyQt import uic
    from qgis.PyQt.QtCore import Qt

    form_class, base_class = uic.loadUiType(str(REPO / "ui" / "live_dock.ui"))
    widget, form = base_class(), form_class()
    form.setupUi(widget)
    row = form.buttonLayout
    spacers = [row.itemAt(index).spacerItem() for index in range(row.count()) if row.itemAt(index).spacerItem()]
    assert len(spacers) == 1
    spacer = spacers[0]
    assert (spacer.sizeHint().width(), spacer.sizeHint().height()) == (40, 20)
    assert spacer.expandingDirections() & Qt.Orientation.Horizontal


def test_plugin_gui_loads_and_unloads_under_pyqt6(qt6):
    from social_resilience.algorithms.provider import algorithm_classes

    gui = outcome(qt6, "plugin_gui")
    assert gui["actions"] == ["PyQt6.QtGui.QAction"] * len(algorithm_classes())
    assert gui["menu_entries"] == len(algorithm_classes()) + 1  # and the live dock
    assert gui["menu_entries_after_unload"] == 0
    assert len(gui["algorithms"]) >= len(algorithm_classes())
    # the spacer takes the free width: Import/Export sit at the right edge of the button row
    assert gui["gap_before_import"] > gui["button_row_width"] / 4, gui


def test_live_dock_chart_paints_under_pyqt6(qt6, qgis_app):
    pixels = outcome(qt6, "chart")["pixels"]
    here = scenarios.colour_pixels(scenarios.chart_image())
    for colour, count in here.items():
        assert count > 0
        assert 0.5 * count <= pixels[colour] <= 2 * count, (colour, pixels[colour], count)


def _pdf_facts(path: Path) -> tuple[int, list[tuple[int, int]], str]:
    """Pages, image sizes and producer of a PDF, as poppler's pdfinfo and pdfimages read it."""
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True, timeout=60).stdout
    listing = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True,
                             timeout=60).stdout
    images = [(int(row.split()[3]), int(row.split()[4])) for row in listing.splitlines()[2:] if row.strip()]
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))
    producer = re.search(r"^Producer:\s+(.*)$", info, re.MULTILINE).group(1)
    return pages, images, producer


def test_report_pdf_under_pyqt6_matches_qt5(qt6, provider, tmp_path):
    path = Path(outcome(qt6, "report_pdf")["path"])
    pages, images, producer = _pdf_facts(path)
    assert producer.startswith("Qt 6"), producer
    scenarios.write_report_pdf(str(tmp_path / "qt5.pdf"))
    qt5_pages, qt5_images, qt5_producer = _pdf_facts(tmp_path / "qt5.pdf")
    assert qt5_producer.startswith("Qt 5")
    content = scenarios.report_content()
    assert len(images) == len(content.maps) + len(content.charts) == len(qt5_images)
    assert images == qt5_images
    assert pages == qt5_pages >= 2


def test_time_helpers_give_the_same_values_under_pyqt6(qt6, provider):
    values = outcome(qt6, "time_helpers")["values"]
    assert values == json.loads(json.dumps(scenarios.time_helpers()))
    assert values["utc_qdatetime(2024-06-01T02:00:00+02:00)"][:3] == ["2024-06-01T00:00:00.000Z", True, 1717200000000]
