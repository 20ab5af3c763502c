"""The Processing provider ``socialresilience``."""

from __future__ import annotations

import configparser

from qgis.core import QgsApplication, QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from .base import ICON_DIR, PLUGIN_DIR


def plugin_version() -> str:
    """Version from ``metadata.txt``."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(PLUGIN_DIR / "metadata.txt", encoding="utf-8")
    return parser.get("general", "version", fallback="0")


def algorithm_classes() -> list[type]:
    """Every algorithm class of the toolkit, imported here so a broken one is obvious."""
    from .green.access_improvements import AccessImprovementsAlgorithm
    from .green.facility_access import FacilityAccessAlgorithm
    from .green.green_equity import GreenEquityAlgorithm
    from .green.green_space_catchments import GreenSpaceCatchmentsAlgorithm
    from .green.osm_walk_network import OsmWalkNetworkAlgorithm
    from .green.rule_33030 import Rule33030Algorithm
    from .hotspots.emerging_hotspots import EmergingHotspotsAlgorithm
    from .hotspots.hotspot_score import HotspotScoreAlgorithm
    from .hotspots.local_hotspots import LocalHotspotsAlgorithm
    from .report.report import ReportAlgorithm
    from .sample_town.create_sample_town import CreateSampleTownAlgorithm
    from .sensors.aggregate_observations import AggregateObservationsAlgorithm
    from .sensors.import_sensor_feed import ImportSensorFeedAlgorithm
    from .sensors.sensor_quality_control import SensorQualityControlAlgorithm

    # The order of the workflow: it is the order of the plugin menu.
    return [
        CreateSampleTownAlgorithm,
        OsmWalkNetworkAlgorithm,
        GreenSpaceCatchmentsAlgorithm,
        GreenEquityAlgorithm,
        AccessImprovementsAlgorithm,
        Rule33030Algorithm,
        FacilityAccessAlgorithm,
        ImportSensorFeedAlgorithm,
        SensorQualityControlAlgorithm,
        AggregateObservationsAlgorithm,
        HotspotScoreAlgorithm,
        LocalHotspotsAlgorithm,
        EmergingHotspotsAlgorithm,
        ReportAlgorithm,
    ]


class SocialResilienceProvider(QgsProcessingProvider):
    """Provider of all Social Resilience Toolkit algorithms."""

    def id(self) -> str:  # noqa: D102
        return "socialresilience"

    def name(self) -> str:  # noqa: D102
        return "Social Resilience Toolkit"

    def longName(self) -> str:  # noqa: N802, D102
        return f"Social Resilience Toolkit {self.versionInfo()}"

    def versionInfo(self) -> str:  # noqa: N802, D102
        return plugin_version()

    def icon(self) -> QIcon:  # noqa: D102
        return QIcon(str(ICON_DIR / "icon.svg"))

    def svgIconPath(self) -> str:  # noqa: N802, D102
        return str(ICON_DIR / "icon.svg")

    def loadAlgorithms(self) -> None:  # noqa: N802, D102
        for cls in algorithm_classes():
            self.addAlgorithm(cls())
        # A workflow finds its steps in the registry: it is added once the provider is registered
        # (the plugin refreshes the provider after adding it).
        if QgsApplication.processingRegistry().providerById(self.id()) is not None:
            from .report.workflows import workflow_algorithms

            for workflow in workflow_algorithms():
                self.addAlgorithm(workflow)
