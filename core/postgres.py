"""PostgreSQL through psycopg2 for the plugin's own SQL: connections, clear messages, a few table helpers.

psycopg2 (Debian: python3-psycopg2, a dependency of python3-qgis; shipped with QGIS on Windows and
macOS) is imported when a connection is opened. The caller passes a libpq connection string
(``PostgisTarget.dsn``, resolved by the QGIS side from the user's connection, credentials included)
and a label for messages: no message ever holds the connection string.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass

CONNECT_TIMEOUT_S = 15
APPLICATION_NAME = "social_resilience"


class PostgresError(Exception):
    """A database could not be used; the message says why and what to do."""


@dataclass(frozen=True)
class PostgisTarget:
    """A database and schema: a libpq connection string (with credentials), a schema, a label for messages."""

    dsn: str
    schema: str = "sensors"
    label: str = ""

    def __bool__(self) -> bool:
        return bool(self.dsn)


def quote_identifier(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def connect(target: PostgisTarget, application_name: str = APPLICATION_NAME):
    """Open a psycopg2 connection (not autocommit); a clear PostgresError when that fails."""
    try:
        import psycopg2
    except ImportError:
        raise PostgresError(
            "PostgreSQL needs the Python package psycopg2 (Debian: python3-psycopg2; it comes with QGIS on Windows "
            "and macOS)") from None
    try:
        return psycopg2.connect(target.dsn, connect_timeout=CONNECT_TIMEOUT_S, application_name=application_name,
                                client_encoding="UTF8")
    except psycopg2.Error as error:
        raise PostgresError(connection_message(error, target.label)) from None


def connection_message(error: Exception, label: str) -> str:
    """Say what a failed connection means, in words; never with the connection string."""
    text = first_line(error)
    lower = text.lower()
    where = f"the database of connection '{label}'" if label else "the database"
    if "password authentication failed" in lower or "no password supplied" in lower:
        return (f"{where} refused the login ({text}); check the user name and password of the connection's "
                "authentication configuration or pg service")
    if "could not connect" in lower or "connection refused" in lower or "timeout expired" in lower \
            or "could not translate host name" in lower:
        return (f"cannot reach {where} ({text}); check that the server runs and that the connection's host and "
                "port are right")
    return f"cannot connect to {where}: {text}"


def first_line(error: Exception) -> str:
    """Return the first line of a database error, without its severity."""
    text = str(getattr(error, "pgerror", None) or error).strip()
    text = text.split("\n")[0].strip()
    return re.sub(r"^(FATAL|ERROR):\s+", "", text) or type(error).__name__


def error_code(error: Exception) -> str:
    """Return the SQLSTATE of a database error ("" when there is none)."""
    return getattr(error, "pgcode", None) or ""


def connection_lost(error: Exception) -> bool:
    """Whether ``error`` means the connection is gone (server ended it, network down)."""
    try:
        import psycopg2
    except ImportError:  # pragma: no cover - connect() raised already
        return False
    if isinstance(error, psycopg2.InterfaceError):
        return True
    if isinstance(error, psycopg2.OperationalError):
        return error_code(error) in ("", "57P01", "57P02", "57P03") or "terminat" in str(error).lower()
    return False


def table_exists(target: PostgisTarget, table: str) -> bool:
    """Whether ``target.schema``.``table`` exists (True when that cannot be told: nothing is dropped then)."""
    try:
        with contextlib.closing(connect(target)) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL",
                           (f"{quote_identifier(target.schema)}.{quote_identifier(table)}",))
            return bool(cursor.fetchone()[0])
    except Exception:
        return True


def drop_table(target: PostgisTarget, table: str) -> None:
    """Drop ``target.schema``.``table`` if it exists (an output a failed run created); errors are ignored."""
    with contextlib.suppress(Exception), contextlib.closing(connect(target)) as connection:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '10s'")
            cursor.execute(f"DROP TABLE IF EXISTS {quote_identifier(target.schema)}.{quote_identifier(table)}")
        connection.commit()
