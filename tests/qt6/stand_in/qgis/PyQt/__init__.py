"""``qgis.PyQt`` of QGIS 4: each module re-exports the real PyQt6 module of the same name."""
