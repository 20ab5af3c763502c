"""Stand-in for QGIS 4's ``qgis`` package in the PyQt6 check (``tests/qt6/pyqt6_check.py``).

``qgis.PyQt`` is the real PyQt6, as in QGIS 4; ``qgis.core`` and ``qgis.gui`` give QGIS classes
only (``_stand_in.py``), never a Qt class.
"""
