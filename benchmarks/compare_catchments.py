"""Check ``greenspacecatchments`` against an independent implementation of its documented rule.

Three towns (OpenStreetMap extracts prepared with ``socialresilience:osmwalknetwork``) with the
barrier layer as a city might hold it: as from OSM, simplified by 5 m, offset 3 m to one side
per way, dissolved into one feature, and all three together. Per building: served or not, and
the walking distance; agreement = same served flag and distances within ``TOLERANCE_M`` (or both
empty). Disagreements are listed by kind (served differs; both have a distance that differs;
only one has a distance) with examples.

Run: ``/usr/bin/python3 benchmarks/compare_catchments.py [--towns lauf] [--variants offset]``
(needs ../shared/data). Data: OpenStreetMap extracts, ODbL 1.0, © OpenStreetMap contributors.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

REPO = Path(__file__).resolve().parent.parent
OSM = REPO.parent / "shared" / "data" / "osm"
TOWNS = {
    "Kaiserslautern": "kaiserslautern.osm.gz",
    "Lauf": "lauf-200115.osm.pbf",
    "North Bayreuth": "north-bayreuth.osm.gz",
}
LAYERS = ("network", "barriers", "crossings", "green_spaces", "buildings")
#: Barrier variant -> (processing steps, BARRIER_SNAP as the help advises for it).
VARIANTS = {
    "OSM": ((), 1.0),
    "simplified 5 m": (("simplify",), 5.0),
    "offset 3 m": (("offset",), 3.0),
    "dissolved": (("dissolve",), 1.0),
    "all three": (("simplify", "offset", "dissolve"), 5.0),
}
TOLERANCE_M = 0.5
ALG = "socialresilience:greenspacecatchments"


def prepare(osm_file: Path, folder: Path) -> dict[str, str]:
    """Run osmwalknetwork once; return layer name -> GeoPackage path."""
    import processing

    outputs = {f"OUTPUT_{name.upper()}": str(folder / f"{name}.gpkg") for name in LAYERS}
    result = processing.run("socialresilience:osmwalknetwork", {"INPUT": str(osm_file), **outputs})
    return {name: result[f"OUTPUT_{name.upper()}"] for name in LAYERS}


def barrier_variant(path: str, steps: tuple[str, ...]):
    """The barrier layer after the variant's steps (a memory layer; the path itself without steps)."""
    import processing

    layer = path
    for step in steps:
        if step == "simplify":
            params = {"INPUT": layer, "METHOD": 0, "TOLERANCE": 5.0}
            alg = "native:simplifygeometries"
        elif step == "offset":
            params = {"INPUT": layer, "DISTANCE": 3.0, "SEGMENTS": 8, "JOIN_STYLE": 0, "MITER_LIMIT": 2}
            alg = "native:offsetline"
        else:
            params, alg = {"INPUT": layer}, "native:dissolve"
        layer = processing.run(alg, {**params, "OUTPUT": "TEMPORARY_OUTPUT"})["OUTPUT"]
    return layer


def plugin_distances(layers: dict, barriers, snap: float) -> tuple[list, float]:
    """``net_dist_m`` per building (feature order; None where empty) and seconds."""
    import processing
    from qgis.core import NULL

    start = time.perf_counter()
    result = processing.run(
        ALG,
        {
            "NETWORK": layers["network"], "GREEN_SPACES": layers["green_spaces"], "BARRIERS": barriers,
            "CROSSINGS": layers["crossings"], "RESIDENTIAL": layers["buildings"], "BARRIER_SNAP": snap,
            "OUTPUT_CATCHMENTS": "TEMPORARY_OUTPUT", "OUTPUT_GREEN_SPACES": "TEMPORARY_OUTPUT",
            "OUTPUT_RESIDENTIAL": "TEMPORARY_OUTPUT",
        },
    )  # fmt: skip
    seconds = time.perf_counter() - start
    rows = {f["fid"]: f["net_dist_m"] for f in result["OUTPUT_RESIDENTIAL"].getFeatures()}
    return [rows.get(fid) if rows.get(fid) != NULL else None for fid in building_fids(layers)], seconds


def building_fids(layers: dict) -> list[int]:
    """The buildings' fids in feature order (the order the independent implementation reads them)."""
    from qgis.core import QgsVectorLayer

    return [f.id() for f in QgsVectorLayer(layers["buildings"], "b", "ogr").getFeatures()]


def independent_distances(layers: dict, barriers, snap: float) -> tuple[list, float]:
    """Walking distance per building by the independent implementation, and seconds."""
    import independent_catchments as independent

    start = time.perf_counter()
    settings = independent.Settings(barrier_snap=snap)
    out = independent.run({**layers, "barriers": barriers}, settings)
    return out, time.perf_counter() - start


def compare(ours: list, theirs: list, distance: float = 400.0, tolerance: float = TOLERANCE_M) -> dict:
    """Agreement per building and the disagreements by kind (index lists)."""
    kinds = {"served differs": [], "distance differs": [], "only one has a distance": []}
    for i, (a, b) in enumerate(zip(ours, theirs)):
        served_a, served_b = a is not None and a <= distance, b is not None and b <= distance
        if served_a != served_b:
            kinds["served differs"].append(i)
        elif (a is None) != (b is None):
            kinds["only one has a distance"].append(i)
        elif a is not None and abs(a - b) > tolerance:
            kinds["distance differs"].append(i)
    n = len(ours)
    bad = sum(len(v) for v in kinds.values())
    return {"buildings": n, "agreement": 100.0 * (n - bad) / n if n else 100.0, "kinds": kinds}


def compare_town(town: str, layers: dict, variants: list[str], examples: int = 3) -> list[dict]:
    """One row per barrier variant of a town."""
    rows = []
    fids = building_fids(layers)
    for variant in variants:
        steps, snap = VARIANTS[variant]
        barriers = barrier_variant(layers["barriers"], steps)
        ours, ours_s = plugin_distances(layers, barriers, snap)
        theirs, theirs_s = independent_distances(layers, barriers, snap)
        result = compare(ours, theirs)
        sample = {
            kind: [(fids[i], ours[i], theirs[i]) for i in idx[:examples]] for kind, idx in result["kinds"].items()
        }
        rows.append({"town": town, "variant": variant, "snap": snap, **result, "examples": sample,
                     "ours_s": ours_s, "independent_s": theirs_s})  # fmt: skip
        print(row_line(rows[-1]), flush=True)
    return rows


def row_line(row: dict) -> str:
    """One markdown table row."""
    k = row["kinds"]
    return (
        f"| {row['town']} | {row['variant']} | {row['snap']:g} | {row['buildings']:,} | {row['agreement']:.2f} | "
        f"{len(k['served differs'])} | {len(k['distance differs'])} | {len(k['only one has a distance'])} | "
        f"{row['ours_s']:.1f} | {row['independent_s']:.1f} |"
    )


HEADER = (
    "| town | barriers | BARRIER_SNAP | buildings | agreement % | served differs | distance differs | "
    "only one has a distance | plugin s | independent s |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--towns", nargs="*", default=list(TOWNS), help="towns (default: all)")
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), help="barrier variants (default: all)")
    args = parser.parse_args()
    from qgis_session import start_qgis

    session = start_qgis()  # keep the application and the plugin alive
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    print(HEADER)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for town in args.towns:
            folder = Path(tmp) / town.replace(" ", "_")
            folder.mkdir()
            rows.extend(compare_town(town, prepare(OSM / TOWNS[town], folder), args.variants))
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    for row in rows:
        for kind, sample in row["examples"].items():
            for fid, ours, theirs in sample:
                print(f"{row['town']} / {row['variant']}: {kind}: building fid {fid}: plugin {ours}, "
                      f"independent {theirs}")
    del session


if __name__ == "__main__":
    main()
