"""Read the report's layers: key figures, area rows, method facts and data sources."""

from __future__ import annotations

from qgis.core import NULL, QgsProcessingException, QgsVectorLayer, QgsWkbTypes
from qgis.PyQt.QtCore import QCoreApplication

from ...core.report.content import (
    AccessSummary,
    AreaRow,
    HotspotSummary,
    MethodFacts,
    access_summary,
    counted_population,
    group_share,
    hotspot_summary,
)
from ...core.report.everyday import RULE_FIELDS, EverydaySummary, everyday_summary
from ...core.sample_town.signature import KEYWORD, from_sample_town
from ..common import to_float
from ..qt_compat import FieldType

#: Fields of the local hotspot statistics and of the hotspot score (``<indicator>_n``, ``_cls``).
LOCAL_FIELDS = ("gi_bin", "lisa_cluster")
EQUITY_FIELDS = ("pop", "pop_served", "served_share")
#: Fields the catchments add to the homes: never a population.
ACCESS_FIELDS = ("net_dist_m", "green_id", "served", "eucl_dist_m", "served_eucl")
#: Names that a population field usually has, tried first.
POPULATION_NAMES = ("population", "pop", "residents", "inhabitants", "einwohner", "ew", "bewohner")


def tr(text: str) -> str:
    """Translate a message of the report's layer reading."""
    return QCoreApplication.translate("report_content", text)


def memory_layer(source, name: str, features: list, wkb_type: int) -> QgsVectorLayer:
    """Put the features read from a Processing source into a memory layer to compute on and draw."""
    layer = QgsVectorLayer(QgsWkbTypes.displayString(wkb_type) or "None", name, "memory")
    layer.setCrs(source.sourceCrs())  # an invalid CRS stays invalid: drawn in the layer's own units
    provider = layer.dataProvider()
    provider.addAttributes(source.fields().toList())
    layer.updateFields()
    provider.addFeatures(features)
    layer.updateExtents()
    return layer


def has_fields(layer: QgsVectorLayer | None, names) -> bool:
    """Whether ``layer`` has every field of ``names``."""
    return layer is not None and all(layer.fields().lookupField(n) >= 0 for n in names)


def _value(feature, field: str) -> float | None:
    index = feature.fields().lookupField(field)
    return None if index < 0 else to_float(feature.attributes()[index])


def _text(feature, field: str) -> str | None:
    index = feature.fields().lookupField(field)
    value = None if index < 0 else feature.attributes()[index]
    return None if value is None or value == NULL else str(value)


def residential_access(layer: QgsVectorLayer, population_field: str | None) -> AccessSummary:
    """Count the served population (or homes) of ``OUTPUT_RESIDENTIAL`` of the catchments."""
    missing = [n for n in ("served", "served_eucl") if layer.fields().lookupField(n) < 0]
    if missing:
        raise QgsProcessingException(tr(
            "RESIDENTIAL has no field {}: use OUTPUT_RESIDENTIAL of the green-space catchments.").format(
            ", ".join(missing)))
    pops, served, straight = [], [], []
    for feature in layer.getFeatures():
        pop = _value(feature, population_field) if population_field else 1.0
        pops.append(pop or 0.0)
        served.append(bool(_value(feature, "served")))
        straight.append(bool(_value(feature, "served_eucl")))
    return access_summary(pops, served, straight)


def everyday(layer: QgsVectorLayer, population_field: str | None) -> EverydaySummary:
    """Shares of the 3-30-300 rule (``rule_*`` of rule33030) and of everyday places (facilityaccess)."""
    names = layer.fields().names()
    categories = [n[: -len("_dist_m")] for n in names if n.endswith("_dist_m") and f"{n[:-7]}_n" in names]
    with_rules = all(n in names for n in RULE_FIELDS)
    population, rules, places, every = [], {n: [] for n in RULE_FIELDS}, {c: [] for c in categories}, []
    for feature in layer.getFeatures():
        population.append((_value(feature, population_field) if population_field else 1.0) or 0.0)
        for name in RULE_FIELDS if with_rules else ():
            rules[name].append(bool(_value(feature, name)))
        for category in categories:
            places[category].append(bool(_value(feature, f"{category}_n")))
        every.append(bool(_value(feature, "all_served")))
    all_served = every if "all_served" in names and categories else None
    return everyday_summary(population, rules if with_rules else None, places if all_served else {}, all_served)


def areas_access(layer: QgsVectorLayer) -> AccessSummary:
    """Sum the served population from the equity fields of the areas (when no RESIDENTIAL is given)."""
    total = served = straight = 0.0
    for feature in layer.getFeatures():
        pop = _value(feature, "pop") or 0.0
        total += pop
        served += _value(feature, "pop_served") or 0.0
        straight += pop * (_value(feature, "served_share_eucl") or 0.0)
    return AccessSummary(total, served, straight, max(straight - served, 0.0))


def name_field(layer: QgsVectorLayer) -> str | None:
    """Find the field that names an area: ``name``, else the first text field."""
    for field in layer.fields():
        if field.name().lower() == "name":
            return field.name()
    texts = [f.name() for f in layer.fields() if f.type() == FieldType.STRING and f.name() not in LOCAL_FIELDS]
    return texts[0] if texts else None


def area_rows(layer: QgsVectorLayer) -> list[AreaRow]:
    """One row per area with the equity, score and local-statistics fields it has."""
    label = name_field(layer)
    rows = []
    for feature in layer.getFeatures():
        gi_bin = _value(feature, "gi_bin")
        priority = _value(feature, "priority")
        rows.append(AreaRow(
            name=(_text(feature, label) if label else None) or f"#{feature.id()}",
            pop=_value(feature, "pop"),
            served_share=_value(feature, "served_share"),
            served_share_eucl=_value(feature, "served_share_eucl"),
            barrier_gap=_value(feature, "barrier_gap"),
            dist_median_m=_value(feature, "dist_median_m"),
            score_pct=_value(feature, "score_pct"),
            gi_bin=None if gi_bin is None else int(gi_bin),
            lisa_cluster=_text(feature, "lisa_cluster"),
            priority=None if priority is None else int(priority),
        ))
    return rows


def hotspots(layer: QgsVectorLayer) -> HotspotSummary:
    """Hot/cold spots and clusters of a ``localhotspots`` output."""
    bins, clusters = [], []
    for feature in layer.getFeatures():
        value = _value(feature, "gi_bin")
        bins.append(None if value is None else int(value))
        clusters.append(_text(feature, "lisa_cluster"))
    return hotspot_summary(bins, clusters)


def indicators(layer: QgsVectorLayer | None) -> list[str]:
    """List the indicators of the hotspot score: fields with both ``<x>_n`` and ``<x>_cls``."""
    if layer is None:
        return []
    names = set(layer.fields().names())
    return [n[:-2] for n in layer.fields().names() if n.endswith("_n") and f"{n[:-2]}_cls" in names]


def first_value(layer: QgsVectorLayer | None, field: str) -> float | None:
    """Return the first non-null value of ``field`` (e.g. ``distance_m`` of the catchments)."""
    if layer is None or layer.fields().lookupField(field) < 0:
        return None
    for feature in layer.getFeatures():
        value = _value(feature, field)
        if value is not None:
            return value
    return None


def green_facts(facts: MethodFacts, green: QgsVectorLayer | None) -> None:
    """Add the number and total area of the qualifying green spaces."""
    if green is None:
        return
    facts.n_green_spaces = green.featureCount()
    if green.fields().lookupField("area_ha") >= 0:
        facts.green_area_ha = sum(_value(f, "area_ha") or 0.0 for f in green.getFeatures())
    else:
        facts.green_area_ha = sum(f.geometry().area() for f in green.getFeatures()) / 10_000.0


def data_sources(layers: list[QgsVectorLayer], extra: str, sample_town: bool = False) -> list[str]:
    """List the sources and licences: given by the user, OpenStreetMap (``osm_id``) and synthetic data."""
    sources = [line.strip() for line in extra.replace(";", "\n").splitlines() if line.strip()]
    if sample_town:
        sources.append(tr("Synthetic data: the sample town of the Social Resilience Toolkit, not a real place; "
                          "free to use."))
    if any(layer.fields().lookupField("osm_id") >= 0 for layer in layers):
        sources.append(tr("Map data © OpenStreetMap contributors, licensed under the Open Database License "
                          "(ODbL) 1.0, https://www.openstreetmap.org/copyright"))
    if not sources:
        sources.append(tr("Layers provided by the user; see their metadata for sources and licences."))
    return sources


#: What the fields the report reads can hold, as the plugin's algorithms write them: lowest, highest,
#: whole numbers only.
FIELD_LIMITS = {
    "served": (0, 1, True), "served_eucl": (0, 1, True), "priority": (0, 1, True), "gi_bin": (-3, 3, True),
    "served_share": (0, 1, False), "served_share_eucl": (0, 1, False), "barrier_gap": (-1, 1, False),
    "score_pct": (0, 100, False), "pop": (0, float("inf"), False), "pop_served": (0, float("inf"), False),
    "dist_median_m": (0, float("inf"), False),
}  # fmt: skip


def check_fields(layers: dict[str, QgsVectorLayer]) -> list[str]:
    """Leave out (NULL) the values of the fields the report reads that no algorithm writes; say which.

    A served share of 170 %, priority -1 or gi_bin 99 would otherwise be shown, or counted as a
    priority area or a hot spot. ``layers`` are the report's own memory copies of its inputs.
    """
    messages = []
    for name, layer in layers.items():
        for field, (low, high, whole) in FIELD_LIMITS.items():
            index = layer.fields().lookupField(field)
            if index < 0:
                continue
            bad = {}
            for feature in layer.getFeatures():
                value = to_float(feature.attributes()[index])
                if value is not None and not (low <= value <= high and (not whole or value == int(value))):
                    bad[feature.id()] = feature.attributes()[index]
            if bad:
                layer.dataProvider().changeAttributeValues({fid: {index: NULL} for fid in bad})
                messages.append(tr(
                    "{}: {} features have a {} outside {} to {} (e.g. {}): left out of the report. Use the layer as "
                    "the plugin's algorithm wrote it, or correct the values."
                ).format(name, len(bad), field, low, high, next(iter(bad.values()))))
    return messages
def group_fields(areas: QgsVectorLayer | None, residential: QgsVectorLayer | None) -> list[str]:
    """Social groups counted per home (e.g. ``pop_65plus``) whose served share the equity by area wrote."""
    if areas is None or residential is None:
        return []
    names = set(residential.fields().names()) - set(ACCESS_FIELDS)
    return [n[: -len("_share")] for n in areas.fields().names() if n.endswith("_share") and n[:-6] in names]


def group_shares(residential: QgsVectorLayer, groups: list[str]) -> list[tuple[str, float | None]]:
    """Return the served share of each group over the homes (as the equity by area computes it for the whole town)."""
    values: dict[str, list[float]] = {group: [] for group in groups}
    served = []
    for feature in residential.getFeatures():
        served.append(bool(_value(feature, "served")))
        for group in groups:
            values[group].append(_value(feature, group) or 0.0)
    return [(group, group_share(values[group], served)) for group in groups]


def catchments_population(residential: QgsVectorLayer, counted: list[QgsVectorLayer | None]) -> str | bool | None:
    """Return the field of the homes that the catchments counted (None: every home 1), False when it cannot be told.

    The catchments' green spaces (or catchment polygons) hold ``pop_served``; its sum is the served
    population, which only the field the catchments used gives over the served homes.
    """
    layer = next((c for c in counted if c is not None and c.fields().lookupField("pop_served") >= 0), None)
    if layer is None or residential.fields().lookupField("served") < 0:
        return False
    served_total = sum(_value(f, "pop_served") or 0.0 for f in layer.getFeatures())
    numeric = [f.name() for f in residential.fields() if f.isNumeric() and f.name() not in ACCESS_FIELDS]
    named = [n for n in numeric if n.lower() in POPULATION_NAMES]
    order = [*named, None, *(n for n in numeric if n not in named)]
    features = list(residential.getFeatures())
    served = [bool(_value(f, "served")) for f in features]
    candidates = {name: [(_value(f, name) or 0.0) if name else 1.0 for f in features] for name in order}
    return counted_population(candidates, served, served_total)


def synthetic(layers: list[QgsVectorLayer]) -> bool:
    """Whether the layers are the sample town (its metadata keyword) or results made from it (its fields)."""
    return any(KEYWORD in layer.metadata().keywords() or from_sample_town(layer.fields().names())
               for layer in layers if layer is not None)
