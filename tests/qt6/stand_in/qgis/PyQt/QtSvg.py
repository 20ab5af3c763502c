"""As QGIS 4's ``qgis.PyQt.QtSvg``: the real PyQt6 module."""

from PyQt6.QtSvg import *  # noqa: F403
