"""Benchmark: everyday places and the 3-30-300 rule on Kaiserslautern, side by side with one catchment run.

Same run, same machine, same prepared layers (``osmwalknetwork``): one ``greenspacecatchments``
run (400 m, 2 ha, barriers and crossings, the buildings as homes), ``facilityaccess`` for four
categories (grocery 500 m, school 1,000 m, doctor 1,000 m, bus stop 300 m) and ``rule33030``
(OSM trees and canopy). Goals: facility access for 4 categories <= 4x one catchment run;
3-30-300 <= 10 s. Then both are checked without barriers against the independent networkx and
shapely computation of ``tests/everyday_reference.py`` (every home; canopy on a sample).

Run: ``/usr/bin/python3 benchmarks/bench_everyday.py [--skip-check]`` (needs ../shared/data).
Data: OpenStreetMap extracts, ODbL 1.0, © OpenStreetMap contributors.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qgis_session import start_qgis

REPO = Path(__file__).resolve().parent.parent
OSM = REPO.parent / "shared" / "data" / "osm" / "kaiserslautern.osm.gz"
LAYERS = ("network", "barriers", "crossings", "green_spaces", "buildings", "places", "trees", "canopy")
DISTANCES = {"grocery": 500.0, "school": 1000.0, "doctor": 1000.0, "bus_stop": 300.0}
RUNS = 3


def prepare(folder: Path) -> dict[str, str]:
    import processing

    outputs = {f"OUTPUT_{name.upper()}": str(folder / f"{name}.gpkg") for name in LAYERS}
    result = processing.run("socialresilience:osmwalknetwork", {"INPUT": str(OSM), **outputs})
    return {name: result[f"OUTPUT_{name.upper()}"] for name in LAYERS}


def runs(algorithm: str, params: dict) -> tuple[float, float, dict]:
    """Median wall and median CPU seconds of RUNS runs (after one warm-up), and the last result."""
    import processing

    processing.run(algorithm, params)
    wall, cpu, result = [], [], {}
    for _ in range(RUNS):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = processing.run(algorithm, params)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return float(np.median(wall)), float(np.median(cpu)), result


def timings(layers: dict[str, str]) -> dict:
    base = {"NETWORK": layers["network"], "BARRIERS": layers["barriers"], "CROSSINGS": layers["crossings"],
            "RESIDENTIAL": layers["buildings"]}  # fmt: skip
    row: dict = {"load_start": os.getloadavg()[0]}
    row["catchments_s"], row["catchments_cpu_s"], _ = runs("socialresilience:greenspacecatchments", {
        **base, "GREEN_SPACES": layers["green_spaces"], "OUTPUT_CATCHMENTS": "TEMPORARY_OUTPUT",
        "OUTPUT_GREEN_SPACES": "TEMPORARY_OUTPUT", "OUTPUT_RESIDENTIAL": "TEMPORARY_OUTPUT",
    })  # fmt: skip
    distances = ";".join(f"{k}={v:g}" for k, v in DISTANCES.items())
    row["facilities_s"], row["facilities_cpu_s"], result = runs("socialresilience:facilityaccess", {
        **base, "FACILITIES": layers["places"], "DISTANCES": distances, "OUTPUT": "TEMPORARY_OUTPUT"})
    row["all_share"] = result["ALL_SHARE"]
    row["one_category_s"], row["one_category_cpu_s"], _ = runs("socialresilience:facilityaccess", {
        **base, "FACILITIES": layers["places"], "DISTANCES": "grocery=500", "OUTPUT": "TEMPORARY_OUTPUT"})
    row["cpu_per_added_category_s"] = (row["facilities_cpu_s"] - row["one_category_cpu_s"]) / (len(DISTANCES) - 1)
    row["ratio_wall"] = row["facilities_s"] / row["catchments_s"]
    row["ratio_cpu"] = row["facilities_cpu_s"] / row["catchments_cpu_s"]
    row["rule_s"], row["rule_cpu_s"], result = runs("socialresilience:rule33030", {
        **base, "GREEN_SPACES": layers["green_spaces"], "TREES": layers["trees"], "CANOPY": layers["canopy"],
        "OUTPUT": "TEMPORARY_OUTPUT",
    })  # fmt: skip
    row.update({name.lower(): result[name] for name in ("SHARE_3", "SHARE_30", "SHARE_300", "SHARE_ALL")})
    row["load_end"] = os.getloadavg()[0]
    return row


def check(layers: dict[str, str], sample: int = 1500) -> dict:
    """Both algorithms without barriers against the independent computation: largest differences."""
    import processing
    from qgis.core import QgsVectorLayer
    from shapely import wkt

    from tests.everyday_reference import Network, canopy_shares, park_sources, parks, place_access, trees_near

    def shapes(name):
        return [wkt.loads(f.geometry().asWkt()) for f in QgsVectorLayer(layers[name]).getFeatures()]

    start = time.perf_counter()
    network = Network([[(p.x(), p.y()) for p in f.geometry().vertices()]
                       for f in QgsVectorLayer(layers["network"]).getFeatures()])  # fmt: skip
    base = {"NETWORK": layers["network"], "RESIDENTIAL": layers["buildings"], "OUTPUT": "TEMPORARY_OUTPUT"}
    ours = processing.run("socialresilience:facilityaccess", {
        **base, "FACILITIES": layers["places"], "DISTANCES": ";".join(f"{k}={v:g}" for k, v in DISTANCES.items())})
    homes = list(ours["OUTPUT"].getFeatures())
    points = [wkt.loads(f.geometry().asWkt()).representative_point() for f in homes]
    spots = [network.spot(p.x, p.y, 200.0) for p in points]
    places = list(QgsVectorLayer(layers["places"]).getFeatures())
    row: dict = {"homes": len(homes)}
    for category, metres in DISTANCES.items():
        sites = [network.spot(f.geometry().asPoint().x(), f.geometry().asPoint().y(), 200.0)
                 for f in places if f["category"] == category]  # fmt: skip
        dist, count = place_access(network, spots, sites, metres)
        got = np.array([f[f"{category}_dist_m"] if f[f"{category}_dist_m"] else math.inf for f in homes], float)
        both = np.isfinite(dist) & np.isfinite(got)
        row[f"{category}_max_diff_m"] = float(np.max(np.abs(got[both] - dist[both])))
        row[f"{category}_finite_mismatch"] = int(np.count_nonzero(np.isfinite(dist) != np.isfinite(got)))
        clear = np.abs(dist - metres) > 0.05
        got_n = np.array([f[f"{category}_n"] for f in homes])
        row[f"{category}_count_mismatch"] = int(np.count_nonzero(got_n[clear] != count[clear]))
    rule = processing.run("socialresilience:rule33030", {
        **base, "GREEN_SPACES": layers["green_spaces"], "TREES": layers["trees"], "CANOPY": layers["canopy"]})
    homes = list(rule["OUTPUT"].getFeatures())
    home_shapes = [wkt.loads(f.geometry().asWkt()) for f in homes]
    row["trees_mismatch"] = int(np.count_nonzero(
        np.array([f["trees_n"] for f in homes]) != trees_near(home_shapes, shapes("trees"), 15.0)))
    sources = park_sources(network, parks(shapes("green_spaces"), 10.0, 1.0))
    nodes = network.from_sources(sources, 1500.0)
    walk = np.array([network.to_home(nodes, s, sources) if s else math.inf for s in spots])
    walk[walk > 1500.0] = math.inf
    got = np.array([f["park_dist_m"] if f["park_dist_m"] else math.inf for f in homes], float)
    got[got > 1500.0] = math.inf  # ours reports homes whose way is within 1,500 m, plus their connector
    both = np.isfinite(walk) & np.isfinite(got)
    row["park_max_diff_m"] = float(np.max(np.abs(got[both] - walk[both])))
    row["park_finite_mismatch"] = int(np.count_nonzero(np.isfinite(walk) != np.isfinite(got)))
    picks = np.random.default_rng(1).choice(len(homes), size=min(sample, len(homes)), replace=False)
    exact = canopy_shares([points[i] for i in picks], shapes("canopy"), 250.0)
    got = np.array([homes[i]["canopy_share"] for i in picks], float)
    row["canopy_max_diff"] = float(np.max(np.abs(got - exact)))
    row["canopy_sampled"] = len(picks)
    row["check_s"] = time.perf_counter() - start
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-check", action="store_true", help="time only")
    args = parser.parse_args(argv)
    app, plugin = start_qgis()  # keep references for the whole run
    with tempfile.TemporaryDirectory() as tmp:
        layers = prepare(Path(tmp))
        row = timings(layers)
        print(row, flush=True)
        if not args.skip_check:
            print(check(layers), flush=True)
    del plugin, app


if __name__ == "__main__":
    main()
