"""Issue 23 done-criterion: a long-lived QGIS process runs every hostile case in a row and still works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .hostile_cases import HOSTILE_CASES

REPO = Path(__file__).resolve().parent.parent


def test_every_hostile_case_in_one_qgis_process_then_a_normal_import(tmp_path):
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(runtime)}
    completed = subprocess.run([sys.executable, "-m", "tests.hostile_session", str(tmp_path)], cwd=REPO, env=env,
                               capture_output=True, text=True, timeout=900)
    lines = [line for line in completed.stdout.splitlines() if line.startswith('{"cases"')]
    assert lines, completed.stdout[-3000:] + completed.stderr[-3000:]
    summary = json.loads(lines[-1])
    failed = {name: outcome for name, outcome in summary["cases"].items() if outcome != "ok"}
    assert failed == {}
    assert sorted(summary["cases"]) == sorted(case.__name__ for case in HOSTILE_CASES)
    normal = summary["normal"]
    assert normal["n_observations"] == normal["expected"] == normal["n_new"] == 2 * 2 * 300
    assert normal["complete"] == 1
    assert normal["stations"] == normal["things"]
    assert completed.returncode == 0, completed.stderr[-3000:]  # and QGIS shut down cleanly (no crash at exit)
