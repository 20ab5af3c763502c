"""Stand-in for QGIS 4's ``qgis.core``: QGIS classes only, never a Qt class (see ``_stand_in.py``).

Modelled where the plugin meets Qt or needs an answer: ``QgsField`` takes only a
``QMetaType.Type`` (QGIS 4 has no ``QVariant.Type``); the processing algorithm, parameters,
provider and registry record what the plugin declares; ``QgsProject``, ``QgsTask`` and the
feedback are real QObjects with QGIS's signals; ``QgsSettings`` answers the default.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QMetaType, QObject, QVariant, pyqtSignal
from PyQt6.QtGui import QIcon

from ._stand_in import Generic, module_getattr, qt_based

NULL = QVariant()  # falsy and equal to None through qgis.PyQt.QtCore, as in QGIS


class QgsProcessingException(Exception):
    pass


class QgsCsException(Exception):
    pass


class QgsField(Generic):
    """QGIS 4's field: the type must be a ``QMetaType.Type`` (``QVariant.Int`` does not exist in PyQt6)."""

    def __init__(self, name: Any = "", kind: Any = QMetaType.Type.UnknownType, typeName: str = "",
                 len: int = 0, prec: int = 0, comment: str = "", **kwargs: Any) -> None:
        if isinstance(name, QgsField):
            name, kind, typeName, len, prec = name._name, name._type, name._type_name, name._length, name._prec
        kind = kwargs.pop("type", kind)
        if not isinstance(kind, QMetaType.Type):
            raise TypeError(f"QgsField(): argument 'type' has unexpected type {type(kind).__name__!r}"
                            " (QGIS 4 takes a QMetaType.Type)")
        super().__init__()
        self._name, self._type, self._type_name, self._length, self._prec = name, kind, typeName, len, prec

    def name(self) -> str:
        return self._name

    def setName(self, name: str) -> None:
        self._name = name

    def type(self) -> QMetaType.Type:
        return self._type

    def typeName(self) -> str:
        return self._type_name or self._type.name

    def length(self) -> int:
        return self._length


class QgsFields(Generic):
    """A list of :class:`QgsField`."""

    def __init__(self, other: QgsFields | None = None) -> None:
        super().__init__()
        self._fields = [QgsField(field) for field in other] if other is not None else []

    def append(self, field: QgsField, *args: Any) -> bool:
        self._fields.append(QgsField(field))
        return True

    def count(self) -> int:
        return len(self._fields)

    size = __len__ = count

    def at(self, index: int) -> QgsField:
        return self._fields[index]

    field = __getitem__ = at

    def lookupField(self, name: str) -> int:
        lowered = [field.name().lower() for field in self._fields]
        return lowered.index(name.lower()) if name.lower() in lowered else -1

    indexOf = indexFromName = lookupField

    def names(self) -> list[str]:
        return [field.name() for field in self._fields]

    def __iter__(self):
        return iter(self._fields)


class QgsProcessingParameterDefinition(Generic):
    """Every parameter and output: keeps its name, description and options."""

    def __init__(self, name: str = "", description: str = "", *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._name, self._description, self._flags = name, description, 0

    def name(self) -> str:
        return self._name

    def description(self) -> str:
        return self._description

    def setDescription(self, text: str) -> None:
        self._description = text

    def flags(self) -> Any:
        return self._flags

    def setFlags(self, flags: Any) -> None:
        self._flags = flags

    def clone(self) -> QgsProcessingParameterDefinition:
        return copy.copy(self)


class QgsProcessingAlgorithm(Generic):
    """Records the parameters and outputs that ``initAlgorithm`` declares."""

    def _declared(self, kind: str) -> list:
        return self.__dict__.setdefault(kind, [])

    def addParameter(self, definition: Any, createOutput: bool = True) -> bool:
        self._declared("_parameters").append(definition)
        return True

    def addOutput(self, definition: Any) -> bool:
        self._declared("_outputs").append(definition)
        return True

    def parameterDefinitions(self) -> list:
        return list(self._declared("_parameters"))

    def outputDefinitions(self) -> list:
        return list(self._declared("_outputs"))

    def parameterDefinition(self, name: str) -> Any:
        return next((p for p in self._declared("_parameters") if p.name() == name), None)

    def initAlgorithm(self, configuration: Any = None) -> None:
        pass


class QgsProcessingModelAlgorithm(QgsProcessingAlgorithm):
    """A model read from a .model3 file (QGIS's own XML; its steps are not run here)."""

    def fromFile(self, path: str) -> bool:
        self._name = Path(path).stem
        return Path(path).is_file()

    def name(self) -> str:
        return self.__dict__.get("_name", "")


class QgsProcessingProvider(qt_based(QObject)):
    """Holds the algorithms; adding one runs its ``initAlgorithm`` (QGIS: ``initialize``)."""

    def _algorithms(self) -> dict:
        return self.__dict__.setdefault("_added", {})

    def addAlgorithm(self, algorithm: Any) -> bool:
        algorithm.initAlgorithm({})
        self._algorithms()[algorithm.name()] = algorithm
        return True

    def algorithms(self) -> list:
        return list(self._algorithms().values())

    def algorithm(self, name: str) -> Any:
        return self._algorithms().get(name)

    def refreshAlgorithms(self) -> None:
        self._algorithms().clear()
        self.loadAlgorithms()

    def loadAlgorithms(self) -> None:
        pass


class QgsProcessingRegistry(Generic):
    """Providers by id; adding one loads its algorithms, as QGIS does."""

    def __init__(self) -> None:
        super().__init__()
        self.providers: dict[str, QgsProcessingProvider] = {}

    def addProvider(self, provider: QgsProcessingProvider) -> bool:
        if provider.id() in self.providers:
            return False
        self.providers[provider.id()] = provider
        provider.refreshAlgorithms()
        return True

    def providerById(self, provider_id: str) -> Any:
        return self.providers.get(provider_id)

    def removeProvider(self, provider: Any) -> bool:
        return self.providers.pop(provider.id(), None) is not None


class QgsTaskManager(Generic):
    """Tasks added (none run here)."""

    def __init__(self) -> None:
        super().__init__()
        self._tasks: list = []

    def addTask(self, task: Any, *args: Any) -> int:
        self._tasks.append(task)
        return len(self._tasks)

    def tasks(self) -> list:
        return list(self._tasks)


class QgsApplication(Generic):
    """The application's registries; the QApplication itself is the check's real one."""

    _registry = QgsProcessingRegistry()
    _task_manager = QgsTaskManager()

    @staticmethod
    def processingRegistry() -> QgsProcessingRegistry:
        return QgsApplication._registry

    @staticmethod
    def taskManager() -> QgsTaskManager:
        return QgsApplication._task_manager

    @staticmethod
    def getThemeIcon(name: str, *args: Any) -> QIcon:
        return QIcon()


class QgsSettings(Generic):
    """Settings with nothing stored: every value is the default."""

    def value(self, key: str, defaultValue: Any = None, *args: Any, **kwargs: Any) -> Any:
        return defaultValue

    def setValue(self, key: str, value: Any, *args: Any) -> None:
        pass


class QgsProject(qt_based(QObject)):
    """The project: QGIS's signals the plugin connects to, entries, no layers."""

    readProject = pyqtSignal(object)
    cleared = pyqtSignal()
    layerWillBeRemoved = pyqtSignal([str])
    layersAdded = pyqtSignal(list)
    _instance: QgsProject | None = None

    @staticmethod
    def instance() -> QgsProject:
        if QgsProject._instance is None:
            QgsProject._instance = QgsProject()
        return QgsProject._instance

    def _entries(self) -> dict:
        return self.__dict__.setdefault("_stored", {})

    def readEntry(self, scope: str, key: str, default: str = "") -> tuple[str, bool]:
        found = (scope, key) in self._entries()
        return (self._entries()[(scope, key)] if found else default), found

    def writeEntry(self, scope: str, key: str, value: Any) -> bool:
        self._entries()[(scope, key)] = value
        return True

    def removeEntry(self, scope: str, key: str) -> bool:
        return self._entries().pop((scope, key), None) is not None

    def mapLayers(self, *args: Any) -> dict:
        return {}

    def mapLayer(self, layer_id: str) -> None:
        return None


class QgsFeedback(qt_based(QObject)):
    """Feedback that is never cancelled."""

    canceled = pyqtSignal()
    progressChanged = pyqtSignal(float)

    def isCanceled(self) -> bool:
        return False


class QgsProcessingFeedback(QgsFeedback):
    pass


class QgsTask(qt_based(QObject)):
    """A task with QGIS's signals (none is run here)."""

    begun = pyqtSignal()
    taskCompleted = pyqtSignal()
    taskTerminated = pyqtSignal()
    progressChanged = pyqtSignal(float)
    statusChanged = pyqtSignal(int)


def _parameter_class(name: str) -> type:
    destination = name.endswith(("Sink", "Destination"))  # as QGIS's isDestination()
    members = {"__module__": __name__, "isDestination": lambda _: destination}
    return type(name, (QgsProcessingParameterDefinition,), members)


_generic = module_getattr(globals(), __name__)


def __getattr__(name: str) -> Any:
    """A parameter or output class for ``QgsProcessingParameter…``/``QgsProcessingOutput…``, else generic."""
    if name.startswith(("QgsProcessingParameter", "QgsProcessingOutput")):
        globals()[name] = _parameter_class(name)
        return globals()[name]
    return _generic(name)


__all__: list[str] = []  # nothing for a star import: the plugin names what it takes
