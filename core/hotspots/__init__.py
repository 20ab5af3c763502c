"""Hotspot statistics: composite index, spatial weights, local statistics, observation statistics."""
