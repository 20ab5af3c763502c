"""Green access: walking graph, barrier sides, access points, catchment polygons, OSM tags."""
