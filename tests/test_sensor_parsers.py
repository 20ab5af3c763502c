"""Sensor feed parsers on real payloads from tests/data/sensors (pure Python, no QGIS).

The ChirpStack event and the Sensor.Community API record are constructed from the documented
shapes (no real payload is in the shared data); everything else is read from the real files.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta, timezone

import pytest
from social_resilience.core.sensors import chirpstack, csv_feed, opensensemap, sensor_community, ttn
from social_resilience.core.sensors.errors import FeedFormatError
from social_resilience.core.sensors.formats import (
    CHIRPSTACK,
    CSV,
    FEED_FORMATS,
    FORMAT_NAMES,
    FORMAT_PARSERS,
    SENSORTHINGS,
    TTN,
    detect_format,
    feed_format,
)

from .conftest import shared_data

UTC = timezone.utc


def read(*parts: str) -> str:
    return shared_data("sensors", *parts).read_text(encoding="utf-8")


def by_stream(result, stream_id):
    found = [observation for observation in result.observations if observation.stream_id == stream_id]
    assert found, f"no observation of {stream_id}"
    return found


def station(result, station_id):
    return next(item for item in result.stations if item.station_id == station_id)


# --- The Things Network ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dragino():
    return read("ttn", "ttn_v3_uplinks_dragino_koestler.ndjson")


def test_ttn_dragino_ndjson_stations_and_observations(dragino):
    result = ttn.parse(dragino, "dragino.ndjson")
    assert [item.station_id for item in result.stations] == [
        "lht52-temp-0", "lsn50-temp-1", "lsn50-temp-2", "lsn50-temp-3", "lht52-temp-1",
    ]  # fmt: skip
    # 3 + 4 + 5 + 5 + 3 numeric fields; Ext and Systimestamp are bookkeeping, strings are states.
    assert len(result.observations) == 20
    lht = station(result, "lht52-temp-0")
    assert lht.properties["dev_eui"] == "A8404188A184579F"
    assert lht.properties["application_id"] == "piegn"
    assert lht.properties["model_id"] == "lht52"
    assert lht.properties["radio"]["gateways"][0] == {
        "gateway_id": "piegn-0", "eui": "DCA632FFFEA53817", "rssi": -103, "snr": -4.75,
    }  # fmt: skip
    assert lht.properties["radio"]["frequency"] == 868100000
    assert lht.properties["radio"]["spreading_factor"] == 7
    assert lht.last_time == datetime(2022, 8, 25, 21, 12, 53, 828332, tzinfo=UTC)
    assert lht.source == "dragino.ndjson"
    (temperature,) = by_stream(result, "lht52-temp-0/TempC_SHT")
    assert (temperature.value, temperature.unit, temperature.property) == (28.77, "°C", "TempC_SHT")
    assert temperature.time == datetime(2022, 8, 25, 21, 12, 53, 828332, tzinfo=UTC)
    assert temperature.source == "dragino.ndjson"
    assert json.loads(temperature.raw)["radio"] == {
        "f_cnt": 1445, "gateway": "piegn-0", "rssi": -103, "snr": -4.75, "frequency": 868100000, "sf": 7,
    }  # fmt: skip
    assert by_stream(result, "lht52-temp-0/Hum_SHT")[0].unit == "%"
    assert by_stream(result, "lsn50-temp-1/BatV")[0].value == 3.655
    assert by_stream(result, "lsn50-temp-1/BatV")[0].unit == "V"
    assert by_stream(result, "lsn50-temp-1/Temp_Black")[0].value == 37.5
    assert by_stream(result, "lsn50-temp-3/TempC3")[0].value == -0.1
    names = {observation.stream_id.split("/", 1)[1] for observation in result.observations}
    assert not names & {"Ext", "Systimestamp", "Work_mode", "Door_status", "ALARM_status"}
    assert "device lht52-temp-0 has no position" in result.warnings
    assert all(observation.time.tzinfo == UTC for observation in result.observations)


def test_ttn_absent_probe_sentinel_is_flagged_not_a_reading(dragino):
    result = ttn.parse(dragino, "dragino.ndjson")
    flagged = [observation for observation in result.observations if observation.flag]
    assert [observation.stream_id for observation in flagged] == ["lht52-temp-0/TempC_DS", "lht52-temp-1/TempC_DS"]
    for observation in flagged:
        assert observation.value is None
        assert observation.flag == "sentinel"
        assert json.loads(observation.raw)["value"] == 327.67
    assert all(observation.value is not None for observation in result.observations if not observation.flag)


def test_ttn_json_array_and_storage_integration_give_the_same_result(dragino):
    messages = [json.loads(line) for line in dragino.splitlines() if line.strip()]
    reference = ttn.parse(dragino, "s")
    as_array = ttn.parse(json.dumps(messages), "s")
    storage = ttn.parse("\n".join(json.dumps({"result": message}) for message in messages), "s")
    webhook = ttn.parse(json.dumps(messages[2], indent=2), "s")
    assert as_array == reference
    assert storage == reference
    assert [item.station_id for item in webhook.stations] == ["lsn50-temp-2"]
    assert {observation.stream_id for observation in webhook.observations} == {
        observation.stream_id for observation in reference.observations if observation.station_id == "lsn50-temp-2"
    }


def test_ttn_sensecap_messages_by_type_with_units_and_string_value():
    result = ttn.parse(read("ttn", "ttn_v3_uplinks_sensecap_koestler.ndjson"), "sensecap")
    assert [item.station_id for item in result.stations] == ["s2120-0"]
    first = datetime(2024, 1, 21, 16, 31, 55, 513418, tzinfo=UTC)
    second = datetime(2024, 1, 24, 20, 43, 56, 136229, tzinfo=UTC)
    pressure = by_stream(result, "s2120-0/Barometric Pressure")
    assert [(item.time, item.value, item.unit) for item in pressure] == [
        (first, 97520.0, "Pa"),
        (second, 96920.0, "Pa"),
    ]
    wind = by_stream(result, "s2120-0/Wind Direction Sensor")
    assert [(item.value, item.unit) for item in wind] == [(42.0, "°"), (79.0, "°")]
    assert by_stream(result, "s2120-0/Air Humidity")[0].unit == "%"
    # The third message repeats the second (same received_at) with the string "-1.5": the later value wins.
    temperature = by_stream(result, "s2120-0/Air Temperature")
    assert [(item.time, item.value) for item in temperature] == [(first, 1.8), (second, -1.5)]
    assert any("repeat a stream and time" in warning for warning in result.warnings)
    # 8 + 8 + 1 readings, one duplicate removed; err/valid/payload are not observations.
    assert len(result.observations) == 16
    assert {observation.property for observation in result.observations} == {
        "Air Temperature", "Air Humidity", "Light Intensity", "UV Index", "Wind Speed", "Wind Direction Sensor",
        "Rain Gauge", "Barometric Pressure",
    }  # fmt: skip


def test_ttn_packet_broker_uplink_without_decoded_payload_gives_the_station_only():
    result = ttn.parse(read("ttn", "ttn_v3_uplink_packetbroker_bertrik_sensor-data-bridge.json"), "pb")
    (device,) = result.stations
    assert device.station_id == "fijnstofmeter"
    assert device.properties["dev_eui"] == "0000547AF1BF713C"
    assert device.properties["application_id"] == "particulatematter"
    assert device.properties["radio"]["gateways"] == [{"gateway_id": "packetbroker", "rssi": -58, "snr": 8.75}]
    assert device.last_time == datetime(2021, 2, 4, 22, 12, 45, 761243, tzinfo=UTC)
    assert result.observations == []
    assert any("fijnstofmeter" in warning and "no decoded payload" in warning for warning in result.warnings)


def test_ttn_gateway_position_is_not_the_device_position():
    result = ttn.parse(read("ttn", "ttn_v3_uplink_gateway_location_bertrik_ttnhabbridge.json"), "gw")
    (device,) = result.stations
    assert (device.station_id, device.lon, device.lat) == ("v3demo1", None, None)
    (gateway,) = device.properties["radio"]["gateways"]
    assert (gateway["lat"], gateway["lon"]) == (52.00996862975038, 4.716007411479951)
    assert result.observations == []
    assert "device v3demo1 has no position" in result.warnings


def test_ttn_device_position_from_locations_user(dragino):
    message = json.loads(dragino.splitlines()[0])
    message["uplink_message"]["locations"] = {
        "frm-payload": {"latitude": 1.0, "longitude": 2.0, "source": "SOURCE_GPS"},
        "user": {"latitude": 51.3127, "longitude": 9.4797, "altitude": 160, "source": "SOURCE_REGISTRY"},
    }
    result = ttn.parse(json.dumps(message), "s")
    (device,) = result.stations
    assert (device.lon, device.lat) == (9.4797, 51.3127)
    assert device.properties["location_source"] == "SOURCE_REGISTRY"
    assert not any("has no position" in warning for warning in result.warnings)


def test_ttn_simulated_uplink_is_skipped(dragino):
    message = json.loads(dragino.splitlines()[0])
    message["simulated"] = True
    result = ttn.parse(json.dumps(message), "s")
    assert (result.stations, result.observations) == ([], [])
    assert any("simulated uplink" in warning for warning in result.warnings)


def test_ttn_v2_legacy_payload_fields():
    result = ttn.parse(read("ttn", "ttn_v2_legacy_uplink_payload_fields_bertrik.json"), "v2")
    (device,) = result.stations
    assert device.station_id == "1001"
    assert (device.lon, device.lat) == (5.700839, 50.83832)
    assert device.properties["dev_eui"] == "00878E9A6221870B"
    assert device.properties["application_id"] == "testerwin"
    assert device.properties["radio"]["spreading_factor"] == 12
    assert device.properties["radio"]["frequency"] == 867500000
    moment = datetime(2019, 9, 8, 21, 35, 12, 677098, tzinfo=UTC)
    values = {o.stream_id: (o.value, o.unit) for o in result.observations if o.time == moment}
    assert values == {
        "1001/P": (1013.0, ""),
        "1001/PM10_Avg": (0.4, "µg/m³"),
        "1001/PM25_Avg": (0.4, "µg/m³"),
        "1001/RH": (42.67, "%"),
        "1001/T": (23.55, "°C"),
    }  # SDS_ID is an identifier, not a measurement
    assert result.warnings == []


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda text: text[: len(text) // 2], "ends too early"),
        (lambda text: "<html><head><title>502 Bad Gateway</title></head><body></body></html>", "HTML page, not JSON"),
        (lambda text: "", "empty"),
        (lambda text: '{"name": "not a TTN message"}', "not The Things Network uplinks"),
        (lambda text: "[1, 2, 3]", "message 1 is not a JSON object"),
    ],
)
def test_ttn_malformed_input(mangle, message):
    text = read("ttn", "ttn_v3_uplink_gateway_location_bertrik_ttnhabbridge.json")
    with pytest.raises(FeedFormatError, match=message):
        ttn.parse(mangle(text), "bad")


def test_ttn_broken_ndjson_line_is_named(dragino):
    lines = dragino.splitlines()
    lines[2] = lines[2][:300]
    with pytest.raises(FeedFormatError, match="line 3 is not valid JSON"):
        ttn.parse("\n".join(lines), "bad")


# --- ChirpStack v4 ----------------------------------------------------------------------------------

# Constructed from the documented ChirpStack v4 integration UplinkEvent (camelCase JSON);
# not a captured message.
CHIRPSTACK_UPLINK = {
    "deduplicationId": "3ac7e3c4-4401-4b8d-9386-a5c902f9202d",
    "time": "2023-05-22T07:47:05.404859+00:00",
    "deviceInfo": {
        "tenantId": "52f14cd4-c6f1-4fbd-8f87-4025e1d49242",
        "tenantName": "Stadt",
        "applicationId": "17c82e96-be03-4f38-aef3-f83d48582d97",
        "applicationName": "Umweltsensoren",
        "deviceProfileId": "14855bf7-d10d-4aee-b618-ebfcb64dc7ad",
        "deviceProfileName": "Dragino LHT65",
        "deviceName": "Klima Marktplatz",
        "devEui": "a84041c5f1834e3a",
        "deviceClassEnabled": "CLASS_A",
        "tags": {"district": "Mitte"},
    },
    "devAddr": "00189440",
    "adr": True,
    "dr": 5,
    "fCnt": 212,
    "fPort": 2,
    "confirmed": False,
    "data": "y2sJUwFpAX//f/8=",
    "object": {"BatV": 3.051, "TempC_SHT": 23.87, "Hum_SHT": 36.1, "TempC_DS": 327.67, "Ext_sensor": "Temperature"},
    "rxInfo": [
        {"gatewayId": "0016c001f153a14c", "uplinkId": 4217106255, "rssi": -36, "snr": 10.5, "channel": 2,
         "location": {"latitude": 51.31, "longitude": 9.48}, "context": "EFwMtA==", "crcStatus": "CRC_OK"},
        {"gatewayId": "0016c001f1500812", "uplinkId": 2318921342, "rssi": -91, "snr": 4.2},
    ],
    "txInfo": {"frequency": 867500000, "modulation": {"lora": {"bandwidth": 125000, "spreadingFactor": 7,
                                                                "codeRate": "CR_4_5"}}},
}  # fmt: skip


def test_chirpstack_uplink_event():
    text = json.dumps(CHIRPSTACK_UPLINK)
    assert chirpstack.detect(text)
    assert not ttn.detect(text)
    result = chirpstack.parse(text, "mqtt://broker/application/x/device/a84041c5f1834e3a/event/up")
    (device,) = result.stations
    assert (device.station_id, device.name) == ("a84041c5f1834e3a", "Klima Marktplatz")
    assert device.properties["application"] == "Umweltsensoren"
    assert device.properties["tags"] == {"district": "Mitte"}
    assert device.properties["radio"]["spreading_factor"] == 7
    assert len(device.properties["radio"]["gateways"]) == 2
    moment = datetime(2023, 5, 22, 7, 47, 5, 404859, tzinfo=UTC)
    values = {o.stream_id: (o.value, o.unit, o.flag, o.time) for o in result.observations}
    assert values == {
        "a84041c5f1834e3a/BatV": (3.051, "V", "", moment),
        "a84041c5f1834e3a/TempC_SHT": (23.87, "°C", "", moment),
        "a84041c5f1834e3a/Hum_SHT": (36.1, "%", "", moment),
        "a84041c5f1834e3a/TempC_DS": (None, "°C", "sentinel", moment),
    }
    raw = json.loads(result.observations[0].raw)
    assert raw["radio"] == {"f_cnt": 212, "gateway": "0016c001f153a14c", "rssi": -36, "snr": 10.5,
                            "frequency": 867500000, "sf": 7}  # fmt: skip
    assert "device a84041c5f1834e3a has no position" in result.warnings


def test_chirpstack_ndjson_position_in_object_and_other_events():
    later = dict(CHIRPSTACK_UPLINK, time="2023-05-22T08:47:05Z", fCnt=213,
                 object={"latitude": 51.3127, "longitude": 9.4797, "pm2_5": 7.5})  # fmt: skip
    join = {"deduplicationId": "x", "time": "2023-05-22T07:40:00Z", "deviceInfo": CHIRPSTACK_UPLINK["deviceInfo"],
            "devAddr": "00189440"}  # fmt: skip
    text = "\n".join(json.dumps(event) for event in (CHIRPSTACK_UPLINK, join, later))
    result = chirpstack.parse(text, "events.ndjson")
    (device,) = result.stations
    assert (device.lon, device.lat) == (9.4797, 51.3127)
    assert device.properties["radio"]["f_cnt"] == 213
    (pm,) = by_stream(result, "a84041c5f1834e3a/pm2_5")
    assert (pm.value, pm.unit) == (7.5, "µg/m³")
    assert not any(o.stream_id.endswith(("latitude", "longitude")) for o in result.observations)
    assert any("event 2" in warning and "not an uplink" in warning for warning in result.warnings)


def test_chirpstack_refuses_ttn_messages(dragino):
    with pytest.raises(FeedFormatError, match="not ChirpStack v4 events"):
        chirpstack.parse(dragino, "x")


# --- openSenseMap -----------------------------------------------------------------------------------


def test_opensensemap_box():
    text = read("opensensemap", "osem_box_single_apidoc.json")
    result = opensensemap.parse(text, "https://api.opensensemap.org/boxes/57000b8745fd40c8196ad04c")
    (box,) = result.stations
    assert (box.station_id, box.name) == ("57000b8745fd40c8196ad04c", "Oststr/Mauritzsteinpfad")
    assert (box.lon, box.lat) == (7.64568, 51.962372)
    assert box.properties["exposure"] == "outdoor"
    assert len(box.properties["sensors"]) == 7
    moment = datetime(2016, 11, 11, 21, 22, 1, 675000, tzinfo=UTC)
    assert box.last_time == moment
    values = {o.property: (o.value, o.unit) for o in result.observations}
    assert values == {
        "UV-Intensität": (0.0, "μW/cm²"),
        "Beleuchtungsstärke": (0.0, "lx"),
        "Luftdruck": (1019.21, "hPa"),
        "rel. Luftfeuchte": (99.38, "%"),
        "Temperatur": (0.21, "°C"),
        "Wifi-Stärke": (-66.0, "dBm"),
        "Eingangsspannung": (2.73, "V"),
    }
    (temperature,) = by_stream(result, "57000b8745fd40c8196ad04c/57000b8745fd40c8196ad052")
    assert temperature.time == moment
    assert json.loads(temperature.raw) == {"value": "0.21", "sensor_type": "HDC1008"}
    assert result.warnings == []


def test_opensensemap_box_with_height_in_coordinates():
    box = json.loads(read("opensensemap", "osem_box_single_apidoc.json"))
    box["currentLocation"]["coordinates"] = [7.64568, 51.962372, 62.5]
    (station_,) = opensensemap.parse(json.dumps(box), "box").stations
    assert (station_.lon, station_.lat, station_.properties["height"]) == (7.64568, 51.962372, 62.5)


def test_opensensemap_full_box_list_gives_observations_per_box():
    box = json.loads(read("opensensemap", "osem_box_single_apidoc.json"))
    other = json.loads(json.dumps(box).replace("57000b8745fd40c8196ad04c", "57000b8745fd40c8196ad0ff"))
    other["name"] = "Zweite Box"
    result = opensensemap.parse(json.dumps([box, other]), "https://api.opensensemap.org/boxes?full=true")
    assert [s.name for s in result.stations] == ["Oststr/Mauritzsteinpfad", "Zweite Box"]
    assert len(result.observations) == 14
    assert {o.station_id for o in result.observations} == {"57000b8745fd40c8196ad04c", "57000b8745fd40c8196ad0ff"}


def test_opensensemap_box_list_minimal():
    result = opensensemap.parse(read("opensensemap", "osem_boxes_minimal_apidoc.json"), "list")
    assert [(s.station_id, s.name, s.lon, s.lat) for s in result.stations] == [
        ("5ee91626dc1438001b473b52", "Lucht sensor", 5.38517, 51.426135),
        ("5ee92557dc1438001b4d3eee", "BabCity", 4.78833, 51.936062),
    ]
    assert result.stations[1].last_time == datetime(2022, 1, 23, 20, 14, 48, 808000, tzinfo=UTC)
    assert result.observations == []


def test_opensensemap_measurements_json_and_csv_agree():
    url = "https://api.opensensemap.org/boxes/5a8d1c6bbc2d41001927a2b1/data/5a8d1c6bbc2d41001927a2b5?format=json"
    as_json = opensensemap.parse(read("opensensemap", "osem_sensor_data_apidoc.json"), url)
    as_csv = opensensemap.parse(read("opensensemap", "osem_sensor_data_apidoc.csv"), url.replace("json", "csv"))
    assert len(as_json.observations) == 2
    assert len(as_csv.observations) == 6
    for result in (as_json, as_csv):
        assert [s.station_id for s in result.stations] == ["5a8d1c6bbc2d41001927a2b1"]
        assert {o.stream_id for o in result.observations} == {"5a8d1c6bbc2d41001927a2b1/5a8d1c6bbc2d41001927a2b5"}
        assert result.observations[0].time == datetime(2023, 9, 29, 8, 6, 13, 254000, tzinfo=UTC)
        assert {o.value for o in result.observations} == {6.38}
        assert any("no property or unit" in warning for warning in result.warnings)
    assert [(o.time, o.value) for o in as_json.observations] == [(o.time, o.value) for o in as_csv.observations[:2]]
    assert (as_json.stations[0].lon, as_json.stations[0].lat) == (7.0, 52.0)
    assert as_csv.observations[-1].time == datetime(2023, 9, 29, 8, 6, 5, 967000, tzinfo=UTC)


def test_opensensemap_measurements_without_box_in_the_source():
    result = opensensemap.parse(read("opensensemap", "osem_sensor_data_apidoc.csv"), "download.csv")
    assert [s.station_id for s in result.stations] == ["unknown"]
    assert any("station 'unknown'" in warning for warning in result.warnings)


def test_opensensemap_malformed():
    with pytest.raises(FeedFormatError, match="not openSenseMap JSON"):
        opensensemap.parse('[{"foo": 1}]', "x")
    with pytest.raises(FeedFormatError, match="header needs createdAt and value"):
        opensensemap.parse("time,reading\n2024-01-01T00:00:00Z,1\n", "x")
    with pytest.raises(FeedFormatError, match="ends too early"):
        opensensemap.parse(read("opensensemap", "osem_box_single_apidoc.json")[:500], "x")


# --- Sensor.Community -------------------------------------------------------------------------------


def test_sensor_community_archive_csv():
    text = read("sensor_community", "sc_archive_2018-07-07_sds011_sensor_15092_abdn.csv")
    result = sensor_community.parse(text, "archive.csv")
    rows = list(csv.DictReader(text.splitlines(), delimiter=";"))
    assert len(rows) == 95
    (location,) = result.stations
    assert (location.station_id, location.lon, location.lat) == ("7647", -2.211, 56.963)
    assert location.properties["sensors"] == {"15092": "SDS011"}
    pm10 = by_stream(result, "7647/15092/P1")
    pm25 = by_stream(result, "7647/15092/P2")
    assert len(pm10) == len(pm25) == 95
    assert len(result.observations) == 190
    assert {(o.property, o.unit) for o in pm10} == {("PM10", "µg/m³")}
    assert {(o.property, o.unit) for o in pm25} == {("PM2.5", "µg/m³")}
    # Zone-less timestamps are UTC; every value matches the file.
    expected_times = [datetime.fromisoformat(row["timestamp"]).replace(tzinfo=UTC) for row in rows]
    assert [o.time for o in pm10] == expected_times
    assert [o.value for o in pm10] == [float(row["P1"]) for row in rows]
    assert [o.value for o in pm25] == [float(row["P2"]) for row in rows]
    assert (pm10[0].time, pm10[0].value, pm25[0].value) == (datetime(2018, 7, 7, 20, 3, 6, tzinfo=UTC), 17.47, 7.73)
    assert location.last_time == datetime(2018, 7, 7, 23, 58, 58, tzinfo=UTC)
    assert result.warnings == []


def test_sensor_community_firmware_push():
    before = datetime.now(UTC) - timedelta(seconds=1)
    result = sensor_community.parse(read("sensor_community", "sc_firmware_push_NRZ-2018-121C_osem_tests.json"), "push")
    values = {o.stream_id: (o.property, o.value, o.unit) for o in result.observations}
    assert values == {
        "unknown/SDS_P1": ("PM10", 1.87, "µg/m³"),
        "unknown/SDS_P2": ("PM2.5", 1.05, "µg/m³"),
        "unknown/BMP_pressure": ("pressure", 100659.0, "Pa"),
        "unknown/BMP_temperature": ("temperature", 26.8, "°C"),
    }
    raw = json.loads(by_stream(result, "unknown/SDS_P1")[0].raw)
    assert raw == {
        "value": "1.87",
        "diagnostics": {"samples": "924605", "min_micro": "147", "max_micro": "1849213", "signal": "-52"},
    }
    assert all(before <= o.time <= datetime.now(UTC) for o in result.observations)
    assert result.stations[0].properties["software_version"] == "NRZ-2018-121C"
    assert any("no timestamp" in warning for warning in result.warnings)
    assert any("esp8266id" in warning for warning in result.warnings)


def test_sensor_community_firmware_push_with_chip_id_and_gps():
    push = json.loads(read("sensor_community", "sc_firmware_push_NRZ-2016-058_osem_tests.json"))
    push["esp8266id"] = "13597771"
    push["sensordatavalues"] += [
        {"value_type": "GPS_lat", "value": "51.3127"},
        {"value_type": "GPS_lon", "value": "9.4797"},
    ]
    result = sensor_community.parse(json.dumps(push), "push")
    (device,) = result.stations
    assert (device.station_id, device.lon, device.lat) == ("esp8266-13597771", 9.4797, 51.3127)
    assert {o.stream_id: o.value for o in result.observations} == {
        "esp8266-13597771/SDS_P1": 5.38,
        "esp8266-13597771/SDS_P2": 4.98,
    }  # samples, min_micro, max_micro, signal ("-59 dBm") are diagnostics


# Constructed from the documented data.sensor.community /static/v1/data.json record shape.
SC_API = [
    {"id": 1, "sampling_rate": None, "timestamp": "2024-07-01 10:00:02",
     "location": {"id": 5001, "latitude": "51.313", "longitude": "9.480", "altitude": "165.0", "country": "DE",
                  "exact_location": 0, "indoor": 0},
     "sensor": {"id": 9001, "pin": "1", "sensor_type": {"id": 14, "name": "SDS011", "manufacturer": "Nova Fitness"}},
     "sensordatavalues": [{"id": 11, "value": "12.40", "value_type": "P1"},
                          {"id": 12, "value": "7.10", "value_type": "P2"}]},
    {"id": 2, "sampling_rate": None, "timestamp": "2024-07-01 10:00:05",
     "location": {"id": 5001, "latitude": "51.313", "longitude": "9.480", "altitude": "165.0", "country": "DE",
                  "exact_location": 0, "indoor": 0},
     "sensor": {"id": 9002, "pin": "11", "sensor_type": {"id": 17, "name": "BME280", "manufacturer": "Bosch"}},
     "sensordatavalues": [{"id": 13, "value": "21.35", "value_type": "temperature"},
                          {"id": 14, "value": "99512.00", "value_type": "pressure"},
                          {"id": 15, "value": "55.20", "value_type": "humidity"}]},
]  # fmt: skip


def test_sensor_community_api_json_groups_sensors_by_location():
    result = sensor_community.parse(json.dumps(SC_API), "data.json")
    (location,) = result.stations
    assert (location.station_id, location.lon, location.lat) == ("5001", 9.48, 51.313)
    assert location.properties["sensors"] == {"9001": "SDS011", "9002": "BME280"}
    assert {o.stream_id: (o.property, o.value, o.unit) for o in result.observations} == {
        "5001/9001/P1": ("PM10", 12.4, "µg/m³"),
        "5001/9001/P2": ("PM2.5", 7.1, "µg/m³"),
        "5001/9002/temperature": ("temperature", 21.35, "°C"),
        "5001/9002/pressure": ("pressure", 99512.0, "Pa"),
        "5001/9002/humidity": ("humidity", 55.2, "%"),
    }
    assert by_stream(result, "5001/9002/pressure")[0].time == datetime(2024, 7, 1, 10, 0, 5, tzinfo=UTC)


def test_sensor_community_malformed():
    with pytest.raises(FeedFormatError, match="header must start with sensor_id;sensor_type"):
        sensor_community.parse("id;time;P1\n1;2024-01-01;3\n", "x")
    with pytest.raises(FeedFormatError, match=r"record 1 is not a Sensor\.Community record"):
        sensor_community.parse('[{"value": 1}]', "x")
    archive = read("sensor_community", "sc_archive_2018-07-07_sds011_sensor_15092_abdn.csv").splitlines()
    whole = sensor_community.parse("\n".join(archive), "x")
    archive[3] = archive[3].replace("2018-07-07T20:08:03", "20:08")
    result = sensor_community.parse("\n".join(archive), "x")  # one bad line is skipped and counted
    assert len(result.observations) == len(whole.observations) - 2  # its P1 and P2
    assert any("line 4 skipped: line 4: not a recognised time" in w for w in result.warnings)
    assert any("1 of " in w and "skipped" in w for w in result.warnings)
    with pytest.raises(FeedFormatError, match="nothing could be read: line 2 skipped: line 2: not a recognised"):
        sensor_community.parse("\n".join(archive[:1] + [archive[3]] * 2), "x")


# --- CSV --------------------------------------------------------------------------------------------

# The sample town's observations CSV layout (station_id,name,lon,lat,property,unit,time,value).
TOWN_CSV = """station_id,name,lon,lat,property,unit,time,value
S01,Marktplatz,9.4801,51.3127,PM2.5,µg/m³,2024-07-01T00:00:00Z,12.5
S01,Marktplatz,9.4801,51.3127,temperature,°C,2024-07-01T00:00:00Z,18.25
S01,Marktplatz,9.4801,51.3127,PM2.5,µg/m³,2024-07-01T01:00:00Z,14.0
S02,"Park, Nord",9.4901,51.3227,PM2.5,µg/m³,2024-07-01T01:00:00Z,
S02,"Park, Nord",9.4901,51.3227,noise,dB(A),2024-07-01T01:00:00Z,n/a
S02,"Park, Nord",9.4901,51.3227,noise,dB(A),2024-07-01T02:00:00Z,-999
"""


def test_csv_sample_town_layout():
    assert csv_feed.detect(TOWN_CSV)
    result = csv_feed.parse(TOWN_CSV, "town.csv")
    assert [(s.station_id, s.name, s.lon, s.lat) for s in result.stations] == [
        ("S01", "Marktplatz", 9.4801, 51.3127),
        ("S02", "Park, Nord", 9.4901, 51.3227),
    ]
    rows = [(o.stream_id, o.property, o.unit, o.time.hour, o.value, o.flag) for o in result.observations]
    assert rows == [
        ("S01/PM2.5", "PM2.5", "µg/m³", 0, 12.5, ""),
        ("S01/temperature", "temperature", "°C", 0, 18.25, ""),
        ("S01/PM2.5", "PM2.5", "µg/m³", 1, 14.0, ""),
        ("S02/PM2.5", "PM2.5", "µg/m³", 1, None, ""),
        ("S02/noise", "noise", "dB(A)", 1, None, "invalid"),
        ("S02/noise", "noise", "dB(A)", 2, None, "sentinel"),
    ]  # an empty cell is a NULL value, "n/a" is invalid, -999 a sentinel
    assert result.observations[0].time == datetime(2024, 7, 1, tzinfo=UTC)
    assert result.stations[1].last_time == datetime(2024, 7, 1, 2, tzinfo=UTC)
    assert result.warnings == []


def test_csv_wide_layout_semicolon_decimal_comma_and_units_in_headers():
    text = "Zeit;Temperatur [°C];Feuchte (%);Kommentar\n2024-07-01 00:00;18,5;60;ok\n2024-07-01 01:00;17,9;;ok\n"
    result = csv_feed.parse(text, "/data/kassel_mitte.csv")
    assert [s.station_id for s in result.stations] == ["kassel_mitte"]
    assert [(o.property, o.unit, o.time.hour, o.value) for o in result.observations] == [
        ("Temperatur", "°C", 0, 18.5),
        ("Feuchte", "%", 0, 60.0),
        ("Temperatur", "°C", 1, 17.9),
    ]
    assert any("no station column" in warning for warning in result.warnings)


def test_csv_explicit_mapping_tab_delimiter_and_intervals():
    text = (
        "messpunkt\tbeginn\tende\tno2\tx\ty\n"
        "A7\t2024-07-01T00:00:00+02:00\t2024-07-01T01:00:00+02:00\t31.5\t9.47\t51.31\n"
    )
    mapping = csv_feed.CsvMapping(time="beginn", time_end="ende", station="messpunkt", value_columns=("no2",))
    result = csv_feed.parse(text, "no2.tsv", mapping)
    (observation,) = result.observations
    assert (observation.station_id, observation.property, observation.value) == ("A7", "no2", 31.5)
    assert (observation.time, observation.time_end) == (
        datetime(2024, 6, 30, 22, tzinfo=UTC),
        datetime(2024, 6, 30, 23, tzinfo=UTC),
    )
    assert (result.stations[0].lon, result.stations[0].lat) == (9.47, 51.31)


def test_csv_bad_rows_are_skipped_with_a_warning_and_errors_name_the_problem():
    text = "time,value,station\n2024-07-01T00:00:00Z,1.5,A\nsoon,2.5,A\n2024-07-01T02:00:00Z,3.5,A\n"
    result = csv_feed.parse(text, "x.csv")
    assert [o.value for o in result.observations] == [1.5, 3.5]
    assert any(warning.startswith("line 3: not a recognised time") for warning in result.warnings)
    with pytest.raises(FeedFormatError, match="no time column"):
        csv_feed.parse("a,b\n1,2\n", "x.csv")
    with pytest.raises(FeedFormatError, match="column 'zeit' \\(time\\) is not in the header"):
        csv_feed.parse(TOWN_CSV, "x.csv", csv_feed.CsvMapping(time="zeit"))
    with pytest.raises(FeedFormatError, match="no row could be read"):
        csv_feed.parse("time,value\nsoon,1\nlater,2\n", "x.csv")
    with pytest.raises(FeedFormatError, match="JSON, not CSV"):
        csv_feed.parse('{"time": 1}', "x.csv")
    with pytest.raises(FeedFormatError, match="HTML page"):
        csv_feed.parse("<html><body>Error</body></html>", "x.csv")


# --- formats ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "number"),
    [
        (("opensensemap", "osem_box_single_apidoc.json"), 1),
        (("opensensemap", "osem_boxes_minimal_apidoc.json"), 1),
        (("opensensemap", "osem_sensor_data_apidoc.json"), 1),
        (("opensensemap", "osem_sensor_data_apidoc.csv"), 1),
        (("sensor_community", "sc_archive_2018-07-07_sds011_sensor_15092_abdn.csv"), 2),
        (("sensor_community", "sc_firmware_push_NRZ-2016-058_osem_tests.json"), 2),
        (("ttn", "ttn_v3_uplinks_dragino_koestler.ndjson"), 3),
        (("ttn", "ttn_v3_uplinks_sensecap_koestler.ndjson"), 3),
        (("ttn", "ttn_v2_legacy_uplink_payload_fields_bertrik.json"), 3),
        (("ttn", "ttn_v3_uplink_packetbroker_bertrik_sensor-data-bridge.json"), 3),
    ],
)
def test_detect_format_on_real_payloads(parts, number):
    text = read(*parts)
    assert detect_format(text) == number
    assert FORMAT_PARSERS[number](text, parts[-1]).stations


def test_detect_format_constructed_payloads():
    assert detect_format(json.dumps(CHIRPSTACK_UPLINK)) == 4
    assert detect_format(json.dumps(SC_API)) == 2
    assert detect_format(TOWN_CSV) == 5
    assert detect_format("<html><body>502</body></html>") is None
    assert sorted(FORMAT_PARSERS) == [1, 2, 3, 4, 5]


def test_format_table_numbers_and_live_defaults():
    """The FORMAT numbers are the table's positions (models store them); one paged format."""
    assert [fmt.number for fmt in FEED_FORMATS] == list(range(len(FEED_FORMATS)))
    assert FORMAT_NAMES[TTN] == "The Things Network v3 (JSON/NDJSON)"
    assert [fmt.number for fmt in FEED_FORMATS if fmt.paged] == [SENSORTHINGS]
    assert [fmt.number for fmt in FEED_FORMATS if fmt.supports_mqtt] == [TTN, CHIRPSTACK]
    assert [fmt.number for fmt in FEED_FORMATS if fmt.takes_mapping] == [CSV]
    assert feed_format(6) is None
    assert feed_format(-1) is None
    assert feed_format(CSV).refresh_s == 600
    assert all(fmt.hint.startswith(("SensorThings", fmt.name.split(" (")[0])) for fmt in FEED_FORMATS)


def test_csv_reads_the_sample_town_observations_csv(tmp_path):
    from social_resilience.core.sample_town.sensors import SENTINEL, csv_rows
    from social_resilience.core.sample_town.town import generate_town

    town = generate_town(seed=42, size_km=2.0)
    station_ids = town.layers["stations"].column("station_id")
    names = town.layers["stations"].column("name")
    # The algorithm writes WGS 84 positions; any valid ones do for the parser.
    lookup = {
        sid: (name, round(9.40 + k / 1000, 7), round(51.30 + k / 1000, 7))
        for k, (sid, name) in enumerate(zip(station_ids, names))
    }
    path = tmp_path / "observations.csv"
    with path.open("w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows(csv_rows(town.layers["observations"].rows, lookup))
    result = csv_feed.parse(path.read_text(encoding="utf-8"), str(path))
    assert [s.station_id for s in result.stations] == list(dict.fromkeys(station_ids))
    assert all((s.name, s.lon, s.lat) == lookup[s.station_id] for s in result.stations)
    expected = [(row[0], row[2], row[3], row[4], row[6]) for row in town.layers["observations"].rows]
    got = [(o.station_id, o.property, o.unit, o.time) for o in result.observations]
    assert len(got) == len(expected) > 20000
    assert got == [item[:4] for item in expected]
    sentinels = [o for o in result.observations if o.flag == "sentinel"]
    assert len(sentinels) == sum(1 for item in expected if item[4] == SENTINEL) > 0
    assert all(json.loads(o.raw)["value"] == "-999" for o in sentinels)
    nulls = [o for o in result.observations if o.value is None and not o.flag]
    assert len(nulls) == sum(1 for item in expected if item[4] is None) > 0
    assert all(o.value == item[4] for o, item in zip(result.observations, expected) if not o.flag)
