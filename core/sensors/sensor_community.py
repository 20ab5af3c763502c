"""Sensor.Community (formerly luftdaten.info) JSON and archive CSV to stations and observations.

Understood:
- API JSON (``data.sensor.community/static/v1/data.json``, ``/airrohr/v1/...``): records
  ``{timestamp, location{id, latitude, longitude}, sensor{id, sensor_type{name}},
  sensordatavalues[{value_type, value}]}``. One station per ``location.id``; its sensors are
  listed in the station properties. Stream ``<location>/<sensor>/<value_type>``.
- Firmware push JSON (what an airRohr sends: ``esp8266id``?, ``software_version``,
  ``sensordatavalues`` with sensor-prefixed types such as ``SDS_P1``, ``BME280_temperature``).
  ``samples``, ``min_micro``, ``max_micro``, ``signal``, ``interval`` are diagnostics and go into
  ``raw``; ``GPS_lat``/``GPS_lon`` give the position. A push has no timestamp: the import time is
  used (with a warning). Station ``esp8266-<id>``, or "unknown" (with a warning) when the id is
  only in the HTTP header. Stream ``<station>/<value_type>``.
- Daily archive CSV (``archive.sensor.community``, ``;``-separated,
  ``sensor_id;sensor_type;location;lat;lon;timestamp;<value columns>``).

Timestamps without a zone are UTC. A record or line with a bad value (a time that cannot be read, a
member of the wrong type) is skipped and counted, the rest read; ``sensordatavalues`` items that are
not objects are left out with a warning. Value types (``QUANTITIES``): P1 -> PM10, P2 -> PM2.5,
P0 -> PM1, P4 -> PM4 (µg/m³), temperature (°C), humidity (%), pressure (Pa), noise_LAeq,
noise_LA_min, noise_LA_max (dB(A)); other numeric types are kept under their own name without unit.
"""

from __future__ import annotations

import csv
from datetime import datetime, timezone
from typing import Any

from .collect import FeedBuilder, member
from .errors import FeedFormatError
from .jsontext import check_not_html, load_documents, looks_like_json, strip_text, text_lines
from .model import FeedResult, Station
from .times import parse_time
from .values import as_number

UNKNOWN = "unknown"
QUANTITIES: dict[str, tuple[str, str]] = {
    "P0": ("PM1", "µg/m³"),
    "P1": ("PM10", "µg/m³"),
    "P2": ("PM2.5", "µg/m³"),
    "P4": ("PM4", "µg/m³"),
    "temperature": ("temperature", "°C"),
    "humidity": ("humidity", "%"),
    "pressure": ("pressure", "Pa"),
    "pressure_at_sealevel": ("pressure_at_sealevel", "Pa"),
    "pressure_sealevel": ("pressure_at_sealevel", "Pa"),
    "noise_LAeq": ("noise_LAeq", "dB(A)"),
    "noise_LA_min": ("noise_LA_min", "dB(A)"),
    "noise_LA_max": ("noise_LA_max", "dB(A)"),
    "counts_per_minute": ("counts_per_minute", "cpm"),
}
DIAGNOSTICS = frozenset(
    {
        "samples",
        "min_micro",
        "max_micro",
        "signal",
        "interval",
        "durP1",
        "ratioP1",
        "durP2",
        "ratioP2",
        "altitude",
        "hv_pulses",
        "counts",
        "sample_time_ms",
        "GPS_height",
        "GPS_date",
        "GPS_time",
        "GPS_timestamp",
    }
)
ARCHIVE_COLUMNS = ("sensor_id", "sensor_type", "location", "lat", "lon", "timestamp")
_SUFFIXES = sorted(QUANTITIES, key=len, reverse=True)


def detect(text: str) -> bool:
    """Tell whether the text looks like Sensor.Community JSON or archive CSV."""
    head = strip_text(text[:4096])
    return '"sensordatavalues"' in head or head.startswith("sensor_id;sensor_type;")


def quantity(value_type: str) -> tuple[str, str]:
    """Return (property, unit) of a value type, with or without a sensor prefix (``SDS_P1`` -> PM10)."""
    if value_type in QUANTITIES:
        return QUANTITIES[value_type]
    for suffix in _SUFFIXES:
        if value_type.endswith("_" + suffix):
            return QUANTITIES[suffix]
    return value_type, ""


def parse(text: str, source: str) -> FeedResult:
    """Stations and observations of a Sensor.Community response or archive; FeedFormatError when malformed."""
    builder = FeedBuilder(source)
    body = strip_text(text)
    check_not_html(body)
    if not body:
        raise FeedFormatError("the feed is empty: no Sensor.Community JSON or CSV to read")
    if looks_like_json(body):
        records = load_documents(body, "JSON")
        for number, record in enumerate(records, start=1):
            with builder.entity(f"record {number}"):
                if not isinstance(record, dict) or not isinstance(record.get("sensordatavalues"), list):
                    raise FeedFormatError(f"record {number} is not a Sensor.Community record: it has no "
                                          "sensordatavalues list")
                if isinstance(record.get("location"), dict):
                    _read_api_record(record, number, builder)
                else:
                    _read_push(record, builder)
    else:
        _read_archive(body, builder)
    return builder.result()


def _read_api_record(record: dict[str, Any], number: int, builder: FeedBuilder) -> None:
    location = record["location"]
    sensor = member(record, "sensor")
    station_id = str(location.get("id", UNKNOWN))
    sensor_id = str(sensor.get("id", UNKNOWN))
    sensor_type = str(member(sensor, "sensor_type").get("name") or "")
    station = builder.station(
        station_id,
        f"Sensor.Community {station_id}",
        country=location.get("country"),
        altitude=as_number(location.get("altitude")),
        indoor=location.get("indoor"),
    )
    station.properties.setdefault("sensors", {})[sensor_id] = sensor_type
    moment = _time(record.get("timestamp"), f"record {number}")
    builder.place(station, location.get("longitude"), location.get("latitude"), moment)
    builder.seen(station, moment)
    for entry in builder.objects(record["sensordatavalues"], f"record {number}: sensordatavalues"):
        value_type = str(entry.get("value_type", ""))
        if value_type in DIAGNOSTICS:
            continue
        prop, unit = quantity(value_type)
        value = as_number(entry.get("value"))
        if value is None:
            continue
        stream_id = f"{station_id}/{sensor_id}/{value_type}"
        builder.observe(station, stream_id, prop, unit, moment, value, entry.get("value"), sensor_type=sensor_type)


def _read_push(record: dict[str, Any], builder: FeedBuilder) -> None:
    chip = record.get("esp8266id") or record.get("esp32id")
    station_id = f"esp8266-{chip}" if record.get("esp8266id") else f"esp32-{chip}" if chip else UNKNOWN
    if not chip:
        builder.warn("the push names no esp8266id (it is in the X-Sensor header): station 'unknown'")
    builder.warn("a firmware push has no timestamp: the import time is used")
    station = builder.station(station_id, station_id, software_version=record.get("software_version"))
    moment = datetime.now(timezone.utc).replace(microsecond=0)
    entries = builder.objects(record["sensordatavalues"], f"push of {station_id}: sensordatavalues")
    values = {str(entry.get("value_type", "")): entry.get("value") for entry in entries}
    diagnostics = {key: value for key, value in values.items() if key in DIAGNOSTICS}
    builder.place(station, values.get("GPS_lon"), values.get("GPS_lat"), moment)
    builder.seen(station, moment)
    for value_type, original in values.items():
        if value_type in DIAGNOSTICS or value_type in ("GPS_lat", "GPS_lon"):
            continue
        value = as_number(original)
        if value is None:
            continue
        prop, unit = quantity(value_type)
        builder.observe(
            station, f"{station_id}/{value_type}", prop, unit, moment, value, original, diagnostics=diagnostics
        )


def _read_archive(body: str, builder: FeedBuilder) -> None:
    reader = csv.reader(text_lines(body), delimiter=";")
    header = [name.strip() for name in next(reader, [])]
    if tuple(header[: len(ARCHIVE_COLUMNS)]) != ARCHIVE_COLUMNS:
        raise FeedFormatError(
            "not a Sensor.Community archive CSV: the header must start with "
            f"{';'.join(ARCHIVE_COLUMNS)}, it is: {';'.join(header)[:200]}"
        )
    value_columns = [name for name in header[len(ARCHIVE_COLUMNS) :] if name and name not in DIAGNOSTICS]
    diagnostic_columns = [name for name in header[len(ARCHIVE_COLUMNS) :] if name in DIAGNOSTICS]
    for number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = dict(zip(header, (cell.strip() for cell in row)))
        with builder.entity(f"line {number}"):
            _read_archive_row(cells, number, value_columns, diagnostic_columns, builder)


def _read_archive_row(cells: dict[str, str], number: int, value_columns: list[str], diagnostic_columns: list[str],
                      builder: FeedBuilder) -> None:
    moment = _time(cells.get("timestamp"), f"line {number}")
    station = _archive_station(cells, builder, moment)
    diagnostics = {name: cells[name] for name in diagnostic_columns if cells.get(name)}
    for column in value_columns:
        original = cells.get(column, "")
        value = as_number(original)
        if value is None:
            continue
        prop, unit = quantity(column)
        builder.observe(station, f"{station.station_id}/{cells.get('sensor_id', '')}/{column}", prop, unit,
                        moment, value, original, diagnostics=diagnostics)


def _archive_station(cells: dict[str, str], builder: FeedBuilder, moment: datetime) -> Station:
    station_id = cells.get("location") or UNKNOWN
    station = builder.station(station_id, f"Sensor.Community {station_id}")
    station.properties.setdefault("sensors", {})[cells.get("sensor_id", "")] = cells.get("sensor_type", "")
    builder.place(station, cells.get("lon"), cells.get("lat"), moment)
    builder.seen(station, moment)
    return station


def _time(value: Any, where: str) -> datetime:
    if not value:
        raise FeedFormatError(f"{where} has no timestamp")
    try:
        return parse_time(value)
    except FeedFormatError as error:
        raise FeedFormatError(f"{where}: {error}") from None
