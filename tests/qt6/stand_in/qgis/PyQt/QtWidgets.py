"""As QGIS 4's ``qgis.PyQt.QtWidgets``: the real PyQt6 module (QAction is not here, it is in QtGui)."""

from PyQt6.QtWidgets import *  # noqa: F403
