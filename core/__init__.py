"""Pure-Python core (numpy, scipy, optional networkx): no qgis.gui, mostly no qgis at all."""
