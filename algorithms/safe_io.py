"""The plugin's rules for reading user layers and writing outputs.

Reading: features are read with ``FlagSkipGeometryValidityChecks`` (QGIS's own "stop on invalid
geometry" path corrupts a running interpreter, see docs/platform.md); an invalid geometry is repaired
with makeValid, or dropped when nothing of its kind is left; null, empty, repaired, dropped and
duplicate geometries are counted and reported in one warning per layer.
Writing: a cancelled or failed run removes the files its sinks created; a shapefile output
warns which field names the format cuts to 10 characters.
"""

from __future__ import annotations

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


def related_files(path: Path) -> set[Path]:
    """``path`` and its side files (``.shx``, ``.dbf``, ``-wal``, …) that exist now."""
    folder = path.parent
    if not folder.is_dir():
        return set()
    stem = path.name.rsplit(".", 1)[0] if "." in path.name else path.name
    return {p for p in folder.iterdir() if p.name == path.name or p.name.startswith(stem + ".")}


@dataclass
class CreatedOutput:
    """A sink and the files that existed before it was created."""

    sink: object
    path: Path | None
    existed: set[Path]
    table: tuple[PostgisTarget, str] | None = None  #: a PostgreSQL table the sink created

    def discard(self) -> None:
        """Close the sink and remove the files (or the PostgreSQL table) it created."""
        if self.sink is not None and not sip.isdeleted(self.sink):
            sip.delete(self.sink)
        self.sink = None
        if self.path is not None:
            for path in related_files(self.path) - self.existed:
                path.unlink(missing_ok=True)
        if self.table is not None:
            drop_table(*self.table)


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
