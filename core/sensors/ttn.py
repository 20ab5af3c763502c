"""The Things Network / The Things Stack uplinks (v3, and legacy v2) to stations and observations.

Input: one MQTT message or webhook body, a JSON array of them, NDJSON lines, or Storage
Integration NDJSON (``{"result": {...}}``). Station = ``end_device_ids.device_id`` (v2
``dev_id``), with dev_eui and application id in its properties; position from
``uplink_message.locations`` (``user`` first) or a decoded latitude/longitude pair (v2:
``metadata.latitude``/``longitude``). Time = ``received_at`` (v2 ``metadata.time``).
Observations = the numbers of the decoded payload (rules in flatten.py), stream
``<device_id>/<field>``; radio metadata (f_cnt, RSSI, SNR, gateways, frequency, spreading factor)
goes into ``Station.properties["radio"]`` (latest uplink) and each observation's ``raw``.
An uplink without a decoded payload yields the station only, with a warning; simulated uplinks
(sent from the TTN console, ``"simulated": true``) are skipped with a warning. A message with a bad
value (a time that cannot be read, a member of the wrong type) is skipped and counted
(``FeedBuilder.entity``); wrong-typed radio metadata (``rx_metadata``, a frequency of 1e999) is left
out with a warning and the readings are kept.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from .collect import FeedBuilder, member
from .errors import FeedFormatError
from .jsontext import load_documents
from .lorawan import add_decoded, gateway, keep_latest_radio
from .model import FeedResult, Station
from .times import parse_time
from .values import finite

_V2_DATA_RATE = re.compile(r"SF(\d+)BW(\d+)")
_NO_FORMATTER = "only the encoded frm_payload; set a payload formatter in the TTN console"


def detect(text: str) -> bool:
    """Tell whether the text looks like TTN uplink JSON/NDJSON."""
    head = text[:4096]
    return '"end_device_ids"' in head or ('"dev_id"' in head and ('"payload_fields"' in head or '"app_id"' in head))


def parse(text: str, source: str) -> FeedResult:
    """Stations and observations of the TTN messages in ``text``; FeedFormatError when malformed."""
    builder = FeedBuilder(source)
    recognised = 0
    for number, message in enumerate(load_documents(text, "JSON"), start=1):
        if isinstance(message, dict) and not isinstance(message.get("end_device_ids"), dict) and (
                "dev_id" not in message):
            keys = ", ".join(str(key) for key in list(message)[:6])
            builder.warn(f"message {number} is not a TTN uplink (keys: {keys}): skipped")
            continue
        recognised += 1
        with builder.entity(f"message {number}"):
            if not isinstance(message, dict):
                raise FeedFormatError(f"message {number} is not a JSON object but {type(message).__name__}")
            if isinstance(message.get("end_device_ids"), dict):
                _read_v3(message, number, builder)
            else:
                _read_v2(message, number, builder)
    if not recognised:
        raise FeedFormatError(
            "not The Things Network uplinks: no message has end_device_ids (v3) or dev_id (v2); "
            "check the FORMAT (ChirpStack events use deviceInfo)"
        )
    return builder.result(noun="device")


def _read_v3(message: dict[str, Any], number: int, builder: FeedBuilder) -> None:
    ids = message["end_device_ids"]
    device_id = str(ids.get("device_id") or ids.get("dev_eui") or "")
    if not device_id:
        raise FeedFormatError(f"message {number}: end_device_ids has neither device_id nor dev_eui")
    if message.get("simulated"):
        builder.warn(f"message {number} of device {device_id} is a simulated uplink (TTN console): skipped")
        return
    uplink = message.get("uplink_message")
    station = builder.station(
        device_id,
        device_id,
        network="The Things Stack v3",
        dev_eui=ids.get("dev_eui"),
        application_id=member(ids, "application_ids").get("application_id"),
        dev_addr=ids.get("dev_addr"),
    )
    if not isinstance(uplink, dict):
        _read_v3_event(message, number, station, builder)
        return
    moment = _time(message.get("received_at") or uplink.get("received_at"), number)
    versions = member(uplink, "version_ids")
    builder.station(device_id, brand_id=versions.get("brand_id"), model_id=versions.get("model_id"))
    builder.seen(station, moment)
    radio = _radio_v3(uplink, f"message {number}", builder)
    keep_latest_radio(station, radio, moment)
    _place_v3(uplink, station, builder, moment)
    label = f"uplink {number} (f_cnt {uplink.get('f_cnt')})"
    add_decoded(builder, station, uplink.get("decoded_payload"), moment, radio, label, _NO_FORMATTER)


def _read_v3_event(message: dict[str, Any], number: int, station: Station, builder: FeedBuilder) -> None:
    solved = member(member(message, "location_solved"), "location")
    if solved:
        builder.place(station, solved.get("longitude"), solved.get("latitude"))
        return
    kinds = [key for key in message if key not in ("end_device_ids", "correlation_ids", "received_at")]
    builder.warn(f"message {number} of device {station.station_id} is not an uplink ({', '.join(kinds[:3])}): skipped")


def _read_v2(message: dict[str, Any], number: int, builder: FeedBuilder) -> None:
    device_id = str(message["dev_id"])
    metadata = member(message, "metadata")
    station = builder.station(
        device_id,
        device_id,
        network="The Things Network v2",
        dev_eui=message.get("hardware_serial"),
        application_id=message.get("app_id"),
    )
    moment = _time(metadata.get("time"), number)
    builder.seen(station, moment)
    radio = _radio_v2(message, metadata, f"message {number}", builder)
    keep_latest_radio(station, radio, moment)
    if builder.place(station, metadata.get("longitude"), metadata.get("latitude"), moment):
        station.properties["location_source"] = metadata.get("location_source", "")
    label = f"uplink {number} (counter {message.get('counter')})"
    add_decoded(builder, station, message.get("payload_fields"), moment, radio, label, _NO_FORMATTER)


def _place_v3(uplink: dict[str, Any], station: Station, builder: FeedBuilder, moment: datetime) -> None:
    locations = member(uplink, "locations")
    ordered = sorted(locations.items(), key=lambda item: item[0] != "user")
    for name, location in ordered:
        if isinstance(location, dict) and builder.place(
            station, location.get("longitude"), location.get("latitude"), moment
        ):
            station.properties["location_source"] = location.get("source") or name
            return


def _radio_v3(uplink: dict[str, Any], label: str, builder: FeedBuilder) -> dict[str, Any]:
    settings = member(uplink, "settings")
    lora = member(member(settings, "data_rate"), "lora")
    gateways = []
    for rx in builder.objects(uplink.get("rx_metadata"), f"{label}: rx_metadata"):
        ids, location = member(rx, "gateway_ids"), member(rx, "location")
        gateways.append(
            gateway(
                gateway_id=ids.get("gateway_id"),
                eui=ids.get("eui"),
                rssi=rx.get("rssi"),
                snr=rx.get("snr"),
                lat=location.get("latitude"),
                lon=location.get("longitude"),
            )
        )
    return {
        "f_cnt": uplink.get("f_cnt"),
        "f_port": uplink.get("f_port"),
        "frequency": _int(settings.get("frequency")),
        "spreading_factor": lora.get("spreading_factor"),
        "bandwidth": lora.get("bandwidth"),
        "gateways": gateways,
    }


def _radio_v2(message: dict[str, Any], metadata: dict[str, Any], label: str, builder: FeedBuilder) -> dict[str, Any]:
    data_rate = _V2_DATA_RATE.match(str(metadata.get("data_rate") or ""))
    gateways = [
        gateway(
            gateway_id=rx.get("gtw_id"),
            rssi=rx.get("rssi"),
            snr=rx.get("snr"),
            lat=rx.get("latitude"),
            lon=rx.get("longitude"),
        )
        for rx in builder.objects(metadata.get("gateways"), f"{label}: metadata.gateways")
    ]
    frequency = metadata.get("frequency")
    megahertz = finite(float(frequency)) if isinstance(frequency, (int, float)) and not isinstance(
        frequency, bool) and abs(frequency) < 1e12 else None
    if frequency is not None and megahertz is None:
        builder.warn(f"{label}: frequency {str(frequency)[:30]} is not a frequency in MHz: left out")
    return {
        "f_cnt": message.get("counter"),
        "f_port": message.get("port"),
        "frequency": round(megahertz * 1e6) if megahertz is not None else None,
        "spreading_factor": int(data_rate.group(1)) if data_rate else None,
        "bandwidth": int(data_rate.group(2)) * 1000 if data_rate else None,
        "gateways": gateways,
    }


def _time(value: Any, number: int) -> datetime:
    if value in (None, ""):
        raise FeedFormatError(f"message {number} has no received_at/metadata.time")
    try:
        return parse_time(value)
    except FeedFormatError as error:
        raise FeedFormatError(f"message {number}: {error}") from None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None
