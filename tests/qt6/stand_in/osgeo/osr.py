"""Stand-in for ``osgeo.osr``: every name is a generic value (GDAL is not what this check tests)."""

from qgis._stand_in import Value


def __getattr__(name: str) -> Value:
    return Value(f"osr.{name}")
