"""Steps shared by the LoRaWAN parsers (ttn.py, chirpstack.py): decoded payload and radio metadata.

``radio`` dicts have the keys f_cnt, f_port, frequency (Hz), spreading_factor, bandwidth (Hz)
and gateways (list of {gateway_id, eui?, rssi, snr, lat?, lon?}).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .collect import FeedBuilder
from .flatten import decoded_position, readings
from .model import Station


def add_decoded(
    builder: FeedBuilder,
    station: Station,
    decoded: Any,
    moment: datetime,
    radio: dict[str, Any],
    label: str,
    missing_hint: str,
) -> None:
    """Observations (stream ``<station_id>/<field>``) from a decoded payload; warnings when there are none."""
    device_id = station.station_id
    if decoded is None:
        builder.warn(f"device {device_id}: {label} has no decoded payload ({missing_hint}): no observations")
        return
    position = decoded_position(decoded)
    if position is not None:
        builder.place(station, position[0], position[1], moment)
    found = readings(decoded)
    if not found:
        builder.warn(f"device {device_id}: {label} has no numeric fields in its decoded payload")
    summary = radio_summary(radio)
    for reading in found:
        builder.observe(
            station,
            f"{device_id}/{reading.field}",
            reading.property,
            reading.unit,
            moment,
            reading.value,
            reading.original,
            lorawan=True,
            radio=summary,
        )


def radio_summary(radio: dict[str, Any]) -> dict[str, Any]:
    """f_cnt, the strongest gateway with its RSSI/SNR, frequency and spreading factor (for ``raw``)."""
    gateways = [gateway for gateway in radio["gateways"] if isinstance(gateway.get("rssi"), (int, float))]
    best = max(gateways, key=lambda gateway: gateway["rssi"]) if gateways else {}
    summary = {
        "f_cnt": radio["f_cnt"],
        "gateway": best.get("gateway_id"),
        "rssi": best.get("rssi"),
        "snr": best.get("snr"),
        "frequency": radio["frequency"],
        "sf": radio["spreading_factor"],
    }
    return {key: value for key, value in summary.items() if value is not None}


def keep_latest_radio(station: Station, radio: dict[str, Any], moment: datetime) -> None:
    """Store ``radio`` as the station's ``properties["radio"]`` unless a later uplink was seen."""
    if station.last_time is None or moment >= station.last_time:
        station.properties["radio"] = {key: value for key, value in radio.items() if value not in (None, [])}


def gateway(**fields: Any) -> dict[str, Any]:
    """Return a gateway entry without the fields that are None."""
    return {key: value for key, value in fields.items() if value is not None}
