"""Processing algorithm: walking network, barriers, crossings, green spaces, buildings, places and trees from OSM."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from qgis.core import (
    NULL,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeature,
    QgsFeatureRequest,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsPointXY,
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterCrs,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFile,
    QgsProcessingParameterString,
    QgsRectangle,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QT_TRANSLATE_NOOP

from ...core.green.osm_tags import (
    BARRIER_RAILWAYS,
    BARRIER_WATERWAYS,
    DEFAULT_BARRIER_CLASSES,
    FOOT_EXPLICIT_HIGHWAYS,
    GREEN_TAGS,
    PLACE_TAGS,
    WALKABLE_HIGHWAYS,
    barrier_kind,
    canopy_kind,
    crossing_kind,
    crossing_way_kind,
    green_kind,
    is_building,
    is_tree,
    is_tree_row,
    is_walkable,
    parse_classes,
    parse_hstore,
    parse_layer,
    place_category,
)
from ..base import AlgorithmBase
from ..common import metric_crs
from ..qt_compat import FieldType
from ..safe_io import ReadReport, repaired

WGS84 = "EPSG:4326"
#: A tree row counts as one tree every this many metres, and as canopy this far to each side.
TREE_ROW_SPACING_M = 10.0
TREE_ROW_CROWN_M = 4.0


def _sql_list(values: Any) -> str:
    return ",".join(f"'{value}'" for value in sorted(values))


def _fields(*specs: tuple[str, Any]) -> QgsFields:
    fields = QgsFields()
    for name, kind in specs:
        fields.append(QgsField(name, kind))
    return fields


NETWORK_FIELDS = _fields(
    ("osm_id", FieldType.STRING), ("highway", FieldType.STRING), ("name", FieldType.STRING),
    ("foot", FieldType.STRING), ("bridge", FieldType.STRING), ("tunnel", FieldType.STRING),
    ("layer", FieldType.INT), ("is_barrier", FieldType.INT),
)  # fmt: skip
BARRIER_FIELDS = _fields(
    ("osm_id", FieldType.STRING), ("kind", FieldType.STRING), ("class", FieldType.STRING),
    ("name", FieldType.STRING), ("bridge", FieldType.STRING), ("tunnel", FieldType.STRING),
)  # fmt: skip
CROSSING_FIELDS = _fields(("osm_id", FieldType.STRING), ("kind", FieldType.STRING))
GREEN_FIELDS = _fields(
    ("osm_id", FieldType.STRING), ("osm_type", FieldType.STRING), ("name", FieldType.STRING),
    ("kind", FieldType.STRING), ("area_ha", FieldType.DOUBLE),
)  # fmt: skip
BUILDING_FIELDS = _fields(("osm_id", FieldType.STRING), ("osm_type", FieldType.STRING), ("building", FieldType.STRING))
PLACE_FIELDS = _fields(
    ("osm_id", FieldType.STRING), ("osm_type", FieldType.STRING), ("category", FieldType.STRING),
    ("kind", FieldType.STRING), ("name", FieldType.STRING),
)  # fmt: skip
TREE_FIELDS = _fields(("osm_id", FieldType.STRING), ("kind", FieldType.STRING))
CANOPY_FIELDS = _fields(("osm_id", FieldType.STRING), ("osm_type", FieldType.STRING), ("kind", FieldType.STRING))


def _text(value: str | None) -> Any:
    """Return a tag value as output attribute: the text, or NULL when absent."""
    return value if value else NULL


def _columns(feature: QgsFeature, index: dict[str, int]) -> dict[str, str]:
    """Non-empty text attributes of ``feature`` by name (``index``: name -> field index)."""
    values = feature.attributes()
    return {name: value for name, i in index.items() if isinstance(value := values[i], str) and value}


def _tags(columns: dict[str, str], names: tuple[str, ...]) -> dict[str, str]:
    """Tags of an OGR OSM feature: its ``other_tags`` plus the named attribute columns."""
    tags = parse_hstore(columns.get("other_tags"))
    tags.update((name, columns[name]) for name in names if name in columns)
    return tags


def _request(layer: QgsVectorLayer, names: list[str]) -> tuple[QgsFeatureRequest, dict[str, int]]:
    """Request for the attributes ``names`` only, and their field indices."""
    fields = layer.fields()
    return QgsFeatureRequest().setSubsetOfAttributes(names, fields), {n: fields.indexOf(n) for n in names}


@dataclass
class Way:
    """An OSM way read from the ``lines`` layer and how it is classified."""

    osm_id: str | None
    name: str | None
    geometry: QgsGeometry
    tags: dict[str, str]
    walkable: bool
    barrier: tuple[str, str] | None
    crossing_way: str | None
    tree_row: bool = False


@dataclass
class OsmLayers:
    """Features prepared for the five outputs (geometries already in the target CRS)."""

    network: list[QgsFeature] = field(default_factory=list)
    barriers: list[QgsFeature] = field(default_factory=list)
    crossings: list[QgsFeature] = field(default_factory=list)
    green_spaces: list[QgsFeature] = field(default_factory=list)
    buildings: list[QgsFeature] = field(default_factory=list)
    places: list[QgsFeature] = field(default_factory=list)
    trees: list[QgsFeature] = field(default_factory=list)
    canopy: list[QgsFeature] = field(default_factory=list)


class OsmWalkNetworkAlgorithm(AlgorithmBase):
    """Prepare walking network, barriers, crossings, green spaces and buildings from an OSM file."""

    ALGORITHM_ID = "osmwalknetwork"
    DISPLAY_NAME = "Prepare walking network from OpenStreetMap"
    GROUP_ID = "greenaccess"

    INPUT = "INPUT"
    TARGET_CRS = "TARGET_CRS"
    BARRIER_CLASSES = "BARRIER_CLASSES"
    RAILWAY_BARRIERS = "RAILWAY_BARRIERS"
    WATERWAY_BARRIERS = "WATERWAY_BARRIERS"
    ALLOTMENTS = "ALLOTMENTS"
    OUTPUTS = (
        (
            "OUTPUT_NETWORK",
            QT_TRANSLATE_NOOP("OsmWalkNetworkAlgorithm", "Walking network"),
            QgsProcessing.TypeVectorLine,
        ),
        ("OUTPUT_BARRIERS", QT_TRANSLATE_NOOP("OsmWalkNetworkAlgorithm", "Barriers"), QgsProcessing.TypeVectorLine),
        ("OUTPUT_CROSSINGS", QT_TRANSLATE_NOOP("OsmWalkNetworkAlgorithm", "Crossings"), QgsProcessing.TypeVectorPoint),
        (
            "OUTPUT_GREEN_SPACES",
            QT_TRANSLATE_NOOP("OsmWalkNetworkAlgorithm", "Green spaces"),
            QgsProcessing.TypeVectorPolygon,
        ),
        (
            "OUTPUT_BUILDINGS",
            QT_TRANSLATE_NOOP("OsmWalkNetworkAlgorithm", "Buildings"),
            QgsProcessing.TypeVectorPolygon,
        ),
        (
            "OUTPUT_PLACES",
            QT_TRANSLATE_NOOP("OsmWalkNetworkAlgorithm", "Everyday places (shops, schools, doctors, stops)"),
            QgsProcessing.TypeVectorPoint,
        ),
        ("OUTPUT_TREES", QT_TRANSLATE_NOOP("OsmWalkNetworkAlgorithm", "Trees"), QgsProcessing.TypeVectorPoint),
        (
            "OUTPUT_CANOPY",
            QT_TRANSLATE_NOOP("OsmWalkNetworkAlgorithm", "Tree canopy (woods, forests, tree rows)"),
            QgsProcessing.TypeVectorPolygon,
        ),
    )
    #: Outputs added later: optional (created by default), so models and scripts written before still run.
    OPTIONAL_OUTPUTS = ("OUTPUT_PLACES", "OUTPUT_TREES", "OUTPUT_CANOPY")
    COUNTS = (
        ("N_NETWORK", QT_TRANSLATE_NOOP("OsmWalkNetworkAlgorithm", "Number of walkable ways")),
        ("N_BARRIERS", QT_TRANSLATE_NOOP("OsmWalkNetworkAlgorithm", "Number of barrier ways")),
        ("N_CROSSINGS", QT_TRANSLATE_NOOP("OsmWalkNetworkAlgorithm", "Number of crossings")),
        ("N_GREEN_SPACES", QT_TRANSLATE_NOOP("OsmWalkNetworkAlgorithm", "Number of green spaces")),
        ("N_BUILDINGS", QT_TRANSLATE_NOOP("OsmWalkNetworkAlgorithm", "Number of buildings")),
        ("N_PLACES", QT_TRANSLATE_NOOP("OsmWalkNetworkAlgorithm", "Number of everyday places")),
        ("N_TREES", QT_TRANSLATE_NOOP("OsmWalkNetworkAlgorithm", "Number of trees")),
        ("N_CANOPY", QT_TRANSLATE_NOOP("OsmWalkNetworkAlgorithm", "Number of canopy areas")),
    )

    def initAlgorithm(self, config: dict | None = None) -> None:  # noqa: N802, D102
        self.addParameter(
            QgsProcessingParameterFile(
                self.INPUT,
                self.tr("OpenStreetMap file (.osm, .osm.gz, .osm.pbf)"),
                fileFilter=self.tr("OpenStreetMap files (*.osm *.osm.gz *.osm.pbf *.pbf)"),
            )
        )
        self.addParameter(
            QgsProcessingParameterCrs(
                self.TARGET_CRS, self.tr("Target CRS (default: UTM zone of the data)"), optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterString(
                self.BARRIER_CLASSES,
                self.tr("Road classes that are barriers (highway values, comma separated)"),
                defaultValue=",".join(DEFAULT_BARRIER_CLASSES),
                optional=True,
            )
        )
        self.addParameter(QgsProcessingParameterBoolean(self.RAILWAY_BARRIERS, self.tr("Railways are barriers"), True))
        self.addParameter(
            QgsProcessingParameterBoolean(self.WATERWAY_BARRIERS, self.tr("Rivers and canals are barriers"), True)
        )
        self.addParameter(
            QgsProcessingParameterBoolean(self.ALLOTMENTS, self.tr("Count allotment gardens as green spaces"), False)
        )
        for name, label, kind in self.OUTPUTS:
            optional = name in self.OPTIONAL_OUTPUTS
            self.addParameter(
                QgsProcessingParameterFeatureSink(name, self.tr(label), kind, optional=optional, createByDefault=True)
            )
        for name, label in self.COUNTS:
            self.addOutput(QgsProcessingOutputNumber(name, self.tr(label)))
        self.addOutput(QgsProcessingOutputString("CRS", self.tr("CRS of the outputs")))

    def processAlgorithm(  # noqa: N802, D102
        self, parameters: dict, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict:
        path = self.parameterAsFile(parameters, self.INPUT, context)
        source = self._osm_source(path)
        target = self.parameterAsCrs(parameters, self.TARGET_CRS, context)
        if target.isValid() and target.isGeographic():
            raise QgsProcessingException(
                self.tr("The target CRS {} is geographic. Choose a projected CRS in metres or leave it empty.").format(
                    target.authid()
                )
            )
        classes = parse_classes(self.parameterAsString(parameters, self.BARRIER_CLASSES, context))
        unknown = [c for c in classes if c not in WALKABLE_HIGHWAYS | FOOT_EXPLICIT_HIGHWAYS]
        if unknown:
            feedback.pushWarning(self.tr("Unusual barrier road classes: {}").format(", ".join(unknown)))
        railways = self.parameterAsBoolean(parameters, self.RAILWAY_BARRIERS, context)
        waterways = self.parameterAsBoolean(parameters, self.WATERWAY_BARRIERS, context)
        allotments = self.parameterAsBoolean(parameters, self.ALLOTMENTS, context)

        result = OsmLayers()
        feedback.pushInfo(self.tr("Reading ways…"))
        ways = self._read_ways(source, classes, railways, waterways, feedback)
        if not any(way.walkable for way in ways):
            message = self.tr("No walkable ways found in {}. Use an OpenStreetMap extract with streets and paths.")
            raise QgsProcessingException(message.format(path))
        if not target.isValid():
            extent = QgsRectangle()
            for way in ways:
                extent.combineExtentWith(way.geometry.boundingBox())
            target = metric_crs(QgsCoordinateReferenceSystem(WGS84), extent)
        transform = QgsCoordinateTransform(QgsCoordinateReferenceSystem(WGS84), target, context.transformContext())
        feedback.pushInfo(self.tr("Output CRS: {}").format(target.authid()))
        feedback.setProgress(30)

        self._split_ways(ways, transform, result, feedback)
        feedback.setProgress(45)
        feedback.pushInfo(self.tr("Reading crossings, everyday places and trees…"))
        self._read_points(source, transform, result, feedback)
        feedback.setProgress(60)
        feedback.pushInfo(self.tr("Reading green spaces, buildings, places and canopy…"))
        self._read_areas(source, transform, allotments, result, feedback)
        feedback.setProgress(90)
        outputs = self._write(parameters, context, feedback, target, result)
        feedback.setProgress(100)
        return outputs

    def _write(
        self,
        parameters: dict,
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
        target: QgsCoordinateReferenceSystem,
        result: OsmLayers,
    ) -> dict[str, Any]:
        """Write every output (the optional ones when asked for) and count the features of each."""
        outputs: dict[str, Any] = {"CRS": target.authid()}
        layers = (result.network, result.barriers, result.crossings, result.green_spaces, result.buildings,
                  result.places, result.trees, result.canopy)  # fmt: skip
        all_fields = (NETWORK_FIELDS, BARRIER_FIELDS, CROSSING_FIELDS, GREEN_FIELDS, BUILDING_FIELDS,
                      PLACE_FIELDS, TREE_FIELDS, CANOPY_FIELDS)  # fmt: skip
        geometry_types = (
            QgsWkbTypes.LineString, QgsWkbTypes.LineString, QgsWkbTypes.Point,
            QgsWkbTypes.MultiPolygon, QgsWkbTypes.MultiPolygon, QgsWkbTypes.Point, QgsWkbTypes.Point,
            QgsWkbTypes.MultiPolygon,
        )  # fmt: skip
        for number, ((name, _label, _kind), (count, _c), features, fields, wkb) in enumerate(zip(
            self.OUTPUTS, self.COUNTS, layers, all_fields, geometry_types
        )):
            feedback.setProgress(90 + number)
            self.check_cancelled(feedback)
            optional = name in self.OPTIONAL_OUTPUTS
            sink, dest = self.create_sink(parameters, name, context, fields, wkb, target, feedback, optional)
            if sink is not None and not sink.addFeatures(features, QgsFeatureSink.FastInsert):
                error = sink.lastError()
                self.discard_outputs()
                raise QgsProcessingException(self.tr("Could not write {}: {}").format(name, error))
            outputs[name] = dest
            outputs[count] = len(features)
        for name, label in self.COUNTS:
            feedback.pushInfo(f"{self.tr(label)}: {outputs[name]}")
        return outputs

    # -- reading ------------------------------------------------------------------------------

    def _osm_source(self, path: str) -> str:
        """GDAL data source name of the OSM file (``/vsigzip/`` for .gz), checked to exist."""
        if not path or not Path(path).is_file():
            message = self.tr("The OpenStreetMap file {} does not exist. Choose an .osm, .osm.gz or .osm.pbf file.")
            raise QgsProcessingException(message.format(path))
        return f"/vsigzip/{path}" if path.lower().endswith(".gz") else path

    def _layer(self, source: str, name: str, subset: str) -> QgsVectorLayer:
        """One layer of the OGR OSM driver, filtered in OGR by ``subset``."""
        layer = QgsVectorLayer(f"{source}|layername={name}", name, "ogr")
        if not layer.isValid() or layer.dataProvider().storageType() != "OSM":
            message = self.tr(
                "{} is not readable as OpenStreetMap data. Choose a valid .osm, .osm.gz or .osm.pbf file."
            )
            raise QgsProcessingException(message.format(source.replace("/vsigzip/", "")))
        if not layer.setSubsetString(subset):
            raise QgsProcessingException(self.tr("GDAL's OSM driver rejected the filter on layer {}.").format(name))
        return layer

    def _read_ways(
        self, source: str, classes: tuple[str, ...], railways: bool, waterways: bool, feedback: QgsProcessingFeedback
    ) -> list[Way]:
        """Ways that are walkable or barriers."""
        subset = f"highway IS NOT NULL OR railway IN ({_sql_list(BARRIER_RAILWAYS)})"
        subset += f" OR waterway IN ({_sql_list(BARRIER_WATERWAYS)})"
        subset += " OR other_tags LIKE '%\"natural\"=>\"tree_row\"%'"
        layer = self._layer(source, "lines", subset)
        names = ("highway", "railway", "waterway")
        request, index = _request(layer, ["osm_id", "name", *names, "other_tags"])
        ways = []
        for feature in layer.getFeatures(request):
            self.check_cancelled(feedback)
            geometry = feature.geometry()
            if geometry.isEmpty() or geometry.constGet().nCoordinates() < 2 or geometry.length() <= 0:
                continue  # degenerate ways (all nodes at one place) connect nothing and break routing tools
            columns = _columns(feature, index)
            tags = _tags(columns, names)
            walkable = is_walkable(tags)
            barrier = barrier_kind(tags, classes, railways, waterways)
            crossing_way = crossing_way_kind(tags) if walkable else None
            if walkable or barrier or is_tree_row(tags):
                ways.append(Way(columns.get("osm_id"), columns.get("name"), geometry, tags, walkable, barrier,
                                crossing_way, is_tree_row(tags)))  # fmt: skip
        return ways

    def _split_ways(
        self,
        ways: list[Way],
        transform: QgsCoordinateTransform,
        result: OsmLayers,
        feedback: QgsProcessingFeedback,
    ) -> None:
        """Network and barrier features (one per way, same vertices) and crossing-way points.

        A crossing way (``footway=crossing``) gives its two end nodes and every node it shares
        with a barrier way (where it crosses the road or railway).
        """
        barrier_vertices: set[tuple[float, float]] = set()
        crossing_ways: list[tuple[Any, str, QgsGeometry]] = []
        for way in ways:
            self.check_cancelled(feedback)
            tags, barrier = way.tags, way.barrier
            geometry = QgsGeometry(way.geometry)
            geometry.transform(transform)
            osm_id, name = _text(way.osm_id), _text(way.name)
            if way.walkable:
                out = QgsFeature(NETWORK_FIELDS)
                out.setGeometry(geometry)
                layer = parse_layer(tags.get("layer"))
                out.setAttributes(
                    [
                        osm_id, _text(tags.get("highway")), name, _text(tags.get("foot")),
                        _text(tags.get("bridge")), _text(tags.get("tunnel")),
                        NULL if layer is None else layer, int(barrier is not None),
                    ]
                )  # fmt: skip
                result.network.append(out)
            if barrier:
                out = QgsFeature(BARRIER_FIELDS)
                out.setGeometry(geometry)
                out.setAttributes(
                    [osm_id, barrier[0], barrier[1], name, _text(tags.get("bridge")), _text(tags.get("tunnel"))]
                )
                result.barriers.append(out)
                barrier_vertices.update((v.x(), v.y()) for v in geometry.vertices())
            if way.crossing_way:
                crossing_ways.append((osm_id, way.crossing_way, geometry))
            if way.tree_row:
                self._tree_row(osm_id, geometry, result)
        for osm_id, kind, geometry in crossing_ways:
            vertices = [(v.x(), v.y()) for v in geometry.vertices()]
            last = len(vertices) - 1
            for index, xy in enumerate(vertices):
                if index in (0, last) or xy in barrier_vertices:
                    point = QgsFeature(CROSSING_FIELDS)
                    point.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(*xy)))
                    point.setAttributes([osm_id, kind])
                    result.crossings.append(point)

    def _tree_row(self, osm_id: Any, line: QgsGeometry, result: OsmLayers) -> None:
        """Add a row of trees: one tree every TREE_ROW_SPACING_M along it, and its crowns as canopy."""
        length = line.length()
        for distance in [*np.arange(0.0, length, TREE_ROW_SPACING_M).tolist(), length]:
            result.trees.append(_feature(TREE_FIELDS, line.interpolate(distance), [osm_id, "natural=tree_row"]))
        crowns = line.buffer(TREE_ROW_CROWN_M, 4)
        if not crowns.isEmpty():
            crowns.convertToMultiType()
            result.canopy.append(_feature(CANOPY_FIELDS, crowns, [osm_id, "way", "natural=tree_row"]))

    def _read_points(
        self, source: str, transform: QgsCoordinateTransform, result: OsmLayers, feedback: QgsProcessingFeedback
    ) -> None:
        """Crossing nodes, everyday places and single trees; a crossing node replaces a crossing-way end there."""
        values = {key: sorted(v for k, v in PLACE_TAGS if k == key) for key, _ in PLACE_TAGS if key != "highway"}
        subset = " OR ".join([
            "highway IN ('crossing','traffic_signals','bus_stop')",
            "other_tags LIKE '%\"crossing\"=>%'",
            "other_tags LIKE '%\"railway\"=>\"%crossing\"%'",
            *(f"other_tags LIKE '%\"{key}\"=>\"{value}\"%'" for key, names in values.items() for value in names),
            "other_tags LIKE '%\"public_transport\"=>\"platform\"%'",
            "other_tags LIKE '%\"natural\"=>\"tree\"%'",
        ])  # fmt: skip
        layer = self._layer(source, "points", subset)
        request, index = _request(layer, ["osm_id", "name", "highway", "other_tags"])
        nodes: dict[tuple[float, float], QgsFeature] = {}
        for feature in layer.getFeatures(request):
            self.check_cancelled(feedback)
            columns = _columns(feature, index)
            tags = _tags(columns, ("highway",))
            kind, place, tree = crossing_kind(tags), place_category(tags), is_tree(tags)
            if not (kind or place or tree) or not feature.hasGeometry():
                continue
            geometry = QgsGeometry(feature.geometry())
            geometry.transform(transform)
            osm_id = _text(columns.get("osm_id"))
            if kind:
                point = geometry.asPoint()
                nodes[(point.x(), point.y())] = _feature(CROSSING_FIELDS, geometry, [osm_id, kind])
            if place:
                values = [osm_id, "node", place[0], place[1], _text(columns.get("name"))]
                result.places.append(_feature(PLACE_FIELDS, geometry, values))
            elif tree:
                result.trees.append(_feature(TREE_FIELDS, geometry, [osm_id, "natural=tree"]))
        ends: dict[tuple[float, float], QgsFeature] = {}
        for feature in result.crossings:
            point = feature.geometry().asPoint()
            key = (point.x(), point.y())
            if key not in nodes:
                ends.setdefault(key, feature)
        result.crossings = [*nodes.values(), *ends.values()]

    def _read_areas(
        self,
        source: str,
        transform: QgsCoordinateTransform,
        allotments: bool,
        result: OsmLayers,
        feedback: QgsProcessingFeedback,
    ) -> None:
        """Public green spaces, buildings, places and canopy areas, repaired where invalid, empty ones skipped."""
        names = ("name", "building", "shop", "amenity", *GREEN_TAGS)
        places = {key: {v for k, v in PLACE_TAGS if k == key} for key in ("shop", "amenity")}
        subset = " OR ".join(
            [
                "building IS NOT NULL",
                "landuse = 'allotments'",
                *(f'"{key}" IN ({_sql_list(values)})' for key, values in GREEN_TAGS.items()),
                *(f'"{key}" IN ({_sql_list(values)})' for key, values in places.items()),
            ]
        )
        layer = self._layer(source, "multipolygons", subset)
        request, index = _request(layer, ["osm_id", "osm_way_id", *names, "other_tags"])
        report = ReadReport(f"{self.INPUT} (multipolygons)", keeps_features=False)
        for feature in layer.getFeatures(request):
            self.check_cancelled(feedback)
            columns = _columns(feature, index)
            tags = _tags(columns, names)
            kind = green_kind(tags, allotments)
            building = is_building(tags)
            place = place_category({key: tags[key] for key in ("shop", "amenity") if key in tags})
            canopy = canopy_kind(tags)
            if not (kind or building or place or canopy) or not feature.hasGeometry():
                continue
            geometry = _repaired(feature.geometry(), transform, report)
            if geometry is None:
                continue
            osm_type, osm_id = (
                ("relation", columns["osm_id"]) if "osm_id" in columns else ("way", columns["osm_way_id"])
            )
            if kind:
                out = QgsFeature(GREEN_FIELDS)
                out.setGeometry(geometry)
                out.setAttributes([osm_id, osm_type, _text(tags.get("name")), kind, geometry.area() / 10_000.0])
                result.green_spaces.append(out)
            if building:
                out = QgsFeature(BUILDING_FIELDS)
                out.setGeometry(geometry)
                out.setAttributes([osm_id, osm_type, tags["building"]])
                result.buildings.append(out)
            self._area_extras(geometry, (osm_id, osm_type), tags, (place, canopy), result)
        report.push(feedback)

    def _area_extras(
        self, geometry: QgsGeometry, identity: tuple, tags: dict, found: tuple, result: OsmLayers
    ) -> None:
        """Add an area that is an everyday place (as its point on surface) or under tree canopy."""
        (osm_id, osm_type), (place, canopy) = identity, found
        if place:
            point = geometry.pointOnSurface()
            if not point.isNull() and not point.isEmpty():
                values = [osm_id, osm_type, place[0], place[1], _text(tags.get("name"))]
                result.places.append(_feature(PLACE_FIELDS, point, values))
        if canopy:
            result.canopy.append(_feature(CANOPY_FIELDS, geometry, [osm_id, osm_type, canopy]))


def _feature(fields: QgsFields, geometry: QgsGeometry, attributes: list) -> QgsFeature:
    feature = QgsFeature(fields)
    feature.setGeometry(geometry)
    feature.setAttributes(attributes)
    return feature


def _repaired(geometry: QgsGeometry, transform: QgsCoordinateTransform, report: ReadReport) -> QgsGeometry | None:
    """``geometry`` in the target CRS as a valid multipolygon (counted in ``report``), None when nothing is left."""
    geometry = QgsGeometry(geometry)
    geometry.transform(transform)
    if not geometry.isGeosValid():
        geometry = repaired(geometry)
        if geometry is None:
            report.dropped += 1
            return None
        report.repaired += 1
    if geometry.isEmpty() or geometry.area() <= 0:  # clipped at the edge of the extract
        report.no_geometry += 1
        return None
    geometry.convertToMultiType()
    return geometry
