"""Configuration of one live sensor feed, thresholds by pollutant, and its JSON form."""

from __future__ import annotations

import json
import math
import re
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from ..sensors.fetch import is_secret
from ..sensors.formats import feed_format

TRANSPORTS = ("http", "mqtt")


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:  # noqa: N802 (marks text for the translation collector)
    """Return ``text`` unchanged; the GUI translates it in ``context``."""
    return text
CONFIG_VERSION = 1
#: Shortest refresh interval (seconds); a saved or imported feed with less is raised to it.
MIN_REFRESH_S = 5
#: The value a secret query parameter has in a saved URL (the secret is in the authentication configuration).
SECRET_PLACE = "***"


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
    is older than ``stale_after`` refresh intervals. Credentials only by ``authcfg``: a URL with a
    password or a secret query value is saved without it (``split_secrets``).
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
    archive_connection: str = ""  #: a QGIS PostgreSQL connection: archive there instead of ``archive_path``
    archive_schema: str = "sensors"
    enabled: bool = True
    feed_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    repaired: list[str] = field(default_factory=list, compare=False, repr=False)  #: what ``from_dict`` changed

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
        if self.refresh_s < MIN_REFRESH_S:
            found.append(QT_TRANSLATE_NOOP("feed_config", "The refresh interval must be at least 5 seconds."))
        if self.stale_after < 1:
            found.append(QT_TRANSLATE_NOOP("feed_config", "Stale after must be at least one interval."))
        th = self.thresholds
        if th is not None and th.warn is not None and th.alert is not None and th.warn > th.alert:
            found.append(QT_TRANSLATE_NOOP("feed_config", "The warn threshold must not be above the alert threshold."))
        if self.archive_path.strip() and self.archive_connection.strip():
            found.append(
                QT_TRANSLATE_NOOP("feed_config", "Choose one archive: a GeoPackage or a PostgreSQL connection.")
            )
        return found

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary (the URL as given, secrets included: see ``feeds_to_json``)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeedConfig:
        """Build a configuration from :meth:`to_dict` output; unknown keys are ignored.

        Every value is checked: ValueError names a missing name or format, a format that does not
        exist, or a number that is not one (``1e400``, text); a refresh below ``MIN_REFRESH_S`` is raised
        to it and a stale count below 1 to 1 (``repaired`` lists what was changed).
        """
        if not isinstance(data, dict) or "name" not in data or "format" not in data:
            raise ValueError("A feed needs at least 'name' and 'format'.")
        known = {name for name in cls.__dataclass_fields__}
        values = {key: value for key, value in data.items() if key in known}
        thresholds = values.pop("thresholds", None)
        if isinstance(thresholds, dict):
            values["thresholds"] = Thresholds(_opt_float(thresholds.get("warn")), _opt_float(thresholds.get("alert")))
        for key in ("name", "url", "transport", "mqtt_host", "mqtt_topic", "property", "authcfg", "archive_path",
                    "feed_id"):
            if key in values:
                values[key] = "" if values[key] is None else str(values[key])
        for key in ("mqtt_tls", "enabled"):
            if key in values:
                values[key] = values[key] is True or str(values[key]).lower() in ("1", "true", "yes")
        values["format"] = _whole(values["format"], "format")
        if feed_format(values["format"]) is None:
            raise ValueError(f"format {values['format']} does not exist; use 0-5")
        for key in ("mqtt_port", "refresh_s", "stale_after"):
            if key in values:
                values[key] = _whole(values[key], key)
        config = cls(**values)
        config.repaired = config._repair()
        return config

    def _repair(self) -> list[str]:
        """Raise a refresh under ``MIN_REFRESH_S`` and a stale count under 1; say what was changed."""
        changed = []
        if self.refresh_s < MIN_REFRESH_S:
            changed.append(f"{self.name}: refresh every {self.refresh_s} s is below the minimum; "
                           f"{MIN_REFRESH_S} s is used")
            self.refresh_s = MIN_REFRESH_S
        if self.stale_after < 1:
            self.stale_after = 1
        return changed


def _whole(value: Any, name: str) -> int:
    """``value`` as a whole number; ValueError naming ``name`` for text, NaN, infinity (``1e400``) or fractions."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{name} must be a whole number, not {str(value)[:40]!r}")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise ValueError(f"{name} must be a whole number, not {str(value)[:40]!r}") from None
    if not math.isfinite(number) or number != int(number):
        raise ValueError(f"{name} must be a whole number, not {str(value)[:40]}")
    return int(number)


def _opt_float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"a threshold must be a number, not {value}")
    return number


def feeds_to_json(feeds: list[FeedConfig]) -> str:
    """JSON text of a list of feeds (the form saved in projects and exported to files).

    Never a secret: the URL is stored without user, password and secret query values (they belong in
    a QGIS authentication configuration, ``authcfg``; see ``split_secrets``).
    """
    items = []
    for feed in feeds:
        item = feed.to_dict()
        item["url"] = split_secrets(feed.url)[0]
        item.pop("repaired", None)
        items.append(item)
    return json.dumps({"version": CONFIG_VERSION, "feeds": items}, ensure_ascii=False, indent=1)


def feeds_from_json(text: str, problems: list[str] | None = None) -> list[FeedConfig]:
    """Read feeds from :func:`feeds_to_json` text; raise ``ValueError`` with the reason when nothing can be read.

    One bad feed in a list is left out and named in ``problems`` (with what was repaired); a list
    whose version is newer than this plugin is refused.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"Not a feed list (invalid JSON: {err.msg}, line {err.lineno}).") from err
    except (ValueError, RecursionError):
        raise ValueError("Not a feed list (unreadable JSON).") from None
    if not isinstance(data, dict) or not isinstance(data.get("feeds"), list):
        raise ValueError("Not a feed list: expected an object with a 'feeds' list.")
    found = problems if problems is not None else []
    version = data.get("version", CONFIG_VERSION)
    try:
        number = _whole(version, "version")
    except ValueError:
        found.append(f"Unknown feed list version {str(version)[:20]}: read as version {CONFIG_VERSION}.")
        number = CONFIG_VERSION
    if number > CONFIG_VERSION:
        raise ValueError(f"Feed list version {number} is newer than this plugin understands.")
    feeds, first = [], ""
    for position, item in enumerate(data["feeds"], start=1):
        try:
            feed = FeedConfig.from_dict(item)
        except (TypeError, ValueError) as err:
            first = first or f"Invalid feed in the list: {err}"
            found.append(f"Feed {position} left out: {err}")
            continue
        found.extend(feed.repaired)
        feeds.append(feed)
    if not feeds and first:
        raise ValueError(first)
    return feeds


def split_secrets(url: str) -> tuple[str, dict[str, str], tuple[str, str]]:
    """(URL without secrets, secret query values by name, (user, password)) of a feed URL.

    The URL keeps each secret query parameter with the value ``***`` (its place: the value comes from
    the feed's authentication configuration when fetching, ``fill_secrets``); user and password are
    left out. A URL without secrets comes back unchanged.
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url, {}, ("", "")
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    secrets = {name: value for name, value in pairs if value != SECRET_PLACE and is_secret(name, value)}
    login = (unquote(parts.username or ""), unquote(parts.password or ""))
    if not secrets and not any(login):
        return url, {}, ("", "")
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = urlencode([(n, SECRET_PLACE if n in secrets else v) for n, v in pairs], safe="$(),'/:*") if pairs else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)), secrets, login


def fill_secrets(url: str, secrets: dict[str, str]) -> str:
    """``url`` with each ``***`` query value whose name is in ``secrets`` replaced by the secret."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not any(value == SECRET_PLACE and name in secrets for name, value in pairs):
        return url
    filled = [(name, secrets[name] if value == SECRET_PLACE and name in secrets else value) for name, value in pairs]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(filled, safe="$(),'/:*"), parts.fragment))


def missing_secrets(url: str) -> list[str]:
    """Names of the query parameters whose secret value is not in the URL (``***``)."""
    return [name for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=True) if value == SECRET_PLACE]
