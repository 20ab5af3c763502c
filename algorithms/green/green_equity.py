"""Processing algorithm: green access equity by area and social group (who is left out, and where)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from qgis.core import (
    NULL,
    QgsFeature,
    QgsFeatureRequest,
    QgsFeatureSink,
    QgsField,
    QgsGeometry,
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsProcessingFeedback,
    QgsProcessingOutputNumber,
    QgsProcessingParameterField,
    QgsWkbTypes,
)

from ...core.green.equity import (
    DEFAULT_SERVED_THRESHOLD,
    AreaEquity,
    area_equity,
    gini,
    locate_pairs,
    overlapping_areas,
    priority_flags,
)
from ..base import AlgorithmBase, param
from ..columns import AttributeColumns, direct_layer, number, read_columns
from ..common import check_crs_known, local_number, to_qvariant, with_result_fields
from ..qt_compat import NUMERIC_TYPES, FieldType
from ..style_on_load import style_on_load
from .green_geometry import SKIP_INVALID, polygonal, vertex_arrays

#: Default of SERVED_FIELD: the catchments' ``served``; with it come ``served_eucl`` and ``net_dist_m``.
CATCHMENT_SERVED = "served"
CHUNK = 16384  # features between two progress/cancel checks


@dataclass
class ReadFields:
    """The fields read from RESIDENTIAL: access fields (contract name -> name in the layer), population, groups."""

    access: dict[str, str]
    population: str
    groups: list[str]

    def names(self) -> list[str]:
        """Every field to read, once."""
        return list(dict.fromkeys([*self.access.values(), *([self.population] if self.population else []),
                                   *self.groups]))  # fmt: skip


def wanted_access_fields(served: str = CATCHMENT_SERVED, distance: str = "") -> dict[str, str]:
    """Contract name (``served``, ``served_eucl``, ``net_dist_m``) -> field to read.

    ``served`` names the served field: the catchments' ``served`` brings ``served_eucl`` and
    ``net_dist_m`` along; any other (``all_served`` or ``<category>_n`` of facilityaccess,
    ``rule_all`` of rule33030) only ``distance``, when given, as the distance field.
    """
    wanted = {"served": served}
    if served == CATCHMENT_SERVED:
        wanted.update(served_eucl="served_eucl", net_dist_m="net_dist_m")
    if distance:
        wanted["net_dist_m"] = distance
    return wanted


def access_field_names(fields: Any, served: str = CATCHMENT_SERVED, distance: str = "") -> dict[str, str]:
    """Map the wanted access fields (see :func:`wanted_access_fields`) to their names in ``fields``.

    A shapefile cuts field names to 10 characters (``served_euc``); the cut name is accepted.
    """
    found = {}
    for name, field in wanted_access_fields(served, distance).items():
        for candidate in (field, field[:10]):
            if fields.lookupField(candidate) >= 0:
                found[name] = candidate
                break
    return found


@dataclass
class Residents:
    """Residential features as arrays: representative points and the numbers per feature."""

    xy: np.ndarray
    population: np.ndarray
    served: np.ndarray
    served_eucl: np.ndarray | None  # None: no straight-line field (SERVED_FIELD other than served)
    net_dist: np.ndarray
    groups: np.ndarray  # features x groups
    n_no_geometry: int

    def columns(self, rows: np.ndarray) -> tuple[np.ndarray, ...]:
        """Return population, served flags, distance and groups of the given features (for ``area_equity``)."""
        groups = None if self.groups is None else self.groups[rows]
        straight = self.served if self.served_eucl is None else self.served_eucl
        return self.population[rows], self.served[rows], straight[rows], self.net_dist[rows], groups


class GreenEquityAlgorithm(AlgorithmBase):
    """Served share of green access per area and social group, Gini, and priority areas."""

    ALGORITHM_ID = "greenequity"
    DISPLAY_NAME = "Green access equity by area"
    GROUP_ID = "greenaccess"

    RESIDENTIAL = "RESIDENTIAL"
    POPULATION_FIELD = "POPULATION_FIELD"
    GROUP_FIELDS = "GROUP_FIELDS"
    AREAS = "AREAS"
    BURDEN_FIELD = "BURDEN_FIELD"
    SERVED_SHARE = "SERVED_SHARE"
    SERVED_FIELD = "SERVED_FIELD"
    DISTANCE_FIELD = "DISTANCE_FIELD"
    OUTPUT = "OUTPUT"

    def initAlgorithm(self, config: dict | None = None) -> None:  # noqa: N802, D102
        point, polygon = QgsProcessing.TypeVectorPoint, QgsProcessing.TypeVectorPolygon
        numeric = {"type": QgsProcessingParameterField.Numeric, "optional": True}
        self.add_parameters(
            param("source", self.RESIDENTIAL,
                  self.tr("Residential features with access (OUTPUT_RESIDENTIAL of the catchments)"),
                  types=[point, polygon]),
            param("field", self.POPULATION_FIELD, self.tr("Population field"),
                  parentLayerParameterName=self.RESIDENTIAL, **numeric),
            param("field", self.GROUP_FIELDS, self.tr("Population of social groups (e.g. 65+, children)"),
                  parentLayerParameterName=self.RESIDENTIAL, allowMultiple=True, **numeric),
            param("field", self.SERVED_FIELD, self.tr("Served field (above 0 = served; e.g. all_served, rule_all)"),
                  parentLayerParameterName=self.RESIDENTIAL, defaultValue=CATCHMENT_SERVED, **numeric),
            param("field", self.DISTANCE_FIELD, self.tr("Walking distance field for the median (default: net_dist_m)"),
                  parentLayerParameterName=self.RESIDENTIAL, **numeric),
            param("source", self.AREAS, self.tr("Areas (districts, statistical blocks)"), types=[polygon]),
            param("field", self.BURDEN_FIELD, self.tr("Burden field of the areas (higher = more burdened)"),
                  parentLayerParameterName=self.AREAS, **numeric),
            param("double", self.SERVED_SHARE, self.tr("Priority below this served share (0-1)"),
                  defaultValue=DEFAULT_SERVED_THRESHOLD, minValue=0.0, maxValue=1.0),
            param("sink", self.OUTPUT, self.tr("Green access by area"), type=polygon),
        )
        for name, label in (
            (self.SERVED_SHARE, self.tr("Served share (all areas)")),
            ("GINI", self.tr("Gini coefficient of the areas' served shares")),
            ("N_PRIORITY", self.tr("Number of priority areas")),
            ("N_OUTSIDE", self.tr("Residential features in no area")),
        ):
            self.addOutput(QgsProcessingOutputNumber(name, label))

    def processAlgorithm(  # noqa: N802, D102
        self, parameters: dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict[str, Any]:
        residential = self.source(parameters, self.RESIDENTIAL, context)
        areas_source = self.source(parameters, self.AREAS, context)
        pop_field = self.parameterAsString(parameters, self.POPULATION_FIELD, context)
        group_fields = self.parameterAsFields(parameters, self.GROUP_FIELDS, context)
        burden_field = self.parameterAsString(parameters, self.BURDEN_FIELD, context)
        threshold = self.parameterAsDouble(parameters, self.SERVED_SHARE, context)
        served_field = self.parameterAsString(parameters, self.SERVED_FIELD, context) or CATCHMENT_SERVED
        distance_field = self.parameterAsString(parameters, self.DISTANCE_FIELD, context)
        access = self._check_inputs(residential, areas_source, pop_field, group_fields, burden_field,
                                    (served_field, distance_field))  # fmt: skip

        feedback.setProgressText(self.tr("Reading the areas…"))
        area_features, rings = self._read_areas(areas_source, feedback)
        feedback.setProgressText(self.tr("Reading the residential features…"))
        fields = ReadFields(access, pop_field, group_fields)
        residents = self._read_residents(parameters, residential, areas_source, fields, context, feedback)
        self.check_cancelled(feedback)
        point, area = self._locate(residents, rings, area_features, feedback)
        n_outside = int(np.count_nonzero(np.isfinite(residents.xy[:, 0]))) - len(np.unique(point))
        equity = area_equity(area, len(area_features), *residents.columns(point))
        whole = area_equity(np.zeros(len(np.unique(point)), np.int64), 1, *residents.columns(np.unique(point)))
        if residents.served_eucl is None:  # no straight line to compare with: no barrier gap either
            for result in (equity, whole):
                result.served_share_eucl[:] = np.nan
                result.barrier_gap[:] = np.nan
        burden = None
        if burden_field:
            burden = np.array([number(f[burden_field]) for f in area_features], dtype=float)
        priority = priority_flags(burden, equity.served_share, threshold) if burden is not None else None
        results = self._results(equity, whole, priority, group_fields, n_outside, feedback)
        dest_id = self._write(parameters, context, feedback, areas_source, area_features, equity, group_fields,
                              priority)  # fmt: skip
        results[self.OUTPUT] = dest_id
        feedback.setProgress(100)
        return results

    def _locate(
        self, residents: Residents, rings: list, area_features: list[QgsFeature], feedback: QgsProcessingFeedback
    ) -> tuple[np.ndarray, np.ndarray]:
        """(feature, area) pairs: each residential feature counts in every area that contains its point."""
        feedback.setProgressText(self.tr("Finding the areas of each residential feature…"))
        point, area = locate_pairs(residents.xy, rings, feedback.isCanceled)
        self.check_cancelled(feedback)
        feedback.setProgress(85)
        outside = np.isfinite(residents.xy[:, 0])
        outside[point] = False
        if np.any(outside):
            feedback.pushWarning(
                self.tr("{} residential features ({:.0f} residents) lie in no area and are left out.").format(
                    int(outside.sum()), float(residents.population[outside].sum())
                )
            )
        n_several, pairs = overlapping_areas(point, area)
        if n_several:
            named = "; ".join(f"{area_features[a].id()} and {area_features[b].id()}" for a, b in pairs[:3])
            feedback.pushWarning(
                self.tr(
                    "{} residential features lie in more than one area (overlapping or nested areas, e.g. features "
                    "{}): each counts in every area that contains it, and once in SERVED_SHARE and the group "
                    "shares. GINI and the priority ranking compare all areas: use areas of one level for them."
                ).format(n_several, named)
            )
        return point, area

    # -- checks and reading ---------------------------------------------------------------------

    def _check_inputs(
        self,
        residential: QgsProcessingFeatureSource,
        areas: QgsProcessingFeatureSource,
        pop_field: str,
        group_fields: list[str],
        burden_field: str,
        access_fields: tuple[str, str],
    ) -> dict[str, str]:
        """Return the names of the access fields in RESIDENTIAL; raise for a wrong type or field or a missing CRS."""
        check_crs_known({self.RESIDENTIAL: residential.sourceCrs(), self.AREAS: areas.sourceCrs()})
        if QgsWkbTypes.geometryType(areas.wkbType()) != QgsWkbTypes.PolygonGeometry:
            raise QgsProcessingException(self.tr("AREAS must contain polygons. Choose a polygon layer of areas."))
        if QgsWkbTypes.geometryType(residential.wkbType()) not in (
            QgsWkbTypes.PointGeometry,
            QgsWkbTypes.PolygonGeometry,
        ):
            raise QgsProcessingException(
                self.tr("RESIDENTIAL must contain points or polygons. Choose a layer of homes or buildings.")
            )
        fields = residential.fields()
        served_field, distance_field = access_fields
        access = access_field_names(fields, served_field, distance_field)
        wanted = wanted_access_fields(served_field, distance_field)
        missing = [field for name, field in wanted.items() if name not in access]
        if missing and served_field != CATCHMENT_SERVED:
            raise QgsProcessingException(
                self.tr("RESIDENTIAL has no field {}. Choose SERVED_FIELD and DISTANCE_FIELD among its fields.").format(
                    ", ".join(missing)
                )
            )
        if missing:
            raise QgsProcessingException(
                self.tr(
                    "RESIDENTIAL has no field {}. Run 'Barrier-aware green-space catchments' first and use its "
                    "OUTPUT_RESIDENTIAL (it writes served, served_eucl and net_dist_m)."
                ).format(", ".join(missing))
            )
        if pop_field:
            self._check_numeric(fields, pop_field, self.POPULATION_FIELD, self.RESIDENTIAL)
        for name in group_fields:
            self._check_numeric(fields, name, self.GROUP_FIELDS, self.RESIDENTIAL)
        if burden_field:
            self._check_numeric(areas.fields(), burden_field, self.BURDEN_FIELD, self.AREAS)
        if len(set(group_fields)) != len(group_fields):
            raise QgsProcessingException(self.tr("GROUP_FIELDS lists a field twice; choose each group once."))
        if any(name in access.values() for name in group_fields):
            raise QgsProcessingException(
                self.tr("GROUP_FIELDS: served, served_eucl and net_dist_m are access fields, not the population of "
                        "a group. Choose fields that count residents, e.g. pop_65plus.")
            )  # fmt: skip
        return access

    def _check_numeric(self, fields: Any, name: str, parameter: str, layer: str) -> None:
        index = fields.lookupField(name)
        if index < 0:
            raise QgsProcessingException(
                self.tr("{}: {} is not a field of {}. Choose one of its fields.").format(parameter, name, layer)
            )
        if fields.at(index).type() not in NUMERIC_TYPES:
            raise QgsProcessingException(
                self.tr("{}: field {} is of type {}, not a number. Choose a numeric field.").format(
                    parameter, name, fields.at(index).typeName()
                )
            )

    def _read_areas(
        self, source: QgsProcessingFeatureSource, feedback: QgsProcessingFeedback
    ) -> tuple[list[QgsFeature], list[list[np.ndarray]]]:
        """All area features (kept in the output) and the rings of their repaired polygons."""
        features, rings = [], []
        repaired = empty = 0
        for feature in source.getFeatures(QgsFeatureRequest(), SKIP_INVALID):
            self.check_cancelled(feedback)
            geometry = feature.geometry()
            polygon = None if geometry.isNull() or geometry.isEmpty() else polygonal(geometry)
            if polygon is None:
                empty += 1
            elif not geometry.isGeosValid():
                repaired += 1
            features.append(feature)
            rings.append(vertex_arrays(polygon) if polygon is not None else [])
        if not features:
            raise QgsProcessingException(self.tr("AREAS has no features. Choose a layer with area polygons."))
        if repaired:
            feedback.pushWarning(self.tr("{} areas had an invalid geometry and were repaired.").format(repaired))
        if empty:
            feedback.pushWarning(
                self.tr("{} areas have no usable polygon (null, empty or degenerate): they get no residents.").format(
                    empty
                )
            )
        return features, rings

    def _read_residents(
        self,
        parameters: dict[str, Any],
        source: QgsProcessingFeatureSource,
        areas: QgsProcessingFeatureSource,
        fields: ReadFields,
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
    ) -> Residents:
        """Read representative points in the areas' CRS and the numbers of every residential feature."""
        names = fields.names()
        transform = source.sourceCrs().isValid() and areas.sourceCrs().isValid()
        transform = transform and source.sourceCrs() != areas.sourceCrs()
        layer = direct_layer(
            parameters.get(self.RESIDENTIAL), self.parameterAsVectorLayer(parameters, self.RESIDENTIAL, context)
        )
        columns = None
        if layer is not None and not transform:  # a whole file layer: its columns at once
            columns = read_columns(layer, names, representative_point, feedback.isCanceled)
        self.check_cancelled(feedback)
        if columns is None:
            columns = self._iterate_residents(source, areas, names, transform, context, feedback)
        xy, values = columns
        if not len(xy):
            raise QgsProcessingException(
                self.tr("RESIDENTIAL has no features. Choose a layer with residential features.")
            )
        values.update({name: values[actual] for name, actual in fields.access.items()})
        return self._residents_arrays(xy, values, fields.population, fields.groups, feedback)

    def _iterate_residents(
        self,
        source: QgsProcessingFeatureSource,
        areas: QgsProcessingFeatureSource,
        names: list[str],
        transform: bool,
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Read representative points and numeric columns through the Processing feature iterator."""
        fields = source.fields()
        columns = AttributeColumns([fields.lookupField(name) for name in names])
        request = QgsFeatureRequest().setSubsetOfAttributes(names, fields)
        if transform:
            request.setDestinationCrs(areas.sourceCrs(), context.transformContext())
        simple_points = QgsWkbTypes.flatType(source.wkbType()) == QgsWkbTypes.Point
        total = max(source.featureCount(), 1)
        xs: list[float] = []
        ys: list[float] = []
        for n, feature in enumerate(source.getFeatures(request, SKIP_INVALID)):
            if n % CHUNK == 0:
                self.check_cancelled(feedback)
                feedback.setProgress(60 * n / total)
                columns.flush()
            geometry = feature.geometry()
            if simple_points:
                try:
                    point = geometry.asPoint()
                    xs.append(point.x())
                    ys.append(point.y())
                except (TypeError, ValueError):  # null geometry
                    xs.append(np.nan)
                    ys.append(np.nan)
            else:
                x, y = representative_point(geometry)
                xs.append(x)
                ys.append(y)
            columns.rows.append(feature.attributes())
        self.check_cancelled(feedback)
        xy = np.column_stack([np.array(xs, dtype=float), np.array(ys, dtype=float)])
        return xy, dict(zip(names, columns.arrays()))

    def _residents_arrays(
        self,
        xy: np.ndarray,
        values: dict[str, np.ndarray],
        pop_field: str,
        group_fields: list[str],
        feedback: QgsProcessingFeedback,
    ) -> Residents:
        """Residents from the points and numeric columns; warnings for what cannot be used."""
        no_geometry = ~np.isfinite(xy).all(axis=1)
        if no_geometry.any():
            feedback.pushWarning(
                self.tr("{} residential features have no geometry (or no point on their surface) and are left out.")
                .format(int(no_geometry.sum()))
            )  # fmt: skip
        population = values[pop_field].copy() if pop_field else np.ones(len(xy))
        population = self._non_negative(population, pop_field, self.tr("they count as 0 inhabitants"), feedback)
        served = values["served"]
        served_eucl = values.get("served_eucl")
        for name, flags in (("served", served), ("served_eucl", served_eucl)):
            bad = int(np.count_nonzero(np.isnan(flags))) if flags is not None else 0
            if bad:
                feedback.pushWarning(
                    self.tr("{} residential features have no value in {}; they count as not served.").format(bad, name)
                )
        groups = np.zeros((len(xy), len(group_fields)))
        for g, name in enumerate(group_fields):
            groups[:, g] = self._non_negative(values[name], name, self.tr("they count as 0 members"), feedback)
        return Residents(
            xy=xy,
            population=population,
            served=np.nan_to_num(served) > 0,
            served_eucl=np.nan_to_num(served_eucl) > 0 if served_eucl is not None else None,
            net_dist=values["net_dist_m"] if "net_dist_m" in values else np.full(len(xy), np.nan),
            groups=groups,
            n_no_geometry=int(no_geometry.sum()),
        )

    def _non_negative(
        self, values: np.ndarray, name: str, consequence: str, feedback: QgsProcessingFeedback
    ) -> np.ndarray:
        """``values`` with NULL, text and negative numbers set to 0 (and counted in a warning)."""
        bad = np.isnan(values) | (values < 0)
        if bad.any():
            feedback.pushWarning(
                self.tr("{} residential features have no valid (non-negative) value in {}; {}.").format(
                    int(bad.sum()), name, consequence
                )
            )
        return np.where(bad, 0.0, values)

    # -- results and output ---------------------------------------------------------------------

    def _results(
        self,
        equity: AreaEquity,
        whole: AreaEquity,
        priority: np.ndarray | None,
        group_fields: list[str],
        n_outside: int,
        feedback: QgsProcessingFeedback,
    ) -> dict[str, Any]:
        """Numbers of the whole area (``whole``: every resident in an area once): served share, Gini, groups."""
        total_share = whole.served_share[0]
        inequality = gini(equity.pop, equity.served_share)
        results: dict[str, Any] = {
            self.SERVED_SHARE: to_qvariant(float(total_share)),
            "GINI": to_qvariant(inequality),
            "N_PRIORITY": int(np.nansum(priority)) if priority is not None else NULL,
            "N_OUTSIDE": n_outside,
        }
        for g, name in enumerate(group_fields):
            results[f"{name.upper()}_SHARE"] = to_qvariant(float(whole.group_share[0, g]))
            if not whole.group_pop[0, g]:
                feedback.pushWarning(self.tr("Group {} has no members: its share is empty.").format(name))
        feedback.pushInfo(
            self.tr("Served share {}, Gini {}, priority areas {}").format(
                _text(results[self.SERVED_SHARE]), _text(results["GINI"]), _text(results["N_PRIORITY"])
            )
        )
        if priority is not None and np.isnan(priority).any():
            feedback.pushWarning(
                self.tr("{} areas have no burden value: their priority is empty.").format(int(np.isnan(priority).sum()))
            )
        return results

    def _write(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
        source: QgsProcessingFeatureSource,
        features: list[QgsFeature],
        equity: AreaEquity,
        group_fields: list[str],
        priority: np.ndarray | None,
    ) -> str:
        """Write the areas with their fields plus the equity fields; return the destination id."""
        new = [QgsField(name, FieldType.DOUBLE) for name in
               ("pop", "pop_served", "served_share", "served_share_eucl", "barrier_gap", "dist_median_m")]  # fmt: skip
        new += [QgsField(f"{name}_share", FieldType.DOUBLE) for name in group_fields]
        if priority is not None:
            new.append(QgsField("priority", FieldType.INT))
        fields = with_result_fields(source.fields(), new, feedback)
        sink, dest_id = self.create_sink(
            parameters, self.OUTPUT, context, fields, source.wkbType(), source.sourceCrs(), feedback
        )
        columns = [equity.pop, equity.pop_served, equity.served_share, equity.served_share_eucl,
                   equity.barrier_gap, equity.dist_median_m, *equity.group_share.T]  # fmt: skip
        for i, feature in enumerate(features):
            attributes = [*feature.attributes(), *(to_qvariant(float(c[i])) for c in columns)]
            if priority is not None:
                attributes.append(NULL if np.isnan(priority[i]) else int(priority[i]))
            out = QgsFeature(fields)
            out.setGeometry(feature.geometry())
            out.setAttributes(attributes)
            sink.addFeature(out, QgsFeatureSink.FastInsert)
        style_on_load(context, dest_id, "green_equity.qml")
        return dest_id


def representative_point(geometry: QgsGeometry) -> tuple[float, float]:
    """Return a point on the surface of ``geometry`` (repaired when invalid); NaN when there is none."""
    if geometry.isNull() or geometry.isEmpty():
        return np.nan, np.nan
    point = geometry.pointOnSurface()
    if point.isNull() or point.isEmpty():
        repaired = geometry.makeValid()
        point = repaired.pointOnSurface() if not repaired.isNull() else QgsGeometry()
    if point.isNull() or point.isEmpty():
        return np.nan, np.nan
    xy = point.asPoint()
    return xy.x(), xy.y()


def _text(value: Any) -> str:
    if value is None or value == NULL:
        return "–"
    return local_number(value, 3) if isinstance(value, float) else local_number(value)
