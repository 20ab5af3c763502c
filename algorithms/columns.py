"""Attribute columns as numpy float arrays (NaN for NULL), from attribute rows or a file's Arrow stream.

Reading a million features through PyQGIS costs seconds of Python for the attribute lists alone;
GDAL's Arrow stream (GDAL >= 3.6) hands over numpy arrays per batch. It is used only where it gives
exactly what the Processing source would: an OGR layer read whole (no selection, limit, subset
filter or unsaved edits) in the CRS the algorithm works in. Everything else takes the ordinary
feature iterator and :class:`AttributeColumns`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from qgis.core import (
    QgsGeometry,
    QgsProcessingFeatureSourceDefinition,
    QgsProviderRegistry,
    QgsVectorLayer,
)

from .common import to_float

PLAIN_NUMBERS = (int, float)
#: WKB type codes of a single point (2D, Z, M, ZM; ISO numbering).
POINT_CODES = (1, 1001, 2001, 3001)


def direct_layer(value: Any, layer: QgsVectorLayer | None) -> QgsVectorLayer | None:
    """``layer`` when the parameter ``value`` asks for all its features as stored in its file, else None."""
    if isinstance(value, QgsProcessingFeatureSourceDefinition) and (
        value.selectedFeaturesOnly or value.featureLimit != -1
    ):
        return None
    if layer is None or layer.providerType() != "ogr" or layer.subsetString():
        return None
    if layer.isEditable() and layer.isModified():
        return None
    return layer


def read_columns(
    layer: QgsVectorLayer,
    names: list[str],
    point_on_surface: Callable[[QgsGeometry], tuple[float, float]],
    cancelled: Callable[[], bool],
) -> tuple[np.ndarray, dict[str, np.ndarray]] | None:
    """Return representative points and float columns (NaN for NULL), or None when not possible."""
    from osgeo import ogr

    if not hasattr(ogr.Layer, "GetArrowStreamAsNumPy"):
        return None
    parts = QgsProviderRegistry.instance().decodeUri("ogr", layer.source())
    if parts.get("vsiPrefix") or not parts.get("path"):  # inside an archive: leave it to QGIS
        return None
    try:
        data = ogr.Open(parts["path"])
    except RuntimeError:  # GDAL set to raise exceptions
        return None
    if data is None:
        return None
    name = parts.get("layerName")
    ogr_layer = data.GetLayerByName(name) if name else data.GetLayer(int(parts.get("layerId") or 0))
    if ogr_layer is None or ogr_layer.GetGeomType() == ogr.wkbNone:
        return None
    definition = ogr_layer.GetLayerDefn()
    available = {definition.GetFieldDefn(i).GetName() for i in range(definition.GetFieldCount())}
    if not set(names) <= available:
        return None
    ogr_layer.SetIgnoredFields(sorted(available - set(names)))
    geometry_name = ogr_layer.GetGeometryColumn() or "wkb_geometry"
    columns: dict[str, list[np.ndarray]] = {n: [] for n in names}
    points: list[np.ndarray] = []
    for batch in ogr_layer.GetArrowStreamAsNumPy(options=["USE_MASKED_ARRAYS=YES"]):
        if cancelled():
            return None
        if geometry_name not in batch:
            return None
        for n in names:
            columns[n].append(float_column(batch[n]))
        points.append(wkb_points(batch[geometry_name], point_on_surface))
    if not points:
        return np.zeros((0, 2)), {n: np.zeros(0) for n in names}
    return np.vstack(points), {n: np.concatenate(columns[n]) for n in names}


def float_column(values: np.ndarray) -> np.ndarray:
    """Floats with NaN for masked (NULL) entries and for text that is not a number."""
    if values.dtype.kind in "iufb":
        out = np.ma.asarray(values).astype(float).filled(np.nan)
    else:
        out = numeric_column([None if v is np.ma.masked else v for v in values.tolist()])
    out[~np.isfinite(out)] = np.nan
    return out


def wkb_points(
    geometries: np.ndarray, point_on_surface: Callable[[QgsGeometry], tuple[float, float]]
) -> np.ndarray:
    """x, y of each WKB geometry: read directly for points, else its point on surface (NaN for none)."""
    n = len(geometries)
    if geometries.dtype.kind == "V" and geometries.dtype.itemsize in (21, 29, 37):  # single points
        raw = np.frombuffer(np.ascontiguousarray(np.ma.getdata(geometries)).tobytes(), dtype=np.uint8)
        raw = raw.reshape(n, geometries.dtype.itemsize)
        little = raw[:, 0] == 1
        codes = np.where(little, raw[:, 1:5].copy().view("<u4")[:, 0], raw[:, 1:5].copy().view(">u4")[:, 0])
        xy = np.where(little[:, None], raw[:, 5:21].copy().view("<f8"), raw[:, 5:21].copy().view(">f8"))
        xy = xy.astype(float)
        xy[~np.isin(codes, POINT_CODES)] = np.nan
        xy[np.ma.getmaskarray(geometries)] = np.nan
        return xy
    xs, ys = [np.nan] * n, [np.nan] * n
    geometry = QgsGeometry()
    for i, wkb in enumerate(geometries.tolist()):
        if wkb is None or wkb is np.ma.masked:
            continue
        geometry.fromWkb(bytes(wkb))
        point = geometry.pointOnSurface()
        if point.isNull():  # empty, or an invalid polygon GEOS cannot handle: repair or give up
            xs[i], ys[i] = point_on_surface(geometry)
        else:
            xy = point.asPoint()
            xs[i], ys[i] = xy.x(), xy.y()
    return np.column_stack([np.array(xs, dtype=float), np.array(ys, dtype=float)])


class AttributeColumns:
    """Numeric columns of attribute rows, converted chunk by chunk (bounded memory)."""

    def __init__(self, indices: list[int]) -> None:
        self.indices = indices
        self.rows: list[list] = []
        self.parts: list[list[np.ndarray]] = [[] for _ in indices]

    def flush(self) -> None:
        """Convert the collected rows and forget them."""
        if not self.rows:
            return
        for index, parts in zip(self.indices, self.parts):
            parts.append(numeric_column([row[index] for row in self.rows]))
        self.rows = []

    def arrays(self) -> list[np.ndarray]:
        """One float array (NaN for NULL) per column index."""
        self.flush()
        return [np.concatenate(parts) if parts else np.zeros(0) for parts in self.parts]


def numeric_column(values: list) -> np.ndarray:
    """Attribute values as floats; NULL, empty and text that is no number become NaN."""
    try:
        out = np.array(values, dtype=float)
    except (TypeError, ValueError):
        out = np.array([v if type(v) in PLAIN_NUMBERS else number(v) for v in values], dtype=float)
    out[~np.isfinite(out)] = np.nan
    return out


def number(value: Any) -> float:
    """Return a finite float, NaN for NULL, empty or text that is no number."""
    result = to_float(value)
    return np.nan if result is None else result
