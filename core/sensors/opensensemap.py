"""openSenseMap JSON and CSV to stations and observations.

Understood: a box (``GET /boxes/:id``), a box list (``GET /boxes``, minimal or full), and
measurements of one sensor (``GET /boxes/:id/data/:sensorId``) as JSON (``[{value, createdAt,
location?}]``) or CSV (``createdAt,value`` plus optional ``lat``, ``lon``, ``boxId``,
``sensorId``, ``phenomenon``, ``unit``). Station = box (``_id``, ``name``,
``currentLocation.coordinates`` = [lon, lat, height?]). A box's sensors give one observation
each from ``lastMeasurement`` (property = sensor ``title``, unit = ``unit``, stream
``<box id>/<sensor id>``). Values are strings in openSenseMap and are read as numbers.
Measurements carry no box: the box and sensor ids are taken from a source URL containing
``/boxes/<id>/data/<sensorId>``, else the station is "unknown" (with a warning); their
property and unit are empty (a warning says to import the box for titles and units). A box, sensor
or measurement with a bad value (a time that cannot be read: NaN or huge epochs, year 9999 with
-14:00; a member of the wrong type) is skipped and counted, the rest read.
"""

from __future__ import annotations

import csv
import re
from datetime import datetime
from typing import Any

from .collect import FeedBuilder, member, objects
from .errors import FeedFormatError
from .jsontext import check_not_html, load_documents, looks_like_json, strip_text, text_lines
from .model import FeedResult, Station
from .times import parse_time
from .values import as_number

UNKNOWN = "unknown"
_DATA_URL = re.compile(r"/boxes/(?P<box>[^/?#]+)/data/(?P<sensor>[^/?#]+)")


def detect(text: str) -> bool:
    """Tell whether the text looks like openSenseMap JSON or measurement CSV."""
    head = strip_text(text[:4096])
    if looks_like_json(head):
        return '"currentLocation"' in head or ('"sensors"' in head and '"_id"' in head) or (
            '"createdAt"' in head and '"value"' in head and '"sensordatavalues"' not in head
        )
    header = [name.strip() for name in re.split(r"[,;]", head.split("\n", 1)[0])]
    return "createdAt" in header and "value" in header


def parse(text: str, source: str) -> FeedResult:
    """Stations and observations of an openSenseMap response; FeedFormatError when malformed."""
    builder = FeedBuilder(source)
    body = strip_text(text)
    check_not_html(body)
    if not body:
        raise FeedFormatError("the feed is empty: no openSenseMap JSON or CSV to read")
    if looks_like_json(body):
        items = load_documents(body, "JSON")
        if items and all(isinstance(item, dict) and "_id" in item for item in items):
            for item in items:
                with builder.entity(f"box {str(item['_id'])[:40]}"):
                    _read_box(item, builder)
        elif all(isinstance(item, dict) and "createdAt" in item and "value" in item for item in items):
            _read_measurements(items, builder, source, "item")
        else:
            raise FeedFormatError(
                "not openSenseMap JSON: expected a box (_id, sensors), a list of boxes, "
                "or measurements (createdAt, value)"
            )
    else:
        _read_measurements(_csv_records(body), builder, source, "line")
    return builder.result()


def _read_box(box: dict[str, Any], builder: FeedBuilder) -> None:
    box_id = str(box["_id"])
    sensors = [sensor for sensor in box.get("sensors") or [] if isinstance(sensor, dict)]
    station = builder.station(
        box_id,
        str(box.get("name") or ""),
        exposure=box.get("exposure"),
        model=box.get("model"),
        grouptag=box.get("grouptag") or None,
        sensors=[
            {key: sensor.get(key) for key in ("_id", "title", "unit", "sensorType") if sensor.get(key) is not None}
            for sensor in sensors
        ]
        or None,
    )
    _place_box(box, station, builder)
    if box.get("lastMeasurementAt"):
        with builder.entity(f"box {box_id}: lastMeasurementAt"):
            builder.seen(station, _time(box["lastMeasurementAt"], f"box {box_id}"))
    for sensor in sensors:
        last = sensor.get("lastMeasurement")
        if not isinstance(last, dict) or "value" not in last or not last.get("createdAt"):
            continue
        sensor_id = str(sensor.get("_id", ""))
        with builder.entity(f"box {box_id}, sensor {sensor_id}"):
            builder.observe(
                station,
                f"{box_id}/{sensor_id}",
                str(sensor.get("title") or ""),
                str(sensor.get("unit") or ""),
                _time(last["createdAt"], f"box {box_id}, sensor {sensor_id}"),
                as_number(last["value"]),
                last["value"],
                sensor_type=sensor.get("sensorType"),
            )


def _place_box(box: dict[str, Any], station: Station, builder: FeedBuilder) -> None:
    coordinates = member(box, "currentLocation").get("coordinates")
    if coordinates is None:
        legacy = objects(box.get("loc"))
        coordinates = member(legacy[0], "geometry").get("coordinates") if legacy else None
    if isinstance(coordinates, list) and len(coordinates) >= 2:
        builder.place(station, coordinates[0], coordinates[1])
        if len(coordinates) >= 3 and coordinates[2] is not None:
            station.properties["height"] = coordinates[2]


def _read_measurements(records: list[dict[str, Any]], builder: FeedBuilder, source: str, unit_name: str) -> None:
    match = _DATA_URL.search(source)
    box_id, sensor_id = (match.group("box"), match.group("sensor")) if match else (UNKNOWN, UNKNOWN)
    if not match and not any(record.get("boxId") for record in records):
        builder.warn(
            "the measurements name no box: station 'unknown' (use the URL /boxes/<id>/data/<sensorId> as SOURCE)"
        )
    unnamed = False
    for number, record in enumerate(records, start=1):
        with builder.entity(f"{unit_name} {number}"):
            unnamed = _read_measurement(record, number, (box_id, sensor_id), builder, unit_name) or unnamed
    if unnamed:
        builder.warn("the measurements carry no property or unit: import the box (GET /boxes/<id>) for them")


def _read_measurement(record: dict[str, Any], number: int, ids: tuple[str, str], builder: FeedBuilder,
                      unit_name: str) -> bool:
    """Add one measurement; True when it names no property."""
    station_id = str(record.get("boxId") or ids[0])
    sensor = str(record.get("sensorId") or ids[1])
    moment = _time(record["createdAt"], f"{unit_name} {number}")
    station = builder.station(station_id, station_id)
    location = _record_location(record)
    if location is not None:
        builder.place(station, location[0], location[1], moment)
    prop = str(record.get("phenomenon") or record.get("title") or "")
    builder.observe(
        station,
        f"{station_id}/{sensor}",
        prop,
        str(record.get("unit") or ""),
        moment,
        as_number(record["value"]),
        record["value"],
        location=record.get("location") if location else None,
    )
    return not prop


def _record_location(record: dict[str, Any]) -> tuple[float, float] | None:
    location = record.get("location")
    if isinstance(location, dict):
        location = location.get("coordinates")
    if isinstance(location, list) and len(location) >= 2:
        lon, lat = as_number(location[0]), as_number(location[1])
    else:
        lon, lat = as_number(record.get("lon")), as_number(record.get("lat"))
    return (lon, lat) if lon is not None and lat is not None else None


def _csv_records(body: str) -> list[dict[str, Any]]:
    header = body.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.DictReader(text_lines(body), delimiter=delimiter)
    fields = [name.strip() for name in reader.fieldnames or []]
    if "createdAt" not in fields or "value" not in fields:
        raise FeedFormatError(
            f"not openSenseMap measurement CSV: the header needs createdAt and value, it is: {header.strip()[:200]}"
        )
    reader.fieldnames = fields
    return [{key: (value or "").strip() for key, value in row.items() if key} for row in reader if row.get("createdAt")]


def _time(value: Any, where: str) -> datetime:
    try:
        return parse_time(value)
    except FeedFormatError as error:
        raise FeedFormatError(f"{where}: {error}") from None
