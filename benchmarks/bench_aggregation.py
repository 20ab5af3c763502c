#!/usr/bin/env python3
"""Benchmark: 1 million hourly observations aggregated with daily indicators (local days, DST).

115 stations x 8,760 hours (the year 2026 in Europe/Berlin: both daylight-saving changes) of air
temperature with a seasonal and a daily cycle, 1 % missing values and one station offline for two
weeks, in a GeoPackage (typed DateTime, UTC). Timed in one process:

- ``core``: ``core.hotspots.observation_stats.station_statistics`` on the rows in memory (window
  statistics, valid hours, days, nights; DWD preset thresholds and THRESHOLD 25);
- ``pandas``: the same daily indicators written with pandas (groupby on local hours, days and
  nights), as a peer and an independent check: days, hot days and tropical nights must agree;
- ``end to end``: ``processing.run("socialresilience:aggregateobservations")`` from the GeoPackage
  to a GeoPackage (reading the 1 million rows with sqlite3, statistics, writing).

Goal: end to end <= 20 s.

    /usr/bin/python3 benchmarks/bench_aggregation.py [--stations 115] [--write-readme]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from qgis_session import start_qgis

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
README = HERE / "README.md"
SECTION = "## Sensor aggregation with daily indicators"
GOAL_S = 20.0
HOURS = 8760
START = datetime(2025, 12, 31, 23, tzinfo=timezone.utc).timestamp()  # 1 January 2026 00:00 CET


def series(n_stations: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Station index, UTC seconds and values (NaN missing) of the synthetic year."""
    rng = np.random.default_rng(7)
    hours = np.arange(HOURS)
    stations = np.repeat(np.arange(n_stations), HOURS)
    times = START + 3600.0 * np.tile(hours, n_stations)
    day = np.tile(hours / 24.0, n_stations)
    local_hour = (np.tile(hours, n_stations) + 1) % 24
    offset = rng.normal(0.0, 1.0, n_stations)[stations]
    values = (
        13.0
        - 12.0 * np.cos(2 * np.pi * (day - 15) / 365)
        + 6.0 * np.cos(2 * np.pi * (local_hour - 15) / 24)
        + offset
        + rng.normal(0.0, 1.5, stations.size)
    )
    values = np.round(values, 1)
    values[rng.random(values.size) < 0.01] = np.nan
    offline = (stations == 3) & (day >= 100) & (day < 114)
    keep = ~offline
    return stations[keep], times[keep], values[keep]


def write_geopackage(path: Path, stations, times, values) -> None:
    """Observation table (station_id, property, time as DateTime, value) and station points."""
    from osgeo import ogr, osr

    source = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    crs = osr.SpatialReference()
    crs.ImportFromEPSG(25832)
    points = source.CreateLayer("stations", crs, ogr.wkbPoint)
    points.CreateField(ogr.FieldDefn("station_id", ogr.OFTString))
    for k in range(int(stations.max()) + 1):
        feature = ogr.Feature(points.GetLayerDefn())
        feature.SetField("station_id", f"S{k:03d}")
        feature.SetGeometry(ogr.CreateGeometryFromWkt(f"POINT({500000 + 100 * k} 5500000)"))
        points.CreateFeature(feature)
    table = source.CreateLayer("observations", geom_type=ogr.wkbNone)
    for name, kind in (("station_id", ogr.OFTString), ("property", ogr.OFTString), ("time", ogr.OFTDateTime)):
        table.CreateField(ogr.FieldDefn(name, kind))
    table.CreateField(ogr.FieldDefn("value", ogr.OFTReal))
    table.StartTransaction()
    definition = table.GetLayerDefn()
    for s, t, v in zip(stations.tolist(), times.tolist(), values.tolist()):
        feature = ogr.Feature(definition)
        feature.SetField(0, f"S{s:03d}")
        feature.SetField(1, "air_temperature")
        moment = datetime.fromtimestamp(t, timezone.utc)
        feature.SetField(2, moment.year, moment.month, moment.day, moment.hour, 0, 0, 100)
        if v == v:
            feature.SetField(3, v)
        table.CreateFeature(feature)
    table.CommitTransaction()
    source = None


def run_core(stations, times, values):
    from social_resilience.core.hotspots.observation_stats import station_statistics
    from social_resilience.core.sensors.daily import PRESETS, DailyRule

    ok = ~np.isnan(values)
    rows = list(zip([f"S{s:03d}" for s in stations[ok].tolist()], times[ok].tolist(), values[ok].tolist()))
    rule = DailyRule("Europe/Berlin", 75.0, *PRESETS["dwd_heat"])
    start = time.perf_counter()
    result = station_statistics(rows, START, START + HOURS * 3600.0, threshold=25.0, rule=rule)
    return time.perf_counter() - start, result


def run_pandas(stations, times, values):
    """Days, hot days and tropical nights per station with pandas (hourly data: every value is an hour)."""
    import pandas as pd

    start = time.perf_counter()
    ok = ~np.isnan(values)
    utc = pd.to_datetime(times[ok], unit="s", utc=True)
    wall = utc.tz_convert("Europe/Berlin").tz_localize(None)
    frame = pd.DataFrame({"s": stations[ok], "v": values[ok], "day": wall.normalize()})
    frame["night"] = (wall - pd.Timedelta(hours=18)).normalize()
    frame["in_night"] = ((wall - pd.Timedelta(hours=18)).hour < 12)
    midnights = pd.date_range("2026-01-01", "2027-01-01", freq="D", tz="Europe/Berlin")
    day_hours = pd.Series(np.diff(midnights.asi8) / 3.6e12, index=midnights[:-1].tz_localize(None))
    evenings = (midnights[:-1] + pd.Timedelta(hours=18)).tz_localize(None).tz_localize("Europe/Berlin")
    mornings = (midnights[1:] + pd.Timedelta(hours=6)).tz_localize(None).tz_localize("Europe/Berlin")
    night_hours = pd.Series((mornings.asi8 - evenings.asi8) / 3.6e12, index=midnights[:-1].tz_localize(None))
    days = frame.groupby(["s", "day"]).v.agg(["count", "max"])
    days["covered"] = days["count"] >= 0.75 * day_hours.reindex(days.index.get_level_values(1)).to_numpy()
    nights = frame[frame.in_night].groupby(["s", "night"]).v.agg(["count", "min"])
    expected = night_hours.reindex(nights.index.get_level_values(1)).to_numpy()
    nights["covered"] = nights["count"] >= 0.75 * expected
    result = {
        "days": days.covered.groupby(level=0).sum(),
        "days_max_above": (days.covered & (days["max"] >= 30.0)).groupby(level=0).sum(),
        "nights_above": (nights.covered & (nights["min"] >= 20.0)).groupby(level=0).sum(),
    }
    return time.perf_counter() - start, result


def run_end_to_end(path: Path, folder: Path) -> tuple[float, int]:
    import processing

    target = folder / "stations_out.gpkg"
    start = time.perf_counter()
    result = processing.run(
        "socialresilience:aggregateobservations",
        {
            "STATIONS": f"{path}|layername=stations",
            "OBSERVATIONS": f"{path}|layername=observations",
            "PROPERTY": "air_temperature",
            "START": "2025-12-31T23:00:00Z",
            "END": "2026-12-31T23:00:00Z",
            "THRESHOLD": 25,
            "PRESET": 1,
            "OUTPUT_STATIONS": str(target),
        },
    )
    elapsed = time.perf_counter() - start
    from qgis.core import QgsVectorLayer

    layer = QgsVectorLayer(result["OUTPUT_STATIONS"], "out", "ogr")
    return elapsed, sum(int(f["air_temperature_days"] or 0) for f in layer.getFeatures())


def agreement(core: dict, peer: dict) -> int:
    """Number of (station, indicator) pairs where core and pandas differ."""
    differ = 0
    for key, column in peer.items():
        for station, count in column.items():
            differ += int(core[f"S{station:03d}"][key] != float(count))
    return differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stations", type=int, default=115)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    qgis = start_qgis()  # kept alive until the end
    stations, times, values = series(args.stations)
    folder = Path(tempfile.mkdtemp(prefix="srt_bench_agg_"))
    path = folder / "observations.gpkg"
    write_geopackage(path, stations, times, values)
    n = int(stations.size)
    core_s, core = run_core(stations, times, values)
    pandas_s, peer = run_pandas(stations, times, values)
    end_s, days_total = run_end_to_end(path, folder)
    differ = agreement(core, peer)
    row = {
        "n": n,
        "core": core_s,
        "pandas": pandas_s,
        "end": end_s,
        "differ": differ,
        "days": days_total,
        "hot": sum(v["days_max_above"] for v in core.values()),
        "nights": sum(v["nights_above"] for v in core.values()),
    }
    print(row)
    if args.write_readme:
        write_readme(row)
    del qgis


def write_readme(row: dict) -> None:
    """Replace (or append) this benchmark's section of benchmarks/README.md."""
    import pandas

    lines = [
        SECTION,
        "",
        "`bench_aggregation.py`: one year of hourly air temperature (2026, Europe/Berlin, both",
        "daylight-saving changes) at 115 stations, 1 % missing values, one station offline for two weeks,",
        "in a GeoPackage (typed DateTime). `core` = `station_statistics` on rows in memory (window",
        "statistics, valid hours, local days and nights, DWD hot days and tropical nights, hours above 25);",
        f"`pandas` = the same days and nights written with pandas {pandas.__version__} (groupby on local",
        "days and nights), as peer and independent check; `end to end` = `processing.run` of",
        "`aggregateobservations` from the GeoPackage to a GeoPackage (reading, statistics, writing). Same",
        "process, one run each, seconds. `core` does more than the peer (mean, median, p95 per station, the",
        "coverage of every hour from the sampling interval, hours above), so the ratio is an upper bound.",
        "A plain GeoPackage table is read with sqlite3: QGIS 3.22's feature iterator took 2.2 s for 87,264",
        "rows of this table here (25 µs a row, about 25 s for the million) and drops UTC offsets; a layer with",
        "a subset string, a selection or unsaved edits still goes through QGIS.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared with other jobs), Python "
        f"{platform.python_version()}, measured {datetime.now(timezone.utc):%Y-%m-%d}.",
        "",
        "| observations | core | pandas | core / pandas | end to end | goal <= 20 s | days | hot days |"
        " tropical nights | differences core vs pandas |",
        "|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
        f"| {row['n']:,} | {row['core']:.2f} | {row['pandas']:.2f} | {row['core'] / row['pandas']:.2f} |"
        f" {row['end']:.2f} | {'met' if row['end'] <= GOAL_S else 'missed'} | {row['days']:,} |"
        f" {int(row['hot']):,} | {int(row['nights']):,} | {row['differ']} |",
        "",
    ]
    text = README.read_text(encoding="utf-8") if README.exists() else "# Benchmarks\n\n"
    if SECTION in text:
        head, _, rest = text.partition(SECTION)
        tail = rest.split("\n## ", 1)
        text = head + "\n".join(lines) + ("\n## " + tail[1] if len(tail) > 1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(lines)
    README.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
