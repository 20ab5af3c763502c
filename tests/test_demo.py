"""scripts/demo.sh as a newcomer runs it: every step's own summary, the import twice, the report.

The demo runs once (about a minute) into a temporary folder, with the test-only tools made
unusable: commands on PATH (lrelease, Chromium, Xvfb, mosquitto) and Python packages (geopandas,
libpysal) that only the tests need leave a mark when they are called or imported.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from .conftest import REPO

pytestmark = pytest.mark.slow

#: Commands and Python packages that only the tests need (scripts/bootstrap.sh TEST_PACKAGES).
TEST_ONLY_COMMANDS = ["lrelease", "lrelease-qt5", "chromium", "xvfb-run", "Xvfb", "mosquitto"]
TEST_ONLY_MODULES = ["geopandas", "libpysal"]


def _block_test_only_tools(folder: Path, marks: Path) -> dict[str, str]:
    """Shadow the test-only commands and modules with stand-ins that write to ``marks``; the env."""
    bin_dir, py_dir = folder / "bin", folder / "python"
    bin_dir.mkdir()
    py_dir.mkdir()
    for command in TEST_ONLY_COMMANDS:
        script = bin_dir / command
        script.write_text(f'#!/bin/sh\necho "command {command}" >> "{marks}"\nexit 97\n', encoding="utf-8")
        script.chmod(0o755)
    for module in TEST_ONLY_MODULES:
        (py_dir / f"{module}.py").write_text(
            f'open({str(marks)!r}, "a").write("module {module}\\n")\nraise ImportError("test-only package")\n',
            encoding="utf-8",
        )
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}:{env.get('PATH', '/usr/bin:/bin')}"
    env["PYTHONPATH"] = f"{py_dir}:{env['PYTHONPATH']}" if env.get("PYTHONPATH") else str(py_dir)
    return env


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[str, Path, Path]:
    """Run the demo once; its printed output, its output folder and the file of test-tool marks."""
    folder = tmp_path_factory.mktemp("demo")
    marks = folder / "test_only_tools_used.txt"
    env = _block_test_only_tools(folder, marks)
    out = folder / "out"
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "demo.sh"), str(out)],
        capture_output=True, text=True, timeout=600, env=env, check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout, out, marks


def _section(output: str, algorithm: str, index: int = 0) -> str:
    """The printed lines of the ``index``-th run of ``algorithm`` (up to the next heading)."""
    sections = re.findall(rf"^== socialresilience:{algorithm}\n(.*?)(?=^== |^Report: |\Z)", output, re.M | re.S)
    assert len(sections) > index, f"no run {index + 1} of {algorithm} in the demo output"
    return sections[index]


def _result(section: str, name: str) -> str:
    match = re.search(rf"^    {name}: (.+)$", section, re.M)
    assert match, f"{name} not printed in:\n{section}"
    return match.group(1)


def test_demo_prints_the_served_share_in_words(demo):
    output, _, _ = demo
    catchments = _section(output, "greenspacecatchments")
    served = re.search(r"^  Served: ([\d,]+) of ([\d,]+) \((\d+\.\d) %\); by straight line: (\d+\.\d) %$",
                       catchments, re.M)
    assert served, catchments  # the plugin's own summary line, not only the results
    population, total, percent, straight = (group.replace(",", "") for group in served.groups())
    assert 0 < int(population) < int(total)
    assert float(percent) == round(100 * int(population) / int(total), 1)
    assert int(_result(catchments, "SERVED_POPULATION")) == int(population)
    assert int(_result(catchments, "TOTAL_POPULATION")) == int(total)
    assert float(straight) > float(percent)  # barriers cut people off
    sentence = (f"{percent} % of residents live within 400 m on foot of a green space of at least 2 ha; "
                f"{straight} % would in a straight line.")
    assert f"  {sentence}\n" in _section(output, "report")


def test_demo_imports_twice_and_the_second_run_adds_nothing(demo):
    output, _, _ = demo
    first, second = _section(output, "importsensorfeed", 0), _section(output, "importsensorfeed", 1)
    n_first = int(_result(first, "N_NEW"))
    assert n_first > 0
    assert n_first == int(_result(first, "N_OBSERVATIONS"))
    assert _result(second, "N_NEW") == "0"
    assert int(_result(second, "N_OBSERVATIONS")) == n_first
    assert f"the first import added N_NEW {n_first} observations, the second N_NEW 0." in output
    assert "  0 new observations in the archive" in second


def test_demo_uses_the_hourly_no2_limit_of_the_help(demo):
    help_text = (REPO / "resources" / "help" / "en" / "aggregateobservations.html").read_text(encoding="utf-8")
    limit = re.search(r"NO₂ (\d+) as 1-hour mean", help_text).group(1)
    script = (REPO / "scripts" / "demo.sh").read_text(encoding="utf-8")
    assert re.search(rf"--PROPERTY=no2 --THRESHOLD={limit}\b", script)
    assert "Days and nights in Europe/Berlin" in _section(demo[0], "aggregateobservations")


def test_demo_ends_with_the_report(demo):
    output, out, _ = demo
    match = re.search(r"^Report: (\S+) \(PDF: (\S+)\)$", output, re.M)
    assert match, output[-2000:]
    html, pdf = Path(match.group(1)), Path(match.group(2))
    assert html == out / "report.html"
    assert html.stat().st_size > 10_000
    assert "<html" in html.read_text(encoding="utf-8")[:500].lower()
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_demo_needs_no_test_only_tool(demo):
    _, _, marks = demo
    assert not marks.exists(), marks.read_text(encoding="utf-8")
    assert "ensure_apt_packages\n" in (REPO / "scripts" / "demo.sh").read_text(encoding="utf-8")  # no extras


def test_demo_shows_whether_the_districts_get_better_or_worse(demo):
    output, out, _ = demo
    trends = _section(output, "emerginghotspots")
    assert _result(trends, "N_STEPS") == "24"
    assert _result(trends, "N_AREAS") == "64"
    categories = re.search(r"^  Categories: (.+)\.$", trends, re.M)
    assert categories, trends
    for kind in ("Intensifying cold spot", "Diminishing hot spot", "Historical hot spot", "Consecutive hot spot"):
        assert kind in categories.group(1)
    assert (out / "districts_trends.gpkg").is_file()
    assert "Emerging hot spots: is it getting better or worse?" in (out / "report.html").read_text(encoding="utf-8")
