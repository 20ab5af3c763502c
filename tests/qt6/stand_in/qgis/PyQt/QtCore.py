"""As QGIS 4's ``qgis.PyQt.QtCore``: the real PyQt6 module, with QGIS's NULL behaviour of QVariant.

QGIS makes a null QVariant falsy and equal to None (python/PyQt/PyQt6/QtCore.py); nothing else
is added: no ``QVariant.Type``, no unscoped enum names.
"""

from PyQt6.QtCore import *  # noqa: F403
from PyQt6.QtCore import QVariant

_eq = QVariant.__eq__
QVariant.__bool__ = lambda self: not self.isNull()
QVariant.__repr__ = lambda self: "NULL" if self.isNull() else f"QVariant({self.value()!r})"
QVariant.__eq__ = lambda self, other: (
    (other is None or (isinstance(other, QVariant) and other.isNull())) if self.isNull() else _eq(self, other)
)
QVariant.__ne__ = lambda self, other: not QVariant.__eq__(self, other)
QVariant.__hash__ = lambda self: 2178309 if self.isNull() else id(self)
