"""The live point layer of one feed: a memory layer updated in place with changed features only."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from qgis.core import (
    NULL,
    QgsCategorizedSymbolRenderer,
    QgsFeature,
    QgsField,
    QgsGeometry,
    QgsMarkerSymbol,
    QgsPalLayerSettings,
    QgsPointXY,
    QgsRendererCategory,
    QgsTextBufferSettings,
    QgsTextFormat,
    QgsVectorLayer,
    QgsVectorLayerSimpleLabeling,
)
from qgis.PyQt.QtCore import QCoreApplication

from ..algorithms.common import utc_qdatetime
from ..algorithms.qt_compat import FieldType
from ..core.live.feed_config import Thresholds
from ..core.live.latest_values import LatestValue, format_value
from .feed_dialog import decimal_sign, local_number

#: Custom layer property holding the feed id (a saved project's layer is adopted again).
FEED_ID_PROPERTY = "social_resilience/live_feed_id"
FIELDS = (
    ("station_id", FieldType.STRING),
    ("name", FieldType.STRING),
    ("value", FieldType.DOUBLE),
    ("unit", FieldType.STRING),
    ("time", FieldType.DATETIME),
    ("status", FieldType.STRING),
    ("property", FieldType.STRING),
    ("value_text", FieldType.STRING),
)
#: The fields a saved live layer must have to be adopted (``value_text`` is added when missing).
REQUIRED_FIELDS = ("station_id", "name", "value", "unit", "time", "status", "property")
FIELD_NAMES = tuple(name for name, _ in FIELDS)
STATUS_COLORS = {"ok": "#1a9641", "warn": "#f28e2b", "alert": "#d7191c", "stale": "#9e9e9e", "error": "#333333"}


def tr(text: str) -> str:
    """Translate in the context of this module."""
    return QCoreApplication.translate("live_layer", text)


@dataclass
class UpdateCounts:
    """What one update changed in the layer."""

    added: int = 0
    changed: int = 0
    moved: int = 0

    @property
    def total(self) -> int:
        """Number of features touched."""
        return self.added + self.changed + self.moved

    def add(self, other: UpdateCounts) -> None:
        """Count ``other`` in too (the slices of one update)."""
        self.added += other.added
        self.changed += other.changed
        self.moved += other.moved


class LiveLayer:
    """A memory point layer (EPSG:4326) with one feature per station, never re-created."""

    def __init__(self, layer: QgsVectorLayer) -> None:
        self.layer = layer
        self._fid: dict[str, int] = {}
        self._rows: dict[str, tuple[Any, ...]] = {}
        self._points: dict[str, tuple[float, float] | None] = {}
        self._index = {name: layer.fields().indexOf(name) for name in FIELD_NAMES}
        for feature in layer.getFeatures():
            station_id = str(feature["station_id"])
            self._fid[station_id] = feature.id()

    @classmethod
    def create(cls, name: str, feed_id: str) -> LiveLayer:
        """Create an empty live layer tagged with ``feed_id`` (not yet added to a project)."""
        uri = "Point?crs=EPSG:4326&index=yes"
        layer = QgsVectorLayer(uri, name, "memory")
        layer.dataProvider().addAttributes([QgsField(field, kind) for field, kind in FIELDS])
        layer.updateFields()
        layer.setCustomProperty(FEED_ID_PROPERTY, feed_id)
        layer.setReadOnly(True)
        return cls(layer)

    @classmethod
    def adopt(cls, layer: QgsVectorLayer) -> LiveLayer | None:
        """Wrap an existing layer of a saved project when it has the live-layer fields."""
        if not isinstance(layer, QgsVectorLayer) or layer.providerType() != "memory":
            return None
        if any(layer.fields().indexOf(name) < 0 for name in REQUIRED_FIELDS):
            return None
        missing = [QgsField(name, kind) for name, kind in FIELDS if layer.fields().indexOf(name) < 0]
        if missing:
            layer.dataProvider().addAttributes(missing)
            layer.updateFields()
        layer.setReadOnly(True)
        return cls(layer)

    def apply(self, readings: dict[str, LatestValue]) -> UpdateCounts:
        """Write the readings: new stations are added, changed ones updated, unchanged ones untouched."""
        counts = self.apply_items(readings.items())
        self.finish(counts)
        return counts

    def finish(self, counts: UpdateCounts) -> None:
        """End an update (after one or more ``apply_items``): new extent, repaint."""
        if counts.added or counts.moved:
            self.layer.updateExtents()
        if counts.total:
            self.layer.triggerRepaint()

    def apply_items(self, items: Iterable[tuple[str, LatestValue]]) -> UpdateCounts:
        """Write some stations' readings (one slice of an update; ``finish`` ends the update)."""
        counts = UpdateCounts()
        provider = self.layer.dataProvider()
        new_features = []
        new_ids = []
        attribute_changes: dict[int, dict[int, Any]] = {}
        geometry_changes: dict[int, QgsGeometry] = {}
        for station_id, reading in items:
            row = _row(reading)
            point = (reading.lon, reading.lat) if reading.lon is not None and reading.lat is not None else None
            fid = self._fid.get(station_id)
            if fid is None:
                feature = QgsFeature(self.layer.fields())
                feature.setAttributes([_qvalue(v) for v in row])
                if point is not None:
                    feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(*point)))
                new_features.append(feature)
                new_ids.append(station_id)
                self._rows[station_id], self._points[station_id] = row, point
                continue
            old = self._rows.get(station_id)
            if old != row:
                attribute_changes[fid] = {
                    self._index[name]: _qvalue(value)
                    for name, value, before in zip(FIELD_NAMES, row, old or (None,) * len(row))
                    if old is None or value != before
                }
                self._rows[station_id] = row
            if point is not None and self._points.get(station_id) != point:
                geometry_changes[fid] = QgsGeometry.fromPointXY(QgsPointXY(*point))
                self._points[station_id] = point
        if new_features:
            ok, added = provider.addFeatures(new_features)
            if ok:
                for station_id, feature in zip(new_ids, added):
                    self._fid[station_id] = feature.id()
                counts.added = len(added)
        if attribute_changes:
            provider.changeAttributeValues(attribute_changes)
            counts.changed = len(attribute_changes)
        if geometry_changes:
            provider.changeGeometryValues(geometry_changes)
            counts.moved = len(geometry_changes)
        return counts

    def clear(self) -> None:
        """Delete every feature (the feed's property changed)."""
        self.layer.dataProvider().deleteFeatures(list(self._fid.values()))
        self._fid.clear()
        self._rows.clear()
        self._points.clear()
        self.layer.triggerRepaint()

    def apply_style(self, thresholds: Thresholds, unit: str = "") -> None:
        """Colour by status (legend names the thresholds) and label with the value."""
        suffix = f" {unit}" if unit else ""
        warn = f"{local_number(thresholds.warn)}{suffix}" if thresholds.warn is not None else None
        alert = f"{local_number(thresholds.alert)}{suffix}" if thresholds.alert is not None else None
        labels = {
            "ok": tr("normal (below {})").format(warn or alert) if (warn or alert) else tr("normal"),
            "warn": tr("warn (from {})").format(warn) if warn else tr("warn"),
            "alert": tr("alert (from {})").format(alert) if alert else tr("alert"),
            "stale": tr("stale (no recent value)"),
            "error": tr("error (no valid value)"),
        }
        categories = []
        for status, color in STATUS_COLORS.items():
            symbol = QgsMarkerSymbol.createSimple(
                {
                    "name": "cross2" if status == "error" else "circle",
                    "color": color,
                    "outline_color": "#ffffff" if status != "error" else color,
                    "size": "3.2",
                    "outline_width": "0.4",
                }
            )
            categories.append(QgsRendererCategory(status, symbol, labels[status]))
        self.layer.setRenderer(QgsCategorizedSymbolRenderer("status", categories))
        settings = QgsPalLayerSettings()
        settings.isExpression = False
        settings.fieldName = "value_text"  # written with format_value, as in the dock's table
        text_format = QgsTextFormat()
        text_format.setSize(8)
        buffer = QgsTextBufferSettings()
        buffer.setEnabled(True)
        buffer.setSize(0.8)
        text_format.setBuffer(buffer)
        settings.setFormat(text_format)
        settings.dist = 1.5
        self.layer.setLabeling(QgsVectorLayerSimpleLabeling(settings))
        self.layer.setLabelsEnabled(True)
        self.layer.triggerRepaint()


def _row(reading: LatestValue) -> tuple[Any, ...]:
    return (
        reading.station_id,
        reading.name,
        reading.value,
        reading.unit,
        reading.time,
        reading.status,
        reading.property,
        format_value(reading.value, decimal_sign()),
    )


def _qvalue(value: Any) -> Any:
    if value is None:
        return NULL
    if isinstance(value, datetime):
        return utc_qdatetime(value)
    return value
