"""Report for the sample town: time of ``socialresilience:report`` (goal <= 30 s).

Run with the system Python that has QGIS:

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 benchmarks/bench_report.py [--repeat 3]

The sample town (seed 42, 2 km) and its chain (catchments, hotspot score, local hotspots, green equity) are
made first and not timed; then the report is timed in the same process, HTML only and HTML + PDF,
once cold and ``--repeat`` times warm. There is no peer: today the report is made by hand.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from qgis_session import start_qgis

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def chain(out: Path) -> dict:
    """Sample town, catchments, hotspot score and local hotspots (not timed); the report's parameters."""
    import processing

    town = out / "town.gpkg"
    processing.run("socialresilience:createsampletown", {"SEED": 42, "SIZE_KM": 2.0, "OUTPUT": str(town)})
    layer = f"{town}|layername="
    processing.run("socialresilience:greenspacecatchments", {
        "NETWORK": layer + "network", "GREEN_SPACES": layer + "green_spaces", "BARRIERS": layer + "barriers",
        "CROSSINGS": layer + "crossings", "ENTRANCES": layer + "entrances", "RESIDENTIAL": layer + "buildings",
        "POPULATION_FIELD": "population", "OUTPUT_CATCHMENTS": str(out / "catchments.gpkg"),
        "OUTPUT_GREEN_SPACES": str(out / "green.gpkg"), "OUTPUT_RESIDENTIAL": str(out / "homes.gpkg")})
    processing.run("socialresilience:hotspotscore", {
        "INPUT": layer + "districts", "ENV_FIELDS": "no2;noise_lden;heat_days;green_m2_per_inh",
        "SOCIAL_FIELDS": "share_65plus;unemployment;child_poverty;income", "INVERT_FIELDS": "green_m2_per_inh;income",
        "METHOD": 2, "OUTPUT": str(out / "score.gpkg")})
    processing.run("socialresilience:localhotspots", {
        "INPUT": str(out / "score.gpkg"), "FIELD": "score", "OUTPUT": str(out / "hotspots.gpkg")})
    processing.run("socialresilience:greenequity", {
        "RESIDENTIAL": str(out / "homes.gpkg"), "POPULATION_FIELD": "population", "AREAS": str(out / "hotspots.gpkg"),
        "BURDEN_FIELD": "score_pct", "OUTPUT": str(out / "equity.gpkg")})
    return {
        "AREAS": str(out / "equity.gpkg"), "RESIDENTIAL": str(out / "homes.gpkg"), "POPULATION_FIELD": "population",
        "CATCHMENTS": str(out / "catchments.gpkg"), "GREEN_SPACES": str(out / "green.gpkg"),
        "HOTSPOTS": str(out / "hotspots.gpkg"), "STATIONS": layer + "stations", "MIN_AREA_HA": 2,
    }


def timed(parameters: dict) -> float:
    import processing

    start = time.perf_counter()
    processing.run("socialresilience:report", parameters)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    _app, _plugin = start_qgis()
    out = Path(tempfile.mkdtemp(prefix="srt_report_"))
    parameters = chain(out)
    html = {**parameters, "OUTPUT_HTML": str(out / "report.html")}
    both = {**html, "OUTPUT_PDF": str(out / "report.pdf")}
    print("| report | cold (s) | warm median (s) | warm max (s) | size |")
    print("|---|---:|---:|---:|---:|")
    for label, params, files in (("HTML", html, ["report.html"]), ("HTML + PDF", both, ["report.html", "report.pdf"])):
        cold = timed(params)
        warm = [timed(params) for _ in range(args.repeat)]
        size = " + ".join(f"{(out / f).stat().st_size / 1e6:.1f} MB" for f in files)
        print(f"| {label} | {cold:.2f} | {statistics.median(warm):.2f} | {max(warm):.2f} | {size} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
