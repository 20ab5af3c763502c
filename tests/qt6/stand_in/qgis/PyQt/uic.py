"""As QGIS 4's ``qgis.PyQt.uic``: PyQt6's uic (``loadUiType``, ``loadUi``)."""

from PyQt6.uic import *  # noqa: F403
