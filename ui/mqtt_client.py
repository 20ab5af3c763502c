"""MQTT subscription of one feed in its own thread: reconnects with back-off, parses off the main thread.

paho-mqtt (Debian ``python3-paho-mqtt``, 1.6) is imported only when a client starts. Parsed
messages and state changes reach the main thread through queued Qt signals.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from qgis.PyQt.QtCore import QCoreApplication, QObject, pyqtSignal

from ..core.live.feed_state import FeedState
from ..core.live.mqtt_messages import parse_message
from ..core.sensors.errors import FeedError
from ..core.sensors.model import FeedResult
from .fetch_task import archive_result

LOOP_TIMEOUT_S = 0.2
KEEPALIVE_S = 30


def tr(text: str) -> str:
    """Translate in the context of this module."""
    return QCoreApplication.translate("mqtt_client", text)


def paho_available() -> bool:
    """Tell whether paho-mqtt can be imported."""
    try:
        import paho.mqtt.client  # noqa: F401
    except ImportError:
        return False
    return True


class MqttFeedClient(QObject):
    """Subscribes to ``topic`` (one or a list) on ``host:port`` and emits each parsed message as a FeedResult.

    ``parser(topic, payload)`` reads a message (default: the uplink parser of ``fmt``).

    States (``stateChanged(state, detail)``, values of ``FeedState``): ``connecting``, ``connected``, ``retrying``
    (with the back-off delay in the detail), ``stopped``.
    """

    messageParsed = pyqtSignal(object)  # noqa: N815 (Qt signal)
    messageFailed = pyqtSignal(str)  # noqa: N815
    stateChanged = pyqtSignal(str, str)  # noqa: N815
    archived = pyqtSignal(str)  #: after each archive write: "" when written, else why not

    def __init__(
        self,
        host: str,
        port: int,
        topic: str | list[str],
        fmt: int,
        name: str = "",
        username: str = "",
        password: str = "",
        tls: bool = False,
        archive_path: object = "",  # a GeoPackage path or a fetch_task.FeedArchive
        min_delay_s: float = 1.0,
        max_delay_s: float = 60.0,
        parent: QObject | None = None,
        parser: Callable[[str, bytes], FeedResult | None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.host, self.port, self.topic, self.fmt = host, port, topic, fmt
        self.topics = [topic] if isinstance(topic, str) else list(topic)
        self.parser = parser or (lambda name, payload: parse_message(name, payload, fmt))
        self.name = name or f"{host}:{port}"
        self._username, self._password, self._tls = username, password, tls
        self.archive_path = archive_path
        self.min_delay_s, self.max_delay_s = min_delay_s, max_delay_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.messages_received = 0

    @property
    def thread(self) -> threading.Thread | None:
        """The network thread (None before ``start``)."""
        return self._thread

    def start(self) -> None:
        """Start the network thread (once)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=f"social_resilience-mqtt-{self.name}", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the thread to disconnect and end (returns at once)."""
        self._stop.set()

    def stop(self, timeout_s: float = 5.0) -> bool:
        """Disconnect and wait for the thread to end; True when it has ended."""
        self._stop.set()
        if self._thread is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    # -- network thread ------------------------------------------------------------------------

    def _run(self) -> None:
        import paho.mqtt.client as mqtt  # the parsers are imported with mqtt_messages, before any message

        client = mqtt.Client(clean_session=True)
        if self._username:
            client.username_pw_set(self._username, self._password or None)
        if self._tls:
            client.tls_set()
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        delay = self.min_delay_s
        self._connected_ok = False
        while not self._stop.is_set():
            self.stateChanged.emit(FeedState.CONNECTING.value, f"{self.host}:{self.port}")
            try:
                client.connect(self.host, self.port, KEEPALIVE_S)
                reason = ""
                while not self._stop.is_set():
                    code = client.loop(timeout=LOOP_TIMEOUT_S)
                    if code != mqtt.MQTT_ERR_SUCCESS:
                        reason = mqtt.error_string(code)
                        break
            except Exception as error:  # whatever a callback raised: reconnect, never end the thread
                reason = str(error) or type(error).__name__
            if self._stop.is_set():
                break
            if self._connected_ok:
                delay = self.min_delay_s
                self._connected_ok = False
            self.stateChanged.emit(
                FeedState.RETRYING.value, tr("{reason}; retrying in {delay:g} s").format(reason=reason, delay=delay)
            )
            if self._stop.wait(delay):
                break
            delay = min(delay * 2, self.max_delay_s)
        try:
            client.disconnect()
            client.loop(timeout=0.05)
        except (OSError, ValueError):
            pass
        self.stateChanged.emit(FeedState.STOPPED.value, "")

    def _on_connect(self, client: Any, _userdata: Any, _flags: Any, rc: int) -> None:
        import paho.mqtt.client as mqtt

        if rc != 0:
            refused = tr("broker refused the connection: {}").format(mqtt.connack_string(rc))
            self.stateChanged.emit(FeedState.RETRYING.value, refused)
            return
        self._connected_ok = True
        client.subscribe([(topic, 0) for topic in self.topics])
        shown = self.topics[0] + (f" (+{len(self.topics) - 1})" if len(self.topics) > 1 else "")
        self.stateChanged.emit(FeedState.CONNECTED.value, f"{self.host}:{self.port} {shown}")

    def _on_message(self, _client: Any, _userdata: Any, message: Any) -> None:
        try:
            result = self.parser(message.topic, message.payload)
        except FeedError as error:
            self.messageFailed.emit(str(error))
            return
        except Exception as error:  # a bad message must not end the subscription
            self.messageFailed.emit(f"{message.topic}: {type(error).__name__}: {error}")
            return
        if result is None:
            return
        self.messages_received += 1
        self.messageParsed.emit(result)
        if self.archive_path:  # a failed write is reported; the subscription and the layer go on
            problems: list[str] = []
            archive_result(result, self.archive_path, problems)
            self.archived.emit("; ".join(problems))
