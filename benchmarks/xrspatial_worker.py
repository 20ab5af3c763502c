"""The xarray-spatial side of bench_emerging.py: runs in the Debian 13 root's venv (xrspatial_root.sh).

    python xrspatial_worker.py IN.npz OUT.npz

IN holds ``cube`` (T, H, W) and, for the rule comparison, ``our_z`` (T, H, W) and ``our_significant``
(T, H, W; +1 hot, -1 cold, 0 neither). Prints a JSON report (versions, seconds) and writes OUT with
xarray-spatial's outputs and its classification of our z-scores and significance.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np
import xarray as xr


def main(source: str, target: str) -> None:
    """Time emerging_hotspots on the cube (first call with compilation, then warm) and classify our z."""
    import importlib

    import numba
    import xrspatial

    module = importlib.import_module("xrspatial.emerging_hotspots")  # the module: the package exports the function

    data = np.load(source)
    cube = xr.DataArray(data["cube"].astype(np.float32), dims=("time", "y", "x"))
    kernel = np.ones((3, 3), dtype=np.float32)  # the cell and its 8 neighbours: queen, lag 0
    report = {"xarray-spatial": xrspatial.__version__, "numba": numba.__version__, "numpy": np.__version__,
              "python": sys.version.split()[0], "threads": numba.get_num_threads()}
    start = time.perf_counter()
    result = module.emerging_hotspots(cube, kernel)
    report["first_s"] = time.perf_counter() - start  # includes numba's compilation, as in a fresh process
    start = time.perf_counter()
    result = module.emerging_hotspots(cube, kernel)
    report["warm_s"] = time.perf_counter() - start
    our_z = data["our_z"].astype(np.float32)
    bins = (np.sign(data["our_significant"]) * 99).astype(np.int8)  # significant = their 99 % bin
    n_times, ny, nx = our_z.shape
    their_rules, _trend_z, their_trend_p = module._mk_classify_numpy(our_z, bins, n_times, ny, nx)
    np.savez(target, category=result["category"].values, gi_zscore=result["gi_zscore"].values,
             gi_bin=result["gi_bin"].values, trend_zscore=result["trend_zscore"].values,
             trend_pvalue=result["trend_pvalue"].values, rules_on_our_input=their_rules,
             trend_p_on_our_z=their_trend_p)
    report["mk_alpha"] = module._MK_ALPHA
    print(json.dumps(report))


if __name__ == "__main__":
    os.environ.setdefault("NUMBA_CACHE_DIR", "/tmp/numba")
    main(sys.argv[1], sys.argv[2])
