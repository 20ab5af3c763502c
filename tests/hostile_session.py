"""One long-lived QGIS process: every hostile case of issue 23 in a row, then a normal import.

Run by ``tests/test_hostile_session.py`` as ``python -m tests.hostile_session FOLDER`` from the
repository; prints one JSON line ``{"cases": {name: "ok" | error}, "normal": {...}}`` and exits 0 only
when every case passed, the normal import afterwards is right and QGIS shut down cleanly.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def start_qgis(folder: Path):
    """QGIS, Processing and the plugin (importable as ``social_resilience``), as the tests have them."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    plugins = folder / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    link = plugins / "social_resilience"
    if not link.exists():
        link.symlink_to(REPO, target_is_directory=True)
    sys.path.insert(0, str(plugins))
    sys.path.append("/usr/share/qgis/python/plugins")
    from qgis.core import QgsApplication

    app = QgsApplication([], False)
    app.initQgis()
    from processing.core.Processing import Processing

    Processing.initialize()
    import social_resilience

    plugin = social_resilience.classFactory(None)
    plugin.initProcessing()
    return app, plugin


def run_cases(folder: Path, server) -> dict[str, str]:
    """Every hostile case, each in its own folder; "ok" or the failure."""
    from tests.hostile_cases import HOSTILE_CASES

    outcomes = {}
    for case in HOSTILE_CASES:
        where = folder / case.__name__
        where.mkdir()
        try:
            case(where, server)
            outcomes[case.__name__] = "ok"
        except BaseException as error:  # reported; the session goes on
            outcomes[case.__name__] = "".join(traceback.format_exception_only(type(error), error)).strip()[:2000]
    return outcomes


def normal_import(folder: Path, server) -> dict:
    """The import still works as it should: the whole generated feed, into a GeoPackage and an archive."""
    import processing

    from tests.sensor_http_server import STA_PREFIX

    feed = server.sta
    result = processing.run("socialresilience:importsensorfeed", {
        "SOURCE": server.url(STA_PREFIX), "ARCHIVE": str(folder / "normal_archive.gpkg"),
        "OUTPUT_STATIONS": str(folder / "normal.gpkg"),
        "OUTPUT_OBSERVATIONS": f"ogr:dbname='{folder / 'normal.gpkg'}' table=\"observations\" (geom)"})
    expected = feed.things * feed.streams * feed.observations
    return {"n_observations": result["N_OBSERVATIONS"], "n_new": result["N_NEW"], "complete": result["COMPLETE"],
            "expected": expected, "stations": result["N_STATIONS"], "things": feed.things}


def main(folder: Path) -> int:
    app, plugin = start_qgis(folder)
    from tests.sensor_http_server import SensorHttpServer, StaFeed

    with SensorHttpServer(lifetime=900, sta=StaFeed(things=2, streams=2, observations=300)) as server:
        (folder / "cases").mkdir()
        cases = run_cases(folder / "cases", server)
        normal = normal_import(folder, server)
    print(json.dumps({"cases": cases, "normal": normal, "pid": os.getpid()}), flush=True)
    ok = all(outcome == "ok" for outcome in cases.values()) and normal["n_observations"] == normal["expected"] == \
        normal["n_new"] and normal["complete"] == 1
    del plugin
    app.exitQgis()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
