"""A small time-series chart with threshold lines, drawn with QPainter (no QtCharts)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from qgis.PyQt.QtCore import QCoreApplication, QPointF, QRectF, Qt
from qgis.PyQt.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from qgis.PyQt.QtWidgets import QSizePolicy, QWidget

from ..core.live.feed_config import Thresholds
from .feed_dialog import local_number

WARN_COLOR = QColor("#f28e2b")
ALERT_COLOR = QColor("#d7191c")
LINE_COLOR = QColor("#1f4e79")
LEFT_MIDDLE = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
RIGHT_MIDDLE = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def tr(text: str) -> str:
    """Translate in the context of this module."""
    return QCoreApplication.translate("series_chart", text)


def nice_ticks(low: float, high: float, max_ticks: int = 6) -> list[float]:
    """Tick values on steps of 1, 2 or 5 × 10^k covering [low, high], at most ``max_ticks`` of them."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low] if math.isfinite(low) else []
    raw = (high - low) / max(1, max_ticks - 1)
    power = 10.0 ** math.floor(math.log10(raw))
    steps = (factor * power * 10**extra for extra in range(3) for factor in (1, 2, 5))
    for step in steps:
        first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
        if last - first + 1 <= max_ticks:
            break
    return [_clean(index * step) for index in range(first, last + 1)]


def _clean(value: float) -> float:
    """``value`` without binary noise (0.30000000000000004 -> 0.3)."""
    return float(f"{value:.12g}") + 0.0  # + 0.0 turns -0.0 into 0.0


def elided_title(title: str, metrics: QFontMetricsF, width: float) -> str:
    """``title`` shortened with "…" so that it fits ``width`` pixels."""
    return metrics.elidedText(title, Qt.TextElideMode.ElideRight, max(0.0, width))


class SeriesChart(QWidget):
    """Recent values of one station as a line, with dashed warn and alert lines."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(130)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.points: list[tuple[datetime, float]] = []
        self.thresholds = Thresholds()
        self.title = ""
        self.unit = ""
        self.message = tr("Select a station to see its recent values.")

    def set_series(
        self, points: list[tuple[datetime, float]], thresholds: Thresholds, title: str, unit: str, note: str = ""
    ) -> None:
        """Show ``points`` (time, value), sorted by time."""
        self.points = sorted(points)
        self.thresholds = thresholds
        unit_text = f" [{unit}]" if unit else ""
        self.title = f"{title}{unit_text} ({note})" if note else f"{title}{unit_text}"
        self.unit = unit
        self.message = "" if self.points else tr("No values yet for this station.")
        self.setToolTip(self.title)  # the whole title when the chart is too narrow for it
        self.update()

    def chart_font(self) -> QFont:
        """Return the font of the title and the axis labels (a little smaller than the widget's)."""
        font = QFont(self.font())
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
        return font

    def shown_title(self) -> str:
        """Return the title as drawn, elided with "…" to the widget's width."""
        return elided_title(self.title, QFontMetricsF(self.chart_font()), self.width() - 12)

    def value_ticks(self) -> list[float]:
        """Return the y axis ticks (1, 2 or 5 × 10^k apart) covering the values and the threshold lines."""
        limits = [v for v in (self.thresholds.warn, self.thresholds.alert) if v is not None]
        values = [v for _, v in self.points] + limits
        if not values:
            return []
        low, high = min(values), max(values)
        if high <= low:
            low, high = low - 1, high + 1
        return nice_ticks(low, high)

    def show_message(self, message: str) -> None:
        """Clear the chart and show a message instead."""
        self.points = []
        self.title = ""
        self.message = message
        self.setToolTip("")
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802, D102 (Qt API)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), self.palette().base())
        painter.setFont(self.chart_font())
        text_pen = QPen(self.palette().text().color())
        painter.setPen(text_pen)
        if self.title:
            painter.drawText(QRectF(6, 2, self.width() - 12, 16), LEFT_MIDDLE, self.shown_title())
        if not self.points:
            painter.drawText(QRectF(self.rect()), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)
            painter.end()
            return
        plot = QRectF(46, 22, max(10, self.width() - 56), max(10, self.height() - 44))
        t0, t1 = self.points[0][0], self.points[-1][0]
        if t1 <= t0:
            t0, t1 = t0 - timedelta(minutes=30), t1 + timedelta(minutes=30)
        ticks = self.value_ticks()
        low, high = ticks[0], ticks[-1]
        span = (t1 - t0).total_seconds()

        def to_xy(moment: datetime, value: float) -> QPointF:
            x = plot.left() + plot.width() * (moment - t0).total_seconds() / span
            y = plot.bottom() - plot.height() * (value - low) / (high - low)
            return QPointF(x, y)

        grid = QPen(QColor(160, 160, 160, 90))
        for value in ticks:
            y = to_xy(t0, value).y()
            painter.setPen(grid)
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            painter.setPen(text_pen)
            painter.drawText(QRectF(0, y - 8, plot.left() - 4, 16), RIGHT_MIDDLE, local_number(value))
        left, right = Qt.AlignmentFlag.AlignLeft, Qt.AlignmentFlag.AlignRight
        painter.drawText(QRectF(plot.left(), plot.bottom() + 2, 120, 16), left, _time_label(t0, t1))
        painter.drawText(QRectF(plot.right() - 120, plot.bottom() + 2, 120, 16), right, _time_label(t1, t0))
        for limit, color, label in (
            (self.thresholds.warn, WARN_COLOR, tr("warn")),
            (self.thresholds.alert, ALERT_COLOR, tr("alert")),
        ):
            if limit is None:
                continue
            pen = QPen(color, 1.2, Qt.PenStyle.DashLine)
            painter.setPen(pen)
            y = to_xy(t0, limit).y()
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            text = f"{label} {local_number(limit)}"  # the whole label ("Warnung 25"), right-aligned on the line
            width = QFontMetricsF(painter.font()).horizontalAdvance(text) + 4
            top = y - 15 if y - 15 >= plot.top() else y + 1  # under a line at the top, clear of the title
            painter.drawText(QRectF(plot.right() - width - 2, top, width, 14), right, text)
        path = QPainterPath()
        for index, (moment, value) in enumerate(self.points):
            point = to_xy(moment, value)
            if index == 0:
                path.moveTo(point)
            else:
                path.lineTo(point)
        painter.setPen(QPen(LINE_COLOR, 1.6))
        painter.drawPath(path)
        painter.setPen(Qt.PenStyle.NoPen)
        for moment, value in self.points[-200:]:
            status = self.thresholds.classify(value)
            painter.setBrush(ALERT_COLOR if status == "alert" else WARN_COLOR if status == "warn" else LINE_COLOR)
            painter.drawEllipse(to_xy(moment, value), 2.2, 2.2)
        painter.end()


def _time_label(moment: datetime, other: datetime) -> str:
    local = moment.astimezone()
    if abs((moment - other).total_seconds()) < 86400:
        return local.strftime("%H:%M:%S")
    return local.strftime("%d.%m. %H:%M")
