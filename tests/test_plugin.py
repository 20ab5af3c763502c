"""The plugin shell: load and unload in the GUI and without iface, metadata."""

from __future__ import annotations

import configparser

from qgis.core import QgsApplication

from .conftest import REPO

#: Every algorithm of the provider, in the order of the plugin menu (the order of the workflow).
MENU_ORDER = [
    "createsampletown",
    "osmwalknetwork",
    "greenspacecatchments",
    "greenequity",
    "accessimprovements",
    "rule33030",
    "facilityaccess",
    "importsensorfeed",
    "sensorqualitycontrol",
    "aggregateobservations",
    "hotspotscore",
    "localhotspots",
    "emerginghotspots",
    "report",
]
#: The shipped workflows (graphical models): in the toolbox, not in the plugin menu.
WORKFLOWS = ["greenaccessworkflow", "sensorhotspotworkflow"]


def test_metadata_is_complete():
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(REPO / "metadata.txt", encoding="utf-8")
    general = parser["general"]
    assert general["name"] == "Social Resilience Toolkit"
    assert general["qgisMinimumVersion"] == "3.22"
    assert general["hasProcessingProvider"] == "yes"
    # QGIS 4 (Qt6): one code base, run under real PyQt6 by tests/test_pyqt6_check.py; no maximum would read as 3.99.
    assert general["qgisMaximumVersion"] == "4.99"
    assert general["supportsQt6"] == "True"
    assert general["version"] == "0.2.0"
    changelog = general["changelog"].splitlines()
    assert changelog[0] == general["version"]  # the newest entry first, as the plugin manager shows it
    assert any("equity" in line for line in changelog)
    for key in ("about", "tags", "homepage", "tracker", "repository", "version", "author", "email"):
        assert general[key].strip(), key
    assert (REPO / general["icon"]).is_file()


def test_provider_lists_the_algorithms(provider):
    registered = QgsApplication.processingRegistry().providerById("socialresilience")
    assert registered is provider
    names = sorted(alg.name() for alg in provider.algorithms())
    assert names == sorted(MENU_ORDER + WORKFLOWS)
    for alg in provider.algorithms():
        assert alg.displayName()
        assert alg.group()
        assert alg.shortHelpString()
        assert alg.createInstance().name() == alg.name()


def test_gui_load_and_unload(plugin, qgis_iface):
    plugin.initGui()
    try:
        assert [a.objectName() for a in plugin.actions] == [f"socialresilience_{name}" for name in MENU_ORDER]
        assert len(plugin.toolbar.actions()) == 1  # one button whose menu holds the tools and the dock
        assert plugin.menu.actions()[: len(plugin.actions)] == plugin.actions
        assert plugin.menu.actions()[-1] is plugin.live_dock.toggleViewAction()
        assert plugin.live_dock.windowTitle()
    finally:
        plugin.unload()
    assert plugin.live_dock is None
    assert QgsApplication.processingRegistry().providerById("socialresilience") is None
    assert plugin.actions == []
    assert plugin.toolbar is None
    assert plugin.menu is None
    plugin.initProcessing()  # restore the provider for the other tests
    assert QgsApplication.processingRegistry().providerById("socialresilience") is plugin.provider


def test_without_iface_nothing_touches_it(provider):
    import social_resilience

    instance = social_resilience.classFactory(None)
    assert instance.iface is None
    instance.unload()  # nothing registered yet: must not fail
    assert QgsApplication.processingRegistry().providerById("socialresilience") is provider
