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
