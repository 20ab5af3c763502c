"""Processing algorithm: everyday places (shops, schools, doctors, stops) within walking distance of every home."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from qgis.core import (
    NULL,
    QgsFeature,
    QgsFeatureSink,
    QgsField,
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsProcessingFeedback,
    QgsProcessingOutputNumber,
    QgsProcessingParameterField,
    QgsWkbTypes,
)

from ...core.green.access import served_statistics
from ...core.green.places import (
    CUSTOM,
    DEFAULT_DISTANCES,
    PRESETS,
    CategoryAccess,
    Places,
    boundary_sites,
    category_key,
    facility_access,
    parse_distances,
)
from ..base import AlgorithmBase, param
from ..common import to_float, to_qvariant, with_result_fields
from ..qt_compat import FieldType
from ..style_on_load import style_on_load
from .catchment_steps import CatchmentSteps, ResidentialFeatures, Sources
from .green_geometry import read_layer, vertex_arrays

#: Catchment parameters about green spaces: not used here.
GREEN_ONLY = (
    "GREEN_SPACES", "ENTRANCES", "STANDARD", "DISTANCE", "MIN_AREA_HA", "MERGE_DISTANCE", "CATCHMENT_BUFFER",
)  # fmt: skip


@dataclass
class PlaceLayer:
    """The places read from FACILITIES: sites and categories for the core, and what was left out."""

    places: Places
    categories: list[str]
    per_category: np.ndarray  # number of places per category
    other: dict[str, int]  # categories without a distance -> number of places
    no_category: int


class FacilityAccessAlgorithm(AlgorithmBase):
    """Walking distance to the nearest place of each category and the places within reach, per home."""

    ALGORITHM_ID = "facilityaccess"
    DISPLAY_NAME = "Everyday places within walking distance"
    GROUP_ID = "places"

    FACILITIES = "FACILITIES"
    CATEGORY_FIELD = "CATEGORY_FIELD"
    PRESET = "PRESET"
    DISTANCES = "DISTANCES"
    CAPACITY_FIELD = "CAPACITY_FIELD"
    OUTPUT = "OUTPUT"

    def initAlgorithm(self, config: dict | None = None) -> None:  # noqa: N802, D102
        steps = CatchmentSteps(self)
        steps.add_inputs(leave_out=GREEN_ONLY, required=(steps.RESIDENTIAL,))
        point, polygon = QgsProcessing.TypeVectorPoint, QgsProcessing.TypeVectorPolygon
        presets = [
            self.tr("Local supply: grocery 500 m, pharmacy and doctor 1,000 m, bus stop 300 m"),
            self.tr("15-minute neighbourhood: grocery, bakery, school, kindergarten, doctor, pharmacy, bus stop "
                    "1,200 m each"),
            self.tr("Custom: the distances below"),
        ]  # fmt: skip
        self.add_parameters(
            param("source", self.FACILITIES, self.tr("Everyday places (points or polygons)"), types=[point, polygon]),
            param("field", self.CATEGORY_FIELD, self.tr("Category field of the places"),
                  parentLayerParameterName=self.FACILITIES, defaultValue="category", optional=True),
            param("enum", self.PRESET, self.tr("Preset"), options=presets, defaultValue=CUSTOM),
            param("string", self.DISTANCES, self.tr("Walking distance per category (category=metres;...)"),
                  defaultValue=DEFAULT_DISTANCES),
            param("field", self.CAPACITY_FIELD, self.tr("Capacity of the places (e.g. school places; optional)"),
                  parentLayerParameterName=self.FACILITIES, type=QgsProcessingParameterField.Numeric, optional=True),
        )  # fmt: skip
        steps.add_numbers(leave_out=GREEN_ONLY)
        self.add_parameters(param("sink", self.OUTPUT, self.tr("Homes with everyday places in reach")))
        for name, label in (
            ("ALL_SHARE", self.tr("Share of residents with every category in reach")),
            ("TOTAL_POPULATION", self.tr("Total population")),
        ):
            self.addOutput(QgsProcessingOutputNumber(name, label))

    def processAlgorithm(  # noqa: N802, D102
        self, parameters: dict, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict:
        steps = CatchmentSteps(self)
        sources = steps.read_sources(parameters, context, feedback)
        settings = steps.read_settings(parameters, context, sources)
        facilities = self.source(parameters, self.FACILITIES, context)
        steps.check_type(facilities, self.FACILITIES, (QgsWkbTypes.PointGeometry, QgsWkbTypes.PolygonGeometry))
        distances = self._distances(parameters, context)
        category_field, capacity_field = self._fields(parameters, context, facilities)
        split = steps.build_network(sources, settings, context, feedback)
        steps.step(feedback, 20)
        transform = steps.transform(facilities, sources.target, context)
        layer = self._read_places(facilities, transform, category_field, capacity_field, list(distances), feedback)
        self._report_places(layer, distances, feedback)
        steps.step(feedback, 30)
        homes = steps.read_residents(sources, settings, context, feedback)
        steps.step(feedback, 40)
        access = facility_access(
            split, homes.points, homes.population, layer.places, list(distances.values()), settings.max_connector,
            lambda fraction: steps.step(feedback, 40 + 50 * fraction),
        )  # fmt: skip
        self._report_homes(access.home_attached, access.place_attached, feedback)
        outputs = self._write(parameters, context, feedback, sources, homes, layer, access.categories)
        outputs.update(self._results(layer.categories, access.categories, homes.population, feedback))
        feedback.setProgress(100)
        return outputs

    # -- reading ------------------------------------------------------------------------------

    def _distances(self, parameters: dict, context: QgsProcessingContext) -> dict[str, float]:
        """Category -> walking distance of the preset, or of DISTANCES for the custom preset."""
        preset = self.parameterAsEnum(parameters, self.PRESET, context)
        if preset in PRESETS:
            return dict(PRESETS[preset])
        text = self.parameterAsString(parameters, self.DISTANCES, context)
        try:
            distances = parse_distances(text)
        except ValueError as error:
            raise QgsProcessingException(
                self.tr("DISTANCES: \"{}\" is not category=metres with metres above 0, or names a category twice. "
                        "Write e.g. grocery=500;school=1000.").format(error)
            ) from None  # fmt: skip
        if not distances:
            raise QgsProcessingException(
                self.tr("DISTANCES names no category. Write e.g. grocery=500;school=1000, or choose a PRESET.")
            )
        return distances

    def _fields(
        self, parameters: dict, context: QgsProcessingContext, facilities: QgsProcessingFeatureSource
    ) -> tuple[str, str]:
        """Return the category field (checked) and the capacity field ("" when not given)."""
        category = self.parameterAsString(parameters, self.CATEGORY_FIELD, context)
        capacity = self.parameterAsString(parameters, self.CAPACITY_FIELD, context)
        for name, value in ((self.CATEGORY_FIELD, category), (self.CAPACITY_FIELD, capacity)):
            if value and facilities.fields().lookupField(value) < 0:
                raise QgsProcessingException(
                    self.tr("{}: {} is not a field of FACILITIES. Choose one of its fields.").format(name, value)
                )
        if not category:
            raise QgsProcessingException(self.tr("CATEGORY_FIELD is empty. Choose the field that names the category."))
        return category, capacity

    def _read_places(
        self,
        source: QgsProcessingFeatureSource,
        transform,
        category_field: str,
        capacity_field: str,
        categories: list[str],
        feedback: QgsProcessingFeedback,
    ) -> PlaceLayer:
        """Sites (points; boundary points of polygons), category index and capacity of every place."""
        fields = [category_field, *([capacity_field] if capacity_field else [])]
        layer = read_layer(source, transform, feedback, attributes=fields)
        index = {name: c for c, name in enumerate(categories)}
        polygons = QgsWkbTypes.geometryType(source.wkbType()) == QgsWkbTypes.PolygonGeometry
        rings, category, capacity, other, no_category = [], [], [], {}, 0
        for feature, geometry in zip(layer.features, layer.geometries):
            raw = feature[category_field]
            key = "" if raw is None or raw == NULL else category_key(raw)
            if not key:
                no_category += 1
            elif key not in index:
                other[key] = other.get(key, 0) + 1
            if key not in index:
                continue
            category.append(index[key])
            rings.append(vertex_arrays(geometry) if polygons else [p.reshape(1, 2) for p in _points(geometry)])
            if capacity_field:
                capacity.append(self._capacity(feature, capacity_field))
        site_xy, site_place = boundary_sites(rings)
        places = Places(site_xy, site_place, np.array(category, dtype=np.int64),
                        np.array(capacity, dtype=float) if capacity_field else None)  # fmt: skip
        per_category = np.bincount(places.category, minlength=len(categories))
        return PlaceLayer(places, categories, per_category, other, no_category)

    def _capacity(self, feature: QgsFeature, field: str) -> float:
        value = to_float(feature[field])
        if value is not None and value < 0:
            raise QgsProcessingException(
                self.tr("Place {} has the capacity {} in {}: capacities must not be negative.").format(
                    feature.id(), value, field
                )
            )
        return 0.0 if value is None else value

    def _report_places(self, layer: PlaceLayer, distances: dict[str, float], feedback: QgsProcessingFeedback) -> None:
        for name, count in zip(layer.categories, layer.per_category.tolist()):
            feedback.pushInfo(self.tr("{}: {} places, walking distance {} m").format(name, count, distances[name]))
            if not count:
                feedback.pushWarning(
                    self.tr("No place of the category {} in FACILITIES: nobody is served for it. Check CATEGORY_FIELD "
                            "and the category names in DISTANCES.").format(name)
                )  # fmt: skip
        if layer.other:
            listed = ", ".join(f"{name} ({count})" for name, count in sorted(layer.other.items())[:8])
            feedback.pushInfo(self.tr("Places of categories without a distance are left out: {}").format(listed))
        if layer.no_category:
            feedback.pushWarning(
                self.tr("{} places have no category in {} and are left out.").format(layer.no_category, self.FACILITIES)
            )

    def _report_homes(self, home_attached: np.ndarray, place_attached: np.ndarray, feedback) -> None:
        far_homes = int(np.count_nonzero(~home_attached))
        far_places = int(np.count_nonzero(~place_attached))
        if far_homes:
            feedback.pushInfo(self.tr("{} residential features are farther than MAX_CONNECTOR from a way on their "
                                      "side: nothing is in reach for them.").format(far_homes))  # fmt: skip
        if far_places:
            feedback.pushWarning(self.tr("{} places are farther than MAX_CONNECTOR from a way on their side and are "
                                         "left out.").format(far_places))  # fmt: skip

    # -- writing ------------------------------------------------------------------------------

    def _write(
        self,
        parameters: dict,
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
        sources: Sources,
        homes: ResidentialFeatures,
        layer: PlaceLayer,
        access: list[CategoryAccess],
    ) -> dict:
        """Write the residential features with the access fields of every category."""
        new, columns = [], []
        for name, category in zip(layer.categories, access):
            new += [QgsField(f"{name}_dist_m", FieldType.DOUBLE), QgsField(f"{name}_n", FieldType.INT)]
            columns += [_metres(category.dist), category.count.tolist()]
            if category.capacity is not None:
                new += [QgsField(f"{name}_cap", FieldType.DOUBLE), QgsField(f"{name}_per_1000", FieldType.DOUBLE)]
                columns += [_rounded(category.capacity), _rounded(category.per_1000)]
        served = np.array([category.served for category in access]).reshape(len(access), -1)
        new += [QgsField("categories_served", FieldType.INT), QgsField("all_served", FieldType.INT)]
        columns += [served.sum(axis=0).tolist(), served.all(axis=0).astype(int).tolist()]
        source = sources.residential
        fields = with_result_fields(source.fields(), new, feedback)
        wkb_type = source.wkbType()
        if any(g.isMultipart() for g in homes.geometries):  # repaired polygons may fall apart into several
            wkb_type = QgsWkbTypes.multiType(wkb_type)
        sink, dest = self.create_sink(parameters, self.OUTPUT, context, fields, wkb_type, sources.target, feedback)
        features = []
        for i, feature in enumerate(homes.features):
            out = QgsFeature(fields)
            out.setGeometry(homes.geometries[i])
            out.setAttributes([*feature.attributes(), *(column[i] for column in columns)])
            features.append(out)
        if not sink.addFeatures(features, QgsFeatureSink.FastInsert):
            raise QgsProcessingException(self.writeFeatureError(sink, parameters, self.OUTPUT))
        style_on_load(context, dest, "facility_access.qml")
        return {self.OUTPUT: dest}

    def _results(
        self, categories: list[str], access: list[CategoryAccess], population: np.ndarray, feedback
    ) -> dict:
        """Return the served share per category and for all categories together (population-weighted)."""
        results: dict = {}
        none = np.zeros(len(population), dtype=bool)
        every = np.ones(len(population), dtype=bool)
        for name, category in zip(categories, access):
            stats = served_statistics(population, category.served, none)
            results[f"{name.upper()}_SHARE"] = to_qvariant(stats.share)
            every &= category.served
            feedback.pushInfo(self.tr("{} within {} m: {}").format(name, category.distance, _percent(stats.share)))
        stats = served_statistics(population, every, none)
        feedback.pushInfo(self.tr("Every category in reach: {:.0f} of {:.0f} ({})").format(
            stats.served, stats.total, _percent(stats.share)))  # fmt: skip
        results.update(ALL_SHARE=to_qvariant(stats.share), TOTAL_POPULATION=float(stats.total))
        return results


def _points(geometry) -> np.ndarray:
    """Every point of a (multi)point geometry."""
    return np.array([(p.x(), p.y()) for p in geometry.vertices()], dtype=float).reshape(-1, 2)


def _metres(values: np.ndarray) -> list:
    return [round(float(v), 2) if np.isfinite(v) else NULL for v in values]


def _rounded(values: np.ndarray) -> list:
    return [round(float(v), 4) for v in values]


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{100 * share:.1f} %"
