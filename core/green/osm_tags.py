"""OpenStreetMap tags: parse GDAL's ``other_tags`` and classify ways, nodes and areas.

Pure Python (no QGIS): every predicate takes a plain ``dict`` of OSM tags.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

#: One ``"key"=>"value"`` pair of GDAL's hstore text; backslash escapes ``\\"`` and ``\\\\``.
_PAIR = re.compile(r'"((?:[^"\\]|\\.)*)"\s*=>\s*(?:"((?:[^"\\]|\\.)*)"|NULL)', re.DOTALL)
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)

#: Highway classes a pedestrian may use unless tagged otherwise.
WALKABLE_HIGHWAYS = frozenset(
    {
        "footway", "path", "pedestrian", "living_street", "residential", "service", "unclassified",
        "tertiary", "tertiary_link", "secondary", "secondary_link", "primary", "primary_link",
        "track", "steps", "cycleway", "bridleway", "road", "corridor",
    }
)  # fmt: skip
#: Highway classes walkable only with an explicit ``foot=yes|designated|permissive``.
FOOT_EXPLICIT_HIGHWAYS = frozenset({"motorway", "motorway_link", "trunk", "trunk_link"})
#: ``foot`` values that allow walking, overriding ``access=no|private``.
FOOT_ALLOWED = frozenset({"yes", "designated", "permissive", "official"})
#: ``foot`` values that forbid walking (``use_sidepath``: a separately mapped sidewalk exists).
FOOT_FORBIDDEN = frozenset({"no", "private", "use_sidepath"})
#: ``access`` values that forbid walking unless ``foot`` allows it.
ACCESS_FORBIDDEN = frozenset({"no", "private"})

#: Default barrier road classes: fast roads and their ramps; ``primary_link``/``secondary_link``
#: (short slip lanes at junctions) are crossable and not included.
DEFAULT_BARRIER_CLASSES = ("motorway", "motorway_link", "trunk", "trunk_link", "primary", "secondary")
#: Railway values that are barriers (``tram`` runs in the street and is crossable anywhere).
BARRIER_RAILWAYS = frozenset({"rail", "light_rail", "narrow_gauge", "subway", "monorail", "preserved"})
#: Waterway values that are barriers (streams and ditches can be stepped over or are culverted).
BARRIER_WATERWAYS = frozenset({"river", "canal"})

#: Green space kinds by tag key; value -> kind written to the output.
GREEN_TAGS: dict[str, frozenset[str]] = {
    "leisure": frozenset({"park", "garden", "recreation_ground", "common"}),
    "landuse": frozenset({"forest", "meadow", "recreation_ground", "village_green", "grass"}),
    "natural": frozenset({"wood"}),
}
#: Values of ``garden:type`` that mark a garden as not public.
PRIVATE_GARDEN_TYPES = frozenset({"private", "residential", "domestic"})

_NO = frozenset({"no", "false", "0"})


def parse_hstore(text: str | None) -> dict[str, str]:
    """Tags of GDAL's ``other_tags`` text ``"k"=>"v","k2"=>"v2"`` (escaped quotes allowed).

    Empty, ``None`` or malformed text gives the pairs that could be read (possibly none);
    a ``NULL`` value is skipped.
    """
    if not text:
        return {}
    tags: dict[str, str] = {}
    for match in _PAIR.finditer(text):
        key, value = match.group(1), match.group(2)
        if value is None:
            continue
        if "\\" in key:
            key = _ESCAPE.sub(r"\1", key)
        if "\\" in value:
            value = _ESCAPE.sub(r"\1", value)
        tags[key] = value
    return tags


def is_set(value: str | None) -> bool:
    """Tell whether a tag value says yes in any form (``yes``, ``viaduct``, ``culvert``...)."""
    return bool(value) and value.strip().lower() not in _NO


def _first(value: str | None) -> str:
    """First of ``;``-separated values, lower case ("" for None)."""
    return (value or "").split(";", 1)[0].strip().lower()


def is_walkable(tags: Mapping[str, str]) -> bool:
    """Whether a way may be used on foot.

    Walkable highway classes count unless ``foot`` forbids it or ``access`` is ``no``/``private``
    without a permissive ``foot``; motorways and trunk roads count only with an explicit ``foot=yes``.
    Areas (``area=yes``) and ways under construction do not count.
    """
    highway = _first(tags.get("highway"))
    foot = _first(tags.get("foot"))
    if tags.get("area") == "yes":
        return False
    if highway in FOOT_EXPLICIT_HIGHWAYS:
        return foot in FOOT_ALLOWED
    if highway not in WALKABLE_HIGHWAYS:
        return False
    if foot in FOOT_FORBIDDEN:
        return False
    return not (_first(tags.get("access")) in ACCESS_FORBIDDEN and foot not in FOOT_ALLOWED)


def is_grade_separated(tags: Mapping[str, str]) -> bool:
    """Whether the way is a bridge or in a tunnel (other ways pass under or over it)."""
    return is_set(tags.get("bridge")) or is_set(tags.get("tunnel"))


def barrier_kind(
    tags: Mapping[str, str],
    classes: Iterable[str] = DEFAULT_BARRIER_CLASSES,
    railways: bool = True,
    waterways: bool = True,
) -> tuple[str, str] | None:
    """``(kind, class)`` of a barrier way (kind ``road``, ``railway`` or ``waterway``), else None.

    Bridges and tunnels are no barrier: the walker passes under or over them.
    """
    if is_grade_separated(tags):
        return None
    highway = _first(tags.get("highway"))
    if highway and highway in classes:
        return "road", highway
    railway = _first(tags.get("railway"))
    if railways and railway in BARRIER_RAILWAYS:
        return "railway", railway
    waterway = _first(tags.get("waterway"))
    if waterways and waterway in BARRIER_WATERWAYS:
        return "waterway", waterway
    return None


def is_barrier(
    tags: Mapping[str, str],
    classes: Iterable[str] = DEFAULT_BARRIER_CLASSES,
    railways: bool = True,
    waterways: bool = True,
) -> bool:
    """Whether a way is a barrier to pedestrians (see :func:`barrier_kind`)."""
    return barrier_kind(tags, classes, railways, waterways) is not None


def crossing_kind(tags: Mapping[str, str]) -> str | None:
    """Return the tag (``key=value``) that makes a node a place to cross a barrier, else None.

    ``highway=crossing``, ``highway=traffic_signals``, ``railway=crossing|level_crossing`` and any
    ``crossing=*`` except ``crossing=no``.
    """
    highway = _first(tags.get("highway"))
    if highway in ("crossing", "traffic_signals"):
        return f"highway={highway}"
    railway = _first(tags.get("railway"))
    if railway in ("crossing", "level_crossing"):
        return f"railway={railway}"
    crossing = tags.get("crossing")
    if crossing and _first(crossing) != "no":
        return f"crossing={crossing}"
    return None


def is_crossing(tags: Mapping[str, str]) -> bool:
    """Whether a node is a place to cross a barrier (see :func:`crossing_kind`)."""
    return crossing_kind(tags) is not None


def crossing_way_kind(tags: Mapping[str, str]) -> str | None:
    """``footway=crossing`` (or the ``path``/``cycleway`` form) for a crossing way, else None."""
    for key in ("footway", "path", "cycleway"):
        if _first(tags.get(key)) == "crossing":
            return f"{key}=crossing"
    return None


def green_kind(tags: Mapping[str, str], allotments: bool = False) -> str | None:
    """Kind (tag value, e.g. ``park``) of a public green space, else None.

    Parks, gardens, recreation grounds, commons, forests, woods, meadows, village greens and
    grass, and allotments (``landuse=allotments``) when ``allotments`` is true; not when
    ``access=private|no``, ``fee=yes`` or a private garden type. Grass on traffic islands
    (``area:highway``) does not count.
    """
    for key, values in GREEN_TAGS.items():
        value = _first(tags.get(key))
        if value in values or (allotments and key == "landuse" and value == "allotments"):
            break
    else:
        return None
    if _first(tags.get("access")) in ACCESS_FORBIDDEN or is_set(tags.get("fee")):
        return None
    if value == "garden" and _first(tags.get("garden:type")) in PRIVATE_GARDEN_TYPES:
        return None
    if value == "grass" and tags.get("area:highway"):
        return None
    return value


def is_public_green(tags: Mapping[str, str], allotments: bool = False) -> bool:
    """Whether an area is a public green space (see :func:`green_kind`)."""
    return green_kind(tags, allotments) is not None


def is_building(tags: Mapping[str, str]) -> bool:
    """Whether an area is a building (``building=*`` other than ``no``)."""
    return is_set(tags.get("building"))


def parse_classes(text: str) -> tuple[str, ...]:
    """Highway classes from a comma/semicolon/space separated list, lower case, no duplicates."""
    classes: list[str] = []
    for item in re.split(r"[,;\s]+", text or ""):
        item = item.strip().lower()
        if item and item not in classes:
            classes.append(item)
    return tuple(classes)


def parse_layer(value: str | None) -> int | None:
    """OSM ``layer`` as an int (first of ``;``-separated values), None when absent or not a number."""
    try:
        return int(_first(value))
    except ValueError:
        return None


#: Everyday places: tag -> category of ``facilityaccess`` (``kind`` keeps the tag).
PLACE_TAGS: dict[tuple[str, str], str] = {
    ("shop", "supermarket"): "grocery",
    ("shop", "convenience"): "grocery",
    ("shop", "bakery"): "bakery",
    ("amenity", "school"): "school",
    ("amenity", "kindergarten"): "kindergarten",
    ("amenity", "doctors"): "doctor",
    ("amenity", "pharmacy"): "pharmacy",
    ("highway", "bus_stop"): "bus_stop",
    ("railway", "tram_stop"): "bus_stop",
    ("railway", "station"): "station",
    ("railway", "halt"): "station",
}
#: Keys whose values make a place (for the OGR filters).
PLACE_KEYS = ("shop", "amenity", "highway", "railway", "public_transport")


def place_category(tags: Mapping[str, str]) -> tuple[str, str] | None:
    """``(category, tag)`` of an everyday place, else None.

    Groceries (supermarkets, convenience shops), bakeries, schools, kindergartens, doctors,
    pharmacies, public transport stops where people wait (``highway=bus_stop``, tram stops, bus and
    tram platforms: category ``bus_stop``; train stations and halts: ``station``); not the stop
    positions on the carriageway, which would count a stop twice.
    """
    for (key, value), category in PLACE_TAGS.items():
        if _first(tags.get(key)) == value:
            return category, f"{key}={value}"
    if _first(tags.get("public_transport")) == "platform":
        if is_set(tags.get("train")) or _first(tags.get("railway")) == "platform":
            return "station", "public_transport=platform"
        return "bus_stop", "public_transport=platform"
    return None


def is_tree(tags: Mapping[str, str]) -> bool:
    """Whether a node is a single tree (``natural=tree``)."""
    return _first(tags.get("natural")) == "tree"


def is_tree_row(tags: Mapping[str, str]) -> bool:
    """Whether a way is a row of trees (``natural=tree_row``)."""
    return _first(tags.get("natural")) == "tree_row"


def canopy_kind(tags: Mapping[str, str]) -> str | None:
    """``natural=wood`` or ``landuse=forest`` for an area under tree canopy (public or not), else None."""
    if _first(tags.get("natural")) == "wood":
        return "natural=wood"
    if _first(tags.get("landuse")) == "forest":
        return "landuse=forest"
    return None
