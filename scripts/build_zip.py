#!/usr/bin/env python3
"""Build the installable plugin zip: ``build/social_resilience-<version>.zip``.

Holds the plugin folder ``social_resilience/`` without tests, benchmarks, tooling or caches,
with the German translation compiled.
"""

from __future__ import annotations

import argparse
import configparser
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PLUGIN_NAME = "social_resilience"
INCLUDE = [
    "metadata.txt", "__init__.py", "plugin.py", "LICENSE", "README.md",
    "algorithms", "core", "ui", "resources", "i18n",
]
EXCLUDE_PARTS = {"__pycache__", ".pytest_cache", ".ruff_cache"}
EXCLUDE_SUFFIXES = {".pyc", ".pyo", ".ts"}


def version() -> str:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(REPO / "metadata.txt", encoding="utf-8")
    return parser.get("general", "version")


def plugin_files() -> list[Path]:
    files: list[Path] = []
    for name in INCLUDE:
        path = REPO / name
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        files.extend(
            p for p in candidates if not EXCLUDE_PARTS.intersection(p.parts) and p.suffix not in EXCLUDE_SUFFIXES
        )
    return files


def build(output: Path) -> Path:
    subprocess.run([sys.executable, str(REPO / "scripts" / "build_translations.py")], check=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in plugin_files():
            archive.write(path, f"{PLUGIN_NAME}/{path.relative_to(REPO).as_posix()}")
    return output


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=REPO / "build" / f"{PLUGIN_NAME}-{version()}.zip")
    print(build(parser.parse_args().output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
