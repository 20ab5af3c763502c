"""A throwaway PostgreSQL + PostGIS server for the tests (and the benchmarks): Debian's binaries, a new cluster.

``PostgisServer.start()`` makes a cluster with ``initdb`` in a temporary folder and starts it on
127.0.0.1 and a unix socket in that folder, on a free port; ``stop()`` stops it and removes the
folder. PostgreSQL refuses to run as root: as root (CI) every server command runs as the
``postgres`` user (``runuser``). Every wait is bounded.

The database ``city`` (with PostGIS) and three roles stand for a city's data platform:
``officer`` (owns the database: may create schemas and tables), ``clerk`` (may log in and write
into schemas made for it, but create none) and ``reader`` (read-only). Password authentication
(scram-sha-256) on 127.0.0.1; the fixture itself connects as superuser through the socket.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

DATABASE = "city"
#: role -> password (test credentials of a throwaway server)
ROLES = {"officer": "officer-secret", "clerk": "clerk-secret", "reader": "reader-secret"}
START_TIMEOUT_S = 60
COMMAND_TIMEOUT_S = 120


def postgres_bin() -> Path | None:
    """Folder of the newest installed PostgreSQL server binaries (Debian: /usr/lib/postgresql/<n>/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class PostgisServer:
    """One throwaway cluster; ``dsn(role)`` gives a libpq connection string."""

    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="srt_pg_")))
    port: int = 0
    bin_dir: Path | None = field(default_factory=postgres_bin)

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    def _as_server_user(self, *command: str) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *command]
        return list(command)

    def _run(self, *command: str, timeout: float = COMMAND_TIMEOUT_S) -> None:
        result = subprocess.run(self._as_server_user(*command), capture_output=True, text=True, timeout=timeout,
                                check=False, cwd=str(self.folder))
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")

    def start(self) -> PostgisServer:
        """initdb, start (bounded wait), create the database, PostGIS and the roles."""
        if self.bin_dir is None:
            raise RuntimeError("PostgreSQL is not installed (Debian: postgresql-postgis)")
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self.folder.chmod(0o700)
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres", "-E", "UTF8",
                  "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256")
        for attempt in range(3):  # a port taken between free_port() and the start: take another
            self.port = free_port()
            options = f"-k {self.folder} -c listen_addresses=127.0.0.1 -p {self.port}"
            try:
                self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
                          "-t", str(START_TIMEOUT_S), "-o", options, "start", timeout=START_TIMEOUT_S + 30)
                break
            except RuntimeError:
                if attempt == 2:
                    raise RuntimeError(f"PostgreSQL did not start:\n{self.server_log()}") from None
        self._create_city()
        return self

    def server_log(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def admin(self, database: str = DATABASE, autocommit: bool = True):
        """A superuser connection through the socket (psycopg2)."""
        import psycopg2

        connection = psycopg2.connect(host=str(self.folder), port=self.port, user="postgres", dbname=database,
                                      connect_timeout=10)
        connection.autocommit = autocommit
        return connection

    def _create_city(self) -> None:
        with contextlib.closing(self.admin("postgres")) as connection, connection.cursor() as cursor:
            for role, password in ROLES.items():
                cursor.execute(f"CREATE ROLE {role} LOGIN PASSWORD %s", (password,))
            cursor.execute(f"CREATE DATABASE {DATABASE} OWNER officer")
            cursor.execute(f"REVOKE CREATE ON DATABASE {DATABASE} FROM PUBLIC")
        with contextlib.closing(self.admin()) as connection, connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION postgis")
            cursor.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
            cursor.execute("GRANT CREATE, USAGE ON SCHEMA public TO officer")

    def dsn(self, role: str = "officer", password: str | None = None, database: str = DATABASE) -> str:
        """libpq connection string over TCP for ``role`` (its password unless another is given)."""
        secret = ROLES[role] if password is None else password
        return f"host=127.0.0.1 port={self.port} dbname={database} user={role} password={secret} sslmode=disable"

    def stop(self) -> None:
        """Stop the server (bounded) and remove its folder."""
        if self.bin_dir is not None and (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "-t", "30",
                          "stop", timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)

    def stop_for_a_while(self) -> None:
        """Stop the server but keep the cluster (``resume`` starts it again on the same port)."""
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop",
                  timeout=60)

    def resume(self) -> None:
        options = f"-k {self.folder} -c listen_addresses=127.0.0.1 -p {self.port}"
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t",
                  str(START_TIMEOUT_S), "-o", options, "start", timeout=START_TIMEOUT_S + 30)


def write_service_file(path: Path, server: PostgisServer, role: str = "officer") -> Path:
    """A pg service file with service ``city`` (host, port, database, user and password of ``role``)."""
    path.write_text(
        f"[city]\nhost=127.0.0.1\nport={server.port}\ndbname={DATABASE}\nuser={role}\npassword={ROLES[role]}\n"
        "sslmode=disable\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def wait_until(condition, timeout_s: float, every_s: float = 0.05) -> bool:
    """Poll ``condition`` until it is true or ``timeout_s`` passed; return its last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        if condition():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(every_s)
