"""MQTT uplink messages of The Things Stack v3 and ChirpStack v4 to stations and observations."""

from __future__ import annotations

from ..sensors.errors import FeedFormatError
from ..sensors.model import FeedResult


def uplink_device(topic: str, fmt: int) -> str | None:
    """Device id of an uplink topic; None for other topics (joins, downlinks, status events).

    TTN v3: ``v3/<app>@<tenant>/devices/<device>/up``;
    ChirpStack v4: ``application/<app>/device/<dev_eui>/event/up``.
    """
    parts = topic.split("/")
    if fmt == 3 and len(parts) == 5 and parts[0] == "v3" and parts[2] == "devices" and parts[4] == "up":
        return parts[3]
    if fmt == 4 and len(parts) == 6 and parts[0] == "application" and parts[2] == "device" and parts[4:] == [
        "event",
        "up",
    ]:
        return parts[3]
    return None


def parse_message(topic: str, payload: bytes, fmt: int) -> FeedResult | None:
    """Parse one message with the feed's parser; None when the topic is not an uplink.

    Raises FeedFormatError (naming the topic) when the payload is not a valid uplink.
    """
    if uplink_device(topic, fmt) is None:
        return None
    from ..sensors.formats import FORMAT_PARSERS

    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise FeedFormatError(f"message on {topic} is not UTF-8 text") from None
    try:
        return FORMAT_PARSERS[fmt](text, topic)
    except FeedFormatError as error:
        raise FeedFormatError(f"message on {topic}: {error}") from None
