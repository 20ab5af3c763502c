"""QGIS-side helpers: NULL and text values, numpy values, writable outputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from qgis.core import NULL, QgsProcessingException
from social_resilience.algorithms.qt_compat import FieldType


def test_to_float_handles_null_text_and_nan(qgis_app):
    from social_resilience.algorithms.common import to_float

    assert to_float(NULL) is None
    assert to_float(None) is None
    assert to_float("") is None
    assert to_float("abc") is None
    assert to_float(float("nan")) is None
    assert to_float("3,5") == 3.5
    assert to_float(" 7 ") == 7.0
    assert to_float(np.int64(4)) == 4.0


def test_to_qvariant_converts_numpy_and_nan(qgis_app):
    from social_resilience.algorithms.common import to_qvariant

    value = to_qvariant(np.float64(1.5))
    assert type(value) is float
    assert value == 1.5
    assert type(to_qvariant(np.int32(3))) is int
    assert to_qvariant(np.bool_(True)) is True
    assert to_qvariant(math.nan) == NULL
    assert to_qvariant(None) == NULL
    assert to_qvariant("text") == "text"


def test_check_writable(tmp_path):
    from social_resilience.algorithms.common import check_writable

    check_writable(str(tmp_path / "out.gpkg"))
    with pytest.raises(QgsProcessingException, match="does not exist"):
        check_writable(str(tmp_path / "missing" / "out.gpkg"))


def test_utc_datetime_reads_zone_less_values_as_utc(qgis_app):
    from datetime import datetime, timezone

    from qgis.PyQt.QtCore import QDate, QDateTime, Qt, QTime
    from social_resilience.algorithms.common import utc_datetime

    day, midnight = QDate(2024, 6, 1), QTime(0, 0)
    expected = datetime(2024, 6, 1, tzinfo=timezone.utc)
    assert utc_datetime(QDateTime(day, midnight, Qt.TimeSpec.LocalTime)) == expected  # the dialog's widget
    assert utc_datetime(QDateTime(day, midnight, Qt.TimeSpec.UTC)) == expected
    assert utc_datetime(QDateTime(day, QTime(2, 0), Qt.TimeSpec.OffsetFromUTC, 7200)) == expected
    assert utc_datetime(QDateTime()) is None
    assert utc_datetime(None) is None


def test_with_result_fields_keeps_every_input_field(qgis_app):
    from qgis.core import QgsField, QgsFields, QgsProcessingFeedback
    from social_resilience.algorithms.common import with_result_fields

    fields = QgsFields()
    for name in ("id", "SCORE", "score_in", "rank"):
        fields.append(QgsField(name, FieldType.STRING))
    results = [QgsField("score", FieldType.DOUBLE), QgsField("rank", FieldType.INT)]
    warnings = []

    class Feedback(QgsProcessingFeedback):
        def pushWarning(self, warning):  # noqa: N802
            warnings.append(warning)

    out = with_result_fields(fields, results, Feedback())
    assert [f.name() for f in out] == ["id", "SCORE_in2", "score_in", "rank_in", "score", "rank"]
    assert out.at(4).type() == FieldType.DOUBLE
    assert len(warnings) == 2


def test_time_conversions_are_one_pair(qgis_app):
    """datetime -> QDateTime keeps milliseconds; back and to epoch seconds give the same moment."""
    from datetime import datetime, timedelta, timezone

    from qgis.PyQt.QtCore import QDate, QDateTime, Qt, QTime
    from social_resilience.algorithms.common import epoch_seconds, utc_datetime, utc_qdatetime

    moment = datetime(2024, 6, 1, 2, 3, 4, 567000, tzinfo=timezone(timedelta(hours=2)))
    converted = utc_qdatetime(moment)
    assert converted.timeSpec() == Qt.TimeSpec.UTC
    assert (converted.time().hour(), converted.time().msec()) == (0, 567)
    assert utc_datetime(converted) == moment
    assert epoch_seconds(converted) == moment.timestamp()
    assert utc_qdatetime(datetime(2024, 6, 1)) == utc_qdatetime(datetime(2024, 6, 1, tzinfo=timezone.utc))
    zone_less = QDateTime(QDate(2024, 6, 1), QTime(0, 0), Qt.TimeSpec.LocalTime)
    assert epoch_seconds(zone_less) == datetime(2024, 6, 1, tzinfo=timezone.utc).timestamp()
    assert epoch_seconds("2024-06-01T02:00:00+02:00") == epoch_seconds(zone_less)
    assert epoch_seconds(QDateTime()) is None
    assert epoch_seconds(None) is None


def test_to_number_reads_text_and_tells_blank_from_text(qgis_app):
    import math

    from qgis.core import NULL
    from social_resilience.algorithms.common import to_number

    assert to_number(" 3,5 ") == 3.5
    assert to_number("inf") == math.inf
    assert to_number(7) == 7.0
    assert to_number("high") is None
    assert to_number(NULL) is None
    assert to_number("  ") is None
    assert math.isnan(to_number(NULL, blank=math.nan))
    assert math.isnan(to_number("", blank=math.nan))
    assert to_number("high", blank=math.nan) is None  # text that is not a number stays an error


def test_utc_qdatetime_keeps_milliseconds_and_round_trips(qgis_app):
    from datetime import datetime, timedelta, timezone

    from qgis.PyQt.QtCore import Qt
    from social_resilience.algorithms.common import utc_datetime, utc_qdatetime

    moment = datetime(2024, 6, 1, 13, 45, 7, 123456, tzinfo=timezone.utc)
    converted = utc_qdatetime(moment)
    assert converted.timeSpec() == Qt.TimeSpec.UTC
    assert converted.toString("yyyy-MM-dd HH:mm:ss.zzz") == "2024-06-01 13:45:07.123"
    assert utc_datetime(converted) == moment.replace(microsecond=123000)
    berlin = timezone(timedelta(hours=2))
    assert utc_qdatetime(moment.astimezone(berlin)) == converted  # converted to UTC
    assert utc_qdatetime(moment.replace(tzinfo=None)) == converted  # no zone: read as UTC
    before_1970 = datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=timezone.utc)
    assert utc_datetime(utc_qdatetime(before_1970)) == before_1970
    assert utc_qdatetime(None) == NULL
