"""Helpers for the hostile-input tests: a user's GeoPackage, a disk that runs full, layer counts."""

from __future__ import annotations

import contextlib
import resource
import signal
from collections.abc import Iterator
from pathlib import Path


def city_geopackage(path: Path, layers: int = 10, features: int = 5) -> dict[str, int]:
    """Write a user's GeoPackage with ``layers`` point layers (``layer_0`` …); return {name: feature count}."""
    from osgeo import ogr, osr

    wgs84 = osr.SpatialReference()
    wgs84.ImportFromEPSG(4326)
    data = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    for number in range(layers):
        layer = data.CreateLayer(f"layer_{number}", wgs84, ogr.wkbPoint)
        layer.CreateField(ogr.FieldDefn("note", ogr.OFTString))
        for index in range(features):
            feature = ogr.Feature(layer.GetLayerDefn())
            feature.SetField("note", f"kept {number}/{index}")
            feature.SetGeometry(ogr.CreateGeometryFromWkt(f"POINT ({9 + index * 0.01} {51 + number * 0.01})"))
            layer.CreateFeature(feature)
    data = None
    return layer_counts(path)


def layer_counts(path: Path) -> dict[str, int]:
    """{layer name: feature count} of a vector file ({} when it does not exist)."""
    from osgeo import ogr

    if not path.exists():
        return {}
    data = ogr.Open(str(path))
    counts = {data.GetLayer(i).GetName(): data.GetLayer(i).GetFeatureCount() for i in range(data.GetLayerCount())}
    data = None
    return counts


@contextlib.contextmanager
def disk_full_after(max_bytes: int) -> Iterator[None]:
    """Let this process write no file beyond ``max_bytes`` (RLIMIT_FSIZE): a write past it fails like a full disk.

    SIGXFSZ is ignored meanwhile, so the write returns an error (EFBIG) instead of killing the process.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
