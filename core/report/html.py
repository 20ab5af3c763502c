"""The report as one self-contained HTML page (images as data URIs, charts as inline SVG)."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from .content import AreaRow, Figure, ReportContent
from .everyday import EverydayWords
from .numbers import format_number
from .words import ReportWords, Translatable

STYLE = """
body{font-family:"DejaVu Sans",Arial,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.7em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ccc}
.created{color:#666}.key li{font-size:1.1em;margin:.4em 0}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #ddd}figcaption{color:#555;font-size:.9em}
.table{overflow-x:auto}table{border-collapse:collapse;font-size:.85em}
th,td{border:1px solid #ccc;padding:.25em .5em;white-space:nowrap}th{white-space:normal}
th{background:#f0f0f0}td.num{text-align:right}tr.priority td{background:#fde0dd}
footer{margin-top:2em;color:#777;font-size:.85em}
"""
#: For Qt's text layout (PDF): a page has a fixed width, so the table is set smaller.
PRINT_STYLE = STYLE + "table{font-size:6.5pt}th,td{padding:1px 3px}\n"


class ReportHtml(Translatable):
    """Write a :class:`ReportContent` as HTML in the report's language."""

    def render(self, content: ReportContent, style: str = STYLE) -> str:
        """Return the whole page (``style``: the CSS, e.g. ``PRINT_STYLE`` for Qt's PDF layout)."""
        words = ReportWords(self.language, self._translate)
        parts = [
            f'<!DOCTYPE html>\n<html lang="{escape(self.language)}">\n<head>\n<meta charset="utf-8">',
            f"<title>{escape(content.title)}</title>\n<style>{style}</style>\n</head>\n<body>",
            f"<h1>{escape(content.title)}</h1>",
        ]
        if content.created:
            parts.append(f'<p class="created">{escape(self.tr("Created {date}").format(date=content.created))}</p>')
        parts += self._list(self.tr("Key figures"), words.key_figures(content), "key")
        if content.everyday:
            everyday = EverydayWords(self.language, self._translate).sentences(content.everyday)
            parts += self._list(self.tr("Everyday places and the 3-30-300 rule"), everyday, "everyday")
        parts += self._figures(self.tr("Maps"), content.maps)
        parts += self._areas(content.areas)
        parts += self._figures(self.tr("Charts"), content.charts)
        parts += self._list(self.tr("Method and parameters"), words.method(content.method), "method")
        parts += self._list(self.tr("Data sources and licences"), content.sources, "sources")
        parts.append(f"<footer>{escape(self.tr('Made with the Social Resilience Toolkit for QGIS.'))}</footer>")
        parts.append("</body>\n</html>\n")
        return "\n".join(parts)

    def _list(self, heading: str, items: list[str], css: str) -> list[str]:
        if not items:
            return []
        lines = "\n".join(f"<li>{escape(item)}</li>" for item in items)
        return [f"<h2>{escape(heading)}</h2>", f'<ul class="{css}">\n{lines}\n</ul>']

    def _figures(self, heading: str, figures: list[Figure]) -> list[str]:
        if not figures:
            return []
        parts = [f"<h2>{escape(heading)}</h2>"]
        for figure in figures:
            body = figure.svg or f'<img src="{escape(figure.src)}" alt="{escape(figure.title)}">'
            caption = escape(figure.title) + (f": {escape(figure.caption)}" if figure.caption else "")
            parts.append(f"<figure>\n<div>{body}</div>\n<figcaption>{caption}</figcaption>\n</figure>")
        return parts

    def _areas(self, rows: list[AreaRow]) -> list[str]:
        if not rows:
            return []
        columns = [c for c in self._columns() if any(getattr(r, c[0]) is not None for r in rows)]
        head = "".join(f"<th>{escape(title)}</th>" for _, title, _ in columns)
        lines = [f"<tr><th>{escape(self.tr('Rank'))}</th><th>{escape(self.tr('Area'))}</th>{head}</tr>"]
        for rank, row in enumerate(rows, 1):
            cells = "".join(self._cell(getattr(row, name), show) for name, _, show in columns)
            css = ' class="priority"' if row.priority else ""
            lines.append(f'<tr{css}><td class="num">{rank}</td><td>{escape(row.name)}</td>{cells}</tr>')
        table = "\n".join(lines)
        return [f"<h2>{escape(self.tr('Areas ranked by priority'))}</h2>",
                f'<div class="table"><table class="areas">\n{table}\n</table></div>']

    def _cell(self, value, show: Callable) -> str:
        if value is None:
            return "<td></td>"
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        css = ' class="num"' if numeric else ""
        return f"<td{css}>{escape(show(value))}</td>"

    def _columns(self) -> list[tuple[str, str, Callable]]:
        """(AreaRow attribute, heading, formatter) of every column the table may have."""
        number = self.count
        return [
            ("pop", self.tr("Residents"), number),
            ("served_share", self.tr("Served on foot"), self.percent),
            ("served_share_eucl", self.tr("Served in a straight line"), self.percent),
            ("barrier_gap", self.tr("Barrier gap"), self.percent),
            ("dist_median_m", self.tr("Median walk"), self.metres),
            ("score_pct", self.tr("Hotspot score (percentile)"), lambda v: format_number(v, 0, self.language)),
            ("gi_bin", self.tr("Gi* hot/cold spot"), self.gi_label),
            ("lisa_cluster", self.tr("Local Moran cluster"), self.cluster_label),
            ("priority", self.tr("Priority"), lambda v: self.tr("yes") if v else self.tr("no")),
        ]

    def gi_label(self, gi_bin: int) -> str:
        """Words for a Gi* bin (-3..3)."""
        labels = {
            3: self.tr("hot spot, 99 %"), 2: self.tr("hot spot, 95 %"), 1: self.tr("hot spot, 90 %"),
            0: self.tr("not significant"),
            -1: self.tr("cold spot, 90 %"), -2: self.tr("cold spot, 95 %"), -3: self.tr("cold spot, 99 %"),
        }
        return labels.get(gi_bin, str(gi_bin))

    def cluster_label(self, label: str) -> str:
        """Translate a Local Moran cluster label of ``localhotspots``."""
        labels = {
            "High-High": self.tr("High-High"), "Low-Low": self.tr("Low-Low"), "High-Low": self.tr("High-Low"),
            "Low-High": self.tr("Low-High"), "Not significant": self.tr("Not significant"),
            "No neighbours": self.tr("No neighbours"), "No data": self.tr("No data"),
        }
        return labels.get(label, label)
