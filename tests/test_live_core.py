"""Pure core of the live sensor layers: feed configuration, latest values, SensorThings latest query, MQTT."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from social_resilience.core.live.feed_config import (
    FeedConfig,
    Thresholds,
    default_thresholds,
    feeds_from_json,
    feeds_to_json,
    pollutant_key,
)
from social_resilience.core.live.feed_state import cause_first, error_message
from social_resilience.core.live.latest_values import (
    LatestValue,
    choose_property,
    format_value,
    judge,
    judge_all,
    latest_readings,
    matching_observations,
    merge_readings,
)
from social_resilience.core.live.mqtt_messages import parse_message, uplink_device
from social_resilience.core.live.sensorthings_latest import (
    datastream_series_url,
    latest_query_url,
    parse_latest_page,
    parse_series,
    representative_point,
)
from social_resilience.core.sensors import opensensemap, sensor_community
from social_resilience.core.sensors.errors import FeedFormatError

from .conftest import shared_data

UTC = timezone.utc
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


# -- configuration ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key", "warn", "alert"),
    [
        ("NO2", "no2", 25.0, 40.0),
        ("Stickstoffdioxid (NO₂)", "no2", 25.0, 40.0),
        ("PM2.5", "pm25", 15.0, 25.0),
        ("SDS_P2", "pm25", 15.0, 25.0),
        ("P2", "pm25", 15.0, 25.0),
        ("PM10", "pm10", 45.0, 50.0),
        ("P1", "pm10", 45.0, 50.0),
        ("noise_LAeq", "noise", 53.0, 65.0),
        ("Lärmpegel", "noise", 53.0, 65.0),
    ],
)
def test_thresholds_follow_who_and_eu_limits(name, key, warn, alert):
    assert pollutant_key(name) == key
    assert default_thresholds(name) == Thresholds(warn, alert)
    config = FeedConfig(name="x", format=2, url="http://h", property=name)
    assert (config.thresholds.warn, config.thresholds.alert) == (warn, alert)


def test_unknown_property_has_no_thresholds():
    assert pollutant_key("Luftdruck") is None
    assert default_thresholds("Luftdruck") == Thresholds(None, None)
    assert Thresholds().classify(1e9) == "ok"


def test_default_refresh_intervals():
    assert FeedConfig(name="a", format=0, url="u").refresh_s == 60
    assert FeedConfig(name="b", format=1, url="u").refresh_s == 300
    assert FeedConfig(name="c", format=2, url="u").refresh_s == 300
    assert 300 <= FeedConfig(name="d", format=5, url="u").refresh_s <= 600
    assert FeedConfig(name="e", format=3, transport="mqtt", mqtt_host="h").mqtt_topic == "v3/+/devices/+/up"
    assert FeedConfig(name="f", format=4, transport="mqtt", mqtt_host="h").mqtt_topic.endswith("/event/up")


def test_feeds_json_round_trip():
    feeds = [
        FeedConfig(name="Kassel NO2", format=0, url="https://sta.example/v1.1", property="NO2", authcfg="ab12cd3"),
        FeedConfig(
            name="TTN", format=3, transport="mqtt", mqtt_host="eu1.cloud.thethings.network", mqtt_port=8883,
            mqtt_tls=True, property="TempC_SHT", thresholds=Thresholds(30.0, None), stale_after=5,
            archive_path="/tmp/a.gpkg", enabled=False,
        ),
    ]
    text = feeds_to_json(feeds)
    assert json.loads(text)["version"] == 1
    assert feeds_from_json(text) == feeds
    assert "password" not in text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "invalid JSON"),
        ('{"feeds": 3}', "'feeds' list"),
        ('{"version": 99, "feeds": []}', "newer"),
        ('{"feeds": [{"format": 0}]}', "'name' and 'format'"),
    ],
)
def test_invalid_feed_lists_are_refused_with_reason(text, message):
    with pytest.raises(ValueError, match=message):
        feeds_from_json(text)


def test_problems_name_what_is_wrong():
    assert FeedConfig(name="ok", format=0, url="http://x").problems() == []
    assert "An HTTP feed needs a URL." in FeedConfig(name="x", format=0).problems()
    mqtt_sta = FeedConfig(name="x", format=0, transport="mqtt", mqtt_host="h", mqtt_topic="t").problems()
    assert any("MQTT is available" in p for p in mqtt_sta)
    assert any("warn threshold" in p for p in FeedConfig("x", 0, "u", thresholds=Thresholds(50, 40)).problems())
    assert any("at least 5 seconds" in p for p in FeedConfig("x", 0, "u", refresh_s=2).problems())
    assert any("needs a name" in p for p in FeedConfig(" ", 0, "u").problems())


# -- latest values ---------------------------------------------------------------------------------


def reading(value, minutes_ago=0.0, station="s1", prop="NO2"):
    return LatestValue(station, station, 9.5, 51.3, value, "µg/m³", NOW - timedelta(minutes=minutes_ago), prop)


def test_judge_thresholds_are_inclusive():
    limits = Thresholds(25.0, 40.0)
    assert judge(reading(24.99), limits, NOW, 600)[0] == "ok"
    assert judge(reading(25.0), limits, NOW, 600)[0] == "warn"
    assert judge(reading(39.9), limits, NOW, 600)[0] == "warn"
    status, detail = judge(reading(40.0), limits, NOW, 600)
    assert status == "alert"
    assert "40" in detail


def test_judge_stale_and_error():
    limits = Thresholds(25.0, 40.0)
    status, detail = judge(reading(50.0, minutes_ago=11), limits, NOW, 600)
    assert status == "stale"
    assert "11 min" in detail
    assert judge(reading(50.0, minutes_ago=9), limits, NOW, 600)[0] == "alert"
    broken = reading(None)
    broken.detail = "sentinel"
    assert judge(broken, limits, NOW, 600) == ("error", "sentinel")


def test_merge_keeps_newer_values_and_absent_stations():
    old = {"a": reading(10.0, minutes_ago=1, station="a"), "b": reading(20.0, minutes_ago=1, station="b")}
    late = reading(99.0, minutes_ago=5, station="a")
    late.lon, late.lat = 10.0, 52.0
    fresh = {"a": late, "c": reading(30.0, station="c")}
    merged = merge_readings(old, fresh)
    assert merged["a"].value == 10.0  # a late (older) message never replaces a newer value
    assert (merged["a"].lon, merged["a"].lat) == (10.0, 52.0)  # but moves the station
    assert merged["b"].value == 20.0  # absent from the refresh: kept
    assert merged["c"].value == 30.0
    newer = reading(11.0, station="a")
    newer.lon = newer.lat = None
    merged = merge_readings(merged, {"a": newer})
    assert merged["a"].value == 11.0
    assert merged["a"].lon == 10.0


def test_judge_all_sets_every_status():
    readings = {
        "a": reading(10.0, station="a"),
        "b": reading(30.0, station="b"),
        "c": reading(45.0, station="c"),
        "d": reading(10.0, minutes_ago=60, station="d"),
        "e": reading(None, station="e"),
    }
    judged = judge_all(readings, Thresholds(25.0, 40.0), 600, now=NOW)
    assert {k: v.status for k, v in judged.items()} == {
        "a": "ok", "b": "warn", "c": "alert", "d": "stale", "e": "error"
    }
    assert readings["c"].status == "ok"  # the input is not modified


def test_latest_of_opensensemap_box_by_property():
    text = shared_data("sensors", "opensensemap", "osem_box_single_apidoc.json").read_text(encoding="utf-8")
    result = opensensemap.parse(text, "osem")
    readings = latest_readings(result, "Temperatur")
    assert list(readings) == ["57000b8745fd40c8196ad04c"]
    box = readings["57000b8745fd40c8196ad04c"]
    assert (box.value, box.unit, box.name) == (0.21, "°C", "Oststr/Mauritzsteinpfad")
    assert (box.lon, box.lat) == (7.64568, 51.962372)
    assert box.time == datetime(2016, 11, 11, 21, 22, 1, 675000, tzinfo=UTC)
    assert judge_all(readings, Thresholds(), 900)["57000b8745fd40c8196ad04c"].status == "stale"


def test_pollutant_alias_matches_sensor_community_value_types():
    text = shared_data("sensors", "sensor_community", "sc_firmware_push_NRZ-2018-121C_osem_tests.json").read_text(
        encoding="utf-8"
    )
    result = sensor_community.parse(text, "push")
    pm25 = latest_readings(result, "pm2,5")  # no exact name: matched by pollutant (PM2.5 / SDS_P2)
    assert [r.value for r in pm25.values()] == [1.05]
    assert latest_readings(result, "PM10")["unknown"].value == 1.87
    assert latest_readings(result, "ozone") == {}


def test_choose_property_prefers_the_most_common():
    text = shared_data("sensors", "ttn", "ttn_v3_uplinks_dragino_koestler.ndjson").read_text(encoding="utf-8")
    from social_resilience.core.sensors import ttn

    result = ttn.parse(text, "ttn")
    # BatV: 3 devices, Hum_SHT: 3, TempC_SHT: 3 -> alphabetical among the most common
    assert choose_property(result) == "BatV"
    temps = latest_readings(result, "TempC_SHT")
    expected = {"lht52-temp-0": 28.77, "lsn50-temp-2": 22.1, "lht52-temp-1": 29.23}
    assert {k: v.value for k, v in temps.items()} == expected
    lsn50 = ttn.parse(text.splitlines()[1], "ttn")  # Temp_Red, Temp_White, ... but no TempC_SHT
    assert latest_readings(lsn50, "TempC_SHT") == {}  # a specific name never falls back to an alias
    assert len(matching_observations(lsn50.observations, "temperature")) == 3  # a generic one does
    absent_probe = latest_readings(result, "TempC_DS")
    assert {r.value for r in absent_probe.values()} == {None}
    assert {r.detail for r in absent_probe.values()} == {"sentinel"}
    assert {r.status for r in judge_all(absent_probe, Thresholds(), 1e12).values()} == {"error"}


# -- SensorThings latest values ------------------------------------------------------------------------


def test_latest_query_for_service_root_and_collection():
    url = latest_query_url("https://iot.hamburg.de/v1.1/")
    assert url.startswith("https://iot.hamburg.de/v1.1/Things?$top=100&$expand=Locations,Datastreams(")
    assert "Observations($top=1;$orderby=phenomenonTime%20desc;$select=phenomenonTime,result)" in url
    assert "ObservedProperty" in url
    assert " " not in url
    given = "https://sta.example/v1.1/Things?$filter=name eq 'x'"
    assert latest_query_url(given) == given
    series = datastream_series_url("https://sta.example/v1.1", "42", 50)
    assert series.startswith("https://sta.example/v1.1/Datastreams(42)/Observations?$top=50&$orderby=phenomenonTime")


def test_parse_hamburg_latest_observations():
    text = shared_data(
        "sensors", "sensorthings", "hamburg_things_expand_locations_datastreams_observations_bav4.json"
    ).read_text(encoding="utf-8")
    result, next_link = parse_latest_page(text, "hamburg")
    assert next_link == "http://next"
    (station,) = result.stations
    assert station.station_id == "228"
    assert station.name == "Hamburg University of Applied Sciences: Energie-Campus"
    assert station.lon == pytest.approx(10.20108, abs=2e-4)
    assert station.lat == pytest.approx(53.47558, abs=2e-4)
    assert len(result.observations) == 8
    readings = latest_readings(result, "Photovoltaik HAW Erzeugung elektrisch")
    pv = readings["228"]
    assert (pv.value, pv.unit, pv.stream_id) == (3425.0, "W", "676")
    assert pv.time == datetime(2026, 4, 9, 14, 23, 11, 710000, tzinfo=UTC)
    assert latest_readings(result, "")["228"].property == "BHKW HAW Erzeugung elektrisch"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ('{"value": [', "not valid JSON"),
        ("<html><title>502 Bad Gateway</title></html>", "HTML page"),
        ('{"error": "x"}', "no 'value' list"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_malformed_sensorthings_answers(text, message):
    with pytest.raises(FeedFormatError, match=message):
        parse_latest_page(text, "sta")


def test_interval_phenomenon_time_and_null_result():
    document = {
        "value": [
            {
                "@iot.id": "t1",
                "name": "Box",
                "Locations": [],
                "Datastreams": [
                    {
                        "@iot.id": 7,
                        "name": "noise",
                        "observedArea": {"type": "Point", "coordinates": [9.5, 51.3]},
                        "unitOfMeasurement": {"symbol": "dB(A)"},
                        "ObservedProperty": {"name": "LAeq"},
                        "Observations": [
                            {"phenomenonTime": "2025-06-01T11:00:00Z/2025-06-01T11:15:00Z", "result": 61.5}
                        ],
                    },
                    {
                        "@iot.id": 8,
                        "name": "pm",
                        "ObservedProperty": {"name": "PM10"},
                        "Observations": [{"phenomenonTime": "2025-06-01T11:15:00Z", "result": None}],
                    },
                ],
            }
        ]
    }
    result, next_link = parse_latest_page(json.dumps(document), "sta")
    assert next_link == ""
    assert (result.stations[0].lon, result.stations[0].lat) == (9.5, 51.3)  # from observedArea
    noise = latest_readings(result, "noise")["t1"]  # found through the pollutant alias of LAeq
    assert noise.time == datetime(2025, 6, 1, 11, 15, tzinfo=UTC)  # end of the interval
    assert judge(noise, default_thresholds("noise"), NOW, 3600)[0] == "warn"
    assert latest_readings(result, "PM10")["t1"].value is None


def test_parse_series_of_a_datastream():
    document = {
        "value": [
            {"phenomenonTime": "2025-06-01T11:10:00Z", "result": 31},
            {"phenomenonTime": "2025-06-01T11:00:00Z", "result": "28.5"},
            {"phenomenonTime": "bad", "result": 1},
        ]
    }
    result = parse_series(json.dumps(document), "sta", "t1", "7", "NO2", "µg/m³")
    assert [(o.time.minute, o.value) for o in result.observations] == [(10, 31.0), (0, 28.5)]


def test_representative_point_of_feature_polygon():
    ring = [[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]
    assert representative_point({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}}) == (1, 1)
    # an L shape: the area-weighted centroid (as the sensor import places it), not the vertex mean
    l_shape = [[0, 0], [4, 0], [4, 1], [1, 1], [1, 4], [0, 4], [0, 0]]
    point = representative_point({"type": "Polygon", "coordinates": [l_shape]})
    assert point == pytest.approx((9.5 / 7, 9.5 / 7))
    assert representative_point({"type": "Point", "coordinates": [7.1, 50.2, 80]}) == (7.1, 50.2)
    assert representative_point(None) is None


# -- MQTT messages ---------------------------------------------------------------------------------


def test_uplink_topics():
    assert uplink_device("v3/piegn@ttn/devices/lht52-temp-0/up", 3) == "lht52-temp-0"
    assert uplink_device("v3/piegn@ttn/devices/lht52-temp-0/join", 3) is None
    assert uplink_device("v3/piegn@ttn/devices/lht52-temp-0/down/queued", 3) is None
    assert uplink_device("application/7/device/0101010101010101/event/up", 4) == "0101010101010101"
    assert uplink_device("application/7/device/0101010101010101/event/status", 4) is None
    assert uplink_device("application/7/device/0101010101010101/event/up", 3) is None


def test_parse_ttn_uplink_message():
    line = shared_data("sensors", "ttn", "ttn_v3_uplinks_dragino_koestler.ndjson").read_text(encoding="utf-8")
    first = line.splitlines()[0]
    topic = "v3/piegn@ttn/devices/lht52-temp-0/up"
    result = parse_message(topic, first.encode(), 3)
    reading_ = latest_readings(result, "TempC_SHT")["lht52-temp-0"]
    assert (reading_.value, reading_.unit) == (28.77, "°C")
    assert parse_message("v3/piegn@ttn/devices/lht52-temp-0/join", first.encode(), 3) is None
    with pytest.raises(FeedFormatError, match="lht52-temp-0/up"):
        parse_message(topic, first[:40].encode(), 3)
    with pytest.raises(FeedFormatError, match="not UTF-8"):
        parse_message(topic, b"\xff\xfe{", 3)


@pytest.mark.parametrize(
    ("value", "text"),
    [(9.0, "9"), (9.25, "9.25"), (40.0, "40"), (40.04, "40"), (12.35, "12.3"), (999.96, "1000"),
     (1234.6, "1235"), (0.456, "0.46"), (0.045, "0.045"), (0.0123, "0.0123"), (-3.5, "-3.5"),
     (-0.00001, "0"), (None, "")],
)
def test_values_are_formatted_once_for_table_and_map(value, text):
    assert format_value(value) == text


def test_error_text_puts_the_cause_first_and_the_redacted_url_last():
    detail = "HTTP 401 from https://ann:secret@api.example.org/v1.1/Things?token=abc (no values yet)"
    cause, urls = cause_first(detail)
    assert cause == "HTTP 401 from api.example.org (no values yet)"
    assert urls == ["https://***@api.example.org/v1.1/Things?token=***"]
    message = error_message(detail)
    assert message.startswith("HTTP 401 from api.example.org")
    assert message.endswith("https://***@api.example.org/v1.1/Things?token=***")
    assert "secret" not in message
    assert "abc" not in message
    query = "http://127.0.0.1:8080/v1.1/Things?$expand=Datastreams($top=1;$select=result)"
    assert cause_first(f"cannot fetch {query}: Connection refused (kept)") == (
        "cannot fetch 127.0.0.1:8080: Connection refused (kept)", [query]
    )
    assert error_message("MQTT broker.local: connection refused") == "MQTT broker.local: connection refused"
