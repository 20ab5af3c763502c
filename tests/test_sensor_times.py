"""Times, sentinels and JSON loading of the sensor parsers (pure Python, no QGIS)."""

from __future__ import annotations

import math
import time
from datetime import datetime, timedelta, timezone

import pytest
from social_resilience.core.sensors.errors import FeedError, FeedFormatError, FeedHttpError
from social_resilience.core.sensors.jsontext import load_documents
from social_resilience.core.sensors.sentinels import screen
from social_resilience.core.sensors.times import parse_interval, parse_time

UTC = timezone.utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-08-25T21:12:53.828332832Z", datetime(2022, 8, 25, 21, 12, 53, 828332, tzinfo=UTC)),
        ("2016-11-11T21:22:01.675Z", datetime(2016, 11, 11, 21, 22, 1, 675000, tzinfo=UTC)),
        ("2018-07-07T20:03:06", datetime(2018, 7, 7, 20, 3, 6, tzinfo=UTC)),
        ("2018-07-07 20:03:06", datetime(2018, 7, 7, 20, 3, 6, tzinfo=UTC)),
        ("2022-07-18T09:34:15.775023242+00:00", datetime(2022, 7, 18, 9, 34, 15, 775023, tzinfo=UTC)),
        ("2024-07-01T02:00:00+02:00", datetime(2024, 7, 1, 0, 0, tzinfo=UTC)),
        ("2024-07-01T05:30:00+0530", datetime(2024, 7, 1, 0, 0, tzinfo=UTC)),
        ("2024-06-30T19:00:00-05", datetime(2024, 7, 1, 0, 0, tzinfo=UTC)),
        ("2024-07-01T00:00", datetime(2024, 7, 1, 0, 0, tzinfo=UTC)),
        ("2024-07-01", datetime(2024, 7, 1, 0, 0, tzinfo=UTC)),
        ("2024-07-01T00:00:00,5Z", datetime(2024, 7, 1, 0, 0, 0, 500000, tzinfo=UTC)),
        ("1661461942", datetime(2022, 8, 25, 21, 12, 22, tzinfo=UTC)),
        (1661461942, datetime(2022, 8, 25, 21, 12, 22, tzinfo=UTC)),
        (1661461942500, datetime(2022, 8, 25, 21, 12, 22, 500000, tzinfo=UTC)),
        (1661461942.25, datetime(2022, 8, 25, 21, 12, 22, 250000, tzinfo=UTC)),
    ],
)
def test_parse_time_gives_aware_utc(text, expected):
    parsed = parse_time(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


def test_parse_time_datetime_objects():
    assert parse_time(datetime(2024, 1, 1, 12)) == datetime(2024, 1, 1, 12, tzinfo=UTC)
    berlin = timezone(timedelta(hours=1))
    converted = parse_time(datetime(2024, 1, 1, 12, tzinfo=berlin))
    assert converted == datetime(2024, 1, 1, 11, tzinfo=UTC)
    assert converted.tzinfo == UTC


def test_zone_less_time_as_local_time_when_asked(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        assert parse_time("2024-07-01T12:00:00", assume_utc=False) == datetime(2024, 7, 1, 10, tzinfo=UTC)
        assert parse_time("2024-07-01T12:00:00Z", assume_utc=False) == datetime(2024, 7, 1, 12, tzinfo=UTC)
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize("bad", ["yesterday", "2024-13-01T00:00:00Z", "2024-02-30", "", None, True, "12:00"])
def test_parse_time_rejects_what_is_not_a_time(bad):
    with pytest.raises(FeedFormatError, match="time"):
        parse_time(bad)


def test_parse_interval():
    start, end = parse_interval("2024-07-01T00:00:00Z/2024-07-01T01:00:00Z")
    assert (start, end) == (datetime(2024, 7, 1, 0, tzinfo=UTC), datetime(2024, 7, 1, 1, tzinfo=UTC))
    assert parse_interval("2024-07-01T00:00:00Z") == (datetime(2024, 7, 1, 0, tzinfo=UTC), None)
    with pytest.raises(FeedFormatError, match="ends before it starts"):
        parse_interval("2024-07-01T01:00:00Z/2024-07-01T00:00:00Z")


def test_sentinels_only_where_they_are_codes():
    assert screen(327.67, lorawan=True) == (None, "sentinel")
    assert screen(-327.68, lorawan=True) == (None, "sentinel")
    assert screen(655.35, lorawan=True) == (None, "sentinel")
    assert screen(327.67) == (327.67, "")
    assert screen(-999.0) == (None, "sentinel")
    assert screen(-9999.0, lorawan=True) == (None, "sentinel")
    assert screen(float("nan")) == (None, "invalid")
    assert screen(math.inf) == (None, "invalid")
    assert screen(-0.1, lorawan=True) == (-0.1, "")
    assert screen(None) == (None, "")


def test_error_classes():
    error = FeedHttpError("Not Found", status=404, url="https://example.org/v1.1/Things")
    assert isinstance(error, FeedError)
    assert (error.status, error.url, str(error)) == (404, "https://example.org/v1.1/Things", "Not Found")
    assert issubclass(FeedFormatError, FeedError)


def test_load_documents_json_array_ndjson_and_storage_wrapper():
    assert load_documents('[{"a": 1}, {"a": 2}]') == [{"a": 1}, {"a": 2}]
    assert load_documents('\ufeff{"a": 1}\n\n{"a": 2}\n') == [{"a": 1}, {"a": 2}]
    assert load_documents('{"result": {"a": 1}}\n{"result": {"a": 2}}') == [{"a": 1}, {"a": 2}]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the feed is empty"),
        ('{"a": [1, 2', "ends too early"),
        ('{"a": "unterminated', "ends too early"),
        ('{"a": 1} trailing', "unexpected text after the end"),
        ('{"a": 1}\n{"a": 2}\n{"a" 3}', "line 3 is not valid JSON"),
        ("<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head></html>", "an HTML page, not JSON"),
    ],
)
def test_load_documents_errors_say_what_is_wrong(text, message):
    with pytest.raises(FeedFormatError, match=message):
        load_documents(text)


def test_html_error_page_names_its_title():
    with pytest.raises(FeedFormatError, match=r"error page \(503 Service Unavailable\)"):
        load_documents("<html><head><title>503 Service Unavailable</title></head><body></body></html>")


def test_markup_that_is_not_html_and_json_that_mentions_html():
    with pytest.raises(FeedFormatError, match="XML or other markup"):
        load_documents('<?xml version="1.0"?><ServiceExceptionReport/>')
    assert load_documents('{"note": "<body>is not a page</body>"}') == [{"note": "<body>is not a page</body>"}]
