"""QGIS PostgreSQL connections for the plugin: a connection name or a layer -> where the data is, with credentials.

The credentials come from the connection as QGIS holds it: its authentication configuration
(``authcfg``, expanded by QGIS's auth manager), a pg service (``service=``, with the password in the
service file or ``~/.pgpass``) or a user and password stored with the connection. They go into the
libpq connection string handed to the driver and nowhere else: no parameter, no message, no log.
"""

from __future__ import annotations

from dataclasses import dataclass

from qgis.core import QgsDataSourceUri, QgsProcessingException, QgsProviderRegistry, QgsVectorLayer
from qgis.PyQt.QtCore import QCoreApplication

from ..core.postgres import PostgisTarget

PROVIDER = "postgres"


def tr(text: str) -> str:
    """Translate a message of this module."""
    return QCoreApplication.translate("postgis_connection", text)


def connection_names() -> list[str]:
    """Names of the PostgreSQL connections QGIS knows (Browser ▸ PostgreSQL)."""
    metadata = QgsProviderRegistry.instance().providerMetadata(PROVIDER)
    return sorted(metadata.connections().keys()) if metadata is not None else []


def connection_uri(name: str) -> QgsDataSourceUri:
    """Return the data source URI of the QGIS PostgreSQL connection ``name``; a clear error when there is none."""
    metadata = QgsProviderRegistry.instance().providerMetadata(PROVIDER)
    connection = None
    if metadata is not None and name:
        try:
            connection = metadata.findConnection(name)
        except Exception:  # newer QGIS versions raise for an unknown name
            connection = None
    if connection is None:
        known = ", ".join(connection_names()) or tr("none")
        raise QgsProcessingException(
            tr("There is no PostgreSQL connection '{}' in this QGIS profile (known: {}). Add it in the Browser "
               "(PostgreSQL ▸ New Connection) or in the Data Source Manager.").format(name, known))
    return QgsDataSourceUri(connection.uri())


def libpq_dsn(uri: QgsDataSourceUri, label: str) -> str:
    """Return the libpq connection string of ``uri`` with the auth configuration's user and password filled in."""
    info = uri.connectionInfo(True)
    if uri.authConfigId() and "password=" not in info and "user=" not in info:
        raise QgsProcessingException(
            tr("The authentication configuration of connection '{}' could not be read (is the QGIS master "
               "password set? In a scheduled qgis_process run use a pg service with a password file, or set "
               "QGIS_AUTH_PASSWORD_FILE).").format(label))
    return info


def archive_target(name: str, schema: str) -> PostgisTarget:
    """Return the PostgreSQL archive of connection ``name`` in ``schema``."""
    return PostgisTarget(libpq_dsn(connection_uri(name), name), schema.strip(), name)


@dataclass(frozen=True)
class PostgisLayer:
    """A PostgreSQL table behind a QGIS layer: where it is and the layer's subset (an SQL condition)."""

    target: PostgisTarget
    table: str
    where: str

    @property
    def schema(self) -> str:
        """The schema of the table."""
        return self.target.schema


def postgis_layer(layer: QgsVectorLayer | None) -> PostgisLayer | None:
    """Return the table of a ``postgres`` layer that shows a whole table (or its subset), else None.

    A query layer (``table="(SELECT ...)"``) or a layer with unsaved edits is not a table as stored.
    """
    if layer is None or layer.providerType() != PROVIDER or layer.isModified():
        return None
    uri = QgsDataSourceUri(layer.source())
    if not uri.table() or uri.table().lstrip().startswith("("):
        return None
    label = layer.name() or uri.database()
    target = PostgisTarget(libpq_dsn(uri, label), uri.schema() or "public", label)
    return PostgisLayer(target, uri.table(), uri.sql())
