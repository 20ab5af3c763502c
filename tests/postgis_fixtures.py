"""Fixtures for the PostgreSQL/PostGIS tests: one real server per session and QGIS connections to it.

``postgis``: the throwaway server (``tests/postgis_server.py``), started on first use, removed at
the end of the session. ``pg``: QGIS PostgreSQL connections as a city's officer has them, each
with an authentication configuration (the QGIS auth database, master password set for the test
profile): ``city`` (role officer), ``city_clerk``, ``city_reader``, ``city_wrong_password`` and
``city_down`` (a port where no server listens). ``pg_qgis_process``: qgis_process with the
connection ``city`` in its profile as a scheduled job has it: a pg service (service file given by
``PGSERVICEFILE``, password in the service file), no credential on the command line.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass

import pytest

from .postgis_server import DATABASE, ROLES, PostgisServer, free_port, write_service_file

MASTER_PASSWORD = "test-master-password"



@pytest.fixture(scope="session")
def postgis():
    """The session's PostgreSQL + PostGIS server."""
    server = PostgisServer().start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class PgConnections:
    """The QGIS connections to the test server and helpers to look into it."""

    server: PostgisServer
    names: dict[str, str]

    def uri(self, name: str = "city"):
        """A copy of the data source URI of QGIS connection ``name``."""
        from qgis.core import QgsDataSourceUri, QgsProviderRegistry

        metadata = QgsProviderRegistry.instance().providerMetadata("postgres")
        return QgsDataSourceUri(metadata.findConnection(name).uri())

    def layer_uri(self, schema: str, table: str, geometry: str | None = "geom", name: str = "city") -> str:
        """Data source of table ``schema.table`` through connection ``name`` (authcfg, no password)."""
        uri = self.uri(name)
        uri.setDataSource(schema, table, geometry)
        return uri.uri(False)

    def destination(self, schema: str, table: str, style: str = "postgis:", geometry: str | None = "geom") -> str:
        """A Processing destination for a new table ``schema.table`` (``postgis:`` or ``postgres://``)."""
        return style + self.layer_uri(schema, table, geometry)

    def query(self, sql: str, arguments: tuple = ()) -> list[tuple]:
        """Rows of ``sql`` run as superuser."""
        with contextlib.closing(self.server.admin()) as connection, connection.cursor() as cursor:
            cursor.execute(sql, arguments)
            return cursor.fetchall() if cursor.description else []

    def new_schema(self, prefix: str = "t", owner: str = "officer") -> str:
        """An empty schema owned by ``owner`` (a fresh name per call)."""
        schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
        self.query(f"CREATE SCHEMA {schema} AUTHORIZATION {owner}")
        return schema


def _auth_config(role: str, password: str) -> str:
    """Store a Basic authentication configuration for ``role``; return its id."""
    from qgis.core import QgsApplication, QgsAuthMethodConfig

    config = QgsAuthMethodConfig("Basic")
    config.setName(f"city {role} {uuid.uuid4().hex[:6]}")
    config.setConfig("username", role)
    config.setConfig("password", password)
    stored = QgsApplication.authManager().storeAuthenticationConfig(config)
    assert (stored[0] if isinstance(stored, tuple) else stored), "cannot store the auth configuration"
    return config.id()


def save_connection(name: str, port: int, authcfg: str = "", service: str = "") -> None:
    """Save QGIS PostgreSQL connection ``name`` in the current profile (as the Browser does)."""
    from qgis.core import QgsDataSourceUri, QgsProviderRegistry

    uri = QgsDataSourceUri()
    if service:
        uri.setConnection(service, DATABASE, "", "", QgsDataSourceUri.SslDisable, authcfg)
    else:
        uri.setConnection("127.0.0.1", str(port), DATABASE, "", "", QgsDataSourceUri.SslDisable, authcfg)
    metadata = QgsProviderRegistry.instance().providerMetadata("postgres")
    metadata.saveConnection(metadata.createConnection(uri.uri(False), {}), name)


@pytest.fixture(scope="session")
def pg(postgis, plugin) -> PgConnections:
    """QGIS connections (with auth configurations) to the session's server."""
    from qgis.core import QgsApplication

    manager = QgsApplication.authManager()
    assert manager.setMasterPassword(MASTER_PASSWORD, True)
    names = {}
    for name, role, password, port in (
        ("city", "officer", ROLES["officer"], postgis.port),
        ("city_clerk", "clerk", ROLES["clerk"], postgis.port),
        ("city_reader", "reader", ROLES["reader"], postgis.port),
        ("city_wrong_password", "officer", "not-the-password", postgis.port),
        ("city_down", "officer", ROLES["officer"], free_port()),
    ):
        save_connection(name, port, _auth_config(role, password))
        names[name] = role
    return PgConnections(postgis, names)


@pytest.fixture(scope="session")
def pg_qgis_process(postgis, tmp_path_factory, plugin_parent):
    """qgis_process whose profile has connection ``city`` = pg service ``city`` (a scheduled job's set-up)."""
    from qgis.PyQt.QtCore import QSettings

    from .qgis_process_runner import QgisProcess

    home = tmp_path_factory.mktemp("qgis_home_pg")
    runner = QgisProcess(home, plugin_parent)
    runner.env["PGSERVICEFILE"] = str(write_service_file(home / "pg_service.conf", postgis))
    settings = QSettings(str(home / "profiles" / "default" / "QGIS" / "QGIS3.ini"), QSettings.Format.IniFormat)
    for key, value in {"service": "city", "database": DATABASE, "sslmode": "SslDisable", "host": "", "port": "",
                       "authcfg": "", "username": "", "password": "", "saveUsername": "false",
                       "savePassword": "false"}.items():
        settings.setValue(f"PostgreSQL/connections/city/{key}", value)
    settings.sync()
    return runner


_AUTH_PROFILE = """
import os, sys
from qgis.core import QgsApplication, QgsAuthMethodConfig
from qgis.PyQt.QtCore import QSettings
app = QgsApplication([], False)
app.initQgis()
manager = QgsApplication.authManager()
assert manager.setMasterPassword(sys.argv[1], True)
config = QgsAuthMethodConfig("Basic")
config.setName("city")
config.setConfig("username", "officer")
config.setConfig("password", sys.argv[2])
manager.storeAuthenticationConfig(config)
settings = QSettings(os.path.join(sys.argv[3], "profiles", "default", "QGIS", "QGIS3.ini"), QSettings.Format.IniFormat)
for key, value in {"host": "127.0.0.1", "port": sys.argv[4], "database": "city", "sslmode": "SslDisable",
                   "authcfg": config.id(), "service": ""}.items():
    settings.setValue("PostgreSQL/connections/city/" + key, value)
settings.sync()
app.exitQgis()
"""


@pytest.fixture(scope="session")
def pg_qgis_process_authcfg(postgis, tmp_path_factory, plugin_parent):
    """qgis_process whose profile has connection ``city`` with an auth configuration (master password set).

    ``.master_password_file`` holds the master password, for ``QGIS_AUTH_PASSWORD_FILE``.
    """
    import os
    import subprocess

    from .qgis_process_runner import QgisProcess

    home = tmp_path_factory.mktemp("qgis_home_authcfg")
    environment = {**os.environ, "QGIS_CUSTOM_CONFIG_PATH": str(home), "QT_QPA_PLATFORM": "offscreen"}
    subprocess.run(["/usr/bin/python3", "-c", _AUTH_PROFILE, MASTER_PASSWORD, ROLES["officer"], str(home),
                    str(postgis.port)], env=environment, check=True, capture_output=True, timeout=120)
    runner = QgisProcess(home, plugin_parent)
    runner.master_password_file = home / "master_password"
    runner.master_password_file.write_text(MASTER_PASSWORD + "\n", encoding="utf-8")
    runner.master_password_file.chmod(0o600)
    return runner
