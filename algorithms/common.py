"""Small QGIS-side helpers shared by the algorithms (NULL, numpy, numbers, times, CRS, files)."""

from __future__ import annotations

import math
import os
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from qgis.core import (
    NULL,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsCsException,
    QgsField,
    QgsFields,
    QgsProcessingException,
    QgsProject,
    QgsRectangle,
)
from qgis.PyQt.QtCore import QCoreApplication, QDate, QDateTime, Qt

from ..core.crs import utm_epsg
from ..core.hotspots.observation_stats import parse_time
from ..core.report.numbers import format_hectares, format_number


def tr(text: str) -> str:
    """Translate a message shared by several algorithms."""
    return QCoreApplication.translate("common", text)


def local_number(value: float, decimals: int = 0) -> str:
    """``value`` with the separators of the user's language ("1,801.5", German "1.801,5"), for log and labels."""
    from .base import user_language

    return format_number(value, decimals, user_language())


def local_area(hectares: float) -> str:
    """Format an area in hectares in the user's language, without needless decimals ("2 ha", German "0,5 ha")."""
    from .base import user_language

    return format_hectares(hectares, user_language())


def to_number(value: Any, blank: float | None = None) -> float | None:
    """Attribute value as a float (infinity and NaN kept); ``blank`` for NULL or empty, None for text."""
    if value is None or value == NULL:
        return blank
    if isinstance(value, str):
        value = value.strip().replace(",", ".")
        if not value:
            return blank
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def to_float(value: Any) -> float | None:
    """Attribute value as a finite float, or None for NULL, empty, text or NaN."""
    number = to_number(value)
    return number if number is not None and math.isfinite(number) else None


def to_qvariant(value: Any) -> Any:
    """Numpy scalars and NaN to plain Python values that QVariant accepts (NaN -> NULL)."""
    if value is None:
        return NULL
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return NULL
    return value


def _known(extent: QgsRectangle) -> bool:
    """Whether ``extent`` holds real coordinates (not an unset or infinite rectangle)."""
    values = (extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum())
    return all(math.isfinite(v) and abs(v) < 1e300 for v in values) and values[0] <= values[2]


def could_be_degrees(extent: QgsRectangle) -> bool:
    """Whether every coordinate of ``extent`` can be a longitude/latitude."""
    slack = 1e-6
    return (
        -180 - slack <= extent.xMinimum() <= extent.xMaximum() <= 180 + slack
        and -90 - slack <= extent.yMinimum() <= extent.yMaximum() <= 90 + slack
    )


def check_degrees(crs: QgsCoordinateReferenceSystem, extent: QgsRectangle, name: str) -> None:
    """Raise a clear error when ``crs`` is geographic but the coordinates cannot be degrees."""
    if crs.isValid() and crs.isGeographic() and _known(extent) and not could_be_degrees(extent):
        raise QgsProcessingException(
            tr(
                "{} is declared as {} (longitude/latitude in degrees), but its coordinates (e.g. {:.0f}, {:.0f}) "
                "cannot be degrees. Set the CRS the data really is in (Layer Properties > Source, e.g. "
                "EPSG:25832 for UTM zone 32N), or reproject it."
            ).format(name, crs.authid(), extent.center().x(), extent.center().y())
        )


#: The CRSs the algorithms make from text (longitude/latitude, the ETRS89 UTM zones of Europe).
COMMON_CRS = ("EPSG:4326", *(f"EPSG:{code}" for code in range(25828, 25839)))


def warm_crs_cache() -> None:
    """Make the common CRSs once on the calling (main) thread, so that QGIS caches them from it.

    See ``AlgorithmBase.prepareAlgorithm``: a CRS first made in a worker thread breaks every later
    transform with it on new threads once that worker has ended (QGIS 3.22).
    """
    if not getattr(warm_crs_cache, "done", False):
        for authid in COMMON_CRS:
            QgsCoordinateReferenceSystem(authid)
        warm_crs_cache.done = True


def metric_crs(
    crs: QgsCoordinateReferenceSystem, extent: QgsRectangle, name: str = "", feedback=None
) -> QgsCoordinateReferenceSystem:
    """``crs`` if it is projected, else the UTM zone of ``extent``'s centre.

    A layer ``name`` without a CRS: coordinates that could be degrees are refused (say what to
    set); others are taken as metres (the invalid CRS is returned: no transformation) with a
    warning to ``feedback``. Coordinates that cannot be in a declared geographic CRS are refused.
    """
    name = name or tr("The layer")
    if crs.isValid() and not crs.isGeographic():
        return crs
    if not crs.isValid():
        if _known(extent) and could_be_degrees(extent):
            raise QgsProcessingException(
                tr(
                    "{} has no CRS and its coordinates look like longitude/latitude. Set its CRS (Layer "
                    "Properties > Source: EPSG:4326 for GPS longitude/latitude, or the projected CRS the data "
                    "was made in)."
                ).format(name)
            )
        if feedback is not None:
            feedback.pushWarning(
                tr("{} has no CRS: its coordinates are taken as metres. If they are not, set its CRS "
                   "(Layer Properties > Source).").format(name)
            )
        return QgsCoordinateReferenceSystem()
    check_degrees(crs, extent, name)
    if not _known(extent):
        raise QgsProcessingException(
            tr("{} has no known extent, so no metric CRS can be chosen: reproject it to a projected CRS in "
               "metres (Vector > Data Management Tools > Reproject Layer).").format(name)
        )
    wgs84 = QgsCoordinateReferenceSystem("EPSG:4326")
    centre = extent.center()
    if crs != wgs84:
        try:
            centre = QgsCoordinateTransform(crs, wgs84, QgsProject.instance()).transform(centre)
        except QgsCsException as error:
            raise QgsProcessingException(
                tr("The coordinates of {} cannot be converted from {}: {}. Check its CRS.").format(
                    name, crs.authid(), error)
            ) from None
    try:
        return QgsCoordinateReferenceSystem(f"EPSG:{utm_epsg(centre.x(), centre.y())}")
    except ValueError:
        raise QgsProcessingException(
            tr("The coordinates of {} are not longitude/latitude in {}. Set the CRS the data really is in "
               "(Layer Properties > Source).").format(name, crs.authid())
        ) from None


def check_crs_known(layers: dict[str, QgsCoordinateReferenceSystem]) -> None:
    """Raise a clear error when some of the named layers have a CRS and others have none."""
    missing = [name for name, crs in layers.items() if not crs.isValid()]
    present = [f"{name} ({crs.authid()})" for name, crs in layers.items() if crs.isValid()]
    if missing and present:
        raise QgsProcessingException(
            tr("{} has no CRS, but {} has one: the layers cannot be matched. Set the CRS of {} (Layer "
               "Properties > Source).").format(", ".join(missing), ", ".join(present), ", ".join(missing))
        )


def check_writable(path: str) -> None:
    """Raise a clear error when a file cannot be created or replaced at ``path`` (a folder, a read-only file)."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise QgsProcessingException(tr("{} is a folder. Give a file name inside it.").format(target))
    folder = target.resolve().parent
    if not folder.is_dir():
        raise QgsProcessingException(tr("The folder {} does not exist. Choose an existing folder.").format(folder))
    if not os.access(folder, os.W_OK):
        raise QgsProcessingException(tr("Cannot write to {}. Choose a folder you may write to.").format(folder))
    if target.exists() and not os.access(target, os.W_OK):
        raise QgsProcessingException(tr("{} exists and may not be written. Choose another file or allow writing "
                                        "to it.").format(target))


def write_file(path: str, data: bytes) -> None:
    """Write ``data`` to ``path``; a clear error when the file cannot be written (then it holds nothing half)."""
    try:
        with open(Path(path).expanduser(), "wb") as stream:
            stream.write(data)
    except OSError as error:
        raise QgsProcessingException(
            tr("Cannot write {}: {}. Check that it is a file you may write and that the disk has room.").format(
                path, error.strerror or error)
        ) from None


def _utc(value: Any) -> QDateTime | None:
    """Return a valid QDateTime in UTC (one without a zone, ``Qt.LocalTime``, read as UTC), else None."""
    if not isinstance(value, QDateTime) or not value.isValid():
        return None
    spec = value.timeSpec()
    if spec == Qt.TimeSpec.UTC:
        return value
    if spec == Qt.TimeSpec.LocalTime:  # no zone (dialog widget, GeoPackage): read as UTC
        return QDateTime(value.date(), value.time(), Qt.TimeSpec.UTC)
    return value.toUTC()


def utc_datetime(value: Any) -> datetime | None:
    """Return a QDateTime as an aware UTC datetime, None when unset.

    A value without a zone (``Qt.LocalTime``, as the dialog's date-time widget and zone-less
    text give) is read as UTC, as the time parameters are labelled; others are converted.
    """
    value = _utc(value)
    if value is None:
        return None
    d, t = value.date(), value.time()
    clock = (t.hour(), t.minute(), t.second(), t.msec() * 1000)
    return datetime(d.year(), d.month(), d.day(), *clock, tzinfo=timezone.utc)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MILLISECOND = timedelta(milliseconds=1)


def utc_qdatetime(moment: datetime | None) -> Any:
    """Return ``moment`` as a UTC QDateTime (milliseconds kept), NULL for None; the inverse of ``utc_datetime``.

    A datetime without a zone is read as UTC; others are converted.
    """
    if moment is None:
        return NULL
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return QDateTime.fromMSecsSinceEpoch((moment - _EPOCH) // _MILLISECOND, Qt.TimeSpec.UTC)


def epoch_seconds(value: Any) -> float | None:
    """UTC epoch seconds of an attribute or parameter time (QDateTime, QDate, text); local time = UTC."""
    if isinstance(value, QDateTime):
        value = _utc(value)
        return None if value is None else value.toMSecsSinceEpoch() / 1000.0
    if value is None or value == NULL:
        return None
    if isinstance(value, QDate):
        return parse_time(date(value.year(), value.month(), value.day())) if value.isValid() else None
    return parse_time(value if isinstance(value, (str, datetime, date)) else str(value))


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
