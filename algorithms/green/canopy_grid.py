"""The tree canopy of the 3-30-300 rule as a grid in the run's CRS: polygons burnt in, or a raster warped (GDAL)."""

from __future__ import annotations

import math

import numpy as np
from osgeo import gdal, ogr
from qgis.core import QgsCoordinateReferenceSystem, QgsGeometry, QgsRasterLayer
from qgis.PyQt.QtCore import QCoreApplication

from ...core.green.rule_33030 import CanopyGrid, grid_extent

#: A grid of more cells than this gets coarser cells (memory: about 6 bytes a cell).
MAX_CELLS = 120_000_000
NODATA = -9999.0  # exact in float32


def tr(text: str) -> str:
    """Translate a message of the canopy grid."""
    return QCoreApplication.translate("canopy_grid", text)


class CanopyError(Exception):
    """The canopy layer cannot be read as a grid (the message says why)."""


def grid_cell(points: np.ndarray, radius: float, cell: float) -> float:
    """``cell``, or the smallest coarser size for which the grid around ``points`` stays below MAX_CELLS."""
    _, _, cols, rows = grid_extent(points, radius, cell)
    if cols * rows <= MAX_CELLS:
        return cell
    return float(math.ceil(cell * math.sqrt(cols * rows / MAX_CELLS) * 10) / 10)


def _memory_raster(cols: int, rows: int, left: float, top: float, cell: float, kind: int) -> gdal.Dataset:
    raster = gdal.GetDriverByName("MEM").Create("", cols, rows, 1, kind)
    raster.SetGeoTransform((left, cell, 0.0, top, 0.0, -cell))
    return raster


def polygon_grid(geometries: list[QgsGeometry], points: np.ndarray, radius: float, cell: float) -> CanopyGrid:
    """Canopy polygons (in the run's CRS) burnt into a grid around ``points``: a cell is canopy when its centre is."""
    left, top, cols, rows = grid_extent(points, radius, cell)
    raster = _memory_raster(cols, rows, left, top, cell, gdal.GDT_Byte)
    vector = ogr.GetDriverByName("Memory").CreateDataSource("canopy")
    layer = vector.CreateLayer("canopy", geom_type=ogr.wkbUnknown)
    for geometry in geometries:
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetGeometry(ogr.CreateGeometryFromWkb(bytes(geometry.asWkb())))
        layer.CreateFeature(feature)
    gdal.RasterizeLayer(raster, [1], layer, burn_values=[1])
    canopy = raster.GetRasterBand(1).ReadAsArray() > 0
    return CanopyGrid(canopy, None, left, top, cell)


def raster_grid(
    layer: QgsRasterLayer,
    target: QgsCoordinateReferenceSystem,
    points: np.ndarray,
    radius: float,
    cell: float,
    threshold: float,
) -> CanopyGrid:
    """Warp a raster onto a grid around ``points`` (nearest cell): canopy where the value is at least ``threshold``.

    Cells outside the raster or without data (its no-data value) hold no data.
    """
    if layer.providerType() != "gdal":
        message = tr("The raster {} is not a file GDAL reads; save it as a GeoTIFF first.")
        raise CanopyError(message.format(layer.name()))
    source = gdal.Open(layer.source())
    if source is None:
        raise CanopyError(tr("GDAL cannot open the raster {}.").format(layer.source()))
    left, top, cols, rows = grid_extent(points, radius, cell)
    crs = layer.crs() if layer.crs().isValid() else target
    warped = gdal.Warp(
        "", source, format="MEM", srcSRS=crs.toWkt(), dstSRS=target.toWkt(), outputType=gdal.GDT_Float32,
        outputBounds=(left, top - rows * cell, left + cols * cell, top), width=cols, height=rows,
        resampleAlg="near", dstNodata=NODATA,
    )  # fmt: skip
    if warped is None:
        raise CanopyError(tr("GDAL could not warp the raster {} to {}.").format(layer.source(), target.authid()))
    values = warped.GetRasterBand(1).ReadAsArray()
    valid = np.isfinite(values) & (values != NODATA)
    return CanopyGrid(valid & (values >= threshold), valid, left, top, cell)
