"""Shared base of every algorithm: identity, groups, help, translation, icon."""

from __future__ import annotations

import contextlib
import functools
import re
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsFeatureRequest,
    QgsFields,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputLayerDefinition,
    QgsProcessingParameterAuthConfig,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDateTime,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterMapLayer,
    QgsProcessingParameterNumber,
    QgsProcessingParameterProviderConnection,
    QgsProcessingParameterString,
    QgsProperty,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QLocale, QUrl
from qgis.PyQt.QtGui import QIcon

from . import safe_io

PLUGIN_DIR = Path(__file__).resolve().parent.parent
HELP_DIR = PLUGIN_DIR / "resources" / "help"
ICON_DIR = PLUGIN_DIR / "resources" / "icons"

#: Group id -> English group name (translated in context "AlgorithmBase").
GROUPS = {
    "sampledata": QT_TRANSLATE_NOOP("AlgorithmBase", "Sample data"),
    "greenaccess": QT_TRANSLATE_NOOP("AlgorithmBase", "Green access"),
    "places": QT_TRANSLATE_NOOP("AlgorithmBase", "Everyday places"),
    "hotspots": QT_TRANSLATE_NOOP("AlgorithmBase", "Hotspots"),
    "sensors": QT_TRANSLATE_NOOP("AlgorithmBase", "Sensors"),
    "decisions": QT_TRANSLATE_NOOP("AlgorithmBase", "Decisions"),
    "workflows": QT_TRANSLATE_NOOP("AlgorithmBase", "Workflows"),
}


def user_language() -> str:
    """Two-letter language of the QGIS user interface (``en`` when unknown)."""
    from qgis.core import QgsSettings

    locale = QgsSettings().value("locale/userLocale", "") or QLocale().name()
    return str(locale)[:2] or "en"


def help_path(algorithm_id: str, language: str | None = None) -> Path | None:
    """Help file of an algorithm in the user's language, English as fallback."""
    for lang in (language or user_language(), "en"):
        path = HELP_DIR / lang / f"{algorithm_id}.html"
        if path.is_file():
            return path
    return None


def load_help(algorithm_id: str, language: str | None = None) -> str:
    """Help text of an algorithm as one line of HTML.

    The files are wrapped for reading in the repository; QGIS's help panel turns every line
    break of ``shortHelpString`` into a paragraph, so the lines are joined here.
    """
    path = help_path(algorithm_id, language)
    if path is None:
        return ""
    return re.sub(r"\s*\n\s*", " ", path.read_text(encoding="utf-8")).strip()


def releasing_frames(process: Callable) -> Callable:
    """Wrap ``processAlgorithm`` so that a failed run keeps no layer, feature or source alive.

    QGIS keeps the exception of a failed Python ``processAlgorithm`` (and so its traceback, its
    frames and their local layers and features) until the process ends; destroyed after QGIS has
    shut down, they crash it. The wrapper removes what the run's sinks created (the created-output
    guard, ``AlgorithmBase.discard_outputs``), empties the frames and raises a fresh error with the
    same message; an unexpected error's traceback goes to the log first, for the bug report.
    """

    @functools.wraps(process)
    def wrapper(self, parameters, context, feedback):
        try:
            return process(self, postgis_inputs(self, parameters), context, feedback)
        except Exception as error:
            message = str(error) if isinstance(error, QgsProcessingException) else _unexpected(error, feedback)
            _discard_outputs(self, feedback)
            traceback.clear_frames(error.__traceback__)
            del error, parameters, context, feedback
        raise QgsProcessingException(message)

    return wrapper


def postgis_inputs(algorithm: QgsProcessingAlgorithm, parameters: dict) -> dict:
    """Read an input given as a ``postgis:`` destination as the ``postgres://`` layer it names.

    Processing writes ``postgis:<uri>`` outputs (the dialog's "Save to PostGIS Table"), and a model
    hands that text on to the next step, but QGIS 3.22 loads only ``postgres://<uri>`` as a layer.
    """
    for definition in algorithm.parameterDefinitions():
        value = parameters.get(definition.name())
        if not definition.isDestination() and isinstance(value, str) and value.startswith("postgis:"):
            parameters = {**parameters, definition.name(): "postgres://" + value[len("postgis:"):]}
    return parameters


def _discard_outputs(algorithm: AlgorithmBase, feedback) -> None:
    """Remove what a failed run's sinks created; a problem doing so is logged, the run's own error stays."""
    try:
        algorithm.discard_outputs()
    except Exception as error:
        if feedback is not None:
            feedback.reportError(f"{type(error).__name__}: {error}")


def _written(dest_id: str, context) -> str:
    """Return what a sink writes: ``path|layername=…`` of a file output, "" for memory and database outputs."""
    layer = context.temporaryLayerStore().mapLayer(dest_id) if dest_id else None
    if layer is None:
        return dest_id or ""
    return layer.source() if layer.providerType() == "ogr" else ""


def _unexpected(error: Exception, feedback) -> str:
    """Log the traceback of an unexpected error and return the message for the user."""
    details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    if feedback is not None:
        feedback.reportError(details)
    return f"{type(error).__name__}: {error}"


def _number(kind: QgsProcessingParameterNumber.Type) -> Callable[..., QgsProcessingParameterNumber]:
    """Return a factory of number parameters of ``kind`` (integer or double)."""

    def create(name: str, description: str, **options: Any) -> QgsProcessingParameterNumber:
        return QgsProcessingParameterNumber(name, description, kind, **options)

    return create


def _provider_connection(name: str, description: str, provider: str, **options: Any):
    """Return a connection parameter of a data provider (``provider="postgres"``: a QGIS PostgreSQL connection)."""
    return QgsProcessingParameterProviderConnection(name, description, provider, **options)


#: Kind of a parameter-table row -> factory ``(name, description, **options)`` of the parameter.
PARAMETER_KINDS: dict[str, Callable[..., QgsProcessingParameterDefinition]] = {
    "source": QgsProcessingParameterFeatureSource,
    "layer": QgsProcessingParameterMapLayer,
    "field": QgsProcessingParameterField,
    "enum": QgsProcessingParameterEnum,
    "int": _number(QgsProcessingParameterNumber.Integer),
    "double": _number(QgsProcessingParameterNumber.Double),
    "string": QgsProcessingParameterString,
    "bool": QgsProcessingParameterBoolean,
    "datetime": QgsProcessingParameterDateTime,
    "sink": QgsProcessingParameterFeatureSink,
    "file_out": QgsProcessingParameterFileDestination,
    "connection": _provider_connection,
    "extent": QgsProcessingParameterExtent,
    "authcfg": QgsProcessingParameterAuthConfig,
}


class Param(NamedTuple):
    """One row of an algorithm's parameter table (see ``AlgorithmBase.add_parameters``)."""

    kind: str
    name: str
    description: str
    options: dict[str, Any]
    advanced: bool = False


def param(kind: str, name: str, description: str, advanced: bool = False, **options: Any) -> Param:
    """Row of a parameter table: ``kind`` of ``PARAMETER_KINDS``, keyword ``options`` of its constructor."""
    return Param(kind, name, description, options, advanced)


class AlgorithmBase(QgsProcessingAlgorithm):
    """Base of all algorithms of the toolkit.

    A subclass sets ``ALGORITHM_ID``, ``DISPLAY_NAME`` and ``GROUP_ID`` and implements
    ``initAlgorithm`` and ``processAlgorithm``; help text comes from
    ``resources/help/<lang>/<ALGORITHM_ID>.html``.
    """

    ALGORITHM_ID = ""
    DISPLAY_NAME = ""
    GROUP_ID = ""
    ICON = "icon.svg"

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "processAlgorithm" in cls.__dict__:
            cls.processAlgorithm = releasing_frames(cls.__dict__["processAlgorithm"])

    def tr(self, text: str) -> str:  # noqa: D102
        return QCoreApplication.translate(type(self).__name__, text)

    def name(self) -> str:  # noqa: D102
        return self.ALGORITHM_ID

    def displayName(self) -> str:  # noqa: N802, D102
        return self.tr(self.DISPLAY_NAME)

    def group(self) -> str:  # noqa: D102
        return QCoreApplication.translate("AlgorithmBase", GROUPS[self.GROUP_ID])

    def groupId(self) -> str:  # noqa: N802, D102
        return self.GROUP_ID

    def shortHelpString(self) -> str:  # noqa: N802, D102
        return load_help(self.ALGORITHM_ID)

    def helpUrl(self) -> str:  # noqa: N802, D102
        path = help_path(self.ALGORITHM_ID)
        return QUrl.fromLocalFile(str(path)).toString() if path is not None else ""

    def icon(self) -> QIcon:  # noqa: D102
        path = ICON_DIR / self.ICON
        return QIcon(str(path)) if path.is_file() else QgsApplication.getThemeIcon("processingAlgorithm.svg")

    def createInstance(self) -> AlgorithmBase:  # noqa: N802, D102
        return type(self)()

    def source(self, parameters: dict, name: str, context, required: bool = True):
        """Feature source of parameter ``name``; a clear error when a required one is missing."""
        source = self.parameterAsSource(parameters, name, context)
        if source is None and required:
            raise QgsProcessingException(self.invalidSourceError(parameters, name))
        return source

    def optional_number(self, parameters: dict, name: str, context) -> float | None:
        """Value of an optional number parameter, None when not set."""
        if parameters.get(name) in (None, ""):
            return None
        return self.parameterAsDouble(parameters, name, context)

    def add_advanced_parameter(self, parameter: QgsProcessingParameterDefinition) -> None:
        """Add ``parameter`` to the "Advanced parameters" section of the dialog."""
        parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        self.addParameter(parameter)

    def add_parameters(self, *rows: Param) -> None:
        """Add the parameters of a table of ``param(...)`` rows, in order; advanced rows as advanced."""
        for row in rows:
            parameter = PARAMETER_KINDS[row.kind](row.name, row.description, **row.options)
            if row.advanced:
                self.add_advanced_parameter(parameter)
            else:
                self.addParameter(parameter)

    # -- reading and writing under the plugin's rules (algorithms/safe_io.py) --------------------

    def read_features(
        self,
        source,
        name: str,
        feedback: QgsProcessingFeedback,
        request: QgsFeatureRequest | None = None,
        duplicates: bool = False,
    ) -> tuple[list[QgsFeature], safe_io.ReadReport]:
        """All features of ``source`` (parameter ``name``): invalid geometries repaired, one warning."""
        report = safe_io.ReadReport(f"{name} ({source.sourceName()})")
        features = list(safe_io.iter_features(source, report, feedback, request, duplicates))
        report.push(feedback)
        return features, report

    def iter_features(
        self, source, name: str, feedback: QgsProcessingFeedback, request: QgsFeatureRequest | None = None
    ) -> Iterator[QgsFeature]:
        """Stream the features of ``source`` under the same rule; the warning comes at the end."""
        report = safe_io.ReadReport(f"{name} ({source.sourceName()})")
        yield from safe_io.iter_features(source, report, feedback, request)
        report.push(feedback)

    def check_cancelled(self, feedback: QgsProcessingFeedback | None) -> None:
        """When the user cancelled: remove the outputs created so far and end with "Cancelled."."""
        if feedback is not None and feedback.isCanceled():
            self.discard_outputs()
            raise safe_io.cancelled_error()

    def create_sink(
        self,
        parameters: dict,
        name: str,
        context,
        fields: QgsFields,
        wkb_type: QgsWkbTypes.Type,
        crs: QgsCoordinateReferenceSystem,
        feedback: QgsProcessingFeedback | None = None,
        optional: bool = False,
    ):
        """``parameterAsSink`` under the guard: the one way an algorithm opens an output.

        Returns a ``safe_io.CheckedSink`` (every ``addFeature(s)`` checked) and the destination id. A
        failed or cancelled run removes only what the sink created (``discard_outputs``). A shapefile
        destination gets a warning listing the field names the format cuts. An ``optional`` output the
        user skipped gives ``(None, None)``; a required one a clear error.
        """
        before = safe_io.OutputSnapshot.take(self._destination(parameters, name, context))
        sink, dest_id = self.parameterAsSink(parameters, name, context, fields, wkb_type, crs)
        if sink is None:
            if optional:
                return None, None
            raise QgsProcessingException(self.invalidSinkError(parameters, name))
        output = safe_io.CreatedOutput(name, sink, _written(dest_id, context), before)
        if not hasattr(self, "_created_outputs"):
            self._created_outputs: list[safe_io.CreatedOutput] = []
        self._created_outputs.append(output)
        path = safe_io.output_file(output.written)
        if path is not None and path.suffix.lower() == ".shp" and feedback is not None:
            warning = safe_io.shapefile_warning(name, fields)
            if warning:
                feedback.pushWarning(warning)
        return safe_io.CheckedSink(output), dest_id

    def _destination(self, parameters: dict, name: str, context) -> str:
        """Return the destination a sink parameter's value names, without side effects ("" for a temporary output).

        Not ``parameterAsOutputLayer``: on a sink parameter whose value loads into a project it queues
        a ``memory:`` layer that never exists ("layers were not correctly generated").
        """
        value = parameters.get(name)
        if isinstance(value, QgsProcessingOutputLayerDefinition):
            value = value.sink
        definition = self.parameterDefinition(name)
        default = definition.defaultValue() if definition is not None else None
        if isinstance(value, QgsProperty):
            value = value.valueAsString(context.expressionContext(), str(default or ""))[0]
        text = str(value) if value not in (None, "") else str(default or "")
        return "" if text == QgsProcessing.TEMPORARY_OUTPUT else text

    def discard_outputs(self) -> None:
        """Close the sinks made by ``create_sink`` and remove what they created (files, or added layers)."""
        for output in getattr(self, "_created_outputs", []):
            output.discard()
        self._created_outputs = []

    def close_outputs(self) -> None:
        """Close the sinks made by ``create_sink``; the outputs stay (the algorithm has finished)."""
        for output in getattr(self, "_created_outputs", []):
            output.close()
        self._created_outputs = []

    def prepareAlgorithm(self, parameters: dict, context, feedback) -> bool:  # noqa: N802
        """Open the input layers and make their metric CRS here, on the main thread, before the run.

        QGIS 3.22 keeps a coordinate reference system in its caches with the PROJ objects of the
        thread that made it first. The algorithm dialog runs ``processAlgorithm`` in a pool thread;
        when that thread ends (30 s later) a CRS it made first loses them, and from then on every
        4326 -> 25832 transform on a new thread returns its input: EPSG:4326 layers vanish from the
        map. Made first here, the run's CRSs belong to the main thread and outlive the worker.
        """
        from .common import metric_crs, warm_crs_cache

        warm_crs_cache()
        for definition in self.parameterDefinitions():
            if not isinstance(definition, QgsProcessingParameterFeatureSource):
                continue
            layer = self.parameterAsVectorLayer(parameters, definition.name(), context)
            if layer is None or not layer.crs().isGeographic():  # a projected CRS is the metric one: no extent
                continue
            with contextlib.suppress(QgsProcessingException):  # processAlgorithm meets it again and says what to do
                metric_crs(layer.crs(), layer.extent())
        return True

    def postProcessAlgorithm(self, context, feedback) -> dict:  # noqa: N802
        """Close the sinks, then store the styles of GeoPackage outputs in the files."""
        from .style_on_load import store_default_styles

        self.close_outputs()
        store_default_styles(context, feedback)
        return {}
