"""Hotspot algorithms."""
