"""What the importer needs of a sensor archive, whatever holds it (GeoPackage file or PostgreSQL database)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from .archive import ArchiveCounts
from .model import Observation, Station


class ArchiveStore(Protocol):
    """One run's writes to an archive: ``open``, batches of observations, the stations, then ``commit``.

    ``archive.ArchiveWriter`` (GeoPackage) holds the whole run in one transaction;
    ``postgis_archive.PostgisArchiveWriter`` commits every batch. ``rollback`` undoes what is not
    committed yet; ``counts`` holds the new rows committed so far.
    """

    counts: ArchiveCounts

    def open(self) -> None:
        """Connect (create the tables on first use); raise FeedError with a clear message."""

    def add_observations(self, observations: Iterable[Observation], rows: list[tuple] | None = None) -> None:
        """Add observations whose key is new (``rows``: their ``archive.observation_rows``)."""

    def upsert_stations(self, stations: Iterable[Station], first_times: dict[str, datetime] | None = None) -> None:
        """Insert new stations, update known ones."""

    def commit(self) -> ArchiveCounts:
        """Write what is left, commit and close; return the new rows."""

    def rollback(self) -> None:
        """Undo what is not committed and close."""
