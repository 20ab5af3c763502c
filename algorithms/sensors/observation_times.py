"""Times of observation tables read right: GeoPackage DateTime values with a UTC offset.

QGIS 3.22's OGR provider returns ``2024-06-01T02:00:00+02:00`` from a GeoPackage DateTime column
as 02:00 without the offset (docs/platform.md), two hours off. The raw text is in the file: these
helpers read it with sqlite3 (read-only) for the rows whose text carries an offset.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from qgis.core import QgsProviderRegistry, QgsVectorLayer

from ...core.hotspots.observation_stats import parse_time
from ..qt_compat import FieldType

#: Text after the seconds ("2024-06-01T02:00:00" is 19 characters) that holds a sign: an offset.
_OFFSET_SQL = (
    'SELECT "{pk}", "{column}" FROM "{table}" WHERE length("{column}") > 19 AND substr("{column}", 20) GLOB \'*[+-]*\''
)


def geopackage_table(layer: QgsVectorLayer) -> tuple[str, str] | None:
    """(file, table) of a layer read by OGR from a GeoPackage, None for any other layer."""
    if layer is None or not layer.isValid() or layer.providerType() != "ogr":
        return None
    parts = QgsProviderRegistry.instance().decodeUri("ogr", layer.source())
    path = parts.get("path") or ""
    if not path.lower().endswith(".gpkg") or not Path(path).is_file():
        return None
    table = parts.get("layerName") or ""
    if not table:
        with closing(read_only(path)) as connection:
            names = [r[0] for r in connection.execute("SELECT table_name FROM gpkg_contents")]
        if len(names) != 1:
            return None
        table = names[0]
    return path, table


def offset_times(layer: QgsVectorLayer, field: str) -> dict[int, float]:
    """Feature id -> UTC epoch seconds of the rows whose DateTime text in ``field`` has a UTC offset.

    Empty for layers that are not GeoPackage tables, fields that are not DateTime, and columns
    without offsets (then the provider's values are right).
    """
    located = geopackage_table(layer)
    index = layer.fields().lookupField(field) if located else -1
    if index < 0 or layer.fields().at(index).type() != FieldType.DATETIME:
        return {}
    path, table = located
    with closing(read_only(path)) as connection:
        keys = [r[1] for r in connection.execute(f'PRAGMA table_info("{table}")') if r[5]]
        if len(keys) != 1:
            return {}
        quoted = {"pk": keys[0], "column": field, "table": table}
        query = _OFFSET_SQL.format(**{key: name.replace('"', '""') for key, name in quoted.items()})
        rows = connection.execute(query).fetchall()
    result = {}
    for fid, text in rows:
        seconds = parse_time(text) if isinstance(text, str) else None
        if seconds is not None:
            result[int(fid)] = seconds
    return result


def read_only(path: str) -> sqlite3.Connection:
    """Open a file read-only with sqlite3."""
    return sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
