"""BackgroundWriter: the worker thread that writes the archive and a GeoPackage output during an import."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from social_resilience.core.sensors.background import BackgroundWriter


def test_items_are_written_in_order_in_another_thread():
    written, threads = [], set()

    def write(item):
        threads.add(threading.get_ident())
        written.append(item)

    writer = BackgroundWriter(write, depth=2)
    for item in range(100):
        writer.put(item)
    writer.close()
    assert written == list(range(100))
    assert len(threads) == 1
    assert threading.get_ident() not in threads


def test_a_failed_write_is_raised_in_the_caller_and_nothing_after_it_is_written():
    written = []

    def write(item):
        if item == 3:
            raise sqlite3.OperationalError("database or disk is full")
        written.append(item)

    def put_all_and_close():
        for item in range(10):
            writer.put(item)
        writer.close()

    writer = BackgroundWriter(write, depth=1)
    with pytest.raises(sqlite3.OperationalError, match="disk is full"):  # by a later put or by close
        put_all_and_close()
    writer.abandon()
    assert written == [0, 1, 2]


def test_abandon_writes_nothing_more_and_returns():
    started, release, written = threading.Event(), threading.Event(), []

    def write(item):
        started.set()
        release.wait(5)
        written.append(item)

    writer = BackgroundWriter(write, depth=8)
    for item in range(5):
        writer.put(item)
    assert started.wait(5)
    threading.Timer(0.2, release.set).start()  # item 0 finishes while abandon waits
    writer.abandon()
    assert written == [0]  # the item being written is finished, the waiting ones are not written
    writer.abandon()  # twice is harmless
