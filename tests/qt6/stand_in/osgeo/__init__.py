"""Stand-in for GDAL's ``osgeo`` (no Qt in it): ``gdal`` and ``ogr`` with generic members."""
