"""Keeps one feed's live layer current: a QTimer and fetch tasks (HTTP) or an MQTT client."""

from __future__ import annotations

import contextlib
from array import array
from datetime import datetime, timezone

from qgis.core import Qgis, QgsApplication, QgsAuthMethodConfig, QgsMessageLog, QgsProject
from qgis.PyQt.QtCore import QCoreApplication, QObject, QTimer, pyqtSignal

from ..core.live.feed_config import FeedConfig
from ..core.live.feed_state import FeedState
from ..core.live.latest_values import LatestValue, latest_readings, reading_columns
from ..core.live.sta_mqtt import PushStream, broker_of, parse_push, push_topics
from ..core.sensors.fetch import source_key
from ..core.sensors.formats import feed_format
from ..core.sensors.model import FeedResult
from .fetch_task import FeedArchive, FetchOutcome, FetchTask, cancel_and_wait
from .live_layer import LiveLayer, UpdateCounts
from .live_update import SlicedUpdate, history_points
from .mqtt_client import MqttFeedClient, paho_available

LOG_TAG = "Social Resilience"
#: MQTT clients whose thread did not end within the wait (kept alive until it does).
_UNSTOPPED: list[MqttFeedClient] = []


def tr(text: str) -> str:
    """Translate in the context of this module."""
    return QCoreApplication.translate("feed_runner", text)


class FeedRunner(QObject):
    """Runtime of one feed. ``changed`` tells the dock to redraw the feed's row and stations.

    ``state`` is a :class:`FeedState`; ``detail`` explains it (shown as tooltip).
    """

    changed = pyqtSignal(str)  # feed id

    def __init__(self, config: FeedConfig, layer: LiveLayer, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self.live_layer: LiveLayer | None = layer
        self.readings: dict[str, LatestValue] = {}
        self.history: dict[str, array] = {}  #: station id -> recent (epoch seconds, value) pairs (``history_points``)
        self.name_keys: dict[str, str] = {}  #: station id -> text sorting its name naturally (the station table)
        self.name_order: list[tuple[str, str]] = []  #: (name key, station id) of every station, sorted
        self.readings_version = 0  #: counts the updates of ``readings`` (the dock redraws the table on a change)
        self._job: SlicedUpdate | None = None  #: an update being done in slices
        self.state = FeedState.IDLE
        self.detail = ""
        self.last_update: datetime | None = None
        self.last_counts = UpdateCounts()
        self.last_outcome: FetchOutcome | None = None
        self.task: FetchTask | None = None
        self.mqtt: MqttFeedClient | None = None
        self.service: list = []  #: SensorThings: [what the service root said], read on the first refresh
        self.pushing = False  #: a SensorThings MQTT subscription is connected (no polling meanwhile)
        self.push_failed = False  #: its connection failed once: polling until the feed is restarted
        self._last_logged_error = ""
        self.archive_problem = ""  #: why the last archive write failed ("" when it was written)
        self._disposed = False
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self._watch_layer()
        layer.apply_style(config.thresholds, "")

    # -- control ---------------------------------------------------------------------------

    @property
    def feed_id(self) -> str:
        """Id of the feed."""
        return self.config.feed_id

    @property
    def busy(self) -> bool:
        """Whether a refresh is being fetched or its readings are still being written."""
        return self.task is not None or self._job is not None

    def start(self) -> None:
        """Refresh now and then every ``refresh_s`` (HTTP) or subscribe (MQTT)."""
        if self.live_layer is None:
            self._set_state(FeedState.PAUSED, tr("the layer was removed; edit or resume the feed to show it again"))
            return
        self.timer.start(int(self.config.refresh_s * 1000))
        if self.config.transport == "mqtt":
            self._start_mqtt()
        else:
            self.refresh()

    def pause(self) -> None:
        """Stop refreshing (the layer keeps its values)."""
        self.stop()
        self._set_state(FeedState.PAUSED, tr("paused"))

    def stop(self, wait_s: float = 5.0) -> None:
        """Stop the timer, cancel the running task and update, end the MQTT thread (waits for both)."""
        self.timer.stop()
        if self._job is not None:
            self._job.cancel()
            self._job = None
        task, self.task = self.task, None
        if task is not None:
            with contextlib.suppress(TypeError):
                task.fetched.disconnect(self._on_fetched)
            cancel_and_wait(task, wait_s)
        self._stop_client(wait_s)

    def _stop_client(self, wait_s: float = 5.0) -> None:
        """End the MQTT client (waiting for its thread at most ``wait_s``)."""
        self.pushing = False
        client, self.mqtt = self.mqtt, None
        if client is not None:
            client.messageParsed.disconnect(self._on_message)
            client.stateChanged.disconnect(self._on_mqtt_state)
            client.messageFailed.disconnect(self._on_message_failed)
            client.archived.disconnect(self.report_archive)
            if client.stop(wait_s):
                client.deleteLater()
            else:  # keep the object alive for the thread's last signals
                _UNSTOPPED.append(client)
                QgsMessageLog.logMessage(
                    tr("Live feed {}: the MQTT connection did not end in time").format(self.config.name),
                    LOG_TAG,
                    Qgis.Warning,
                )

    def request_stop(self) -> None:
        """Ask the MQTT thread to end without waiting (a later ``stop`` waits)."""
        self.timer.stop()
        if self.mqtt is not None:
            self.mqtt.request_stop()

    def refresh(self) -> bool:
        """Start a fetch task unless one is running or the feed is MQTT; True when started."""
        if self.config.transport != "http" or self.task is not None or self._job is not None or self.live_layer is None:
            return False
        task = FetchTask(self.config, self.service)
        task.fetched.connect(self._on_fetched)
        self.task = task
        self._set_state(FeedState.FETCHING, tr("fetching {}").format(self.config.name))
        QgsApplication.taskManager().addTask(task)
        return True

    def reconfigure(self, config: FeedConfig) -> None:
        """Apply an edited configuration (a new property empties the layer) and restart."""
        self.stop()
        self.push_failed = False
        self.service = []
        property_changed = config.property != self.config.property or config.format != self.config.format
        self.config = config
        if self.live_layer is not None:
            if property_changed:
                self.live_layer.clear()
                self.readings.clear()
                self.history.clear()
                self.name_keys.clear()
                self.name_order.clear()
            self.live_layer.layer.setName(layer_name(config))
            self.live_layer.apply_style(config.thresholds, self._unit())
        if config.enabled:
            self.start()
        else:
            self._set_state(FeedState.PAUSED, tr("paused"))

    # -- results -----------------------------------------------------------------------------

    def _tick(self) -> None:
        if self.config.transport == "http" and not self.pushing:
            self.refresh()
        self._rejudge()

    def _on_fetched(self, outcome: FetchOutcome) -> None:
        if self._disposed:
            return
        self.task = None
        self.last_outcome = outcome
        if outcome.cancelled:
            return
        if not outcome.ok:
            kept = (
                tr("keeping the values of {}").format(_clock(self.last_update))
                if self.last_update
                else tr("no values yet")
            )
            self._report_error(f"{outcome.error} ({kept})")
            self._rejudge()
            return
        self.service = outcome.service
        columns, outcome.columns = outcome.columns, []  # merged into ``readings`` in place: not kept twice
        self._update_in_slices(columns, lambda counts: self._fetched(outcome, counts))

    def _fetched(self, outcome: FetchOutcome, counts: UpdateCounts) -> None:
        """Report a refresh whose readings are written."""
        self.report_archive(outcome.archive_error)
        text = tr("{stations} stations, {changed} changed in {seconds:.1f} s").format(
            stations=len(self.readings), changed=counts.total, seconds=outcome.seconds
        )
        if not outcome.n_readings:
            prop = self.config.property or tr("any property")
            text = tr("{n} stations, none with {prop}").format(n=outcome.n_stations, prop=prop)
        if outcome.warnings or outcome.archive_error:
            text += "\n" + "\n".join(([outcome.archive_error] if outcome.archive_error else []) + outcome.warnings[:5])
        self._recovered()
        self._set_state(FeedState.OK, text)
        self._start_push(outcome)

    def _start_push(self, outcome: FetchOutcome) -> None:
        """Subscribe to the service's SensorThings MQTT (when it offers one) for the streams shown."""
        fmt = feed_format(self.config.format)
        if (self.mqtt is not None or self.push_failed or not outcome.mqtt_endpoints or fmt is None or not fmt.paged
                or not self.readings or not paho_available()):
            return
        broker = broker_of(outcome.mqtt_endpoints)
        if broker is None:
            return
        streams = [PushStream(r.station_id, r.stream_id, r.property, r.unit) for r in self.readings.values()
                   if r.stream_id]
        topics = push_topics(self.config.url, streams)
        source = source_key(self.config.url)
        username, password = mqtt_credentials(self.config.authcfg)
        client = MqttFeedClient(broker.host, broker.port, list(topics), self.config.format, name=self.config.feed_id,
                                username=username, password=password, tls=broker.tls,
                                archive_path=FeedArchive.of(self.config), max_delay_s=self.config.refresh_s,
                                parser=lambda topic, payload: parse_push(topic, payload, topics, source))
        self._connect_client(client)
        self.pushing = False
        client.start()

    def _on_message(self, result: FeedResult) -> None:
        if self._disposed or self.mqtt is None:
            return
        readings = latest_readings(result, self.config.property)
        if not readings:
            return
        self.apply_readings(readings)
        self._recovered()
        self._set_state(FeedState.CONNECTED, tr("{n} stations; last message {time}").format(
            n=len(self.readings), time=_clock(self.last_update)
        ))

    def _on_message_failed(self, message: str) -> None:
        if self._disposed or self.mqtt is None:
            return
        self._report_error(message, state=self.state)  # the connection is fine: only the message failed

    def report_archive(self, problem: str) -> None:
        """Log a failed archive write (and when it works again) once per change; the layer keeps updating."""
        if self._disposed or problem == self.archive_problem:
            return
        self.archive_problem = problem
        message = problem or tr("the archive is written again")
        QgsMessageLog.logMessage(tr("Live feed {name}: {message}").format(name=self.config.name, message=message),
                                 LOG_TAG, Qgis.Warning if problem else Qgis.Info)
        self.changed.emit(self.feed_id)

    def _on_mqtt_state(self, text: str, detail: str) -> None:
        state = FeedState(text)
        if state == FeedState.STOPPED or self._disposed or self.mqtt is None:
            return
        if self.config.transport == "http":  # SensorThings push: polling goes on when it fails
            self._push_state(state, detail)
            return
        if state == FeedState.RETRYING:
            self._report_error(tr("MQTT {}: {}").format(self.config.mqtt_host, detail), state=FeedState.RETRYING)
            return
        if state == FeedState.CONNECTED:
            self._recovered()
        self._set_state(state, detail)

    def _push_state(self, state: FeedState, detail: str) -> None:
        """SensorThings push: connected -> no more polling; a failed connection -> back to polling, for good."""
        if state == FeedState.CONNECTED:
            self.pushing = True
            self._set_state(FeedState.CONNECTED, tr("push: {}").format(detail))
        elif state == FeedState.RETRYING:
            QgsMessageLog.logMessage(tr("Live feed {name}: MQTT push not available ({detail}); polling every {s} s")
                                     .format(name=self.config.name, detail=detail, s=self.config.refresh_s),
                                     LOG_TAG, Qgis.Info)
            self.push_failed = True
            self.pushing = False
            self._stop_client()
            self._set_state(FeedState.OK, tr("MQTT push not available: {}; polling").format(detail))

    def apply_readings(self, fresh: dict[str, LatestValue]) -> UpdateCounts:
        """Merge fresh readings, judge them and write the changed features at once (main thread; small updates)."""
        unit_before = self._unit()
        counts = SlicedUpdate(self, reading_columns(fresh.values())).run_now()
        self._applied(counts, unit_before)
        return counts

    def _update_in_slices(self, fresh: list[list] | None, then, write_all: bool = False) -> None:
        """Merge (``fresh`` columns) or re-judge (None) the readings in slices that keep QGIS responsive; ``then``."""
        if self._job is not None:
            self._job.cancel()
        unit_before = self._unit()

        def done(counts: UpdateCounts) -> None:
            self._job = None
            if fresh is not None:
                self._applied(counts, unit_before)
            then(counts)

        self._job = SlicedUpdate(self, fresh, done, write_all)
        self._job.start()

    def _applied(self, counts: UpdateCounts, unit_before: str) -> None:
        self.last_update = datetime.now(timezone.utc)
        self.last_counts = counts
        if self.live_layer is not None and not unit_before and self._unit():
            self.live_layer.apply_style(self.config.thresholds, self._unit())

    def current_layer(self) -> LiveLayer | None:
        """Return the live layer, None when it was removed."""
        if self.live_layer is not None and sip_deleted(self.live_layer.layer):
            self.live_layer = None
        return self.live_layer

    def _rejudge(self) -> None:
        """Re-judge the kept values (they turn stale with time) without new data, in slices."""
        if not self.readings or self._job is not None:
            return
        self._update_in_slices(None, lambda _counts: self.changed.emit(self.feed_id))

    def points(self, station_id: str) -> list[tuple[datetime, float]]:
        """Return the values of a station seen since the dock opened, (time, value), oldest first."""
        return history_points(self.history, station_id)

    def _unit(self) -> str:
        return next((r.unit for r in self.readings.values() if r.unit), "")

    # -- state -------------------------------------------------------------------------------

    def _set_state(self, state: FeedState, detail: str) -> None:
        self.state, self.detail = state, detail
        self.changed.emit(self.feed_id)

    def _report_error(self, message: str, state: FeedState = FeedState.ERROR) -> None:
        if message != self._last_logged_error:
            QgsMessageLog.logMessage(
                tr("Live feed {name}: {message}").format(name=self.config.name, message=message), LOG_TAG, Qgis.Warning
            )
            self._last_logged_error = message
        self._set_state(state, message)

    def _recovered(self) -> None:
        if self._last_logged_error:
            QgsMessageLog.logMessage(tr("Live feed {}: working again").format(self.config.name), LOG_TAG, Qgis.Info)
            self._last_logged_error = ""

    def _start_mqtt(self) -> None:
        if not paho_available():
            self._report_error(tr("MQTT needs the Python package paho-mqtt (Debian: python3-paho-mqtt)."))
            return
        username, password = mqtt_credentials(self.config.authcfg)
        client = MqttFeedClient(
            self.config.mqtt_host,
            self.config.mqtt_port,
            self.config.mqtt_topic,
            self.config.format,
            name=self.config.feed_id,
            username=username,
            password=password,
            tls=self.config.mqtt_tls,
            archive_path=FeedArchive.of(self.config),
        )
        self._connect_client(client)
        client.start()

    def _connect_client(self, client: MqttFeedClient) -> None:
        client.messageParsed.connect(self._on_message)
        client.stateChanged.connect(self._on_mqtt_state)
        client.messageFailed.connect(self._on_message_failed)
        client.archived.connect(self.report_archive)
        self.mqtt = client

    # -- layer -------------------------------------------------------------------------------

    def _watch_layer(self) -> None:
        QgsProject.instance().layerWillBeRemoved[str].connect(self._on_layer_removed)

    def _on_layer_removed(self, layer_id: str) -> None:
        if self.live_layer is None or sip_deleted(self.live_layer.layer) or layer_id != self.live_layer.layer.id():
            return
        self.stop()
        self.live_layer = None
        self._set_state(FeedState.PAUSED, tr("the layer was removed; resume the feed to show it again"))

    def attach_layer(self, layer: LiveLayer) -> None:
        """Use a new live layer (after the old one was removed)."""
        self.live_layer = layer
        layer.apply_style(self.config.thresholds, self._unit())
        if self.readings:
            self._update_in_slices(None, lambda _counts: self.changed.emit(self.feed_id), write_all=True)

    def dispose(self) -> None:
        """Stop everything and forget the project signal (before deletion)."""
        self._disposed = True
        self.stop()
        with contextlib.suppress(TypeError):
            QgsProject.instance().layerWillBeRemoved[str].disconnect(self._on_layer_removed)


def layer_name(config: FeedConfig) -> str:
    """Name of a feed's live layer."""
    return tr("{} (live)").format(config.name)


def mqtt_credentials(authcfg: str) -> tuple[str, str]:
    """User name and password of a Basic authentication configuration ("" when none)."""
    if not authcfg:
        return "", ""
    config = QgsAuthMethodConfig()
    if not QgsApplication.authManager().loadAuthenticationConfig(authcfg, config, True):
        return "", ""
    return config.config("username", ""), config.config("password", "")


def sip_deleted(obj: QObject) -> bool:
    """Tell whether the C++ object behind ``obj`` is gone."""
    from qgis.PyQt import sip

    return sip.isdeleted(obj)


def _clock(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%H:%M:%S") if moment else "–"
