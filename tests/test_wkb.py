"""core.wkb: the one WKB reader of the catchments and the spatial weights."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from shapely import wkb as shapely_wkb
from shapely.geometry import GeometryCollection, LineString, MultiPolygon, Point, Polygon
from social_resilience.core.wkb import vertex_arrays


def test_lines_rings_parts_and_z_in_both_byte_orders():
    square = [(0, 0), (2, 0), (2, 2), (0, 2), (0, 0)]
    hole = [(0.5, 0.5), (1, 0.5), (1, 1), (0.5, 0.5)]
    geometry = GeometryCollection([
        Point(9, 9),
        LineString([(0, 0, 5), (3, 4, 6)]),
        MultiPolygon([Polygon(square, [hole]), Polygon([(5, 5), (6, 5), (6, 6), (5, 5)])]),
    ])
    arrays = vertex_arrays(shapely_wkb.dumps(geometry))
    assert [len(a) for a in arrays] == [2, 5, 4, 4]
    assert all(a.shape[1] == 2 for a in arrays)
    np.testing.assert_array_equal(arrays[0], [[0, 0], [3, 4]])
    np.testing.assert_array_equal(arrays[2][1], [1, 0.5])


def test_big_endian_iso_linestring_z():
    points = [(1.0, 2.0, 9.0), (3.0, 4.0, 9.0)]
    wkb = b"\x00" + struct.pack(">II", 1002, len(points)) + b"".join(struct.pack(">3d", *p) for p in points)
    np.testing.assert_array_equal(vertex_arrays(wkb)[0], [[1, 2], [3, 4]])


def test_ewkb_with_srid_and_empty_input():
    line = LineString([(1, 2), (3, 4)])
    arrays = vertex_arrays(shapely_wkb.dumps(line, srid=25832))
    np.testing.assert_array_equal(arrays[0], [[1, 2], [3, 4]])
    assert vertex_arrays(b"") == []


def test_curves_are_refused():
    circular_string = bytes([1]) + (8).to_bytes(4, "little") + (0).to_bytes(4, "little")
    with pytest.raises(ValueError, match="segmentize"):
        vertex_arrays(circular_string)
