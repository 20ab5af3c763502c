"""Run ``qgis_process.bin`` headless with the plugin enabled in a throwaway profile."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

QGIS_PROCESS = shutil.which("qgis_process.bin") or "/usr/bin/qgis_process.bin"


def profile_plugins_folder(home: Path) -> Path:
    """The plugin folder of the default profile under a ``QGIS_CUSTOM_CONFIG_PATH`` of ``home``."""
    return home / "profiles" / "default" / "python" / "plugins"


class QgisProcess:
    """A throwaway QGIS profile (``QGIS_CUSTOM_CONFIG_PATH``) in which the plugin is enabled."""

    def __init__(self, home: Path, plugin_parent: Path, plugin_name: str = "social_resilience") -> None:
        self.home = home
        inherited = ("QGIS_CUSTOM_CONFIG_PATH", "QGIS_OPTIONS_PATH")  # pytest-qgis's own profile
        environment = {k: v for k, v in os.environ.items() if k not in inherited}
        self.env = {
            **environment,
            "QGIS_CUSTOM_CONFIG_PATH": str(home),
            "XDG_RUNTIME_DIR": str(home / "runtime"),
            "QT_QPA_PLATFORM": "offscreen",
            "QGIS_PLUGINPATH": str(plugin_parent),
        }
        (home / "runtime").mkdir(parents=True, exist_ok=True, mode=0o700)
        result = self.run("plugins", "enable", plugin_name, check=False)
        if result.returncode != 0 and "already enabled" not in result.stdout + result.stderr:
            raise RuntimeError(f"qgis_process plugins enable failed:\n{result.stdout}\n{result.stderr}")

    def run(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        """Run qgis_process with ``args``; raise with its output when ``check`` and it fails."""
        result = subprocess.run(
            [QGIS_PROCESS, *args], env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            command = " ".join(args)
            output = f"{result.stdout}\n{result.stderr}"
            raise RuntimeError(f"qgis_process {command} failed ({result.returncode}):\n{output}")
        return result

    def run_algorithm(self, algorithm_id: str, params: dict, timeout: float = 600) -> dict:
        """Run an algorithm with ``--json`` and return the parsed report (``results`` etc.)."""
        args = [f"--{name}={value}" for name, value in params.items()]
        result = self.run("--json", "run", algorithm_id, *args, timeout=timeout)
        return json.loads(result.stdout[result.stdout.index("{"):])

    def run_algorithm_failing(self, algorithm_id: str, params: dict) -> subprocess.CompletedProcess:
        """Run an algorithm that is expected to fail; return the process result."""
        args = [f"--{name}={value}" for name, value in params.items()]
        return self.run("run", algorithm_id, *args, check=False)
