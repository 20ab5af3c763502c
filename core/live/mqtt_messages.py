"""MQTT uplink messages of The Things Stack v3 and ChirpStack v4 to stations and observations."""

from __future__ import annotations

from ..sensors.errors import FeedFormatError
from ..sensors.formats import FORMAT_PARSERS, feed_format
from ..sensors.model import FeedResult


def uplink_device(topic: str, fmt: int) -> str | None:
    """Device id of an uplink topic; None for other topics (joins, downlinks, status events).

    The topic must match the format's ``mqtt_topic`` level by level (``+``: any level); the last
    ``+`` level is the device. TTN v3: ``v3/<app>@<tenant>/devices/<device>/up``;
    ChirpStack v4: ``application/<app>/device/<dev_eui>/event/up``.
    """
    feed = feed_format(fmt)
    pattern = feed.mqtt_topic.split("/") if feed is not None and feed.supports_mqtt else []
    parts = topic.split("/")
    if not pattern or len(parts) != len(pattern):
        return None
    if any(want not in ("+", part) for want, part in zip(pattern, parts)):
        return None
    return parts[len(pattern) - 1 - pattern[::-1].index("+")]


def parse_message(topic: str, payload: bytes, fmt: int) -> FeedResult | None:
    """Parse one message with the feed's parser; None when the topic is not an uplink.

    Raises FeedFormatError (naming the topic) when the payload is not a valid uplink.
    """
    if uplink_device(topic, fmt) is None:
        return None
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise FeedFormatError(f"message on {topic} is not UTF-8 text") from None
    try:
        return FORMAT_PARSERS[fmt](text, topic)
    except FeedFormatError as error:
        raise FeedFormatError(f"message on {topic}: {error}") from None
