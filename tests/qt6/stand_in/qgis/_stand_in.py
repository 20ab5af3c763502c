"""The machinery of the QGIS stand-in: generic QGIS classes that never hand out a Qt class.

A QGIS name (``Qgs…``, ``Qgis``) that ``core.py``/``gui.py`` do not model becomes a generic
class: any member (``QgsWkbTypes.Point``) is a named value, any method returns a :class:`Value`,
and a Qt object the plugin passes in is kept as it is. A name that is not a QGIS name raises
AttributeError (so ``from qgis.core import QVariant`` fails, as in QGIS 4): Qt comes only from
``qgis.PyQt``, the real PyQt6.
"""

from __future__ import annotations

import re
from typing import Any

from PyQt6.QtCore import QObject

QGIS_NAME = re.compile(r"Qgs[A-Z0-9]\w*|Qgis")


class Value:
    """What a generic method returns and a generic member is: falsy, empty, combinable like a flag."""

    def __init__(self, path: str) -> None:
        self._path = path

    def __repr__(self) -> str:
        return f"<stand-in {self._path}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Value:
        return Value(f"{self._path}()")

    def __getattr__(self, name: str) -> Value:
        if name.startswith("__"):
            raise AttributeError(name)
        return Value(f"{self._path}.{name}")

    def __or__(self, other: Any) -> Value:
        return self

    __ror__ = __and__ = __rand__ = __xor__ = __rxor__ = __or__

    def __invert__(self) -> Value:
        return self

    def __bool__(self) -> bool:
        return False

    def __iter__(self):
        return iter(())

    def __len__(self) -> int:
        return 0

    def __int__(self) -> int:
        return 0

    __index__ = __int__


_MEMBERS: dict[tuple[str, str], Value] = {}


def member(owner: str, name: str) -> Value:
    """The one value of ``owner.name`` (so that ``QgsWkbTypes.Point == QgsWkbTypes.Point``)."""
    return _MEMBERS.setdefault((owner, name), Value(f"{owner}.{name}"))


class GenericMeta(type):
    """Class attributes that are not defined are members (enum values, nested classes)."""

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return member(cls.__name__, name)


class QtGenericMeta(type(QObject), GenericMeta):
    """The same for QGIS classes derived from a Qt class (QgsTask, QgsProject, QgsFileWidget)."""


class Generic(metaclass=GenericMeta):
    """Instances of a generic QGIS class: every method exists and returns a :class:`Value`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs = args, kwargs

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return Value(f"{type(self).__name__}.{name}")


def qt_based(base: type) -> type:
    """A generic base for a QGIS class derived from the Qt class ``base`` (the real PyQt6 class)."""

    class QtBased(base, metaclass=QtGenericMeta):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            parent = next((arg for arg in args if isinstance(arg, QObject)), kwargs.get("parent"))
            super().__init__(parent)
            self.args, self.kwargs = args, kwargs

        def __getattr__(self, name: str) -> Any:
            if name.startswith("__"):
                raise AttributeError(name)
            return Value(f"{type(self).__name__}.{name}")

    return QtBased


def module_getattr(namespace: dict, module: str):
    """A module ``__getattr__`` that makes a generic class for a QGIS name and refuses anything else."""

    def __getattr__(name: str) -> Any:
        if not QGIS_NAME.fullmatch(name):
            raise AttributeError(
                f"module {module!r} has no attribute {name!r}: not a QGIS class (Qt comes from qgis.PyQt)"
            )
        cls = type(name, (Generic,), {"__module__": module})
        namespace[name] = cls
        return cls

    return __getattr__
