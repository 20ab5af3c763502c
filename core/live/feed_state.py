"""What a live feed is doing now (shown in the dock's status column)."""

from __future__ import annotations

from enum import Enum


class FeedState(str, Enum):
    """State of one live feed; the values are the plain texts the MQTT client's signal carries."""

    IDLE = "idle"  #: not started yet
    FETCHING = "fetching"  #: an HTTP refresh is running
    OK = "ok"  #: the last HTTP refresh succeeded
    ERROR = "error"  #: the last refresh or connection failed (values are kept)
    PAUSED = "paused"  #: stopped by the user or because the layer was removed
    CONNECTING = "connecting"  #: MQTT: connecting to the broker
    CONNECTED = "connected"  #: MQTT: subscribed, messages arrive
    RETRYING = "retrying"  #: MQTT: connection lost or refused, trying again
    STOPPED = "stopped"  #: MQTT: the client's thread ended (never shown)

    def __str__(self) -> str:
        return self.value
