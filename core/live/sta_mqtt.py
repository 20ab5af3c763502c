"""SensorThings MQTT push: broker of a service, topics of its streams, messages to observations.

A service that offers MQTT lists the conformance class ``…/req/receive-updates-via-mqtt/receive-updates``
in ``serverSettings`` with its broker endpoints (FROST-Server: ``mqtt://host:1883``). A client
subscribes to ``v1.1/Datastreams(<id>)/Observations`` (``MultiDatastreams(<id>)/Observations``
for a MultiDatastream) and receives every new Observation as JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..sensors.errors import FeedError, FeedFormatError
from ..sensors.model import FeedResult
from .sensorthings_latest import parse_series, stream_path

_VERSION = re.compile(r"/(v[12]\.[0-9])(?:/|$)")
DEFAULT_PORTS = {"mqtt": 1883, "tcp": 1883, "mqtts": 8883, "ssl": 8883}


@dataclass(frozen=True)
class Broker:
    """Where to connect: host, port and whether with TLS."""

    host: str
    port: int
    tls: bool


@dataclass(frozen=True)
class PushStream:
    """What a topic's messages are: the stream (``<id>`` or ``<id>[<i>]``) of a station."""

    station_id: str
    stream_id: str
    prop: str
    unit: str


def broker_of(endpoints: list[str]) -> Broker | None:
    """Return the first usable broker of a service's MQTT endpoints (``mqtt://``, ``mqtts://``, ``tcp://``, ``ssl://``)."""
    for endpoint in endpoints:
        parts = urlsplit(endpoint.strip())
        scheme = parts.scheme.lower()
        if scheme in DEFAULT_PORTS and parts.hostname:
            try:
                port = parts.port or DEFAULT_PORTS[scheme]
            except ValueError:
                continue
            return Broker(parts.hostname, port, scheme in ("mqtts", "ssl"))
    return None


def topic_of(service_root: str, stream_id: str) -> str:
    """``v1.1/Datastreams(<id>)/Observations`` (or the MultiDatastream's) for a stream of the service."""
    match = _VERSION.search(urlsplit(service_root.strip()).path)
    version = match.group(1) if match else "v1.1"
    return f"{version}/{stream_path(stream_id)[0]}/Observations"


def push_topics(service_root: str, streams: list[PushStream]) -> dict[str, list[PushStream]]:
    """Topic -> the streams its messages belong to (the components of one MultiDatastream share a topic)."""
    topics: dict[str, list[PushStream]] = {}
    for stream in streams:
        topics.setdefault(topic_of(service_root, stream.stream_id), []).append(stream)
    return topics


def parse_push(topic: str, payload: bytes, topics: dict[str, list[PushStream]], source: str) -> FeedResult | None:
    """Return the observation(s) of one pushed message; None for a topic that is not subscribed here."""
    streams = topics.get(topic)
    if streams is None:
        return None
    try:
        observation = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FeedFormatError(f"message on {topic} is not JSON ({error})") from None
    if not isinstance(observation, dict):
        raise FeedFormatError(f"message on {topic} is not an Observation")
    text = json.dumps({"value": [observation]})
    result = FeedResult()
    for stream in streams:
        try:
            series = parse_series(text, source, stream.station_id, stream.stream_id, stream.prop, stream.unit)
        except FeedError as error:
            raise FeedFormatError(f"message on {topic}: {error}") from None
        result.observations.extend(series.observations)
        result.warnings.extend(series.warnings)
    if not result.observations:
        raise FeedFormatError(f"message on {topic} has no usable phenomenonTime")
    return result
