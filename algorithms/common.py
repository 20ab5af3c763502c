"""Small QGIS-side helpers shared by the algorithms (NULL, numpy, CRS, files)."""

from __future__ import annotations

import math
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from qgis.core import (
    NULL,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsField,
    QgsFields,
    QgsProcessingException,
    QgsProject,
    QgsRectangle,
)
from qgis.PyQt.QtCore import QCoreApplication, QDateTime, Qt

from ..core.crs import utm_epsg


def tr(text: str) -> str:
    """Translate a message shared by several algorithms."""
    return QCoreApplication.translate("common", text)


def to_float(value: Any) -> float | None:
    """Attribute value as a finite float, or None for NULL, empty, text or NaN."""
    if value is None or value == NULL:
        return None
    if isinstance(value, str):
        value = value.strip().replace(",", ".")
        if not value:
            return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def to_qvariant(value: Any) -> Any:
    """Numpy scalars and NaN to plain Python values that QVariant accepts (NaN -> NULL)."""
    if value is None:
        return NULL
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return NULL
    return value


def metric_crs(crs: QgsCoordinateReferenceSystem, extent: QgsRectangle) -> QgsCoordinateReferenceSystem:
    """``crs`` if it is projected, else the UTM zone of ``extent``'s centre."""
    if crs.isValid() and not crs.isGeographic():
        return crs
    wgs84 = QgsCoordinateReferenceSystem("EPSG:4326")
    centre = extent.center()
    if crs.isValid() and crs != wgs84:
        centre = QgsCoordinateTransform(crs, wgs84, QgsProject.instance()).transform(centre)
    return QgsCoordinateReferenceSystem(f"EPSG:{utm_epsg(centre.x(), centre.y())}")


def check_writable(path: str) -> None:
    """Raise a clear error when a file cannot be created at ``path``."""
    folder = Path(path).expanduser().resolve().parent
    if not folder.is_dir():
        raise QgsProcessingException(tr("The folder {} does not exist. Choose an existing folder.").format(folder))
    if not os.access(folder, os.W_OK):
        raise QgsProcessingException(tr("Cannot write to {}. Choose a folder you may write to.").format(folder))


def utc_datetime(value: Any) -> datetime | None:
    """Return a QDateTime as an aware UTC datetime, None when unset.

    A value without a zone (``Qt.LocalTime``, as the dialog's date-time widget and zone-less
    text give) is read as UTC, as the time parameters are labelled; others are converted.
    """
    if not isinstance(value, QDateTime) or not value.isValid():
        return None
    if value.timeSpec() != Qt.LocalTime:
        value = value.toUTC()
    d, t = value.date(), value.time()
    clock = (t.hour(), t.minute(), t.second(), t.msec() * 1000)
    return datetime(d.year(), d.month(), d.day(), *clock, tzinfo=timezone.utc)


def with_result_fields(fields: QgsFields, results: list[QgsField], feedback=None) -> QgsFields:
    """All input ``fields``, then the ``results`` (whose names are the contract).

    An input field that has the name of a result field is kept, renamed ``<name>_in``
    (``_in2``, ...), with a warning: outputs keep every input field.
    """
    taken = {f.name().lower() for f in fields} | {f.name().lower() for f in results}
    reserved = {f.name().lower() for f in results}
    out = QgsFields()
    for field in fields:
        field = QgsField(field)
        if field.name().lower() in reserved:
            number, new_name = 1, f"{field.name()}_in"
            while new_name.lower() in taken:
                number += 1
                new_name = f"{field.name()}_in{number}"
            taken.add(new_name.lower())
            if feedback is not None:
                feedback.pushWarning(tr("Input field {} is kept as {}: the result uses its name.").format(
                    field.name(), new_name))
            field.setName(new_name)
        out.append(field)
    for field in results:
        out.append(field)
    return out
