"""Recognise layers of the sample town, and the results made from them, by the fields they carry."""

from __future__ import annotations

from collections.abc import Iterable

from .buildings import BUILDING_FIELDS
from .districts import DISTRICT_FIELDS

#: The fields of the sample town's districts and buildings; every output of the toolkit keeps its input's fields.
SIGNATURES = (frozenset(name for name, _ in DISTRICT_FIELDS), frozenset(name for name, _ in BUILDING_FIELDS))
#: The keyword the sample town writes into the QGIS metadata of each of its layers.
KEYWORD = "synthetic"


def from_sample_town(field_names: Iterable[str]) -> bool:
    """Whether a layer with these fields comes from the sample town (all fields of its districts or buildings)."""
    names = set(field_names)
    return any(signature <= names for signature in SIGNATURES)
