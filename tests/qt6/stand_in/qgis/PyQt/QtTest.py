"""As QGIS 4's ``qgis.PyQt.QtTest``: the real PyQt6 module."""

from PyQt6.QtTest import *  # noqa: F403
