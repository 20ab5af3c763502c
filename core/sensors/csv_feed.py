"""Generic CSV observations to stations and observations, with a column mapping.

Columns are named by a ``CsvMapping``; a field left None is found from the header
(``CANDIDATES``, case-insensitive; spaces and hyphens count as underscores). The delimiter is
sniffed among ``, ; TAB |``; with a delimiter other than a comma, a decimal comma is accepted
("12,5"). Times are ISO 8601 (zone-less = UTC) or intervals ``start/end``; bare numbers are epoch
times only in an epoch column: its header names it (``epoch``, ``unix`` in the name) or every
sampled time cell is a number. Elsewhere a number in the time column skips the row.

Two layouts:
- long: one value column, and optionally a property and a unit column (one row = one value);
- wide: no value column; every column with numbers whose name is not one of the role names
  (``CANDIDATES``) is one property, named by its header, the unit taken from a ``name [unit]``
  or ``name (unit)`` header (one row = several values). ``CsvMapping.value_columns`` picks them
  explicitly.

No station column: all rows belong to one station named after the source file (warning).
Station lon/lat are optional (WGS 84); the latest row's position wins. Rows with a time that
cannot be read, rows with more or fewer cells than the header (never shifted into other
columns) and rows with a field longer than ``MAX_FIELD_CHARS`` are skipped and counted with a
warning. An empty value cell is an observation with a NULL value
in the long layout (the row says the stream had no value at that time) and no observation in the
wide layout (a cell of a sensor that did not report); a value that is not a number is kept as NULL
with ``flag="invalid"``.
"""

from __future__ import annotations

import contextlib
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from .collect import FeedBuilder
from .errors import FeedFormatError
from .jsontext import check_not_html, looks_like_json, strip_text, text_lines
from .model import FeedResult
from .times import parse_interval
from .values import as_number

DELIMITERS = ",;\t|"
CANDIDATES: dict[str, tuple[str, ...]] = {
    "time": (
        "time", "timestamp", "datetime", "date_time", "date", "createdat", "created_at", "phenomenontime",
        "phenomenon_time", "resulttime", "result_time", "received_at", "zeit", "zeitstempel", "datum",
        "epoch", "epoch_time", "unix_time", "unixtime", "unix_timestamp",
    ),
    "value": ("value", "result", "measurement", "reading", "wert", "messwert"),
    "station": (
        "station_id", "stationid", "station", "sensor_id", "sensorid", "device_id", "deviceid", "device", "dev_id",
        "thing_id", "thing", "location_id", "box_id", "boxid", "id",
    ),
    "lon": ("lon", "lng", "long", "longitude", "x"),
    "lat": ("lat", "latitude", "y"),
    "property": (
        "property", "observed_property", "observedproperty", "phenomenon", "sensor_type", "value_type", "parameter",
        "variable", "quantity",
    ),
    "unit": ("unit", "units", "uom", "unit_of_measurement", "unitofmeasurement", "einheit"),
    "stream": ("stream_id", "stream", "datastream_id", "datastream"),
    "name": ("name", "station_name", "stationname"),
    "time_end": ("time_end", "end_time", "endtime", "end"),
}  # fmt: skip
_UNIT_IN_HEADER = re.compile(r"^(?P<name>.*?)\s*[\[(](?P<unit>[^\])]*)[\])]\s*$")
_BARE_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
MAX_ROW_WARNINGS = 10
#: Python's csv default (128 KiB); a longer field skips its row.
MAX_FIELD_CHARS = csv.field_size_limit()


@dataclass
class CsvMapping:
    """Column names for the roles of a CSV feed; None = find it from the header."""

    time: str | None = None
    value: str | None = None
    station: str | None = None
    lon: str | None = None
    lat: str | None = None
    property: str | None = None
    unit: str | None = None
    stream: str | None = None
    delimiter: str | None = None
    name: str | None = None
    time_end: str | None = None
    value_columns: tuple[str, ...] = ()


def detect(text: str) -> bool:
    """Tell whether the text looks like a delimited table with a time column."""
    head = strip_text(text[:4096])
    if not head or looks_like_json(head) or head.startswith("<"):
        return False
    header = head.split("\n", 1)[0]
    delimiter = _delimiter(head)
    names = {_normalise(name) for name in header.split(delimiter)}
    return len(names) > 1 and bool(names & set(CANDIDATES["time"]))


def parse(text: str, source: str, mapping: CsvMapping | None = None) -> FeedResult:
    """Stations and observations of a CSV feed; FeedFormatError when the table cannot be read."""
    mapping = mapping or CsvMapping()
    body = strip_text(text)
    if not body:
        raise FeedFormatError("the feed is empty: no CSV to read")
    check_not_html(body)
    if looks_like_json(body):
        raise FeedFormatError("JSON, not CSV: choose the FORMAT that matches the service")
    delimiter = mapping.delimiter or _delimiter(body)
    reader = csv.reader(text_lines(body), delimiter=delimiter)
    try:
        header = [name.strip() for name in next(reader)]
    except csv.Error as error:
        raise FeedFormatError(f"the CSV header cannot be read: {error}") from None
    roles = _resolve(header, mapping)
    value_columns = _value_columns(header, roles, mapping, body, delimiter)
    epoch = _epoch_column(header[roles["time"]], body, delimiter, roles["time"])
    builder = FeedBuilder(source)
    default_station = _default_station(source) if roles["station"] is None else ""
    if default_station:
        builder.warn(f"no station column: all rows belong to station '{default_station}'")
    if roles["value"] is not None and roles["property"] is None:
        builder.warn("no property column: the observations have no property name")
    rows, skipped, first_problem = 0, 0, ""
    for line, row in _rows(reader, len(header)):
        problem = row if isinstance(row, str) else ""
        if not problem:
            if not any(cell.strip() for cell in row):
                continue
            cells = {index: cell.strip() for index, cell in enumerate(row)}
            problem = _read_row(cells, line, roles, value_columns, default_station, (delimiter, epoch), builder)
        rows += 1
        if problem:
            skipped += 1
            first_problem = first_problem or problem
            if skipped <= MAX_ROW_WARNINGS:
                builder.warn(problem)
    if not rows:
        builder.warn("the CSV has a header but no rows")
    if rows and skipped == rows:
        raise FeedFormatError(f"no row could be read: {first_problem}")
    if skipped > MAX_ROW_WARNINGS:
        builder.warn(f"{skipped} rows skipped in all")
    return builder.result()


def _rows(reader: Any, width: int) -> Iterator[tuple[int, list[str] | str]]:
    """(line, cells) per row, or (line, problem) for a ragged row or an over-long field."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield reader.line_num, (f"line {reader.line_num}: a field is longer than {MAX_FIELD_CHARS} characters "
                                    f"({error}); row skipped")
            continue
        if len(row) != width and any(cell.strip() for cell in row):
            yield reader.line_num, (f"line {reader.line_num}: {len(row)} cells where the header has {width}; "
                                    "row skipped (check the delimiter and quoting)")
            continue
        yield reader.line_num, row


def _read_row(
    cells: dict[int, str],
    line: int,
    roles: dict[str, int | None],
    value_columns: list[tuple[int, str, str, str]],
    default_station: str,
    reading: tuple[str, bool],
    builder: FeedBuilder,
) -> str:
    """Add the row's observations; return a problem description when the row is skipped."""

    def cell(role: str) -> str:
        index = roles[role]
        return cells.get(index, "") if index is not None else ""

    delimiter, epoch = reading
    try:
        start, end = parse_interval(cell("time"), epoch=epoch)
        if cell("time_end"):
            end = parse_interval(cell("time_end"), epoch=epoch)[0]
    except FeedFormatError as error:
        return f"line {line}: {error}; row skipped"
    station_id = cell("station") or default_station or "unknown"
    station = builder.station(station_id, cell("name"))
    decimal_comma = delimiter != ","
    builder.place(station, as_number(cell("lon"), decimal_comma), as_number(cell("lat"), decimal_comma), start)
    builder.seen(station, end or start)
    long_layout = len(value_columns) == 1 and not value_columns[0][1]
    for index, column_property, column_unit, column_name in value_columns:
        original = cells.get(index, "")
        if not original and not long_layout:
            continue
        prop = cell("property") or column_property
        stream_id = cell("stream") or f"{station_id}/{prop or column_name}"
        unit = cell("unit") or column_unit
        value = as_number(original, decimal_comma)
        builder.observe(station, stream_id, prop, unit, start, value, original, time_end=end)
    return ""


def _resolve(header: list[str], mapping: CsvMapping) -> dict[str, int | None]:
    normalised = [_normalise(name) for name in header]
    roles: dict[str, int | None] = {}
    for role in CANDIDATES:
        wanted = getattr(mapping, role)
        if wanted:
            if _normalise(wanted) not in normalised:
                raise FeedFormatError(f"column '{wanted}' ({role}) is not in the header: {', '.join(header)}")
            roles[role] = normalised.index(_normalise(wanted))
        else:
            roles[role] = next((normalised.index(name) for name in CANDIDATES[role] if name in normalised), None)
    if roles["time"] is None:
        raise FeedFormatError(
            "no time column: name one in the mapping or call it time/timestamp/date; "
            f"the header is: {', '.join(header)}"
        )
    return roles


def _value_columns(
    header: list[str], roles: dict[str, int | None], mapping: CsvMapping, body: str, delimiter: str
) -> list[tuple[int, str, str, str]]:
    """(index, property, unit, header name) of the value column(s): one in the long layout, several in the wide."""
    normalised = [_normalise(name) for name in header]
    if mapping.value_columns:
        missing = [name for name in mapping.value_columns if _normalise(name) not in normalised]
        if missing:
            raise FeedFormatError(f"value columns not in the header: {', '.join(missing)}; header: {', '.join(header)}")
        indices = [normalised.index(_normalise(name)) for name in mapping.value_columns]
    elif roles["value"] is not None:
        indices = [roles["value"]]
    else:
        known = {name for names in CANDIDATES.values() for name in names}
        used = {index for index, name in enumerate(normalised) if name in known}
        indices = [index for index in _numeric_columns(body, delimiter, len(header)) if index not in used]
        if not indices:
            raise FeedFormatError(
                "no value column: name one in the mapping, call it value/result, "
                f"or give numeric columns (wide layout); the header is: {', '.join(header)}"
            )
    columns = []
    for index in indices:
        match = _UNIT_IN_HEADER.match(header[index])
        name, unit = (match.group("name"), match.group("unit").strip()) if match else (header[index], "")
        wide = bool(mapping.value_columns) or roles["value"] is None
        columns.append((index, name if wide else "", unit, name))
    return columns


def _epoch_column(name: str, body: str, delimiter: str, index: int, sample_rows: int = 50) -> bool:
    """Tell whether bare numbers in the time column are epoch times: named so, or numbers throughout."""
    lowered = name.lower()
    if "epoch" in lowered or "unix" in lowered:
        return True
    reader = csv.reader(text_lines(body), delimiter=delimiter)
    next(reader, None)
    cells = []
    with contextlib.suppress(csv.Error):
        for row in reader:
            if len(cells) >= sample_rows:
                break
            if index < len(row) and row[index].strip():
                cells.append(row[index].strip())
    return bool(cells) and all(_BARE_NUMBER.match(cell) for cell in cells)


def _numeric_columns(body: str, delimiter: str, width: int, sample_rows: int = 50) -> list[int]:
    reader = csv.reader(text_lines(body), delimiter=delimiter)
    next(reader, None)
    numeric = set()
    with contextlib.suppress(csv.Error):  # an over-long field ends the sample (its row is reported later)
        for count, row in enumerate(reader):
            if count >= sample_rows:
                break
            for index, cell in enumerate(row[:width]):
                if as_number(cell, delimiter != ",") is not None:
                    numeric.add(index)
    return sorted(numeric)


def _delimiter(body: str) -> str:
    sample = "\n".join(body[:65536].splitlines()[:20])
    header = sample.split("\n", 1)[0]
    try:
        found = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        found = ""
    if found and found in header:
        return found
    counts = {delimiter: header.count(delimiter) for delimiter in DELIMITERS}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def _normalise(name: str) -> str:
    match = _UNIT_IN_HEADER.match(name)
    if match:
        name = match.group("name")
    return re.sub(r"[\s\-]+", "_", name.strip().strip('"').lower())


def _default_station(source: str) -> str:
    path = urlsplit(source).path if "://" in source else source.replace("\\", "/")
    return PurePosixPath(path).stem or "csv"


