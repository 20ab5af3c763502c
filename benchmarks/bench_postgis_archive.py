#!/usr/bin/env python3
"""Benchmark: 1 million SensorThings observations into a PostGIS archive vs into a GeoPackage archive.

The same run starts a throwaway PostgreSQL + PostGIS server (``tests/postgis_server.py``: Debian's
binaries, a new cluster in a temporary folder, 127.0.0.1) and the generating SensorThings server
(``tests/sensor_http_server.py``: 10 Things x 10 Datastreams x 10,000 Observations, pages of 1000).
Each row is its own process, one after the other (peak RSS is that process's own):

- ``core``: the importer with QgisFetcher straight into the archive writer (``ArchiveWriter`` for the
  GeoPackage, ``PostgisArchiveWriter`` for PostGIS): the archive's own cost;
- ``algorithm``: ``socialresilience:importsensorfeed`` through the Processing registry as
  ``qgis_process`` runs it, ``ARCHIVE`` (a new GeoPackage) or ``ARCHIVE_CONNECTION`` (a new schema,
  the QGIS connection being a pg service), OUTPUT_OBSERVATIONS a GeoPackage in both;
- ``concurrent``: two ``algorithm`` processes at once into one new PostGIS archive, overlapping windows
  (days 1-4 and 3-7 of the week the feed spans); then the duplicates are counted in the database.

Goals: PostGIS <= 1.5x the GeoPackage time, peak RSS < 300 MB, 0 duplicates.

    /usr/bin/python3 benchmarks/bench_postgis_archive.py [--observations 10000] [--write]

``--write`` puts the figures into the section "## PostGIS archive" of benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = REPO / "benchmarks" / "README.md"
SECTION = "## PostGIS archive"
GOAL_RATIO, GOAL_MB = 1.5, 300.0
WINDOWS = (("2024-01-01T00:00:00Z", "2024-01-05T00:00:00Z"), ("2024-01-03T00:00:00Z", ""))
NAMES = {
    ("core", "gpkg"): "importer + GeoPackage archive (ArchiveWriter)",
    ("core", "postgis"): "importer + PostGIS archive (PostgisArchiveWriter)",
    ("algorithm", "gpkg"): "importsensorfeed, ARCHIVE (GeoPackage) + GeoPackage output",
    ("algorithm", "postgis"): "importsensorfeed, ARCHIVE_CONNECTION (PostGIS) + GeoPackage output",
}


def start_qgis(service_file: str):
    """A QGIS application with a throwaway profile holding connection ``city`` (pg service ``city``)."""
    os.environ["QGIS_CUSTOM_CONFIG_PATH"] = tempfile.mkdtemp(prefix="srt_bench_profile_")
    os.environ["PGSERVICEFILE"] = service_file
    from qgis.core import QgsApplication, QgsDataSourceUri, QgsProviderRegistry

    app = QgsApplication([], False)
    app.initQgis()
    uri = QgsDataSourceUri()
    uri.setConnection("city", "city", "", "", QgsDataSourceUri.SslDisable)
    metadata = QgsProviderRegistry.instance().providerMetadata("postgres")
    metadata.saveConnection(metadata.createConnection(uri.uri(False), {}), "city")
    return app


def run_core(url: str, archive: str, dsn: str) -> dict:
    """The importer (QgisFetcher) into the archive writer alone."""
    from social_resilience.algorithms.sensors.qgis_fetcher import QgisFetcher
    from social_resilience.core.postgres import PostgisTarget
    from social_resilience.core.sensors.archive import ArchiveWriter
    from social_resilience.core.sensors.fetch import FetchLimits
    from social_resilience.core.sensors.importer import ImportOptions, stream_feed
    from social_resilience.core.sensors.postgis_archive import PostgisArchiveWriter

    writer = PostgisArchiveWriter(PostgisTarget(dsn, archive, "city")) if dsn else ArchiveWriter(archive)
    writer.open()
    summary = stream_feed(ImportOptions(source=url, page_size=1000), QgisFetcher(url, "", FetchLimits(timeout_s=30)),
                          writer.add_observations)
    writer.upsert_stations(summary.stations, summary.first_times)
    counts = writer.commit()
    return {"observations": summary.n_observations, "new": counts.new_observations}


def run_algorithm(url: str, archive: str, postgis: bool, window: tuple[str, str] = ("", "")) -> dict:
    """``importsensorfeed`` through the Processing registry (as qgis_process runs it)."""
    from qgis.core import QgsApplication, QgsProcessingContext, QgsProcessingFeedback
    from social_resilience.algorithms.provider import SocialResilienceProvider

    provider = SocialResilienceProvider()  # the registry does not keep the Python object alive
    QgsApplication.processingRegistry().addProvider(provider)
    algorithm = QgsApplication.processingRegistry().createAlgorithmById("socialresilience:importsensorfeed")
    output = tempfile.mktemp(suffix=".gpkg", prefix="srt_bench_obs_")
    target = {"ARCHIVE_CONNECTION": "city", "ARCHIVE_SCHEMA": archive} if postgis else {"ARCHIVE": archive}
    context, feedback = QgsProcessingContext(), QgsProcessingFeedback()
    try:
        result, ok = algorithm.run({
            "FORMAT": 0, "SOURCE": url, "PAGE_SIZE": 1000, "TIMEOUT": 30, **target,
            **({"START": window[0]} if window[0] else {}), **({"END": window[1]} if window[1] else {}),
            "OUTPUT_STATIONS": "TEMPORARY_OUTPUT", "OUTPUT_OBSERVATIONS": output,
        }, context, feedback)
        if not ok:
            raise RuntimeError(feedback.textLog())
    finally:
        with contextlib.suppress(OSError):
            os.remove(output)
    return {"observations": result["N_OBSERVATIONS"], "new": result["N_NEW"]}


def child(arguments: dict) -> None:
    """One measured import in this process; prints its figures as JSON."""
    sys.path.insert(0, arguments["plugin_path"])
    app = start_qgis(arguments["service_file"])  # noqa: F841 (kept alive for the run)
    postgis = arguments["store"] == "postgis"
    started = time.perf_counter()
    if arguments["mode"] == "core":
        figures = run_core(arguments["url"], arguments["archive"], arguments["dsn"] if postgis else "")
    else:
        window = tuple(arguments.get("window", ("", "")))
        figures = run_algorithm(arguments["url"], arguments["archive"], postgis, window)
    figures["seconds"] = time.perf_counter() - started
    figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures))


def spawn(arguments: dict) -> subprocess.Popen:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.Popen([sys.executable, __file__, "--child", json.dumps(arguments)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def finish(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=1800)
    if process.returncode != 0:
        raise RuntimeError(err[-4000:])
    return json.loads(out.strip().splitlines()[-1])


def run(observations: int, repeat: int) -> tuple[list[dict], dict]:
    """Every row against one PostgreSQL server and one SensorThings server."""
    sys.path.insert(0, str(REPO))
    from qgis_session import import_plugin

    from tests.postgis_server import PostgisServer, write_service_file

    import_plugin()
    plugin_path = str(Path(sys.modules["social_resilience"].__file__).parent.parent)
    database = PostgisServer().start()
    feed = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "sensor_http_server.py"), "--things", "10", "--streams", "10",
         "--observations", str(observations), "--max-top", "1000", "--lifetime", "3600"],
        stdout=subprocess.PIPE, text=True)
    work = Path(tempfile.mkdtemp(prefix="srt_bench_pg_"))
    rows = []
    try:
        url = feed.stdout.readline().strip()
        base = {"url": url, "plugin_path": plugin_path, "dsn": database.dsn(),
                "service_file": str(write_service_file(work / "pg_service.conf", database))}
        for store in ("gpkg", "postgis"):  # not measured: a new cluster first creates its WAL files, caches fill
            finish(spawn({**base, "mode": "core", "store": store,
                          "archive": str(work / "warmup.gpkg") if store == "gpkg" else "bench_warmup"}))
        for attempt in range(repeat):  # interleaved: a load change hits both stores alike
            for mode in ("core", "algorithm"):
                for store in ("gpkg", "postgis"):
                    archive = str(work / f"{mode}{attempt}.gpkg") if store == "gpkg" else f"bench_{mode}{attempt}"
                    load = os.getloadavg()[0]
                    figures = finish(spawn({**base, "mode": mode, "store": store, "archive": archive}))
                    figures.update(mode=mode, store=store, load=(load + os.getloadavg()[0]) / 2)
                    rows.append(figures)
                    print(json.dumps(figures), flush=True)
        concurrent = run_concurrent(base, database)
    finally:
        feed.kill()
        feed.wait()
        database.stop()
    return rows, concurrent


def run_concurrent(base: dict, database) -> dict:
    """Two imports of overlapping windows at once into one PostGIS archive; count what is there."""
    load = os.getloadavg()[0]
    started = time.perf_counter()
    processes = [spawn({**base, "mode": "algorithm", "store": "postgis", "archive": "bench_concurrent",
                        "window": window}) for window in WINDOWS]
    results = [finish(process) for process in processes]
    seconds = time.perf_counter() - started
    with contextlib.closing(database.admin()) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(DISTINCT (source, stream_id, time)) FROM bench_concurrent.observations")
        rows, distinct = cursor.fetchone()
    figures = {"seconds": seconds, "rows": rows, "duplicates": rows - distinct, "new": [r["new"] for r in results],
               "observations": [r["observations"] for r in results], "peak_mb": max(r["peak_mb"] for r in results),
               "load": (load + os.getloadavg()[0]) / 2}
    print(json.dumps(figures), flush=True)
    return figures


def summary(rows: list[dict]) -> list[dict]:
    """Per (mode, store): the median time of its runs, all times, the largest peak RSS, the mean load."""
    merged = []
    for key in NAMES:
        runs = [r for r in rows if (r["mode"], r["store"]) == key]
        if runs:
            times = sorted(r["seconds"] for r in runs)
            merged.append({"mode": key[0], "store": key[1], "seconds": statistics.median(times), "times": times,
                           "observations": runs[0]["observations"], "new": runs[0]["new"],
                           "peak_mb": max(r["peak_mb"] for r in runs),
                           "load": statistics.mean(r["load"] for r in runs)})
    return merged


def write_section(rows: list[dict], concurrent: dict) -> None:
    rows = summary(rows)
    seconds = {(r["mode"], r["store"]): r["seconds"] for r in rows}
    lines = [
        SECTION, "",
        "`benchmarks/bench_postgis_archive.py`: 1,000,000 OGC SensorThings observations (10 Things x 10 Datastreams"
        " x 10,000, pages of 1000) from `tests/sensor_http_server.py` into a new archive: a GeoPackage file, or a new"
        " schema of a throwaway PostgreSQL 15 + PostGIS 3 server started by the same run (`tests/postgis_server.py`,"
        " Debian's binaries, default settings, 127.0.0.1; `fsync` on). Each run is its own process (peak RSS is that"
        " process's); after one unmeasured import into each (a new cluster first creates its WAL files, as a"
        " running server has long done), the rows run interleaved, several times; the table gives the median"
        " and every time."
        " `core` = the importer (QgisFetcher) straight into the archive writer, one thread;"
        " `algorithm` = `importsensorfeed` through the Processing registry as `qgis_process` runs it, with a GeoPackage"
        " OUTPUT_OBSERVATIONS in both. The PostGIS archive commits a transaction per 20,000 observations (COPY into a"
        " temporary table, then INSERT ... ON CONFLICT DO NOTHING in key order; `synchronous_commit` off for its"
        " session), sent by a worker thread while the next batch is collected. Goals: PostGIS <= "
        f"{GOAL_RATIO}x the GeoPackage time, peak RSS < {GOAL_MB:.0f} MB, 0 duplicates from concurrent imports.",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other engineers' jobs, Python"
        f" {platform.python_version()}, measured {time.strftime('%Y-%m-%d %H:%M')}; load = mean load average around"
        " the runs.",
        "",
        "| what | observations | new in the archive | median time (s) | all runs (s) | PostGIS / GeoPackage |"
        " peak RSS (MB) | load |",
        "|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for r in rows:
        ratio = f"{r['seconds'] / seconds[r['mode'], 'gpkg']:.2f}" if r["store"] == "postgis" else ""
        times = ", ".join(f"{s:.1f}" for s in r["times"])
        lines.append(f"| {NAMES[r['mode'], r['store']]} | {r['observations']:,} | {r['new']:,} | {r['seconds']:.1f} |"
                     f" {times} | {ratio} | {r['peak_mb']:.0f} | {r['load']:.1f} |")
    c = concurrent
    lines += [
        "",
        f"Two `importsensorfeed` processes at once into one new PostGIS archive, windows {WINDOWS[0][0]} to"
        f" {WINDOWS[0][1]} and from {WINDOWS[1][0]}: {c['observations'][0]:,} + {c['observations'][1]:,} observations"
        f" imported, N_NEW {c['new'][0]:,} + {c['new'][1]:,} = {sum(c['new']):,}; the archive holds {c['rows']:,}"
        f" rows, **{c['duplicates']} duplicates**; {c['seconds']:.1f} s for both, peak RSS {c['peak_mb']:.0f} MB per"
        f" process, load {c['load']:.1f}.",
        "",
        "How it got there (runs of 2026-12-08 on this machine, load 6-8, one run each unless said): the first"
        " version, one thread, a B-tree on (property, time) and ON CONFLICT for every batch, took 49.6 s against"
        " 27.0 s (1.84x). Sending each batch from a worker thread while the next is collected and a BRIN index on"
        " `time` instead of the B-tree: 20.6 s against 14.9 s (1.38x); medians of three under load 7.5: 25.2 s against"
        " 17.1 s (1.47x). The server's share is the INSERT: for 1,000,000 rows in the feed's order (pages of 1000 from"
        " 100 streams in turn) 5.4 s with ON CONFLICT DO NOTHING and 3.6 s as a plain INSERT (COPY into the temporary"
        " table 0.9 s; about 440 MB of WAL); hence the plain INSERT until a run meets a stored key. An unmeasured"
        " first import matters on a new cluster: it creates its WAL files (up to 1 GB) once.",
        "",
    ]
    text = README.read_text(encoding="utf-8")
    start = text.find(SECTION)
    if start >= 0:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + "\n".join(lines) + (text[end:] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(lines)
    README.write_text(text, encoding="utf-8")


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(json.loads(sys.argv[2]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=10_000, help="per Datastream (x100 in total)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each row (the median is reported)")
    parser.add_argument("--write", action="store_true", help="write the figures into benchmarks/README.md")
    args = parser.parse_args()
    rows, concurrent = run(args.observations, args.repeat)
    if args.write:
        write_section(rows, concurrent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
