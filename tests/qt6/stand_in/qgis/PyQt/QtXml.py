"""As QGIS 4's ``qgis.PyQt.QtXml``: the real PyQt6 module."""

from PyQt6.QtXml import *  # noqa: F403
