"""Fetch and parse one feed in a QgsTask: network and parsing off the main thread."""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from qgis.core import QgsFeedback, QgsTask
from qgis.PyQt import sip
from qgis.PyQt.QtCore import QCoreApplication, pyqtSignal

from ..algorithms.sensors.qgis_fetcher import QgisFetcher
from ..core.live.feed_config import FeedConfig
from ..core.live.latest_values import LatestValue, latest_readings, reading_columns
from ..core.live.sensorthings_latest import LatestReader, parse_latest_page
from ..core.sensors.archive import ArchiveWriter
from ..core.sensors.errors import FeedError, FeedHttpError
from ..core.sensors.fetch import (
    DEFAULT_MAX_MB,
    MIB,
    FeedCancelledError,
    FeedStopError,
    FetchLimits,
    LinkGuard,
    is_local,
    redact_url,
    source_key,
    without_content,
)
from ..core.sensors.formats import FORMAT_PARSERS, feed_format
from ..core.sensors.model import FeedResult
from ..core.sensors.postgis_archive import PostgisArchiveWriter
from .feed_secrets import feed_url
from .live_update import collector_paused, drop_slowly

#: Safety limit for chained SensorThings pages of one refresh.
MAX_PAGES = 200
#: Total deadline of one request, and of one whole refresh (seconds); size limit of one answer.
REQUEST_TIMEOUT_S = 30.0
REFRESH_TIMEOUT_S = 120.0
MAX_RESPONSE_BYTES = DEFAULT_MAX_MB * MIB

__all__ = ["FeedCancelledError", "FeedStopError", "FetchOutcome", "FetchTask", "SeriesTask", "fetch_feed", "get_text"]


def tr(text: str) -> str:
    """Translate in the context of this module."""
    return QCoreApplication.translate("fetch_task", text)


@dataclass
class FetchOutcome:
    """What a refresh produced: readings or an error, and where the work ran."""

    feed_id: str
    columns: list[list] = field(default_factory=list)  #: the newest reading per station (``reading_columns``)
    n_readings: int = 0
    n_stations: int = 0
    n_observations: int = 0
    warnings: list[str] = field(default_factory=list)
    error: str = ""
    http_status: int | None = None
    cancelled: bool = False
    fetch_thread: int = 0
    parse_thread: int = 0
    seconds: float = 0.0
    archived: int | None = None
    service: list = field(default_factory=list)  #: SensorThings: [what the service root said] once it was read

    @property
    def mqtt_endpoints(self) -> list[str]:
        """SensorThings MQTT brokers the service offers."""
        info = self.service[0] if self.service else None
        return list(info.mqtt_endpoints) if info is not None else []
    archive_error: str = ""  #: why the archive was not written ("" when written or without archive)

    @property
    def ok(self) -> bool:
        """True when the refresh produced readings."""
        return not self.error and not self.cancelled


def live_limits() -> FetchLimits:
    """Limits of one refresh: TIMEOUT per request, a deadline for the whole refresh, the size limit."""
    return FetchLimits(timeout_s=REQUEST_TIMEOUT_S, import_timeout_s=REFRESH_TIMEOUT_S, max_bytes=MAX_RESPONSE_BYTES)


def get_text(url: str, authcfg: str = "", feedback: QgsFeedback | None = None,
             fetcher: QgisFetcher | None = None) -> str:
    """Return the body of ``url`` as text, fetched by ``fetcher`` (by default one whose SOURCE is ``url``).

    The one fetch path of the plugin (``algorithms/qgis_fetcher.py``): QGIS network stack (proxy,
    SSL, ``authcfg`` only to the origin of SOURCE), checked redirects, total deadline, size limit.
    For worker threads: cancelling ``feedback`` aborts the request within 50 ms. Raises
    FeedHttpError, FeedConnectionError, FeedStopError or FeedCancelledError.
    """
    if feedback is not None and feedback.isCanceled():
        raise FeedCancelledError(f"{redact_url(url)}: cancelled")
    fetcher = fetcher or QgisFetcher(url, authcfg, live_limits(), feedback)
    return fetcher.get(url).decode("utf-8-sig", errors="replace")


def fetch_feed(config: FeedConfig, feedback: QgsFeedback | None = None,
               service: list | None = None) -> tuple[FeedResult, list[int]]:
    """All documents of a refresh parsed into one FeedResult, and the ids of the threads that parsed.

    SensorThings: the service root, then the latest-values query (or each stream's newest
    observation where the server refuses it) with every ``@iot.nextLink`` followed (http(s) only,
    none twice: ``LinkGuard``); ``service`` receives what the root said (``ServiceInfo`` or None); a
    ``service`` that already holds it (an earlier refresh) skips the root.
    Other formats: the URL once, read by the format's parser.
    """
    parse_threads = []
    source = source_key(config.url)
    fmt = feed_format(config.format)
    if fmt is not None and fmt.paged:
        url = feed_url(config)
        fetcher = QgisFetcher(url, config.authcfg, live_limits(), feedback)
        links = LinkGuard(url)

        def get(url: str) -> str:
            links.visit(url)
            return get_text(url, feedback=feedback, fetcher=fetcher)

        def parse(text: str, where: str) -> tuple[FeedResult, str]:
            parse_threads.append(threading.get_ident())
            return parse_latest_page(text, where)

        reader = LatestReader(get, url, source, MAX_PAGES, parse)
        known = bool(service)
        if known:
            reader.service = service[0]
        result = reader.read(read_root=not known)
        if service is not None and not known:
            service.append(reader.service)
        return result, parse_threads
    text = get_text(feed_url(config), config.authcfg, feedback)
    parse_threads.append(threading.get_ident())
    return parse_document(config, text), parse_threads


def parse_document(config: FeedConfig, text: str) -> FeedResult:
    """Return the document of a feed that is not paged, read by its format's parser."""
    try:
        return FORMAT_PARSERS[config.format](text, source_key(config.url))
    except FeedError as error:
        if is_local(config.url):  # a message about a local file never quotes its content
            raise FeedError(without_content(str(error))) from None
        raise


@dataclass(frozen=True)
class FeedArchive:
    """Where a feed is archived: a GeoPackage ``path`` or a QGIS PostgreSQL ``connection`` and ``schema``."""

    path: str = ""
    connection: str = ""
    schema: str = "sensors"

    @classmethod
    def of(cls, config: FeedConfig) -> FeedArchive:
        return cls(config.archive_path, config.archive_connection, config.archive_schema or "sensors")

    def __bool__(self) -> bool:
        return bool(self.path or self.connection)

    def __str__(self) -> str:
        return self.path or f"{self.connection} ({self.schema})"

    def writer(self) -> ArchiveWriter | PostgisArchiveWriter:
        """Return a writer of this archive (the connection's credentials resolved now)."""
        if not self.connection:
            return ArchiveWriter(self.path)
        from qgis.core import QgsProcessingException

        from ..algorithms.postgis_connection import archive_target

        try:
            return PostgisArchiveWriter(archive_target(self.connection, self.schema))
        except QgsProcessingException as error:
            raise FeedError(str(error)) from None


def archive_result(result: FeedResult, archive: str | FeedArchive, warnings: list[str]) -> int | None:
    """Upsert a refresh into the feed's archive; the number of new observations (None on failure).

    A failing archive (full disk, locked, not a GeoPackage) never stops the live layer: the reason is
    added to ``warnings`` and the archive stays as it was (one transaction).
    """
    try:
        writer = archive.writer() if isinstance(archive, FeedArchive) else ArchiveWriter(archive)
        writer.open()
        try:
            writer.add_observations(result.observations)
            writer.upsert_stations(result.stations)
            counts = writer.commit()
        except BaseException:
            writer.rollback()
            raise
    except (FeedError, OSError, sqlite3.Error) as error:
        warnings.append(archive_problem(str(archive), error))
        return None
    return counts.new_observations


def archive_problem(path: str, error: Exception) -> str:
    """Return the message of a failed archive write (the layer keeps updating)."""
    return tr("archive {} not written ({}); the layer keeps updating: check the disk space and that no other program "
              "holds the file").format(path, error)


class CancellableTask(QgsTask):
    """A QgsTask whose network request is aborted by ``cancel`` and whose end can be awaited.

    ``QgsTask.waitForFinished`` blocks for ever on a task that was cancelled before it started
    (QGIS 3.22), so :func:`cancel_and_wait` waits on ``run_done`` instead.
    """

    def __init__(self, description: str) -> None:
        super().__init__(description, QgsTask.CanCancel)
        self.feedback = QgsFeedback()
        self.run_started = threading.Event()
        self.run_done = threading.Event()

    def run(self) -> bool:
        self.run_started.set()
        try:
            if self.isCanceled() or self.feedback.isCanceled():
                return False
            return self.work()
        finally:
            self.run_done.set()

    def work(self) -> bool:
        """Do the task's work in the worker thread."""
        raise NotImplementedError

    def cancel(self) -> None:
        self.feedback.cancel()
        super().cancel()


def cancel_and_wait(task: CancellableTask, wait_s: float) -> bool:
    """Cancel ``task`` and, if its ``run`` has begun, wait until it returned; True when it has."""
    if sip.isdeleted(task):
        return True
    task.cancel()
    if not task.run_started.is_set():
        return True
    return task.run_done.wait(wait_s)


class FetchTask(CancellableTask):
    """One refresh of one feed; ``fetched`` carries the FetchOutcome on the main thread."""

    fetched = pyqtSignal(object)

    def __init__(self, config: FeedConfig, service: list | None = None) -> None:
        super().__init__(tr("Refresh live feed {}").format(config.name))
        self.config = replace(config)
        self.outcome = FetchOutcome(config.feed_id, service=list(service or []))

    def work(self) -> bool:  # noqa: D102
        start = time.perf_counter()
        outcome = self.outcome
        outcome.fetch_thread = threading.get_ident()
        try:
            fmt = feed_format(self.config.format)
            if fmt is not None and fmt.paged:
                result, parse_threads = fetch_feed(self.config, self.feedback, outcome.service)
                with collector_paused():
                    self._keep(result, parse_threads)
            else:  # the collector runs while the server is awaited, and is paused while a large feed is read
                text = get_text(feed_url(self.config), self.config.authcfg, self.feedback)
                with collector_paused():  # the parsed feed dies young: see live_update.COLLECTOR
                    self._keep(parse_document(self.config, text), [threading.get_ident()])
        except FeedCancelledError:
            outcome.cancelled = True
        except FeedError as error:
            outcome.error = str(error)
            outcome.http_status = error.status if isinstance(error, FeedHttpError) else None
        except Exception as error:  # a broken feed must never take QGIS down
            outcome.error = tr("unexpected error: {}").format(f"{type(error).__name__}: {error}")
        outcome.seconds = time.perf_counter() - start
        return outcome.ok

    def _keep(self, result: FeedResult, parse_threads: list[int]) -> None:
        """Keep what the dock needs of a parsed refresh (the newest reading per station), archive it, free it."""
        outcome = self.outcome
        outcome.parse_thread = parse_threads[-1] if parse_threads else 0
        readings = latest_readings(result, self.config.property)
        outcome.columns, outcome.n_readings = reading_columns(readings.values()), len(readings)
        drop_slowly(readings)
        outcome.n_stations = len(result.stations)
        outcome.n_observations = len(result.observations)
        outcome.warnings = list(result.warnings)
        archive = FeedArchive.of(self.config)
        if archive:
            problems: list[str] = []
            outcome.archived = archive_result(result, archive, problems)
            outcome.archive_error = "; ".join(problems)
        drop_slowly(result.observations, result.stations)

    def finished(self, result: bool) -> None:  # noqa: D102 (main thread)
        if self.isCanceled():
            self.outcome.cancelled = True
        self.fetched.emit(self.outcome)


class SeriesTask(CancellableTask):
    """Recent values of one station for the chart: from the archive, else from a SensorThings server.

    ``loaded`` carries ``(station_id, points, note)`` on the main thread; points may be empty.
    """

    loaded = pyqtSignal(str, object, str)

    def __init__(self, config: FeedConfig, reading: LatestValue) -> None:
        super().__init__(tr("Load recent values of {}").format(reading.name))
        self.config = replace(config)
        self.reading = replace(reading)
        self.points: list = []
        self.note = ""

    def _server_history(self) -> bool:
        """Whether the feed's server gives a station's recent values (HTTP SensorThings)."""
        fmt = feed_format(self.config.format)
        return fmt is not None and fmt.supports_history and self.config.transport == "http"

    def work(self) -> bool:  # noqa: D102
        from ..core.live.archive_series import read_series
        from ..core.live.sensorthings_latest import recent_values

        reading = self.reading
        try:
            if self.config.archive_path and Path(self.config.archive_path).is_file():
                self.points = read_series(self.config.archive_path, reading.station_id, reading.stream_id)
                self.note = tr("archive")
            elif self._server_history() and reading.stream_id:
                self.points = recent_values(lambda url: get_text(url, self.config.authcfg, self.feedback),
                                            self.config.url, reading.station_id, reading.stream_id, reading.property,
                                            reading.unit)
                self.note = tr("from the server")
        except FeedError as error:
            self.note = tr("recent values not available: {}").format(error)
            self.points = []
        except Exception as error:  # a broken answer must never take QGIS down
            self.note = tr("recent values not available: {}").format(f"{type(error).__name__}: {error}")
            self.points = []
        return True

    def finished(self, result: bool) -> None:  # noqa: D102 (main thread)
        if not self.isCanceled():
            self.loaded.emit(self.reading.station_id, self.points, self.note)
