"""Green access algorithms and their helpers."""
