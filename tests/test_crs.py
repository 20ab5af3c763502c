"""Metric CRS chosen for geographic data."""

from __future__ import annotations

import pytest
from qgis.core import QgsCoordinateReferenceSystem, QgsRectangle


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [(9.48, 51.31, 25832), (13.37, 52.51, 25833), (-0.12, 51.5, 25830), (-73.9, 40.7, 32618), (151.2, -33.9, 32756)],
)
def test_utm_zone(lon, lat, epsg):
    from social_resilience.core.crs import utm_epsg

    assert utm_epsg(lon, lat) == epsg


def test_utm_zone_rejects_projected_numbers():
    from social_resilience.core.crs import utm_epsg

    with pytest.raises(ValueError, match="longitude"):
        utm_epsg(530000.0, 5680000.0)


def test_metric_crs_keeps_projected_and_replaces_geographic(qgis_app):
    from social_resilience.algorithms.common import metric_crs

    kassel = QgsRectangle(9.4, 51.28, 9.55, 51.35)
    assert metric_crs(QgsCoordinateReferenceSystem("EPSG:4326"), kassel).authid() == "EPSG:25832"
    projected = QgsCoordinateReferenceSystem("EPSG:3035")
    assert metric_crs(projected, QgsRectangle(4e6, 3e6, 4.1e6, 3.1e6)) == projected
    web_mercator_extent = QgsRectangle(1.5e6, 6.7e6, 1.6e6, 6.8e6)
    assert metric_crs(QgsCoordinateReferenceSystem("EPSG:4258"), kassel).authid() == "EPSG:25832"
    assert not metric_crs(QgsCoordinateReferenceSystem("EPSG:3857"), web_mercator_extent).isGeographic()
