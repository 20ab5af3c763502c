"""Issue 23's hostile inputs, one test each (the table is ``tests/hostile_cases.py``).

Each case fails on the code before issue 23; ``test_hostile_session.py`` runs them all in one process.
"""

from __future__ import annotations

import pytest

from .hostile_cases import HOSTILE_CASES
from .sensor_http_server import SensorHttpServer, StaFeed


@pytest.fixture(scope="module")
def server():
    with SensorHttpServer(lifetime=600, sta=StaFeed(things=2, streams=2, observations=300)) as instance:
        yield instance


@pytest.mark.parametrize("hostile", HOSTILE_CASES, ids=[case.__name__ for case in HOSTILE_CASES])
def test_hostile_case(provider, server, tmp_path, hostile):
    hostile(tmp_path, server)


def test_through_qgis_process(qgis_process, tmp_path):
    """As a scheduled job passes them: TIMEOUT=nan is refused, /dev/zero ends at the size limit."""
    source = tmp_path / "ok.csv"
    source.write_text("station_id,time,value\ns,2024-05-01T10:00:00Z,1\n", encoding="utf-8")
    refused = qgis_process.run_algorithm_failing("socialresilience:importsensorfeed", {
        "FORMAT": 5, "SOURCE": source, "TIMEOUT": "nan", "OUTPUT_STATIONS": tmp_path / "s.gpkg",
        "OUTPUT_OBSERVATIONS": tmp_path / "o.gpkg"})
    assert refused.returncode != 0
    assert "TIMEOUT is nan, not a usable number" in refused.stdout + refused.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.csv"]
    report = qgis_process.run_algorithm("socialresilience:importsensorfeed", {
        "FORMAT": 5, "SOURCE": "/dev/zero", "MAX_RESPONSE_MB": 1, "OUTPUT_STATIONS": tmp_path / "s.gpkg",
        "OUTPUT_OBSERVATIONS": tmp_path / "o.gpkg"}, timeout=120)
    assert report["results"]["COMPLETE"] == 0
    assert report["results"]["N_OBSERVATIONS"] == 0
