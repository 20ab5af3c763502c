"""Test set-up: the plugin importable as ``social_resilience`` and its provider registered.

The provider is registered the way qgis_process does it: ``classFactory(iface).initProcessing()``,
keeping a reference to the plugin object for the whole session.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from .postgis_fixtures import pg, pg_qgis_process, pg_qgis_process_authcfg, postgis  # noqa: F401 (PostgreSQL fixtures)

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO / "tests" / "data"
PLUGIN_NAME = "social_resilience"

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# A folder that holds the plugin under its installed name, whatever the checkout is called.
PLUGIN_PARENT = Path(tempfile.mkdtemp(prefix="srt_plugins_"))
atexit.register(shutil.rmtree, PLUGIN_PARENT, ignore_errors=True)
(PLUGIN_PARENT / PLUGIN_NAME).symlink_to(REPO, target_is_directory=True)
sys.path.insert(0, str(PLUGIN_PARENT))


def shared_data(*parts: str) -> Path:
    """Path of a reference data file in tests/data, skipping the test (with the reason) when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference data not available: {path}")
    return path


def libpysal_example(*parts: str) -> Path:
    """Path of a data set shipped with libpysal, skipping the test (with the reason) when absent.

    Debian 12's python3-libpysal ships the example data sets; Debian 13's ships without them.
    """
    libpysal = pytest.importorskip("libpysal")
    path = Path(libpysal.__file__).parent.joinpath("examples", *parts)
    if not path.exists():
        pytest.skip(f"this libpysal ships without its example data: {path}")
    return path


@pytest.fixture(scope="session")
def layer_tree_view(qgis_iface):
    """A real layer tree view on the project's tree as ``iface.layerTreeView()``.

    QGIS 3.44's ``processing.runAndLoadResults`` hands it to C++, which refuses pytest-qgis's
    MagicMock. Emptied and dropped at the end of the session, before QGIS shuts down.
    """
    from qgis.core import QgsLayerTreeModel, QgsProject
    from qgis.gui import QgsLayerTreeView

    view = QgsLayerTreeView()
    model = QgsLayerTreeModel(QgsProject.instance().layerTreeRoot(), view)
    view.setModel(model)
    qgis_iface.layerTreeView = lambda: view
    yield view
    del qgis_iface.layerTreeView
    view.setModel(None)
    model.deleteLater()
    view.deleteLater()


@pytest.fixture(scope="session")
def plugin(qgis_iface, qgis_processing, layer_tree_view):
    """The plugin object with its provider registered (kept alive for the session)."""
    import social_resilience

    instance = social_resilience.classFactory(qgis_iface)
    instance.initProcessing()
    return instance


@pytest.fixture
def provider(plugin):
    """The registered ``socialresilience`` provider (re-registered if a test unloaded it)."""
    plugin.initProcessing()
    return plugin.provider


@pytest.fixture(scope="session")
def sample_town(plugin, tmp_path_factory) -> Path:
    """The sample town GeoPackage (seed 42, 2 km), created once per session."""
    import processing

    plugin.initProcessing()
    path = tmp_path_factory.mktemp("town") / "sample_town.gpkg"
    processing.run("socialresilience:createsampletown", {"SEED": 42, "SIZE_KM": 2.0, "OUTPUT": str(path)})
    return path


@pytest.fixture(scope="session")
def plugin_parent() -> Path:
    """Folder for ``QGIS_PLUGINPATH`` holding the plugin as ``social_resilience``."""
    return PLUGIN_PARENT


@pytest.fixture(scope="session")
def qgis_process(tmp_path_factory, plugin_parent):
    """qgis_process with the plugin enabled in a throwaway profile."""
    from .qgis_process_runner import QgisProcess

    return QgisProcess(tmp_path_factory.mktemp("qgis_home"), plugin_parent)


@pytest.fixture(scope="session")
def thirdparty_sta(tmp_path_factory):
    """django-ogc-sensorthings 1.2.0 (PyPI) on 127.0.0.1, seeded with tests/sta_thirdparty/dataset.py."""
    from .sta_thirdparty.server import ThirdPartySta

    with ThirdPartySta(tmp_path_factory.mktemp("sta_thirdparty")) as server:
        yield server
