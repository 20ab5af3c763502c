"""Sensor feeds: a common model, one parser per format, fetching and the archive."""
