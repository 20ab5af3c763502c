"""OSM tag parsing and classification (pure Python, no QGIS needed)."""

from __future__ import annotations

import pytest
from social_resilience.core.green.osm_tags import (
    DEFAULT_BARRIER_CLASSES,
    barrier_kind,
    crossing_kind,
    crossing_way_kind,
    green_kind,
    is_barrier,
    is_building,
    is_crossing,
    is_public_green,
    is_walkable,
    parse_classes,
    parse_hstore,
    parse_layer,
)


def test_parse_hstore_plain_pairs():
    text = '"bicycle"=>"no","foot"=>"no","lanes"=>"3","name:ru"=>"Улица 17 Июня","ref"=>"B 2;B 5"'
    assert parse_hstore(text) == {
        "bicycle": "no",
        "foot": "no",
        "lanes": "3",
        "name:ru": "Улица 17 Июня",
        "ref": "B 2;B 5",
    }


def test_parse_hstore_escaped_quotes_and_backslashes():
    text = r'"name"=>"Café \"Zum Löwen\"","note"=>"a\\b","k\"ey"=>"v=>x","empty"=>""'
    assert parse_hstore(text) == {"name": 'Café "Zum Löwen"', "note": "a\\b", 'k"ey': "v=>x", "empty": ""}


def test_parse_hstore_commas_and_arrows_inside_values():
    assert parse_hstore('"opening_hours"=>"Mo-Fr 08:00-12:00, 14:00-18:00","a"=>"x,\\"y\\"=>z"') == {
        "opening_hours": "Mo-Fr 08:00-12:00, 14:00-18:00",
        "a": 'x,"y"=>z',
    }


@pytest.mark.parametrize("text", [None, "", "garbage", '"unterminated=>"x'])
def test_parse_hstore_empty_or_malformed_gives_no_tags(text):
    assert parse_hstore(text) == {}


def test_parse_hstore_spaces_and_null_values():
    assert parse_hstore('"a" => "1", "b"=>NULL, "c"=>"3"') == {"a": "1", "c": "3"}


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"highway": "footway"}, True),
        ({"highway": "residential"}, True),
        ({"highway": "primary"}, True),
        ({"highway": "primary", "foot": "no"}, False),
        ({"highway": "secondary", "foot": "use_sidepath"}, False),
        ({"highway": "service", "access": "private"}, False),
        ({"highway": "service", "access": "no", "foot": "yes"}, True),
        ({"highway": "track", "access": "no", "foot": "permissive"}, True),
        ({"highway": "living_street", "access": "destination"}, True),
        ({"highway": "motorway"}, False),
        ({"highway": "trunk"}, False),
        ({"highway": "trunk", "foot": "yes"}, True),
        ({"highway": "motorway_link", "foot": "designated"}, True),
        ({"highway": "construction"}, False),
        ({"highway": "platform"}, False),
        ({"highway": "pedestrian", "area": "yes"}, False),
        ({"railway": "rail"}, False),
        ({}, False),
    ],
)
def test_is_walkable(tags, expected):
    assert is_walkable(tags) is expected


def test_default_barrier_classes_include_motorway_and_trunk_links_not_primary_links():
    assert set(DEFAULT_BARRIER_CLASSES) == {"motorway", "motorway_link", "trunk", "trunk_link", "primary", "secondary"}


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"highway": "primary"}, ("road", "primary")),
        ({"highway": "motorway_link"}, ("road", "motorway_link")),
        ({"highway": "primary_link"}, None),
        ({"highway": "tertiary"}, None),
        ({"highway": "primary", "bridge": "yes"}, None),
        ({"highway": "secondary", "tunnel": "yes"}, None),
        ({"highway": "secondary", "bridge": "no"}, ("road", "secondary")),
        ({"railway": "rail"}, ("railway", "rail")),
        ({"railway": "light_rail"}, ("railway", "light_rail")),
        ({"railway": "tram"}, None),
        ({"railway": "abandoned"}, None),
        ({"railway": "rail", "bridge": "viaduct"}, None),
        ({"waterway": "river"}, ("waterway", "river")),
        ({"waterway": "canal"}, ("waterway", "canal")),
        ({"waterway": "stream"}, None),
        ({"waterway": "river", "tunnel": "culvert"}, None),
    ],
)
def test_barrier_kind_defaults(tags, expected):
    assert barrier_kind(tags) == expected
    assert is_barrier(tags) is (expected is not None)


def test_barrier_options_switch_classes_railways_and_waterways_off():
    assert not is_barrier({"highway": "secondary"}, classes=("motorway", "primary"))
    assert is_barrier({"highway": "tertiary"}, classes=("tertiary",))
    assert not is_barrier({"railway": "rail"}, railways=False)
    assert not is_barrier({"waterway": "river"}, waterways=False)
    assert is_barrier({"waterway": "river"}, classes=(), railways=False)


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"highway": "crossing"}, "highway=crossing"),
        ({"highway": "traffic_signals"}, "highway=traffic_signals"),
        ({"highway": "crossing", "crossing": "zebra"}, "highway=crossing"),
        ({"crossing": "uncontrolled"}, "crossing=uncontrolled"),
        ({"crossing": "no"}, None),
        ({"railway": "level_crossing"}, "railway=level_crossing"),
        ({"railway": "crossing"}, "railway=crossing"),
        ({"highway": "bus_stop"}, None),
        ({"railway": "switch"}, None),
    ],
)
def test_crossing_kind(tags, expected):
    assert crossing_kind(tags) == expected
    assert is_crossing(tags) is (expected is not None)


def test_crossing_way_kind():
    assert crossing_way_kind({"highway": "footway", "footway": "crossing"}) == "footway=crossing"
    assert crossing_way_kind({"highway": "cycleway", "cycleway": "crossing"}) == "cycleway=crossing"
    assert crossing_way_kind({"highway": "footway", "footway": "sidewalk"}) is None


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"leisure": "park"}, "park"),
        ({"leisure": "garden", "garden:type": "public"}, "garden"),
        ({"leisure": "garden", "garden:type": "residential"}, None),
        ({"leisure": "garden", "access": "private"}, None),
        ({"leisure": "park", "access": "no"}, None),
        ({"leisure": "park", "fee": "yes"}, None),
        ({"leisure": "park", "fee": "no"}, "park"),
        ({"landuse": "forest"}, "forest"),
        ({"natural": "wood"}, "wood"),
        ({"landuse": "meadow"}, "meadow"),
        ({"landuse": "recreation_ground"}, "recreation_ground"),
        ({"leisure": "recreation_ground"}, "recreation_ground"),
        ({"landuse": "village_green"}, "village_green"),
        ({"leisure": "common"}, "common"),
        ({"landuse": "grass"}, "grass"),
        ({"landuse": "grass", "area:highway": "traffic_island"}, None),
        ({"leisure": "nature_reserve"}, None),
        ({"landuse": "cemetery"}, None),
        ({"natural": "water"}, None),
    ],
)
def test_green_kind(tags, expected):
    assert green_kind(tags) == expected
    assert is_public_green(tags) is (expected is not None)


def test_allotments_count_only_when_asked():
    assert green_kind({"landuse": "allotments"}) is None
    assert green_kind({"landuse": "allotments"}, allotments=True) == "allotments"
    assert not is_public_green({"landuse": "allotments", "access": "private"}, allotments=True)


def test_is_building():
    assert is_building({"building": "yes"})
    assert is_building({"building": "church"})
    assert not is_building({"building": "no"})
    assert not is_building({"amenity": "school"})


def test_parse_classes_and_layer():
    assert parse_classes(" Primary, secondary;trunk  primary ") == ("primary", "secondary", "trunk")
    assert parse_classes("") == ()
    assert parse_layer("-1") == -1
    assert parse_layer("1;2") == 1
    assert parse_layer("high") is None
    assert parse_layer(None) is None
