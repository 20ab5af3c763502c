"""Processing algorithm: walking network, barriers, crossings, green spaces and buildings from OSM."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    WALKABLE_HIGHWAYS,
    barrier_kind,
    crossing_kind,
    crossing_way_kind,
    green_kind,
    is_building,
    is_walkable,
    parse_classes,
    parse_hstore,
    parse_layer,
)
from ..base import AlgorithmBase
from ..common import metric_crs
from ..qt_compat import FieldType
from ..safe_io import ReadReport, repaired

WGS84 = "EPSG:4326"


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


@dataclass
class OsmLayers:
    """Features prepared for the five outputs (geometries already in the target CRS)."""

    network: list[QgsFeature] = field(default_factory=list)
    barriers: list[QgsFeature] = field(default_factory=list)
    crossings: list[QgsFeature] = field(default_factory=list)
    green_spaces: list[QgsFeature] = field(default_factory=list)
    buildings: list[QgsFeature] = field(default_factory=list)


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
    )
    COUNTS = (
        ("N_NETWORK", QT_TRANSLATE_NOOP("OsmWalkNetworkAlgorithm", "Number of walkable ways")),
        ("N_BARRIERS", QT_TRANSLATE_NOOP("OsmWalkNetworkAlgorithm", "Number of barrier ways")),
        ("N_CROSSINGS", QT_TRANSLATE_NOOP("OsmWalkNetworkAlgorithm", "Number of crossings")),
        ("N_GREEN_SPACES", QT_TRANSLATE_NOOP("OsmWalkNetworkAlgorithm", "Number of green spaces")),
        ("N_BUILDINGS", QT_TRANSLATE_NOOP("OsmWalkNetworkAlgorithm", "Number of buildings")),
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
            self.addParameter(QgsProcessingParameterFeatureSink(name, self.tr(label), kind))
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
        feedback.pushInfo(self.tr("Reading crossing nodes…"))
        self._read_crossings(source, transform, result, feedback)
        feedback.setProgress(60)
        feedback.pushInfo(self.tr("Reading green spaces and buildings…"))
        self._read_areas(source, transform, allotments, result, feedback)
        feedback.setProgress(90)

        outputs: dict[str, Any] = {"CRS": target.authid()}
        layers = (result.network, result.barriers, result.crossings, result.green_spaces, result.buildings)
        all_fields = (NETWORK_FIELDS, BARRIER_FIELDS, CROSSING_FIELDS, GREEN_FIELDS, BUILDING_FIELDS)
        geometry_types = (
            QgsWkbTypes.LineString, QgsWkbTypes.LineString, QgsWkbTypes.Point,
            QgsWkbTypes.MultiPolygon, QgsWkbTypes.MultiPolygon,
        )  # fmt: skip
        for number, ((name, _label, _kind), (count, _c), features, fields, wkb) in enumerate(zip(
            self.OUTPUTS, self.COUNTS, layers, all_fields, geometry_types
        )):
            feedback.setProgress(90 + 2 * number)
            self.check_cancelled(feedback)
            sink, dest = self.create_sink(parameters, name, context, fields, wkb, target, feedback)
            if not sink.addFeatures(features, QgsFeatureSink.FastInsert):
                error = sink.lastError()
                self.discard_outputs()
                raise QgsProcessingException(self.tr("Could not write {}: {}").format(name, error))
            outputs[name] = dest
            outputs[count] = len(features)
        for name, label in self.COUNTS:
            feedback.pushInfo(f"{self.tr(label)}: {outputs[name]}")
        feedback.setProgress(100)
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
            if walkable or barrier:
                ways.append(
                    Way(columns.get("osm_id"), columns.get("name"), geometry, tags, walkable, barrier, crossing_way)
                )
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
        for osm_id, kind, geometry in crossing_ways:
            vertices = [(v.x(), v.y()) for v in geometry.vertices()]
            last = len(vertices) - 1
            for index, xy in enumerate(vertices):
                if index in (0, last) or xy in barrier_vertices:
                    point = QgsFeature(CROSSING_FIELDS)
                    point.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(*xy)))
                    point.setAttributes([osm_id, kind])
                    result.crossings.append(point)

    def _read_crossings(
        self, source: str, transform: QgsCoordinateTransform, result: OsmLayers, feedback: QgsProcessingFeedback
    ) -> None:
        """Crossing nodes; a node at the same place as a crossing-way end replaces that end."""
        subset = (
            "highway IN ('crossing','traffic_signals') OR other_tags LIKE '%\"crossing\"=>%'"
            ' OR other_tags LIKE \'%"railway"=>"%crossing"%\''
        )
        layer = self._layer(source, "points", subset)
        request, index = _request(layer, ["osm_id", "highway", "other_tags"])
        nodes: dict[tuple[float, float], QgsFeature] = {}
        for feature in layer.getFeatures(request):
            self.check_cancelled(feedback)
            columns = _columns(feature, index)
            kind = crossing_kind(_tags(columns, ("highway",)))
            if kind is None or not feature.hasGeometry():
                continue
            geometry = QgsGeometry(feature.geometry())
            geometry.transform(transform)
            point = geometry.asPoint()
            out = QgsFeature(CROSSING_FIELDS)
            out.setGeometry(geometry)
            out.setAttributes([_text(columns.get("osm_id")), kind])
            nodes[(point.x(), point.y())] = out
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
        """Public green spaces and buildings, repaired where invalid, empty ones skipped."""
        names = ("name", "building", *GREEN_TAGS)
        subset = " OR ".join(
            [
                "building IS NOT NULL",
                "landuse = 'allotments'",
                *(f'"{key}" IN ({_sql_list(values)})' for key, values in GREEN_TAGS.items()),
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
            if not (kind or building) or not feature.hasGeometry():
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
        report.push(feedback)


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
