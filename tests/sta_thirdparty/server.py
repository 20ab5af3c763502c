"""Run django-ogc-sensorthings for the tests: its own venv, a seeded SQLite database, a free port.

``ThirdPartySta(folder)`` is a context manager: it makes the venv ``.venv-sta`` in the repository
(once; again only when ``requirements.txt`` changes), seeds a database once per version of the
seed (kept in the venv folder), copies it into ``folder`` and starts Django's server on
127.0.0.1 with a free port; every wait is bounded, and the server is stopped on exit.

``python -m tests.sta_thirdparty.server --prepare`` makes the venv and the seeded database (the
test command calls it); ``--serve`` also starts the server and prints its service root.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
VENV = REPO / ".venv-sta"
PYTHON = "/usr/bin/python3"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
INSTALL_TIMEOUT_S = 600.0
SEED_TIMEOUT_S = 300.0


def _digest(*paths: Path) -> str:
    sha = hashlib.sha256()
    for path in paths:
        sha.update(path.read_bytes())
    return sha.hexdigest()[:16]


def ensure_venv() -> Path:
    """Make (or update) the server's venv; return its Python. Idempotent."""
    python = VENV / "bin" / "python"
    stamp = VENV / ".requirements.sha256"
    want = _digest(HERE / "requirements.txt")
    if python.exists() and stamp.exists() and stamp.read_text() == want:
        return python
    if not python.exists():
        subprocess.run([PYTHON, "-m", "venv", str(VENV)], check=True, timeout=INSTALL_TIMEOUT_S)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r",
                    str(HERE / "requirements.txt")], check=True, timeout=INSTALL_TIMEOUT_S)
    stamp.write_text(want)
    return python


def _server_env(database: Path, service_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "DJANGO"))}
    env.update(STA_DB=str(database), STA_SERVICE_URL=service_url, DJANGO_SETTINGS_MODULE="settings",
               PYTHONPATH=str(HERE), PYTHONDONTWRITEBYTECODE="1")
    return env


def seeded_database() -> Path:
    """Return the seeded database of this seed (made once; a new seed makes a new one)."""
    python = ensure_venv()
    database = VENV / f"seeded-{_digest(HERE / 'dataset.py', HERE / 'seed.py', HERE / 'settings.py')}.sqlite3"
    if database.exists():
        return database
    for old in VENV.glob("seeded-*.sqlite3"):
        old.unlink()
    partial = database.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    subprocess.run([str(python), str(HERE / "seed.py")], env=_server_env(partial, "http://127.0.0.1/sensorthings"),
                   cwd=HERE, check=True, timeout=SEED_TIMEOUT_S)
    partial.rename(database)
    return database


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ThirdPartySta:
    """django-ogc-sensorthings on 127.0.0.1, seeded with ``dataset.py``; ``root`` is ``…/sensorthings/v1.1/``."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.port = 0
        self.base = ""
        self.root = ""
        self.process: subprocess.Popen | None = None
        self.log = self.folder / "server.log"

    def __enter__(self) -> ThirdPartySta:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> None:
        python = ensure_venv()
        self.folder.mkdir(parents=True, exist_ok=True)
        database = self.folder / "sta.sqlite3"
        shutil.copyfile(seeded_database(), database)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/sensorthings"
        self.root = f"{self.base}/v1.1/"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [str(python), "-m", "django", "runserver", f"127.0.0.1:{self.port}", "--noreload"],
                env=_server_env(database, self.base), cwd=HERE, stdout=log, stderr=subprocess.STDOUT)
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"django-ogc-sensorthings ended at start: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.root, timeout=2) as answer:
                    if json.load(answer).get("value"):
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"django-ogc-sensorthings did not answer within {START_TIMEOUT_S:g} s")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT_S)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prepare", action="store_true", help="make the venv and the seeded database")
    parser.add_argument("--serve", metavar="FOLDER", help="serve from FOLDER until interrupted (at most 1 h)")
    args = parser.parse_args(argv)
    if args.prepare:
        print(f"third-party SensorThings server ready: {seeded_database()}")
    if args.serve:
        with ThirdPartySta(Path(args.serve)) as server:
            print(server.root, flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                time.sleep(3600)
    return 0


if __name__ == "__main__":
    sys.exit(main())
