"""The report as one self-contained HTML page (images as data URIs, charts as inline SVG)."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from .content import AreaRow, Figure, ReportContent
from .everyday import EverydayWords
from .numbers import format_number
from .words import ReportWords, Translatable

STYLE = """
body{font-family:"DejaVu Sans",Arial,sans-serif;max-width:72em;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.7em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ccc}
.created{color:#666}.key li{font-size:1.1em;margin:.4em 0}
.notice{background:#fff3cd;border-left:4px solid #e0a800;padding:.4em .8em}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #ddd}figcaption{color:#555;font-size:.9em}
.table{overflow-x:auto}table{border-collapse:collapse;font-size:.85em}
th,td{border:1px solid #ccc;padding:.25em .5em;white-space:nowrap}th{white-space:normal}
th{background:#f0f0f0}td.num{text-align:right}tr.priority td{background:#fde0dd}
footer{margin-top:2em;color:#777;font-size:.85em}
"""
#: For Qt's text layout (PDF): a page has a fixed width, so the table is set smaller.
PRINT_STYLE = STYLE + (
    "table{font-size:7.5pt}th,td{padding:1px 2px}th{white-space:nowrap}.page{page-break-before:always}\n"
)


#: Columns of the area table whose values are written as words (the others are numbers).
WORD_COLUMNS = ("gi_bin", "lisa_cluster", "priority")


def _td(text: str | None, numeric: bool) -> str:
    """Write a table cell; a number (with its unit) is never broken across lines."""
    if text is None:
        return "<td></td>"
    return f'<td class="num">{escape(text).replace(" ", "&nbsp;")}</td>' if numeric else f"<td>{escape(text)}</td>"


def header_lines(title: str) -> list[str]:
    """Split a column heading into lines no longer than its longest word (at least 9 characters): words kept whole."""
    width = max([9, *map(len, title.split())])
    lines: list[str] = []
    for word in title.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


class ReportHtml(Translatable):
    """Write a :class:`ReportContent` as HTML in the report's language."""

    _paged = False

    def render(self, content: ReportContent, style: str = STYLE, paged: bool = False) -> str:
        """Return the whole page (``style``: the CSS, e.g. ``PRINT_STYLE`` for Qt's PDF layout).

        ``paged`` (print): the maps, the table and the charts each begin a page, and every further
        figure too, so that no heading stands alone at the foot of a page.
        """
        self._paged = paged
        words = ReportWords(self.language, self._translate)
        parts = [
            f'<!DOCTYPE html>\n<html lang="{escape(self.language)}">\n<head>\n<meta charset="utf-8">',
            f"<title>{escape(content.title)}</title>\n<style>{style}</style>\n</head>\n<body>",
            f"<h1>{escape(content.title)}</h1>",
        ]
        if content.created:
            parts.append(f'<p class="created">{escape(self.tr("Created {date}").format(date=content.created))}</p>')
        if content.synthetic:
            parts.append(f'<p class="notice">{escape(words.synthetic_notice())}</p>')
        parts += self._list(self.tr("Key figures"), words.key_figures(content), "key")
        if content.everyday:
            everyday = EverydayWords(self.language, self._translate).sentences(content.everyday)
            parts += self._list(self.tr("Everyday places and the 3-30-300 rule"), everyday, "everyday")
        parts += self._figures(self.tr("Maps"), content.maps)
        parts += self._areas(content.areas)
        parts += self._figures(self.tr("Charts"), content.charts)
        parts += self._list(self.tr("Method and parameters"), words.method(content.method), "method", paged)
        parts += self._list(self.tr("Data sources and licences"), content.sources, "sources")
        parts.append(f"<footer>{escape(self.tr('Made with the Social Resilience Toolkit for QGIS.'))}</footer>")
        parts.append("</body>\n</html>\n")
        return "\n".join(parts)

    def _list(self, heading: str, items: list[str], css: str, page: bool = False) -> list[str]:
        if not items:
            return []
        lines = "\n".join(f"<li>{escape(item)}</li>" for item in items)
        title = self._heading(heading) if page else f"<h2>{escape(heading)}</h2>"
        return [title, f'<ul class="{css}">\n{lines}\n</ul>']

    def _figures(self, heading: str, figures: list[Figure]) -> list[str]:
        if not figures:
            return []
        parts = [self._heading(heading)]
        for number, figure in enumerate(figures):
            body = figure.svg or f'<img src="{escape(figure.src)}" alt="{escape(figure.title)}">'
            caption = escape(figure.title) + (f": {escape(figure.caption)}" if figure.caption else "")
            page = ' class="page"' if number and self._paged else ""
            parts.append(f"<figure>\n<div{page}>{body}</div>\n<figcaption>{caption}</figcaption>\n</figure>")
        return parts

    def _areas(self, rows: list[AreaRow]) -> list[str]:
        if not rows:
            return []
        columns = [c for c in self._columns() if any(getattr(r, c[0]) is not None for r in rows)]
        titles = [self.tr("Rank"), self.tr("Area")] + [title for _, title, _ in columns]
        body = [[(str(rank), True), (row.name, False)] + [self._cell_text(name, getattr(row, name), show)
                                                           for name, _, show in columns]
                for rank, row in enumerate(rows, 1)]
        paged = self._paged
        head = "".join(f"<th>{'<br>'.join(map(escape, header_lines(t))) if paged else escape(t)}</th>" for t in titles)
        lines = [f"<tr>{head}</tr>"]
        for row, cells in zip(rows, body):
            css = ' class="priority"' if row.priority else ""
            lines.append(f"<tr{css}>{''.join(_td(text, numeric) for text, numeric in cells)}</tr>")
        table = "\n".join(lines)
        return [self._heading(self.tr("Areas ranked by priority")),
                f'<div class="table"><table class="areas">\n{table}\n</table></div>']

    def _cell_text(self, column: str, value, show: Callable) -> tuple[str | None, bool]:
        """Return the text of a table cell (None when empty) and whether it is a number."""
        if value is None:
            return None, False
        return show(value), column not in WORD_COLUMNS

    def _heading(self, text: str) -> str:
        """Write a section heading; on paper one that begins a page."""
        page = ' class="page"' if self._paged else ""
        return f"<h2{page}>{escape(text)}</h2>"

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
        """Words for a Gi* bin (-3..3), short for the table: "hot, 95 %"; a dash when not significant."""
        labels = {
            3: self.tr("hot, 99 %"), 2: self.tr("hot, 95 %"), 1: self.tr("hot, 90 %"), 0: "–",
            -1: self.tr("cold, 90 %"), -2: self.tr("cold, 95 %"), -3: self.tr("cold, 99 %"),
        }
        return labels.get(gi_bin, str(gi_bin))

    def cluster_label(self, label: str) -> str:
        """Translate a Local Moran cluster label of ``localhotspots``."""
        labels = {
            "High-High": self.tr("High-High"), "Low-Low": self.tr("Low-Low"), "High-Low": self.tr("High-Low"),
            "Low-High": self.tr("Low-High"), "Not significant": "–",
            "No neighbours": self.tr("No neighbours"), "No data": self.tr("No data"),
        }
        return labels.get(label, label)
