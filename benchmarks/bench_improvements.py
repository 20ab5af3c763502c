"""Benchmark: ranking every candidate crossing (accessimprovements) vs one catchment run per candidate.

Ours: ``socialresilience:accessimprovements`` with the default candidates (every barrier node
without a crossing), the top 10 ranked, end to end through ``processing.run``. The peer is the
naive way: one ``socialresilience:greenspacecatchments`` run per candidate with that crossing
added to ``CROSSINGS`` (``SERVED_POPULATION`` minus today's gives the gain alone). The peer runs
on a random sample of candidates (``--sample``, fixed seed) and is extrapolated to all of them;
its gains are compared with ours. A greedy top 10 the naive way needs about 10 such rounds.
A second, stronger peer works in memory without any I/O or polygons: per candidate, one full
multi-source Dijkstra (bounded by ``DISTANCE``) on the graph with that crossing opened; it is
compared with our ranking on the same in-memory data.

Run: ``/usr/bin/python3 benchmarks/bench_improvements.py [--towns ...] [--sample 20]``
(data in tests/data). Data: OpenStreetMap extracts, ODbL 1.0, © OpenStreetMap contributors.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_catchments as catchments

ALG = "socialresilience:accessimprovements"
COUNT = 10
#: Minimum green-space size of the stress case: more green spaces, so most candidates lie within reach.
STRESS_AREA_HA = 0.2


def base_params(layers: dict[str, str]) -> dict:
    """Inputs shared by both algorithms (the layers opened once, as a user's project holds them)."""
    from qgis.core import QgsVectorLayer

    opened = {name: QgsVectorLayer(path, name, "ogr") for name, path in layers.items()}
    return {
        "NETWORK": opened["network"],
        "GREEN_SPACES": opened["green_spaces"],
        "BARRIERS": opened["barriers"],
        "CROSSINGS": opened["crossings"],
        "RESIDENTIAL": opened["buildings"],
        "DISTANCE": catchments.DISTANCE,
    }


def synthetic_homes(network_path: str, every: int = 5, offset: float = 4.0):  # -> QgsVectorLayer
    """Homes spread over the whole town: a point beside every ``every``-th vertex of the network.

    The Heidelberg extract holds only 5 buildings; with these homes (and small green spaces
    counting) many candidates have residents within reach and are really searched: a stress
    case, not a population estimate.
    """
    from qgis.core import QgsFeature, QgsGeometry, QgsPointXY, QgsVectorLayer

    network = QgsVectorLayer(network_path, "network", "ogr")
    homes = QgsVectorLayer(f"Point?crs={network.crs().authid()}", "homes", "memory")
    features = []
    for f in network.getFeatures():
        for i, vertex in enumerate(f.geometry().vertices()):
            if i % every == 0:
                feature = QgsFeature()
                feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(vertex.x() + offset, vertex.y() + offset)))
                features.append(feature)
    homes.dataProvider().addFeatures(features)
    return homes


def time_ours(base: dict, kind: int, candidates: bool = False) -> tuple[float, dict]:
    """Wall time of one ranking run and its results."""
    import processing

    params = {**base, "KIND": kind, "COUNT": COUNT, "OUTPUT": "TEMPORARY_OUTPUT", "OUTPUT_HOMES": "TEMPORARY_OUTPUT"}
    if candidates:
        params["OUTPUT_CANDIDATES"] = "TEMPORARY_OUTPUT"
    start = time.perf_counter()
    result = processing.run(ALG, params)
    return time.perf_counter() - start, result


def naive_gain(base: dict, x: float, y: float) -> tuple[float, float]:
    """Seconds and served population of one catchment run with a crossing added at (x, y)."""
    import processing
    from qgis.core import QgsFeature, QgsFeatureRequest, QgsGeometry, QgsPointXY

    start = time.perf_counter()
    crossings = base["CROSSINGS"].materialize(QgsFeatureRequest())
    feature = QgsFeature(crossings.fields())
    feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(x, y)))
    crossings.dataProvider().addFeature(feature)
    result = processing.run(
        catchments.ALG,
        {
            **base,
            "CROSSINGS": crossings,
            "CATCHMENT_BUFFER": catchments.BUFFER,
            "OUTPUT_CATCHMENTS": "TEMPORARY_OUTPUT",
            "OUTPUT_GREEN_SPACES": "TEMPORARY_OUTPUT",
            "OUTPUT_RESIDENTIAL": None,
        },
    )
    return time.perf_counter() - start, float(result["SERVED_POPULATION"])


def access(base: dict):  # -> (split, net, home points, population, distance, max connector, crossing snap)
    """The catchments' barrier-aware network of ``base``, read once, in memory."""
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback
    from social_resilience.algorithms.green.catchment_steps import CatchmentSteps
    from social_resilience.algorithms.green.green_space_catchments import GreenSpaceCatchmentsAlgorithm

    algorithm = GreenSpaceCatchmentsAlgorithm()  # holds the parameter definitions the steps read
    algorithm.initAlgorithm({})
    run = CatchmentSteps(algorithm).distances_to_green(base, QgsProcessingContext(), QgsProcessingFeedback())
    settings = run.settings
    return (
        run.split,
        run.net,
        run.residents.points,
        run.residents.population,
        settings.distance,
        settings.max_connector,
        settings.crossing_snap,
    )


def core_peer(base: dict, sites: list) -> tuple[float, list[float], float, int]:
    """The naive way without any I/O: per site, open it and run the full multi-source Dijkstra.

    Reads the layers once through the catchments' own steps, then for every site joins its
    side copies and computes every node's distance from all access points again (bounded by
    ``DISTANCE``) and every home's distance. Returns seconds per site, the gains, and the
    seconds and number of bounded searches of our ranking (every crossing, top 10) on the same
    data in memory.
    """
    import numpy as np
    from social_resilience.core.green.access import nearest_source, point_distances
    from social_resilience.core.green.improvements import (
        ENTRANCE_REACH,
        crossing_candidates,
        plan_improvements,
        snap_to_barrier_nodes,
    )
    from social_resilience.core.green.walk_graph import WalkGraph

    split, net, points, population, distance, max_connector, crossing_snap = access(base)
    start = time.perf_counter()
    settings = (distance, max_connector, ENTRANCE_REACH, COUNT)
    plan = plan_improvements(net, crossing_candidates(split), np.zeros((0, 2)), points, population, settings)
    ours = time.perf_counter() - start
    g, homes = net.graph, plan.homes  # without entrances the plan's graph is the network's
    no_label = np.zeros(g.n_nodes, dtype=np.int64)
    before, _ = point_distances(g, net.dist, no_label, homes.edge, homes.t, homes.connector)
    served_before = population[before <= distance].sum()
    start = time.perf_counter()
    gains = []
    for point, _ in sites:
        node = snap_to_barrier_nodes(split, np.array([[point.x(), point.y()]]), crossing_snap)
        copies = crossing_candidates(split, node[node >= 0]).nodes
        rep = np.arange(g.n_nodes)
        rep[copies] = copies[:1]
        opened = WalkGraph(g.xy, rep[g.u], rep[g.v], g.length)
        dist, _ = nearest_source(opened, rep[net.sources], distance)
        after, _ = point_distances(opened, dist, no_label, homes.edge, homes.t, homes.connector)
        gains.append(float(population[after <= distance].sum() - served_before))
    return (time.perf_counter() - start) / max(len(sites), 1), gains, ours, plan.ranking.searches


def run_case(name: str, layers: dict[str, str], sample: int, seed: int = 1, **extra) -> dict:
    """Ours (crossings; both kinds) and the naive peer on a sample of the candidates (``extra``: parameters)."""
    import processing

    base = {**base_params(layers), **extra}
    row: dict = {"town": name, "buildings": base["RESIDENTIAL"].featureCount()}
    time_ours(base, 0)  # warm-up (imports, GDAL caches)
    row["ours_crossings_s"], result = time_ours(base, 0)
    row["ours_both_s"], both = time_ours(base, 2)
    _, listed = time_ours(base, 0, candidates=True)
    row["candidates"] = result["N_CANDIDATES"]
    row["candidates_both"] = both["N_CANDIDATES"]
    row["ranked"] = result["N_RANKED"]
    row["share_before"] = result["SERVED_SHARE_BEFORE"]
    row["share_after_top10"] = result["SERVED_SHARE_AFTER"]
    row["share_after_top10_both"] = both["SERVED_SHARE_AFTER"]
    sites = [(f.geometry().asPoint(), f["gain_pop_alone"]) for f in listed["OUTPUT_CANDIDATES"].getFeatures()]
    before_params = {**base, "OUTPUT_CATCHMENTS": "TEMPORARY_OUTPUT", "OUTPUT_GREEN_SPACES": "TEMPORARY_OUTPUT"}
    before = processing.run(catchments.ALG, {**before_params, "OUTPUT_RESIDENTIAL": None})["SERVED_POPULATION"]
    chosen = random.Random(seed).sample(sites, min(sample, len(sites)))
    positive = [s for s in sites if s[1] > 0]  # the sample also checks some sites that do gain
    chosen += [s for s in random.Random(seed).sample(positive, min(5, len(positive))) if s not in chosen]
    seconds, mismatches = [], 0
    for point, gain in chosen:
        spent, served = naive_gain(base, point.x(), point.y())
        seconds.append(spent)
        mismatches += abs(served - before - gain) > 1e-6
    per_core, core_gains, row["ours_ranking_in_memory_s"], row["ours_searches"] = core_peer(base, chosen)
    row["core_peer_mismatches"] = sum(abs(a - g) > 1e-6 for a, (_, g) in zip(core_gains, chosen))
    row["core_peer_per_candidate_s"] = per_core
    row["core_peer_all_alone_s"] = per_core * row["candidates"]
    row["core_peer_greedy_top10_s"] = per_core * sum(max(row["candidates"] - r, 0) for r in range(COUNT))
    row["ratio_core_alone"] = row["core_peer_all_alone_s"] / row["ours_ranking_in_memory_s"]
    row["ratio_core_greedy"] = row["core_peer_greedy_top10_s"] / row["ours_ranking_in_memory_s"]
    per_run = sum(seconds) / max(len(seconds), 1)
    row.update(naive_sampled=len(chosen), naive_mismatches=mismatches, naive_per_candidate_s=per_run)
    row["naive_all_alone_s"] = per_run * row["candidates"]
    row["naive_greedy_top10_s"] = per_run * sum(max(row["candidates"] - r, 0) for r in range(COUNT))
    row["ratio_alone"] = row["naive_all_alone_s"] / row["ours_crossings_s"]
    row["ratio_greedy"] = row["naive_greedy_top10_s"] / row["ours_crossings_s"]
    row["peak_rss_mb"] = catchments.peak_rss_mb()
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--towns", nargs="*", default=list(catchments.CASES), choices=list(catchments.CASES))
    parser.add_argument("--sample", type=int, default=20, help="candidates the naive peer runs (fixed seed)")
    parser.add_argument(
        "--synthetic-homes",
        nargs="*",
        default=["Heidelberg"],
        choices=list(catchments.CASES),
        help="towns also run with homes beside every 5th network vertex and green spaces from "
        f"{STRESS_AREA_HA} ha (Heidelberg has 5 buildings)",
    )
    args = parser.parse_args(argv)
    app, plugin = catchments.start_qgis()  # keep references for the whole run
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for town in args.towns:
            folder = Path(tmp) / town
            folder.mkdir()
            layers = catchments.prepare(catchments.OSM / catchments.CASES[town], folder)
            rows.append(run_case(town, layers, args.sample))
            print(rows[-1], flush=True)
            if town in args.synthetic_homes:  # every 5th vertex a home, green spaces from 0.2 ha
                homes = synthetic_homes(layers["network"])
                name = f"{town}, synthetic homes, green from {STRESS_AREA_HA} ha"
                rows.append(run_case(name, layers, args.sample, RESIDENTIAL=homes, MIN_AREA_HA=STRESS_AREA_HA))
                print(rows[-1], flush=True)
    print(catchments.report(rows))
    del plugin, app


if __name__ == "__main__":
    main()
