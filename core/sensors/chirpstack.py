"""ChirpStack v4 uplink events (MQTT/HTTP integration JSON) to stations and observations.

Input: one event, a JSON array of events, or NDJSON lines. Station id = ``deviceInfo.devEui``
(name ``deviceInfo.deviceName``; application, device profile and tags in the properties).
Time = ``time``, else the network server time of the first ``rxInfo``. Observations = the
numbers of the decoded ``object`` (rules in flatten.py), stream ``<devEui>/<field>``; a
latitude/longitude pair in ``object`` or a ``location`` event gives the position. An event with a bad
value (a time that cannot be read, a member of the wrong type) is skipped and counted; a
wrong-typed ``rxInfo`` is left out with a warning and the readings are kept. Radio
metadata (fCnt, RSSI, SNR, gateways, frequency, spreading factor) goes into
``Station.properties["radio"]`` (latest uplink) and each observation's ``raw``. Other event
types (join, status, ack, log) are skipped with a warning.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .collect import FeedBuilder, member, objects
from .errors import FeedFormatError
from .jsontext import load_documents
from .lorawan import add_decoded, gateway, keep_latest_radio
from .model import FeedResult, Station
from .times import parse_time

_UPLINK_KEYS = ("object", "data", "fCnt", "rxInfo")


def detect(text: str) -> bool:
    """Tell whether the text looks like ChirpStack v4 event JSON/NDJSON."""
    head = text[:4096]
    return '"deviceInfo"' in head and '"devEui"' in head


def parse(text: str, source: str) -> FeedResult:
    """Stations and observations of the ChirpStack events in ``text``; FeedFormatError when malformed."""
    builder = FeedBuilder(source)
    recognised = 0
    for number, event in enumerate(load_documents(text, "JSON"), start=1):
        info = event.get("deviceInfo") if isinstance(event, dict) else None
        if isinstance(event, dict) and (not isinstance(info, dict) or not info.get("devEui")):
            builder.warn(f"event {number} has no deviceInfo.devEui: skipped")
            continue
        recognised += 1
        with builder.entity(f"event {number}"):
            if not isinstance(event, dict):
                raise FeedFormatError(f"event {number} is not a JSON object but {type(event).__name__}")
            _read_event(event, info, number, builder)
    if not recognised:
        raise FeedFormatError(
            "not ChirpStack v4 events: no event has deviceInfo.devEui; "
            "check the FORMAT (The Things Network messages use end_device_ids)"
        )
    return builder.result(noun="device")


def _read_event(event: dict[str, Any], info: dict[str, Any], number: int, builder: FeedBuilder) -> None:
    station = builder.station(
        str(info["devEui"]),
        str(info.get("deviceName") or ""),
        network="ChirpStack v4",
        application=info.get("applicationName"),
        application_id=info.get("applicationId"),
        device_profile=info.get("deviceProfileName"),
        tenant=info.get("tenantName"),
        tags=info.get("tags") or None,
    )
    if any(key in event for key in _UPLINK_KEYS):
        _read_uplink(event, number, station, builder)
    elif isinstance(event.get("location"), dict):
        builder.place(station, event["location"].get("longitude"), event["location"].get("latitude"))
    else:
        builder.warn(f"event {number} of device {station.station_id} is not an uplink: skipped")


def _read_uplink(event: dict[str, Any], number: int, station: Station, builder: FeedBuilder) -> None:
    moment = _time(event, number)
    if moment is None:
        builder.warn(f"device {station.station_id}: uplink {number} has no time: skipped")
        return
    builder.seen(station, moment)
    radio = _radio(event, f"event {number}", builder)
    keep_latest_radio(station, radio, moment)
    label = f"uplink {number} (fCnt {event.get('fCnt', 0)})"
    add_decoded(builder, station, event.get("object"), moment, radio, label, "no codec in the device profile")


def _time(event: dict[str, Any], number: int) -> datetime | None:
    candidates = [event.get("time")] + [rx.get("nsTime") or rx.get("gwTime") for rx in objects(event.get("rxInfo"))]
    for value in candidates:
        if value:
            try:
                return parse_time(value)
            except FeedFormatError as error:
                raise FeedFormatError(f"event {number}: {error}") from None
    return None


def _radio(event: dict[str, Any], label: str, builder: FeedBuilder) -> dict[str, Any]:
    tx = member(event, "txInfo")
    lora = member(member(tx, "modulation"), "lora")
    gateways = []
    for rx in builder.objects(event.get("rxInfo"), f"{label}: rxInfo"):
        location = member(rx, "location")
        gateways.append(
            gateway(
                gateway_id=rx.get("gatewayId"),
                rssi=rx.get("rssi"),
                snr=rx.get("snr"),
                lat=location.get("latitude"),
                lon=location.get("longitude"),
            )
        )
    return {
        "f_cnt": event.get("fCnt", 0),
        "f_port": event.get("fPort"),
        "frequency": tx.get("frequency"),
        "spreading_factor": lora.get("spreadingFactor"),
        "bandwidth": lora.get("bandwidth"),
        "gateways": gateways,
    }
