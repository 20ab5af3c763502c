"""The plugin's rules for reading user layers and writing outputs.

Reading: features are read with ``FlagSkipGeometryValidityChecks`` (QGIS's own "stop on invalid
geometry" path corrupts a running interpreter, see docs/platform.md); an invalid geometry is repaired
with makeValid, or dropped when nothing of its kind is left; null, empty, repaired, dropped and
duplicate geometries are counted and reported in one warning per layer.
Writing: every sink's writes are checked (``CheckedSink``); a cancelled or failed run removes only
what its sinks created (``CreatedOutput``): a new file, or the one layer a run added to an existing
GeoPackage, never a file or layer that existed before. A shapefile output warns which field names
the format cuts to 10 characters.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from qgis.core import (
    QgsDataSourceUri,
    QgsFeature,
    QgsFeatureRequest,
    QgsFeatureSink,
    QgsFields,
    QgsGeometry,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsProcessingFeedback,
    QgsWkbTypes,
)
from qgis.PyQt import sip
from qgis.PyQt.QtCore import QCoreApplication

from ..core.postgres import PostgisTarget, drop_table, table_exists

SKIP_VALIDITY = QgsProcessingFeatureSource.FlagSkipGeometryValidityChecks
#: Features read between two looks at the cancel button.
CANCEL_EVERY = 500


def tr(text: str) -> str:
    """Translate a message of this module."""
    return QCoreApplication.translate("safe_io", text)


def cancelled_error() -> QgsProcessingException:
    """Return the one exception a cancelled run ends with."""
    return QgsProcessingException(tr("Cancelled."))


def raise_if_cancelled(feedback: QgsProcessingFeedback | None) -> None:
    """Raise ``cancelled_error()`` when the user pressed cancel."""
    if feedback is not None and feedback.isCanceled():
        raise cancelled_error()


# -- reading ------------------------------------------------------------------------------------


@dataclass
class ReadReport:
    """What the reader found wrong in one layer."""

    layer: str
    no_geometry: int = 0
    repaired: int = 0
    dropped: int = 0
    duplicates: int = 0
    multipart: bool = False
    keeps_features: bool = True
    _seen: set = field(default_factory=set, repr=False)

    def message(self) -> str | None:
        """One warning for the layer, None when nothing was wrong."""
        parts = []
        if self.repaired:
            parts.append(tr("{} invalid geometry(ies) repaired (makeValid)").format(self.repaired))
        if self.dropped and self.keeps_features:
            parts.append(tr("{} invalid geometry(ies) that could not be repaired, kept without geometry").format(
                self.dropped))
        elif self.dropped:
            parts.append(tr("{} invalid geometry(ies) that could not be repaired, left out").format(self.dropped))
        if self.no_geometry:
            parts.append(tr("{} feature(s) without geometry (null or empty)").format(self.no_geometry))
        if self.duplicates:
            parts.append(
                tr("{} feature(s) with the same geometry as an earlier feature (duplicates count twice; "
                   "remove them if they are not meant)").format(self.duplicates)
            )
        return tr("{}: {}.").format(self.layer, "; ".join(parts)) if parts else None

    def push(self, feedback: QgsProcessingFeedback) -> None:
        """Send the layer's warning (if any) to ``feedback``."""
        message = self.message()
        if message:
            feedback.pushWarning(message)

    def output_type(self, wkb_type: QgsWkbTypes.Type) -> QgsWkbTypes.Type:
        """Geometry type for an output of these features: multi when a repair split a single part."""
        return QgsWkbTypes.multiType(wkb_type) if self.multipart else wkb_type


def repaired(geometry: QgsGeometry) -> QgsGeometry | None:
    """Return a valid version of ``geometry`` of its kind (polygon/line/point), None when nothing is left."""
    kind = geometry.type()
    fixed = geometry.makeValid()
    if fixed.isNull() or fixed.isEmpty():
        return None
    if fixed.type() != kind or QgsWkbTypes.flatType(fixed.wkbType()) == QgsWkbTypes.GeometryCollection:
        parts = [part for part in fixed.asGeometryCollection() if part.type() == kind and not part.isEmpty()]
        if not parts:
            return None
        fixed = parts[0] if len(parts) == 1 else QgsGeometry.collectGeometry(parts)
    if kind == QgsWkbTypes.PolygonGeometry and fixed.area() <= 0:
        return None
    return fixed


def _checked(feature: QgsFeature, report: ReadReport, duplicates: bool) -> QgsFeature:
    """``feature`` with its geometry checked: repaired, or set to null, and counted."""
    geometry = feature.geometry()
    if geometry.isNull() or geometry.isEmpty():
        report.no_geometry += 1
        feature.clearGeometry()
        return feature
    if geometry.type() != QgsWkbTypes.PointGeometry and not geometry.isGeosValid():
        fixed = repaired(geometry)
        if fixed is None:
            report.dropped += 1
            feature.clearGeometry()
            return feature
        report.repaired += 1
        report.multipart |= fixed.isMultipart() and not geometry.isMultipart()
        feature.setGeometry(fixed)
        geometry = fixed
    if duplicates:
        key = hashlib.blake2b(bytes(geometry.asWkb()), digest_size=16).digest()
        if key in report._seen:
            report.duplicates += 1
        report._seen.add(key)
    return feature


def iter_features(
    source,
    report: ReadReport,
    feedback: QgsProcessingFeedback | None,
    request: QgsFeatureRequest | None = None,
    duplicates: bool = False,
) -> Iterator[QgsFeature]:
    """Features of ``source`` (a Processing source or a layer) under the reading rule.

    Every feature is yielded (a geometry that cannot be repaired becomes null); the counts go
    into ``report``; cancelling raises ``cancelled_error()``.
    """
    request = request or QgsFeatureRequest()
    if isinstance(source, QgsProcessingFeatureSource):
        iterator = source.getFeatures(request, SKIP_VALIDITY)
    else:
        request.setInvalidGeometryCheck(QgsFeatureRequest.GeometryNoCheck)
        iterator = source.getFeatures(request)
    with_geometry = not request.flags() & QgsFeatureRequest.NoGeometry and source.wkbType() != QgsWkbTypes.NoGeometry
    for number, feature in enumerate(iterator):
        if number % CANCEL_EVERY == 0:
            raise_if_cancelled(feedback)
        yield _checked(feature, report, duplicates) if with_geometry else feature


# -- writing ------------------------------------------------------------------------------------


def output_file(destination: str) -> Path | None:
    """Return the file an output destination writes to (None for memory and non-file outputs)."""
    if destination.startswith("ogr:"):
        match = re.search(r"dbname='([^']*)'|dbname=(\S+)", destination)
        destination = (match.group(1) or match.group(2)) if match else ""
    path = destination.split("|", 1)[0]
    if not path or re.match(r"[A-Za-z][\w+.-]+:", path):  # memory:, postgres:, http://, … (not C:)
        return None
    return Path(path)


def new_output_table(destination: str) -> tuple[PostgisTarget, str] | None:
    """Return the PostgreSQL table of a ``postgis:``/``postgres://`` destination that does not exist yet, else None."""
    for prefix in ("postgis:", "postgres://"):
        if destination.startswith(prefix):
            uri = QgsDataSourceUri(destination[len(prefix):])
            if not uri.table():
                return None
            from .postgis_connection import libpq_dsn

            target = PostgisTarget(libpq_dsn(uri, uri.database()), uri.schema() or "public", uri.database())
            return None if table_exists(target, uri.table()) else (target, uri.table())
    return None


def output_layer(destination: str) -> str:
    """Return the layer (table) a destination names inside its file: ``table=`` or ``layername=``; else ""."""
    if destination.startswith("ogr:"):
        match = re.search(r'table="((?:[^"]|"")*)"|table=(\S+)', destination)
        return (match.group(1).replace('""', '"') if match.group(1) is not None else match.group(2)) if match else ""
    for option in destination.split("|")[1:]:
        if option.startswith("layername="):
            return option[len("layername="):]
    return ""


def related_files(path: Path) -> set[Path]:
    """``path`` and its side files (``.shx``, ``.dbf``, ``-wal``, …) that exist now."""
    folder = path.parent
    if not folder.is_dir():
        return set()
    stem = path.name.rsplit(".", 1)[0] if "." in path.name else path.name
    return {p for p in folder.iterdir() if p.name == path.name or p.name.startswith(stem + ".")}


def file_layers(path: Path) -> set[str] | None:
    """Names of the vector layers in an existing file (None when it is missing or not a vector file)."""
    from osgeo import gdal

    if not path.is_file():
        return None
    data = None
    gdal.PushErrorHandler("CPLQuietErrorHandler")
    try:
        data = gdal.OpenEx(str(path), gdal.OF_VECTOR | gdal.OF_READONLY)
        if data is None:
            return None
        return {data.GetLayerByIndex(index).GetName() for index in range(data.GetLayerCount())}
    except RuntimeError:  # GDAL with exceptions switched on
        return None
    finally:
        data = None
        gdal.PopErrorHandler()


def delete_layer(path: Path, layer: str) -> bool:
    """Delete the layer ``layer`` from the multi-layer file ``path`` (GeoPackage, …); True when deleted."""
    from osgeo import gdal

    data = None
    gdal.PushErrorHandler("CPLQuietErrorHandler")
    try:
        data = gdal.OpenEx(str(path), gdal.OF_VECTOR | gdal.OF_UPDATE)
        names = [data.GetLayerByIndex(i).GetName() for i in range(data.GetLayerCount())] if data is not None else []
        return layer in names and data.DeleteLayer(names.index(layer)) == 0
    except RuntimeError:
        return False
    finally:
        data = None
        gdal.PopErrorHandler()


@dataclass
class OutputSnapshot:
    """What existed at an output destination before the run: its files and the layers of its file."""

    path: Path | None
    files: set[Path]
    layers: set[str] | None
    new_table: tuple[PostgisTarget, str] | None = None  #: a PostgreSQL table the sink will create

    @classmethod
    def take(cls, destination: str) -> OutputSnapshot:
        """Look at ``destination`` (a sink parameter's value) before the sink is created."""
        path = output_file(destination)
        if path is None:
            return cls(None, set(), None, new_output_table(destination))
        path = path.expanduser().absolute()
        return cls(path, related_files(path), file_layers(path))


@dataclass
class CreatedOutput:
    """One sink of a run: what it writes (``written``: ``path|layername=…`` or "") and what was there before.

    ``discard`` removes only what the run created: the file when it is new, else the one layer the
    run added to an existing multi-layer file; never a file or layer that existed before.
    """

    name: str
    sink: object
    written: str
    before: OutputSnapshot

    def close(self) -> None:
        """Close the sink (flushes and closes its file); the output stays."""
        if self.sink is not None and not sip.isdeleted(self.sink):
            sip.delete(self.sink)
        self.sink = None

    def discard(self) -> None:
        """Close the sink and remove what it created."""
        self.close()
        if self.before.new_table is not None:
            drop_table(*self.before.new_table)
        path = output_file(self.written)
        if path is None:
            return
        path = path.expanduser().absolute()
        if path not in self.before.files:  # a new file: remove it and the side files the run made
            for created in related_files(path) - self.before.files:
                created.unlink(missing_ok=True)
            return
        layer = output_layer(self.written)
        if layer and path == self.before.path and self.before.layers is not None and layer not in self.before.layers:
            delete_layer(path, layer)


@contextlib.contextmanager
def new_files_guard(*paths: str) -> Iterator[None]:
    """Remove those of the file outputs ``paths`` that did not exist before when the block fails."""
    created = [Path(path).expanduser() for path in paths if path and not Path(path).expanduser().exists()]
    try:
        yield
    except BaseException:
        for path in created:
            if path.is_file():
                path.unlink()
        raise


class CheckedSink:
    """A sink whose every ``addFeature(s)`` is checked: a failed write ends the run with an error naming the output.

    Everything else is the wrapped sink's; the run's guard (``AlgorithmBase.discard_outputs``) then
    removes what the run created.
    """

    def __init__(self, output: CreatedOutput) -> None:
        self._output = output

    def addFeature(self, feature: QgsFeature, flags: QgsFeatureSink.Flags = QgsFeatureSink.Flags()) -> bool:  # noqa: N802, D102, B008
        if not self._sink().addFeature(feature, flags):
            raise self._error()
        return True

    def addFeatures(self, features: list[QgsFeature], flags: QgsFeatureSink.Flags = QgsFeatureSink.Flags()) -> bool:  # noqa: N802, D102, B008
        if not self._sink().addFeatures(features, flags):
            raise self._error()
        return True

    def close(self) -> None:
        """Close the sink now (its file is complete); the guard still removes it when the run fails later."""
        self._output.close()

    def __getattr__(self, name: str):
        return getattr(self._sink(), name)

    def _sink(self):
        if self._output.sink is None:
            raise QgsProcessingException(tr("The output {} is already closed.").format(self._output.name))
        return self._output.sink

    def _error(self) -> QgsProcessingException:
        output = self._output
        error = output.sink.lastError() if hasattr(output.sink, "lastError") else ""
        where = f" ({output.written})" if output.written else ""
        return QgsProcessingException(
            tr("Cannot write to the output {}{}: {}. Check the free disk space and that the file is writable; "
               "what this run wrote there is removed.").format(output.name, where, error or tr("the write failed"))
        )


def shapefile_names(fields: QgsFields) -> list[tuple[str, str]]:
    """``(name, name in the shapefile)`` for every field whose name the shapefile driver changes."""
    from osgeo import gdal, ogr

    folder = f"/vsimem/srt_{uuid.uuid4().hex}"
    data = ogr.GetDriverByName("ESRI Shapefile").CreateDataSource(folder)
    layer = data.CreateLayer("names", geom_type=ogr.wkbNone)
    gdal.PushErrorHandler("CPLQuietErrorHandler")
    try:
        for name in fields.names():
            layer.CreateField(ogr.FieldDefn(name, ogr.OFTString))
    finally:
        gdal.PopErrorHandler()
    definition = layer.GetLayerDefn()
    written = [definition.GetFieldDefn(i).GetName() for i in range(definition.GetFieldCount())]
    layer = data = None
    gdal.RmdirRecursive(folder)
    return [(old, new) for old, new in zip(fields.names(), written) if old != new]


def shapefile_warning(output: str, fields: QgsFields) -> str | None:
    """Warning listing the field names a shapefile output cuts, None when all fit."""
    changed = shapefile_names(fields)
    if not changed:
        return None
    mapping = ", ".join(f"{old} → {new}" for old, new in changed)
    return tr(
        "{} is a shapefile: field names are cut to 10 characters: {}. Save as GeoPackage (.gpkg) to keep the "
        "full names."
    ).format(output, mapping)
