"""Write a generated sample town: one GeoPackage (metadata, styles, UTC times) and an optional CSV.

Everything is written to a temporary file beside the destination; the caller moves it into
place when all is complete, so a failed or cancelled run leaves no half-written output.
"""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from osgeo import gdal
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsCoordinateTransformContext,
    QgsFeature,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsLayerMetadata,
    QgsLineString,
    QgsPoint,
    QgsPointXY,
    QgsPolygon,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProviderRegistry,
    QgsVectorFileWriter,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QCoreApplication, QDateTime

from ...core.sample_town.sensors import csv_rows
from ...core.sample_town.town import CRS_AUTHID, SYNTHETIC_NOTE, Layer, SampleTown
from ..base import PLUGIN_DIR
from ..common import utc_qdatetime
from ..qt_compat import FieldType, save_style_to_database
from ..safe_io import raise_if_cancelled

STYLE_DIR = PLUGIN_DIR / "resources" / "styles"
FIELD_TYPES = {"int": FieldType.INT, "real": FieldType.DOUBLE, "str": FieldType.STRING, "datetime": FieldType.DATETIME}
WKB_TYPES = {
    "Point": QgsWkbTypes.Point,
    "LineString": QgsWkbTypes.LineString,
    "Polygon": QgsWkbTypes.Polygon,
    "NoGeometry": QgsWkbTypes.NoGeometry,
}
CHUNK = 5000


def tr(text: str) -> str:
    """Translate a message of the sample-town writer."""
    return QCoreApplication.translate("sample_town_writer", text)


def default_file_mode() -> int:
    """Mode of a new file under the process's umask (what ``open`` would give)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def write_geopackage(
    town: SampleTown, output: str, subtitle: str, feedback: QgsProcessingFeedback, progress: Callable[[float], None]
) -> str:
    """Write all layers into a temporary GeoPackage beside ``output``; return its path.

    ``subtitle`` ends each layer description (e.g. the seed); ``progress`` gets fractions 0..1.
    """
    folder = Path(output).expanduser().resolve().parent
    handle, temporary = tempfile.mkstemp(prefix=f".{Path(output).stem}.", suffix=".gpkg", dir=folder)
    os.close(handle)
    os.remove(temporary)
    total = sum(len(layer.rows) for layer in town.layers.values()) or 1
    done = 0
    try:
        for index, layer in enumerate(town.layers.values()):
            description = f"{SYNTHETIC_NOTE} Sample town layer '{layer.name}': {layer.description} ({subtitle})."
            writer = _create_writer(layer, temporary, index == 0, description)
            try:
                for start in range(0, len(layer.rows), CHUNK):
                    raise_if_cancelled(feedback)
                    chunk = _features(layer, start, start + CHUNK)
                    if not writer.addFeatures(chunk):
                        message = tr("Could not write layer {}: {}").format(layer.name, writer.errorMessage())
                        raise QgsProcessingException(message)
                    done += len(chunk)
                    progress(done / total)
            finally:
                del writer
            _finish_layer(layer, temporary, description, feedback)
        _describe_style_table(temporary)
    except BaseException:
        remove_files(temporary)
        raise
    return temporary


def write_observations_csv(town: SampleTown, path: str, transform_context: QgsCoordinateTransformContext) -> str:
    """Observations as CSV (lon/lat in WGS 84) in a temporary file beside ``path``; return its path."""
    stations = town.layers["stations"]
    transform = QgsCoordinateTransform(
        QgsCoordinateReferenceSystem(CRS_AUTHID), QgsCoordinateReferenceSystem("EPSG:4326"), transform_context
    )
    lookup = {}
    for geometry, station_id, name in zip(stations.geometries, stations.column("station_id"), stations.column("name")):
        point = transform.transform(QgsPointXY(*geometry[0]))
        lookup[station_id] = (name, point.x(), point.y())
    folder = Path(path).expanduser().resolve().parent
    handle, temporary = tempfile.mkstemp(prefix=f".{Path(path).stem}.", suffix=".csv", dir=folder)
    try:
        os.chmod(temporary, default_file_mode())  # mkstemp makes it 600; the CSV is a user-facing output
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as stream:
            csv.writer(stream).writerows(csv_rows(town.layers["observations"].rows, lookup))
    except BaseException:
        remove_files(temporary)
        raise
    return temporary


def remove_files(path: str) -> None:
    """Remove ``path`` and SQLite side files, if present."""
    for candidate in (path, f"{path}-wal", f"{path}-shm", f"{path}-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(candidate)


def writer_fields(layer: Layer) -> QgsFields:
    """QGIS fields of a generated layer."""
    fields = QgsFields()
    for name, kind in layer.fields:
        fields.append(QgsField(name, FIELD_TYPES[kind]))
    return fields


def _create_writer(layer: Layer, path: str, first: bool, description: str) -> QgsVectorFileWriter:
    """Create a GeoPackage writer for ``layer`` whose table description says it is synthetic."""
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = layer.name
    options.fileEncoding = "UTF-8"
    options.layerOptions = [f"DESCRIPTION={description}", f"IDENTIFIER=Sample town (synthetic): {layer.name}"]
    options.actionOnExistingFile = (
        QgsVectorFileWriter.CreateOrOverwriteFile if first else QgsVectorFileWriter.CreateOrOverwriteLayer
    )
    writer = QgsVectorFileWriter.create(
        path,
        writer_fields(layer),
        WKB_TYPES[layer.geometry_type],
        QgsCoordinateReferenceSystem(CRS_AUTHID),
        QgsCoordinateTransformContext(),
        options,
    )
    if writer.hasError() != QgsVectorFileWriter.NoError:
        message = writer.errorMessage()
        del writer
        raise QgsProcessingException(tr("Could not write layer {}: {}").format(layer.name, message))
    return writer


def _geometry(kind: str, coords: Any) -> QgsGeometry:
    if kind == "Point":
        return QgsGeometry(QgsPoint(*coords[0]))
    line = QgsLineString([p[0] for p in coords], [p[1] for p in coords])
    return QgsGeometry(line if kind == "LineString" else QgsPolygon(line))


def _features(layer: Layer, start: int, stop: int) -> list[QgsFeature]:
    """Features ``start:stop`` of a generated layer (date-times as UTC ``QDateTime``)."""
    fields = writer_fields(layer)
    date_columns = [k for k, (_name, kind) in enumerate(layer.fields) if kind == "datetime"]
    times: dict[datetime, QDateTime] = {}
    features = []
    for geometry, row in zip(layer.geometries[start:stop], layer.rows[start:stop]):
        feature = QgsFeature(fields)
        values = list(row)
        for k in date_columns:
            if values[k] is not None:
                values[k] = times.get(values[k]) or times.setdefault(values[k], utc_qdatetime(values[k]))
        feature.setAttributes(values)
        if geometry is not None:
            feature.setGeometry(_geometry(layer.geometry_type, geometry))
        features.append(feature)
    return features


def _finish_layer(layer: Layer, path: str, description: str, feedback: QgsProcessingFeedback) -> None:
    """UTC markers on date-times, QGIS layer metadata (title, abstract, keyword 'synthetic'), default style."""
    date_columns = [name for name, kind in layer.fields if kind == "datetime"]
    if date_columns:
        _mark_utc(path, layer.name, date_columns)
    uri = f"{path}|layername={layer.name}"
    metadata = QgsLayerMetadata()
    metadata.setIdentifier(f"sample_town_{layer.name}")
    metadata.setTitle(f"Sample town (synthetic): {layer.name}")
    metadata.setAbstract(description)
    metadata.setKeywords({"synthetic": ["synthetic", "sample data", "Social Resilience Toolkit"]})
    metadata.setCrs(QgsCoordinateReferenceSystem(CRS_AUTHID))
    metadata.setType("dataset")
    saved, error = QgsProviderRegistry.instance().saveLayerMetadata("ogr", uri, metadata)
    if not saved:
        raise QgsProcessingException(tr("Could not write the metadata of layer {}: {}").format(layer.name, error))
    qml = STYLE_DIR / f"sample_town_{layer.name}.qml"
    if qml.is_file():
        vector = QgsVectorLayer(uri, layer.name, "ogr")
        _message, loaded = vector.loadNamedStyle(str(qml))
        error = save_style_to_database(vector, layer.name, "Sample town (synthetic data)") if loaded else ""
        del vector
        if error or not loaded:
            feedback.pushWarning(tr("The style of layer {} was not stored: {}").format(layer.name, error or qml))


def _mark_utc(path: str, table: str, columns: list[str]) -> None:
    """Store date-times as GeoPackage UTC text (``…T00:00:00.000Z``); QGIS 3.22 writes them without zone."""
    _execute_sql(
        path, [f'UPDATE "{table}" SET "{column}" = strftime(\'%Y-%m-%dT%H:%M:%fZ\', "{column}")' for column in columns]
    )


def _describe_style_table(path: str) -> None:
    """Say in ``gpkg_contents`` that the QGIS ``layer_styles`` table belongs to synthetic data too."""
    text = f"{SYNTHETIC_NOTE} QGIS layer styles of the sample town.".replace("'", "''")
    _execute_sql(path, [f"UPDATE gpkg_contents SET description = '{text}' WHERE table_name = 'layer_styles'"])


def _execute_sql(path: str, statements: list[str]) -> None:
    """Run SQL statements through GDAL, which provides the GeoPackage functions its triggers call."""
    dataset = gdal.OpenEx(path, gdal.OF_VECTOR | gdal.OF_UPDATE)
    if dataset is None:
        raise QgsProcessingException(tr("Could not open {}: {}").format(path, gdal.GetLastErrorMsg()))
    try:
        for statement in statements:
            gdal.ErrorReset()
            dataset.ExecuteSQL(statement)
            if gdal.GetLastErrorType() >= gdal.CE_Failure:
                raise QgsProcessingException(tr("Could not update {}: {}").format(path, gdal.GetLastErrorMsg()))
    finally:
        dataset = None
