"""Pure-Python core (numpy, scipy): no qgis.gui, mostly no qgis at all."""
