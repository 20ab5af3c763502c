"""As QGIS 4's ``qgis.PyQt.sip``: PyQt6's sip module."""

from PyQt6.sip import *  # noqa: F403
