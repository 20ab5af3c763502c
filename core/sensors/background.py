"""Writes in a worker thread while the next page is fetched and parsed (sqlite3 lets go of the GIL)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

_STOP = object()


class BackgroundWriter:
    """Calls ``write(item)`` for each ``put`` item in one worker thread, in order.

    At most ``depth`` items wait (memory stays bounded); an error of ``write`` is raised again by the
    next ``put`` or by ``close`` in the caller's thread, and later items are not written. ``close``
    waits until everything is written; ``abandon`` stops after the item being written. Either must be
    called before the written-to connection is committed or rolled back.
    """

    def __init__(self, write: Callable[[Any], None], depth: int = 4) -> None:
        self._write = write
        self._items: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._stopped = False  #: a write failed or the caller abandoned: write nothing more
        self._thread = threading.Thread(target=self._run, name="sensor-import-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._items.get()
            if item is _STOP:
                return
            if not self._stopped:
                try:
                    self._write(item)
                except BaseException as error:  # handed to the caller's thread
                    self._error, self._stopped = error, True

    def put(self, item: Any) -> None:
        """Queue ``item`` (waits while ``depth`` items wait); raise an earlier write's error."""
        self._raise()
        self._items.put(item)

    def close(self) -> None:
        """Wait until every item is written; raise a write's error."""
        self._finish()
        self._raise()

    def abandon(self) -> None:
        """Write nothing more; wait for the item being written (its error is dropped)."""
        self._stopped = True
        self._finish()
        self._error = None

    def _finish(self) -> None:
        if self._thread.is_alive():
            self._items.put(_STOP)
            self._thread.join()

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error
