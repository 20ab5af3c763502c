"""Latest value of every Datastream of a SensorThings API service, in one paged query.

The query asks for each Thing with its Locations and Datastreams, each Datastream with its
ObservedProperty and only its newest Observation::

    Things?$expand=Locations,Datastreams($expand=ObservedProperty,
        Observations($top=1;$orderby=phenomenonTime desc;$select=phenomenonTime,result))

A collection URL (anything with ``/Things`` or a query) is used as given. Pages are chained
with ``@iot.nextLink``, which is followed unchanged. A malformed Thing (members of the wrong type)
is skipped and counted, an observation with a time that cannot be read is left out with a warning:
the other stations are shown.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from ..sensors.collect import FeedBuilder, member, objects
from ..sensors.errors import FeedError, FeedFormatError
from ..sensors.jsontext import check_not_html, loads, strip_text
from ..sensors.model import FeedResult
from ..sensors.sensorthings import geometry_centroid
from ..sensors.times import parse_interval
from ..sensors.values import as_number

LATEST_EXPAND = (
    "Locations,Datastreams($expand=ObservedProperty,"
    "Observations($top=1;$orderby=phenomenonTime desc;$select=phenomenonTime,result))"
)
#: Characters that stay literal in the query (SensorThings syntax).
_QUERY_SAFE = "$(),;=/'@"


def latest_query_url(url: str, page_size: int = 100) -> str:
    """Latest-values query for a service root (``.../v1.1``); a collection URL unchanged."""
    text = url.strip()
    if "/Things" in text or "?" in text:
        return text
    expand = quote(LATEST_EXPAND, safe=_QUERY_SAFE)
    return f"{text.rstrip('/')}/Things?$top={int(page_size)}&$expand={expand}"


def datastream_series_url(service_root: str, stream_id: str, count: int = 200) -> str:
    """Query for the ``count`` newest Observations of one Datastream (for a chart)."""
    root = service_root.strip().split("/Things")[0].split("?")[0].rstrip("/")
    options = quote(f"$top={int(count)}&$orderby=phenomenonTime desc&$select=phenomenonTime,result", safe="$&=,")
    return f"{root}/Datastreams({stream_id})/Observations?{options}"


def parse_latest_page(text: str, source: str) -> tuple[FeedResult, str]:
    """Stations and newest observations of one page, and the next page's URL ("" at the end)."""
    document = _load(text)
    things = document.get("value")
    if not isinstance(things, list):
        raise FeedFormatError("not a SensorThings collection: no 'value' list (is the URL a service root or Things?)")
    builder = FeedBuilder(source)
    for number, thing in enumerate(things, start=1):
        with builder.entity(f"Thing {str(thing.get('@iot.id', number))[:40] if isinstance(thing, dict) else number}"):
            if not isinstance(thing, dict):
                raise FeedFormatError(f"Thing {number} is not a JSON object")
            _read_thing(builder, thing)
    result = builder.result()
    next_link = document.get("@iot.nextLink")
    return result, next_link if isinstance(next_link, str) else ""


def parse_series(text: str, source: str, station_id: str, stream_id: str, prop: str, unit: str) -> FeedResult:
    """Observations of one Datastream (a ``.../Datastreams(id)/Observations`` response)."""
    document = _load(text)
    items = document.get("value")
    if not isinstance(items, list):
        raise FeedFormatError("not a SensorThings Observations collection: no 'value' list")
    builder = FeedBuilder(source)
    station = builder.station(station_id)
    for item in items:
        if isinstance(item, dict):
            _observe(builder, station, stream_id, prop, unit, item)
    return FeedResult(stations=[], observations=builder.result().observations)


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


def _read_thing(builder: FeedBuilder, thing: dict[str, Any]) -> None:
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
        prop = str(member(datastream, "ObservedProperty").get("name") or datastream.get("name") or stream_id)
        unit = str(member(datastream, "unitOfMeasurement").get("symbol") or "")
        for item in objects(datastream.get("Observations"))[:1]:
            _observe(builder, station, stream_id, prop, unit, item)


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
