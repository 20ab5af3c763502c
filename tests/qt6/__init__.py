"""The PyQt6 check: the plugin under real PyQt6 with a QGIS stand-in (``pyqt6_check.py``)."""
