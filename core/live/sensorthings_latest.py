"""Latest value of every Datastream (and MultiDatastream component) of a SensorThings API service.

The query asks for each Thing with its Locations and Datastreams, each Datastream with its
ObservedProperty and only its newest Observation (MultiDatastreams likewise, when the service
root lists them)::

    Things?$expand=Locations,Datastreams($expand=ObservedProperty,
        Observations($top=1;$orderby=phenomenonTime desc;$select=phenomenonTime,result))

A server that refuses that query (django-ogc-sensorthings 1.2.0 answers a ``$top`` inside an
expansion with HTTP 500) is read stream by stream instead: the Things with their streams, then the
newest Observation of each (``LatestReader``). A collection URL (anything with ``/Things`` or a
query) is used as given. Pages are chained with ``@iot.nextLink``, which is followed unchanged.
A MultiDatastream's components are streams of their own: ``<id>[<i>]`` with their property and unit.
A malformed Thing (members of the wrong type) is skipped and counted, an observation with a time
that cannot be read is left out with a warning: the other stations are shown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from ..sensors import sensorthings as sta
from ..sensors.collect import FeedBuilder, objects
from ..sensors.errors import FeedError, FeedFormatError, FeedHttpError
from ..sensors.jsontext import check_not_html, loads, strip_text
from ..sensors.model import FeedResult
from ..sensors.sensorthings import geometry_centroid
from ..sensors.times import parse_interval
from ..sensors.values import as_number

_NEWEST = "Observations($top=1;$orderby=phenomenonTime desc;$select=phenomenonTime,result)"
LATEST_EXPAND = f"Locations,Datastreams($expand=ObservedProperty,{_NEWEST})"
MULTI_EXPAND = f"MultiDatastreams($expand=ObservedProperties,{_NEWEST})"
#: Characters that stay literal in the query (SensorThings syntax).
_QUERY_SAFE = "$(),;=/'@"
_COMPONENT = re.compile(r"^(?P<id>.*)\[(?P<index>\d+)\]$")
#: Answers that mean "this server does not support that query" (see ``importer.REFUSED_STATUS``).
REFUSED_STATUS = frozenset({400, 422, 500, 501})
#: Conformance class (and ``serverSettings`` key) of SensorThings MQTT updates.
MQTT_CONFORMANCE = "/req/receive-updates-via-mqtt/receive-updates"


def latest_query_url(url: str, page_size: int = 100, multi: bool = False) -> str:
    """Latest-values query for a service root (``.../v1.1``); a collection URL unchanged."""
    text = url.strip()
    if "/Things" in text or "?" in text:
        return text
    expand = LATEST_EXPAND + (f",{MULTI_EXPAND}" if multi else "")
    if sta.major_version(text) == 2:  # 2.0: a Datastream has ObservedProperties, and no MultiDatastreams
        expand = LATEST_EXPAND.replace("ObservedProperty,", "ObservedProperties,")
    expand = quote(expand, safe=_QUERY_SAFE)
    return f"{text.rstrip('/')}/Things?$top={int(page_size)}&$expand={expand}"


def streams_query_url(url: str, page_size: int = 100, multi: bool = False) -> str:
    """Things with Locations and streams, without Observations (for servers that refuse the latest query)."""
    observed = "ObservedProperties" if sta.major_version(url) == 2 else "ObservedProperty"
    expand = f"Locations,Datastreams($expand={observed})" + (",MultiDatastreams($expand=ObservedProperties)"
                                                            if multi else "")
    return f"{url.strip().rstrip('/')}/Things?$top={int(page_size)}&$expand={quote(expand, safe=_QUERY_SAFE)}"


def stream_path(stream_id: str) -> tuple[str, int | None]:
    """``Datastreams(7)``/``Datastreams('uuid')`` of a stream id, or the MultiDatastream and component index."""
    match = _COMPONENT.match(stream_id)
    kind, entity_id, index = "Datastreams", stream_id, None
    if match:
        kind, entity_id, index = "MultiDatastreams", match.group("id"), int(match.group("index"))
    return (f"{kind}({entity_id})" if entity_id.isdigit() else sta.entity_path(kind, entity_id)), index


def newest_url(service_root: str, stream_id: str, count: int = 1, ordered: bool = True) -> str:
    """Query for the ``count`` newest Observations of one stream (``ordered``: ask for newest first)."""
    root = service_root.strip().split("/Things")[0].split("?")[0].rstrip("/")
    path, _index = stream_path(stream_id)
    text = f"$top={int(count)}" + ("&$orderby=phenomenonTime desc" if ordered else "") + \
        "&$select=phenomenonTime,result"
    return f"{root}/{path}/Observations?{quote(text, safe='$&=,')}"


def datastream_series_url(service_root: str, stream_id: str, count: int = 200) -> str:
    """Query for the ``count`` newest Observations of one stream (for a chart)."""
    return newest_url(service_root, stream_id, count)


@dataclass
class StreamRef:
    """A stream seen in a Things page: where its Observations are and what they measure."""

    station_id: str
    stream_id: str
    prop: str
    unit: str


@dataclass
class ServiceInfo:
    """What the service root says: its collections and the MQTT endpoints it offers."""

    collections: set[str] = field(default_factory=set)
    mqtt_endpoints: list[str] = field(default_factory=list)

    @property
    def multi(self) -> bool:
        """Whether the service has MultiDatastreams."""
        return "MultiDatastreams" in self.collections


def service_info(document: Any) -> ServiceInfo:
    """Return the collections and MQTT endpoints of a service root document."""
    info = ServiceInfo(collections=sta.root_collections(document))
    settings = document.get("serverSettings") if isinstance(document, dict) else None
    if isinstance(settings, dict):
        for key, value in settings.items():
            if str(key).rstrip("/").endswith(MQTT_CONFORMANCE) and isinstance(value, dict):
                info.mqtt_endpoints = [str(e) for e in value.get("endpoints") or [] if isinstance(e, str)]
    return info


def parse_latest_page(text: str, source: str, streams: list[StreamRef] | None = None) -> tuple[FeedResult, str]:
    """Stations and newest observations of one page, and the next page's URL ("" at the end).

    ``streams`` collects the streams of the page (for reading them one by one).
    """
    document = _load(text)
    things = document.get("value")
    if not isinstance(things, list):
        raise FeedFormatError("not a SensorThings collection: no 'value' list (is the URL a service root or Things?)")
    builder = FeedBuilder(source)
    for number, thing in enumerate(things, start=1):
        with builder.entity(f"Thing {str(thing.get('@iot.id', number))[:40] if isinstance(thing, dict) else number}"):
            if not isinstance(thing, dict):
                raise FeedFormatError(f"Thing {number} is not a JSON object")
            _read_thing(builder, thing, streams if streams is not None else [])
    result = builder.result()
    next_link = document.get("@iot.nextLink")
    return result, next_link if isinstance(next_link, str) else ""


def parse_series(text: str, source: str, station_id: str, stream_id: str, prop: str, unit: str) -> FeedResult:
    """Observations of one stream (``.../Datastreams(id)/Observations``; a MultiDatastream component)."""
    document = _load(text)
    items = document.get("value")
    if not isinstance(items, list):
        raise FeedFormatError("not a SensorThings Observations collection: no 'value' list")
    builder = FeedBuilder(source)
    station = builder.station(station_id)
    index = stream_path(stream_id)[1]
    for item in items:
        if isinstance(item, dict):
            _observe(builder, station, stream_id, prop, unit, _component(item, index))
    return FeedResult(stations=[], observations=builder.result().observations)


def recent_values(get: Callable[[str], str], service_root: str, station_id: str, stream_id: str, prop: str,
                  unit: str, count: int = 200) -> list[tuple[Any, float]]:
    """(time, value) of the ``count`` newest observations of a stream (server's order if it refuses ``$orderby``)."""
    try:
        text = get(newest_url(service_root, stream_id, count))
    except FeedError as error:
        if not _refused(error):
            raise
        text = get(newest_url(service_root, stream_id, count, ordered=False))
    series = parse_series(text, service_root, station_id, stream_id, prop, unit)
    return [(o.time_end or o.time, o.value) for o in series.observations if o.value is not None]


def _component(item: dict[str, Any], index: int | None) -> dict[str, Any]:
    """Return the observation with only component ``index`` of its result (a MultiDatastream's array)."""
    if index is None:
        return item
    result = item.get("result")
    part = result[index] if isinstance(result, list) and index < len(result) else None
    return {**item, "result": part}


def _load(text: str) -> dict[str, Any]:
    body = strip_text(text)
    if not body:
        raise FeedFormatError("the SensorThings response is empty")
    check_not_html(body)
    try:
        document = loads(body)
    except json.JSONDecodeError as error:
        raise FeedFormatError(f"not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}") from None
    if not isinstance(document, dict):
        raise FeedFormatError("not a SensorThings response: expected a JSON object")
    return document


def _read_thing(builder: FeedBuilder, thing: dict[str, Any], streams: list[StreamRef]) -> None:
    thing_id = thing.get("@iot.id")
    if thing_id is None:
        builder.warn("a Thing without @iot.id was skipped")
        return
    station = builder.station(str(thing_id), str(thing.get("name") or ""))
    position = None
    for location in objects(thing.get("Locations")):
        position = representative_point(location.get("location"))
        if position:
            break
    datastreams = objects(thing.get("Datastreams"))
    if position is None:
        for datastream in datastreams:
            position = representative_point(datastream.get("observedArea"))
            if position:
                break
    if position is not None:
        builder.place(station, *position)
    for datastream in datastreams:
        stream_id = str(datastream.get("@iot.id", ""))
        refused = sta.unsupported_result_type(datastream)
        if refused:
            builder.warn(f"Datastream '{datastream.get('name') or stream_id}': {refused}; it is not shown")
            continue
        prop, unit = sta.stream_property(datastream), sta.stream_unit(datastream)
        streams.append(StreamRef(station.station_id, stream_id, prop, unit))
        for item in objects(datastream.get("Observations"))[:1]:
            _observe(builder, station, stream_id, prop, unit, item)
    for multi in objects(thing.get("MultiDatastreams")):
        _read_multi(builder, station, multi, streams)


def _read_multi(builder: FeedBuilder, station: Any, multi: dict[str, Any], streams: list[StreamRef]) -> None:
    """Each component of a MultiDatastream as a stream of its own (``<id>[<i>]``)."""
    multi_id = str(multi.get("@iot.id", ""))
    units = multi.get("unitOfMeasurements") if isinstance(multi.get("unitOfMeasurements"), list) else []
    props = objects(multi.get("ObservedProperties"))
    newest = objects(multi.get("Observations"))[:1]
    for index in range(max(len(units), len(props))):
        prop = str(props[index].get("name") or "") if index < len(props) else f"{multi.get('name')}[{index}]"
        described = units[index] if index < len(units) and isinstance(units[index], dict) else {}
        unit = str(described.get("symbol") or "")
        stream_id = f"{multi_id}[{index}]"
        streams.append(StreamRef(station.station_id, stream_id, prop, unit))
        for item in newest:
            _observe(builder, station, stream_id, prop, unit, _component(item, index))


def _observe(builder: FeedBuilder, station: Any, stream_id: str, prop: str, unit: str, item: dict[str, Any]) -> None:
    try:
        start, end = parse_interval(item.get("phenomenonTime"), epoch=False)
    except FeedError as error:
        builder.warn(f"Datastream {stream_id}: observation without a usable phenomenonTime ({error})")
        return
    result = item.get("result")
    builder.observe(station, stream_id, prop, unit, start, as_number(result), result, time_end=end)


def representative_point(geometry: Any) -> tuple[float, float] | None:
    """(lon, lat) of a GeoJSON geometry or Feature, the same point the sensor import uses."""
    if isinstance(geometry, dict) and geometry.get("type") == "Feature":
        geometry = geometry.get("geometry")
    return geometry_centroid(geometry) if isinstance(geometry, dict) else None


def _refused(error: FeedError) -> bool:
    return isinstance(error, FeedHttpError) and error.status in REFUSED_STATUS


class LatestReader:
    """One refresh of a SensorThings feed: root, latest-values pages, or stream by stream when refused.

    ``get(url) -> text`` is the transport (it raises FeedError); ``parse`` reads a Things page
    (``parse_latest_page``). ``service`` holds what the root said (None for a collection URL or a
    root that could not be read).
    """

    def __init__(self, get: Callable[[str], str], url: str, source: str, max_pages: int = 200,
                 parse: Callable[..., tuple[FeedResult, str]] = parse_latest_page) -> None:
        self.get, self.url, self.source, self.max_pages, self.parse = get, url.strip(), source, max_pages, parse
        self.service: ServiceInfo | None = None
        self.pages = 0

    def read(self, read_root: bool = True) -> FeedResult:
        """Return the stations and the newest observation of every stream (``read_root``: ask the root first)."""
        collection = "/Things" in self.url or "?" in self.url
        if not collection and read_root:
            self.service = self.read_root()
        multi = self.service is not None and self.service.multi
        try:
            return self.read_pages(latest_query_url(self.url, multi=multi), None)
        except FeedError as error:
            if collection or not _refused(error) or self.pages:
                raise
        streams: list[StreamRef] = []
        combined = self.read_pages(streams_query_url(self.url, multi=multi), streams)
        try:
            names = sta.read_property_map(lambda url: _load(self.get(url)), self.url)
        except FeedError:
            names = {}
        for stream in streams:
            stream.prop = names.get(stream.stream_id, stream.prop)
        combined.warnings.append("the server refused the latest-values query; each stream's newest observation "
                                 "was read on its own")
        self.read_newest(streams, combined)
        return combined

    def read_root(self) -> ServiceInfo | None:
        """Return what the service root says (asked as written, then with or without the slash)."""
        for url in sta.root_candidates(self.url):
            try:
                return service_info(_load(self.get(url)))
            except FeedHttpError as error:
                if error.status != 404:
                    return None
            except FeedFormatError:  # not a root document: the latest-values query decides
                return None
        return None

    def read_pages(self, url: str, streams: list[StreamRef] | None) -> FeedResult:
        """Return all pages from ``url`` on, chained by ``@iot.nextLink``."""
        combined = FeedResult()
        for _page in range(self.max_pages):
            text = self.get(url)
            self.pages += 1
            page, url = self.parse(text, self.source) if streams is None else parse_latest_page(
                text, self.source, streams)
            combined.stations.extend(page.stations)
            combined.observations.extend(page.observations)
            combined.warnings.extend(page.warnings)
            if not url:
                return combined
        combined.complete = False
        combined.warnings.append(f"stopped after {self.max_pages} pages")
        return combined

    def read_newest(self, streams: list[StreamRef], combined: FeedResult) -> None:
        """Add the newest observation of each stream; without ``$orderby`` when the server refuses it."""
        ordered = True
        for stream in streams:
            try:
                text = self.get(newest_url(self.url, stream.stream_id, ordered=ordered))
            except FeedError as error:
                if not (ordered and _refused(error)):
                    raise
                ordered = False  # the server's own order: newest first on django-ogc-sensorthings
                text = self.get(newest_url(self.url, stream.stream_id, ordered=False))
            series = parse_series(text, self.source, stream.station_id, stream.stream_id, stream.prop, stream.unit)
            combined.observations.extend(series.observations[:1])
