"""No Qt5-only code: one code base for QGIS 3.22 (Qt5) to QGIS 4 (Qt6).

A static check over the Python code and the Designer files; ``tests/test_pyqt6_check.py`` runs the
plugin under real PyQt6. Each finding says what to write instead:

- unscoped Qt enums (``Qt.AlignLeft``), found by asking PyQt5 which names are enum members:
  write the scoped form (``Qt.AlignmentFlag.AlignLeft``), which PyQt5 accepts too;
- ``QVariant.Int`` and other field types (Qt6 has no ``QVariant.Type``): ``FieldType`` from
  ``algorithms/qt_compat.py``;
- ``QAction`` (and the other classes Qt6 moved) from QtWidgets: ``from ..qt_compat import QAction``;
- ``print_(``, ``exec_(``, ``QRegExp``, ``QtWebKit``, ``QDesktopWidget``: their Qt6 replacements;
- a Designer spacer without ``sizeHint`` (PyQt6's uic cannot build it; Qt5 makes it a 7x1 item).

The occurrences allowed on purpose are listed in :data:`ALLOWED` (today none).
"""

from __future__ import annotations

import ast
import importlib
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from .conftest import REPO

#: The Python code checked: the plugin, and the tests, scripts and benchmarks written for it.
CODE = ["algorithms", "core", "ui", "plugin.py", "__init__.py", "tests", "scripts", "benchmarks"]
#: Not checked: the compatibility layer (it names the Qt5 forms on purpose) and the PyQt6 stand-in.
EXEMPT = {"algorithms/qt_compat.py", "tests/test_qt6_readiness.py"}
EXEMPT_DIRS = ("tests/qt6/stand_in/", "tests/data/")  # the stand-in is PyQt6; tests/data is reference data
#: Text patterns of Qt5-only API -> what to write instead.
QT5_ONLY = {
    r"\.print_\(": "write .print( (PyQt6 has only QTextDocument.print / QPrinter-based print)",
    r"\bexec_\(": "write exec() (Qt 5.15 has it too)",
    r"\bQRegExp\w*\b": "use QRegularExpression / QRegularExpressionValidator",
    r"\bQtWebKit\w*": "use QtWebEngine or plain HTML",
    r"\bQDesktopWidget\b|\.desktop\(\)": "use QGuiApplication.screens() / QScreen",
}
#: Classes Qt6 moved from QtWidgets to QtGui.
MOVED_TO_QTGUI = {"QAction", "QActionGroup", "QShortcut", "QUndoCommand", "QUndoGroup", "QUndoStack",
                  "QFileSystemModel"}
#: Field types: QVariant.<name> -> the FieldType member of algorithms/qt_compat.py.
FIELD_TYPES = {"Bool": "BOOL", "Int": "INT", "UInt": "UINT", "LongLong": "LONG", "ULongLong": "ULONG",
               "Double": "DOUBLE", "String": "STRING", "Date": "DATE", "DateTime": "DATETIME"}
#: Findings allowed on purpose: (file relative to the repository, finding) -> how often.
ALLOWED: Counter = Counter()


def checked_files(pattern: str) -> list[Path]:
    """Every checked file matching ``pattern`` (not in a venv, not exempt)."""
    files = []
    for entry in CODE:
        path = REPO / entry
        files += [path] if path.is_file() else sorted(path.rglob(pattern))
    return [f for f in files if f.match(pattern) and not _exempt(f.relative_to(REPO).as_posix())
            and not any(part.startswith(".venv") for part in f.parts)]


def _exempt(relative: str) -> bool:
    return relative in EXEMPT or relative.startswith(EXEMPT_DIRS)


def _qt_names(tree: ast.AST) -> dict[str, object]:
    """Local name -> the PyQt5 class or module it stands for, for imports from qgis.PyQt / PyQt5."""
    bound: dict[str, object] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or not node.module:
            continue
        if node.module in ("qgis.PyQt", "PyQt5"):
            for alias in node.names:
                if alias.name.startswith("Qt"):
                    bound[alias.asname or alias.name] = importlib.import_module(f"PyQt5.{alias.name}")
        elif node.module.startswith(("qgis.PyQt.", "PyQt5.")):
            module = importlib.import_module("PyQt5." + node.module.split(".")[-1])
            for alias in node.names:
                if hasattr(module, alias.name):
                    bound[alias.asname or alias.name] = getattr(module, alias.name)
    return bound


def _owner(node: ast.expr, bound: dict[str, object]) -> object | None:
    """The PyQt5 class an expression names (``Qt``, ``QtCore.Qt``), else None."""
    if isinstance(node, ast.Name):
        return bound.get(node.id)
    if isinstance(node, ast.Attribute):
        parent = _owner(node.value, bound)
        return getattr(parent, node.attr, None) if parent is not None else None
    return None


def _is_enum_member(value: object) -> bool:
    return _is_enum_type(type(value))


def _is_enum_type(value: object) -> bool:
    return type(value).__name__ == "enumtype"  # PyQt5's sip.enumtype: the class of every enum


def enum_findings(source: str) -> list[tuple[int, str]]:
    """(line, message) for each unscoped Qt enum member and each QVariant field type in ``source``."""
    tree = ast.parse(source)
    bound = _qt_names(tree)
    inner = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        written = ast.unparse(node)
        if written == "QVariant.Type" and id(node) in inner:
            continue  # QVariant.Type.Int: reported once, for the whole name
        if written.startswith("QVariant.") and (node.attr in FIELD_TYPES or node.attr == "Type"):
            member = FIELD_TYPES.get(node.attr, "INT")
            found.append((node.lineno, f"{written}: Qt6 has no QVariant.Type; write FieldType.{member} "
                                       "(from algorithms/qt_compat.py)"))
            continue
        owner = _owner(node.value, bound)
        value = getattr(owner, node.attr, None) if owner is not None else None
        if _is_enum_member(value) and not _is_enum_type(owner) and not written.startswith("QVariant."):
            scoped = f"{ast.unparse(node.value)}.{type(value).__name__}.{node.attr}"
            found.append((node.lineno, f"{written}: unscoped Qt enum (PyQt6 has only the scoped name); write {scoped}"))
    return found


def import_findings(source: str) -> list[tuple[int, str]]:
    """(line, message) for each class imported from QtWidgets that Qt6 moved to QtGui."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("QtWidgets"):
            for alias in node.names:
                if alias.name in MOVED_TO_QTGUI:
                    hint = ("from ..qt_compat import QAction (QtGui on Qt6, QtWidgets on Qt5)"
                            if alias.name == "QAction" else "add it to algorithms/qt_compat.py as QAction is")
                    found.append((node.lineno, f"{alias.name} from QtWidgets: Qt6 moved it to QtGui; {hint}"))
    return found


def text_findings(source: str) -> list[tuple[int, str]]:
    """(line, message) for each Qt5-only call, class or module of :data:`QT5_ONLY`."""
    found = []
    for pattern, hint in QT5_ONLY.items():
        for match in re.finditer(pattern, source):
            found.append((source.count("\n", 0, match.start()) + 1, f"{match.group()}: {hint}"))
    return found


def spacer_findings(ui_text: str) -> list[tuple[int, str]]:
    """(0, message) for each Designer spacer without a sizeHint."""
    found = []
    for spacer in ET.fromstring(ui_text).iter("spacer"):
        if spacer.find("property[@name='sizeHint']") is None:
            found.append((0, f"spacer {spacer.get('name')!r} has no sizeHint (PyQt6's uic cannot build it, under "
                             "Qt5 it does not expand): add <property name=\"sizeType\"><enum>QSizePolicy::Expanding"
                             "</enum></property><property name=\"sizeHint\" stdset=\"0\"><size><width>40</width>"
                             "<height>20</height></size></property>"))
    return found


def all_findings() -> Counter:
    """Every finding, as (file, 'line: message') -> count, minus :data:`ALLOWED`."""
    found: Counter = Counter()
    for file in checked_files("*.py"):
        source = file.read_text(encoding="utf-8")
        for line, message in enum_findings(source) + import_findings(source) + text_findings(source):
            found[(f"{file.relative_to(REPO).as_posix()}:{line}", message)] += 1
    for file in checked_files("*.ui"):
        for _, message in spacer_findings(file.read_text(encoding="utf-8")):
            found[(file.relative_to(REPO).as_posix(), message)] += 1
    return found - ALLOWED


def test_no_qt5_only_code():
    found = all_findings()
    assert not found, "Qt5-only code (QGIS 4 runs Qt6):\n" + "\n".join(f"{where}: {what}" for where, what in found)


QT5_SAMPLES = [
    ("from qgis.PyQt.QtCore import Qt\nx = Qt.AlignLeft", "write Qt.AlignmentFlag.AlignLeft"),
    ("from qgis.PyQt import QtCore\nx = QtCore.Qt.UTC", "write QtCore.Qt.TimeSpec.UTC"),
    ("from qgis.PyQt.QtWidgets import QSizePolicy as P\nP.Expanding", "write P.Policy.Expanding"),
    ("from qgis.PyQt.QtWidgets import QTableView\nQTableView.SelectRows", "QTableView.SelectionBehavior.SelectRows"),
    ("from qgis.PyQt.QtCore import QVariant\nQgsField('a', QVariant.Int)", "write FieldType.INT"),
    ("from qgis.PyQt.QtCore import QVariant\nQVariant.Type.Double", "write FieldType.DOUBLE"),
    ("from qgis.PyQt.QtWidgets import QAction, QMenu", "from ..qt_compat import QAction"),
    ("document.print_(printer)", "write .print("),
    ("dialog.exec_()", "write exec()"),
]
QT6_READY = """from qgis.PyQt.QtCore import Qt, QDateTime
from qgis.PyQt.QtWidgets import QDialog, QMenu
from ..qt_compat import FieldType, QAction
x = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
y = QDialog.DialogCode.Accepted, QDateTime.currentDateTimeUtc(), FieldType.INT, Qt.TimeSpec.UTC
dialog.exec(); document.print(printer); QgsWkbTypes.PolygonGeometry
"""


@pytest.mark.parametrize(("source", "advice"), QT5_SAMPLES)
def test_each_qt5_only_form_is_found_with_its_replacement(source, advice):
    messages = [m for _, m in enum_findings(source) + import_findings(source) + text_findings(source)]
    assert len(messages) == 1, messages
    assert advice in messages[0]


def test_qt6_ready_code_has_no_findings():
    assert enum_findings(QT6_READY) + import_findings(QT6_READY) + text_findings(QT6_READY) == []


def test_spacer_without_size_hint_is_found():
    spacer = '<ui><widget><layout><item><spacer name="s"><property name="orientation"><enum>Qt::Horizontal</enum>' \
             "</property>{}</spacer></item></layout></widget></ui>"
    assert "add <property name=\"sizeType\">" in spacer_findings(spacer.format(""))[0][1]
    hint = '<property name="sizeHint" stdset="0"><size><width>40</width><height>20</height></size></property>'
    assert spacer_findings(spacer.format(hint)) == []


def test_field_types_and_style_storage_use_no_deprecated_qgis_api(qgis_app, tmp_path, recwarn):
    """QGIS 3.38+ deprecates QgsField with a QVariant type, 3.44 saveStyleToDatabase: neither may warn."""
    import warnings

    from qgis.core import QgsField, QgsVectorLayer
    from social_resilience.algorithms.qt_compat import FieldType, save_style_to_database

    warnings.simplefilter("always")
    fields = [QgsField(name.lower(), getattr(FieldType, name)) for name in FIELD_TYPES.values()]
    assert [f.type() for f in fields] == [getattr(FieldType, name) for name in FIELD_TYPES.values()]
    path = tmp_path / "styled.gpkg"
    layer = QgsVectorLayer("Point?crs=EPSG:25832&field=a:integer", "styled", "memory")
    from qgis.core import QgsVectorFileWriter

    options = QgsVectorFileWriter.SaveVectorOptions()
    QgsVectorFileWriter.writeAsVectorFormatV3(layer, str(path), layer.transformContext(), options)
    stored = QgsVectorLayer(str(path), "stored", "ogr")
    assert save_style_to_database(stored, "plain", "test") == ""
    assert stored.listStylesInDatabase()[0] == 1
    deprecated = [str(w.message) for w in recwarn.list if issubclass(w.category, DeprecationWarning)]
    assert not deprecated
