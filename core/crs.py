"""Choice of a metric CRS for data in geographic coordinates."""

from __future__ import annotations


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the ETRS89/WGS 84 UTM zone containing ``(lon, lat)``.

    In Europe (ETRS89 zones 28-38 between 34°N and 72°N) the ETRS89 code (258zz) is
    returned, as German authorities use; elsewhere WGS 84 / UTM (326zz north, 327zz south).
    """
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise ValueError(f"Not a longitude/latitude: {lon}, {lat}")
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    if 34.0 <= lat <= 72.0 and 28 <= zone <= 38:
        return 25800 + zone
    return (32600 if lat >= 0 else 32700) + zone
