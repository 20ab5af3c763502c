"""Benchmark: barrier-aware green-space catchments vs the native QGIS chain.

The native chain is what users do today: ``native:serviceareafromlayer`` from the green
spaces' access points, then ``native:buffer`` (dissolved) of its lines. It gets exactly the
access points our algorithm uses (computed without barriers: the native tools know none).

Run: ``/usr/bin/python3 benchmarks/bench_catchments.py [--skip-native]`` (data in tests/data).
Data: OpenStreetMap extracts, ODbL 1.0, © OpenStreetMap contributors.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from qgis_session import start_qgis

REPO = Path(__file__).resolve().parent.parent
OSM = REPO / "tests" / "data" / "osm"
CASES = {"Kaiserslautern": "kaiserslautern.osm.gz", "Heidelberg": "heidelberg.test.osm.pbf"}
LAYERS = ("network", "barriers", "crossings", "green_spaces", "buildings")
ALG = "socialresilience:greenspacecatchments"
BUFFER = 30.0
DISTANCE = 400.0


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def prepare(osm_file: Path, folder: Path) -> dict[str, str]:
    """Run osmwalknetwork once; return layer name -> GeoPackage path."""
    import processing

    outputs = {f"OUTPUT_{name.upper()}": str(folder / f"{name}.gpkg") for name in LAYERS}
    result = processing.run("socialresilience:osmwalknetwork", {"INPUT": str(osm_file), **outputs})
    return {name: result[f"OUTPUT_{name.upper()}"] for name in LAYERS}


def raw_buildings(osm_file: Path):  # -> QgsVectorLayer
    """The town's buildings as GDAL's OSM driver reads them, invalid ones included (memory layer, EPSG:4326)."""
    from qgis.core import QgsFeatureRequest, QgsVectorLayer

    source = f"/vsigzip/{osm_file}" if osm_file.suffix == ".gz" else str(osm_file)
    layer = QgsVectorLayer(f"{source}|layername=multipolygons", "raw buildings", "ogr")
    layer.setSubsetString("building IS NOT NULL")
    return layer.materialize(QgsFeatureRequest())


def params(layers: dict, barriers: bool = True, residential: bool = True) -> dict:
    """Parameters of our algorithm on prepared layers (memory outputs); ``layers["residential"]`` overrides."""
    p = {
        "NETWORK": layers["network"],
        "GREEN_SPACES": layers["green_spaces"],
        "DISTANCE": DISTANCE,
        "CATCHMENT_BUFFER": BUFFER,
        "OUTPUT_CATCHMENTS": "TEMPORARY_OUTPUT",
        "OUTPUT_GREEN_SPACES": "TEMPORARY_OUTPUT",
        "OUTPUT_RESIDENTIAL": "TEMPORARY_OUTPUT",
    }
    if barriers:
        p.update(BARRIERS=layers["barriers"], CROSSINGS=layers["crossings"])
    if residential:
        p["RESIDENTIAL"] = layers.get("residential", layers["buildings"])
    return p


def time_ours(layers: dict[str, str], **kwargs: bool) -> tuple[float, dict]:
    """Wall time of one run of our algorithm and its results."""
    import processing

    start = time.perf_counter()
    result = processing.run(ALG, params(layers, **kwargs))
    return time.perf_counter() - start, result


def traced_peak_mb(layers: dict[str, str]) -> float:
    """Peak Python/numpy allocation (tracemalloc) during one full run (MB)."""
    import processing

    tracemalloc.start()
    processing.run(ALG, params(layers))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def access_points(layers: dict[str, str]):  # -> QgsVectorLayer
    """The access points our algorithm uses (no barriers), as a point layer for the native tools."""
    from qgis.core import (
        QgsFeature,
        QgsGeometry,
        QgsPointXY,
        QgsProcessingContext,
        QgsProcessingFeatureSource,
        QgsProcessingFeedback,
        QgsVectorLayer,
    )
    from social_resilience.algorithms.green.green_geometry import (
        containment,
        merge_parcels,
        polygon_rings,
        polygonal,
        read_geometries,
        read_lines,
    )
    from social_resilience.core.green.access import SEARCH_FACTOR, boundary_segments, build_access_network
    from social_resilience.core.green.barrier_sides import no_barriers
    from social_resilience.core.green.walk_graph import build_graph

    context, feedback = QgsProcessingContext(), QgsProcessingFeedback()
    network = QgsVectorLayer(layers["network"], "network", "ogr")
    greens_layer = QgsVectorLayer(layers["green_spaces"], "greens", "ogr")
    graph, _ = build_graph(read_lines(QgsProcessingFeatureSource(network, context), None, feedback))
    _, parcels = read_geometries(QgsProcessingFeatureSource(greens_layer, context), None, feedback)
    repaired = [g for g in (polygonal(p) for p in parcels) if g is not None]
    greens = [m.geometry for m in merge_parcels(repaired, 10.0) if m.area_ha >= 2.0]
    boundary = boundary_segments([polygon_rings(g) for g in greens])
    net = build_access_network(no_barriers(graph), boundary, containment(greens), SEARCH_FACTOR * DISTANCE)
    layer = QgsVectorLayer(f"Point?crs={network.crs().authid()}", "access", "memory")
    features = []
    for x, y in net.graph.xy[net.sources].tolist():
        feature = QgsFeature()
        feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(x, y)))
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def clean_network(path: str):  # -> QgsVectorLayer
    """The network in memory without zero-length lines.

    The prepared networks hold a few zero-length lines; ``native:serviceareafromlayer`` stops at
    them as invalid and crashes when told to skip them, so they are removed beforehand (our
    algorithm ignores them).
    """
    from qgis.core import QgsFeatureRequest, QgsVectorLayer

    layer = QgsVectorLayer(path, "network", "ogr").materialize(QgsFeatureRequest())
    layer.dataProvider().deleteFeatures([f.id() for f in layer.getFeatures() if f.geometry().length() <= 0])
    return layer


def time_native(network, starts, buffer: bool = True) -> tuple[float, float | None, int]:
    """Seconds of native service area and of buffer + dissolve of its lines (None: skipped); lines."""
    import processing

    start = time.perf_counter()
    lines = processing.run(
        "native:serviceareafromlayer",
        {
            "INPUT": network,
            "STRATEGY": 0,
            "START_POINTS": starts,
            "TRAVEL_COST2": DISTANCE,
            "TOLERANCE": 0.0,
            "OUTPUT_LINES": "TEMPORARY_OUTPUT",
        },
    )["OUTPUT_LINES"]
    service = time.perf_counter() - start
    if not buffer:
        return service, None, lines.featureCount()
    start = time.perf_counter()
    processing.run(
        "native:buffer",
        {"INPUT": lines, "DISTANCE": BUFFER, "SEGMENTS": 4, "DISSOLVE": True, "OUTPUT": "TEMPORARY_OUTPUT"},
    )
    return service, time.perf_counter() - start, lines.featureCount()


def time_raw(layers: dict, raw) -> dict:
    """Our algorithm end to end with the raw OSM buildings: seconds and the invalid ones."""
    invalid = sum(not f.geometry().isGeosValid() for f in raw.getFeatures())
    runs = [time_ours({**layers, "residential": raw}) for _ in range(3)]
    seconds = sorted(s for s, _ in runs)
    return {
        "raw_buildings": raw.featureCount(),
        "raw_invalid": invalid,
        "ours_raw_s": seconds[1],  # median of three
        "ours_raw_min_s": seconds[0],
        "raw_served_share": runs[0][1]["SERVED_SHARE"],
    }


def run_case(
    name: str, layers: dict[str, str], native: bool = True, native_buffer: bool = True, raw=None
) -> dict:
    """All timings of one town (``native_buffer`` False: time the native service area only)."""
    import os

    from qgis.core import QgsVectorLayer

    row: dict = {"town": name, "load_avg_1min_start": os.getloadavg()[0]}
    network = QgsVectorLayer(layers["network"])
    row["vertices"] = sum(f.geometry().constGet().nCoordinates() for f in network.getFeatures())
    row["buildings"] = QgsVectorLayer(layers["buildings"]).featureCount()
    time_ours(layers)  # warm-up (imports, GDAL caches)
    row["ours_s"], result = time_ours(layers)
    row["ours_no_residential_s"], _ = time_ours(layers, residential=False)
    row["ours_no_barriers_s"], _ = time_ours(layers, barriers=False, residential=False)
    row["served_share"] = result["SERVED_SHARE"]
    row["green_spaces"] = result["OUTPUT_GREEN_SPACES"].featureCount()
    row["traced_peak_mb"] = traced_peak_mb(layers)
    if raw is not None:
        row.update(time_raw(layers, raw))
    if native:
        starts = access_points(layers)
        row["access_points"] = starts.featureCount()
        network = clean_network(layers["network"])
        service, buffered, row["native_lines"] = time_native(network, starts, native_buffer)
        row["native_service_s"] = service
        row["ratio_service_only"] = service / row["ours_no_residential_s"]
        if buffered is not None:
            row["native_buffer_s"] = buffered
            row["native_s"] = service + buffered
            row["ratio"] = row["native_s"] / row["ours_no_residential_s"]
            if raw is not None:
                row["ratio_raw_end_to_end"] = row["native_s"] / row["ours_raw_s"]
    row["peak_rss_mb"] = peak_rss_mb()
    row["load_avg_1min_end"] = os.getloadavg()[0]
    return row


def report(rows: list[dict]) -> str:
    """Markdown table of the rows."""
    keys = [k for k in rows[0] if k != "town"]
    lines = ["| measure | " + " | ".join(r["town"] for r in rows) + " |", "|---" * (len(rows) + 1) + "|"]
    for key in keys:
        cells = []
        for r in rows:
            value = r.get(key, "–")
            cells.append(f"{value:.3f}" if isinstance(value, float) else str(value))
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-native", action="store_true", help="time only our algorithm")
    parser.add_argument("--towns", nargs="*", default=list(CASES), choices=list(CASES))
    parser.add_argument(
        "--native-buffer",
        nargs="*",
        default=["Kaiserslautern"],
        choices=list(CASES),
        help="towns whose native service-area lines are also buffered and dissolved "
        "(Kaiserslautern ~19 min; Heidelberg > 50 min, so not by default)",
    )
    args = parser.parse_args(argv)
    app, plugin = start_qgis()  # keep references for the whole run
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for town in args.towns:
            folder = Path(tmp) / town
            folder.mkdir()
            start = time.perf_counter()
            layers = prepare(OSM / CASES[town], folder)
            print(f"{town}: osmwalknetwork {time.perf_counter() - start:.1f} s", flush=True)
            raw = raw_buildings(OSM / CASES[town]) if town == "Kaiserslautern" else None
            rows.append(run_case(town, layers, not args.skip_native, town in args.native_buffer, raw))
            print(rows[-1], flush=True)
    print(report(rows))
    del plugin, app


if __name__ == "__main__":
    main()
