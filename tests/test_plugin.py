"""The plugin shell: load and unload in the GUI and without iface, metadata."""

from __future__ import annotations

import configparser

from qgis.core import QgsApplication

from .conftest import REPO

ALGORITHM_IDS = {
    "createsampletown",
}


def test_metadata_is_complete():
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(REPO / "metadata.txt", encoding="utf-8")
    general = parser["general"]
    assert general["name"] == "Social Resilience Toolkit"
    assert general["qgisMinimumVersion"] == "3.22"
    assert general["hasProcessingProvider"] == "yes"
    assert general["supportsQt6"] == "True"
    for key in ("about", "tags", "homepage", "tracker", "repository", "version", "author", "email"):
        assert general[key].strip(), key
    assert (REPO / general["icon"]).is_file()


def test_provider_lists_the_algorithms(provider):
    registered = QgsApplication.processingRegistry().providerById("socialresilience")
    assert registered is provider
    names = {alg.name() for alg in provider.algorithms()}
    assert names >= ALGORITHM_IDS
    for alg in provider.algorithms():
        assert alg.displayName()
        assert alg.group()
        assert alg.shortHelpString()
        assert alg.createInstance().name() == alg.name()


def test_gui_load_and_unload(plugin, qgis_iface):
    plugin.initGui()
    try:
        assert len(plugin.actions) == len(plugin.provider.algorithms())
        assert all(a.objectName().startswith("socialresilience_") for a in plugin.actions)
        assert len(plugin.toolbar.actions()) == 1  # one button whose menu holds the tools and the dock
        assert plugin.menu.actions()[: len(plugin.actions)] == plugin.actions
        assert plugin.live_dock.toggleViewAction() in plugin.menu.actions()
        assert plugin.live_dock is not None
        assert plugin.live_dock.toggleViewAction() is not None
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
