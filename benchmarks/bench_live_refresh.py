#!/usr/bin/env python3
"""Live sensor layers: GUI-thread stall while 500 stations refresh, and MQTT publish-to-feature delay.

Run headless: ``QT_QPA_PLATFORM=offscreen /usr/bin/python3 benchmarks/bench_live_refresh.py``.
A QTimer ticks every 5 ms on the main thread; the longest gap between ticks during a refresh is
the longest time the GUI could not react. Compared with the naive way (fetch, parse and rebuild
the layer on the main thread). MQTT: a real mosquitto broker on 127.0.0.1 (skipped if missing).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_parent = Path(tempfile.mkdtemp(prefix="srt_bench_"))
(_parent / "social_resilience").symlink_to(REPO, target_is_directory=True)
sys.path.insert(0, str(_parent))

from qgis.core import QgsApplication, QgsFeature, QgsGeometry, QgsPointXY, QgsProject, QgsVectorLayer  # noqa: E402
from qgis.PyQt.QtCore import QCoreApplication, QEventLoop, QTimer  # noqa: E402

APP = QgsApplication([], False)
APP.initQgis()

from social_resilience.core.live.feed_config import FeedConfig, Thresholds  # noqa: E402
from social_resilience.core.live.latest_values import judge_all, latest_readings  # noqa: E402
from social_resilience.core.live.sensorthings_latest import latest_query_url, parse_latest_page  # noqa: E402
from social_resilience.tests.live_helpers import LiveStaServer, free_port, wait_until  # noqa: E402
from social_resilience.ui.fetch_task import get_text  # noqa: E402
from social_resilience.ui.live_dock import LiveSensorDock  # noqa: E402


class GapMeter:
    """Longest gap between ticks of a 5 ms main-thread timer."""

    def __init__(self, interval_ms: int = 5) -> None:
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.last = 0.0
        self.max_gap = 0.0

    def _tick(self) -> None:
        now = time.perf_counter()
        self.max_gap = max(self.max_gap, now - self.last)
        self.last = now

    def start(self) -> None:
        self.last = time.perf_counter()
        self.max_gap = 0.0
        self.timer.start()

    def stop(self) -> float:
        self._tick()
        self.timer.stop()
        return self.max_gap * 1000


def spin(seconds: float) -> None:
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
        time.sleep(0.001)


ROUNDS = itertools.count(1)


def new_values(server: LiveStaServer, stations: int, step: int) -> None:
    moment = datetime.now(timezone.utc) + timedelta(seconds=next(ROUNDS))
    server.set_values({i: float((i * 7 + step * 13) % 60) for i in range(stations)}, moment)


def bench_dock(server: LiveStaServer, stations: int, rounds: int) -> dict:
    dock = LiveSensorDock(None)
    runner = dock.add_feed(FeedConfig(name="bench", format=0, url=server.url, property="NO2", refresh_s=3600))
    assert wait_until(lambda: runner.state == "ok" and len(runner.readings) == stations, 60), runner.detail
    meter = GapMeter()
    gaps, durations, changed = [], [], []
    for step in range(1, rounds + 1):
        new_values(server, stations, step)
        spin(0.05)
        meter.start()
        started = time.perf_counter()
        runner.refresh()
        assert wait_until(lambda: not runner.busy, 60)
        durations.append(time.perf_counter() - started)
        spin(0.02)
        gaps.append(meter.stop())
        changed.append(runner.last_counts.total)
        assert runner.state == "ok", runner.detail
    layer = runner.live_layer.layer
    assert layer.featureCount() == stations
    dock.shutdown()
    QgsProject.instance().removeAllMapLayers()
    return {"max_gap_ms": max(gaps), "median_gap_ms": statistics.median(gaps),
            "median_refresh_s": statistics.median(durations), "changed": statistics.median(changed)}


def bench_naive(server: LiveStaServer, stations: int, rounds: int) -> dict:
    """The peer approach: fetch, parse and rebuild a memory layer on the main thread."""
    layer = QgsVectorLayer("Point?crs=EPSG:4326&field=station_id:string&field=value:double", "naive", "memory")
    meter = GapMeter()
    gaps = []
    for step in range(1, rounds + 1):
        new_values(server, stations, step)
        meter.start()
        spin(0.02)
        url, result_stations, observations = latest_query_url(server.url), [], []
        while url:
            page, url = parse_latest_page(get_text(url), server.url)
            result_stations += page.stations
            observations += page.observations
        page.stations, page.observations = result_stations, observations
        readings = judge_all(latest_readings(page, "NO2"), Thresholds(25, 40), 3600)
        provider = layer.dataProvider()
        provider.truncate()
        features = []
        for reading in readings.values():
            feature = QgsFeature(layer.fields())
            feature.setAttributes([reading.station_id, reading.value])
            feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(reading.lon, reading.lat)))
            features.append(feature)
        provider.addFeatures(features)
        layer.triggerRepaint()
        spin(0.02)
        gaps.append(meter.stop())
    assert layer.featureCount() == stations
    return {"max_gap_ms": max(gaps), "median_gap_ms": statistics.median(gaps)}


def many_stations_csv(stations: int, step: int) -> bytes:
    """One CSV document with the newest NO2 value of ``stations`` stations (time: now + ``step`` s)."""
    moment = (datetime.now(timezone.utc) + timedelta(seconds=step)).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = ["station_id,name,lon,lat,property,unit,time,value"]
    lines += [f"s{i},Station {i},{5 + (i % 1000) * 0.01:.2f},{47 + (i // 1000) * 0.01:.2f},NO2,µg/m³,{moment},"
              f"{(i * 7 + step * 13) % 60}" for i in range(stations)]
    return ("\n".join(lines) + "\n").encode()


def bench_many(stations: int, rounds: int) -> dict:
    """One feed of ``stations`` stations (one CSV document), the feed selected in the dock: longest GUI stall."""
    server = LiveStaServer({}, page_size=100)
    server.routes["/many.csv"] = many_stations_csv(stations, 0)
    server.start()
    dock = LiveSensorDock(None)
    meter = GapMeter()
    gaps = []
    try:
        url = f"http://127.0.0.1:{server.port}/many.csv"
        meter.start()
        runner = dock.add_feed(FeedConfig(name="many", format=5, url=url, property="NO2", refresh_s=3600))
        dock.feedTable.selectRow(0)
        assert wait_until(lambda: runner.state == "ok" and len(runner.readings) == stations, 600), runner.detail
        spin(0.1)
        gaps.append(meter.stop())  # the first refresh: every station is a new feature
        for step in range(1, rounds + 1):
            server.routes["/many.csv"] = many_stations_csv(stations, step)
            spin(0.05)
            meter.start()
            runner.refresh()
            assert wait_until(lambda: not runner.busy, 600)
            spin(0.1)
            gaps.append(meter.stop())
            assert runner.state == "ok", runner.detail
        assert runner.live_layer.layer.featureCount() == stations
    finally:
        dock.shutdown()
        QgsProject.instance().removeAllMapLayers()
        server.stop()
    floor = gil_floor(many_stations_csv(stations, rounds + 1))
    return {"first_ms": gaps[0], "max_update_ms": max(gaps[1:]), "median_update_ms": statistics.median(gaps[1:]),
            **floor}


def gil_floor(document: bytes) -> dict:
    """The floor in the same run: the longest gap of an idle main loop, and of one while another Python thread
    only parses the same document (the interpreter lock shared with a parser is the least any refresh costs)."""
    from social_resilience.core.live.latest_values import latest_readings
    from social_resilience.core.sensors.csv_feed import parse

    meter = GapMeter()
    meter.start()
    spin(3.0)
    idle = meter.stop()
    from social_resilience.ui.live_update import collector_paused, drop_slowly

    def careful() -> None:
        with collector_paused():
            result = parse(document.decode(), "floor")
            readings = latest_readings(result, "NO2")
            drop_slowly(readings, result.observations, result.stations)

    gaps = []
    for work in (lambda: latest_readings(parse(document.decode(), "floor"), "NO2"), careful):
        worker = threading.Thread(target=work)
        meter.start()
        worker.start()
        while worker.is_alive():
            spin(0.05)
        gaps.append(meter.stop())
    return {"idle_floor_ms": idle, "parse_floor_ms": gaps[0], "careful_parse_floor_ms": gaps[1]}


def uplink(device: str, value: float, moment: datetime) -> bytes:
    return json.dumps({
        "end_device_ids": {"device_id": device, "application_ids": {"application_id": "bench"}},
        "received_at": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "uplink_message": {"decoded_payload": {"TempC_SHT": value},
                           "locations": {"user": {"latitude": 51.3, "longitude": 9.5}}},
    }).encode()


def bench_mqtt(messages: int) -> dict | None:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).is_file():
        print("mosquitto not installed: MQTT delay not measured")
        return None
    import paho.mqtt.client as mqtt

    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="srt_mosquitto_"))
    (folder / "m.conf").write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    broker = subprocess.Popen([binary, "-c", str(folder / "m.conf")], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        dock = LiveSensorDock(None)
        runner = dock.add_feed(FeedConfig(name="mqtt", format=3, transport="mqtt", mqtt_host="127.0.0.1",
                                          mqtt_port=port, property="TempC_SHT", refresh_s=600))
        assert wait_until(lambda: runner.state == "connected", 10), runner.detail
        publisher = mqtt.Client()
        publisher.connect("127.0.0.1", port)
        publisher.loop_start()
        layer = runner.live_layer.layer
        delays = []
        start = datetime.now(timezone.utc)
        for index in range(messages):
            value = 20.0 + index / 10
            device = f"dev-{index % 10}"
            sent = time.perf_counter()
            payload = uplink(device, value, start + timedelta(seconds=index))
            publisher.publish(f"v3/bench@ttn/devices/{device}/up", payload)

            def arrived(device: str = device, value: float = value) -> bool:
                return any(f["station_id"] == device and f["value"] == value for f in layer.getFeatures())

            assert wait_until(arrived, 5)
            delays.append((time.perf_counter() - sent) * 1000)
        publisher.loop_stop()
        publisher.disconnect()
        dock.shutdown()
        QgsProject.instance().removeAllMapLayers()
    finally:
        broker.terminate()
        broker.wait(5)
    first, rest = delays[0], sorted(delays[1:])
    return {"first_ms": first, "median_ms": statistics.median(rest), "p95_ms": rest[int(0.95 * (len(rest) - 1))],
            "max_ms": rest[-1], "messages": messages}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--latency", type=float, nargs="*", default=[0.0, 0.1],
                        help="server answer delay per page in seconds (0.1: a remote server)")
    parser.add_argument("--many", type=int, default=100_000, help="stations of the large feed (0: skip it)")
    parser.add_argument("--many-rounds", type=int, default=3)
    parser.add_argument("--only-many", action="store_true", help="measure only the large feed")
    args = parser.parse_args()
    if args.many:
        many = bench_many(args.many, args.many_rounds)
        print(f"one feed of {args.many} stations (one CSV document, feed selected in the dock): longest GUI stall "
              f"{many['first_ms']:.1f} ms on the first refresh (every station new), then "
              f"{many['max_update_ms']:.1f} ms (median {many['median_update_ms']:.1f} ms) on {args.many_rounds} "
              f"refreshes with every value changed; in the same run: idle main loop {many['idle_floor_ms']:.1f} ms, "
              f"main loop while another thread only parses the document {many['parse_floor_ms']:.1f} ms (with the "
              f"collector paused and the parse freed piecewise {many['careful_parse_floor_ms']:.1f} ms)")
        if args.only_many:
            return 0
    results = []
    for latency in args.latency:
        server = LiveStaServer({i: 10.0 for i in range(args.stations)}, page_size=100)
        server.start()
        server.delay_s = latency
        try:
            dock = bench_dock(server, args.stations, args.rounds)
            naive = bench_naive(server, args.stations, args.rounds)
        finally:
            server.stop()
        results.append((latency, dock, naive))
    mqtt = bench_mqtt(args.messages)
    pages = -(-args.stations // 100)
    for latency, dock, naive in results:
        print(f"refresh of {args.stations} stations ({args.rounds} rounds, {pages} pages of 100, all values changed, "
              f"server delay {latency * 1000:.0f} ms per page):")
        print(f"  live dock (QgsTask + changed features): longest GUI stall {dock['max_gap_ms']:.1f} ms, "
              f"median per refresh {dock['median_gap_ms']:.1f} ms; refresh takes "
              f"{dock['median_refresh_s'] * 1000:.0f} ms, {dock['changed']:.0f} features changed")
        print(f"  naive (fetch + parse + rebuild on the GUI thread): longest stall {naive['max_gap_ms']:.1f} ms, "
              f"median {naive['median_gap_ms']:.1f} ms")
    if mqtt:
        print(f"MQTT publish -> feature updated ({mqtt['messages']} messages): first {mqtt['first_ms']:.1f} ms, "
              f"then median {mqtt['median_ms']:.1f} ms, p95 {mqtt['p95_ms']:.1f} ms, max {mqtt['max_ms']:.1f} ms")
    return 0


if __name__ == "__main__":
    code = main()
    APP.exitQgis()
    sys.exit(code)
