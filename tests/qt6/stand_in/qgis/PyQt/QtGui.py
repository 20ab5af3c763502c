"""As QGIS 4's ``qgis.PyQt.QtGui``: the real PyQt6 module."""

from PyQt6.QtGui import *  # noqa: F403
