#!/usr/bin/env python3
"""Benchmark: 1 million SensorThings observations from a local paged server into the archive.

The server (tests/sensor_http_server.py, its own process) generates 10 Things x 10 Datastreams x
10,000 Observations on the fly and serves pages of 1000 from 127.0.0.1. The import runs in a child
process (so its peak RSS is its own): ``core`` = the importer with a urllib fetcher, ``qgis`` = the
same through ``QgisFetcher`` (the plugin's one fetch path: QgsNetworkAccessManager with the rules for
untrusted servers: checked redirects, deadlines, size limit while reading, link guard).
Goals: <= 30 s and <= 300 MB peak RSS.

    /usr/bin/python3 benchmarks/bench_sensor_import.py [--observations 10000] [--modes core,qgis] [--writers] [--write]

``--write`` puts the figures into the section "## Sensor import" of benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = REPO / "benchmarks" / "README.md"
SECTION = "## Sensor import"
GOAL_S, GOAL_MB = 30.0, 300.0


class UrllibFetcher:
    """Plain urllib transport (the benchmark's core path)."""

    def __init__(self, timeout_s: float = 30.0) -> None:
        self.timeout_s = timeout_s

    def get(self, url: str) -> bytes:
        from social_resilience.core.sensors.errors import FeedHttpError
        from social_resilience.core.sensors.fetch import FeedConnectionError

        try:
            with urllib.request.urlopen(url, timeout=self.timeout_s) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            raise FeedHttpError(f"HTTP {error.code} from {url}", error.code, url) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            raise FeedConnectionError(f"cannot fetch {url}: {error}") from None


def _plugin_path() -> str:
    parent = Path(tempfile.mkdtemp(prefix="srt_bench_"))
    (parent / "social_resilience").symlink_to(REPO, target_is_directory=True)
    return str(parent)


def child(mode: str, url: str, archive: str, plugin_path: str) -> None:
    """Run one import and print its figures as JSON (runs in its own process)."""
    sys.path.insert(0, plugin_path)
    if mode == "qgis":
        from qgis.core import QgsApplication

        app = QgsApplication([], False)
        app.initQgis()
        from social_resilience.algorithms.qgis_fetcher import QgisFetcher
        from social_resilience.core.sensors.fetch import FetchLimits

        fetcher = QgisFetcher(url, "", FetchLimits(timeout_s=30))
    else:
        fetcher = UrllibFetcher()
    from social_resilience.core.sensors.archive import ArchiveWriter
    from social_resilience.core.sensors.importer import ImportOptions, stream_feed

    started = time.perf_counter()
    with ArchiveWriter(archive) as writer:
        summary = stream_feed(ImportOptions(source=url, page_size=1000), fetcher, writer.add_observations)
        writer.upsert_stations(summary.stations, summary.first_times)
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"mode": mode, "seconds": elapsed, "peak_mb": peak_mb, "observations": summary.n_observations,
                      "new": writer.counts.new_observations, "complete": summary.complete,
                      "stations": len(summary.stations)}))


def run(observations_per_stream: int, modes: list[str]) -> list[dict]:
    server = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "sensor_http_server.py"), "--things", "10", "--streams", "10",
         "--observations", str(observations_per_stream), "--max-top", "1000", "--lifetime", "900"],
        stdout=subprocess.PIPE, text=True,
    )
    results = []
    try:
        url = server.stdout.readline().strip()
        plugin_path = _plugin_path()
        for mode in modes:
            with tempfile.TemporaryDirectory() as folder:
                archive = os.path.join(folder, "archive.gpkg")
                env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
                output = subprocess.run(
                    [sys.executable, __file__, "--child", mode, url, archive, plugin_path],
                    capture_output=True, text=True, check=True, env=env,
                ).stdout
                figures = json.loads(output.strip().splitlines()[-1])
                figures["archive_mb"] = os.path.getsize(archive) / 1e6
                results.append(figures)
                print(json.dumps(figures), flush=True)
    finally:
        server.kill()
        server.wait()
    return results


def compare_writers(rows: int, plugin_path: str) -> dict[str, float]:
    """Seconds to write ``rows`` observations: ArchiveWriter (sqlite3) vs OGR CreateFeature in a transaction."""
    sys.path.insert(0, plugin_path)
    from datetime import datetime, timedelta, timezone

    from osgeo import gdal, ogr
    from social_resilience.core.sensors.archive import ArchiveWriter, gpkg_time
    from social_resilience.core.sensors.model import Observation

    gdal.UseExceptions()
    t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    observations = [Observation("s1", f"d{i % 100}", "pm10", "ug/m3", t0 + timedelta(seconds=i // 100), float(i),
                                '{"value":1}', "src") for i in range(rows)]
    timings = {}
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        with ArchiveWriter(os.path.join(folder, "sqlite.gpkg")) as writer:
            writer.add_observations(observations)
        timings["sqlite3"] = time.perf_counter() - started
        started = time.perf_counter()
        source = ogr.GetDriverByName("GPKG").CreateDataSource(os.path.join(folder, "ogr.gpkg"))
        layer = source.CreateLayer("observations", geom_type=ogr.wkbNone)
        names = ("source", "station_id", "stream_id", "property", "unit", "time", "value", "raw")
        for name in names:
            layer.CreateField(ogr.FieldDefn(name, ogr.OFTReal if name == "value" else ogr.OFTString))
        source.ExecuteSQL("CREATE UNIQUE INDEX observations_key ON observations (source, stream_id, time)")
        definition = layer.GetLayerDefn()
        layer.StartTransaction()
        for o in observations:
            feature = ogr.Feature(definition)
            for index, value in enumerate((o.source, o.station_id, o.stream_id, o.property, o.unit,
                                           gpkg_time(o.time), o.value, o.raw)):
                feature.SetField(index, value)
            layer.CreateFeature(feature)
        layer.CommitTransaction()
        source = None
        timings["ogr"] = time.perf_counter() - started
    return timings


def write_section(results: list[dict], writers: dict[str, float] | None = None) -> None:
    lines = [
        SECTION, "",
        "`benchmarks/bench_sensor_import.py`: 1,000,000 OGC SensorThings observations (10 Things x 10 Datastreams"
        " x 10,000, pages of 1000 = 1000 pages plus nextLinks) generated on the fly by `tests/sensor_http_server.py`"
        " on 127.0.0.1 (its own process), imported by `core/sensors/importer.py` and streamed page by page into the"
        " GeoPackage archive (`core/sensors/archive.py`, one transaction). Peak RSS is that of the importing process."
        f" Goals: <= {GOAL_S:.0f} s, <= {GOAL_MB:.0f} MB.",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared), Python {platform.python_version()}, "
        f"measured {time.strftime('%Y-%m-%d')}.",
        "",
        "| fetcher | observations | time (s) | peak RSS (MB) | archive (MB) | goals met |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        met = "yes" if r["seconds"] <= GOAL_S and r["peak_mb"] <= GOAL_MB else "no"
        name = {"core": "urllib (core path)", "qgis": "QgisFetcher (the plugin's fetch path)"}[r["mode"]]
        lines.append(f"| {name} | {r['observations']:,} | {r['seconds']:.1f} | {r['peak_mb']:.0f} |"
                     f" {r['archive_mb']:.0f} | {met} |")
    lines += ["", "Timings vary with the load of the shared machine. That a second run into the same archive adds 0"
              " rows is tested in `tests/test_sensor_archive.py` and `tests/test_import_sensor_feed.py`, not measured"
              " here."]
    if writers:
        lines += ["", "Archive writer, 1,000,000 observations in one transaction with the unique key index:"
                  f" sqlite3 `executemany` (INSERT OR IGNORE) {writers['sqlite3']:.1f} s, OGR `CreateFeature`"
                  f" {writers['ogr']:.1f} s (and OGR has no INSERT OR IGNORE: a repeated key is an error), so the"
                  " archive uses sqlite3 with its own GeoPackage header + WKB point blobs."]
    lines.append("")
    text = README.read_text(encoding="utf-8") if README.exists() else "# Benchmarks\n\n"
    start = text.find(SECTION)
    if start >= 0:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + "\n".join(lines) + (text[end + 1:] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(lines)
    README.write_text(text, encoding="utf-8")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=10_000, help="per Datastream (x100 in total)")
    parser.add_argument("--modes", default="core,qgis")
    parser.add_argument("--writers", action="store_true", help="also compare sqlite3 and OGR archive writers")
    parser.add_argument("--write", action="store_true", help="write the figures into benchmarks/README.md")
    args = parser.parse_args()
    results = run(args.observations, args.modes.split(","))
    writers = compare_writers(1_000_000, _plugin_path()) if args.writers else None
    if writers:
        print(json.dumps({"writers_s": writers}))
    if args.write:
        write_section(results, writers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
