"""Emerging hot spots: ours versus xarray-spatial's ``emerging_hotspots`` on the same grid cube.

    sudo /usr/bin/python3 benchmarks/bench_emerging.py [--side 100] [--steps 52] [--permutations 999]

xarray-spatial 0.10 needs Python >= 3.12, so it runs in a Debian 13 root made by
``benchmarks/xrspatial_root.sh`` (root: debootstrap and chroot), through ``xrspatial_worker.py``.
Both get the same cube: ``side`` x ``side`` grid cells (queen neighbours = xarray-spatial's 3 x 3
kernel) over ``steps`` steps with hot and cold blobs that persist, grow, fade, appear and come and go.

1. Gi*: ours with TIME_LAG 0 and the entire cube against theirs (float32), interior and edge cells.
2. Rules: both classify the same input, our z-scores and our significant steps; every cell where the
   categories differ is put down to the rule that makes the difference (none may stay unexplained).
3. As shipped: each with its own defaults (ours: FDR per step, alpha 0.05; theirs: 90 % bins, no FDR).
4. Time: 999 permutations and TIME_LAG 1 for ours (core, and end to end from GeoPackage to GeoPackage
   through processing.run), their first call (with numba's compilation) and a warm second call.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from qgis_session import import_plugin, start_qgis

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "output"
ROOT_SCRIPT = HERE / "xrspatial_root.sh"
ROOT = Path(os.environ.get("SRT_XRS_ROOT", "/var/tmp/srt-trixie-py313"))


def make_cube(side: int, steps: int, seed: int = 7) -> np.ndarray:
    """(steps, side, side) values: noise plus blobs for every kind of pattern."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:side, 0:side] / side
    t = np.linspace(0.0, 1.0, steps)[:, None, None]

    def blob(cx: float, cy: float, radius: float = 0.06) -> np.ndarray:
        return np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * radius**2))[None]

    noise = rng.gamma(2.0, 1.0, (steps, side, side))
    noise = (noise + np.roll(noise, 1, 1) + np.roll(noise, 1, 2) + np.roll(noise, -1, 1) + np.roll(noise, -1, 2)) / 5
    flicker = (rng.random((steps, 1, 1)) < 0.3).astype(float)
    return (
        5.0 + 2.0 * noise
        + 6.0 * blob(0.2, 0.2)  # persistent hot
        + 10.0 * t * blob(0.5, 0.2)  # intensifying
        + 10.0 * (1 - t) * blob(0.8, 0.2)  # diminishing, then historical
        + 8.0 * (t > 0.85) * blob(0.2, 0.5)  # new and consecutive
        + 6.0 * np.sin(8 * np.pi * t) * blob(0.5, 0.5, 0.08)  # oscillating
        - 4.0 * blob(0.8, 0.5, 0.08)  # persistent cold
        - 6.0 * t * blob(0.2, 0.8)  # intensifying cold
        + 6.0 * flicker * blob(0.5, 0.8)  # sporadic
    )


def grid_weights(side: int):
    """Our queen weights of the grid cells, found from their squares as the algorithm finds them."""
    from social_resilience.core.hotspots import spatial_weights as sw

    rings = sw.RingCollector()
    for i in range(side * side):
        r, c = divmod(i, side)
        rings.add_ring(i, np.array([[c, r], [c + 1, r], [c + 1, r + 1], [c, r + 1], [c, r]], dtype=float))
    return sw.contiguity_weights(rings.ringset(side * side))


def run_theirs(cube: np.ndarray, our_z: np.ndarray, significant: np.ndarray) -> tuple[dict, dict]:
    """Run xrspatial_worker.py in the Debian 13 root; return its report and outputs."""
    subprocess.run(["bash", str(ROOT_SCRIPT)], check=True, stdout=subprocess.DEVNULL)
    work = ROOT / "tmp" / "srt-bench"
    work.mkdir(parents=True, exist_ok=True)
    np.savez(work / "in.npz", cube=cube, our_z=our_z, our_significant=significant)
    (work / "worker.py").write_text((HERE / "xrspatial_worker.py").read_text())
    done = subprocess.run(["bash", str(ROOT_SCRIPT), "run", "/tmp/srt-bench/worker.py", "/tmp/srt-bench/in.npz",
                           "/tmp/srt-bench/out.npz"], check=True, capture_output=True, text=True)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    with np.load(work / "out.npz") as data:
        return report, {key: data[key] for key in data.files}


def explain(hot: np.ndarray, cold: np.ndarray, ours: int, theirs: int) -> str:
    """The rule that makes our category and xarray-spatial's differ for one cell (its hot/cold steps)."""
    from social_resilience.core.hotspots import emerging as em

    steps = len(hot)
    floor, ceil = max(int(steps * 0.9), 1), math.ceil(0.9 * steps - 1e-9)
    for side in (hot, cold):
        if floor <= side.sum() < ceil:
            return f"90 % counted as floor(0.9 T) = {floor} steps (ours: at least {ceil})"
    if ours * theirs < 0:
        return "hot rules all tested before cold ones (a side's historical beats the other's oscillating)"
    kind_ours, kind_theirs = abs(ours), abs(theirs)
    if kind_ours == em.OSCILLATING and kind_theirs == em.NEW:
        return "new even after a cold step (ours: oscillating)"
    if kind_ours == em.OSCILLATING and kind_theirs == em.CONSECUTIVE:
        return "consecutive even after a cold step (ours: oscillating)"
    if kind_ours == em.SPORADIC and theirs == 0:
        return "sporadic needs the last step hot (ours: any step)"
    trend = {em.INTENSIFYING, em.PERSISTENT, em.DIMINISHING}
    if kind_ours in trend and kind_theirs in trend:
        return "trend p < 0.05 in float32 (ours: p <= alpha in float64)"
    return "unexplained"


def compare_rules(result, theirs: dict, side: int) -> dict:
    """Categories of both rule sets on the same z and significance, and why each differing cell differs."""
    ours = result.category
    rules = theirs["rules_on_our_input"].reshape(-1).astype(int)
    differ = np.flatnonzero(ours != rules)
    reasons = Counter(explain(result.hot[:, i], result.cold[:, i], int(ours[i]), int(rules[i])) for i in differ)
    return {"cells": int(side * side), "same": int(np.sum(ours == rules)), "differ": len(differ),
            "reasons": dict(reasons.most_common())}


def compare_z(result, theirs: dict, side: int, steps: int) -> dict:
    """Largest difference of our Gi* z and theirs (float32), on interior cells and on edge cells."""
    their_z = theirs["gi_zscore"].reshape(steps, side * side).astype(float)
    rows, cols = np.divmod(np.arange(side * side), side)
    inner = (rows > 0) & (rows < side - 1) & (cols > 0) & (cols < side - 1)
    difference = np.abs(result.gi.z - their_z)
    return {"max_abs_diff_interior": float(np.nanmax(difference[:, inner])),
            "max_rel_diff_interior_abs_z_over_1": float(np.nanmax(
                (difference / np.abs(result.gi.z))[:, inner][np.abs(result.gi.z[:, inner]) > 1])),
            "max_abs_diff_edge": float(np.nanmax(difference[:, ~inner])),
            "their_edge_nan": int(np.isnan(their_z[:, ~inner]).sum())}


def as_shipped(ours_default, theirs: dict, side: int) -> dict:
    """Agreement of both tools' categories with their own defaults, interior cells, and the main pairs."""
    from social_resilience.core.hotspots import emerging as em

    rows, cols = np.divmod(np.arange(side * side), side)
    inner = (rows > 0) & (rows < side - 1) & (cols > 0) & (cols < side - 1)
    ours, their = ours_default.category[inner], theirs["category"].reshape(-1)[inner].astype(int)
    pairs = Counter((em.category_label(int(a)), em.category_label(int(b))) for a, b in zip(ours, their) if a != b)
    return {"cells": int(inner.sum()), "same": int(np.sum(ours == their)),
            "ours_kinds": Counter(em.category_label(int(c)) for c in ours).most_common(),
            "theirs_kinds": Counter(em.category_label(int(c)) for c in their).most_common(),
            "top_pairs (ours, theirs)": [[a, b, k] for (a, b), k in pairs.most_common(8)]}


def time_ours(cube: np.ndarray, side: int, permutations: int) -> dict:
    """Seconds of our core (weights + space-time Gi* with permutations + trend + categories), TIME_LAG 1."""
    from social_resilience.core.hotspots import emerging as em

    start = time.perf_counter()
    weights = grid_weights(side)
    middle = time.perf_counter()
    em.emerging_hotspots(cube.reshape(len(cube), -1), weights, lag=1, permutations=permutations, seed=1)
    end = time.perf_counter()
    return {"weights_s": middle - start, "statistics_s": end - middle, "core_s": end - start}


def write_gpkg(cube: np.ndarray, path: Path) -> None:
    """The cube as a GeoPackage: one square per cell and step with area, week and value (not timed)."""
    from osgeo import ogr, osr

    steps, side = cube.shape[0], cube.shape[1]
    driver = ogr.GetDriverByName("GPKG")
    source = driver.CreateDataSource(str(path))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(25832)
    layer = source.CreateLayer("cube", srs, ogr.wkbPolygon)
    for name, kind in (("area", ogr.OFTInteger), ("week", ogr.OFTDateTime), ("value", ogr.OFTReal)):
        layer.CreateField(ogr.FieldDefn(name, kind))
    layer.StartTransaction()
    for t in range(steps):
        week = time.strftime("%Y/%m/%d %H:%M:%S+00", time.gmtime(1704067200 + 7 * 86400 * t))
        for i in range(side * side):
            r, c = divmod(i, side)
            x, y = 500000 + 100 * c, 5500000 + 100 * r
            feature = ogr.Feature(layer.GetLayerDefn())
            feature.SetGeometry(ogr.CreateGeometryFromWkt(
                f"POLYGON(({x} {y},{x + 100} {y},{x + 100} {y + 100},{x} {y + 100},{x} {y}))"))
            feature.SetField("area", i)
            feature.SetField("week", week)
            feature.SetField("value", float(cube[t, r, c]))
            layer.CreateFeature(feature)
    layer.CommitTransaction()
    source = None


def time_end_to_end(cube: np.ndarray, permutations: int) -> dict:
    """processing.run from a GeoPackage cube to GeoPackage outputs, TIME_LAG 1, queen."""
    import processing

    OUTPUT.mkdir(exist_ok=True)
    path = OUTPUT / f"emerging_cube_{cube.shape[1]}_{cube.shape[0]}.gpkg"
    if not path.exists():
        write_gpkg(cube, path)
    outputs = [OUTPUT / "emerging_areas.gpkg", OUTPUT / "emerging_out_cube.gpkg"]
    for old in outputs:
        old.unlink(missing_ok=True)
    start = time.perf_counter()
    result = processing.run("socialresilience:emerginghotspots", {
        "INPUT": str(path), "ID_FIELD": "area", "TIME_FIELD": "week", "VALUE_FIELD": "value", "TIME_LAG": 1,
        "PERMUTATIONS": permutations, "OUTPUT": str(outputs[0]), "OUTPUT_CUBE": str(outputs[1])})
    return {"end_to_end_s": time.perf_counter() - start, "areas": result["N_AREAS"], "steps": result["N_STEPS"]}


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    """Run the comparison and the timings; print and save ``benchmarks/output/emerging.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=100)
    parser.add_argument("--steps", type=int, default=52)
    parser.add_argument("--permutations", type=int, default=999)
    args = parser.parse_args()
    app, plugin = start_qgis()
    import_plugin()
    from social_resilience.core.hotspots import emerging as em

    report = {"load_before": load(), "side": args.side, "steps": args.steps, "permutations": args.permutations}
    cube = make_cube(args.side, args.steps)
    weights = grid_weights(args.side)
    flat = cube.reshape(args.steps, -1)
    plain = em.emerging_hotspots(flat, weights, lag=0, fdr=True)  # the shipped defaults but TIME_LAG 0
    significant = (plain.hot.astype(int) - plain.cold.astype(int)).reshape(cube.shape)
    report["theirs"], theirs = run_theirs(cube, plain.gi.z.reshape(cube.shape), significant)
    report["gi_z"] = compare_z(plain, theirs, args.side, args.steps)
    report["rules"] = compare_rules(plain, theirs, args.side)
    report["as_shipped"] = as_shipped(plain, theirs, args.side)
    report["ours"] = time_ours(cube, args.side, args.permutations)
    report["ours"].update(time_end_to_end(cube, args.permutations))
    report["load_after"] = load()
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "emerging.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
    del app, plugin


if __name__ == "__main__":
    main()
