"""One QGIS session for the benchmarks: application, Processing and the plugin's provider."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def import_plugin():
    """The plugin importable as ``social_resilience`` (as the tests do it), whatever the checkout is called."""
    if "social_resilience" not in sys.modules:
        parent = Path(tempfile.mkdtemp(prefix="srt_bench_"))
        (parent / "social_resilience").symlink_to(REPO, target_is_directory=True)
        sys.path.insert(0, str(parent))
    import social_resilience

    return social_resilience


def start_qgis():
    """QGIS application, Processing and the plugin with its provider (keep both alive for the run)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.core import QgsApplication

    app = QgsApplication([], False)
    app.initQgis()
    sys.path.append("/usr/share/qgis/python/plugins")
    from processing.core.Processing import Processing

    Processing.initialize()
    plugin = import_plugin().classFactory(None)
    plugin.initProcessing()
    return app, plugin
