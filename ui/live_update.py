"""A live feed's update done in slices on the main thread, so a feed of 100,000 stations never freezes QGIS.

The readings of a refresh are merged, judged, added to the station histories and written to the
layer batch by batch; after at most ``SLICE_S`` of work the slice ends and Qt's event loop runs
(``QTimer.singleShot(0, …)``) before the next slice. A small update (an MQTT message) runs at once.
The station table's natural name order is kept up to date here too (``bisect``), so the dock never
sorts 100,000 names at once.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import threading
import time
import traceback
from array import array
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from qgis.core import Qgis, QgsMessageLog
from qgis.PyQt.QtCore import QTimer

from ..core.live.latest_values import LatestValue, judge_in_place, sort_text, update_reading
from .live_layer import UpdateCounts

if TYPE_CHECKING:
    from .feed_runner import FeedRunner

#: Longest time one slice holds the main thread (seconds).
SLICE_S = 0.015
#: Stations merged and written between two looks at the clock.
BATCH = 100
#: Updates of at least this many stations pause the garbage collector while their slices run (``COLLECTOR``).
PAUSE_FROM = 10_000
#: Points kept per station for the chart when there is no archive (arrays: the garbage collector never
#: walks them, unlike 100,000 deques of tuples, which made each full collection take 0.2 s).
HISTORY_LENGTH = 500


class SlicedUpdate:
    """Merge fresh readings into a runner (or re-judge its readings: ``rows`` None) and write its layer.

    ``columns`` are the fresh readings as ``reading_columns``: merged into the runner's LatestValue
    objects in place, so a refresh adds no objects that Python's garbage collector keeps walking.
    """

    def __init__(self, runner: FeedRunner, columns: list[list] | None,
                 done: Callable[[UpdateCounts], None] | None = None, write_all: bool = False) -> None:
        self.runner = runner
        self.rejudge = columns is None
        self.write_all = write_all  #: write every station (a new layer), not only the changed ones
        self.columns = columns
        self.items: list = list(runner.readings) if columns is None else columns[0]  #: station ids
        self.done = done
        self.position = 0
        self.counts = UpdateCounts()
        self.now = datetime.now(timezone.utc)
        self.cancelled = False
        self.paused = False

    def _paused(self) -> None:
        if not self.paused and len(self.items) >= PAUSE_FROM:
            COLLECTOR.pause()
            self.paused = True

    def _resumed(self) -> None:
        if self.paused:
            COLLECTOR.resume(promote=True)
            self.paused = False

    def run_now(self) -> UpdateCounts:
        """Do every slice at once (small updates) and return what changed in the layer."""
        while self._slice():
            pass
        return self._finish()

    def start(self) -> None:
        """Do the first slice now and the others from the event loop; ``done(counts)`` at the end.

        For ``PAUSE_FROM`` stations or more, Python's cyclic garbage collector is paused meanwhile
        (``COLLECTOR``): the readings a first refresh creates would otherwise trigger several full
        collections, each holding QGIS for 0.1 s.
        """
        self._paused()
        self._next()

    def cancel(self) -> None:
        """Stop after the slice being done (the feed stops or is reconfigured)."""
        self.cancelled = True
        self._resumed()

    def _next(self) -> None:
        """Do one slice, then schedule the next; an error ends the update (logged), it never reaches Qt."""
        if self.cancelled:
            return
        try:
            if self._slice():
                QTimer.singleShot(0, self._next)
                return
        except Exception:  # an exception in a Qt slot would end QGIS
            QgsMessageLog.logMessage(traceback.format_exc(), "Social Resilience", Qgis.Critical)
        self._finish()

    def _slice(self) -> bool:
        """Do batches until ``SLICE_S`` has passed; True while stations are left."""
        deadline = time.perf_counter() + SLICE_S
        while self.position < len(self.items):
            end = self.position + BATCH
            batch = self.items[self.position:end] if self.columns is None else list(
                zip(*(column[self.position:end] for column in self.columns)))
            self.position += len(batch)
            changed = self._merge(batch)
            layer = self.runner.current_layer()
            if layer is not None and changed:
                self.counts.add(layer.apply_items(changed))
            if time.perf_counter() >= deadline:
                break
        return self.position < len(self.items)

    def _merge(self, batch: list) -> list[tuple[str, LatestValue]]:
        """Merge and judge a batch (rows, or station ids to re-judge) in place; the stations that changed."""
        runner = self.runner
        readings = runner.readings
        thresholds, stale = runner.config.thresholds, runner.config.stale_seconds()
        changed = []
        for item in batch:
            if self.rejudge:
                station_id, row, reading = item, None, readings.get(item)
                if reading is None:
                    continue
                moved = False
            else:
                station_id, row = item[0], item
                reading = readings.get(station_id)
                name = reading.name if reading is not None else None
                if reading is None:
                    reading = readings[station_id] = LatestValue(*row)
                    moved = True
                else:
                    moved = update_reading(reading, row)
                if name != reading.name:
                    _order(runner, station_id, reading.name)
                if row[4] is not None and row[6] is not None:
                    _remember(runner.history, station_id, row[6].timestamp(), row[4])
            if judge_in_place(reading, thresholds, self.now, stale) or moved or self.write_all:
                changed.append((station_id, reading))
        return changed

    def _finish(self) -> UpdateCounts:
        self._resumed()
        layer = self.runner.current_layer()
        if layer is not None:
            layer.finish(self.counts)
        self.runner.readings_version += 1
        if self.done is not None:
            self.done(self.counts)
        return self.counts


def _order(runner: FeedRunner, station_id: str, name: str) -> None:
    """Keep the station's place in ``runner.name_order`` (natural order of the names) for a new name."""
    order, keys = runner.name_order, runner.name_keys
    old = keys.get(station_id)
    if old is not None:
        index = bisect.bisect_left(order, (old, station_id))
        if index < len(order) and order[index] == (old, station_id):
            del order[index]
    keys[station_id] = key = sort_text(name)
    bisect.insort(order, (key, station_id))


def _remember(history: dict[str, array], station_id: str, seconds: float, value: float) -> None:
    """Add a point to a station's history (epoch seconds and value, interleaved; the newest ``HISTORY_LENGTH``)."""
    series = history.get(station_id)
    if series is None:
        series = history[station_id] = array("d")
    if not series or series[-2] < seconds:
        series.extend((seconds, value))
        if len(series) > 2 * HISTORY_LENGTH:
            del series[:2]


def history_points(history: dict[str, array], station_id: str) -> list[tuple[datetime, float]]:
    """Return the remembered points of a station as (time, value), oldest first."""
    series = history.get(station_id)
    if not series:
        return []
    return [(datetime.fromtimestamp(series[i], timezone.utc), series[i + 1]) for i in range(0, len(series), 2)]


class _Collector:
    """Pauses Python's cyclic garbage collector while feeds are parsed or written (nests, any thread).

    A feed of 100,000 stations makes hundreds of thousands of objects: the parse's live a few seconds
    and the readings stay. With the collector running, both move to its oldest generation step by
    step and trigger full collections, each of which holds every thread, the GUI's too, for 0.1-0.5 s.
    Paused, the parse's objects are freed by reference counting before the collector sees them, and
    at the end (``promote``) the survivors are moved to the oldest generation at once (``gc.freeze``
    and ``unfreeze``: no walk over them; they are collected as usual later). A collector switched off
    by someone else stays off.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.ours = False
        self.promote = False

    def pause(self) -> None:
        with self.lock:
            self.count += 1
            if self.count == 1:
                self.ours = gc.isenabled()
                gc.disable()

    def resume(self, promote: bool = False) -> None:
        with self.lock:
            self.count -= 1
            self.promote = self.promote or promote
            if self.count == 0 and self.ours:
                if self.promote:
                    gc.freeze()
                    gc.unfreeze()
                self.promote = False
                gc.enable()


COLLECTOR = _Collector()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block (``COLLECTOR``)."""
    COLLECTOR.pause()
    try:
        yield
    finally:
        COLLECTOR.resume()


def drop_slowly(*containers: list | dict, step: int = 5000) -> None:
    """Empty big lists and dicts piece by piece, letting the other threads (the GUI's) run in between.

    Freeing 100,000 stations and observations at once holds Python's interpreter lock for 0.1 s.
    """
    for container in containers:
        if isinstance(container, dict):
            keys = list(container)
            for start in range(0, len(keys), step):
                for key in keys[start:start + step]:
                    del container[key]
                time.sleep(0)  # lets another thread take the interpreter lock
        else:
            while container:
                del container[-step:]
                time.sleep(0)
