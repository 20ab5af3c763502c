"""The feed formats of ``socialresilience:importsensorfeed`` (FORMAT 1..5) and their parsers.

FORMAT 0 (OGC SensorThings API) is paged and fetched by the importer, so it has no entry here.
Every parser is ``parse(text, source) -> FeedResult`` (csv_feed also takes an optional
``CsvMapping``) and raises ``FeedFormatError`` on malformed input.
"""

from __future__ import annotations

from typing import Callable

from . import chirpstack, csv_feed, opensensemap, sensor_community, ttn
from .model import FeedResult

OPENSENSEMAP = 1
SENSOR_COMMUNITY = 2
TTN_V3 = 3
CHIRPSTACK_V4 = 4
CSV = 5

FORMAT_PARSERS: dict[int, Callable[..., FeedResult]] = {
    OPENSENSEMAP: opensensemap.parse,
    SENSOR_COMMUNITY: sensor_community.parse,
    TTN_V3: ttn.parse,
    CHIRPSTACK_V4: chirpstack.parse,
    CSV: csv_feed.parse,
}

# Most specific first: CSV accepts almost any table, so it is asked last.
FORMAT_DETECTORS: dict[int, Callable[[str], bool]] = {
    TTN_V3: ttn.detect,
    CHIRPSTACK_V4: chirpstack.detect,
    SENSOR_COMMUNITY: sensor_community.detect,
    OPENSENSEMAP: opensensemap.detect,
    CSV: csv_feed.detect,
}


def detect_format(text: str) -> int | None:
    """Return the FORMAT number whose parser recognises ``text``, or None."""
    return next((number for number, detect in FORMAT_DETECTORS.items() if detect(text)), None)
