"""No new Qt5-only API that a Qt6 QGIS (QGIS 4) removes: ``exec_(``, ``QRegExp``, ``QtWebKit``.

``supportsQt6`` is off (CONTRIBUTING.md, "Qt6 / QGIS 4"); this keeps the port from growing. The
occurrences that exist are listed in :data:`ALLOWED`; remove an entry when its line is ported.
"""

from __future__ import annotations

import re
from collections import Counter

from .conftest import REPO

#: Where the plugin's own code lives (tests and scripts run only on the developer's QGIS).
CODE = ["algorithms", "core", "ui", "plugin.py"]
#: Calls, classes and modules that Qt6 removes (PyQt6 has no exec_, QRegExp or QtWebKit).
QT5_ONLY = re.compile(r"\bexec_\(|\bQRegExp\b|\bQtWebKit")
#: The current occurrences: (file relative to the repository, the matched text) -> how often.
ALLOWED: Counter = Counter()


def qt5_only_uses() -> Counter:
    """Count each Qt5-only match per file over :data:`CODE`."""
    found: Counter = Counter()
    for entry in CODE:
        path = REPO / entry
        files = [path] if path.is_file() else sorted(path.rglob("*.py"))
        for file in files:
            for match in QT5_ONLY.finditer(file.read_text(encoding="utf-8")):
                found[(file.relative_to(REPO).as_posix(), match.group())] += 1
    return found


def test_no_new_qt5_only_api():
    new = qt5_only_uses() - ALLOWED
    assert not new, (
        f"new Qt5-only API {dict(new)}: use exec() (Qt 5.15 has it too), QRegularExpression, "
        "QtWebEngine or plain HTML instead"
    )


def test_pattern_finds_what_it_should():
    samples = ["dialog.exec_()", "QRegExp('x')", "from qgis.PyQt.QtWebKit import QWebView"]
    assert all(QT5_ONLY.search(sample) for sample in samples)
    assert not QT5_ONLY.search("dialog.exec() and QRegularExpression")
