"""Green access equity by area (greenequity) versus native:countpointsinpolygon, same data, same run.

Run with the system Python that has QGIS:

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 benchmarks/bench_equity.py [--points 1000000] [--areas 10000]

Data (written once into ``benchmarks/output``, not timed): ``areas`` squares in a regular grid,
each with 20 vertices (5 per side) and a burden field; ``points`` residential points (or, with
``--polygons``, 8 m x 8 m building polygons) with population, ``served``, ``served_eucl``,
``net_dist_m`` (10 % NULL) and two group fields, as ``greenspacecatchments`` writes them.
Ours: ``processing.run("socialresilience:greenequity")`` from GeoPackage to GeoPackage with
POPULATION_FIELD, both GROUP_FIELDS and BURDEN_FIELD. Peer: ``native:countpointsinpolygon``
weighted by population (the QGIS way to get only the population per area).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "output"
AREA_SIZE_M = 100.0


def write_areas(path: Path, n_areas: int, seed: int = 1) -> None:
    """Square areas of AREA_SIZE_M in a grid, 20 vertices each, with ``burden`` (0-100)."""
    from osgeo import ogr, osr

    side = int(np.ceil(np.sqrt(n_areas)))
    rng = np.random.default_rng(seed)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(25832)
    data = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = data.CreateLayer("areas", srs, ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("area_id", ogr.OFTInteger))
    layer.CreateField(ogr.FieldDefn("burden", ogr.OFTReal))
    defn = layer.GetLayerDefn()
    t = np.linspace(0.0, 1.0, 6)[:-1]
    layer.StartTransaction()
    for k in range(n_areas):
        x0, y0 = 500000.0 + (k % side) * AREA_SIZE_M, 5600000.0 + (k // side) * AREA_SIZE_M
        s = AREA_SIZE_M
        xs = np.concatenate([x0 + t * s, np.full(5, x0 + s), x0 + s - t * s, np.full(5, x0), [x0]])
        ys = np.concatenate([np.full(5, y0), y0 + t * s, np.full(5, y0 + s), y0 + s - t * s, [y0]])
        ring = ",".join(f"{x:.2f} {y:.2f}" for x, y in zip(xs, ys))
        feature = ogr.Feature(defn)
        feature.SetField("area_id", k + 1)
        feature.SetField("burden", float(rng.uniform(0, 100)))
        feature.SetGeometry(ogr.CreateGeometryFromWkt(f"POLYGON(({ring}))"))
        layer.CreateFeature(feature)
    layer.CommitTransaction()
    data = None


def write_residential(path: Path, n_points: int, n_areas: int, polygons: bool, seed: int = 2) -> None:
    """Residential points (or small building polygons) spread over the areas' grid."""
    from osgeo import ogr, osr

    side = int(np.ceil(np.sqrt(n_areas)))
    rng = np.random.default_rng(seed)
    extent = side * AREA_SIZE_M
    xy = rng.uniform(0.0, extent, size=(n_points, 2)) + np.array([500000.0, 5600000.0])
    population = rng.integers(0, 12, n_points)
    old = rng.binomial(population, 0.2)
    children = rng.binomial(population - old, 0.15)
    dist = rng.gamma(3.0, 150.0, n_points)
    missing = rng.random(n_points) < 0.1
    served = (~missing & (dist <= 400)).astype(int)
    served_eucl = (rng.random(n_points) < 0.1) | (served == 1)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(25832)
    data = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = data.CreateLayer("residential", srs, ogr.wkbPolygon if polygons else ogr.wkbPoint)
    for name, kind in (("population", ogr.OFTInteger), ("pop_65plus", ogr.OFTInteger),
                       ("pop_children", ogr.OFTInteger), ("net_dist_m", ogr.OFTReal),
                       ("served", ogr.OFTInteger), ("served_eucl", ogr.OFTInteger)):  # fmt: skip
        layer.CreateField(ogr.FieldDefn(name, kind))
    defn = layer.GetLayerDefn()
    layer.StartTransaction()
    for i in range(n_points):
        feature = ogr.Feature(defn)
        feature.SetField(0, int(population[i]))
        feature.SetField(1, int(old[i]))
        feature.SetField(2, int(children[i]))
        if not missing[i]:
            feature.SetField(3, float(dist[i]))
        feature.SetField(4, int(served[i]))
        feature.SetField(5, int(served_eucl[i]))
        x, y = xy[i]
        square = f"POLYGON(({x} {y},{x + 8} {y},{x + 8} {y + 8},{x} {y + 8},{x} {y}))"
        wkt = square if polygons else f"POINT({x} {y})"
        feature.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
        layer.CreateFeature(feature)
    layer.CommitTransaction()
    data = None


def prepare(n_points: int, n_areas: int, polygons: bool) -> tuple[Path, Path]:
    """Paths of the benchmark layers, written when missing."""
    OUTPUT.mkdir(exist_ok=True)
    areas = OUTPUT / f"equity_areas_{n_areas}.gpkg"
    kind = "polygons" if polygons else "points"
    residential = OUTPUT / f"equity_{kind}_{n_points}_{n_areas}.gpkg"
    if not areas.exists():
        write_areas(areas, n_areas)
    if not residential.exists():
        write_residential(residential, n_points, n_areas, polygons)
    return residential, areas


def run(n_points: int, n_areas: int, polygons: bool, skip_native: bool, iterator: bool = False) -> dict:
    """Time ours and the peer on the same layers; return the timings (seconds) and results.

    ``iterator``: a subset filter that keeps every feature makes ours read through the
    Processing feature iterator instead of GDAL's Arrow stream.
    """
    import processing
    from qgis.core import QgsProcessingFeedback

    residential, areas = prepare(n_points, n_areas, polygons)
    ours_residential = f'{residential}|subset="fid" >= 0' if iterator else str(residential)
    feedback = QgsProcessingFeedback()
    target = OUTPUT / "equity_out.gpkg"
    target.unlink(missing_ok=True)
    start, cpu = time.perf_counter(), time.process_time()
    result = processing.run(
        "socialresilience:greenequity",
        {
            "RESIDENTIAL": ours_residential,
            "POPULATION_FIELD": "population",
            "GROUP_FIELDS": ["pop_65plus", "pop_children"],
            "AREAS": str(areas),
            "BURDEN_FIELD": "burden",
            "OUTPUT": str(target),
        },
        feedback=feedback,
    )
    report = {"ours_s": time.perf_counter() - start, "ours_cpu_s": time.process_time() - cpu,
              "served_share": result["SERVED_SHARE"],
              "gini": result["GINI"], "n_priority": result["N_PRIORITY"]}  # fmt: skip
    if not skip_native:
        native_target = OUTPUT / "equity_native.gpkg"
        native_target.unlink(missing_ok=True)
        start, cpu = time.perf_counter(), time.process_time()
        processing.run(
            "native:countpointsinpolygon",
            {"POLYGONS": str(areas), "POINTS": str(residential), "WEIGHT": "population", "FIELD": "pop",
             "OUTPUT": str(native_target)},
            feedback=feedback,
        )  # fmt: skip
        report["native_s"] = time.perf_counter() - start
        report["native_cpu_s"] = time.process_time() - cpu
    return report


def main() -> None:
    """Parse the arguments, run both sides and print the timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--areas", type=int, default=10_000)
    parser.add_argument("--polygons", action="store_true", help="building polygons instead of points")
    parser.add_argument("--skip-native", action="store_true")
    parser.add_argument("--iterator", action="store_true", help="read through the Processing feature iterator")
    args = parser.parse_args()

    from qgis.core import QgsApplication

    app = QgsApplication([], False)
    app.initQgis()
    sys.path.append("/usr/share/qgis/python/plugins")
    from processing.core.Processing import Processing

    Processing.initialize()
    plugin = _load_plugin()
    report = run(args.points, args.areas, args.polygons, args.skip_native, args.iterator)
    kind = ("polygons" if args.polygons else "points") + (" (feature iterator)" if args.iterator else "")
    line = f"{args.points:,} {kind}, {args.areas:,} areas: ours {report['ours_s']:.1f} s"
    line += f" (CPU {report['ours_cpu_s']:.1f} s)"
    if "native_s" in report:
        ratio = report["native_s"] / report["ours_s"]
        line += (f", native:countpointsinpolygon {report['native_s']:.1f} s (CPU {report['native_cpu_s']:.1f} s),"
                 f" native / ours {ratio:.2f}")  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(line, f"load average {os.getloadavg()[0]:.1f}, peak RSS {peak:.0f} MB")
    print({k: v for k, v in report.items() if not k.endswith("_s")})
    del plugin


def _load_plugin() -> object:
    """Return the plugin registered under its installed name (a temporary folder with a link)."""
    import importlib
    import tempfile

    parent = Path(tempfile.mkdtemp(prefix="srt_bench_"))
    (parent / "social_resilience").symlink_to(HERE.parent, target_is_directory=True)
    sys.path.insert(0, str(parent))
    plugin = importlib.import_module("social_resilience").classFactory(None)
    plugin.initProcessing()
    return plugin


if __name__ == "__main__":
    main()
