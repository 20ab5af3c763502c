"""Recent values of one station read back from a sensor archive (GeoPackage, see core/sensors/archive.py)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from ..sensors.errors import FeedError
from ..sensors.times import parse_time


def read_series(
    path: str | Path, station_id: str, stream_id: str = "", prop: str = "", limit: int = 500
) -> list[tuple[datetime, float]]:
    """Return the newest ``limit`` numeric values of a station's stream (or property), oldest first.

    Raises FeedError when the file is not a readable archive.
    """
    uri = f"{Path(path).resolve().as_uri()}?mode=ro"
    column, key = ("stream_id", stream_id) if stream_id else ("property", prop)
    try:
        connection = sqlite3.connect(uri, uri=True, timeout=5)
        try:
            rows = connection.execute(
                f"SELECT time, value FROM observations WHERE station_id = ? AND {column} = ? "
                "AND value IS NOT NULL ORDER BY time DESC LIMIT ?",
                (station_id, key, int(limit)),
            ).fetchall()
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise FeedError(f"cannot read the archive {path}: {error}") from None
    return [(parse_time(moment), float(value)) for moment, value in reversed(rows)]
