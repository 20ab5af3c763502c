"""Import a sensor feed: fetch, parse, filter, limit; observations are streamed in batches.

``stream_feed`` hands observations to a callback page by page (so a million observations
go into an archive without being held in memory) and returns the stations and the summary;
``import_feed`` collects everything into a FeedResult.

Failure policy: when the first request fails, the import fails with the error (nothing to
deliver). When a later page of a SensorThings feed still fails after the retries, that page is
skipped with a warning, the import goes on with the other links and ``complete`` becomes
False; after three failed links in a row it stops. What was fetched is delivered and marked
incomplete (COMPLETE=0), never silently.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import sensorthings as sta
from .errors import FeedError, FeedFormatError, FeedHttpError
from .fetch import Fetcher, fetch_json, fetch_text, is_local, redact_url
from .model import FeedResult, Observation, Station

SENSORTHINGS, OPENSENSEMAP, SENSOR_COMMUNITY, TTN, CHIRPSTACK, CSV = range(6)
FORMAT_NAMES = (
    "OGC SensorThings API",
    "openSenseMap",
    "Sensor.Community",
    "The Things Network v3 (JSON/NDJSON)",
    "ChirpStack v4",
    "CSV",
)
MAX_FAILED_LINKS = 3
CHUNK = 10_000

ObservationSink = Callable[[list[Observation]], None]


@dataclass
class ImportOptions:
    """What to import and how (the algorithm's parameters, already validated)."""

    format: int = SENSORTHINGS
    source: str = ""
    start: datetime | None = None
    end: datetime | None = None
    properties: list[str] = field(default_factory=list)
    extent: tuple[float, float, float, float] | None = None  #: WGS 84 (xmin, ymin, xmax, ymax)
    max_observations: int = 0
    page_size: int = 1000
    retries: int = 3
    backoff: float = 0.5
    csv_mapping: Any = None


@dataclass
class ImportSummary:
    """Stations (filtered, with first/last observation time) and what happened."""

    stations: list[Station]
    n_observations: int
    complete: bool
    warnings: list[str]
    first_times: dict[str, datetime]
    counts: dict[str, int]  #: observations per station


def parse_properties(text: str | None) -> list[str]:
    """PROPERTY text (names separated by commas or semicolons) as a list of names."""
    return [part.strip() for part in (text or "").replace(";", ",").split(",") if part.strip()]


def stream_feed(
    options: ImportOptions,
    fetcher: Fetcher,
    on_observations: ObservationSink,
    progress: Callable[[float], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ImportSummary:
    """Import the feed, handing the kept observations to ``on_observations`` batch by batch."""
    run = _Run(options, on_observations, progress or (lambda _f: None), cancelled or (lambda: False), sleep)
    if options.format == SENSORTHINGS:
        _import_sensorthings(run, fetcher)
    else:
        _import_parsed(run, fetcher)
    return run.summary()


def import_feed(options: ImportOptions, fetcher: Fetcher, **kwargs: Any) -> FeedResult:
    """Import the whole feed into memory."""
    observations: list[Observation] = []
    summary = stream_feed(options, fetcher, observations.extend, **kwargs)
    return FeedResult(summary.stations, observations, summary.complete, summary.warnings)


class _Run:
    """State of one import: stations, filters, counts, limit, warnings."""

    def __init__(self, options: ImportOptions, sink: ObservationSink, progress: Callable[[float], None],
                 cancelled: Callable[[], bool], sleep: Callable[[float], None]) -> None:
        self.options = options
        self.sink = sink
        self.progress = progress
        self.cancelled = cancelled
        self.sleep = sleep
        self.properties = {p.lower() for p in options.properties}
        self.stations: dict[str, Station] = {}
        self.excluded: set[str] = set()
        self.relevant: set[str] = set()
        self.first_times: dict[str, datetime] = {}
        self.last_times: dict[str, datetime] = {}
        self.counts: dict[str, int] = {}
        self.count = 0
        self.complete = True
        self.stopped = False
        self.warnings: list[str] = []

    # -- policy -------------------------------------------------------------------------------
    def policy(self, url: str, shrink: Callable[[str], str] | None = None) -> dict[str, Any]:
        """Retry policy for ``url``: a local file is read once (retrying cannot help)."""
        retries = 0 if is_local(url) else self.options.retries
        return {"retries": retries, "backoff": self.options.backoff, "shrink": shrink, "sleep": self.sleep,
                "cancelled": self.cancelled}

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def incomplete(self, message: str) -> None:
        self.complete = False
        self.warn(message)

    def check_cancelled(self) -> bool:
        if self.cancelled():
            self.incomplete("the import was cancelled; what was fetched until then is kept")
            self.stopped = True
        return self.stopped

    # -- stations and filters -----------------------------------------------------------------
    def in_extent(self, station: Station) -> bool:
        extent = self.options.extent
        if extent is None:
            return True
        if station.lon is None or station.lat is None:
            return False
        return extent[0] <= station.lon <= extent[2] and extent[1] <= station.lat <= extent[3]

    def add_station(self, station: Station) -> None:
        known = self.stations.get(station.station_id)
        if known is None:
            self.stations[station.station_id] = station
        elif known.lon is None and station.lon is not None:
            known.lon, known.lat = station.lon, station.lat
        current = self.stations[station.station_id]
        if self.in_extent(current):
            self.excluded.discard(current.station_id)
        else:
            self.excluded.add(current.station_id)

    def wanted_property(self, prop: str) -> bool:
        return not self.properties or prop.lower() in self.properties

    def keep(self, observation: Observation) -> bool:
        options = self.options
        if options.start is not None and (observation.time_end or observation.time) < options.start:
            return False
        if options.end is not None and observation.time > options.end:
            return False
        if not self.wanted_property(observation.property):
            return False
        if options.extent is not None:
            return observation.station_id in self.stations and observation.station_id not in self.excluded
        return True

    # -- observations -------------------------------------------------------------------------
    def emit(self, observations: list[Observation], more_to_come: bool) -> None:
        """Filter, apply the limit, track times and hand the batch over."""
        kept = [o for o in observations if self.keep(o)]
        limit = self.options.max_observations
        if limit and self.count + len(kept) >= limit:
            room = limit - self.count
            if len(kept) > room or more_to_come:
                self.incomplete(
                    f"stopped after {limit} observations (MAX_OBSERVATIONS); the feed has more: "
                    "raise the limit or narrow START/END, PROPERTY or EXTENT"
                )
            kept = kept[:room]
            self.stopped = True
        for observation in kept:
            station_id = observation.station_id
            self.counts[station_id] = self.counts.get(station_id, 0) + 1
            end = observation.time_end or observation.time
            first = self.first_times.get(station_id)
            if first is None or observation.time < first:
                self.first_times[station_id] = observation.time
            last = self.last_times.get(station_id)
            if last is None or end > last:
                self.last_times[station_id] = end
        self.relevant.update(o.station_id for o in kept)
        if kept:
            self.count += len(kept)
            self.sink(kept)

    def summary(self) -> ImportSummary:
        stations = [s for s in self.stations.values() if s.station_id not in self.excluded]
        if self.properties:
            stations = [s for s in stations if s.station_id in self.relevant]
        for station in stations:
            last = self.last_times.get(station.station_id)
            if last is not None:
                station.last_time = last
        return ImportSummary(stations, self.count, self.complete, self.warnings, dict(self.first_times),
                             dict(self.counts))


def _source_label(source: str) -> str:
    root = sta.service_root(source)
    return redact_url(root or source.strip())


def _rejected_filter(error: FeedError, options: ImportOptions) -> bool:
    """Tell whether a server refused a Things query because of its $filter (HTTP 400/501)."""
    filtered = options.extent is not None or bool(options.properties)
    return filtered and isinstance(error, FeedHttpError) and error.status in (400, 501)


def _format_hint(text: str, chosen: int) -> str:
    """``; it looks like <format>: choose FORMAT n`` when another parser recognises the text."""
    from .formats import detect_format

    detected = detect_format(text)
    if detected is None or detected == chosen:
        return ""
    return f"; the feed looks like {FORMAT_NAMES[detected]}: choose FORMAT {detected}"


def _import_parsed(run: _Run, fetcher: Fetcher) -> None:
    """Import formats 1-5: one document, parsed by the format's parser, then filtered."""
    from .formats import FORMAT_PARSERS

    options = run.options
    parser = FORMAT_PARSERS.get(options.format)
    if parser is None:
        raise FeedError(f"unknown feed format {options.format}; choose 0-{len(FORMAT_NAMES) - 1}")
    source = options.source.strip()
    text = fetch_text(fetcher, source, **run.policy(source))
    run.progress(0.3)
    label = _source_label(options.source)
    try:
        result = parser(text, label, options.csv_mapping) if options.format == CSV else parser(text, label)
    except FeedFormatError as error:
        raise FeedFormatError(f"{error}{_format_hint(text, options.format)}") from None
    run.progress(0.6)
    for station in result.stations:
        run.add_station(station)
    for warning in result.warnings:
        run.warn(warning)
    if not result.complete:
        run.complete = False
    observations = result.observations
    for start in range(0, len(observations), CHUNK):
        if run.check_cancelled():
            break
        run.emit(observations[start:start + CHUNK], more_to_come=start + CHUNK < len(observations))
        if run.stopped:
            break


def _import_sensorthings(run: _Run, fetcher: Fetcher) -> None:
    """Crawl a SensorThings service root or collection URL, following every nextLink unchanged."""
    options = run.options
    source = options.source.strip()
    label = _source_label(source)
    root = sta.service_root(source)
    discovery: deque[sta.Link] = deque()
    observation_links: deque[sta.Link] = deque()
    build_queries = root is not None and sta.is_service_root(source)
    multi = False
    if build_queries:
        collections = sta.root_collections(fetch_json(fetcher, root, **run.policy(root)))
        multi = "MultiDatastreams" in collections
        things = sta.things_query(root, options.extent, options.properties or None, multi, options.page_size)
        discovery.append(sta.Link(things, "Things", built=True))
    else:
        kind, stream, station_id = sta.url_target(source)
        discovery.append(sta.Link(source, kind, stream, station_id))
    done = failed_in_a_row = skipped = 0
    first = True
    while (discovery or observation_links) and not run.check_cancelled():
        link = discovery.popleft() if discovery else observation_links.popleft()
        shrink = sta.halve_top if link.built else None
        document = None
        try:
            document = fetch_json(fetcher, link.url, **run.policy(link.url, shrink))
            page = sta.parse_page(document, link, label)
        except FeedError as error:
            if link.built and link.kind == "Things" and "$filter=" in link.url and _rejected_filter(error, options):
                run.warn(f"the server rejected the filter of {redact_url(link.url)} ({error}); "
                         "all Things are read and filtered after download")
                unfiltered = sta.things_query(root, None, None, multi, options.page_size)
                discovery.appendleft(sta.Link(unfiltered, "Things", built=True))
                continue
            if first and isinstance(error, FeedFormatError) and document is not None:
                raise FeedFormatError(f"{error}{_format_hint(json.dumps(document)[:4096], SENSORTHINGS)}") from None
            if first:
                raise
            failed_in_a_row += 1
            where = redact_url(link.url)
            run.incomplete(f"skipped a page: {error}" if where in str(error) else f"skipped {where}: {error}")
            if failed_in_a_row >= MAX_FAILED_LINKS:
                run.incomplete(f"stopped after {MAX_FAILED_LINKS} failed requests in a row; the import is incomplete")
                break
            continue
        first = False
        failed_in_a_row = 0
        for station in page.stations:
            run.add_station(station)
        for stream in page.streams:
            wanted = run.wanted_property(stream.property) or any(run.wanted_property(p) for p, _u in stream.components)
            if wanted and stream.station_id:
                run.relevant.add(stream.station_id)
            if build_queries and wanted and stream.station_id not in run.excluded:
                url = sta.observations_query(root, stream, options.start, options.end, options.page_size)
                observation_links.append(sta.Link(url, "Observations", stream, stream.station_id, built=True))
        for next_link in page.links:
            (observation_links if next_link.kind == "Observations" else discovery).append(next_link)
        skipped += page.skipped
        run.emit(page.observations, more_to_come=bool(discovery or observation_links))
        done += 1
        run.progress(done / (done + len(discovery) + len(observation_links)))
        if run.stopped:
            break
    if skipped:
        run.warn(f"{skipped} observations without a readable phenomenonTime were skipped")

