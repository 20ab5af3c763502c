"""Import a sensor feed: fetch, parse, filter, limit; observations are streamed in batches.

``stream_feed`` hands observations to a callback page by page (so a million observations
go into an archive without being held in memory) and returns the stations and the summary;
``import_feed`` collects everything into a FeedResult.

Failure policy: when the first request fails, the import fails with the error (nothing to
deliver). When a later page of a SensorThings feed still fails after the retries, that page is
skipped with a warning, the import goes on with the other links and ``complete`` becomes
False; after three failed links in a row it stops. What was fetched is delivered and marked
incomplete (COMPLETE=0), never silently.

Untrusted servers (docs/architecture.md): a rule that stops a request (``FeedStopError``: a timeout after
the retries, a redirect loop, an answer over the size limit, a link to a local file or one
already fetched, the import's deadline) ends the whole import, also on the first request: what
was fetched is delivered, COMPLETE=0 and a warning names the cause.

Duplicates: the first observation of a (stream, time to the millisecond) wins, in the output as
in the archive (which ignores a key it already holds); later ones are dropped and counted in a
warning.
"""

from __future__ import annotations

import json
import time
from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from . import sensorthings as sta
from .errors import FeedError, FeedFormatError, FeedHttpError
from .fetch import (
    CountingFetcher,
    FeedStopError,
    Fetcher,
    FetchLimits,
    LinkGuard,
    fetch_json,
    fetch_text,
    is_local,
    is_transient,
    redact_url,
    source_key,
    without_content,
)
from .formats import FORMAT_NAMES, SENSORTHINGS, detect_format, feed_format
from .model import FeedResult, Observation, Station

MAX_FAILED_LINKS = 3
REFUSED_STATUS = frozenset({400, 422, 500, 501})
CHUNK = 10_000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MILLISECOND = timedelta(milliseconds=1)

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
    limits: FetchLimits | None = None  #: the import's deadline is checked between pages


@dataclass
class ImportSummary:
    """Stations (filtered, with first/last observation time) and what happened."""

    stations: list[Station]
    n_observations: int
    complete: bool
    warnings: list[str]
    first_times: dict[str, datetime]
    counts: dict[str, int]  #: observations per station
    requests: int = 0  #: answers received
    bytes_received: int = 0  #: bytes of their bodies (decompressed)


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
    local = is_local(options.source.strip())
    fetcher = CountingFetcher(fetcher)
    try:
        fmt = feed_format(options.format)
        if fmt is not None and fmt.paged:
            _import_sensorthings(run, fetcher)
        else:
            _import_parsed(run, fetcher)
    except FeedFormatError as error:
        if not local:
            raise
        raise FeedFormatError(without_content(str(error))) from None
    summary = run.summary()
    summary.requests, summary.bytes_received = fetcher.requests, fetcher.bytes
    if local:  # messages about a local file name the problem, never its content
        summary.warnings = [without_content(w) for w in summary.warnings]
    return summary


def import_feed(options: ImportOptions, fetcher: Fetcher, **kwargs: Any) -> FeedResult:
    """Import the whole feed into memory."""
    observations: list[Observation] = []
    summary = stream_feed(options, fetcher, observations.extend, **kwargs)
    return FeedResult(summary.stations, observations, summary.complete, summary.warnings)


class DuplicateFilter:
    """Keeps the first observation of each (stream, time to the millisecond) and counts the others.

    A stream whose times arrive in increasing order costs 8 bytes per observation; a stream out of
    order switches to a set of its times.
    """

    def __init__(self) -> None:
        self._ordered: dict[str, array] = {}
        self._unordered: dict[str, set[int]] = {}
        self.dropped = 0

    def first_of(self, observations: list[Observation]) -> list[Observation]:
        """Return the observations of a batch that ``keep`` keeps one by one (runs in time order go fast)."""
        kept: list[Observation] = []
        index, total = 0, len(observations)
        while index < total:
            stream = observations[index].stream_id
            times = self._ordered.get(stream)
            if times is not None or stream not in self._unordered:
                last = times[-1] if times is not None else None
                keys, start = array("q"), index
                while index < total:
                    observation = observations[index]
                    if observation.stream_id != stream:
                        break
                    key = (observation.time - _EPOCH) // _MILLISECOND
                    if last is not None and key <= last:
                        break
                    keys.append(key)
                    last, index = key, index + 1
                if index > start:
                    if times is None:
                        self._ordered[stream] = keys
                    else:
                        times.extend(keys)
                    kept.extend(observations[start:index])
            if index < total and observations[index].stream_id == stream:  # out of order: one by one
                if self.keep(observations[index]):
                    kept.append(observations[index])
                index += 1
        return kept

    def keep(self, observation: Observation) -> bool:
        """Tell whether ``observation`` is the first of its stream at its time."""
        stream = observation.stream_id
        key = (observation.time - _EPOCH) // _MILLISECOND
        times = self._ordered.get(stream)
        if times is None:
            seen = self._unordered.get(stream)
            if seen is None:
                self._ordered[stream] = array("q", [key])
                return True
        elif key > times[-1]:
            times.append(key)
            return True
        else:
            seen = self._unordered[stream] = set(times)
            del self._ordered[stream]
        if key in seen:
            self.dropped += 1
            return False
        seen.add(key)
        return True


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
        self.duplicates = DuplicateFilter()
        self.links = LinkGuard(options.source)

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
        elif self.options.limits is not None and not self.stopped:
            try:
                self.options.limits.check_import()
            except FeedStopError as error:
                self.stop(error)
        return self.stopped

    def stop(self, error: FeedStopError) -> None:
        """End the import because a rule for untrusted servers stopped a request."""
        self.incomplete(f"the import was stopped: {error}; what was fetched until then is kept")
        self.stopped = True

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
        options = self.options
        if options.start is not None or options.end is not None or self.properties or options.extent is not None:
            observations = [o for o in observations if self.keep(o)]
        kept = self.duplicates.first_of(observations)
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
        self.track(kept)
        if kept:
            self.count += len(kept)
            self.sink(kept)

    def track(self, kept: list[Observation]) -> None:
        """Count the kept observations per station and widen each station's time range."""
        groups: dict[str, list[Observation]] = {}
        if kept and kept[0].station_id == kept[-1].station_id and all(
                o.station_id == kept[0].station_id for o in kept):
            groups[kept[0].station_id] = kept
        else:
            for observation in kept:
                groups.setdefault(observation.station_id, []).append(observation)
        for station_id, mine in groups.items():
            self.counts[station_id] = self.counts.get(station_id, 0) + len(mine)
            earliest = min(o.time for o in mine)
            latest = max(o.time_end or o.time for o in mine)
            first, last = self.first_times.get(station_id), self.last_times.get(station_id)
            if first is None or earliest < first:
                self.first_times[station_id] = earliest
            if last is None or latest > last:
                self.last_times[station_id] = latest
            self.relevant.add(station_id)

    def summary(self) -> ImportSummary:
        stations = [s for s in self.stations.values() if s.station_id not in self.excluded]
        if self.properties:
            stations = [s for s in stations if s.station_id in self.relevant]
        for station in stations:
            last = self.last_times.get(station.station_id)
            if last is not None:
                station.last_time = last
        if self.duplicates.dropped:
            self.warn(f"{self.duplicates.dropped} observations repeat the stream and time of an earlier one; "
                      "the first of each was kept")
        return ImportSummary(stations, self.count, self.complete, self.warnings, dict(self.first_times),
                             dict(self.counts))


def _source_label(source: str) -> str:
    """Return the ``source`` of stations and observations (the archive key, ``fetch.source_key``)."""
    root = sta.service_root(source)
    return source_key(root or source.strip())


def _refused(error: FeedError) -> bool:
    """Tell whether a server refused one of the importer's own queries (an option it does not support).

    400 and 501 as the standard says; 422 (django-ogc-sensorthings: ``$top`` above its limit) and
    500 (its answer to ``$orderby=phenomenonTime``).
    """
    return isinstance(error, FeedHttpError) and error.status in REFUSED_STATUS


def _format_hint(text: str, chosen: int) -> str:
    """``; it looks like <format>: choose FORMAT n`` when another parser recognises the text."""
    detected = detect_format(text)
    if detected is None or detected == chosen:
        return ""
    return f"; the feed looks like {FORMAT_NAMES[detected]}: choose FORMAT {detected}"


def _import_parsed(run: _Run, fetcher: Fetcher) -> None:
    """Import a format with a parser: one document, parsed by the format's parser, then filtered."""
    options = run.options
    fmt = feed_format(options.format)
    if fmt is None or fmt.parser is None:
        raise FeedError(f"unknown feed format {options.format}; choose 0-{len(FORMAT_NAMES) - 1}")
    source = options.source.strip()
    try:
        run.links.visit(source)
        text = fetch_text(fetcher, source, **run.policy(source))
    except FeedStopError as error:
        run.stop(error)
        return
    run.progress(0.3)
    label = _source_label(options.source)
    try:
        result = fmt.parser(text, label, options.csv_mapping) if fmt.takes_mapping else fmt.parser(text, label)
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
    crawl = _StaCrawl(run, fetcher)
    try:
        crawl.start()
        while crawl.pending() and not run.check_cancelled():
            if not crawl.step():
                break
    except FeedStopError as error:
        run.stop(error)
    finally:
        crawl.drop_ahead()
    if crawl.skipped:
        run.warn(f"{crawl.skipped} observations without a readable phenomenonTime were skipped")


class _StaCrawl:
    """The links of one SensorThings import: discovery (Things, Datastreams) first, then Observations.

    From a service root (or one Datastream/MultiDatastream URL when START/END, PROPERTY or EXTENT is
    given) the importer builds its own queries. Their shape (``sta.QueryShape``, one per kind) gets
    simpler each time the server refuses one, before any retry, until one is answered; a dropped
    ``$filter`` is announced, the rest is filtered after download.
    """

    def __init__(self, run: _Run, fetcher: Fetcher) -> None:
        self.run = run
        self.fetcher = fetcher
        source = run.options.source.strip()
        self.source = source
        self.label = _source_label(source)
        self.root = sta.service_root(source)
        self.build_queries = self.root is not None and sta.is_service_root(source)
        filtered = run.options.start or run.options.end or run.options.properties or run.options.extent
        self.stream_target = sta.stream_source(source) if filtered else None
        self.multi = False
        self.property_names: dict[str, str] = {}
        top = run.options.page_size
        self.shapes = {"Things": sta.QueryShape(top=top, orderby=False), "Observations": sta.QueryShape(top=top)}
        self.confirmed: set[str] = set()
        self.discovery: deque[sta.Link] = deque()
        self.observation_links: deque[sta.Link] = deque()
        self.first = True
        self.done = self.failed_in_a_row = self.skipped = 0

    def start(self) -> None:
        if sta.major_version(self.source) == 2 and "MultiDatastreams" in self.source:
            raise FeedFormatError("SensorThings 2.0 has no MultiDatastreams (a 2.0 Datastream with a DataRecord "
                                  "resultType takes their place, which is not supported); choose a Datastream URL")
        if self.build_queries:
            document = self.read_root(required=True)
            collections = sta.root_collections(document)
            self.multi = "MultiDatastreams" in collections
            self.offer_data_array(document)
            self.read_property_names()
            self.discovery.append(sta.Link("", "Things", built=True))
        elif self.stream_target is not None and self.start_stream():
            return
        else:
            kind, stream, station_id = sta.url_target(self.source)
            self.discovery.append(sta.Link(self.source, kind, stream, station_id))

    def read_root(self, required: bool) -> Any:
        """Return the service root document, asked as written, then with or without the slash (on a 404)."""
        candidates = sta.root_candidates(self.source if self.build_queries else self.root)
        for index, url in enumerate(candidates):
            self.run.links.visit(url)
            try:
                return fetch_json(self.fetcher, url, **self.run.policy(url))
            except FeedHttpError as error:
                if error.status != 404 or index + 1 == len(candidates):
                    if required:
                        raise
                    return None
            except FeedFormatError:
                if required:
                    raise
                return None
        return None

    def read_property_names(self) -> None:
        """Learn each Datastream's property from ``sta.properties_query`` (nothing when the server refuses it)."""
        def get_document(url: str) -> Any:  # optional: asked once, no retries
            self.run.links.visit(url)
            return fetch_json(self.fetcher, url, **{**self.run.policy(url), "retries": 0})

        try:
            self.property_names = sta.read_property_map(get_document, self.root)
        except FeedStopError:
            raise
        except FeedError:
            self.property_names = {}

    def offer_data_array(self, document: Any) -> None:
        if sta.major_version(self.root or "") == 1 and sta.offers_data_array(document):
            self.shapes["Observations"] = replace(self.shapes["Observations"], data_array=True)

    def start_stream(self) -> bool:
        """Read the Datastream (or MultiDatastream) of SOURCE and queue its filtered Observations query.

        False when its description cannot be read: SOURCE is then read as given.
        """
        kind, entity_id = self.stream_target
        document = self.read_root(required=False)
        if document is not None:
            self.offer_data_array(document)
        url = sta.stream_query(self.root, kind, entity_id)
        self.run.links.visit(url)
        try:
            document = fetch_json(self.fetcher, url, **self.run.policy(url))
            page = sta.parse_page(document, sta.Link(url, kind), self.label)
        except FeedStopError:
            raise
        except FeedError as error:
            self.run.warn(f"could not read the description of {redact_url(url)} ({error}); "
                          "SOURCE is read as given and filtered after download")
            return False
        self.first = False
        self.use(page, queue_streams=True)
        return True

    def pending(self) -> bool:
        return bool(self.discovery or self.observation_links)

    def built_url(self, link: sta.Link) -> str:
        """Return the URL of one of the importer's own queries in the current shape of its kind."""
        options = self.run.options
        shape = self.shapes[link.kind]
        if link.kind == "Things":
            return sta.things_query(self.root, options.extent, options.properties or None, self.multi, shape=shape)
        return sta.observations_query(self.root, link.stream, options.start, options.end, shape=shape)

    def step(self) -> bool:
        """Fetch and use the next link; False when the import must end."""
        link = self.discovery.popleft() if self.discovery else self.observation_links.popleft()
        if link.built:
            link = replace(link, url=self.built_url(link))
        document = None
        self.run.links.visit(link.url)
        try:
            document = self.fetch(link)
            page = sta.parse_page(document, link, self.label)
        except FeedStopError:
            raise
        except FeedError as error:
            return self.failed(link, error, document)
        if link.built:
            self.confirmed.add(link.kind)
        self.first = False
        self.failed_in_a_row = 0
        self.use(page)
        return not self.run.stopped

    def fetch(self, link: sta.Link) -> Any:
        """Return the document of ``link``; a query of an unconfirmed shape is asked once before retrying."""
        policy = self.run.policy(link.url, sta.halve_top if link.built else None)
        if not link.built or link.kind in self.confirmed:
            return fetch_json(self.fetcher, link.url, **policy)
        try:
            return fetch_json(self.fetcher, link.url, **{**policy, "retries": 0})
        except FeedStopError:
            raise
        except FeedError as error:
            if _refused(error) or not is_transient(error):
                raise
        return fetch_json(self.fetcher, link.url, **policy)

    def next_link(self) -> sta.Link | None:
        """Return the link ``step`` takes next, or None."""
        queue = self.discovery or self.observation_links
        following = queue[0] if queue else None
        if following is not None and following.built:
            following = replace(following, url=self.built_url(following))
        return following

    def send_ahead(self) -> None:
        """Let a fetcher that can (``prefetch``) request the next page while this one is used.

        Only a link the link guard would accept now; its answer is read by the next ``step``
        through ``get``, under the same rules.
        """
        prefetch = getattr(self.fetcher, "prefetch", None)
        following = self.next_link()
        if prefetch is not None and following is not None and self.run.links.allows(following.url):
            prefetch(following.url)

    def drop_ahead(self) -> None:
        """Abort a request sent ahead that will not be read (the import ends)."""
        drop = getattr(self.fetcher, "drop_prefetch", None)
        if drop is not None:
            drop()

    def simplify(self, link: sta.Link, error: FeedError) -> bool:
        """Ask ``link`` again in a simpler shape after the server refused it; False when none is left."""
        shape = self.shapes[link.kind]
        while True:
            simpler = shape.simpler()
            if simpler is None:
                return False
            shape, dropped = simpler
            self.shapes[link.kind] = shape
            if self.built_url(link) != link.url:
                break
        if dropped == "$filter":
            what = "all Things are read" if link.kind == "Things" else "all observations of the stream are read"
            self.run.warn(f"the server rejected the filter of {redact_url(link.url)} ({error}); "
                          f"{what} and filtered after download")
        (self.discovery if link.kind == "Things" else self.observation_links).appendleft(link)
        return True

    def failed(self, link: sta.Link, error: FeedError, document: Any) -> bool:
        """Handle a page that failed after the retries; False when the import must end."""
        run = self.run
        if link.built and link.kind not in self.confirmed and _refused(error) and self.simplify(link, error):
            return True
        if self.first and isinstance(error, FeedFormatError) and document is not None:
            raise FeedFormatError(f"{error}{_format_hint(json.dumps(document)[:4096], SENSORTHINGS)}") from None
        if self.first:
            raise error
        self.failed_in_a_row += 1
        where = redact_url(link.url)
        run.incomplete(f"skipped a page: {error}" if where in str(error) else f"skipped {where}: {error}")
        if self.failed_in_a_row >= MAX_FAILED_LINKS:
            run.incomplete(f"stopped after {MAX_FAILED_LINKS} failed requests in a row; the import is incomplete")
            return False
        return True

    def use(self, page: sta.Page, queue_streams: bool = False) -> None:
        """Add a page's stations, observations and links."""
        run = self.run
        for station in page.stations:
            run.add_station(station)
        for names, message in page.unsupported:
            if any(run.wanted_property(name) for name in names):
                run.incomplete(message)
        for stream in page.streams:
            if not stream.components:
                stream.property = self.property_names.get(stream.stream_id, stream.property)
            wanted = run.wanted_property(stream.property) or any(run.wanted_property(p) for p, _u in stream.components)
            if wanted and stream.station_id:
                run.relevant.add(stream.station_id)
            if (self.build_queries or queue_streams) and wanted and stream.station_id not in run.excluded:
                self.observation_links.append(sta.Link("", "Observations", stream, stream.station_id, built=True))
            elif queue_streams and not wanted:
                run.warn(f"{stream.path} measures {stream.property or 'no named property'}, not "
                         f"{', '.join(run.options.properties)} (PROPERTY): nothing to import")
        for next_link in page.links:
            (self.observation_links if next_link.kind == "Observations" else self.discovery).append(next_link)
        self.skipped += page.skipped
        if page.observations:
            self.send_ahead()  # the next page arrives while these observations are written
        run.emit(page.observations, more_to_come=self.pending())
        self.done += 1
        run.progress(self.done / (self.done + len(self.discovery) + len(self.observation_links)))
