"""Stand-in for QGIS 4's ``qgis.gui``: QGIS widgets are real QWidgets, nothing else is Qt."""

from __future__ import annotations

from PyQt6.QtWidgets import QWidget

from ._stand_in import module_getattr, qt_based


class QgsFileWidget(qt_based(QWidget)):
    pass


class QgsAuthConfigSelect(qt_based(QWidget)):
    pass


__getattr__ = module_getattr(globals(), __name__)
