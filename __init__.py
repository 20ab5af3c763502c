"""Social Resilience Toolkit: QGIS plugin entry point."""


def classFactory(iface):  # noqa: N802 (QGIS API name)
    """Return the plugin instance; QGIS calls this with ``iface`` (None under qgis_process)."""
    from .plugin import SocialResiliencePlugin

    return SocialResiliencePlugin(iface)
