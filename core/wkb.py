"""The vertices of a geometry given as WKB (ISO, OGC or EWKB), without QGIS."""

from __future__ import annotations

import struct

import numpy as np

#: ISO WKB type thousands (0 XY, 1 XYZ, 2 XYM, 3 XYZM) -> coordinates per point.
_ISO_DIMS = {0: 2, 1: 3, 2: 3, 3: 4}


def vertex_arrays(wkb: bytes | memoryview) -> list[np.ndarray]:
    """Return the (m, 2) x/y arrays of every line and polygon ring of ``wkb``; points give none.

    Multi-geometries and collections are read part by part; curved types raise ``ValueError``
    (segmentize them first).
    """
    out: list[np.ndarray] = []
    if len(wkb):
        _read(memoryview(wkb), 0, out)
    return out


def _read(buf: memoryview, pos: int, out: list[np.ndarray]) -> int:
    """Append the arrays of the geometry at ``pos`` to ``out``; return the position after it."""
    order = "<" if buf[pos] == 1 else ">"
    (code,) = struct.unpack_from(order + "I", buf, pos + 1)
    pos += 5
    if code & 0x20000000:  # EWKB SRID flag
        pos += 4
    dims = 2 + bool(code & 0x80000000) + bool(code & 0x40000000)
    code &= 0x0FFFFFFF
    base, iso = code % 1000, code // 1000
    dims = max(dims, _ISO_DIMS.get(iso, 2))
    dtype = np.dtype(order + "f8")

    def read_points(position: int) -> int:
        (count,) = struct.unpack_from(order + "I", buf, position)
        position += 4
        points = np.frombuffer(buf, dtype=dtype, count=count * dims, offset=position).reshape(count, dims)
        out.append(points[:, :2].astype(float))
        return position + 8 * dims * count

    if base == 1:  # point
        return pos + 8 * dims
    if base == 2:  # linestring
        return read_points(pos)
    if base in (3, 4, 5, 6, 7):  # polygon: rings; multi* and collections: parts
        (count,) = struct.unpack_from(order + "I", buf, pos)
        pos += 4
        for _ in range(count):
            pos = read_points(pos) if base == 3 else _read(buf, pos, out)
        return pos
    raise ValueError(f"Unsupported WKB geometry type {code}; segmentize curved geometries first.")
