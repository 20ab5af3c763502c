"""Configuration of one live sensor feed, thresholds by pollutant, and its JSON form."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from ..sensors.formats import feed_format

TRANSPORTS = ("http", "mqtt")


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:  # noqa: N802 (marks text for the translation collector)
    """Return ``text`` unchanged; the GUI translates it in ``context``."""
    return text
CONFIG_VERSION = 1


@dataclass(frozen=True)
class ThresholdPreset:
    """Warn and alert limits of one pollutant with the guideline they come from."""

    key: str
    label: str
    unit: str
    warn: float
    alert: float
    source: str


#: Defaults from WHO 2021 air-quality guidelines, EU Directive 2008/50/EC, WHO 2018 noise
#: guidelines and the DWD heat warning (perceived temperature).
THRESHOLD_PRESETS = {
    "no2": ThresholdPreset("no2", QT_TRANSLATE_NOOP("feed_config", "NO₂"), "µg/m³", 25.0, 40.0, QT_TRANSLATE_NOOP(
        "feed_config", "WHO 2021 24-h guideline 25; EU annual limit 40")),
    "pm25": ThresholdPreset("pm25", QT_TRANSLATE_NOOP("feed_config", "PM2.5"), "µg/m³", 15.0, 25.0, QT_TRANSLATE_NOOP(
        "feed_config", "WHO 2021 24-h guideline 15; EU annual limit 25")),
    "pm10": ThresholdPreset("pm10", QT_TRANSLATE_NOOP("feed_config", "PM10"), "µg/m³", 45.0, 50.0, QT_TRANSLATE_NOOP(
        "feed_config", "WHO 2021 24-h guideline 45; EU daily limit 50")),
    "noise": ThresholdPreset("noise", QT_TRANSLATE_NOOP("feed_config", "Noise"), "dB(A)", 53.0, 65.0,
                             QT_TRANSLATE_NOOP("feed_config",
                                               "WHO 2018 road traffic Lden 53; noise action planning Lden 65")),
    "temperature": ThresholdPreset("temperature", QT_TRANSLATE_NOOP("feed_config", "Heat"), "°C", 32.0, 38.0,
                                   QT_TRANSLATE_NOOP("feed_config",
                                                     "DWD heat warning: strong 32 °C, extreme 38 °C (perceived)")),
}

_PROPERTY_PATTERNS = (
    ("pm25", re.compile(r"pm\s*2[._,]?5|^(sds_)?p2$|feinstaub.*2[.,]5")),
    ("pm10", re.compile(r"pm\s*10|^(sds_)?p1$|feinstaub.*10")),
    ("no2", re.compile(r"\bno2\b|no₂|stickstoffdioxid|nitrogen dioxide")),
    ("noise", re.compile(r"noise|l[aä]rm|\blaeq|\blden|schall")),
    ("temperature", re.compile(r"temp|lufttemperatur")),
)


def pollutant_key(property_name: str) -> str | None:
    """Key of :data:`THRESHOLD_PRESETS` a property name refers to (``PM2.5``, ``P2``, ``NO2``...)."""
    text = property_name.strip().lower()
    for key, pattern in _PROPERTY_PATTERNS:
        if pattern.search(text):
            return key
    return None


@dataclass
class Thresholds:
    """Values at or above ``warn`` are "warn", at or above ``alert`` "alert" (None: no limit)."""

    warn: float | None = None
    alert: float | None = None

    def classify(self, value: float) -> str:
        """``ok``, ``warn`` or ``alert`` for a value."""
        if self.alert is not None and value >= self.alert:
            return "alert"
        if self.warn is not None and value >= self.warn:
            return "warn"
        return "ok"


def default_thresholds(property_name: str) -> Thresholds:
    """Guideline thresholds for a property, empty when the property is not a known pollutant."""
    key = pollutant_key(property_name)
    if key is None:
        return Thresholds()
    preset = THRESHOLD_PRESETS[key]
    return Thresholds(preset.warn, preset.alert)


@dataclass
class FeedConfig:
    """One live feed: where it comes from, how often, what to show and how to judge it.

    ``transport`` is ``http`` (polled every ``refresh_s``) or ``mqtt`` (``mqtt_host``,
    ``mqtt_port``, ``mqtt_topic``; TTN v3 and ChirpStack v4 only). A value is stale when it
    is older than ``stale_after`` refresh intervals. Credentials only by ``authcfg``.
    """

    name: str
    format: int
    url: str = ""
    transport: str = "http"
    mqtt_host: str = ""
    mqtt_port: int = 1883
    mqtt_topic: str = ""
    mqtt_tls: bool = False
    refresh_s: int = 0
    property: str = ""
    thresholds: Thresholds | None = None
    authcfg: str = ""
    stale_after: int = 3
    archive_path: str = ""
    enabled: bool = True
    feed_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def __post_init__(self) -> None:
        fmt = feed_format(self.format)
        if self.refresh_s <= 0:
            self.refresh_s = fmt.refresh_s if fmt is not None else 300
        if self.thresholds is None:
            self.thresholds = default_thresholds(self.property)
        if self.transport == "mqtt" and not self.mqtt_topic:
            self.mqtt_topic = fmt.mqtt_topic if fmt is not None else ""

    def stale_seconds(self) -> float:
        """Return the age in seconds after which a value counts as stale."""
        return float(self.stale_after * self.refresh_s)

    def problems(self) -> list[str]:
        """List what is wrong with this configuration (empty when usable; the GUI translates the texts)."""
        found = []
        if not self.name.strip():
            found.append(QT_TRANSLATE_NOOP("feed_config", "The feed needs a name."))
        fmt = feed_format(self.format)
        if fmt is None:
            found.append(QT_TRANSLATE_NOOP("feed_config", "Unknown format: use 0-5."))
        if self.transport not in TRANSPORTS:
            found.append(QT_TRANSLATE_NOOP("feed_config", "Unknown connection: use http or mqtt."))
        elif self.transport == "http" and not self.url.strip():
            found.append(QT_TRANSLATE_NOOP("feed_config", "An HTTP feed needs a URL."))
        elif self.transport == "mqtt":
            if fmt is None or not fmt.supports_mqtt:
                found.append(
                    QT_TRANSLATE_NOOP(
                        "feed_config", "MQTT is available for The Things Network v3 and ChirpStack v4 only."
                    )
                )
            if not self.mqtt_host.strip() or not self.mqtt_topic.strip():
                found.append(QT_TRANSLATE_NOOP("feed_config", "An MQTT feed needs a broker host and a topic."))
            if not 0 < self.mqtt_port < 65536:
                found.append(QT_TRANSLATE_NOOP("feed_config", "The MQTT port must be between 1 and 65535."))
        if self.refresh_s < 5:
            found.append(QT_TRANSLATE_NOOP("feed_config", "The refresh interval must be at least 5 seconds."))
        if self.stale_after < 1:
            found.append(QT_TRANSLATE_NOOP("feed_config", "Stale after must be at least one interval."))
        th = self.thresholds
        if th is not None and th.warn is not None and th.alert is not None and th.warn > th.alert:
            found.append(QT_TRANSLATE_NOOP("feed_config", "The warn threshold must not be above the alert threshold."))
        return found

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeedConfig:
        """Build a configuration from :meth:`to_dict` output; unknown keys are ignored."""
        if not isinstance(data, dict) or "name" not in data or "format" not in data:
            raise ValueError("A feed needs at least 'name' and 'format'.")
        known = {name for name in cls.__dataclass_fields__}
        values = {key: value for key, value in data.items() if key in known}
        thresholds = values.pop("thresholds", None)
        if isinstance(thresholds, dict):
            values["thresholds"] = Thresholds(_opt_float(thresholds.get("warn")), _opt_float(thresholds.get("alert")))
        values["format"] = int(values["format"])
        for key in ("mqtt_port", "refresh_s", "stale_after"):
            if key in values:
                values[key] = int(values[key])
        return cls(**values)


def _opt_float(value: Any) -> float | None:
    return None if value is None or value == "" else float(value)


def feeds_to_json(feeds: list[FeedConfig]) -> str:
    """JSON text of a list of feeds (the form saved in projects and exported to files)."""
    return json.dumps({"version": CONFIG_VERSION, "feeds": [f.to_dict() for f in feeds]}, ensure_ascii=False, indent=1)


def feeds_from_json(text: str) -> list[FeedConfig]:
    """Read feeds from :func:`feeds_to_json` text; raise ``ValueError`` with the reason when invalid."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"Not a feed list (invalid JSON: {err.msg}, line {err.lineno}).") from err
    if not isinstance(data, dict) or not isinstance(data.get("feeds"), list):
        raise ValueError("Not a feed list: expected an object with a 'feeds' list.")
    if int(data.get("version", CONFIG_VERSION)) > CONFIG_VERSION:
        raise ValueError(f"Feed list version {data['version']} is newer than this plugin understands.")
    try:
        return [FeedConfig.from_dict(item) for item in data["feeds"]]
    except (TypeError, ValueError) as err:
        raise ValueError(f"Invalid feed in the list: {err}") from err
