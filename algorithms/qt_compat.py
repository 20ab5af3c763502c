"""One code base for QGIS 3.22 (Qt5) to QGIS 4 (Qt6): field types, the classes Qt6 moved, renamed QGIS calls.

QGIS 3.22's ``QgsField`` takes only a ``QVariant.Type``; QGIS 3.38 and newer take a
``QMetaType.Type`` (and warn about ``QVariant``), Qt6 has no ``QVariant.Type`` at all. The
choice is made once, by asking this QGIS. The numbers of the two enums are the same for every
type used here, so a field's ``type()`` compares equal with :class:`FieldType` on every version.
"""

from __future__ import annotations

from qgis.core import QgsField
from qgis.PyQt.QtCore import QMetaType, QVariant

try:  # Qt6 moved QAction to QtGui
    from qgis.PyQt.QtGui import QAction
except ImportError:  # Qt5
    from qgis.PyQt.QtWidgets import QAction

__all__ = ["NUMERIC_TYPES", "FieldType", "QAction", "save_style_to_database"]


def _takes_meta_type() -> bool:
    """Whether this QGIS builds fields from ``QMetaType.Type`` (3.38 and newer, and every Qt6 build)."""
    try:
        QgsField("probe", QMetaType.Type.Int)
    except TypeError:
        return False
    return True


_META = _takes_meta_type()


class FieldType:
    """Field types as this QGIS takes them in ``QgsField(name, type)`` and returns from ``type()``."""

    BOOL = QMetaType.Type.Bool if _META else QVariant.Type.Bool
    INT = QMetaType.Type.Int if _META else QVariant.Type.Int
    UINT = QMetaType.Type.UInt if _META else QVariant.Type.UInt
    LONG = QMetaType.Type.LongLong if _META else QVariant.Type.LongLong
    ULONG = QMetaType.Type.ULongLong if _META else QVariant.Type.ULongLong
    DOUBLE = QMetaType.Type.Double if _META else QVariant.Type.Double
    STRING = QMetaType.Type.QString if _META else QVariant.Type.String
    DATE = QMetaType.Type.QDate if _META else QVariant.Type.Date
    DATETIME = QMetaType.Type.QDateTime if _META else QVariant.Type.DateTime


#: Field types that hold numbers.
NUMERIC_TYPES = (FieldType.INT, FieldType.UINT, FieldType.LONG, FieldType.ULONG, FieldType.DOUBLE)


def save_style_to_database(layer, name: str, description: str) -> str:
    """Store ``layer``'s style in its data source as the default style; the error message ("" when stored).

    QGIS 3.44 and 4 deprecate ``saveStyleToDatabase`` for ``saveStyleToDatabaseV2``; older QGIS has only the first.
    """
    if hasattr(layer, "saveStyleToDatabaseV2"):
        _saved, error = layer.saveStyleToDatabaseV2(name, description, True, "")
        return error
    return layer.saveStyleToDatabase(name, description, True, "")
