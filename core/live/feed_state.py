"""What a live feed is doing now (shown in the dock's status column)."""

from __future__ import annotations

import re
from enum import Enum
from urllib.parse import urlsplit

from ..sensors.fetch import redact_text


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


#: States in which the feed's last refresh or connection failed (announced in the message bar).
ERROR_STATES = (FeedState.ERROR, FeedState.RETRYING)
#: Passing states between two results (they do not end an error).
TRANSIENT_STATES = (FeedState.FETCHING, FeedState.CONNECTING)
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)


def cause_first(detail: str) -> tuple[str, list[str]]:
    """Split an error text into the readable cause (each URL named by its host) and the redacted URLs.

    ``"HTTP 404 from http://u:p@host/x"`` gives ``("HTTP 404 from host", ["http://***@host/x"])``.
    """
    text = redact_text(detail)
    urls = [_url_only(match.group(0)) for match in _URL.finditer(text)]

    def host(match: re.Match) -> str:
        url = _url_only(match.group(0))
        name = urlsplit(url).netloc.rsplit("@", 1)[-1]
        return (name or url) + match.group(0)[len(url):]

    cause = _URL.sub(host, text)
    return " ".join(cause.split()), list(dict.fromkeys(urls))


def error_message(detail: str) -> str:
    """One line for the message bar: the cause first, the redacted URL(s) last."""
    cause, urls = cause_first(detail)
    return f"{cause} — {', '.join(urls)}" if urls else cause


def _url_only(candidate: str) -> str:
    """``candidate`` without the punctuation of the sentence around it (":", ".", "," or an unopened ")")."""
    while candidate and (
        candidate[-1] in ".,:;" or (candidate[-1] == ")" and candidate.count(")") > candidate.count("("))
    ):
        candidate = candidate[:-1]
    return candidate
