"""The plugin as users run it headless: qgis_process in a throwaway profile."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

from .conftest import REPO
from .qgis_process_runner import QgisProcess, profile_plugins_folder


def test_list_shows_provider_and_algorithms(qgis_process, provider):
    listing = qgis_process.run("list").stdout
    assert "Social Resilience Toolkit" in listing
    for alg in provider.algorithms():
        assert alg.id() in listing


def test_help_of_an_algorithm(qgis_process):
    result = qgis_process.run("--json", "help", "socialresilience:createsampletown")
    report = json.loads(result.stdout[result.stdout.index("{"):])
    assert set(report["parameters"]) >= {"SEED", "SIZE_KM", "OUTPUT"}


def test_zip_installs_into_a_throwaway_profile_and_loads(tmp_path):
    target = tmp_path / "social_resilience.zip"
    subprocess.run([sys.executable, str(REPO / "scripts" / "build_zip.py"), "--output", str(target)], check=True)
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        assert all(name.startswith("social_resilience/") for name in names)
        unwanted = ("/tests/", "/benchmarks/", "/scripts/", "__pycache__", ".pyc", ".qgis-settings")
        assert not [n for n in names if any(part in n for part in unwanted)]
        assert "social_resilience/metadata.txt" in names
        assert "social_resilience/i18n/social_resilience_de.qm" in names
        home = tmp_path / "home"
        plugins = profile_plugins_folder(home)
        plugins.mkdir(parents=True)
        archive.extractall(plugins)
    empty_plugin_path = tmp_path / "no_plugins"
    empty_plugin_path.mkdir()
    runner = QgisProcess(home, empty_plugin_path)
    assert "socialresilience:createsampletown" in runner.run("list").stdout
    out = tmp_path / "town.gpkg"
    report = runner.run_algorithm("socialresilience:createsampletown", {"SIZE_KM": 1, "OUTPUT": out})
    assert report["results"]["OUTPUT"] == str(out)
    assert out.is_file()
