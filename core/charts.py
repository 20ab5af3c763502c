"""Charts for reports as standalone SVG text (no external resources, no QGIS).

``bar_chart_svg``: one horizontal bar per label, sorted descending (e.g. served share per
area); ``lorenz_curve_svg``: the Lorenz curve of green access with the line of equality and
the Gini coefficient. Texts are English; pass ``translate`` (e.g. a Qt translate call in
context ``charts``) for the user's language.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from xml.sax.saxutils import escape

from .green.equity import gini, lorenz_points

CONTEXT = "charts"
FONT = "font-family=\"DejaVu Sans, Arial, Helvetica, sans-serif\""
#: Class colours of served share (as the green_equity style): < 25 %, < 50 %, < 75 %, ≥ 75 %.
SHARE_COLOURS = ("#d7191c", "#fdae61", "#a6d96a", "#1a9641")
BAR_COLOUR = "#3a7d44"
NO_DATA_COLOUR = "#9e9e9e"


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:  # noqa: N802 (Qt name, found by build_translations)
    """Mark ``text`` for translation without translating it (this module does not import Qt)."""
    return text


NO_DATA = QT_TRANSLATE_NOOP("charts", "no data")
GINI_TEXT = QT_TRANSLATE_NOOP("charts", "Gini coefficient {}")
EQUALITY = QT_TRANSLATE_NOOP("charts", "Equal access")
X_CAPTION = QT_TRANSLATE_NOOP("charts", "Share of residents (areas from least to best served)")
Y_CAPTION = QT_TRANSLATE_NOOP("charts", "Share of residents with green access")

Translate = Callable[[str], str]


def _identity(text: str) -> str:
    return text


def _text(x: float, y: float, content: str, size: int = 12, anchor: str = "start", extra: str = "") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" {FONT}{extra}>'
        f"{escape(content)}</text>"
    )


def _svg(width: float, height: float, body: list[str], title: str) -> str:
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" role="img">',
            f"<title>{escape(title)}</title>",
            f'<rect x="0" y="0" width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
            *body,
            "</svg>",
        ]
    )


def _format(value: float, percent: bool) -> str:
    return f"{100 * value:.0f} %" if percent else f"{value:.4g}"


def _ticks(low: float, high: float, percent: bool) -> list[float]:
    """Round tick values covering [low, high]."""
    if percent and low >= 0 and high <= 1:
        return [0.0, 0.25, 0.5, 0.75, 1.0]
    span = (high - low) or 1.0
    raw = span / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    return [first + k * step for k in range(math.ceil((high - first) / step - 1e-9) + 1)]


def _bar_colour(value: float, percent: bool) -> str:
    if not percent:
        return BAR_COLOUR
    return SHARE_COLOURS[min(3, max(0, int(value * 4)))] if value < 1 else SHARE_COLOURS[3]


def bar_chart_svg(
    labels: list[str],
    values: list[float | None],
    title: str,
    percent: bool = True,
    *,
    translate: Translate | None = None,
) -> str:
    """Horizontal bar chart, bars sorted by value descending; None shows as "no data" at the end.

    ``percent``: the values are shares 0–1, written and scaled as percent (bars coloured in the
    served-share classes of the map style); else plain numbers.
    """
    tr = translate or _identity
    rows = sorted(
        zip(labels, values), key=lambda row: (row[1] is None, -(row[1] if row[1] is not None else 0.0))
    )
    names = [str(label) if len(str(label)) <= 32 else str(label)[:31] + "…" for label, _ in rows]
    numbers = [v for _, v in rows if v is not None]
    low = min([0.0, *numbers])
    high = max([1.0 if percent else 0.0, *numbers]) or 1.0
    ticks = _ticks(low, high, percent)
    low, high = min(low, ticks[0]), max(high, ticks[-1])
    left = 16 + 7 * max([len(n) for n in names] or [4])
    plot_w, row_h, top = 380.0, 20.0, 44.0
    width = left + plot_w + 70
    height = top + row_h * max(len(rows), 1) + 36

    def x_of(value: float) -> float:
        return left + plot_w * (value - low) / (high - low)

    body = [_text(10, 24, title, 15, extra=' font-weight="bold"')]
    axis_y = top + row_h * max(len(rows), 1)
    for tick in ticks:
        body.append(f'<line x1="{x_of(tick):.1f}" y1="{top - 4:.1f}" x2="{x_of(tick):.1f}" y2="{axis_y:.1f}" '
                    'stroke="#dddddd" stroke-width="1"/>')  # fmt: skip
        body.append(_text(x_of(tick), axis_y + 16, _format(tick, percent), 11, "middle"))
    for k, ((_, value), name) in enumerate(zip(rows, names)):
        y = top + row_h * k
        body.append(_text(left - 8, y + 14, name, 12, "end"))
        if value is None:
            grey = f' fill="{NO_DATA_COLOUR}" font-style="italic"'
            body.append(_text(x_of(0.0) + 4, y + 14, tr(NO_DATA), 11, extra=grey))
            continue
        x0, x1 = sorted((x_of(0.0), x_of(value)))
        body.append(f'<rect x="{x0:.1f}" y="{y + 3:.1f}" width="{max(x1 - x0, 0.5):.1f}" height="{row_h - 6:.1f}" '
                    f'fill="{_bar_colour(value, percent)}"/>')  # fmt: skip
        body.append(_text(x1 + 4, y + 14, _format(value, percent), 11))
    body.append(f'<line x1="{x_of(0.0):.1f}" y1="{top - 4:.1f}" x2="{x_of(0.0):.1f}" y2="{axis_y:.1f}" '
                'stroke="#333333" stroke-width="1"/>')  # fmt: skip
    return _svg(width, height, body, title)


def wrap(text: str, max_chars: int = 48) -> list[str]:
    """Break ``text`` into lines of at most ``max_chars`` characters at spaces (a longer word stays whole)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= max_chars:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def lorenz_curve_svg(
    population: list[float],
    served_share: list[float | None],
    title: str,
    *,
    translate: Translate | None = None,
    decimal: str = ".",
) -> str:
    """Lorenz curve of green access with the line of equality; the Gini coefficient in the subtitle.

    Areas are sorted from the least to the best served; x = cumulative share of residents,
    y = cumulative share of the residents with green access. Areas without residents or
    without a share are left out. ``decimal``: the decimal sign of the report's language. Axis
    captions longer than the axis are broken into lines.
    """
    tr = translate or _identity
    value = gini(population, served_share)
    subtitle = tr(GINI_TEXT).format("–" if value is None else f"{value:.3f}".replace(".", decimal))
    size, left, top = 360.0, 70.0, 62.0
    x_lines, y_lines = wrap(tr(X_CAPTION)), wrap(tr(Y_CAPTION))
    width, height = left + size + 30, top + size + 44 + 16 * len(x_lines)

    def point(px: float, py: float) -> str:
        return f"{left + size * px:.1f},{top + size * (1 - py):.1f}"

    body = [_text(10, 24, title, 15, extra=' font-weight="bold"'), _text(10, 44, subtitle, 12)]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x, y = left + size * tick, top + size * (1 - tick)
        body.append(f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{top + size:.1f}" stroke="#eeeeee"/>')
        body.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{left + size:.1f}" y2="{y:.1f}" stroke="#eeeeee"/>')
        body.append(_text(x, top + size + 16, f"{100 * tick:.0f} %", 11, "middle"))
        body.append(_text(left - 6, y + 4, f"{100 * tick:.0f} %", 11, "end"))
    body.append(f'<rect x="{left:.1f}" y="{top:.1f}" width="{size:.1f}" height="{size:.1f}" '
                'fill="none" stroke="#333333"/>')  # fmt: skip
    body.append(f'<line x1="{left:.1f}" y1="{top + size:.1f}" x2="{left + size:.1f}" y2="{top:.1f}" '
                'stroke="#777777" stroke-dasharray="5,4"/>')  # fmt: skip
    body.append(_text(left + size * 0.36, top + size * 0.46, tr(EQUALITY), 11, "middle", ' fill="#555555"'))
    xs, ys = lorenz_points(population, served_share)
    if len(xs) > 1:
        curve = " ".join(point(px, py) for px, py in zip(xs, ys))
        body.append(f'<polygon points="{curve} {point(1, 1)}" fill="#a6d96a" fill-opacity="0.35" stroke="none"/>')
        body.append(f'<polyline points="{curve}" fill="none" stroke="{BAR_COLOUR}" stroke-width="2.5"/>')
    else:
        body.append(_text(left + size / 2, top + size / 2, tr(NO_DATA), 12, "middle", f' fill="{NO_DATA_COLOUR}"'))
    for k, line in enumerate(x_lines):
        body.append(_text(left + size / 2, top + size + 36 + 16 * k, line, 12, "middle"))
    for k, line in enumerate(y_lines):
        x = 18 + 15 * k - 7.5 * (len(y_lines) - 1)
        turn = f' transform="rotate(-90 {x:.1f} {top + size / 2:.1f})"'
        body.append(_text(x, top + size / 2, line, 12, "middle", turn))
    return _svg(width, height, body, title)
