#!/usr/bin/env python3
"""Print what one ``qgis_process --json run`` said: the algorithm's own summary lines, its warnings
and its results, indented under the step's heading (used by ``scripts/demo.sh``).

Usage: ``demo_summary.py REPORT.json [RESULT_NAME]``. With ``RESULT_NAME`` only that result's
value is printed (for the shell, e.g. ``N_NEW``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def load_report(path: Path) -> dict:
    """The JSON report of qgis_process (anything it printed before the JSON is skipped)."""
    text = path.read_text(encoding="utf-8")
    return json.loads(text[text.index("{"):])


def plain(value: object) -> str:
    """A result value as people read it: whole numbers without decimals, others rounded, lists joined."""
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return f"{round(value, 4):g}" if abs(value) >= 0.001 else f"{value:.3g}"
    if isinstance(value, list):
        return ", ".join(plain(item) for item in value)
    return str(value)


def summary_lines(report: dict) -> list[str]:
    """The summary lines, warnings and results of one run, indented."""
    log = report.get("log") or {}
    lines = [f"  {line}" for line in log.get("info", []) if line.strip()]
    lines += [f"  Warning: {line}" for line in log.get("warning", []) if line.strip()]
    results = report.get("results") or {}
    if results:
        lines.append("  Results:")
        for name in sorted(results):
            if name != "KEY_FIGURES":  # the report's key figures are its summary lines already
                lines.append(f"    {name}: {plain(results[name])}")
    return lines


def main(argv: list[str]) -> int:
    report = load_report(Path(argv[1]))
    if len(argv) > 2:
        print(plain(report["results"][argv[2]]))
    else:
        print("\n".join(summary_lines(report)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
