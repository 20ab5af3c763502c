"""Sensor algorithms: import, quality control, aggregation, and the one fetch path."""
