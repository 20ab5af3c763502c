"""As QGIS 4's ``qgis.PyQt.QtPrintSupport``: the real PyQt6 module."""

from PyQt6.QtPrintSupport import *  # noqa: F403
