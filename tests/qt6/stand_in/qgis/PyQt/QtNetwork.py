"""As QGIS 4's ``qgis.PyQt.QtNetwork``: the real PyQt6 module."""

from PyQt6.QtNetwork import *  # noqa: F403
