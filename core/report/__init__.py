"""The report for decision makers: figures, words and HTML (pure Python, no QGIS)."""
