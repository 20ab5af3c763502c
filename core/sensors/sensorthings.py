"""OGC SensorThings API (v1.0/v1.1, 2.0): queries from a service root, and pages to the common model.

Pure Python. Queries: ``things_query`` (Things with Locations and Datastreams expanded, filtered
by extent and observed property) and ``observations_query`` (one Datastream's Observations,
filtered by phenomenonTime, ordered, paged with ``$top``), each in a ``QueryShape`` that a
server which refuses a query option makes simpler (``QueryShape.simpler``). Pages: ``parse_page`` reads a
collection (``value``) or a single entity of Things, Locations, Datastreams, MultiDatastreams or
Observations (also ``$resultFormat=dataArray``) and returns stations, streams, observations and
the links still to follow: the top-level ``@iot.nextLink`` and nested ``<Rel>@iot.nextLink``,
each exactly as the server wrote it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urlsplit

from .errors import FeedFormatError
from .model import Observation, Station
from .sentinels import screen
from .times import parse_time
from .values import as_number, raw_json, raw_number_json

KINDS = ("Things", "Locations", "Datastreams", "MultiDatastreams", "Observations")
_ROOT = re.compile(r"^(?P<root>[a-z][a-z0-9+.-]*://[^?#]*?/v(?P<major>[12])\.[0-9])(?P<rest>/[^?#]*)?(?:[?#].*)?$",
                   re.IGNORECASE)
_STREAM_PATH = re.compile(r"^/(?P<kind>Datastreams|MultiDatastreams)\((?P<id>[^)]*)\)(/Observations)?/?$")
#: ``$top`` that every server accepts (django-ogc-sensorthings refuses more than 100 with HTTP 422).
SMALL_TOP = 100
#: Conformance class of the dataArray extension (``serverSettings.conformance`` of the service root).
DATA_ARRAY_CONFORMANCE = "/req/data-array"
_SEGMENT = re.compile(r"^(?P<name>[A-Za-z]+)(?:\((?P<id>[^)]*)\))?$")
_TOP = re.compile(r"([?&])\$top=(\d+)")
_QUERY_SAFE = "$(),'/:=&*;@"


@dataclass
class Stream:
    """A Datastream, or one component of a MultiDatastream."""

    stream_id: str
    station_id: str = ""
    property: str = ""
    unit: str = ""
    path: str = ""  #: ``Datastreams(1)`` or ``MultiDatastreams(1)``: where its Observations are
    components: list[tuple[str, str]] = field(default_factory=list)  #: MultiDatastream (property, unit)


@dataclass(frozen=True)
class QueryShape:
    """Which query options the importer's own queries use; ``simpler`` drops one a server refused."""

    top: int = 1000
    data_array: bool = False  #: ``$resultFormat=dataArray`` (where the service offers it)
    orderby: bool = True
    filter: bool = True

    def simpler(self) -> tuple[QueryShape, str] | None:
        """Return the next simpler shape and the option it drops, None when nothing is left to drop."""
        if self.orderby:
            return replace(self, orderby=False), "$orderby"
        if self.data_array:
            return replace(self, data_array=False), "$resultFormat=dataArray"
        if self.top > SMALL_TOP:
            return replace(self, top=SMALL_TOP), f"$top={self.top}"
        if self.filter:
            return replace(self, filter=False), "$filter"
        return None


@dataclass
class Link:
    """A URL still to fetch: what kind of collection it returns and for which stream/station."""

    url: str
    kind: str
    stream: Stream | None = None
    station_id: str = ""
    built: bool = False  #: built by the importer (its ``$top`` may be rewritten), not from the server


@dataclass
class Page:
    """What one response contained."""

    stations: list[Station] = field(default_factory=list)
    streams: list[Stream] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    skipped: int = 0  #: observations without a readable time
    #: what was refused (SensorThings 2.0): (its property names, the message naming it)
    unsupported: list[tuple[list[str], str]] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# URLs


def service_root(url: str) -> str | None:
    """Return the service root (``…/v1.1``) of a SensorThings URL, or None."""
    match = _ROOT.match(url.strip())
    return match.group("root") if match else None


def is_service_root(url: str) -> bool:
    """Tell whether ``url`` is a service root (``…/v1.0``, ``…/v1.1`` or ``…/v2.0``, no path or query after it)."""
    match = _ROOT.match(url.strip())
    return bool(match) and (match.group("rest") or "/") == "/" and "?" not in url


def major_version(url: str) -> int:
    """1 for a SensorThings 1.x URL, 2 for 2.x, 0 when ``url`` is not under a service root."""
    match = _ROOT.match(url.strip())
    return int(match.group("major")) if match else 0


def root_candidates(url: str) -> list[str]:
    """Return the service root as the user wrote it, then with or without its trailing slash.

    FROST answers both; django-ogc-sensorthings only ``…/v1.1/`` (its ``…/v1.1`` is a 404).
    """
    given = url.strip().split("?")[0].split("#")[0]
    other = given.rstrip("/") if given.endswith("/") else given + "/"
    return [given, other]


def stream_source(url: str) -> tuple[str, str] | None:
    """(kind, id in the path) when ``url`` is one Datastream or MultiDatastream, or its Observations, without a query.

    ``…/v1.1/Datastreams('a')/Observations`` -> ("Datastreams", "'a'"); anything else -> None.
    """
    match = _ROOT.match(url.strip())
    if not match or "?" in url:
        return None
    parts = _STREAM_PATH.match(match.group("rest") or "")
    return (parts.group("kind"), parts.group("id")) if parts else None


def stream_query(root: str, kind: str, entity_id: str) -> str:
    """One Datastream or MultiDatastream with its observed property (or properties) and its Thing's Locations."""
    observed = "ObservedProperties" if kind == "MultiDatastreams" or major_version(root) == 2 else "ObservedProperty"
    return f"{root.rstrip('/')}/{kind}({entity_id})?{_encode(f'$expand={observed},Thing($expand=Locations)')}"


def offers_data_array(document: Any) -> bool:
    """Tell whether a service root document lists the dataArray conformance class."""
    settings = document.get("serverSettings") if isinstance(document, dict) else None
    conformance = settings.get("conformance") if isinstance(settings, dict) else None
    return isinstance(conformance, list) and any(
        isinstance(item, str) and item.rstrip("/").endswith(DATA_ARRAY_CONFORMANCE) for item in conformance)


def url_target(url: str) -> tuple[str, Stream | None, str]:
    """(kind, stream, station id) that a collection URL addresses, judged from its path.

    ``…/Datastreams(7)/Observations`` -> ("Observations", Stream "7", ""); ``…/Things(3)/Datastreams``
    -> ("Datastreams", None, "3"); an unknown path -> ("", None, "").
    """
    path = urlsplit(url).path
    match = _ROOT.match(url.strip())
    rest = (match.group("rest") or "") if match else path
    segments = [s for s in rest.split("/") if s]
    kind, stream, station_id = "", None, ""
    for segment in segments:
        parts = _SEGMENT.match(segment)
        if not parts:
            continue
        name, entity_id = parts.group("name"), parts.group("id")
        singular = {"Thing": "Things", "Datastream": "Datastreams", "MultiDatastream": "MultiDatastreams"}
        name = singular.get(name, name)
        if name in KINDS:
            kind = name
        if entity_id is not None:
            key = _unquote_id(entity_id)
            if name == "Things":
                station_id = key
            elif name in ("Datastreams", "MultiDatastreams"):
                stream = Stream(stream_id=key, path=f"{name}({entity_id})")
    return kind, stream, station_id


def entity_path(kind: str, entity_id: Any) -> str:
    """``Datastreams(5)`` or ``Datastreams('a''b')`` for a numeric or text id."""
    if isinstance(entity_id, (int, float)) and not isinstance(entity_id, bool):
        return f"{kind}({entity_id})"
    return "{}('{}')".format(kind, str(entity_id).replace("'", "''"))


def _unquote_id(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    return text


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _encode(query: str) -> str:
    return quote(query, safe=_QUERY_SAFE)


def _time_literal(moment: datetime) -> str:
    moment = moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def property_filter(path: str, properties: list[str]) -> str:
    """OData condition: the observed property's name is one of ``properties`` (case-insensitive)."""
    terms = [f"tolower({path}/name) eq {_literal(p.lower())}" for p in properties]
    return terms[0] if len(terms) == 1 else "(" + " or ".join(terms) + ")"


def extent_polygon(extent: tuple[float, float, float, float]) -> str:
    """WKT polygon of a (xmin, ymin, xmax, ymax) WGS 84 rectangle."""
    xmin, ymin, xmax, ymax = extent
    ring = [(xmin, ymin), (xmax, ymin), (xmax, ymax), (xmin, ymax), (xmin, ymin)]
    return "POLYGON((" + ",".join(f"{x:.7f} {y:.7f}" for x, y in ring) + "))"


def things_query(
    root: str,
    extent: tuple[float, float, float, float] | None = None,
    properties: list[str] | None = None,
    multi: bool = False,
    page_size: int = 1000,
    shape: QueryShape | None = None,
) -> str:
    """Things with Locations and Datastreams (and MultiDatastreams when ``multi``) expanded.

    ``shape`` (default: all options, ``$top`` = ``page_size``) decides ``$top`` and whether the filters are sent.
    """
    shape = shape or QueryShape(top=page_size)
    if not shape.filter:
        extent, properties = None, None
    version2 = major_version(root) == 2  # 2.0: ObservedProperties of a Datastream, filtered after download
    observed = "ObservedProperties" if version2 else "ObservedProperty"
    stream_filter = f"$filter={property_filter(observed, properties)};" if properties and not version2 else ""
    expand = ["Locations", f"Datastreams({stream_filter}$expand={observed},Sensor)"]
    if multi:  # components are filtered by property after parsing
        expand.append("MultiDatastreams($expand=ObservedProperties,Sensor)")
    conditions = []
    if extent is not None:
        conditions.append(f"st_within(Locations/location, geography{_literal(extent_polygon(extent))})")
    if properties and not multi and not version2:
        conditions.append(property_filter("Datastreams/ObservedProperty", properties))
    query = f"$expand={','.join(expand)}&$top={int(shape.top)}"
    if conditions:
        query += "&$filter=" + " and ".join(conditions)
    return f"{root.rstrip('/')}/Things?{_encode(query)}"


def observations_query(
    root: str, stream: Stream, start: datetime | None = None, end: datetime | None = None, page_size: int = 1000,
    shape: QueryShape | None = None,
) -> str:
    """One stream's Observations (``$select``: time and result) in time order, filtered by phenomenonTime.

    ``shape`` (default: ordered, filtered, ``$top`` = ``page_size``) decides which options are sent.
    """
    shape = shape or QueryShape(top=page_size)
    conditions = []
    if start is not None and shape.filter:
        conditions.append(f"phenomenonTime ge {_time_literal(start)}")
    if end is not None and shape.filter:
        conditions.append(f"phenomenonTime le {_time_literal(end)}")
    query = "$resultFormat=dataArray&" if shape.data_array else ""
    query += "$select=phenomenonTime,result"
    if shape.orderby:
        query += "&$orderby=phenomenonTime asc"
    query += f"&$top={int(shape.top)}"
    if conditions:
        query += "&$filter=" + " and ".join(conditions)
    return f"{root.rstrip('/')}/{stream.path}/Observations?{_encode(query)}"


def properties_query(root: str, page_size: int = SMALL_TOP) -> str:
    """ObservedProperties with the ids of their Datastreams (a to-many expansion).

    The name of each Datastream's property without trusting an expanded to-one relation:
    django-ogc-sensorthings 1.2.0 gives every Datastream of a collection the same expanded
    ObservedProperty (the first one), while its to-many expansions are right.
    """
    query = f"$select=id,name&$expand=Datastreams($select=id)&$top={int(page_size)}"
    return f"{root.rstrip('/')}/ObservedProperties?{_encode(query)}"


def read_property_map(get_document: Callable[[str], Any], root: str, max_pages: int = 50) -> dict[str, str]:
    """Datastream id -> ObservedProperty name, from ``properties_query`` and its nextLinks (``get_document(url)``)."""
    names: dict[str, str] = {}
    url = properties_query(root)
    for _page in range(max_pages):
        document = get_document(url)
        items = document.get("value") if isinstance(document, dict) else None
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and item.get("name"):
                for stream in item.get("Datastreams") or []:
                    if isinstance(stream, dict) and stream.get("@iot.id") is not None:
                        names[str(stream["@iot.id"])] = str(item["name"])
        url = document.get("@iot.nextLink") if isinstance(document, dict) else None
        if not isinstance(url, str) or not url:
            break
    return names


def set_top(url: str, size: int) -> str:
    """``url`` with its ``$top`` replaced by ``size``."""
    return _TOP.sub(lambda m: f"{m.group(1)}$top={max(1, int(size))}", url, count=1)


def halve_top(url: str) -> str:
    """``url`` with half its ``$top`` (at least 1): a smaller page after repeated failures."""
    match = _TOP.search(url)
    return set_top(url, int(match.group(2)) // 2) if match else url


# ---------------------------------------------------------------------------------------------
# Pages


def root_collections(document: Any) -> set[str]:
    """Names of the entity sets a service root document lists (``{"value": [{"name": ...}]}``)."""
    items = document.get("value") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise FeedFormatError("the service root does not list its collections ('value' is missing)")
    return {str(item.get("name")) for item in items if isinstance(item, dict)}


def parse_page(document: Any, link: Link, source: str) -> Page:
    """Stations, streams, observations and further links in one response to ``link``."""
    if not isinstance(document, dict):
        raise FeedFormatError(f"a SensorThings response must be a JSON object, not {type(document).__name__}")
    page = Page()
    if isinstance(document.get("value"), list):
        items = document["value"]
        next_link = document.get("@iot.nextLink")
        if isinstance(next_link, str) and next_link:
            page.links.append(Link(next_link, link.kind, link.stream, link.station_id))
    elif "@iot.id" in document or "result" in document or "dataArray" in document:
        items = [document]
    else:
        raise FeedFormatError("not a SensorThings response: neither a collection ('value') nor an entity ('@iot.id')")
    kind = link.kind or _guess_kind(items)
    reader = _PageReader(page, source)
    if kind == "Observations" and link.stream is not None and not link.stream.components:
        reader.plain_observations(items, link.stream, link.station_id)
        return page
    for item in items:
        if isinstance(item, dict):
            reader.entity(kind, item, link.stream, link.station_id)
    return page


def _guess_kind(items: list[Any]) -> str:
    sample = next((item for item in items if isinstance(item, dict)), {})
    if {"dataArray", "result"} & sample.keys() or ("phenomenonTime" in sample and "unitOfMeasurement" not in sample):
        return "Observations"
    if "unitOfMeasurements" in sample:
        return "MultiDatastreams"
    if "unitOfMeasurement" in sample:
        return "Datastreams"
    if "location" in sample:
        return "Locations"
    return "Things"


class _PageReader:
    """Walks the entities of one page, nested expansions included."""

    def __init__(self, page: Page, source: str) -> None:
        self.page = page
        self.source = source

    def entity(self, kind: str, item: dict[str, Any], stream: Stream | None, station_id: str) -> None:
        if kind == "Things":
            self.thing(item)
        elif kind == "Locations":
            self.location(item)
        elif kind in ("Datastreams", "MultiDatastreams"):
            self.datastream(item, station_id, multi=kind == "MultiDatastreams")
        elif kind == "Observations":
            if "dataArray" in item:
                self.data_array(item, stream, station_id)
            else:
                self.observation(item, stream, station_id)

    def nested(self, item: dict[str, Any], relation: str, kind: str, stream: Stream | None, station_id: str) -> list:
        """Return the expanded entities of ``relation``; queue its nextLink."""
        link = item.get(f"{relation}@iot.nextLink")
        if isinstance(link, str) and link:
            self.page.links.append(Link(link, kind, stream, station_id))
        entities = item.get(relation)
        return [e for e in entities if isinstance(e, dict)] if isinstance(entities, list) else []

    def thing(self, item: dict[str, Any]) -> Station:
        station_id = _id(item)
        properties = dict(item["properties"]) if isinstance(item.get("properties"), dict) else {}
        if item.get("description"):
            properties.setdefault("description", item["description"])
        station = Station(station_id=station_id, name=str(item.get("name") or station_id), properties=properties,
                          source=self.source)
        for location in self.nested(item, "Locations", "Locations", None, station_id):
            if station.lon is None:
                _place(station, location.get("location"))
        datastreams = self.nested(item, "Datastreams", "Datastreams", None, station_id)
        for datastream in datastreams:
            self.datastream(datastream, station_id, multi=False)
        for datastream in self.nested(item, "MultiDatastreams", "MultiDatastreams", None, station_id):
            self.datastream(datastream, station_id, multi=True)
        for datastream in datastreams:  # no Location: the observed area of a Datastream
            if station.lon is None and isinstance(datastream.get("observedArea"), dict):
                _place(station, datastream["observedArea"])
        self.page.stations.append(station)
        return station

    def location(self, item: dict[str, Any]) -> None:
        for thing in self.nested(item, "Things", "Things", None, ""):
            station = self.thing(thing)
            if station.lon is None:
                _place(station, item.get("location"))

    def datastream(self, item: dict[str, Any], station_id: str, multi: bool) -> Stream:
        kind = "MultiDatastreams" if multi else "Datastreams"
        thing = item.get("Thing")
        if isinstance(thing, dict):
            station_id = self.thing(thing).station_id
        name = str(item.get("name") or "")
        if multi:
            units = item.get("unitOfMeasurements") if isinstance(item.get("unitOfMeasurements"), list) else []
            props = [p for p in item.get("ObservedProperties") or [] if isinstance(p, dict)]
            size = max(len(units), len(props), len(item.get("multiObservationDataTypes") or []))
            components = [
                (
                    str(props[i].get("name")) if i < len(props) else f"{name}[{i}]",
                    _unit(units[i]) if i < len(units) else "",
                )
                for i in range(size)
            ]
            stream = Stream(_id(item), station_id, name, "", entity_path(kind, item.get("@iot.id")), components)
        else:
            stream = Stream(_id(item), station_id, stream_property(item), stream_unit(item),
                            entity_path(kind, item.get("@iot.id")))
            refused = unsupported_result_type(item)
            if refused:
                names = [str(p.get("name")) for p in item.get("ObservedProperties") or [] if isinstance(p, dict)]
                self.page.unsupported.append((names or [stream.property],
                                              f"Datastream '{name or stream.stream_id}': {refused}; it was skipped"))
                return stream
        self.page.streams.append(stream)
        for observation in self.nested(item, "Observations", "Observations", stream, station_id):
            if "dataArray" in observation:
                self.data_array(observation, stream, station_id)
            else:
                self.observation(observation, stream, station_id)
        return stream

    def observation(self, item: dict[str, Any], stream: Stream | None, station_id: str) -> None:
        stream = self._stream_of(item, stream, station_id)
        self.add(stream, item.get("phenomenonTime") or item.get("resultTime"), item.get("result"))

    def data_array(self, item: dict[str, Any], stream: Stream | None, station_id: str) -> None:
        stream = self._stream_of(item, stream, station_id)
        components = item.get("components")
        rows = item.get("dataArray")
        if not isinstance(components, list) or not isinstance(rows, list):
            raise FeedFormatError("a dataArray response needs 'components' and 'dataArray' lists")
        index = {str(name): i for i, name in enumerate(components)}
        if "result" not in index or not ({"phenomenonTime", "resultTime"} & index.keys()):
            raise FeedFormatError("dataArray components must include 'result' and 'phenomenonTime'")
        time_at = index.get("phenomenonTime", index.get("resultTime"))
        result_at = index["result"]
        for row in rows:
            if isinstance(row, list) and len(row) > max(time_at, result_at):
                self.add(stream, row[time_at], row[result_at])

    def plain_observations(self, items: list[Any], stream: Stream, station_id: str) -> None:
        """Read the usual page, one stream's Observations (``phenomenonTime``, ``result``), in one tight loop.

        Same observations as ``observation`` item by item; entities with an expanded Datastream or a
        dataArray take the general path.
        """
        append = self.page.observations.append
        prefix = (stream.station_id, stream.stream_id, stream.property, stream.unit)
        source, interval = self.source, _cached_interval
        for item in items:
            if not isinstance(item, dict):
                continue
            if "dataArray" in item or "Datastream" in item or "MultiDatastream" in item:
                self.entity("Observations", item, stream, station_id)
                continue
            try:
                start, end = interval(item.get("phenomenonTime") or item.get("resultTime"))
            except FeedFormatError:
                self.page.skipped += 1
                continue
            result = item.get("result")
            if type(result) is float and -998.0 < result < 1e308:  # finite, no sentinel: raw_number_json inline
                append(Observation(*prefix, start, result, '{"value":' + float.__repr__(result) + "}", source, end))
                continue
            if type(result) is int and -998 < result < 1e308:
                value, flag = float(result), ""
            else:
                value, flag = screen(as_number(result))
            append(Observation(*prefix, start, value, raw_number_json(result), source, end, flag))

    def _stream_of(self, item: dict[str, Any], stream: Stream | None, station_id: str) -> Stream:
        for relation, multi in (("Datastream", False), ("MultiDatastream", True)):
            expanded = item.get(relation)
            if isinstance(expanded, dict):
                return self.datastream(expanded, station_id, multi)
            link = item.get(f"{relation}@iot.navigationLink")
            if stream is None and isinstance(link, str):
                _kind, linked, _station = url_target(link)
                if linked is not None:
                    return linked
        return stream or Stream(stream_id="", station_id=station_id)

    def add(self, stream: Stream, when: Any, result: Any) -> None:
        try:
            start, end = _interval(when)
        except FeedFormatError:
            self.page.skipped += 1
            return
        if stream.components:
            values = result if isinstance(result, list) else [None] * len(stream.components)
            for i, (prop, unit) in enumerate(stream.components):
                part = values[i] if i < len(values) else None
                self._append(stream, f"{stream.stream_id}[{i}]", prop, unit, start, end, part)
        else:
            self._append(stream, stream.stream_id, stream.property, stream.unit, start, end, result)

    def _append(self, stream: Stream, stream_id: str, prop: str, unit: str, start: datetime, end: datetime | None,
                result: Any) -> None:
        value, flag = screen(as_number(result))
        raw = raw_json(result)
        self.page.observations.append(
            Observation(stream.station_id, stream_id, prop, unit, start, value, raw, self.source, end, flag)
        )


def _id(item: dict[str, Any]) -> str:
    value = item.get("@iot.id", item.get("id"))
    if value is None:
        raise FeedFormatError("a SensorThings entity without '@iot.id'")
    return str(value)


def stream_property(item: dict[str, Any]) -> str:
    """Return the name of a Datastream's ObservedProperty (2.0: the first of its ObservedProperties), else its name."""
    observed = item.get("ObservedProperty")
    if not isinstance(observed, dict):
        listed = [p for p in item.get("ObservedProperties") or [] if isinstance(p, dict)]
        observed = listed[0] if listed else None
    if isinstance(observed, dict) and observed.get("name"):
        return str(observed["name"])
    return str(item.get("name") or item.get("@iot.id") or "")


def stream_unit(item: dict[str, Any]) -> str:
    """Return the unit symbol of a Datastream: ``unitOfMeasurement`` (1.x) or its ``resultType``'s uom (2.0)."""
    return _unit(item.get("unitOfMeasurement")) or _swe_unit(item.get("resultType"))


def _swe_unit(result_type: Any) -> str:
    """Return the unit of a SensorThings 2.0 ``resultType`` (SWE Common Quantity: ``uom.symbol`` or ``code``)."""
    uom = result_type.get("uom") if isinstance(result_type, dict) else None
    return str(uom.get("symbol") or uom.get("code") or "") if isinstance(uom, dict) else ""


def unsupported_result_type(item: dict[str, Any]) -> str:
    """Why a (2.0) Datastream cannot be read, "" when it can: a record or array of results per observation."""
    result_type = item.get("resultType")
    kind = str(result_type.get("type") or "") if isinstance(result_type, dict) else ""
    if kind in ("DataRecord", "DataArray", "Vector", "Matrix"):
        return (f"SensorThings 2.0 resultType {kind} (several results per observation) is not supported; "
                "import a Datastream whose resultType is a Quantity, Count, Boolean, Category or Text")
    return ""


def _unit(unit: Any) -> str:
    if isinstance(unit, dict):
        return str(unit.get("symbol") or unit.get("name") or "")
    return ""


def _instant(text: Any) -> datetime:
    if isinstance(text, str):
        try:  # fast path for the usual "2024-06-10T07:59:03.440Z"
            moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
            if moment.tzinfo is not None:
                return moment.astimezone(timezone.utc)
        except (ValueError, OverflowError):  # parse_time names the problem (9999-12-31T23:00-14:00: out of range)
            pass
    return parse_time(text, epoch=False)  # SensorThings times are ISO 8601 (OGC 18-088)


_INTERVALS: dict[str, tuple[datetime, datetime | None]] = {}
_INTERVALS_MAX = 20_000


def _cached_interval(value: Any) -> tuple[datetime, datetime | None]:
    """``_interval`` with the answers for time texts kept (streams of one feed share their times)."""
    if type(value) is not str:
        return _interval(value)
    known = _INTERVALS.get(value)
    if known is None:
        known = _interval(value)
        if len(_INTERVALS) >= _INTERVALS_MAX:
            _INTERVALS.clear()
        _INTERVALS[value] = known
    return known


def _interval(value: Any) -> tuple[datetime, datetime | None]:
    if value is None:
        raise FeedFormatError("no phenomenonTime")
    if isinstance(value, str) and "/" in value:
        start_text, end_text = value.split("/", 1)
        start, end = _instant(start_text), _instant(end_text)
        return (start, end) if end >= start else (end, start)
    return _instant(value), None


# ---------------------------------------------------------------------------------------------
# Locations


def _place(station: Station, location: Any) -> None:
    """Put ``station`` at a GeoJSON geometry (or Feature); non-points at their centroid, kept as footprint."""
    geometry = location
    if isinstance(geometry, dict) and geometry.get("type") == "Feature":
        geometry = geometry.get("geometry")
    elif isinstance(geometry, dict) and geometry.get("type") == "FeatureCollection":
        features = geometry.get("features") or [{}]
        geometry = features[0].get("geometry") if isinstance(features[0], dict) else None
    if not isinstance(geometry, dict):
        return
    point = geometry_centroid(geometry)
    if point is None:
        return
    station.lon, station.lat = point
    if geometry.get("type") != "Point":
        station.properties["footprint"] = geometry


def geometry_centroid(geometry: dict[str, Any]) -> tuple[float, float] | None:
    """Point of a GeoJSON geometry: itself, area-weighted polygon centroid, else the vertex mean."""
    kind, coordinates = geometry.get("type"), geometry.get("coordinates")
    try:
        if kind == "Point":
            x, y = float(coordinates[0]), float(coordinates[1])
            return (x, y) if math.isfinite(x) and math.isfinite(y) else None
        if kind in ("Polygon", "MultiPolygon"):
            polygons = [coordinates] if kind == "Polygon" else coordinates
            result = _polygons_centroid(polygons)
            if result is not None:
                return result
        if kind == "GeometryCollection":
            parts = [geometry_centroid(g) for g in geometry.get("geometries") or [] if isinstance(g, dict)]
            parts = [p for p in parts if p]
            return _mean(parts) if parts else None
        return _mean(list(_vertices(coordinates)))
    except (TypeError, ValueError, IndexError):
        return None


def _polygons_centroid(polygons: list) -> tuple[float, float] | None:
    area = cx = cy = 0.0
    for polygon in polygons:
        for ring_index, ring in enumerate(polygon):
            a, x, y = _ring_moments(ring)
            sign = 1.0 if ring_index == 0 else -1.0
            area += sign * a
            cx += sign * x
            cy += sign * y
    if abs(area) < 1e-18:
        return None
    return cx / area, cy / area


def _ring_moments(ring: list) -> tuple[float, float, float]:
    """|area| and first moments of a ring (orientation-independent)."""
    points = [(float(p[0]), float(p[1])) for p in ring]
    if len(points) < 3:
        return 0.0, 0.0, 0.0
    x0, y0 = points[0]  # shifted for precision
    a = mx = my = 0.0
    for (xa, ya), (xb, yb) in zip(points, points[1:] + points[:1]):
        xa, ya, xb, yb = xa - x0, ya - y0, xb - x0, yb - y0
        cross = xa * yb - xb * ya
        a += cross
        mx += (xa + xb) * cross
        my += (ya + yb) * cross
    a /= 2.0
    if a == 0:
        return 0.0, 0.0, 0.0
    cx, cy = mx / (6.0 * a) + x0, my / (6.0 * a) + y0
    return abs(a), cx * abs(a), cy * abs(a)


def _vertices(coordinates: Any):
    if isinstance(coordinates, list) and coordinates and isinstance(coordinates[0], (int, float)):
        yield float(coordinates[0]), float(coordinates[1])
    elif isinstance(coordinates, list):
        for part in coordinates:
            yield from _vertices(part)


def _mean(points: list[tuple[float, float]]) -> tuple[float, float] | None:
    if not points:
        return None
    return sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points)

