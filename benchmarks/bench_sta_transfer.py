#!/usr/bin/env python3
"""Benchmark: what a SensorThings import moves, and how fast, against a server that holds a year.

Two servers with the same seeded year of hourly observations (``tests/sta_thirdparty/dataset.py``:
3 Things x 2 Datastreams x 8,760 hours): django-ogc-sensorthings 1.2.0 (PyPI, its own venv and
process, SQLite) and our FROST-style replies (``tests/sensor_http_server.py`` ``DatasetFeed``).
Each row is the importer (``core/sensors/importer.py``) with ``QgisFetcher``, the fetch path of
``importsensorfeed``; bytes are the bodies received (decompressed), counted by ``CountingFetcher``.

- one week, Datastream URL: START/END pushed to the server (``$filter``, ``$select``);
- one week, Datastream URL read as given (``…/Observations?$skip=0``): what the import did before
  this change for a Datastream URL (download everything, keep the week);
- the whole year of one Datastream, and of the service root (the import rate).

    /usr/bin/python3 benchmarks/bench_sta_transfer.py [--write]

``--write`` puts the figures into the section "## SensorThings transfer" of benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
README = HERE / "README.md"
SECTION = "## SensorThings transfer"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

from qgis_session import import_plugin  # noqa: E402

UTC = timezone.utc
WEEK = (datetime(2025, 3, 3, tzinfo=UTC), datetime(2025, 3, 10, tzinfo=UTC))


def measure(source: str, start: datetime | None = None, end: datetime | None = None) -> dict:
    """Import ``source`` (optionally one window) with QgisFetcher; observations, answers, bytes, seconds, URLs."""
    from social_resilience.algorithms.sensors.qgis_fetcher import QgisFetcher
    from social_resilience.core.sensors.importer import ImportOptions, stream_feed

    class Recording(QgisFetcher):
        def __init__(self, url: str) -> None:
            super().__init__(url)
            self.urls: list[str] = []

        def get(self, url: str) -> bytes:
            body = super().get(url)
            self.urls.append(url)
            return body

    kept: list = []
    fetcher = Recording(source)
    started = time.perf_counter()
    summary = stream_feed(ImportOptions(source=source, start=start, end=end), fetcher, kept.extend)
    seconds = time.perf_counter() - started
    return {"n": len(kept), "requests": summary.requests, "bytes": summary.bytes_received, "s": seconds,
            "complete": summary.complete, "urls": fetcher.urls}


def plain_download(urls: list[str]) -> dict:
    """The floor: the same answers fetched one after the other with urllib, nothing parsed."""
    started = time.perf_counter()
    size = 0
    for url in urls:
        with urllib.request.urlopen(url.replace(" ", "%20"), timeout=120) as answer:
            size += len(answer.read())
    return {"n": 0, "requests": len(urls), "bytes": size, "s": time.perf_counter() - started, "complete": True}


def cases(root: str) -> list[tuple[str, str, datetime | None, datetime | None]]:
    from tests.sta_thirdparty import dataset

    stream = f"{root}Datastreams('{dataset.datastream_id(dataset.THINGS[0], dataset.PROPERTIES[0])}')/Observations"
    year = (dataset.YEAR_START, dataset.hour_time(dataset.HOURS - 1))
    return [
        ("one week, Datastream URL (window pushed to the server)", stream, *WEEK),
        ("one week, Datastream URL read as given (before: everything, week kept)", stream + "?$skip=0", *WEEK),
        ("whole year, Datastream URL (window pushed)", stream, *year),
        ("whole year, service root (every stream)", root, *year),
    ]


def run_all() -> list[tuple[str, str, dict]]:
    from qgis.core import QgsApplication

    from tests.sensor_http_server import DatasetFeed, SensorHttpServer
    from tests.sta_thirdparty.server import ThirdPartySta

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QgsApplication([], False)
    app.initQgis()
    import_plugin()
    rows = []
    with tempfile.TemporaryDirectory() as folder, ThirdPartySta(Path(folder)) as third, \
            SensorHttpServer(lifetime=3600, dataset=DatasetFeed()) as canned:
        servers = [("django-ogc-sensorthings 1.2.0", third.root), ("FROST-style replies", canned.url("/frost/v1.1/"))]
        for server_name, root in servers:
            for label, source, start, end in cases(root):
                rows.append((server_name, label, measure(source, start, end)))
                print(server_name, "|", label, "|", {k: v for k, v in rows[-1][2].items() if k != "urls"}, flush=True)
            rows.append((server_name, "the same answers as the service-root row, plain urllib download (floor)",
                         plain_download(rows[-1][2]["urls"])))
    return rows


def table(rows: list[tuple[str, str, dict]], load: str) -> str:
    lines = [
        SECTION, "",
        "`benchmarks/bench_sta_transfer.py`: a year of hourly observations (3 Things x 2 Datastreams x 8,760) on "
        "two servers: django-ogc-sensorthings 1.2.0 from PyPI (Django 5.2, SQLite, runserver, its own process) and "
        "our FROST-style replies of the same data (`tests/sensor_http_server.py` `DatasetFeed`, a thread of the "
        "benchmark). Each row is the importer with `QgisFetcher` (the fetch path of `importsensorfeed`); bytes are "
        "the answer bodies received (decompressed), counted by `CountingFetcher`. \"Read as given\" is the same "
        "Datastream URL with a query of its own (`?$skip=0`), which the importer fetches unchanged: what a "
        "Datastream URL cost before this change (everything downloaded, the week kept).",
        "",
        "| server | import | observations | answers | kB received | s | observations/s |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for server, label, m in rows:
        rate = f"{m['n'] / m['s']:,.0f}" if m["n"] else ""
        lines.append(f"| {server} | {label} | {m['n']:,} | {m['requests']} | {m['bytes'] / 1000:,.0f} | "
                     f"{m['s']:.1f} | {rate} |")
    lines += ["", f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other engineers; {load}. "
              "The importer asks for the next page while it reads one (`QgisFetcher.prefetch`), the plain "
              "download one after the other: against a slow server the importer can be the faster of the two.", ""]
    for server in dict.fromkeys(r[0] for r in rows):
        mine = {label: m for s, label, m in rows if s == server}
        week, given, year, root, floor = (mine[label] for label in mine)
        lines.append(f"- {server}: one week moves {week['bytes'] / 1000:,.0f} kB, "
                     f"{week['bytes'] / year['bytes']:.1%} of the year's {year['bytes'] / 1000:,.0f} kB "
                     f"(169 of 8,760 hours = {169 / 8760:.1%}); read as given the same week cost "
                     f"{given['bytes'] / 1000:,.0f} kB ({given['bytes'] / week['bytes']:.0f}x). The year from the "
                     f"service root: {root['s']:.1f} s, the plain download of the same answers {floor['s']:.1f} s "
                     f"({root['s'] / floor['s']:.2f}x).")
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    content = README.read_text(encoding="utf-8")
    if SECTION in content:
        head, rest = content.split(SECTION, 1)
        tail = rest[rest.find("\n## "):] if "\n## " in rest else ""
        content = head + text + ("\n" + tail.lstrip("\n") if tail else "")
    else:
        content = content.rstrip("\n") + "\n\n" + text
    README.write_text(content, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update benchmarks/README.md")
    args = parser.parse_args(argv)
    before = os.getloadavg()
    rows = run_all()
    after = os.getloadavg()
    load = f"load average {before[0]:.1f} before, {after[0]:.1f} after (`uptime`)"
    text = table(rows, load)
    print(text)
    if args.write:
        write_section(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
