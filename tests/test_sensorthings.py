"""SensorThings queries and pages, fetch policy and the importer core (no QGIS, a fetch test double)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone
from urllib.parse import unquote

import pytest
from social_resilience.core.sensors import sensorthings as sta
from social_resilience.core.sensors.errors import FeedError, FeedFormatError, FeedHttpError
from social_resilience.core.sensors.fetch import (
    FeedConnectionError,
    FileFetcher,
    MemoryFetcher,
    fetch_json,
    redact_url,
)
from social_resilience.core.sensors.formats import CSV
from social_resilience.core.sensors.importer import ImportOptions, import_feed, parse_properties

from .conftest import shared_data

HAMBURG = ("sensors", "sensorthings", "hamburg_things_expand_locations_datastreams_observations_bav4.json")
UTC = timezone.utc


def _hamburg() -> tuple[bytes, dict]:
    data = shared_data(*HAMBURG).read_bytes()
    return data, json.loads(data)


def _nested_links(document: dict) -> list[str]:
    return [ds["Observations@iot.nextLink"] for thing in document["value"] for ds in thing["Datastreams"]]


def _page(items: list, next_link: str | None = None) -> bytes:
    page: dict = {"value": items}
    if next_link:
        page["@iot.nextLink"] = next_link
    return json.dumps(page).encode()


# -- pages ------------------------------------------------------------------------------------------


def test_hamburg_page_station_streams_and_links():
    _data, document = _hamburg()
    page = sta.parse_page(document, sta.Link("http://local/things", "Things"), "hamburg")
    assert [s.station_id for s in page.stations] == [str(document["value"][0]["@iot.id"])]
    station = page.stations[0]
    ring = document["value"][0]["Locations"][0]["location"]["geometry"]["coordinates"][0]
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    assert min(xs) < station.lon < max(xs)
    assert min(ys) < station.lat < max(ys)
    assert station.properties["footprint"]["type"] == "Polygon"  # footprint kept
    assert station.properties["ownerThing"] == "Hamburg University of Applied Sciences"
    streams = document["value"][0]["Datastreams"]
    assert [s.stream_id for s in page.streams] == [str(ds["@iot.id"]) for ds in streams]
    assert {s.unit for s in page.streams} == {ds["unitOfMeasurement"]["symbol"] for ds in streams}
    assert [o.value for o in page.observations] == [float(ds["Observations"][0]["result"]) for ds in streams]
    # every link exactly as written: the top-level one and one nested per Datastream
    assert [link.url for link in page.links] == [document["@iot.nextLink"], *_nested_links(document)]
    assert [link.kind for link in page.links] == ["Things"] + ["Observations"] * len(streams)
    assert page.links[1].stream.stream_id == str(streams[0]["@iot.id"])


def test_hamburg_import_follows_every_next_link_unchanged():
    data, document = _hamburg()
    nested = _nested_links(document)
    second_thing = {"@iot.id": 999, "name": "second page", "Locations": [
        {"location": {"type": "Point", "coordinates": [10.0, 53.5]}}]}
    responses = {"http://127.0.0.1/things.json": data, document["@iot.nextLink"]: _page([second_thing])}
    for index, link in enumerate(nested):
        # the next page of each Datastream: one more observation, an interval and a null result
        responses[link] = _page([
            {"phenomenonTime": "2020-01-01T00:00:00Z/2020-01-01T01:00:00Z", "result": None},
            {"phenomenonTime": f"2020-01-01T0{index % 10}:30:00+02:00", "result": index},
        ])
    fetcher = MemoryFetcher(responses)
    result = import_feed(ImportOptions(source="http://127.0.0.1/things.json"), fetcher)
    assert fetcher.requests[0] == "http://127.0.0.1/things.json"
    assert sorted(fetcher.requests[1:]) == sorted([document["@iot.nextLink"], *nested])  # unchanged, each once
    assert result.complete
    assert result.warnings == []
    assert {s.station_id for s in result.stations} == {"228", "999"}
    assert len(result.observations) == 3 * len(nested)
    nulls = [o for o in result.observations if o.raw == '{"value":null}']
    assert len(nulls) == len(nested)
    assert all(o.value is None for o in nulls)
    assert all(o.time_end == datetime(2020, 1, 1, 1, tzinfo=UTC) for o in nulls)
    shifted = next(o for o in result.observations if o.value == 1.0 and o.time.year < 2021)
    assert shifted.time == datetime(2019, 12, 31, 23, 30, tzinfo=UTC)  # +02:00 to UTC


def test_interval_phenomenon_time_and_result_types():
    items = [
        {"phenomenonTime": "2024-01-01T00:00:00Z/2024-01-01T00:10:00Z", "result": 1.5},
        {"phenomenonTime": "2024-01-01T00:10:00.123Z", "result": "2.5"},
        {"phenomenonTime": "2024-01-01T00:20:00Z", "result": True},
        {"phenomenonTime": "2024-01-01T00:30:00Z", "result": {"a": 1}},
        {"phenomenonTime": "2024-01-01T00:40:00Z", "result": "n/a"},
        {"phenomenonTime": "2024-01-01T00:50:00Z", "result": -999},
        {"result": 3},  # no time: skipped and counted
    ]
    page = sta.parse_page({"value": items}, sta.Link("u", "Observations", sta.Stream("7", "s", "pm10", "ug/m3")), "x")
    values = [o.value for o in page.observations]
    assert values == [1.5, 2.5, None, None, None, None]
    assert page.observations[0].time_end == datetime(2024, 1, 1, 0, 10, tzinfo=UTC)
    assert page.observations[1].time == datetime(2024, 1, 1, 0, 10, 0, 123000, tzinfo=UTC)
    assert page.observations[1].time_end is None
    assert json.loads(page.observations[3].raw) == {"value": {"a": 1}}
    assert page.observations[5].flag == "sentinel"
    assert page.skipped == 1
    assert {(o.station_id, o.stream_id, o.property, o.unit) for o in page.observations} == {("s", "7", "pm10", "ug/m3")}


def test_stream_from_url_path_and_navigation_link():
    kind, stream, station_id = sta.url_target("https://x.org/sta/v1.1/Datastreams(42)/Observations?$top=5")
    assert (kind, stream.stream_id, stream.path, station_id) == ("Observations", "42", "Datastreams(42)", "")
    assert sta.url_target("https://x.org/v1.1/Things('a''b')/Datastreams")[2] == "a'b"
    item = {"Datastream@iot.navigationLink": "https://x.org/v1.1/Datastreams(9)", "components": ["phenomenonTime",
            "result"], "dataArray": [["2024-01-01T00:00:00Z", 1], ["2024-01-01T01:00:00Z", None]]}
    page = sta.parse_page({"value": [item]}, sta.Link("u", "Observations"), "x")
    assert [(o.stream_id, o.value) for o in page.observations] == [("9", 1.0), ("9", None)]


def test_multidatastream_results_split_per_component():
    multi = {
        "@iot.id": 5, "name": "weather",
        "unitOfMeasurements": [{"symbol": "°C"}, {"symbol": "%"}],
        "multiObservationDataTypes": ["OM_Measurement", "OM_Measurement"],
        "ObservedProperties": [{"name": "temperature"}, {"name": "humidity"}],
        "Observations": [{"phenomenonTime": "2024-05-01T12:00:00Z", "result": [21.5, None]}],
        "Observations@iot.nextLink": "https://x.org/v1.1/MultiDatastreams(5)/Observations?$skip=1",
    }
    thing = {"@iot.id": 1, "name": "t", "MultiDatastreams": [multi]}
    page = sta.parse_page({"value": [thing]}, sta.Link("u", "Things"), "x")
    assert [(o.stream_id, o.property, o.unit, o.value) for o in page.observations] == [
        ("5[0]", "temperature", "°C", 21.5), ("5[1]", "humidity", "%", None)]
    assert page.links[0].url == multi["Observations@iot.nextLink"]
    assert page.links[0].stream.components


def test_location_shapes():
    square = {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]],
                                                   [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    x, y = sta.geometry_centroid(square)  # L-shape: the hole shifts the centroid
    assert x == pytest.approx(7 / 6)
    assert y == pytest.approx(7 / 6)
    assert sta.geometry_centroid({"type": "Point", "coordinates": [7.1, 50.2, 80]}) == (7.1, 50.2)
    assert sta.geometry_centroid({"type": "LineString", "coordinates": [[0, 0], [2, 4]]}) == (1, 2)
    thing = {"@iot.id": "a", "Locations": [{"location": {"type": "Feature", "geometry": {
        "type": "Point", "coordinates": [9.5, 51.3]}}}]}
    station = sta.parse_page({"value": [thing]}, sta.Link("u", "Things"), "x").stations[0]
    assert (station.lon, station.lat) == (9.5, 51.3)
    assert "footprint" not in station.properties


def test_not_sensorthings_is_a_clear_error():
    with pytest.raises(FeedFormatError, match="not a SensorThings response"):
        sta.parse_page({"type": "FeatureCollection"}, sta.Link("u", "Things"), "x")


# -- queries -------------------------------------------------------------------------------------


def test_queries_from_a_service_root():
    root = "https://iot.example.org/sta/v1.1"
    assert sta.is_service_root(root)
    assert sta.is_service_root(root + "/")
    assert not sta.is_service_root(root + "/Things")
    assert sta.service_root(root + "/Things?$top=1") == root
    query = unquote(sta.things_query(root, (9.0, 51.0, 9.5, 51.5), ["PM10"], page_size=500))
    assert query.startswith(root + "/Things?$expand=Locations,Datastreams(")
    assert "$expand=ObservedProperty,Sensor" in query
    assert "$top=500" in query
    assert "st_within(Locations/location, geography'POLYGON((9.0000000 51.0000000,9.5000000 51.0000000," in query
    assert "tolower(Datastreams/ObservedProperty/name) eq 'pm10'" in query
    stream = sta.Stream("7", path="Datastreams(7)")
    url = sta.observations_query(root, stream, datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC), 250)
    text = unquote(url)
    assert text.startswith(root + "/Datastreams(7)/Observations?")
    assert "phenomenonTime ge 2024-01-01T00:00:00.000Z and phenomenonTime le 2024-02-01T00:00:00.000Z" in text
    assert "$orderby=phenomenonTime asc" in text
    assert "$top=250" in text
    assert " " not in url
    assert "$top=125" in sta.halve_top(url)
    assert "$top=1&" in sta.set_top(url, 0)
    assert sta.entity_path("Datastreams", "it's") == "Datastreams('it''s')"


def test_service_root_import_builds_queries_and_shrinks_only_its_own_pages():
    root = "http://sta.test/v1.1"
    thing = {"@iot.id": 1, "name": "t", "Locations": [{"location": {"type": "Point", "coordinates": [9, 51]}}],
             "Datastreams": [{"@iot.id": 3, "name": "d", "unitOfMeasurement": {"symbol": "dB"},
                              "ObservedProperty": {"name": "noise"}}]}
    things_url = sta.things_query(root, page_size=2)
    obs_url = sta.observations_query(root, sta.Stream("3", path="Datastreams(3)"), page_size=2)
    server_next = "http://sta.test/v1.1/Datastreams(3)/Observations?$top=2&$skip=2&opaque=1"
    fail = FeedHttpError("HTTP 503", 503, "")
    fetcher = MemoryFetcher({
        root: json.dumps({"value": [{"name": "Things", "url": root + "/Things"}]}).encode(),
        things_url: _page([thing]),
        obs_url: [fail, fail],  # the original URL fails twice ...
        sta.set_top(obs_url, 1): _page([{"phenomenonTime": "2024-01-01T00:00:00Z", "result": 1}], server_next),
        server_next: [fail, fail, _page([{"phenomenonTime": "2024-01-01T00:01:00Z", "result": 2}])],
    })
    sleeps: list[float] = []
    result = import_feed(ImportOptions(source=root, page_size=2), fetcher, sleep=sleeps.append)
    assert [o.value for o in result.observations] == [1.0, 2.0]
    assert result.complete
    assert fetcher.requests.count(server_next) == 3  # retried, never rewritten
    assert sta.set_top(obs_url, 1) in fetcher.requests  # ... then its $top is halved
    assert sleeps == [0.5, 1.0, 0.5, 1.0]
    assert result.stations[0].last_time == datetime(2024, 1, 1, 0, 1, tzinfo=UTC)


# -- fetch policy --------------------------------------------------------------------------------


def test_redact_url_hides_credentials():
    url = "https://user:secret@api.example.org/data?token=abc&x=1&API-KEY=zzz&apikey=k"
    text = redact_url(url)
    assert "secret" not in text
    assert "abc" not in text
    assert "zzz" not in text
    assert "=k" not in text
    assert text.startswith("https://***@api.example.org/data?")
    assert "x=1" in text


def test_redact_text_hides_credentials_in_error_messages():
    from social_resilience.core.sensors.fetch import redact_text

    message = redact_text("Error transferring https://user:secret@host.example/x?token=abc - server replied: Forbidden")
    assert "secret" not in message
    assert "abc" not in message
    assert message.endswith("- server replied: Forbidden")


def test_retries_with_backoff_then_success():
    url = "http://h/x?key=topsecret"
    fetcher = MemoryFetcher({url: [FeedHttpError("HTTP 503", 503, url), FeedConnectionError("timeout"),
                                   b'{"value": [1, 2', b'<html><body>gateway</body></html>', b'{"value": []}']})
    sleeps: list[float] = []
    assert fetch_json(fetcher, url, retries=4, sleep=sleeps.append) == {"value": []}
    assert sleeps == [0.5, 1.0, 2.0, 4.0]


def test_persistent_failures_are_clear_and_redacted():
    url = "http://user:pw@h/x?token=topsecret"
    with pytest.raises(FeedFormatError, match="truncated") as caught:
        fetch_json(MemoryFetcher({url: b'{"value": [1, 2'}), url, retries=2, sleep=lambda _s: None)
    assert "topsecret" not in str(caught.value)
    assert "pw@" not in str(caught.value)
    assert "h/x" in str(caught.value)
    with pytest.raises(FeedFormatError, match="HTML page"):
        fetch_json(MemoryFetcher({url: b"<!DOCTYPE html><title>Oops</title>"}), url, retries=0)
    unauthorised = MemoryFetcher({url: FeedHttpError("HTTP 401", 401, url)})
    with pytest.raises(FeedHttpError):
        fetch_json(unauthorised, url, retries=3, sleep=lambda _s: pytest.fail("401 must not be retried"))
    assert len(unauthorised.requests) == 1


def test_file_fetcher(tmp_path):
    path = tmp_path / "a b.json"
    path.write_text('{"value": []}')
    assert FileFetcher().get(str(path)) == b'{"value": []}'
    assert FileFetcher().get(path.as_uri()) == b'{"value": []}'
    with pytest.raises(FeedError, match="file not found"):
        FileFetcher().get(str(tmp_path / "missing.json"))


# -- importer --------------------------------------------------------------------------------------


def _observation_pages(count: int, per_page: int) -> dict[str, bytes]:
    pages = {}
    for start in range(0, count, per_page):
        stop = min(count, start + per_page)
        items = [{"phenomenonTime": f"2024-01-01T00:{i:02d}:00Z", "result": i} for i in range(start, stop)]
        nxt = f"http://h/v1.1/Datastreams(1)/Observations?$skip={stop}" if stop < count else None
        key = "http://h/v1.1/Datastreams(1)/Observations" + (f"?$skip={start}" if start else "")
        pages[key] = _page(items, nxt)
    return pages


def test_limit_cuts_short_with_a_warning():
    fetcher = MemoryFetcher(_observation_pages(50, 10))
    result = import_feed(ImportOptions(source="http://h/v1.1/Datastreams(1)/Observations", max_observations=25),
                         fetcher)
    assert len(result.observations) == 25
    assert not result.complete
    assert "MAX_OBSERVATIONS" in result.warnings[0]
    assert len(fetcher.requests) == 3  # stops fetching at the limit
    exact = import_feed(ImportOptions(source="http://h/v1.1/Datastreams(1)/Observations", max_observations=50),
                        MemoryFetcher(_observation_pages(50, 10)))
    assert len(exact.observations) == 50
    assert exact.complete


def test_failed_later_page_keeps_what_was_fetched_and_is_incomplete():
    pages = _observation_pages(30, 10)
    pages["http://h/v1.1/Datastreams(1)/Observations?$skip=10"] = FeedHttpError("HTTP 500", 500, "")
    result = import_feed(ImportOptions(source="http://h/v1.1/Datastreams(1)/Observations", retries=1, backoff=0),
                         MemoryFetcher(pages))
    assert [o.value for o in result.observations] == [float(i) for i in range(10)]
    assert not result.complete
    assert "HTTP 500" in result.warnings[0]
    with pytest.raises(FeedHttpError):  # nothing fetched: the import fails
        import_feed(ImportOptions(source="http://h/v1.1/Datastreams(2)/Observations", retries=0), MemoryFetcher({}))


def test_filters_apply_after_parsing_for_other_formats(tmp_path):
    path = tmp_path / "feed.csv"
    path.write_text(
        "station_id,lon,lat,property,unit,time,value\n"
        "a,9.1,51.1,pm10,ug/m3,2024-01-01T00:00:00Z,10\n"
        "a,9.1,51.1,no2,ug/m3,2024-01-02T00:00:00Z,20\n"
        "b,12.0,48.0,pm10,ug/m3,2024-01-03T00:00:00Z,30\n"
        "a,9.1,51.1,pm10,ug/m3,2024-01-04T00:00:00Z,40\n"
    )
    options = ImportOptions(format=CSV, source=str(path), properties=parse_properties("PM10; o3"),
                            extent=(9.0, 51.0, 9.5, 51.5), start=datetime(2024, 1, 1, 12, tzinfo=UTC))
    result = import_feed(options, FileFetcher())
    assert [o.value for o in result.observations] == [40.0]
    assert [s.station_id for s in result.stations] == ["a"]
    assert result.complete
    assert result.stations[0].last_time == datetime(2024, 1, 4, tzinfo=UTC)


def test_cancel_stops_between_pages_and_marks_incomplete():
    fetcher = MemoryFetcher(_observation_pages(50, 10))
    checks = iter([False, False, True])
    result = import_feed(ImportOptions(source="http://h/v1.1/Datastreams(1)/Observations"), fetcher,
                         cancelled=lambda: next(checks, True))
    assert len(result.observations) == 20
    assert not result.complete
    assert "cancelled" in result.warnings[0]


def test_server_rejecting_the_filter_falls_back_to_filtering_after_download():
    root = "http://sta.test/v1.1"
    things = [
        {"@iot.id": i, "name": f"t{i}", "Locations": [{"location": {"type": "Point", "coordinates": [lon, 51.0]}}],
         "Datastreams": [{"@iot.id": i, "name": "d", "unitOfMeasurement": {"symbol": "dB"},
                          "ObservedProperty": {"name": "noise"}}]}
        for i, lon in ((1, 9.1), (2, 12.0))
    ]
    observations = _page([{"phenomenonTime": "2024-01-01T00:00:00Z", "result": 42}])
    extent = (9.0, 50.9, 9.5, 51.1)
    small = sta.QueryShape(top=sta.SMALL_TOP)
    fetcher = MemoryFetcher({
        root: json.dumps({"value": [{"name": "Things"}]}).encode(),
        sta.things_query(root, extent): FeedHttpError("HTTP 400", 400, ""),
        sta.things_query(root, extent, shape=small): FeedHttpError("HTTP 400", 400, ""),  # not the $top: the filter
        sta.things_query(root, shape=small): _page(things),
        sta.observations_query(root, sta.Stream("1", path="Datastreams(1)")): observations,
    })
    result = import_feed(ImportOptions(source=root, extent=extent), fetcher)
    assert [s.station_id for s in result.stations] == ["1"]
    assert [o.value for o in result.observations] == [42.0]
    assert "rejected the filter" in result.warnings[0]
    assert not any("Datastreams(2)" in url for url in fetcher.requests)  # outside the extent: not asked
    assert len(fetcher.requests) == 6  # root, property names (404), three Things queries each once, one stream
    refusing = MemoryFetcher({root: json.dumps({"value": []}).encode(),
                              sta.things_query(root, extent): FeedHttpError("HTTP 400", 400, ""),
                              sta.things_query(root, extent, shape=small): FeedHttpError("HTTP 400", 400, ""),
                              sta.things_query(root, shape=small): FeedHttpError("HTTP 400", 400, "")})
    with pytest.raises(FeedHttpError, match="400"):  # no endless fallback
        import_feed(ImportOptions(source=root, extent=extent), refusing)
    assert len(refusing.requests) == 5


def test_observations_page_read_in_one_loop_equals_the_entity_by_entity_reading():
    """The fast loop for a stream's Observations gives exactly what the general reader gives."""
    from social_resilience.core.sensors.model import Observation
    from social_resilience.core.sensors.sensorthings import Link, Page, Stream, _PageReader, parse_page

    results = [20.5, 7, -999, -9999.0, float("nan"), "12.5", "n/a", True, None, [1, 2], {"a": 1}, 1e400, -0.0, 3.0]
    items = [{"phenomenonTime": f"2024-01-01T00:{i:02d}:00.125Z", "result": r} for i, r in enumerate(results)]
    items += [{"phenomenonTime": "2024-01-01T01:00:00+02:00/2024-01-01T00:30:00Z", "result": 1.5},
              {"resultTime": "2024-01-01T02:00:00Z", "result": 2.5}, {"phenomenonTime": "not a time", "result": 1.0},
              {"phenomenonTime": "2024-01-01T03:00:00Z", "result": 4.0,
               "Datastream": {"@iot.id": 9, "name": "other", "unitOfMeasurement": {"symbol": "K"}}}]
    stream = Stream("7", "3", "temperature", "°C", "Datastreams(7)")
    fast = parse_page({"value": items}, Link("http://x/v1.1/Datastreams(7)/Observations", "Observations", stream, "3"),
                      "src")
    general = Page()
    reader = _PageReader(general, "src")
    for item in items:
        reader.observation(item, stream, "3")

    def key(o: Observation) -> tuple:
        value = "nan" if o.value is not None and o.value != o.value else o.value
        return (o.station_id, o.stream_id, o.property, o.unit, o.time, o.time_end, value, o.raw, o.source, o.flag)

    assert [key(o) for o in fast.observations] == [key(o) for o in general.observations]
    assert len(fast.observations) == len(items) - 1
    assert fast.skipped == general.skipped == 1
    assert {o.flag for o in fast.observations} >= {"sentinel", "invalid", ""}


def test_datastream_url_window_on_the_server_and_the_fallback_when_it_refuses_the_filter():
    """A Datastream URL with START/END: its description, then only the window; a refused $filter: a warning."""
    root = "http://sta.test/v1.1"
    source = f"{root}/Datastreams('a')/Observations"
    start, end = datetime(2024, 1, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, 2, tzinfo=UTC)
    described = {"@iot.id": "a", "name": "d", "unitOfMeasurement": {"symbol": "µg/m³"},
                 "ObservedProperty": {"name": "NO2"},
                 "Thing": {"@iot.id": 9, "name": "t", "Locations": [{"location": {"type": "Point",
                                                                                  "coordinates": [9, 51]}}]}}
    stream = sta.Stream("a", path="Datastreams('a')")
    everything = _page([{"phenomenonTime": f"2024-01-01T0{h}:00:00Z", "result": h} for h in range(5)])
    refused = FeedHttpError("HTTP 400", 400, "")
    shapes = [sta.QueryShape(), sta.QueryShape(orderby=False), sta.QueryShape(orderby=False, top=sta.SMALL_TOP)]
    answers = {root: json.dumps({"value": [{"name": "Things"}]}).encode(),
               sta.stream_query(root, "Datastreams", "'a'"): json.dumps(described).encode(),
               **{sta.observations_query(root, stream, start, end, shape=shape): refused for shape in shapes},
               sta.observations_query(root, stream, start, end, shape=replace(shapes[-1], filter=False)): everything}
    fetcher = MemoryFetcher(answers)
    result = import_feed(ImportOptions(source=source, start=start, end=end, properties=["no2"]), fetcher)
    assert [(o.station_id, o.property, o.unit, o.value) for o in result.observations] == [
        ("9", "NO2", "µg/m³", 1.0), ("9", "NO2", "µg/m³", 2.0)]
    assert [(s.station_id, s.lon, s.lat) for s in result.stations] == [("9", 9.0, 51.0)]
    assert any("rejected the filter" in w and "filtered after download" in w for w in result.warnings)
    windowed = MemoryFetcher({**answers, sta.observations_query(root, stream, start, end): _page(
        [{"phenomenonTime": "2024-01-01T01:00:00Z", "result": 1}])})
    assert len(import_feed(ImportOptions(source=source, start=start, end=end), windowed).observations) == 1
    assert "$filter=phenomenonTime" in unquote(windowed.requests[-1])
