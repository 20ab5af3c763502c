"""The feed formats: one table from which the importer, the algorithm, the live dock and its dialog read.

A format's ``number`` is the ``FORMAT`` enum value of ``socialresilience:importsensorfeed``
(models and saved live feeds store it), so numbers never change and new formats go at the end.
``name`` is the English enum label and ``hint`` the live dialog's help; both are translated in
the context ``feed_formats`` (``QCoreApplication.translate("feed_formats", fmt.name)``).

Every parser is ``parse(text, source) -> FeedResult`` (csv_feed also takes an optional
``CsvMapping``) and raises ``FeedFormatError`` on malformed input. SensorThings has no parser:
it is paged, so the importer crawls it and the live dock asks for the latest values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import chirpstack, csv_feed, opensensemap, sensor_community, ttn
from .model import FeedResult


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:  # noqa: N802 (Qt name, found by build_translations)
    """Return ``text`` unchanged; the GUI translates it in ``context``."""
    return text


@dataclass(frozen=True)
class FeedFormat:
    """One feed format and what each part of the plugin needs to know about it."""

    number: int  #: FORMAT enum value (never renumbered)
    name: str  #: English label (translated in context ``feed_formats``)
    parser: Callable[..., FeedResult] | None  #: one document -> FeedResult; None: paged (SensorThings)
    detector: Callable[[str], bool] | None = None  #: recognises a document of this format
    detect_rank: int = 0  #: detectors are asked in increasing rank (the most specific first)
    mqtt_topic: str = ""  #: default MQTT uplink topic filter ("" = no MQTT); ``+`` before the last level is the device
    refresh_s: int = 300  #: default live refresh interval in seconds
    hint: str = ""  #: what to enter as the live feed's source (translated in context ``feed_formats``)
    supports_history: bool = False  #: the server gives a station's recent values (chart without archive)
    takes_mapping: bool = False  #: the parser takes a ``CsvMapping`` as third argument

    @property
    def paged(self) -> bool:
        """Whether the feed is crawled page by page instead of parsed as one document."""
        return self.parser is None

    @property
    def supports_mqtt(self) -> bool:
        """Whether the live dock can subscribe to the format's MQTT uplinks."""
        return bool(self.mqtt_topic)


FEED_FORMATS: tuple[FeedFormat, ...] = (
    FeedFormat(
        0, QT_TRANSLATE_NOOP("feed_formats", "OGC SensorThings API"), None, refresh_s=60, supports_history=True,
        hint=QT_TRANSLATE_NOOP("feed_formats", "SensorThings: the service root (…/v1.1 or …/v2.0); the newest "
                               "observation of every Datastream and MultiDatastream component is read, pushed over "
                               "MQTT where the service offers it."),
    ),
    FeedFormat(
        1, QT_TRANSLATE_NOOP("feed_formats", "openSenseMap"), opensensemap.parse, opensensemap.detect, 4,
        hint=QT_TRANSLATE_NOOP("feed_formats", "openSenseMap: a box URL (…/boxes/<id>) or a boxes query; "
                               "lastMeasurement is shown."),
    ),
    FeedFormat(
        2, QT_TRANSLATE_NOOP("feed_formats", "Sensor.Community"), sensor_community.parse, sensor_community.detect, 3,
        hint=QT_TRANSLATE_NOOP("feed_formats", "Sensor.Community: e.g. "
                               "https://data.sensor.community/airrohr/v1/filter/area=51.31,9.49,10"),
    ),
    FeedFormat(
        3, QT_TRANSLATE_NOOP("feed_formats", "The Things Network v3 (JSON/NDJSON)"), ttn.parse, ttn.detect, 1,
        mqtt_topic="v3/+/devices/+/up",
        hint=QT_TRANSLATE_NOOP("feed_formats", "The Things Network v3: MQTT v3/<app>@<tenant>/devices/+/up, "
                               "or the Storage Integration URL."),
    ),
    FeedFormat(
        4, QT_TRANSLATE_NOOP("feed_formats", "ChirpStack v4"), chirpstack.parse, chirpstack.detect, 2,
        mqtt_topic="application/+/device/+/event/up",
        hint=QT_TRANSLATE_NOOP("feed_formats", "ChirpStack v4: MQTT application/<id>/device/+/event/up."),
    ),
    # CSV accepts almost any table, so it is asked last.
    FeedFormat(
        5, QT_TRANSLATE_NOOP("feed_formats", "CSV"), csv_feed.parse, csv_feed.detect, 9, refresh_s=600,
        takes_mapping=True,
        hint=QT_TRANSLATE_NOOP("feed_formats", "CSV: a URL or file with station, time and value columns."),
    ),
)
SENSORTHINGS, OPENSENSEMAP, SENSOR_COMMUNITY, TTN, CHIRPSTACK, CSV = (fmt.number for fmt in FEED_FORMATS)
#: English labels by number (the FORMAT enum options; messages in English use them).
FORMAT_NAMES: tuple[str, ...] = tuple(fmt.name for fmt in FEED_FORMATS)
FORMAT_PARSERS: dict[int, Callable[..., FeedResult]] = {f.number: f.parser for f in FEED_FORMATS if f.parser}
_DETECTION_ORDER = sorted((f for f in FEED_FORMATS if f.detector), key=lambda f: f.detect_rank)


def feed_format(number: int) -> FeedFormat | None:
    """Return the format with FORMAT ``number``, None when there is none."""
    return FEED_FORMATS[number] if isinstance(number, int) and 0 <= number < len(FEED_FORMATS) else None


def detect_format(text: str) -> int | None:
    """Return the FORMAT number whose parser recognises ``text``, or None."""
    return next((fmt.number for fmt in _DETECTION_ORDER if fmt.detector(text)), None)

