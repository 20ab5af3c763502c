"""The synthetic sample town: layout, buildings, districts, sensors."""
